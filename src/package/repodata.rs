//! A dnf/yum repository's metadata (`repodata/`), written in-process.
//!
//! Input: a folder holding `*.rpm` files (read back with the `rpm` crate).
//! Output: `repodata/repomd.xml` plus `<sha256>-primary.xml.gz`,
//! `<sha256>-filelists.xml.gz` and `<sha256>-other.xml.gz`, in the format
//! `createrepo_c` writes and `dnf` reads.
//!
//! Invariants:
//! - deterministic: packages sorted by file name, every timestamp is the
//!   newest package build time (never "now"), gzip streams carry no mtime or
//!   name, so the same RPMs always give the same bytes;
//! - the dependency lists follow `createrepo_c`'s rules: `rpmlib(…)` requires,
//!   requires on the package's own provides or own primary files, and
//!   duplicates are left out;
//! - the old `repodata/` is replaced by a complete new one: the new tree is
//!   written beside it (`repodata.tmp-*`) and renamed into place, so a killed
//!   process never leaves a half-written `repodata/`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use rpm::{DependencyFlags, FileFlags, FileType, PackageMetadata};

use crate::hash::Sha256;

/// The folder, inside the repository, that holds the metadata.
pub const REPODATA_FOLDER: &str = "repodata";

#[derive(Debug, thiserror::Error)]
pub enum RepodataError {
    #[error("cannot list the repository folder `{path}`: {source}")]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the RPM `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a readable RPM: {source}")]
    Parse {
        path: PathBuf,
        /// Boxed: the rpm crate's errors are large.
        source: Box<rpm::Error>,
    },
    #[error("cannot write the repository metadata `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl crate::hint::Hint for RepodataError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Parse { .. } => {
                Some("remove it from the repository folder or build it again".to_string())
            }
            _ => None,
        }
    }
}

/// What [`write_repodata`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepodataSummary {
    /// `repo_dir/repodata/repomd.xml`.
    pub repomd_path: PathBuf,
    /// How many packages the metadata describes.
    pub package_count: usize,
    /// The metadata's revision and timestamps: the newest build time.
    pub revision: u64,
}

/// Describe every `*.rpm` directly inside `repo_dir` in a new
/// `repo_dir/repodata/`, replacing the old one.
pub fn write_repodata(repo_dir: &Path) -> Result<RepodataSummary, RepodataError> {
    let packages = list_rpm_files(repo_dir)?
        .iter()
        .map(|path| read_package(path))
        .collect::<Result<Vec<_>, _>>()?;
    let revision = packages
        .iter()
        .map(|package| package.build_time)
        .max()
        .unwrap_or(0);

    remove_stale_trees(repo_dir)?;
    let staging = tempfile::Builder::new()
        .prefix("repodata.tmp-")
        .tempdir_in(repo_dir)
        .map_err(|source| write_error(repo_dir, source))?;
    let records = [
        ("primary", render_primary(&packages)),
        ("filelists", render_filelists(&packages)),
        ("other", render_other(&packages)),
    ]
    .into_iter()
    .map(|(kind, xml)| write_compressed(staging.path(), kind, &xml))
    .collect::<Result<Vec<_>, _>>()?;
    let repomd = render_repomd(&records, revision);
    let repomd_path = staging.path().join("repomd.xml");
    fs_err::write(&repomd_path, repomd).map_err(|source| write_error(&repomd_path, source))?;
    make_readable(staging.path())?;

    replace_tree(staging, &repo_dir.join(REPODATA_FOLDER))?;
    Ok(RepodataSummary {
        repomd_path: repo_dir.join(REPODATA_FOLDER).join("repomd.xml"),
        package_count: packages.len(),
        revision,
    })
}

/// One package as the metadata files describe it.
struct PackageRecord {
    file_name: String,
    checksum: Sha256,
    file_size: u64,
    name: String,
    arch: String,
    epoch: u32,
    version: String,
    release: String,
    summary: String,
    description: String,
    packager: String,
    url: String,
    license: String,
    vendor: String,
    group: String,
    build_host: String,
    source_rpm: String,
    build_time: u64,
    installed_size: u64,
    archive_size: u64,
    header_start: u64,
    header_end: u64,
    dependencies: Vec<(&'static str, Vec<rpm::Dependency>)>,
    files: Vec<FileRecord>,
    changelogs: Vec<rpm::ChangelogEntry>,
}

struct FileRecord {
    path: String,
    kind: Option<&'static str>,
}

impl FileRecord {
    /// `createrepo_c` lists these files in `primary.xml` too, so that file
    /// dependencies on them resolve without `filelists.xml`.
    fn is_primary(&self) -> bool {
        self.path.starts_with("/etc/")
            || self.path == "/usr/lib/sendmail"
            || self.path.contains("bin/")
    }
}

fn list_rpm_files(repo_dir: &Path) -> Result<Vec<PathBuf>, RepodataError> {
    let list_error = |source| RepodataError::List {
        path: repo_dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs_err::read_dir(repo_dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(".rpm") {
            continue;
        }
        if entry.file_type().map_err(list_error)?.is_file() {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

fn read_package(path: &Path) -> Result<PackageRecord, RepodataError> {
    let read_error = |source| RepodataError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = fs_err::File::open(path).map_err(read_error)?;
    let file_size = file.metadata().map_err(read_error)?.len();
    let checksum = Sha256::of_reader(std::io::BufReader::new(file)).map_err(read_error)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    PackageMetadata::open(path)
        .and_then(|metadata| package_record(file_name, checksum, file_size, &metadata))
        .map_err(|source| RepodataError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
}

fn package_record(
    file_name: String,
    checksum: Sha256,
    file_size: u64,
    metadata: &PackageMetadata,
) -> Result<PackageRecord, rpm::Error> {
    let text = |value: Result<&str, rpm::Error>| {
        optional(value).map(|value| value.unwrap_or_default().to_owned())
    };
    let files = file_records(metadata)?;
    let offsets = metadata.get_package_segment_offsets();
    Ok(PackageRecord {
        file_name,
        checksum,
        file_size,
        name: metadata.get_name()?.to_owned(),
        arch: metadata.get_arch()?.to_owned(),
        epoch: optional(metadata.get_epoch())?.unwrap_or(0),
        version: metadata.get_version()?.to_owned(),
        release: metadata.get_release()?.to_owned(),
        summary: text(metadata.get_summary())?,
        description: text(metadata.get_description())?,
        packager: text(metadata.get_packager())?,
        url: text(metadata.get_url())?,
        license: text(metadata.get_license())?,
        vendor: text(metadata.get_vendor())?,
        group: text(metadata.get_group())?,
        build_host: text(metadata.get_build_host())?,
        source_rpm: text(metadata.get_source_rpm())?,
        build_time: optional(metadata.get_build_time())?.unwrap_or(0),
        installed_size: optional(metadata.get_installed_size())?.unwrap_or(0),
        archive_size: archive_size(metadata),
        header_start: offsets.header,
        header_end: offsets.payload,
        dependencies: dependency_lists(metadata, &files)?,
        files,
        changelogs: optional(metadata.get_changelog_entries())?.unwrap_or_default(),
    })
}

fn file_records(metadata: &PackageMetadata) -> Result<Vec<FileRecord>, rpm::Error> {
    let record = |entry: &rpm::FileEntry<'_>| FileRecord {
        path: entry.path().to_string_lossy().into_owned(),
        kind: if entry.flags().contains(FileFlags::GHOST) {
            Some("ghost")
        } else if entry.file_type() == FileType::Dir {
            Some("dir")
        } else {
            None
        },
    };
    Ok(metadata.get_file_entries()?.iter().map(record).collect())
}

/// Every dependency list, named and ordered as in `primary.xml`.
fn dependency_lists(
    metadata: &PackageMetadata,
    files: &[FileRecord],
) -> Result<Vec<(&'static str, Vec<rpm::Dependency>)>, rpm::Error> {
    let provides = metadata.get_provides()?;
    let requires = primary_requires(metadata.get_requires()?, &provides, files);
    Ok(vec![
        ("provides", provides),
        ("requires", requires),
        ("conflicts", metadata.get_conflicts()?),
        ("obsoletes", metadata.get_obsoletes()?),
        ("suggests", metadata.get_suggests()?),
        ("enhances", metadata.get_enhances()?),
        ("recommends", metadata.get_recommends()?),
        ("supplements", metadata.get_supplements()?),
    ])
}

/// A missing tag is `None`; any other failure stays an error.
fn optional<T>(value: Result<T, rpm::Error>) -> Result<Option<T>, rpm::Error> {
    match value {
        Ok(value) => Ok(Some(value)),
        Err(rpm::Error::TagNotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The uncompressed payload size, when the signature header records it
/// (rpmbuild does; the `rpm` crate does not, and createrepo_c then says 0).
fn archive_size(metadata: &PackageMetadata) -> u64 {
    use rpm::IndexSignatureTag::{RPMSIGTAG_LONGARCHIVESIZE, RPMSIGTAG_PAYLOADSIZE};
    metadata
        .signature
        .get_entry_data_as_u64(RPMSIGTAG_LONGARCHIVESIZE)
        .or_else(|_| {
            metadata
                .signature
                .get_entry_data_as_u32(RPMSIGTAG_PAYLOADSIZE)
                .map(u64::from)
        })
        .unwrap_or(0)
}

/// The requires `createrepo_c` publishes: without `rpmlib(…)` features
/// (rpm checks those itself), without what the package satisfies on its
/// own, and without exact duplicates.
fn primary_requires(
    requires: Vec<rpm::Dependency>,
    provides: &[rpm::Dependency],
    files: &[FileRecord],
) -> Vec<rpm::Dependency> {
    let mut kept: Vec<rpm::Dependency> = Vec::with_capacity(requires.len());
    for require in requires {
        let own_file = || {
            files
                .iter()
                .any(|file| file.path == require.name && file.is_primary())
        };
        let own_provide = || provides.iter().any(|provide| provide.name == require.name);
        let duplicate = || {
            kept.iter().any(|other| {
                other.name == require.name
                    && other.version == require.version
                    && comparison(other.flags) == comparison(require.flags)
            })
        };
        if require.name.starts_with("rpmlib(") || own_file() || own_provide() || duplicate() {
            continue;
        }
        kept.push(require);
    }
    kept
}

/// The repodata spelling of a dependency's comparison operator.
fn comparison(flags: DependencyFlags) -> Option<&'static str> {
    let less = flags.contains(DependencyFlags::LESS);
    let greater = flags.contains(DependencyFlags::GREATER);
    let equal = flags.contains(DependencyFlags::EQUAL);
    match (less, greater, equal) {
        (false, false, true) => Some("EQ"),
        (true, false, false) => Some("LT"),
        (true, false, true) => Some("LE"),
        (false, true, false) => Some("GT"),
        (false, true, true) => Some("GE"),
        _ => None,
    }
}

/// `[epoch:]version[-release]` split the way createrepo_c splits it: the
/// epoch only when it is a number (default `0`), the release after the
/// first `-`.
fn split_evr(evr: &str) -> (&str, &str, Option<&str>) {
    let (epoch, rest) = match evr.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            (epoch, rest)
        }
        Some((_, rest)) => ("0", rest),
        None => ("0", evr),
    };
    match rest.split_once('-') {
        Some((version, release)) if !release.is_empty() => (epoch, version, Some(release)),
        Some((version, _)) => (epoch, version, None),
        None => (epoch, rest, None),
    }
}

/// `text` as XML character data, escaped as libxml2 (and so createrepo_c)
/// escapes it; characters XML 1.0 cannot carry at all (control characters
/// other than tab and line breaks) are dropped.
fn xml(text: &str) -> String {
    escape(text, false)
}

/// `text` inside a double-quoted attribute: also `"` and the whitespace a
/// parser would otherwise normalise to spaces.
fn xml_attribute(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, attribute: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '\r' => escaped.push_str("&#13;"),
            '"' if attribute => escaped.push_str("&quot;"),
            '\n' if attribute => escaped.push_str("&#10;"),
            '\t' if attribute => escaped.push_str("&#9;"),
            '\t' | '\n' => escaped.push(character),
            '\u{FFFE}' | '\u{FFFF}' => {}
            control if control < ' ' => {}
            other => escaped.push(other),
        }
    }
    escaped
}

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn render_primary(packages: &[PackageRecord]) -> String {
    let mut out = String::from(XML_DECLARATION);
    let _ = writeln!(
        out,
        "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" \
         xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{}\">",
        packages.len()
    );
    for package in packages {
        render_primary_package(&mut out, package);
    }
    out.push_str("</metadata>");
    out
}

fn render_primary_package(out: &mut String, package: &PackageRecord) {
    let _ = writeln!(out, "<package type=\"rpm\">");
    let _ = writeln!(out, "  <name>{}</name>", xml(&package.name));
    let _ = writeln!(out, "  <arch>{}</arch>", xml(&package.arch));
    let _ = writeln!(out, "  {}", version_element(package));
    let _ = writeln!(
        out,
        "  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>",
        package.checksum
    );
    for (element, value) in [
        ("summary", &package.summary),
        ("description", &package.description),
        ("packager", &package.packager),
        ("url", &package.url),
    ] {
        let _ = writeln!(out, "  {}", text_element(element, value));
    }
    // The file time is the build time, not the RPM's mtime (createrepo_c's
    // choice): the same RPMs must give the same metadata whenever copied.
    let _ = writeln!(
        out,
        "  <time file=\"{0}\" build=\"{0}\"/>",
        package.build_time
    );
    let _ = writeln!(
        out,
        "  <size package=\"{}\" installed=\"{}\" archive=\"{}\"/>",
        package.file_size, package.installed_size, package.archive_size
    );
    let _ = writeln!(
        out,
        "  <location href=\"{}\"/>",
        xml_attribute(&package.file_name)
    );
    let _ = writeln!(out, "  <format>");
    for (element, value) in [
        ("rpm:license", &package.license),
        ("rpm:vendor", &package.vendor),
        ("rpm:group", &package.group),
        ("rpm:buildhost", &package.build_host),
        ("rpm:sourcerpm", &package.source_rpm),
    ] {
        let _ = writeln!(out, "    {}", text_element(element, value));
    }
    let _ = writeln!(
        out,
        "    <rpm:header-range start=\"{}\" end=\"{}\"/>",
        package.header_start, package.header_end
    );
    for (kind, dependencies) in &package.dependencies {
        render_dependencies(out, kind, dependencies);
    }
    for file in package.files.iter().filter(|file| file.is_primary()) {
        let _ = writeln!(out, "    {}", file_element(file));
    }
    let _ = writeln!(out, "  </format>");
    let _ = writeln!(out, "</package>");
}

fn render_dependencies(out: &mut String, kind: &str, dependencies: &[rpm::Dependency]) {
    if dependencies.is_empty() {
        return;
    }
    let _ = writeln!(out, "    <rpm:{kind}>");
    for dependency in dependencies {
        let _ = write!(
            out,
            "      <rpm:entry name=\"{}\"",
            xml_attribute(&dependency.name)
        );
        if let Some(comparison) = comparison(dependency.flags) {
            let (epoch, version, release) = split_evr(&dependency.version);
            let _ = write!(
                out,
                " flags=\"{comparison}\" epoch=\"{}\" ver=\"{}\"",
                xml_attribute(epoch),
                xml_attribute(version)
            );
            if let Some(release) = release {
                let _ = write!(out, " rel=\"{}\"", xml_attribute(release));
            }
        }
        let _ = writeln!(out, "/>");
    }
    let _ = writeln!(out, "    </rpm:{kind}>");
}

fn render_filelists(packages: &[PackageRecord]) -> String {
    let mut out = String::from(XML_DECLARATION);
    let _ = writeln!(
        out,
        "<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{}\">",
        packages.len()
    );
    for package in packages {
        let _ = writeln!(out, "{}", package_open_tag(package));
        let _ = writeln!(out, "  {}", version_element(package));
        for file in &package.files {
            let _ = writeln!(out, "  {}", file_element(file));
        }
        let _ = writeln!(out, "</package>");
    }
    out.push_str("</filelists>");
    out
}

fn render_other(packages: &[PackageRecord]) -> String {
    let mut out = String::from(XML_DECLARATION);
    let _ = writeln!(
        out,
        "<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"{}\">",
        packages.len()
    );
    for package in packages {
        let _ = writeln!(out, "{}", package_open_tag(package));
        let _ = writeln!(out, "  {}", version_element(package));
        for entry in &package.changelogs {
            let _ = writeln!(
                out,
                "  <changelog author=\"{}\" date=\"{}\">{}</changelog>",
                xml_attribute(&entry.name),
                entry.timestamp,
                xml(&entry.description)
            );
        }
        let _ = writeln!(out, "</package>");
    }
    out.push_str("</otherdata>");
    out
}

fn package_open_tag(package: &PackageRecord) -> String {
    format!(
        "<package pkgid=\"{}\" name=\"{}\" arch=\"{}\">",
        package.checksum,
        xml_attribute(&package.name),
        xml_attribute(&package.arch)
    )
}

fn version_element(package: &PackageRecord) -> String {
    format!(
        "<version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>",
        package.epoch,
        xml_attribute(&package.version),
        xml_attribute(&package.release)
    )
}

fn text_element(element: &str, value: &str) -> String {
    format!("<{element}>{}</{element}>", xml(value))
}

fn file_element(file: &FileRecord) -> String {
    match file.kind {
        Some(kind) => format!("<file type=\"{kind}\">{}</file>", xml(&file.path)),
        None => format!("<file>{}</file>", xml(&file.path)),
    }
}

/// One compressed metadata file, as `repomd.xml` lists it.
struct DataRecord {
    kind: &'static str,
    file_name: String,
    checksum: Sha256,
    size: u64,
    open_checksum: Sha256,
    open_size: u64,
}

fn write_compressed(
    folder: &Path,
    kind: &'static str,
    xml: &str,
) -> Result<DataRecord, RepodataError> {
    // GzEncoder's header carries no mtime and no file name: same XML, same bytes.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let compressed = encoder
        .write_all(xml.as_bytes())
        .and_then(|()| encoder.finish())
        .map_err(|source| write_error(folder, source))?;
    let checksum = Sha256::of_bytes(&compressed);
    let file_name = format!("{checksum}-{kind}.xml.gz");
    let path = folder.join(&file_name);
    fs_err::write(&path, &compressed).map_err(|source| write_error(&path, source))?;
    Ok(DataRecord {
        kind,
        file_name,
        checksum,
        size: compressed.len() as u64,
        open_checksum: Sha256::of_bytes(xml.as_bytes()),
        open_size: xml.len() as u64,
    })
}

fn render_repomd(records: &[DataRecord], revision: u64) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str(
        "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" \
         xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n",
    );
    let _ = writeln!(out, "  <revision>{revision}</revision>");
    for record in records {
        let _ = writeln!(out, "  <data type=\"{}\">", record.kind);
        let _ = writeln!(
            out,
            "    <checksum type=\"sha256\">{}</checksum>",
            record.checksum
        );
        let _ = writeln!(
            out,
            "    <open-checksum type=\"sha256\">{}</open-checksum>",
            record.open_checksum
        );
        let _ = writeln!(
            out,
            "    <location href=\"{REPODATA_FOLDER}/{}\"/>",
            record.file_name
        );
        let _ = writeln!(out, "    <timestamp>{revision}</timestamp>");
        let _ = writeln!(out, "    <size>{}</size>", record.size);
        let _ = writeln!(out, "    <open-size>{}</open-size>", record.open_size);
        let _ = writeln!(out, "  </data>");
    }
    out.push_str("</repomd>\n");
    out
}

/// Leftovers of a killed run: staging trees and trees being replaced.
fn remove_stale_trees(repo_dir: &Path) -> Result<(), RepodataError> {
    let list_error = |source| RepodataError::List {
        path: repo_dir.to_path_buf(),
        source,
    };
    for entry in fs_err::read_dir(repo_dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("repodata.tmp-") || name.starts_with("repodata.old-") {
            let path = entry.path();
            fs_err::remove_dir_all(&path).map_err(|source| write_error(&path, source))?;
        }
    }
    Ok(())
}

/// The staging folder is created 0700; a web server must read the metadata.
fn make_readable(folder: &Path) -> Result<(), RepodataError> {
    use std::os::unix::fs::PermissionsExt;
    let permissions = std::fs::Permissions::from_mode(0o755);
    fs_err::set_permissions(folder, permissions).map_err(|source| write_error(folder, source))
}

/// Put `staging` at `destination`. A non-empty folder cannot be renamed
/// over, so the old tree is first renamed onto a reserved empty folder
/// (which rename may replace), then the new one takes its place.
fn replace_tree(staging: tempfile::TempDir, destination: &Path) -> Result<(), RepodataError> {
    let parent = destination.parent().unwrap_or(Path::new("."));
    let old = if destination.exists() {
        let reserved = tempfile::Builder::new()
            .prefix("repodata.old-")
            .tempdir_in(parent)
            .map_err(|source| write_error(parent, source))?;
        fs_err::rename(destination, reserved.path())
            .map_err(|source| write_error(destination, source))?;
        Some(reserved)
    } else {
        None
    };
    let staging_path = staging.keep();
    fs_err::rename(&staging_path, destination)
        .map_err(|source| write_error(destination, source))?;
    if let Some(old) = old {
        let old_path = old.path().to_path_buf();
        old.close()
            .map_err(|source| write_error(&old_path, source))?;
    }
    Ok(())
}

fn write_error(path: &Path, source: std::io::Error) -> RepodataError {
    RepodataError::Write {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evr_splits_like_createrepo() {
        assert_eq!(split_evr("1.0"), ("0", "1.0", None));
        assert_eq!(split_evr("2:1.0-3.el9"), ("2", "1.0", Some("3.el9")));
        assert_eq!(split_evr("4.10.0-1"), ("0", "4.10.0", Some("1")));
        assert_eq!(split_evr("x:1.0"), ("0", "1.0", None));
        assert_eq!(split_evr("1.0~rc1"), ("0", "1.0~rc1", None));
    }

    #[test]
    fn comparisons_have_repodata_names() {
        use DependencyFlags as F;
        assert_eq!(comparison(F::EQUAL), Some("EQ"));
        assert_eq!(comparison(F::LESS | F::EQUAL), Some("LE"));
        assert_eq!(comparison(F::GREATER | F::EQUAL), Some("GE"));
        assert_eq!(comparison(F::LESS), Some("LT"));
        assert_eq!(comparison(F::GREATER), Some("GT"));
        assert_eq!(comparison(F::ANY), None);
        assert_eq!(comparison(F::RPMLIB | F::LESS | F::EQUAL), Some("LE"));
    }

    #[test]
    fn xml_text_is_escaped_and_control_characters_dropped() {
        assert_eq!(
            xml("a<b & \"c\" it's\u{1}\n\t\r"),
            "a&lt;b &amp; \"c\" it's\n\t&#13;"
        );
        assert_eq!(
            xml_attribute("a<b & \"c\" it's\u{1}\n\t"),
            "a&lt;b &amp; &quot;c&quot; it's&#10;&#9;"
        );
    }

    #[test]
    fn requires_leave_out_rpmlib_own_provides_and_duplicates() {
        let provides = vec![rpm::Dependency::eq("foo", "1.0-1")];
        let files = vec![
            FileRecord {
                path: "/opt/app/bin/python".into(),
                kind: None,
            },
            FileRecord {
                path: "/opt/app/lib/x.py".into(),
                kind: None,
            },
        ];
        let requires = vec![
            rpm::Dependency::rpmlib("PayloadIsZstd", "5.4.18-1"),
            rpm::Dependency::any("foo"),
            rpm::Dependency::any("/opt/app/bin/python"),
            rpm::Dependency::any("/opt/app/lib/x.py"),
            rpm::Dependency::greater_eq("bar", "2"),
            rpm::Dependency::greater_eq("bar", "2"),
            rpm::Dependency::any("baz"),
        ];
        let names: Vec<_> = primary_requires(requires, &provides, &files)
            .into_iter()
            .map(|dependency| dependency.name)
            .collect();
        assert_eq!(names, ["/opt/app/lib/x.py", "bar", "baz"]);
    }
}
