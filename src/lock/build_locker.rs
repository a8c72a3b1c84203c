//! Build requirements: the pinned build environment of every package built
//! from source.
//!
//! Input: the main resolution's decisions as it makes them, then the
//! resolved [`Lock`] and the names of the packages that will be built from
//! their sdists; the build host, the previous lock and the upgrade request.
//! Output: the lock with [`LockedPackage::build`] set on those packages and
//! [`Lock::build_packages`] holding every wheel their build environments
//! need.
//!
//! Per package, [`SdistContext::resolve_environment`] works out its build
//! environment for the build host (see [`super::build_environment`]), on
//! the worker threads of a [`BuildLocker`], started as soon as the resolver
//! decides the package's version: the sdist download and the backend's
//! hook overlap the rest of the resolution and each other.
//!
//! Invariants: build requirements are wheels only (they are installed,
//! never built); every build package entry is one `(name, version)` shared
//! by all packages pinning it, so two packages needing different versions of
//! one tool get two entries; a package whose sdist, build-environment pins
//! and interpreter series are unchanged keeps its previous build environment
//! without any network use or backend call (unless an upgrade names one of
//! its pins, or everything, or the indexes changed); fresh resolutions
//! prefer previous pins; work started for a version the resolver later
//! abandons is never used (the lock only takes results for its own
//! versions, each a function of package, version, sdist and request).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::Scope;

use pep440_rs::Version;
use tokio::runtime::Handle;

use super::build_environment::{
    build_settings, python_series, BuildRequirementsError, SdistContext,
};
use super::resolve::Resolution;
use super::{locked_package, sdist_preference, to_artifact, LockError, Upgrade};
use crate::filename::DistFilename;
use crate::host::LazyBuildHost;
use crate::index::{IndexClient, IndexFile};
use crate::lock::model::{
    Lock, LockOptions, LockedArtifact, LockedBuild, LockedBuildRequirement, LockedPackage,
};
use crate::name::PackageName;
use crate::policy::Policies;
use crate::targets::Tags;

/// What a [`BuildLocker`] needs besides the index.
pub struct BuildLockRequest<'a> {
    pub host: &'a LazyBuildHost,
    /// The options of the lock being made (its indexes decide whether a
    /// previous build environment still applies).
    pub options: &'a LockOptions,
    pub previous: Option<&'a Lock>,
    pub upgrade: &'a Upgrade,
    /// Their policies' build settings (environment, `config_settings`)
    /// apply to the backend's hook as they will to the build.
    pub policies: &'a Policies,
    /// Packages worked on at once (at least 1).
    pub jobs: usize,
}

/// Whether a package will be built from source, given whether the version
/// decided has a wheel usable on the target.
pub type WillBuild<'a> = &'a (dyn Fn(&PackageName, bool) -> bool + Sync);

/// One package's result: its build environment and the packages it pins.
struct PackageBuild {
    build: LockedBuild,
    packages: Vec<LockedPackage>,
}

/// One package version whose build environment is worked out.
struct Job {
    name: PackageName,
    version: Version,
    sdist: Option<LockedArtifact>,
}

type JobKey = (PackageName, Version);

/// What the workers share.
#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// The version each package is wanted at: the resolver's latest
    /// decision, then the lock's. A queued job for another version (undone
    /// by backtracking) is skipped.
    wanted: HashMap<PackageName, Version>,
    started: HashSet<JobKey>,
    /// Packages with a job running: one at a time per package, so that a
    /// resolver trying version after version starts one hook, not many.
    running: HashSet<PackageName>,
    done: HashMap<JobKey, Result<PackageBuild, LockError>>,
    /// No more jobs come: idle workers leave.
    closed: bool,
    worker_panicked: bool,
}

/// Locks the build environments of packages built from source on worker
/// threads. A package's work starts as soon as the main resolution decides
/// its version ([`BuildLocker::decided`]), overlapping the rest of the
/// resolution, the downloads and hooks of the others;
/// [`BuildLocker::finish`] then waits for the packages the lock builds
/// from source (starting those not decided through it). Each job's result
/// depends only on its package, version, sdist and the request, so the
/// lock is the same as when worked out after the resolution.
pub struct BuildLocker<'a> {
    request: BuildLockRequest<'a>,
    will_build: WillBuild<'a>,
    client: &'a IndexClient,
    runtime: &'a Handle,
    state: Mutex<State>,
    changed: Condvar,
}

/// Closes the [`BuildLocker`]'s queue and drops the jobs not started when
/// dropped, so its workers leave once their running jobs end, whatever
/// happened to the caller (after [`BuildLocker::finish`], no job left is
/// needed; after a failed resolution, none is).
pub struct Workers<'l, 'a> {
    locker: &'l BuildLocker<'a>,
}

impl Drop for Workers<'_, '_> {
    fn drop(&mut self) {
        let mut state = self.locker.state();
        state.closed = true;
        state.queue.clear();
        self.locker.changed.notify_all();
    }
}

/// Marks a worker that panicked, so that [`BuildLocker::finish`] stops
/// waiting for its job (the scope then propagates the panic).
struct PanicFlag<'l, 'a>(&'l BuildLocker<'a>);

impl Drop for PanicFlag<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.state().worker_panicked = true;
            self.0.changed.notify_all();
        }
    }
}

impl<'a> BuildLocker<'a> {
    pub fn new(
        request: BuildLockRequest<'a>,
        will_build: WillBuild<'a>,
        client: &'a IndexClient,
        runtime: &'a Handle,
    ) -> Self {
        Self {
            request,
            will_build,
            client,
            runtime,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    /// Start the workers in `scope`; they leave once the queue is closed
    /// (by [`Self::finish`] or the returned guard) and holds no job for
    /// them.
    pub fn start<'scope>(&'scope self, scope: &'scope Scope<'scope, '_>) -> Workers<'scope, 'a> {
        for _ in 0..self.request.jobs.max(1) {
            scope.spawn(|| self.work());
        }
        Workers { locker: self }
    }

    /// The resolver decided `version` of `name` (with these files usable on
    /// the target): start on its build environment if it will be built
    /// from source. Meant as the resolution's [`super::OnDecision`].
    pub fn decided(&self, name: &PackageName, version: &Version, files: &[&IndexFile]) {
        let has_wheel = files
            .iter()
            .any(|file| matches!(file.filename, DistFilename::Wheel(_)));
        if !(self.will_build)(name, has_wheel) {
            return;
        }
        // Without a hashed sdist the job could only fail; the lock reports it.
        let Some(Ok(sdist)) = files
            .iter()
            .filter(|file| matches!(file.filename, DistFilename::Sdist(_)))
            .min_by_key(|file| sdist_preference(file.filename.as_str()))
            .map(|file| to_artifact(name, file))
        else {
            return;
        };
        tracing::debug!("decided `{name}` {version}: its build environment is queued");
        let mut state = self.state();
        state.wanted.insert(name.clone(), version.clone());
        state.queue.push_back(Job {
            name: name.clone(),
            version: version.clone(),
            sdist: Some(sdist),
        });
        self.changed.notify_one();
    }

    /// Set `build` on every package of `from_source` and fill
    /// `lock.build_packages` (see the module documentation). Blocks. On
    /// failure, the error of the first failing package by name is
    /// returned, after all packages were tried.
    pub fn finish(
        &self,
        lock: &mut Lock,
        from_source: &BTreeSet<PackageName>,
    ) -> Result<(), LockError> {
        let keys = self.want(lock, from_source);
        let mut results = self.wait_for(&keys);
        let mut builds = BTreeMap::new();
        let mut build_packages: BTreeMap<JobKey, LockedPackage> = BTreeMap::new();
        for key in &keys {
            let result = results.remove(key).expect("waited for every key");
            let PackageBuild { build, packages } = result?;
            for package in packages {
                build_packages
                    .entry((package.name.clone(), package.version.clone()))
                    .or_insert(package);
            }
            builds.insert(key.0.clone(), build);
        }
        for package in &mut lock.packages {
            package.build = builds.remove(&package.name);
        }
        lock.build_packages = build_packages.into_values().collect();
        Ok(())
    }

    /// Make the lock's versions of `from_source` the wanted ones, queue
    /// those not started yet, and close the queue. Keys sorted by name.
    fn want(&self, lock: &Lock, from_source: &BTreeSet<PackageName>) -> Vec<JobKey> {
        let mut state = self.state();
        state.wanted.clear();
        let mut keys = Vec::new();
        for package in &lock.packages {
            if !from_source.contains(&package.name) {
                continue;
            }
            let key = (package.name.clone(), package.version.clone());
            state
                .wanted
                .insert(package.name.clone(), package.version.clone());
            let queued = state
                .queue
                .iter()
                .any(|job| job.name == key.0 && job.version == key.1);
            if !queued && !state.started.contains(&key) {
                state.queue.push_back(Job {
                    name: package.name.clone(),
                    version: package.version.clone(),
                    sdist: package.sdist.clone(),
                });
            }
            keys.push(key);
        }
        keys.sort();
        state.closed = true;
        self.changed.notify_all();
        keys
    }

    /// Wait until every job of `keys` is done; their results.
    fn wait_for(&self, keys: &[JobKey]) -> HashMap<JobKey, Result<PackageBuild, LockError>> {
        let mut state = self.state();
        while !keys.iter().all(|key| state.done.contains_key(key)) {
            if state.worker_panicked {
                // The scope re-raises the worker's panic; nothing to return.
                panic!("a build-requirements worker panicked");
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        keys.iter()
            .filter_map(|key| state.done.remove_entry(key))
            .collect()
    }

    /// A worker: run queued jobs until the queue is empty and closed.
    fn work(&self) {
        let _flag = PanicFlag(self);
        while let Some(job) = self.next_job() {
            let result = self.lock_package(&job);
            let mut state = self.state();
            state.running.remove(&job.name);
            state.done.insert((job.name, job.version), result);
            self.changed.notify_all();
        }
    }

    /// The next job still wanted, not started and of a package with no job
    /// running, waiting for one; `None` once the queue is empty and closed.
    fn next_job(&self) -> Option<Job> {
        let mut state = self.state();
        loop {
            let State {
                queue,
                wanted,
                started,
                running,
                ..
            } = &mut *state;
            queue.retain(|job| {
                wanted.get(&job.name) == Some(&job.version)
                    && !started.contains(&(job.name.clone(), job.version.clone()))
            });
            let runnable = queue.iter().position(|job| !running.contains(&job.name));
            if let Some(job) = runnable.and_then(|index| queue.remove(index)) {
                started.insert((job.name.clone(), job.version.clone()));
                running.insert(job.name.clone());
                return Some(job);
            }
            if state.closed && state.queue.is_empty() {
                return None;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_package(&self, job: &Job) -> Result<PackageBuild, LockError> {
        let started = std::time::Instant::now();
        let result = self.lock_package_untimed(job);
        tracing::info!(
            "build environment of `{}` {}: {} in {:.2} s",
            job.name,
            job.version,
            if result.is_ok() { "locked" } else { "failed" },
            started.elapsed().as_secs_f64()
        );
        result
    }

    fn lock_package_untimed(&self, job: &Job) -> Result<PackageBuild, LockError> {
        let request = &self.request;
        if let Some(previous) = request.previous {
            let host_tags = request.host.tags().map_err(BuildRequirementsError::from)?;
            if let Some(kept) = reusable(previous, job, &host_tags, request) {
                return Ok(kept);
            }
        }
        let sdist = job
            .sdist
            .as_ref()
            .ok_or_else(|| BuildRequirementsError::NoSdist {
                package: job.name.clone(),
                version: job.version.clone(),
            })?;
        let settings = build_settings(request.policies, &job.name);
        let context = SdistContext::fetch(
            &job.name,
            &job.version,
            sdist,
            request.host,
            &settings,
            self.client,
            self.runtime,
        )?;
        let preferences = preferences(request.previous, &job.name, request.upgrade);
        let resolution = context.resolve_environment(&preferences)?;
        to_package_build(resolution)
    }
}

/// The previous lock's build environment of `job`'s package, when nothing
/// it depends on changed and no upgrade touches it.
fn reusable(
    previous: &Lock,
    job: &Job,
    host_tags: &Tags,
    request: &BuildLockRequest<'_>,
) -> Option<PackageBuild> {
    // Another index may serve other files for the same versions.
    let options = request.options;
    let same_sources = previous.options.index_urls == options.index_urls
        && previous.options.find_links == options.find_links;
    if !same_sources {
        return None;
    }
    let old = previous
        .packages
        .iter()
        .find(|old| old.name == job.name && old.version == job.version)?;
    let same_sdist = match (&old.sdist, &job.sdist) {
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
