//! The whole lock stage as `vendor lock` runs it: resolve, then pin the
//! build environment of every package built from source, overlapping the
//! two.
//!
//! Input: a [`ProjectLockRequest`] (requirements, target, options, the
//! previous lock, policies and `[build] from-source`), an [`IndexClient`],
//! a runtime handle and a [`Reporter`]. Output: a [`LockOutcome`]: the
//! [`Lock`] with its build environments, and how long the build
//! environments made the user wait after the resolution.
//!
//! Invariants: the build host is detected only when something is built
//! from source; each build environment starts as soon as the resolver
//! decides its package's version (a decision later undone costs work, never
//! a wrong pin); what is built from source is the lock's [`super::BuildPlan`],
//! the decision fetch and build use too.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use pep440_rs::Version;
use tokio::runtime::Handle;

use super::direct_packages::{any_direct, DirectPackages};
use super::{
    resolve_lock, BuildLockRequest, BuildLocker, DecisionWatch, IndexMetadata, Lock, LockError,
    LockRequest, MetadataFromBackend, SourceRules,
};
use crate::host::LazyBuildHost;
use crate::index::{IndexClient, IndexFile};
use crate::name::PackageName;
use crate::policy::Policies;
use crate::progress::{Activity, Reporter};

/// Everything `vendor lock` decides before locking.
pub struct ProjectLockRequest<'a> {
    pub lock: LockRequest<'a>,
    pub policies: &'a Policies,
    /// `vendor.toml`'s `[build] from-source`.
    pub configured_from_source: &'a BTreeSet<PackageName>,
}

/// A finished lock.
#[derive(Debug)]
pub struct LockOutcome {
    pub lock: Lock,
    /// The whole stage.
    pub elapsed: Duration,
    /// How long the build environments took after the resolution was done
    /// (`None` when nothing is built from source).
    pub build_wait: Option<Duration>,
}

/// Resolve `request` and lock the build environments of what the lock's
/// [`super::BuildPlan`] builds from source. Blocks; call from a blocking thread.
pub fn lock_project(
    request: &ProjectLockRequest<'_>,
    client: &IndexClient,
    runtime: &Handle,
    reporter: &dyn Reporter,
) -> Result<LockOutcome, LockError> {
    let target = request.lock.target;
    let policies = request.policies;
    let host = LazyBuildHost::new(&target.python);
    let sdist_metadata = MetadataFromBackend::new(&host, policies, client, runtime);
    let rules = SourceRules {
        policies,
        configured: request.configured_from_source,
        formats: &request.lock.options.format_control,
    };
    let will_build = |name: &PackageName, has_usable_wheel: bool| {
        rules.builds_from_source(name, has_usable_wheel)
    };
    let locker = BuildLocker::new(
        BuildLockRequest {
            host: &host,
            options: &request.lock.options,
            previous: request.lock.previous,
            upgrade: &request.lock.upgrade,
            policies,
            jobs: std::thread::available_parallelism().map_or(2, usize::from) * 2,
        },
        &will_build,
        client,
        runtime,
    );
    let on_decision = |name: &PackageName, version: &Version, files: &[&IndexFile]| {
        locker.decided(name, version, files)
    };
    // Built from source whatever wheels exist: their build environments
    // are the longest work a lock starts, so they are decided first.
    let decide_first = |name: &PackageName| rules.builds_from_source(name, true);
    let watch = DecisionWatch {
        on_decision: &on_decision,
        decide_first: &decide_first,
    };
    let started = Instant::now();
    let direct = if any_direct(request.lock.requirements) {
        let _activity = Activity::start(reporter, "preparing direct references");
        DirectPackages::prepare(request.lock.requirements, client, runtime, &sdist_metadata)?
    } else {
        DirectPackages::default()
    };
    let requirements = direct.without_urls(
        request.lock.requirements,
        request.lock.options.require_hashes,
    );
    let index = IndexMetadata::new(client, runtime, Some(&sdist_metadata));
    let source = direct.overlay(&index);
    let resolve_request = LockRequest {
        requirements: &requirements,
        constraints: request.lock.constraints,
        target: request.lock.target,
        options: request.lock.options.clone(),
        previous: request.lock.previous,
        upgrade: request.lock.upgrade.clone(),
    };
    // The locker's workers start on the build environments of packages
    // built from source while the resolution is still going on.
    std::thread::scope(|scope| {
        let _workers = locker.start(scope);
        let mut lock = {
            let _activity = Activity::start(
                reporter,
                &format!(
                    "resolving for {} / CPython {} / {}",
                    target.name, target.python, target.arch
                ),
            );
            resolve_lock(&resolve_request, &source, Some(watch))?
        };
        let plan = rules.plan(&lock, &target.tags());
        let from_source = plan.packages_from_source();
        let mut build_wait = None;
        if !from_source.is_empty() {
            let _activity = Activity::start(
                reporter,
                &format!(
                    "locking the build requirements of {} package(s) for this host / CPython {}",
                    from_source.len(),
                    target.python_minor()
                ),
            );
            let resolved = Instant::now();
            locker.finish(&mut lock, from_source)?;
            build_wait = Some(resolved.elapsed());
        }
        direct.record(&mut lock);
        Ok(LockOutcome {
            lock,
            elapsed: started.elapsed(),
            build_wait,
        })
    })
}
