//! End-to-end tests of [`super::install_wheel`] on wheels built in memory.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::Digest;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use super::*;
use crate::host::find_interpreter;

/// One archive entry of a test wheel.
#[derive(Clone)]
enum TestEntry {
    File {
        bytes: Vec<u8>,
        mode: u32,
        stored: bool,
    },
    Symlink(String),
}

/// Builds a wheel: METADATA, WHEEL and RECORD are generated unless replaced,
/// and every step can be tampered with to make hostile wheels.
#[derive(Clone)]
struct WheelBuilder {
    /// The file name's distribution part (`zope.interface`, `foo_bar`).
    name: String,
    version: String,
    tag: String,
    dist_info: String,
    entries: BTreeMap<String, TestEntry>,
    metadata: Option<String>,
    wheel_file: String,
    /// Entries left out of RECORD.
    unrecorded: Vec<String>,
    /// Extra RECORD lines.
    extra_record: Vec<String>,
    /// Applied to the RECORD text before it is stored.
    record_edit: Option<std::rc::Rc<dyn Fn(String) -> String>>,
    /// Entries whose archived bytes differ from what RECORD hashed.
    tampered: BTreeMap<String, Vec<u8>>,
    with_dist_info: bool,
}

impl WheelBuilder {
    fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            tag: "py3-none-any".to_string(),
            dist_info: format!("{name}-{version}.dist-info"),
            entries: BTreeMap::new(),
            metadata: None,
            wheel_file:
                "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                    .to_string(),
            unrecorded: Vec::new(),
            extra_record: Vec::new(),
            record_edit: None,
            tampered: BTreeMap::new(),
            with_dist_info: true,
        }
    }

    fn file(mut self, path: &str, bytes: &[u8]) -> Self {
        self.entries.insert(
            path.to_string(),
            TestEntry::File {
                bytes: bytes.to_vec(),
                mode: 0o644,
                stored: false,
            },
        );
        self
    }

    fn executable(mut self, path: &str, bytes: &[u8]) -> Self {
        self.entries.insert(
            path.to_string(),
            TestEntry::File {
                bytes: bytes.to_vec(),
                mode: 0o755,
                stored: false,
            },
        );
        self
    }

    fn stored(mut self, path: &str, bytes: &[u8]) -> Self {
        self.entries.insert(
            path.to_string(),
            TestEntry::File {
                bytes: bytes.to_vec(),
                mode: 0o644,
                stored: true,
            },
        );
        self
    }

    fn symlink(mut self, path: &str, target: &str) -> Self {
        self.entries
            .insert(path.to_string(), TestEntry::Symlink(target.to_string()));
        self
    }

    fn dist_info_file(self, name: &str, text: &str) -> Self {
        let path = format!("{}/{name}", self.dist_info);
        self.file(&path, text.as_bytes())
    }

    fn edit_record(mut self, edit: impl Fn(String) -> String + 'static) -> Self {
        self.record_edit = Some(std::rc::Rc::new(edit));
        self
    }

    /// Make RECORD give `size` for `path`.
    fn record_size(self, path: &'static str, size: u64) -> Self {
        self.edit_record(move |record| {
            record
                .lines()
                .map(|line| match line.strip_prefix(&format!("{path},")) {
                    Some(rest) => format!("{path},{},{size}\n", rest.split(',').next().unwrap()),
                    None => format!("{line}\n"),
                })
                .collect()
        })
    }

    fn platform(mut self, tag: &str) -> Self {
        self.tag = tag.to_string();
        self.wheel_file = format!("Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n");
        self
    }

    fn filename(&self) -> String {
        format!("{}-{}-{}.whl", self.name, self.version, self.tag)
    }

    fn metadata_text(&self) -> String {
        self.metadata.clone().unwrap_or_else(|| {
            format!(
                "Metadata-Version: 2.1\nName: {}\nVersion: {}\nSummary: A test package\n\
                 License-Expression: MIT\nRequires-Dist: six>=1.0\n\nLong text.\n",
                self.name, self.version
            )
        })
    }

    fn all_entries(&self) -> BTreeMap<String, TestEntry> {
        let mut entries = self.entries.clone();
        if self.with_dist_info {
            for (name, text) in [
                ("METADATA", self.metadata_text()),
                ("WHEEL", self.wheel_file.clone()),
            ] {
                entries
                    .entry(format!("{}/{name}", self.dist_info))
                    .or_insert(TestEntry::File {
                        bytes: text.into_bytes(),
                        mode: 0o644,
                        stored: false,
                    });
            }
        }
        entries
    }

    fn record(&self, entries: &BTreeMap<String, TestEntry>) -> String {
        let mut record = String::new();
        for (path, entry) in entries {
            if self.unrecorded.contains(path) {
                continue;
            }
            let bytes = match entry {
                TestEntry::File { bytes, .. } => bytes.clone(),
                TestEntry::Symlink(target) => target.clone().into_bytes(),
            };
            let digest = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&bytes));
            record.push_str(&format!("{path},sha256={digest},{}\n", bytes.len()));
        }
        for line in &self.extra_record {
            record.push_str(line);
            record.push('\n');
        }
        record.push_str(&format!("{}/RECORD,,\n", self.dist_info));
        match &self.record_edit {
            Some(edit) => edit(record),
            None => record,
        }
    }

    fn build(&self) -> Vec<u8> {
        let entries = self.all_entries();
        let record = self.record(&entries);
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (path, entry) in &entries {
            match entry {
                TestEntry::File {
                    bytes,
                    mode,
                    stored,
                } => {
                    let method = if *stored {
                        CompressionMethod::Stored
                    } else {
                        CompressionMethod::Deflated
                    };
                    let options = SimpleFileOptions::default()
                        .compression_method(method)
                        .unix_permissions(*mode);
                    writer.start_file(path.as_str(), options).unwrap();
                    let bytes = self.tampered.get(path).unwrap_or(bytes);
                    writer.write_all(bytes).unwrap();
                }
                TestEntry::Symlink(target) => {
                    writer
                        .add_symlink(path.as_str(), target.as_str(), SimpleFileOptions::default())
                        .unwrap();
                }
            }
        }
        if self.with_dist_info {
            writer
                .start_file(
                    format!("{}/RECORD", self.dist_info),
                    SimpleFileOptions::default(),
                )
                .unwrap();
            writer.write_all(record.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn write(&self, directory: &Path) -> PathBuf {
        write_wheel(directory, &self.filename(), &self.build())
    }
}

fn write_wheel(directory: &Path, filename: &str, bytes: &[u8]) -> PathBuf {
    let path = directory.join(filename);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Set the declared uncompressed size of `name` in both zip headers.
fn patch_declared_size(mut bytes: Vec<u8>, name: &str, size: u32) -> Vec<u8> {
    for (signature, size_offset) in [(b"PK\x01\x02", 24usize), (b"PK\x03\x04", 22usize)] {
        let name_offset = if signature == b"PK\x01\x02" { 46 } else { 30 };
        let name_length_offset = if signature == b"PK\x01\x02" { 28 } else { 26 };
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
            position = start + 4;
        }
    }
    bytes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn scheme() -> InstallScheme {
    InstallScheme::new("/opt/mysite", (3, 11))
}

fn options() -> InstallOptions {
    InstallOptions {
        installer: "rpm".to_string(),
        compile_bytecode: None,
    }
}

struct Installed {
    wheel: InstalledWheel,
    staging: tempfile::TempDir,
}

impl Installed {
    fn file(&self, path: &str) -> &InstalledFile {
        self.wheel
            .files
            .iter()
            .find(|file| file.path == Path::new(path))
            .unwrap_or_else(|| panic!("no `{path}` in {:#?}", self.paths()))
    }

    fn paths(&self) -> Vec<String> {
        self.wheel
            .files
            .iter()
            .map(|file| file.path.display().to_string())
            .collect()
    }

    fn text(&self, path: &str) -> String {
        match &self.file(path).contents {
            FileContents::OnDisk(staged) => std::fs::read_to_string(staged).unwrap(),
            FileContents::Bytes(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        }
    }
}

fn install_with(builder: &WheelBuilder, options: &InstallOptions) -> Installed {
    let wheels = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let wheel = install_wheel(
        &builder.write(wheels.path()),
        &scheme(),
        staging.path(),
        options,
    )
    .unwrap_or_else(|error| panic!("{error}"));
    Installed { wheel, staging }
}

fn install(builder: &WheelBuilder) -> Installed {
    install_with(builder, &options())
}

/// Install a hostile wheel: it must be refused naming the wheel and `entry`,
/// and leave the staging directory empty.
fn refuse_bytes(filename: &str, bytes: &[u8], entry: &str) -> Refusal {
    let wheels = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let path = write_wheel(wheels.path(), filename, bytes);
    let error = install_wheel(&path, &scheme(), staging.path(), &options()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&format!("`{filename}`")), "{message}");
    assert!(message.contains(&format!("`{entry}`")), "{message}");
    assert_eq!(
        std::fs::read_dir(staging.path()).unwrap().count(),
        0,
        "a refused wheel left files behind"
    );
    match error {
        InstallError::Refused { reason, .. } => reason,
        other => panic!("not a refusal: {other}"),
    }
}

fn refuse(builder: &WheelBuilder, entry: &str) -> Refusal {
    refuse_bytes(&builder.filename(), &builder.build(), entry)
}

fn six() -> WheelBuilder {
    WheelBuilder::new("six", "1.16.0")
        .file("six.py", b"import sys\nPY3 = True\n")
        .dist_info_file("LICENSE", "MIT License\n")
        .dist_info_file("top_level.txt", "six\n")
}

#[test]
fn installs_a_pure_wheel() {
    let installed = install(&six());
    let site = "/opt/mysite/lib/python3.11/site-packages";
    assert_eq!(
        installed.paths(),
        [
            format!("{site}/six-1.16.0.dist-info/INSTALLER"),
            format!("{site}/six-1.16.0.dist-info/LICENSE"),
            format!("{site}/six-1.16.0.dist-info/METADATA"),
            format!("{site}/six-1.16.0.dist-info/RECORD"),
            format!("{site}/six-1.16.0.dist-info/WHEEL"),
            format!("{site}/six-1.16.0.dist-info/top_level.txt"),
            format!("{site}/six.py"),
        ]
    );
    let wheel = &installed.wheel;
    assert!(wheel.is_pure);
    assert_eq!(wheel.name.as_ref(), "six");
    assert_eq!(wheel.metadata.license.as_deref(), Some("MIT"));
    assert_eq!(wheel.metadata.summary.as_deref(), Some("A test package"));
    assert_eq!(wheel.metadata.requires_dist[0].name.as_ref(), "six");
    assert_eq!(
        wheel.dist_info,
        Path::new(site).join("six-1.16.0.dist-info")
    );
    let module = installed.file(&format!("{site}/six.py"));
    assert_eq!(module.mode, 0o644);
    assert_eq!(module.kind, FileKind::Regular);
    assert!(!module.is_license);
    assert!(
        installed
            .file(&format!("{site}/six-1.16.0.dist-info/LICENSE"))
            .is_license
    );
    // Staged under the staging directory at the server path.
    let FileContents::OnDisk(staged) = &module.contents else {
        panic!("six.py is not on disk");
    };
    assert_eq!(
        *staged,
        installed
            .staging
            .path()
            .join("opt/mysite/lib/python3.11/site-packages/six.py")
    );
    assert_eq!(module.sha256, Sha256::of_bytes(b"import sys\nPY3 = True\n"));
    assert_eq!(
        installed.text(&format!("{site}/six-1.16.0.dist-info/INSTALLER")),
        "rpm\n"
    );
    let record = installed.text(&format!("{site}/six-1.16.0.dist-info/RECORD"));
    let digest = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(b"rpm\n"));
    assert!(
        record.contains(&format!(
            "six-1.16.0.dist-info/INSTALLER,sha256={digest},4\n"
        )),
        "{record}"
    );
    assert!(
        record.contains("six-1.16.0.dist-info/RECORD,,\n"),
        "{record}"
    );
    assert!(record.contains("six.py,sha256="), "{record}");
    assert_eq!(record.lines().count(), 7, "{record}");
    for directory in ["/opt/mysite/lib", "/opt/mysite/lib/python3.11", site] {
        assert!(
            wheel.directories.contains(Path::new(directory)),
            "{directory}"
        );
    }
    assert!(wheel
        .directories
        .contains(&Path::new(site).join("six-1.16.0.dist-info")));
    assert!(!wheel.directories.contains(Path::new("/opt/mysite")));
    // Only the staged tree is left: the private directory is gone.
    let left: Vec<_> = std::fs::read_dir(installed.staging.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left, ["opt"]);
}

#[test]
fn installs_scripts_and_entry_points() {
    let builder = WheelBuilder::new("tool", "2.0")
        .file("tool/__init__.py", b"def main():\n    return 0\n")
        .file(
            "tool-2.0.data/scripts/tool-legacy",
            b"#!python\nimport tool\n",
        )
        .file(
            "tool-2.0.data/scripts/tool-w",
            b"#!pythonw -u\nimport tool\n",
        )
        .executable("tool-2.0.data/scripts/tool-sh", b"#!/bin/sh\necho hi\n")
        .dist_info_file(
            "entry_points.txt",
            "[console_scripts]\ntool = tool:main\ntool-cli = tool.cli:App.run [color]\n\n\
             [gui_scripts]\ntool-gui = tool.gui:start\n\n[tool.plugins]\nx = tool.x\n",
        );
    let installed = install(&builder);
    let legacy = installed.file("/opt/mysite/bin/tool-legacy");
    assert_eq!(
        legacy.mode, 0o755,
        "scripts are executable even when the zip says 0644"
    );
    assert_eq!(
        installed.text("/opt/mysite/bin/tool-legacy"),
        "#!/opt/mysite/bin/python\nimport tool\n"
    );
    assert_eq!(
        legacy.sha256,
        Sha256::of_bytes(b"#!/opt/mysite/bin/python\nimport tool\n")
    );
    assert_eq!(
        installed.text("/opt/mysite/bin/tool-w"),
        "#!/opt/mysite/bin/python -u\nimport tool\n"
    );
    assert_eq!(
        installed.text("/opt/mysite/bin/tool-sh"),
        "#!/bin/sh\necho hi\n"
    );
    let launcher = installed.text("/opt/mysite/bin/tool-cli");
    assert_eq!(
        launcher,
        "#!/opt/mysite/bin/python\n# -*- coding: utf-8 -*-\nimport sys\nfrom tool.cli import App\n\
         if __name__ == \"__main__\":\n    sys.exit(App.run())\n"
    );
    assert_eq!(installed.file("/opt/mysite/bin/tool-gui").mode, 0o755);
    assert!(installed
        .text("/opt/mysite/bin/tool")
        .contains("from tool import main\n"));
    let entry_points = &installed.wheel.entry_points;
    assert_eq!(entry_points.len(), 3);
    assert_eq!(entry_points[1].extras[0].as_ref(), "color");
    assert_eq!(entry_points[2].group, EntryPointGroup::Gui);
    let record =
        installed.text("/opt/mysite/lib/python3.11/site-packages/tool-2.0.dist-info/RECORD");
    let digest = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(launcher.as_bytes()));
    assert!(
        record.contains(&format!(
            "../../../bin/tool-cli,sha256={digest},{}\n",
            launcher.len()
        )),
        "{record}"
    );
    assert!(
        record.contains("../../../bin/tool-legacy,sha256="),
        "{record}"
    );
    // The launcher runs: a real interpreter stands in for the prefix's.
    let python = find_interpreter((3, 11)).unwrap();
    let site_packages = installed
        .staging
        .path()
        .join("opt/mysite/lib/python3.11/site-packages");
    let FileContents::OnDisk(script) = &installed.file("/opt/mysite/bin/tool").contents else {
        panic!("launcher not on disk");
    };
    let status = Command::new(python)
        .arg(script)
        .env("PYTHONPATH", site_packages)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn installs_platlib_headers_and_data() {
    let builder = WheelBuilder::new("speedups", "1.0")
        .platform("cp311-cp311-manylinux_2_17_x86_64")
        .file("speedups/__init__.py", b"")
        .file(
            "speedups/_core.cpython-311-x86_64-linux-gnu.so",
            b"\x7fELF not really",
        )
        .file("speedups.libs/libz-abc.so.1.2.13", b"\x7fELF neither")
        .symlink("speedups.libs/libz.so.1", "libz-abc.so.1.2.13")
        .file("speedups-1.0.data/platlib/speedups_extra.py", b"X = 1\n")
        .file("speedups-1.0.data/headers/speedups.h", b"int x;\n")
        .file(
            "speedups-1.0.data/data/share/doc/speedups/README",
            b"read me\n",
        )
        .dist_info_file("licenses/vendor/zlib/LICENSE", "zlib\n");
    let installed = install(&builder);
    let site = "/opt/mysite/lib/python3.11/site-packages";
    let wheel = &installed.wheel;
    assert!(!wheel.is_pure);
    assert_eq!(
        installed
            .file(&format!(
                "{site}/speedups/_core.cpython-311-x86_64-linux-gnu.so"
            ))
            .mode,
        0o755
    );
    assert_eq!(
        installed
            .file(&format!("{site}/speedups.libs/libz-abc.so.1.2.13"))
            .mode,
        0o755
    );
    let link = installed.file(&format!("{site}/speedups.libs/libz.so.1"));
    assert_eq!(
        link.kind,
        FileKind::Symlink(PathBuf::from("libz-abc.so.1.2.13"))
    );
    assert_eq!(
        link.contents,
        FileContents::Bytes(b"libz-abc.so.1.2.13".to_vec())
    );
    let staged_link = installed
        .staging
        .path()
        .join("opt/mysite/lib/python3.11/site-packages/speedups.libs/libz.so.1");
    assert_eq!(
        std::fs::read_link(staged_link).unwrap(),
        Path::new("libz-abc.so.1.2.13")
    );
    installed.file(&format!("{site}/speedups_extra.py"));
    installed.file("/opt/mysite/include/site/python3.11/speedups/speedups.h");
    assert_eq!(
        installed.text("/opt/mysite/share/doc/speedups/README"),
        "read me\n"
    );
    assert!(
        installed
            .file(&format!(
                "{site}/speedups-1.0.dist-info/licenses/vendor/zlib/LICENSE"
            ))
            .is_license
    );
    let record = installed.text(&format!("{site}/speedups-1.0.dist-info/RECORD"));
    assert!(record.contains("../../../include/site/python3.11/speedups/speedups.h,sha256="));
    assert!(record.contains("../../../share/doc/speedups/README,sha256="));
    assert!(record.contains("speedups.libs/libz.so.1,,\n"), "{record}");
}

#[test]
fn installs_dotted_and_prerelease_names() {
    for (name, version, dist_info) in [
        ("zope.interface", "7.0.3", "zope.interface-7.0.3.dist-info"),
        ("zope_interface", "7.0.3", "zope_interface-7.0.3.dist-info"),
        ("foo_bar", "1.0.post1", "foo_bar-1.0.post1.dist-info"),
        ("foo_bar", "2.0rc1", "foo_bar-2.0rc1.dist-info"),
        ("foo_bar", "3.0.dev2", "foo_bar-3.0.dev2.dist-info"),
    ] {
        let mut builder = WheelBuilder::new(name, version)
            .file("pkg/__init__.py", b"")
            .file(&format!("{name}-{version}.data/headers/h.h"), b"");
        builder.metadata = Some(format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {version}\n",
            name.replace('_', ".")
        ));
        let installed = install(&builder);
        let wheel = &installed.wheel;
        assert_eq!(wheel.version.to_string(), version);
        installed.file(&format!(
            "/opt/mysite/lib/python3.11/site-packages/{dist_info}/METADATA"
        ));
        let headers = format!(
            "/opt/mysite/include/site/python3.11/{}/h.h",
            name.replace('_', ".")
        );
        installed.file(&headers);
    }
}

#[test]
fn is_deterministic() {
    let builder = six()
        .file("pkg/a.py", b"A = 1\n")
        .file("pkg/b/c.py", b"C = 2\n");
    let first = install(&builder);
    let second = install(&builder);
    let summary = |installed: &Installed| -> Vec<(PathBuf, u32, Sha256)> {
        installed
            .wheel
            .files
            .iter()
            .map(|file| (file.path.clone(), file.mode, file.sha256.clone()))
            .collect()
    };
    assert_eq!(summary(&first), summary(&second));
}

#[test]
fn compiles_unchecked_hash_bytecode_with_server_paths() {
    let python = find_interpreter((3, 11)).unwrap();
    let builder = six()
        .file("pkg/__init__.py", b"VALUES = {'a', 'b', 'c'}\n")
        .file("pkg/py2_only.py", b"print 'hello'\n")
        .file("tool-data.py", b"")
        .file("six-1.16.0.data/scripts/script.py", b"#!python\n");
    let options = InstallOptions {
        installer: "rpm".into(),
        compile_bytecode: Some(python.clone()),
    };
    let installed = install_with(&builder, &options);
    let site = "/opt/mysite/lib/python3.11/site-packages";
    let pyc = installed.file(&format!("{site}/pkg/__pycache__/__init__.cpython-311.pyc"));
    assert_eq!(pyc.mode, 0o644);
    installed.file(&format!("{site}/__pycache__/six.cpython-311.pyc"));
    assert!(!installed
        .paths()
        .iter()
        .any(|path| path.contains("py2_only.cpython")));
    assert!(!installed
        .paths()
        .iter()
        .any(|path| path.starts_with("/opt/mysite/bin/__pycache__")));
    assert_eq!(
        installed.wheel.bytecode_skipped,
        [PathBuf::from(format!("{site}/pkg/py2_only.py"))]
    );
    let FileContents::OnDisk(staged) = &pyc.contents else {
        panic!("pyc not on disk");
    };
    let bytes = std::fs::read(staged).unwrap();
    let flags = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
    assert_eq!(
        flags, 0b01,
        "PEP 552: hash-based (bit 0), unchecked (bit 1 clear)"
    );
    let output = Command::new(&python)
        .args([
            "-c",
            "import marshal, sys\nwith open(sys.argv[1], 'rb') as f:\n    f.read(16)\n    \
             print(marshal.load(f).co_filename)",
        ])
        .arg(staged)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("{site}/pkg/__init__.py")
    );
    let record = installed.text(&format!("{site}/six-1.16.0.dist-info/RECORD"));
    assert!(
        record.contains("pkg/__pycache__/__init__.cpython-311.pyc,,\n"),
        "{record}"
    );
    // Same wheel, another staging directory: the same bytes.
    let again = install_with(&builder, &options);
    let FileContents::OnDisk(other) = &again
        .file(&format!("{site}/pkg/__pycache__/__init__.cpython-311.pyc"))
        .contents
    else {
        panic!("pyc not on disk");
    };
    assert_eq!(std::fs::read(other).unwrap(), bytes);
}

#[test]
fn refuses_an_interpreter_of_another_version() {
    let python = find_interpreter((3, 11)).unwrap();
    let wheels = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let options = InstallOptions {
        installer: "rpm".into(),
        compile_bytecode: Some(python),
    };
    let scheme = InstallScheme::new("/opt/mysite", (3, 12));
    let error = install_wheel(
        &six().write(wheels.path()),
        &scheme,
        staging.path(),
        &options,
    )
    .unwrap_err();
    assert!(matches!(error, InstallError::Bytecode { .. }), "{error}");
    assert!(error.to_string().contains("not cpython 3.12"), "{error}");
    assert_eq!(std::fs::read_dir(staging.path()).unwrap().count(), 0);
}

// One hostile wheel per refusal.

#[test]
fn refuses_absolute_paths() {
    let reason = refuse(&six().file("/etc/cron.d/evil", b"x"), "/etc/cron.d/evil");
    assert!(matches!(reason, Refusal::UnsafePath(_)));
}

#[test]
fn refuses_parent_components() {
    let reason = refuse(&six().file("pkg/../../evil.py", b"x"), "pkg/../../evil.py");
    assert!(matches!(reason, Refusal::UnsafePath(_)));
}

#[test]
fn refuses_links_leaving_the_tree() {
    let reason = refuse(
        &six().symlink("pkg/passwd", "../../../../etc/passwd"),
        "pkg/passwd",
    );
    assert!(matches!(reason, Refusal::LinkEscapes { .. }));
    let reason = refuse(&six().symlink("pkg/abs", "/etc/passwd"), "pkg/abs");
    assert!(matches!(reason, Refusal::LinkEscapes { .. }));
    // A link into the tree is fine, but nothing may be written through it.
    let builder = six().symlink("pkg/dir", "..").file("pkg/dir/x.py", b"");
    let reason = refuse(&builder, "pkg/dir/x.py");
    assert!(matches!(reason, Refusal::BelowLink { .. }));
}

#[test]
fn refuses_duplicate_entries() {
    let builder = six().file("pkg/a.py", b"1").file("pkg/./a.py", b"2");
    assert_eq!(refuse(&builder, "pkg/a.py"), Refusal::Duplicate);
    // The zip crate merges identical names, so make two by renaming one.
    let builder = six().file("pkg/dup_1.py", b"1").file("pkg/dup_2.py", b"2");
    let mut bytes = builder.build();
    while let Some(position) = find(&bytes, b"pkg/dup_2.py") {
        bytes[position + 8] = b'1';
    }
    assert_eq!(
        refuse_bytes(&builder.filename(), &bytes, "pkg/dup_1.py"),
        Refusal::Duplicate
    );
    // A data file landing on a module, or on a file the installer writes.
    let builder = six().file(
        "six-1.16.0.data/data/lib/python3.11/site-packages/six-1.16.0.dist-info/RECORD",
        b"forged",
    );
    let reason = refuse(
        &builder,
        "six-1.16.0.data/data/lib/python3.11/site-packages/six-1.16.0.dist-info/RECORD",
    );
    assert!(
        reason.to_string().contains("written by the installer"),
        "{reason}"
    );
    let builder = six().file("six-1.16.0.data/purelib/six.py", b"again");
    let reason = refuse(&builder, "six-1.16.0.data/purelib/six.py");
    assert!(matches!(reason, Refusal::SamePathAs { .. }), "{reason}");
    assert!(
        reason.to_string().contains("site-packages/six.py`"),
        "{reason}"
    );
}

#[test]
fn refuses_sizes_that_lie() {
    let content = vec![b'a'; 1000];
    let builder = six()
        .stored("pkg/bomb.bin", &content)
        .record_size("pkg/bomb.bin", 10);
    let bytes = patch_declared_size(builder.build(), "pkg/bomb.bin", 10);
    let reason = refuse_bytes(&builder.filename(), &bytes, "pkg/bomb.bin");
    assert!(
        matches!(reason, Refusal::SizeMismatch { more: true, .. }),
        "{reason}"
    );
    let bytes = patch_declared_size(builder.build(), "pkg/bomb.bin", 0xffff_fff0);
    let reason = refuse_bytes(&builder.filename(), &bytes, "pkg/bomb.bin");
    assert!(
        matches!(reason, Refusal::ImpossibleRatio { .. }),
        "{reason}"
    );
    // Deflated, declaring more than it holds.
    let builder = six()
        .file("pkg/short.bin", &content)
        .record_size("pkg/short.bin", 2000);
    let bytes = patch_declared_size(builder.build(), "pkg/short.bin", 2000);
    let reason = refuse_bytes(&builder.filename(), &bytes, "pkg/short.bin");
    assert!(
        matches!(reason, Refusal::SizeMismatch { more: false, .. }),
        "{reason}"
    );
    // RECORD disagreeing with the header is refused before anything is unpacked.
    let builder = six().stored("pkg/bomb.bin", &content);
    let bytes = patch_declared_size(builder.build(), "pkg/bomb.bin", 10);
    let reason = refuse_bytes(&builder.filename(), &bytes, "pkg/bomb.bin");
    assert!(
        matches!(reason, Refusal::RecordSizeMismatch { .. }),
        "{reason}"
    );
}

#[test]
fn refuses_files_not_matching_record() {
    let mut builder = six().file("pkg/a.py", b"good");
    builder.tampered.insert("pkg/a.py".into(), b"evil".to_vec());
    assert!(matches!(
        refuse(&builder, "pkg/a.py"),
        Refusal::HashMismatch { .. }
    ));
    let builder =
        six().edit_record(|record| record.replace("six.py,sha256=", "six.py,sha256=AAAA"));
    assert!(matches!(
        refuse(&builder, "six.py"),
        Refusal::HashMismatch { .. }
    ));
    let builder = six().record_size("six.py", 99);
    assert!(matches!(
        refuse(&builder, "six.py"),
        Refusal::RecordSizeMismatch { recorded: 99, .. }
    ));
    let builder = six().edit_record(|record| record.replace("six.py,sha256=", "six.py,md5="));
    assert!(matches!(
        refuse(&builder, "six.py"),
        Refusal::UnhashedInRecord(_)
    ));
}

#[test]
fn refuses_files_missing_from_record() {
    let mut builder = six().file("pkg/sneaky.py", b"import os");
    builder.unrecorded.push("pkg/sneaky.py".into());
    assert_eq!(refuse(&builder, "pkg/sneaky.py"), Refusal::NotInRecord);
    // RECORD's own signature needs no row.
    let builder = six().dist_info_file("RECORD.jws", "{}");
    let installed = install(&builder);
    assert!(!installed
        .paths()
        .iter()
        .any(|path| path.ends_with("RECORD.jws")));
}

#[test]
fn refuses_record_entries_missing_from_the_archive() {
    let mut builder = six();
    builder
        .extra_record
        .push("six/moves.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0".into());
    assert_eq!(
        refuse(&builder, "six/moves.py"),
        Refusal::MissingFromArchive
    );
}

#[test]
fn refuses_missing_or_foreign_dist_info() {
    let mut builder = WheelBuilder::new("six", "1.16.0").file("six.py", b"");
    builder.with_dist_info = false;
    assert!(matches!(
        refuse(&builder, "six-1.16.0.dist-info/"),
        Refusal::Missing(_)
    ));
    let mut builder = six();
    builder.dist_info = "other-1.16.0.dist-info".into();
    assert!(matches!(
        refuse(&builder, "other-1.16.0.dist-info/"),
        Refusal::ForeignDistribution { .. }
    ));
    let mut builder = six();
    builder.dist_info = "six-9.9.dist-info".into();
    assert!(matches!(
        refuse(&builder, "six-9.9.dist-info/"),
        Refusal::ForeignDistribution { .. }
    ));
    // METADATA naming another project than the file name.
    let mut builder = six();
    builder.metadata = Some("Metadata-Version: 2.1\nName: sux\nVersion: 1.16.0\n".into());
    assert!(matches!(
        refuse(&builder, "six-1.16.0.dist-info/METADATA"),
        Refusal::ForeignDistribution { .. }
    ));
    let builder = six().file("other-1.0.data/scripts/evil", b"#!python\n");
    assert!(matches!(
        refuse(&builder, "other-1.0.data/scripts/evil"),
        Refusal::ForeignDistribution { .. }
    ));
}

#[test]
fn refuses_unsupported_wheel_versions() {
    let mut builder = six();
    builder.wheel_file = "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n".into();
    assert_eq!(
        refuse(&builder, "six-1.16.0.dist-info/WHEEL"),
        Refusal::UnsupportedWheelVersion("2.0".into())
    );
}

#[test]
fn refuses_unknown_data_keys_and_hostile_entry_points() {
    let builder = six().file("six-1.16.0.data/etc/passwd", b"x");
    assert_eq!(
        refuse(&builder, "six-1.16.0.data/etc/passwd"),
        Refusal::UnknownDataScheme
    );
    let builder = six().dist_info_file("entry_points.txt", "[console_scripts]\n../../x = a:b\n");
    assert!(matches!(
        refuse(&builder, "six-1.16.0.dist-info/entry_points.txt"),
        Refusal::Invalid(_)
    ));
    let builder = six()
        .file("six-1.16.0.data/scripts/six", b"#!python\n")
        .dist_info_file("entry_points.txt", "[console_scripts]\nsix = six:main\n");
    let reason = refuse(&builder, "six-1.16.0.dist-info/entry_points.txt: six");
    assert!(matches!(reason, Refusal::SamePathAs { .. }), "{reason}");
}

#[test]
fn rejects_bad_prefixes_and_file_names() {
    let wheels = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let path = six().write(wheels.path());
    let relative = InstallScheme::new("opt/mysite", (3, 11));
    assert!(matches!(
        install_wheel(&path, &relative, staging.path(), &options()),
        Err(InstallError::InvalidPrefix { .. })
    ));
    let renamed = wheels.path().join("six.zip");
    std::fs::rename(&path, &renamed).unwrap();
    assert!(matches!(
        install_wheel(&renamed, &scheme(), staging.path(), &options()),
        Err(InstallError::InvalidFilename { .. })
    ));
}
