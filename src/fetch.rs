//! The fetch stage: [`Lock`] → every artifact `vendor build` will use, verified, in the cache.
//!
//! Input: a lock, the target's [`Tags`], the lock's [`BuildPlan`] and an
//! [`IndexClient`]. Output: a [`FetchReport`] (cache paths, what was
//! downloaded) and, with `--export DIR`, a folder usable as `--find-links`
//! and as a PEP 503 index (`DIR/simple/`).
//!
//! Invariants:
//! - the artifacts are, per package, the best wheel for the target, else the
//!   sdist, plus the sdist of every package the [`BuildPlan`] builds from
//!   source, plus the build host's wheel of every build package (every
//!   listed wheel when the host is unknown);
//! - every artifact is checked against the lock's sha256: by the client as
//!   it downloads, and here when it was already cached (a damaged cache
//!   entry is named); the [`FetchReport`] hands the checked paths to the
//!   next stage, which neither looks them up nor hashes them again;
//! - failures are collected, not short-circuited: one error lists every
//!   artifact missing offline, or every download that failed (hash
//!   mismatches included), after all other downloads finished;
//! - offline, nothing but the cache is consulted, whatever the client is;
//! - export files are written to a temp name in the folder and renamed into
//!   place, so an interrupted export never leaves a half file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::StreamExt;

use crate::direct::{pack_source, DirectError, DirectSource};
use crate::hash::{file_digest, Sha256};
use crate::index::{IndexClient, IndexError};
use crate::lock::{BuildPlan, Lock, LockedArtifact, LockedPackage};
use crate::name::PackageName;
use crate::targets::Tags;

/// How to fetch.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// Only check the cache; never use the network.
    pub offline: bool,
    /// Also write the artifacts to this folder (find-links + `simple/` tree).
    pub export: Option<PathBuf>,
    /// Downloads in flight at once (at least 1).
    pub jobs: usize,
}

/// One artifact, now in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedArtifact {
    pub package: PackageName,
    pub filename: String,
    /// Its sha256, as locked and as checked.
    pub sha256: Sha256,
    /// Its path in the cache.
    pub path: PathBuf,
    /// False when it was already cached.
    pub downloaded: bool,
}

/// What a fetch did; artifacts sorted by package, then file name.
#[derive(Clone, Debug, Default)]
pub struct FetchReport {
    pub artifacts: Vec<FetchedArtifact>,
    pub downloaded_bytes: u64,
    /// The sdists packed from the lock's directories and repositories, by
    /// package; their files are among `artifacts`.
    pub packed: BTreeMap<PackageName, LockedArtifact>,
}

impl FetchReport {
    /// The cached file of the artifact with this digest, when it was fetched.
    pub fn path_of(&self, sha256: &Sha256) -> Option<&Path> {
        self.artifacts
            .iter()
            .find(|artifact| artifact.sha256 == *sha256)
            .map(|artifact| artifact.path.as_path())
    }

    /// The sdist packed from `package`'s directory or repository.
    pub fn packed_sdist(&self, package: &PackageName) -> Option<&LockedArtifact> {
        self.packed.get(package)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{} locked package(s) have no artifact usable on this target: {}", .packages.len(), .packages.join(", "))]
    NoArtifact { packages: Vec<String> },

    #[error("{} artifact(s) are not in the cache:\n{}", .artifacts.len(), bullet_list(.artifacts))]
    Missing { artifacts: Vec<String> },

    #[error("{} artifact(s) could not be fetched:\n{}", .failures.len(), describe_failures(.failures))]
    Failed { failures: Vec<IndexError> },

    #[error("`{filename}` in the cache has sha256 {actual}, but the lock says {expected}")]
    Damaged {
        filename: String,
        path: PathBuf,
        expected: Sha256,
        actual: Sha256,
    },

    #[error("`{package}`: {source}")]
    Direct {
        package: PackageName,
        #[source]
        source: DirectError,
    },

    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write the export folder `{path}`: {source}")]
    Export {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl crate::hint::Hint for FetchError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Failed { failures } => Some(failure_hint(failures)),
            Self::NoArtifact { .. } => Some("the lock was made for another target or Python; run `vendor lock` again for this one".to_string()),
            Self::Missing { .. } => Some("run `vendor fetch` without `--offline` on a machine with network access (or copy a `vendor fetch --export` folder here and lock with `--find-links`)".to_string()),
            Self::Damaged { path, .. } => Some(format!("the cache entry is damaged; delete `{}` and run `vendor fetch`", path.display())),
            Self::Export { .. } => Some("pass `--export` a folder you can write to".to_string()),
            Self::Direct { source, .. } => source.hint(),
            _ => None,
        }
    }
}

fn bullet_list(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| format!("  - {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per failure: the first line of each error (its hint is shared).
fn describe_failures(failures: &[IndexError]) -> String {
    let lines: Vec<String> = failures
        .iter()
        .map(|error| {
            let text = error.to_string();
            text.lines().next().unwrap_or_default().to_string()
        })
        .collect();
    bullet_list(&lines)
}

fn failure_hint(failures: &[IndexError]) -> String {
    use crate::hint::Hint;
    if let Some(disk_full) = failures.iter().find_map(|error| {
        error
            .hint()
            .filter(|hint| hint == crate::hint::CACHE_DISK_FULL)
    }) {
        disk_full
    } else if failures
        .iter()
        .any(|error| matches!(error, IndexError::HashMismatch { .. }))
    {
        "a file changed on the index since it was locked; nothing of it was kept. Run `vendor lock --upgrade-package NAME` if the change is legitimate".to_string()
    } else {
        "check the network and the index; `vendor fetch` again resumes where this one stopped"
            .to_string()
    }
}

/// One artifact to fetch.
struct Wanted<'a> {
    package: &'a LockedPackage,
    artifact: &'a LockedArtifact,
    /// A wheel of a build environment, not of the application.
    build_requirement: bool,
}

impl Wanted<'_> {
    /// `` `setuptools` 80.9.0 (`setuptools-80.9.0-py3-none-any.whl`, build requirement) ``
    fn describe(&self) -> String {
        let role = match self.build_requirement {
            true => ", build requirement",
            false => "",
        };
        format!(
            "`{}` {} (`{}`{role})",
            self.package.name, self.package.version, self.artifact.filename
        )
    }
}

/// Fetch every artifact `vendor build` will use (see the module documentation).
///
/// `build_host` are the tags of the build host's interpreter of the
/// target's `X.Y`: of each build package, only the best wheel for it is
/// fetched (every listed wheel when `None` or when none fits).
pub async fn fetch(
    lock: &Lock,
    tags: &Tags,
    build_host: Option<&Tags>,
    plan: &BuildPlan,
    client: &IndexClient,
    options: &FetchOptions,
) -> Result<FetchReport, FetchError> {
    let packed = pack_trees(lock, client, options.offline).await?;
    let with_packed = with_packed_sdists(lock, &packed);
    let lock = with_packed.as_ref().unwrap_or(lock);
    let wanted = wanted_artifacts(lock, tags, build_host, plan)?;
    if options.offline || client.is_offline() {
        check_all_cached(&wanted, client)?;
    }
    let mut fetched = download_all(&wanted, client, options.jobs).await?;
    let checked = fetched.clone();
    tokio::task::spawn_blocking(move || check_cached(&checked))
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))?;
    if let Some(folder) = &options.export {
        export_all(&wanted, &fetched, folder).await?;
    }
    let downloaded_bytes = fetched
        .iter()
        .filter(|artifact| artifact.downloaded)
        .filter_map(|artifact| std::fs::metadata(&artifact.path).ok())
        .map(|metadata| metadata.len())
        .sum();
    fetched.sort_by(|left, right| {
        (&left.package, &left.filename).cmp(&(&right.package, &right.filename))
    });
    Ok(FetchReport {
        artifacts: fetched,
        downloaded_bytes,
        packed,
    })
}

/// Each directory and repository of the lock packed into an sdist in the
/// cache (a repository at its locked commit). Offline, a repository must
/// have been packed by an earlier run.
async fn pack_trees(
    lock: &Lock,
    client: &IndexClient,
    offline: bool,
) -> Result<BTreeMap<PackageName, LockedArtifact>, FetchError> {
    let trees: Vec<(PackageName, pep440_rs::Version, DirectSource)> = lock
        .packages
        .iter()
        .filter_map(|package| match &package.direct {
            Some(source) if !source.is_dist_archive() => Some((
                package.name.clone(),
                package.version.clone(),
                source.clone(),
            )),
            _ => None,
        })
        .collect();
    if trees.is_empty() {
        return Ok(BTreeMap::new());
    }
    let offline = offline || client.is_offline();
    download_source_archives(&trees, client, offline).await?;
    let cache = client.cache().clone();
    tokio::task::spawn_blocking(move || {
        let mut packed = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, version, source) in trees {
            let cached = match &source {
                DirectSource::Vcs(vcs) if offline => {
                    match crate::direct::cached_pack(vcs, &name, &version, &cache) {
                        Some(tree) => Some(tree),
                        None => {
                            missing.push(format!("`{name}` {version} (`{source}`)"));
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let tree = match cached {
                Some(tree) => tree,
                None => pack_source(&source, &name, Some(&version), &cache).map_err(|source| {
                    FetchError::Direct {
                        package: name.clone(),
                        source,
                    }
                })?,
            };
            let url = url::Url::from_file_path(&tree.path).map_err(|()| FetchError::Read {
                path: tree.path.clone(),
                source: std::io::Error::other("not an absolute path"),
            })?;
            let artifact = LockedArtifact {
                filename: tree.filename,
                url,
                size: Some(tree.size),
                upload_time: None,
                sha256: tree.sha256,
            };
            packed.insert(name, artifact);
        }
        if missing.is_empty() {
            Ok(packed)
        } else {
            Err(FetchError::Missing { artifacts: missing })
        }
    })
    .await
    .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
}

/// The files of the source archives among `trees`, into the cache
/// (checked against the lock's sha256); offline, they must be there.
async fn download_source_archives(
    trees: &[(PackageName, pep440_rs::Version, DirectSource)],
    client: &IndexClient,
    offline: bool,
) -> Result<(), FetchError> {
    let mut missing = Vec::new();
    let mut failures = Vec::new();
    for (name, version, source) in trees {
        let DirectSource::Archive {
            url,
            source_archive: Some(file),
            ..
        } = source
        else {
            continue;
        };
        if offline {
            if client
                .cache()
                .find_artifact(&file.sha256, &file.filename)
                .is_none()
            {
                missing.push(format!("`{name}` {version} (`{source}`)"));
            }
            continue;
        }
        if let Err(error) = client.download(url, &file.filename, &file.sha256).await {
            failures.push(error);
        }
    }
    if !missing.is_empty() {
        return Err(FetchError::Missing { artifacts: missing });
    }
    if !failures.is_empty() {
        return Err(FetchError::Failed { failures });
    }
    Ok(())
}

/// `lock` with each packed tree as its package's sdist, so that the rest
/// of the stage handles it as any other; `None` when nothing was packed.
fn with_packed_sdists(lock: &Lock, packed: &BTreeMap<PackageName, LockedArtifact>) -> Option<Lock> {
    if packed.is_empty() {
        return None;
    }
    let mut lock = lock.clone();
    for package in &mut lock.packages {
        if let Some(artifact) = packed.get(&package.name) {
            package.sdist = Some(artifact.clone());
        }
    }
    Some(lock)
}

/// Offline: every wanted artifact is in the cache, else all that are not
/// are named at once.
fn check_all_cached(wanted: &[Wanted<'_>], client: &IndexClient) -> Result<(), FetchError> {
    let cache = client.cache();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|item| {
            cache
                .find_artifact(&item.artifact.sha256, item.artifact.filename.as_str())
                .is_none()
        })
        .map(Wanted::describe)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(FetchError::Missing { artifacts: missing })
    }
}

/// Each wanted artifact from the cache or the index, `jobs` at a time, in
/// `wanted`'s order; every failure is collected after the rest finished.
async fn download_all(
    wanted: &[Wanted<'_>],
    client: &IndexClient,
    jobs: usize,
) -> Result<Vec<FetchedArtifact>, FetchError> {
    let reporter = client.reporter();
    reporter.stage_started("downloading", wanted.len() as u64);
    // `buffered` keeps `wanted`'s order, so results line up with it.
    let results: Vec<Result<FetchedArtifact, IndexError>> = futures::stream::iter(wanted)
        .map(|item| async move {
            let result = fetch_one(client, item).await;
            reporter.stage_advanced(item.artifact.filename.as_str());
            result
        })
        .buffered(jobs.max(1))
        .collect()
        .await;
    reporter.stage_finished();
    let mut fetched = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(artifact) => fetched.push(artifact),
            Err(error) => failures.push(error),
        }
    }
    if failures.is_empty() {
        Ok(fetched)
    } else {
        Err(FetchError::Failed { failures })
    }
}

/// `--export DIR`: the fetched artifacts as a find-links folder and a PEP
/// 503 tree (`fetched` lines up with `wanted`).
async fn export_all(
    wanted: &[Wanted<'_>],
    fetched: &[FetchedArtifact],
    folder: &Path,
) -> Result<(), FetchError> {
    let files = wanted
        .iter()
        .zip(fetched)
        .map(|(item, artifact)| ExportedFile {
            package: item.package.name.clone(),
            requires_python: item
                .package
                .requires_python
                .as_ref()
                .map(ToString::to_string),
            filename: artifact.filename.clone(),
            sha256: item.artifact.sha256.to_string(),
            path: artifact.path.clone(),
        })
        .collect();
    let owned_folder = folder.to_path_buf();
    tokio::task::spawn_blocking(move || export(&owned_folder, files))
        .await
        .map_err(|error| FetchError::Export {
            path: folder.to_path_buf(),
            source: std::io::Error::other(error.to_string()),
        })?
}

/// Per package: the preferred artifact, plus the sdist when built from
/// source; then the wheels of the build packages.
fn wanted_artifacts<'a>(
    lock: &'a Lock,
    tags: &Tags,
    build_host: Option<&Tags>,
    plan: &BuildPlan,
) -> Result<Vec<Wanted<'a>>, FetchError> {
    let mut wanted = Vec::new();
    let mut unusable = Vec::new();
    for package in &lock.packages {
        let Some(preferred) = package.preferred_artifact(tags) else {
            unusable.push(format!("`{}` {}", package.name, package.version));
            continue;
        };
        wanted.push(Wanted {
            package,
            artifact: preferred,
            build_requirement: false,
        });
        if let Some(sdist) = package.sdist.as_ref().filter(|sdist| {
            plan.builds_from_source(&package.name) && sdist.sha256 != preferred.sha256
        }) {
            wanted.push(Wanted {
                package,
                artifact: sdist,
                build_requirement: false,
            });
        }
    }
    for package in &lock.build_packages {
        let best = build_host.and_then(|host| package.best_wheel(host));
        let wheels = match best {
            Some(best) => std::slice::from_ref(best),
            None => package.wheels.as_slice(),
        };
        wanted.extend(wheels.iter().map(|artifact| Wanted {
            package,
            artifact,
            build_requirement: true,
        }));
    }
    if unusable.is_empty() {
        Ok(wanted)
    } else {
        Err(FetchError::NoArtifact { packages: unusable })
    }
}

async fn fetch_one(client: &IndexClient, item: &Wanted<'_>) -> Result<FetchedArtifact, IndexError> {
    let artifact = item.artifact;
    let filename = artifact.filename.as_str();
    let cached = client.cache().find_artifact(&artifact.sha256, filename);
    let downloaded = cached.is_none();
    let path = match cached {
        Some(path) => path,
        None => {
            client
                .download(&artifact.url, filename, &artifact.sha256)
                .await?
        }
    };
    Ok(FetchedArtifact {
        package: item.package.name.clone(),
        filename: filename.to_string(),
        sha256: artifact.sha256.clone(),
        path,
        downloaded,
    })
}

/// Files already in the cache still have the locked digest (a download was
/// checked as it arrived). The digest is remembered for the process, so the
/// stages after this one, which key their caches by it, do not hash again.
fn check_cached(fetched: &[FetchedArtifact]) -> Result<(), FetchError> {
    for artifact in fetched.iter().filter(|artifact| !artifact.downloaded) {
        let actual = file_digest(&artifact.path).map_err(|source| FetchError::Read {
            path: artifact.path.clone(),
            source,
        })?;
        if actual != artifact.sha256 {
            return Err(FetchError::Damaged {
                filename: artifact.filename.clone(),
                path: artifact.path.clone(),
                expected: artifact.sha256.clone(),
                actual,
            });
        }
    }
    Ok(())
}

/// What [`export`] writes for one artifact.
struct ExportedFile {
    package: PackageName,
    requires_python: Option<String>,
    filename: String,
    sha256: String,
    path: PathBuf,
}

/// Write the artifacts flat into `folder`, plus `simple/index.html` and
/// `simple/<name>/index.html` (PEP 503, links with `#sha256=`).
fn export(folder: &Path, files: Vec<ExportedFile>) -> Result<(), FetchError> {
    let error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FetchError::Export { path, source }
    };
    std::fs::create_dir_all(folder).map_err(error(folder))?;
    for file in &files {
        place_file(&file.path, &folder.join(&file.filename)).map_err(error(folder))?;
    }
    let mut packages: Vec<&PackageName> = files.iter().map(|file| &file.package).collect();
    packages.sort();
    packages.dedup();
    let simple = folder.join("simple");
    let root_links: String = packages
        .iter()
        .map(|name| format!("    <a href=\"{name}/\">{name}</a><br/>\n"))
        .collect();
    write_atomically(
        &simple.join("index.html"),
        &html_document("Simple index", &root_links),
    )
    .map_err(error(&simple))?;
    for name in packages {
        let links: String = files
            .iter()
            .filter(|file| &file.package == name)
            .map(project_link)
            .collect();
        let page = simple.join(name.as_ref()).join("index.html");
        write_atomically(&page, &html_document(&format!("Links for {name}"), &links))
            .map_err(error(&page))?;
    }
    Ok(())
}

fn project_link(file: &ExportedFile) -> String {
    let href = percent_encoding::utf8_percent_encode(&file.filename, HREF_ESCAPES);
    let requires_python = file
        .requires_python
        .as_deref()
        .map(|specifiers| {
            format!(
                " data-requires-python=\"{}\"",
                html_escape::encode_double_quoted_attribute(specifiers)
            )
        })
        .unwrap_or_default();
    format!(
        "    <a href=\"../../{href}#sha256={}\"{requires_python}>{}</a><br/>\n",
        file.sha256,
        html_escape::encode_text(&file.filename)
    )
}

/// Characters escaped in a file name used as a relative link.
const HREF_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn html_document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n  <head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>{}</title></head>\n  <body>\n{body}  </body>\n</html>\n",
        html_escape::encode_text(title)
    )
}

/// Hard-link (else copy) `source` to a temp name beside `destination`, then
/// rename it into place.
fn place_file(source: &Path, destination: &Path) -> std::io::Result<()> {
    let folder = destination.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".vendor-export-")
        .tempfile_in(folder)?
        .into_temp_path();
    // The temp name is ours; replace the empty file with a link or a copy.
    std::fs::remove_file(&temp)?;
    if std::fs::hard_link(source, &temp).is_err() {
        std::fs::copy(source, &temp)?;
    }
    make_readable(&temp)?;
    temp.persist(destination).map_err(|error| error.error)?;
    Ok(())
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".vendor-export-")
        .tempfile_in(folder)?;
    temp.write_all(text.as_bytes())?;
    make_readable(temp.path())?;
    temp.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Temp files are created private (0600); an export is meant to be served
/// or shared, so its files are world-readable like any download.
fn make_readable(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::hint::Hint;
    use std::str::FromStr;
    use std::sync::Arc;

    use pep440_rs::Version;
    use url::Url;

    use super::*;
    use crate::cache::Cache;
    use crate::hash::Sha256;
    use crate::index::{IndexFile, IndexSettings};
    use crate::lock::LockOptions;
    use crate::progress::SilentReporter;

    /// Files on disk standing in for an index; artifacts point at them by `file://` URL.
    struct Fixture {
        files: tempfile::TempDir,
        cache: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                files: tempfile::tempdir().unwrap(),
                cache: tempfile::tempdir().unwrap(),
            }
        }

        /// An artifact whose bytes are its own name; `corrupt` locks a wrong digest.
        fn artifact(&self, filename: &str, corrupt: bool) -> LockedArtifact {
            let path = self.files.path().join(filename);
            std::fs::write(&path, filename.as_bytes()).unwrap();
            let digest = match corrupt {
                true => Sha256::of_bytes(b"something else"),
                false => Sha256::of_bytes(filename.as_bytes()),
            };
            LockedArtifact {
                filename: filename.parse().unwrap(),
                url: Url::from_file_path(&path).unwrap(),
                size: Some(filename.len() as u64),
                upload_time: None,
                sha256: digest,
            }
        }

        fn client(&self, settings: IndexSettings) -> IndexClient {
            let cache = Cache::open(self.cache.path()).unwrap();
            IndexClient::new(settings, cache, Arc::new(SilentReporter)).unwrap()
        }

        fn offline_client(&self) -> IndexClient {
            self.client(IndexSettings {
                no_index: true,
                offline: true,
                ..IndexSettings::default()
            })
        }

        fn online_client(&self) -> IndexClient {
            self.client(IndexSettings {
                no_index: true,
                ..IndexSettings::default()
            })
        }
    }

    fn package(
        name: &str,
        sdist: Option<LockedArtifact>,
        wheels: Vec<LockedArtifact>,
    ) -> LockedPackage {
        LockedPackage {
            name: PackageName::from_str(name).unwrap(),
            version: Version::from_str("1.0").unwrap(),
            index: None,
            requires_python: Some(">=3.8".parse().unwrap()),
            sdist,
            wheels,
            dependencies: Vec::new(),
            build: None,
            direct: None,
        }
    }

    fn lock(packages: Vec<LockedPackage>) -> Lock {
        Lock {
            packages,
            build_packages: Vec::new(),
            options: LockOptions {
                target: "el9".into(),
                arch: "x86_64".into(),
                python: Version::from_str("3.11.9").unwrap(),
                requirements: Vec::new(),
                constraints: Vec::new(),
                index_urls: Vec::new(),
                find_links: Vec::new(),
                exclude_newer: None,
                format_control: Default::default(),
                prefer_binary: false,
                require_hashes: false,
            },
        }
    }

    fn tags() -> Tags {
        Tags::for_cpython((3, 11), &["manylinux_2_17_x86_64".to_string()])
    }

    fn sample_lock(fixture: &Fixture) -> Lock {
        lock(vec![
            package(
                "alpha",
                Some(fixture.artifact("alpha-1.0.tar.gz", false)),
                vec![
                    fixture.artifact("alpha-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", false),
                    fixture.artifact("alpha-1.0-py3-none-any.whl", false),
                ],
            ),
            package(
                "beta",
                Some(fixture.artifact("beta-1.0.tar.gz", false)),
                Vec::new(),
            ),
            package(
                "gamma",
                Some(fixture.artifact("gamma-1.0.tar.gz", false)),
                vec![fixture.artifact("gamma-1.0-py3-none-any.whl", false)],
            ),
        ])
    }

    fn options(export: Option<PathBuf>) -> FetchOptions {
        FetchOptions {
            offline: false,
            export,
            jobs: 4,
        }
    }

    /// `fetch` for the target with `plan`, no build host and no export.
    async fn fetch_for_target(
        lock: &Lock,
        plan: &BuildPlan,
        client: &IndexClient,
    ) -> Result<FetchReport, FetchError> {
        fetch(lock, &tags(), None, plan, client, &options(None)).await
    }

    /// The plan when the project lists `gamma` under `[build] from-source`.
    fn gamma_from_source(lock: &Lock) -> BuildPlan {
        let policies = crate::policy::Policies::load(None).unwrap();
        let configured =
            std::collections::BTreeSet::from([PackageName::from_str("gamma").unwrap()]);
        BuildPlan::for_lock(lock, &tags(), &policies, &configured)
    }

    #[tokio::test]
    async fn a_damaged_cache_entry_is_named_not_handed_on() {
        let fixture = Fixture::new();
        let lock = sample_lock(&fixture);
        let client = fixture.online_client();
        let plan = BuildPlan::default();
        let report = fetch_for_target(&lock, &plan, &client).await.unwrap();
        let damaged = &report.artifacts[0];
        std::fs::write(&damaged.path, b"flipped").unwrap();
        let error = fetch_for_target(&lock, &plan, &client).await.unwrap_err();
        match error {
            FetchError::Damaged { filename, path, .. } => {
                assert_eq!(filename, damaged.filename);
                assert_eq!(path, damaged.path);
            }
            other => panic!("expected a damaged cache entry, got {other}"),
        }
    }

    #[tokio::test]
    async fn fetches_what_the_build_uses_once() {
        let fixture = Fixture::new();
        let lock = sample_lock(&fixture);
        let client = fixture.online_client();
        let report = fetch_for_target(&lock, &gamma_from_source(&lock), &client)
            .await
            .unwrap();
        let names: Vec<&str> = report
            .artifacts
            .iter()
            .map(|artifact| artifact.filename.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "alpha-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                "beta-1.0.tar.gz",
                "gamma-1.0-py3-none-any.whl",
                "gamma-1.0.tar.gz",
            ]
        );
        assert!(report.artifacts.iter().all(|artifact| artifact.downloaded));
        let expected_bytes: u64 = names.iter().map(|name| name.len() as u64).sum();
        assert_eq!(report.downloaded_bytes, expected_bytes);
        for artifact in &report.artifacts {
            assert_eq!(
                std::fs::read(&artifact.path).unwrap(),
                artifact.filename.as_bytes()
            );
        }

        let again = fetch_for_target(&lock, &gamma_from_source(&lock), &client)
            .await
            .unwrap();
        assert!(again.artifacts.iter().all(|artifact| !artifact.downloaded));
        assert_eq!(again.downloaded_bytes, 0);
        // Offline now succeeds from the cache alone.
        let offline = fixture.offline_client();
        fetch_for_target(&lock, &gamma_from_source(&lock), &offline)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn offline_lists_every_missing_artifact() {
        let fixture = Fixture::new();
        let lock = sample_lock(&fixture);
        let client = fixture.offline_client();
        let error = fetch_for_target(&lock, &gamma_from_source(&lock), &client)
            .await
            .unwrap_err();
        let FetchError::Missing { artifacts } = &error else {
            panic!("{error}")
        };
        assert_eq!(artifacts.len(), 4);
        let message = error.with_hint();
        assert!(
            message.starts_with("4 artifact(s) are not in the cache"),
            "{message}"
        );
        assert!(
            message.contains("`beta` 1.0 (`beta-1.0.tar.gz`)"),
            "{message}"
        );
        assert!(message.contains("hint:"));
        // `options.offline` alone is enough, even with an online client.
        let online = fixture.online_client();
        let offline_options = FetchOptions {
            offline: true,
            ..options(None)
        };
        let error = fetch(
            &lock,
            &tags(),
            None,
            &BuildPlan::default(),
            &online,
            &offline_options,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, FetchError::Missing { artifacts } if artifacts.len() == 3));
    }

    #[tokio::test]
    async fn reports_every_hash_mismatch_and_keeps_nothing_bad() {
        let fixture = Fixture::new();
        let lock = lock(vec![
            package(
                "alpha",
                Some(fixture.artifact("alpha-1.0.tar.gz", true)),
                Vec::new(),
            ),
            package(
                "beta",
                Some(fixture.artifact("beta-1.0.tar.gz", false)),
                Vec::new(),
            ),
            package(
                "gamma",
                Some(fixture.artifact("gamma-1.0.tar.gz", true)),
                Vec::new(),
            ),
        ]);
        let client = fixture.online_client();
        let error = fetch_for_target(&lock, &BuildPlan::default(), &client)
            .await
            .unwrap_err();
        let FetchError::Failed { failures } = &error else {
            panic!("{error}")
        };
        assert_eq!(failures.len(), 2);
        assert!(failures
            .iter()
            .all(|failure| matches!(failure, IndexError::HashMismatch { .. })));
        let message = error.with_hint();
        assert!(message.contains("alpha-1.0.tar.gz") && message.contains("gamma-1.0.tar.gz"));
        assert!(message.contains("hint:"));
        let cache = client.cache();
        assert!(cache
            .find_artifact(&Sha256::of_bytes(b"alpha-1.0.tar.gz"), "alpha-1.0.tar.gz")
            .is_none());
        assert!(cache
            .find_artifact(&Sha256::of_bytes(b"beta-1.0.tar.gz"), "beta-1.0.tar.gz")
            .is_some());
    }

    #[tokio::test]
    async fn refuses_a_lock_without_usable_artifacts() {
        let fixture = Fixture::new();
        let lock = lock(vec![package(
            "winonly",
            None,
            vec![fixture.artifact("winonly-1.0-cp311-cp311-win_amd64.whl", false)],
        )]);
        let error = fetch_for_target(&lock, &BuildPlan::default(), &fixture.online_client())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FetchError::NoArtifact { packages } if packages == &["`winonly` 1.0"])
        );
    }

    #[tokio::test]
    async fn exports_a_find_links_folder_and_a_simple_index() {
        let fixture = Fixture::new();
        let lock = sample_lock(&fixture);
        let export_folder = tempfile::tempdir().unwrap();
        let export = export_folder.path().join("wheelhouse");
        let client = fixture.online_client();
        fetch(
            &lock,
            &tags(),
            None,
            &gamma_from_source(&lock),
            &client,
            &options(Some(export.clone())),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read(export.join("beta-1.0.tar.gz")).unwrap(),
            b"beta-1.0.tar.gz"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [
                "beta-1.0.tar.gz",
                "simple/index.html",
                "simple/beta/index.html",
            ] {
                let mode = std::fs::metadata(export.join(file))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o644, "{file}");
            }
        }
        let root = std::fs::read_to_string(export.join("simple/index.html")).unwrap();
        assert!(root.contains("<a href=\"gamma/\">gamma</a>"), "{root}");
        let leftovers = std::fs::read_dir(&export)
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(leftovers, 0);

        // The export reads back as find-links and as a file:// index.
        let gamma_name = PackageName::from_str("gamma").unwrap();
        for settings in [
            IndexSettings {
                no_index: true,
                find_links: vec![export.display().to_string()],
                ..IndexSettings::default()
            },
            IndexSettings {
                index_urls: vec![Url::from_directory_path(export.join("simple"))
                    .unwrap()
                    .to_string()],
                offline: true,
                ..IndexSettings::default()
            },
        ] {
            let reader = fixture.client(settings);
            let project = reader.project(&gamma_name).await.unwrap();
            let files: Vec<&IndexFile> = project.all_files().collect();
            let mut found: Vec<(String, Option<Sha256>)> = files
                .iter()
                .map(|file| (file.filename.to_string(), file.sha256.clone()))
                .collect();
            found.sort();
            assert_eq!(
                found,
                [
                    (
                        "gamma-1.0-py3-none-any.whl".to_string(),
                        Some(Sha256::of_bytes(b"gamma-1.0-py3-none-any.whl"))
                    ),
                    (
                        "gamma-1.0.tar.gz".to_string(),
                        Some(Sha256::of_bytes(b"gamma-1.0.tar.gz"))
                    ),
                ]
            );
            if files[0].index.is_some() {
                assert_eq!(
                    files[0].requires_python.as_ref().map(ToString::to_string),
                    Some(">=3.8".to_string())
                );
            }
        }
    }

    /// `sample_lock` where `beta` (sdist only) builds with `tool` 2.0.
    fn lock_with_build_environment(fixture: &Fixture) -> Lock {
        let mut lock = sample_lock(fixture);
        let mut tool = package(
            "tool",
            None,
            vec![
                fixture.artifact("tool-2.0-py3-none-any.whl", false),
                fixture.artifact("tool-2.0-cp311-cp311-win_amd64.whl", false),
            ],
        );
        tool.version = Version::from_str("2.0").unwrap();
        lock.build_packages = vec![tool];
        lock.packages[1].build = Some(crate::lock::LockedBuild {
            requirements: vec![crate::lock::LockedBuildRequirement {
                name: PackageName::from_str("tool").unwrap(),
                version: Version::from_str("2.0").unwrap(),
            }],
        });
        lock
    }

    #[tokio::test]
    async fn fetches_build_packages() {
        let fixture = Fixture::new();
        let lock = lock_with_build_environment(&fixture);
        let client = fixture.online_client();
        let offline = fetch_for_target(&lock, &BuildPlan::default(), &fixture.offline_client())
            .await
            .unwrap_err();
        assert!(offline
            .to_string()
            .contains("`tool` 2.0 (`tool-2.0-cp311-cp311-win_amd64.whl`, build requirement)"));

        let report = fetch_for_target(&lock, &BuildPlan::default(), &client)
            .await
            .unwrap();
        let tool_files: Vec<&str> = report
            .artifacts
            .iter()
            .filter(|artifact| artifact.package.as_ref() == "tool")
            .map(|artifact| artifact.filename.as_str())
            .collect();
        assert_eq!(
            tool_files,
            [
                "tool-2.0-cp311-cp311-win_amd64.whl",
                "tool-2.0-py3-none-any.whl"
            ]
        );
        // Told the build host, only its best wheel of each build package.
        let for_host =
            wanted_artifacts(&lock, &tags(), Some(&tags()), &BuildPlan::default()).unwrap();
        let for_host: Vec<&str> = for_host
            .iter()
            .filter(|item| item.build_requirement)
            .map(|item| item.artifact.filename.as_str())
            .collect();
        assert_eq!(for_host, ["tool-2.0-py3-none-any.whl"]);
    }
}
