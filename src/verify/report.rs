//! What verification found: one [`CheckOutcome`] per check, a
//! [`VerifyReport`] per package, and [`VerifyFailed`], the error listing
//! every failed check with its explanation and hint.
//!
//! Invariant: a [`VerifyReport`] is made only by this module (it has a
//! private field), so a report handed to [`super::into_verified`] is one that
//! verification really produced.

use std::fmt;
use std::path::PathBuf;

use pep440_rs::Version;

use serde::{Deserialize, Serialize};

use crate::name::PackageName;

/// Which check an outcome is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CheckKind {
    /// Some extension module links a library matching this policy glob.
    Linkage { glob: String },
    /// A copy of a shared library shipped inside the wheel (wheel path).
    Bundled { file: String },
    /// An RPATH/RUNPATH of this ELF file (wheel path) pointed outside the
    /// wheel; `stripped` when verification removed it.
    Rpath { file: String, stripped: bool },
    /// Debug information removed from the ELF files of a wheel built here.
    DebugInfo,
    /// The ELF files need only libraries and glibc symbol versions this
    /// target ships.
    TargetLibraries { target: String },
    /// Importing this module in the scratch environment.
    Import { module: String },
    /// A module the policy says not to import (the reason is the detail).
    NotImported { module: String },
    /// A policy probe, by name.
    Probe { name: String },
    /// The report handed to [`super::into_verified`] is not about the wheel
    /// it was given with.
    Report,
}

impl fmt::Display for CheckKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Linkage { glob } => write!(formatter, "links `{glob}`"),
            Self::Bundled { file } => write!(formatter, "bundled `{file}`"),
            Self::Rpath { file, .. } => write!(formatter, "search path of `{file}`"),
            Self::TargetLibraries { target } => write!(formatter, "libraries of `{target}`"),
            Self::DebugInfo => formatter.write_str("debug info"),
            Self::Import { module } => write!(formatter, "import `{module}`"),
            Self::NotImported { module } => write!(formatter, "not imported `{module}`"),
            Self::Probe { name } => write!(formatter, "probe `{name}`"),
            Self::Report => formatter.write_str("report"),
        }
    }
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub kind: CheckKind,
    pub passed: bool,
    /// What was seen: the matching soname, the exception, the removed path.
    pub detail: String,
    /// What is broken for users when the check fails (from the policy).
    pub explanation: Option<String>,
    /// How to fix it on the build host.
    pub hint: Option<String>,
}

impl CheckOutcome {
    pub(super) fn passed(kind: CheckKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            passed: true,
            detail: detail.into(),
            explanation: None,
            hint: None,
        }
    }

    pub(super) fn failed(
        kind: CheckKind,
        detail: impl Into<String>,
        explanation: Option<String>,
        hint: Option<String>,
    ) -> Self {
        Self {
            kind,
            passed: false,
            detail: detail.into(),
            explanation,
            hint,
        }
    }
}

/// Every check of one package, static ones (linkage, bundled copies,
/// search paths) first, then imports and probes in the order they ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub package: PackageName,
    pub version: Version,
    pub checks: Vec<CheckOutcome>,
    /// The wheel the checks ran against (after any rewriting).
    pub(super) wheel: PathBuf,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    pub fn failures(&self) -> impl Iterator<Item = &CheckOutcome> {
        self.checks.iter().filter(|check| !check.passed)
    }

    /// The wheel file the checks ran against.
    pub fn wheel(&self) -> &std::path::Path {
        &self.wheel
    }

    /// The checks that ran in Python (imports and probes) as JSON, to
    /// remember a passed verification; the static checks of `inspected`
    /// are made again on every run, from the wheel and the target.
    pub fn dynamic_checks_json(&self, inspected: &super::InspectedWheel) -> Vec<u8> {
        let dynamic = self
            .checks
            .get(inspected.checks.len()..)
            .unwrap_or_default();
        serde_json::to_vec(dynamic).unwrap_or_default()
    }
}

/// The report of an earlier verification of exactly this wheel in exactly
/// this environment (the caller's key says so): this run's static checks
/// with the remembered imports and probes, when all passed; `None`
/// otherwise, and the checks run again.
pub fn remembered_report(
    inspected: &super::InspectedWheel,
    dynamic_checks_json: &[u8],
) -> Option<VerifyReport> {
    let dynamic: Vec<CheckOutcome> = serde_json::from_slice(dynamic_checks_json).ok()?;
    let mut checks = inspected.checks.clone();
    checks.extend(dynamic);
    let report = VerifyReport {
        package: inspected.name.clone(),
        version: inspected.version.clone(),
        checks,
        wheel: inspected.path.clone(),
    };
    report.passed().then_some(report)
}

/// A package that failed verification: no RPM may be made from it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct VerifyFailed {
    pub package: PackageName,
    pub version: Version,
    /// Only the failed checks, in report order.
    pub failed: Vec<CheckOutcome>,
}

impl fmt::Display for VerifyFailed {
    /// ```text
    /// `featurepkg` 1.0 failed verification:
    ///   - probe `zlib`: featurepkg was built without zlib: compressed files cannot be read
    ///     AssertionError (line 1: `assert featurepkg.HAS_ZLIB`)
    ///     hint: apt-get install zlib1g-dev
    /// ```
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "`{}` {} failed verification:",
            self.package, self.version
        )?;
        for check in &self.failed {
            let detail = check.detail.trim();
            match &check.explanation {
                Some(explanation) => {
                    write!(formatter, "\n  - {}: {}", check.kind, explanation.trim())?;
                    write_indented(formatter, detail)?;
                }
                None => {
                    let mut lines = detail.lines();
                    write!(
                        formatter,
                        "\n  - {}: {}",
                        check.kind,
                        lines.next().unwrap_or("failed")
                    )?;
                    write_indented(formatter, &lines.collect::<Vec<_>>().join("\n"))?;
                }
            }
            if let Some(hint) = &check.hint {
                write!(formatter, "\n    hint: {}", hint.trim())?;
            }
        }
        Ok(())
    }
}

/// Each non-empty line of `text` on its own line, under the bullet.
fn write_indented(formatter: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        write!(formatter, "\n    {line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn lists_every_failure_with_explanation_and_hint() {
        let failed = VerifyFailed {
            package: PackageName::from_str("featurepkg").unwrap(),
            version: Version::from_str("1.0").unwrap(),
            failed: vec![
                CheckOutcome::failed(
                    CheckKind::Probe {
                        name: "zlib".into(),
                    },
                    "AssertionError (line 1: `assert featurepkg.HAS_ZLIB`)",
                    Some(
                        "featurepkg was built without zlib: compressed files cannot be read".into(),
                    ),
                    Some("apt-get install zlib1g-dev".into()),
                ),
                CheckOutcome::failed(
                    CheckKind::Import {
                        module: "featurepkg.extra".into(),
                    },
                    "ModuleNotFoundError: No module named 'featurepkg.extra'\nmore",
                    None,
                    None,
                ),
            ],
        };
        assert_eq!(
            failed.to_string(),
            "`featurepkg` 1.0 failed verification:\n  \
             - probe `zlib`: featurepkg was built without zlib: compressed files cannot be read\n    \
             AssertionError (line 1: `assert featurepkg.HAS_ZLIB`)\n    \
             hint: apt-get install zlib1g-dev\n  \
             - import `featurepkg.extra`: ModuleNotFoundError: No module named 'featurepkg.extra'\n    \
             more"
        );
    }
}
