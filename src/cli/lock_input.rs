//! `--lock FILE` for the commands that read a lock (`fetch`, `build`,
//! `verify`, `requires`): vendor's own `pylock.toml`, or a file another tool
//! pinned — a PEP 751 lock from uv or pip, a hashed `requirements.txt` —
//! locked in memory for `--target` with its pins kept.

use std::path::{Path, PathBuf};

use clap::Args;
use pep440_rs::Version;

use super::project::Project;
use super::UsageError;
use vendor::lock::pylock::{self, PylockError};
use vendor::lock::Lock;
use vendor::targets::Target;

#[derive(Debug, Args)]
pub(super) struct LockInputArgs {
    /// The lock file: vendor's `pylock.toml`, or a PEP 751 lock or hashed
    /// `requirements.txt` another tool wrote (locked for `--target`, pins kept).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// For a lock vendor did not write: the target (default: `vendor.toml`, else el9).
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// For a lock vendor did not write: the full target Python version.
    #[arg(long, value_name = "VERSION")]
    pub python: Option<Version>,
}

impl LockInputArgs {
    /// The lock the command works on. `offline` applies to locking a file
    /// of another tool (its index pages must then be cached).
    pub fn load(&self, project: &Project, offline: bool) -> anyhow::Result<Lock> {
        let (path, vendor_lock) = self.vendor_lock(project)?;
        match vendor_lock {
            Some(lock) => Ok(lock),
            None => {
                let target = project.target(self.target.as_deref(), self.python.as_ref())?;
                super::lock::lock_pinned(project, &path, &target, offline)
            }
        }
    }

    /// The target the lock is for: the one a vendor lock names, else the
    /// flags' (without locking anything).
    pub fn target_of(&self, project: &Project) -> anyhow::Result<Target> {
        match self.vendor_lock(project)?.1 {
            Some(lock) => project.target(Some(&lock.options.target), Some(&lock.options.python)),
            None => project.target(self.target.as_deref(), self.python.as_ref()),
        }
    }

    /// The lock file's path, and the lock when vendor wrote it (checked
    /// against `--target` / `--python`); `None` for a file of another tool.
    fn vendor_lock(&self, project: &Project) -> anyhow::Result<(PathBuf, Option<Lock>)> {
        let path = project.lock_path(self.lock.as_deref());
        if !vendor_lock_file_name(&path) {
            return Ok((path, None));
        }
        match pylock::read(&path) {
            Ok(lock) => {
                self.check_matches(&lock, &path)?;
                Ok((path, Some(lock)))
            }
            Err(PylockError::NotFromVendor { .. }) => Ok((path, None)),
            Err(error) => Err(error.into()),
        }
    }

    /// `--target` / `--python` must agree with a lock vendor wrote: it was
    /// resolved for one target only.
    fn check_matches(&self, lock: &Lock, path: &Path) -> anyhow::Result<()> {
        let target_differs = self
            .target
            .as_ref()
            .is_some_and(|target| *target != lock.options.target);
        let python_differs = self
            .python
            .as_ref()
            .is_some_and(|python| *python != lock.options.python);
        if !target_differs && !python_differs {
            return Ok(());
        }
        Err(UsageError::with_hint(
            format!(
                "`{}` is locked for {} / CPython {}, not for what `--target`/`--python` ask",
                path.display(),
                lock.options.target,
                lock.options.python
            ),
            "lock for that target with `vendor lock --target … -o pylock.<name>.toml`, or drop the flag",
        )
        .into())
    }
}

/// A file named like a PEP 751 lock; anything else is read as a pinned
/// requirements file.
fn vendor_lock_file_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(pylock::is_valid_lock_file_name)
}
