use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use crate::hint::Hint;
use crate::host::{HostFamily, PkgConfig, Toolchain};
use crate::policy::Policies;

/// A fake machine: an include folder, a `bin` folder on `PATH` and a
/// pkg-config folder, all empty until a test fills them.
struct FakeHost {
    root: tempfile::TempDir,
}

impl FakeHost {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for folder in ["include", "bin", "pkgconfig"] {
            std::fs::create_dir(root.path().join(folder)).unwrap();
        }
        Self { root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    fn header(&self, relative: &str) -> &Self {
        let path = self.path("include").join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "/* test */\n").unwrap();
        self
    }

    fn executable(&self, name: &str, mode: u32) -> &Self {
        let path = self.path("bin").join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    /// A pkg-config module whose `Cflags` point at `include/<subdir>`.
    fn module(&self, name: &str, subdir: &str) -> &Self {
        let text = format!(
            "Name: {name}\nDescription: test\nVersion: 1.0\nCflags: -I{}\n",
            self.path("include").join(subdir).display()
        );
        std::fs::write(self.path("pkgconfig").join(format!("{name}.pc")), text).unwrap();
        self
    }

    fn host(&self, family: Option<HostFamily>) -> Toolchain {
        Toolchain {
            family,
            include_dirs: vec![self.path("include")],
            path: vec![self.path("bin")],
            // The real pkg-config, restricted to the fake folder.
            pkg_config: Some(PkgConfig {
                program: PathBuf::from("pkg-config"),
                libdir: Some(self.path("pkgconfig")),
            }),
        }
    }
}

fn policies() -> Policies {
    Policies::builtin()
}

fn select<'a>(policies: &'a Policies, names: &[&str]) -> Vec<&'a LoadedPolicy> {
    names
        .iter()
        .map(|name| {
            policies
                .get(&PackageName::new(name.to_string()).unwrap())
                .unwrap()
        })
        .collect()
}

/// Every Pillow prerequisite, the way Debian lays them out.
fn pillow_headers(fake: &FakeHost) {
    fake.header("jpeglib.h")
        .header("zlib.h")
        .header("freetype2/ft2build.h")
        .module("freetype2", "freetype2")
        .header("lcms2.h")
        .header("webp/mux.h")
        .header("tiff.h")
        .header("openjpeg-2.5/openjpeg.h");
}

#[test]
fn a_complete_host_passes() {
    let fake = FakeHost::new();
    pillow_headers(&fake);
    fake.executable("pg_config", 0o755)
        .executable("pkg-config", 0o755)
        .module("mariadb", "mariadb");
    let policies = policies();
    let packages = select(&policies, &["pillow", "psycopg2", "mysqlclient"]);
    preflight(&packages, &fake.host(Some(HostFamily::Debian))).unwrap();
}

#[test]
fn every_missing_prerequisite_is_reported_at_once_with_one_install_command() {
    let fake = FakeHost::new();
    pillow_headers(&fake);
    // No jpeglib.h, no pg_config (one that is not executable does not count),
    // and ft2build.h only inside include/freetype2 without pkg-config's help.
    std::fs::remove_file(fake.path("include/jpeglib.h")).unwrap();
    std::fs::remove_file(fake.path("pkgconfig/freetype2.pc")).unwrap();
    fake.executable("pg_config", 0o644);
    let policies = policies();
    let packages = select(&policies, &["pillow", "psycopg2", "pylibmc"]);
    let error = preflight(&packages, &fake.host(Some(HostFamily::Debian)))
        .unwrap_err()
        .with_hint();
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(
        lines,
        [
            "the build host lacks what `pillow`, `psycopg2`, `pylibmc` need to build from source:",
            "  `pillow` needs `jpeglib.h` (JPEG support)",
            "  `pillow` needs `ft2build.h` (TrueType/OpenType fonts (freetype))",
            "  `psycopg2` needs `pg_config` on `PATH` (libpq, the PostgreSQL client library (`pg_config`))",
            "  `pylibmc` needs `libmemcached/memcached.h` (libmemcached)",
            "hint: apt-get install libjpeg62-turbo-dev libfreetype-dev libpq-dev libmemcached-dev",
        ],
        "{error}"
    );
    // zlib.h is there, so pylibmc's zlib prerequisite is met.
    assert!(!error.contains("zlib"), "{error}");
    let el = preflight(&packages, &fake.host(Some(HostFamily::El)))
        .unwrap_err()
        .with_hint();
    assert!(
        el.ends_with(
            "hint: dnf install libjpeg-turbo-devel freetype-devel libpq-devel libmemcached-awesome-devel"
        ),
        "{el}"
    );
    // Fedora uses the EL names unless the policy gives its own.
    let fedora = preflight(&packages, &fake.host(Some(HostFamily::Fedora)))
        .unwrap_err()
        .with_hint();
    assert!(fedora.ends_with(el.lines().last().unwrap()), "{fedora}");
    let unknown = preflight(&packages, &fake.host(None))
        .unwrap_err()
        .with_hint();
    assert!(
        unknown.contains("on Debian: apt-get install libjpeg62-turbo-dev")
            && unknown.contains("on EL: dnf install libjpeg-turbo-devel"),
        "{unknown}"
    );
}

#[test]
fn alternatives_and_pkg_config_folders_count() {
    let fake = FakeHost::new();
    // mysqlclient: any one of its pkg-config modules, plus pkg-config itself.
    fake.executable("pkg-config", 0o755)
        .module("libmariadb", "mariadb");
    // lxml: xml2-config alone satisfies libxml2; libxslt by its header.
    fake.executable("xml2-config", 0o755)
        .header("libxslt/xslt.h");
    // pillow's freetype: the header in a folder only pkg-config names.
    let policies = policies();
    let host = fake.host(Some(HostFamily::El));
    preflight(&select(&policies, &["mysqlclient", "lxml"]), &host).unwrap();

    let without_pkg_config = Toolchain {
        pkg_config: None,
        ..host.clone()
    };
    let error = preflight(&select(&policies, &["mysqlclient"]), &without_pkg_config)
        .unwrap_err()
        .with_hint();
    assert!(
        error.contains(
            "`mysqlclient` needs pkg-config module `mysqlclient` or `mariadb` or `libmariadb` or `perconaserverclient`"
        ),
        "{error}"
    );
    assert!(
        error.ends_with("hint: dnf install mariadb-connector-c-devel"),
        "{error}"
    );
}

#[test]
fn a_prerequisite_without_a_package_for_the_family_is_named() {
    let project = tempfile::tempdir().unwrap();
    let folder = project.path().join("policies/packages");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("foo.toml"),
        "[[prerequisites]]\nheader = \"foo.h\"\nfeature = \"foo\"\npackages = { el = \"foo-devel\" }\n\
         [[prerequisites]]\nexecutable = \"/opt/foo/bin/foo-config\"\npackages = { debian = \"foo-dev\" }\n",
    )
    .unwrap();
    let policies = Policies::load(Some(project.path())).unwrap();
    let fake = FakeHost::new();
    let error = preflight(
        &select(&policies, &["foo"]),
        &fake.host(Some(HostFamily::Debian)),
    )
    .unwrap_err()
    .with_hint();
    assert!(
        error.ends_with("hint: apt-get install foo-dev; no package is known for `foo.h` (`foo`)"),
        "{error}"
    );
}

/// This machine, as the tests run on it (Debian 12 with
/// `scripts/install-deps.sh` run): the policies of the example app and of
/// the packages install-deps provides for pass.
#[test]
fn this_build_host_has_what_install_deps_provides() {
    let host = Toolchain::detect();
    assert!(
        host.include_dirs
            .iter()
            .any(|dir| dir == Path::new("/usr/include")),
        "{host:?}"
    );
    assert!(host.pkg_config.is_some(), "{host:?}");
    let policies = policies();
    let packages = select(&policies, &["pillow", "psycopg2", "mysqlclient", "lxml"]);
    if let Err(error) = preflight(&packages, &host) {
        panic!("{error}\n(run scripts/install-deps.sh)");
    }
    if Path::new("/etc/debian_version").exists() {
        assert_eq!(host.family, Some(HostFamily::Debian));
    }
}
