//! An I/O error with what was being done and to which path: the one shape
//! of every stage's `Io` variant.
//!
//! Input: a [`std::io::Error`], an action (`create`, `read`) and a path.
//! Output: an [`IoFailure`], `cannot <action> `<path>`: <cause>`. Invariant:
//! the path is always named, so no I/O error reaches the user as a bare
//! "No such file or directory".

use std::path::PathBuf;

/// What vendor was doing, where, and what the system said.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{}`: {source}", crate::excerpt::path_excerpt(path))]
pub struct IoFailure {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// `map_err(io_failure("create", &path))?`: attach the action and path; `?`
/// turns it into the stage's error.
pub fn io_failure(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> IoFailure {
    let path = path.into();
    move |source| IoFailure {
        action,
        path,
        source,
    }
}
