//! The errors of the index client.
//!
//! Invariant: every URL in a message has passed through
//! [`super::credentials::strip_credentials`] or [`super::credentials::redact`];
//! no variant can carry a password.

use std::path::PathBuf;

use pep440_rs::Version;

use crate::cache::CacheError;
use crate::hash::Sha256;
use crate::name::PackageName;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("`{url}` is not a valid index URL: {reason}")]
    InvalidIndexUrl { url: String, reason: String },

    #[error("`{location}` is not a usable find-links location: {reason}")]
    InvalidFindLinks { location: String, reason: String },

    #[error("cannot set up the HTTP client: {reason}")]
    Client { reason: String },

    #[error("`{url}` is not in the cache and `--offline` forbids the network")]
    Offline { url: String },

    #[error("the index page of `{package}` (`{url}`) is not in the cache and `--offline` forbids the network")]
    OfflineProject { package: PackageName, url: String },

    #[error("request to `{url}` failed after {attempts} attempt(s): {reason}")]
    Network {
        url: String,
        attempts: u32,
        reason: String,
    },

    #[error("`{url}` answered {status} after {attempts} attempt(s)")]
    Status {
        url: String,
        status: u16,
        attempts: u32,
    },

    #[error("`{url}` answered {status}: access denied")]
    Unauthorized { url: String, status: u16 },

    #[error("`{url}` is not a valid simple-API page: {reason}")]
    InvalidPage { url: String, reason: String },

    #[error("`{filename}` downloaded from `{url}` has sha256 {actual}, but {expected} was expected; the bytes were not kept")]
    HashMismatch {
        filename: String,
        url: String,
        expected: Sha256,
        actual: Sha256,
    },

    #[error("cannot read the core metadata of `{filename}`: {reason}")]
    InvalidMetadata { filename: String, reason: String },

    #[error("`{package}` {version} is only available as the source distribution `{filename}`, whose metadata is not static: reading it needs a PEP 517 build (`prepare_metadata_for_build_wheel` or `build_wheel`), which this path does not run (`vendor lock` builds such sdists in their locked build environment)")]
    MetadataNeedsBuild {
        package: PackageName,
        version: Version,
        filename: String,
    },

    #[error("`{filename}` is a source distribution format vendor cannot read ({reason})")]
    UnsupportedArchive { filename: String, reason: String },

    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(transparent)]
    Cache(#[from] CacheError),

    #[error("a background task of the index client failed: {0}")]
    Task(String),

    #[error("cannot write the download of `{url}` into the cache: {source}")]
    CacheWrite { url: String, source: std::io::Error },
}

impl crate::hint::Hint for IndexError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::InvalidIndexUrl { .. } => Some("an index URL looks like `https://pypi.org/simple`".to_string()),
            Self::InvalidFindLinks { .. } => Some("pass a folder of wheels and sdists, or the URL of an HTML page that links to them".to_string()),
            Self::Offline { .. } => Some("run the same command once without `--offline` to fill the cache".to_string()),
            Self::OfflineProject { .. } => Some("run `vendor lock` once without `--offline` to fill the cache".to_string()),
            Self::Network { .. } => Some("check the network and the index URL; `VENDOR_HTTP_RETRIES` and `VENDOR_HTTP_TIMEOUT` (seconds) allow more retries and a longer read timeout".to_string()),
            Self::Unauthorized { .. } => Some("put credentials in the index URL (`https://user:token@host/simple`) or in `~/.netrc` (`NETRC` points at another file)".to_string()),
            Self::HashMismatch { .. } => Some("the file changed on the index since it was locked; run `vendor lock --upgrade-package` for it if the change is legitimate".to_string()),
            Self::MetadataNeedsBuild { package, .. } => Some(format!("pin a version of `{package}` that has wheels for the target, or one whose sdist has static metadata (Metadata-Version 2.2 or later)")),
            Self::Cache(inner) => inner.hint(),
            Self::CacheWrite { source, .. } if crate::hint::is_disk_full(source) => {
                Some(crate::hint::CACHE_DISK_FULL.to_string())
            }
            _ => None,
        }
    }
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
