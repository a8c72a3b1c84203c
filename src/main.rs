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
    match cli::run(arguments) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            eprintln!("{}", cli::render_error(&error));
            cli::exit_code_for(&error)
        }
    }
}
