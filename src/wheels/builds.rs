//! Planned wheels → candidate wheels: published ones as they are, sdists
//! built through the built-wheel cache.
//!
//! Input: [`PlannedWheel`]s. Output: a [`CandidateWheel`] per package that
//! has one, and a [`PackageFailure`] per build that failed. Invariants: the
//! preflight covers every package to build and runs before any build; builds
//! run in parallel up to `jobs`, each with its own scratch folder and log.

use std::path::PathBuf;

use super::plan::{Plan, PlannedWheel, WheelSource};
use super::{PackageFailure, WheelOptions, WheelOrigin, WheelsError};
use crate::cache::Cache;
use crate::parallel::run_parallel;
use crate::pep517::{build_cached, BuildError, BuildRequest, DEFAULT_SOURCE_DATE_EPOCH};
use crate::policy::{self, BuildSettings, LoadedPolicy};
use crate::progress::Reporter;
use crate::targets::Target;
use crate::verify::CandidateWheel;

/// Check every build prerequisite of every package to build, all at once.
pub(super) fn preflight(planned: &[PlannedWheel<'_>]) -> Result<(), WheelsError> {
    let to_build: Vec<&LoadedPolicy> = planned
        .iter()
        .filter(|wheel| matches!(wheel.source, WheelSource::Sdist { .. }))
        .filter_map(|wheel| wheel.policy)
        .collect();
    if to_build.is_empty() {
        return Ok(());
    }
    policy::preflight(&to_build, &crate::host::Toolchain::detect())?;
    Ok(())
}

/// What the builds gave: a candidate per package that has a wheel.
pub(super) struct Candidates {
    pub wheels: Vec<(CandidateWheel, WheelOrigin)>,
    pub failures: Vec<PackageFailure>,
}

/// Every planned wheel as a candidate; sdists are built (or found built).
pub(super) fn build_wheels(
    plan: &Plan<'_>,
    target: &Target,
    cache: &Cache,
    options: &WheelOptions,
    reporter: &dyn Reporter,
) -> Result<Candidates, WheelsError> {
    let planned = &plan.wheels;
    let to_build = planned
        .iter()
        .filter(|wheel| matches!(wheel.source, WheelSource::Sdist { .. }))
        .count();
    let log_dir = options.work_dir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(|source| WheelsError::Io {
        path: log_dir.clone(),
        source,
    })?;
    if to_build > 0 {
        reporter.stage_started("building", to_build as u64);
    }
    let results = run_parallel(planned, options.jobs, |wheel| match &wheel.source {
        WheelSource::Published { path } => Ok((
            candidate(wheel, path.clone(), false),
            WheelOrigin::Published,
        )),
        WheelSource::Sdist {
            path,
            artifact,
            build_wheels,
        } => {
            let host = plan
                .host
                .as_ref()
                .expect("detected when something is built");
            let settings = wheel
                .policy
                .map(|loaded| loaded.policy.build.clone())
                .unwrap_or_else(BuildSettings::default);
            let request = BuildRequest {
                package: &wheel.package.name,
                version: &wheel.package.version,
                sdist: path,
                sdist_sha256: &artifact.sha256,
                build_wheels,
                settings: &settings,
                policy_digest: wheel.policy.map(|loaded| &loaded.digest),
                interpreter: &host.interpreter,
                python_version: &host.target.python,
                target: &target.name,
                log_dir: &log_dir,
                source_date_epoch: artifact
                    .upload_time
                    .map(|time| time.as_second().max(0) as u64)
                    .unwrap_or(DEFAULT_SOURCE_DATE_EPOCH),
            };
            let built = build_cached(cache, &request);
            reporter.stage_advanced(wheel.package.name.as_ref());
            let built = built.map_err(|error| failure(wheel, error))?;
            Ok((
                candidate(wheel, built.path, true),
                WheelOrigin::Built { log: built.log },
            ))
        }
    });
    if to_build > 0 {
        reporter.stage_finished();
    }
    let mut candidates = Candidates {
        wheels: Vec::new(),
        failures: Vec::new(),
    };
    for result in results {
        match result {
            Ok(candidate) => candidates.wheels.push(candidate),
            Err(failure) => candidates.failures.push(failure),
        }
    }
    Ok(candidates)
}

fn candidate(wheel: &PlannedWheel<'_>, path: PathBuf, built_from_source: bool) -> CandidateWheel {
    CandidateWheel {
        name: wheel.package.name.clone(),
        version: wheel.package.version.clone(),
        path,
        built_from_source,
    }
}

fn failure(wheel: &PlannedWheel<'_>, error: BuildError) -> PackageFailure {
    PackageFailure::Build {
        package: wheel.package.name.clone(),
        error: Box::new(error),
    }
}
