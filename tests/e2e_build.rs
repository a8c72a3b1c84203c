//! End-to-end test of `vendor build` against the real index (PyPI).
//!
//! Input: a wheels-only web app (Django, whitenoise, gunicorn, MarkupSafe,
//! PyYAML, zope.interface, python-dateutil<3, SQLAlchemy, psycopg2-binary),
//! locked for el9 / CPython 3.11.9 with a fixed `--exclude-newer` cutoff so
//! the answer does not move as PyPI grows. Output: pass/fail; the test works
//! in its own temporary project, cache and install roots.
//!
//! Invariants checked, with the real tools, on the RPMs of real wheels
//! (C extensions, manylinux `.libs/` bundles, templates, translations):
//! - `vendor lock` → `vendor build` writes one RPM per locked package plus
//!   `<app>-venv` and `<app>-deps`; `rpm -K` accepts each; `rpmlint` with
//!   `tests/rpmlint.toml` reports no error and no warning; every `License`
//!   is a strict SPDX expression and every package RPM has a URL;
//! - `dnf --installroot` installs `<app>-deps` from the generated repository
//!   plus the `el9-standin` repository (so every soname, symbol version and
//!   interpreter the RPMs require is one EL9 provides);
//! - the installed venv, run without chroot (its `bin/python` resolves to
//!   the host's python3.11), imports every top-level module and the compiled
//!   extensions from the root's site-packages, and the `gunicorn` console
//!   script runs;
//! - a second `vendor build` gives byte-identical RPMs and repodata.
//!
//! Needs the network (PyPI) and python3.11, rpm, rpmbuild, rpmlint, dnf and
//! createrepo_c (scripts/install-deps.sh).

use crate::common;
use crate::rpm_tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Project, PYTHON};

const EXCLUDE_NEWER: &str = "2026-11-01T00:00:00Z";
const APP: &str = "webapp";
const PREFIX: &str = "/opt/webapp";
const SITE_PACKAGES: &str = "opt/webapp/lib/python3.11/site-packages";

const REQUIREMENTS: &str = "Django\nwhitenoise\ngunicorn\nMarkupSafe\nPyYAML\nzope.interface\n\
                            python-dateutil<3\nSQLAlchemy\npsycopg2-binary\n";

/// The RPM of each requirement (its dependencies add more).
const REQUIRED_RPMS: &[&str] = &[
    "webapp-python3-django",
    "webapp-python3-whitenoise",
    "webapp-python3-gunicorn",
    "webapp-python3-markupsafe",
    "webapp-python3-pyyaml",
    "webapp-python3-zope-interface",
    "webapp-python3-python-dateutil",
    "webapp-python3-sqlalchemy",
    "webapp-python3-psycopg2-binary",
    "webapp-venv",
    "webapp-deps",
];

/// Modules to import from the installed root: every requirement's top-level
/// module and, for the packages with C extensions, the extension itself (so
/// the ELF dependencies and bundled libraries are exercised, not a
/// pure-Python fallback).
const MODULES: &[&str] = &[
    "django",
    "whitenoise",
    "gunicorn",
    "markupsafe",
    "markupsafe._speedups",
    "yaml",
    "yaml._yaml",
    "zope.interface",
    "zope.interface._zope_interface_coptimizations",
    "dateutil",
    "sqlalchemy",
    "sqlalchemy.engine._row_cy",
    "psycopg2",
    "psycopg2._psycopg",
];

/// `<root>/opt/webapp/bin/python -I ARGS`, run from the root.
fn run_installed_python(root: &Path, args: &[&str]) -> String {
    rpm_tools::run_venv_python(&root.join(PREFIX.trim_start_matches('/')), root, args)
}

fn assert_metadata_tags(rpms: &BTreeMap<String, PathBuf>) {
    for (name, rpm) in rpms {
        let license = rpm_tools::rpm(&["-qp", "--qf", "%{LICENSE}", rpm.to_str().unwrap()]);
        assert!(
            spdx::Expression::parse(&license).is_ok(),
            "{name}: License `{license}` is not a strict SPDX expression"
        );
        let url = rpm_tools::rpm(&["-qp", "--qf", "%{URL}", rpm.to_str().unwrap()]);
        if name.contains("-python3-") {
            assert!(url.starts_with("https://"), "{name}: URL `{url}`");
        }
    }
}

fn assert_modules_import_from(root: &Path) {
    let program = format!(
        "import importlib, sys\nprint(sys.prefix)\nfor name in {MODULES:?}:\n    \
         print(importlib.import_module(name).__file__)\n"
    );
    let report = run_installed_python(root, &["-c", &program]);
    let mut lines = report.lines();
    assert_eq!(
        lines.next().map(Path::new),
        Some(root.join(PREFIX.trim_start_matches('/')).as_path()),
        "sys.prefix is the installed venv\n{report}"
    );
    let site_packages = root.join(SITE_PACKAGES);
    let files: Vec<&str> = lines.collect();
    assert_eq!(files.len(), MODULES.len(), "{report}");
    for (module, file) in MODULES.iter().zip(files) {
        assert!(
            Path::new(file).starts_with(&site_packages),
            "`{module}` is imported from `{file}`, not the root's site-packages"
        );
    }
}

#[test]
fn a_wheels_only_app_from_pypi_locks_builds_installs_with_dnf_and_imports() {
    let project = Project::new().requirements(REQUIREMENTS);
    project.write(
        "vendor.toml",
        &format!("[app]\nname = \"{APP}\"\nprefix = \"{PREFIX}\"\n"),
    );
    // No `--index-url`: the default index, PyPI.
    project
        .lock_command(None, PYTHON, &["--exclude-newer", EXCLUDE_NEWER])
        .assert_success();
    let locked = project.pylock().packages().len();
    project.run(&["build"]).assert_success();
    let repository = project.file("dist/el9");
    let (rpms, root) = rpm_tools::check_and_install_repository(
        &repository,
        locked,
        REQUIRED_RPMS,
        "webapp-deps",
        project.home(),
    );
    assert_metadata_tags(&rpms);
    assert_modules_import_from(root.path());
    let gunicorn = root
        .path()
        .join(PREFIX.trim_start_matches('/'))
        .join("bin/gunicorn");
    let version = run_installed_python(root.path(), &[gunicorn.to_str().unwrap(), "--version"]);
    assert!(version.starts_with("gunicorn (version "), "{version}");

    let first = rpm_tools::file_tree(&repository);
    project.run(&["build", "--out", "again"]).assert_success();
    let second = rpm_tools::file_tree(&project.file("again/el9"));
    rpm_tools::assert_same_tree(&first, &second);
}

/// Django app packages read Django's settings when imported
/// (`django-tables2`, `django-timezone-field`: `ImproperlyConfigured`
/// outside a project). Verification sets Django up with minimal settings
/// first, as a project does, so they pass as the working packages they are,
/// and `vendor verify` shows their imports.
#[test]
fn django_app_packages_that_read_settings_at_import_pass_verification() {
    let project =
        Project::new().requirements("Django>=5.2,<5.3\ndjango-tables2\ndjango-timezone-field\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project
        .lock_command(None, PYTHON, &["--exclude-newer", EXCLUDE_NEWER])
        .assert_success();
    project.run(&["build"]).assert_success();
    project
        .run(&["verify"])
        .assert_success()
        .assert_mentions(&["import `django_tables2`", "import `timezone_field`"])
        .assert_not_mentions("ImproperlyConfigured");
}
