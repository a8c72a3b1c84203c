//! Hermetic tests of locked build requirements: `vendor lock` pins the
//! build environment of every package built from source (for this host,
//! wheels only, with sha256) under `[tool.vendor]`, keeps the pins on
//! relock, and `vendor fetch` downloads them. The real binary runs against
//! the loopback index of `tests/common/`; the fixture sdists carry the
//! in-tree backend of `tests/common/fixture_backend.py`, whose
//! `get_requires_for_build_wheel` answers what the scenario says.

use crate::common;

use common::{uv_binary, Project, PyLock, Scenario, TestIndex};

/// `nativepkg` (sdist only) needs `buildtool<2` to build and its backend
/// asks for `backendhelper`; `othernative` needs `buildtool>=2`, which
/// brings `buildtool-dep`. `needs-sdist-tool` needs a tool with no wheel.
/// `buildtool` 2.0 and 2.1 are uploaded after 2024-06-01.
const PROJECTS: &str = r#"
[[project]]
name = "nativepkg"
[[project.version]]
version = "1.0"
wheels = []
sdist = "static"
dependencies = ["runtimedep"]
build-requires = ["buildtool<2"]
backend-requires = ["backendhelper>=1"]

[[project]]
name = "othernative"
[[project.version]]
version = "3.0"
wheels = []
sdist = "static"
build-requires = ["buildtool>=2"]

[[project]]
name = "runtimedep"
[[project.version]]
version = "1.0"

[[project]]
name = "buildtool"
[[project.version]]
version = "1.0"
[[project.version]]
version = "1.5"
upload-time = "2024-07-01T00:00:00.000000Z"
[[project.version]]
version = "2.0"
dependencies = ["buildtool-dep"]
upload-time = "2024-07-01T00:00:00.000000Z"

[[project]]
name = "buildtool-dep"
[[project.version]]
version = "0.3"

[[project]]
name = "setuptools-scm"
[[project.version]]
version = "8.0"

[[project]]
name = "backendhelper"
[[project.version]]
version = "1.2"

[[project]]
name = "sdistonlytool"
[[project.version]]
version = "1.0"
wheels = []
sdist = "static"

[[project]]
name = "needs-sdist-tool"
[[project.version]]
version = "1.0"
wheels = []
sdist = "static"
build-requires = ["sdistonlytool"]

[[project]]
name = "badbackend"
[[project.version]]
version = "0.1"
wheels = []
sdist = "static"
backend-requires = ["not a requirement!"]

[[project]]
name = "dynamicmeta"
[[project.version]]
version = "2.0"
wheels = []
sdist = "dynamic"
dependencies = ["runtimedep"]
extras = { fast = ["backendhelper"] }
build-requires = ["buildtool<2"]

[[project]]
name = "backtracker"
[[project.version]]
version = "1.0"
wheels = []
sdist = "static"
build-requires = ["buildtool>=2"]
[[project.version]]
version = "2.0"
wheels = []
sdist = "static"
dependencies = ["contested>=2"]
build-requires = ["buildtool<2"]
backend-requires = ["backendhelper>=1"]

[[project]]
name = "contested"
[[project.version]]
version = "1.0"
[[project.version]]
version = "2.0"

[[project]]
name = "holdsback"
[[project.version]]
version = "1.0"
dependencies = ["contested<2"]

[[project]]
name = "purewheel"
[[project.version]]
version = "1.0"
sdist = "static"
build-requires = ["buildtool"]
"#;

pub(crate) fn index() -> TestIndex {
    TestIndex::start(Scenario::empty().with_projects(PROJECTS))
}

/// `(name, version)` pairs of `[packages.tool.vendor] build-requires`.
fn build_requires(lock: &PyLock, package: &str) -> Option<Vec<(String, String)>> {
    let package = lock.package(package);
    let entries = package
        .table
        .get("tool")?
        .get("vendor")?
        .get("build-requires")?
        .as_array()
        .expect("build-requires is an array");
    Some(
        entries
            .iter()
            .map(|entry| {
                let field = |key: &str| entry.get(key).and_then(|v| v.as_str()).unwrap();
                (field("name").to_string(), field("version").to_string())
            })
            .collect(),
    )
}

/// `[[tool.vendor.build-packages]]` entries.
fn build_packages(lock: &PyLock) -> Vec<toml::Table> {
    lock.tool_vendor()
        .and_then(|vendor| vendor.get("build-packages"))
        .and_then(|packages| packages.as_array())
        .map(|packages| {
            packages
                .iter()
                .map(|package| package.as_table().unwrap().clone())
                .collect()
        })
        .unwrap_or_default()
}

/// `name version` of each build package, in file order.
fn build_package_versions(lock: &PyLock) -> Vec<String> {
    build_packages(lock)
        .iter()
        .map(|package| {
            format!(
                "{} {}",
                package["name"].as_str().unwrap(),
                package["version"].as_str().unwrap()
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, version)| (name.to_string(), version.to_string()))
        .collect()
}

#[test]
fn pins_the_build_environment_of_an_sdist_with_hashes() {
    let index = index();
    let project = Project::new().requirements("nativepkg\n");
    // `-v` says what each hook and build environment took.
    let locked = project.lock_with(&index, &["-v"]);
    locked.assert_success();
    locked.assert_mentions(&[
        "info get_requires_for_build_wheel of `nativepkg-1.0.tar.gz`: exit status: 0 after",
        "info build environment of `nativepkg` 1.0: locked in",
    ]);
    let lock = project.pylock();

    // [build-system].requires (buildtool<2 → 1.5) plus what the backend
    // asked for (backendhelper).
    assert_eq!(
        build_requires(&lock, "nativepkg"),
        Some(pairs(&[("backendhelper", "1.2"), ("buildtool", "1.5")]))
    );
    assert_eq!(build_requires(&lock, "runtimedep"), None);
    assert_eq!(
        build_package_versions(&lock),
        ["backendhelper 1.2", "buildtool 1.5"]
    );
    for package in build_packages(&lock) {
        let wheels = package["wheels"].as_array().unwrap();
        assert_eq!(wheels.len(), 1, "{package:?}");
        let wheel = wheels[0].as_table().unwrap();
        let name = wheel["name"].as_str().unwrap();
        assert!(name.ends_with("-py3-none-any.whl"), "{name}");
        assert_eq!(
            wheel["hashes"]["sha256"].as_str(),
            Some(index.artifact(name).sha256.as_str())
        );
        assert_eq!(wheel["url"].as_str(), Some(index.file_url(name).as_str()));
        assert!(package.get("sdist").is_none());
    }
    // Build packages are not part of the application.
    assert!(lock.find("buildtool").is_none());
}

#[test]
fn packages_needing_different_versions_of_a_tool_get_both() {
    let index = index();
    let project = Project::new().requirements("nativepkg\nothernative\n");
    project.lock(&index).assert_success();
    let lock = project.pylock();
    assert_eq!(
        build_requires(&lock, "othernative"),
        Some(pairs(&[("buildtool", "2.0"), ("buildtool-dep", "0.3")]))
    );
    assert_eq!(
        build_package_versions(&lock),
        [
            "backendhelper 1.2",
            "buildtool 1.5",
            "buildtool 2.0",
            "buildtool-dep 0.3"
        ]
    );
}

/// The resolver decides `backtracker` 2.0 first (its build environment is
/// started then), and backtracks to 1.0 when `holdsback` rules out
/// `contested>=2`: the lock pins 1.0's build environment only.
#[test]
fn a_version_the_resolver_abandons_leaves_no_build_pins() {
    let index = index();
    let project = Project::new().requirements("backtracker\nholdsback\n");
    project.lock(&index).assert_success();
    let lock = project.pylock();
    assert_eq!(lock.version_of("backtracker"), "1.0");
    assert_eq!(lock.version_of("contested"), "1.0");
    assert_eq!(
        build_requires(&lock, "backtracker"),
        Some(pairs(&[("buildtool", "2.0"), ("buildtool-dep", "0.3")]))
    );
    assert_eq!(
        build_package_versions(&lock),
        ["buildtool 2.0", "buildtool-dep 0.3"]
    );
}

#[test]
fn relock_keeps_build_pins_until_upgraded() {
    let index = index();
    let project = Project::new().requirements("nativepkg\npurewheel\n");
    // purewheel has a wheel, but the project builds it from source.
    project.write(
        "vendor.toml",
        "[app]\nname = \"demo\"\n\n[build]\nfrom-source = [\"purewheel\"]\n",
    );
    project
        .lock_with(&index, &["--exclude-newer", "2024-06-01"])
        .assert_success();
    let first = project.pylock();
    assert_eq!(
        build_requires(&first, "nativepkg"),
        Some(pairs(&[("backendhelper", "1.2"), ("buildtool", "1.0")]))
    );
    assert_eq!(
        build_requires(&first, "purewheel"),
        Some(pairs(&[("buildtool", "1.0")]))
    );

    // Newer tools are now visible, but the pins stay.
    project.lock(&index).assert_success();
    let second = project.pylock();
    assert_eq!(
        build_requires(&second, "nativepkg"),
        build_requires(&first, "nativepkg")
    );
    assert_eq!(
        build_requires(&second, "purewheel"),
        Some(pairs(&[("buildtool", "1.0")]))
    );
    // An unchanged sdist keeps its environment without asking the index
    // about build tools again.
    index.clear_requests();
    project.lock_with(&index, &["--locked"]).assert_success();
    assert_eq!(index.requests_to("/simple/buildtool/"), 0);
    assert_eq!(index.requests_to("/files/nativepkg-1.0.tar.gz"), 0);

    // `--locked` names the build package an upgrade would move.
    project
        .lock_with(&index, &["--locked", "--upgrade-package", "buildtool"])
        .assert_code(1)
        .assert_mentions(&["- build buildtool 1.0", "+ build buildtool", "hint:"]);

    project
        .lock_with(&index, &["--upgrade-package", "buildtool"])
        .assert_success();
    let upgraded = project.pylock();
    assert_eq!(
        build_requires(&upgraded, "nativepkg"),
        Some(pairs(&[("backendhelper", "1.2"), ("buildtool", "1.5")]))
    );
    assert_eq!(
        build_requires(&upgraded, "purewheel"),
        Some(pairs(&[("buildtool", "2.0"), ("buildtool-dep", "0.3")]))
    );
}

#[test]
fn another_index_relocks_the_build_environment_from_its_own_files() {
    let first = index();
    let second = index();
    let project = Project::new().requirements("nativepkg\n");
    project.lock(&first).assert_success();
    project.lock(&second).assert_success();
    let lock = project.pylock();
    assert_eq!(
        build_requires(&lock, "nativepkg"),
        Some(pairs(&[("backendhelper", "1.2"), ("buildtool", "1.5")]))
    );
    for package in build_packages(&lock) {
        let wheel = package["wheels"][0].as_table().unwrap();
        let name = wheel["name"].as_str().unwrap();
        assert_eq!(wheel["url"].as_str(), Some(second.file_url(name).as_str()));
    }
}

#[test]
fn a_build_requirement_without_a_wheel_is_an_error_naming_both() {
    let index = index();
    let project = Project::new().requirements("needs-sdist-tool\n");
    project.lock(&index).assert_code(1).assert_mentions(&[
        "`needs-sdist-tool` 1.0",
        "`sdistonlytool`",
        "wheel",
        "hint:",
    ]);
    assert!(!project.file("pylock.toml").exists());
}

#[test]
fn an_sdist_with_dynamic_metadata_is_asked_for_it_without_a_build() {
    let index = index();
    let project = Project::new().requirements("dynamicmeta[fast]\n");
    // The backend's prepare_metadata_for_build_wheel answers, as pip and uv
    // ask: nothing is compiled to lock (`-v` names each hook run).
    let locked = project.lock_with(&index, &["-v"]);
    locked.assert_success().assert_mentions(&[
        "info prepare_metadata_for_build_wheel of `dynamicmeta-2.0.tar.gz`: exit status: 0 after",
    ]);
    assert!(
        !locked.stderr.contains("info build_wheel of"),
        "{}",
        locked.stderr
    );
    let lock = project.pylock();
    assert_eq!(
        lock.versions(),
        common::expected_versions(&[
            ("dynamicmeta", "2.0"),
            ("runtimedep", "1.0"),
            ("backendhelper", "1.2"),
        ])
    );
    assert_eq!(
        build_requires(&lock, "dynamicmeta"),
        Some(pairs(&[("buildtool", "1.5")]))
    );
    // Everything is cached now: an offline lock needs no index.
    index.clear_requests();
    project
        .lock_with(&index, &["--offline", "-o", "pylock.offline.toml"])
        .assert_success();
    assert!(index.requests().is_empty(), "{:?}", index.requests());
    assert_eq!(project.pylock_at("pylock.offline.toml").text, lock.text);
}

#[test]
fn a_backend_asking_for_nonsense_is_an_error_naming_the_package_and_hook() {
    let index = index();
    let mut project = Project::new().requirements("badbackend\n");
    let scratch = project.file("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    project.set_env("TMPDIR", scratch.to_str().unwrap());
    let log = project
        .cache_dir()
        .join("work/lock/logs/badbackend-0.1.log");
    project.lock(&index).assert_code(1).assert_mentions(&[
        "`badbackend` 0.1",
        "get_requires_for_build_wheel",
        "not a requirement!",
        &log.display().to_string(),
    ]);
    assert!(!project.file("pylock.toml").exists());
    // The log the error names is in the cache; the scratch folder is gone.
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("==> vendor: get_requires_for_build_wheel of `badbackend-0.1.tar.gz`"),
        "{written}"
    );
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().collect();
    assert!(left.is_empty(), "a failed hook left {left:?}");
}

#[test]
fn fetch_downloads_build_requirements_and_offline_names_them() {
    let index = index();
    let mut project = Project::new().requirements("nativepkg\n");
    project.lock(&index).assert_success();
    project.use_fresh_cache();

    let outcome = project.fetch_with(&["--offline"]);
    outcome.assert_code(1).assert_mentions(&[
        "buildtool-1.5-py3-none-any.whl",
        "backendhelper-1.2-py3-none-any.whl",
        "build requirement",
        "nativepkg-1.0.tar.gz",
    ]);

    let export = tempfile::tempdir().unwrap();
    let export_arg = export.path().to_str().unwrap().to_string();
    project
        .fetch_with(&["--export", &export_arg])
        .assert_success();
    for file in [
        "buildtool-1.5-py3-none-any.whl",
        "backendhelper-1.2-py3-none-any.whl",
        "nativepkg-1.0.tar.gz",
        "runtimedep-1.0-py3-none-any.whl",
    ] {
        assert_eq!(project.cached_artifacts(file).len(), 1, "{file}");
        assert!(export.path().join(file).is_file(), "{file} exported");
    }
    index.clear_requests();
    project.fetch_with(&["--offline"]).assert_success();
    assert!(index.requests().is_empty(), "{:?}", index.requests());
}

/// Run uv in the project folder with its cache and venv under `scratch`;
/// returns what it printed, failing the test when uv fails.
pub(crate) fn run_uv(project: &Project, scratch: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(uv_binary())
        .args(args)
        .current_dir(project.path())
        .env("UV_CACHE_DIR", scratch.join("cache"))
        .env("UV_NO_CONFIG", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("VIRTUAL_ENV", scratch.join("venv"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .expect("uv runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "uv {args:?}: {text}");
    text
}

/// What `uv pip install --dry-run -r <lock>` would install from `index`
/// into a fresh venv of Python 3.11 (uv reading vendor's PEP 751 lock).
pub(crate) fn uv_install_plan(project: &Project, index: &TestIndex, lock: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    let venv_path = venv.to_str().unwrap();
    run_uv(
        project,
        scratch.path(),
        &["venv", "--quiet", "--python", "3.11", venv_path],
    );
    let index_url = index.url();
    run_uv(
        project,
        scratch.path(),
        &[
            "pip",
            "install",
            "--dry-run",
            "--preview-features",
            "pylock",
            "--python-version",
            common::PYTHON,
            "--index-url",
            &index_url,
            "-r",
            lock,
        ],
    )
}

#[test]
fn uv_installs_from_a_lock_with_build_requirements() {
    let index = index();
    let project = Project::new().requirements("nativepkg\n");
    project.lock(&index).assert_success();
    assert!(!build_packages(&project.pylock()).is_empty());

    let text = uv_install_plan(&project, &index, "pylock.toml");
    // The application, not its build tools.
    assert!(text.contains("+ nativepkg==1.0"), "{text}");
    assert!(text.contains("+ runtimedep==1.0"), "{text}");
    assert!(!text.contains("buildtool"), "{text}");
}

/// A lock uv wrote — its `pylock.toml` and a `--generate-hashes`
/// `requirements.txt` — is vendor's input as it is: `vendor lock -r` keeps
/// every pin and file (an older `contested` than the newest stays), adds
/// the build environment of what is built from source, and `vendor fetch
/// --lock <file> --target el9` fetches from it without a vendor lock. A
/// requirements file that does not pin is refused naming its line.
#[test]
fn locks_written_by_uv_are_kept_pin_for_pin() {
    let index = index();
    let mut project = Project::new().requirements("nativepkg\ncontested<2\n");
    project.write(
        "vendor.toml",
        &format!(
            "[app]\nname = \"demo\"\n\n[index]\nindex-url = \"{}\"\n",
            index.url()
        ),
    );
    let scratch = tempfile::tempdir().unwrap();
    let index_url = index.url();
    let compile = |format: &[&str], output: &str| {
        let mut args = vec![
            "pip",
            "compile",
            "requirements.in",
            "--quiet",
            "--index-url",
            &index_url,
            "--python-version",
            "3.11",
            "--python-platform",
            "x86_64-manylinux_2_34",
            "-o",
            output,
        ];
        args.extend_from_slice(format);
        run_uv(&project, scratch.path(), &args);
    };
    compile(&["--format", "pylock.toml"], "pylock.uv.toml");
    compile(&["--generate-hashes"], "requirements.txt");

    project
        .run(&["lock", "-r", "pylock.uv.toml", "--target", "el9"])
        .assert_success();
    let lock = project.pylock();
    let uv_lock = project.pylock_at("pylock.uv.toml");
    assert_eq!(lock.versions(), uv_lock.versions());
    assert_eq!(lock.version_of("contested"), "1.0");
    for package in uv_lock.packages() {
        let ours = lock.package(&package.name);
        let digests = |package: &common::pylock::LockedPackage| -> Vec<String> {
            let files = package.sdist().into_iter().chain(package.wheels());
            files
                .map(|file| format!("{} {}", file.name, file.sha256))
                .collect()
        };
        assert_eq!(digests(&ours), digests(&package), "{}", package.name);
    }
    assert_eq!(
        build_requires(&lock, "nativepkg"),
        Some(pairs(&[("backendhelper", "1.2"), ("buildtool", "1.5")]))
    );

    for input in ["pylock.uv.toml", "requirements.txt"] {
        project.use_fresh_cache();
        project
            .run(&["fetch", "--lock", input, "--target", "el9"])
            .assert_success()
            .assert_mentions(&["(pins kept)"]);
        for file in ["contested-1.0-py3-none-any.whl", "nativepkg-1.0.tar.gz"] {
            assert_eq!(project.cached_artifacts(file).len(), 1, "{input}: {file}");
        }
    }

    project
        .run(&["fetch", "--lock", "requirements.in", "--target", "el9"])
        .assert_code(1)
        .assert_mentions(&["requirements.in:1", "`nativepkg` is not pinned"])
        .assert_hint_last("--generate-hashes");
    project
        .run(&["fetch", "--target", "el8"])
        .assert_code(2)
        .assert_mentions(&["is locked for el9"]);
}

/// The requirement files' `--no-binary` builds a package that has a wheel
/// from its sdist (its build environment is locked, the choice recorded
/// under `[tool.vendor]` so that fetch and build follow it); `--only-binary`
/// for a package with only an sdist is an error that names the option.
#[test]
fn no_binary_and_only_binary_lines_decide_sdist_or_wheel() {
    let index = index();
    let project = Project::new().requirements("--no-binary=purewheel\npurewheel\nruntimedep\n");
    project
        .lock_with(&index, &["--exclude-newer", "2024-06-01"])
        .assert_success();
    let lock = project.pylock();
    assert_eq!(
        build_requires(&lock, "purewheel"),
        Some(pairs(&[("buildtool", "1.0")]))
    );
    assert_eq!(build_requires(&lock, "runtimedep"), None);
    let text = fs_err::read_to_string(project.file("pylock.toml")).unwrap();
    assert!(text.contains("no-binary = [\"purewheel\"]"), "{text}");

    project.fetch().assert_success();
    assert!(!project.cached_artifacts("purewheel-1.0.tar.gz").is_empty());

    project.write("requirements.in", "--only-binary :all:\nnativepkg\n");
    project
        .lock_with(&index, &["--exclude-newer", "2024-06-01"])
        .assert_code(1)
        .assert_mentions(&["`nativepkg` has no wheel usable"])
        .assert_hint_last("`--only-binary`");
}
