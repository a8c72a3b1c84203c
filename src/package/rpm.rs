//! One RPM as packaging reports it.
//!
//! Input: what the writer produced. Output: [`PackagedRpm`], the row of the
//! build summary and what the RPM store remembers for reuse. Invariant: a
//! plain value, shared by the packaging pipeline and the store without
//! either depending on the other.

use crate::elf::BundledLibrary;
use crate::name::PackageName;

use super::rpm_writer::{RpmSpec, WrittenRpm};
use super::version::RpmEvr;

/// One RPM written, for the summary table.
#[derive(Clone, Debug)]
pub struct PackagedRpm {
    /// The Python package, or `None` for the venv and meta packages.
    pub package: Option<PackageName>,
    /// The Python version, or the RPM version for the venv and meta packages.
    pub version: String,
    pub rpm_name: String,
    pub evr: RpmEvr,
    pub file_name: String,
    pub arch: String,
    pub bundled: Vec<BundledLibrary>,
    pub size: u64,
}

/// The summary row of an RPM `spec` described and `written` wrote.
pub(super) fn packaged(
    package: Option<PackageName>,
    version: String,
    spec: &RpmSpec,
    written: WrittenRpm,
    bundled: Vec<BundledLibrary>,
) -> PackagedRpm {
    PackagedRpm {
        package,
        version,
        rpm_name: spec.name.clone(),
        evr: RpmEvr {
            epoch: spec.epoch,
            version: spec.version.clone(),
            release: Some(spec.release.clone()),
        },
        file_name: written
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        arch: spec.arch.clone(),
        bundled,
        size: written.size,
    }
}
