//! The app's own RPMs of a release, and the release recorded.
//!
//! Input: the packaging context, the RPMs of the packages just written
//! with their history records, and the repository's [`History`]. Output:
//! `<app>-venv` and (for a complete set) `<app>-deps` written to the
//! staging folder, then the `<app>` RPM (see [`super::app_package`]) that
//! requires that `<app>-deps`, the history with this release recorded, the RPMs of
//! the releases the repository keeps linked in beside them, and
//! `releases.json`.
//!
//! Invariants: `<app>-deps` requires every RPM of the set at its exact
//! EVR and obsoletes what earlier releases shipped that the set dropped,
//! so `dnf upgrade` takes a server to exactly this set; an unchanged set
//! keeps its number and bytes; the history is written into the same
//! folder swap as the RPMs, so it never disagrees with them.

use std::collections::BTreeSet;
use std::path::Path;

use super::app_package::{app_rpm_spec, require_deps};
use super::error::PackageError;
use super::output::OutputError;
use super::releases::{Assigned, History, Release, ReleasedRpm, HISTORY_FILE};
use super::rpm::{packaged, PackagedRpm};
use super::rpm_writer::{parse_rpm_file_name, write_rpm, RpmFileSource, RpmSpec};
use super::spec::{wheel_rpm_spec, PackageContext};
use super::venv::{deps_rpm_spec, venv_rpm_spec};
use super::version::RpmEvr;
use crate::config::Deployment;
use crate::hash::{file_digest, Sha256};
use crate::install::InstalledWheel;
use crate::name::{ExtraName, PackageName};
use crate::progress::Reporter;

/// What the app's RPMs of this build are made from.
pub(super) struct AppRelease {
    pub history: History,
    /// The sha256 of the lock the release is built from.
    pub lock_digest: String,
    /// The history records of the package RPMs written.
    pub records: Vec<ReleasedRpm>,
    /// Every locked package has its RPM: write `<app>-deps` and record
    /// the release.
    pub with_deps: bool,
    /// The app's own package, packaged as `<app>` after `<app>-deps`.
    pub application: Option<AppWheel>,
}

/// The app's wheel, installed as the venv holds it, and its deployment.
pub(super) struct AppWheel {
    pub package: PackageName,
    pub version: String,
    pub installed: InstalledWheel,
    /// Extras the lock activates for it (their dependencies are required).
    pub extras: BTreeSet<ExtraName>,
    pub deployment: Deployment,
    /// The package's own build time.
    pub build_time: u64,
}

/// `<app>-venv`, then (for a complete set) `<app>-deps` and the release;
/// returns the history to write.
pub(super) fn write_app_rpms(
    context: &PackageContext,
    staging: &Path,
    rpms: &mut Vec<PackagedRpm>,
    release: AppRelease,
    reporter: &dyn Reporter,
) -> Result<History, PackageError> {
    let AppRelease {
        history,
        lock_digest,
        mut records,
        with_deps,
        application,
    } = release;
    let venv_name = format!("{}-venv", context.app);
    let venv_spec = venv_rpm_spec(context);
    let content = content_key(&venv_spec)?;
    let assigned = history.assign(&venv_spec.name, &venv_spec.version, &content);
    let version = venv_spec.version.clone();
    let (venv, record) = write_assigned(context, staging, venv_spec, &assigned, content, version)?;
    records.push(record);
    rpms.push(venv);
    reporter.stage_advanced("venv");
    if !with_deps {
        return Ok(history);
    }
    let members: Vec<(String, RpmEvr)> = rpms
        .iter()
        .map(|rpm| (rpm.rpm_name.clone(), rpm.evr.clone()))
        .collect();
    let app = application
        .map(|application| OwnAppSpec::new(context, application, reporter))
        .transpose()?;
    let (number, app_release) = match &app {
        Some(app) => {
            let (number, assigned, content) =
                history.app_release(&records, &context.app, &app.version, &app.content);
            (number, Some((assigned, content)))
        }
        None => (history.deps_number(&records), None),
    };
    let mut current: BTreeSet<String> = records.iter().map(|record| record.name.clone()).collect();
    if app.is_some() {
        current.insert(context.app.clone());
    }
    let dropped: Vec<(String, RpmEvr)> = history
        .dropped(&current)
        .into_iter()
        .filter(|rpm| rpm.name != venv_name)
        .map(|rpm| (rpm.name.clone(), recorded_evr(&rpm, context)))
        .collect();
    let deps_context = PackageContext {
        release: format!("1{}", context.target.dist_tag),
        ..context.clone()
    };
    let spec = deps_rpm_spec(&deps_context, number, &members, &dropped);
    let written = write_rpm(&spec, staging)?;
    let deps = packaged(None, spec.version.clone(), &spec, written, Vec::new());
    let deps_file = deps.file_name.clone();
    let deps_evr = deps.evr.clone();
    rpms.push(deps);
    reporter.stage_advanced("deps");
    if let (Some(app), Some((assigned, content))) = (app, app_release) {
        let mut spec = app.spec;
        require_deps(&mut spec, &context.app, &deps_evr);
        let (mut rpm, record) =
            write_assigned(context, staging, spec, &assigned, content, app.version)?;
        rpm.package = Some(app.package);
        records.push(record);
        rpms.push(rpm);
        reporter.stage_advanced(&context.app);
    }
    records.sort();
    Ok(history.with(Release {
        number,
        lock: lock_digest,
        deps: deps_file,
        rpms: records,
    }))
}

/// The `<app>` spec before its release is known, without the
/// `<app>-deps` it requires (which the release number decides), and the
/// content key of that: what the history compares.
struct OwnAppSpec {
    package: PackageName,
    version: String,
    spec: RpmSpec,
    content: String,
}

impl OwnAppSpec {
    fn new(
        context: &PackageContext,
        wheel: AppWheel,
        reporter: &dyn Reporter,
    ) -> Result<Self, PackageError> {
        let context = PackageContext {
            build_time: wheel.build_time,
            ..context.clone()
        };
        let wheel_spec = wheel_rpm_spec(&context, &wheel.installed, &wheel.extras, reporter)?.spec;
        let spec = app_rpm_spec(&context, wheel_spec, &wheel.deployment)?;
        Ok(Self {
            content: content_key(&spec)?,
            package: wheel.package,
            version: wheel.version,
            spec,
        })
    }
}

/// Write `spec`, made before its release was known, with the epoch offset
/// and release the history `assigned` to its `content`; `version` is the
/// upstream version the history records.
fn write_assigned(
    context: &PackageContext,
    staging: &Path,
    spec: RpmSpec,
    assigned: &Assigned,
    content: String,
    version: String,
) -> Result<(PackagedRpm, ReleasedRpm), PackageError> {
    let spec = context.released(assigned).restamp(spec);
    let written = write_rpm(&spec, staging)?;
    let rpm = packaged(None, version.clone(), &spec, written, Vec::new());
    let record = ReleasedRpm {
        name: spec.name.clone(),
        version,
        epoch_offset: assigned.epoch_offset,
        release: assigned.release,
        content,
        file: rpm.file_name.clone(),
    };
    Ok((rpm, record))
}

/// The digest of everything a spec's RPM is made of: its fields and the
/// bytes of every file it reads from disk (a path alone does not say
/// whether a project file was edited).
fn content_key(spec: &RpmSpec) -> Result<String, PackageError> {
    let mut described = spec.clone();
    for file in &mut described.files {
        if let RpmFileSource::Path(path) = &file.source {
            let digest = file_digest(path).map_err(|source| OutputError {
                path: path.clone(),
                source,
            })?;
            file.source = RpmFileSource::Bytes(digest.to_string().into_bytes());
        }
    }
    Ok(Sha256::of_bytes(format!("{described:?}").as_bytes()).to_string())
}

/// The EVR an earlier release gave `rpm`, for `Obsoletes: name <= EVR`:
/// its file name holds version and release, the record the epoch offset
/// (a version's own PEP 440 epoch is rare enough to obsolete by offset).
fn recorded_evr(rpm: &ReleasedRpm, context: &PackageContext) -> RpmEvr {
    let (version, release) = match parse_rpm_file_name(&rpm.file) {
        Some((_, version, release, _)) => (version.to_string(), release.to_string()),
        None => (
            rpm.version.clone(),
            format!("{}{}", rpm.release, context.target.dist_tag),
        ),
    };
    RpmEvr {
        epoch: (rpm.epoch_offset > 0).then_some(rpm.epoch_offset),
        version,
        release: Some(release),
    }
}

/// Link the RPMs of the releases the repository keeps (the newest `keep`,
/// this one included) from the previous output into `staging`.
pub(super) fn keep_earlier_releases(
    output_dir: &Path,
    staging: &Path,
    history: &History,
    keep: usize,
) -> Result<(), PackageError> {
    for file in history.kept_files(keep) {
        let destination = staging.join(&file);
        let source = output_dir.join(&file);
        if destination.exists() || !source.is_file() {
            continue;
        }
        std::fs::hard_link(&source, &destination)
            .or_else(|_| std::fs::copy(&source, &destination).map(drop))
            .map_err(|source_error| OutputError {
                path: source.clone(),
                source: source_error,
            })?;
    }
    Ok(())
}

/// `releases.json` in `staging`.
pub(super) fn write_history(staging: &Path, history: &History) -> Result<(), PackageError> {
    let path = staging.join(HISTORY_FILE);
    std::fs::write(&path, history.render())
        .map_err(|source| PackageError::Output(OutputError { path, source }))
}
