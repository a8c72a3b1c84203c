//! Dependency resolution with PubGrub over PEP 440 versions.
//!
//! Input: a [`ResolveRequest`] (top-level requirements with their origin,
//! constraints, the target, pins to keep) and a [`MetadataSource`].
//! Output: a [`Resolution`]: one version per package with its usable files
//! and dependency edges, or a readable explanation of why none exists.
//!
//! Invariants: markers are evaluated for the target's marker environment,
//! never the build host's; the resolver knows nothing of HTTP, runtimes or
//! build backends: it asks its [`MetadataSource`], and tells it which
//! dependencies it discovered so that they can be prefetched.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use pep440_rs::{Operator, Version};
use pep508_rs::{MarkerEnvironment, Requirement, VersionOrUrl};
use pubgrub::{
    DefaultStringReporter, Dependencies, DependencyProvider, PackageResolutionStatistics,
    PubGrubError, Ranges, Reporter,
};

use super::candidates::{ChoicePolicy, VersionMap};
use super::package::ResolverPackage;
use super::run_memo::{Constraints, KnownDependencies, RunMemo};
use crate::hash::Sha256;
use crate::index::{CoreMetadata, IndexError, IndexFile, ProjectFiles};
use crate::name::{ExtraName, PackageName};
use crate::requirements::{FormatControl, Formats, SourcedRequirement};
use crate::targets::{Tags, Target};

/// Chooses, from a project's page, the file whose metadata is likely to be
/// asked for next (see [`MetadataSource::prefetch`]).
pub type MetadataPick = Box<dyn FnOnce(Arc<ProjectFiles>) -> Option<IndexFile> + Send>;

/// What the resolver reads: project pages and core metadata. The resolver
/// sees only this — never an HTTP client, an async runtime or a build
/// backend — so it runs the same over the real indexes
/// ([`super::IndexMetadata`]) and over an in-memory index in its unit tests.
/// Implementations memoize: asking twice costs nothing.
pub trait MetadataSource {
    /// Every file the indexes list for `name` (none when no index has it).
    fn project(&self, name: &PackageName) -> Result<Arc<ProjectFiles>, ResolveError>;

    /// The core metadata of `file`.
    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, ResolveError>;

    /// `name` will likely be needed: fetch its page, then the metadata of
    /// the file `pick` chooses, without blocking the caller. Sources that
    /// answer at once ignore it.
    fn prefetch(&self, _name: &PackageName, _pick: MetadataPick) {}

    /// The metadata of `files` will likely be asked for soon: fetch it
    /// without blocking the caller.
    fn prefetch_metadata(&self, _files: Vec<IndexFile>) {}
}

/// What to resolve.
pub struct ResolveRequest<'a> {
    pub requirements: &'a [SourcedRequirement],
    pub constraints: &'a [SourcedRequirement],
    pub target: &'a Target,
    /// Versions from an existing lock, kept while the requirements allow them.
    pub preferences: &'a BTreeMap<PackageName, Version>,
    /// Use wheels only (build requirements are installed, never built).
    pub wheels_only: bool,
    /// `--no-binary` / `--only-binary` of the requirement files.
    pub format_control: &'a FormatControl,
    /// `--prefer-binary`.
    pub prefer_binary: bool,
    /// `--require-hashes`: every resolved package must have `--hash`
    /// values (also on whenever any requirement has one, as pip does).
    pub require_hashes: bool,
    /// Told of every version the resolver decides on, before its
    /// dependencies are read, so that work depending on the choice can
    /// start while the resolution goes on.
    pub on_decision: Option<DecisionWatch<'a>>,
}

/// Who is told of decisions, and which packages they want decided early.
#[derive(Clone, Copy)]
pub struct DecisionWatch<'a> {
    pub on_decision: OnDecision<'a>,
    /// Packages whose exact pins are decided before other exact pins (the
    /// work they start takes longest, such as locking a build
    /// environment). Among exact pins the order changes no choice.
    pub decide_first: &'a (dyn Fn(&PackageName) -> bool + Sync),
}

/// Called with a package, the version decided for it and that version's
/// files usable on the target. A decision may be undone by backtracking:
/// only the final [`Resolution`] counts.
pub type OnDecision<'a> = &'a (dyn Fn(&PackageName, &Version, &[&IndexFile]) + Sync);

/// One version per package.
#[derive(Debug)]
pub struct Resolution {
    pub packages: BTreeMap<PackageName, ResolvedPackage>,
}

#[derive(Debug)]
pub struct ResolvedPackage {
    pub version: Version,
    /// Files of this version usable on the target (yanked ones only when pinned).
    pub files: Vec<IndexFile>,
    pub metadata: Arc<CoreMetadata>,
    /// Dependency name → extras requested of it.
    pub dependencies: BTreeMap<PackageName, BTreeSet<ExtraName>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no set of versions satisfies the requirements:\n{explanation}")]
    NoSolution { explanation: String },
    #[error("package `{name}` was not found on any index{requested_by}")]
    NotFound {
        name: PackageName,
        requested_by: String,
    },
    #[error(
        "`{requirement}` ({origin}) is a direct URL requirement; vendor cannot lock those yet"
    )]
    DirectUrl { requirement: String, origin: String },
    #[error(
        "`{name}` has no wheel usable on {target} in the range needed{requested_by}, only an sdist"
    )]
    NoWheel {
        name: PackageName,
        target: String,
        requested_by: String,
        /// Needed to build another package (else `--only-binary` asked).
        build_requirement: bool,
    },
    #[error(
        "the `--hash` values of `{name}` ({origin}) match no file the indexes list for the target"
    )]
    HashesMatchNothing { name: PackageName, origin: String },
    #[error("hash-checking mode: {} resolved without a `--hash` in the requirement files: {}", if .names.len() == 1 { "a package was" } else { "packages were" }, .names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", "))]
    Unhashed { names: Vec<PackageName> },
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Internal: start the resolution again with `defer` decided last.
    /// [`resolve`] never returns it.
    #[error("the resolution restarts with `{defer}` decided last")]
    Restart { defer: PackageName },
    #[error(
        "`{filename}` does not state its metadata, and building it to learn it failed:\n{source}"
    )]
    MetadataFromBackend {
        filename: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the metadata of `{filename}` names version `{found}`, but the index lists `{expected}`"
    )]
    MetadataMismatch {
        filename: String,
        found: Version,
        expected: Version,
    },
}

impl crate::hint::Hint for ResolveError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::HashesMatchNothing { .. } => Some("regenerate the hashes (`pip-compile --generate-hashes`, `uv pip compile --generate-hashes`) or check that the index serves the files they were made from".to_string()),
            Self::Unhashed { .. } => Some("with `--require-hashes` or any `--hash`, every package must be listed with its hashes, as `pip-compile --generate-hashes` writes them".to_string()),
            Self::NoSolution { .. } => Some("relax one of the requirements named above".to_string()),
            Self::NotFound { .. } => Some("check the spelling, or add the index or folder that has it with `--index-url` / `--find-links`".to_string()),
            Self::DirectUrl { .. } => Some("publish the artifact to an index or a `--find-links` folder and require it by name".to_string()),
            Self::NoWheel { name, build_requirement: true, .. } => Some(format!("build requirements are installed from wheels, never built; publish a wheel of `{name}` for this platform to the index or to a `--find-links` folder")),
            Self::NoWheel { name, build_requirement: false, .. } => Some(format!("the requirement files say `--only-binary` for `{name}`; drop it there, or publish a wheel of `{name}` for this platform")),
            Self::MetadataMismatch { .. } => Some("the index serves inconsistent data for this file".to_string()),
            Self::Index(inner) => inner.hint(),
            _ => None,
        }
    }
}

/// Resolve `request`. Blocks the calling thread; must not be called from
/// inside an async task (use `spawn_blocking`).
pub fn resolve(
    request: &ResolveRequest<'_>,
    source: &dyn MetadataSource,
) -> Result<Resolution, ResolveError> {
    let mut deferred = HashSet::new();
    let memo = RunMemo::default();
    loop {
        let provider = Provider::new(request, source, deferred.clone(), &memo)?;
        match solve(provider) {
            // A package walked back through its history because of one
            // decided earlier: decide that one last and start again (what
            // the run read and worked out is kept in `memo`).
            Err(ResolveError::Restart { defer }) if deferred.len() < MAX_RESTARTS => {
                tracing::debug!("the resolution starts again with `{defer}` decided last");
                deferred.insert(defer);
            }
            Err(ResolveError::Restart { .. }) => {
                let provider = Provider::new(request, source, deferred, &memo)?;
                return solve(provider.without_restarts());
            }
            other => return other,
        }
    }
}

/// How many packages may be deferred (each a fresh start) before the
/// resolver keeps walking instead.
const MAX_RESTARTS: usize = 8;

/// Versions of one package tried in one resolution before the resolver
/// looks for the decided package that keeps rejecting them.
const WALK_LIMIT: usize = 6;

/// Versions of one package tried before the metadata of the next ones is
/// fetched in batches ([`Provider::prefetch_walk`]), when a walk cannot
/// restart the run; when it can, batches wait until [`WALK_LIMIT`] has
/// found no package to defer (a boto3-shaped walk ends there).
const BATCH_AFTER: usize = 5;
/// Versions whose metadata one batch fetches.
const BATCH_SIZE: usize = 50;

/// One PubGrub run over `provider`.
fn solve(provider: Provider<'_>) -> Result<Resolution, ResolveError> {
    let root_version = Version::new([0]);
    match pubgrub::resolve(&provider, ResolverPackage::Root, root_version) {
        Ok(selection) => provider.into_resolution(selection.into_iter().collect()),
        Err(PubGrubError::NoSolution(mut tree)) => {
            tree.collapse_no_versions();
            Err(ResolveError::NoSolution {
                explanation: readable_explanation(&DefaultStringReporter::report(&tree)),
            })
        }
        Err(PubGrubError::ErrorRetrievingDependencies { source, .. })
        | Err(PubGrubError::ErrorChoosingVersion { source, .. })
        | Err(PubGrubError::ErrorInShouldCancel(source)) => Err(source),
    }
}

/// PubGrub names the root with its placeholder version (`your requirements
/// 0`); say it as a person would.
fn readable_explanation(report: &str) -> String {
    report
        .replace(
            "your requirements 0 depends on",
            "your requirements depend on",
        )
        .replace(
            "your requirements 0 is forbidden",
            "your requirements cannot all be met",
        )
        .replace("your requirements 0", "your requirements")
}

/// The PubGrub dependency provider. Single-threaded (PubGrub calls it from
/// one thread), so interior mutability uses `RefCell`.
struct Provider<'a> {
    request: &'a ResolveRequest<'a>,
    source: &'a dyn MetadataSource,
    tags: Arc<Tags>,
    environment: MarkerEnvironment,
    constraints: HashMap<PackageName, Ranges<Version>>,
    explicit_prerelease: HashSet<PackageName>,
    exact_pins: HashMap<PackageName, Version>,
    /// `--hash` values per package, with where they were given: only files
    /// with one of these digests are candidates.
    hashes: HashMap<PackageName, (BTreeSet<Sha256>, String)>,
    /// What every run of one resolution shares.
    memo: &'a RunMemo,
    discovery_order: RefCell<HashMap<ResolverPackage, usize>>,
    requested_by: RefCell<HashMap<PackageName, String>>,
    /// Packages decided after all others (see [`resolve`]).
    deferred: HashSet<PackageName>,
    /// Per package: the version last chosen and how many were chosen.
    choices: RefCell<HashMap<PackageName, (Version, usize)>>,
    /// Whether a walk through a package's history may restart the run.
    restarts: bool,
}

impl<'a> Provider<'a> {
    fn new(
        request: &'a ResolveRequest<'a>,
        source: &'a dyn MetadataSource,
        deferred: HashSet<PackageName>,
        memo: &'a RunMemo,
    ) -> Result<Self, ResolveError> {
        let environment = request.target.marker_environment();
        let mut constraints: HashMap<PackageName, Ranges<Version>> = HashMap::new();
        for sourced in request.constraints {
            let requirement = &sourced.requirement;
            if !requirement.marker.evaluate(&environment, &[]) {
                continue;
            }
            let range = requirement_range(sourced)?;
            constraints
                .entry(requirement.name.clone())
                .and_modify(|existing| *existing = existing.intersection(&range))
                .or_insert(range);
        }
        let mut explicit_prerelease = HashSet::new();
        let mut exact_pins = HashMap::new();
        let mut hashes: HashMap<PackageName, (BTreeSet<Sha256>, String)> = HashMap::new();
        for sourced in request.requirements.iter().chain(request.constraints) {
            let requirement = &sourced.requirement;
            if !sourced.hashes.is_empty() {
                hashes
                    .entry(requirement.name.clone())
                    .or_insert_with(|| (BTreeSet::new(), sourced.origin.to_string()))
                    .0
                    .extend(sourced.hashes.iter().cloned());
            }
            let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url
            else {
                continue;
            };
            for specifier in specifiers.iter() {
                if specifier.any_prerelease() {
                    explicit_prerelease.insert(requirement.name.clone());
                }
                if matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual) {
                    exact_pins.insert(requirement.name.clone(), specifier.version().clone());
                }
            }
        }
        Ok(Self {
            request,
            source,
            tags: request.target.tags(),
            environment,
            constraints,
            explicit_prerelease,
            exact_pins,
            hashes,
            memo,
            discovery_order: RefCell::default(),
            requested_by: RefCell::default(),
            deferred,
            choices: RefCell::default(),
            restarts: true,
        })
    }

    fn without_restarts(mut self) -> Self {
        self.restarts = false;
        self
    }

    /// Note the version chosen for `name`; after [`WALK_LIMIT`] choices,
    /// the decided package that rejects its newest version, if any: the
    /// culprit of a walk back through its history (boto3 and botocore
    /// walked back to 2015 because `python-dateutil` 3.0 was decided
    /// first and botocore caps it below 3).
    fn walk_culprit(
        &self,
        name: &PackageName,
        version: &Version,
        range: &Ranges<Version>,
    ) -> Option<PackageName> {
        let count = {
            let mut choices = self.choices.borrow_mut();
            let entry = choices.entry(name.clone()).or_insert((version.clone(), 0));
            *entry = (version.clone(), entry.1 + 1);
            entry.1
        };
        if !self.restarts || count != WALK_LIMIT {
            return None;
        }
        let map = self.version_map(name).ok()?;
        let newest = map.choose(&Ranges::full(), self.choice_policy(name))?;
        if range.contains(&newest) {
            return None;
        }
        let metadata = self.package_metadata(name, &newest).ok()??;
        let choices = self.choices.borrow();
        self.active_requirements(&metadata, None)
            .into_iter()
            .find_map(|requirement| {
                let (chosen, _) = choices.get(&requirement.name)?;
                let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url
                else {
                    return None;
                };
                let excluded = !specifiers.contains(chosen);
                (excluded
                    && !self.deferred.contains(&requirement.name)
                    && &requirement.name != name)
                    .then(|| requirement.name.clone())
            })
    }

    /// A package walked back through its versions (chosen past
    /// [`WALK_LIMIT`], or [`BATCH_AFTER`] times once restarts are spent) gets the metadata of its next [`BATCH_SIZE`]
    /// candidates below `chosen` fetched at once, as uv does, instead of
    /// one round trip per version tried (Django walked back from 5.2 to
    /// 4.1 by a cap on `sqlparse`: 300 versions in one minute, one by one).
    /// The next batch starts where the last ended, once fewer than half a
    /// batch of fetched versions are left ahead of the walk.
    fn prefetch_walk(
        &self,
        name: &PackageName,
        map: &VersionMap,
        range: &Ranges<Version>,
        chosen: &Version,
    ) {
        let tries = self
            .choices
            .borrow()
            .get(name)
            .map_or(0, |(_, tries)| *tries);
        let threshold = if self.restarts {
            WALK_LIMIT + 1
        } else {
            BATCH_AFTER
        };
        if tries < threshold {
            return;
        }
        let policy = self.choice_policy(name);
        let floor = self.memo.walk_floor(name);
        // Counting releases, not candidates, keeps this check cheap on
        // every choice of a walk; a batch may then start a little late.
        if floor
            .as_ref()
            .is_some_and(|floor| map.releases_between(floor, chosen) >= BATCH_SIZE / 2)
        {
            return;
        }
        let start = match &floor {
            Some(floor) if floor < chosen => floor,
            _ => chosen,
        };
        let batch = map.candidates_below(range, policy, start, BATCH_SIZE);
        let files = batch
            .iter()
            .filter_map(|version| map.metadata_file(version).cloned())
            .collect();
        self.source.prefetch_metadata(files);
        if let Some(lowest) = batch.last() {
            self.memo.keep_walk_floor(name, lowest.clone());
        }
    }

    /// ` (required by …)` for error messages; nothing for a top-level
    /// build requirement, whose caller names the package that needs it.
    fn requested_by_text(&self, name: &PackageName) -> String {
        let root = ResolverPackage::Root.to_string();
        self.requested_by
            .borrow()
            .get(name)
            .filter(|parent| !(self.request.wheels_only && **parent == root))
            .map(|parent| format!(" (required by {parent})"))
            .unwrap_or_default()
    }

    fn target_description(&self) -> String {
        let target = self.request.target;
        let name = match target.name.as_str() {
            "host" => "the build host".to_string(),
            name => format!("`{name}`"),
        };
        format!("{name} (CPython {}, {})", target.python, target.arch)
    }

    /// The formats `name` may be locked from: wheels alone for build
    /// requirements, else what the requirement files allow.
    fn formats(&self, name: &PackageName) -> Formats {
        if self.request.wheels_only {
            Formats::WHEEL_ONLY
        } else {
            self.request.format_control.formats(name)
        }
    }

    fn choice_policy<'p>(&'p self, name: &PackageName) -> ChoicePolicy<'p> {
        ChoicePolicy {
            explicit_prerelease: self.explicit_prerelease.contains(name),
            exact_pin: self.exact_pins.get(name),
            preference: self.request.preferences.get(name),
            prefer_wheel: self.request.prefer_binary,
        }
    }

    /// The project's candidate versions, fetched once.
    fn version_map(&self, name: &PackageName) -> Result<Arc<VersionMap>, ResolveError> {
        if let Some(map) = self.memo.version_map(name) {
            return Ok(map);
        }
        let project = self.source.project(name)?;
        if project.is_empty() {
            return Err(ResolveError::NotFound {
                name: name.clone(),
                requested_by: self.requested_by_text(name),
            });
        }
        let project = self.hashed_files(name, project)?;
        let map = Arc::new(VersionMap::from_project(
            project,
            Arc::clone(&self.tags),
            &self.request.target.python,
            self.formats(name),
        ));
        self.memo.keep_version_map(name, map.clone());
        Ok(map)
    }

    /// With `--hash` values for `name`, only the files with one of them.
    fn hashed_files(
        &self,
        name: &PackageName,
        project: Arc<ProjectFiles>,
    ) -> Result<Arc<ProjectFiles>, ResolveError> {
        let Some((allowed, origin)) = self.hashes.get(name) else {
            return Ok(project);
        };
        let hashed = project.with_digests(allowed);
        if hashed.is_empty() {
            return Err(ResolveError::HashesMatchNothing {
                name: name.clone(),
                origin: origin.clone(),
            });
        }
        Ok(Arc::new(hashed))
    }

    fn package_metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Option<Arc<CoreMetadata>>, ResolveError> {
        if let Some(metadata) = self.memo.metadata(name, version) {
            return Ok(Some(metadata));
        }
        let map = self.version_map(name)?;
        let Some(file) = map.metadata_file(version) else {
            return Ok(None);
        };
        let metadata = self.source.metadata(file)?;
        if &metadata.version != version {
            return Err(ResolveError::MetadataMismatch {
                filename: file.filename.to_string(),
                found: metadata.version.clone(),
                expected: version.clone(),
            });
        }
        self.memo.keep_metadata(name, version, metadata.clone());
        Ok(Some(metadata))
    }

    /// Add `requirement` (evaluated under `extras`) to `constraints`,
    /// expanding extras into virtual packages, each noted in `discovered`.
    fn add_requirement(
        &self,
        constraints: &mut Constraints,
        discovered: &mut Vec<ResolverPackage>,
        sourced_range: Ranges<Version>,
        requirement: &Requirement,
    ) {
        let name = &requirement.name;
        let range = match self.constraints.get(name) {
            Some(constraint) => sourced_range.intersection(constraint),
            None => sourced_range,
        };
        let mut targets = vec![ResolverPackage::Base(name.clone())];
        targets.extend(
            requirement
                .extras
                .iter()
                .map(|extra| ResolverPackage::Extra(name.clone(), extra.clone())),
        );
        for package in targets {
            discovered.push(package.clone());
            constraints
                .entry(package)
                .and_modify(|existing| *existing = existing.intersection(&range))
                .or_insert_with(|| range.clone());
        }
    }

    fn note_discovery(&self, package: &ResolverPackage, parent: &ResolverPackage) {
        let mut order = self.discovery_order.borrow_mut();
        if order.contains_key(package) {
            return;
        }
        let next = order.len();
        order.insert(package.clone(), next);
        if let Some(name) = package.name() {
            self.requested_by
                .borrow_mut()
                .entry(name.clone())
                .or_insert_with(|| parent.to_string());
        }
    }

    fn root_dependencies(&self) -> Result<Constraints, ResolveError> {
        let mut constraints = Constraints::default();
        let mut discovered = Vec::new();
        for sourced in self.request.requirements {
            if !sourced.requirement.marker.evaluate(&self.environment, &[]) {
                continue;
            }
            let range = requirement_range(sourced)?;
            self.add_requirement(
                &mut constraints,
                &mut discovered,
                range,
                &sourced.requirement,
            );
        }
        for package in &discovered {
            self.note_discovery(package, &ResolverPackage::Root);
        }
        Ok(constraints)
    }

    /// Requirements of `name` active for `extra` (or the base package when
    /// `extra` is `None`), as `(requirement, range)` pairs.
    fn active_requirements<'m>(
        &self,
        metadata: &'m CoreMetadata,
        extra: Option<&ExtraName>,
    ) -> Vec<&'m Requirement> {
        metadata
            .requires_dist
            .iter()
            .filter(|requirement| match extra {
                None => requirement.marker.evaluate(&self.environment, &[]),
                Some(extra) => {
                    requirement
                        .marker
                        .evaluate(&self.environment, std::slice::from_ref(extra))
                        && !requirement.marker.evaluate(&self.environment, &[])
                }
            })
            .collect()
    }

    fn package_dependencies(
        &self,
        package: &ResolverPackage,
        name: &PackageName,
        extra: Option<&ExtraName>,
        version: &Version,
    ) -> Result<Dependencies<ResolverPackage, Ranges<Version>, String>, ResolveError> {
        if let (None, Some(watch)) = (extra, self.request.on_decision) {
            (watch.on_decision)(name, version, &self.version_map(name)?.files(version));
        }
        let known = match self.memo.dependencies(package, version) {
            Some(known) => known,
            None => {
                let known = Arc::new(self.read_dependencies(name, extra, version)?);
                self.memo
                    .keep_dependencies(package, version, Arc::clone(&known));
                known
            }
        };
        match &*known {
            KnownDependencies::Unavailable(reason) => Ok(Dependencies::Unavailable(reason.clone())),
            KnownDependencies::Available {
                constraints,
                discovered,
            } => {
                for discovered in discovered {
                    self.note_discovery(discovered, package);
                }
                self.prefetch(constraints);
                Ok(Dependencies::Available(constraints.clone()))
            }
        }
    }

    /// The dependencies of `package` at `version`, from its metadata.
    fn read_dependencies(
        &self,
        name: &PackageName,
        extra: Option<&ExtraName>,
        version: &Version,
    ) -> Result<KnownDependencies, ResolveError> {
        let metadata = match self.package_metadata(name, version) {
            Ok(Some(metadata)) => metadata,
            Ok(None) => {
                return Ok(KnownDependencies::Unavailable(
                    "has no file usable on the target".to_string(),
                ))
            }
            // A release whose metadata cannot be read (a 2015 wheel with a
            // stray quote in `Requires-Dist`) is skipped, as pip and uv
            // skip it; only if nothing else fits does it show, as the
            // reason in the explanation.
            Err(ResolveError::Index(IndexError::InvalidMetadata { filename, reason })) => {
                return Ok(KnownDependencies::Unavailable(format!(
                    "has invalid metadata (`{filename}`: {reason})"
                )))
            }
            Err(ResolveError::MetadataMismatch {
                filename, found, ..
            }) => {
                return Ok(KnownDependencies::Unavailable(format!(
                    "has inconsistent metadata (`{filename}` says version {found})"
                )))
            }
            Err(error) => return Err(error),
        };
        let python = &self.request.target.python;
        if let Some(requires_python) = &metadata.requires_python {
            if !requires_python.contains(python) {
                return Ok(KnownDependencies::Unavailable(format!(
                    "requires Python {requires_python} (the target has {python})"
                )));
            }
        }
        let mut constraints = Constraints::default();
        let mut discovered = Vec::new();
        if extra.is_some() {
            constraints.insert(
                ResolverPackage::Base(name.clone()),
                Ranges::singleton(version.clone()),
            );
        }
        for requirement in self.active_requirements(&metadata, extra) {
            if &requirement.name == name && requirement.extras.is_empty() {
                continue;
            }
            let range = match &requirement.version_or_url {
                None => Ranges::full(),
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                    Ranges::from(specifiers.clone())
                }
                Some(VersionOrUrl::Url(_)) => {
                    return Ok(KnownDependencies::Unavailable(format!(
                        "depends on a direct URL (`{requirement}`)"
                    )))
                }
            };
            self.add_requirement(&mut constraints, &mut discovered, range, requirement);
        }
        Ok(KnownDependencies::Available {
            constraints,
            discovered,
        })
    }

    /// Start fetching the project pages and the likely version's metadata of
    /// every dependency, so that later blocking calls find them ready.
    fn prefetch(&self, constraints: &Constraints) {
        for (package, range) in constraints {
            let ResolverPackage::Base(name) = package else {
                continue;
            };
            if self.memo.has_version_map(name) || !self.memo.first_prefetch(name) {
                continue;
            }
            let tags = self.tags.clone();
            let python = self.request.target.python.clone();
            let formats = self.formats(name);
            let prefer_wheel = self.request.prefer_binary;
            let range = range.clone();
            let explicit_prerelease = self.explicit_prerelease.contains(name);
            let preference = self.request.preferences.get(name).cloned();
            let pick = move |project: Arc<ProjectFiles>| {
                let map = VersionMap::from_project(project, Arc::clone(&tags), &python, formats);
                let policy = ChoicePolicy {
                    explicit_prerelease,
                    exact_pin: None,
                    preference: preference.as_ref(),
                    prefer_wheel,
                };
                let version = map.choose(&range, policy)?;
                map.metadata_file(&version).cloned()
            };
            self.source.prefetch(name, Box::new(pick));
        }
    }

    /// In hash-checking mode (`--require-hashes`, or any `--hash`), every
    /// selected package must have hashes.
    fn check_hashed(
        &self,
        selection: &BTreeMap<ResolverPackage, Version>,
    ) -> Result<(), ResolveError> {
        let hash_checking = self.request.require_hashes || !self.hashes.is_empty();
        if !hash_checking || self.request.wheels_only {
            return Ok(());
        }
        // A package and its extras are selected as one name each.
        let unhashed: BTreeSet<&PackageName> = selection
            .keys()
            .filter_map(ResolverPackage::name)
            .filter(|name| !self.hashes.contains_key(*name))
            .collect();
        if unhashed.is_empty() {
            return Ok(());
        }
        Err(ResolveError::Unhashed {
            names: unhashed.into_iter().cloned().collect(),
        })
    }

    fn into_resolution(
        self,
        selection: BTreeMap<ResolverPackage, Version>,
    ) -> Result<Resolution, ResolveError> {
        self.check_hashed(&selection)?;
        let mut packages = BTreeMap::new();
        for (package, version) in &selection {
            let ResolverPackage::Base(name) = package else {
                continue;
            };
            let metadata = self
                .package_metadata(name, version)?
                .expect("a selected version has metadata");
            let active_extras = selection.keys().filter_map(|selected| match selected {
                ResolverPackage::Extra(extra_of, extra) if extra_of == name => Some(extra),
                _ => None,
            });
            let mut requirements = self.active_requirements(&metadata, None);
            for extra in active_extras {
                requirements.extend(self.active_requirements(&metadata, Some(extra)));
            }
            let mut dependencies: BTreeMap<PackageName, BTreeSet<ExtraName>> = BTreeMap::new();
            for requirement in requirements {
                if &requirement.name == name {
                    continue;
                }
                dependencies
                    .entry(requirement.name.clone())
                    .or_default()
                    .extend(requirement.extras.iter().cloned());
            }
            let map = self.version_map(name)?;
            packages.insert(
                name.clone(),
                ResolvedPackage {
                    version: version.clone(),
                    files: map.files(version).into_iter().cloned().collect(),
                    metadata,
                    dependencies,
                },
            );
        }
        Ok(Resolution { packages })
    }
}

/// The version range a top-level requirement or constraint allows.
fn requirement_range(sourced: &SourcedRequirement) -> Result<Ranges<Version>, ResolveError> {
    match &sourced.requirement.version_or_url {
        None => Ok(Ranges::full()),
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => Ok(Ranges::from(specifiers.clone())),
        Some(VersionOrUrl::Url(_)) => Err(ResolveError::DirectUrl {
            requirement: sourced.requirement.to_string(),
            origin: sourced.origin.to_string(),
        }),
    }
}

impl DependencyProvider for Provider<'_> {
    type P = ResolverPackage;
    type V = Version;
    type VS = Ranges<Version>;
    type M = String;
    type Err = ResolveError;
    /// Deferred packages last; pinned packages first, then the most
    /// conflicted, then breadth-first in discovery order (earlier
    /// requirements decide first, as in uv).
    type Priority = (bool, bool, bool, u32, Reverse<usize>);

    fn prioritize(
        &self,
        package: &ResolverPackage,
        range: &Ranges<Version>,
        statistics: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let order = self
            .discovery_order
            .borrow()
            .get(package)
            .copied()
            .unwrap_or(usize::MAX);
        let deferred = package
            .name()
            .is_some_and(|name| self.deferred.contains(name));
        let exact = range.as_singleton().is_some();
        let early = exact
            && package.name().is_some_and(|name| {
                self.request
                    .on_decision
                    .is_some_and(|watch| (watch.decide_first)(name))
            });
        (
            !deferred,
            exact,
            early,
            statistics.conflict_count(),
            Reverse(order),
        )
    }

    fn choose_version(
        &self,
        package: &ResolverPackage,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, ResolveError> {
        let Some(name) = package.name() else {
            return Ok(Some(Version::new([0])));
        };
        let map = self.version_map(name)?;
        let choice = map.choose(range, self.choice_policy(name));
        if let (Some(version), ResolverPackage::Base(_)) = (&choice, package) {
            if let Some(defer) = self.walk_culprit(name, version, range) {
                tracing::debug!("`{name}` walks back to {version}: `{defer}` rejects its newest");
                return Err(ResolveError::Restart { defer });
            }
            self.prefetch_walk(name, &map, range, version);
        }
        if choice.is_none() && map.has_sdist_only_version_in(range) {
            return Err(ResolveError::NoWheel {
                name: name.clone(),
                target: self.target_description(),
                requested_by: self.requested_by_text(name),
                build_requirement: self.request.wheels_only,
            });
        }
        Ok(choice)
    }

    fn get_dependencies(
        &self,
        package: &ResolverPackage,
        version: &Version,
    ) -> Result<Dependencies<ResolverPackage, Ranges<Version>, String>, ResolveError> {
        match package {
            ResolverPackage::Root => {
                let constraints = self.root_dependencies()?;
                self.prefetch(&constraints);
                Ok(Dependencies::Available(constraints))
            }
            ResolverPackage::Base(name) => self.package_dependencies(package, name, None, version),
            ResolverPackage::Extra(name, extra) => {
                self.package_dependencies(package, name, Some(extra), version)
            }
        }
    }
}

#[cfg(test)]
mod tests;
