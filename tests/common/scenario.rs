//! Scenarios: fixture projects described in TOML, turned into real files.
//!
//! Input: `test-data/index/packages.toml` (or any text with the same schema)
//! plus server options. Output: [`Artifact`]s — wheels, sdists and their
//! PEP 658 metadata — with sha256, size, upload time, yanked state and where
//! they are published (the index, a `--find-links` folder, or both).
//!
//! Invariants: generation is deterministic (same description → same bytes →
//! same hashes); every version gets the same core metadata in its wheels,
//! its `.metadata` file and (when static) its sdist's `PKG-INFO`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use sha2::Digest;

use super::dist::{distribution_name, normalize_name, CoreMetadata, SdistBuilder, WheelBuilder};

pub const FIXTURE_BACKEND: &str = include_str!("fixture_backend.py");
const DEFAULT_UPLOAD_TIME: &str = "2024-01-01T00:00:00.000000Z";

/// The whole description file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub project: Vec<ProjectSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// As the project spells it (`Zope.Shim`); the index normalises it.
    pub name: String,
    #[serde(default)]
    pub version: Vec<VersionSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VersionSpec {
    pub version: String,
    /// PEP 508 strings, markers allowed.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// `Provides-Extra` name → its requirements.
    #[serde(default)]
    pub extras: BTreeMap<String, Vec<String>>,
    pub requires_python: Option<String>,
    /// Wheel tag triples; `[]` for an sdist-only version.
    #[serde(default = "default_wheels")]
    pub wheels: Vec<String>,
    #[serde(default)]
    pub sdist: SdistKind,
    /// Yank reason; `""` yanks without a reason.
    pub yanked: Option<String>,
    /// RFC 3339, as PyPI writes it.
    #[serde(default = "default_upload_time")]
    pub upload_time: String,
    /// Whether the index serves PEP 658 `.metadata` for the wheels.
    #[serde(default = "default_true")]
    pub metadata_file: bool,
    #[serde(default)]
    pub location: Location,
    /// The sdist's `[build-system].requires`.
    #[serde(default)]
    pub build_requires: Vec<String>,
    /// What the sdist's backend answers to `get_requires_for_build_wheel`.
    #[serde(default)]
    pub backend_requires: Vec<String>,
}

fn default_wheels() -> Vec<String> {
    vec!["py3-none-any".to_string()]
}

fn default_upload_time() -> String {
    DEFAULT_UPLOAD_TIME.to_string()
}

fn default_true() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SdistKind {
    #[default]
    None,
    /// `PKG-INFO` with Metadata-Version 2.2 and every field static.
    Static,
    /// `PKG-INFO` declaring `Dynamic: Requires-Dist`; the real metadata comes
    /// from the in-tree backend's `prepare_metadata_for_build_wheel`.
    Dynamic,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Location {
    #[default]
    Index,
    FindLinks,
    Both,
}

impl Location {
    pub fn on_index(self) -> bool {
        matches!(self, Self::Index | Self::Both)
    }

    pub fn in_find_links(self) -> bool {
        matches!(self, Self::FindLinks | Self::Both)
    }
}

/// How the loopback server behaves (all switchable per test).
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Serve PEP 691 JSON when asked; off → HTML only.
    pub json: bool,
    /// Honour `Range` on files.
    pub range: bool,
    /// File URLs absolute (`http://127.0.0.1:port/files/…`, like PyPI) or
    /// relative to the project page (`../../files/…`).
    pub absolute_urls: bool,
    /// Require HTTP basic auth with this user and password on every path.
    pub basic_auth: Option<(String, String)>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            json: true,
            range: true,
            absolute_urls: true,
            basic_auth: None,
        }
    }
}

/// Projects plus server behaviour.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub projects: Vec<ProjectSpec>,
    pub options: ServerOptions,
    /// Files built by a test itself (any content), served after the
    /// generated ones.
    pub prebuilt: Vec<Artifact>,
}

impl Default for Scenario {
    /// The shared fixture set in `test-data/index/packages.toml`.
    fn default() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test-data/index/packages.toml");
        let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"));
        Self::from_toml(&text)
    }
}

impl Scenario {
    /// An index with no projects (every page is a 404).
    pub fn empty() -> Self {
        Self {
            projects: Vec::new(),
            options: ServerOptions::default(),
            prebuilt: Vec::new(),
        }
    }

    pub fn from_toml(text: &str) -> Self {
        let file: ScenarioFile =
            toml::from_str(text).unwrap_or_else(|error| panic!("scenario description: {error}"));
        Self {
            projects: file.project,
            options: ServerOptions::default(),
            prebuilt: Vec::new(),
        }
    }

    /// Add the projects of another description (same schema).
    pub fn with_projects(mut self, text: &str) -> Self {
        self.projects.extend(Self::from_toml(text).projects);
        self
    }

    /// Serve a file a test built itself (e.g. a wheel with a compiled
    /// extension) on the index.
    pub fn with_artifact(mut self, artifact: Artifact) -> Self {
        self.prebuilt.push(artifact);
        self
    }

    pub fn html_only(mut self) -> Self {
        self.options.json = false;
        self
    }

    pub fn without_range(mut self) -> Self {
        self.options.range = false;
        self
    }

    pub fn relative_urls(mut self) -> Self {
        self.options.absolute_urls = false;
        self
    }

    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.options.basic_auth = Some((user.to_string(), password.to_string()));
        self
    }

    /// Every file of every version, in description order.
    pub fn generate(&self) -> Vec<Artifact> {
        self.projects
            .iter()
            .flat_map(|project| {
                project
                    .version
                    .iter()
                    .flat_map(move |version| generate_version(&project.name, version))
            })
            .chain(self.prebuilt.iter().cloned())
            .collect()
    }
}

/// One generated file and how it is published.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// Display name (`Zope.Shim`).
    pub project: String,
    /// PEP 503 name (`zope-shim`).
    pub normalized: String,
    pub version: String,
    pub filename: String,
    pub bytes: Arc<Vec<u8>>,
    pub sha256: String,
    pub requires_python: Option<String>,
    pub yanked: Option<String>,
    pub upload_time: String,
    /// PEP 658 metadata served at `<url>.metadata`, when any.
    pub metadata: Option<Arc<Vec<u8>>>,
    pub location: Location,
    /// The size the index states, when it lies about it.
    pub stated_size: Option<u64>,
}

impl Artifact {
    /// The size the index states (PEP 700 `size`).
    pub fn size(&self) -> u64 {
        self.stated_size.unwrap_or(self.bytes.len() as u64)
    }

    pub fn is_wheel(&self) -> bool {
        self.filename.ends_with(".whl")
    }

    pub fn metadata_sha256(&self) -> Option<String> {
        self.metadata.as_ref().map(|bytes| sha256_hex(bytes))
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The core metadata every file of this version shares.
fn core_metadata(name: &str, spec: &VersionSpec) -> CoreMetadata {
    let mut metadata = CoreMetadata::new(name, &spec.version);
    metadata.summary = Some(format!("{name} fixture for the vendor tests"));
    metadata.requires_python = spec.requires_python.clone();
    metadata.requires_dist = spec.dependencies.clone();
    for (extra, requirements) in &spec.extras {
        metadata.provides_extra.push(extra.clone());
        for requirement in requirements {
            metadata
                .requires_dist
                .push(with_extra_marker(requirement, extra));
        }
    }
    metadata
}

/// `redis>=4` + `redis` → `redis>=4; extra == "redis"`, keeping an existing marker.
fn with_extra_marker(requirement: &str, extra: &str) -> String {
    match requirement.split_once(';') {
        Some((base, marker)) => format!(
            "{}; ({}) and extra == \"{extra}\"",
            base.trim(),
            marker.trim()
        ),
        None => format!("{}; extra == \"{extra}\"", requirement.trim()),
    }
}

fn module_name(name: &str) -> String {
    distribution_name(name)
}

fn module_source(name: &str, version: &str) -> String {
    format!("\"\"\"{name} fixture.\"\"\"\n__version__ = \"{version}\"\n")
}

fn generate_version(name: &str, spec: &VersionSpec) -> Vec<Artifact> {
    let metadata = core_metadata(name, spec);
    let module = module_name(name);
    let source = module_source(name, &spec.version);
    let mut artifacts = Vec::new();
    for tag in &spec.wheels {
        let wheel = WheelBuilder::new(name, &spec.version, tag)
            .metadata(&metadata)
            .file(&format!("{module}/__init__.py"), source.clone());
        let served_metadata = spec.metadata_file.then(|| Arc::new(wheel.metadata_bytes()));
        artifacts.push(artifact(
            name,
            spec,
            wheel.filename(),
            wheel.build(),
            served_metadata,
        ));
    }
    if spec.sdist != SdistKind::None {
        let sdist = build_sdist(name, spec, &metadata, &module, &source);
        artifacts.push(artifact(name, spec, sdist.filename(), sdist.build(), None));
    }
    artifacts
}

fn build_sdist(
    name: &str,
    spec: &VersionSpec,
    metadata: &CoreMetadata,
    module: &str,
    source: &str,
) -> SdistBuilder {
    let mut pkg_info = metadata.clone();
    pkg_info.metadata_version = "2.2".to_string();
    if spec.sdist == SdistKind::Dynamic {
        pkg_info.dynamic = vec!["Requires-Dist".to_string()];
        pkg_info.requires_dist.clear();
        if !spec.extras.is_empty() {
            pkg_info.dynamic.push("Provides-Extra".to_string());
            pkg_info.provides_extra.clear();
        }
    }
    let mut sdist = SdistBuilder::new(name, &spec.version)
        .pkg_info(&pkg_info)
        .file("pyproject.toml", pyproject(name, spec))
        .file("fixture_backend.py", FIXTURE_BACKEND)
        .file("_fixture/METADATA", metadata.render())
        .file(&format!("{module}/__init__.py"), source.to_string());
    if !spec.backend_requires.is_empty() {
        let lines: String = spec
            .backend_requires
            .iter()
            .map(|requirement| format!("{requirement}\n"))
            .collect();
        sdist = sdist.file("_fixture/BACKEND_REQUIRES", lines);
    }
    sdist
}

fn toml_string_list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|value| format!("{value:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fn pyproject(name: &str, spec: &VersionSpec) -> String {
    let mut text = format!(
        "[build-system]\nrequires = {}\nbuild-backend = \"fixture_backend\"\nbackend-path = [\".\"]\n\n",
        toml_string_list(&spec.build_requires)
    );
    text.push_str(&format!(
        "[project]\nname = {name:?}\nversion = {:?}\n",
        spec.version
    ));
    if let Some(requires_python) = &spec.requires_python {
        text.push_str(&format!("requires-python = {requires_python:?}\n"));
    }
    if spec.sdist == SdistKind::Dynamic {
        text.push_str("dynamic = [\"dependencies\", \"optional-dependencies\"]\n");
        return text;
    }
    text.push_str(&format!(
        "dependencies = {}\n",
        toml_string_list(&spec.dependencies)
    ));
    if !spec.extras.is_empty() {
        text.push_str("\n[project.optional-dependencies]\n");
        for (extra, requirements) in &spec.extras {
            text.push_str(&format!("{extra} = {}\n", toml_string_list(requirements)));
        }
    }
    text
}

fn artifact(
    name: &str,
    spec: &VersionSpec,
    filename: String,
    bytes: Vec<u8>,
    metadata: Option<Arc<Vec<u8>>>,
) -> Artifact {
    Artifact {
        project: name.to_string(),
        normalized: normalize_name(name),
        version: spec.version.clone(),
        filename,
        sha256: sha256_hex(&bytes),
        bytes: Arc::new(bytes),
        requires_python: spec.requires_python.clone(),
        yanked: spec.yanked.clone(),
        upload_time: spec.upload_time.clone(),
        metadata,
        location: spec.location,
        stated_size: None,
    }
}
