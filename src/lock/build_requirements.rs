//! Build requirements: the pinned build environment of every package built
//! from source.
//!
//! Input: a resolved [`Lock`], the names of the packages that will be built
//! from their sdists, the [`BuildHost`], the previous lock and the upgrade
//! request. Output: the lock with [`LockedPackage::build`] set on those
//! packages and [`Lock::build_packages`] holding every wheel their build
//! environments need.
//!
//! Per package: its sdist is fetched into the cache, its
//! `[build-system].requires` read and resolved for the build host (the
//! host's platform and its interpreter of the target's `X.Y`), a build
//! environment made of those wheels asks the backend's
//! `get_requires_for_build_wheel` for more, and `requires` ∪ what the backend
//! asked for is resolved again; that resolution is the package's build
//! environment.
//!
//! Invariants: build requirements are wheels only (they are installed,
//! never built); every build package entry is one `(name, version)` shared
//! by all packages pinning it, so two packages needing different versions of
//! one tool get two entries; a package whose sdist, build-environment pins
//! and interpreter series are unchanged keeps its previous build environment
//! without any network use or backend call (unless an upgrade names one of
//! its pins, or everything, or the indexes changed); fresh resolutions
//! prefer previous pins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Mutex;

use pep440_rs::Version;
use pep508_rs::Requirement;
use tokio::runtime::Handle;

use super::resolve::{self, Resolution, ResolveError};
use super::{locked_package, LockError, Upgrade};
use crate::index::{IndexClient, IndexError};
use crate::lock::model::{Lock, LockOptions, LockedBuild, LockedBuildRequirement, LockedPackage};
use crate::name::PackageName;
use crate::policy::model::BuildSettings;
use crate::policy::Policies;
use crate::requirements::{Origin, SourcedRequirement};
use crate::target::{Tags, Target, TargetError};

/// The machine builds run on, described for resolving build requirements.
#[derive(Clone, Debug)]
pub struct BuildHost {
    /// This machine's platform with its interpreter's full Python version.
    pub target: Target,
    /// The interpreter of the target's `X.Y` that runs build backends.
    pub interpreter: PathBuf,
}

/// Why the build environments could not be locked. Every message names the
/// package built from source.
#[derive(Debug, thiserror::Error)]
pub enum BuildRequirementsError {
    #[error("cannot find the build host's Python {python} to lock build requirements: {source}")]
    Interpreter {
        python: String,
        #[source]
        source: Box<crate::install::InstallError>,
    },
    #[error("cannot describe the build host: {0}")]
    Host(#[from] TargetError),
    #[error("`{}` did not report its version: {reason}\nhint: check that it runs: `{} --version`", interpreter.display(), interpreter.display())]
    InterpreterVersion {
        interpreter: PathBuf,
        reason: String,
    },
    #[error("`{package}` {version} must be built from source, but no sdist of it is locked\nhint: it has no wheel for the target; publish its sdist to the index or a `--find-links` folder, or pick a version that has a wheel")]
    NoSdist {
        package: PackageName,
        version: Version,
    },
    #[error("cannot download {what} of `{package}` {version}: {source}")]
    Download {
        package: PackageName,
        version: Version,
        what: String,
        #[source]
        source: Box<IndexError>,
    },
    #[error("cannot lock the build requirements of `{package}` {version} ({requirements}) for the build host:\n{source}")]
    Resolve {
        package: PackageName,
        version: Version,
        /// The requirements resolved, as written.
        requirements: String,
        #[source]
        source: Box<ResolveError>,
    },
    #[error("cannot read the build requirements of `{package}` {version}:\n{source}")]
    Backend {
        package: PackageName,
        version: Version,
        #[source]
        source: Box<crate::build::BuildError>,
    },
    #[error("cannot create a folder for the build environment of `{package}`: {source}")]
    Scratch {
        package: PackageName,
        #[source]
        source: std::io::Error,
    },
}

impl BuildHost {
    /// This machine, with its interpreter of `target_python`'s `X.Y`.
    pub fn detect(target_python: &Version) -> Result<Self, BuildRequirementsError> {
        let series = python_series(target_python);
        let interpreter = crate::install::find_interpreter(series).map_err(|source| {
            BuildRequirementsError::Interpreter {
                python: format!("{}.{}", series.0, series.1),
                source: Box::new(source),
            }
        })?;
        let python = interpreter_version(&interpreter)?;
        let mut target = Target::host()?;
        target.pythons = vec![python.clone()];
        target.python = python;
        target.python_interpreter = interpreter.display().to_string();
        Ok(Self {
            target,
            interpreter,
        })
    }

    pub fn tags(&self) -> Tags {
        self.target.tags()
    }
}

/// What [`lock_build_requirements`] needs besides the lock and the index.
pub struct BuildLockRequest<'a> {
    /// Packages of the lock that will be built from their sdists.
    pub from_source: &'a BTreeSet<PackageName>,
    pub host: &'a BuildHost,
    pub previous: Option<&'a Lock>,
    pub upgrade: &'a Upgrade,
    /// Their policies' build settings (environment, `config_settings`)
    /// apply to the backend's hook as they will to the build.
    pub policies: &'a Policies,
    /// Packages worked on at once (at least 1).
    pub jobs: usize,
}

/// One package's result: its build environment and the packages it pins.
struct PackageBuild {
    build: LockedBuild,
    packages: Vec<LockedPackage>,
}

/// Set `build` on every package of `request.from_source` and fill
/// `lock.build_packages` (see the module documentation). Blocks; call from a
/// blocking thread. On failure, the error of the first failing package by
/// name is returned, after all packages were tried.
pub fn lock_build_requirements(
    lock: &mut Lock,
    request: &BuildLockRequest<'_>,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<(), LockError> {
    let wanted: Vec<&LockedPackage> = lock
        .packages
        .iter()
        .filter(|package| request.from_source.contains(&package.name))
        .collect();
    let options = &lock.options;
    let queue = Mutex::new(wanted.iter().copied());
    let results = Mutex::new(BTreeMap::new());
    let workers = request.jobs.clamp(1, wanted.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut queue| queue.next()).ok().flatten();
                let Some(package) = next else { break };
                let result = lock_package(package, options, request, client, runtime);
                if let Ok(mut results) = results.lock() {
                    results.insert(package.name.clone(), result);
                }
            });
        }
    });
    let results = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut builds = BTreeMap::new();
    let mut build_packages: BTreeMap<(PackageName, Version), LockedPackage> = BTreeMap::new();
    for (name, result) in results {
        let PackageBuild { build, packages } = result?;
        for package in packages {
            build_packages
                .entry((package.name.clone(), package.version.clone()))
                .or_insert(package);
        }
        builds.insert(name, build);
    }
    for package in &mut lock.packages {
        package.build = builds.remove(&package.name);
    }
    lock.build_packages = build_packages.into_values().collect();
    Ok(())
}

fn lock_package(
    package: &LockedPackage,
    options: &LockOptions,
    request: &BuildLockRequest<'_>,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<PackageBuild, LockError> {
    if let Some(kept) = request
        .previous
        .and_then(|previous| reusable(previous, package, options, request))
    {
        return Ok(kept);
    }
    let sdist = package
        .sdist
        .as_ref()
        .ok_or_else(|| BuildRequirementsError::NoSdist {
            package: package.name.clone(),
            version: package.version.clone(),
        })?;
    let sdist_path = runtime
        .block_on(client.download(&sdist.url, sdist.filename.as_str(), &sdist.sha256))
        .map_err(|source| BuildRequirementsError::Download {
            package: package.name.clone(),
            version: package.version.clone(),
            what: format!("the sdist `{}`", sdist.filename),
            source: Box::new(source),
        })?;
    let build_system = crate::build::read_build_system(&sdist_path).map_err(|source| {
        BuildRequirementsError::Backend {
            package: package.name.clone(),
            version: package.version.clone(),
            source: Box::new(source),
        }
    })?;
    let origin = Origin {
        path: PathBuf::from(format!("{}/pyproject.toml", sdist.filename)),
        line: 0,
    };
    let requires = sourced(&build_system.requires, &origin);
    let preferences = preferences(request.previous, &package.name, request.upgrade);
    let first = resolve_for_host(package, &requires, &preferences, request, client, runtime)?;
    let wheels = download_wheels(package, &first, request.host, client, runtime)?;
    let asked = requirements_asked_by_backend(package, &sdist_path, request, &wheels)?;
    let backend_origin = Origin {
        path: PathBuf::from(format!("{}/get_requires_for_build_wheel", sdist.filename)),
        line: 0,
    };
    let extra = sourced(&asked, &backend_origin);
    let resolution = if extra.is_empty() {
        first
    } else {
        let mut all = requires;
        all.extend(extra);
        // The second resolution keeps what the first chose when it can.
        let mut preferences = preferences;
        preferences.extend(
            first
                .packages
                .iter()
                .map(|(name, resolved)| (name.clone(), resolved.version.clone())),
        );
        resolve_for_host(package, &all, &preferences, request, client, runtime)?
    };
    to_package_build(resolution)
}

/// What the backend's `get_requires_for_build_wheel` adds, asked in an
/// isolated environment holding `wheels`, with the sdist unpacked in a
/// scratch folder. The folder (with the hook's log) is kept when the hook
/// fails, so that the log path in the error stays readable.
fn requirements_asked_by_backend(
    package: &LockedPackage,
    sdist: &Path,
    request: &BuildLockRequest<'_>,
    wheels: &[PathBuf],
) -> Result<Vec<Requirement>, BuildRequirementsError> {
    let scratch = tempfile::Builder::new()
        .prefix(&format!("vendor-build-requires-{}-", package.name))
        .tempdir()
        .map_err(|source| BuildRequirementsError::Scratch {
            package: package.name.clone(),
            source,
        })?;
    let host = request.host;
    let default_settings = BuildSettings::default();
    let settings = request
        .policies
        .get(&package.name)
        .map_or(&default_settings, |loaded| &loaded.policy.build);
    let asked = (|| {
        let tree = crate::build::unpack_sdist(sdist, &scratch.path().join("source"))?;
        let environment = crate::build::BuildEnvironment::create(
            &host.interpreter,
            python_series(&host.target.python),
            wheels,
            &scratch.path().join("environment"),
        )?;
        let log = scratch
            .path()
            .join(format!("{}-{}.log", package.name, package.version));
        environment.requires_for_build_wheel(&tree, settings, &log)
    })();
    asked.map_err(|source| {
        // Keep the folder: the error names the log inside it.
        let _ = scratch.keep();
        BuildRequirementsError::Backend {
            package: package.name.clone(),
            version: package.version.clone(),
            source: Box::new(source),
        }
    })
}

/// The previous lock's build environment of `package`, when nothing it
/// depends on changed and no upgrade touches it.
fn reusable(
    previous: &Lock,
    package: &LockedPackage,
    options: &LockOptions,
    request: &BuildLockRequest<'_>,
) -> Option<PackageBuild> {
    // Another index may serve other files for the same versions.
    let same_sources = previous.options.index_urls == options.index_urls
        && previous.options.find_links == options.find_links;
    if !same_sources {
        return None;
    }
    let old = previous
        .packages
        .iter()
        .find(|old| old.name == package.name && old.version == package.version)?;
    let same_sdist = match (&old.sdist, &package.sdist) {
        (Some(old), Some(new)) => old.sha256 == new.sha256,
        _ => false,
    };
    let same_series =
        python_series(&previous.options.python) == python_series(&request.host.target.python);
    if !same_sdist || !same_series {
        return None;
    }
    let build = old.build.clone()?;
    let upgraded = match request.upgrade {
        Upgrade::Nothing => false,
        Upgrade::Everything => true,
        Upgrade::Packages(names) => build
            .requirements
            .iter()
            .any(|requirement| names.contains(&requirement.name)),
    };
    if upgraded {
        return None;
    }
    let tags = request.host.tags();
    let packages: Vec<LockedPackage> = previous
        .build_environment(old)?
        .into_iter()
        .map(|package| package.best_wheel(&tags).map(|_| package.clone()))
        .collect::<Option<_>>()?;
    Some(PackageBuild { build, packages })
}

/// Versions to keep: the package's own previous pins over any previous
/// build package of the name (the highest), minus what is upgraded.
fn preferences(
    previous: Option<&Lock>,
    package: &PackageName,
    upgrade: &Upgrade,
) -> BTreeMap<PackageName, Version> {
    let Some(previous) = previous else {
        return BTreeMap::new();
    };
    let names = match upgrade {
        Upgrade::Everything => return BTreeMap::new(),
        Upgrade::Nothing => &[][..],
        Upgrade::Packages(names) => names.as_slice(),
    };
    // Sorted by name then version, so the highest version of a name wins.
    let mut preferences: BTreeMap<PackageName, Version> = previous
        .build_packages
        .iter()
        .map(|locked| (locked.name.clone(), locked.version.clone()))
        .collect();
    let own = previous
        .packages
        .iter()
        .find(|old| &old.name == package)
        .and_then(|old| old.build.as_ref());
    if let Some(own) = own {
        preferences.extend(
            own.requirements
                .iter()
                .map(|requirement| (requirement.name.clone(), requirement.version.clone())),
        );
    }
    preferences.retain(|name, _| !names.contains(name));
    preferences
}

fn resolve_for_host(
    package: &LockedPackage,
    requirements: &[SourcedRequirement],
    preferences: &BTreeMap<PackageName, Version>,
    request: &BuildLockRequest<'_>,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<Resolution, BuildRequirementsError> {
    let resolve_request = resolve::ResolveRequest {
        requirements,
        constraints: &[],
        target: &request.host.target,
        preferences,
        wheels_only: true,
    };
    resolve::resolve(&resolve_request, client, runtime).map_err(|source| {
        let written: Vec<String> = requirements
            .iter()
            .map(|sourced| format!("`{}`", sourced.requirement))
            .collect();
        BuildRequirementsError::Resolve {
            package: package.name.clone(),
            version: package.version.clone(),
            requirements: match written.is_empty() {
                true => "none".to_string(),
                false => written.join(", "),
            },
            source: Box::new(source),
        }
    })
}

/// The best wheel for the host of every resolved package, in the cache.
fn download_wheels(
    package: &LockedPackage,
    resolution: &Resolution,
    host: &BuildHost,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<Vec<PathBuf>, BuildRequirementsError> {
    let tags = host.tags();
    let mut wanted = Vec::new();
    for (name, resolved) in &resolution.packages {
        let best = resolved
            .files
            .iter()
            .filter_map(|file| {
                let wheel = match &file.filename {
                    crate::filename::DistFilename::Wheel(wheel) => wheel,
                    crate::filename::DistFilename::Sdist(_) => return None,
                };
                Some((tags.priority(wheel)?, file))
            })
            .max_by_key(|(priority, _)| *priority)
            .map(|(_, file)| file);
        // The resolver only keeps versions with a usable wheel.
        if let Some(file) = best {
            wanted.push((name, &resolved.version, file));
        }
    }
    runtime.block_on(async {
        let downloads = wanted.iter().map(|(name, version, file)| async move {
            let sha256 = file.sha256.as_ref().ok_or_else(|| {
                IndexError::Task(format!("the index gives no sha256 for `{}`", file.filename))
            });
            let result = match sha256 {
                Ok(sha256) => {
                    client
                        .download(&file.url, file.filename.as_str(), sha256)
                        .await
                }
                Err(error) => Err(error),
            };
            result.map_err(|source| BuildRequirementsError::Download {
                package: package.name.clone(),
                version: package.version.clone(),
                what: format!("build requirement `{name}` {version} (`{}`)", file.filename),
                source: Box::new(source),
            })
        });
        futures::future::join_all(downloads)
            .await
            .into_iter()
            .collect()
    })
}

fn to_package_build(resolution: Resolution) -> Result<PackageBuild, LockError> {
    let mut requirements = Vec::with_capacity(resolution.packages.len());
    let mut packages = Vec::with_capacity(resolution.packages.len());
    for (name, resolved) in resolution.packages {
        requirements.push(LockedBuildRequirement {
            name: name.clone(),
            version: resolved.version.clone(),
        });
        let mut locked = locked_package(name, resolved)?;
        // A build package is installed from a wheel, and its place in the
        // graph is the build environment that lists it.
        locked.sdist = None;
        locked.dependencies = Vec::new();
        packages.push(locked);
    }
    Ok(PackageBuild {
        build: LockedBuild { requirements },
        packages,
    })
}

fn sourced(requirements: &[Requirement], origin: &Origin) -> Vec<SourcedRequirement> {
    requirements
        .iter()
        .map(|requirement| SourcedRequirement::new(requirement.clone(), origin.clone()))
        .collect()
}

/// `(X, Y)` of a version (`3.11.9` → `(3, 11)`).
fn python_series(version: &Version) -> (u64, u64) {
    let release = version.release();
    (
        release.first().copied().unwrap_or(3),
        release.get(1).copied().unwrap_or(0),
    )
}

/// The full version (`3.11.7`) of an interpreter.
fn interpreter_version(interpreter: &Path) -> Result<Version, BuildRequirementsError> {
    let failure = |reason: String| BuildRequirementsError::InterpreterVersion {
        interpreter: interpreter.to_path_buf(),
        reason,
    };
    let output = Command::new(interpreter)
        .args([
            "-S",
            "-c",
            "import platform; print(platform.python_version())",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| failure(error.to_string()))?;
    if !output.status.success() {
        return Err(failure(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Version::from_str(&text).map_err(|error| failure(format!("`{text}`: {error}")))
}
