//! Integration tests of `vendor requires`: the real binary locks and builds
//! a small app from the loopback index — a pure wheel depending on `zext`,
//! a C extension compiled here with gcc that links the system zlib — and
//! `vendor requires` names what an EL9 server must install for it: `zlib`
//! for `libz.so.1`, `glibc`, and the target's `python3.11`. A second app
//! links this Debian host's `libtiff.so.6`, which EL9 ships as
//! `libtiff.so.5`: verification refuses it unless the project allows a
//! foreign build host, and then `vendor requires` says what EL9 has.

use crate::common;

use common::rpm_fixtures::{
    build_source, python_include_flag, scenario_of, wheel_artifact, Compiler,
};
use common::{ArchiveFile, CoreMetadata, Project, Scenario, TestIndex, WheelBuilder};

const EXTENSION_TAG: &str = "cp311-cp311-manylinux_2_17_x86_64";

/// `<package>` 1.0 whose `__init__` imports `export` from `_<package>`, a
/// C extension compiled from `test-data/c-sources/<package>.c` and linked with
/// `library` (`-lz`).
fn extension_wheel(
    compiler: &Compiler,
    package: &str,
    export: &str,
    library: &str,
) -> WheelBuilder {
    let module = format!("{package}/_{package}.cpython-311-x86_64-linux-gnu.so");
    let compiled = compiler.gcc(
        &module,
        &[
            "-shared",
            "-fPIC",
            "-O2",
            &python_include_flag(),
            &build_source(&format!("{package}.c")).display().to_string(),
            library,
        ],
    );
    WheelBuilder::new(package, "1.0", EXTENSION_TAG)
        .file(
            &format!("{package}/__init__.py"),
            format!("from ._{package} import {export}\n"),
        )
        .add(ArchiveFile::with_mode(
            module,
            fs_err::read(&compiled).unwrap(),
            0o755,
        ))
}

fn app_wheels(compiler: &Compiler) -> Vec<WheelBuilder> {
    let mut webapp = CoreMetadata::new("webapp", "1.0");
    webapp.requires_dist = vec!["zext>=1.0".to_string()];
    vec![
        WheelBuilder::new("webapp", "1.0", "py3-none-any")
            .metadata(&webapp)
            .file("webapp/__init__.py", "import zext\n"),
        extension_wheel(compiler, "zext", "crc32", "-lz"),
    ]
}

#[test]
fn names_the_el9_packages_a_server_needs() {
    let compiler = Compiler::new();
    let scenario = scenario_of(&app_wheels(&compiler));
    let index = TestIndex::start(scenario);
    let project = Project::new().requirements("webapp\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    project.lock(&index).assert_success();

    // Nothing built yet.
    project.run(&["requires"]).assert_code(1).assert_mentions(&[
        "no RPMs in `",
        "dist/el9`",
        "hint: run `vendor build` first",
    ]);

    project.run(&["build"]).assert_success();
    let outcome = project.run(&["requires"]);
    outcome.assert_success();
    let rows: Vec<Vec<&str>> = outcome
        .stdout
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows[0],
        ["package", "needed for", "required by"],
        "{}",
        outcome.stdout
    );
    assert!(
        rows.contains(&vec!["zlib", "libz.so.1", "demo-python3-zext"]),
        "{}",
        outcome.stdout
    );
    // The extension needs the dynamic loader's GNU hash support at least.
    assert!(
        rows.iter().any(|row| row.first() == Some(&"glibc")),
        "{}",
        outcome.stdout
    );
    assert!(
        rows.iter().any(|row| row.contains(&"python(abi) = 3.11")),
        "{}",
        outcome.stdout
    );
    let install = outcome
        .stdout
        .lines()
        .find(|line| line.starts_with("dnf install "))
        .unwrap_or_else(|| panic!("no dnf line\n{}", outcome.stdout));
    let packages: Vec<&str> = install["dnf install ".len()..].split(' ').collect();
    for package in ["glibc", "python3.11", "zlib"] {
        assert!(packages.contains(&package), "{install}");
    }
    // The app's own packages and rpm's features are never system requirements.
    outcome.assert_not_mentions("demo-python3dist");
    outcome.assert_not_mentions("rpmlib(");
    outcome.assert_not_mentions("warning:");
}

#[test]
fn a_library_el9_ships_under_another_soname_fails_the_build_unless_the_host_is_allowed() {
    let compiler = Compiler::new();
    let index = TestIndex::start(Scenario::empty().with_artifact(wheel_artifact(
        &extension_wheel(&compiler, "tiffext", "version", "-l:libtiff.so.6"),
    )));
    let project = Project::new().requirements("tiffext\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    project.lock(&index).assert_success();

    let refused = project.run(&["build"]);
    refused.assert_code(1);
    refused.assert_mentions(&[
        "`tiffext` 1.0 failed verification",
        "libraries of `el9`",
        "links `libtiff.so.6`, but `el9` ships `libtiff.so.5` (`libtiff`)",
        "`dnf install` refuses it",
        "hint: build on a host of the target's distribution (`el9`, glibc 2.34)",
        "`allow-foreign-host = true`",
    ]);
    assert!(
        !project
            .file("dist/el9/demo-python3-tiffext-1.0-1.el9.x86_64.rpm")
            .exists(),
        "a refused package has no RPM"
    );

    // The flag, for one trial build; then the setting, for the project.
    let allowed = project.run(&["build", "--allow-foreign-host"]);
    allowed.assert_success();
    allowed.assert_mentions(&[
        "warning: no package of target `el9` is known to provide:",
        "libtiff.so.6 (required by demo-python3-tiffext; `el9` ships `libtiff.so.5` (libtiff))",
        "hint: these rpms were built against the build host's libraries",
    ]);
    assert!(project
        .file("dist/el9/demo-python3-tiffext-1.0-1.el9.x86_64.rpm")
        .is_file());
    project.run(&["verify"]).assert_code(1);
    project.write(
        "vendor.toml",
        "[app]\nname = \"demo\"\n[build]\nallow-foreign-host = true\n",
    );
    let verified = project.run(&["verify"]);
    verified.assert_success();
    verified.assert_mentions(&["allowed by `allow-foreign-host`: links `libtiff.so.6`"]);
    project
        .run(&["requires"])
        .assert_success()
        .assert_mentions(&["`el9` ships `libtiff.so.5` (libtiff)"]);
}
