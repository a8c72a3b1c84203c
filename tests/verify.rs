//! Tests of `vendor::verify` on wheels this file makes, with the host's gcc
//! and Python 3.11 (both test requirements, see scripts/install-deps.sh).
//!
//! - linkage: a gcc-built extension linking zlib passes `libz.so.*` and
//!   fails `libjpeg.so.*` with the explanation and the policy's hint;
//! - bundled copies: `bundler.libs/libbundled.so.1` refused with
//!   `bundled = false`, accepted with `true` and without a policy, and its
//!   `$ORIGIN` search path left alone;
//! - search paths into the build host (RPATH with `--disable-new-dtags`,
//!   RUNPATH by default): removed, checked with `readelf -d` and by loading
//!   the file with ctypes; the rewritten wheel keeps its entry order and a
//!   symbolic link, installs with our installer (so RECORD is right),
//!   imports, and is byte-identical when made twice; a string mixing
//!   `$ORIGIN` and a host path is refused naming the file;
//! - imports and probes in one scratch environment: a failing `assert`, a
//!   raising probe, a missing module, `VerifyFailed`'s text, a passing
//!   package becoming a `VerifiedWheel`, a report about another wheel;
//! - a module whose import hangs is reported as timed out, later checks as
//!   not run;
//! - broken or needing its context: a package reading Django settings at
//!   import passes (settings are configured when Django is in the set), a
//!   module that runs only inside its host program is not imported (the
//!   policy's reason shown), an extension whose library is missing fails.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use common::rpm_fixtures::{
    build_source, python_include_flag, write_wheel_zip, Compiler, SYMLINK_MODE,
};
use common::{ArchiveFile, WheelBuilder};
use vendor::host::find_interpreter;
use vendor::install::environment::PythonEnvironment;
use vendor::name::PackageName;
use vendor::policy::{Policy, Probe, VerifySettings};
use vendor::targets::Target;
use vendor::verify::{
    inspect_wheel, into_verified, run_checks, CandidateWheel, CheckKind, CheckOptions,
    CheckOutcome, InspectedWheel, TargetLibraries, VerifyReport,
};

const EXTENSION_TAG: &str = "cp311-cp311-linux_x86_64";
const ZEXT_MODULE: &str = "_zext.cpython-311-x86_64-linux-gnu.so";
const HOST_LIB: &str = "/root/.pyenv/versions/3.11.7/lib";

/// Writes `wheel` into `folder` and describes it as a candidate.
fn candidate(folder: &Path, wheel: &WheelBuilder) -> CandidateWheel {
    let path = folder.join(wheel.filename());
    fs_err::create_dir_all(folder).unwrap();
    fs_err::write(&path, write_wheel_zip(&wheel.entries())).unwrap();
    let mut parts = wheel
        .filename()
        .splitn(3, '-')
        .map(str::to_string)
        .collect::<Vec<_>>();
    parts.truncate(2);
    CandidateWheel {
        name: PackageName::from_str(&parts[0]).unwrap(),
        version: parts[1].parse().unwrap(),
        path,
        built_from_source: true,
    }
}

/// The target these tests verify for.
fn el9() -> &'static Target {
    static EL9: std::sync::OnceLock<Target> = std::sync::OnceLock::new();
    EL9.get_or_init(|| Target::load("el9", None).unwrap())
}

/// The static checks of `candidate` for el9, which refuses libraries it
/// does not ship.
fn inspect(candidate: &CandidateWheel, policy: Option<&Policy>, work: &Path) -> InspectedWheel {
    let strict = TargetLibraries {
        target: el9(),
        allow_foreign_host: false,
    };
    inspect_wheel(candidate, policy, strict, work).unwrap()
}

fn policy(settings: VerifySettings) -> Policy {
    Policy {
        verify: settings,
        ..Policy::default()
    }
}

/// `_zext` (links zlib) compiled with extra linker arguments.
fn compile_zext(compiler: &Compiler, output: &str, extra: &[&str]) -> PathBuf {
    let python = python_include_flag();
    let source = build_source("zext.c").display().to_string();
    let mut arguments = vec![
        "-shared",
        "-fPIC",
        "-O2",
        python.as_str(),
        source.as_str(),
        "-lz",
    ];
    arguments.extend_from_slice(extra);
    compiler.gcc(output, &arguments)
}

/// A wheel `<package>` whose `__init__` re-exports the compiled `_zext`.
fn zext_wheel(package: &str, module: &Path) -> WheelBuilder {
    WheelBuilder::new(package, "1.0", EXTENSION_TAG)
        .file(
            &format!("{package}/__init__.py"),
            "from ._zext import crc32, zlib_version\n",
        )
        .add(ArchiveFile::with_mode(
            format!("{package}/{ZEXT_MODULE}"),
            fs_err::read(module).unwrap(),
            0o755,
        ))
}

fn find<'a>(checks: &'a [CheckOutcome], kind: &CheckKind) -> &'a CheckOutcome {
    checks
        .iter()
        .find(|check| &check.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {checks:#?}"))
}

fn environment(folder: &Path, wheels: &[&InspectedWheel]) -> PythonEnvironment {
    let interpreter = find_interpreter((3, 11)).expect("python3.11 (a test requirement)");
    let environment =
        PythonEnvironment::create(&interpreter, (3, 11), &folder.join("env")).unwrap();
    let paths: Vec<PathBuf> = wheels.iter().map(|wheel| wheel.path.clone()).collect();
    environment.install_wheels(&paths).unwrap();
    environment
}

fn report_for<'a>(reports: &'a [VerifyReport], name: &str) -> &'a VerifyReport {
    reports
        .iter()
        .find(|report| report.package.to_string() == name)
        .unwrap()
}

/// `readelf <flag>` (`-d`, `-S`) of one wheel entry, and where it was
/// extracted to.
fn readelf(flag: &str, wheel: &Path, entry: &str, folder: &Path) -> (String, PathBuf) {
    let mut archive = zip::ZipArchive::new(fs_err::File::open(wheel).unwrap()).unwrap();
    let mut bytes = Vec::new();
    archive
        .by_name(entry)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let path = folder.join(entry.replace('/', "_"));
    fs_err::write(&path, bytes).unwrap();
    let output = Command::new("readelf")
        .arg(flag)
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    (String::from_utf8(output.stdout).unwrap(), path)
}

fn entry_names(wheel: &Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(fs_err::File::open(wheel).unwrap()).unwrap();
    archive.file_names().map(str::to_string).collect()
}

#[test]
fn linkage_globs_match_the_sonames_extension_modules_link() {
    let compiler = Compiler::new();
    let folder = tempfile::tempdir().unwrap();
    let module = compile_zext(&compiler, "plain/_zext.so", &[]);
    let zext = candidate(folder.path(), &zext_wheel("zext", &module));
    let mut verify = VerifySettings {
        links: vec![
            "libz.so.*".into(),
            "{libjpeg,libturbojpeg}.so.*".into(),
            "libz.so.[".into(),
        ],
        bundled: false,
        ..VerifySettings::default()
    };
    let mut zext_policy = policy(verify.clone());
    zext_policy.build.hint = Some("apt-get install libjpeg62-turbo-dev".into());
    let inspected = inspect(&zext, Some(&zext_policy), &folder.path().join("work"));

    let zlib = find(
        &inspected.checks,
        &CheckKind::Linkage {
            glob: "libz.so.*".into(),
        },
    );
    assert!(zlib.passed, "{zlib:?}");
    assert_eq!(
        zlib.detail,
        format!("`zext/{ZEXT_MODULE}` links `libz.so.1`")
    );
    let jpeg = find(
        &inspected.checks,
        &CheckKind::Linkage {
            glob: "{libjpeg,libturbojpeg}.so.*".into(),
        },
    );
    assert!(!jpeg.passed);
    assert!(
        jpeg.detail.ends_with("; they link `libz.so.1`"),
        "{}",
        jpeg.detail
    );
    assert_eq!(
        jpeg.explanation.as_deref(),
        Some(
            "`zext` was built without `{libjpeg,libturbojpeg}.so.*`: the features that need \
             that library are missing"
        )
    );
    assert_eq!(
        jpeg.hint.as_deref(),
        Some("apt-get install libjpeg62-turbo-dev")
    );
    let invalid = find(
        &inspected.checks,
        &CheckKind::Linkage {
            glob: "libz.so.[".into(),
        },
    );
    assert!(
        !invalid.passed && invalid.detail.contains("not a valid glob"),
        "{invalid:?}"
    );
    assert!(!inspected.rewritten);
    assert_eq!(inspected.path, zext.path);

    // A pure wheel cannot satisfy a linkage requirement.
    verify.links.truncate(1);
    let pure = candidate(
        folder.path(),
        &WheelBuilder::new("purepkg", "1.0", "py3-none-any").file("purepkg.py", ""),
    );
    let inspected = inspect(&pure, Some(&policy(verify)), &folder.path().join("work"));
    let zlib = find(
        &inspected.checks,
        &CheckKind::Linkage {
            glob: "libz.so.*".into(),
        },
    );
    assert!(!zlib.passed);
    assert_eq!(zlib.detail, "the wheel has no extension modules");
    assert_eq!(inspected.imports, ["purepkg"]);
}

/// `bundler`, whose extension links `library` shipped in `bundler.libs/`
/// and found through `$ORIGIN/../bundler.libs`, as auditwheel arranges it.
fn bundler_wheel(compiler: &Compiler, library: &str) -> WheelBuilder {
    let python = python_include_flag();
    let library_path = format!("bundler.libs/{library}");
    let compiled_library = compiler.gcc(
        &library_path,
        &[
            "-shared",
            "-fPIC",
            &build_source("bundled.c").display().to_string(),
            &format!("-Wl,-soname,{library}"),
        ],
    );
    let core = compiler.gcc(
        &format!("bundler/_core-{library}.so"),
        &[
            "-shared",
            "-fPIC",
            &python,
            &build_source("bundler_core.c").display().to_string(),
            "-Lbundler.libs",
            &format!("-l:{library}"),
            "-Wl,-rpath,$ORIGIN/../bundler.libs",
        ],
    );
    WheelBuilder::new("bundler", "1.0", EXTENSION_TAG)
        .file("bundler/__init__.py", "from ._core import answer\n")
        .add(ArchiveFile::with_mode(
            "bundler/_core.cpython-311-x86_64-linux-gnu.so",
            fs_err::read(core).unwrap(),
            0o755,
        ))
        .add(ArchiveFile::with_mode(
            library_path,
            fs_err::read(compiled_library).unwrap(),
            0o755,
        ))
}

#[test]
fn bundled_copies_need_the_policy_s_consent() {
    let compiler = Compiler::new();
    let folder = tempfile::tempdir().unwrap();
    let wheel = bundler_wheel(&compiler, "libbundled.so.1");
    let bundler = candidate(folder.path(), &wheel);
    let work = folder.path().join("work");
    let bundled = CheckKind::Bundled {
        file: "bundler.libs/libbundled.so.1".into(),
    };

    let refusing = policy(VerifySettings {
        links: vec!["libbundled.so.*".into()],
        bundled: false,
        ..VerifySettings::default()
    });
    let inspected = inspect(&bundler, Some(&refusing), &work);
    let check = find(&inspected.checks, &bundled);
    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "a copy of `libbundled.so.1`, used by `bundler/_core.cpython-311-x86_64-linux-gnu.so`"
    );
    assert!(
        check
            .explanation
            .as_deref()
            .unwrap()
            .contains("ships its own `libbundled.so.1`"),
        "{check:?}"
    );
    assert!(check.hint.as_deref().unwrap().contains("`bundled = true`"));
    // Linking the bundled copy is linking the library; the copy is what fails.
    let linkage = find(
        &inspected.checks,
        &CheckKind::Linkage {
            glob: "libbundled.so.*".into(),
        },
    );
    assert!(linkage.passed);
    assert_eq!(
        linkage.detail,
        "`bundler/_core.cpython-311-x86_64-linux-gnu.so` links `libbundled.so.1` (the copy in \
         `bundler.libs/libbundled.so.1`)"
    );
    // `$ORIGIN/../bundler.libs` stays inside the wheel: nothing to strip.
    assert!(!inspected.rewritten);
    assert!(
        !inspected
            .checks
            .iter()
            .any(|check| matches!(check.kind, CheckKind::Rpath { .. })),
        "{:#?}",
        inspected.checks
    );

    let allowing = policy(VerifySettings {
        bundled: true,
        ..VerifySettings::default()
    });
    let inspected = inspect(&bundler, Some(&allowing), &work);
    assert!(find(&inspected.checks, &bundled).passed);
    let inspected = inspect(&bundler, None, &work);
    let check = find(&inspected.checks, &bundled);
    assert!(
        check.passed && check.detail.ends_with("(allowed: no policy)"),
        "{check:?}"
    );
    assert_eq!(inspected.imports, ["bundler"]);
}

/// A build host's library the target ships under another soname: this
/// machine's `libtiff.so.6` against el9's `libtiff.so.5`.
#[test]
fn a_library_the_target_ships_under_another_soname_fails_unless_the_host_is_allowed() {
    let compiler = Compiler::new();
    let folder = tempfile::tempdir().unwrap();
    compiler.gcc(
        "host/libtiff.so.6",
        &[
            "-shared",
            "-fPIC",
            &build_source("bundled.c").display().to_string(),
            "-Wl,-soname,libtiff.so.6",
        ],
    );
    let core = compiler.gcc(
        "tiffuser/_core.so",
        &[
            "-shared",
            "-fPIC",
            &python_include_flag(),
            &build_source("bundler_core.c").display().to_string(),
            "-Lhost",
            "-l:libtiff.so.6",
        ],
    );
    let wheel = WheelBuilder::new("tiffuser", "1.0", EXTENSION_TAG)
        .file("tiffuser/__init__.py", "from ._core import answer\n")
        .add(ArchiveFile::with_mode(
            "tiffuser/_core.cpython-311-x86_64-linux-gnu.so",
            fs_err::read(core).unwrap(),
            0o755,
        ));
    let tiffuser = candidate(folder.path(), &wheel);
    let work = folder.path().join("work");
    let kind = CheckKind::TargetLibraries {
        target: "el9".into(),
    };

    let inspected = inspect(&tiffuser, None, &work);
    let check = find(&inspected.checks, &kind);
    assert!(!check.passed, "{check:?}");
    assert_eq!(
        check.detail,
        "links `libtiff.so.6`, but `el9` ships `libtiff.so.5` (`libtiff`)"
    );
    assert!(
        check
            .explanation
            .as_deref()
            .unwrap()
            .contains("`dnf install` refuses it"),
        "{check:?}"
    );
    assert!(check
        .hint
        .as_deref()
        .unwrap()
        .contains("`allow-foreign-host = true`"));

    let allowed = TargetLibraries {
        target: el9(),
        allow_foreign_host: true,
    };
    let inspected = inspect_wheel(&tiffuser, None, allowed, &work).unwrap();
    let check = find(&inspected.checks, &kind);
    assert!(check.passed, "{check:?}");
    assert!(
        check
            .detail
            .starts_with("allowed by `allow-foreign-host`: links `libtiff.so.6`"),
        "{check:?}"
    );

    // The zlib extension links what el9 ships, at the glibc it has.
    let zext = candidate(
        folder.path(),
        &zext_wheel("zext", &compile_zext(&compiler, "zext/_zext.so", &[])),
    );
    let inspected = inspect(&zext, None, &work);
    let check = find(&inspected.checks, &kind);
    assert!(check.passed, "{check:?}");
}

/// Code built against this host's glibc (2.36) calling `pthread_create`,
/// whose default version moved to `GLIBC_2.34`: fine for el9 (2.34), not
/// for el8 (2.28).
#[test]
fn a_glibc_symbol_newer_than_the_target_s_fails_for_that_target_only() {
    let host_glibc = vendor::host::platform::detect_glibc().unwrap();
    assert!(
        host_glibc >= (2, 34),
        "this test needs a build host with glibc 2.34 or later, not {host_glibc:?}"
    );
    let compiler = Compiler::new();
    let folder = tempfile::tempdir().unwrap();
    let source = folder.path().join("threads.c");
    fs_err::write(
        &source,
        "#include <pthread.h>\n\
         static void *run(void *argument) { return argument; }\n\
         int spawn(void) { pthread_t thread; \
         return pthread_create(&thread, 0, run, 0) || pthread_join(thread, 0); }\n",
    )
    .unwrap();
    let library = compiler.gcc(
        "threads/_threads.so",
        &["-shared", "-fPIC", &source.display().to_string()],
    );
    let wheel = WheelBuilder::new("threads", "1.0", EXTENSION_TAG).add(ArchiveFile::with_mode(
        "threads/_threads.cpython-311-x86_64-linux-gnu.so",
        fs_err::read(library).unwrap(),
        0o755,
    ));
    let threads = candidate(folder.path(), &wheel);
    let work = folder.path().join("work");

    let el9_check = find(
        &inspect(&threads, None, &work).checks,
        &CheckKind::TargetLibraries {
            target: "el9".into(),
        },
    )
    .clone();
    assert!(el9_check.passed, "{el9_check:?}");

    let el8 = Target::load("el8", None).unwrap();
    let strict = TargetLibraries {
        target: &el8,
        allow_foreign_host: false,
    };
    let inspected = inspect_wheel(&threads, None, strict, &work).unwrap();
    let check = find(
        &inspected.checks,
        &CheckKind::TargetLibraries {
            target: "el8".into(),
        },
    );
    assert!(!check.passed, "{check:?}");
    assert_eq!(
        check.detail,
        "needs `GLIBC_2.34` from `libc.so.6`, but `el8` has glibc 2.28"
    );
}

/// What rpmbuild's `brp-strip` does: a wheel built here loses its debug
/// sections and still imports; a published wheel is left as it is.
#[test]
fn debug_information_of_wheels_built_here_is_removed_and_they_still_work() {
    let compiler = Compiler::new();
    let folder = tempfile::tempdir().unwrap();
    let module = compile_zext(&compiler, "debugzext/_zext.so", &["-g"]);
    let wheel = zext_wheel("debugzext", &module);
    let entry = format!("debugzext/{ZEXT_MODULE}");
    let built = candidate(folder.path(), &wheel);
    let (sections, _) = readelf("-S", &built.path, &entry, folder.path());
    assert!(sections.contains(".debug_info"), "{sections}");

    let published = CandidateWheel {
        built_from_source: false,
        ..built.clone()
    };
    let inspected = inspect(&published, None, &folder.path().join("published"));
    assert!(!inspected.rewritten, "{inspected:#?}");

    let inspected = inspect(&built, None, &folder.path().join("work"));
    assert!(inspected.rewritten);
    let check = find(&inspected.checks, &CheckKind::DebugInfo);
    assert!(check.passed, "{check:?}");
    assert!(
        check.detail.starts_with("removed from 1 file ("),
        "{check:?}"
    );
    let (sections, _) = readelf("-S", &inspected.path, &entry, folder.path());
    assert!(!sections.contains(".debug"), "{sections}");
    assert!(
        sections.contains(".dynsym") && sections.contains(".symtab"),
        "{sections}"
    );
    assert!(
        fs_err::metadata(&inspected.path).unwrap().len()
            < fs_err::metadata(&built.path).unwrap().len()
    );
    // Made again: the same bytes (the RPMs stay reproducible).
    let again = inspect(&built, None, &folder.path().join("again"));
    assert_eq!(
        fs_err::read(&again.path).unwrap(),
        fs_err::read(&inspected.path).unwrap()
    );

    // Installed from the stripped wheel (RECORD checked) and imported.
    let environment = environment(folder.path(), &[&inspected]);
    let reports = run_checks(&environment, &[&inspected], &CheckOptions::default()).unwrap();
    let report = report_for(&reports, "debugzext");
    assert!(report.passed(), "{report:#?}");
}

#[test]
fn build_host_search_paths_are_removed_and_the_wheel_still_works() {
    let compiler = Compiler::new();
    let folder = tempfile::tempdir().unwrap();
    let rpath_flag = format!("-Wl,-rpath,{HOST_LIB}");
    let with_rpath = compile_zext(
        &compiler,
        "rpath/_zext.so",
        &[&rpath_flag, "-Wl,--disable-new-dtags"],
    );
    let with_runpath = compile_zext(&compiler, "runpath/_zext.so", &[&rpath_flag]);
    let with_mixed = compile_zext(
        &compiler,
        "mixed/_zext.so",
        &["-Wl,-rpath,$ORIGIN/../mixed.libs:/opt/host/lib"],
    );
    // The fixture really has what the test is about.
    for (file, tag) in [(&with_rpath, "(RPATH)"), (&with_runpath, "(RUNPATH)")] {
        let output = Command::new("readelf")
            .arg("-d")
            .arg(file)
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains(tag) && text.contains(HOST_LIB), "{text}");
    }

    let mut inspected = Vec::new();
    for (package, module, tag) in [
        ("rpathpkg", &with_rpath, "RPATH"),
        ("runpathpkg", &with_runpath, "RUNPATH"),
    ] {
        let wheel = zext_wheel(package, module)
            .file(&format!("{package}/data.txt"), "data\n")
            .add(ArchiveFile::with_mode(
                format!("{package}/data_link.txt"),
                "data.txt",
                SYMLINK_MODE,
            ));
        let original = candidate(folder.path(), &wheel);
        let work = folder.path().join("work");
        let result = inspect(&original, None, &work);
        let entry = format!("{package}/{ZEXT_MODULE}");
        let check = find(
            &result.checks,
            &CheckKind::Rpath {
                file: entry.clone(),
                stripped: true,
            },
        );
        assert!(check.passed);
        assert_eq!(check.detail, format!("removed {tag} `{HOST_LIB}`"));
        assert!(result.rewritten);
        assert_eq!(result.path, work.join("stripped").join(wheel.filename()));
        assert_eq!(entry_names(&result.path), entry_names(&original.path));

        let (dynamic, extracted) = readelf("-d", &result.path, &entry, folder.path());
        assert!(
            !dynamic.contains("RPATH") && !dynamic.contains("RUNPATH"),
            "{dynamic}"
        );
        assert!(dynamic.contains("Shared library: [libz.so.1]"), "{dynamic}");
        let loaded = Command::new("python3.11")
            .args(["-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])"])
            .arg(&extracted)
            .output()
            .unwrap();
        assert!(loaded.status.success(), "{loaded:?}");

        // Made again elsewhere: the same bytes; inspected again: nothing to do.
        let again = inspect(&original, None, &folder.path().join("again"));
        assert_eq!(
            fs_err::read(&again.path).unwrap(),
            fs_err::read(&result.path).unwrap()
        );
        let rewritten = CandidateWheel {
            path: result.path.clone(),
            ..original.clone()
        };
        let second = inspect(&rewritten, None, &folder.path().join("second"));
        let search_paths = second
            .checks
            .iter()
            .filter(|check| matches!(check.kind, CheckKind::Rpath { .. }));
        assert!(
            !second.rewritten && search_paths.count() == 0,
            "{second:#?}"
        );
        inspected.push(result);
    }

    // Installed by our installer (which checks every RECORD hash) and imported.
    let wheels: Vec<&InspectedWheel> = inspected.iter().collect();
    let environment = environment(folder.path(), &wheels);
    let link = environment.site_packages().join("rpathpkg/data_link.txt");
    assert!(fs_err::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let reports = run_checks(&environment, &wheels, &CheckOptions::default()).unwrap();
    for report in &reports {
        assert!(report.passed(), "{report:#?}");
        let import = find(
            &report.checks,
            &CheckKind::Import {
                module: report.package.to_string(),
            },
        );
        assert!(import.detail.starts_with("imported from "), "{import:?}");
    }
    for (inspected, report) in inspected.into_iter().zip(reports) {
        let verified = into_verified(inspected, report).unwrap();
        assert!(verified
            .path()
            .starts_with(folder.path().join("work/stripped")));
    }

    // `$ORIGIN/../mixed.libs:/opt/host/lib` cannot be split in place.
    let mixed = candidate(folder.path(), &zext_wheel("mixedpkg", &with_mixed));
    let result = inspect(&mixed, None, &folder.path().join("work"));
    let entry = format!("mixedpkg/{ZEXT_MODULE}");
    let check = find(
        &result.checks,
        &CheckKind::Rpath {
            file: entry.clone(),
            stripped: false,
        },
    );
    assert!(!check.passed);
    assert!(
        check.detail.contains("$ORIGIN/../mixed.libs:/opt/host/lib"),
        "{check:?}"
    );
    assert!(check.explanation.as_deref().unwrap().contains(&entry));
    assert!(!result.rewritten);
}

#[test]
fn imports_and_probes_run_in_the_scratch_environment() {
    let folder = tempfile::tempdir().unwrap();
    let feature = candidate(
        folder.path(),
        &WheelBuilder::new("featurepkg", "1.0", "py3-none-any")
            .file(
                "featurepkg/__init__.py",
                "HAS_ZLIB = False\nHAS_JPEG = True\n",
            )
            .file("featurepkg_speedups.py", "import featurepkg\n")
            .file("tests/__init__.py", "import pytest\n"),
    );
    let probe = |name: &str, code: &str, explanation: &str, hint: Option<&str>| Probe {
        name: name.into(),
        code: code.into(),
        explanation: explanation.into(),
        hint: hint.map(str::to_string),
    };
    let feature_policy = policy(VerifySettings {
        imports: vec!["featurepkg.missing".into()],
        probes: vec![
            probe(
                "zlib",
                "import featurepkg\nassert featurepkg.HAS_ZLIB",
                "featurepkg was built without zlib: compressed files cannot be read",
                Some("apt-get install zlib1g-dev"),
            ),
            probe(
                "jpeg",
                "import featurepkg\nassert featurepkg.HAS_JPEG",
                "no JPEG",
                None,
            ),
            probe(
                "decoder",
                "def decode():\n    raise RuntimeError('no decoder for webp')\ndecode()",
                "WebP images cannot be opened",
                None,
            ),
        ],
        bundled: false,
        ..VerifySettings::default()
    });
    let good = candidate(
        folder.path(),
        &WheelBuilder::new("goodpkg", "2.0", "py3-none-any")
            .file("goodpkg/__init__.py", "import featurepkg\nOK = True\n"),
    );
    let good_policy = policy(VerifySettings {
        probes: vec![probe("ok", "import goodpkg\nassert goodpkg.OK", "x", None)],
        bundled: false,
        ..VerifySettings::default()
    });
    let work = folder.path().join("work");
    let feature = inspect(&feature, Some(&feature_policy), &work);
    let good = inspect(&good, Some(&good_policy), &work);
    assert_eq!(
        feature.imports,
        ["featurepkg", "featurepkg_speedups", "featurepkg.missing"]
    );
    let environment = environment(folder.path(), &[&feature, &good]);
    let reports = run_checks(&environment, &[&feature, &good], &CheckOptions::default()).unwrap();
    let feature_report = report_for(&reports, "featurepkg").clone();
    let good_report = report_for(&reports, "goodpkg").clone();

    let outcome = |kind: CheckKind| find(&feature_report.checks, &kind).clone();
    assert!(
        outcome(CheckKind::Import {
            module: "featurepkg".into()
        })
        .passed
    );
    assert!(
        outcome(CheckKind::Import {
            module: "featurepkg_speedups".into()
        })
        .passed
    );
    let missing = outcome(CheckKind::Import {
        module: "featurepkg.missing".into(),
    });
    assert!(!missing.passed);
    assert_eq!(
        missing.detail,
        "ModuleNotFoundError: No module named 'featurepkg.missing'"
    );
    let zlib = outcome(CheckKind::Probe {
        name: "zlib".into(),
    });
    assert!(!zlib.passed);
    assert_eq!(
        zlib.detail,
        "AssertionError (line 2: `assert featurepkg.HAS_ZLIB`)"
    );
    assert!(
        outcome(CheckKind::Probe {
            name: "jpeg".into()
        })
        .passed
    );
    let decoder = outcome(CheckKind::Probe {
        name: "decoder".into(),
    });
    assert!(!decoder.passed);
    assert_eq!(
        decoder.detail,
        "RuntimeError: no decoder for webp (line 2: `raise RuntimeError('no decoder for webp')`)"
    );

    // A report about another wheel is not accepted.
    let mismatch = into_verified(feature.clone(), good_report.clone()).unwrap_err();
    assert_eq!(mismatch.failed[0].kind, CheckKind::Report);

    let failed = into_verified(feature, feature_report).unwrap_err();
    let text = failed.to_string();
    assert!(
        text.starts_with(
            "`featurepkg` 1.0 failed verification:\n  \
             - import `featurepkg.missing`: ModuleNotFoundError: No module named \
             'featurepkg.missing'\n  \
             - probe `zlib`: featurepkg was built without zlib: compressed files cannot be read\n    \
             AssertionError (line 2: `assert featurepkg.HAS_ZLIB`)\n    \
             hint: apt-get install zlib1g-dev\n  \
             - probe `decoder`: WebP images cannot be opened\n"
        ),
        "{text}"
    );
    assert_eq!(failed.failed.len(), 3);

    let verified = into_verified(good.clone(), good_report).unwrap();
    assert_eq!(verified.path(), good.path);
    assert_eq!(verified.version().to_string(), "2.0");
    assert!(verified.report().passed());
}

#[test]
fn a_hanging_or_dying_import_fails_its_check() {
    let folder = tempfile::tempdir().unwrap();
    let hang = candidate(
        folder.path(),
        &WheelBuilder::new("hangpkg", "1.0", "py3-none-any")
            .file("aaa_fine.py", "")
            .file("hangpkg/__init__.py", "import time\ntime.sleep(3600)\n"),
    );
    let crash = candidate(
        folder.path(),
        &WheelBuilder::new("crashpkg", "1.0", "py3-none-any").file(
            "crashpkg.py",
            "import os, sys\nsys.stderr.write('dying now\\n')\nsys.stderr.flush()\nos._exit(3)\n",
        ),
    );
    let hang_policy = policy(VerifySettings {
        probes: vec![Probe {
            name: "after".into(),
            code: "pass".into(),
            explanation: "never reached".into(),
            hint: None,
        }],
        ..VerifySettings::default()
    });
    let work = folder.path().join("work");
    let hang = inspect(&hang, Some(&hang_policy), &work);
    let crash = inspect(&crash, None, &work);
    let environment = environment(folder.path(), &[&hang, &crash]);
    let options = CheckOptions {
        timeout: Duration::from_secs(3),
        ..CheckOptions::default()
    };
    let reports = run_checks(&environment, &[&hang, &crash], &options).unwrap();
    let checks = &report_for(&reports, "hangpkg").checks;
    assert!(
        find(
            checks,
            &CheckKind::Import {
                module: "aaa_fine".into()
            }
        )
        .passed
    );
    let hung = find(
        checks,
        &CheckKind::Import {
            module: "hangpkg".into(),
        },
    );
    assert!(!hung.passed);
    assert_eq!(hung.detail, "timed out after 3 s");
    let after = find(
        checks,
        &CheckKind::Probe {
            name: "after".into(),
        },
    );
    assert!(!after.passed);
    assert_eq!(
        after.detail,
        "not run: an earlier check of this package timed out after 3 s"
    );

    let checks = &report_for(&reports, "crashpkg").checks;
    let died = find(
        checks,
        &CheckKind::Import {
            module: "crashpkg".into(),
        },
    );
    assert!(!died.passed);
    assert_eq!(
        died.detail,
        "python exited with exit status: 3; its stderr ends with:\ndying now"
    );
}

/// A minimal stand-in for Django's settings: reading a setting before
/// `settings.configure()` raises, as Django does.
const DJANGO_CONF: &str = r#"
class ImproperlyConfigured(Exception):
    pass


class _Settings:
    configured = False

    def configure(self, **options):
        self.__dict__.update(options)
        self.configured = True

    def __getattr__(self, name):
        raise ImproperlyConfigured(
            "Requested setting %s, but settings are not configured." % name
        )


settings = _Settings()
"#;

/// Verification tells broken from needs-its-context: a package that reads
/// Django settings at import passes (verification configures settings
/// when Django is in the set); a module that only runs inside its host
/// program is not imported, with the policy's reason shown; an extension
/// whose library is missing still fails, naming the library.
#[test]
fn packages_that_need_settings_or_their_host_pass_and_broken_ones_fail() {
    let folder = tempfile::tempdir().unwrap();
    let compiler = Compiler::new();
    let django = candidate(
        folder.path(),
        &WheelBuilder::new("django", "9.0", "py3-none-any")
            .file(
                "django/__init__.py",
                "def setup():\n    from django.conf import settings\n    settings.INSTALLED_APPS\n",
            )
            .file("django/conf/__init__.py", DJANGO_CONF),
    );
    let settings_app = candidate(
        folder.path(),
        &WheelBuilder::new("settingsapp", "1.0", "py3-none-any").file(
            "settingsapp/__init__.py",
            "from django.conf import settings\nAPPS = settings.INSTALLED_APPS\n",
        ),
    );
    let hosted = candidate(
        folder.path(),
        &WheelBuilder::new("hostpkg", "1.0", "py3-none-any")
            .file("hostpkg/__init__.py", "")
            .file("hostdecorators.py", "import uwsgi\n"),
    );
    let hosted_policy = policy(VerifySettings {
        not_imported: [(
            "hostdecorators".to_string(),
            "runs only inside the uWSGI server, which provides `uwsgi`".to_string(),
        )]
        .into(),
        ..VerifySettings::default()
    });
    // `gonepkg` links libgone.so.1, which neither the wheel nor the system has.
    compiler.gcc(
        "gone/libgone.so.1",
        &[
            "-shared",
            "-fPIC",
            &build_source("bundled.c").display().to_string(),
            "-Wl,-soname,libgone.so.1",
        ],
    );
    let core = compiler.gcc(
        "gonepkg/_core.so",
        &[
            "-shared",
            "-fPIC",
            &python_include_flag(),
            &build_source("bundler_core.c").display().to_string(),
            "-Lgone",
            "-l:libgone.so.1",
        ],
    );
    let gone = candidate(
        folder.path(),
        &WheelBuilder::new("gonepkg", "1.0", EXTENSION_TAG)
            .file("gonepkg/__init__.py", "from ._core import answer\n")
            .add(ArchiveFile::with_mode(
                "gonepkg/_core.cpython-311-x86_64-linux-gnu.so",
                fs_err::read(core).unwrap(),
                0o755,
            )),
    );
    let work = folder.path().join("work");
    let django = inspect(&django, None, &work);
    let settings_app = inspect(&settings_app, None, &work);
    let hosted = inspect(&hosted, Some(&hosted_policy), &work);
    let gone = inspect(&gone, None, &work);
    assert_eq!(hosted.imports, ["hostpkg"]);
    let skipped = find(
        &hosted.checks,
        &CheckKind::NotImported {
            module: "hostdecorators".into(),
        },
    );
    assert!(skipped.passed);
    assert!(
        skipped.detail.contains("inside the uWSGI server"),
        "{}",
        skipped.detail
    );

    let wheels = [&django, &settings_app, &hosted, &gone];
    let environment = environment(folder.path(), &wheels);
    let reports = run_checks(&environment, &wheels, &CheckOptions::default()).unwrap();
    let import = |package: &str, module: &str| {
        find(
            &report_for(&reports, package).checks,
            &CheckKind::Import {
                module: module.into(),
            },
        )
        .clone()
    };
    let configured = import("settingsapp", "settingsapp");
    assert!(configured.passed, "{}", configured.detail);
    assert!(import("hostpkg", "hostpkg").passed);
    let broken = import("gonepkg", "gonepkg");
    assert!(!broken.passed);
    assert!(
        broken
            .detail
            .contains("libgone.so.1: cannot open shared object file"),
        "{}",
        broken.detail
    );
}
