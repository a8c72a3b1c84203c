//! The output folder (`dist/el9`): claimed by one build at a time, written
//! beside itself and swapped into place.
//!
//! Input: the output folder's path. Output: an [`OutputClaim`] holding the
//! folder's lock and a fresh staging sibling (`dist/.el9.new-*`), which
//! [`OutputClaim::replace`] moves into place.
//!
//! Invariants: while a claim lives no other `vendor` writes the same
//! folder (an advisory lock on `dist/.el9.lock`); staging siblings and
//! `el9.old` folders a killed build left are removed when the next build
//! claims the folder; the swap is one `renameat2(RENAME_EXCHANGE)` where the
//! file system supports it, so a reader (a server's `baseurl`) sees the old
//! complete repository or the new one, never none.

use std::fs;
use std::path::{Path, PathBuf};

use crate::progress::Reporter;

/// The output folder could not be prepared or swapped into place.
#[derive(Debug, thiserror::Error)]
#[error("cannot prepare the output folder `{}`: {source}", path.display())]
pub struct OutputError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The right to write one output folder, and where to write it.
#[derive(Debug)]
pub(super) struct OutputClaim {
    output_dir: PathBuf,
    staging: tempfile::TempDir,
    /// Held open: closing it releases the lock.
    _lock: fs::File,
}

impl OutputClaim {
    /// Lock `output_dir` (waiting, with a warning, while another build holds
    /// it), clear what killed builds left beside it, and make the staging
    /// folder.
    pub(super) fn claim(output_dir: &Path, reporter: &dyn Reporter) -> Result<Self, OutputError> {
        let parent = output_dir.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(output_error(parent))?;
        let name = output_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dist".to_string());
        let lock_path = parent.join(format!(".{name}.lock"));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(output_error(&lock_path))?;
        use rustix::fs::{flock, FlockOperation};
        if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
            reporter.warn(&format!(
                "another `vendor build` is writing `{}`; waiting for it to finish",
                output_dir.display()
            ));
            flock(&lock, FlockOperation::LockExclusive)
                .map_err(|error| output_error(&lock_path)(error.into()))?;
        }
        remove_leftovers(parent, &name);
        let staging = tempfile::Builder::new()
            .prefix(&staging_prefix(&name))
            .tempdir_in(parent)
            .map_err(output_error(parent))?;
        Ok(Self {
            output_dir: output_dir.to_path_buf(),
            staging,
            _lock: lock,
        })
    }

    /// The folder to write the new output into.
    pub(super) fn staging(&self) -> &Path {
        self.staging.path()
    }

    /// Put the staging folder in the output folder's place.
    pub(super) fn replace(self) -> Result<(), OutputError> {
        let output_dir = &self.output_dir;
        let new_dir = self.staging.keep();
        std::fs::set_permissions(
            &new_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .map_err(output_error(output_dir))?;
        if !output_dir.exists() {
            return fs::rename(&new_dir, output_dir).map_err(output_error(output_dir));
        }
        if crate::cache::exchange(&new_dir, output_dir).is_ok() {
            // `new_dir` now holds the previous output.
            let _ = fs::remove_dir_all(&new_dir);
            return Ok(());
        }
        // No atomic exchange here: move the old output aside first.
        let old_dir = output_dir.with_extension("old");
        let _ = fs::remove_dir_all(&old_dir);
        fs::rename(output_dir, &old_dir).map_err(output_error(output_dir))?;
        fs::rename(&new_dir, output_dir).map_err(output_error(output_dir))?;
        let _ = fs::remove_dir_all(&old_dir);
        Ok(())
    }
}

fn staging_prefix(name: &str) -> String {
    format!(".{name}.new-")
}

/// Staging folders and `<name>.old` that killed builds left in `parent`
/// (only ever called with the folder's lock held). Best effort.
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let old = format!("{name}.old");
    let staging = staging_prefix(name);
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name == old || file_name.starts_with(&staging) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn output_error(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |source| OutputError { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::SilentReporter;

    #[test]
    fn swaps_the_output_and_clears_what_killed_builds_left() {
        let folder = tempfile::tempdir().unwrap();
        let output = folder.path().join("dist/el9");
        fs::create_dir_all(&output).unwrap();
        fs::write(output.join("old.rpm"), "old").unwrap();
        let leftovers = [
            folder.path().join("dist/.el9.new-killed"),
            folder.path().join("dist/el9.old"),
        ];
        for leftover in &leftovers {
            fs::create_dir_all(leftover).unwrap();
        }
        let other = folder.path().join("dist/.el8.new-running");
        fs::create_dir_all(&other).unwrap();

        let claim = OutputClaim::claim(&output, &SilentReporter).unwrap();
        for leftover in &leftovers {
            assert!(!leftover.exists(), "{}", leftover.display());
        }
        assert!(other.exists(), "another output's staging folder stays");
        fs::write(claim.staging().join("new.rpm"), "new").unwrap();
        claim.replace().unwrap();

        let names: Vec<String> = fs::read_dir(&output)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["new.rpm"]);
        let mut siblings: Vec<String> = fs::read_dir(folder.path().join("dist"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        siblings.sort();
        assert_eq!(siblings, [".el8.new-running", ".el9.lock", "el9"]);
    }

    #[test]
    fn a_second_claim_waits_for_the_first() {
        let folder = tempfile::tempdir().unwrap();
        let output = folder.path().join("dist/el9");
        let first = OutputClaim::claim(&output, &SilentReporter).unwrap();
        let lock_path = folder.path().join("dist/.el9.lock");
        let second = fs::OpenOptions::new().write(true).open(&lock_path).unwrap();
        let try_lock = || {
            rustix::fs::flock(
                &second,
                rustix::fs::FlockOperation::NonBlockingLockExclusive,
            )
        };
        assert!(try_lock().is_err(), "the first claim holds the lock");
        first.replace().unwrap();
        assert!(try_lock().is_ok(), "released with the claim");
        assert!(output.is_dir());
    }
}
