//! `-v` / `-vv` turn on `tracing` logs on stderr; `RUST_LOG` overrides.

use tracing_subscriber::EnvFilter;

pub fn init(verbosity: i8) {
    let default = match verbosity {
        i8::MIN..=0 => "warn",
        1 => "vendor=info",
        _ => "vendor=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
