//! The in-memory lock: what `pylock.toml` says, typed.
//!
//! Input: a resolution (from the resolver) or a parsed `pylock.toml`.
//! Output: the values later stages consume (`fetch`, `build`).
//! Invariants: see [`crate::lock`].

use std::path::Path;

use jiff::Timestamp;
use pep440_rs::{Version, VersionSpecifiers};
use url::Url;

use crate::direct::DirectSource;
use crate::filename::{DistFilename, WheelFilename};
use crate::hash::Sha256;
use crate::name::{ExtraName, PackageName};
use crate::requirements::FormatControl;
use crate::targets::{TagPriority, Tags};

/// A resolved, pinned set of packages for one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// Sorted by name.
    pub packages: Vec<LockedPackage>,
    /// The wheels of the build environments of the packages built from
    /// source, resolved for the build host (`[[tool.vendor.build-packages]]`).
    /// Sorted by name, then version; one name may appear with several
    /// versions when two packages need different ones. Their `build` is
    /// `None` and their `dependencies` are empty: each package's
    /// [`LockedBuild`] lists its whole build environment.
    pub build_packages: Vec<LockedPackage>,
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
    /// The requirement files' `--no-binary` / `--only-binary`: fetch and
    /// build follow them as the resolution did.
    pub format_control: FormatControl,
    /// `--prefer-binary`.
    pub prefer_binary: bool,
    /// `--require-hashes`: every package was locked from a file whose
    /// sha256 the requirement files name.
    pub require_hashes: bool,
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
    /// Set for a package built from source: its pinned build environment.
    pub build: Option<LockedBuild>,
    /// Set for a direct reference (PEP 751 `archive`, `directory`, `vcs`).
    /// An archive's file is in `sdist` or `wheels` as any artifact; a
    /// directory or repository has none until `fetch` packs it.
    pub direct: Option<DirectSource>,
}

/// The build environment of one package built from its sdist
/// (`[packages.tool.vendor] build-requires`): `[build-system].requires`,
/// what the backend's `get_requires_for_build_wheel` adds, and everything
/// those need, each at one exact version found in [`Lock::build_packages`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockedBuild {
    /// Sorted by name; each name once.
    pub requirements: Vec<LockedBuildRequirement>,
}

/// One exact pin of a build environment.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockedBuildRequirement {
    pub name: PackageName,
    pub version: Version,
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

impl Lock {
    /// The package locked from the project folder `directory` (`[app]
    /// source`): a PEP 751 `directory` package at that path.
    pub fn package_at_directory(&self, directory: &Path) -> Option<&LockedPackage> {
        let wanted = std::fs::canonicalize(directory).unwrap_or_else(|_| directory.to_path_buf());
        self.packages.iter().find(|package| match &package.direct {
            Some(DirectSource::Directory { path, .. }) => {
                std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()) == wanted
            }
            _ => false,
        })
    }

    /// The build package `name` at exactly `version`, if locked.
    pub fn build_package(&self, name: &PackageName, version: &Version) -> Option<&LockedPackage> {
        self.build_packages
            .binary_search_by(|package| (&package.name, &package.version).cmp(&(name, version)))
            .ok()
            .map(|position| &self.build_packages[position])
    }

    /// The build packages to install before building `package` from its
    /// sdist, sorted by name; `None` when the lock has no build environment
    /// for it (it is not built from source, or was locked before vendor
    /// locked build requirements). A parsed lock always holds every entry.
    pub fn build_environment(&self, package: &LockedPackage) -> Option<Vec<&LockedPackage>> {
        let build = package.build.as_ref()?;
        build
            .requirements
            .iter()
            .map(|requirement| self.build_package(&requirement.name, &requirement.version))
            .collect()
    }
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
