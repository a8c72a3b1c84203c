//! One installed wheel → the [`RpmSpec`] of its RPM.
//!
//! Input: an [`InstalledWheel`] (files staged for the server layout), the
//! extras of it that the lock activates, and the [`PackageContext`].
//! Output: a [`WheelRpm`]: the spec plus the libraries the wheel bundles.
//!
//! Invariants (`docs/rpm-rules.md`): name `<app>-python3-<pep503 name>`; version
//! by the PEP 440 → RPM rules for the target's rpm; Requires carry
//! `python(abi)`, every `<app>-python3dist(…)` dependency with the wheel's own
//! specifiers converted (markers evaluated for the target), ELF sonames and
//! symbol versions except what the wheel ships itself, the venv interpreter
//! for scripts, and the `rpmlib()` features all of that uses; directories
//! the venv owns are never owned here. A file that starts like ELF but
//! cannot be parsed contributes no dependencies (as with rpm's elfdeps) and
//! is reported through the [`Reporter`], naming the package and the file.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use pep508_rs::{MarkerEnvironment, Requirement, VersionOrUrl};

use super::dependency::{
    python_dist_provides, python_dist_requires, rpmlib_features, DependencyError, DependencyFlags,
    RpmDependency,
};
use super::header_text::{header_line, header_text};
use super::license::rpm_license;
use super::releases::Assigned;
use super::rpm_writer::{RpmDirectory, RpmFile, RpmFileSource, RpmScripts, RpmSpec};
use super::version::{rpm_version, RpmEvr, RpmVersionStyle};
use crate::elf::{payload_dependencies, BundledLibrary, ElfError};
use crate::install::{FileContents, FileKind, InstallScheme, InstalledWheel};
use crate::name::{ExtraName, PackageName};
use crate::progress::Reporter;
use crate::targets::Target;

/// What every RPM of one build shares.
#[derive(Clone, Debug)]
pub struct PackageContext {
    /// The application name, the first part of every RPM name.
    pub app: String,
    /// The virtualenv root on the servers.
    pub prefix: PathBuf,
    pub target: Target,
    pub style: RpmVersionStyle,
    /// `3.el9`: the number the release history assigns, and the dist tag.
    pub release: String,
    /// Seconds since the epoch, derived from the lock: for a package, its
    /// own files' upload time, so that it only changes with the package.
    pub build_time: u64,
    /// Added to the RPM epoch the version gives (the release history raises
    /// it when a package goes back a version).
    pub epoch_offset: u64,
}

impl PackageContext {
    pub fn scheme(&self) -> InstallScheme {
        InstallScheme::new(&self.prefix, self.python_minor())
    }

    pub fn python_minor(&self) -> (u64, u64) {
        self.target.python_series()
    }

    /// `python(abi) = X.Y`.
    pub fn python_abi(&self) -> RpmDependency {
        let (major, minor) = self.python_minor();
        RpmDependency::versioned(
            "python(abi)",
            DependencyFlags::Equal,
            RpmEvr::from_version(format!("{major}.{minor}")),
        )
    }

    /// `<app>-python3-<name>`.
    pub fn rpm_name(&self, name: &PackageName) -> String {
        format!("{}-python3-{name}", self.app)
    }

    /// This context with the epoch offset and release number the release
    /// history assigned.
    pub fn released(&self, assigned: &Assigned) -> PackageContext {
        PackageContext {
            release: format!("{}{}", assigned.release, self.target.dist_tag),
            epoch_offset: assigned.epoch_offset,
            ..self.clone()
        }
    }

    /// `spec`, made before its release was known (no release, no epoch
    /// offset), with this context's release and epoch offset.
    pub fn restamp(&self, spec: RpmSpec) -> RpmSpec {
        RpmSpec {
            epoch: self.epoch(spec.epoch),
            release: self.release.clone(),
            ..spec
        }
    }

    /// The RPM epoch of a version whose own epoch is `upstream`.
    fn epoch(&self, upstream: Option<u64>) -> Option<u64> {
        match (upstream, self.epoch_offset) {
            (epoch, 0) => epoch,
            (epoch, offset) => Some(epoch.unwrap_or(0) + offset),
        }
    }

    /// A spec with the fields every package of this build shares.
    pub fn base_spec(&self, name: String, evr: &RpmEvr, arch: String) -> RpmSpec {
        RpmSpec {
            name,
            epoch: self.epoch(evr.epoch),
            version: evr.version.clone(),
            release: self.release.clone(),
            arch,
            summary: String::new(),
            description: String::new(),
            license: String::new(),
            url: None,
            group: None,
            packager: None,
            vendor: None,
            build_time: self.build_time,
            build_host: "vendor".to_string(),
            files: Vec::new(),
            directories: Vec::new(),
            requires: Vec::new(),
            provides: Vec::new(),
            obsoletes: Vec::new(),
            scripts: RpmScripts::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("package `{package}`: requirement `{requirement}` is a direct URL, which cannot become an RPM dependency")]
    DirectUrl {
        package: PackageName,
        requirement: String,
    },
    #[error("package `{package}`: {source}")]
    Dependency {
        package: PackageName,
        source: DependencyError,
    },
    #[error("package `{package}`: {source}")]
    Elf {
        package: PackageName,
        source: ElfError,
    },
    #[error("package `{package}`: cannot read `{}`: {source}", path.display())]
    Read {
        package: PackageName,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A wheel's RPM spec and what the build summary reports about it.
#[derive(Clone, Debug)]
pub struct WheelRpm {
    pub spec: RpmSpec,
    pub bundled: Vec<BundledLibrary>,
}

/// Build the RPM spec of `installed`, carrying the dependencies of the
/// extras in `active_extras` too (the lock activated them).
pub fn wheel_rpm_spec(
    context: &PackageContext,
    installed: &InstalledWheel,
    active_extras: &BTreeSet<ExtraName>,
    reporter: &dyn Reporter,
) -> Result<WheelRpm, SpecError> {
    let package = &installed.name;
    let evr = rpm_version(&installed.version, context.style);
    let elf =
        payload_dependencies(&elf_candidates(installed)).map_err(|source| SpecError::Elf {
            package: package.clone(),
            source,
        })?;
    for unreadable in &elf.unreadable {
        reporter.warn(&format!(
            "package `{package}`: `{}` starts like ELF but cannot be parsed ({}); it adds no Requires to `{}`",
            unreadable.path,
            unreadable.reason,
            context.rpm_name(package)
        ));
    }
    let arch = if installed.is_pure && elf.files.is_empty() {
        "noarch".to_string()
    } else {
        context.target.arch.clone()
    };
    let mut spec = context.base_spec(context.rpm_name(package), &evr, arch);
    describe(&mut spec, installed);
    spec.files = installed.files.iter().map(rpm_file).collect();
    let base_directories = context.scheme().base_directories();
    spec.directories = installed
        .directories
        .iter()
        .filter(|directory| !base_directories.contains(*directory))
        .map(|directory| RpmDirectory {
            path: directory.display().to_string(),
            mode: 0o755,
        })
        .collect();

    let mut requires: BTreeSet<RpmDependency> = BTreeSet::from([context.python_abi()]);
    requires.extend(python_requires(context, installed, active_extras)?);
    requires.extend(script_interpreters(installed)?);
    requires.extend(
        elf.dependencies
            .requires
            .iter()
            .cloned()
            .map(RpmDependency::any),
    );
    let mut provides: BTreeSet<RpmDependency> = std::iter::once(None)
        .chain(active_extras.iter().map(Some))
        .map(|extra| {
            python_dist_provides(
                &context.app,
                package,
                extra,
                &installed.version,
                context.style,
            )
        })
        .collect();
    provides.extend(
        elf.dependencies
            .provides
            .iter()
            .cloned()
            .map(RpmDependency::any),
    );
    let all: Vec<RpmDependency> = requires.iter().chain(&provides).cloned().collect();
    requires.extend(rpmlib_features(&all, &evr));
    spec.requires = requires.into_iter().collect();
    spec.provides = provides.into_iter().collect();
    Ok(WheelRpm {
        spec,
        bundled: elf.bundled,
    })
}

/// Summary, description, license and URL from the wheel's METADATA, with
/// fallbacks rpmlint accepts: the license as an SPDX expression, the URL
/// from `Home-page` or the `Project-URL` labelled as the home page or
/// source.
fn describe(spec: &mut RpmSpec, installed: &InstalledWheel) {
    let metadata = &installed.metadata;
    let summary = metadata
        .summary
        .as_deref()
        .map(header_line)
        .filter(|summary| !summary.is_empty())
        .map(|summary| summary.trim_end_matches('.').to_string())
        .unwrap_or_else(|| format!("The {} Python distribution", metadata.display_name));
    spec.description = metadata
        .description
        .as_deref()
        .map(header_text)
        .map(|description| description.trim().to_string())
        .filter(|description| !description.is_empty())
        .unwrap_or_else(|| format!("{summary}."));
    spec.summary = summary;
    spec.license = header_line(&rpm_license(
        metadata.license.as_deref(),
        &metadata.license_classifiers,
    ));
    spec.url = metadata.url().map(header_line);
}

fn rpm_file(file: &crate::install::InstalledFile) -> RpmFile {
    let source = match (&file.kind, &file.contents) {
        (FileKind::Symlink(target), _) => RpmFileSource::Symlink(target.display().to_string()),
        (FileKind::Regular, FileContents::OnDisk(path)) => RpmFileSource::Path(path.clone()),
        (FileKind::Regular, FileContents::Bytes(bytes)) => RpmFileSource::Bytes(bytes.clone()),
    };
    RpmFile {
        path: file.path.display().to_string(),
        mode: file.mode,
        source,
        is_license: file.is_license,
        is_doc: false,
        is_config: false,
        group: None,
    }
}

/// Regular staged files as `(server path, staged path)` for ELF scanning.
fn elf_candidates(installed: &InstalledWheel) -> Vec<(String, PathBuf)> {
    installed
        .files
        .iter()
        .filter_map(|file| match (&file.kind, &file.contents) {
            (FileKind::Regular, FileContents::OnDisk(path)) => {
                Some((file.path.display().to_string(), path.clone()))
            }
            _ => None,
        })
        .collect()
}

/// `<app>-python3dist(…)` Requires of the base package and active extras.
fn python_requires(
    context: &PackageContext,
    installed: &InstalledWheel,
    active_extras: &BTreeSet<ExtraName>,
) -> Result<Vec<RpmDependency>, SpecError> {
    let environment = context.target.marker_environment();
    let mut dependencies = Vec::new();
    for requirement in &installed.metadata.requires_dist {
        if !is_active(requirement, &environment, active_extras)
            || requirement.name == installed.name && requirement.extras.is_empty()
        {
            continue;
        }
        let specifiers = match &requirement.version_or_url {
            None => Default::default(),
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => specifiers.clone(),
            Some(VersionOrUrl::Url(_)) => {
                return Err(SpecError::DirectUrl {
                    package: installed.name.clone(),
                    requirement: requirement.to_string(),
                })
            }
        };
        let converted = python_dist_requires(
            &context.app,
            &requirement.name,
            &requirement.extras,
            &specifiers,
            context.style,
        )
        .map_err(|source| SpecError::Dependency {
            package: installed.name.clone(),
            source,
        })?;
        dependencies.extend(converted);
    }
    Ok(dependencies)
}

/// A requirement applies on the target without extras, or with one of the
/// extras the lock activates.
fn is_active(
    requirement: &Requirement,
    environment: &MarkerEnvironment,
    active_extras: &BTreeSet<ExtraName>,
) -> bool {
    requirement.marker.evaluate(environment, &[])
        || active_extras.iter().any(|extra| {
            requirement
                .marker
                .evaluate(environment, std::slice::from_ref(extra))
        })
}

/// rpm turns a script's `#!` line into a file dependency on the
/// interpreter; do the same (for launchers that is `<prefix>/bin/python`,
/// which the venv package provides).
fn script_interpreters(installed: &InstalledWheel) -> Result<Vec<RpmDependency>, SpecError> {
    let mut interpreters = BTreeSet::new();
    for file in &installed.files {
        let (FileKind::Regular, FileContents::OnDisk(staged)) = (&file.kind, &file.contents) else {
            continue;
        };
        if file.mode & 0o111 == 0 {
            continue;
        }
        if let Some(interpreter) =
            shebang_interpreter(staged).map_err(|source| SpecError::Read {
                package: installed.name.clone(),
                path: staged.clone(),
                source,
            })?
        {
            interpreters.insert(interpreter);
        }
    }
    Ok(interpreters.into_iter().map(RpmDependency::any).collect())
}

/// The absolute interpreter path of a `#!` line, if any.
fn shebang_interpreter(path: &Path) -> std::io::Result<Option<String>> {
    let mut head = [0u8; 256];
    let mut file = std::fs::File::open(path)?;
    let read = file.read(&mut head)?;
    let head = &head[..read];
    let Some(line) = head.strip_prefix(b"#!") else {
        return Ok(None);
    };
    let line = line.split(|byte| *byte == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    Ok(line
        .split_whitespace()
        .next()
        .filter(|interpreter| interpreter.starts_with('/'))
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::hash::Sha256;
    use crate::install::{InstalledFile, WheelMetadata};

    /// Keeps the warnings it is given.
    #[derive(Default)]
    struct Warnings(Mutex<Vec<String>>);

    impl Reporter for Warnings {
        fn warn(&self, message: &str) {
            self.0.lock().unwrap().push(message.to_string());
        }
    }

    fn context() -> PackageContext {
        let target = Target::load("el9", None).unwrap();
        PackageContext {
            app: "demo".to_string(),
            prefix: PathBuf::from("/opt/demo"),
            style: RpmVersionStyle::for_rpm(&target.rpm_version),
            release: "1.el9".to_string(),
            build_time: 0,
            epoch_offset: 0,
            target,
        }
    }

    #[test]
    fn an_elf_file_goblin_cannot_parse_is_a_warning_naming_package_and_file() {
        let staged = tempfile::tempdir().unwrap();
        let bytes = b"\x7fELF\x02\x01\x01 truncated".to_vec();
        let on_disk = staged.path().join("_native.so");
        std::fs::write(&on_disk, &bytes).unwrap();
        let server_path = "/opt/demo/lib/python3.11/site-packages/broken/_native.so";
        let metadata =
            WheelMetadata::parse("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n").unwrap();
        let installed = InstalledWheel {
            name: metadata.name.clone(),
            version: metadata.version.clone(),
            files: vec![InstalledFile {
                path: PathBuf::from(server_path),
                mode: 0o755,
                contents: FileContents::OnDisk(on_disk),
                kind: FileKind::Regular,
                is_license: false,
                size: bytes.len() as u64,
                sha256: Sha256::of_bytes(&bytes),
            }],
            directories: BTreeSet::new(),
            metadata,
            is_pure: true,
            entry_points: Vec::new(),
            dist_info: PathBuf::from("/opt/demo/lib/python3.11/site-packages/broken-1.0.dist-info"),
            bytecode_skipped: Vec::new(),
        };
        let warnings = Warnings::default();
        let wheel_rpm =
            wheel_rpm_spec(&context(), &installed, &BTreeSet::new(), &warnings).unwrap();
        let warnings = warnings.0.into_inner().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(&format!(
                "package `broken`: `{server_path}` starts like ELF but cannot be parsed ("
            )),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].ends_with("it adds no Requires to `demo-python3-broken`"));
        assert!(wheel_rpm
            .spec
            .requires
            .iter()
            .all(|require| !require.name().contains(".so")));
    }
}
