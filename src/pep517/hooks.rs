//! Calling a PEP 517 backend's hooks in an isolated build environment.
//!
//! Input: a [`SourceTree`], the package policy's [`BuildSettings`] and the
//! wheels of the locked build requirements. Output: the requirements the
//! backend asks for, or a built wheel.
//!
//! Invariants:
//! - each hook runs in a fresh `python -I` process (the environment's own
//!   interpreter, so only its site-packages are visible), with the source
//!   tree as working directory and the in-tree `backend-path` first on
//!   `sys.path`; the embedded shim (`shim.py`) returns the hook's answer
//!   through a JSON file, never through stdout;
//! - the environment is rebuilt from scratch: only a short list of host
//!   variables that compilers need survives, `SOURCE_DATE_EPOCH` is set, and
//!   the policy's variables are applied last;
//! - everything the backend prints goes to the package's log file; a failure
//!   reports the log's last lines, its path and the policy's hint.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;

use pep508_rs::Requirement;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{io_error, BuildError};
use super::sdist::SourceTree;
use crate::cache::Cache;
use crate::excerpt::excerpt;
use crate::filename::WheelFilename;
use crate::install::environment::PythonEnvironment;
use crate::install::InstallError;
use crate::policy::model::{BuildSettings, OneOrMany};
use crate::requirement_text::parse_requirement;
use crate::sandbox::Confinement;

const SHIM: &str = include_str!("shim.py");

/// How many lines of the log a failure shows.
const TAIL_LINES: usize = 25;

/// 1980-01-01, the earliest time a zip file (a wheel) can record.
pub const DEFAULT_SOURCE_DATE_EPOCH: u64 = 315_532_800;

/// Host variables a build may need (compilers, pkg-config, locale;
/// `HOME` for tools that keep their settings there, `LD_LIBRARY_PATH` for
/// interpreters that find `libpython` through it); everything else
/// (PYTHONPATH, PIP_*, virtualenv leftovers) is dropped.
const KEPT_VARIABLES: &[&str] = &[
    "PATH",
    "HOME",
    "LD_LIBRARY_PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "CC",
    "CXX",
    "CPP",
    "LD",
    "AR",
    "CFLAGS",
    "CXXFLAGS",
    "CPPFLAGS",
    "LDFLAGS",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "LIBRARY_PATH",
    "PKG_CONFIG",
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_LIBDIR",
    "PKG_CONFIG_SYSROOT_DIR",
];

/// An isolated environment holding a package's build requirements.
#[derive(Debug)]
pub struct BuildEnvironment {
    environment: PythonEnvironment,
    shim: PathBuf,
    source_date_epoch: u64,
    /// Folders the hooks must not see (the cache its requirements are
    /// linked from, but for those requirements' trees).
    hidden: Vec<PathBuf>,
}

/// The shim's answer.
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum Answer {
    Ok { value: Value },
    MissingHook,
    Error {},
}

impl BuildEnvironment {
    /// A fresh environment at `dir` with `requirement_wheels` installed
    /// into it (their hashes already checked by the cache), for callers
    /// without a cache; [`Self::create_linked`] is what `vendor lock` and
    /// `vendor build` use.
    pub fn create(
        interpreter: &Path,
        python_version: (u64, u64),
        requirement_wheels: &[PathBuf],
        dir: &Path,
    ) -> Result<Self, BuildError> {
        Self::create_with(interpreter, python_version, dir, |environment| {
            environment.install_wheels(requirement_wheels)
        })
    }

    /// A fresh environment at `dir` seeing `requirement_wheels` installed
    /// once into `cache` and linked in (see
    /// [`PythonEnvironment::link_cached_wheels`]), so the next environment
    /// with the same requirements (the next hook of a lock, the next build)
    /// neither copies them nor compiles their byte-code again.
    pub fn create_linked(
        interpreter: &Path,
        python_version: (u64, u64),
        requirement_wheels: &[PathBuf],
        dir: &Path,
        cache: &Cache,
    ) -> Result<Self, BuildError> {
        let mut created = Self::create_with(interpreter, python_version, dir, |environment| {
            environment.link_cached_wheels(cache, requirement_wheels)
        })?;
        created.hidden.push(cache.root().to_path_buf());
        Ok(created)
    }

    fn create_with(
        interpreter: &Path,
        python_version: (u64, u64),
        dir: &Path,
        add_requirements: impl FnOnce(&mut PythonEnvironment) -> Result<(), InstallError>,
    ) -> Result<Self, BuildError> {
        let failed = |source| BuildError::Environment {
            path: dir.to_path_buf(),
            source: Box::new(source),
        };
        let mut environment =
            PythonEnvironment::create(interpreter, python_version, dir).map_err(failed)?;
        add_requirements(&mut environment).map_err(failed)?;
        let shim = environment.root().join("vendor-pep517-shim.py");
        fs::write(&shim, SHIM).map_err(io_error("write", &shim))?;
        Ok(Self {
            environment,
            shim,
            source_date_epoch: DEFAULT_SOURCE_DATE_EPOCH,
            hidden: Vec::new(),
        })
    }

    /// Use `epoch` as `SOURCE_DATE_EPOCH` (timestamps in the built wheel).
    pub fn with_source_date_epoch(mut self, epoch: u64) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    pub fn environment(&self) -> &PythonEnvironment {
        &self.environment
    }

    /// `get_requires_for_build_wheel`: what the backend needs besides
    /// `[build-system].requires` (none when it lacks the hook).
    pub fn requires_for_build_wheel(
        &self,
        tree: &SourceTree,
        settings: &BuildSettings,
        log: &Path,
    ) -> Result<Vec<Requirement>, BuildError> {
        let hook = "get_requires_for_build_wheel";
        let arguments = json!([config_settings(settings)]);
        let value = match self.call(tree, settings, log, hook, arguments, None)? {
            None => return Ok(Vec::new()),
            Some(value) => value,
        };
        let protocol = |reason: String| protocol_error(tree, hook, log, reason);
        let items = value
            .as_array()
            .ok_or_else(|| protocol(format!("it returned `{value}`, not a list of strings")))?;
        items
            .iter()
            .map(|item| {
                let text = item
                    .as_str()
                    .ok_or_else(|| protocol(format!("it returned `{item}` in its list")))?;
                parse_requirement(text, None).map_err(|error| {
                    let (text, error) = (excerpt(text), excerpt(&error.to_string()));
                    protocol(format!(
                        "it asked for `{text}`, which is not a PEP 508 requirement: {error}"
                    ))
                })
            })
            .collect()
    }

    /// `prepare_metadata_for_build_wheel` into `out_dir`: the path of the
    /// `.dist-info` folder it made, or `None` when the backend lacks the
    /// hook (then only [`Self::build_wheel`] tells the metadata). Backends
    /// answer it without compiling anything: the way pip and uv learn an
    /// sdist's dependencies.
    pub fn prepare_metadata_for_build_wheel(
        &self,
        tree: &SourceTree,
        settings: &BuildSettings,
        out_dir: &Path,
        log: &Path,
    ) -> Result<Option<PathBuf>, BuildError> {
        let hook = "prepare_metadata_for_build_wheel";
        let out_dir = &prepared_out_dir(out_dir)?;
        let arguments = json!([out_dir, config_settings(settings)]);
        let protocol = |reason: String| protocol_error(tree, hook, log, reason);
        let Some(value) = self.call(tree, settings, log, hook, arguments, Some(out_dir))? else {
            return Ok(None);
        };
        let name = value
            .as_str()
            .ok_or_else(|| protocol(format!("it returned `{value}`, not a folder name")))?;
        let dist_info = out_dir.join(name);
        if !name.ends_with(".dist-info") || name.contains('/') || !dist_info.is_dir() {
            return Err(protocol(format!(
                "it returned `{}`, but `{}` holds no such `.dist-info` folder",
                excerpt(name),
                out_dir.display()
            )));
        }
        Ok(Some(dist_info))
    }

    /// `build_wheel` into `out_dir`; the path of the wheel it made.
    pub fn build_wheel(
        &self,
        tree: &SourceTree,
        settings: &BuildSettings,
        out_dir: &Path,
        log: &Path,
    ) -> Result<PathBuf, BuildError> {
        let hook = "build_wheel";
        let out_dir = &prepared_out_dir(out_dir)?;
        let arguments = json!([out_dir, config_settings(settings)]);
        let protocol = |reason: String| protocol_error(tree, hook, log, reason);
        let value = self
            .call(tree, settings, log, hook, arguments, Some(out_dir))?
            .ok_or_else(|| protocol("the backend has no `build_wheel` hook".into()))?;
        let name = value
            .as_str()
            .ok_or_else(|| protocol(format!("it returned `{value}`, not a file name")))?;
        WheelFilename::from_str(name).map_err(|error| {
            protocol(format!(
                "it returned `{name}`, which is not a wheel file name: {}",
                error.reason
            ))
        })?;
        let wheel = out_dir.join(name);
        if name.contains('/') || !wheel.is_file() {
            return Err(protocol(format!(
                "it returned `{name}`, but `{}` holds no such file",
                out_dir.display()
            )));
        }
        Ok(wheel)
    }

    /// Run `hook` through the shim, confined (see [`crate::sandbox`]) to
    /// writing the source tree, the environment and `out_dir`; `None` when
    /// the backend lacks the hook.
    fn call(
        &self,
        tree: &SourceTree,
        settings: &BuildSettings,
        log: &Path,
        hook: &str,
        arguments: Value,
        out_dir: Option<&Path>,
    ) -> Result<Option<Value>, BuildError> {
        let sandbox = crate::sandbox::sandbox()?;
        let exchange = tempfile::Builder::new()
            .prefix(&format!(".{hook}-"))
            .tempdir_in(self.environment.root())
            .map_err(io_error("create a directory in", self.environment.root()))?;
        let request_path = exchange.path().join("request.json");
        let result_path = exchange.path().join("result.json");
        let backend_path: Vec<PathBuf> = tree
            .build_system
            .backend_path
            .iter()
            .map(|path| {
                std::path::absolute(tree.root.join(path)).unwrap_or_else(|_| tree.root.join(path))
            })
            .collect();
        let request = json!({
            "backend": tree.build_system.backend,
            "backend_path": backend_path,
            "hook": hook,
            "arguments": arguments,
            "result": result_path,
        });
        fs::write(&request_path, request.to_string()).map_err(io_error("write", &request_path))?;

        let mut log_file = open_log(log)?;
        writeln!(
            log_file,
            "==> vendor: {hook} of `{}` (backend `{}`)",
            tree.sdist, tree.build_system.backend
        )
        .map_err(io_error("write", log))?;
        let stderr = log_file.try_clone().map_err(io_error("write", log))?;
        let started = std::time::Instant::now();
        let confinement = Confinement {
            writable: [tree.root.as_path(), self.environment.root()]
                .into_iter()
                .chain(out_dir)
                .map(Path::to_path_buf)
                .collect(),
            readable: self.environment.reads().to_vec(),
            hidden: self.hidden.clone(),
            network: settings.network,
        };
        let status = sandbox
            .command(&self.environment.python(), &confinement)
            .arg("-I")
            .arg(&self.shim)
            .arg(&request_path)
            .current_dir(&tree.root)
            .env_clear()
            .envs(self.variables(settings))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .status()
            .map_err(io_error("run", self.environment.python()))?;
        tracing::info!(
            "{hook} of `{}`: {status} after {:.2} s",
            tree.sdist,
            started.elapsed().as_secs_f64()
        );

        let failed = || {
            let tail = read_tail(log, TAIL_LINES);
            let hint = if !settings.network && tried_the_network(&tail) {
                Some(format!(
                    "the build of `{}` tried to reach the network, which builds may not: every input must be in the lock (its build requirements); if this package cannot build without downloading, its policy can allow it with `[build] network = true` (then `vendor verify` says the build was not offline)",
                    tree.sdist
                ))
            } else {
                settings.hint.clone()
            };
            BuildError::BackendFailed {
                package: tree.sdist.clone(),
                hook: hook.to_string(),
                log_path: log.to_path_buf(),
                tail,
                hint,
            }
        };
        let answer = match fs::read(&result_path) {
            Ok(bytes) => serde_json::from_slice::<Answer>(&bytes).map_err(|error| {
                protocol_error(
                    tree,
                    hook,
                    log,
                    format!("the shim's answer is unreadable: {error}"),
                )
            })?,
            // The interpreter died before answering (killed, crashed).
            Err(_) => return Err(failed()),
        };
        match answer {
            Answer::Ok { value } if status.success() => Ok(Some(value)),
            Answer::MissingHook if status.success() => Ok(None),
            _ => Err(failed()),
        }
    }

    /// The variables a hook runs with.
    fn variables(&self, settings: &BuildSettings) -> Vec<(OsString, OsString)> {
        let mut variables: Vec<(OsString, OsString)> = KEPT_VARIABLES
            .iter()
            .filter_map(|name| Some((OsString::from(name), std::env::var_os(name)?)))
            .collect();
        // Console scripts of build requirements (cython, ninja) must be found.
        let bin = self.environment.root().join("bin");
        let path = match std::env::var_os("PATH") {
            Some(host) => {
                let mut joined = bin.into_os_string();
                joined.push(":");
                joined.push(host);
                joined
            }
            None => bin.into_os_string(),
        };
        variables.retain(|(name, _)| name != "PATH");
        variables.push(("PATH".into(), path));
        variables.push((
            "VIRTUAL_ENV".into(),
            self.environment.root().as_os_str().to_owned(),
        ));
        variables.push((
            "SOURCE_DATE_EPOCH".into(),
            self.source_date_epoch.to_string().into(),
        ));
        variables.push(("PYTHONHASHSEED".into(), "0".into()));
        // The sandbox's private /tmp, whatever the caller's TMPDIR.
        variables.push(("TMPDIR".into(), "/tmp".into()));
        for (name, value) in &settings.env {
            variables.push((name.into(), value.into()));
        }
        variables
    }
}

/// `out_dir` created and made absolute: the backend runs in the source
/// tree, where a relative folder would name another place.
fn prepared_out_dir(out_dir: &Path) -> Result<PathBuf, BuildError> {
    fs::create_dir_all(out_dir).map_err(io_error("create", out_dir))?;
    fs::canonicalize(out_dir).map_err(io_error("resolve", out_dir))
}

/// Whether a failed hook's log ends in a failed network access (the
/// sandbox has no network: name resolution and connections fail).
fn tried_the_network(tail: &str) -> bool {
    const SIGNS: [&str; 6] = [
        "Temporary failure in name resolution",
        "Name or service not known",
        "Network is unreachable",
        "[Errno -3]",
        "[Errno 101]",
        "Could not resolve host",
    ];
    SIGNS.iter().any(|sign| tail.contains(sign))
}

fn protocol_error(tree: &SourceTree, hook: &str, log: &Path, reason: String) -> BuildError {
    BuildError::Protocol {
        package: tree.sdist.clone(),
        hook: hook.to_string(),
        reason,
        log_path: log.to_path_buf(),
    }
}

/// PEP 517 `config_settings`: `None` when the policy sets none.
fn config_settings(settings: &BuildSettings) -> Value {
    if settings.config_settings.is_empty() {
        return Value::Null;
    }
    settings
        .config_settings
        .iter()
        .map(|(key, value)| {
            let value = match value {
                OneOrMany::One(one) => json!(one),
                OneOrMany::Many(many) => json!(many),
            };
            (key.clone(), value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn open_log(log: &Path) -> Result<File, BuildError> {
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent).map_err(io_error("create", parent))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io_error("write", log))
}

/// The last `lines` lines of the file at `path` (at most its last 64 KiB).
pub(super) fn read_tail(path: &Path, lines: usize) -> String {
    const WINDOW: u64 = 64 * 1024;
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let length = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(WINDOW)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
