//! The in-memory lock: what `pylock.toml` says, typed.
//!
//! Input: a resolution (from the resolver) or a parsed `pylock.toml`.
//! Output: the values later stages consume (`fetch`, `build`).
//! Invariants: see [`crate::lock`].

use jiff::Timestamp;
use pep440_rs::{Version, VersionSpecifiers};
use url::Url;

use crate::filename::{DistFilename, WheelFilename};
use crate::hash::Sha256;
use crate::name::{ExtraName, PackageName};
use crate::target::{TagPriority, Tags};

/// A resolved, pinned set of packages for one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// Sorted by name.
    pub packages: Vec<LockedPackage>,
    pub options: LockOptions,
}

/// What the lock was resolved for and with; `[tool.vendor]` in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockOptions {
    /// Target name (`el9`).
    pub target: String,
    /// The target's `platform_machine` (`x86_64`, `aarch64`); with `python`
    /// it makes the lock file's `environments` marker.
    pub arch: String,
    /// Full target Python version (`3.11.9`).
    pub python: Version,
    /// The top-level requirements as written (markers and all), sorted; used
    /// by `--locked` and to keep pins on re-lock.
    pub requirements: Vec<String>,
    pub constraints: Vec<String>,
    /// Index URLs without credentials.
    pub index_urls: Vec<String>,
    pub find_links: Vec<String>,
    pub exclude_newer: Option<Timestamp>,
}

/// One pinned package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: PackageName,
    pub version: Version,
    /// The index (simple API base URL, no credentials) it came from, when any.
    pub index: Option<String>,
    pub requires_python: Option<VersionSpecifiers>,
    pub sdist: Option<LockedArtifact>,
    /// Only wheels usable on the target; sorted by file name.
    pub wheels: Vec<LockedArtifact>,
    /// Direct dependencies for the target, sorted by name.
    pub dependencies: Vec<LockedDependency>,
}

/// An edge of the dependency graph.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockedDependency {
    pub name: PackageName,
    /// Extras of the dependency that are requested through this edge.
    pub extras: Vec<ExtraName>,
}

/// One file of a package, identified by its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedArtifact {
    pub filename: DistFilename,
    /// Where to download it from; for `--find-links` folders a `file://` URL.
    pub url: Url,
    pub size: Option<u64>,
    pub upload_time: Option<Timestamp>,
    pub sha256: Sha256,
}

impl LockedPackage {
    /// The artifact `vendor build` will use on this target: the wheel with
    /// the best tag priority, else the sdist.
    pub fn preferred_artifact(&self, tags: &Tags) -> Option<&LockedArtifact> {
        self.best_wheel(tags).or(self.sdist.as_ref())
    }

    /// The most specific wheel usable with `tags`, if any.
    pub fn best_wheel(&self, tags: &Tags) -> Option<&LockedArtifact> {
        self.wheels
            .iter()
            .filter_map(|artifact| match &artifact.filename {
                DistFilename::Wheel(wheel) => Some((tags.priority(wheel)?, artifact)),
                DistFilename::Sdist(_) => None,
            })
            .max_by_key(|(priority, _): &(TagPriority, _)| *priority)
            .map(|(_, artifact)| artifact)
    }
}

impl LockedArtifact {
    pub fn wheel_filename(&self) -> Option<&WheelFilename> {
        match &self.filename {
            DistFilename::Wheel(wheel) => Some(wheel),
            DistFilename::Sdist(_) => None,
        }
    }
}
