//! The project a command works on: its folder, `vendor.toml`, the cache,
//! the progress reporter and the async runtime, built once per command.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use pep440_rs::Version;

use super::reporter::TerminalReporter;
use super::GlobalOptions;
use vendor::cache::Cache;
use vendor::config::{load_project_config, ProjectConfig};
use vendor::name::PackageName;
use vendor::progress::Reporter;
use vendor::targets::Target;

/// The target used when neither the flags nor `vendor.toml` name one.
const DEFAULT_TARGET: &str = "el9";

pub struct Project {
    pub dir: PathBuf,
    pub config: Option<ProjectConfig>,
    cache_dir: PathBuf,
    pub quiet: bool,
    show_progress: bool,
}

impl Project {
    pub fn open(global: &GlobalOptions) -> anyhow::Result<Self> {
        let dir = match &global.project {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().context("cannot read the current folder")?,
        };
        if !dir.is_dir() {
            return Err(super::UsageError::with_hint(
                format!("the project folder `{}` does not exist", dir.display()),
                "pass an existing folder to `--project`",
            )
            .into());
        }
        let config = load_project_config(&dir)?;
        if std::env::var_os(vendor::sandbox::NO_SANDBOX_VARIABLE)
            .is_some_and(|value| !value.is_empty() && value != "0")
        {
            eprintln!(
                "warning: `{}` is set: sdists' build code and verification imports run unconfined (they can reach the network and write anywhere)",
                vendor::sandbox::NO_SANDBOX_VARIABLE
            );
        }
        Ok(Self {
            cache_dir: global.cache_dir.clone().unwrap_or_else(Cache::default_root),
            config,
            quiet: global.quiet,
            show_progress: !global.no_progress && !global.quiet,
            dir,
        })
    }

    /// Resolve a path given relative to the project folder.
    pub fn path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }

    pub fn cache(&self) -> anyhow::Result<Cache> {
        Ok(Cache::open(&self.cache_dir)?)
    }

    pub fn reporter(&self) -> Arc<TerminalReporter> {
        Arc::new(TerminalReporter::new(self.show_progress, self.quiet))
    }

    pub fn runtime(&self) -> anyhow::Result<CommandRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(CommandRuntime(Some(runtime)))
    }

    /// `vendor.toml`'s `[build] from-source` (empty without one).
    pub fn configured_from_source(&self) -> BTreeSet<PackageName> {
        self.config
            .as_ref()
            .map(|config| config.build.from_source.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The target from the flag, else `vendor.toml`, else the default; the
    /// Python likewise, else the target's default.
    pub fn target(&self, name: Option<&str>, python: Option<&Version>) -> anyhow::Result<Target> {
        let configured = self.config.as_ref().map(|config| &config.target);
        let name = name
            .map(str::to_string)
            .or_else(|| configured.and_then(|target| target.name.clone()))
            .unwrap_or_else(|| DEFAULT_TARGET.to_string());
        let target = if name == "host" {
            vendor::host::platform::detect()?
        } else {
            Target::load(&name, Some(&self.dir))?
        };
        let python = python
            .cloned()
            .or_else(|| configured.and_then(|target| target.python.clone()));
        Ok(match python {
            Some(python) => target.with_python(python)?,
            None => target,
        })
    }

    /// The lock file path: the flag, else `pylock.toml` in the project.
    pub fn lock_path(&self, flag: Option<&Path>) -> PathBuf {
        self.path(flag.unwrap_or(Path::new("pylock.toml")))
    }

    /// `Some(reporter)` as a trait object for library calls.
    pub fn dyn_reporter(reporter: &Arc<TerminalReporter>) -> Arc<dyn Reporter> {
        reporter.clone()
    }
}

/// The async runtime of one command. Dropping it does not wait for
/// leftover background work: an unneeded prefetch can be stuck in a
/// blocking DNS lookup (glibc retries a lost reply after 5 s), and the
/// command's result is already complete by then.
pub struct CommandRuntime(Option<tokio::runtime::Runtime>);

impl std::ops::Deref for CommandRuntime {
    type Target = tokio::runtime::Runtime;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("the runtime lives until drop")
    }
}

impl Drop for CommandRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
