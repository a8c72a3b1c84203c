use rpm::{FileOptions, PackageBuilder};

use super::*;
use crate::hint::Hint;

/// An RPM written with the `rpm` crate: `requires`/`provides` as
/// `(name, comparison, version)`, plus files.
struct TestRpm<'a> {
    name: &'a str,
    requires: &'a [(&'a str, &'a str, &'a str)],
    provides: &'a [&'a str],
    files: &'a [&'a str],
}

impl TestRpm<'_> {
    fn write(&self, folder: &Path) {
        let mut builder = PackageBuilder::new(self.name, "1.0", "MIT", "x86_64", "test");
        for (name, comparison, version) in self.requires {
            builder.requires(match *comparison {
                "" => Dependency::any(*name),
                "=" => Dependency::eq(*name, *version),
                ">=" => Dependency::greater_eq(*name, *version),
                other => panic!("{other}"),
            });
        }
        for name in self.provides {
            builder.provides(Dependency::any(*name));
        }
        for file in self.files {
            builder
                .with_file_contents("x", FileOptions::new(*file).mode(0o100644))
                .unwrap();
        }
        builder
            .build()
            .unwrap()
            .write_file(folder.join(format!("{}-1.0-1.el9.x86_64.rpm", self.name)))
            .unwrap();
    }
}

fn el9() -> Target {
    Target::load("el9", None).unwrap()
}

/// A folder like `vendor build` writes for an app `demo`.
fn demo_folder() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    TestRpm {
        name: "demo-venv",
        requires: &[("/usr/bin/python3.11", "", ""), ("/bin/sh", "", "")],
        provides: &[],
        files: &["/opt/demo/bin/python", "/opt/demo/pyvenv.cfg"],
    }
    .write(folder.path());
    TestRpm {
        name: "demo-python3-pillow",
        requires: &[
            ("python(abi)", "=", "3.11"),
            ("demo-venv", "", ""),
            ("/opt/demo/bin/python", "", ""),
            ("libjpeg.so.62()(64bit)", "", ""),
            ("libjpeg.so.62(LIBJPEG_6.2)(64bit)", "", ""),
            ("libz.so.1()(64bit)", "", ""),
            ("libc.so.6()(64bit)", "", ""),
            ("libc.so.6(GLIBC_2.34)(64bit)", "", ""),
            ("rtld(GNU_HASH)", "", ""),
            ("libtiff.so.6()(64bit)", "", ""),
            ("demo-python3dist(olefile)", ">=", "0.46"),
            (
                "(demo-python3dist(zope-shim) >= 1 with demo-python3dist(zope-shim) < 2)",
                "",
                "",
            ),
        ],
        provides: &["demo-python3dist(pillow)"],
        files: &["/opt/demo/lib/python3.11/site-packages/PIL/_imaging.so"],
    }
    .write(folder.path());
    TestRpm {
        name: "demo-python3-zext",
        requires: &[
            ("python(abi)", "=", "3.11"),
            ("libz.so.1()(64bit)", "", ""),
            ("libc.so.6(GLIBC_2.2.5)(64bit)", "", ""),
            ("mystery-capability", ">=", "2"),
        ],
        provides: &["demo-python3dist(olefile)", "demo-python3dist(zope-shim)"],
        files: &[],
    }
    .write(folder.path());
    folder
}

#[test]
fn maps_system_requirements_to_target_packages() {
    let folder = demo_folder();
    let requirements = system_requirements(folder.path(), &el9()).unwrap();
    assert_eq!(requirements.rpm_count, 3);
    assert_eq!(
        requirements.package_names(),
        ["bash", "glibc", "libjpeg-turbo", "python3.11", "zlib"]
    );
    let zlib = &requirements.packages["zlib"];
    assert_eq!(zlib.len(), 1);
    assert_eq!(zlib[0].capability, "libz.so.1");
    assert_eq!(
        zlib[0].required_by,
        BTreeSet::from([
            "demo-python3-pillow".to_string(),
            "demo-python3-zext".to_string()
        ])
    );
    let glibc: Vec<&str> = requirements.packages["glibc"]
        .iter()
        .map(|needed| needed.capability.as_str())
        .collect();
    assert_eq!(glibc, ["libc.so.6", "rtld(GNU_HASH)"]);
    let libc = &requirements.packages["glibc"][0];
    assert_eq!(
        libc.requires,
        BTreeSet::from([
            "libc.so.6()(64bit)".to_string(),
            "libc.so.6(GLIBC_2.34)(64bit)".to_string(),
            "libc.so.6(GLIBC_2.2.5)(64bit)".to_string(),
        ])
    );
    let python: Vec<&str> = requirements.packages["python3.11"]
        .iter()
        .map(|needed| needed.capability.as_str())
        .collect();
    assert_eq!(python, ["/usr/bin/python3.11", "python(abi) = 3.11"]);
    // Not mapped: Debian's libtiff soname (EL9 has libtiff.so.5) and an
    // unknown capability; nothing of the app's own, nor rpmlib().
    let unmapped: Vec<&str> = requirements
        .unmapped
        .iter()
        .map(|needed| needed.capability.as_str())
        .collect();
    assert_eq!(unmapped, ["libtiff.so.6", "mystery-capability >= 2"]);
    let everything = format!("{requirements:?}");
    assert!(!everything.contains("rpmlib("), "{everything}");
    assert!(!everything.contains("demo-python3dist"), "{everything}");
    assert!(!everything.contains("/opt/demo"), "{everything}");
}

/// An RPM requiring one of the app's own packages that the folder lacks
/// (it failed to build): that is no system requirement, and no target
/// package is looked for.
#[test]
fn the_apps_own_packages_missing_from_the_output_are_set_apart() {
    let folder = demo_folder();
    TestRpm {
        name: "demo-python3-psycopg",
        requires: &[("demo-python3dist(psycopg-c)", "=", "3.2.13")],
        provides: &["demo-python3dist(psycopg)"],
        files: &[],
    }
    .write(folder.path());
    let requirements = system_requirements(folder.path(), &el9()).unwrap();
    let missing: Vec<(&str, Vec<&String>)> = requirements
        .missing_from_output
        .iter()
        .map(|needed| {
            (
                needed.capability.as_str(),
                needed.required_by.iter().collect(),
            )
        })
        .collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].0.starts_with("demo-python3dist(psycopg-c)"),
        "{missing:?}"
    );
    assert_eq!(missing[0].1, ["demo-python3-psycopg"]);
    let unmapped = format!("{:?}", requirements.unmapped);
    assert!(!unmapped.contains("python3dist"), "{unmapped}");
}

#[test]
fn python_follows_the_abi_the_rpms_require() {
    let folder = tempfile::tempdir().unwrap();
    TestRpm {
        name: "demo-python3-old",
        requires: &[("python(abi)", "=", "3.9"), ("/usr/bin/python3.12", "", "")],
        provides: &[],
        files: &[],
    }
    .write(folder.path());
    let requirements = system_requirements(folder.path(), &el9()).unwrap();
    assert_eq!(requirements.package_names(), ["python3", "python3.12"]);
}

#[test]
fn an_empty_or_missing_folder_says_to_build_first() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("repodata")).unwrap();
    for path in [folder.path().to_path_buf(), folder.path().join("el9")] {
        let error = system_requirements(&path, &el9()).unwrap_err().with_hint();
        assert!(error.starts_with("no RPMs in `"), "{error}");
        assert!(error.ends_with("hint: run `vendor build` first"), "{error}");
    }
    std::fs::write(folder.path().join("broken.rpm"), b"not an rpm").unwrap();
    let error = system_requirements(folder.path(), &el9())
        .unwrap_err()
        .with_hint();
    assert!(
        error.contains("cannot read the RPM `") && error.contains("broken.rpm"),
        "{error}"
    );
}

#[test]
fn rich_dependencies_are_split_into_capabilities() {
    assert_eq!(
        rich_dependency_names("(demo-python3dist(a) >= 1 with demo-python3dist(a) < 2)"),
        ["demo-python3dist(a)", "demo-python3dist(a)"]
    );
    assert_eq!(
        rich_dependency_names("(foo or (bar if baz))"),
        ["foo", "bar", "baz"]
    );
    assert_eq!(soname_of("libc.so.6(GLIBC_2.34)(64bit)"), Some("libc.so.6"));
    assert_eq!(
        soname_of("ld-linux-x86-64.so.2"),
        Some("ld-linux-x86-64.so.2")
    );
    assert_eq!(soname_of("python3dist(foo)"), None);
}
