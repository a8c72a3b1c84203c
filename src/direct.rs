//! Direct references: a package named by where it is, not by an index —
//! `name @ https://…/x-1.0.tar.gz`, `name @ file:///srv/x`, `-e ./x`,
//! `name @ git+https://host/repo@v1.0`.
//!
//! Input: the URL of a requirement. Output: a [`DirectSource`] (what
//! PEP 751 records: `archive`, `directory` or `vcs`) and, on this machine,
//! an artifact in the cache the rest of the pipeline treats like any file
//! of an index ([`DirectArtifact`]): an archive as it was downloaded, a
//! directory or a VCS checkout packed into an sdist ([`pack`]).
//!
//! Invariants: a VCS source is pinned to a full commit id, resolved once
//! at lock time ([`git`]); packing a tree is deterministic (sorted entries,
//! fixed times, owners and modes), so the same commit always gives the
//! same sdist bytes and sha256; a directory is read as it is when locked
//! or built (PEP 751 records no hash for it); nothing here uses the
//! network except `git` and the index client's download of an archive.

pub mod git;
pub mod pack;
pub mod scm_version;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use url::Url;

use crate::cache::{Bucket, Cache};
use crate::filename::{url_file_name, DistFilename};
use crate::hash::Sha256;
use crate::name::PackageName;

/// Where a directly referenced package comes from (PEP 751 `archive`,
/// `directory` or `vcs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectSource {
    /// An archive at a URL (`https://` or `file://`). A wheel or sdist
    /// (its file name says so, no subdirectory) is the package's one
    /// artifact, as from an index. Any other — a forge's
    /// `…/archive/<commit>.zip`, or one with `#subdirectory=` — is a
    /// *source archive*: downloaded, unpacked and packed into an sdist like
    /// a directory.
    Archive {
        url: Url,
        subdirectory: Option<String>,
        /// A source archive's file, once downloaded (at lock time) or as
        /// the lock records it.
        source_archive: Option<SourceArchive>,
    },
    /// A source tree on this machine, absolute.
    Directory { path: PathBuf, editable: bool },
    /// A git repository at one commit.
    Vcs(VcsSource),
}

/// The downloaded file of a source archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceArchive {
    /// The last part of the URL, the file's name in the cache.
    pub filename: String,
    pub sha256: Sha256,
    pub size: u64,
}

/// A git repository pinned to a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcsSource {
    /// The repository, without `git+`, revision or fragment.
    pub url: Url,
    /// The revision as the requirement named it (`v1.0`, a branch), if any.
    pub requested_revision: Option<String>,
    /// The full commit id; empty only before [`git::resolve_commit`].
    pub commit: String,
    /// The project's folder inside the repository, if not its root.
    pub subdirectory: Option<String>,
}

impl DirectSource {
    /// Whether this is a wheel or sdist used as it is (not a tree to pack).
    pub fn is_dist_archive(&self) -> bool {
        match self {
            Self::Archive {
                url, subdirectory, ..
            } => {
                subdirectory.is_none()
                    && url_file_name(url).is_some_and(|name| DistFilename::from_str(&name).is_ok())
            }
            _ => false,
        }
    }

    /// The PEP 751 name of the source kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Archive { .. } => "archive",
            Self::Directory { .. } => "directory",
            Self::Vcs(_) => "vcs",
        }
    }

    /// The URL a requirement writes for this source (`name @ <this>`).
    pub fn requirement_url(&self) -> String {
        match self {
            Self::Archive {
                url, subdirectory, ..
            } => match subdirectory {
                Some(subdirectory) => format!("{url}#subdirectory={subdirectory}"),
                None => url.to_string(),
            },
            Self::Directory { path, .. } => Url::from_directory_path(path)
                .map(|url| url.to_string().trim_end_matches('/').to_string())
                .unwrap_or_else(|()| path.display().to_string()),
            Self::Vcs(vcs) => {
                let mut text = format!("git+{}", vcs.url);
                if let Some(revision) = &vcs.requested_revision {
                    text.push('@');
                    text.push_str(revision);
                }
                if let Some(subdirectory) = &vcs.subdirectory {
                    text.push_str("#subdirectory=");
                    text.push_str(subdirectory);
                }
                text
            }
        }
    }
}

impl fmt::Display for DirectSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vcs(vcs) if !vcs.commit.is_empty() => {
                write!(formatter, "{} ({})", self.requirement_url(), vcs.commit)
            }
            _ => formatter.write_str(&self.requirement_url()),
        }
    }
}

/// Errors reading a direct reference or materialising its source.
#[derive(Debug, thiserror::Error)]
pub enum DirectError {
    #[error("`{url}` is not a source vendor can use: {reason}")]
    Unsupported { url: String, reason: String },
    #[error("`{}` does not exist", .path.display())]
    Missing { path: PathBuf },
    #[error("cannot download `{url}`: {message}")]
    Download { url: String, message: String },
    #[error("`git {args}` failed for `{url}`: {message}")]
    Git {
        url: String,
        args: String,
        message: String,
    },
    #[error("cannot pack `{}`: {message}", .path.display())]
    Pack { path: PathBuf, message: String },
    /// Handled by the caller, which asks the tree's build backend.
    #[error("`{}` states no version vendor can read without building it", .path.display())]
    NoStaticVersion { path: PathBuf },
    #[error("`{}` is the project `{found}`, but the requirement names `{expected}`", .path.display())]
    WrongName {
        path: PathBuf,
        expected: PackageName,
        found: PackageName,
    },
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
}

impl crate::hint::Hint for DirectError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Unsupported { .. } => Some("vendor reads `https://` and `file://` archives (wheels and sdists), local folders, and `git+…` repositories".to_string()),
            Self::Missing { .. } => Some("paths in requirement files are relative to the file's folder".to_string()),
            Self::Download { .. } => Some("check that this machine reaches it; or download it elsewhere and require it as `name @ file:///path/to/archive`".to_string()),
            Self::Git { .. } => Some("check that the repository and revision exist and that `git` can reach them from this machine".to_string()),
            Self::WrongName { found, .. } => Some(format!("name it `{found}` in the requirement")),
            Self::Pack { .. } | Self::Cache(_) | Self::NoStaticVersion { .. } => None,
        }
    }
}

/// Read the URL of a requirement as a direct source. `git+…` is a VCS
/// source (`@rev` and `#subdirectory=` as pip reads them); `file://` a
/// directory or an archive; `http(s)://` an archive.
pub fn parse_source(raw: &str) -> Result<DirectSource, DirectError> {
    let unsupported = |reason: &str| DirectError::Unsupported {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    if let Some(rest) = raw.strip_prefix("git+") {
        return parse_vcs(rest).map_err(|reason| unsupported(&reason));
    }
    if ["hg+", "svn+", "bzr+"]
        .iter()
        .any(|prefix| raw.starts_with(prefix))
    {
        return Err(unsupported("only git repositories are supported"));
    }
    let mut url = Url::parse(raw).map_err(|error| unsupported(&error.to_string()))?;
    let subdirectory = subdirectory_of(&url);
    if let Some(subdirectory) = &subdirectory {
        if subdirectory.split('/').any(|part| part == "..") {
            return Err(unsupported("`subdirectory` must stay inside the archive"));
        }
    }
    url.set_fragment(None);
    let archive = |url: Url| DirectSource::Archive {
        url,
        subdirectory: subdirectory.clone(),
        source_archive: None,
    };
    match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|()| unsupported("not a local path"))?;
            if path.is_dir() {
                Ok(DirectSource::Directory {
                    path,
                    editable: false,
                })
            } else if path.is_file() {
                Ok(archive(url))
            } else {
                Err(DirectError::Missing { path })
            }
        }
        "http" | "https" => Ok(archive(url)),
        other => Err(unsupported(&format!("the `{other}` scheme"))),
    }
}

/// `#…&subdirectory=pkg&…` of a URL, as pip reads it.
fn subdirectory_of(url: &Url) -> Option<String> {
    url.fragment().and_then(|fragment| {
        fragment.split('&').find_map(|pair| {
            pair.strip_prefix("subdirectory=")
                .map(|value| value.trim_matches('/').to_string())
        })
    })
}

/// `https://host/repo.git@v1.0#subdirectory=pkg` (after `git+`).
fn parse_vcs(rest: &str) -> Result<DirectSource, String> {
    let mut url = Url::parse(rest).map_err(|error| error.to_string())?;
    let subdirectory = subdirectory_of(&url);
    url.set_fragment(None);
    // The revision follows the last `@` of the path (`user@host` is before it).
    let path = url.path().to_string();
    let (path, requested_revision) = match path.rsplit_once('@') {
        Some((path, revision)) if !revision.is_empty() && !revision.contains('/') => {
            (path.to_string(), Some(revision.to_string()))
        }
        _ => (path, None),
    };
    url.set_path(&path);
    if !matches!(url.scheme(), "https" | "http" | "ssh" | "file" | "git") {
        return Err(format!("git over `{}` is not supported", url.scheme()));
    }
    if let Some(subdirectory) = &subdirectory {
        if subdirectory.split('/').any(|part| part == "..") {
            return Err("`subdirectory` must stay inside the repository".to_string());
        }
    }
    Ok(DirectSource::Vcs(VcsSource {
        url,
        requested_revision,
        commit: String::new(),
        subdirectory,
    }))
}

/// A directory or repository packed into an sdist in the cache.
#[derive(Clone, Debug)]
pub struct PackedTree {
    /// The source, a VCS one with its commit resolved.
    pub source: DirectSource,
    pub version: Version,
    pub path: PathBuf,
    pub filename: DistFilename,
    pub sha256: Sha256,
    pub size: u64,
}

/// Pack a directory, or a repository at its commit, into an sdist in the
/// cache. `version` is the locked one; at lock time (`None`) it is what
/// the tree states ([`pack::static_version`]). A repository at a known
/// commit is cloned once: the cache remembers which sdist it gave.
pub fn pack_source(
    source: &DirectSource,
    name: &PackageName,
    version: Option<&Version>,
    cache: &Cache,
) -> Result<PackedTree, DirectError> {
    match source {
        DirectSource::Archive {
            url,
            subdirectory,
            source_archive,
        } => {
            let Some(file) = source_archive
                .as_ref()
                .filter(|_| !source.is_dist_archive())
            else {
                return Err(DirectError::Unsupported {
                    url: url.to_string(),
                    reason: "a wheel or sdist is used as it is, not packed".to_string(),
                });
            };
            let path = cache
                .find_artifact(&file.sha256, &file.filename)
                .ok_or_else(|| DirectError::Missing {
                    path: cache.artifact_path(&file.sha256, &file.filename),
                })?;
            let scratch = scratch_folder(cache, "archive-")?;
            let tree = crate::pep517::unpack_sdist(&path, &scratch.path().join("tree")).map_err(
                |error| DirectError::Pack {
                    path: path.clone(),
                    message: error.to_string(),
                },
            )?;
            let folder = match subdirectory {
                Some(subdirectory) => tree.root.join(subdirectory),
                None => tree.root.clone(),
            };
            pack_folder(source.clone(), &folder, name, version, cache)
        }
        DirectSource::Directory { path, .. } => {
            pack_folder(source.clone(), path, name, version, cache)
        }
        DirectSource::Vcs(vcs) => {
            if let Some(packed) = version.and_then(|version| cached_pack(vcs, name, version, cache))
            {
                return Ok(packed);
            }
            let scratch = scratch_folder(cache, "vcs-")?;
            let checkout = scratch.path().join("checkout");
            let commit = git::checkout(vcs, &checkout)?;
            let resolved = VcsSource {
                commit,
                ..vcs.clone()
            };
            let folder = match &resolved.subdirectory {
                Some(subdirectory) => checkout.join(subdirectory),
                None => checkout.clone(),
            };
            let packed = pack_folder(
                DirectSource::Vcs(resolved.clone()),
                &folder,
                name,
                version,
                cache,
            )?;
            let record = format!("{} {}", packed.sha256, packed.filename);
            // A failed write only costs a clone next time.
            let _ = cache.write_entry(Bucket::Sources, &commit_key(&resolved), record.as_bytes());
            Ok(packed)
        }
    }
}

/// A folder in the cache's temp area, removed when dropped.
fn scratch_folder(cache: &Cache, prefix: &str) -> Result<tempfile::TempDir, DirectError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(cache.root().join("tmp"))
        .map_err(|error| DirectError::Pack {
            path: cache.root().join("tmp"),
            message: error.to_string(),
        })
}

/// The sdist an earlier run packed from this commit, if still cached.
pub fn cached_pack(
    vcs: &VcsSource,
    name: &PackageName,
    version: &Version,
    cache: &Cache,
) -> Option<PackedTree> {
    if vcs.commit.is_empty() {
        return None;
    }
    let record = cache.read_entry(Bucket::Sources, &commit_key(vcs))?;
    let record = String::from_utf8(record).ok()?;
    let (sha256, filename) = record.split_once(' ')?;
    if filename != pack::sdist_filename(name, version) {
        return None;
    }
    let sha256 = Sha256::from_str(sha256).ok()?;
    let path = cache.find_artifact(&sha256, filename)?;
    Some(PackedTree {
        source: DirectSource::Vcs(vcs.clone()),
        version: version.clone(),
        size: std::fs::metadata(&path).ok()?.len(),
        filename: DistFilename::from_str(filename).ok()?,
        path,
        sha256,
    })
}

/// `ab/cdef…`: the sha256 of repository, commit and subdirectory.
fn commit_key(vcs: &VcsSource) -> String {
    let text = format!(
        "{}\n{}\n{}",
        vcs.url,
        vcs.commit,
        vcs.subdirectory.as_deref().unwrap_or_default()
    );
    crate::cache::sharded_key(&Sha256::of_bytes(text.as_bytes()))
}

fn pack_folder(
    source: DirectSource,
    folder: &Path,
    name: &PackageName,
    version: Option<&Version>,
    cache: &Cache,
) -> Result<PackedTree, DirectError> {
    if !folder.is_dir() {
        return Err(DirectError::Missing {
            path: folder.to_path_buf(),
        });
    }
    if let Some(found) = pack::static_name(folder) {
        if &found != name {
            return Err(DirectError::WrongName {
                path: folder.to_path_buf(),
                expected: name.clone(),
                found,
            });
        }
    }
    let version = match version {
        Some(version) => version.clone(),
        None => pack::static_version(folder)
            .or_else(|| {
                scm_version::takes_version_from_git(folder)
                    .then(|| scm_version::git_version(folder))
                    .flatten()
            })
            .ok_or_else(|| DirectError::NoStaticVersion {
                path: folder.to_path_buf(),
            })?,
    };
    let bytes = pack::pack_tree(folder, name, &version)?;
    let filename = pack::sdist_filename(name, &version);
    let (sha256, path) = cache.store_artifact_bytes(&filename, &bytes)?;
    Ok(PackedTree {
        source,
        version,
        size: bytes.len() as u64,
        filename: DistFilename::from_str(&filename).map_err(|error| DirectError::Pack {
            path: folder.to_path_buf(),
            message: error.to_string(),
        })?,
        path,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_git_references_as_pip_does() {
        let source =
            parse_source("git+https://example.org/org/repo.git@v1.2#egg=x&subdirectory=pkg/")
                .unwrap();
        let DirectSource::Vcs(vcs) = &source else {
            panic!("{source:?}")
        };
        assert_eq!(vcs.url.as_str(), "https://example.org/org/repo.git");
        assert_eq!(vcs.requested_revision.as_deref(), Some("v1.2"));
        assert_eq!(vcs.subdirectory.as_deref(), Some("pkg"));
        assert_eq!(
            source.requirement_url(),
            "git+https://example.org/org/repo.git@v1.2#subdirectory=pkg"
        );
        let ssh = parse_source("git+ssh://git@example.org/repo.git").unwrap();
        let DirectSource::Vcs(vcs) = ssh else {
            panic!()
        };
        assert_eq!(vcs.url.as_str(), "ssh://git@example.org/repo.git");
        assert_eq!(vcs.requested_revision, None);
    }

    #[test]
    fn tells_folders_from_archives_and_refuses_the_rest() {
        let folder = tempfile::tempdir().unwrap();
        let url = Url::from_directory_path(folder.path()).unwrap();
        assert!(matches!(
            parse_source(url.as_str()).unwrap(),
            DirectSource::Directory { .. }
        ));
        let archive = folder.path().join("x-1.0.tar.gz");
        std::fs::write(&archive, b"").unwrap();
        let url = Url::from_file_path(&archive).unwrap();
        assert!(matches!(
            parse_source(url.as_str()).unwrap(),
            DirectSource::Archive { .. }
        ));
        let missing = Url::from_file_path(folder.path().join("gone")).unwrap();
        assert!(matches!(
            parse_source(missing.as_str()),
            Err(DirectError::Missing { .. })
        ));
        for refused in [
            "hg+https://example.org/repo",
            "ftp://example.org/x.tar.gz",
            "git+https://example.org/repo@v1#subdirectory=../up",
        ] {
            assert!(
                matches!(parse_source(refused), Err(DirectError::Unsupported { .. })),
                "{refused}"
            );
        }
    }
}
