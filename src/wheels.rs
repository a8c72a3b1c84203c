//! The wheel stage: a fetched lock → the wheel each locked package ships
//! as, verified.
//!
//! Input: a [`Lock`], the [`FetchReport`] of its artifacts, the [`Target`], the
//! project's [`Policies`] and [`WheelOptions`]. Output: a [`WheelsOutcome`]
//! holding a [`VerifiedWheel`] per package that passed, and a
//! [`PackageFailure`] per package that did not.
//!
//! The steps, as a recipe:
//! 1. [`plan`]: per package, a published wheel for the target or a build
//!    from its sdist, as the lock's [`crate::lock::BuildPlan`] decides;
//!    every artifact's path comes from the fetch stage's
//!    [`FetchReport`], which checked its sha256; build environments come
//!    from the lock;
//! 2. preflight: every prerequisite of every package to build is checked
//!    before any build starts, and all missing ones are reported at once;
//! 3. [`builds`]: sdists → wheels in parallel up to `jobs`, through the
//!    built-wheel cache, so an unchanged build rebuilds nothing;
//! 4. [`checks`]: static checks per wheel, then every wheel installed into
//!    the installed-tree cache as its RPM will install it, then one scratch
//!    environment with the target's interpreter seeing every tree, where
//!    each package's imports and probes run in parallel.
//!
//! Invariants: a package that fails to build or verify has no
//! [`VerifiedWheel`], and the others still do (one broken package does not
//! hide the state of the rest); nothing here prints.

mod builds;
mod checks;
mod plan;

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::cache::Cache;
use crate::fetch::FetchReport;
use crate::hint::Hint;
use crate::lock::{Lock, LockedPackage};
use crate::name::PackageName;
use crate::pep517::BuildError;
use crate::policy::{Policies, PreflightError};
use crate::progress::Reporter;
use crate::targets::Target;
use crate::verify::{VerifiedWheel, VerifyFailed, VerifyReport};

pub use plan::{plan_wheels, Plan, PlannedWheel, WheelSource};

/// How to prepare the wheels.
#[derive(Clone, Debug)]
pub struct WheelOptions {
    /// Builds and checks run in parallel up to this many.
    pub jobs: usize,
    /// `[build] from-source` of `vendor.toml`.
    pub from_source: BTreeSet<PackageName>,
    /// Only these packages (and what they depend on, for the checks); empty
    /// means every locked package.
    pub only: Vec<PackageName>,
    /// Where build logs and scratch folders go (`<cache>/work/el9`).
    pub work_dir: PathBuf,
    /// The app's prefix on the servers (`/opt/mysite`): wheels are
    /// installed for it once, for the checks and for packaging.
    pub prefix: PathBuf,
    /// Run every check even when the same wheels passed them before.
    pub recheck: bool,
    /// `[build] allow-foreign-host`: libraries the target lacks do not fail
    /// verification (see [`crate::verify::TargetLibraries`]).
    pub allow_foreign_host: bool,
    /// The app's own package (`[app] source`): its checks run as its
    /// service would.
    pub app_checks: Option<AppChecks>,
}

/// How the app's own package is checked.
#[derive(Clone, Debug)]
pub struct AppChecks {
    pub package: PackageName,
    /// `[app.service] environment` (e.g. `DJANGO_SETTINGS_MODULE`).
    pub environment: std::collections::BTreeMap<String, String>,
}

/// A verified wheel with the locked package it ships and where it came
/// from: what packaging takes, so nothing matches wheels back to the lock.
#[derive(Clone, Debug)]
pub struct PreparedWheel {
    pub package: LockedPackage,
    pub wheel: VerifiedWheel,
    pub origin: WheelOrigin,
}

/// Why the stage could not run at all (as opposed to one package failing).
#[derive(Debug, thiserror::Error)]
pub enum WheelsError {
    #[error("{} locked artifacts are not in the cache: {}", names.len(), names.join(", "))]
    NotFetched { names: Vec<String> },
    #[error("`{package}` {version} must be built from source, but {reason}")]
    CannotBuild {
        package: PackageName,
        version: String,
        reason: String,
        hint: String,
    },
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
    #[error("cannot prepare `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the scratch environment for the checks: {source}")]
    Scratch {
        #[source]
        source: crate::install::InstallError,
    },
}

impl crate::hint::Hint for WheelsError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NotFetched { .. } => Some("run `vendor fetch` first".to_string()),
            Self::CannotBuild { hint, .. } => Some(hint.clone()),
            Self::Preflight(inner) => inner.hint(),
            Self::Host(inner) => inner.hint(),
            _ => None,
        }
    }
}

/// Why one package has no verified wheel.
#[derive(Debug)]
pub enum PackageFailure {
    Build {
        package: PackageName,
        error: Box<BuildError>,
    },
    /// The wheel could not be inspected or installed for the checks
    /// (damaged or hostile).
    Unusable {
        package: PackageName,
        message: String,
    },
    Verify(VerifyFailed),
}

impl PackageFailure {
    pub fn package(&self) -> &PackageName {
        match self {
            Self::Build { package, .. } | Self::Unusable { package, .. } => package,
            Self::Verify(failed) => &failed.package,
        }
    }
}

impl std::fmt::Display for PackageFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Build { package, error } => {
                // A report lists several failures: each keeps its own hint.
                write!(
                    formatter,
                    "`{package}` could not be built: {}",
                    error.with_hint()
                )
            }
            Self::Unusable { message, .. } => formatter.write_str(message),
            Self::Verify(failed) => write!(formatter, "{failed}"),
        }
    }
}

/// Where a verified wheel came from, for the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WheelOrigin {
    /// Downloaded from the index.
    Published,
    /// Built from the sdist by this run (its log) or found in the cache.
    Built { log: Option<PathBuf> },
}

/// The stage's result.
#[derive(Debug, Default)]
pub struct WheelsOutcome {
    /// In lock order, for the packages that passed.
    pub verified: Vec<PreparedWheel>,
    /// Every report, passed or not, in lock order (for `vendor verify`).
    pub reports: Vec<VerifyReport>,
    pub failures: Vec<PackageFailure>,
    /// Holds the rewritten wheels (search paths removed) that
    /// [`VerifiedWheel::path`] may point into; removed when the outcome is
    /// dropped, so package before dropping it.
    scratch: Option<crate::scratch::Scratch>,
}

impl WheelsOutcome {
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Plan, preflight, build and verify every wheel of `lock`.
pub fn prepare_wheels(
    lock: &Lock,
    fetched: &FetchReport,
    target: &Target,
    cache: &Cache,
    policies: &Policies,
    options: &WheelOptions,
    reporter: &dyn Reporter,
) -> Result<WheelsOutcome, WheelsError> {
    let plan = plan_wheels(lock, fetched, target, policies, options)?;
    builds::preflight(&plan.wheels)?;
    let candidates = builds::build_wheels(&plan, target, cache, options, reporter)?;
    let mut outcome = checks::verify_wheels(
        &plan.wheels,
        candidates.wheels,
        target,
        cache,
        options,
        reporter,
    )?;
    outcome.failures.splice(0..0, candidates.failures);
    Ok(outcome)
}
