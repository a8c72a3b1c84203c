//! The lock stage: requirements + target + index → [`Lock`].
//!
//! Input: a [`LockRequest`] (requirements with their origins, the target,
//! options, the previous lock) and the index client. Output: a [`Lock`],
//! written as `pylock.toml` (PEP 751) by [`pylock`].
//!
//! Invariants: packages are sorted by name, wheels by file name; every
//! artifact carries a sha256; only wheels usable on the target are listed;
//! no credentials appear in any URL; pins from the previous lock are kept
//! while the requirements still allow them, unless an upgrade is asked for.
//!
//! [`lock_project`] is the stage's entry point, and two steps:
//! [`resolve_lock`] resolves the requirements for the target; a [`BuildLocker`] pins the
//! build environment of each package the lock's [`BuildPlan`] builds from
//! source, for the build host, starting on each as soon as the resolution
//! decides its version.

mod build_environment;
mod build_locker;
mod build_plan;
mod build_requirements_error;
mod candidates;
mod direct_packages;
mod known_answers;
mod metadata_source;
pub mod model;
mod package;
mod project;
pub mod pylock;
pub mod resolve;
mod run_memo;
mod sdist_metadata;
mod sdist_scratch;

use std::collections::BTreeMap;

use pep440_rs::Version;

use crate::filename::DistFilename;
use crate::index::IndexFile;
use crate::name::PackageName;
use crate::requirements::SourcedRequirement;
use crate::targets::Target;

pub use build_environment::BuildRequirementsError;
pub use build_locker::{BuildLockRequest, BuildLocker, WillBuild, Workers};
pub use build_plan::{BuildPlan, SourceRules};
pub use metadata_source::{IndexMetadata, SdistMetadataBuilder};
pub use model::{
    Lock, LockOptions, LockedArtifact, LockedBuild, LockedBuildRequirement, LockedDependency,
    LockedPackage,
};
pub use project::{lock_project, LockOutcome, ProjectLockRequest};
use resolve::ResolvedPackage;
pub use resolve::{
    DecisionWatch, MetadataPick, MetadataSource, OnDecision, Resolution, ResolveError,
};
pub use sdist_metadata::MetadataFromBackend;

/// Which existing pins may move.
#[derive(Clone, Debug, Default)]
pub enum Upgrade {
    /// Keep every pin the requirements still allow.
    #[default]
    Nothing,
    /// Ignore the previous lock.
    Everything,
    /// Move only these packages.
    Packages(Vec<PackageName>),
}

/// What to lock: the requirements for a target, and the previous lock
/// whose pins are kept unless `upgrade` lets them move.
pub struct LockRequest<'a> {
    pub requirements: &'a [SourcedRequirement],
    pub constraints: &'a [SourcedRequirement],
    pub target: &'a Target,
    pub options: LockOptions,
    pub previous: Option<&'a Lock>,
    pub upgrade: Upgrade,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    BuildRequirements(#[from] BuildRequirementsError),
    #[error("`{origin}`: `{package}`: {source}")]
    Direct {
        package: PackageName,
        origin: String,
        #[source]
        source: Box<crate::direct::DirectError>,
    },
    #[error(
        "the index gives no sha256 for `{filename}` (package `{package}`), so it cannot be locked"
    )]
    MissingHash {
        package: PackageName,
        filename: String,
    },
}

impl crate::hint::Hint for LockError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::MissingHash { .. } => Some("use an index that publishes sha256 hashes (PEP 503 `#sha256=` or PEP 691 `hashes`)".to_string()),
            Self::Resolve(inner) => inner.hint(),
            Self::Direct { source, .. } => source.hint(),
            Self::BuildRequirements(inner) => inner.hint(),
        }
    }
}

/// Resolve the request over `source` and turn the resolution into a lock
/// (without build environments: see [`lock_project`]). `on_decision` is
/// told of each version the resolver decides on.
pub fn resolve_lock(
    request: &LockRequest<'_>,
    source: &dyn MetadataSource,
    on_decision: Option<DecisionWatch<'_>>,
) -> Result<Lock, LockError> {
    let preferences = preferences(request.previous, &request.upgrade);
    let resolve_request = resolve::ResolveRequest {
        requirements: request.requirements,
        constraints: request.constraints,
        target: request.target,
        preferences: &preferences,
        wheels_only: false,
        format_control: &request.options.format_control,
        prefer_binary: request.options.prefer_binary,
        require_hashes: request.options.require_hashes,
        on_decision,
    };
    let resolution = resolve::resolve(&resolve_request, source)?;
    to_lock(resolution, request.options.clone())
}

fn preferences(previous: Option<&Lock>, upgrade: &Upgrade) -> BTreeMap<PackageName, Version> {
    let Some(previous) = previous else {
        return BTreeMap::new();
    };
    previous
        .packages
        .iter()
        .filter(|package| match upgrade {
            Upgrade::Nothing => true,
            Upgrade::Everything => false,
            Upgrade::Packages(names) => !names.contains(&package.name),
        })
        .map(|package| (package.name.clone(), package.version.clone()))
        .collect()
}

fn to_lock(resolution: Resolution, options: LockOptions) -> Result<Lock, LockError> {
    let packages = resolution
        .packages
        .into_iter()
        .map(|(name, resolved)| locked_package(name, resolved))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Lock {
        packages,
        build_packages: Vec::new(),
        options,
    })
}

/// One resolved package as the lock holds it (no build environment yet).
fn locked_package(
    name: PackageName,
    resolved: ResolvedPackage,
) -> Result<LockedPackage, LockError> {
    let mut sdists = Vec::new();
    let mut wheels = Vec::new();
    for file in &resolved.files {
        let artifact = to_artifact(&name, file)?;
        match &file.filename {
            DistFilename::Wheel(_) => wheels.push(artifact),
            DistFilename::Sdist(_) => sdists.push(artifact),
        }
    }
    wheels.sort_by(|left, right| left.filename.as_str().cmp(right.filename.as_str()));
    sdists.sort_by_key(|artifact| sdist_preference(artifact.filename.as_str()));
    let dependencies = resolved
        .dependencies
        .into_iter()
        .map(|(name, extras)| LockedDependency {
            name,
            extras: extras.into_iter().collect(),
        })
        .collect();
    Ok(LockedPackage {
        index: resolved.files.iter().find_map(|file| file.index.clone()),
        requires_python: resolved.metadata.requires_python.clone(),
        name,
        version: resolved.version,
        sdist: sdists.into_iter().next(),
        wheels,
        dependencies,
        build: None,
        direct: None,
    })
}

/// Several sdists of one version (`.zip` and `.tar.gz`) are rare; the lock
/// keeps the one with the smallest name for determinism, preferring
/// `.tar.gz`: the smallest key.
fn sdist_preference(filename: &str) -> (bool, String) {
    (!filename.ends_with(".tar.gz"), filename.to_string())
}

fn to_artifact(package: &PackageName, file: &IndexFile) -> Result<LockedArtifact, LockError> {
    let sha256 = file.sha256.clone().ok_or_else(|| LockError::MissingHash {
        package: package.clone(),
        filename: file.filename.to_string(),
    })?;
    Ok(LockedArtifact {
        filename: file.filename.clone(),
        url: file.url.clone(),
        size: file.size,
        upload_time: file.upload_time,
        sha256,
    })
}
