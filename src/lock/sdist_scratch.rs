//! The scratch folder an sdist's lock-time hooks run in, with the sdist
//! unpacked in it.
//!
//! Input: a locked sdist (or its file in the cache), the index client.
//! Output: a [`Scratch`]: a folder holding `source/` (the sdist unpacked,
//! as a [`SourceTree`]) and room for build environments, removed when
//! dropped; and the sdist's path in the cache.
//!
//! Invariants: a `.tar.gz` sdist that has to be downloaded is unpacked
//! while it downloads ([`crate::index::byte_tee`]), and its tree is used
//! only once the download has checked the sdist's sha256; any stream that
//! did not go through (a restarted download, one another task made, a
//! local file) is unpacked again from the verified file, so the tree is
//! always the one the file gives. The folder lives on a memory file system
//! when one is fit for it ([`memory_scratch_parent`]).

use std::path::{Path, PathBuf};

use pep440_rs::Version;
use tokio::runtime::Handle;

use super::build_requirements_error::BuildRequirementsError;
use crate::filename::{DistFilename, SdistExtension};
use crate::index::{IndexClient, IndexError};
use crate::lock::model::LockedArtifact;
use crate::name::PackageName;
use crate::pep517::SourceTree;

/// A scratch folder holding the sdist unpacked (`source/`) and the build
/// environments; removed when dropped.
pub(super) struct Scratch {
    pub dir: crate::scratch::Scratch,
    pub tree: SourceTree,
}

impl Scratch {
    /// A new scratch folder with `sdist` unpacked in `source/`.
    pub fn unpack(
        name: &PackageName,
        version: &Version,
        sdist: &Path,
    ) -> Result<Self, BuildRequirementsError> {
        let sdist_size = std::fs::metadata(sdist).map_or(0, |metadata| metadata.len());
        let dir = create_folder(name, sdist_size)?;
        let tree =
            crate::pep517::unpack_sdist(sdist, &dir.path().join("source")).map_err(|source| {
                BuildRequirementsError::Backend {
                    package: name.clone(),
                    version: version.clone(),
                    action: "read the build requirements of",
                    source: Box::new(source),
                }
            })?;
        Ok(Self { dir, tree })
    }

    /// Download `sdist` into the cache and unpack it in a new scratch
    /// folder, both at once when it comes over HTTP as a `.tar.gz` (see
    /// the module documentation). Returns the sdist's path in the cache.
    pub fn download_unpacking(
        name: &PackageName,
        version: &Version,
        sdist: &LockedArtifact,
        client: &IndexClient,
        runtime: &Handle,
    ) -> Result<(PathBuf, Self), BuildRequirementsError> {
        let filename = sdist.filename.as_str();
        let is_tar_gz = matches!(&sdist.filename,
            DistFilename::Sdist(sdist) if sdist.extension == SdistExtension::TarGz);
        let in_cache = client
            .cache()
            .find_artifact(&sdist.sha256, filename)
            .is_some();
        if !is_tar_gz || in_cache || sdist.url.scheme() == "file" {
            let path = download_sdist(name, version, sdist, client, runtime)?;
            let scratch = Self::unpack(name, version, &path)?;
            return Ok((path, scratch));
        }
        let dir = create_folder(name, sdist.size.unwrap_or(0))?;
        let source = dir.path().join("source");
        let (tee, arriving) = crate::index::byte_tee();
        let (downloaded, streamed) = std::thread::scope(|scope| {
            let unpacking = scope
                .spawn(|| crate::pep517::sdist::unpack_tar_gz_from(arriving, filename, &source));
            let downloaded = runtime.block_on(client.download_teeing(
                &sdist.url,
                filename,
                &sdist.sha256,
                Some(tee),
            ));
            (downloaded, unpacking.join())
        });
        let path = downloaded.map_err(download_failed(name, version, filename))?;
        match streamed {
            Ok(Ok(tree)) => Ok((path, Self { dir, tree })),
            // The stream did not go through (or the archive is bad, which
            // the file will say again): the verified file decides.
            Ok(Err(_)) | Err(_) => {
                drop(dir);
                let scratch = Self::unpack(name, version, &path)?;
                Ok((path, scratch))
            }
        }
    }
}

/// `sdist` in the cache, downloaded when missing.
pub(super) fn download_sdist(
    name: &PackageName,
    version: &Version,
    sdist: &LockedArtifact,
    client: &IndexClient,
    runtime: &Handle,
) -> Result<PathBuf, BuildRequirementsError> {
    let filename = sdist.filename.as_str();
    runtime
        .block_on(client.download(&sdist.url, filename, &sdist.sha256))
        .map_err(download_failed(name, version, filename))
}

fn download_failed<'a>(
    name: &'a PackageName,
    version: &'a Version,
    filename: &'a str,
) -> impl FnOnce(IndexError) -> BuildRequirementsError + 'a {
    move |source| BuildRequirementsError::Download {
        package: name.clone(),
        version: version.clone(),
        what: format!("the sdist `{filename}`"),
        source: Box::new(source),
    }
}

/// A new, empty scratch folder for the hooks of `name`'s sdist of
/// `sdist_size` bytes.
fn create_folder(
    name: &PackageName,
    sdist_size: u64,
) -> Result<crate::scratch::Scratch, BuildRequirementsError> {
    let folder_name = format!("env-{name}-");
    let create = |parent: &Path| {
        crate::scratch::Scratch::create_in(parent, crate::pep517::SCRATCH_FAMILY, &folder_name)
    };
    let in_memory = memory_scratch_parent(sdist_size).and_then(|parent| create(parent).ok());
    match in_memory {
        Some(dir) => Ok(dir),
        None => create(&std::env::temp_dir()).map_err(|source| BuildRequirementsError::Scratch {
            package: name.clone(),
            source,
        }),
    }
}

/// The memory file system tried for lock-time scratch folders.
const MEMORY_SCRATCH: &str = "/dev/shm";
/// `statfs`'s `f_type` of a tmpfs.
const TMPFS_MAGIC: u64 = 0x0102_1994;

/// Where the scratch folder of an sdist of `sdist_size` bytes goes, when
/// not the system's temporary folder: [`MEMORY_SCRATCH`], when `TMPDIR` is
/// not set (setting it is the user's choice of place) and it is a writable
/// tmpfs that allows executing files (hooks load compiled modules and may
/// run scripts from the tree; container runtimes often mount it `noexec`)
/// with room to spare (1 GiB plus 20 times the sdist). What a lock writes
/// there (the unpacked sdist, environments, what hooks write) is deleted
/// before the lock ends, even when a hook fails (its log is in the cache); on a disk,
/// creating those thousands of files was most of a cold lock's time.
fn memory_scratch_parent(sdist_size: u64) -> Option<&'static Path> {
    if std::env::var_os("TMPDIR").is_some_and(|value| !value.is_empty()) {
        return None;
    }
    let parent = Path::new(MEMORY_SCRATCH);
    let file_system = rustix::fs::statfs(parent).ok()?;
    #[allow(clippy::unnecessary_cast)] // `f_type`'s type varies by architecture
    let is_tmpfs = file_system.f_type as u64 == TMPFS_MAGIC;
    let space = rustix::fs::statvfs(parent).ok()?;
    let usable = !space
        .f_flag
        .intersects(rustix::fs::StatVfsMountFlags::NOEXEC | rustix::fs::StatVfsMountFlags::RDONLY);
    let available = space.f_bavail.saturating_mul(space.f_frsize);
    let needed = (1u64 << 30).saturating_add(sdist_size.saturating_mul(20));
    (is_tmpfs && usable && available >= needed).then_some(parent)
}
