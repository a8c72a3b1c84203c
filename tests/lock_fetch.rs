//! Hermetic integration tests of `vendor lock` and `vendor fetch`: the real
//! binary against the loopback index of `tests/common/`, serving the fixture
//! projects of `test-data/index/packages.toml`. Target: el9 / CPython 3.11.9
//! / x86_64. Versions are asserted exactly by reading the produced
//! `pylock.toml`; error texts loosely, on what the user needs (file:line,
//! package names, `hint:`).

use crate::common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{expected_versions, sha256_hex, LockedFile, Project, PyLock, Scenario, TestIndex};

/// The requirements most lock/fetch tests share: a backtrack, extras with a
/// dotted-name dependency, an sdist-only package and a platform wheel.
const MIXED: &str = "alpha\ngamma\nweb[redis]\npgdriver\nfastext\n";

fn mixed_versions() -> std::collections::BTreeMap<String, String> {
    expected_versions(&[
        ("alpha", "1.0"),
        ("beta", "1.5"),
        ("gamma", "1.0"),
        ("web", "1.0"),
        ("webcore", "1.2"),
        ("zope-shim", "1.0"),
        ("redis-client", "4.1"),
        ("pgdriver", "2.9.9"),
        ("tzshim", "1.0"),
        ("fastext", "1.0"),
    ])
}

/// `alpha` + `gamma` after backtracking off alpha 2.0.
fn backtracked_versions() -> std::collections::BTreeMap<String, String> {
    expected_versions(&[("alpha", "1.0"), ("beta", "1.5"), ("gamma", "1.0")])
}

/// Lock `requirements` in a new project (expecting success) and read the result.
#[track_caller]
fn lock_in_new_project(index: &TestIndex, requirements: &str) -> PyLock {
    let project = Project::new().requirements(requirements);
    project.lock(index).assert_success();
    project.pylock()
}

fn timestamp(text: &str) -> jiff::Timestamp {
    text.parse()
        .unwrap_or_else(|error| panic!("`{text}` is not an RFC 3339 time: {error}"))
}

/// A lock entry describes the served file exactly.
#[track_caller]
fn assert_describes_fixture(file: &LockedFile, index: &TestIndex) {
    assert_identifies_fixture(file, index);
    let artifact = index.artifact(&file.name);
    assert_eq!(file.size, Some(artifact.size()), "{}", file.name);
    let upload_time = file
        .upload_time
        .as_deref()
        .unwrap_or_else(|| panic!("{} has no upload-time", file.name));
    assert_eq!(
        timestamp(upload_time),
        timestamp(&artifact.upload_time),
        "{}",
        file.name
    );
}

/// Name, URL and digest match the served file (all a PEP 503 HTML page
/// tells; size and upload time come with PEP 700 JSON only).
#[track_caller]
fn assert_identifies_fixture(file: &LockedFile, index: &TestIndex) {
    let artifact = index.artifact(&file.name);
    assert_eq!(file.sha256, artifact.sha256, "{}", file.name);
    assert_eq!(
        file.url.as_deref(),
        Some(index.file_url(&file.name).as_str()),
        "{}",
        file.name
    );
    if let Some(size) = file.size {
        assert_eq!(size, artifact.size(), "{}", file.name);
    }
}

/// What `vendor build` will use per package: the (only) usable wheel, else the sdist.
fn build_files(lock: &PyLock) -> Vec<LockedFile> {
    lock.packages()
        .iter()
        .map(|package| {
            let wheels = package.wheels();
            assert!(
                wheels.len() <= 1,
                "fixtures give at most one usable wheel: {wheels:?}"
            );
            wheels
                .into_iter()
                .next()
                .or_else(|| package.sdist())
                .unwrap_or_else(|| panic!("`{}` has no file", package.name))
        })
        .collect()
}

/// Contents, modification time and inode: a rewrite changes at least one.
fn file_state(path: &Path) -> (Vec<u8>, std::time::SystemTime, u64) {
    let metadata = std::fs::metadata(path).expect("lock file exists");
    (
        std::fs::read(path).expect("read lock file"),
        metadata.modified().expect("mtime"),
        metadata.ino(),
    )
}

#[test]
fn backtracks_to_an_older_version_when_the_newest_conflicts() {
    let index = TestIndex::start(Scenario::default());
    let lock = lock_in_new_project(&index, "alpha\ngamma\n");
    assert_eq!(lock.versions(), backtracked_versions());
    let alpha = lock.package("alpha");
    assert_eq!(
        alpha.sdist().expect("alpha has an sdist").name,
        "alpha-1.0.tar.gz"
    );
    assert_eq!(alpha.wheel_names(), ["alpha-1.0-py3-none-any.whl"]);
    for file in lock.packages().iter().flat_map(|package| package.files()) {
        assert_describes_fixture(&file, &index);
    }
    let tool = lock.tool_vendor().expect("[tool.vendor]");
    assert_eq!(tool.get("target").and_then(|v| v.as_str()), Some("el9"));
    assert_eq!(tool.get("python").and_then(|v| v.as_str()), Some("3.11.9"));
}

#[test]
fn extras_pull_in_their_dependencies_only_when_requested() {
    let index = TestIndex::start(Scenario::default());
    let lock = lock_in_new_project(&index, "web[redis]\n");
    assert_eq!(
        lock.versions(),
        expected_versions(&[
            ("web", "1.0"),
            ("webcore", "1.2"),
            ("zope-shim", "1.0"),
            ("redis-client", "4.1"),
        ])
    );
    // PEP 751 writes normalised names; the dotted project is `Zope.Shim`.
    assert_eq!(lock.package("Zope.Shim").name, "zope-shim");
    assert_eq!(
        lock.package("zope-shim").wheel_names(),
        ["zope_shim-1.0-py3-none-any.whl"]
    );

    assert_eq!(
        lock_in_new_project(&index, "web\n").versions(),
        expected_versions(&[("web", "1.0"), ("webcore", "1.2"), ("zope-shim", "1.0")])
    );
}

#[test]
fn markers_are_evaluated_for_the_target_python_and_machine_not_the_host() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("envmarkers\n");
    project.lock(&index).assert_success();
    assert_eq!(
        project.pylock().versions(),
        expected_versions(&[
            ("envmarkers", "1.0"),
            ("linux-helper", "1.0"),
            ("target-python-helper", "1.0"),
        ]),
        "3.11.9 on x86_64 Linux: no aarch64, win32, <3.11.3 or >=3.12 dependencies"
    );

    // Same minor version, earlier patch release: python_full_version decides.
    project
        .lock_for_python(&index, "3.11.2", &["-o", "pylock.old.toml"])
        .assert_success();
    assert_eq!(
        project.pylock_at("pylock.old.toml").versions(),
        expected_versions(&[
            ("envmarkers", "1.0"),
            ("linux-helper", "1.0"),
            ("old-python-shim", "1.0"),
        ])
    );
}

#[test]
fn requires_python_skips_versions_for_newer_pythons() {
    let index = TestIndex::start(Scenario::default());
    let lock = lock_in_new_project(&index, "modern\n");
    assert_eq!(lock.versions(), expected_versions(&[("modern", "1.0")]));
    let modern = lock.package("modern");
    assert_eq!(modern.sdist().unwrap().name, "modern-1.0.tar.gz");
    assert_eq!(modern.wheel_names(), ["modern-1.0-py3-none-any.whl"]);
}

#[test]
fn platform_wheels_are_filtered_for_the_target() {
    let index = TestIndex::start(Scenario::default());
    let lock = lock_in_new_project(&index, "fastext\nstableabi\n");
    // fastext 1.1 has only a cp312 wheel and no sdist: unusable on 3.11.
    assert_eq!(
        lock.versions(),
        expected_versions(&[("fastext", "1.0"), ("stableabi", "2.0")])
    );
    let fastext = lock.package("fastext");
    assert_eq!(
        fastext.wheel_names(),
        ["fastext-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"],
        "not glibc 2.39, musl, aarch64, Windows, macOS or cp312"
    );
    assert_eq!(fastext.sdist().unwrap().name, "fastext-1.0.tar.gz");
    assert_eq!(
        lock.package("stableabi").wheel_names(),
        ["stableabi-2.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    );
    for file in fastext.files() {
        assert_describes_fixture(&file, &index);
    }
}

#[test]
fn yanked_versions_are_skipped_unless_pinned_exactly() {
    let index = TestIndex::start(Scenario::default());
    assert_eq!(
        lock_in_new_project(&index, "shaky\n").versions(),
        expected_versions(&[("shaky", "1.0")])
    );
    assert_eq!(
        lock_in_new_project(&index, "shaky==1.1\n").versions(),
        expected_versions(&[("shaky", "1.1")])
    );

    let ranged = Project::new().requirements("shaky>=1.1\n");
    ranged
        .lock(&index)
        .assert_code(1)
        .assert_mentions(&["shaky"]);
}

#[test]
fn sdist_only_package_is_locked_from_its_static_pkg_info() {
    let index = TestIndex::start(Scenario::default());
    let lock = lock_in_new_project(&index, "pgdriver\n");
    // tzshim is only named in PKG-INFO's Requires-Dist.
    assert_eq!(
        lock.versions(),
        expected_versions(&[("pgdriver", "2.9.9"), ("tzshim", "1.0")])
    );
    let pgdriver = lock.package("pgdriver");
    assert!(pgdriver.wheels().is_empty());
    let sdist = pgdriver.sdist().expect("the sdist is locked");
    assert_eq!(sdist.name, "pgdriver-2.9.9.tar.gz");
    assert_describes_fixture(&sdist, &index);
}

#[test]
fn sdist_with_dynamic_metadata_is_resolved_or_named() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("dynsdist\n");
    let outcome = project.lock(&index);
    if outcome.code == Some(0) {
        // Once the PEP 517 metadata hook runs (its in-tree backend is stdlib only).
        assert_eq!(
            project.pylock().versions(),
            expected_versions(&[("dynsdist", "1.0"), ("tzshim", "1.0")])
        );
    } else {
        outcome
            .assert_code(1)
            .assert_mentions(&["dynsdist", "hint:"]);
    }
}

#[test]
fn find_links_folder_provides_packages_missing_from_the_index() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("localonly\n");
    project
        .lock(&index)
        .assert_code(1)
        .assert_mentions(&["localonly"]);

    let find_links = index.find_links().to_str().unwrap().to_string();
    project
        .lock_with(&index, &["--find-links", &find_links])
        .assert_success();
    let lock = project.pylock();
    assert_eq!(
        lock.versions(),
        expected_versions(&[("localonly", "0.5"), ("tzshim", "1.0")])
    );
    let wheel = &lock.package("localonly").wheels()[0];
    let artifact = index.artifact("localonly-0.5-py3-none-any.whl");
    assert_eq!(wheel.name, artifact.filename);
    assert_eq!(wheel.sha256, artifact.sha256);
    let url = wheel
        .url
        .as_deref()
        .expect("a file outside the project is a URL");
    assert!(
        url.starts_with("file://") && url.ends_with("/localonly-0.5-py3-none-any.whl"),
        "{url}"
    );
}

#[test]
fn a_missing_package_is_named_and_exits_1() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("alpha\nno-such-package>=1\n");
    project
        .lock(&index)
        .assert_code(1)
        .assert_mentions(&["no-such-package"]);
    assert!(!project.file("pylock.toml").exists());
}

#[test]
fn a_malformed_requirement_names_its_file_and_line() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("alpha\n# a comment\ngamma >>= 1\n");
    let outcome = project.lock(&index);
    assert!(
        matches!(outcome.code, Some(1 | 2)),
        "exit 1 or 2: {outcome:?}"
    );
    outcome.assert_mentions(&["requirements.in:3"]);
    assert!(!project.file("pylock.toml").exists());

    let included = Project::new().requirements("alpha\n-r more.in\n");
    included.write("more.in", "gamma\nbeta[\n");
    let outcome = included.lock(&index);
    assert!(
        matches!(outcome.code, Some(1 | 2)),
        "exit 1 or 2: {outcome:?}"
    );
    outcome.assert_mentions(&["more.in:2"]);
}

#[test]
fn no_solution_explains_both_conflicting_requirements() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("alpha>=2\ngamma\n");
    let outcome = project.lock(&index);
    // alpha 2.0 needs beta>=2, gamma 1.0 needs beta<2.
    outcome
        .assert_code(1)
        .assert_mentions(&["alpha >=2", "gamma", "beta <2", "beta >=2", "hint:"])
        .assert_not_mentions("panicked")
        .assert_not_mentions("requirements 0");
    assert!(!project.file("pylock.toml").exists());
}

#[test]
fn exclude_newer_ignores_later_uploads() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("timely\n");
    project.lock(&index).assert_success();
    assert_eq!(
        project.pylock().versions(),
        expected_versions(&[("timely", "1.1")])
    );
    project
        .lock_with(
            &index,
            &[
                "--exclude-newer",
                "2025-01-01T00:00:00Z",
                "-o",
                "pylock.cutoff.toml",
            ],
        )
        .assert_success();
    assert_eq!(
        project.pylock_at("pylock.cutoff.toml").versions(),
        expected_versions(&[("timely", "1.0")])
    );
}

#[test]
fn html_index_without_ranges_or_metadata_files_still_locks() {
    let index = TestIndex::start(
        Scenario::default()
            .html_only()
            .without_range()
            .relative_urls(),
    );
    let lock = lock_in_new_project(&index, "alpha\ngamma\n");
    assert_eq!(lock.versions(), backtracked_versions());
    // Relative hrefs are resolved against the page into absolute URLs.
    for file in lock.packages().iter().flat_map(|package| package.files()) {
        assert_identifies_fixture(&file, &index);
    }
}

#[test]
fn locked_passes_when_up_to_date_and_fails_with_a_diff_otherwise() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("alpha\ngamma\n");
    project.lock(&index).assert_success();
    let lock_path = project.file("pylock.toml");
    let before = file_state(&lock_path);

    project.lock_with(&index, &["--locked"]).assert_success();
    assert_eq!(file_state(&lock_path), before);

    project.write("requirements.in", "alpha\ngamma\nshaky\n");
    project
        .lock_with(&index, &["--locked"])
        .assert_code(1)
        .assert_mentions(&["shaky", "hint:"]);
    assert_eq!(file_state(&lock_path), before, "--locked never writes");
}

#[test]
fn locking_twice_rewrites_nothing_and_is_deterministic() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements(MIXED);
    project.lock(&index).assert_success();
    assert_eq!(project.pylock().versions(), mixed_versions());
    let lock_path = project.file("pylock.toml");
    let before = file_state(&lock_path);
    // Make a rewrite visible in the mtime even on coarse clocks.
    std::thread::sleep(std::time::Duration::from_millis(50));
    project.lock(&index).assert_success();
    assert_eq!(
        file_state(&lock_path),
        before,
        "unchanged: same bytes, same file"
    );

    let elsewhere = Project::new().requirements(MIXED);
    elsewhere.lock(&index).assert_success();
    assert_eq!(
        std::fs::read_to_string(elsewhere.file("pylock.toml")).unwrap(),
        String::from_utf8(before.0).unwrap(),
        "another folder and a cold cache give the same bytes"
    );
}

#[test]
fn lock_offline_uses_only_the_cache() {
    let index = TestIndex::start(Scenario::default());
    let mut project = Project::new().requirements("alpha\ngamma\n");
    project.lock(&index).assert_success();
    index.clear_requests();
    project
        .lock_with(&index, &["--offline", "-o", "pylock.offline.toml"])
        .assert_success();
    assert_eq!(index.requests().len(), 0, "{:?}", index.requests());
    assert_eq!(
        project.pylock_at("pylock.offline.toml").versions(),
        project.pylock().versions()
    );

    project.use_fresh_cache();
    project
        .lock_with(&index, &["--offline", "-o", "pylock.cold.toml"])
        .assert_code(1)
        .assert_mentions(&["alpha", "hint:"]);
    assert_eq!(index.requests().len(), 0, "{:?}", index.requests());
}

#[test]
fn fetch_downloads_what_the_build_uses_and_then_works_offline() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements(MIXED);
    project.lock(&index).assert_success();
    project.fetch().assert_success();

    let lock = project.pylock();
    for file in build_files(&lock) {
        let cached = project.artifact_path(&file.sha256, &file.name);
        let bytes = std::fs::read(&cached)
            .unwrap_or_else(|_| panic!("`{}` not at {}", file.name, cached.display()));
        assert_eq!(sha256_hex(&bytes), file.sha256);
    }
    assert!(
        project.cached_artifacts("alpha-1.0.tar.gz").is_empty(),
        "alpha has a usable wheel, so its sdist is not fetched"
    );
    assert!(project.cache_temp_files().is_empty());

    index.clear_requests();
    project.fetch_with(&["--offline"]).assert_success();
    assert_eq!(index.requests().len(), 0, "{:?}", index.requests());
}

#[test]
fn fetch_offline_with_a_cold_cache_lists_every_missing_file() {
    let index = TestIndex::start(Scenario::default());
    let mut project = Project::new().requirements(MIXED);
    project.lock(&index).assert_success();
    project.use_fresh_cache();
    index.clear_requests();

    let outcome = project.fetch_with(&["--offline"]);
    outcome
        .assert_code(1)
        .assert_mentions(&["hint:"])
        .assert_hint_last("without `--offline`");
    let expected = build_files(&project.pylock());
    assert_eq!(expected.len(), mixed_versions().len());
    for file in &expected {
        outcome.assert_mentions(&[&file.name]);
    }
    assert_eq!(index.requests().len(), 0, "{:?}", index.requests());
}

#[test]
fn a_download_that_does_not_match_the_lock_is_refused_and_not_kept() {
    let index = TestIndex::start(Scenario::default());
    let mut project = Project::new().requirements("shaky\n");
    project.lock(&index).assert_success();
    let filename = "shaky-1.0-py3-none-any.whl";
    index.corrupt(filename);
    project.use_fresh_cache();

    project
        .fetch()
        .assert_code(1)
        .assert_mentions(&[filename, "sha256", "hint:"])
        .assert_hint_last("a file changed on the index since it was locked");
    assert!(project.cached_artifacts(filename).is_empty());
    assert_eq!(project.cache_temp_files(), Vec::<std::path::PathBuf>::new());
    assert!(index.requests_to(&format!("/files/{filename}")) >= 1);
}

#[test]
fn an_index_that_fails_twice_then_recovers_still_works() {
    let index = TestIndex::start(Scenario::default());
    index.fail_first("/simple/alpha/", 2, 500);
    index.fail_first("/simple/gamma/", 2, 503);
    let mut project = Project::new().requirements("alpha\ngamma\n");
    project.lock(&index).assert_success();
    assert_eq!(project.pylock().versions(), backtracked_versions());
    assert!(index.requests_to("/simple/alpha/") >= 3);
    assert!(index.requests_to("/simple/gamma/") >= 3);

    let filename = "gamma-1.0-py3-none-any.whl";
    index.fail_first(&format!("/files/{filename}"), 2, 500);
    project.use_fresh_cache();
    project.fetch().assert_success();
    assert_eq!(project.cached_artifacts(filename).len(), 1);
}

#[test]
fn an_interrupted_download_is_retried_and_verified() {
    let index = TestIndex::start(Scenario::default());
    let mut project = Project::new().requirements("alpha\ngamma\n");
    project.lock(&index).assert_success();
    let artifact = index.artifact("gamma-1.0-py3-none-any.whl");
    index.cut_off_first(&artifact.filename, 100, 1);
    project.use_fresh_cache();
    index.clear_requests();

    project.fetch().assert_success();
    let cached = project.artifact_path(&artifact.sha256, &artifact.filename);
    assert_eq!(sha256_hex(&std::fs::read(cached).unwrap()), artifact.sha256);
    assert!(index.requests_to(&format!("/files/{}", artifact.filename)) >= 2);
    assert!(project.cache_temp_files().is_empty());
}

#[test]
fn an_export_folder_locks_again_without_the_index() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements(MIXED);
    project.lock(&index).assert_success();
    let export = tempfile::tempdir().unwrap();
    let export_arg = export.path().to_str().unwrap().to_string();
    project
        .fetch_with(&["--export", &export_arg])
        .assert_success();

    let lock = project.pylock();
    for file in build_files(&lock) {
        let bytes = std::fs::read(export.path().join(&file.name))
            .unwrap_or_else(|_| panic!("`{}` not exported", file.name));
        assert_eq!(sha256_hex(&bytes), file.sha256);
    }
    assert!(export.path().join("simple/index.html").is_file());
    let alpha_page =
        std::fs::read_to_string(export.path().join("simple/alpha/index.html")).unwrap();
    assert!(alpha_page.contains("alpha-1.0-py3-none-any.whl"));
    assert!(export.path().join("simple/zope-shim/index.html").is_file());

    // An air-gapped host: the export folder only, no index at all.
    let air_gapped = Project::new().requirements(MIXED);
    index.clear_requests();
    air_gapped
        .lock_command(
            None,
            common::PYTHON,
            &["--no-index", "--find-links", &export_arg],
        )
        .assert_success();
    assert_eq!(air_gapped.pylock().versions(), lock.versions());
    assert_eq!(index.requests().len(), 0, "{:?}", index.requests());
}

const SECRET: &str = "s3cret-Token";

#[test]
fn credentials_in_the_index_url_never_reach_the_lock_or_the_output() {
    let index = TestIndex::start(Scenario::default().basic_auth("deploy", SECRET));
    let project = Project::new().requirements("alpha\ngamma\n");
    let url = index.url_with_credentials("deploy", SECRET);

    let outcome = project.lock_command(Some(&url), common::PYTHON, &["-v"]);
    outcome.assert_success().assert_not_mentions(SECRET);
    let lock = project.pylock();
    assert_eq!(lock.versions(), backtracked_versions());
    assert!(!lock.text.contains(SECRET), "{}", lock.text);
    assert!(!lock.text.contains("deploy@"), "{}", lock.text);
    assert!(
        lock.text.contains(&index.url()),
        "the index without credentials"
    );
    let project_page = index
        .requests()
        .into_iter()
        .find(|request| request.path_only() == "/simple/alpha/")
        .expect("the index was asked for alpha");
    assert!(project_page.header("authorization").is_some());
}

#[test]
fn netrc_credentials_serve_lock_and_fetch_without_leaking() {
    let index = TestIndex::start(Scenario::default().basic_auth("deploy", SECRET));
    let mut project = Project::new().requirements("alpha\ngamma\n");
    let netrc = project.home().join(".netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1\nlogin deploy\npassword {SECRET}\n"),
    )
    .unwrap();
    project.set_env("NETRC", netrc.to_str().unwrap());

    project
        .lock_with(&index, &["-v"])
        .assert_success()
        .assert_not_mentions(SECRET);
    assert!(!project.pylock().text.contains(SECRET));
    project
        .fetch_with(&["-v"])
        .assert_success()
        .assert_not_mentions(SECRET);
    for file in build_files(&project.pylock()) {
        assert_eq!(
            project.cached_artifacts(&file.name).len(),
            1,
            "{}",
            file.name
        );
    }
}

#[test]
fn existing_pins_are_kept_until_an_upgrade_is_asked_for() {
    let index = TestIndex::start(Scenario::default());
    let project = Project::new().requirements("alpha==1.0\n");
    project.lock(&index).assert_success();
    assert_eq!(project.pylock().version_of("alpha"), "1.0");

    // The requirement no longer pins alpha, but the lock still allows 1.0.
    project.write("requirements.in", "alpha\n");
    project.lock(&index).assert_success();
    assert_eq!(project.pylock().version_of("alpha"), "1.0");

    project
        .lock_with(&index, &["--upgrade-package", "alpha"])
        .assert_success();
    assert_eq!(project.pylock().version_of("alpha"), "2.0");
    assert_eq!(project.pylock().version_of("beta"), "2.1");

    // A pin the requirements forbid moves; `--upgrade` ignores every pin.
    project.write("requirements.in", "alpha<2\n");
    project.lock(&index).assert_success();
    assert_eq!(project.pylock().version_of("alpha"), "1.0");
    project.write("requirements.in", "alpha\n");
    project.lock(&index).assert_success();
    assert_eq!(project.pylock().version_of("alpha"), "1.0");
    project.lock_with(&index, &["--upgrade"]).assert_success();
    assert_eq!(project.pylock().version_of("alpha"), "2.0");
}

/// A pip-compile `requirements.txt` with `--hash` lines: the lock uses
/// exactly the files those digests name (here the wheel, not the sdist
/// the index also lists), a digest that matches nothing names its line, and
/// `--require-hashes` refuses a requirement without any.
#[test]
fn hashed_requirements_lock_exactly_the_files_they_name() {
    let index = TestIndex::start(Scenario::default());
    let wheel = index.artifact("shaky-1.0-py3-none-any.whl");
    let project = Project::new().requirements(&format!(
        "shaky==1.0 \\\n    --hash=sha256:{}\n",
        wheel.sha256
    ));
    project.lock(&index).assert_success();
    let lock = project.pylock();
    let shaky = lock.package("shaky");
    assert_eq!(shaky.wheel_names(), ["shaky-1.0-py3-none-any.whl"]);
    assert!(shaky.sdist().is_none(), "the sdist has no listed hash");

    let wrong = "0".repeat(64);
    project.write(
        "requirements.in",
        &format!("shaky==1.0 --hash=sha256:{wrong}\n"),
    );
    project
        .lock(&index)
        .assert_code(1)
        .assert_mentions(&["`--hash` values of `shaky`", "requirements.in:1"])
        .assert_hint_last("regenerate the hashes");

    project.write("requirements.in", "--require-hashes\nshaky==1.0\n");
    project
        .lock(&index)
        .assert_code(1)
        .assert_mentions(&["hash-checking mode", "`shaky`"]);
}
