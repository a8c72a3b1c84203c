//! Writing one binary RPM in-process with the `rpm` crate (no rpmbuild).
//!
//! Input: an [`RpmSpec`]: the package's metadata, its files, symlinks and
//! owned directories, and its Requires / Provides as [`RpmDependency`]
//! values. Output: `<name>-<version>-<release>.<arch>.rpm` in a folder.
//!
//! Invariants (`docs/rpm-rules.md`):
//! - reproducible: the build time and every file mtime are
//!   `spec.build_time`, the build host is `spec.build_host`, nothing random
//!   or clock-dependent goes in, so the same spec gives the same bytes;
//! - every entry is owned by `root:root` with the exact mode given (regular
//!   files, directories and symlinks keep their file type); license files
//!   carry `%license`, documentation `%doc`;
//! - versioned dependencies are real (name, flags, EVR) triples; rich
//!   dependencies are stored whole as the name with no flags; the `rpmlib()`
//!   features the package uses (`~`, `^`, rich dependencies, the zstd payload,
//!   SHA-256 file digests…) are Requires with `RPMSENSE_RPMLIB`;
//! - the payload is zstd-compressed and file digests are SHA-256;
//! - the file appears complete or not at all: it is written to a temp file
//!   beside it (never named `*.rpm`) and renamed into place.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rpm::{CompressionWithLevel, DependencyFlags, FileOptions, PackageBuilder};

use super::dependency::{rpmlib_features, RpmDependency};
use super::version::RpmEvr;
use crate::excerpt::excerpt;

/// zstd level of the payload. rpmbuild's `w19.zstdio` is slow; level 3 keeps
/// packaging close to the cost of compressing the files once, and payloads
/// are a few percent larger.
pub const PAYLOAD_ZSTD_LEVEL: i32 = 3;

/// `rpmlib()` features the `rpm` crate adds on its own when they apply
/// (v4 format, zstd payload, rich dependencies…); a caller's copy of one is
/// dropped so that no Requires appears twice.
const FEATURES_ADDED_BY_THE_RPM_CRATE: &[&str] = &[
    "rpmlib(CompressedFileNames)",
    "rpmlib(FileDigests)",
    "rpmlib(PayloadFilesHavePrefix)",
    "rpmlib(PayloadIsZstd)",
    "rpmlib(RichDependencies)",
    "rpmlib(LargeFiles)",
    "rpmlib(FileCaps)",
];

/// Everything one binary RPM holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpmSpec {
    pub name: String,
    pub epoch: Option<u64>,
    pub version: String,
    pub release: String,
    /// `noarch` or the target architecture (`x86_64`).
    pub arch: String,
    pub summary: String,
    pub description: String,
    pub license: String,
    pub url: Option<String>,
    pub group: Option<String>,
    pub packager: Option<String>,
    pub vendor: Option<String>,
    /// Seconds since the epoch, from the lock: the build time and every
    /// file's mtime. Must not be in the future (rpm-rs would use "now").
    pub build_time: u64,
    /// A fixed name (e.g. `vendor`), never the machine's host name.
    pub build_host: String,
    /// Regular files and symlinks.
    pub files: Vec<RpmFile>,
    /// Directories the package owns.
    pub directories: Vec<RpmDirectory>,
    pub requires: Vec<RpmDependency>,
    pub provides: Vec<RpmDependency>,
    /// Packages this one replaces (`<app>-deps` obsoletes what a release
    /// dropped).
    pub obsoletes: Vec<RpmDependency>,
    /// Shell scriptlets (`/bin/sh`), exactly as they are to run.
    pub scripts: RpmScripts,
}

/// The scriptlets of a package; rpm passes each the number of instances
/// of the package left after the step (`$1`: 1 on a first install, 2 on
/// an upgrade, 0 on removal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpmScripts {
    /// `%pre`: before the files are installed.
    pub pre_install: Option<String>,
    /// `%post`: after the files are installed.
    pub post_install: Option<String>,
    /// `%preun`: before the files are removed (also when upgraded away).
    pub pre_uninstall: Option<String>,
    /// `%postun`: after the files are removed (also when upgraded away).
    pub post_uninstall: Option<String>,
    /// What a scriptlet runs: `Requires(<phase>)`, so rpm installs it
    /// before and removes it after.
    pub requires: Vec<(ScriptPhase, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScriptPhase {
    PreInstall,
    PostInstall,
    PreUninstall,
    PostUninstall,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpmFile {
    /// Absolute install path, e.g. `/opt/mysite/bin/gunicorn`.
    pub path: String,
    /// Permission bits (`0o644`, `0o755`); any file-type bits are ignored.
    /// Symlinks are always `0o777`, as on Linux.
    pub mode: u32,
    pub source: RpmFileSource,
    /// Marked `%license` (`RPMFILE_LICENSE`).
    pub is_license: bool,
    /// Marked `%doc` (`RPMFILE_DOC`).
    pub is_doc: bool,
    /// Marked `%config(noreplace)`: an upgrade keeps a server's edits and
    /// writes the new default beside them as `.rpmnew`.
    pub is_config: bool,
    /// The owning group; `None` is root. The owner is always root.
    pub group: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpmFileSource {
    /// Contents read from this file when the RPM is written.
    Path(PathBuf),
    Bytes(Vec<u8>),
    /// A symbolic link to this target.
    Symlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpmDirectory {
    /// Absolute path, e.g. `/opt/mysite/lib/python3.11/site-packages/django`.
    pub path: String,
    /// Permission bits, e.g. `0o755`.
    pub mode: u32,
}

/// An RPM [`write_rpm`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenRpm {
    pub path: PathBuf,
    /// Size of the file in bytes.
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RpmWriteError {
    #[error("package `{package}`: `{path}` is not an absolute install path")]
    RelativePath { package: String, path: String },
    #[error("package `{package}`: {field} {value} does not fit rpm's 32-bit header field")]
    TooLarge {
        package: String,
        field: &'static str,
        value: u64,
    },
    #[error("package `{package}`: the build time {build_time} is in the future, which the rpm crate would replace by the current time")]
    BuildTimeInFuture { package: String, build_time: u64 },
    #[error("package `{package}`: cannot add `{path}`: {source}")]
    AddEntry {
        package: String,
        path: String,
        /// Boxed: the rpm crate's errors are large.
        source: Box<rpm::Error>,
    },
    /// rpm's message may quote a whole field (a README): only its start
    /// is shown, and the error is not a chained cause, which would print it
    /// all.
    #[error("cannot build the RPM `{package}`: {}", excerpt(&cause.to_string()))]
    Build {
        package: String,
        cause: Box<rpm::Error>,
    },
    #[error("cannot write the RPM `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl crate::hint::Hint for RpmWriteError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::RelativePath { .. } => {
                Some("RPM paths start with `/`, e.g. `/opt/<app>/…`".to_string())
            }
            Self::BuildTimeInFuture { .. } => {
                Some("check the build host's clock, or the time recorded in the lock".to_string())
            }
            Self::Write { source, .. } if crate::hint::is_disk_full(source) => {
                Some(crate::hint::OUTPUT_DISK_FULL.to_string())
            }
            _ => None,
        }
    }
}

/// `N-V-R.A.rpm`; the epoch is never part of an RPM's file name.
pub fn rpm_file_name(spec: &RpmSpec) -> String {
    format!(
        "{}-{}-{}.{}.rpm",
        spec.name, spec.version, spec.release, spec.arch
    )
}

/// The parts of an [`rpm_file_name`]: `(name, version, release, arch)`
/// (RPM versions and releases never contain `-`; arches never `.`).
pub fn parse_rpm_file_name(file_name: &str) -> Option<(&str, &str, &str, &str)> {
    let stem = file_name.strip_suffix(".rpm")?;
    let (rest, arch) = stem.rsplit_once('.')?;
    let mut parts = rest.rsplitn(3, '-');
    let (release, version, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some((name, version, release, arch))
}

/// Write the package to `output_dir/`[`rpm_file_name`] atomically and
/// return its path and size. An existing file of that name is replaced.
pub fn write_rpm(spec: &RpmSpec, output_dir: &Path) -> Result<WrittenRpm, RpmWriteError> {
    check_spec(spec)?;
    let mut builder = new_builder(spec)?;
    add_entries(&mut builder, spec)?;
    add_dependencies(&mut builder, spec);
    let build_error = |cause| RpmWriteError::Build {
        package: spec.name.clone(),
        cause: Box::new(cause),
    };
    add_scripts(&mut builder, &spec.scripts);
    let mut package = builder.build().map_err(build_error)?;
    record_archive_size(&mut package).map_err(build_error)?;
    let path = output_dir.join(rpm_file_name(spec));
    let size = write_atomically(&package, &path)?;
    Ok(WrittenRpm { path, size })
}

/// Add the uncompressed payload's size to the signature header, as rpmbuild
/// does (`RPMSIGTAG_PAYLOADSIZE`, or `RPMSIGTAG_LONGARCHIVESIZE` past 4 GiB).
/// The `rpm` crate leaves it out of v4 packages, and `rpm2cpio` then exits
/// with an error after writing the whole archive (it compares the count with
/// this tag), which breaks `rpm2cpio | cpio` under `set -o pipefail`. The
/// signature header is covered by no digest, so it is rebuilt with the tag.
fn record_archive_size(package: &mut rpm::Package) -> Result<(), rpm::Error> {
    let mut decoder = zstd::stream::read::Decoder::new(package.payload.as_slice())?;
    let archive_size = std::io::copy(&mut decoder, &mut std::io::sink())?;
    let size_entry = match u32::try_from(archive_size) {
        Ok(size) => rpm::HeaderEntry::new(
            rpm::IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE as u32,
            rpm::IndexData::Int32(vec![size]),
        ),
        Err(_) => rpm::HeaderEntry::new(
            rpm::IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE as u32,
            rpm::IndexData::Int64(vec![archive_size]),
        ),
    };
    let entries: Vec<rpm::HeaderEntry> = package
        .metadata
        .signature
        .get_all_entries()?
        .into_iter()
        .filter(|(tag, _)| *tag != rpm::HEADER_SIGNATURES)
        .map(|(tag, data)| rpm::HeaderEntry::new(tag, data))
        .chain([size_entry])
        .collect();
    package.metadata.signature =
        rpm::Header::from_entries(entries, rpm::IndexSignatureTag::HEADER_SIGNATURES);
    Ok(())
}

fn check_spec(spec: &RpmSpec) -> Result<(), RpmWriteError> {
    let too_large = |field, value| RpmWriteError::TooLarge {
        package: spec.name.clone(),
        field,
        value,
    };
    if spec.build_time > u64::from(u32::MAX) {
        return Err(too_large("build time", spec.build_time));
    }
    if let Some(epoch) = spec.epoch.filter(|epoch| *epoch > u64::from(u32::MAX)) {
        return Err(too_large("epoch", epoch));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    if spec.build_time > now {
        return Err(RpmWriteError::BuildTimeInFuture {
            package: spec.name.clone(),
            build_time: spec.build_time,
        });
    }
    let paths = spec
        .files
        .iter()
        .map(|file| &file.path)
        .chain(spec.directories.iter().map(|directory| &directory.path));
    for path in paths {
        if !path.starts_with('/') {
            return Err(RpmWriteError::RelativePath {
                package: spec.name.clone(),
                path: path.clone(),
            });
        }
    }
    Ok(())
}

fn new_builder(spec: &RpmSpec) -> Result<PackageBuilder, RpmWriteError> {
    let build_time = u32::try_from(spec.build_time).map_err(|_| RpmWriteError::TooLarge {
        package: spec.name.clone(),
        field: "build time",
        value: spec.build_time,
    })?;
    let mut builder = PackageBuilder::new(
        &spec.name,
        &spec.version,
        &spec.license,
        &spec.arch,
        &spec.summary,
    );
    builder
        .using_config(
            rpm::BuildConfig::v4()
                .compression(CompressionWithLevel::Zstd(PAYLOAD_ZSTD_LEVEL))
                .source_date(build_time),
        )
        .release(&spec.release)
        .description(&spec.description)
        .build_host(&spec.build_host);
    if let Some(epoch) = spec.epoch {
        builder.epoch(epoch as u32); // range checked in `check_spec`
    }
    if let Some(url) = &spec.url {
        builder.url(url);
    }
    if let Some(group) = &spec.group {
        builder.group(group);
    }
    if let Some(packager) = &spec.packager {
        builder.packager(packager);
    }
    if let Some(vendor) = &spec.vendor {
        builder.vendor(vendor);
    }
    Ok(builder)
}

fn add_entries(builder: &mut PackageBuilder, spec: &RpmSpec) -> Result<(), RpmWriteError> {
    // `check_spec` bounded the build time to u32.
    let mtime = rpm::Timestamp::from(spec.build_time as u32);
    let add_error = |path: &str| {
        let package = spec.name.clone();
        let path = path.to_owned();
        move |source| RpmWriteError::AddEntry {
            package,
            path,
            source: Box::new(source),
        }
    };
    for directory in &spec.directories {
        let options = FileOptions::dir(&directory.path)
            .permissions(permission_bits(directory.mode))
            .modified_at(mtime);
        builder
            .with_dir_entry(options)
            .map_err(add_error(&directory.path))?;
    }
    for file in &spec.files {
        let mut options = match &file.source {
            RpmFileSource::Symlink(target) => FileOptions::symlink(&file.path, target),
            _ => FileOptions::new(&file.path).permissions(permission_bits(file.mode)),
        }
        .modified_at(mtime);
        if file.is_license {
            options = options.license();
        }
        if file.is_doc {
            options = options.doc();
        }
        if file.is_config {
            options = options.config().noreplace();
        }
        if let Some(group) = &file.group {
            options = options.group(group);
        }
        let added = match &file.source {
            RpmFileSource::Path(source) => add_file(builder, source, options),
            RpmFileSource::Bytes(bytes) => builder.with_file_contents(bytes.clone(), options),
            RpmFileSource::Symlink(_) => builder.with_symlink(options),
        };
        added.map_err(add_error(&file.path))?;
    }
    Ok(())
}

fn add_scripts(builder: &mut PackageBuilder, scripts: &RpmScripts) {
    if let Some(script) = &scripts.pre_install {
        builder.pre_install_script(script.as_str());
    }
    if let Some(script) = &scripts.post_install {
        builder.post_install_script(script.as_str());
    }
    if let Some(script) = &scripts.pre_uninstall {
        builder.pre_uninstall_script(script.as_str());
    }
    if let Some(script) = &scripts.post_uninstall {
        builder.post_uninstall_script(script.as_str());
    }
    let mut requires = scripts.requires.clone();
    requires.sort();
    requires.dedup();
    for (phase, name) in requires {
        builder.requires(match phase {
            ScriptPhase::PreInstall => rpm::Dependency::script_pre(name),
            ScriptPhase::PostInstall => rpm::Dependency::script_post(name),
            ScriptPhase::PreUninstall => rpm::Dependency::script_preun(name),
            ScriptPhase::PostUninstall => rpm::Dependency::script_postun(name),
        });
    }
}

/// Files up to this size are read here and handed over as bytes: for a path
/// the `rpm` crate stats and canonicalizes it (to detect hard links), which
/// costs more than reading a small file; larger files are streamed from disk.
const READ_AHEAD_BYTES: u64 = 4 * 1024 * 1024;

fn add_file<'b>(
    builder: &'b mut PackageBuilder,
    source: &Path,
    options: impl Into<FileOptions>,
) -> Result<&'b mut PackageBuilder, rpm::Error> {
    let small = std::fs::metadata(source)?.len() <= READ_AHEAD_BYTES;
    if small {
        builder.with_file_contents(std::fs::read(source)?, options)
    } else {
        builder.with_file(source, options)
    }
}

fn permission_bits(mode: u32) -> u16 {
    (mode & 0o7777) as u16
}

/// The spec's Requires plus the `rpmlib()` features it uses, and its
/// Provides, each without duplicates. The `rpm` crate adds the package's own
/// `name = EVR` / `name(isa) = EVR` provides and its format features.
fn add_dependencies(builder: &mut PackageBuilder, spec: &RpmSpec) {
    let own_evr = RpmEvr {
        epoch: spec.epoch,
        version: spec.version.clone(),
        release: Some(spec.release.clone()),
    };
    let everything: Vec<RpmDependency> = spec
        .requires
        .iter()
        .chain(&spec.provides)
        .cloned()
        .collect();
    let mut requires: Vec<RpmDependency> = spec
        .requires
        .iter()
        .cloned()
        .chain(rpmlib_features(&everything, &own_evr))
        .filter(|dependency| !FEATURES_ADDED_BY_THE_RPM_CRATE.contains(&dependency.name()))
        .collect();
    requires.sort();
    requires.dedup();
    let mut provides = spec.provides.clone();
    provides.sort();
    provides.dedup();
    for dependency in &requires {
        builder.requires(to_rpm_dependency(dependency));
    }
    for dependency in &provides {
        builder.provides(to_rpm_dependency(dependency));
    }
    let mut obsoletes = spec.obsoletes.clone();
    obsoletes.sort();
    obsoletes.dedup();
    for dependency in &obsoletes {
        builder.obsoletes(to_rpm_dependency(dependency));
    }
}

fn to_rpm_dependency(dependency: &RpmDependency) -> rpm::Dependency {
    rpm::Dependency {
        name: dependency.name().to_owned(),
        flags: DependencyFlags::from_bits_retain(dependency.sense_bits()),
        version: dependency.evr_string(),
    }
}

/// Serialize into a temp file in the destination folder, then rename it
/// into place: readers (and `write_repodata`) only ever see whole RPMs.
fn write_atomically(package: &rpm::Package, path: &Path) -> Result<u64, RpmWriteError> {
    use std::os::unix::fs::PermissionsExt;
    let write_error = |source| RpmWriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A leading dot and no `.rpm` ending: repository scans never pick it up.
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}-"))
        .suffix(".part")
        .tempfile_in(folder)
        .map_err(write_error)?;
    {
        let mut writer = std::io::BufWriter::new(temp.as_file());
        package.write(&mut writer).map_err(|source| match source {
            rpm::Error::Io(source) => write_error(source),
            other => write_error(std::io::Error::other(other)),
        })?;
        writer.flush().map_err(write_error)?;
    }
    // Temp files are created 0600; an RPM is served to other users.
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(write_error)?;
    let size = temp.as_file().metadata().map_err(write_error)?.len();
    temp.persist(path)
        .map_err(|error| write_error(error.error))?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::package::dependency::DependencyFlags as Flags;

    const BUILD_TIME: u64 = 1_700_000_000;

    /// Runs the real `rpm`, asserting success; returns stdout.
    fn rpm(args: &[&str]) -> String {
        let output = Command::new("rpm")
            .args(args)
            .output()
            .expect("rpm is installed");
        assert!(
            output.status.success(),
            "rpm {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    fn evr(text: &str) -> RpmEvr {
        match text.split_once('-') {
            Some((version, release)) => RpmEvr::from_version(version).with_release(release),
            None => RpmEvr::from_version(text),
        }
    }

    fn file(path: &str, mode: u32, source: RpmFileSource) -> RpmFile {
        RpmFile {
            path: path.to_string(),
            mode,
            source,
            is_license: false,
            is_doc: false,
            is_config: false,
            group: None,
        }
    }

    /// A package using every kind of entry and dependency the writer handles.
    fn sample_spec(sources: &Path) -> RpmSpec {
        fs_err::write(sources.join("LICENSE"), "MIT License\n").unwrap();
        fs_err::write(sources.join("_speedups.so"), b"\x7fELF not really").unwrap();
        let directories = [
            ("/opt/demo", 0o755),
            ("/opt/demo/bin", 0o755),
            ("/opt/demo/lib", 0o755),
            ("/opt/demo/lib/sample", 0o750),
        ];
        RpmSpec {
            name: "demo-python3-sample".into(),
            epoch: Some(2),
            version: "1.0~rc1".into(),
            release: "1.el9".into(),
            arch: "noarch".into(),
            summary: "A sample package".into(),
            description: "Exercises files, links, licenses & dependencies.".into(),
            license: "MIT".into(),
            url: Some("https://example.org/sample".into()),
            group: None,
            packager: None,
            vendor: Some("vendor".into()),
            build_time: BUILD_TIME,
            build_host: "vendor".into(),
            files: vec![
                file(
                    "/opt/demo/lib/sample/__init__.py",
                    0o644,
                    RpmFileSource::Bytes(b"print('hello')\n".to_vec()),
                ),
                RpmFile {
                    is_license: true,
                    ..file(
                        "/opt/demo/lib/sample/LICENSE",
                        0o100644,
                        RpmFileSource::Path(sources.join("LICENSE")),
                    )
                },
                RpmFile {
                    is_doc: true,
                    is_config: false,
                    group: None,
                    ..file(
                        "/opt/demo/lib/sample/README.md",
                        0o644,
                        RpmFileSource::Bytes(b"# sample\n".to_vec()),
                    )
                },
                file(
                    "/opt/demo/lib/sample/_speedups.so",
                    0o755,
                    RpmFileSource::Path(sources.join("_speedups.so")),
                ),
                file(
                    "/opt/demo/bin/sample",
                    0o755,
                    RpmFileSource::Bytes(b"#!/opt/demo/bin/python\nimport sample\n".to_vec()),
                ),
                file(
                    "/opt/demo/bin/sample-link",
                    0o644,
                    RpmFileSource::Symlink("sample".into()),
                ),
            ],
            directories: directories
                .into_iter()
                .map(|(path, mode)| RpmDirectory {
                    path: path.into(),
                    mode,
                })
                .collect(),
            requires: vec![
                RpmDependency::versioned("python(abi)", Flags::Equal, evr("3.11")),
                RpmDependency::versioned(
                    "demo-python3dist(other)",
                    Flags::GreaterOrEqual,
                    evr("2.0"),
                ),
                RpmDependency::Rich(
                    "(demo-python3dist(x) >= 1 with demo-python3dist(x) < 2~~)".into(),
                ),
                RpmDependency::any("libc.so.6(GLIBC_2.17)(64bit)"),
                RpmDependency::any("/opt/demo/bin/python"),
                RpmDependency::any("/opt/demo/bin/python"),
                // Also added by the writer and by the rpm crate: must appear once.
                RpmDependency::versioned(
                    "rpmlib(RichDependencies)",
                    Flags::LessOrEqual,
                    evr("4.12.0-1"),
                ),
                RpmDependency::versioned(
                    "rpmlib(TildeInVersions)",
                    Flags::LessOrEqual,
                    evr("4.10.0-1"),
                ),
            ],
            provides: vec![RpmDependency::versioned(
                "demo-python3dist(sample)",
                Flags::Equal,
                RpmEvr {
                    epoch: Some(2),
                    version: "1.0~rc1".into(),
                    release: None,
                },
            )],
            obsoletes: Vec::new(),
            scripts: RpmScripts::default(),
        }
    }

    fn write_sample() -> (tempfile::TempDir, RpmSpec, WrittenRpm) {
        let folder = tempfile::tempdir().unwrap();
        let sources = folder.path().join("sources");
        let output = folder.path().join("out");
        fs_err::create_dir_all(&sources).unwrap();
        fs_err::create_dir_all(&output).unwrap();
        let spec = sample_spec(&sources);
        let written = write_rpm(&spec, &output).unwrap();
        (folder, spec, written)
    }

    #[test]
    fn file_name_leaves_out_the_epoch() {
        let folder = tempfile::tempdir().unwrap();
        let spec = sample_spec(folder.path());
        assert_eq!(
            rpm_file_name(&spec),
            "demo-python3-sample-1.0~rc1-1.el9.noarch.rpm"
        );
        assert_eq!(
            parse_rpm_file_name(&rpm_file_name(&spec)),
            Some(("demo-python3-sample", "1.0~rc1", "1.el9", "noarch"))
        );
        assert_eq!(parse_rpm_file_name("releases.json"), None);
    }

    #[test]
    fn rpm_reads_back_metadata_and_dependencies() {
        let (_folder, _spec, written) = write_sample();
        let path = written.path.to_str().unwrap();
        assert_eq!(written.size, fs_err::metadata(path).unwrap().len());
        assert!(path.ends_with("/out/demo-python3-sample-1.0~rc1-1.el9.noarch.rpm"));

        let checked = rpm(&["-K", path]);
        assert!(checked.trim_end().ends_with("digests OK"), "{checked}");

        let query = "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} %{LICENSE} \
                     %{BUILDTIME} %{BUILDHOST} %{PAYLOADCOMPRESSOR} %{URL}";
        assert_eq!(
            rpm(&["-qp", "--qf", query, path]),
            "demo-python3-sample 2 1.0~rc1 1.el9 noarch MIT 1700000000 vendor zstd \
             https://example.org/sample"
        );
        assert_eq!(
            lines(&rpm(&["-qp", "--requires", path])),
            [
                "(demo-python3dist(x) >= 1 with demo-python3dist(x) < 2~~)",
                "/opt/demo/bin/python",
                "demo-python3dist(other) >= 2.0",
                "libc.so.6(GLIBC_2.17)(64bit)",
                "python(abi) = 3.11",
                "rpmlib(CompressedFileNames) <= 3.0.4-1",
                "rpmlib(FileDigests) <= 4.6.0-1",
                "rpmlib(PayloadFilesHavePrefix) <= 4.0-1",
                "rpmlib(PayloadIsZstd) <= 5.4.18-1",
                "rpmlib(RichDependencies) <= 4.12.0-1",
                "rpmlib(TildeInVersions) <= 4.10.0-1",
            ]
        );
        assert_eq!(
            lines(&rpm(&["-qp", "--provides", path])),
            [
                "demo-python3-sample = 2:1.0~rc1-1.el9",
                "demo-python3dist(sample) = 2:1.0~rc1",
            ]
        );
        // Versioned dependencies are (name, flags, version), not one string;
        // rpmlib features carry RPMSENSE_RPMLIB (1 << 24).
        let requires = "[%{REQUIRENAME}|%{REQUIREFLAGS}|%{REQUIREVERSION}\n]";
        let requires = rpm(&["-qp", "--qf", requires, path]);
        assert!(requires.contains("\npython(abi)|8|3.11\n"), "{requires}");
        assert!(
            requires.contains("\ndemo-python3dist(other)|12|2.0\n"),
            "{requires}"
        );
        assert!(
            requires.starts_with("(demo-python3dist(x) >= 1 with demo-python3dist(x) < 2~~)|0|\n"),
            "{requires}"
        );
        let rpmlib = (1 << 24) | 2 | 8;
        assert!(
            requires.contains(&format!("\nrpmlib(TildeInVersions)|{rpmlib}|4.10.0-1\n")),
            "{requires}"
        );
    }

    #[test]
    fn rpm_reads_back_modes_owners_flags_and_digests() {
        let (_folder, _spec, written) = write_sample();
        let path = written.path.to_str().unwrap();
        let query = "[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEMTIMES} \
                     %{FILEFLAGS:fflags} %{FILENAMES} %{FILELINKTOS}\n]";
        assert_eq!(
            lines(&rpm(&["-qp", "--qf", query, path])),
            [
                "drwxr-xr-x root:root 1700000000  /opt/demo ",
                "drwxr-xr-x root:root 1700000000  /opt/demo/bin ",
                "-rwxr-xr-x root:root 1700000000  /opt/demo/bin/sample ",
                "lrwxrwxrwx root:root 1700000000  /opt/demo/bin/sample-link sample",
                "drwxr-xr-x root:root 1700000000  /opt/demo/lib ",
                "drwxr-x--- root:root 1700000000  /opt/demo/lib/sample ",
                "-rw-r--r-- root:root 1700000000 l /opt/demo/lib/sample/LICENSE ",
                "-rw-r--r-- root:root 1700000000 d /opt/demo/lib/sample/README.md ",
                "-rw-r--r-- root:root 1700000000  /opt/demo/lib/sample/__init__.py ",
                "-rwxr-xr-x root:root 1700000000  /opt/demo/lib/sample/_speedups.so ",
            ]
        );
        // SHA-256 file digests (algorithm 8), empty for directories and links.
        let digests = rpm(&["-qp", "--qf", "%{FILEDIGESTALGO}\n[%{FILEDIGESTS}\n]", path]);
        let digests = lines(&digests);
        assert_eq!(digests[0], "8");
        let init_digest = crate::hash::Sha256::of_bytes(b"print('hello')\n");
        assert_eq!(digests[9], init_digest.as_str());
        assert_eq!(digests[1], "");
        assert_eq!(digests[4], "");
    }

    #[test]
    fn installs_into_a_scratch_root() {
        let (folder, _spec, written) = write_sample();
        let root = folder.path().join("root");
        fs_err::create_dir_all(&root).unwrap();
        let root = root.to_str().unwrap();
        // Dependencies are checked by the integration tests; this one checks
        // that rpm accepts the payload, modes and links.
        rpm(&[
            "-i",
            "--root",
            root,
            "--nodeps",
            "--noscripts",
            written.path.to_str().unwrap(),
        ]);
        let installed = Path::new(root).join("opt/demo");
        let script = installed.join("bin/sample");
        assert_eq!(
            fs_err::read_to_string(&script).unwrap(),
            "#!/opt/demo/bin/python\nimport sample\n"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| fs_err::symlink_metadata(path).unwrap().permissions().mode();
        assert_eq!(mode(&script) & 0o7777, 0o755);
        assert_eq!(mode(&installed.join("lib/sample")) & 0o7777, 0o750);
        assert_eq!(
            fs_err::read_link(installed.join("bin/sample-link")).unwrap(),
            Path::new("sample")
        );
        assert_eq!(
            fs_err::read_to_string(installed.join("lib/sample/LICENSE")).unwrap(),
            "MIT License\n"
        );
        let verified = rpm(&["-V", "--root", root, "--nodeps", "demo-python3-sample"]);
        assert_eq!(verified, "", "rpm -V reports differences");
    }

    #[test]
    fn rpm2cpio_reads_the_whole_archive() {
        let (_folder, _spec, written) = write_sample();
        let path = written.path.to_str().unwrap();
        let output = Command::new("rpm2cpio").arg(path).output().unwrap();
        // rpm2cpio fails when the archive differs from the signature's size.
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let archive_size = rpm(&["-qp", "--qf", "%{ARCHIVESIZE}", path]);
        assert_eq!(archive_size, output.stdout.len().to_string());
        let checked = rpm(&["-K", path]);
        assert!(checked.trim_end().ends_with("digests OK"), "{checked}");
    }

    #[test]
    fn same_spec_gives_the_same_bytes() {
        let (folder, spec, first) = write_sample();
        let first_bytes = fs_err::read(&first.path).unwrap();
        let again = folder.path().join("again");
        fs_err::create_dir_all(&again).unwrap();
        let second = write_rpm(&spec, &again).unwrap();
        assert_eq!(first_bytes, fs_err::read(&second.path).unwrap());
        // Rewriting in place replaces the file and leaves no temp file behind.
        write_rpm(&spec, first.path.parent().unwrap()).unwrap();
        let names: Vec<_> = fs_err::read_dir(first.path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(first_bytes, fs_err::read(&first.path).unwrap());
    }

    #[test]
    fn arch_packages_provide_their_isa() {
        let folder = tempfile::tempdir().unwrap();
        let mut spec = sample_spec(folder.path());
        spec.arch = "x86_64".into();
        spec.epoch = None;
        spec.version = "1.0".into();
        spec.requires.clear();
        spec.provides.clear();
        let written = write_rpm(&spec, folder.path()).unwrap();
        let path = written.path.to_str().unwrap();
        assert_eq!(
            lines(&rpm(&["-qp", "--provides", path])),
            [
                "demo-python3-sample = 1.0-1.el9",
                "demo-python3-sample(x86-64) = 1.0-1.el9",
            ]
        );
        let requires = rpm(&["-qp", "--requires", path]);
        assert!(
            !requires.contains("Tilde") && !requires.contains("Rich"),
            "{requires}"
        );
    }

    #[test]
    fn bad_specs_are_errors_naming_the_package() {
        let folder = tempfile::tempdir().unwrap();
        let mut spec = sample_spec(folder.path());
        spec.files[0].path = "opt/demo/relative.py".into();
        let error = write_rpm(&spec, folder.path()).unwrap_err().to_string();
        assert!(error.contains("`demo-python3-sample`"), "{error}");
        assert!(error.contains("`opt/demo/relative.py`"), "{error}");

        let mut spec = sample_spec(folder.path());
        spec.files[3].source = RpmFileSource::Path(folder.path().join("missing.so"));
        let error = write_rpm(&spec, folder.path()).unwrap_err().to_string();
        assert!(
            error.contains("/opt/demo/lib/sample/_speedups.so"),
            "{error}"
        );

        let mut spec = sample_spec(folder.path());
        spec.build_time = u64::from(u32::MAX) - 1;
        let error = write_rpm(&spec, folder.path()).unwrap_err().to_string();
        assert!(error.contains("in the future"), "{error}");
        let rpms = fs_err::read_dir(folder.path())
            .unwrap()
            .filter(|entry| {
                let name = entry.as_ref().unwrap().file_name();
                !name.to_string_lossy().ends_with(".so") && name != "LICENSE"
            })
            .count();
        assert_eq!(rpms, 0, "a failed write leaves nothing behind");
    }
}
