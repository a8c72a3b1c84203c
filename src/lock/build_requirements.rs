//! Build requirements: the pinned build environment of every package built
//! from source.
//!
//! Input: a resolved [`Lock`], the names of the packages that will be built
//! from their sdists, the build host, the previous lock and the upgrade
//! request. Output: the lock with [`LockedPackage::build`] set on those
//! packages and [`Lock::build_packages`] holding every wheel their build
//! environments need.
//!
//! Per package, [`SdistContext::resolve_environment`] works out its build
//! environment for the build host (see [`super::build_environment`]).
//!
//! Invariants: build requirements are wheels only (they are installed,
//! never built); every build package entry is one `(name, version)` shared
//! by all packages pinning it, so two packages needing different versions of
//! one tool get two entries; a package whose sdist, build-environment pins
//! and interpreter series are unchanged keeps its previous build environment
//! without any network use or backend call (unless an upgrade names one of
//! its pins, or everything, or the indexes changed); fresh resolutions
//! prefer previous pins.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use pep440_rs::Version;
use tokio::runtime::Handle;

use super::build_environment::{
    build_settings, python_series, BuildRequirementsError, LazyBuildHost, SdistContext,
};
use super::resolve::Resolution;
use super::{locked_package, LockError, Upgrade};
use crate::index::IndexClient;
use crate::lock::model::{Lock, LockOptions, LockedBuild, LockedBuildRequirement, LockedPackage};
use crate::name::PackageName;
use crate::policy::Policies;
use crate::target::Tags;

/// What [`lock_build_requirements`] needs besides the lock and the index.
pub struct BuildLockRequest<'a> {
    /// Packages of the lock that will be built from their sdists.
    pub from_source: &'a BTreeSet<PackageName>,
    pub host: &'a LazyBuildHost,
    pub previous: Option<&'a Lock>,
    pub upgrade: &'a Upgrade,
    /// Their policies' build settings (environment, `config_settings`)
    /// apply to the backend's hook as they will to the build.
    pub policies: &'a Policies,
    /// Packages worked on at once (at least 1).
    pub jobs: usize,
}

/// One package's result: its build environment and the packages it pins.
struct PackageBuild {
    build: LockedBuild,
    packages: Vec<LockedPackage>,
}

/// Set `build` on every package of `request.from_source` and fill
/// `lock.build_packages` (see the module documentation). Blocks; call from a
/// blocking thread. On failure, the error of the first failing package by
/// name is returned, after all packages were tried.
pub fn lock_build_requirements(
    lock: &mut Lock,
    request: &BuildLockRequest<'_>,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<(), LockError> {
    let wanted: Vec<&LockedPackage> = lock
        .packages
        .iter()
        .filter(|package| request.from_source.contains(&package.name))
        .collect();
    let results = lock_each(&wanted, &lock.options, request, client, runtime)?;
    let mut builds = BTreeMap::new();
    let mut build_packages: BTreeMap<(PackageName, Version), LockedPackage> = BTreeMap::new();
    for (name, result) in results {
        let PackageBuild { build, packages } = result?;
        for package in packages {
            build_packages
                .entry((package.name.clone(), package.version.clone()))
                .or_insert(package);
        }
        builds.insert(name, build);
    }
    for package in &mut lock.packages {
        package.build = builds.remove(&package.name);
    }
    lock.build_packages = build_packages.into_values().collect();
    Ok(())
}

/// [`lock_package`] for each of `wanted`, on up to `request.jobs` threads;
/// results by package name.
fn lock_each(
    wanted: &[&LockedPackage],
    options: &LockOptions,
    request: &BuildLockRequest<'_>,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<BTreeMap<PackageName, Result<PackageBuild, LockError>>, LockError> {
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let host_tags = request.host.tags()?;
    let queue = Mutex::new(wanted.iter().copied());
    let results = Mutex::new(BTreeMap::new());
    let workers = request.jobs.clamp(1, wanted.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut queue| queue.next()).ok().flatten();
                let Some(package) = next else { break };
                let result = lock_package(package, options, &host_tags, request, client, runtime);
                if let Ok(mut results) = results.lock() {
                    results.insert(package.name.clone(), result);
                }
            });
        }
    });
    Ok(results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner()))
}

fn lock_package(
    package: &LockedPackage,
    options: &LockOptions,
    host_tags: &Tags,
    request: &BuildLockRequest<'_>,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<PackageBuild, LockError> {
    if let Some(kept) = request
        .previous
        .and_then(|previous| reusable(previous, package, options, host_tags, request))
    {
        return Ok(kept);
    }
    let sdist = package
        .sdist
        .as_ref()
        .ok_or_else(|| BuildRequirementsError::NoSdist {
            package: package.name.clone(),
            version: package.version.clone(),
        })?;
    let settings = build_settings(request.policies, &package.name);
    let host = request.host.get()?;
    let context = SdistContext::fetch(
        &package.name,
        &package.version,
        sdist,
        &host,
        &settings,
        client,
        runtime,
    )?;
    let preferences = preferences(request.previous, &package.name, request.upgrade);
    let resolution = context.resolve_environment(&preferences)?;
    to_package_build(resolution)
}

/// The previous lock's build environment of `package`, when nothing it
/// depends on changed and no upgrade touches it.
fn reusable(
    previous: &Lock,
    package: &LockedPackage,
    options: &LockOptions,
    host_tags: &Tags,
    request: &BuildLockRequest<'_>,
) -> Option<PackageBuild> {
    // Another index may serve other files for the same versions.
    let same_sources = previous.options.index_urls == options.index_urls
        && previous.options.find_links == options.find_links;
    if !same_sources {
        return None;
    }
    let old = previous
        .packages
        .iter()
        .find(|old| old.name == package.name && old.version == package.version)?;
    let same_sdist = match (&old.sdist, &package.sdist) {
        (Some(old), Some(new)) => old.sha256 == new.sha256,
        _ => false,
    };
    let same_series = python_series(&previous.options.python) == request.host.python_series();
    if !same_sdist || !same_series {
        return None;
    }
    let build = old.build.clone()?;
    let upgraded = match request.upgrade {
        Upgrade::Nothing => false,
        Upgrade::Everything => true,
        Upgrade::Packages(names) => build
            .requirements
            .iter()
            .any(|requirement| names.contains(&requirement.name)),
    };
    if upgraded {
        return None;
    }
    let packages: Vec<LockedPackage> = previous
        .build_environment(old)?
        .into_iter()
        .map(|package| package.best_wheel(host_tags).map(|_| package.clone()))
        .collect::<Option<_>>()?;
    Some(PackageBuild { build, packages })
}

/// Versions to keep: the package's own previous pins over any previous
/// build package of the name (the highest), minus what is upgraded.
fn preferences(
    previous: Option<&Lock>,
    package: &PackageName,
    upgrade: &Upgrade,
) -> BTreeMap<PackageName, Version> {
    let Some(previous) = previous else {
        return BTreeMap::new();
    };
    let names = match upgrade {
        Upgrade::Everything => return BTreeMap::new(),
        Upgrade::Nothing => &[][..],
        Upgrade::Packages(names) => names.as_slice(),
    };
    // Sorted by name then version, so the highest version of a name wins.
    let mut preferences: BTreeMap<PackageName, Version> = previous
        .build_packages
        .iter()
        .map(|locked| (locked.name.clone(), locked.version.clone()))
        .collect();
    let own = previous
        .packages
        .iter()
        .find(|old| &old.name == package)
        .and_then(|old| old.build.as_ref());
    if let Some(own) = own {
        preferences.extend(
            own.requirements
                .iter()
                .map(|requirement| (requirement.name.clone(), requirement.version.clone())),
        );
    }
    preferences.retain(|name, _| !names.contains(name));
    preferences
}

fn to_package_build(resolution: Resolution) -> Result<PackageBuild, LockError> {
    let mut requirements = Vec::with_capacity(resolution.packages.len());
    let mut packages = Vec::with_capacity(resolution.packages.len());
    for (name, resolved) in resolution.packages {
        requirements.push(LockedBuildRequirement {
            name: name.clone(),
            version: resolved.version.clone(),
        });
        let mut locked = locked_package(name, resolved)?;
        // A build package is installed from a wheel, and its place in the
        // graph is the build environment that lists it.
        locked.sdist = None;
        locked.dependencies = Vec::new();
        packages.push(locked);
    }
    Ok(PackageBuild {
        build: LockedBuild { requirements },
        packages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::pylock::fixtures::{name, sample_lock};

    fn shown(preferences: &BTreeMap<PackageName, Version>) -> Vec<String> {
        preferences
            .iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect()
    }

    #[test]
    fn prefers_the_packages_own_pins_then_the_newest_locked_ones() {
        let previous = sample_lock();
        let local = name("local-app");
        assert_eq!(
            shown(&preferences(Some(&previous), &local, &Upgrade::Nothing)),
            ["setuptools 75.1.0", "wheel 0.45.1"]
        );
        // A package new to the lock gets the newest pin of each tool.
        assert_eq!(
            shown(&preferences(
                Some(&previous),
                &name("newcomer"),
                &Upgrade::Nothing
            )),
            ["setuptools 80.9.0", "wheel 0.45.1"]
        );
        let upgrade = Upgrade::Packages(vec![name("setuptools")]);
        assert_eq!(
            shown(&preferences(Some(&previous), &local, &upgrade)),
            ["wheel 0.45.1"]
        );
        assert!(preferences(Some(&previous), &local, &Upgrade::Everything).is_empty());
        assert!(preferences(None, &local, &Upgrade::Nothing).is_empty());
    }
}
