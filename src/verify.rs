//! Verification: the gate between wheels and RPMs.
//!
//! Input: wheel files (downloaded or built, hashes already checked) and
//! their policies. Output: [`VerifiedWheel`]s, or [`VerifyFailed`] naming
//! every failed check with its explanation and hint.
//!
//! The steps, in order:
//! 1. [`inspect_wheel`]: static checks without installing — linkage
//!    (`links` globs against the `DT_NEEDED` sonames of the extension
//!    modules), bundled library copies (refused unless the policy allows
//!    them), libraries and glibc symbol versions the target lacks
//!    ([`TargetLibraries`]), and RPATH/RUNPATH entries pointing into the
//!    build host, which are removed, as is the debug information of wheels
//!    built here, giving a rewritten wheel that replaces the original from
//!    then on ([`InspectedWheel::path`]);
//! 2. the caller makes a scratch [`PythonEnvironment`] with the target's
//!    interpreter and installs the inspected wheels and their locked runtime
//!    dependencies into it (one environment can hold a whole locked set);
//! 3. [`run_checks`]: every top-level module and every policy import and
//!    probe, one Python process per package, bounded by a timeout;
//! 4. [`into_verified`]: a wheel whose report has no failure becomes a
//!    [`VerifiedWheel`].
//!
//! Invariant: only this module can make a [`VerifyReport`] or a
//! [`VerifiedWheel`] (both have private fields), so nothing unverified can
//! be packaged.
//!
//! [`PythonEnvironment`]: crate::install::environment::PythonEnvironment

mod archive;
mod inspect;
mod modules;
mod report;
mod run;
mod target_libraries;

use std::path::{Path, PathBuf};

use pep440_rs::Version;

use crate::name::PackageName;

pub use inspect::{inspect_wheel, CandidateWheel, InspectedWheel};
pub use report::{remembered_report, CheckKind, CheckOutcome, VerifyFailed, VerifyReport};
pub use run::{run_checks, CheckOptions};
pub use target_libraries::TargetLibraries;

/// A failure of the machinery (files, processes), not of a check.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read wheel `{}`: {message}", wheel.display())]
    Archive { wheel: PathBuf, message: String },
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Elf(#[from] crate::elf::ElfError),
    #[error("cannot run `{}` for the checks: {source}", python.display())]
    Python {
        python: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
}

impl crate::hint::Hint for VerifyError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Python { .. } => Some(
                "the scratch environment's interpreter must run on this build host".to_string(),
            ),
            Self::Sandbox(inner) => inner.hint(),
            _ => None,
        }
    }
}

/// A wheel that passed every check: the only input packaging accepts.
/// Its fields are private, so only [`into_verified`] makes one and nothing
/// changes it afterwards.
#[derive(Clone, Debug)]
pub struct VerifiedWheel {
    name: PackageName,
    version: Version,
    /// The wheel to package (the rewritten one when search paths were removed).
    path: PathBuf,
    report: VerifyReport,
}

impl VerifiedWheel {
    pub fn name(&self) -> &PackageName {
        &self.name
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The wheel to package (the rewritten one when search paths were removed).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn report(&self) -> &VerifyReport {
        &self.report
    }
}

/// `inspected` with its full report (from [`run_checks`]) as a verified
/// wheel, or every failed check. A report about another wheel is a failure.
pub fn into_verified(
    inspected: InspectedWheel,
    report: VerifyReport,
) -> Result<VerifiedWheel, VerifyFailed> {
    if report.package != inspected.name
        || report.version != inspected.version
        || report.wheel != inspected.path
    {
        return Err(VerifyFailed {
            package: inspected.name,
            version: inspected.version,
            failed: vec![CheckOutcome::failed(
                CheckKind::Report,
                format!(
                    "the report given is about `{}` {} (`{}`), not `{}`",
                    report.package,
                    report.version,
                    report.wheel.display(),
                    inspected.path.display()
                ),
                None,
                None,
            )],
        });
    }
    if !report.passed() {
        return Err(VerifyFailed {
            package: inspected.name,
            version: inspected.version,
            failed: report.failures().cloned().collect(),
        });
    }
    Ok(VerifiedWheel {
        name: inspected.name,
        version: inspected.version,
        path: inspected.path,
        report,
    })
}
