//! The `vendor` binary: parse the command line, run one command, render
//! errors and map them to exit codes (0 ok, 1 the user must act, 2 usage
//! error or bug).

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    let verbosity = arguments.global.verbosity();
    cli::logging::init(verbosity);
    // A panic is a bug in vendor, whatever thread it started on: the
    // default hook has printed it; the exit code says so (2, not 101).
    match std::panic::catch_unwind(|| cli::run(arguments)) {
        Ok(Ok(outcome)) => outcome.exit_code(),
        Ok(Err(error)) => {
            eprintln!("{}", cli::render_error(&error));
            cli::exit_code_for(&error)
        }
        Err(_) => {
            eprintln!(
                "error: vendor stopped on a bug (the panic above)\nhint: report it with the \
                 command that ran and this output"
            );
            ExitCode::from(2)
        }
    }
}
