//! The app's own RPMs of a release, and the release recorded.
//!
//! Input: the packaging context, the RPMs of the packages just written
//! with their history records, and the repository's [`History`]. Output:
//! `<app>-venv` and (for a complete set) `<app>-deps` written to the
//! staging folder, the history with this release recorded, the RPMs of
//! the releases the repository keeps linked in beside them, and
//! `releases.json`.
//!
//! Invariants: `<app>-deps` requires every RPM of the set at its exact
//! EVR and obsoletes what earlier releases shipped that the set dropped,
//! so `dnf upgrade` takes a server to exactly this set; an unchanged set
//! keeps its number and bytes; the history is written into the same
//! folder swap as the RPMs, so it never disagrees with them.

use std::path::Path;

use super::error::PackageError;
use super::output::OutputError;
use super::releases::{History, Release, ReleasedRpm, HISTORY_FILE};
use super::rpm::{packaged, PackagedRpm};
use super::rpm_writer::{parse_rpm_file_name, write_rpm, RpmSpec};
use super::spec::PackageContext;
use super::venv::{deps_rpm_spec, venv_rpm_spec};
use super::version::RpmEvr;
use crate::hash::Sha256;
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
    } = release;
    let venv_name = format!("{}-venv", context.app);
    let (venv, record) = write_released(context, staging, &history, venv_rpm_spec)?;
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
    let number = history.deps_number(&records);
    let current = records.iter().map(|record| record.name.clone()).collect();
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
    rpms.push(deps);
    reporter.stage_advanced("deps");
    records.sort();
    Ok(history.with(Release {
        number,
        lock: lock_digest,
        deps: deps_file,
        rpms: records,
    }))
}

/// Write the spec `make` gives for a context released as the history
/// says for its content (the spec's own bytes, its release aside).
fn write_released(
    context: &PackageContext,
    staging: &Path,
    history: &History,
    make: impl Fn(&PackageContext) -> RpmSpec,
) -> Result<(PackagedRpm, ReleasedRpm), PackageError> {
    let unreleased = make(context);
    let content = Sha256::of_bytes(format!("{unreleased:?}").as_bytes()).to_string();
    let assigned = history.assign(&unreleased.name, &unreleased.version, &content);
    let released = PackageContext {
        release: format!("{}{}", assigned.release, context.target.dist_tag),
        epoch_offset: assigned.epoch_offset,
        ..context.clone()
    };
    let spec = make(&released);
    let written = write_rpm(&spec, staging)?;
    let rpm = packaged(None, spec.version.clone(), &spec, written, Vec::new());
    let record = ReleasedRpm {
        name: spec.name.clone(),
        version: spec.version.clone(),
        epoch_offset: assigned.epoch_offset,
        release: assigned.release,
        content,
        file: rpm.file_name.clone(),
    };
    Ok((rpm, record))
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
