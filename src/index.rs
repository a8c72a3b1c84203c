//! The async package-index client: simple-API pages, core metadata, downloads.
//!
//! Input: [`IndexSettings`] (index URLs, find-links, offline, exclude-newer),
//! a [`Cache`] and a [`Reporter`]. Output: the files of a project
//! ([`IndexClient::project`]), the core metadata of one file
//! ([`IndexClient::metadata`]) and verified artifacts in the cache
//! ([`IndexClient::download`]).
//!
//! Invariants:
//! - async lives here and in [`crate::fetch`] only; [`IndexClient`] is
//!   `Clone + Send + Sync + 'static` and every future it returns is `Send`,
//!   so sync callers can `block_on` it and `tokio::spawn` prefetches;
//! - concurrent calls for the same project, metadata or download share one
//!   piece of work (memoised in memory; errors are not memoised);
//! - credentials never leave [`credentials`]: [`IndexFile::url`],
//!   [`IndexFile::index`] and every error carry URLs without them;
//! - offline, no socket is ever opened: the HTTP client is not even built.
//!
//! Strategy: like uv's default `first-index`, the first index that knows a
//! project provides all of its files; find-links files are added to them.
//! `exclude_newer` applies to index files (files without an upload time are
//! dropped when it is set); find-links files are local choices and are kept.

mod artifacts;
mod credentials;
mod dns;
mod egg_info;
mod error;
mod find_links;
mod http;
mod metadata;
mod page_files;
mod pages;
mod project_files;
pub(crate) mod sdist;
mod simple;
mod tee;
#[cfg(test)]
mod tests;
mod wheel;

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use pep440_rs::VersionSpecifiers;
use tokio::sync::OnceCell;
use url::Url;

pub use credentials::{redact, redact_credentials, strip_credentials};
pub use error::IndexError;
pub use http::HttpOptions;
pub use metadata::{CoreMetadata, Headers};
pub use project_files::{ProjectFiles, Release};
pub use tee::{byte_tee, ArrivingBytes, ByteTee};

use crate::cache::Cache;
use crate::filename::DistFilename;
use crate::hash::Sha256;
use crate::name::PackageName;
use crate::progress::Reporter;
use credentials::Credentials;
use find_links::FindLinks;
use pages::Page;

/// The index used when none is given and `--no-index` is not set.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";

/// Where packages come from and how.
#[derive(Clone, Default)]
pub struct IndexSettings {
    /// The first is the primary index; empty (without `no_index`) means
    /// [`DEFAULT_INDEX_URL`]. May carry credentials (`https://user:pass@host/simple`).
    pub index_urls: Vec<String>,
    pub no_index: bool,
    /// Local folders (path or `file://` URL) or `http(s)` URLs of an HTML page of links.
    pub find_links: Vec<String>,
    /// Never open a socket; serve from the cache or fail naming what is missing.
    pub offline: bool,
    /// Drop index files uploaded after this (and those without an upload time).
    pub exclude_newer: Option<jiff::Timestamp>,
}

impl std::fmt::Debug for IndexSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |urls: &[String]| urls.iter().map(|url| redact(url)).collect::<Vec<_>>();
        formatter
            .debug_struct("IndexSettings")
            .field("index_urls", &redacted(&self.index_urls))
            .field("no_index", &self.no_index)
            .field("find_links", &redacted(&self.find_links))
            .field("offline", &self.offline)
            .field("exclude_newer", &self.exclude_newer)
            .finish()
    }
}

/// One distribution file as an index (or find-links location) lists it.
#[derive(Clone, Debug)]
pub struct IndexFile {
    pub filename: DistFilename,
    /// Absolute, without credentials (auth is attached per request by host).
    pub url: Url,
    /// The simple-API base URL it came from, credentials removed; `None` for find-links.
    pub index: Option<String>,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    pub upload_time: Option<jiff::Timestamp>,
    pub requires_python: Option<VersionSpecifiers>,
    /// `Some(reason)` (maybe empty) when yanked; the resolver decides what that means.
    pub yanked: Option<String>,
    /// The index serves PEP 658 metadata at `<url>.metadata`.
    pub has_core_metadata: bool,
}

/// A handle on the index client; cheap to clone.
#[derive(Clone)]
pub struct IndexClient {
    inner: Arc<Inner>,
}

struct Inner {
    indexes: Vec<Index>,
    find_links: Vec<(FindLinks, OnceCell<Arc<Vec<IndexFile>>>)>,
    exclude_newer: Option<jiff::Timestamp>,
    cache: Cache,
    http: http::Http,
    reporter: Arc<dyn Reporter>,
    projects: Memo<PackageName, Arc<ProjectFiles>>,
    metadata: Memo<String, Arc<CoreMetadata>>,
    downloads: Memo<(Sha256, String), std::path::PathBuf>,
    /// Hosts that ignored a `Range` header once: download from them directly.
    no_range_hosts: Mutex<HashSet<String>>,
}

/// One configured index.
struct Index {
    /// Without credentials, path ending in `/` so project names join below it.
    base: Url,
    /// As reported in [`IndexFile::index`]: without credentials or trailing `/`.
    name: String,
}

impl Index {
    fn parse(raw: &str) -> Result<(Self, Url), IndexError> {
        let invalid = |reason: String| IndexError::InvalidIndexUrl {
            url: redact(raw),
            reason,
        };
        let url = match Url::parse(raw) {
            Ok(url) => url,
            Err(error) => match std::path::Path::new(raw).is_dir() {
                // A local folder laid out as a simple index (e.g. `fetch --export`).
                true => std::fs::canonicalize(raw)
                    .ok()
                    .and_then(|path| Url::from_directory_path(path).ok())
                    .ok_or_else(|| invalid("not an absolute folder".into()))?,
                false => return Err(invalid(error.to_string())),
            },
        };
        if !matches!(url.scheme(), "http" | "https" | "file") {
            return Err(invalid(format!(
                "the scheme `{}` is not supported (use http, https or file)",
                url.scheme()
            )));
        }
        let mut base = strip_credentials(&url);
        base.set_fragment(None);
        base.set_query(None);
        let name = base.as_str().trim_end_matches('/').to_string();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok((Self { base, name }, url))
    }

    fn project_url(&self, name: &PackageName) -> Url {
        // Normalised names are `[a-z0-9-]+`, so joining cannot escape the base.
        self.base
            .join(&format!("{name}/"))
            .unwrap_or_else(|_| self.base.clone())
    }
}

/// Shared, in-flight-deduplicated results by key.
struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V> Memo<K, V> {
    fn new() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }

    fn cell(&self, key: &K) -> Arc<OnceCell<V>> {
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(cells.entry(key.clone()).or_default())
    }

    /// Whether `key` was asked for (its value may still be on the way).
    fn is_asked(&self, key: &K) -> bool {
        let cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        cells.contains_key(key)
    }
}

impl IndexClient {
    /// A client with HTTP options from the environment ([`HttpOptions::from_env`]).
    pub fn new(
        settings: IndexSettings,
        cache: Cache,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Self, IndexError> {
        Self::with_http_options(settings, cache, reporter, HttpOptions::from_env())
    }

    pub fn with_http_options(
        settings: IndexSettings,
        cache: Cache,
        reporter: Arc<dyn Reporter>,
        options: HttpOptions,
    ) -> Result<Self, IndexError> {
        let raw_indexes: Vec<&str> = match (settings.no_index, settings.index_urls.is_empty()) {
            (true, _) => Vec::new(),
            (false, true) => vec![DEFAULT_INDEX_URL],
            (false, false) => settings.index_urls.iter().map(String::as_str).collect(),
        };
        let mut indexes = Vec::new();
        let mut login_urls = Vec::new();
        for raw in raw_indexes {
            let (index, url) = Index::parse(raw)?;
            indexes.push(index);
            login_urls.push(url);
        }
        let mut find_links = Vec::new();
        for raw in &settings.find_links {
            let (location, url) = FindLinks::parse(raw)?;
            find_links.push((location, OnceCell::new()));
            login_urls.extend(url);
        }
        let mut credentials = Credentials::from_urls(&login_urls);
        if let Some(path) = Credentials::default_netrc_path() {
            if let Err(error) = credentials.add_netrc(&path) {
                reporter.warn(&crate::hint::Hint::with_hint(&error));
            }
        }
        let http = http::Http::new(
            settings.offline,
            credentials,
            options,
            Arc::clone(&reporter),
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                indexes,
                find_links,
                exclude_newer: settings.exclude_newer,
                cache,
                http,
                reporter,
                projects: Memo::new(),
                metadata: Memo::new(),
                downloads: Memo::new(),
                no_range_hosts: Mutex::new(HashSet::new()),
            }),
        })
    }

    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    /// Where progress and warnings go.
    pub fn reporter(&self) -> &dyn Reporter {
        &*self.inner.reporter
    }

    pub fn is_offline(&self) -> bool {
        self.inner.http.is_offline()
    }

    /// The configured index URLs without credentials, primary first, as
    /// [`IndexFile::index`] spells them.
    pub fn index_urls(&self) -> Vec<String> {
        self.inner
            .indexes
            .iter()
            .map(|index| index.name.clone())
            .collect()
    }

    /// All files of a project across versions: the first index that knows
    /// it, plus find-links. Unknown everywhere → `Ok` with no files.
    pub async fn project(&self, name: &PackageName) -> Result<Arc<ProjectFiles>, IndexError> {
        let cell = self.inner.projects.cell(name);
        cell.get_or_try_init(|| self.load_project(name))
            .await
            .map(Arc::clone)
    }

    async fn load_project(&self, name: &PackageName) -> Result<Arc<ProjectFiles>, IndexError> {
        let mut project = self.index_project(name).await?;
        for position in 0..self.inner.find_links.len() {
            let listed = self.find_links_files(position).await?;
            project.add_files(
                listed
                    .iter()
                    .filter(|file| file.filename.name() == name)
                    .cloned(),
            );
        }
        Ok(Arc::new(project))
    }

    /// The files of the first index whose page for `name` exists.
    async fn index_project(&self, name: &PackageName) -> Result<ProjectFiles, IndexError> {
        for index in &self.inner.indexes {
            let url = index.project_url(name);
            let page = pages::fetch_page(&self.inner.http, &self.inner.cache, &url, simple::ACCEPT)
                .await
                .map_err(|error| match error {
                    IndexError::Offline { url } => IndexError::OfflineProject {
                        package: name.clone(),
                        url,
                    },
                    other => other,
                })?;
            if let Page::Found(files) = page {
                return Ok(ProjectFiles::from_page(
                    name.clone(),
                    files,
                    &index.name,
                    self.inner.exclude_newer,
                ));
            }
        }
        Ok(ProjectFiles::from_files(name.clone(), Vec::new()))
    }

    /// Every file of find-links location number `position`, listed once.
    async fn find_links_files(&self, position: usize) -> Result<Arc<Vec<IndexFile>>, IndexError> {
        let (location, cell) = &self.inner.find_links[position];
        cell.get_or_try_init(|| async {
            let files = match location {
                FindLinks::Local(path) if path.is_dir() => {
                    let (path, cache) = (path.clone(), self.inner.cache.clone());
                    tokio::task::spawn_blocking(move || find_links::list_folder(&path, &cache))
                        .await
                        .map_err(|error| IndexError::Task(error.to_string()))??
                }
                FindLinks::Local(path) => {
                    let url = std::fs::canonicalize(path)
                        .ok()
                        .and_then(|path| Url::from_file_path(path).ok())
                        .ok_or_else(|| IndexError::InvalidFindLinks {
                            location: location.describe(),
                            reason: "no such folder or file".into(),
                        })?;
                    self.find_links_page(location, &url).await?
                }
                FindLinks::Remote(url) => self.find_links_page(location, url).await?,
            };
            Ok(Arc::new(files))
        })
        .await
        .map(Arc::clone)
    }

    async fn find_links_page(
        &self,
        location: &FindLinks,
        url: &Url,
    ) -> Result<Vec<IndexFile>, IndexError> {
        let page = pages::fetch_page(&self.inner.http, &self.inner.cache, url, "text/html")
            .await
            .map_err(|error| match error {
                IndexError::InvalidPage { reason, .. } => IndexError::InvalidFindLinks {
                    location: location.describe(),
                    reason,
                },
                other => other,
            })?;
        match page {
            Page::Found(files) => Ok(files.all_files()),
            Page::NotFound => Err(IndexError::InvalidFindLinks {
                location: location.describe(),
                reason: "the page does not exist".into(),
            }),
        }
    }
}
