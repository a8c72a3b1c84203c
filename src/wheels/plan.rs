//! Which wheel each locked package ships as, and where its inputs are.
//!
//! Input: the lock, the fetch stage's [`FetchReport`], the target, policies
//! and options. Output: one [`PlannedWheel`] per selected package, in lock
//! order. Invariants: the lock's [`BuildPlan`] alone decides what is built
//! from source; every artifact a planned wheel needs was fetched (its
//! sha256 checked by the fetch stage); all missing artifacts are reported
//! at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{WheelOptions, WheelsError};
use crate::fetch::FetchReport;
use crate::hash::Sha256;
use crate::host::BuildHost;
use crate::lock::{BuildPlan, Lock, LockedArtifact, LockedPackage};
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
    fetched: &FetchReport,
    target: &Target,
    policies: &'a Policies,
    options: &WheelOptions,
) -> Result<Plan<'a>, WheelsError> {
    let tags = target.tags();
    let build_plan = BuildPlan::for_lock(lock, &tags, policies, &options.from_source);
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
        let wheel = package
            .best_wheel(&tags)
            .filter(|_| !build_plan.builds_from_source(&package.name));
        let source = match wheel {
            Some(wheel) => match fetched_path(fetched, wheel, &mut missing) {
                Some(path) => WheelSource::Published { path },
                None => continue,
            },
            None => {
                let host = match &host {
                    Some(host) => host,
                    None => host.insert(detect_host(target)?),
                };
                match sdist_source(lock, package, fetched, &host.tags(), &mut missing)? {
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
    fetched: &FetchReport,
    host_tags: &Tags,
    missing: &mut Vec<String>,
) -> Result<Option<WheelSource>, WheelsError> {
    let cannot_build = |reason: &str, hint: &str| WheelsError::CannotBuild {
        package: package.name.clone(),
        version: package.version.to_string(),
        reason: reason.to_string(),
        hint: hint.to_string(),
    };
    let Some(sdist) = package
        .sdist
        .as_ref()
        .or_else(|| fetched.packed_sdist(&package.name))
    else {
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
        if let Some(path) = fetched_path(fetched, wheel, missing) {
            build_wheels.push((wheel.sha256.clone(), path));
        }
    }
    Ok(
        fetched_path(fetched, sdist, missing).map(|path| WheelSource::Sdist {
            path,
            artifact: Box::new(sdist.clone()),
            build_wheels,
        }),
    )
}

/// The cached file of `artifact`, as the fetch stage checked it; `None`
/// (and noted in `missing`) when it was not fetched.
fn fetched_path(
    fetched: &FetchReport,
    artifact: &LockedArtifact,
    missing: &mut Vec<String>,
) -> Option<PathBuf> {
    let path = fetched.path_of(&artifact.sha256).map(Path::to_path_buf);
    if path.is_none() {
        missing.push(format!("`{}`", artifact.filename));
    }
    path
}

/// This machine and its interpreter of the target's `X.Y`.
fn detect_host(target: &Target) -> Result<BuildHost, WheelsError> {
    Ok(BuildHost::detect(&target.python)?)
}
