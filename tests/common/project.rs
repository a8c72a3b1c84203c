//! A throw-away project folder and the real `vendor` binary run inside it.
//!
//! Input: requirements text and command-line arguments. Output: [`Outcome`]
//! (exit code, stdout, stderr) and the produced `pylock.toml` ([`PyLock`]).
//!
//! Invariants: every run is isolated — its own project folder, cache folder
//! and `HOME` (so no user netrc or config leaks in), no proxy variables
//! (loopback must be reached directly), `--no-progress`, and a time limit so
//! a hanging command fails its test instead of the whole run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::index_server::TestIndex;
use super::pylock::PyLock;

/// The target every hermetic test locks for unless it says otherwise.
pub const TARGET: &str = "el9";
pub const PYTHON: &str = "3.11.9";

const TIME_LIMIT: Duration = Duration::from_secs(180);

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Outcome {
    pub args: Vec<String>,
    /// `None` when killed (time limit or signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Everything the user saw.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    fn describe(&self) -> String {
        format!(
            "vendor {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "expected success\n{}", self.describe());
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}\n{}",
            self.describe()
        );
        self
    }

    /// Each needle must appear in stdout or stderr (case-insensitive).
    #[track_caller]
    pub fn assert_mentions(&self, needles: &[&str]) -> &Self {
        let output = self.output().to_lowercase();
        for needle in needles {
            assert!(
                output.contains(&needle.to_lowercase()),
                "expected the output to mention `{needle}`\n{}",
                self.describe()
            );
        }
        self
    }

    /// The error's hint is its one `hint:` line, and the last line of
    /// stderr (docs/architecture.md, errors), and it mentions `needle`.
    #[track_caller]
    pub fn assert_hint_last(&self, needle: &str) -> &Self {
        let last = self.stderr.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("hint: ") && last.contains(needle),
            "expected the last line to be a hint mentioning `{needle}`\n{}",
            self.describe()
        );
        assert_eq!(
            self.stderr.matches("hint:").count(),
            1,
            "expected one hint\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn assert_not_mentions(&self, needle: &str) -> &Self {
        assert!(
            !self.output().contains(needle),
            "the output must not contain `{needle}`\n{}",
            self.describe()
        );
        self
    }
}

/// A project folder with its own cache and home.
pub struct Project {
    root: tempfile::TempDir,
    cache_dir: PathBuf,
    caches_made: usize,
    home: PathBuf,
    environment: Vec<(String, String)>,
    time_limit: Duration,
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    pub fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// A project (and its cache) in a new folder under `parent`: for tests
    /// that need it outside `/tmp` and `/dev/shm`, which the sandbox
    /// replaces with its own.
    pub fn new_in(parent: &Path) -> Self {
        std::fs::create_dir_all(parent).expect("project parent dir");
        let root = tempfile::Builder::new()
            .prefix("vendor-project-")
            .tempdir_in(parent)
            .expect("project temp dir");
        let cache_dir = root.path().join(".test-cache/cache-1");
        let home = root.path().join(".test-home");
        std::fs::create_dir_all(&home).expect("home dir");
        Self {
            root,
            cache_dir,
            caches_made: 1,
            home,
            environment: Vec::new(),
            time_limit: TIME_LIMIT,
        }
    }

    /// Write `requirements.in`.
    pub fn requirements(self, text: &str) -> Self {
        self.write("requirements.in", text);
        self
    }

    /// Write a file relative to the project folder (parents created).
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, text).expect("write project file");
        path
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn file(&self, relative: &str) -> PathBuf {
        self.path().join(relative)
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Switch to a new, empty cache folder (the old one stays on disk).
    pub fn use_fresh_cache(&mut self) -> PathBuf {
        self.caches_made += 1;
        self.cache_dir = self
            .path()
            .join(format!(".test-cache/cache-{}", self.caches_made));
        self.cache_dir.clone()
    }

    /// An extra environment variable for every later run.
    pub fn set_env(&mut self, name: &str, value: &str) -> &mut Self {
        self.environment.push((name.to_string(), value.to_string()));
        self
    }

    /// A longer time limit for every later run (native builds on a loaded
    /// machine take minutes).
    pub fn set_time_limit(&mut self, limit: Duration) -> &mut Self {
        self.time_limit = limit;
        self
    }

    /// Run `vendor <global options> <args>` in the project folder.
    pub fn run(&self, args: &[&str]) -> Outcome {
        let (command, full_args) = self.command(args);
        let output = assert_cmd::Command::from_std(command)
            .timeout(self.time_limit)
            .output()
            .expect("run the vendor binary");
        Outcome {
            args: full_args,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `vendor <global options> <args>` in the project folder, not started
    /// (for tests that interrupt it), and its full argument list.
    pub fn command(&self, args: &[&str]) -> (std::process::Command, Vec<String>) {
        let cache_dir = self.cache_dir.to_string_lossy().into_owned();
        let project = self.path().to_string_lossy().into_owned();
        let mut full_args: Vec<String> = vec![
            "--project".into(),
            project,
            "--cache-dir".into(),
            cache_dir.clone(),
            "--no-progress".into(),
        ];
        full_args.extend(args.iter().map(|arg| arg.to_string()));
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vendor"));
        command
            .args(&full_args)
            .current_dir(self.path())
            .env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("VENDOR_CACHE_DIR", &cache_dir)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("NO_COLOR", "1")
            .env_remove("NETRC")
            .env_remove("RUST_LOG");
        for variable in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            command.env_remove(variable);
        }
        for (name, value) in &self.environment {
            command.env(name, value);
        }
        (command, full_args)
    }

    /// `vendor lock -r requirements.in` for el9 / 3.11.9 against `index`.
    pub fn lock(&self, index: &TestIndex) -> Outcome {
        self.lock_with(index, &[])
    }

    /// [`Self::lock`] with more arguments.
    pub fn lock_with(&self, index: &TestIndex, extra: &[&str]) -> Outcome {
        self.lock_command(Some(&index.url()), PYTHON, extra)
    }

    /// [`Self::lock`] for another full Python version of the same target.
    pub fn lock_for_python(&self, index: &TestIndex, python: &str, extra: &[&str]) -> Outcome {
        self.lock_command(Some(&index.url()), python, extra)
    }

    /// `vendor lock` against any index URL (e.g. one with credentials), or
    /// without `--index-url` when `None`.
    pub fn lock_command(&self, index_url: Option<&str>, python: &str, extra: &[&str]) -> Outcome {
        let args = lock_arguments(index_url, python, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args)
    }

    /// `vendor fetch` of `pylock.toml`.
    pub fn fetch(&self) -> Outcome {
        self.fetch_with(&[])
    }

    pub fn fetch_with(&self, extra: &[&str]) -> Outcome {
        let mut args = vec!["fetch"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// The parsed `pylock.toml` of the project folder.
    #[track_caller]
    pub fn pylock(&self) -> PyLock {
        self.pylock_at("pylock.toml")
    }

    #[track_caller]
    pub fn pylock_at(&self, relative: &str) -> PyLock {
        PyLock::read(&self.file(relative))
    }

    /// Every file under the cache's `artifacts/` tree whose name is `filename`.
    pub fn cached_artifacts(&self, filename: &str) -> Vec<PathBuf> {
        files_under(&self.cache_dir.join("artifacts"))
            .into_iter()
            .filter(|path| path.file_name().is_some_and(|name| name == filename))
            .collect()
    }

    /// Where the cache keeps an artifact with this digest (docs/architecture.md, the cache).
    pub fn artifact_path(&self, sha256: &str, filename: &str) -> PathBuf {
        self.cache_dir
            .join("artifacts/sha256")
            .join(&sha256[..2])
            .join(&sha256[2..])
            .join(filename)
    }

    /// Files left in the cache's `tmp/` folder.
    pub fn cache_temp_files(&self) -> Vec<PathBuf> {
        files_under(&self.cache_dir.join("tmp"))
    }
}

/// Every regular file below `root`, sorted; empty when `root` is missing.
/// The arguments of [`Project::lock_command`], for tests that start it
/// themselves.
pub fn lock_arguments(index_url: Option<&str>, python: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "lock",
        "-r",
        "requirements.in",
        "--target",
        TARGET,
        "--python",
        python,
    ];
    if let Some(index_url) = index_url {
        args.extend(["--index-url", index_url]);
    }
    args.extend_from_slice(extra);
    args.into_iter().map(String::from).collect()
}

pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
