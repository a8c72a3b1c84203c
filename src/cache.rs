//! The content-addressed cache shared by every stage.
//!
//! Input: bytes plus what they claim to be (a sha256, or a key in a bucket).
//! Output: paths of complete, verified entries.
//!
//! Invariants:
//! - artifacts live at `artifacts/sha256/<ab>/<cdef…>/<filename>`, keyed by
//!   their digest only; URLs are never keys;
//! - every write goes to a temp file under `tmp/` (same file system) and is
//!   renamed into place once complete, so a killed process leaves no partial
//!   entry and two processes writing the same entry both end with a whole one;
//! - an entry that exists is complete: readers never see half a file.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

mod usage;
pub use usage::FolderUsage;

use crate::hash::{Sha256, Sha256Hasher};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot use the cache folder `{path}`: {source}")]
    Unusable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the cache entry `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`{filename}` has sha256 {actual}, but {expected} was expected; the bytes were not kept"
    )]
    HashMismatch {
        filename: String,
        expected: Sha256,
        actual: Sha256,
    },
}

impl crate::hint::Hint for CacheError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Unusable { .. } => Some("pass `--cache-dir` or set `VENDOR_CACHE_DIR` to a writable folder".to_string()),
            Self::HashMismatch { .. } => Some("the file changed on the index since it was locked; run `vendor lock --upgrade-package` for it if the change is legitimate".to_string()),
            Self::Write { source, .. } if crate::hint::is_disk_full(source) => {
                Some(crate::hint::CACHE_DISK_FULL.to_string())
            }
            _ => None,
        }
    }
}

/// Why an entry did not pass `vendor cache verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryProblem {
    /// Never read as it is, but not damaged: written in a layout this
    /// `vendor` no longer reads, or not yet complete (a run is still
    /// writing it, or was killed while it did: readers take it for a miss
    /// and write it again). `vendor cache clean` removes the derived ones.
    Stale,
    /// Its bytes are not what was written; the text says what differs.
    Damaged(String),
}

impl From<String> for EntryProblem {
    fn from(problem: String) -> Self {
        Self::Damaged(problem)
    }
}

/// Kinds of non-artifact entries, each in its own folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// Index pages with their HTTP validators.
    Index,
    /// Core metadata (`METADATA` / `PKG-INFO`) keyed by artifact sha256.
    Metadata,
    /// Wheels built from sdists, keyed by the build inputs.
    Built,
    /// RPMs written by earlier builds, keyed by everything they depend on.
    Packaged,
    /// Passed verification reports, keyed by the wheel set they ran in.
    Verified,
    /// Wheels installed (unpacked and byte-compiled) for a scheme.
    Installed,
    /// Which packed sdist a VCS commit gave, keyed by repository, commit
    /// and subdirectory (`direct`).
    Sources,
}

impl Bucket {
    fn folder(self) -> &'static str {
        match self {
            Self::Index => "index-v1",
            Self::Metadata => "metadata-v1",
            Self::Built => "built-v1",
            Self::Packaged => "packaged-v1",
            Self::Verified => "verified-v1",
            Self::Installed => "installed-v1",
            Self::Sources => "sources-v1",
        }
    }
}

/// `ab/cdef…` for the key `abcdef…`: entry keys spread over 256 folders.
pub fn sharded_key(key: &Sha256) -> String {
    let text = key.as_str();
    format!("{}/{}", &text[..2], &text[2..])
}

/// Swap what is at `first` and `second` in one atomic step
/// (`renameat2(RENAME_EXCHANGE)`): a reader of either path finds the old
/// or the new one, never neither. Fails where the file system lacks it.
pub fn exchange(first: &Path, second: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, first, CWD, second, RenameFlags::EXCHANGE).map_err(Into::into)
}

/// A cache rooted at one folder.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// Open (creating when needed) the cache at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, CacheError> {
        // Absolute: cache paths end up in `.pth` files, logs and messages
        // read from other working directories.
        let root = std::path::absolute(root.into()).map_err(|source| CacheError::Unusable {
            path: PathBuf::from("."),
            source,
        })?;
        for folder in ["artifacts/sha256", "tmp"] {
            let path = root.join(folder);
            std::fs::create_dir_all(&path).map_err(|source| CacheError::Unusable {
                path: path.clone(),
                source,
            })?;
        }
        Ok(Self { root })
    }

    /// `$VENDOR_CACHE_DIR` is handled by the CLI; this is the fallback.
    pub fn default_root() -> PathBuf {
        dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("vendor")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the artifact with this digest lives (whether or not it exists).
    pub fn artifact_path(&self, sha256: &Sha256, filename: &str) -> PathBuf {
        let digest = sha256.as_str();
        self.artifacts_folder()
            .join(&digest[..2])
            .join(&digest[2..])
            .join(filename)
    }

    /// The folder of every artifact, sharded by digest.
    pub fn artifacts_folder(&self) -> PathBuf {
        self.root.join("artifacts/sha256")
    }

    /// The artifact's path when it is in the cache.
    pub fn find_artifact(&self, sha256: &Sha256, filename: &str) -> Option<PathBuf> {
        let path = self.artifact_path(sha256, filename);
        path.is_file().then_some(path)
    }

    /// A temp file on the cache's file system, removed unless committed.
    pub fn temp_file(&self) -> Result<NamedTempFile, CacheError> {
        let folder = self.root.join("tmp");
        NamedTempFile::new_in(&folder).map_err(|source| CacheError::Write {
            path: folder,
            source,
        })
    }

    /// Move a fully written temp file into place as an artifact, after
    /// checking its digest. On mismatch the temp file is deleted.
    pub fn commit_artifact(
        &self,
        temp: NamedTempFile,
        filename: &str,
        expected: &Sha256,
    ) -> Result<PathBuf, CacheError> {
        let read_error = |source| CacheError::Write {
            path: temp.path().to_path_buf(),
            source,
        };
        let actual = Sha256::of_reader(std::fs::File::open(temp.path()).map_err(read_error)?)
            .map_err(read_error)?;
        if &actual != expected {
            return Err(CacheError::HashMismatch {
                filename: filename.to_string(),
                expected: expected.clone(),
                actual,
            });
        }
        self.persist(temp, self.artifact_path(expected, filename))
    }

    /// Store `bytes` as an artifact whose digest is computed here.
    pub fn store_artifact_bytes(
        &self,
        filename: &str,
        bytes: &[u8],
    ) -> Result<(Sha256, PathBuf), CacheError> {
        let mut hasher = Sha256Hasher::default();
        hasher.update(bytes);
        let sha256 = hasher.finish();
        let path = self.artifact_path(&sha256, filename);
        if path.is_file() {
            return Ok((sha256, path));
        }
        let temp = self.write_temp(bytes)?;
        let path = self.persist(temp, path)?;
        Ok((sha256, path))
    }

    /// The folder holding `bucket`'s entries.
    pub fn bucket_path(&self, bucket: Bucket) -> PathBuf {
        self.root.join(bucket.folder())
    }

    /// Path of a keyed entry in `bucket`. `key` may contain `/` to make
    /// sub-folders; it must not contain `..`.
    pub fn entry_path(&self, bucket: Bucket, key: &str) -> PathBuf {
        debug_assert!(!key.split('/').any(|part| part == ".." || part.is_empty()));
        self.bucket_path(bucket).join(key)
    }

    pub fn read_entry(&self, bucket: Bucket, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.entry_path(bucket, key)).ok()
    }

    /// Atomically replace the entry `key` in `bucket` with `bytes`.
    pub fn write_entry(
        &self,
        bucket: Bucket,
        key: &str,
        bytes: &[u8],
    ) -> Result<PathBuf, CacheError> {
        let temp = self.write_temp(bytes)?;
        self.persist(temp, self.entry_path(bucket, key))
    }

    fn write_temp(&self, bytes: &[u8]) -> Result<NamedTempFile, CacheError> {
        let mut temp = self.temp_file()?;
        // Through the `File`: `NamedTempFile`'s own writer repeats the path
        // inside the error.
        temp.as_file_mut()
            .write_all(bytes)
            .map_err(|source| CacheError::Write {
                path: self.root.join("tmp"),
                source,
            })?;
        Ok(temp)
    }

    /// The entry folders of a folder sharded as `<ab>/<cdef…>` (a bucket,
    /// or `artifacts/sha256`), each with its key `abcdef…`; private
    /// folders of runs still writing (names starting with `.`) are left out.
    pub fn sharded_entries(&self, folder: &Path) -> Vec<(String, PathBuf)> {
        let mut entries = Vec::new();
        for shard in read_dir_sorted(folder) {
            let Some(prefix) = shard
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
            else {
                continue;
            };
            for entry in read_dir_sorted(&shard) {
                let name = entry.file_name().unwrap_or_default().to_string_lossy();
                if !name.starts_with('.') && entry.is_dir() {
                    entries.push((format!("{prefix}{name}"), entry.clone()));
                }
            }
        }
        entries
    }

    /// Remove the entry folder (or file) at `path` in one step for readers:
    /// it is renamed into `tmp/` first, then deleted.
    pub fn remove_entry(&self, path: &Path) -> Result<(), CacheError> {
        let write_error = |source| CacheError::Write {
            path: path.to_path_buf(),
            source,
        };
        let graveyard = tempfile::Builder::new()
            .prefix(".removing-")
            .tempdir_in(self.root.join("tmp"))
            .map_err(write_error)?;
        std::fs::rename(path, graveyard.path().join("entry")).map_err(write_error)?;
        graveyard.close().map_err(write_error)
    }

    /// Rename into place. Concurrent writers of the same content-addressed
    /// path race harmlessly: the last rename wins with identical bytes.
    pub fn persist(
        &self,
        temp: NamedTempFile,
        destination: PathBuf,
    ) -> Result<PathBuf, CacheError> {
        let write_error = |source| CacheError::Write {
            path: destination.clone(),
            source,
        };
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(write_error)?;
        }
        // Temp files are created 0600; cache entries are shared, read-only data.
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .and_then(|()| temp.as_file().sync_all())
            .map_err(write_error)?;
        temp.persist(&destination)
            .map_err(|error| write_error(error.error))?;
        Ok(destination)
    }
}

/// The paths in `folder`, sorted; none when it cannot be read.
fn read_dir_sorted(folder: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_root_is_made_absolute() {
        let cache = Cache::open("target/cache-test-relative").unwrap();
        assert!(cache.root().is_absolute(), "{}", cache.root().display());
        assert!(cache.root().ends_with("target/cache-test-relative"));
        std::fs::remove_dir_all(cache.root()).unwrap();
    }

    #[test]
    fn stores_and_refuses_bad_digest() {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path()).unwrap();
        let (sha256, path) = cache.store_artifact_bytes("a.whl", b"hello").unwrap();
        assert_eq!(cache.find_artifact(&sha256, "a.whl"), Some(path));

        let mut temp = cache.temp_file().unwrap();
        temp.write_all(b"evil").unwrap();
        let error = cache.commit_artifact(temp, "b.whl", &Sha256::of_bytes(b"good"));
        assert!(matches!(error, Err(CacheError::HashMismatch { .. })));
        assert!(cache
            .find_artifact(&Sha256::of_bytes(b"good"), "b.whl")
            .is_none());
        assert_eq!(
            std::fs::read_dir(folder.path().join("tmp"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn entries_round_trip() {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path()).unwrap();
        cache
            .write_entry(Bucket::Index, "pypi/django.json", b"{}")
            .unwrap();
        assert_eq!(
            cache.read_entry(Bucket::Index, "pypi/django.json").unwrap(),
            b"{}"
        );
        assert!(cache.read_entry(Bucket::Metadata, "missing").is_none());
    }
}
