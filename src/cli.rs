//! Command-line interface: options → one library call → output.
//!
//! Input: parsed arguments and `vendor.toml`. Output: text on stdout/stderr
//! and an exit code. Invariant: no pipeline logic lives here; flags are
//! merged with `vendor.toml` (flags win) and handed to the library.

mod build;
mod cache;
mod fetch;
mod lock;
mod lock_input;
pub mod logging;
mod project;
mod releases;
mod reporter;
mod requires;
mod table;
mod verify;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vendor::hint::Hint;

/// Turn a Python application's requirements into RPMs a fleet installs with dnf.
#[derive(Debug, Parser)]
#[command(name = "vendor", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// The project folder (holds `vendor.toml`); defaults to the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// The cache folder.
    #[arg(long, global = true, env = "VENDOR_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (repeat for debug logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Do not draw progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

impl GlobalOptions {
    pub fn verbosity(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            self.verbose as i8
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve the requirements for a target and write `pylock.toml`.
    Lock(lock::LockArgs),
    /// Download every artifact the build needs into the cache, verified.
    Fetch(fetch::FetchArgs),
    /// Build what must come from source, verify every wheel, and package each as an RPM, plus `<app>-venv`, `<app>-deps` and a dnf repository.
    Build(build::BuildArgs),
    /// Re-run every policy check on the wheels and print a per-package report.
    Verify(verify::VerifyArgs),
    /// What a server needs: the RPMs' system requirements as the target's package names.
    Requires(requires::RequiresArgs),
    /// The releases the output repository holds, and what changed between them.
    Releases(releases::ReleasesArgs),
    /// Where the cache is, what it holds, and making room.
    Cache(cache::CacheArgs),
}

/// How a command that ran ended.
pub enum Outcome {
    Success,
    /// A failure already reported to the user (e.g. `--locked` found changes).
    Failure,
}

impl Outcome {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::Failure => ExitCode::from(1),
        }
    }
}

/// An error in how the command was called: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    message: String,
    hint: Option<String>,
}

impl UsageError {
    pub fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let project = project::Project::open(&cli.global)?;
    match cli.command {
        Command::Lock(arguments) => lock::run(&project, arguments),
        Command::Fetch(arguments) => fetch::run(&project, arguments),
        Command::Build(arguments) => build::run(&project, arguments),
        Command::Requires(arguments) => requires::run(&project, arguments),
        Command::Verify(arguments) => verify::run(&project, arguments),
        Command::Releases(arguments) => releases::run(&project, arguments),
        Command::Cache(arguments) => cache::run(&project, arguments),
    }
}

/// `error: <message>`, the causes not already part of it, then the hint of
/// the outermost error that has one (`docs/architecture.md#errors`).
pub fn render_error(error: &anyhow::Error) -> String {
    let mut text = format!("error: {error}");
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!("\n  caused by: {cause}"));
        }
    }
    if let Some(hint) = rendered_hint(error) {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}

fn rendered_hint(error: &anyhow::Error) -> Option<String> {
    if let Some(usage) = error.downcast_ref::<UsageError>() {
        return usage.hint.clone();
    }
    hint_in_chain(error.as_ref())
}

/// The hint of the outermost error in `error`'s chain that has one.
fn hint_in_chain(error: &(dyn Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(hint) = hint_of(error) {
            return Some(hint);
        }
        next = error.source();
    }
    None
}

/// `error`'s own hint, when it is one of the library's hinted types (or a
/// box of one, as boxed sources appear in a chain).
fn hint_of(error: &(dyn Error + 'static)) -> Option<String> {
    macro_rules! hinted {
        ($($type:ty),* $(,)?) => {
            $(
                if let Some(error) = error.downcast_ref::<$type>() {
                    return error.hint();
                }
                if let Some(error) = error.downcast_ref::<Box<$type>>() {
                    return error.hint();
                }
            )*
        };
    }
    hinted!(
        vendor::cache::CacheError,
        vendor::config::ConfigError,
        vendor::direct::DirectError,
        vendor::fetch::FetchError,
        vendor::hash::InvalidSha256,
        vendor::host::HostError,
        vendor::index::IndexError,
        vendor::install::InstallError,
        vendor::lock::BuildRequirementsError,
        vendor::lock::LockError,
        vendor::lock::ResolveError,
        vendor::lock::pylock::PylockError,
        vendor::package::dependency::DependencyError,
        vendor::package::pipeline::PackageError,
        vendor::package::releases::HistoryError,
        vendor::package::signing::SigningError,
        vendor::package::repodata::RepodataError,
        vendor::package::rpm_writer::RpmWriteError,
        vendor::pep517::BuildError,
        vendor::policy::PolicyError,
        vendor::policy::PreflightError,
        vendor::requirements::RequirementsError,
        vendor::server_needs::RequiresError,
        vendor::targets::TargetError,
        vendor::verify::VerifyError,
        vendor::wheels::WheelsError,
    );
    None
}

pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    if error.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
