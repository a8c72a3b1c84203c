//! The application itself as an RPM: `dnf install <app>` gives a configured
//! site, and an upgrade keeps the server's own settings.
//!
//! Input: a test-made Django project (a model with its migration,
//! `settings.py` that imports `local_settings`, a common Apache include, a
//! service and scripts in `vendor.toml`) locked against the real index
//! with a fixed `--exclude-newer`. Output: pass/fail.
//!
//! Invariants checked with the real rpm, rpmlint, dnf and systemd-analyze:
//! - `<app>` holds the app's code, `[app.files]`, `[app.config]` as
//!   `%config(noreplace)` 0640 root:<user>, the unit and the sysusers.d
//!   entry; it requires its release's `<app>-deps` exactly; its scriptlets
//!   are the target's macros plus exactly the project's scripts;
//! - `dnf install <app>` over the el9 stand-in brings the whole set, creates
//!   the service user, runs the post-install script; `manage.py check` and
//!   `migrate` pass from the installed tree with the installed interpreter;
//!   `rpm -V` reports nothing but the edited config file;
//! - a new app version: `dnf upgrade <app>` keeps the edited
//!   `local_settings.py`, writes the new default as `.rpmnew` and runs the
//!   post-upgrade script; an unchanged rebuild is byte-identical.

use crate::common;
use crate::rpm_tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Project, PYTHON, TARGET};

const EXCLUDE_NEWER: &str = "2026-11-01T00:00:00Z";

fn pyproject(version: &str) -> String {
    format!(
        r#"[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "mysite"
version = "{version}"
description = "A test-made Django site"
license = "MIT"
requires-python = ">=3.10"
dependencies = ["django>=5.2,<5.3", "gunicorn"]

[project.urls]
Homepage = "https://example.com/mysite"

[project.scripts]
mysite-manage = "mysite.manage:main"

[tool.setuptools.packages.find]
include = ["mysite*"]
"#
    )
}

const SETTINGS: &str = r#"SECRET_KEY = "only-for-checks"
DEBUG = False
ALLOWED_HOSTS = []
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "mysite"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/var/lib/mysite/db.sqlite3"}}
ROOT_URLCONF = "mysite.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
try:
    from local_settings import *  # noqa: F401,F403 — /etc/mysite, per server
except ImportError:
    pass
"#;

const MODELS: &str = "from django.db import models\n\n\nclass Visit(models.Model):\n    when = models.DateTimeField(auto_now_add=True)\n";

const MIGRATION: &str = r#"from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Visit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("when", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
"#;

const MANAGE: &str = r#"import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"#;

const VENDOR_TOML: &str = r#"[app]
name = "mysite"
source = "."
[app.files]
"/opt/mysite/deploy/apache_common.conf" = "deploy/apache_common.conf"
[app.config]
"/etc/mysite/local_settings.py" = "deploy/local_settings.py"
[app.service]
exec = "/opt/mysite/bin/gunicorn --bind 127.0.0.1:8000 mysite.wsgi"
environment = { DJANGO_SETTINGS_MODULE = "mysite.settings" }
[app.scripts]
post-install = "echo \"installed as $(id -un)\" > /var/lib/mysite-post-install"
post-upgrade = "echo upgraded > /var/lib/mysite-post-upgrade"
"#;

fn django_project(version: &str) -> Project {
    let project = Project::new();
    project.write("pyproject.toml", &pyproject(version));
    project.write("vendor.toml", VENDOR_TOML);
    project.write("mysite/__init__.py", "");
    project.write("mysite/settings.py", SETTINGS);
    project.write("mysite/urls.py", "urlpatterns = []\n");
    project.write("mysite/models.py", MODELS);
    project.write("mysite/migrations/__init__.py", "");
    project.write("mysite/migrations/0001_initial.py", MIGRATION);
    project.write("mysite/manage.py", MANAGE);
    project.write(
        "mysite/wsgi.py",
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"mysite.settings\")\napplication = get_wsgi_application()\n",
    );
    project.write(
        "deploy/apache_common.conf",
        "# Include from the server's own virtual host.\nAlias /static/ /var/lib/mysite/static/\n",
    );
    project.write(
        "deploy/local_settings.py",
        "# This server's settings: upgrades keep your edits.\nALLOWED_HOSTS = [\"localhost\"]\n",
    );
    project
}

fn lock_and_build(project: &Project) {
    // No requirement file: the app's own project is what is locked.
    project
        .run(&[
            "lock",
            "--target",
            TARGET,
            "--python",
            PYTHON,
            "--exclude-newer",
            EXCLUDE_NEWER,
        ])
        .assert_success();
    project.run(&["build"]).assert_success();
}

fn query(rpm: &Path, args: &[&str]) -> String {
    let mut all = vec!["-qp"];
    all.extend_from_slice(args);
    all.push(rpm.to_str().unwrap());
    rpm_tools::rpm(&all)
}

/// `<root>/opt/mysite/bin/python -I` running `mysite-manage ARGS` with the
/// root's `/etc/mysite` on the path, as the installed `.pth` puts the
/// server's `/etc/mysite` there (outside a chroot it would name the host's).
fn manage(root: &Path, args: &[&str]) -> String {
    let program = format!(
        "import sys\nsys.path.insert(0, {:?})\nsys.argv = ['mysite-manage'] + {args:?}\nfrom mysite.manage import main\nmain()\n",
        root.join("etc/mysite").display().to_string(),
    );
    rpm_tools::run_venv_python(&root.join("opt/mysite"), root, &["-c", &program])
}

/// `systemd-analyze verify` of the installed unit, in a private mount
/// namespace where `/opt/mysite` is the root's (systemd checks that
/// `ExecStart` is executable); nothing changes on the host.
fn assert_unit_verifies(root: &Path) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no systemd-analyze on this host: the unit file is not verified");
        return;
    }
    let script = format!(
        "mount -t tmpfs tmpfs /opt && mkdir /opt/mysite && mount --bind {root}/opt/mysite /opt/mysite && systemd-analyze verify --man=no {root}/usr/lib/systemd/system/mysite.service",
        root = root.display()
    );
    let output = Command::new("unshare")
        .args(["--mount", "sh", "-c", &script])
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && report.trim().is_empty(),
        "{report}"
    );
}

#[test]
fn the_app_installs_as_a_configured_site_and_upgrades_keep_its_settings() {
    let project = django_project("1.0.0");
    lock_and_build(&project);
    let repository = project.file("dist/el9");
    let rpms = rpm_tools::rpms_by_name(&repository);
    let app_rpm = rpms.get("mysite").expect("the `mysite` RPM").clone();
    assert!(
        !rpms.contains_key("mysite-python3-mysite"),
        "{:?}",
        rpms.keys()
    );

    assert_eq!(
        query(&app_rpm, &["--configfiles"]).trim(),
        "/etc/mysite/local_settings.py"
    );
    let files = query(&app_rpm, &["-lv"]);
    for expected in [
        "-rw-r-----    1 root     mysite", // the config file
        "/opt/mysite/deploy/apache_common.conf",
        "/usr/lib/systemd/system/mysite.service",
        "/usr/lib/sysusers.d/mysite.conf",
        "/opt/mysite/lib/python3.11/site-packages/mysite-config.pth",
        "/opt/mysite/bin/mysite-manage",
    ] {
        assert!(files.contains(expected), "{expected}:\n{files}");
    }
    let scripts = query(&app_rpm, &["--scripts"]);
    for expected in [
        "useradd -r -g 'mysite' -d '/var/lib/mysite'",
        "systemd-update-helper install-system-units mysite.service",
        "systemd-update-helper mark-restart-system-units mysite.service",
        "echo \"installed as $(id -un)\" > /var/lib/mysite-post-install",
        "echo upgraded > /var/lib/mysite-post-upgrade",
    ] {
        assert!(scripts.contains(expected), "{expected}:\n{scripts}");
    }
    let provides = query(&app_rpm, &["--provides"]);
    assert!(
        provides.lines().any(|line| line == "mysite = 1.0.0-1.el9"),
        "{provides}"
    );
    assert!(provides.contains("user(mysite)"), "{provides}");
    let requires = query(&app_rpm, &["--requires"]);
    assert!(
        requires
            .lines()
            .any(|line| line == "mysite-deps = 1:1-1.el9"),
        "{requires}"
    );
    let all: Vec<PathBuf> = rpms.values().cloned().collect();
    rpm_tools::assert_digests_ok(&all);
    rpm_tools::assert_rpmlint_clean(&all, project.home());
    // The app's own package is verified with its service's environment:
    // its settings module loads, and django.setup() ran with it.
    project
        .run(&["verify"])
        .assert_success()
        .assert_mentions(&["import `mysite.settings`"]);
    project
        .run(&["requires"])
        .assert_success()
        .assert_mentions(&[
            "/etc/mysite/local_settings.py",
            "mysite.service",
            "user `mysite`",
        ]);

    // A new server: everything from `dnf install mysite`.
    let stand_in = rpm_tools::build_stand_in();
    let root = tempfile::tempdir().unwrap();
    let repositories = [
        ("app", repository.as_path()),
        ("standin", stand_in.repository.as_path()),
    ];
    rpm_tools::dnf_install(root.path(), &repositories, "mysite");
    let installed = rpm_tools::installed_names(root.path());
    assert_eq!(installed.len(), rpms.len() + 1, "{installed:?}");
    let passwd = fs_err::read_to_string(root.path().join("etc/passwd")).unwrap();
    assert!(passwd.contains("mysite:x:"), "{passwd}");
    let marker = fs_err::read_to_string(root.path().join("var/lib/mysite-post-install")).unwrap();
    assert_eq!(marker, "installed as root\n");
    assert!(!root.path().join("var/lib/mysite-post-upgrade").exists());
    assert_eq!(
        fs_err::read_to_string(
            root.path()
                .join("opt/mysite/lib/python3.11/site-packages/mysite-config.pth")
        )
        .unwrap(),
        "/etc/mysite\n"
    );
    assert_unit_verifies(root.path());

    // The server's own settings, then the release's database step.
    let database = root.path().join("srv-data/db.sqlite3");
    fs_err::create_dir_all(database.parent().unwrap()).unwrap();
    let edited = format!(
        "ALLOWED_HOSTS = [\"mysite.example.com\"]\nDATABASES = {{\"default\": {{\"ENGINE\": \"django.db.backends.sqlite3\", \"NAME\": {:?}}}}}\n",
        database.display().to_string()
    );
    let local_settings = root.path().join("etc/mysite/local_settings.py");
    fs_err::write(&local_settings, &edited).unwrap();
    let check = manage(root.path(), &["check"]);
    assert!(
        check.contains("System check identified no issues"),
        "{check}"
    );
    let migrate = manage(root.path(), &["migrate", "--noinput"]);
    assert!(
        migrate.contains("Applying mysite.0001_initial... OK"),
        "{migrate}"
    );
    assert!(database.is_file());
    let verify = Command::new("rpm")
        .args(["--root", root.path().to_str().unwrap(), "-V", "mysite"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        report
            .lines()
            .all(|line| line.ends_with(" c /etc/mysite/local_settings.py")),
        "rpm -V reports more than the edited config file:\n{report}"
    );

    // An unchanged rebuild is the same release, byte for byte.
    let first = rpm_tools::file_tree(&repository);
    project.run(&["build"]).assert_success();
    rpm_tools::assert_same_tree(&first, &rpm_tools::file_tree(&repository));

    // A new version of the app with a new default for the server settings.
    project.write("pyproject.toml", &pyproject("1.1.0"));
    project.write(
        "deploy/local_settings.py",
        "# This server's settings: upgrades keep your edits.\nALLOWED_HOSTS = [\"localhost\"]\nTIME_ZONE = \"UTC\"\n",
    );
    lock_and_build(&project);
    let upgraded = rpm_tools::rpms_by_name(&repository);
    assert!(
        query(&upgraded["mysite"], &["--requires"]).contains("mysite-deps = 1:2-1.el9"),
        "a new app version is a new release"
    );
    // `--refresh`: the root caches the repository metadata it installed from.
    rpm_tools::run(rpm_tools::dnf(root.path(), &repositories).args([
        "--refresh",
        "upgrade",
        "mysite",
    ]));
    let version = rpm_tools::rpm(&[
        "--root",
        root.path().to_str().unwrap(),
        "-q",
        "--qf",
        "%{VERSION}",
        "mysite",
    ]);
    assert_eq!(version, "1.1.0");
    assert_eq!(
        fs_err::read_to_string(&local_settings).unwrap(),
        edited,
        "the server's edits survive"
    );
    let rpmnew =
        fs_err::read_to_string(root.path().join("etc/mysite/local_settings.py.rpmnew")).unwrap();
    assert!(rpmnew.contains("TIME_ZONE"), "{rpmnew}");
    assert_eq!(
        fs_err::read_to_string(root.path().join("var/lib/mysite-post-upgrade")).unwrap(),
        "upgraded\n"
    );
    let check = manage(root.path(), &["check"]);
    assert!(
        check.contains("System check identified no issues"),
        "{check}"
    );
}
