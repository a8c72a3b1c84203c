//! The packaging stage: a lock whose artifacts are cached → one RPM per
//! package, `<app>-venv`, `<app>-deps` and `repodata/` in one output folder.
//!
//! Input: a [`Lock`], the [`Target`] it was resolved for, the
//! [`PreparedWheel`]s of the wheel stage (only verification makes one, so
//! nothing unverified is packaged), and [`PackageOptions`]. Output: a
//! [`PackageReport`].
//!
//! Invariants: the output folder is replaced as a whole (everything is written
//! to a sibling folder swapped into place, one build at a time: see
//! `package::output`), so a killed build leaves either the old complete
//! output or the new one, never a mix or a half RPM;
//! the same lock and cache give byte-identical RPMs and repodata. With
//! [`PackageOptions::only`] just the named packages are packaged: the other
//! RPMs of the previous output (venv and meta packages included) are carried
//! over unchanged and the repodata is regenerated over the result.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use super::app_package::Application;
use super::app_rpms::{keep_earlier_releases, write_app_rpms, write_history, AppRelease, AppWheel};
pub use super::error::PackageError;
use super::output::{OutputClaim, OutputError};
use super::releases::{History, ReleasedRpm};
use super::repodata::{write_repodata, RepodataSummary};
use super::reuse::RpmStore;
use super::rpm::packaged;
pub use super::rpm::PackagedRpm;
use super::rpm_writer::{parse_rpm_file_name, write_rpm};
use super::signing::ReleaseSigner;
use super::spec::{wheel_rpm_spec, PackageContext};
use super::version::RpmVersionStyle;
use crate::cache::Cache;
use crate::hash::{file_digest, Sha256};
use crate::hint::Hint;
use crate::host::find_interpreter;
use crate::install::cached::install_wheel_cached;
use crate::install::InstallOptions;
use crate::lock::{Lock, LockedPackage};
use crate::name::{ExtraName, PackageName};
use crate::parallel::run_parallel_costliest_first;
use crate::progress::Reporter;
use crate::targets::Target;
use crate::verify::VerifiedWheel;
use crate::wheels::PreparedWheel;

/// How to package.
#[derive(Clone, Debug)]
pub struct PackageOptions {
    pub app: String,
    pub prefix: PathBuf,
    /// The folder that becomes the repository (`dist/el9`).
    pub output_dir: PathBuf,
    pub jobs: usize,
    /// The releases whose RPMs the repository keeps (`[repo] keep`), so
    /// that servers can go back to them; at least 1.
    pub keep: usize,
    /// Sign every RPM written and the repository metadata.
    pub signer: Option<std::sync::Arc<ReleaseSigner>>,
    /// Package only these locked packages and keep the rest of the previous
    /// output; empty means every package plus `<app>-venv` and `<app>-deps`.
    pub only: BTreeSet<PackageName>,
    /// The app's own package, written as the `<app>` RPM (`[app] source`).
    pub application: Option<Application>,
}

#[derive(Debug)]
pub struct PackageReport {
    /// Sorted by file name.
    pub rpms: Vec<PackagedRpm>,
    pub repodata: RepodataSummary,
    pub output_dir: PathBuf,
}

/// One unit of work: a locked package and its cached wheel, with the
/// context (release, epoch, build time) the release history gives its RPM.
struct WheelJob<'a> {
    package: &'a LockedPackage,
    wheel: &'a VerifiedWheel,
    extras: BTreeSet<ExtraName>,
    context: PackageContext,
    /// The wheel's sha256, read once for the history's content key and the
    /// RPM store's key; `None` when the wheel cannot be read.
    wheel_digest: Option<Sha256>,
    /// What the history records of it; `file` is filled once written.
    record: ReleasedRpm,
}

/// Package every verified wheel, then the venv and meta packages, then the
/// repository metadata, and move the result into place. `<app>-deps` is
/// only written when `wheels` covers every locked package: a set with a
/// package missing must not be installable as a whole.
pub fn package_lock(
    lock: &Lock,
    target: &Target,
    wheels: &[PreparedWheel],
    cache: &Cache,
    options: &PackageOptions,
    reporter: &dyn Reporter,
) -> Result<PackageReport, PackageError> {
    let context = PackageContext {
        app: options.app.clone(),
        prefix: options.prefix.clone(),
        style: RpmVersionStyle::for_rpm(&target.rpm_version),
        release: String::new(),
        build_time: lock_build_time(lock),
        epoch_offset: 0,
        target: target.clone(),
    };
    let interpreter = find_interpreter(context.python_minor())?;
    let history = History::read(&options.output_dir)?;
    let is_app = |prepared: &&PreparedWheel| {
        options
            .application
            .as_ref()
            .is_some_and(|application| application.package == prepared.package.name)
    };
    let app_wheel = wheels.iter().find(is_app);
    let package_wheels: Vec<&PreparedWheel> =
        wheels.iter().filter(|prepared| !is_app(prepared)).collect();
    let extras = active_extras(lock);
    let jobs = plan_jobs(
        &extras,
        &package_wheels,
        &context,
        &history,
        cache,
        &interpreter,
    );
    let claim = OutputClaim::claim(&options.output_dir, reporter)?;
    let staging = claim.staging();
    let partial = !options.only.is_empty();
    let previous_files = if partial {
        let rebuilt = jobs
            .iter()
            .map(|job| context.rpm_name(&job.package.name))
            .collect();
        carry_over_previous_rpms(&options.output_dir, staging, &rebuilt)?
    } else {
        BTreeSet::new()
    };

    let complete = wheels.len() == lock.packages.len();
    let extra_rpms = match (partial, complete) {
        (true, _) => 0,
        (false, true) => 2 + u64::from(app_wheel.is_some()),
        (false, false) => 1,
    };
    reporter.stage_started("packaging", jobs.len() as u64 + extra_rpms);
    let wheel_size = |job: &WheelJob<'_>| {
        std::fs::metadata(job.wheel.path()).map_or(0, |metadata| metadata.len())
    };
    let results = run_parallel_costliest_first(&jobs, options.jobs, wheel_size, |job| {
        let outcome = package_wheel(cache, job, &interpreter, staging, reporter);
        reporter.stage_advanced(job.package.name.as_ref());
        outcome
    });
    let mut rpms = Vec::new();
    let mut records = Vec::new();
    let mut failures = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(rpm) => {
                records.push(ReleasedRpm {
                    file: rpm.file_name.clone(),
                    ..job.record.clone()
                });
                rpms.push(rpm);
            }
            Err(error) => failures.push(format!("- {}", error.with_hint())),
        }
    }
    if !failures.is_empty() {
        reporter.stage_finished();
        return Err(PackageError::Several { failures });
    }
    let history = if partial {
        warn_if_deps_stale(&context, &rpms, &previous_files, reporter);
        sign_rpms(options.signer.as_deref(), staging, &rpms)?;
        history
    } else {
        let application = match (app_wheel, &options.application) {
            (Some(prepared), Some(application)) => Some(app_wheel_job(
                &extras,
                prepared,
                application,
                &context,
                cache,
                &interpreter,
            )?),
            _ => None,
        };
        let release = AppRelease {
            history,
            lock_digest: lock_digest(lock),
            records,
            with_deps: complete,
            application,
        };
        let history = write_app_rpms(&context, staging, &mut rpms, release, reporter)?;
        sign_rpms(options.signer.as_deref(), staging, &rpms)?;
        keep_earlier_releases(&options.output_dir, staging, &history, options.keep)?;
        history
    };
    write_history(staging, &history)?;
    rpms.sort_by(|left, right| left.file_name.cmp(&right.file_name));
    let repodata = write_repodata(staging)?;
    if let Some(signer) = &options.signer {
        sign_repository(signer, staging, &context)?;
    }
    reporter.stage_finished();

    claim.replace()?;
    Ok(PackageReport {
        repodata: RepodataSummary {
            repomd_path: options.output_dir.join("repodata/repomd.xml"),
            ..repodata
        },
        rpms,
        output_dir: options.output_dir.clone(),
    })
}

/// Link every `*.rpm` of the previous output into `staging`, except those
/// named in `rebuilt` (their new build replaces them); returns the file
/// names the previous output had.
fn carry_over_previous_rpms(
    output_dir: &Path,
    staging: &Path,
    rebuilt: &BTreeSet<String>,
) -> Result<BTreeSet<String>, PackageError> {
    let mut previous = BTreeSet::new();
    let entries = match std::fs::read_dir(output_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(previous),
        Err(source) => {
            return Err(OutputError {
                path: output_dir.to_path_buf(),
                source,
            }
            .into())
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| OutputError {
            path: output_dir.to_path_buf(),
            source,
        })?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some((rpm_name, ..)) = parse_rpm_file_name(&file_name) else {
            continue;
        };
        previous.insert(file_name.clone());
        if rebuilt.contains(rpm_name) {
            continue;
        }
        let target = staging.join(&file_name);
        std::fs::hard_link(entry.path(), &target)
            .or_else(|_| std::fs::copy(entry.path(), &target).map(drop))
            .map_err(|source| OutputError {
                path: entry.path(),
                source,
            })?;
    }
    Ok(previous)
}

/// A partial build keeps the previous `<app>-deps`, which requires exact
/// EVRs: an RPM whose file is new (another version, or a package the
/// previous output lacked) is not what it requires.
fn warn_if_deps_stale(
    context: &PackageContext,
    rpms: &[PackagedRpm],
    previous_files: &BTreeSet<String>,
    reporter: &dyn Reporter,
) {
    let new_files: Vec<String> = rpms
        .iter()
        .filter(|rpm| !previous_files.contains(&rpm.file_name))
        .map(|rpm| format!("`{}`", rpm.file_name))
        .collect();
    if !new_files.is_empty() {
        reporter.warn(&format!(
            "`{}-deps` of the previous output does not require {} (new with `--only`)\nhint: run `vendor build` without `--only` to rewrite `{}-deps`",
            context.app,
            new_files.join(", "),
            context.app
        ));
    }
}

/// The newest upload time in the lock: a build time that only changes when
/// the lock does.
fn lock_build_time(lock: &Lock) -> u64 {
    lock.packages
        .iter()
        .flat_map(|package| package.wheels.iter().chain(&package.sdist))
        .filter_map(|artifact| artifact.upload_time)
        .map(|time| time.as_second().max(0) as u64)
        .max()
        .unwrap_or(0)
}

/// The app's wheel made ready for `<app>`: installed as the venv holds it
/// (verification installed it the same way: a cache hit).
fn app_wheel_job(
    extras: &BTreeMap<PackageName, BTreeSet<ExtraName>>,
    prepared: &PreparedWheel,
    application: &Application,
    context: &PackageContext,
    cache: &Cache,
    interpreter: &Path,
) -> Result<AppWheel, PackageError> {
    let installed = install_wheel_cached(
        cache,
        prepared.wheel.path(),
        &context.scheme(),
        &InstallOptions::for_rpm(interpreter),
    )?
    .installed;
    Ok(AppWheel {
        package: prepared.package.name.clone(),
        version: prepared.package.version.to_string(),
        installed,
        extras: extras
            .get(&prepared.package.name)
            .cloned()
            .unwrap_or_default(),
        deployment: application.deployment.clone(),
        build_time: package_build_time(&prepared.package).unwrap_or(context.build_time),
    })
}

/// Each prepared wheel with the extras the lock activates for its
/// package, and the epoch and release the history gives its content.
fn plan_jobs<'a>(
    extras: &BTreeMap<PackageName, BTreeSet<ExtraName>>,
    wheels: &[&'a PreparedWheel],
    context: &PackageContext,
    history: &History,
    cache: &Cache,
    interpreter: &Path,
) -> Vec<WheelJob<'a>> {
    wheels
        .iter()
        .map(|prepared| {
            let package = &prepared.package;
            let extras = extras.get(&package.name).cloned().unwrap_or_default();
            let unreleased = PackageContext {
                build_time: package_build_time(package).unwrap_or(context.build_time),
                ..context.clone()
            };
            let extra_names: Vec<String> = extras.iter().map(ToString::to_string).collect();
            let wheel_digest = file_digest(prepared.wheel.path()).ok();
            let content = wheel_digest.as_ref().map_or_else(String::new, |digest| {
                RpmStore::new(cache, &unreleased, interpreter)
                    .key(digest, &extra_names)
                    .to_string()
            });
            let rpm_name = context.rpm_name(&package.name);
            let version = package.version.to_string();
            let assigned = history.assign(&rpm_name, &version, &content);
            let context = unreleased.released(&assigned);
            WheelJob {
                package,
                wheel: &prepared.wheel,
                extras,
                record: ReleasedRpm {
                    name: rpm_name,
                    version,
                    epoch_offset: assigned.epoch_offset,
                    release: assigned.release,
                    content,
                    file: String::new(),
                },
                context,
                wheel_digest,
            }
        })
        .collect()
}

/// Sign this build's RPMs in `staging` (those carried over from earlier
/// releases keep the signatures they were published with).
fn sign_rpms(
    signer: Option<&ReleaseSigner>,
    staging: &Path,
    rpms: &[PackagedRpm],
) -> Result<(), PackageError> {
    let Some(signer) = signer else {
        return Ok(());
    };
    for rpm in rpms {
        signer.sign_rpm(&staging.join(&rpm.file_name))?;
    }
    Ok(())
}

/// `repodata/repomd.xml.asc` and `RPM-GPG-KEY-<app>` for dnf's
/// `repo_gpgcheck` and `gpgkey`.
fn sign_repository(
    signer: &ReleaseSigner,
    staging: &Path,
    context: &PackageContext,
) -> Result<(), PackageError> {
    let repomd = staging.join("repodata/repomd.xml");
    let write_error = |path: PathBuf| move |source| OutputError { path, source };
    let bytes = std::fs::read(&repomd).map_err(write_error(repomd.clone()))?;
    let signature = signer.sign_detached(&bytes, context.build_time, &repomd)?;
    let signature_path = staging.join("repodata/repomd.xml.asc");
    std::fs::write(&signature_path, signature).map_err(write_error(signature_path.clone()))?;
    let key_path = staging.join(format!("RPM-GPG-KEY-{}", context.app));
    std::fs::write(&key_path, signer.public_key()).map_err(write_error(key_path.clone()))?;
    Ok(())
}

/// A package's own time: the newest upload time of its locked files.
fn package_build_time(package: &LockedPackage) -> Option<u64> {
    package
        .wheels
        .iter()
        .chain(&package.sdist)
        .filter_map(|artifact| artifact.upload_time)
        .map(|time| time.as_second().max(0) as u64)
        .max()
}

/// The sha256 of the lock as `pylock.toml` renders it: what a release
/// was built from.
fn lock_digest(lock: &Lock) -> String {
    crate::hash::Sha256::of_bytes(crate::lock::pylock::render(lock).as_bytes()).to_string()
}

/// Extras requested of each package, by the top-level requirements or by
/// dependency edges.
fn active_extras(lock: &Lock) -> BTreeMap<PackageName, BTreeSet<ExtraName>> {
    let mut extras: BTreeMap<PackageName, BTreeSet<ExtraName>> = BTreeMap::new();
    for raw in &lock.options.requirements {
        if let Ok(requirement) = crate::requirement_text::parse_requirement(raw, None) {
            extras
                .entry(requirement.name)
                .or_default()
                .extend(requirement.extras);
        }
    }
    for dependency in lock
        .packages
        .iter()
        .flat_map(|package| &package.dependencies)
    {
        extras
            .entry(dependency.name.clone())
            .or_default()
            .extend(dependency.extras.iter().cloned());
    }
    extras
}

/// The RPM of one verified wheel: reused from an earlier build with the
/// same inputs, else installed, compiled and written (and kept for later).
fn package_wheel(
    cache: &Cache,
    job: &WheelJob<'_>,
    interpreter: &Path,
    output_dir: &Path,
    reporter: &dyn Reporter,
) -> Result<PackagedRpm, PackageError> {
    let context = &job.context;
    let store = RpmStore::new(cache, context, interpreter);
    let extras: Vec<String> = job.extras.iter().map(ToString::to_string).collect();
    let key = job
        .wheel_digest
        .as_ref()
        .map(|digest| store.key(digest, &extras));
    if let Some(rpm) = key.as_ref().and_then(|key| store.reuse(key, output_dir)) {
        return Ok(rpm);
    }
    // Verification installed this very wheel the same way: a cache hit.
    let installed = install_wheel_cached(
        cache,
        job.wheel.path(),
        &context.scheme(),
        &InstallOptions::for_rpm(interpreter),
    )?
    .installed;
    let wheel_rpm = wheel_rpm_spec(context, &installed, &job.extras, reporter)?;
    let written = write_rpm(&wheel_rpm.spec, output_dir)?;
    let rpm = packaged(
        Some(job.package.name.clone()),
        job.package.version.to_string(),
        &wheel_rpm.spec,
        written,
        wheel_rpm.bundled,
    );
    if let Some(key) = &key {
        store.keep(key, &rpm, output_dir);
    }
    Ok(rpm)
}
