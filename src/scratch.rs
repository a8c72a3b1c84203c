//! Scratch folders that a killed process does not leave behind for good.
//!
//! Input: a parent folder and a name prefix. Output: a [`Scratch`] folder,
//! removed when dropped, holding an owner file that its process keeps
//! locked (`flock`) while the folder is in use. Creating one first sweeps
//! the parent once per process: a folder of the same family whose owner
//! lock can be taken belongs to a process that is gone (the kernel drops a
//! process's locks however it ends), so it is removed. The sweep itself
//! ([`remove_folders_where`], [`is_older_than`]) also serves the
//! installed-tree cache, whose private folders are judged by age.
//!
//! Invariants: a folder in use is never removed (its lock is held); a
//! folder without an owner file (made by an older vendor, which kept a
//! failed hook's folder for its log) is left for [`KEPT_FOR`]; sweeping is
//! best effort and never fails the caller.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rustix::fs::{flock, FlockOperation};

/// The file inside every scratch folder that its process keeps locked.
const OWNER_FILE: &str = ".vendor-owner";

/// How long a folder without an owner lock is left before it is removed.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// A scratch folder; removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    // Dropped first: the folder goes while the lock is still held.
    dir: tempfile::TempDir,
    _owner: File,
}

impl Scratch {
    /// A new folder `<parent>/<family><name>XXXXXX`, after removing the
    /// abandoned folders of `family` in `parent` (once per process).
    pub fn create_in(parent: &Path, family: &str, name: &str) -> std::io::Result<Self> {
        sweep_once(parent, family);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{family}{name}"))
            .tempdir_in(parent)?;
        // Locked under another name, then renamed: a sweep never sees an
        // owner file that is not locked yet.
        let unlocked = dir.path().join(format!("{OWNER_FILE}.new"));
        let owner = File::create(&unlocked)?;
        flock(&owner, FlockOperation::NonBlockingLockExclusive)?;
        std::fs::rename(&unlocked, dir.path().join(OWNER_FILE))?;
        Ok(Self { dir, _owner: owner })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Sweep `parent` for `family` the first time this process asks.
fn sweep_once(parent: &Path, family: &str) {
    static SWEPT: Mutex<Option<HashSet<(PathBuf, String)>>> = Mutex::new(None);
    let mut swept = SWEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if swept
        .get_or_insert_with(HashSet::new)
        .insert((parent.to_path_buf(), family.to_string()))
    {
        drop(swept);
        sweep_abandoned(parent, family);
    }
}

/// Remove the folders of `family` in `parent` that no live process owns.
pub fn sweep_abandoned(parent: &Path, family: &str) {
    remove_folders_where(parent, family, is_abandoned);
}

/// Remove the folders of `parent` whose name starts with `prefix` and that
/// `abandoned` says nobody uses any more; best effort.
pub fn remove_folders_where(parent: &Path, prefix: &str, abandoned: impl Fn(&Path) -> bool) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let in_family = entry.file_name().to_string_lossy().starts_with(prefix);
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if in_family && is_dir && abandoned(&entry.path()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether `path` was last modified more than `age` ago.
pub fn is_older_than(path: &Path, age: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age)
}

fn is_abandoned(folder: &Path) -> bool {
    match File::open(folder.join(OWNER_FILE)) {
        // Taking the lock proves the owner is gone; it is released when
        // `owner` closes, after which nobody will want the folder.
        Ok(owner) => flock(&owner, FlockOperation::NonBlockingLockExclusive).is_ok(),
        Err(_) => is_older_than(folder, KEPT_FOR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_in_use_survives_a_sweep_and_goes_when_dropped() {
        let parent = tempfile::tempdir().unwrap();
        let scratch = Scratch::create_in(parent.path(), "vendor-test-", "alpha-").unwrap();
        let path = scratch.path().to_path_buf();
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("vendor-test-alpha-"));
        sweep_abandoned(parent.path(), "vendor-test-");
        assert!(path.is_dir());
        drop(scratch);
        assert!(!path.exists());
    }

    #[test]
    fn a_folder_whose_owner_is_gone_is_swept() {
        let parent = tempfile::tempdir().unwrap();
        // What a killed process leaves: the folder and an unlocked owner file.
        let abandoned = parent.path().join("vendor-test-beta-XYZ");
        std::fs::create_dir_all(abandoned.join("source")).unwrap();
        std::fs::write(abandoned.join(OWNER_FILE), "").unwrap();
        let other_family = parent.path().join("unrelated-XYZ");
        std::fs::create_dir(&other_family).unwrap();
        std::fs::write(other_family.join(OWNER_FILE), "").unwrap();

        sweep_abandoned(parent.path(), "vendor-test-");
        assert!(!abandoned.exists());
        assert!(other_family.exists());
    }

    #[test]
    fn a_folder_without_an_owner_file_stays_until_it_is_old() {
        let parent = tempfile::tempdir().unwrap();
        let kept = parent.path().join("vendor-test-gamma-XYZ");
        std::fs::create_dir(&kept).unwrap();
        sweep_abandoned(parent.path(), "vendor-test-");
        assert!(kept.is_dir());

        let old = std::time::SystemTime::now() - KEPT_FOR - Duration::from_secs(60);
        File::open(&kept).unwrap().set_modified(old).unwrap();
        sweep_abandoned(parent.path(), "vendor-test-");
        assert!(!kept.exists());
    }
}
