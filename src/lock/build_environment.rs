//! Build environments of sdists, worked out for the build host.
//!
//! Input: an sdist (from the lock or the index), the [`LazyBuildHost`], the
//! package policy's build settings, preferred versions and the index.
//! Output: the [`Resolution`] of its build environment
//! ([`SdistContext::resolve_environment`]): `[build-system].requires`
//! resolved for the build host (the host's platform and its interpreter of
//! the target's `X.Y`), then, in an isolated environment made of those
//! wheels, what the backend's `get_requires_for_build_wheel` asks for, and
//! `requires` ∪ that resolved again. Also the core metadata of an sdist
//! whose metadata is not static, read from a wheel built in that
//! environment ([`SdistContext::built_metadata`]).
//!
//! Invariants: build requirements are wheels only (they are installed,
//! never built); backends run through the PEP 517 frontend
//! ([`crate::pep517`]) in a scratch folder that is always removed afterwards;
//! their output goes to a log per package in the cache
//! (`<cache>/work/lock/logs/`), which a hook's error names.
//! An sdist is decompressed at most once per lock: unpacked for its hooks,
//! its `[build-system]` read from the tree and cached by its sha256, so a
//! relock whose hook answers are cached does not open it at all. Build
//! requirements are resolved for the host's platform (its architecture and
//! glibc, with the target's Python: the host's interpreter is of the same
//! `X.Y` by design), and hook answers are cached by that `X.Y`, so the
//! interpreter is looked for only when a hook has to run: a warm lock runs
//! no Python.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::Requirement;
use tokio::runtime::Handle;

pub use crate::targets::python_series;

pub use super::build_requirements_error::BuildRequirementsError;
use super::known_answers::{known_requires_answer, read_source_facts, SourceFacts};
use super::metadata_source::IndexMetadata;
use super::resolve::{self, Resolution};
use super::sdist_scratch::{download_sdist, Scratch};
use crate::cache::Bucket;
use crate::filename::DistFilename;
use crate::hash::Sha256;
use crate::host::{BuildHost, LazyBuildHost};
use crate::index::{IndexClient, IndexError, IndexFile};
use crate::lock::model::LockedArtifact;
use crate::name::PackageName;
use crate::pep517::sdist::parse_build_system;
use crate::pep517::{BuildEnvironment, BuildError, BuildSystem, SourceTree};
use crate::policy::model::BuildSettings;
use crate::policy::Policies;
use crate::requirements::{FormatControl, Origin, SourcedRequirement};
use crate::targets::Target;

/// Bumped when what [`SdistContext::asked_by_backend`] caches changes.
const ASKED_FORMAT: &str = "vendor-get-requires-1";

/// Bumped when what [`SdistContext::fetch`] caches of `pyproject.toml` changes.
const BUILD_SYSTEM_FORMAT: &str = "vendor-build-system-3";

/// One sdist in the cache, with what working out its build environment needs.
pub struct SdistContext<'a> {
    pub name: &'a PackageName,
    pub version: &'a Version,
    pub filename: String,
    /// The sdist in the cache.
    pub path: PathBuf,
    pub sha256: Sha256,
    pub build_system: BuildSystem,
    /// What the tree says about `get_requires_for_build_wheel` (see
    /// [`super::known_answers`]).
    source_facts: SourceFacts,
    /// Detected when a hook has to run.
    host: &'a LazyBuildHost,
    /// What build requirements are resolved for.
    platform: Target,
    pub settings: &'a BuildSettings,
    pub client: &'a IndexClient,
    pub runtime: &'a Handle,
    /// The sdist unpacked, once a hook needs it (or its `[build-system]`
    /// was not cached): one tree for every hook, as a frontend uses it.
    scratch: RefCell<Option<Scratch>>,
    /// Whether this lock's first hook has emptied the package's log.
    log_started: std::cell::Cell<bool>,
}

impl<'a> SdistContext<'a> {
    /// Download `sdist` into the cache (no request when it is there) and
    /// read its `[build-system]`: from the cache (by the sdist's sha256),
    /// else from the sdist unpacked for the hooks, so that it is
    /// decompressed once. When it is not cached, hooks are likely to run:
    /// the build host's interpreter is looked for meanwhile (behind pyenv
    /// shims the search takes most of a second).
    pub fn fetch(
        name: &'a PackageName,
        version: &'a Version,
        sdist: &LockedArtifact,
        host: &'a LazyBuildHost,
        settings: &'a BuildSettings,
        client: &'a IndexClient,
        runtime: &'a Handle,
    ) -> Result<Self, BuildRequirementsError> {
        let filename = sdist.filename.as_str().to_string();
        let cache_key = format!("build-system/{}", sdist.sha256);
        let cached = client
            .cache()
            .read_entry(Bucket::Metadata, &cache_key)
            .and_then(|bytes| parse_cached_build_system(&bytes, &filename));
        if cached.is_none() {
            host.start_detecting();
        }
        let ((build_system, source_facts), path, scratch) = match cached {
            Some(cached) => {
                let path = download_sdist(name, version, sdist, client, runtime)?;
                (cached, path, None)
            }
            None => {
                let (path, scratch) =
                    Scratch::download_unpacking(name, version, sdist, client, runtime)?;
                let facts = read_source_facts(&scratch.tree);
                // A failed cache write only costs unpacking again next time.
                let _ = client.cache().write_entry(
                    Bucket::Metadata,
                    &cache_key,
                    cached_build_system(&scratch.tree, facts).as_bytes(),
                );
                let build_system = scratch.tree.build_system.clone();
                ((build_system, facts), path, Some(scratch))
            }
        };
        Ok(Self {
            name,
            version,
            filename,
            path,
            sha256: sdist.sha256.clone(),
            build_system,
            source_facts,
            host,
            platform: host.platform()?,
            settings,
            client,
            runtime,
            scratch: RefCell::new(scratch),
            log_started: std::cell::Cell::new(false),
        })
    }

    /// The build environment: `[build-system].requires`, then what the
    /// backend asks for, resolved for the build host preferring
    /// `preferences`.
    pub fn resolve_environment(
        &self,
        preferences: &BTreeMap<PackageName, Version>,
    ) -> Result<Resolution, BuildRequirementsError> {
        let requires = sourced(&self.build_system.requires, &self.origin("pyproject.toml"));
        let first = self.resolve_for_host(&requires, preferences)?;
        let asked = self.asked_by_backend(&first)?;
        let extra = sourced(&asked, &self.origin("get_requires_for_build_wheel"));
        if extra.is_empty() {
            return Ok(first);
        }
        let mut all = requires;
        all.extend(extra);
        // The second resolution keeps what the first chose when it can.
        let mut preferences = preferences.clone();
        preferences.extend(
            first
                .packages
                .iter()
                .map(|(name, resolved)| (name.clone(), resolved.version.clone())),
        );
        self.resolve_for_host(&all, &preferences)
    }

    /// What `get_requires_for_build_wheel` answers in the environment of
    /// `first`. The answer is cached under everything it can depend on (the
    /// sdist, the environment's wheels, the interpreter, the policy's build
    /// settings), so an unchanged lock asks no backend twice.
    fn asked_by_backend(
        &self,
        first: &Resolution,
    ) -> Result<Vec<Requirement>, BuildRequirementsError> {
        let setuptools = PackageName::from_str("setuptools")
            .ok()
            .and_then(|name| first.packages.get(&name))
            .map(|resolved| &resolved.version);
        if let Some(known) = known_requires_answer(self.source_facts, setuptools) {
            return Ok(known);
        }
        let wheels = self.best_wheels(first);
        let (major, minor) = self.platform.python_series();
        let mut key = format!(
            "{ASKED_FORMAT}\n{}\ncp{major}{minor} {}\n{:?}\n",
            self.sha256, self.platform.arch, self.settings
        );
        for file in &wheels {
            key.push_str(&format!("{} {:?}\n", file.filename, file.sha256));
        }
        let key = format!("pep517-requires/{}", Sha256::of_bytes(key.as_bytes()));
        let cache = self.client.cache();
        let cached = cache
            .read_entry(Bucket::Metadata, &key)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                text.lines()
                    .map(|line| crate::requirement_text::parse_requirement(line, None))
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
            });
        if let Some(asked) = cached {
            return Ok(asked);
        }
        let paths = self.download(&wheels)?;
        let asked = self.in_scratch("read the build requirements of", |scratch, host| {
            let (environment, log) = self.environment(scratch, host, "requires", &paths)?;
            environment.requires_for_build_wheel(&scratch.tree, self.settings, &log)
        })?;
        let text: String = asked
            .iter()
            .map(|requirement| format!("{requirement}\n"))
            .collect();
        // A failed cache write only costs asking again next time.
        let _ = cache.write_entry(Bucket::Metadata, &key, text.as_bytes());
        Ok(asked)
    }

    /// The core metadata (`METADATA` text) the sdist's backend gives in
    /// its build environment: the PEP 517 way to learn the metadata of an
    /// sdist that does not state it statically. Its
    /// `prepare_metadata_for_build_wheel` answers without compiling (as pip
    /// and uv ask); only a backend without that hook builds the wheel.
    pub fn built_metadata(&self) -> Result<String, BuildRequirementsError> {
        let resolution = self.resolve_environment(&BTreeMap::new())?;
        let wheels = self.download_wheels(&resolution)?;
        let made = self.in_scratch("prepare the metadata of", |scratch, host| {
            let (environment, log) = self.environment(scratch, host, "build", &wheels)?;
            let folder = scratch.dir.path();
            let prepared = environment.prepare_metadata_for_build_wheel(
                &scratch.tree,
                self.settings,
                &folder.join("metadata"),
                &log,
            )?;
            match prepared {
                Some(dist_info) => Ok(MadeMetadata::DistInfo(dist_info)),
                None => environment
                    .build_wheel(&scratch.tree, self.settings, &folder.join("wheel"), &log)
                    .map(MadeMetadata::Wheel),
            }
        })?;
        let text = match made {
            MadeMetadata::DistInfo(folder) => std::fs::read_to_string(folder.join("METADATA"))
                .map_err(|error| format!("`{}`: {error}", folder.join("METADATA").display())),
            MadeMetadata::Wheel(path) => read_wheel_metadata(&path),
        };
        text.map_err(|reason| BuildRequirementsError::BuiltMetadata {
            package: self.name.clone(),
            version: self.version.clone(),
            reason,
        })
    }

    fn origin(&self, part: &str) -> Origin {
        Origin {
            path: PathBuf::from(format!("{}/{part}", self.filename)),
            line: 0,
        }
    }

    /// A build environment `<purpose>-environment` in `scratch` holding
    /// `wheels` for `host`'s interpreter, and the log file to use.
    fn environment(
        &self,
        scratch: &Scratch,
        host: &BuildHost,
        purpose: &str,
        wheels: &[PathBuf],
    ) -> Result<(BuildEnvironment, PathBuf), BuildError> {
        let dir = scratch.dir.path();
        let environment = BuildEnvironment::create_linked(
            &host.interpreter,
            python_series(&host.target.python),
            wheels,
            &dir.join(format!("{purpose}-environment")),
            self.client.cache(),
        )?;
        Ok((environment, self.log()?))
    }

    /// The package's hook log in the cache, emptied before this lock's
    /// first hook writes to it: it shows this lock's output only, and
    /// outlives the scratch folder for an error to name it.
    fn log(&self) -> Result<PathBuf, BuildError> {
        let folder = self.client.cache().root().join("work/lock/logs");
        let log = folder.join(format!("{}-{}.log", self.name, self.version));
        if !self.log_started.replace(true) {
            std::fs::create_dir_all(&folder).map_err(crate::pep517::io_error("create", &folder))?;
            std::fs::write(&log, "").map_err(crate::pep517::io_error("write", &log))?;
        }
        Ok(log)
    }

    /// Run `work` with the scratch folder (the sdist unpacked on first
    /// use) and the build host (detected on first use); the folder goes
    /// when `work` fails (its log is in the cache).
    fn in_scratch<T>(
        &self,
        action: &'static str,
        work: impl FnOnce(&Scratch, &BuildHost) -> Result<T, BuildError>,
    ) -> Result<T, BuildRequirementsError> {
        let host = self.host.get()?;
        let mut slot = self.scratch.borrow_mut();
        let scratch = match slot.take() {
            Some(scratch) => scratch,
            None => Scratch::unpack(self.name, self.version, &self.path)?,
        };
        match work(&scratch, &host) {
            Ok(value) => {
                *slot = Some(scratch);
                Ok(value)
            }
            Err(source) => {
                drop(scratch);
                Err(BuildRequirementsError::Backend {
                    package: self.name.clone(),
                    version: self.version.clone(),
                    action,
                    source: Box::new(source),
                })
            }
        }
    }

    fn resolve_for_host(
        &self,
        requirements: &[SourcedRequirement],
        preferences: &BTreeMap<PackageName, Version>,
    ) -> Result<Resolution, BuildRequirementsError> {
        let resolve_request = resolve::ResolveRequest {
            requirements,
            constraints: &[],
            target: &self.platform,
            preferences,
            wheels_only: true,
            format_control: &FormatControl::default(),
            prefer_binary: false,
            require_hashes: false,
            on_decision: None,
        };
        let source = IndexMetadata::new(self.client, self.runtime, None);
        resolve::resolve(&resolve_request, &source).map_err(|source| {
            let written: Vec<String> = requirements
                .iter()
                .map(|sourced| format!("`{}`", sourced.requirement))
                .collect();
            BuildRequirementsError::Resolve {
                package: self.name.clone(),
                version: self.version.clone(),
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
        &self,
        resolution: &Resolution,
    ) -> Result<Vec<PathBuf>, BuildRequirementsError> {
        self.download(&self.best_wheels(resolution))
    }

    /// The best wheel for the host of every resolved package (the resolver
    /// only keeps versions that have one).
    fn best_wheels<'r>(&self, resolution: &'r Resolution) -> Vec<&'r IndexFile> {
        let tags = self.platform.tags();
        resolution
            .packages
            .values()
            .filter_map(|resolved| {
                resolved
                    .files
                    .iter()
                    .filter_map(|file| match &file.filename {
                        DistFilename::Wheel(wheel) => Some((tags.priority(wheel)?, file)),
                        DistFilename::Sdist(_) => None,
                    })
                    .max_by_key(|(priority, _)| *priority)
                    .map(|(_, file)| file)
            })
            .collect()
    }

    /// `files` in the cache, downloaded when missing.
    fn download(&self, files: &[&IndexFile]) -> Result<Vec<PathBuf>, BuildRequirementsError> {
        self.runtime.block_on(async {
            let downloads = files.iter().map(|file| async move {
                let result = match &file.sha256 {
                    Some(sha256) => {
                        self.client
                            .download(&file.url, file.filename.as_str(), sha256)
                            .await
                    }
                    None => Err(IndexError::Task(format!(
                        "the index gives no sha256 for `{}`",
                        file.filename
                    ))),
                };
                result.map_err(|source| BuildRequirementsError::Download {
                    package: self.name.clone(),
                    version: self.version.clone(),
                    what: format!("build requirement `{}`", file.filename),
                    source: Box::new(source),
                })
            });
            futures::future::join_all(downloads)
                .await
                .into_iter()
                .collect()
        })
    }
}

/// What the cache keeps of an sdist's `[build-system]`: its
/// [`SourceFacts`] and its `pyproject.toml` (read again with
/// [`parse_build_system`], so a cached table means what a fresh read
/// would), or that it has none.
fn cached_build_system(tree: &SourceTree, facts: SourceFacts) -> String {
    let yes_no = |flag: bool| if flag { "yes" } else { "no" };
    let head = format!(
        "{BUILD_SYSTEM_FORMAT}\nsetup-requires {}\nsetuptools-hook {}",
        yes_no(facts.mentions_setup_requires),
        yes_no(facts.setuptools_hook)
    );
    match std::fs::read_to_string(tree.root.join("pyproject.toml")) {
        Ok(text) => format!("{head}\npyproject.toml\n{text}"),
        // Unpacking read it, so it is missing (PEP 517's fallback applies).
        Err(_) => format!("{head}\nnone\n"),
    }
}

/// The `[build-system]` of a [`cached_build_system`] entry and the
/// source's facts; `None` when the entry is of another format or no
/// longer parses.
fn parse_cached_build_system(bytes: &[u8], sdist: &str) -> Option<(BuildSystem, SourceFacts)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (format, rest) = text.split_once('\n')?;
    if format != BUILD_SYSTEM_FORMAT {
        return None;
    }
    let flag = |rest: &mut &str, key: &str| -> Option<bool> {
        let (line, after) = rest.split_once('\n')?;
        *rest = after;
        match line.strip_prefix(key)?.strip_prefix(' ')? {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    };
    let mut rest = rest;
    let facts = SourceFacts {
        mentions_setup_requires: flag(&mut rest, "setup-requires")?,
        setuptools_hook: flag(&mut rest, "setuptools-hook")?,
    };
    let pyproject = match rest.split_once('\n')? {
        ("none", "") => None,
        ("pyproject.toml", text) => Some(text),
        _ => return None,
    };
    Some((parse_build_system(pyproject, sdist).ok()?, facts))
}

/// Where a backend put the metadata it was asked for.
enum MadeMetadata {
    /// The `.dist-info` folder `prepare_metadata_for_build_wheel` made.
    DistInfo(PathBuf),
    /// The wheel `build_wheel` made, for a backend without that hook.
    Wheel(PathBuf),
}

/// The `METADATA` of the wheel at `path` (its top-level `.dist-info`).
fn read_wheel_metadata(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|error| error.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| error.to_string())?;
    let name = archive
        .file_names()
        .find(|name| {
            name.split_once('/')
                .is_some_and(|(folder, rest)| folder.ends_with(".dist-info") && rest == "METADATA")
        })
        .map(str::to_string)
        .ok_or_else(|| "it has no `.dist-info/METADATA`".to_string())?;
    let mut entry = archive.by_name(&name).map_err(|error| error.to_string())?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text)
        .map_err(|error| format!("`{name}`: {error}"))?;
    Ok(text)
}

fn sourced(requirements: &[Requirement], origin: &Origin) -> Vec<SourcedRequirement> {
    requirements
        .iter()
        .map(|requirement| SourcedRequirement::new(requirement.clone(), origin.clone()))
        .collect()
}

/// The build settings (environment, `config_settings`) of `name`'s policy,
/// which apply to every hook vendor calls, at lock time as at build time.
pub fn build_settings(policies: &Policies, name: &PackageName) -> BuildSettings {
    policies
        .get(name)
        .map(|loaded| loaded.policy.build.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn a_cached_build_system_reads_as_the_unpacked_one() {
        let dir = tempfile::tempdir().unwrap();
        let tree = |pyproject: Option<&str>| {
            let root = dir.path().join(format!("tree-{}", pyproject.is_some()));
            std::fs::create_dir_all(&root).unwrap();
            if let Some(text) = pyproject {
                std::fs::write(root.join("pyproject.toml"), text).unwrap();
            }
            SourceTree {
                root,
                build_system: parse_build_system(pyproject, "a-1.tar.gz").unwrap(),
                sdist: "a-1.tar.gz".to_string(),
            }
        };
        let declared = tree(Some(
            "[build-system]\nrequires = [\"flit_core>=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n",
        ));
        let fallback = tree(None);
        let facts = |mentions_setup_requires, setuptools_hook| SourceFacts {
            mentions_setup_requires,
            setuptools_hook,
        };
        for (tree, facts) in [
            (&declared, facts(true, false)),
            (&fallback, facts(false, true)),
        ] {
            let entry = cached_build_system(tree, facts);
            assert_eq!(
                parse_cached_build_system(entry.as_bytes(), "a-1.tar.gz"),
                Some((tree.build_system.clone(), facts))
            );
        }
        assert_ne!(declared.build_system, fallback.build_system);
        // Another format is a miss, not a misread.
        let older = cached_build_system(&declared, facts(false, false))
            .replace(BUILD_SYSTEM_FORMAT, "vendor-build-system-0");
        assert_eq!(
            parse_cached_build_system(older.as_bytes(), "a-1.tar.gz"),
            None
        );
    }

    #[test]
    fn the_cheap_host_tags_are_the_detected_hosts() {
        // The test machine has a CPython 3.11 (the hermetic tests need it).
        let python = Version::from_str("3.11.9").unwrap();
        let lazy = LazyBuildHost::new(&python);
        let cheap = lazy.tags().unwrap();
        let host = lazy.get().unwrap();
        assert_eq!(python_series(&host.target.python), (3, 11));
        assert!(host.interpreter.is_absolute());
        let detected = host.tags();
        let wheel = |name: &str| crate::filename::WheelFilename::from_str(name).unwrap();
        for name in [
            "a-1-py3-none-any.whl",
            "a-1-cp311-cp311-manylinux_2_17_x86_64.whl",
            "a-1-cp311-cp311-manylinux_2_17_aarch64.whl",
            "a-1-cp312-cp312-manylinux_2_17_x86_64.whl",
            "a-1-cp311-abi3-manylinux_2_28_x86_64.whl",
        ] {
            assert_eq!(
                cheap.priority(&wheel(name)),
                detected.priority(&wheel(name)),
                "{name}"
            );
        }
    }
}
