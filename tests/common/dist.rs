//! Builders for real distribution files: wheels (zip) and sdists (tar.gz).
//!
//! Input: a project name, version and arbitrary files (path, bytes, mode).
//! Output: the archive bytes, byte-for-byte deterministic (fixed timestamps,
//! owners and entry order), so hashes are stable across runs and machines.
//!
//! Invariants: a wheel always carries `<dist>-<version>.dist-info/` with
//! `METADATA`, `WHEEL` and a `RECORD` whose hashes and sizes match the
//! archived bytes; an sdist has every entry under `<dist>-<version>/` and a
//! `PKG-INFO` at its root. Nothing here knows about indexes or scenarios, so
//! later tests (entry points, `.data/scripts`, C extensions) reuse it as is.

use std::io::{Cursor, Write};

use base64::Engine;
use sha2::Digest;

/// One file inside an archive.
#[derive(Clone, Debug)]
pub struct ArchiveFile {
    /// Path inside the archive, `/`-separated, relative to the archive's root
    /// (for sdists: relative to `<dist>-<version>/`).
    pub path: String,
    pub contents: Vec<u8>,
    /// Unix permission bits (`0o644`, `0o755` for scripts).
    pub mode: u32,
}

impl ArchiveFile {
    pub fn new(path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        Self::with_mode(path, contents, 0o644)
    }

    pub fn with_mode(path: impl Into<String>, contents: impl Into<Vec<u8>>, mode: u32) -> Self {
        Self {
            path: path.into(),
            contents: contents.into(),
            mode,
        }
    }
}

/// PEP 503 normalisation: `Foo.Bar_baz` → `foo-bar-baz`.
pub fn normalize_name(name: &str) -> String {
    collapse_separators(name, '-')
}

/// The name as it appears in wheel and sdist file names and in the
/// `.dist-info` folder: `Foo.Bar` → `foo_bar`.
pub fn distribution_name(name: &str) -> String {
    collapse_separators(name, '_')
}

fn collapse_separators(name: &str, separator: char) -> String {
    let mut result = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !in_separator_run {
                result.push(separator);
            }
            in_separator_run = true;
        } else {
            result.push(character.to_ascii_lowercase());
            in_separator_run = false;
        }
    }
    result
}

/// Core metadata (`METADATA` in wheels, `PKG-INFO` in sdists).
#[derive(Clone, Debug)]
pub struct CoreMetadata {
    pub metadata_version: String,
    /// The display name as the project spells it (`Zope.Shim`).
    pub name: String,
    pub version: String,
    pub summary: Option<String>,
    pub requires_python: Option<String>,
    /// PEP 508 strings, markers included (`redis>=4; extra == "redis"`).
    pub requires_dist: Vec<String>,
    pub provides_extra: Vec<String>,
    /// Fields declared `Dynamic:` (metadata 2.2+), e.g. `Requires-Dist`.
    pub dynamic: Vec<String>,
}

impl CoreMetadata {
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            metadata_version: "2.1".to_string(),
            name: name.to_string(),
            version: version.to_string(),
            summary: None,
            requires_python: None,
            requires_dist: Vec::new(),
            provides_extra: Vec::new(),
            dynamic: Vec::new(),
        }
    }

    /// The RFC 822-style text.
    pub fn render(&self) -> String {
        let mut text = format!(
            "Metadata-Version: {}\nName: {}\nVersion: {}\n",
            self.metadata_version, self.name, self.version
        );
        for field in &self.dynamic {
            text.push_str(&format!("Dynamic: {field}\n"));
        }
        if let Some(summary) = &self.summary {
            text.push_str(&format!("Summary: {summary}\n"));
        }
        if let Some(requires_python) = &self.requires_python {
            text.push_str(&format!("Requires-Python: {requires_python}\n"));
        }
        for extra in &self.provides_extra {
            text.push_str(&format!("Provides-Extra: {extra}\n"));
        }
        for requirement in &self.requires_dist {
            text.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        text
    }
}

/// A wheel under construction.
#[derive(Clone, Debug)]
pub struct WheelBuilder {
    name: String,
    version: String,
    build_tag: Option<String>,
    /// The compressed tag triple of the file name (`py3-none-any`,
    /// `cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`).
    tag: String,
    metadata: String,
    root_is_purelib: bool,
    files: Vec<ArchiveFile>,
    dist_info_files: Vec<ArchiveFile>,
}

impl WheelBuilder {
    /// A wheel with minimal metadata and no files yet; purelib when the tag
    /// is platform-independent.
    pub fn new(name: &str, version: &str, tag: &str) -> Self {
        let mut parts = tag.split('-');
        let (_python, abi, platform) = (parts.next(), parts.next(), parts.next());
        Self {
            name: name.to_string(),
            version: version.to_string(),
            build_tag: None,
            tag: tag.to_string(),
            metadata: CoreMetadata::new(name, version).render(),
            root_is_purelib: abi == Some("none") && platform == Some("any"),
            files: Vec::new(),
            dist_info_files: Vec::new(),
        }
    }

    pub fn metadata(mut self, metadata: &CoreMetadata) -> Self {
        self.metadata = metadata.render();
        self
    }

    /// Verbatim `METADATA` text (for deliberately odd metadata).
    pub fn metadata_text(mut self, text: impl Into<String>) -> Self {
        self.metadata = text.into();
        self
    }

    pub fn build_tag(mut self, build_tag: &str) -> Self {
        self.build_tag = Some(build_tag.to_string());
        self
    }

    pub fn root_is_purelib(mut self, purelib: bool) -> Self {
        self.root_is_purelib = purelib;
        self
    }

    /// A file relative to the wheel's root (`pkg/__init__.py`), mode 0644.
    pub fn file(self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.add(ArchiveFile::new(path, contents))
    }

    /// A file with its path relative to the wheel's root and any mode.
    pub fn add(mut self, file: ArchiveFile) -> Self {
        self.files.push(file);
        self
    }

    /// A file in `<dist>-<version>.data/<scheme>/` (`scripts`, `data`, `headers`, …).
    pub fn data_file(
        self,
        scheme: &str,
        path: &str,
        contents: impl Into<Vec<u8>>,
        mode: u32,
    ) -> Self {
        let full_path = format!("{}/{scheme}/{path}", self.data_dir());
        self.add(ArchiveFile::with_mode(full_path, contents, mode))
    }

    /// An extra file in the `.dist-info` folder (`entry_points.txt`, `LICENSE`).
    pub fn dist_info_file(mut self, name: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.dist_info_files.push(ArchiveFile::new(name, contents));
        self
    }

    pub fn filename(&self) -> String {
        let build = self
            .build_tag
            .as_ref()
            .map(|build_tag| format!("-{build_tag}"))
            .unwrap_or_default();
        format!(
            "{}-{}{build}-{}.whl",
            distribution_name(&self.name),
            self.version,
            self.tag
        )
    }

    pub fn dist_info_dir(&self) -> String {
        format!(
            "{}-{}.dist-info",
            distribution_name(&self.name),
            self.version
        )
    }

    pub fn data_dir(&self) -> String {
        format!("{}-{}.data", distribution_name(&self.name), self.version)
    }

    /// The `METADATA` text as it will be archived (also what PEP 658 serves).
    pub fn metadata_bytes(&self) -> Vec<u8> {
        self.metadata.as_bytes().to_vec()
    }

    /// The `WHEEL` file: one `Tag:` line per expanded tag triple.
    fn wheel_file(&self) -> String {
        let mut text = format!(
            "Wheel-Version: 1.0\nGenerator: vendor-test-fixtures\nRoot-Is-Purelib: {}\n",
            self.root_is_purelib
        );
        let mut parts = self.tag.splitn(3, '-');
        let python = parts.next().unwrap_or_default();
        let abi = parts.next().unwrap_or_default();
        let platform = parts.next().unwrap_or_default();
        for python in python.split('.') {
            for abi in abi.split('.') {
                for platform in platform.split('.') {
                    text.push_str(&format!("Tag: {python}-{abi}-{platform}\n"));
                }
            }
        }
        if let Some(build_tag) = &self.build_tag {
            text.push_str(&format!("Build: {build_tag}\n"));
        }
        text
    }

    /// Every archive entry in order, `RECORD` last and listing all others.
    pub fn entries(&self) -> Vec<ArchiveFile> {
        let dist_info = self.dist_info_dir();
        let mut entries = self.files.clone();
        entries.push(ArchiveFile::new(
            format!("{dist_info}/METADATA"),
            self.metadata_bytes(),
        ));
        entries.push(ArchiveFile::new(
            format!("{dist_info}/WHEEL"),
            self.wheel_file(),
        ));
        for file in &self.dist_info_files {
            entries.push(ArchiveFile::new(
                format!("{dist_info}/{}", file.path),
                file.contents.clone(),
            ));
        }
        let record_path = format!("{dist_info}/RECORD");
        let mut record = String::new();
        for entry in &entries {
            record.push_str(&format!(
                "{},sha256={},{}\n",
                entry.path,
                record_digest(&entry.contents),
                entry.contents.len()
            ));
        }
        record.push_str(&format!("{record_path},,\n"));
        entries.push(ArchiveFile::new(record_path, record));
        entries
    }

    pub fn build(&self) -> Vec<u8> {
        write_zip(&self.entries())
    }
}

/// `RECORD` digest: urlsafe base64 without padding (PEP 376 / 427).
pub fn record_digest(contents: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(contents))
}

/// A deterministic zip: fixed timestamps, entries in the given order.
pub fn write_zip(entries: &[ArchiveFile]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(entry.mode);
        writer
            .start_file(entry.path.as_str(), options)
            .expect("zip entry");
        writer.write_all(&entry.contents).expect("zip write");
    }
    writer.finish().expect("zip finish").into_inner()
}

/// An sdist under construction.
#[derive(Clone, Debug)]
pub struct SdistBuilder {
    name: String,
    version: String,
    pkg_info: String,
    files: Vec<ArchiveFile>,
}

impl SdistBuilder {
    pub fn new(name: &str, version: &str) -> Self {
        let mut metadata = CoreMetadata::new(name, version);
        metadata.metadata_version = "2.2".to_string();
        Self {
            name: name.to_string(),
            version: version.to_string(),
            pkg_info: metadata.render(),
            files: Vec::new(),
        }
    }

    pub fn pkg_info(mut self, metadata: &CoreMetadata) -> Self {
        self.pkg_info = metadata.render();
        self
    }

    /// A file relative to the sdist's top folder, mode 0644.
    pub fn file(self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.add(ArchiveFile::new(path, contents))
    }

    /// A file with its path relative to the top folder and any mode.
    pub fn add(mut self, file: ArchiveFile) -> Self {
        self.files.push(file);
        self
    }

    /// `<dist>-<version>`, the top folder and the file name stem (PEP 625).
    pub fn base_name(&self) -> String {
        format!("{}-{}", distribution_name(&self.name), self.version)
    }

    pub fn filename(&self) -> String {
        format!("{}.tar.gz", self.base_name())
    }

    pub fn pkg_info_bytes(&self) -> Vec<u8> {
        self.pkg_info.as_bytes().to_vec()
    }

    pub fn build(&self) -> Vec<u8> {
        let base = self.base_name();
        let mut entries = vec![ArchiveFile::new("PKG-INFO", self.pkg_info_bytes())];
        entries.extend(self.files.iter().cloned());
        let encoder = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::default());
        let mut builder = tar::Builder::new(encoder);
        for entry in entries {
            let mut header = tar::Header::new_ustar();
            header.set_size(entry.contents.len() as u64);
            header.set_mode(entry.mode);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(
                    &mut header,
                    format!("{base}/{}", entry.path),
                    entry.contents.as_slice(),
                )
                .expect("tar entry");
        }
        builder
            .into_inner()
            .expect("tar finish")
            .finish()
            .expect("gzip finish")
    }
}

/// Where the hermetic C-extension sdist's source lives.
pub const NATIVE_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/test-data/native/featurepkg-1.0"
);

/// The sdist `featurepkg-1.0.tar.gz` built from `test-data/native/featurepkg-1.0`:
/// a C extension with an in-tree, standard-library-only PEP 517 backend
/// (`backend-path = ["_backend"]`) that, like Pillow, silently builds without
/// zlib when `zlib.h` is not found. `featurepkg.features()` returns
/// `{"zlib": bool}`; with zlib the extension links `libz.so.1`.
///
/// Switches (policy `[build] env` / `config-settings`, see the backend's doc):
/// `FEATUREPKG_INCLUDE_DIRS=<empty dir>` hides the header, `FEATUREPKG_FAIL=1`
/// makes `build_wheel` fail, `FEATUREPKG_BUILD_REQUIRES` or the config
/// setting `build-requires` adds requirements to `get_requires_for_build_wheel`.
pub fn native_sdist() -> SdistBuilder {
    let root = std::path::Path::new(NATIVE_FIXTURE);
    let mut builder = SdistBuilder::new("featurepkg", "1.0");
    builder.pkg_info = std::fs::read_to_string(root.join("PKG-INFO")).expect("fixture PKG-INFO");
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("fixture folder") {
            let path = entry.expect("fixture entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let relative = path
            .strip_prefix(root)
            .expect("below the fixture")
            .to_string_lossy()
            .replace('\\', "/");
        if relative == "PKG-INFO" {
            continue;
        }
        let contents = std::fs::read(&path).expect("fixture file");
        builder = builder.add(ArchiveFile::new(relative, contents));
    }
    builder
}
