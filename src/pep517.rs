//! The PEP 517 frontend: sdist → wheel on the build host, cached.
//!
//! Input: a [`BuildRequest`]: an sdist from the cache, its locked build
//! requirements (wheels in the cache), the package policy's
//! [`BuildSettings`], the build host's interpreter and the target. Output: a
//! [`BuiltWheel`] in the cache's `built` bucket.
//!
//! Invariants:
//! - no network and no pip: the sdist is unpacked safely ([`sdist`]), the
//!   locked build requirements are installed by our own installer into a
//!   fresh isolated environment, and the backend runs through an embedded
//!   shim ([`BuildEnvironment`]);
//! - every requirement the build asks for (`[build-system].requires` and
//!   `get_requires_for_build_wheel`) must be satisfied by a locked build
//!   wheel, else [`BuildError::UnlockedRequirement`];
//! - the built wheel must be of the requested name and version;
//! - the cache key covers every input that can change the wheel (see
//!   [`build_key`]); an entry appears by one rename of a complete file, so a
//!   killed build leaves nothing, and builds of different packages can run
//!   on parallel threads (each has its own scratch folder and log).

mod error;
mod hooks;
pub mod sdist;
mod unpack;

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, Requirement, VersionOrUrl};

pub use error::BuildError;
pub use hooks::{BuildEnvironment, DEFAULT_SOURCE_DATE_EPOCH};
pub use sdist::{unpack_sdist, BuildSystem, SourceTree};

use crate::cache::{sharded_key, Bucket, Cache};
use crate::filename::WheelFilename;
use crate::hash::{Sha256, Sha256Hasher};
use crate::name::PackageName;
use crate::policy::model::BuildSettings;
use crate::scratch::Scratch;
use crate::targets::cpython_linux_markers;
use crate::targets::python_series;
pub(crate) use error::io_error;

/// Bumped whenever the frontend changes what it builds (shim, environment
/// variables, layout), so older cached wheels are not reused.
const FRONTEND_FORMAT: &str = "vendor-pep517-frontend-1";

/// The name every build's and lock-time hook's scratch folder starts with
/// (see [`crate::scratch`]: a killed run's folders are swept by the next).
pub const SCRATCH_FAMILY: &str = "vendor-build-";

/// One sdist to build.
#[derive(Clone, Debug)]
pub struct BuildRequest<'a> {
    pub package: &'a PackageName,
    pub version: &'a Version,
    /// The sdist in the cache.
    pub sdist: &'a Path,
    pub sdist_sha256: &'a Sha256,
    /// The locked build requirements: wheels in the cache with their digests.
    pub build_wheels: &'a [(Sha256, PathBuf)],
    pub settings: &'a BuildSettings,
    /// Digest of the package's policy, when it has one.
    pub policy_digest: Option<&'a Sha256>,
    /// The build host's interpreter of the target's `X.Y`.
    pub interpreter: &'a Path,
    /// Its full version (`3.11.7`).
    pub python_version: &'a Version,
    /// The target's name (`el9`).
    pub target: &'a str,
    /// Where `<package>-<version>.log` is written.
    pub log_dir: &'a Path,
    /// `SOURCE_DATE_EPOCH` for the backend (the sdist's upload time, or
    /// [`DEFAULT_SOURCE_DATE_EPOCH`]).
    pub source_date_epoch: u64,
}

/// A wheel built from an sdist (or found built in the cache).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltWheel {
    /// The wheel, in the cache.
    pub path: PathBuf,
    pub from_cache: bool,
    /// The build's log, when this call built it.
    pub log: Option<PathBuf>,
}

/// The wheel for `request`: from the cache, or built and stored there.
pub fn build_cached(cache: &Cache, request: &BuildRequest<'_>) -> Result<BuiltWheel, BuildError> {
    let key = build_key(request);
    let folder = cache.entry_path(Bucket::Built, &sharded_key(&key));
    if let Some(path) = cached_wheel(&folder) {
        return Ok(BuiltWheel {
            path,
            from_cache: true,
            log: None,
        });
    }
    let log = request
        .log_dir
        .join(format!("{}-{}.log", request.package, request.version));
    let built = build(cache, request, &log, |wheel| {
        let name = wheel
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut temp = cache.temp_file()?;
        let mut source = fs::File::open(wheel).map_err(io_error("read", wheel))?;
        std::io::copy(&mut source, temp.as_file_mut()).map_err(io_error("copy", wheel))?;
        Ok(cache.persist(temp, folder.join(name))?)
    })?;
    Ok(BuiltWheel {
        path: built,
        from_cache: false,
        log: Some(log),
    })
}

/// The cache key: sha256 over every input that can change the built wheel.
pub fn build_key(request: &BuildRequest<'_>) -> Sha256 {
    let mut build_wheels: Vec<&str> = request
        .build_wheels
        .iter()
        .map(|(sha256, _)| sha256.as_str())
        .collect();
    build_wheels.sort_unstable();
    let mut hasher = Sha256Hasher::default();
    let mut field = |name: &str, value: &str| {
        // Length-prefixed, so no two field lists hash alike.
        hasher.update(format!("{name}:{}:{value}\n", value.len()).as_bytes());
    };
    field("format", FRONTEND_FORMAT);
    field("sdist", request.sdist_sha256.as_str());
    for sha256 in build_wheels {
        field("build-wheel", sha256);
    }
    field(
        "policy",
        request.policy_digest.map(Sha256::as_str).unwrap_or("none"),
    );
    field("target", request.target);
    field("python", &request.python_version.to_string());
    field("source-date-epoch", &request.source_date_epoch.to_string());
    hasher.finish()
}

/// The wheel in a cache entry's folder, if it is there.
pub fn cached_wheel(folder: &Path) -> Option<PathBuf> {
    fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|extension| extension == "whl"))
}

/// Build in a scratch folder and hand the wheel to `keep` before the
/// scratch folder goes.
fn build(
    cache: &Cache,
    request: &BuildRequest<'_>,
    log: &Path,
    keep: impl FnOnce(&Path) -> Result<PathBuf, BuildError>,
) -> Result<PathBuf, BuildError> {
    let temp = std::env::temp_dir();
    let scratch = Scratch::create_in(&temp, SCRATCH_FAMILY, &format!("{}-", request.package))
        .map_err(io_error("create a directory in", &temp))?;
    fs::create_dir_all(request.log_dir).map_err(io_error("create", request.log_dir))?;
    // A fresh log per build: it must show this build's output only.
    fs::write(log, "").map_err(io_error("write", log))?;
    let tree = unpack_sdist(request.sdist, &scratch.path().join("source"))?;
    let wheels: Vec<PathBuf> = request
        .build_wheels
        .iter()
        .map(|(_, path)| path.clone())
        .collect();
    let locked = locked_versions(&wheels);
    let markers = cpython_linux_markers(request.python_version, std::env::consts::ARCH);
    check_locked(request, &tree.build_system.requires, &locked, &markers)?;
    let environment = BuildEnvironment::create_linked(
        request.interpreter,
        python_series(request.python_version),
        &wheels,
        &scratch.path().join("environment"),
        cache,
    )?
    .with_source_date_epoch(request.source_date_epoch);
    let asked = environment.requires_for_build_wheel(&tree, request.settings, log)?;
    check_locked(request, &asked, &locked, &markers)?;
    let wheel =
        environment.build_wheel(&tree, request.settings, &scratch.path().join("wheel"), log)?;
    check_wheel(request, &tree, &wheel)?;
    keep(&wheel)
}

/// Name and version of each locked build wheel (a file not named like a
/// wheel satisfies nothing; installing it reports it).
fn locked_versions(wheels: &[PathBuf]) -> Vec<(PackageName, Version)> {
    wheels
        .iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            let filename = WheelFilename::from_str(&name).ok()?;
            Some((filename.name, filename.version))
        })
        .collect()
}

/// Every requirement that applies on the build host must be met by a locked wheel.
fn check_locked(
    request: &BuildRequest<'_>,
    requirements: &[Requirement],
    locked: &[(PackageName, Version)],
    markers: &MarkerEnvironment,
) -> Result<(), BuildError> {
    for requirement in requirements {
        if !requirement.evaluate_markers(markers, &[]) {
            continue;
        }
        let satisfied = locked.iter().any(|(name, version)| {
            *name == requirement.name
                && match &requirement.version_or_url {
                    Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                        specifiers.contains(version)
                    }
                    // A URL requirement was locked as whatever the URL held.
                    Some(VersionOrUrl::Url(_)) | None => true,
                }
        });
        if !satisfied {
            return Err(BuildError::UnlockedRequirement {
                package: format!("{} {}", request.package, request.version),
                requirement: requirement.to_string(),
            });
        }
    }
    Ok(())
}

fn check_wheel(
    request: &BuildRequest<'_>,
    tree: &SourceTree,
    wheel: &Path,
) -> Result<(), BuildError> {
    let name = wheel
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let matches = WheelFilename::from_str(&name).is_ok_and(|filename| {
        filename.name == *request.package && filename.version == *request.version
    });
    if matches {
        Ok(())
    } else {
        Err(BuildError::WrongWheel {
            sdist: tree.sdist.clone(),
            wheel: name,
            expected: format!("{} {}", request.package, request.version),
        })
    }
}

#[cfg(test)]
mod tests;
