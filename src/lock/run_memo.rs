//! What one resolution works out once and every run of it reuses.
//!
//! Input: what a run of the resolver reads and derives: each project's
//! candidate versions ([`VersionMap`]), each version's core metadata, and
//! each package version's dependencies as PubGrub takes them. Output: the
//! same, handed to the next run after a restart ([`super::resolve`] starts
//! again with a package decided last).
//!
//! Invariants: everything held here depends only on the request and the
//! metadata source, never on a run's order of decisions (its deferred
//! packages, its choices, its discovery order), so a restarted run that
//! reads it decides exactly as one that works it out again. Dependencies
//! keep the order in which their packages were found, which a run replays
//! into its own discovery order (a priority).
//!
//! Why: Sentry's requirements restart the resolution three times (Django,
//! protobuf, sqlparse); each run re-read the metadata and re-evaluated the
//! markers and specifiers of every package it decided.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pep440_rs::Version;
use pubgrub::{DependencyConstraints, Ranges};

use super::candidates::VersionMap;
use super::package::ResolverPackage;
use crate::index::CoreMetadata;
use crate::name::PackageName;

/// A package version's dependencies as PubGrub takes them.
pub(super) type Constraints = DependencyConstraints<ResolverPackage, Ranges<Version>>;

/// The dependencies of one package version, as worked out once.
pub(super) enum KnownDependencies {
    /// The version cannot be used; the reason shows in explanations.
    Unavailable(String),
    Available {
        constraints: Constraints,
        /// The packages of `constraints` in the order the metadata names
        /// them.
        discovered: Vec<ResolverPackage>,
    },
}

/// Shared by every run of one resolution. Single-threaded, as PubGrub is.
#[derive(Default)]
pub(super) struct RunMemo {
    version_maps: RefCell<HashMap<PackageName, Arc<VersionMap>>>,
    metadata: RefCell<HashMap<(PackageName, Version), Arc<CoreMetadata>>>,
    dependencies: RefCell<HashMap<(ResolverPackage, Version), Arc<KnownDependencies>>>,
    /// Packages whose page and likely metadata were asked for ahead.
    prefetched: RefCell<HashSet<PackageName>>,
    /// Per package walked back: the lowest version whose metadata a batch
    /// has asked for.
    walk_floors: RefCell<HashMap<PackageName, Version>>,
}

impl RunMemo {
    pub(super) fn version_map(&self, name: &PackageName) -> Option<Arc<VersionMap>> {
        self.version_maps.borrow().get(name).cloned()
    }

    pub(super) fn has_version_map(&self, name: &PackageName) -> bool {
        self.version_maps.borrow().contains_key(name)
    }

    pub(super) fn keep_version_map(&self, name: &PackageName, map: Arc<VersionMap>) {
        self.version_maps.borrow_mut().insert(name.clone(), map);
    }

    pub(super) fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Option<Arc<CoreMetadata>> {
        self.metadata
            .borrow()
            .get(&(name.clone(), version.clone()))
            .cloned()
    }

    pub(super) fn keep_metadata(
        &self,
        name: &PackageName,
        version: &Version,
        metadata: Arc<CoreMetadata>,
    ) {
        self.metadata
            .borrow_mut()
            .insert((name.clone(), version.clone()), metadata);
    }

    pub(super) fn dependencies(
        &self,
        package: &ResolverPackage,
        version: &Version,
    ) -> Option<Arc<KnownDependencies>> {
        self.dependencies
            .borrow()
            .get(&(package.clone(), version.clone()))
            .cloned()
    }

    pub(super) fn keep_dependencies(
        &self,
        package: &ResolverPackage,
        version: &Version,
        dependencies: Arc<KnownDependencies>,
    ) {
        self.dependencies
            .borrow_mut()
            .insert((package.clone(), version.clone()), dependencies);
    }

    /// Whether `name` is prefetched for the first time (noting that it is):
    /// a restarted run does not spawn the same fetches again.
    pub(super) fn first_prefetch(&self, name: &PackageName) -> bool {
        self.prefetched.borrow_mut().insert(name.clone())
    }

    pub(super) fn walk_floor(&self, name: &PackageName) -> Option<Version> {
        self.walk_floors.borrow().get(name).cloned()
    }

    pub(super) fn keep_walk_floor(&self, name: &PackageName, floor: Version) {
        self.walk_floors.borrow_mut().insert(name.clone(), floor);
    }
}
