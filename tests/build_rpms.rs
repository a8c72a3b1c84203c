//! Integration tests of `vendor build`: the real binary locks and packages an
//! app from the loopback index, and every RPM it writes is checked with the
//! real tools — `rpm -K`, `rpm -qp --requires/--provides` against exact
//! expectations, `rpmlint` with `tests/rpmlint.toml`, `rpm --root -i` into a
//! scratch root with dependencies checked, imports and console scripts run
//! from that root, and `dnf --installroot` from the generated repository.
//!
//! The app (`demo`, prefix `/opt/demo`, target el9 / CPython 3.11.9) is
//! built once per run ([`app`]) from wheels this file makes:
//! - `pureapp` 1.0, pure, with console and GUI entry points, a `#!python`
//!   script in `.data/scripts`, an extra (`fast`) the requirements activate
//!   and a dependency only Windows would need;
//! - `postrel` 1.0.post1 (`^`), `prerel` 2.0b1 (`~`, pinned with `==`),
//!   `Zope.Shim` (a dotted name), `epochpkg` 1!2.0 (an epoch);
//! - `zext`, a C extension compiled here with gcc that links the system zlib;
//! - `bundler`, a C extension linking `libbundled.so.1` it ships in
//!   `bundler.libs/`, found through `RPATH=$ORIGIN/../bundler.libs`.
//!
//! The target system is the stand-in package `el9-standin`, built with
//! `rpmbuild` from `test-data/el9-standin.spec`: it provides EL9's
//! sonames, symbol versions, `python(abi)` and interpreter path, so the
//! scratch roots need nothing from the (Debian) build host's rpm database.
//! The installed venv runs without chroot: its `bin/python` symlink points
//! at `/usr/bin/python3.11`, which resolves to the host's interpreter, and
//! Python finds the root's `pyvenv.cfg` beside the link it was started
//! through, so every import comes from the root's site-packages.

use crate::common;
use crate::rpm_tools;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::rpm_fixtures::{
    artifact_from_bytes, build_source, elfdeps, patch_declared_size, python_include_flag,
    rename_zip_entry, scenario_of, wheel_artifact, write_wheel_zip, Compiler, SYMLINK_MODE,
};
use common::{ArchiveFile, CoreMetadata, Outcome, Project, Scenario, TestIndex, WheelBuilder};
use rpm_tools::{file_tree as tree, rpm_files as rpms_in};

const APP: &str = "demo";
const PREFIX: &str = "/opt/demo";
const SITE_PACKAGES: &str = "/opt/demo/lib/python3.11/site-packages";
const EXTENSION_TAG: &str = "cp311-cp311-manylinux_2_17_x86_64";
const RELEASE: &str = "1.el9";

/// What the `rpm` crate and our writer put in every package.
const RPMLIB_BASE: &[&str] = &[
    "rpmlib(CompressedFileNames) <= 3.0.4-1",
    "rpmlib(FileDigests) <= 4.6.0-1",
    "rpmlib(PayloadFilesHavePrefix) <= 4.0-1",
    "rpmlib(PayloadIsZstd) <= 5.4.18-1",
];
const CARET: &str = "rpmlib(CaretInVersions) <= 4.15.0-1";
const TILDE: &str = "rpmlib(TildeInVersions) <= 4.10.0-1";
const RICH: &str = "rpmlib(RichDependencies) <= 4.12.0-1";

const PUREAPP_INIT: &str = r#""""The demo app's own code: it uses every dependency, so running one of
its scripts from an installed root proves they are all installed."""
import bundler
import epochpkg
import postrel
import prerel
import zext
import zope.shim


def describe():
    return "bundler={} zext={} postrel={} prerel={} epochpkg={} zope.shim={}".format(
        bundler.answer(),
        zext.crc32(b"vendor"),
        postrel.VERSION,
        prerel.VERSION,
        epochpkg.VERSION,
        zope.shim.VERSION,
    )


def main():
    print("pureapp", describe())


def gui():
    print("pureapp-gui", describe())
"#;

const PUREAPP_TOOL: &str =
    "#!python\nimport pureapp\nprint(\"pureapp-tool\", pureapp.describe())\n";

const ENTRY_POINTS: &str =
    "[console_scripts]\npureapp = pureapp:main\n\n[gui_scripts]\npureapp-gui = pureapp:gui\n";

/// The shared build and what the checks compare it with.
struct App {
    /// Serves the wheels for as long as the tests run.
    _index: TestIndex,
    project: Project,
    build: Outcome,
    /// `dist/el9`, the repository `vendor build` wrote.
    repository: PathBuf,
    /// The repository's RPM files by package name.
    by_name: BTreeMap<String, PathBuf>,
    extensions: Extensions,
    stand_in: rpm_tools::StandIn,
}

/// The shared objects compiled for the extension wheels.
struct Extensions {
    _compiler: Compiler,
    zext: PathBuf,
    bundler_core: PathBuf,
    libbundled: PathBuf,
}

fn app() -> &'static App {
    static APP_BUILD: OnceLock<App> = OnceLock::new();
    APP_BUILD.get_or_init(build_app)
}

fn build_app() -> App {
    let extensions = compile_extensions();
    let scenario = scenario_of(&app_wheels(&extensions));
    let index = TestIndex::start(scenario);
    let project = Project::new().requirements("pureapp[fast]\nprerel==2.0b1\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project.lock(&index).assert_success();
    let build = project.run(&["build"]);
    build.assert_success();
    let repository = project.file("dist/el9");
    let by_name = rpm_tools::rpms_by_name(&repository);
    App {
        repository,
        by_name,
        _index: index,
        project,
        build,
        extensions,
        stand_in: rpm_tools::build_stand_in(),
    }
}

fn compile_extensions() -> Extensions {
    let compiler = Compiler::new();
    let python = python_include_flag();
    let source = |name: &str| build_source(name).display().to_string();
    let zext = compiler.gcc(
        "zext/_zext.cpython-311-x86_64-linux-gnu.so",
        &["-shared", "-fPIC", "-O2", &python, &source("zext.c"), "-lz"],
    );
    let libbundled = compiler.gcc(
        "bundler.libs/libbundled.so.1",
        &[
            "-shared",
            "-fPIC",
            "-O2",
            &source("bundled.c"),
            "-Wl,-soname,libbundled.so.1",
        ],
    );
    let bundler_core = compiler.gcc(
        "bundler/_core.cpython-311-x86_64-linux-gnu.so",
        &[
            "-shared",
            "-fPIC",
            "-O2",
            &python,
            &source("bundler_core.c"),
            "-Lbundler.libs",
            "-l:libbundled.so.1",
            "-Wl,-rpath,$ORIGIN/../bundler.libs",
        ],
    );
    Extensions {
        _compiler: compiler,
        zext,
        bundler_core,
        libbundled,
    }
}

fn module(name: &str, version: &str) -> String {
    format!("\"\"\"{name} fixture.\"\"\"\nVERSION = \"{version}\"\n")
}

fn simple_wheel(name: &str, version: &str, module_path: &str) -> WheelBuilder {
    WheelBuilder::new(name, version, "py3-none-any").file(module_path, module(name, version))
}

fn read(path: &Path) -> Vec<u8> {
    fs_err::read(path).unwrap()
}

fn app_wheels(extensions: &Extensions) -> Vec<WheelBuilder> {
    let mut pureapp = CoreMetadata::new("pureapp", "1.0");
    pureapp.summary = Some("The demo app's own code".into());
    pureapp.requires_python = Some(">=3.8".into());
    pureapp.provides_extra = vec!["fast".into()];
    pureapp.requires_dist = [
        "postrel>=1.0",
        "prerel==2.0b1",
        "Zope.Shim~=1.0",
        "epochpkg>=1!1.5",
        "bundler",
        "winonly; sys_platform == \"win32\"",
        "zext>=1.0; extra == \"fast\"",
    ]
    .map(String::from)
    .to_vec();
    let so = |path: &str, file: &Path| ArchiveFile::with_mode(path, read(file), 0o755);
    vec![
        WheelBuilder::new("pureapp", "1.0", "py3-none-any")
            .metadata(&pureapp)
            .file("pureapp/__init__.py", PUREAPP_INIT)
            .dist_info_file("entry_points.txt", ENTRY_POINTS)
            .data_file("scripts", "pureapp-tool", PUREAPP_TOOL, 0o755),
        simple_wheel("postrel", "1.0.post1", "postrel.py"),
        simple_wheel("prerel", "2.0b1", "prerel.py"),
        // A PEP 420 namespace package, as zope.* projects are.
        simple_wheel("Zope.Shim", "1.0", "zope/shim/__init__.py"),
        simple_wheel("epochpkg", "1!2.0", "epochpkg.py"),
        WheelBuilder::new("zext", "1.0", EXTENSION_TAG)
            .file(
                "zext/__init__.py",
                "from ._zext import crc32, zlib_version\n",
            )
            .add(so(
                "zext/_zext.cpython-311-x86_64-linux-gnu.so",
                &extensions.zext,
            )),
        WheelBuilder::new("bundler", "1.0", EXTENSION_TAG)
            .file("bundler/__init__.py", "from ._core import answer\n")
            .add(so(
                "bundler/_core.cpython-311-x86_64-linux-gnu.so",
                &extensions.bundler_core,
            ))
            .add(so("bundler.libs/libbundled.so.1", &extensions.libbundled)),
    ]
}

// ---------------------------------------------------------------- helpers

/// The RPM file of package `name` in the shared build.
fn rpm_file(name: &str) -> PathBuf {
    let by_name = &app().by_name;
    by_name
        .get(name)
        .unwrap_or_else(|| panic!("no RPM named `{name}`: {:?}", by_name.keys()))
        .clone()
}

fn query(rpm: &Path, query: &str) -> BTreeSet<String> {
    rpm_tools::rpm_query_lines(rpm, query).into_iter().collect()
}

fn tag(rpm: &Path, format: &str) -> String {
    rpm_tools::rpm(&["-qp", "--qf", format, rpm.to_str().unwrap()])
}

fn set<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> BTreeSet<String> {
    items
        .into_iter()
        .map(|item| item.as_ref().to_string())
        .collect()
}

/// The base rpmlib() features plus `extra`.
fn rpmlib(extra: &[&str]) -> BTreeSet<String> {
    set(RPMLIB_BASE.iter().chain(extra))
}

#[track_caller]
fn assert_requires(rpm_name: &str, expected: BTreeSet<String>) {
    let actual = query(&rpm_file(rpm_name), "--requires");
    assert_eq!(
        actual,
        expected,
        "Requires of {rpm_name}\nmissing: {:?}\nunexpected: {:?}",
        expected.difference(&actual).collect::<Vec<_>>(),
        actual.difference(&expected).collect::<Vec<_>>()
    );
}

#[track_caller]
fn assert_provides(rpm_name: &str, expected: BTreeSet<String>) {
    let actual = query(&rpm_file(rpm_name), "--provides");
    assert_eq!(actual, expected, "Provides of {rpm_name}");
}

/// `rpm_name` ships `<site-packages>/<relative>` with mode 0755.
#[track_caller]
fn assert_shipped_executable(rpm_name: &str, relative: &str) {
    let modes = tag(&rpm_file(rpm_name), "[%{FILEMODES:perms} %{FILENAMES}\n]");
    let line = format!("-rwxr-xr-x {SITE_PACKAGES}/{relative}\n");
    assert!(modes.contains(&line), "{rpm_name}: {line}{modes}");
}

fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Where the venv is in `root`.
fn venv_in(root: &Path) -> PathBuf {
    root.join(PREFIX.trim_start_matches('/'))
}

/// `<root>/opt/demo/bin/python -I ARGS` with nothing from the environment
/// that could add another module path.
fn run_installed_python(root: &Path, args: &[&str]) -> String {
    rpm_tools::run_venv_python(&venv_in(root), root, args)
}

/// The venv in `root` imports every module from the root's site-packages
/// (never the build host's), the extensions work, and the scripts run.
fn assert_app_runs_from(root: &Path) {
    let site_packages = root.join(SITE_PACKAGES.trim_start_matches('/'));
    let report = run_installed_python(
        root,
        &[
            "-c",
            "import sys, zlib, bundler, bundler._core, epochpkg, postrel, prerel, pureapp, \
             zext, zext._zext, zope.shim\n\
             print(sys.prefix)\n\
             for module in (bundler, bundler._core, epochpkg, postrel, prerel, pureapp, \
             zext, zext._zext, zope.shim):\n    print(module.__file__)\n\
             print(zext.crc32(b'vendor') == zlib.crc32(b'vendor'), bundler.answer())\n",
        ],
    );
    let mut lines = report.lines();
    assert_eq!(
        lines.next(),
        Some(venv_in(root).to_str().unwrap()),
        "sys.prefix is the installed venv\n{report}"
    );
    let files: Vec<&str> = lines.by_ref().take(9).collect();
    assert_eq!(files.len(), 9, "{report}");
    for file in files {
        assert!(
            Path::new(file).starts_with(&site_packages),
            "`{file}` is not imported from {}",
            site_packages.display()
        );
    }
    assert_eq!(lines.next(), Some("True 42"), "{report}");

    let expected = "bundler=42 zext=4112659446 postrel=1.0.post1 prerel=2.0b1 epochpkg=1!2.0 \
                    zope.shim=1.0";
    for (script, label) in [
        ("pureapp", "pureapp"),
        ("pureapp-gui", "pureapp-gui"),
        ("pureapp-tool", "pureapp-tool"),
    ] {
        let script_path = venv_in(root).join("bin").join(script);
        let text = fs_err::read_to_string(&script_path).unwrap();
        assert!(
            text.starts_with(&format!("#!{PREFIX}/bin/python\n")),
            "{script}: {text}"
        );
        let output = run_installed_python(root, &[script_path.to_str().unwrap()]);
        assert_eq!(output, format!("{label} {expected}\n"), "{script}");
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn the_build_writes_one_rpm_per_package_plus_venv_deps_and_repodata() {
    let app = app();
    let rpms = rpms_in(&app.repository);
    let expected = set([
        "demo-python3-pureapp-1.0-1.el9.noarch.rpm".to_string(),
        "demo-python3-postrel-1.0^post1-1.el9.noarch.rpm".to_string(),
        "demo-python3-prerel-2.0~b1-1.el9.noarch.rpm".to_string(),
        "demo-python3-zope-shim-1.0-1.el9.noarch.rpm".to_string(),
        "demo-python3-epochpkg-2.0-1.el9.noarch.rpm".to_string(),
        "demo-python3-zext-1.0-1.el9.x86_64.rpm".to_string(),
        "demo-python3-bundler-1.0-1.el9.x86_64.rpm".to_string(),
        // The venv is versioned by the target's Python, the meta package by
        // the release number (the first: no history yet), both at epoch 1.
        "demo-venv-3.11.9-1.el9.x86_64.rpm".to_string(),
        "demo-deps-1-1.el9.noarch.rpm".to_string(),
    ]);
    assert_eq!(set(rpms.keys()), expected);
    assert_eq!(tag(&rpm_file("demo-deps"), "%{EPOCH}"), "1");
    // Each package's files' upload time (all 2024-01-01T00:00:00Z here) is
    // its build time; the app's RPMs take the lock's newest.
    for rpm in rpms.values() {
        assert_eq!(tag(rpm, "%{BUILDTIME}"), "1704067200", "{}", rpm.display());
        assert_eq!(tag(rpm, "%{RELEASE}"), RELEASE);
    }
    assert_eq!(
        names(&app.repository),
        // `releases.json`: the release history (docs/rpm-rules.md, Releases).
        set(rpms
            .keys()
            .cloned()
            .chain(["releases.json".to_string(), "repodata".to_string()]))
        .into_iter()
        .collect::<Vec<_>>()
    );
    assert_eq!(
        names(&app.project.file("dist")),
        [".el9.lock", "el9"],
        "no staging folder is left beside the output (the lock file stays)"
    );

    // The summary table: one row per RPM, bundled libraries listed.
    let rows: Vec<&str> = app.build.stdout.lines().collect();
    assert!(rows[0].starts_with("package"), "{}", app.build.stdout);
    assert_eq!(rows.len(), 1 + expected.len(), "{}", app.build.stdout);
    let row = |package: &str| {
        rows.iter()
            .find(|row| row.split_whitespace().next() == Some(package))
            .unwrap_or_else(|| panic!("no row for {package}:\n{}", app.build.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("bundler")[..6],
        [
            "bundler",
            "1.0",
            "wheel",
            "demo-python3-bundler-1.0-1.el9.x86_64.rpm",
            "x86_64",
            "libbundled.so.1"
        ]
    );
    assert_eq!(
        row("postrel")[..6],
        [
            "postrel",
            "1.0.post1",
            "wheel",
            "demo-python3-postrel-1.0^post1-1.el9.noarch.rpm",
            "noarch",
            "-"
        ]
    );
    assert_eq!(row("zext")[5], "-", "zlib is the system's, not bundled");
}

#[test]
fn versions_epochs_and_names_follow_the_rpm_rules() {
    let expected = [
        ("demo-python3-pureapp", "(none) 1.0 noarch"),
        ("demo-python3-postrel", "(none) 1.0^post1 noarch"),
        ("demo-python3-prerel", "(none) 2.0~b1 noarch"),
        ("demo-python3-zope-shim", "(none) 1.0 noarch"),
        ("demo-python3-epochpkg", "1 2.0 noarch"),
        ("demo-python3-zext", "(none) 1.0 x86_64"),
        ("demo-python3-bundler", "(none) 1.0 x86_64"),
    ];
    for (name, epoch_version_arch) in expected {
        assert_eq!(
            tag(&rpm_file(name), "%{EPOCH} %{VERSION} %{ARCH}"),
            epoch_version_arch,
            "{name}"
        );
    }
    // Rpm's own ordering agrees with PEP 440's for the converted versions.
    for (older, newer) in [
        ("1.0", "1.0^post1"),
        ("1.0^post1", "1.0.1"),
        ("2.0~b1", "2.0"),
    ] {
        let order = rpm_tools::rpm(&[
            "--eval",
            &format!("%{{lua: print(rpm.vercmp(\"{older}\", \"{newer}\"))}}"),
        ]);
        assert_eq!(order.trim(), "-1", "{older} < {newer}");
    }
}

#[test]
fn pure_packages_require_exactly_their_converted_dependencies() {
    assert_requires(
        "demo-python3-pureapp",
        set([
            "python(abi) = 3.11",
            // The launchers' and the `#!python` script's interpreter.
            "/opt/demo/bin/python",
            "demo-python3dist(bundler)",
            "demo-python3dist(epochpkg) >= 1:1.5",
            "demo-python3dist(postrel) >= 1",
            "demo-python3dist(prerel) = 2~b1",
            "(demo-python3dist(zope-shim) >= 1 with demo-python3dist(zope-shim) < 2)",
            // From the `fast` extra the requirements activate.
            "demo-python3dist(zext) >= 1",
        ])
        .union(&rpmlib(&[TILDE, RICH]))
        .cloned()
        .collect(),
    );
    assert_provides(
        "demo-python3-pureapp",
        set([
            "demo-python3-pureapp = 1.0-1.el9",
            "demo-python3dist(pureapp) = 1",
            "demo-python3dist(pureapp[fast]) = 1",
        ]),
    );
    let python_only = |extra: &[&str]| {
        let mut requires = rpmlib(extra);
        requires.insert("python(abi) = 3.11".to_string());
        requires
    };
    assert_requires("demo-python3-postrel", python_only(&[CARET]));
    assert_provides(
        "demo-python3-postrel",
        set([
            "demo-python3-postrel = 1.0^post1-1.el9",
            "demo-python3dist(postrel) = 1^post1",
        ]),
    );
    assert_requires("demo-python3-prerel", python_only(&[TILDE]));
    assert_provides(
        "demo-python3-prerel",
        set([
            "demo-python3-prerel = 2.0~b1-1.el9",
            "demo-python3dist(prerel) = 2~b1",
        ]),
    );
    assert_requires("demo-python3-zope-shim", python_only(&[]));
    assert_provides(
        "demo-python3-zope-shim",
        set([
            "demo-python3-zope-shim = 1.0-1.el9",
            "demo-python3dist(zope-shim) = 1",
        ]),
    );
    assert_requires("demo-python3-epochpkg", python_only(&[]));
    assert_provides(
        "demo-python3-epochpkg",
        set([
            "demo-python3-epochpkg = 1:2.0-1.el9",
            "demo-python3dist(epochpkg) = 1:2",
        ]),
    );
}

#[test]
fn the_extension_requires_the_system_sonames_it_links() {
    let app = app();
    let from_elfdeps = elfdeps(&app.extensions.zext, "--requires");
    assert!(
        from_elfdeps.contains("libz.so.1()(64bit)"),
        "{from_elfdeps:?}"
    );
    assert_requires(
        "demo-python3-zext",
        set(from_elfdeps)
            .union(&set(["python(abi) = 3.11"]))
            .cloned()
            .chain(rpmlib(&[]))
            .collect(),
    );
    assert_provides(
        "demo-python3-zext",
        set([
            "demo-python3-zext = 1.0-1.el9",
            // What rpmbuild adds to every arch-specific package.
            "demo-python3-zext(x86-64) = 1.0-1.el9",
            "demo-python3dist(zext) = 1",
        ]),
    );
    // Extension modules are executable, as rpm < 4.17 needs for Requires.
    assert_shipped_executable(
        "demo-python3-zext",
        "zext/_zext.cpython-311-x86_64-linux-gnu.so",
    );
}

#[test]
fn a_bundled_library_is_neither_required_nor_provided() {
    let app = app();
    let bundled_provides = elfdeps(&app.extensions.libbundled, "--provides");
    assert_eq!(bundled_provides, set(["libbundled.so.1()(64bit)"]));
    let core_requires = elfdeps(&app.extensions.bundler_core, "--requires");
    assert!(
        core_requires.contains("libbundled.so.1()(64bit)"),
        "the extension really links the library: {core_requires:?}"
    );
    let elf_requires: BTreeSet<String> = core_requires
        .into_iter()
        .chain(elfdeps(&app.extensions.libbundled, "--requires"))
        .filter(|requirement| !bundled_provides.contains(requirement))
        .collect();
    assert_requires(
        "demo-python3-bundler",
        elf_requires
            .into_iter()
            .chain(rpmlib(&[]))
            .chain(["python(abi) = 3.11".to_string()])
            .collect(),
    );
    assert_provides(
        "demo-python3-bundler",
        set([
            "demo-python3-bundler = 1.0-1.el9",
            "demo-python3-bundler(x86-64) = 1.0-1.el9",
            "demo-python3dist(bundler) = 1",
        ]),
    );
    assert_shipped_executable("demo-python3-bundler", "bundler.libs/libbundled.so.1");
}

#[test]
fn the_venv_and_meta_packages_tie_the_set_together() {
    assert_requires(
        "demo-venv",
        set(["python(abi) = 3.11", "/usr/bin/python3.11"])
            .into_iter()
            .chain(rpmlib(&[]))
            .collect(),
    );
    let links = tag(&rpm_file("demo-venv"), "[%{FILENAMES} -> %{FILELINKTOS}\n]");
    assert!(
        links.contains("/opt/demo/bin/python -> /usr/bin/python3.11\n"),
        "{links}"
    );
    let mut expected = set([
        format!("demo-venv = 1:3.11.9-{RELEASE}"),
        "demo-python3-pureapp = 1.0-1.el9".to_string(),
        "demo-python3-postrel = 1.0^post1-1.el9".to_string(),
        "demo-python3-prerel = 2.0~b1-1.el9".to_string(),
        "demo-python3-zope-shim = 1.0-1.el9".to_string(),
        "demo-python3-epochpkg = 1:2.0-1.el9".to_string(),
        "demo-python3-zext = 1.0-1.el9".to_string(),
        "demo-python3-bundler = 1.0-1.el9".to_string(),
    ]);
    expected.extend(rpmlib(&[CARET, TILDE]));
    assert_requires("demo-deps", expected);
}

#[test]
fn every_rpm_passes_rpm_checksig_and_rpmlint() {
    let app = app();
    let rpms: Vec<PathBuf> = rpms_in(&app.repository).into_values().collect();
    rpm_tools::assert_digests_ok(&rpms);
    let report = rpm_tools::rpmlint(&rpms, app.project.home());
    // The test-made wheels declare no URL, so their RPMs have none (real
    // wheels do: tests/e2e_build.rs requires no warning at all).
    for line in report.lines().filter(|line| line.contains(": W: ")) {
        assert!(
            line.ends_with(": W: no-url-tag") && line.contains("-python3-"),
            "{report}"
        );
    }
}

#[test]
fn rpm_installs_the_set_into_a_root_where_the_app_runs() {
    let app = app();
    let root = tempfile::tempdir().unwrap();
    let root_arg = root.path().to_str().unwrap();
    let rpms: Vec<PathBuf> = rpms_in(&app.repository).into_values().collect();

    // Dependencies are checked: without the target system nothing installs.
    let mut without_system = Command::new("rpm");
    without_system.args(["--root", root_arg, "-i"]).args(&rpms);
    let refused = without_system.output().unwrap();
    assert!(!refused.status.success());
    let refusal = String::from_utf8_lossy(&refused.stderr);
    for missing in [
        "python(abi) = 3.11",
        "libz.so.1()(64bit)",
        "/usr/bin/python3.11",
    ] {
        assert!(refusal.contains(missing), "{missing}: {refusal}");
    }

    rpm_tools::rpm(&["--root", root_arg, "-i", app.stand_in.rpm.to_str().unwrap()]);
    rpm_tools::run(
        Command::new("rpm")
            .args(["--root", root_arg, "-i"])
            .args(&rpms),
    );
    let installed = rpm_tools::installed_names(root.path());
    assert_eq!(installed.len(), rpms.len() + 1, "{installed:?}");
    rpm_tools::rpm(&["--root", root_arg, "-V", "-a"]);
    assert_app_runs_from(root.path());
}

#[test]
fn dnf_installs_the_meta_package_from_the_generated_repository() {
    let app = app();
    let root = tempfile::tempdir().unwrap();
    rpm_tools::dnf_install(
        root.path(),
        &[
            ("app", &app.repository),
            ("standin", &app.stand_in.repository),
        ],
        "demo-deps",
    );
    let installed = rpm_tools::installed_names(root.path());
    assert_eq!(
        installed,
        [
            "demo-deps",
            "demo-python3-bundler",
            "demo-python3-epochpkg",
            "demo-python3-postrel",
            "demo-python3-prerel",
            "demo-python3-pureapp",
            "demo-python3-zext",
            "demo-python3-zope-shim",
            "demo-venv",
            "el9-standin",
        ]
    );
    assert_app_runs_from(root.path());
}

#[test]
fn building_again_gives_byte_identical_rpms_and_repodata() {
    let app = app();
    let out = app.project.file("rebuild");
    // Without the RPMs kept from earlier builds, so every RPM is written anew.
    let forget_packaged = || {
        let kept = app.project.cache_dir().join("packaged-v1");
        if kept.exists() {
            fs_err::remove_dir_all(kept).unwrap();
        }
    };
    forget_packaged();
    app.project
        .run(&["build", "--out", "rebuild", "--jobs", "1"])
        .assert_success();
    let first = tree(&out.join("el9"));
    fs_err::remove_dir_all(&out).unwrap();
    forget_packaged();
    app.project
        .run(&["build", "--out", "rebuild", "--jobs", "3"])
        .assert_success();
    let second = tree(&out.join("el9"));
    rpm_tools::assert_same_tree(&first, &second);
    let shared = tree(&app.repository);
    assert!(
        shared == first,
        "the shared build and the rebuild differ: {:?}",
        shared
            .iter()
            .filter(|(name, bytes)| first.get(*name) != Some(bytes))
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
    );
}

/// Every folder of the installed-tree cache: entries (with their manifest)
/// and the private folders of installs in progress.
fn installed_tree_folders(cache: &Path) -> Vec<PathBuf> {
    let bucket = cache.join("installed-v1");
    let Ok(shards) = fs_err::read_dir(&bucket) else {
        return Vec::new();
    };
    shards
        .flat_map(|shard| fs_err::read_dir(shard.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().path())
        .collect()
}

#[test]
fn a_build_killed_at_any_point_leaves_a_usable_cache_and_output() {
    let app = app();
    let project = Project::new();
    for file in ["vendor.toml", "pylock.toml"] {
        fs_err::copy(app.project.file(file), project.file(file)).unwrap();
    }
    // The downloaded wheels only: the build installs, verifies and packages.
    fs_err::create_dir_all(project.cache_dir()).unwrap();
    let copied = Command::new("cp")
        .arg("-a")
        .arg(app.project.cache_dir().join("artifacts"))
        .arg(project.cache_dir())
        .status()
        .unwrap();
    assert!(copied.success());
    let expected = tree(&app.repository);
    let output = project.file("dist/el9");
    let mut killed = 0;
    // Each attempt resumes from what the killed ones kept, so the kills
    // land in later and later stages.
    for delay in [30, 80, 150, 250, 400, 650] {
        let (mut command, _) = project.command(&["build", "--offline", "--jobs", "2"]);
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if std::os::unix::process::ExitStatusExt::signal(&status).is_some() {
            killed += 1;
        }
        if output.exists() {
            assert!(
                tree(&output) == expected,
                "after a kill at {delay} ms, dist/el9 is not a complete build"
            );
        }
        for folder in installed_tree_folders(project.cache_dir()) {
            let name = folder.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with(".vendor-installing-") || folder.join("manifest.json").is_file(),
                "after a kill at {delay} ms, `{}` is an entry without its manifest",
                folder.display()
            );
        }
    }
    assert!(
        killed > 0,
        "no attempt was interrupted: the delays are too long"
    );
    project.run(&["build", "--offline"]).assert_success();
    assert!(
        tree(&output) == expected,
        "the build after the kills differs"
    );
    assert_eq!(
        names(&project.file("dist")),
        [".el9.lock", "el9"],
        "killed builds' staging folders are gone"
    );
    let work = project.cache_dir().join("work/el9");
    let scratch: Vec<String> = names(&work)
        .into_iter()
        .filter(|name| name.starts_with("verify-"))
        .collect();
    assert!(
        scratch.is_empty(),
        "killed builds' verification folders are left in `{}`: {scratch:?}",
        work.display()
    );
}

#[test]
fn an_offline_build_with_a_cold_cache_names_every_missing_wheel() {
    let app = app();
    let project = Project::new();
    for file in ["vendor.toml", "pylock.toml"] {
        fs_err::copy(app.project.file(file), project.file(file)).unwrap();
    }
    let outcome = project.run(&["build", "--offline"]);
    outcome.assert_code(1);
    outcome.assert_mentions(&[
        "not in the cache",
        "pureapp-1.0-py3-none-any.whl",
        "postrel-1.0.post1-py3-none-any.whl",
        "prerel-2.0b1-py3-none-any.whl",
        "zope_shim-1.0-py3-none-any.whl",
        "epochpkg-1!2.0-py3-none-any.whl",
        "zext-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "bundler-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    ]);
    assert!(!project.file("dist").exists(), "nothing is written");
}

// ---------------------------------------------------------- hostile wheels

/// A wheel whose archive is wrong in one way; `entry` is what must be named.
struct Hostile {
    wheel: WheelBuilder,
    bytes: Vec<u8>,
    entry: &'static str,
    reason: &'static str,
}

fn hostile_base(name: &str) -> WheelBuilder {
    let module = name.replace('-', "_");
    simple_wheel(name, "1.0", &format!("{module}/__init__.py"))
}

/// One wheel per refusal of the issue: absolute path, `..`, a link leaving
/// the tree, a duplicate entry, a size that lies (zip bomb), and a file that
/// does not match RECORD.
fn hostile_wheels() -> Vec<Hostile> {
    let mut wheels = Vec::new();

    let wheel = hostile_base("evil-absolute").file("/tmp/evil-absolute.py", "print('owned')\n");
    wheels.push(Hostile {
        bytes: write_wheel_zip(&wheel.entries()),
        wheel,
        entry: "/tmp/evil-absolute.py",
        reason: "is an absolute path",
    });

    let wheel = hostile_base("evil-parent").file("evil_parent/../../outside.py", "print(1)\n");
    wheels.push(Hostile {
        bytes: write_wheel_zip(&wheel.entries()),
        wheel,
        entry: "evil_parent/../../outside.py",
        reason: "has a `..` component",
    });

    let wheel = hostile_base("evil-link").add(ArchiveFile::with_mode(
        "evil_link/passwd",
        "../../../../../../etc/passwd",
        SYMLINK_MODE,
    ));
    wheels.push(Hostile {
        bytes: write_wheel_zip(&wheel.entries()),
        wheel,
        entry: "evil_link/passwd",
        reason: "outside the tree",
    });

    let wheel = hostile_base("evil-duplicate")
        .file("evil_duplicate/dup_1.py", "one\n")
        .file("evil_duplicate/dup_2.py", "two\n");
    wheels.push(Hostile {
        bytes: rename_zip_entry(
            write_wheel_zip(&wheel.entries()),
            "evil_duplicate/dup_2.py",
            "evil_duplicate/dup_1.py",
        ),
        wheel,
        entry: "evil_duplicate/dup_1.py",
        reason: "more than once",
    });

    // Stored, declaring 10 bytes for 100 000 (RECORD agrees with the lie).
    let wheel = hostile_base("evil-bomb").file("evil_bomb/bomb.bin", vec![b'a'; 100_000]);
    let mut entries = wheel.entries();
    let record = entries.last_mut().unwrap();
    record.contents = String::from_utf8(record.contents.clone())
        .unwrap()
        .replace(",100000\n", ",10\n")
        .into_bytes();
    wheels.push(Hostile {
        bytes: patch_declared_size(write_wheel_zip(&entries), "evil_bomb/bomb.bin", 10),
        wheel,
        entry: "evil_bomb/bomb.bin",
        reason: "inflates to more than its declared 10 bytes",
    });

    // RECORD written for the honest file, then the file swapped for one of
    // the same size, so that only the digest tells.
    let wheel = hostile_base("evil-record");
    let mut entries = wheel.entries();
    let module = entries
        .iter_mut()
        .find(|entry| entry.path == "evil_record/__init__.py")
        .unwrap();
    let evil = "import os; os.system('true')";
    module.contents = format!("{evil:<width$}\n", width = module.contents.len() - 1).into_bytes();
    wheels.push(Hostile {
        bytes: write_wheel_zip(&entries),
        wheel,
        entry: "evil_record/__init__.py",
        reason: "has sha256 `",
    });
    wheels
}

#[test]
fn hostile_wheels_get_no_rpm_and_no_meta_package_while_the_rest_is_packaged() {
    let hostile = hostile_wheels();
    let fine = simple_wheel("fine", "1.0", "fine.py");
    let scenario = hostile.iter().fold(
        Scenario::empty().with_artifact(wheel_artifact(&fine)),
        |scenario, hostile| {
            scenario.with_artifact(artifact_from_bytes(
                &hostile.wheel,
                hostile.wheel.filename(),
                hostile.bytes.clone(),
                Some(hostile.wheel.metadata_bytes()),
            ))
        },
    );
    let index = TestIndex::start(scenario);
    let project = Project::new().requirements("fine\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    assert!(tree(&project.file("dist")).contains_key("el9/demo-python3-fine-1.0-1.el9.noarch.rpm"));

    let names: Vec<String> = hostile
        .iter()
        .map(|hostile| {
            hostile
                .wheel
                .filename()
                .split('-')
                .next()
                .unwrap()
                .replace('_', "-")
        })
        .collect();
    project.write("requirements.in", &format!("fine\n{}\n", names.join("\n")));
    project.lock(&index).assert_success();
    let outcome = project.run(&["build"]);
    outcome.assert_code(1);
    for hostile in &hostile {
        let filename = hostile.wheel.filename();
        outcome.assert_mentions(&[
            &format!("refusing wheel `{filename}`: entry `{}`", hostile.entry),
            hostile.reason,
        ]);
    }
    outcome.assert_mentions(&["hint:", "`<app>-deps` was not written"]);
    let after = tree(&project.file("dist"));
    let rpms: Vec<&String> = after.keys().filter(|path| path.ends_with(".rpm")).collect();
    assert_eq!(
        rpms,
        [
            "el9/demo-deps-1-1.el9.noarch.rpm",
            "el9/demo-python3-fine-1.0-1.el9.noarch.rpm",
            "el9/demo-venv-3.11.9-1.el9.x86_64.rpm"
        ],
        "the sound package is packaged; the hostile ones get no RPM and no new `demo-deps` requires them: release 1 stays as it was"
    );
    assert!(
        !common::files_under(project.path())
            .iter()
            .any(|path| path.to_string_lossy().contains("evil")
                && !path.starts_with(project.cache_dir())),
        "nothing of a hostile wheel is left outside the cache"
    );
    assert!(!Path::new("/tmp/evil-absolute.py").exists());
}

// ------------------------------------------------------------------ --only

#[test]
fn only_rebuilds_the_named_packages_and_keeps_the_rest_of_the_output() {
    let scenario = scenario_of(&[
        simple_wheel("fine", "1.0", "fine.py"),
        simple_wheel("fine", "1.1", "fine.py"),
        simple_wheel("other", "1.0", "other.py"),
    ]);
    let index = TestIndex::start(scenario);
    let project = Project::new().requirements("fine==1.0\nother\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    let repository = project.file("dist/el9");
    let before = tree(&repository);

    project.write("requirements.in", "fine==1.1\nother\n");
    project.lock(&index).assert_success();
    let outcome = project.run(&["build", "--only", "fine"]);
    outcome.assert_success();
    // The kept `demo-deps` still requires fine 1.0: the user is told.
    outcome.assert_mentions(&[
        "`demo-deps` of the previous output does not require `demo-python3-fine-1.1-1.el9.noarch.rpm`",
        "hint: run `vendor build` without `--only`",
    ]);
    let after = tree(&repository);
    let rpm_names = |files: &BTreeMap<String, Vec<u8>>| {
        files
            .keys()
            .filter(|name| name.ends_with(".rpm"))
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let mut expected = rpm_names(&before);
    assert!(expected.remove("demo-python3-fine-1.0-1.el9.noarch.rpm"));
    expected.insert("demo-python3-fine-1.1-1.el9.noarch.rpm".to_string());
    assert_eq!(rpm_names(&after), expected);
    for (name, bytes) in &before {
        if name.ends_with(".rpm") && !name.contains("-fine-") {
            assert!(after[name] == *bytes, "{name} is kept as it was");
        }
    }
    let primary = rpm_tools::gunzip(&rpm_tools::repomd_location(&repository, "primary"));
    assert!(primary.contains("demo-python3-fine-1.1-1.el9.noarch.rpm"));
    assert!(!primary.contains("demo-python3-fine-1.0-1.el9.noarch.rpm"));
    assert!(primary.contains("demo-python3-other-1.0-1.el9.noarch.rpm"));
    rpm_tools::assert_digests_ok(&[repository.join("demo-python3-fine-1.1-1.el9.noarch.rpm")]);
}

#[test]
fn only_with_a_name_the_lock_lacks_is_a_usage_error_suggesting_close_names() {
    let app = app();
    let outcome = app
        .project
        .run(&["build", "--out", "only-typo", "--only", "pureap"]);
    outcome.assert_code(2);
    outcome.assert_mentions(&[
        "`pureap` is not a package of the lock",
        "hint: did you mean `pureapp`?",
    ]);
    let outcome = app
        .project
        .run(&["build", "--out", "only-typo", "--only", "nothing-like-it"]);
    outcome.assert_code(2);
    outcome.assert_mentions(&["hint: `vendor build --only` takes names of packages in the lock"]);
    assert!(!app.project.file("only-typo").exists());
}

/// Metadata as it is in the wild: a README with CR LF line endings, an ANSI
/// colour code and a form feed, a summary with a tab and a line break. The
/// RPM gets the text with `\n` line endings and without control characters
/// (rpm refuses them in a header) instead of the build failing on it.
#[test]
fn metadata_with_cr_lf_and_control_characters_is_normalised_not_refused() {
    let metadata = "Metadata-Version: 2.1\nName: wildtext\nVersion: 1.0\n\
                    Summary: Wild\ttext\n\n\
                    Wild text\r\n=========\r\n\r\n\x1b[1mBold\x1b[0m claims\x0c and more.\r\n";
    let wheel = simple_wheel("wildtext", "1.0", "wildtext.py").metadata_text(metadata);
    let index = TestIndex::start(Scenario::empty().with_artifact(wheel_artifact(&wheel)));
    let project = Project::new().requirements("wildtext\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    let rpm = project.file("dist/el9/demo-python3-wildtext-1.0-1.el9.noarch.rpm");
    assert_eq!(tag(&rpm, "%{SUMMARY}"), "Wild text");
    assert_eq!(
        tag(&rpm, "%{DESCRIPTION}"),
        "Wild text\n=========\n\n[1mBold[0m claims and more."
    );
}

/// A module that can only run inside its host program (it imports a module
/// the host embeds) fails verification as really broken, unless a policy
/// lists it under `[verify] not-imported` with the reason: then the rest of
/// the package is still imported, and `vendor verify` shows the reason.
#[test]
fn a_module_that_needs_its_host_is_skipped_only_when_a_policy_says_why() {
    let wheel = simple_wheel("hostmod", "1.0", "hostmod/__init__.py").file(
        "hostmod_decorators.py",
        "import hostmod_embedded_by_server\n",
    );
    let index = TestIndex::start(Scenario::empty().with_artifact(wheel_artifact(&wheel)));
    let project = Project::new().requirements("hostmod\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_code(1).assert_mentions(&[
        "import `hostmod_decorators`",
        "No module named 'hostmod_embedded_by_server'",
    ]);

    project.write(
        "policies/packages/hostmod.toml",
        "[verify]\nnot-imported = { hostmod_decorators = \"runs only inside the hostmod server\" }\n",
    );
    project.run(&["build"]).assert_success();
    assert!(project
        .file("dist/el9/demo-python3-hostmod-1.0-1.el9.noarch.rpm")
        .is_file());
    project.run(&["verify"]).assert_success().assert_mentions(&[
        "not imported `hostmod_decorators`",
        "runs only inside the hostmod server",
        "import `hostmod`",
    ]);
}
