//! Hermetic tests of issue 4: `vendor build` builds a C extension from its
//! sdist on this host (PEP 517, in-tree backend, no download), verifies it
//! against its policy and only then packages it.
//!
//! The sdist is `test-data/native/featurepkg-1.0`: like Pillow, its backend
//! silently builds without zlib when `zlib.h` is not found. Each test writes
//! the project's own `policies/packages/featurepkg.toml` and runs the real
//! binary against the loopback index, with the real gcc, python3.11, rpm and
//! rpmlint.

use crate::common;
use crate::rpm_tools;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::dist::native_sdist;
use common::rpm_fixtures::FIXTURE_UPLOAD_TIME;
use common::{sha256_hex, Artifact, Location, Project, Scenario, TestIndex};

const APP: &str = "demo";
const FEATURE_RPM: &str = "demo-python3-featurepkg-1.0-1.el9.x86_64.rpm";
const PLAIN_RPM: &str = "demo-python3-plainpkg-2.0-1.el9.noarch.rpm";

/// The policy every test starts from: build from source, link zlib, no
/// bundled copies, prove zlib support with a probe.
const POLICY: &str = r#"
source = "sdist"
"#;

/// The checks of [`POLICY`], after any `[build]` table a test adds.
const VERIFY: &str = r#"
[verify]
links = ["libz.so.*"]
bundled = false
imports = ["featurepkg._featurepkg"]

[[verify.probes]]
name = "zlib"
code = "import featurepkg; assert featurepkg.features()['zlib']"
explanation = "featurepkg was built without zlib: compressed files cannot be read"
hint = "install zlib's headers on the build host (apt-get install zlib1g-dev)"
"#;

/// [`POLICY`] with `build` (TOML tables) before its checks.
fn policy(build: &str) -> String {
    format!("{POLICY}\n{build}\n{VERIFY}")
}

/// `featurepkg` (sdist only) and `plainpkg` (a pure wheel), locked.
fn native_app(policy: &str) -> (TestIndex, Project) {
    let sdist = native_sdist();
    let bytes = sdist.build();
    let artifact = Artifact {
        project: "featurepkg".to_string(),
        normalized: "featurepkg".to_string(),
        version: "1.0".to_string(),
        filename: sdist.filename(),
        sha256: sha256_hex(&bytes),
        bytes: Arc::new(bytes),
        requires_python: None,
        yanked: None,
        upload_time: FIXTURE_UPLOAD_TIME.to_string(),
        metadata: None,
        location: Location::Index,
        stated_size: None,
    };
    let scenario = Scenario::from_toml(
        r#"
[[project]]
name = "plainpkg"
[[project.version]]
version = "2.0"
[[project.version]]
version = "2.1"
"#,
    )
    .with_artifact(artifact);
    let index = TestIndex::start(scenario);
    let project = Project::new().requirements("featurepkg\nplainpkg==2.0\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project.write("policies/packages/featurepkg.toml", policy);
    project.lock(&index).assert_success();
    (index, project)
}

fn rpms_in(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.file("dist/el9"))
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".rpm"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The logs of `vendor build` (the lock's hooks log elsewhere, in
/// `work/lock/logs/`).
fn build_logs(project: &Project) -> Vec<PathBuf> {
    common::files_under(&project.cache_dir().join("work").join(common::TARGET))
        .into_iter()
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect()
}

#[test]
fn with_the_header_the_extension_links_zlib_passes_its_probe_and_is_packaged() {
    let (_index, project) = native_app(&policy(""));
    let lock = std::fs::read_to_string(project.file("pylock.toml")).unwrap();
    assert!(
        lock.contains("build-requires = []"),
        "the in-tree backend needs nothing: {lock}"
    );

    let first = project.run(&["build"]);
    first.assert_success();
    first.assert_mentions(&["featurepkg", "sdist (built)"]);
    let rpm = project.file("dist/el9").join(FEATURE_RPM);
    let requires = rpm_tools::rpm_query_lines(&rpm, "--requires");
    assert!(
        requires.iter().any(|line| line == "libz.so.1()(64bit)"),
        "{requires:?}"
    );
    let all: Vec<PathBuf> = rpms_in(&project)
        .iter()
        .map(|name| project.file("dist/el9").join(name))
        .collect();
    assert_eq!(all.len(), 4, "featurepkg, plainpkg, venv, deps: {all:?}");
    rpm_tools::assert_digests_ok(&all);
    // plainpkg is generated without a URL; rpmlint checks the rest.
    let linted: Vec<PathBuf> = all
        .iter()
        .filter(|path| !path.to_string_lossy().contains("plainpkg"))
        .cloned()
        .collect();
    rpm_tools::assert_rpmlint_clean(&linted, project.home());
    let first_bytes = std::fs::read(&rpm).unwrap();

    // Nothing changed: nothing is rebuilt and the RPM bytes are identical.
    let logs_before = build_logs(&project).len();
    let second = project.run(&["build"]);
    second.assert_success();
    second.assert_mentions(&["sdist (cached build)"]);
    assert_eq!(build_logs(&project).len(), logs_before);
    assert_eq!(std::fs::read(&rpm).unwrap(), first_bytes);
    assert!(
        std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(&rpm).unwrap()) >= 2,
        "the unchanged RPM is the one kept in the cache, linked, not written again"
    );

    let verify = project.run(&["verify"]);
    verify.assert_success();
    verify.assert_mentions(&["probe `zlib`", "links `libz.so.*`", "import `featurepkg`"]);
}

#[test]
fn with_the_header_hidden_verification_names_the_missing_feature_and_keeps_the_others() {
    let empty = tempfile::tempdir().unwrap();
    let (_index, project) = native_app(&policy(&format!(
        "[build.env]\nFEATUREPKG_INCLUDE_DIRS = \"{}\"",
        empty.path().display()
    )));

    let outcome = project.run(&["build"]);
    outcome.assert_code(1);
    outcome.assert_mentions(&[
        "`featurepkg` 1.0 failed verification",
        "probe `zlib`",
        "featurepkg was built without zlib: compressed files cannot be read",
        "links `libz.so.*`",
        "hint: install zlib's headers",
    ]);
    assert_eq!(
        rpms_in(&project),
        [
            PLAIN_RPM.to_string(),
            "demo-venv-3.11.9-1.el9.x86_64.rpm".to_string()
        ],
        "no RPM for featurepkg and no demo-deps; the sound package is packaged"
    );
    project.run(&["verify"]).assert_code(1);
}

#[test]
fn preflight_reports_every_missing_prerequisite_before_any_build() {
    let policy = policy(
        r#"
[[prerequisites]]
header = "vendor-test-missing.h"
feature = "the missing feature"
packages = { debian = "libvendor-test-dev", el = "vendor-test-devel" }

[[prerequisites]]
executable = "vendor-test-missing-config"
packages = { debian = "vendor-test-tools", el = "vendor-test-tools" }
"#,
    );
    let (_index, project) = native_app(&policy);
    let outcome = project.run(&["build"]);
    outcome.assert_code(1);
    outcome.assert_mentions(&[
        "`featurepkg` needs `vendor-test-missing.h`",
        "the missing feature",
        "vendor-test-missing-config",
        "hint: apt-get install libvendor-test-dev vendor-test-tools",
    ]);
    assert!(build_logs(&project).is_empty(), "no build started");
    assert!(rpms_in(&project).is_empty());
}

#[test]
fn a_failing_backend_shows_the_log_tail_its_path_and_the_policy_hint() {
    let (_index, project) = native_app(&policy(""));
    // Set after locking: locking builds featurepkg too, to read its metadata
    // (its PKG-INFO is Metadata-Version 2.1, so not static).
    project.write(
        "policies/packages/featurepkg.toml",
        &policy(
            "[build]\nhint = \"ask the featurepkg maintainers\"\nenv = { FEATUREPKG_FAIL = \"1\" }",
        ),
    );
    let outcome = project.run(&["build"]);
    outcome.assert_code(1);
    outcome.assert_mentions(&[
        "`featurepkg` could not be built",
        "error: featurepkg was told to fail (FEATUREPKG_FAIL is set)",
        "featurepkg-1.0.log",
        "ask the featurepkg maintainers",
    ]);
    let logs = build_logs(&project);
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(log.contains("featurepkg was told to fail"), "{log}");
    assert_eq!(rpms_in(&project), [PLAIN_RPM.to_string(), venv_rpm()]);
}

#[test]
fn changing_one_pin_rebuilds_and_repackages_that_package_only() {
    let (index, project) = native_app(&policy(""));
    project.run(&["build"]).assert_success();
    let feature_rpm = project.file("dist/el9").join(FEATURE_RPM);
    let feature_bytes = std::fs::read(&feature_rpm).unwrap();
    let logs = build_logs(&project).len();

    project.write("requirements.in", "featurepkg\nplainpkg==2.1\n");
    project.lock(&index).assert_success();
    let outcome = project.run(&["build"]);
    outcome.assert_success();
    outcome.assert_mentions(&[
        "sdist (cached build)",
        "demo-python3-plainpkg-2.1-1.el9.noarch.rpm",
    ]);
    assert_eq!(
        build_logs(&project).len(),
        logs,
        "featurepkg was not built again"
    );
    assert_eq!(std::fs::read(&feature_rpm).unwrap(), feature_bytes);
    // The repository keeps release 1 (plainpkg 2.0) for rollbacks;
    // release 2's `demo-deps` requires 2.1.
    let rpms = rpms_in(&project);
    for file in [
        PLAIN_RPM,
        "demo-deps-1-1.el9.noarch.rpm",
        "demo-deps-2-1.el9.noarch.rpm",
    ] {
        assert!(rpms.contains(&file.to_string()), "{file}: {rpms:?}");
    }
}

fn venv_rpm() -> String {
    "demo-venv-3.11.9-1.el9.x86_64.rpm".to_string()
}

#[test]
fn a_build_requirement_the_lock_lacks_is_an_error_naming_it() {
    let (_index, project) = native_app(&policy(""));
    // After locking, the backend starts asking for one more requirement.
    project.write(
        "policies/packages/featurepkg.toml",
        &policy("[build]\nconfig-settings = { build-requires = \"cythonish>=3\" }"),
    );
    let outcome = project.run(&["build"]);
    outcome.assert_code(1);
    outcome.assert_mentions(&[
        "needs `cythonish>=3`",
        "not among its locked build requirements",
        "hint: run `vendor lock`",
    ]);
}

#[test]
fn a_policy_with_an_unknown_key_names_the_file_and_the_key() {
    let (_index, project) = native_app(&policy(""));
    let path = project.write(
        "policies/packages/featurepkg.toml",
        &policy("").replace("bundled = false", "bundled = false\nprob = 1"),
    );
    let outcome = project.run(&["build"]);
    outcome.assert_code(1);
    outcome.assert_mentions(&[path_text(&path).as_str(), "prob"]);
}

fn path_text(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}
