//! Direct references in the lock stage: each `name @ <url>` requirement
//! made into the one file its package may come from, before the resolver
//! runs.
//!
//! Input: the requirements, the index client (downloads of archives) and
//! its cache (packed trees). Output: [`DirectPackages`]: the requirements
//! without their URLs for the resolver, a [`MetadataSource`] in which each
//! direct package has exactly its one file, and [`DirectPackages::record`]
//! to write the PEP 751 source of each into the lock.
//!
//! Invariants: a name has at most one direct source; an archive's file
//! name must be a wheel or sdist of the requirement's package (its version
//! comes from there); a directory or repository is packed into an sdist
//! whose version is the one the tree states; the lock never records a path
//! in the cache — a packed tree's sdist is dropped once its build
//! environment is locked, and `fetch` packs it again.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use pep440_rs::Version;
use pep508_rs::VersionOrUrl;
use tokio::runtime::Handle;
use url::Url;

use super::resolve::{MetadataPick, MetadataSource, ResolveError};
use super::SdistMetadataBuilder;
use super::{Lock, LockError};
use crate::direct::{
    pack_source, parse_source, DirectError, DirectSource, PackedTree, SourceArchive,
};
use crate::filename::{url_file_name, DistFilename};
use crate::index::{CoreMetadata, IndexClient, IndexFile, ProjectFiles};
use crate::name::PackageName;
use crate::requirements::SourcedRequirement;

/// Whether any requirement is a direct reference.
pub fn any_direct(requirements: &[SourcedRequirement]) -> bool {
    requirements.iter().any(|sourced| {
        matches!(
            sourced.requirement.version_or_url,
            Some(VersionOrUrl::Url(_))
        )
    })
}

/// The direct packages of one lock, by name.
#[derive(Default)]
pub struct DirectPackages {
    packages: BTreeMap<PackageName, DirectPackage>,
}

struct DirectPackage {
    source: DirectSource,
    files: Arc<ProjectFiles>,
}

impl DirectPackages {
    /// Make each direct reference among `requirements` into its file:
    /// download archives, pack directories and repositories.
    ///
    /// A tree whose version only its backend knows (`dynamic`, `setup.py`)
    /// is packed once under version 0 for `backend` to read its metadata,
    /// then again under the version it states.
    pub fn prepare(
        requirements: &[SourcedRequirement],
        client: &IndexClient,
        runtime: &Handle,
        backend: &dyn SdistMetadataBuilder,
    ) -> Result<Self, LockError> {
        let mut packages = BTreeMap::new();
        for sourced in requirements {
            let Some(VersionOrUrl::Url(url)) = &sourced.requirement.version_or_url else {
                continue;
            };
            let name = &sourced.requirement.name;
            let failed = |source: DirectError| LockError::Direct {
                package: name.clone(),
                origin: sourced.origin.to_string(),
                source: Box::new(source),
            };
            let source = parse_source(url.to_url().as_str()).map_err(failed)?;
            if let Some(DirectPackage { source: known, .. }) = packages.get(name) {
                if known != &source {
                    return Err(failed(DirectError::Unsupported {
                        url: source.requirement_url(),
                        reason: format!("`{name}` is already required from `{known}`"),
                    }));
                }
                continue;
            }
            let (source, file) = match &source {
                DirectSource::Archive { url, .. } if source.is_dist_archive() => (
                    source.clone(),
                    download_archive(name, url, client, runtime).map_err(failed)?,
                ),
                DirectSource::Archive {
                    url, subdirectory, ..
                } => {
                    let downloaded =
                        download_source_archive(url, client, runtime).map_err(failed)?;
                    let source = DirectSource::Archive {
                        url: url.clone(),
                        subdirectory: subdirectory.clone(),
                        source_archive: Some(downloaded),
                    };
                    let packed =
                        pack_tree(&source, name, client.cache(), backend).map_err(failed)?;
                    (packed.source.clone(), packed_file(&packed).map_err(failed)?)
                }
                _ => {
                    let packed =
                        pack_tree(&source, name, client.cache(), backend).map_err(failed)?;
                    (packed.source.clone(), packed_file(&packed).map_err(failed)?)
                }
            };
            let files = Arc::new(ProjectFiles::from_files(name.clone(), vec![file]));
            packages.insert(name.clone(), DirectPackage { source, files });
        }
        Ok(Self { packages })
    }

    /// The requirements with each direct reference's URL taken away: the
    /// package's one file is all the resolver can pick from. In
    /// hash-checking mode (`require_hashes`, or any `--hash`) the file's
    /// digest stands in for `--hash` values the line did not give (the
    /// source itself is the pin); given ones must match it.
    pub fn without_urls(
        &self,
        requirements: &[SourcedRequirement],
        require_hashes: bool,
    ) -> Vec<SourcedRequirement> {
        let hash_checking = require_hashes
            || requirements
                .iter()
                .any(|sourced| !sourced.hashes.is_empty());
        requirements
            .iter()
            .map(|sourced| {
                let mut sourced = sourced.clone();
                if !matches!(
                    sourced.requirement.version_or_url,
                    Some(VersionOrUrl::Url(_))
                ) {
                    return sourced;
                }
                sourced.requirement.version_or_url = None;
                let digest = self
                    .packages
                    .get(&sourced.requirement.name)
                    .and_then(|package| package.files.all_files().next())
                    .and_then(|file| file.sha256.clone());
                if let (true, Some(digest)) = (hash_checking && sourced.hashes.is_empty(), digest) {
                    sourced.hashes.push(digest);
                }
                sourced
            })
            .collect()
    }

    /// `inner`, with each direct package's page replaced by its one file.
    pub fn overlay<'a>(&'a self, inner: &'a dyn MetadataSource) -> impl MetadataSource + 'a {
        Overlay {
            direct: self,
            inner,
        }
    }

    /// Record each direct package's source in `lock`; a packed tree's
    /// sdist (a path in this machine's cache) is dropped.
    pub fn record(&self, lock: &mut Lock) {
        for package in &mut lock.packages {
            let Some(direct) = self.packages.get(&package.name) else {
                continue;
            };
            if !direct.source.is_dist_archive() {
                package.sdist = None;
            }
            package.index = None;
            package.direct = Some(direct.source.clone());
        }
    }
}

/// Pack a folder or repository under the version it states, asking its
/// backend when it states none statically.
fn pack_tree(
    source: &DirectSource,
    name: &PackageName,
    cache: &crate::cache::Cache,
    backend: &dyn SdistMetadataBuilder,
) -> Result<PackedTree, DirectError> {
    match pack_source(source, name, None, cache) {
        Err(DirectError::NoStaticVersion { path }) => {
            let provisional = pack_source(source, name, Some(&Version::new([0])), cache)?;
            let metadata = backend
                .metadata(&packed_file(&provisional)?)
                .map_err(|error| DirectError::Pack {
                    path,
                    message: format!("its build backend could not say its version: {error}"),
                })?;
            pack_source(&provisional.source, name, Some(&metadata.version), cache)
        }
        other => other,
    }
}

/// A packed tree as the index file the resolver picks.
fn packed_file(packed: &PackedTree) -> Result<IndexFile, DirectError> {
    let url = Url::from_file_path(&packed.path).map_err(|()| DirectError::Missing {
        path: packed.path.clone(),
    })?;
    Ok(local_file(
        packed.filename.clone(),
        url,
        packed.sha256.clone(),
        packed.size,
    ))
}

/// Download a source archive into the cache, as it is.
fn download_source_archive(
    url: &Url,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<SourceArchive, DirectError> {
    let filename = url_file_name(url).unwrap_or_else(|| "archive".to_string());
    let (sha256, size) = download(url, &filename, client, runtime)?;
    Ok(SourceArchive {
        filename,
        sha256,
        size,
    })
}

/// Download (or copy, for `file://`) an archive into the cache; its file
/// name says which package and version it is.
fn download_archive(
    name: &PackageName,
    url: &Url,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<IndexFile, DirectError> {
    let unsupported = |reason: String| DirectError::Unsupported {
        url: url.to_string(),
        reason,
    };
    let last = url_file_name(url).unwrap_or_default();
    let filename = DistFilename::from_str(&last).map_err(|_| {
        unsupported(format!(
            "`{last}` is not a wheel or sdist file name (`name-version.tar.gz`, `.zip` or `.whl`)"
        ))
    })?;
    if filename.name() != name {
        return Err(unsupported(format!(
            "`{last}` is a file of `{}`, not of `{name}`",
            filename.name()
        )));
    }
    let (sha256, size) = download(url, &last, client, runtime)?;
    Ok(local_file(filename, url.clone(), sha256, size))
}

/// Download (or copy, for `file://`) `url` into the cache as `filename`;
/// its digest and size.
fn download(
    url: &Url,
    filename: &str,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<(crate::hash::Sha256, u64), DirectError> {
    let (sha256, path) = runtime
        .block_on(client.store_unverified(url, filename))
        .map_err(|error| DirectError::Download {
            url: url.to_string(),
            message: error.to_string(),
        })?;
    let size = std::fs::metadata(&path)
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    Ok((sha256, size))
}

fn local_file(
    filename: DistFilename,
    url: Url,
    sha256: crate::hash::Sha256,
    size: u64,
) -> IndexFile {
    IndexFile {
        filename,
        url,
        index: None,
        sha256: Some(sha256),
        size: Some(size),
        upload_time: None,
        requires_python: None,
        yanked: None,
        has_core_metadata: false,
    }
}

struct Overlay<'a> {
    direct: &'a DirectPackages,
    inner: &'a dyn MetadataSource,
}

impl MetadataSource for Overlay<'_> {
    fn project(&self, name: &PackageName) -> Result<Arc<ProjectFiles>, ResolveError> {
        match self.direct.packages.get(name) {
            Some(package) => Ok(Arc::clone(&package.files)),
            None => self.inner.project(name),
        }
    }

    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, ResolveError> {
        self.inner.metadata(file)
    }

    fn prefetch(&self, name: &PackageName, pick: MetadataPick) {
        if !self.direct.packages.contains_key(name) {
            self.inner.prefetch(name, pick);
        }
    }

    fn prefetch_metadata(&self, files: Vec<IndexFile>) {
        self.inner.prefetch_metadata(files);
    }
}
