//! End-to-end tests against the real index (PyPI), compared with uv.
//!
//! Input: `test-data/requirements/django-app.in`, resolved for `el9` /
//! CPython 3.11.9 / x86_64 with a fixed `--exclude-newer` cutoff so the
//! answer does not move as PyPI grows.
//! Output: pass/fail only; each test works in its own temporary project and
//! cache, so nothing outside the temp dirs is touched.
//!
//! Invariants checked:
//! - `vendor lock` picks exactly the (name, version) set that
//!   `uv pip compile` picks for the same platform (`x86_64-manylinux_2_34`
//!   is el9's glibc) and cutoff;
//! - uv reads our `pylock.toml` and would install exactly those packages;
//! - `vendor fetch` puts the bytes of at least one locked artifact of every
//!   package in the cache, hash-checked, and `vendor fetch --offline` then
//!   succeeds.
//!
//! uv comes from `VENDOR_UV`, which `scripts/test.sh` sets after installing
//! a pinned uv; without it these tests fail rather than pass vacuously.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pep440_rs::Version;
use vendor::hash::Sha256;

use crate::common::uv_binary;
use vendor::name::parse_package_name;

const EXCLUDE_NEWER: &str = "2026-11-01T00:00:00Z";
const TARGET: &str = "el9";
const PYTHON: &str = "3.11.9";
/// The uv platform equivalent to el9 on x86_64: glibc 2.34.
const UV_PLATFORM: &str = "x86_64-manylinux_2_34";

/// (PEP 503 name, version) pairs, the unit of comparison with uv.
type Pins = BTreeMap<String, Version>;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn requirements_file() -> PathBuf {
    repo_root().join("test-data/requirements/django-app.in")
}

/// A uv command isolated from the user's configuration, with its own cache,
/// trusting the OS certificate store and never downloading interpreters.
fn uv_command(cache_dir: &Path) -> Command {
    let mut command = Command::new(uv_binary());
    command
        .env("UV_CACHE_DIR", cache_dir)
        .env("UV_NO_CONFIG", "1")
        .env("UV_SYSTEM_CERTS", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_EXTRA_INDEX_URL")
        .env_remove("UV_FIND_LINKS")
        .env_remove("UV_EXCLUDE_NEWER")
        .env_remove("VIRTUAL_ENV");
    command
}

/// `vendor --project <project> --cache-dir <cache> --no-progress <args>`.
fn vendor_command(project: &Path, cache_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vendor"));
    command
        .current_dir(project)
        .env_remove("VENDOR_CACHE_DIR")
        .arg("--project")
        .arg(project)
        .arg("--cache-dir")
        .arg(cache_dir)
        .arg("--no-progress");
    command
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot start {what} ({command:?}): {error}"));
    assert!(
        output.status.success(),
        "{what} failed with {}\ncommand: {command:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    output
}

/// A project folder like a user's: `vendor.toml` naming the target, and the
/// requirements copied in. The tests still pass the flags explicitly, as the
/// issue's command line does.
fn make_project(root: &Path) -> PathBuf {
    let project = root.join("project");
    fs_err::create_dir_all(&project).unwrap();
    fs_err::copy(requirements_file(), project.join("requirements.in")).unwrap();
    fs_err::write(
        project.join("vendor.toml"),
        format!(
            "[app]\nname = \"e2e\"\nprefix = \"/opt/e2e\"\nrequirements = [\"requirements.in\"]\n\
             [target]\nname = \"{TARGET}\"\npython = \"{PYTHON}\"\n"
        ),
    )
    .unwrap();
    project
}

/// Run `vendor lock` for the test target and return the lock's path.
fn vendor_lock(project: &Path, cache_dir: &Path) -> PathBuf {
    let lock_path = project.join("pylock.toml");
    run(
        vendor_command(project, cache_dir)
            .arg("lock")
            .arg("-r")
            .arg(requirements_file())
            .args(["--target", TARGET, "--python", PYTHON])
            .args(["--exclude-newer", EXCLUDE_NEWER])
            .arg("-o")
            .arg(&lock_path),
        "vendor lock",
    );
    assert!(
        lock_path.is_file(),
        "vendor lock succeeded but wrote no `{}`",
        lock_path.display()
    );
    lock_path
}

fn read_lock(lock_path: &Path) -> toml::Table {
    let text = fs_err::read_to_string(lock_path).unwrap();
    text.parse::<toml::Table>()
        .unwrap_or_else(|error| panic!("`{}` is not TOML: {error}", lock_path.display()))
}

fn lock_packages(lock: &toml::Table) -> &Vec<toml::Value> {
    lock.get("packages")
        .and_then(toml::Value::as_array)
        .expect("pylock.toml has no `[[packages]]` array")
}

fn string_field<'a>(table: &'a toml::Value, key: &str) -> &'a str {
    table
        .get(key)
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("`{key}` missing or not a string in {table}"))
}

fn insert_pin(pins: &mut Pins, name: &str, version: &str, source: &str) {
    let name = parse_package_name(name)
        .unwrap_or_else(|error| panic!("{source}: bad package name `{name}`: {error}"));
    let version: Version = version
        .parse()
        .unwrap_or_else(|error| panic!("{source}: bad version `{version}` for `{name}`: {error}"));
    let previous = pins.insert(name.to_string(), version);
    assert!(previous.is_none(), "{source}: `{name}` appears twice");
}

fn pins_from_lock(lock: &toml::Table) -> Pins {
    let mut pins = Pins::new();
    for package in lock_packages(lock) {
        let name = string_field(package, "name");
        let version = string_field(package, "version");
        insert_pin(&mut pins, name, version, "pylock.toml");
    }
    pins
}

/// Parse `name==version` lines; `prefix` strips uv's `+ ` in install output.
fn pins_from_lines(text: &str, prefix: &str, source: &str) -> Pins {
    let mut pins = Pins::new();
    for line in text.lines().map(str::trim) {
        let Some(line) = line.strip_prefix(prefix) else {
            continue;
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, version) = line
            .split_once("==")
            .unwrap_or_else(|| panic!("{source}: unexpected line `{line}`"));
        insert_pin(&mut pins, name.trim(), version.trim(), source);
    }
    pins
}

fn uv_compile(cache_dir: &Path) -> Pins {
    let output = run(
        uv_command(cache_dir)
            .args(["pip", "compile"])
            .arg(requirements_file())
            .args(["--python-version", PYTHON, "--python-platform", UV_PLATFORM])
            .args(["--exclude-newer", EXCLUDE_NEWER])
            .args(["--no-header", "--no-annotate", "--quiet"]),
        "uv pip compile",
    );
    pins_from_lines(
        &String::from_utf8_lossy(&output.stdout),
        "",
        "uv pip compile",
    )
}

/// A readable account of how two pin sets differ; empty when they agree.
fn describe_difference(ours: &Pins, theirs: &Pins) -> String {
    let names: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let mut lines = Vec::new();
    for name in names {
        match (ours.get(name), theirs.get(name)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => lines.push(format!("  {name}: vendor {a}, uv {b}")),
            (Some(a), None) => lines.push(format!("  {name}: vendor {a}, not picked by uv")),
            (None, Some(b)) => lines.push(format!("  {name}: missing from vendor, uv {b}")),
            (None, None) => unreachable!("name came from one of the maps"),
        }
    }
    lines.join("\n")
}

fn lock_requires_python(lock: &toml::Table) -> Option<pep440_rs::VersionSpecifiers> {
    let requires_python = lock.get("requires-python").and_then(toml::Value::as_str)?;
    Some(
        requires_python
            .parse()
            .unwrap_or_else(|error| panic!("bad requires-python `{requires_python}`: {error}")),
    )
}

/// The lock uv should install from: ours as is when the venv's interpreter
/// satisfies its `requires-python` (uv checks that against a real
/// interpreter), else a copy with that one value relaxed to the target's
/// minor series, since this machine may lack CPython 3.11.9 exactly and uv
/// may not download one here.
fn lock_for_uv(
    lock_path: &Path,
    lock: &toml::Table,
    interpreter: &Version,
    work: &Path,
) -> PathBuf {
    let Some(specifiers) = lock_requires_python(lock) else {
        return lock_path.to_path_buf();
    };
    let target_python: Version = PYTHON.parse().unwrap();
    assert!(
        specifiers.contains(&target_python),
        "requires-python `{specifiers}` excludes the target Python {PYTHON}"
    );
    if specifiers.contains(interpreter) {
        return lock_path.to_path_buf();
    }
    // Edit the text, not a re-serialisation, so uv reads our exact bytes
    // except for this one value.
    let mut document: toml_edit::DocumentMut = fs_err::read_to_string(lock_path)
        .unwrap()
        .parse()
        .expect("pylock.toml parsed once already");
    document["requires-python"] = toml_edit::value(">=3.11");
    let folder = work.join("for-uv");
    fs_err::create_dir_all(&folder).unwrap();
    // uv recognises a PEP 751 lock by its file name.
    let copy = folder.join("pylock.toml");
    fs_err::write(&copy, document.to_string()).unwrap();
    copy
}

/// A fresh venv for uv to plan an install into, and its Python version.
fn make_venv(work: &Path, cache_dir: &Path) -> (PathBuf, Version) {
    let venv = work.join("venv");
    run(
        uv_command(cache_dir)
            .args(["venv", "--quiet", "--python", "3.11"])
            .arg(&venv),
        "uv venv",
    );
    let output = run(
        Command::new(venv.join("bin/python"))
            .args(["-c", "import platform; print(platform.python_version())"]),
        "the venv's python",
    );
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let version = version
        .parse()
        .unwrap_or_else(|error| panic!("the venv's python reports `{version}`: {error}"));
    (venv, version)
}

fn uv_dry_run_install(lock_for_uv: &Path, venv: &Path, cache_dir: &Path) -> Pins {
    let output = run(
        uv_command(cache_dir)
            .env("VIRTUAL_ENV", venv)
            .args([
                "pip",
                "install",
                "--dry-run",
                "--preview-features",
                "pylock",
            ])
            .arg("-r")
            .arg(lock_for_uv)
            .args(["--python-version", PYTHON, "--python-platform", UV_PLATFORM]),
        "uv pip install --dry-run -r pylock.toml",
    );
    // uv reports the plan on stderr; read both streams to be safe.
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    pins_from_lines(&text, "+ ", "uv pip install --dry-run")
}

#[test]
fn lock_matches_uv_and_uv_accepts_the_lock() {
    let uv = uv_binary();
    let temp = tempfile::tempdir().unwrap();
    let project = make_project(temp.path());

    let lock_path = vendor_lock(&project, &temp.path().join("vendor-cache"));
    let lock = read_lock(&lock_path);
    let ours = pins_from_lock(&lock);

    let uv_cache = temp.path().join("uv-cache");
    let theirs = uv_compile(&uv_cache);
    assert!(
        !theirs.is_empty(),
        "uv pip compile ({}) printed no pins",
        uv.display()
    );
    let difference = describe_difference(&ours, &theirs);
    assert!(
        difference.is_empty(),
        "vendor lock and uv pip compile disagree ({} vs {} packages):\n{difference}",
        ours.len(),
        theirs.len()
    );

    let (venv, interpreter) = make_venv(temp.path(), &uv_cache);
    let lock_for_uv = lock_for_uv(&lock_path, &lock, &interpreter, temp.path());
    let planned = uv_dry_run_install(&lock_for_uv, &venv, &uv_cache);
    let difference = describe_difference(&ours, &planned);
    assert!(
        difference.is_empty(),
        "uv would not install exactly the locked packages from our pylock.toml:\n{difference}"
    );
}

/// sha256 of every file under `folder`, whatever the cache layout.
fn digests_under(folder: &Path) -> BTreeSet<String> {
    let mut digests = BTreeSet::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs_err::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            let file_type = entry.file_type().unwrap();
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file() {
                let file = fs_err::File::open(entry.path()).unwrap();
                digests.insert(Sha256::of_reader(file).unwrap().as_str().to_string());
            }
        }
    }
    digests
}

/// The sha256 of every artifact (sdist and wheels) the lock lists for a package.
fn locked_digests(package: &toml::Value) -> Vec<String> {
    let sdist = package.get("sdist").into_iter();
    let wheels = package
        .get("wheels")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten();
    sdist
        .chain(wheels)
        .map(|artifact| {
            artifact
                .get("hashes")
                .and_then(|hashes| hashes.get("sha256"))
                .and_then(toml::Value::as_str)
                .unwrap_or_else(|| panic!("artifact without a sha256: {artifact}"))
                .to_string()
        })
        .collect()
}

#[test]
fn fetch_downloads_every_package_then_works_offline() {
    // Same precondition as the comparison test: fail loudly outside test.sh.
    uv_binary();
    let temp = tempfile::tempdir().unwrap();
    let project = make_project(temp.path());
    let cache_dir = temp.path().join("vendor-cache");

    let lock_path = vendor_lock(&project, &cache_dir);
    run(
        vendor_command(&project, &cache_dir)
            .arg("fetch")
            .arg("--lock")
            .arg(&lock_path),
        "vendor fetch",
    );

    let cached = digests_under(&cache_dir);
    let lock = read_lock(&lock_path);
    let mut missing = Vec::new();
    for package in lock_packages(&lock) {
        let digests = locked_digests(package);
        assert!(!digests.is_empty(), "no artifacts locked for {package}");
        if !digests.iter().any(|digest| cached.contains(digest)) {
            missing.push(string_field(package, "name").to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "after `vendor fetch`, the cache holds no locked artifact of: {}",
        missing.join(", ")
    );

    run(
        vendor_command(&project, &cache_dir)
            .arg("fetch")
            .arg("--lock")
            .arg(&lock_path)
            .arg("--offline"),
        "vendor fetch --offline",
    );
}
