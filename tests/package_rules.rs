//! The packaging rules checked against rpm itself: converted specifiers
//! select the same versions under rpm's comparison as PEP 440 does; ELF
//! dependency extraction on real files compiled here with `gcc` equals rpm's
//! own generator (`/usr/lib/rpm/elfdeps`) file by file; payload rules
//! (bundled manylinux `.libs/` libraries) on a compiled extension-module
//! layout.

use crate::common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use pep440_rs::{Operator, Version, VersionSpecifiers};
use vendor::elf::{dependency_soname, elf_dependencies, payload_dependencies, ElfFileInfo};
use vendor::name::PackageName;
use vendor::package::dependency::python_dist_requires;
use vendor::package::version::{rpm_dependency_version, RpmVersionStyle};

use common::rpm_fixtures::{elfdeps, Compiler};

fn ours(path: &Path) -> ElfFileInfo {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    elf_dependencies(&bytes, name)
        .unwrap()
        .expect("an ELF file")
}

/// Our Requires and Provides for `path` equal elfdeps'; returns ours.
fn assert_same_as_elfdeps(path: &Path) -> ElfFileInfo {
    let info = ours(path);
    assert_eq!(
        info.dependencies.requires,
        elfdeps(path, "--requires"),
        "requires of {}",
        path.display()
    );
    assert_eq!(
        info.dependencies.provides,
        elfdeps(path, "--provides"),
        "provides of {}",
        path.display()
    );
    info
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

const LIBFOO_C: &str = r#"
#include <string.h>
#include <stdio.h>
size_t foo_length(const char *text) { return strlen(text); }
int foo_print(const char *text) { return puts(text); }
"#;

const LIBFOO_MAP: &str =
    "FOO_1.0 { global: foo_length; local: *; };\nFOO_1.1 { global: foo_print; } FOO_1.0;\n";

#[test]
fn library_with_soname_version_script_and_versioned_libc_symbols() {
    let compiler = Compiler::new();
    compiler.write("foo.c", LIBFOO_C);
    compiler.write("foo.map", LIBFOO_MAP);
    let library = compiler.gcc(
        "libfoo.so.1.0.0",
        &[
            "-shared",
            "-fPIC",
            "foo.c",
            "-Wl,-soname,libfoo.so.1",
            "-Wl,--version-script=foo.map",
        ],
    );
    let info = assert_same_as_elfdeps(&library);
    assert_eq!(
        info.dependencies.provides,
        set(&[
            "libfoo.so.1()(64bit)",
            "libfoo.so.1(FOO_1.0)(64bit)",
            "libfoo.so.1(FOO_1.1)(64bit)"
        ])
    );
    let requires = &info.dependencies.requires;
    assert!(requires.contains("libc.so.6()(64bit)"), "{requires:?}");
    assert!(
        requires
            .iter()
            .any(|requirement| requirement.starts_with("libc.so.6(GLIBC_2.")),
        "a versioned glibc symbol: {requires:?}"
    );
    assert!(requires.contains("rtld(GNU_HASH)"), "{requires:?}");
    assert_eq!(info.soname.as_deref(), Some("libfoo.so.1"));
    assert!(info.is_shared_library && info.is_64bit);
}

#[test]
fn unversioned_needed_library() {
    let compiler = Compiler::new();
    // Declared by hand so the test needs no zlib headers.
    compiler.write(
        "usez.c",
        "const char *zlibVersion(void);\nconst char *version(void) { return zlibVersion(); }\n",
    );
    let library = compiler.gcc(
        "libusez.so",
        &[
            "-shared",
            "-fPIC",
            "usez.c",
            "-Wl,--no-as-needed",
            "-l:libz.so.1",
            "-Wl,--hash-style=both",
        ],
    );
    let info = assert_same_as_elfdeps(&library);
    assert!(
        info.dependencies.requires.contains("libz.so.1()(64bit)"),
        "{:?}",
        info.dependencies.requires
    );
    assert!(info.needed.contains(&"libz.so.1".to_string()));
    // `DT_HASH` is present beside `DT_GNU_HASH`: no rtld requirement.
    assert!(!info.dependencies.requires.contains("rtld(GNU_HASH)"));
    // No soname: rpm provides the file name.
    assert_eq!(info.soname, None);
    assert_eq!(info.dependencies.provides, set(&["libusez.so()(64bit)"]));
}

#[test]
fn extension_module_provides_nothing() {
    let compiler = Compiler::new();
    compiler.write(
        "x.c",
        "#include <math.h>\ndouble root(double value) { return sqrt(value) + cbrt(value); }\n",
    );
    let module = compiler.gcc(
        "_x.cpython-311-x86_64-linux-gnu.so",
        &["-shared", "-fPIC", "x.c", "-Wl,--no-as-needed", "-lm"],
    );
    let info = assert_same_as_elfdeps(&module);
    assert!(info.dependencies.provides.is_empty());
    assert!(info.dependencies.requires.contains("libm.so.6()(64bit)"));
    assert!(info.is_shared_library);
}

#[test]
fn executables_require_but_do_not_provide() {
    let compiler = Compiler::new();
    compiler.write(
        "main.c",
        "#include <stdio.h>\nint main(void) { return puts(\"hello\") < 0; }\n",
    );
    for (output, position) in [("pie-tool", "-pie"), ("plain-tool", "-no-pie")] {
        let executable = compiler.gcc(output, &["main.c", position]);
        let info = assert_same_as_elfdeps(&executable);
        assert!(!info.is_shared_library, "{output}");
        assert!(info.dependencies.provides.is_empty(), "{output}");
        assert!(
            info.dependencies.requires.contains("libc.so.6()(64bit)"),
            "{output}"
        );
    }
}

#[test]
fn thirty_two_bit_files_have_no_marker() {
    let compiler = Compiler::new();
    compiler.write("f.c", "int f(void) { return 1; }\n");
    compiler.write("f.map", "FOO_1 { global: f; local: *; };\n");
    compiler.write("g.c", "int f(void);\nint g(void) { return f(); }\n");
    let base = ["-m32", "-shared", "-fPIC", "-nostdlib"];
    let library = compiler.gcc(
        "libf32.so.1",
        &[
            &base[..],
            &[
                "f.c",
                "-Wl,-soname,libf32.so.1",
                "-Wl,--version-script=f.map",
            ],
        ]
        .concat(),
    );
    let user = compiler.gcc(
        "libg32.so.1",
        &[
            &base[..],
            &["g.c", "-L.", "-l:libf32.so.1", "-Wl,-soname,libg32.so.1"],
        ]
        .concat(),
    );
    let library_info = assert_same_as_elfdeps(&library);
    assert!(!library_info.is_64bit);
    assert_eq!(
        library_info.dependencies.provides,
        set(&["libf32.so.1", "libf32.so.1(FOO_1)"])
    );
    let user_info = assert_same_as_elfdeps(&user);
    assert_eq!(
        user_info.dependencies.requires,
        set(&["libf32.so.1", "libf32.so.1(FOO_1)", "rtld(GNU_HASH)"])
    );
}

#[test]
fn files_that_are_not_loadable_elf_are_ignored() {
    let compiler = Compiler::new();
    compiler.write("o.c", "int f(void) { return 1; }\n");
    let object = compiler.gcc("o.o", &["-c", "-fPIC", "o.c"]);
    let bytes = std::fs::read(object).unwrap();
    assert_eq!(elf_dependencies(&bytes, "o.o").unwrap(), None);
    assert_eq!(
        elf_dependencies(b"#!/usr/bin/python\n", "tool").unwrap(),
        None
    );
}

const SITE: &str = "lib/python3.11/site-packages";
const BUNDLED_JPEG: &str = "libjpeg-1a2b3c4d.so.62.3.0";

/// A manylinux-like wheel layout: an extension module finding a
/// hash-renamed libjpeg through `RPATH=$ORIGIN/../pkg.libs`, libjpeg itself
/// needing the system's libz, and a standalone library nothing uses.
fn compile_manylinux_payload(compiler: &Compiler) -> Vec<(String, PathBuf)> {
    compiler.write(
        "jpeg.c",
        "const char *zlibVersion(void);\nint jpeg_start(void) { return zlibVersion()[0]; }\n",
    );
    compiler.write(
        "jpeg.map",
        "LIBJPEG_6.2 { global: jpeg_start; local: *; };\n",
    );
    compiler.write(
        "ext.c",
        "int jpeg_start(void);\nint decode(void) { return jpeg_start(); }\n",
    );
    compiler.write("plugin.c", "int plugin(void) { return 2; }\n");
    let jpeg_path = format!("{SITE}/pkg.libs/{BUNDLED_JPEG}");
    compiler.gcc(
        &jpeg_path,
        &[
            "-shared",
            "-fPIC",
            "jpeg.c",
            &format!("-Wl,-soname,{BUNDLED_JPEG}"),
            "-Wl,--version-script=jpeg.map",
            "-Wl,--no-as-needed",
            "-l:libz.so.1",
        ],
    );
    let extension_path = format!("{SITE}/pkg/_imaging.cpython-311-x86_64-linux-gnu.so");
    compiler.gcc(
        &extension_path,
        &[
            "-shared",
            "-fPIC",
            "ext.c",
            &format!("-L{SITE}/pkg.libs"),
            &format!("-l:{BUNDLED_JPEG}"),
            "-Wl,-rpath,$ORIGIN/../pkg.libs",
            "-Wl,--disable-new-dtags",
        ],
    );
    let plugin_path = format!("{SITE}/pkg/libplugin.so.2");
    compiler.gcc(
        &plugin_path,
        &["-shared", "-fPIC", "plugin.c", "-Wl,-soname,libplugin.so.2"],
    );
    let init_path = format!("{SITE}/pkg/__init__.py");
    compiler.write(&init_path, "from ._imaging import *\n");
    [jpeg_path, extension_path, plugin_path, init_path]
        .into_iter()
        .map(|path| (path.clone(), compiler.path(&path)))
        .collect()
}

#[test]
fn bundled_manylinux_library_is_neither_required_nor_provided() {
    let compiler = Compiler::new();
    let files = compile_manylinux_payload(&compiler);
    let payload = payload_dependencies(&files).unwrap();

    let extension = &payload.files[&format!("{SITE}/pkg/_imaging.cpython-311-x86_64-linux-gnu.so")];
    assert_eq!(extension.rpath, ["$ORIGIN/../pkg.libs"]);
    assert!(
        extension
            .dependencies
            .requires
            .contains(&format!("{BUNDLED_JPEG}(LIBJPEG_6.2)(64bit)")),
        "the extension needs the bundled library's version: {:?}",
        extension.dependencies.requires
    );

    // rpm's own view of each file, minus the bundled library, is the payload's.
    let elfdeps_requires: BTreeSet<String> = files
        .iter()
        .filter(|(path, _)| !path.ends_with(".py"))
        .flat_map(|(_, disk)| elfdeps(disk, "--requires"))
        .filter(|requirement| dependency_soname(requirement) != BUNDLED_JPEG)
        .collect();
    assert_eq!(payload.dependencies.requires, elfdeps_requires);
    assert!(payload.dependencies.requires.contains("libz.so.1()(64bit)"));
    assert!(!payload
        .dependencies
        .requires
        .iter()
        .any(|requirement| requirement.contains("libjpeg")));

    assert_eq!(
        payload.dependencies.provides,
        set(&["libplugin.so.2()(64bit)"])
    );
    assert_eq!(payload.bundled.len(), 1, "{:?}", payload.bundled);
    let bundled = &payload.bundled[0];
    assert_eq!(bundled.path, format!("{SITE}/pkg.libs/{BUNDLED_JPEG}"));
    assert_eq!(bundled.soname, BUNDLED_JPEG);
    assert_eq!(
        bundled.used_by,
        [format!(
            "{SITE}/pkg/_imaging.cpython-311-x86_64-linux-gnu.so"
        )]
    );
    assert!(payload.unreadable.is_empty());
    assert_eq!(payload.files.len(), 3, "the Python file is not ELF");
}

#[test]
fn payload_lists_broken_elf_files_instead_of_failing() {
    let compiler = Compiler::new();
    let broken = compiler.write("broken.so", "\x7fELF\x02\x01\x01 truncated");
    let files = vec![("pkg/broken.so".to_string(), broken)];
    let payload = payload_dependencies(&files).unwrap();
    assert_eq!(payload.unreadable.len(), 1);
    assert_eq!(payload.unreadable[0].path, "pkg/broken.so");
    assert!(payload.dependencies.requires.is_empty());

    let missing = vec![("pkg/gone.so".to_string(), compiler.path("gone.so"))];
    let error = payload_dependencies(&missing).unwrap_err();
    assert!(error.to_string().starts_with("cannot read `"), "{error}");
}

/// Real-world files of the build host (distribution-built binaries and
/// libraries): our reading agrees with elfdeps on every one of them.
/// elfdeps only generates Requires for executable files, so Requires are
/// compared on those only.
#[test]
fn agrees_with_elfdeps_on_the_hosts_own_binaries() {
    let mut compared = 0;
    for directory in ["/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/rpm"] {
        let Ok(entries) = std::fs::read_dir(directory) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        paths.sort();
        for path in paths.into_iter().filter(|path| path.is_file()).take(150) {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let name = path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap_or_default()
                .to_string();
            let Ok(Some(info)) = elf_dependencies(&bytes, &name) else {
                continue;
            };
            let executable = std::fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0;
            if executable {
                assert_eq!(
                    info.dependencies.requires,
                    elfdeps(&path, "--requires"),
                    "requires of {}",
                    path.display()
                );
            }
            assert_eq!(
                info.dependencies.provides,
                elfdeps(&path, "--provides"),
                "provides of {}",
                path.display()
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "only {compared} ELF files found on the host");
}

/// Versions a `python3dist()` Provides could carry, around the specifiers'
/// boundaries. None has fewer release segments than a `.*` prefix below
/// (pep440_rs would then compare only the common prefix).
const CANDIDATES: [&str; 24] = [
    "1.0",
    "1.9",
    "1.9.post1",
    "2.0.dev1",
    "2.0a1",
    "2.0rc1",
    "2.0",
    "2.0+local",
    "2.0.post1.dev1",
    "2.0.post1",
    "2.0.0.1",
    "2.0.1",
    "2.4",
    "2.4.7",
    "2.4.8rc1",
    "2.4.8",
    "2.4.8+local",
    "2.4.8.post1",
    "2.4.9",
    "2.5.dev1",
    "2.5",
    "2.5.1",
    "3.0",
    "1!1.0",
];

const SPECIFIERS: [&str; 18] = [
    "==2.0",
    "==2.4.8",
    "==2.4.*",
    "==2.0.*",
    "~=2.4.8",
    "~=2.4",
    "!=2.4.8",
    "!=2.4.*",
    "!=2.0.*",
    "<2.0",
    "<2.0rc1",
    "<2.4.8.post1",
    "<=2.0",
    ">2.0",
    ">2.0.post1",
    ">=2.0",
    ">=2.0,<2.5,!=2.4.7",
    ">=1!1.0",
];

/// The converted dependency as a Lua boolean over `rpm.vercmp`, for the
/// candidate EVR `candidate` (`name` stands for the dependency's name).
fn lua_condition(dependency: &str, name: &str, candidate: &str) -> String {
    let spaced = dependency
        .replace(name, "N")
        .replace('(', " ( ")
        .replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut lua = String::new();
    let mut index = 0;
    while index < tokens.len() {
        match tokens[index] {
            "(" | ")" => lua.push_str(tokens[index]),
            "with" => lua.push_str(" and "),
            "or" => lua.push_str(" or "),
            "N" => {
                let operator = match tokens[index + 1] {
                    "=" => "==",
                    other => other,
                };
                let version = tokens[index + 2];
                lua.push_str(&format!(
                    "(rpm.vercmp(\"{candidate}\", \"{version}\") {operator} 0)"
                ));
                index += 2;
            }
            other => panic!("unexpected token `{other}` in `{dependency}`"),
        }
        index += 1;
    }
    lua
}

/// Pairs where the expected answer is not pep440_rs' `contains`:
/// - the (Fedora) conversion is only an approximation: `.*` and `~=` bounds
///   are written `>= V` / `< V'`, which leave out pre-releases of `V` and let
///   in pre-releases of `V'` (docs/rpm-rules.md keeps Fedora's form);
/// - `<V` where V has a pre, dev or post part is converted to a plain `< V`
///   (docs/rpm-rules.md), so pre-releases of V's own release sort as usual; PEP 440
///   tools disagree among themselves there (pep440_rs 0.7 refuses
///   `2.0.dev1` for `<2.0rc1`, `packaging` accepts it).
fn not_comparable(specifiers: &VersionSpecifiers, candidate: &Version) -> bool {
    specifiers
        .iter()
        .any(|specifier| match specifier.operator() {
            Operator::EqualStar | Operator::NotEqualStar | Operator::TildeEqual => {
                candidate.any_prerelease()
            }
            Operator::LessThan => {
                (specifier.version().any_prerelease() || specifier.version().is_post())
                    && candidate.any_prerelease()
                    && specifier.version().release() == candidate.release()
            }
            _ => false,
        })
}

#[test]
fn converted_specifiers_select_what_pep440_selects_under_rpm_comparison() {
    let name = PackageName::from_str("foo").unwrap();
    let dependency_name = "a-python3dist(foo)";
    for style in [
        RpmVersionStyle { caret: true },
        RpmVersionStyle { caret: false },
    ] {
        let mut cases = Vec::new();
        let mut conditions = String::new();
        for text in SPECIFIERS {
            let specifiers = VersionSpecifiers::from_str(text).unwrap();
            let dependencies = python_dist_requires("a", &name, &[], &specifiers, style).unwrap();
            let dependency = dependencies[0].to_string();
            for candidate in CANDIDATES {
                let candidate = Version::from_str(candidate).unwrap();
                if not_comparable(&specifiers, &candidate) {
                    continue;
                }
                let provided = rpm_dependency_version(&candidate, style).to_string();
                let condition = lua_condition(&dependency, dependency_name, &provided);
                conditions.push_str(&format!("print(tostring({condition}) .. \"\\n\") "));
                cases.push((
                    text,
                    dependency.clone(),
                    candidate.clone(),
                    provided,
                    specifiers.contains(&candidate),
                ));
            }
        }
        let output = Command::new("rpm")
            .arg("--eval")
            .arg(format!("%{{lua: {conditions}}}"))
            .output()
            .expect("rpm is installed (a test requirement)");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answers: Vec<bool> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| line == "true")
            .collect();
        assert_eq!(answers.len(), cases.len());
        for ((specifier, dependency, candidate, provided, pep440), rpm) in cases.iter().zip(answers)
        {
            assert_eq!(
                rpm, *pep440,
                "`{specifier}` → `{dependency}`: {candidate} (provided as {provided}) ({style:?})"
            );
        }
    }
}
