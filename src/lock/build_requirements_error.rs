//! The error of working out a build environment, shared by the modules
//! that do it ([`super::build_environment`], [`super::sdist_scratch`]).
//!
//! Input: what failed and for which package. Output: a message naming the
//! package built from source, and a hint where there is a fix.

use pep440_rs::Version;

use super::resolve::ResolveError;
use crate::index::IndexError;
use crate::name::PackageName;

/// Why a build environment could not be worked out. Every message names
/// the package built from source.
#[derive(Debug, thiserror::Error)]
pub enum BuildRequirementsError {
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
    #[error("`{package}` {version} must be built from source, but no sdist of it is locked")]
    NoSdist {
        package: PackageName,
        version: Version,
    },
    #[error("cannot download {what} of `{package}` {version}: {source}")]
    Download {
        package: PackageName,
        version: Version,
        what: String,
        #[source]
        source: Box<IndexError>,
    },
    #[error("cannot lock the build requirements of `{package}` {version} ({requirements}) for the build host:\n{source}")]
    Resolve {
        package: PackageName,
        version: Version,
        /// The requirements resolved, as written.
        requirements: String,
        #[source]
        source: Box<ResolveError>,
    },
    #[error("cannot {action} `{package}` {version}:\n{source}")]
    Backend {
        package: PackageName,
        version: Version,
        /// `read the build requirements of`, `prepare the metadata of`.
        action: &'static str,
        #[source]
        source: Box<crate::pep517::BuildError>,
    },
    #[error("the metadata the backend of `{package}` {version} made is unreadable: {reason}")]
    BuiltMetadata {
        package: PackageName,
        version: Version,
        reason: String,
    },
    #[error("vendor will not build `{filename}` to read its metadata: {reason}")]
    WillNotBuild { filename: String, reason: String },
    #[error("cannot create a folder for the build environment of `{package}`: {source}")]
    Scratch {
        package: PackageName,
        #[source]
        source: std::io::Error,
    },
}

impl crate::hint::Hint for BuildRequirementsError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NoSdist { .. } => Some("it has no wheel for the target; publish its sdist to the index or a `--find-links` folder, or pick a version that has a wheel".to_string()),
            Self::BuiltMetadata { .. } => Some("the package's build backend made broken metadata; report it to the package's publisher".to_string()),
            Self::WillNotBuild { .. } => Some("use an index that publishes sha256 hashes, or pick a version of the package with a wheel or static sdist metadata".to_string()),
            Self::Host(inner) => inner.hint(),
            _ => None,
        }
    }
}
