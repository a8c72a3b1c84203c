//! The packaging stage's error: everything that can stop RPMs from being
//! written, each wrapped from the part of packaging that failed.

use super::output::OutputError;
use super::releases::HistoryError;
use super::repodata::RepodataError;
use super::rpm_writer::RpmWriteError;
use super::signing::SigningError;
use super::spec::SpecError;
use crate::install::InstallError;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Boxed: the rpm crate's errors are large.
    #[error(transparent)]
    Write(Box<RpmWriteError>),
    #[error(transparent)]
    Repodata(#[from] RepodataError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error("cannot read `{written}` named by `[{key}]` in `vendor.toml` (`{}`): {source}", path.display())]
    DeploymentFile {
        key: &'static str,
        written: String,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("packaging failed for {} packages:\n{}", failures.len(), failures.join("\n"))]
    Several { failures: Vec<String> },
}

impl From<RpmWriteError> for PackageError {
    fn from(error: RpmWriteError) -> Self {
        Self::Write(Box::new(error))
    }
}

impl crate::hint::Hint for PackageError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Install(inner) => inner.hint(),
            Self::Host(inner) => inner.hint(),
            Self::Write(inner) => inner.hint(),
            Self::Repodata(inner) => inner.hint(),
            Self::History(inner) => inner.hint(),
            Self::Signing(inner) => inner.hint(),
            Self::DeploymentFile { .. } => Some("paths in `[app.files]` and `[app.config]` are relative to the folder of `vendor.toml` and name regular files".to_string()),
            // A spec error's cause (a dependency it cannot express) is in the chain.
            Self::Spec(_) | Self::Output(_) | Self::Several { .. } => None,
        }
    }
}
