//! Dynamic checks: imports and probes in a scratch environment.
//!
//! Input: a [`PythonEnvironment`] that already holds the wheels to check and
//! their locked runtime dependencies (the caller installs them; one
//! environment can hold a whole locked set, since a lock has one version of
//! each package), and the [`InspectedWheel`]s. Output: one [`VerifyReport`]
//! per wheel, its static outcomes first.
//!
//! Invariants:
//! - each package's imports and probes run in one fresh `python -I -B`
//!   process through the embedded `shim.py` (JSON request file in, JSON
//!   result file out), with an empty working directory, so one package's
//!   imports cannot hide another's failures and nothing from the host's
//!   site-packages, `PYTHONPATH`, `LD_LIBRARY_PATH` or `LD_PRELOAD` is seen;
//!   `-B` keeps processes running side by side in one environment from
//!   writing byte-code into it;
//! - a process that runs past the timeout is killed and the check it was
//!   running fails as timed out; a process that dies fails the running
//!   check with its exit status and the end of its stderr; checks that
//!   never ran fail as not run. Nothing here waits without a bound (only
//!   the `python` process is killed: a subprocess it started and left
//!   running is not waited for either).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt;

use super::inspect::InspectedWheel;
use super::report::{CheckKind, CheckOutcome, VerifyReport};
use super::VerifyError;
use crate::install::environment::PythonEnvironment;
use crate::sandbox::Confinement;

/// The shim every package's checks run through.
const SHIM: &str = include_str!("shim.py");
/// How much of a dead process's stderr a failure shows.
const STDERR_TAIL_LINES: usize = 15;

/// How the dynamic checks run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// The most one package's imports and probes may take together.
    pub timeout: Duration,
    /// Variables the checks run with (the app's service environment, for
    /// the app's own package); nothing else of the caller's environment
    /// that would change what imports do reaches them.
    pub environment: Vec<(String, String)>,
    /// Folders the checks must not see (the cache, but for the installed
    /// trees the environment links in); see [`crate::sandbox::Confinement`].
    pub hidden: Vec<PathBuf>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            environment: Vec::new(),
            hidden: Vec::new(),
        }
    }
}

/// Imports every module and runs every probe of each wheel in `environment`
/// (one process per wheel), returning full reports in the same order.
pub fn run_checks(
    environment: &PythonEnvironment,
    wheels: &[&InspectedWheel],
    options: &CheckOptions,
) -> Result<Vec<VerifyReport>, VerifyError> {
    wheels
        .iter()
        .map(|wheel| {
            let dynamic = run_package_checks(environment, wheel, options)?;
            let mut checks = wheel.checks.clone();
            checks.extend(dynamic);
            Ok(VerifyReport {
                package: wheel.name.clone(),
                version: wheel.version.clone(),
                checks,
                wheel: wheel.path.clone(),
            })
        })
        .collect()
}

/// What the shim is asked to do.
#[derive(Serialize)]
struct Request<'a> {
    result: &'a Path,
    checks: Vec<RequestedCheck<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum RequestedCheck<'a> {
    Import { name: &'a str },
    Probe { name: &'a str, code: &'a str },
}

/// What the shim wrote, possibly before it was stopped.
#[derive(Deserialize, Default)]
struct ShimResult {
    results: Vec<ShimOutcome>,
    running: Option<usize>,
}

#[derive(Deserialize)]
struct ShimOutcome {
    index: usize,
    passed: bool,
    detail: String,
}

/// How the process ended.
enum Ending {
    Exited(std::process::ExitStatus),
    TimedOut,
}

/// Runs the imports and probes of one wheel with `python`.
fn run_package_checks(
    environment: &PythonEnvironment,
    wheel: &InspectedWheel,
    options: &CheckOptions,
) -> Result<Vec<CheckOutcome>, VerifyError> {
    let mut checks: Vec<RequestedCheck> = wheel
        .imports
        .iter()
        .map(|module| RequestedCheck::Import { name: module })
        .collect();
    checks.extend(
        wheel
            .settings
            .probes
            .iter()
            .map(|probe| RequestedCheck::Probe {
                name: &probe.name,
                code: &probe.code,
            }),
    );
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let scratch = tempfile::Builder::new()
        .prefix("vendor-verify-")
        .tempdir()
        .map_err(VerifyError::Io)?;
    let write = |name: &str, contents: &[u8]| {
        let path = scratch.path().join(name);
        fs_err::write(&path, contents).map_err(VerifyError::Io)?;
        Ok::<_, VerifyError>(path)
    };
    let result_path = scratch.path().join("result.json");
    let request = Request {
        result: &result_path,
        checks,
    };
    let request_json =
        serde_json::to_vec(&request).map_err(|error| VerifyError::Io(error.into()))?;
    let request_path = write("request.json", &request_json)?;
    let shim_path = write("shim.py", SHIM.as_bytes())?;
    let stdout_path = scratch.path().join("stdout.log");
    let stderr_path = scratch.path().join("stderr.log");
    let python = &environment.python();
    // Imports and probes run confined: no network, writes only to their
    // scratch folder.
    let confinement = Confinement {
        writable: vec![scratch.path().to_path_buf()],
        readable: [environment.root()]
            .into_iter()
            .chain(environment.reads().iter().map(PathBuf::as_path))
            .map(Path::to_path_buf)
            .collect(),
        hidden: options.hidden.clone(),
        network: false,
    };
    let ending = run_with_timeout(
        crate::sandbox::sandbox()?
            .command(python, &confinement)
            .args(["-I", "-B"])
            // Servers will not have the build host's library overrides.
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LD_PRELOAD")
            .env_remove("DJANGO_SETTINGS_MODULE")
            .envs(
                options
                    .environment
                    .iter()
                    .map(|(name, value)| (name, value)),
            )
            .arg(&shim_path)
            .arg(&request_path)
            .current_dir(scratch.path())
            .stdin(Stdio::null())
            .stdout(create_log(&stdout_path)?)
            .stderr(create_log(&stderr_path)?),
        options.timeout,
        python,
    )?;
    let result: ShimResult = fs_err::read(&result_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let stderr = fs_err::read_to_string(&stderr_path).unwrap_or_default();
    Ok(outcomes(
        wheel,
        &request.checks,
        result,
        ending,
        &stderr,
        options,
    ))
}

fn create_log(path: &Path) -> Result<std::fs::File, VerifyError> {
    std::fs::File::create(path).map_err(|source| VerifyError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn run_with_timeout(
    command: &mut Command,
    timeout: Duration,
    python: &Path,
) -> Result<Ending, VerifyError> {
    let spawn_error = |source| VerifyError::Python {
        python: python.to_path_buf(),
        source,
    };
    let mut child = command.spawn().map_err(spawn_error)?;
    match child.wait_timeout(timeout).map_err(spawn_error)? {
        Some(status) => Ok(Ending::Exited(status)),
        None => {
            // Already exited between the timeout and now is fine too.
            let _ = child.kill();
            child.wait().map_err(spawn_error)?;
            Ok(Ending::TimedOut)
        }
    }
}

/// One outcome per requested check, in request order.
fn outcomes(
    wheel: &InspectedWheel,
    checks: &[RequestedCheck],
    result: ShimResult,
    ending: Ending,
    stderr: &str,
    options: &CheckOptions,
) -> Vec<CheckOutcome> {
    let mut ran: Vec<Option<ShimOutcome>> = checks.iter().map(|_| None).collect();
    for outcome in result.results {
        if let Some(slot) = ran.get_mut(outcome.index) {
            *slot = Some(outcome);
        }
    }
    let stopped = match &ending {
        Ending::TimedOut => format!("timed out after {} s", options.timeout.as_secs_f64()),
        Ending::Exited(status) => format!("python exited with {status}{}", tail(stderr)),
    };
    checks
        .iter()
        .zip(ran)
        .enumerate()
        .map(|(index, (check, outcome))| {
            let (kind, explanation, hint) = describe(wheel, check);
            match outcome {
                Some(outcome) if outcome.passed => CheckOutcome::passed(kind, outcome.detail),
                Some(outcome) => CheckOutcome::failed(kind, outcome.detail, explanation, hint),
                None => {
                    let detail = match result.running {
                        Some(running) if running == index => stopped.clone(),
                        Some(_) => format!("not run: an earlier check of this package {stopped}"),
                        // The shim never got going (or its result is unreadable).
                        None => format!("the checks could not run: {stopped}"),
                    };
                    CheckOutcome::failed(kind, detail, explanation, hint)
                }
            }
        })
        .collect()
}

/// The outcome kind, explanation and hint of a requested check.
fn describe(
    wheel: &InspectedWheel,
    check: &RequestedCheck,
) -> (CheckKind, Option<String>, Option<String>) {
    match check {
        RequestedCheck::Import { name } => (
            CheckKind::Import {
                module: name.to_string(),
            },
            None,
            wheel.build_hint.clone(),
        ),
        RequestedCheck::Probe { name, .. } => {
            let probe = wheel
                .settings
                .probes
                .iter()
                .find(|probe| probe.name == *name);
            (
                CheckKind::Probe {
                    name: name.to_string(),
                },
                probe.map(|probe| probe.explanation.clone()),
                probe
                    .and_then(|probe| probe.hint.clone())
                    .or_else(|| wheel.build_hint.clone()),
            )
        }
    }
}

/// The last lines of a dead process's stderr, on their own lines.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    format!("; its stderr ends with:\n{}", lines[start..].join("\n"))
}
