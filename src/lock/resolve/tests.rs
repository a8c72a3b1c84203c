//! The resolver over an in-memory index: no HTTP, no runtime, no backend.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::str::FromStr;

use url::Url;

use super::*;
use crate::filename::DistFilename;
use crate::hash::Sha256;
use crate::requirements::Origin;

/// Projects of pure wheels (or sdists), each version with its
/// `Requires-Dist`.
#[derive(Default)]
struct InMemoryIndex {
    projects: BTreeMap<PackageName, Vec<(Version, Vec<&'static str>)>>,
    /// Versions published as an sdist only.
    sdist_only: BTreeSet<(PackageName, Version)>,
    /// How many metadata files the resolver read.
    metadata_reads: Cell<usize>,
    /// Which projects it was told to prefetch.
    prefetched: RefCell<Vec<PackageName>>,
    /// Which files' metadata it was told to prefetch.
    prefetched_metadata: RefCell<Vec<String>>,
}

impl InMemoryIndex {
    fn with(mut self, name: &str, version: &str, requires: &[&'static str]) -> Self {
        self.projects
            .entry(package_name(name))
            .or_default()
            .push((Version::from_str(version).unwrap(), requires.to_vec()));
        self
    }

    fn with_sdist_only(mut self, name: &str, version: &str, requires: &[&'static str]) -> Self {
        self.sdist_only
            .insert((package_name(name), Version::from_str(version).unwrap()));
        self.with(name, version, requires)
    }

    fn file(&self, name: &PackageName, version: &Version) -> IndexFile {
        let stem = format!("{}-{version}", name.as_ref().replace('-', "_"));
        let filename = if self.sdist_only.contains(&(name.clone(), version.clone())) {
            format!("{stem}.tar.gz")
        } else {
            format!("{stem}-py3-none-any.whl")
        };
        IndexFile {
            filename: DistFilename::from_str(&filename).unwrap(),
            url: Url::parse(&format!("https://index.invalid/{filename}")).unwrap(),
            index: None,
            sha256: Some(Sha256::of_bytes(filename.as_bytes())),
            size: None,
            upload_time: None,
            requires_python: None,
            yanked: None,
            has_core_metadata: true,
        }
    }
}

impl MetadataSource for InMemoryIndex {
    fn project(&self, name: &PackageName) -> Result<Arc<ProjectFiles>, ResolveError> {
        let files = self
            .projects
            .get(name)
            .into_iter()
            .flatten()
            .map(|(version, _)| self.file(name, version))
            .collect();
        Ok(Arc::new(ProjectFiles::from_files(name.clone(), files)))
    }

    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, ResolveError> {
        self.metadata_reads.set(self.metadata_reads.get() + 1);
        let (name, version) = match &file.filename {
            DistFilename::Wheel(wheel) => (&wheel.name, &wheel.version),
            DistFilename::Sdist(sdist) => (&sdist.name, &sdist.version),
        };
        let (version, requires) = self.projects[name]
            .iter()
            .find(|(listed, _)| listed == version)
            .expect("a listed version");
        // `!invalid` stands for metadata the index client cannot parse.
        if requires.contains(&"!invalid") {
            return Err(ResolveError::Index(IndexError::InvalidMetadata {
                filename: file.filename.to_string(),
                reason: "invalid `Requires-Dist` `botocore<1.4.0',`".to_string(),
            }));
        }
        Ok(Arc::new(CoreMetadata {
            name: name.clone(),
            version: version.clone(),
            requires_dist: requires
                .iter()
                .map(|text| Requirement::from_str(text).unwrap())
                .collect(),
            requires_python: None,
            provides_extras: Vec::new(),
            summary: None,
            license: None,
            home_page: None,
        }))
    }

    fn prefetch(&self, name: &PackageName, _pick: crate::lock::MetadataPick) {
        self.prefetched.borrow_mut().push(name.clone());
    }

    fn prefetch_metadata(&self, files: Vec<IndexFile>) {
        self.prefetched_metadata
            .borrow_mut()
            .extend(files.iter().map(|file| file.filename.to_string()));
    }
}

fn package_name(name: &str) -> PackageName {
    PackageName::from_str(name).unwrap()
}

/// Requirement lines; `name==1.0 --hash=FILE` stands for the sha256 of the
/// in-memory index's file `FILE`.
fn requirements(lines: &[&str]) -> Vec<SourcedRequirement> {
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let origin = Origin {
                path: PathBuf::from("requirements.in"),
                line: index + 1,
            };
            let (text, hashed_file) = match line.split_once(" --hash=") {
                Some((text, file)) => (text, Some(file)),
                None => (*line, None),
            };
            let mut sourced = SourcedRequirement::new(Requirement::from_str(text).unwrap(), origin);
            sourced.hashes = hashed_file
                .map(|file| vec![Sha256::of_bytes(file.as_bytes())])
                .unwrap_or_default();
            sourced
        })
        .collect()
}

fn el9() -> Target {
    Target::load("el9", None).unwrap()
}

fn resolve_with(
    index: &InMemoryIndex,
    lines: &[&str],
    preferences: &BTreeMap<PackageName, Version>,
) -> Result<BTreeMap<String, String>, ResolveError> {
    resolve_with_formats(index, lines, preferences, &FormatControl::default())
}

fn resolve_with_formats(
    index: &InMemoryIndex,
    lines: &[&str],
    preferences: &BTreeMap<PackageName, Version>,
    format_control: &FormatControl,
) -> Result<BTreeMap<String, String>, ResolveError> {
    let target = el9();
    let requirements = requirements(lines);
    let request = ResolveRequest {
        requirements: &requirements,
        constraints: &[],
        target: &target,
        preferences,
        wheels_only: false,
        format_control,
        prefer_binary: false,
        require_hashes: false,
        on_decision: None,
    };
    let resolution = resolve(&request, index)?;
    Ok(resolution
        .packages
        .iter()
        .map(|(name, package)| (name.to_string(), package.version.to_string()))
        .collect())
}

fn pins(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, version)| (name.to_string(), version.to_string()))
        .collect()
}

#[test]
fn picks_the_newest_versions_that_fit_and_follows_dependencies() {
    let index = InMemoryIndex::default()
        .with("web", "1.0", &["Tmpl>=2"])
        .with("web", "2.0", &["Tmpl>=3", "util; python_version < '3'"])
        .with("tmpl", "2.0", &[])
        .with("tmpl", "3.1", &[])
        .with("util", "1.0", &[]);
    let resolved = resolve_with(&index, &["web"], &BTreeMap::new()).unwrap();
    // `util` is behind a marker false for the target's Python.
    assert_eq!(resolved, pins(&[("tmpl", "3.1"), ("web", "2.0")]));
    assert_eq!(
        *index.prefetched.borrow(),
        [package_name("web"), package_name("tmpl")],
        "each dependency is announced for prefetching as it is discovered"
    );
}

#[test]
fn keeps_a_preferred_version_the_requirements_allow() {
    let index = InMemoryIndex::default()
        .with("web", "1.0", &[])
        .with("web", "2.0", &[]);
    let previous = BTreeMap::from([(package_name("web"), Version::from_str("1.0").unwrap())]);
    assert_eq!(
        resolve_with(&index, &["web"], &previous).unwrap(),
        pins(&[("web", "1.0")])
    );
    // A preference the requirements exclude gives way.
    assert_eq!(
        resolve_with(&index, &["web>1"], &previous).unwrap(),
        pins(&[("web", "2.0")])
    );
}

#[test]
fn backtracks_past_a_version_whose_dependencies_conflict() {
    let index = InMemoryIndex::default()
        .with("web", "1.0", &["tmpl<2"])
        .with("web", "2.0", &["tmpl>=5"])
        .with("tmpl", "1.5", &[])
        .with("tmpl", "4.0", &[]);
    assert_eq!(
        resolve_with(&index, &["web"], &BTreeMap::new()).unwrap(),
        pins(&[("tmpl", "1.5"), ("web", "1.0")])
    );
}

#[test]
fn a_version_with_invalid_metadata_is_skipped_not_fatal() {
    let index = InMemoryIndex::default()
        .with("boto", "1.3", &["!invalid"])
        .with("boto", "1.2", &[])
        .with("pinned", "1.0", &["boto<1.4"]);
    assert_eq!(
        resolve_with(&index, &["pinned"], &BTreeMap::new()).unwrap(),
        pins(&[("boto", "1.2"), ("pinned", "1.0")])
    );
    // When nothing else fits, the explanation says why.
    let error = resolve_with(&index, &["boto==1.3"], &BTreeMap::new()).unwrap_err();
    assert!(error.to_string().contains("invalid metadata"), "{error}");
}

/// The boto3 shape: a package released daily whose every release caps a
/// dependency that was decided first at a version above the cap. The
/// resolver must not walk the package back through its history (Zulip's
/// requirements took boto3 back to 0.0.3 that way): it decides the
/// capped dependency last instead, reading a bounded number of metadata
/// files.
#[test]
fn a_capped_dependency_decided_first_does_not_walk_a_sibling_back_through_its_history() {
    let mut index = InMemoryIndex::default()
        .with("dateutil", "2.9", &[])
        .with("dateutil", "3.0", &[])
        .with("boto", "0.1", &[]);
    let boto_requires: &'static [&'static str] = &["core", "dateutil<3"];
    for minor in 1..=300 {
        let version: &'static str = Box::leak(format!("1.{minor}").into_boxed_str());
        let core: &'static str = Box::leak(format!("core=={version}").into_boxed_str());
        let requires: &'static [&'static str] =
            Box::leak(vec![core, boto_requires[1]].into_boxed_slice());
        index = index
            .with("boto", version, requires)
            .with("core", version, &["dateutil<3"]);
    }
    let resolved = resolve_with(&index, &["dateutil", "boto"], &BTreeMap::new()).unwrap();
    assert_eq!(
        resolved,
        pins(&[("boto", "1.300"), ("core", "1.300"), ("dateutil", "2.9")])
    );
    let reads = index.metadata_reads.get();
    assert!(reads < 40, "read the metadata of {reads} versions");
}

/// Django walked back from 5.2 to 4.1 by a cap on `sqlparse`, which
/// only the oldest releases allow: no decided package to defer, a genuine
/// walk. The metadata of the versions ahead is asked for in batches, not
/// one round trip at a time, and not far past what the walk needs.
#[test]
fn a_genuine_walk_back_prefetches_the_metadata_ahead_in_batches() {
    let mut index = InMemoryIndex::default()
        .with("sqlparse", "0.3", &[])
        .with("sqlparse", "0.5", &[])
        .with("django", "4.1", &["sqlparse>=0.2"]);
    let versions: Vec<&'static str> = (1..=120)
        .map(|patch| &*Box::leak(format!("5.{patch}").into_boxed_str()))
        .collect();
    for version in &versions {
        index = index.with("django", version, &["sqlparse>=0.4"]);
    }
    let resolved = resolve_with(&index, &["django", "sqlparse<0.4"], &BTreeMap::new()).unwrap();
    assert_eq!(resolved, pins(&[("django", "4.1"), ("sqlparse", "0.3")]));
    let prefetched: BTreeSet<String> = index.prefetched_metadata.borrow().iter().cloned().collect();
    let walked = versions.len() + 1;
    assert!(
        prefetched.len() >= walked - 2 * WALK_LIMIT && prefetched.len() <= walked,
        "{} of {walked} versions prefetched",
        prefetched.len()
    );
    assert!(prefetched.contains("django-4.1-py3-none-any.whl"));
    // In a few batches, each asked for once.
    assert_eq!(index.prefetched_metadata.borrow().len(), prefetched.len());
}

#[test]
fn explains_why_there_is_no_solution() {
    let index = InMemoryIndex::default()
        .with("web", "1.0", &["tmpl>=2"])
        .with("tmpl", "1.0", &[]);
    let error = resolve_with(&index, &["web"], &BTreeMap::new()).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ResolveError::NoSolution { .. }),
        "{message}"
    );
    assert!(message.contains("tmpl"), "{message}");
    assert!(message.contains("your requirements"), "{message}");
    assert!(!message.contains("requirements 0"), "{message}");
}

#[test]
fn names_a_project_no_index_has_and_who_asked_for_it() {
    let index = InMemoryIndex::default().with("web", "1.0", &["missing-dep"]);
    let message = resolve_with(&index, &["web"], &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(message.contains("`missing-dep` was not found"), "{message}");
    assert!(message.contains("required by web"), "{message}");
}

#[test]
fn reads_the_metadata_of_each_chosen_version_once() {
    let index = InMemoryIndex::default()
        .with("web", "1.0", &["tmpl"])
        .with("web", "2.0", &["tmpl"])
        .with("tmpl", "1.0", &[]);
    resolve_with(&index, &["web"], &BTreeMap::new()).unwrap();
    assert_eq!(index.metadata_reads.get(), 2);
}

#[test]
fn only_binary_and_no_binary_select_the_files_a_version_may_come_from() {
    let index = InMemoryIndex::default()
        .with_sdist_only("web", "2.0", &[])
        .with("web", "1.0", &[]);
    let none = BTreeMap::new();
    assert_eq!(
        resolve_with(&index, &["web"], &none).unwrap(),
        pins(&[("web", "2.0")])
    );
    let mut wheels = FormatControl::default();
    wheels.add_only_binary("web").unwrap();
    assert_eq!(
        resolve_with_formats(&index, &["web"], &none, &wheels).unwrap(),
        pins(&[("web", "1.0")])
    );
    let error = resolve_with_formats(&index, &["web>1"], &none, &wheels).unwrap_err();
    assert!(
        matches!(
            &error,
            ResolveError::NoWheel {
                build_requirement: false,
                ..
            }
        ),
        "{error}"
    );
    assert!(crate::hint::Hint::hint(&error).is_some_and(|hint| hint.contains("`--only-binary`")));
    let mut sdists = FormatControl::default();
    sdists.add_no_binary(":all:").unwrap();
    let index = InMemoryIndex::default()
        .with("web", "3.0", &[])
        .with_sdist_only("web", "2.0", &[]);
    assert_eq!(
        resolve_with_formats(&index, &["web"], &none, &sdists).unwrap(),
        pins(&[("web", "2.0")])
    );
}

#[test]
fn hashes_restrict_the_files_and_every_package_needs_them() {
    let index = InMemoryIndex::default()
        .with("web", "2.0", &[])
        .with("web", "1.0", &["tmpl"])
        .with("tmpl", "1.0", &[]);
    let none = BTreeMap::new();
    // Only the file the hash names is a candidate: 1.0, not the newer 2.0.
    let resolved = resolve_with(
        &index,
        &[
            "web --hash=web-1.0-py3-none-any.whl",
            "tmpl --hash=tmpl-1.0-py3-none-any.whl",
        ],
        &none,
    )
    .unwrap();
    assert_eq!(resolved, pins(&[("tmpl", "1.0"), ("web", "1.0")]));
    // A dependency without hashes is an error in hash-checking mode.
    let error = resolve_with(&index, &["web --hash=web-1.0-py3-none-any.whl"], &none).unwrap_err();
    assert!(
        matches!(&error, ResolveError::Unhashed { names } if names == &[package_name("tmpl")]),
        "{error}"
    );
    // Hashes that match no file name the requirement's line.
    let error = resolve_with(&index, &["web --hash=web-9.9-py3-none-any.whl"], &none).unwrap_err();
    assert!(
        matches!(&error, ResolveError::HashesMatchNothing { origin, .. } if origin == "requirements.in:1"),
        "{error}"
    );
}
