//! Candidate wheels → verified wheels: static checks per wheel, then each
//! wheel installed once into the installed-tree cache (as its RPM will
//! install it), then one scratch environment seeing every tree, where each
//! selected package's imports and probes run.
//!
//! Input: candidates in lock order and their policies. Output: the
//! [`WheelsOutcome`]. Invariants: the environment uses the build host's
//! interpreter of the target's `X.Y` and sees the whole set (so each
//! package's locked runtime dependencies are there, as on a server); it is
//! removed afterwards, while the trees stay in the cache for packaging and
//! later builds; a wheel that cannot be inspected or installed fails its
//! own package only; installs and checks run in parallel up to `jobs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::plan::PlannedWheel;
use super::PreparedWheel;
use super::{PackageFailure, WheelOptions, WheelOrigin, WheelsError, WheelsOutcome};
use crate::cache::{Bucket, Cache};
use crate::hash::{file_digest, Sha256, Sha256Hasher};
use crate::hint::Hint;
use crate::host::find_interpreter;
use crate::install::cached::{install_wheel_cached, CachedInstall};
use crate::install::environment::PythonEnvironment;
use crate::install::{InstallOptions, InstallScheme};
use crate::lock::LockedPackage;
use crate::name::PackageName;
use crate::parallel::{run_parallel, run_parallel_costliest_first};
use crate::progress::Reporter;
use crate::scratch::Scratch;
use crate::targets::Target;
use crate::verify::{
    inspect_wheel, into_verified, remembered_report, run_checks, CandidateWheel, CheckOptions,
    InspectedWheel, TargetLibraries, VerifyReport,
};

/// Inspect and install every wheel, then run the checks in one scratch
/// environment seeing every installed tree.
pub(super) fn verify_wheels(
    planned: &[PlannedWheel<'_>],
    candidates: Vec<(CandidateWheel, WheelOrigin)>,
    target: &Target,
    cache: &Cache,
    options: &WheelOptions,
    reporter: &dyn Reporter,
) -> Result<WheelsOutcome, WheelsError> {
    let by_name: BTreeMap<&PackageName, &PlannedWheel<'_>> = planned
        .iter()
        .map(|wheel| (&wheel.package.name, wheel))
        .collect();
    let scratch =
        Scratch::create_in(&options.work_dir, "verify-", "").map_err(|source| WheelsError::Io {
            path: options.work_dir.clone(),
            source,
        })?;
    let mut outcome = WheelsOutcome::default();
    let interpreter = interpreter(target)?;
    let scheme = InstallScheme::new(&options.prefix, target.python_series());
    let preparation = Preparation {
        by_name: &by_name,
        inspect_dir: scratch.path().join("inspect"),
        scheme: &scheme,
        install_options: InstallOptions::for_rpm(&interpreter),
        target_libraries: TargetLibraries {
            target,
            allow_foreign_host: options.allow_foreign_host,
        },
        cache,
        jobs: options.jobs,
    };
    let prepared = preparation.inspect_and_install(&candidates, reporter);
    let (inspected, trees): (Vec<Inspected>, Vec<CachedInstall>) =
        keep_usable(prepared, &mut outcome).into_iter().unzip();
    let memory = Memory::new(cache, &inspected, &by_name, &interpreter, options);
    let remembered = (!options.recheck)
        .then(|| memory.recall(&inspected, &by_name))
        .flatten();
    if let Some(remembered) = remembered {
        for ((wheel, origin), report) in remembered {
            outcome.accept(by_name[&wheel.name].package, wheel, origin, report);
        }
        outcome.scratch = Some(scratch);
        return Ok(outcome);
    }
    let mut environment = scratch_environment(target, &interpreter, scratch.path())?;
    let site_directories: Vec<PathBuf> = trees
        .iter()
        .map(|tree| tree.site_packages(&scheme))
        .collect();
    environment
        .add_site_directories(&site_directories)
        .map_err(|source| WheelsError::Scratch { source })?;

    let selected: Vec<&(InspectedWheel, WheelOrigin)> = inspected
        .iter()
        .filter(|(wheel, _)| {
            by_name
                .get(&wheel.name)
                .is_some_and(|planned| planned.selected)
        })
        .collect();
    reporter.stage_started("verifying", selected.len() as u64);
    let reports = run_parallel(&selected, options.jobs, |(wheel, _)| {
        let (wheel, check_options) = checks_of(wheel, options, cache.root());
        let report = run_checks(&environment, &[&wheel], &check_options);
        reporter.stage_advanced(wheel.name.as_ref());
        report
    });
    reporter.stage_finished();

    for ((wheel, origin), reports) in selected.into_iter().zip(reports) {
        let report = match reports {
            Ok(mut reports) => reports.pop().expect("run_checks reports once per wheel"),
            Err(error) => {
                outcome.failures.push(unusable(&wheel.name, error));
                continue;
            }
        };
        memory.remember(wheel, &report);
        outcome.accept(by_name[&wheel.name].package, wheel, origin, report);
    }
    drop(environment);
    outcome.scratch = Some(scratch);
    Ok(outcome)
}

impl WheelsOutcome {
    /// Record `wheel`'s full report: verified when it passed, else failed.
    fn accept(
        &mut self,
        package: &LockedPackage,
        wheel: &InspectedWheel,
        origin: &WheelOrigin,
        report: VerifyReport,
    ) {
        self.reports.push(report.clone());
        match into_verified(wheel.clone(), report) {
            Ok(verified) => self.verified.push(PreparedWheel {
                package: package.clone(),
                wheel: verified,
                origin: origin.clone(),
            }),
            Err(failed) => self.failures.push(PackageFailure::Verify(failed)),
        }
    }
}

/// A wheel after the static checks, with where it came from.
type Inspected = (InspectedWheel, WheelOrigin);

/// What inspecting and installing the candidates needs.
struct Preparation<'a> {
    by_name: &'a BTreeMap<&'a PackageName, &'a PlannedWheel<'a>>,
    /// Where rewritten wheels (search paths removed) go.
    inspect_dir: PathBuf,
    /// The app's prefix on the servers, for the target's Python.
    scheme: &'a InstallScheme,
    install_options: InstallOptions,
    target_libraries: TargetLibraries<'a>,
    cache: &'a Cache,
    jobs: usize,
}

impl Preparation<'_> {
    /// Each candidate's static checks, then the wheel to package installed
    /// as its RPM will install it (`.pyc` included) through the
    /// installed-tree cache; one task per wheel, the largest first. The
    /// checks import from these trees, and packaging reads the same ones.
    fn inspect_and_install(
        &self,
        candidates: &[(CandidateWheel, WheelOrigin)],
        reporter: &dyn Reporter,
    ) -> Vec<Result<(Inspected, CachedInstall), PackageFailure>> {
        reporter.stage_started("installing", candidates.len() as u64);
        let prepared = run_parallel_costliest_first(
            candidates,
            self.jobs,
            |(candidate, _)| {
                std::fs::metadata(&candidate.path).map_or(0, |metadata| metadata.len())
            },
            |(candidate, origin)| {
                let prepared = self
                    .inspect(candidate)
                    .and_then(|inspected| {
                        install_wheel_cached(
                            self.cache,
                            &inspected.path,
                            self.scheme,
                            &self.install_options,
                        )
                        .map(|tree| ((inspected, origin.clone()), tree))
                        .map_err(|error| error.with_hint())
                    })
                    .map_err(|error| unusable(&candidate.name, error));
                reporter.stage_advanced(candidate.name.as_ref());
                prepared
            },
        );
        reporter.stage_finished();
        prepared
    }

    fn inspect(&self, candidate: &CandidateWheel) -> Result<InspectedWheel, String> {
        let policy = self
            .by_name
            .get(&candidate.name)
            .and_then(|wheel| wheel.policy)
            .map(|loaded| &loaded.policy);
        inspect_wheel(candidate, policy, self.target_libraries, &self.inspect_dir)
            .map_err(|error| error.with_hint())
    }
}

fn unusable(package: &PackageName, error: impl std::fmt::Display) -> PackageFailure {
    PackageFailure::Unusable {
        package: package.clone(),
        message: error.to_string(),
    }
}

/// The successes; failures go to `outcome`.
fn keep_usable<T>(results: Vec<Result<T, PackageFailure>>, outcome: &mut WheelsOutcome) -> Vec<T> {
    let mut kept = Vec::new();
    for result in results {
        match result {
            Ok(value) => kept.push(value),
            Err(failure) => outcome.failures.push(failure),
        }
    }
    kept
}

/// The build host's interpreter of the target's `X.Y`.
fn interpreter(target: &Target) -> Result<PathBuf, WheelsError> {
    Ok(find_interpreter(target.python_series())?)
}

/// An empty virtualenv of the target's `X.Y` on this host.
fn scratch_environment(
    target: &Target,
    interpreter: &Path,
    scratch: &Path,
) -> Result<PythonEnvironment, WheelsError> {
    PythonEnvironment::create(interpreter, target.python_series(), &scratch.join("env"))
        .map_err(|source| WheelsError::Scratch { source })
}

/// How `wheel`'s imports and probes run: confined, the cache hidden but
/// for the installed trees the environment links in. The app's own package runs them with the environment
/// its service runs with, and imports its Django settings module (which
/// `django.setup()` then uses): the app's settings must load with the
/// locked set.
fn checks_of(
    wheel: &InspectedWheel,
    options: &WheelOptions,
    cache_root: &Path,
) -> (InspectedWheel, CheckOptions) {
    let mut wheel = wheel.clone();
    let mut check_options = CheckOptions {
        hidden: vec![cache_root.to_path_buf()],
        ..CheckOptions::default()
    };
    if let Some(app) = options
        .app_checks
        .as_ref()
        .filter(|app| app.package == wheel.name)
    {
        check_options.environment = app.environment.clone().into_iter().collect();
        if let Some(settings) = app.environment.get("DJANGO_SETTINGS_MODULE") {
            if !wheel.imports.contains(settings) {
                wheel.imports.push(settings.clone());
            }
        }
    }
    (wheel, check_options)
}

/// Passed imports and probes of earlier runs, keyed by the whole
/// environment: every wheel's bytes (after inspection), every policy
/// digest, the interpreter and the `vendor` binary. A package's imports and
/// probes are skipped only when every selected package passed them in that
/// same environment; static checks are made on every run.
struct Memory<'a> {
    cache: &'a Cache,
    key: Option<Sha256>,
}

impl<'a> Memory<'a> {
    fn new(
        cache: &'a Cache,
        inspected: &[(InspectedWheel, WheelOrigin)],
        by_name: &BTreeMap<&PackageName, &PlannedWheel<'_>>,
        interpreter: &Path,
        options: &WheelOptions,
    ) -> Self {
        let mut hasher = Sha256Hasher::default();
        hasher.update(format!("vendor-verified-2\n{}\n", interpreter.display()).as_bytes());
        if let Some(app) = &options.app_checks {
            hasher.update(format!("app {} {:?}\n", app.package, app.environment).as_bytes());
        }
        hasher.update(crate::hash::executable_digest().as_bytes());
        let mut complete = true;
        for (wheel, _) in inspected {
            let digest = file_digest(&wheel.path).map(|digest| digest.as_str().to_string());
            let Ok(digest) = digest else {
                complete = false;
                break;
            };
            let policy = by_name
                .get(&wheel.name)
                .and_then(|planned| planned.policy)
                .map_or("none", |loaded| loaded.digest.as_str());
            hasher.update(format!("\n{} {digest} {policy}", wheel.name).as_bytes());
        }
        Self {
            cache,
            key: complete.then(|| hasher.finish()),
        }
    }

    fn entry(&self, name: &PackageName) -> Option<String> {
        let key = self.key.as_ref()?;
        Some(format!("{}/{name}.json", key.as_str()))
    }

    /// Every selected package's remembered report, or `None`.
    fn recall<'w>(
        &self,
        inspected: &'w [(InspectedWheel, WheelOrigin)],
        by_name: &BTreeMap<&PackageName, &PlannedWheel<'_>>,
    ) -> Option<Vec<(&'w (InspectedWheel, WheelOrigin), VerifyReport)>> {
        inspected
            .iter()
            .filter(|(wheel, _)| {
                by_name
                    .get(&wheel.name)
                    .is_some_and(|planned| planned.selected)
            })
            .map(|entry| {
                let bytes = self
                    .cache
                    .read_entry(Bucket::Verified, &self.entry(&entry.0.name)?)?;
                Some((entry, remembered_report(&entry.0, &bytes)?))
            })
            .collect()
    }

    /// Keep a passed report; failures are always checked again.
    fn remember(&self, wheel: &InspectedWheel, report: &VerifyReport) {
        if let (true, Some(entry)) = (report.passed(), self.entry(&wheel.name)) {
            let _ = self.cache.write_entry(
                Bucket::Verified,
                &entry,
                &report.dynamic_checks_json(wheel),
            );
        }
    }
}
