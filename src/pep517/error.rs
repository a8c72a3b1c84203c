//! Why building a wheel from an sdist failed.
//!
//! Every variant names the sdist (or package) and, where it can, the file or
//! hook involved; the ones with a fix have a hint ([`crate::hint::Hint`]).

use std::fmt;
use std::path::PathBuf;

use crate::excerpt::{complaint, excerpt, shorten_quoted};
use crate::io_failure::{io_failure, IoFailure};

use crate::cache::CacheError;
use crate::install::InstallError;

/// A failure of the PEP 517 frontend.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("refusing sdist `{}`: {}", excerpt(.sdist), shorten_quoted(&format!("entry `{entry}` {reason}")))]
    Refused {
        sdist: String,
        entry: String,
        reason: String,
    },
    #[error("cannot read sdist `{}`: {}", excerpt(.sdist), complaint(.reason))]
    Archive { sdist: String, reason: String },
    #[error("sdist `{}` has an invalid `pyproject.toml`: {}", excerpt(.sdist), shorten_quoted(&format!("`{key}` {reason}")))]
    Pyproject {
        sdist: String,
        key: String,
        reason: String,
    },
    #[error(transparent)]
    Io(#[from] IoFailure),
    #[error("cannot prepare the build environment `{}`: {source}", path.display())]
    Environment {
        path: PathBuf,
        #[source]
        source: Box<InstallError>,
    },
    #[error("{}", BackendFailure { package, hook, log_path, tail })]
    BackendFailed {
        package: String,
        hook: String,
        log_path: PathBuf,
        /// The last lines of the log.
        tail: String,
        /// The package policy's advice.
        hint: Option<String>,
    },
    #[error(
        "building `{package}` needs `{requirement}`, which is not among its locked build \
         requirements"
    )]
    UnlockedRequirement {
        package: String,
        requirement: String,
    },
    #[error(
        "the build backend of `{package}` broke the PEP 517 protocol in `{hook}`: {reason} (log: \
         `{}`)",
        log_path.display()
    )]
    Protocol {
        package: String,
        hook: String,
        reason: String,
        log_path: PathBuf,
    },
    #[error("building `{sdist}` produced `{wheel}`, which is not a wheel of `{expected}`")]
    WrongWheel {
        sdist: String,
        wheel: String,
        expected: String,
    },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
}

impl crate::hint::Hint for BuildError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Refused { .. } => Some("the sdist is damaged or was tampered with; fetch it again from a trusted index or report it to its publisher".to_string()),
            Self::Pyproject { .. } => Some("the sdist's `[build-system]` table does not follow PEP 517/518; report it to the package's publisher".to_string()),
            Self::UnlockedRequirement { .. } => Some("run `vendor lock` to lock build requirements".to_string()),
            Self::WrongWheel { .. } => Some("the sdist's metadata disagrees with its file name; report it to the package's publisher".to_string()),
            Self::BackendFailed { hint, .. } => hint.clone(),
            Self::Cache(inner) => inner.hint(),
            Self::Sandbox(inner) => inner.hint(),
            _ => None,
        }
    }
}

/// The text of [`BuildError::BackendFailed`]: what failed, the log's tail,
/// and where the whole log is (the policy's advice is the error's hint).
struct BackendFailure<'a> {
    package: &'a str,
    hook: &'a str,
    log_path: &'a PathBuf,
    tail: &'a str,
}

impl fmt::Display for BackendFailure<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "the build backend of `{}` failed in `{}`; last lines of its log:",
            self.package, self.hook
        )?;
        for line in self.tail.lines() {
            writeln!(formatter, "  | {line}")?;
        }
        write!(formatter, "full log: `{}`", self.log_path.display())
    }
}

/// Attach the action and path to an I/O error (see [`crate::io_failure`]).
pub(crate) fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> BuildError {
    let failure = io_failure(action, path);
    move |source| BuildError::Io(failure(source))
}
