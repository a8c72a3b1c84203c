//! End-to-end test on a real application's own requirement file, against
//! the real index: NetBox 4.4.10's `requirements.txt`, as the project ships
//! it (`test-data/requirements/netbox-4.4.10.txt`, source named there).
//!
//! Input: that file, locked for el9 / CPython 3.11.9 with a fixed
//! `--exclude-newer`; the project policy builds Pillow without TIFF (see
//! `e2e_native`). Output: pass/fail.
//!
//! Checked: `vendor lock` → `vendor build` (every package verified, no
//! false failure: Django app packages that read settings at import,
//! psycopg's C implementation imported after psycopg) → one RPM per locked
//! package plus `<app>-venv` and `<app>-deps`, each accepted by `rpm -K`
//! and rpmlint → `dnf --installroot` over the el9 stand-in installs them
//! all → every top-level module of every installed distribution is tried
//! (`tests/common/import_everything.py`), and exactly the modules that
//! import in a venv uv installs from the same pins, with the same
//! interpreter, import from the RPMs.
//!
//! Needs the network (PyPI), what `e2e_native` needs, and uv.

use crate::common;
use crate::rpm_tools;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{uv_binary, Project, PYTHON};

const EXCLUDE_NEWER: &str = "2026-11-01T00:00:00Z";
const NETBOX_REQUIREMENTS: &str = include_str!("../test-data/requirements/netbox-4.4.10.txt");
const IMPORT_EVERYTHING: &str = include_str!("common/import_everything.py");
const TIME_LIMIT: Duration = Duration::from_secs(20 * 60);

/// `{module: "ok" | error}` for every top-level module under `site_packages`,
/// imported by `python`.
fn import_everything(
    python: &Path,
    site_packages: &Path,
    scratch: &Path,
) -> BTreeMap<String, String> {
    let script = scratch.join("import_everything.py");
    std::fs::write(&script, IMPORT_EVERYTHING).unwrap();
    let output = rpm_tools::run(
        Command::new(python)
            .arg("-I")
            .arg(&script)
            .arg(site_packages)
            .env_remove("PYTHONPATH")
            .env_remove("VIRTUAL_ENV")
            .current_dir(scratch),
    );
    serde_json::from_str(output.trim()).unwrap_or_else(|error| panic!("{error}: {output}"))
}

/// A venv of `interpreter` holding exactly the lock's pins, installed by uv.
fn uv_venv(project: &Project, interpreter: &Path, scratch: &Path) -> std::path::PathBuf {
    let pins: String = project
        .pylock()
        .packages()
        .iter()
        .map(|package| format!("{}=={}\n", package.name, package.version))
        .collect();
    let pins_file = scratch.join("pins.txt");
    std::fs::write(&pins_file, pins).unwrap();
    let venv = scratch.join("venv");
    let uv = |args: &[&str]| {
        rpm_tools::run(
            Command::new(uv_binary())
                .args(args)
                .env("UV_CACHE_DIR", scratch.join("uv-cache"))
                .env("UV_NO_CONFIG", "1")
                .env("UV_PYTHON_DOWNLOADS", "never")
                .env("VIRTUAL_ENV", &venv),
        )
    };
    uv(&[
        "venv",
        "--quiet",
        "--python",
        interpreter.to_str().unwrap(),
        venv.to_str().unwrap(),
    ]);
    uv(&[
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "-r",
        pins_file.to_str().unwrap(),
    ]);
    venv
}

#[test]
fn netbox_requirements_lock_build_install_with_dnf_and_import_as_with_uv() {
    let mut project = Project::new().requirements(NETBOX_REQUIREMENTS);
    project.set_time_limit(TIME_LIMIT);
    project.write(
        "vendor.toml",
        "[app]\nname = \"netbox\"\nprefix = \"/opt/netbox\"\n",
    );
    project.write(
        "policies/packages/pillow.toml",
        &crate::e2e_native::pillow_policy_without_tiff(),
    );
    project
        .lock_command(None, PYTHON, &["--exclude-newer", EXCLUDE_NEWER])
        .assert_success();
    let locked = project.pylock().packages().len();
    assert!(
        locked > 90,
        "NetBox locks about a hundred packages, not {locked}"
    );

    let started = Instant::now();
    let build = project.run(&["build"]);
    build.assert_success();
    eprintln!(
        "netbox: {locked} packages, built in {:.1?}",
        started.elapsed()
    );
    let verify = project.run(&["verify"]);
    verify.assert_success();
    let checks = verify
        .stdout
        .lines()
        .filter(|line| line.contains(" ok "))
        .count();
    eprintln!("netbox: `vendor verify` passed {checks} checks");

    let repository = project.file("dist/el9");
    let (_rpms, root) = rpm_tools::check_and_install_repository(
        &repository,
        locked,
        &[
            "netbox-python3-django",
            "netbox-python3-psycopg-c",
            "netbox-python3-pillow",
        ],
        "netbox-deps",
        project.home(),
    );

    // The root's `bin/python` links to the target's interpreter path, which
    // on this host is the host's; the uv venv uses the same one.
    let root_python = root.path().join("opt/netbox/bin/python");
    let interpreter = std::fs::read_link(&root_python).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let from_rpms = import_everything(
        &root_python,
        &root.path().join("opt/netbox/lib/python3.11/site-packages"),
        scratch.path(),
    );
    let venv = uv_venv(&project, &interpreter, scratch.path());
    let from_uv = import_everything(
        &venv.join("bin/python"),
        &venv.join("lib/python3.11/site-packages"),
        scratch.path(),
    );
    let imported = |results: &BTreeMap<String, String>| -> Vec<String> {
        let mut modules: Vec<String> = results
            .iter()
            .filter(|(_, result)| *result == "ok")
            .map(|(module, _)| module.clone())
            .collect();
        modules.sort();
        modules
    };
    eprintln!(
        "netbox: {} of {} top-level modules import from the RPMs",
        imported(&from_rpms).len(),
        from_rpms.len()
    );
    assert_eq!(
        from_rpms.keys().collect::<Vec<_>>(),
        from_uv.keys().collect::<Vec<_>>(),
        "the same modules are installed"
    );
    assert_eq!(
        imported(&from_rpms),
        imported(&from_uv),
        "the same modules import\nfrom the RPMs: {from_rpms:#?}\nfrom uv: {from_uv:#?}"
    );
    assert!(
        imported(&from_rpms).len() * 10 > from_rpms.len() * 9,
        "{from_rpms:#?}"
    );
}
