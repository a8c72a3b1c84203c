//! Tests of [`super::unpack_sdist`] on
//! archives built here, hostile ones included.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::hint::Hint;

/// One tar entry, with a raw (unchecked) name.
enum TarEntry<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Link(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Device(&'a str),
}

fn tar_gz(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, kind, data, mode, link): (&str, tar::EntryType, &[u8], u32, Option<&str>) =
            match entry {
                TarEntry::File(name, data, mode) => {
                    (name, tar::EntryType::Regular, data, *mode, None)
                }
                TarEntry::Dir(name) => (name, tar::EntryType::Directory, b"", 0o755, None),
                TarEntry::Link(name, target) => {
                    (name, tar::EntryType::Symlink, b"", 0o777, Some(*target))
                }
                TarEntry::Hard(name, target) => {
                    (name, tar::EntryType::Link, b"", 0o644, Some(*target))
                }
                TarEntry::Device(name) => (name, tar::EntryType::Char, b"", 0o644, None),
            };
        let raw = &mut header.as_gnu_mut().unwrap().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        if let Some(link) = link {
            header.set_link_name(link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn write(folder: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = folder.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn unpack(entries: &[TarEntry<'_>]) -> (tempfile::TempDir, Result<SourceTree, BuildError>) {
    let folder = tempfile::tempdir().unwrap();
    let sdist = write(folder.path(), "demo-1.0.tar.gz", &tar_gz(entries));
    let result = unpack_sdist(&sdist, &folder.path().join("src"));
    (folder, result)
}

/// Unpacking must be refused, naming the sdist and `entry`, with `reason` in the text.
fn assert_refused(entries: &[TarEntry<'_>], entry: &str, reason: &str) {
    let (_folder, result) = unpack(entries);
    let error = result.expect_err("the sdist must be refused");
    let message = error.with_hint();
    assert!(
        matches!(&error, BuildError::Refused { sdist, entry: named, .. }
            if sdist == "demo-1.0.tar.gz" && named == entry),
        "{message}"
    );
    assert!(message.contains(reason), "{message}");
    assert!(message.contains("hint:"), "{message}");
}

const PYPROJECT: &str = "[build-system]\nrequires = [\"flit_core>=3.2,<4\"]\n\
                         build-backend = \"flit_core.buildapi\"\n";

#[test]
fn unpacks_files_modes_links_and_the_build_system() {
    let (_folder, result) = unpack(&[
        TarEntry::Dir("demo-1.0/"),
        TarEntry::File("demo-1.0/pyproject.toml", PYPROJECT.as_bytes(), 0o644),
        TarEntry::File("./demo-1.0/demo/__init__.py", b"x = 1\n", 0o644),
        TarEntry::File("demo-1.0/tool.sh", b"#!/bin/sh\n", 0o755),
        TarEntry::Link("demo-1.0/docs/LICENSE", "../LICENSE"),
        TarEntry::File("demo-1.0/LICENSE", b"MIT\n", 0o644),
        TarEntry::Hard("demo-1.0/LICENSE.copy", "demo-1.0/LICENSE"),
    ]);
    let tree = result.unwrap();
    assert_eq!(tree.root.file_name().unwrap(), "demo-1.0");
    assert_eq!(tree.sdist, "demo-1.0.tar.gz");
    assert_eq!(
        fs::read_to_string(tree.root.join("demo/__init__.py")).unwrap(),
        "x = 1\n"
    );
    let mode = |path: &str| {
        fs::metadata(tree.root.join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("tool.sh"), 0o755);
    assert_eq!(mode("demo/__init__.py"), 0o644);
    assert_eq!(
        fs::read_link(tree.root.join("docs/LICENSE")).unwrap(),
        Path::new("../LICENSE")
    );
    assert_eq!(
        fs::read_to_string(tree.root.join("docs/LICENSE")).unwrap(),
        "MIT\n"
    );
    assert_eq!(
        fs::read_to_string(tree.root.join("LICENSE.copy")).unwrap(),
        "MIT\n"
    );
    assert_eq!(tree.build_system.backend, "flit_core.buildapi");
    assert_eq!(
        tree.build_system.requires[0].to_string(),
        "flit-core>=3.2,<4"
    );
}

#[test]
fn refuses_unsafe_paths() {
    assert_refused(
        &[TarEntry::File("/etc/passwd", b"x", 0o644)],
        "/etc/passwd",
        "absolute path",
    );
    assert_refused(
        &[TarEntry::File("demo-1.0/../../evil", b"x", 0o644)],
        "demo-1.0/../../evil",
        "`..`",
    );
    // The rules wheels obey (`crate::archive_paths`) hold for sdists too.
    assert_refused(
        &[TarEntry::File("demo-1.0\\..\\evil", b"x", 0o644)],
        "demo-1.0\\..\\evil",
        "backslash",
    );
    assert_refused(
        &[TarEntry::File("C:/evil", b"x", 0o644)],
        "C:/evil",
        "drive letter",
    );
    assert_refused(
        &[
            TarEntry::File("demo-1.0/a", b"x", 0o644),
            TarEntry::File("other-1.0/b", b"x", 0o644),
        ],
        "other-1.0/b",
        "top-level folder `demo-1.0`",
    );
    assert_refused(
        &[TarEntry::File("setup.py", b"x", 0o644)],
        "setup.py",
        "beside the top-level folder",
    );
}

#[test]
fn refuses_links_that_leave_the_tree() {
    assert_refused(
        &[TarEntry::Link("demo-1.0/escape", "../../etc")],
        "demo-1.0/escape",
        "points outside the sdist",
    );
    assert_refused(
        &[TarEntry::Link("demo-1.0/escape", "/etc/passwd")],
        "demo-1.0/escape",
        "points outside the sdist",
    );
    // `here/..` is the tree lexically but its parent once `here` is followed.
    assert_refused(
        &[
            TarEntry::Link("demo-1.0/here", "."),
            TarEntry::Link("demo-1.0/up", "here/.."),
        ],
        "demo-1.0/up",
        "runs through another symbolic link",
    );
    assert_refused(
        &[
            TarEntry::Link("demo-1.0/dir", "sub"),
            TarEntry::File("demo-1.0/dir/evil", b"x", 0o644),
        ],
        "demo-1.0/dir/evil",
        "lies below the file or link `dir`",
    );
    assert_refused(
        &[TarEntry::Hard("demo-1.0/shadow", "/etc/shadow")],
        "demo-1.0/shadow",
        "not a file unpacked before it",
    );
}

#[test]
fn refuses_devices_and_duplicates() {
    assert_refused(
        &[TarEntry::Device("demo-1.0/null")],
        "demo-1.0/null",
        "device file",
    );
    assert_refused(
        &[
            TarEntry::File("demo-1.0/setup.py", b"a", 0o644),
            TarEntry::File("demo-1.0/setup.py", b"b", 0o644),
        ],
        "demo-1.0/setup.py",
        "appears more than once",
    );
    assert_refused(
        &[
            TarEntry::File("demo-1.0/pkg/a.py", b"a", 0o644),
            TarEntry::Link("demo-1.0/pkg", "other"),
        ],
        "demo-1.0/pkg",
        "entries before it lie below it",
    );
}

#[test]
fn refuses_archives_over_the_limits() {
    let folder = tempfile::tempdir().unwrap();
    let big = vec![b'x'; 4096];
    let sdist = write(
        folder.path(),
        "demo-1.0.tar.gz",
        &tar_gz(&[
            TarEntry::File("demo-1.0/a", &big, 0o644),
            TarEntry::File("demo-1.0/b", &big, 0o644),
        ]),
    );
    let limits = UnpackLimits {
        entries: 10,
        bytes: 6000,
    };
    let error = unpack_with_limits(&sdist, &folder.path().join("one"), limits).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("entry `demo-1.0/b` brings the unpacked size over the limit"),
        "{error}"
    );
    let limits = UnpackLimits {
        entries: 1,
        bytes: 1 << 20,
    };
    let error = unpack_with_limits(&sdist, &folder.path().join("two"), limits).unwrap_err();
    assert!(error.to_string().contains("limit of 1 entries"), "{error}");
}

#[test]
fn unpacks_and_refuses_zip_sdists() {
    let folder = tempfile::tempdir().unwrap();
    let zip_bytes = |entries: &[(&str, &str)], link: Option<(&str, &str)>| {
        let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (name, text) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(text.as_bytes()).unwrap();
        }
        if let Some((name, target)) = link {
            writer.add_symlink(name, target, options).unwrap();
        }
        writer.finish().unwrap().into_inner()
    };
    let good = write(
        folder.path(),
        "demo-1.0.zip",
        &zip_bytes(
            &[
                ("demo-1.0/setup.py", "pass\n"),
                ("demo-1.0/pyproject.toml", PYPROJECT),
            ],
            Some(("demo-1.0/link.py", "setup.py")),
        ),
    );
    let tree = unpack_sdist(&good, &folder.path().join("good")).unwrap();
    assert_eq!(
        fs::read_to_string(tree.root.join("link.py")).unwrap(),
        "pass\n"
    );

    let evil = write(
        folder.path(),
        "evil-1.0.zip",
        &zip_bytes(&[("evil-1.0/a", "")], Some(("evil-1.0/b", "../../x"))),
    );
    let error = unpack_sdist(&evil, &folder.path().join("evil")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`evil-1.0.zip`: entry `evil-1.0/b`"),
        "{error}"
    );
}

#[test]
fn falls_back_to_setuptools_without_a_build_system() {
    for text in [None, Some("[project]\nname = \"demo\"\n")] {
        let system = parse_build_system(text, "demo-1.0.tar.gz").unwrap();
        assert_eq!(system.backend, "setuptools.build_meta:__legacy__");
        assert_eq!(system.requires[0].to_string(), "setuptools>=40.8.0");
        assert!(system.backend_path.is_empty());
    }
    let system = parse_build_system(
        Some("[build-system]\nrequires = [\"setuptools\", \"cython\"]\n"),
        "demo-1.0.tar.gz",
    )
    .unwrap();
    assert_eq!(system.backend, "setuptools.build_meta:__legacy__");
    assert_eq!(system.requires.len(), 2);
    let in_tree = parse_build_system(
        Some("[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\"_backend\"]\n"),
        "demo-1.0.tar.gz",
    )
    .unwrap();
    assert_eq!(in_tree.backend_path, ["_backend"]);
}

#[test]
fn names_the_sdist_and_key_of_a_bad_build_system() {
    let cases = [
        ("[build-system\n", "pyproject.toml"),
        (
            "[build-system]\nbuild-backend = \"x\"\n",
            "build-system.requires",
        ),
        (
            "[build-system]\nrequires = \"setuptools\"\n",
            "build-system.requires",
        ),
        (
            "[build-system]\nrequires = [\"not a requirement!\"]\n",
            "build-system.requires",
        ),
        (
            "[build-system]\nrequires = []\nbuild-backend = \"a b\"\n",
            "build-system.build-backend",
        ),
        (
            "[build-system]\nrequires = []\nbackend-path = [\"/abs\"]\n",
            "build-system.backend-path",
        ),
        (
            "[build-system]\nrequires = []\nbackend-path = [\"../out\"]\n",
            "build-system.backend-path",
        ),
    ];
    for (text, key) in cases {
        let error = parse_build_system(Some(text), "demo-1.0.tar.gz").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("`demo-1.0.tar.gz`") && message.contains(&format!("`{key}`")),
            "{text}: {message}"
        );
    }
}

#[test]
fn reads_the_build_system_or_falls_back_to_setuptools() {
    let folder = tempfile::tempdir().unwrap();
    let sdist = write(
        folder.path(),
        "demo-1.0.tar.gz",
        &tar_gz(&[
            TarEntry::File("demo-1.0/setup.py", b"pass", 0o644),
            TarEntry::File("demo-1.0/pyproject.toml", PYPROJECT.as_bytes(), 0o644),
        ]),
    );
    let unpacked = |sdist: &Path, name: &str| unpack_sdist(sdist, &folder.path().join(name));
    assert_eq!(
        unpacked(&sdist, "demo").unwrap().build_system.backend,
        "flit_core.buildapi"
    );
    let bare = write(
        folder.path(),
        "bare-1.0.tar.gz",
        &tar_gz(&[TarEntry::File("bare-1.0/setup.py", b"pass", 0o644)]),
    );
    assert_eq!(
        unpacked(&bare, "bare").unwrap().build_system.backend,
        "setuptools.build_meta:__legacy__"
    );
    let error = unpacked(&folder.path().join("demo-1.0.tar.bz2"), "bz2").unwrap_err();
    assert!(error.to_string().contains("`demo-1.0.tar.bz2`"), "{error}");
}

#[test]
fn a_stream_unpacks_as_its_file_does_and_is_checked_the_same() {
    let entries = [
        TarEntry::Dir("demo-1.0/"),
        TarEntry::File("demo-1.0/pyproject.toml", PYPROJECT.as_bytes(), 0o644),
        TarEntry::File("demo-1.0/tool.sh", b"#!/bin/sh\n", 0o755),
        TarEntry::Link("demo-1.0/docs/LICENSE", "../LICENSE"),
        TarEntry::File("demo-1.0/LICENSE", b"MIT\n", 0o644),
    ];
    let (_file_folder, from_file) = unpack(&entries);
    let from_file = from_file.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let bytes = tar_gz(&entries);
    let streamed = unpack_tar_gz_from(
        bytes.as_slice(),
        "demo-1.0.tar.gz",
        &folder.path().join("src"),
    )
    .unwrap();
    assert_eq!(streamed.build_system, from_file.build_system);
    assert_eq!(streamed.sdist, from_file.sdist);
    for path in ["pyproject.toml", "tool.sh", "LICENSE", "docs/LICENSE"] {
        assert_eq!(
            fs::read(streamed.root.join(path)).unwrap(),
            fs::read(from_file.root.join(path)).unwrap(),
            "{path}"
        );
    }
    let executable = fs::metadata(streamed.root.join("tool.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(executable & 0o111, 0o111);

    // A cut stream is an archive error, not a shorter tree.
    let cut = &bytes[..bytes.len() / 2];
    let error = unpack_tar_gz_from(cut, "demo-1.0.tar.gz", &folder.path().join("cut")).unwrap_err();
    assert!(error.to_string().contains("demo-1.0.tar.gz"), "{error}");
    // The same refusals as from a file.
    let hostile = tar_gz(&[TarEntry::File("demo-1.0/../../escape", b"x", 0o644)]);
    let error = unpack_tar_gz_from(
        hostile.as_slice(),
        "demo-1.0.tar.gz",
        &folder.path().join("bad"),
    )
    .unwrap_err();
    assert!(matches!(error, BuildError::Refused { .. }), "{error}");
}
