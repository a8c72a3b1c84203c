//! `-v` / `-vv` turn on `tracing` logs on stderr; `RUST_LOG` overrides.

use tracing_subscriber::EnvFilter;

pub fn init(verbosity: i8) {
    let default = match verbosity {
        i8::MIN..=0 => "warn",
        1 => "vendor=info",
        _ => "vendor=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Seconds since start: what a slow step took is the point of a log.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
