//! What the cache holds and making room: `vendor cache info` and
//! `vendor cache clean`.
//!
//! Input: a [`Cache`]. Output: one [`FolderUsage`] per top-level folder,
//! or the bytes a clean freed. Invariant: a default clean removes only
//! what any build makes again from the artifacts and built wheels the
//! cache keeps (installed trees, kept RPMs, passed verifications, work and
//! temp folders), so nothing has to be downloaded or built from source
//! again; `everything` empties the cache. A clean while another `vendor`
//! runs on the same cache can make that run fail (never corrupt the cache).

use std::fs;
use std::path::Path;

use super::{Bucket, Cache, CacheError};

/// One top-level folder of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderUsage {
    pub name: String,
    pub files: u64,
    pub bytes: u64,
    /// Removed by a default clean: every build makes it again.
    pub derived: bool,
}

/// The folders a default clean removes.
fn is_derived(name: &str) -> bool {
    [Bucket::Installed, Bucket::Packaged, Bucket::Verified]
        .iter()
        .any(|bucket| bucket.folder() == name)
        || name == "work"
        || name == "tmp"
}

impl Cache {
    /// Every top-level folder with its file count and size, by name.
    pub fn usage(&self) -> Result<Vec<FolderUsage>, CacheError> {
        let unusable = |source| CacheError::Unusable {
            path: self.root.clone(),
            source,
        };
        let mut usage = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(unusable)? {
            let entry = entry.map_err(unusable)?;
            if !entry.file_type().map_err(unusable)?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let (files, bytes) = measure(&entry.path());
            usage.push(FolderUsage {
                derived: is_derived(&name),
                name,
                files,
                bytes,
            });
        }
        usage.sort_by(|left, right| left.name.cmp(&right.name));
        Ok(usage)
    }

    /// Remove the derived folders (all of them with `everything`) and
    /// return the bytes freed. The cache stays usable.
    pub fn clean(&self, everything: bool) -> Result<u64, CacheError> {
        let mut freed = 0;
        for folder in self.usage()? {
            if !(everything || folder.derived) {
                continue;
            }
            let path = self.root.join(&folder.name);
            fs::remove_dir_all(&path).map_err(|source| CacheError::Write {
                path: path.clone(),
                source,
            })?;
            freed += folder.bytes;
        }
        // What `open` makes, so the cache works at once.
        Cache::open(&self.root)?;
        Ok(freed)
    }
}

/// Files and bytes below `folder` (links count as files, never followed).
fn measure(folder: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry.path()),
                Ok(_) => {
                    files += 1;
                    bytes += entry.metadata().map_or(0, |metadata| metadata.len());
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_clean_keeps_downloads_and_builds() {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path()).unwrap();
        let (sha256, artifact) = cache.store_artifact_bytes("a.whl", b"wheel").unwrap();
        for bucket in [
            Bucket::Built,
            Bucket::Installed,
            Bucket::Packaged,
            Bucket::Verified,
        ] {
            cache.write_entry(bucket, "ab/entry", b"12345").unwrap();
        }
        fs::create_dir_all(folder.path().join("work/el9/logs")).unwrap();
        fs::write(folder.path().join("work/el9/logs/x.log"), "log").unwrap();

        let usage = cache.usage().unwrap();
        let installed = usage
            .iter()
            .find(|folder| folder.name == "installed-v1")
            .unwrap();
        assert_eq!(
            (installed.files, installed.bytes, installed.derived),
            (1, 5, true)
        );
        let built = usage
            .iter()
            .find(|folder| folder.name == "built-v1")
            .unwrap();
        assert!(!built.derived);

        assert_eq!(cache.clean(false).unwrap(), 3 * 5 + 3);
        let left: Vec<String> = cache
            .usage()
            .unwrap()
            .into_iter()
            .map(|folder| folder.name)
            .collect();
        assert_eq!(left, ["artifacts", "built-v1", "tmp"]);
        assert_eq!(cache.find_artifact(&sha256, "a.whl"), Some(artifact));

        cache.clean(true).unwrap();
        assert_eq!(cache.find_artifact(&sha256, "a.whl"), None);
        cache.store_artifact_bytes("a.whl", b"wheel").unwrap();
    }
}
