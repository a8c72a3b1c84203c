//! Inputs of the `vendor build` tests that a package description cannot
//! give: wheels built by the test itself (compiled extensions, hostile
//! archives), served on the loopback index like any generated file.
//!
//! Input: a [`WheelBuilder`] or archive entries, C sources from
//! `test-data/c-sources/`. Output: [`Artifact`]s for [`Scenario::with_artifact`],
//! shared objects compiled with the host's `gcc`, and what rpm's own
//! `elfdeps` says about them.
//!
//! Invariants: every wheel served here has the PEP 658 metadata of its
//! `METADATA` (so locking never opens it) and the fixed upload time of the
//! generated fixtures (so build times are stable); compiled files are mode
//! 0755 as vendor writes `.so` files.
//!
//! [`Scenario::with_artifact`]: super::scenario::Scenario::with_artifact

use std::collections::BTreeSet;
use std::io::{Cursor, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::dist::{normalize_name, ArchiveFile, WheelBuilder};
use super::scenario::{sha256_hex, Artifact, Location, Scenario};

/// The upload time of every generated fixture (scenario.rs uses the same).
pub const FIXTURE_UPLOAD_TIME: &str = "2024-01-01T00:00:00.000000Z";

/// Mode of an [`ArchiveFile`] that [`write_wheel_zip`] stores as a symbolic
/// link to its contents.
pub const SYMLINK_MODE: u32 = 0o120_777;

/// A C source (or other fixture) of `test-data/c-sources/`.
pub fn build_source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test-data/c-sources")
        .join(name)
}

/// A scenario publishing `wheels` made by a test.
pub fn scenario_of(wheels: &[WheelBuilder]) -> Scenario {
    wheels.iter().fold(Scenario::empty(), |scenario, wheel| {
        scenario.with_artifact(wheel_artifact(wheel))
    })
}

/// `fromsource` 2.0: an sdist only, with static metadata, built by the
/// fixture backend (for [`Scenario::with_projects`]).
pub const FROM_SOURCE: &str = r#"
[[project]]
name = "fromsource"
[[project.version]]
version = "2.0"
wheels = []
sdist = "static"
"#;

/// A wheel made by a test, published on the index with its metadata.
pub fn wheel_artifact(wheel: &WheelBuilder) -> Artifact {
    artifact_from_bytes(
        wheel,
        wheel.filename(),
        wheel.build(),
        Some(wheel.metadata_bytes()),
    )
}

/// Any bytes published as the wheel `filename` of `wheel`'s project (for
/// archives the builder cannot make: tampered, hostile).
pub fn artifact_from_bytes(
    wheel: &WheelBuilder,
    filename: String,
    bytes: Vec<u8>,
    metadata: Option<Vec<u8>>,
) -> Artifact {
    let (project, version) = name_and_version(wheel);
    Artifact {
        normalized: normalize_name(&project),
        project,
        version,
        filename,
        sha256: sha256_hex(&bytes),
        bytes: Arc::new(bytes),
        requires_python: None,
        yanked: None,
        upload_time: FIXTURE_UPLOAD_TIME.to_string(),
        metadata: metadata.map(Arc::new),
        location: Location::Index,
        stated_size: None,
    }
}

/// `Name` and `Version` of the builder's `METADATA`.
fn name_and_version(wheel: &WheelBuilder) -> (String, String) {
    let metadata = String::from_utf8(wheel.metadata_bytes()).expect("UTF-8 metadata");
    let field = |name: &str| {
        metadata
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("METADATA without `{name}`"))
            .trim()
            .to_string()
    };
    (field("Name:"), field("Version:"))
}

/// A zip of `entries` in order, like [`super::dist::write_zip`], except that
/// entries with [`SYMLINK_MODE`] become symbolic links to their contents.
pub fn write_wheel_zip(entries: &[ArchiveFile]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(zip::DateTime::default());
        if entry.mode == SYMLINK_MODE {
            let target = String::from_utf8(entry.contents.clone()).expect("UTF-8 link target");
            writer
                .add_symlink(entry.path.as_str(), target, options)
                .expect("zip symlink");
        } else {
            writer
                .start_file(entry.path.as_str(), options.unix_permissions(entry.mode))
                .expect("zip entry");
            writer.write_all(&entry.contents).expect("zip write");
        }
    }
    writer.finish().expect("zip finish").into_inner()
}

/// Rename every entry called `from` to `to` (same length) in a finished zip,
/// in both headers: how a test gets two entries of the same name, which the
/// zip crate refuses to write.
pub fn rename_zip_entry(mut bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "a rename must keep the length");
    let mut position = 0;
    while let Some(found) = find(&bytes[position..], from.as_bytes()) {
        let start = position + found;
        bytes[start..start + to.len()].copy_from_slice(to.as_bytes());
        position = start + to.len();
    }
    bytes
}

/// Set the declared uncompressed size of entry `name` in both zip headers
/// (a zip bomb declares less than it inflates to).
pub fn patch_declared_size(mut bytes: Vec<u8>, name: &str, size: u32) -> Vec<u8> {
    // (signature, offset of the uncompressed size, of the name length, of the name)
    let headers: [(&[u8], usize, usize, usize); 2] =
        [(b"PK\x01\x02", 24, 28, 46), (b"PK\x03\x04", 22, 26, 30)];
    for (signature, size_offset, name_length_offset, name_offset) in headers {
        let mut position = 0;
        while let Some(found) = find(&bytes[position..], signature) {
            let start = position + found;
            let name_length = u16::from_le_bytes([
                bytes[start + name_length_offset],
                bytes[start + name_length_offset + 1],
            ]) as usize;
            let name_start = start + name_offset;
            if bytes.get(name_start..name_start + name_length) == Some(name.as_bytes()) {
                bytes[start + size_offset..start + size_offset + 4]
                    .copy_from_slice(&size.to_le_bytes());
            }
            position = start + signature.len();
        }
    }
    bytes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A scratch folder where C sources are compiled with the host's `gcc`.
pub struct Compiler {
    directory: tempfile::TempDir,
}

impl Default for Compiler {
    fn default() -> Self {
        Self::new()
    }
}

impl Compiler {
    pub fn new() -> Self {
        Self {
            // Under target/: the shared fixtures that hold one live as
            // long as the test process, and statics are never dropped.
            directory: tempfile::Builder::new()
                .prefix("gcc-")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .expect("compiler temp dir"),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.directory.path().join(relative)
    }

    /// Write a source (or any file) into the scratch folder.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("source dir");
        std::fs::write(&path, contents).expect("write source");
        path
    }

    /// `gcc ARGUMENTS -o OUTPUT` in the scratch folder; the output is made
    /// executable as vendor writes `.so` files (rpm < 4.17 and elfdeps only
    /// generate Requires for executable files) and returned.
    pub fn gcc(&self, output: &str, arguments: &[&str]) -> PathBuf {
        let output_path = self.path(output);
        std::fs::create_dir_all(output_path.parent().expect("a parent")).expect("output dir");
        let result = Command::new("gcc")
            .current_dir(self.directory.path())
            .args(arguments)
            .arg("-o")
            .arg(&output_path)
            .output()
            .expect("gcc is installed (a test requirement)");
        assert!(
            result.status.success(),
            "gcc {arguments:?} failed:\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::set_permissions(&output_path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        output_path
    }
}

/// `-I<dir>` for `Python.h` of the host's Python 3.11 (its headers are a
/// test requirement, like gcc).
pub fn python_include_flag() -> String {
    let output = Command::new("python3.11")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('include'))",
        ])
        .output()
        .expect("python3.11 is installed (a test requirement)");
    assert!(output.status.success(), "python3.11 sysconfig failed");
    let include = String::from_utf8(output.stdout).expect("UTF-8 path");
    let include = include.trim();
    assert!(
        Path::new(include).join("Python.h").is_file(),
        "no Python.h in `{include}` (install python3.11-dev)"
    );
    format!("-I{include}")
}

/// What rpm's own dependency generator prints for one file
/// (`flag`: `--requires` or `--provides`).
pub fn elfdeps(path: &Path, flag: &str) -> BTreeSet<String> {
    let mut child = Command::new("/usr/lib/rpm/elfdeps")
        .arg(flag)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rpm's elfdeps is installed (a test requirement)");
    writeln!(child.stdin.take().expect("stdin"), "{}", path.display()).expect("write to elfdeps");
    let output = child.wait_with_output().expect("elfdeps output");
    assert!(output.status.success(), "elfdeps {flag} {}", path.display());
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_string)
        .collect()
}
