//! Core metadata and downloads of single files, for [`IndexClient`].
//!
//! Input: an [`IndexFile`] (or a URL, file name and digest). Output:
//! [`CoreMetadata`], or the path of a verified artifact in the cache.
//!
//! Metadata comes from the cheapest source that is exact, in order: the
//! metadata cache (by artifact sha256), a local or already cached artifact,
//! PEP 658 `<url>.metadata`, the zip central directory read with HTTP range
//! requests, and last a full download into the cache. Sdists are always
//! downloaded and read as [`super::sdist`] describes.
//!
//! Invariants: downloads stream into a cache temp file and are renamed into
//! place only when their sha256 matches, so a mismatch leaves nothing
//! behind; an artifact already in the cache causes no request at all.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, MutexGuard, PoisonError};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use url::Url;

use super::http::{status_error, ByteRange, DownloadTask};
use super::metadata::CoreMetadata;
use super::sdist::{read_sdist_metadata, SdistError, SdistMetadata};
use super::tee::ByteTee;
use super::wheel::{read_metadata, read_sparse_metadata, SparseZip, WheelReadError};
use super::{strip_credentials, IndexClient, IndexError, IndexFile};
use crate::cache::{sharded_key, Bucket};
use crate::filename::{DistFilename, SdistFilename, WheelFilename};
use crate::hash::{Sha256, Sha256Hasher};

/// Bytes asked for per range request: the tail holds the central directory
/// of all but huge wheels, and one more request the METADATA entry.
const RANGE_CHUNK: u64 = 64 * 1024;
/// Range requests per wheel before falling back to a download.
const MAX_RANGE_ROUNDS: usize = 6;

impl IndexClient {
    /// Core metadata of one file (see the module documentation for sources).
    pub async fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, IndexError> {
        let cell = self.inner.metadata.cell(&file.url.to_string());
        cell.get_or_try_init(|| self.load_metadata(file))
            .await
            .map(Arc::clone)
    }

    /// Whether the metadata of `file` is at hand without the network (read
    /// already, or stored in the cache): prefetching it would only read
    /// ahead what a warm lock reads faster when asked, and mostly never.
    pub fn has_local_metadata(&self, file: &IndexFile) -> bool {
        let key = file.url.to_string();
        self.inner.metadata.is_asked(&key)
            || file.sha256.as_ref().is_some_and(|sha256| {
                let key = metadata_key(sha256, &file.filename);
                self.inner
                    .cache
                    .entry_path(Bucket::Metadata, &key)
                    .is_file()
            })
    }

    async fn load_metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, IndexError> {
        let cache_key = file
            .sha256
            .as_ref()
            .map(|sha256| metadata_key(sha256, &file.filename));
        let cached = cache_key
            .as_ref()
            .and_then(|key| self.inner.cache.read_entry(Bucket::Metadata, key))
            .and_then(|bytes| CoreMetadata::parse_bytes(&bytes).ok());
        if let Some(metadata) = cached {
            return Ok(Arc::new(metadata));
        }
        let text = match &file.filename {
            DistFilename::Wheel(wheel) => self.wheel_metadata(file, wheel).await?,
            DistFilename::Sdist(sdist) => self.sdist_metadata(file, sdist).await?,
        };
        let invalid = |reason: String| IndexError::InvalidMetadata {
            filename: file.filename.to_string(),
            reason,
        };
        let metadata = CoreMetadata::parse(&text).map_err(invalid)?;
        check_identity(&metadata, &file.filename).map_err(invalid)?;
        if let Some(key) = cache_key {
            self.inner
                .cache
                .write_entry(Bucket::Metadata, &key, text.as_bytes())?;
        }
        Ok(Arc::new(metadata))
    }

    async fn wheel_metadata(
        &self,
        file: &IndexFile,
        wheel: &WheelFilename,
    ) -> Result<String, IndexError> {
        if let Some(path) = self.local_or_cached_path(file) {
            return read_wheel_file(path, wheel.clone()).await;
        }
        if self.is_offline() {
            return Err(IndexError::Offline {
                url: file.url.to_string(),
            });
        }
        if file.has_core_metadata {
            if let Some(text) = self.pep658_metadata(file).await? {
                return Ok(text);
            }
        }
        if let Some(text) = self.wheel_metadata_by_range(file, wheel).await? {
            return Ok(text);
        }
        let path = self.download_file(file).await?;
        read_wheel_file(path, wheel.clone()).await
    }

    /// PEP 658: `<url>.metadata`; `None` when the server has none after all.
    async fn pep658_metadata(&self, file: &IndexFile) -> Result<Option<String>, IndexError> {
        let mut url = file.url.clone();
        url.set_path(&format!("{}.metadata", file.url.path()));
        let fetched = self.inner.http.get(&url, HeaderMap::new()).await?;
        match fetched.status {
            StatusCode::OK => Ok(Some(String::from_utf8_lossy(&fetched.body).into_owned())),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(status_error(&url, status, 1)),
        }
    }

    /// METADATA through range requests; `None` when the server does not
    /// honour `Range` (remembered per host) or the zip needs too many rounds.
    async fn wheel_metadata_by_range(
        &self,
        file: &IndexFile,
        wheel: &WheelFilename,
    ) -> Result<Option<String>, IndexError> {
        let host = file.url.host_str().unwrap_or_default().to_string();
        if self.no_range_hosts().contains(&host) {
            return Ok(None);
        }
        let tail = match file.size {
            Some(size) => ByteRange::Span {
                start: size.saturating_sub(RANGE_CHUNK),
                end: size,
            },
            None => ByteRange::Suffix(RANGE_CHUNK),
        };
        let Some(part) = self.inner.http.get_range(&file.url, tail).await? else {
            self.no_range_hosts().insert(host);
            return Ok(None);
        };
        let Some(length) = part.total.or(file.size) else {
            return Ok(None);
        };
        let mut sparse = SparseZip::new(length);
        sparse.insert(part.start, part.body);
        for _ in 0..MAX_RANGE_ROUNDS {
            match read_sparse_metadata(&mut sparse, wheel) {
                Ok(text) => return Ok(Some(text)),
                Err(WheelReadError::Invalid(reason)) => {
                    return Err(IndexError::InvalidMetadata {
                        filename: wheel.as_str().to_string(),
                        reason,
                    })
                }
                Err(WheelReadError::Missing { start, length }) => {
                    let (start, end) = sparse.range_for_miss(start, length, RANGE_CHUNK);
                    let range = ByteRange::Span { start, end };
                    let Some(part) = self.inner.http.get_range(&file.url, range).await? else {
                        self.no_range_hosts().insert(host);
                        return Ok(None);
                    };
                    sparse.insert(part.start, part.body);
                }
            }
        }
        Ok(None)
    }

    /// Hosts that answered a range request with the whole file.
    fn no_range_hosts(&self) -> MutexGuard<'_, HashSet<String>> {
        self.inner
            .no_range_hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn sdist_metadata(
        &self,
        file: &IndexFile,
        sdist: &SdistFilename,
    ) -> Result<String, IndexError> {
        let needs_build = || IndexError::MetadataNeedsBuild {
            package: sdist.name.clone(),
            version: sdist.version.clone(),
            filename: sdist.as_str().to_string(),
        };
        // The verdict is kept too: an sdist whose metadata only its backend
        // can tell is otherwise decompressed again by every lock to learn
        // so (most of a warm lock of a few such sdists).
        let verdict_key = file.sha256.as_ref().map(needs_build_key);
        if let Some(key) = &verdict_key {
            if self.inner.cache.read_entry(Bucket::Metadata, key).is_some() {
                return Err(needs_build());
            }
        }
        let path = match self.local_or_cached_path(file) {
            Some(path) => path,
            None => self.download_file(file).await?,
        };
        let owned_sdist = sdist.clone();
        let outcome = tokio::task::spawn_blocking(move || read_sdist_metadata(&path, &owned_sdist))
            .await
            .map_err(|error| IndexError::Task(error.to_string()))?;
        match outcome {
            Ok(SdistMetadata::Static(text)) => Ok(text),
            Ok(SdistMetadata::EggInfo(metadata)) => Ok(metadata.to_metadata_text()),
            Ok(SdistMetadata::NeedsBuild) => {
                if let Some(key) = &verdict_key {
                    // Only saves the next lock a decompression.
                    let _ = self.inner.cache.write_entry(Bucket::Metadata, key, b"");
                }
                Err(needs_build())
            }
            Err(SdistError::Unsupported(reason)) => Err(IndexError::UnsupportedArchive {
                filename: sdist.as_str().to_string(),
                reason,
            }),
            Err(SdistError::Invalid(reason)) => Err(IndexError::InvalidMetadata {
                filename: sdist.as_str().to_string(),
                reason,
            }),
        }
    }

    /// The file on this machine: a find-links file, or a cached artifact.
    fn local_or_cached_path(&self, file: &IndexFile) -> Option<PathBuf> {
        if file.url.scheme() == "file" {
            return file.url.to_file_path().ok();
        }
        let sha256 = file.sha256.as_ref()?;
        self.inner
            .cache
            .find_artifact(sha256, file.filename.as_str())
    }

    /// Download `file` into the cache (verified when its digest is known).
    async fn download_file(&self, file: &IndexFile) -> Result<PathBuf, IndexError> {
        let filename = file.filename.as_str();
        match &file.sha256 {
            Some(sha256) => self.download(&file.url, filename, sha256).await,
            None => Ok(self
                .store_artifact(&file.url, filename, None, None)
                .await?
                .1),
        }
    }

    /// Download `url` into the cache as `filename`, streaming and checking
    /// `sha256` (on mismatch nothing is kept). Returns the cache path; an
    /// artifact already cached causes no request.
    pub async fn download(
        &self,
        url: &Url,
        filename: &str,
        sha256: &Sha256,
    ) -> Result<PathBuf, IndexError> {
        self.download_teeing(url, filename, sha256, None).await
    }

    /// [`Self::download`], feeding `tee` the bytes as they arrive when this
    /// call is the one that downloads them over HTTP (otherwise the tee is
    /// dropped and its reader fails: read the returned file instead).
    pub async fn download_teeing(
        &self,
        url: &Url,
        filename: &str,
        sha256: &Sha256,
        tee: Option<ByteTee>,
    ) -> Result<PathBuf, IndexError> {
        if let Some(path) = self.inner.cache.find_artifact(sha256, filename) {
            return Ok(path);
        }
        let cell = self
            .inner
            .downloads
            .cell(&(sha256.clone(), filename.to_string()));
        cell.get_or_try_init(|| async {
            if let Some(path) = self.inner.cache.find_artifact(sha256, filename) {
                return Ok(path);
            }
            Ok(self
                .store_artifact(url, filename, Some(sha256), tee)
                .await?
                .1)
        })
        .await
        .cloned()
    }

    /// Download (or copy, for `file://`) `url` into the cache as
    /// `filename` when its digest is not known beforehand (a direct
    /// reference); returns the digest and the cache path.
    pub async fn store_unverified(
        &self,
        url: &Url,
        filename: &str,
    ) -> Result<(Sha256, PathBuf), IndexError> {
        self.store_artifact(url, filename, None, None).await
    }

    /// Copy or download `url` into a cache temp file, check the digest,
    /// then rename it into place; `tee` gets the bytes of an HTTP download.
    async fn store_artifact(
        &self,
        url: &Url,
        filename: &str,
        expected: Option<&Sha256>,
        tee: Option<ByteTee>,
    ) -> Result<(Sha256, PathBuf), IndexError> {
        let cache = self.inner.cache.clone();
        let temp = cache.temp_file()?;
        let writer = temp
            .as_file()
            .try_clone()
            .map_err(|error| IndexError::io(temp.path(), error))?;
        let actual = if url.scheme() == "file" {
            let source = url.to_file_path().map_err(|()| IndexError::InvalidPage {
                url: url.to_string(),
                reason: "not a local path".into(),
            })?;
            tokio::task::spawn_blocking(move || copy_hashing(&source, writer))
                .await
                .map_err(|error| IndexError::Task(error.to_string()))??
        } else {
            let mut task = DownloadTask::new(&*self.inner.reporter, filename);
            self.inner
                .http
                .download(url, writer, &mut task, tee)
                .await?
                .0
        };
        if let Some(expected) = expected {
            if &actual != expected {
                return Err(IndexError::HashMismatch {
                    filename: filename.to_string(),
                    url: strip_credentials(url).to_string(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let destination = cache.artifact_path(&actual, filename);
        let path = tokio::task::spawn_blocking(move || cache.persist(temp, destination))
            .await
            .map_err(|error| IndexError::Task(error.to_string()))??;
        Ok((actual, path))
    }
}

/// Copy a local file into `writer`, hashing on the way.
fn copy_hashing(source: &std::path::Path, mut writer: std::fs::File) -> Result<Sha256, IndexError> {
    use std::io::Write;
    let mut reader = std::fs::File::open(source).map_err(|error| IndexError::io(source, error))?;
    let mut hasher = Sha256Hasher::default();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = reader
            .read(&mut buffer)
            .map_err(|error| IndexError::io(source, error))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        writer
            .write_all(&buffer[..read])
            .map_err(|error| IndexError::CacheWrite {
                url: source.display().to_string(),
                source: error,
            })?;
    }
    Ok(hasher.finish())
}

async fn read_wheel_file(path: PathBuf, wheel: WheelFilename) -> Result<String, IndexError> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|error| IndexError::io(&path, error))?;
        read_metadata(std::io::BufReader::new(file), &wheel).map_err(|reason| {
            IndexError::InvalidMetadata {
                filename: wheel.as_str().to_string(),
                reason,
            }
        })
    })
    .await
    .map_err(|error| IndexError::Task(error.to_string()))?
}

fn metadata_key(sha256: &Sha256, filename: &DistFilename) -> String {
    match filename {
        DistFilename::Wheel(_) => format!("{}.metadata", sharded_key(sha256)),
        // Bumped when what is read from an sdist changes (2: `requires.txt`
        // of a `setup.py` that looks at the interpreter is not trusted).
        DistFilename::Sdist(_) => format!("{}.sdist-metadata-2", sharded_key(sha256)),
    }
}

/// Where the verdict "only the backend can tell" is kept for an sdist.
fn needs_build_key(sha256: &Sha256) -> String {
    format!("{}.needs-build", sharded_key(sha256))
}

/// Metadata must describe the file it came from: same name, and for wheels
/// (whose names are machine-written) the same version.
fn check_identity(metadata: &CoreMetadata, filename: &DistFilename) -> Result<(), String> {
    if &metadata.name != filename.name() {
        return Err(format!(
            "it names the package `{}`, but the file is `{}`",
            metadata.name,
            filename.name()
        ));
    }
    if matches!(filename, DistFilename::Wheel(_)) && &metadata.version != filename.version() {
        return Err(format!(
            "it says version {}, but the file name says {}",
            metadata.version,
            filename.version()
        ));
    }
    Ok(())
}
