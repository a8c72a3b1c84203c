//! The build host: the machine vendor runs on, where sdists are built,
//! byte-code is compiled and verification imports run.
//!
//! Input: this machine (its interpreters, glibc, architecture,
//! `/etc/os-release`, compiler and `PATH`) and the target's Python.
//! Output: a [`BuildHost`] (this machine described as a [`Target`], with its
//! interpreter of the target's `X.Y`), the [`Toolchain`] preflight checks
//! prerequisites against, and `--target host` ([`platform::detect`]).
//!
//! Invariants: the host's interpreter always has the target's `X.Y` (a
//! build for CPython 3.11 runs on CPython 3.11); detection is done once per
//! process and only when something needs it ([`LazyBuildHost`]); nothing
//! here decides anything about the *target*, which is data
//! ([`crate::targets`]).

pub mod interpreter;
pub mod platform;
pub mod toolchain;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use pep440_rs::Version;

use crate::targets::{python_series, Tags, Target, TargetError};

pub use interpreter::{find_interpreter, start_finding_interpreter};
pub use toolchain::{HostFamily, PkgConfig, Toolchain};

/// Why the build host could not be described.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("no Python {version} interpreter on this build host; looked for {}", searched.join(", "))]
    NoInterpreter {
        version: String,
        searched: Vec<String>,
    },
    #[error("`{}` did not report its version: {reason}", interpreter.display())]
    InterpreterVersion {
        interpreter: PathBuf,
        reason: String,
    },
    #[error("cannot describe the build host: {0}")]
    Platform(#[from] TargetError),
}

impl crate::hint::Hint for HostError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NoInterpreter { version, .. } => Some(format!("install Python {version} on the build host (`dnf install python{version}`, `apt install python{version}` or `pyenv install {version}`), or target a Python version the host has")),
            Self::InterpreterVersion { interpreter, .. } => Some(format!("check that it runs: `{} --version`", interpreter.display())),
            _ => None,
        }
    }
}

/// The machine builds run on, described for resolving build requirements.
#[derive(Clone, Debug)]
pub struct BuildHost {
    /// This machine's platform with its interpreter's full Python version.
    pub target: Target,
    /// The interpreter of the target's `X.Y` that runs build backends.
    pub interpreter: PathBuf,
}

impl BuildHost {
    /// This machine, with its interpreter of `target_python`'s `X.Y`.
    pub fn detect(target_python: &Version) -> Result<Self, HostError> {
        let started = std::time::Instant::now();
        let series = python_series(target_python);
        let interpreter = find_interpreter(series)?;
        let python = full_version(&interpreter, series)?;
        let mut target = platform::detect_with_python(python)?;
        target.python_interpreter = interpreter.display().to_string();
        tracing::debug!(
            "build host: `{}` (Python {}) in {:.2} s",
            interpreter.display(),
            target.python,
            started.elapsed().as_secs_f64()
        );
        Ok(Self {
            target,
            interpreter,
        })
    }

    pub fn tags(&self) -> Arc<Tags> {
        self.target.tags()
    }
}

/// The build host, detected on first need: a lock whose build environments
/// are all kept from the previous lock runs no interpreter to find one.
pub struct LazyBuildHost {
    target_python: Version,
    detected: std::sync::Mutex<Option<BuildHost>>,
    platform: std::sync::OnceLock<Target>,
}

impl LazyBuildHost {
    /// The build host for a target whose Python is `target_python`.
    pub fn new(target_python: &Version) -> Self {
        Self {
            target_python: target_python.clone(),
            detected: std::sync::Mutex::new(None),
            platform: std::sync::OnceLock::new(),
        }
    }

    /// The build host (detected once).
    pub fn get(&self) -> Result<BuildHost, HostError> {
        let mut detected = self
            .detected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(host) = detected.as_ref() {
            return Ok(host.clone());
        }
        let host = BuildHost::detect(&self.target_python)?;
        *detected = Some(host.clone());
        Ok(host)
    }

    /// Start looking for the interpreter on another thread, so that the
    /// search overlaps what the caller does before [`LazyBuildHost::get`].
    pub fn start_detecting(&self) {
        start_finding_interpreter(self.python_series());
    }

    /// What the build host's build requirements are resolved for: this
    /// machine's architecture and glibc with the target's Python (the
    /// host's interpreter is of the same `X.Y`). Cheap, as no interpreter
    /// runs: a lock whose hook answers are all cached looks for none.
    pub fn platform(&self) -> Result<Target, HostError> {
        if let Some(platform) = self.platform.get() {
            return Ok(platform.clone());
        }
        let platform = platform::build_platform(self.target_python.clone())?;
        Ok(self.platform.get_or_init(|| platform).clone())
    }

    /// The wheel tags of the build host's interpreter of the target's `X.Y`
    /// (of [`LazyBuildHost::platform`]).
    pub fn tags(&self) -> Result<Arc<Tags>, HostError> {
        Ok(self.platform()?.tags())
    }

    /// The `X.Y` of the build host's interpreter (the target's, by design).
    pub fn python_series(&self) -> (u64, u64) {
        python_series(&self.target_python)
    }
}

/// The full version (`3.11.7`) of the build host's interpreter, as a PEP 440 version.
fn full_version(interpreter: &Path, series: (u64, u64)) -> Result<Version, HostError> {
    let failure = |reason: String| HostError::InterpreterVersion {
        interpreter: interpreter.to_path_buf(),
        reason,
    };
    let text = crate::install::environment::interpreter_version(interpreter, series)
        .map_err(|error| failure(error.to_string()))?;
    Version::from_str(&text).map_err(|error| failure(format!("`{text}`: {error}")))
}
