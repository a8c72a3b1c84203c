//! Which wheel each locked package ships as, and where its inputs are.
//!
//! Input: the lock, target, cache, policies and options. Output: one
//! [`PlannedWheel`] per selected package, in lock order. Invariant: every
//! artifact a planned wheel needs is in the cache with the locked sha256;
//! all missing artifacts are reported at once.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{WheelOptions, WheelsError};
use crate::cache::Cache;
use crate::hash::{file_digest, Sha256};
use crate::host::BuildHost;
use crate::lock::{Lock, LockedArtifact, LockedPackage};
use crate::name::PackageName;
use crate::policy::{LoadedPolicy, Policies};
use crate::targets::{Tags, Target};

/// Where a package's wheel comes from.
#[derive(Clone, Debug)]
pub enum WheelSource {
    /// A wheel from the index, usable on the target.
    Published { path: PathBuf },
    /// Built from the sdist with the locked build environment.
    Sdist {
        path: PathBuf,
        artifact: Box<LockedArtifact>,
        /// The build environment's wheels, with their digests.
        build_wheels: Vec<(Sha256, PathBuf)>,
    },
}

/// One package of the lock on its way to a verified wheel.
#[derive(Clone, Debug)]
pub struct PlannedWheel<'a> {
    pub package: &'a LockedPackage,
    pub source: WheelSource,
    pub policy: Option<&'a LoadedPolicy>,
    /// Verified and packaged (false for the dependencies `--only` pulls in
    /// only so that the named packages' imports work).
    pub selected: bool,
}

/// The planned wheels, and the build host when something is built.
#[derive(Debug)]
pub struct Plan<'a> {
    /// In lock order.
    pub wheels: Vec<PlannedWheel<'a>>,
    pub host: Option<BuildHost>,
}

/// Decide each package's source and find its artifacts in the cache.
pub fn plan_wheels<'a>(
    lock: &'a Lock,
    target: &Target,
    cache: &Cache,
    policies: &'a Policies,
    options: &WheelOptions,
) -> Result<Plan<'a>, WheelsError> {
    let tags = target.tags();
    let selected = selected_packages(lock, &options.only);
    let needed = dependency_closure(lock, &selected);
    let mut host: Option<BuildHost> = None;
    let mut missing = Vec::new();
    let mut planned = Vec::new();
    for package in lock
        .packages
        .iter()
        .filter(|package| needed.contains(&package.name))
    {
        let wheel = package.best_wheel(&tags);
        let from_source =
            policies.builds_from_source(&package.name, wheel.is_some(), &options.from_source);
        let source = match (from_source, wheel) {
            (false, Some(wheel)) => match cached(cache, wheel, &mut missing)? {
                Some(path) => WheelSource::Published { path },
                None => continue,
            },
            _ => {
                let host = match &host {
                    Some(host) => host,
                    None => host.insert(detect_host(target)?),
                };
                match sdist_source(lock, package, cache, &host.tags(), &mut missing)? {
                    Some(source) => source,
                    None => continue,
                }
            }
        };
        planned.push(PlannedWheel {
            package,
            source,
            policy: policies.get(&package.name),
            selected: selected.contains(&package.name),
        });
    }
    if !missing.is_empty() {
        return Err(WheelsError::NotFetched { names: missing });
    }
    Ok(Plan {
        wheels: planned,
        host,
    })
}

/// The named packages, or all of them.
fn selected_packages(lock: &Lock, only: &[PackageName]) -> BTreeSet<PackageName> {
    if only.is_empty() {
        lock.packages
            .iter()
            .map(|package| package.name.clone())
            .collect()
    } else {
        only.iter().cloned().collect()
    }
}

/// `roots` and everything they depend on in the lock.
fn dependency_closure(lock: &Lock, roots: &BTreeSet<PackageName>) -> BTreeSet<PackageName> {
    let mut closure = roots.clone();
    let mut pending: Vec<PackageName> = roots.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        let Some(package) = lock.packages.iter().find(|package| package.name == name) else {
            continue;
        };
        for dependency in &package.dependencies {
            if closure.insert(dependency.name.clone()) {
                pending.push(dependency.name.clone());
            }
        }
    }
    closure
}

/// The sdist and the build environment's wheels of `package`.
fn sdist_source(
    lock: &Lock,
    package: &LockedPackage,
    cache: &Cache,
    host_tags: &Tags,
    missing: &mut Vec<String>,
) -> Result<Option<WheelSource>, WheelsError> {
    let cannot_build = |reason: &str, hint: &str| WheelsError::CannotBuild {
        package: package.name.clone(),
        version: package.version.to_string(),
        reason: reason.to_string(),
        hint: hint.to_string(),
    };
    let Some(sdist) = &package.sdist else {
        return Err(cannot_build(
            "the lock has no sdist for it",
            "pick a version that publishes an sdist or a wheel for the target",
        ));
    };
    let Some(environment) = lock.build_environment(package) else {
        return Err(cannot_build(
            "the lock has no build requirements for it",
            "run `vendor lock` to lock its build requirements",
        ));
    };
    let mut build_wheels = Vec::new();
    for build_package in environment {
        let Some(wheel) = build_package.best_wheel(host_tags) else {
            return Err(cannot_build(
                &format!(
                    "build requirement `{}` {} has no wheel for this build host",
                    build_package.name, build_package.version
                ),
                "run `vendor lock` on the build host that runs `vendor build`",
            ));
        };
        if let Some(path) = cached(cache, wheel, missing)? {
            build_wheels.push((wheel.sha256.clone(), path));
        }
    }
    Ok(
        cached(cache, sdist, missing)?.map(|path| WheelSource::Sdist {
            path,
            artifact: Box::new(sdist.clone()),
            build_wheels,
        }),
    )
}

/// The cached file of `artifact`, its sha256 checked; `None` (and noted in
/// `missing`) when it is not cached.
fn cached(
    cache: &Cache,
    artifact: &LockedArtifact,
    missing: &mut Vec<String>,
) -> Result<Option<PathBuf>, WheelsError> {
    let filename = artifact.filename.to_string();
    let Some(path) = cache.find_artifact(&artifact.sha256, &filename) else {
        missing.push(format!("`{filename}`"));
        return Ok(None);
    };
    let read_error = |source| WheelsError::Io {
        path: path.clone(),
        source,
    };
    // Memoized: the later stages key their cache entries by the same digest.
    let actual = file_digest(&path).map_err(read_error)?;
    if actual != artifact.sha256 {
        return Err(WheelsError::HashMismatch {
            filename,
            path,
            expected: artifact.sha256.clone(),
            actual,
        });
    }
    Ok(Some(path))
}

/// This machine and its interpreter of the target's `X.Y`.
fn detect_host(target: &Target) -> Result<BuildHost, WheelsError> {
    Ok(BuildHost::detect(&target.python)?)
}
