//! Installing a wheel: safe unpacking and the installed file layout.
//!
//! Input: a wheel file (its sha256 already checked by the caller), an
//! [`InstallScheme`] (the prefix on the server and the target Python X.Y) and
//! a staging directory on the build host. Output: [`InstalledWheel`], every
//! file the wheel installs with its server path, mode, kind and staged
//! bytes, laid out under `staging_dir` as `staging_dir/<prefix>/...`, the
//! way a wheel installer would lay it out under the prefix.
//!
//! Invariants:
//! - A wheel that is damaged or hostile (unsafe paths, escaping links,
//!   duplicate entries, sizes that lie, files not matching RECORD, wrong or
//!   missing dist-info, unknown `Wheel-Version`) is refused with an error
//!   naming the wheel and the entry, and leaves nothing in `staging_dir`:
//!   everything is written into a private directory first and moved into
//!   place only once the whole wheel has been checked and compiled.
//! - The result depends only on the wheel's bytes, the scheme and the
//!   interpreter's version: files are sorted, RECORD is rewritten
//!   deterministically, `.pyc` files are unchecked-hash.
//! - Nothing here knows about RPM: build environments and verification use
//!   the same code. [`cached`] keeps installed trees in the cache, so each
//!   wheel is installed once for verification and packaging alike, and
//!   [`environment`] links such trees into build environments.

pub mod cached;
pub mod environment;

mod archive;
mod bytecode;
mod check;
mod contents;
mod error;
mod layout;
mod metadata;
mod record;
mod scripts;
mod stage;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;

use crate::filename::WheelFilename;
use crate::hash::Sha256;
use crate::name::PackageName;

pub use archive::{MAX_ENTRIES, MAX_TOTAL_BYTES};
pub use check::check_wheel;
pub use error::{InstallError, Refusal};
pub use layout::InstallScheme;
pub use metadata::WheelMetadata;
pub use scripts::{EntryPoint, EntryPointGroup};

use crate::archive_paths::ancestors;
use archive::WheelArchive;
use error::{io_error, Refuser};
use stage::{Staged, Stager};

/// What an installed path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    /// A symbolic link with this (relative) target.
    Symlink(PathBuf),
}

/// Where an installed file's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileContents {
    /// A staged file on the build host.
    OnDisk(PathBuf),
    /// The bytes themselves (a link's target).
    Bytes(Vec<u8>),
}

impl FileContents {
    /// A regular file's staged copy (at `staged`), or a link's target.
    fn of(kind: &FileKind, staged: impl FnOnce() -> PathBuf) -> Self {
        match kind {
            FileKind::Regular => Self::OnDisk(staged()),
            FileKind::Symlink(target) => {
                Self::Bytes(target.as_os_str().as_encoded_bytes().to_vec())
            }
        }
    }
}

/// One file a wheel installs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledFile {
    /// The absolute path on the server, e.g. `/opt/mysite/lib/python3.11/site-packages/six.py`.
    pub path: PathBuf,
    /// Permission bits only: `0o755` for executables, scripts and shared
    /// objects, `0o644` otherwise, `0o777` for links.
    pub mode: u32,
    /// For a regular file, the staged copy; for a link, its target's bytes.
    pub contents: FileContents,
    pub kind: FileKind,
    /// Under `<dist-info>/licenses/`, or a `LICENSE*`, `COPYING*`, `NOTICE*`,
    /// `AUTHORS*` directly in the dist-info directory.
    pub is_license: bool,
    /// Size of the contents (for a link, of its target string).
    pub size: u64,
    /// Digest of the contents (for a link, of its target string).
    pub sha256: Sha256,
}

/// A wheel laid out for its scheme.
#[derive(Clone, Debug)]
pub struct InstalledWheel {
    pub name: PackageName,
    pub version: Version,
    /// Sorted by path.
    pub files: Vec<InstalledFile>,
    /// Every directory below the prefix that holds one of the files
    /// (including the scheme's own, see [`InstallScheme::base_directories`]).
    pub directories: BTreeSet<PathBuf>,
    pub metadata: WheelMetadata,
    /// The wheel's tags are `none`/`any`, its root is purelib and nothing is in `.data/platlib`.
    pub is_pure: bool,
    pub entry_points: Vec<EntryPoint>,
    /// The server path of the `.dist-info` directory.
    pub dist_info: PathBuf,
    /// Server paths of `.py` files the interpreter could not compile (pip
    /// skips these too: some wheels ship Python 2 test files).
    pub bytecode_skipped: Vec<PathBuf>,
}

/// How to install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallOptions {
    /// Written to `<dist-info>/INSTALLER` (`rpm`).
    pub installer: String,
    /// The build host's interpreter of the target X.Y (see
    /// [`crate::host::find_interpreter`]); `None` installs no `.pyc` files.
    pub compile_bytecode: Option<PathBuf>,
}

impl InstallOptions {
    /// How a wheel is installed for an RPM payload, and for the trees
    /// verification imports from (the same trees, see [`cached`]):
    /// `INSTALLER` is `rpm` and `.pyc` files are compiled by `interpreter`.
    pub fn for_rpm(interpreter: &Path) -> Self {
        Self {
            installer: "rpm".to_string(),
            compile_bytecode: Some(interpreter.to_path_buf()),
        }
    }

    /// How a wheel is installed for a build or verification environment on
    /// this host: `INSTALLER` is `vendor`, no `.pyc` files (Python writes
    /// those of what it imports).
    pub fn for_environment() -> Self {
        Self {
            installer: "vendor".to_string(),
            compile_bytecode: None,
        }
    }
}

/// Unpack `wheel_path` (whose sha256 the caller already verified) into
/// `staging_dir` laid out per `scheme`, as a wheel installer would.
pub fn install_wheel(
    wheel_path: &Path,
    scheme: &InstallScheme,
    staging_dir: &Path,
    options: &InstallOptions,
) -> Result<InstalledWheel, InstallError> {
    let prefix_relative = scheme.checked_prefix_relative()?;
    let destination = Destination {
        private_parent: staging_dir,
        private_relative: &prefix_relative,
        final_root: &staging_dir.join(&prefix_relative),
    };
    install_to(wheel_path, scheme, options, &destination)
}

/// Install `wheel_path` into the environment at `scheme.prefix` on this very
/// host (build and verification environments): files land at their real
/// paths, so launchers and scripts point at the environment's interpreter.
/// The private directory lives inside the prefix, keeping the final renames
/// on one file system.
pub fn install_wheel_in_place(
    wheel_path: &Path,
    scheme: &InstallScheme,
    options: &InstallOptions,
) -> Result<InstalledWheel, InstallError> {
    scheme.checked_prefix_relative()?;
    let destination = Destination {
        private_parent: &scheme.prefix,
        private_relative: Path::new(""),
        final_root: &scheme.prefix,
    };
    install_to(wheel_path, scheme, options, &destination)
}

/// Where staged files are written first and where they end up.
struct Destination<'a> {
    /// Holds the private directory.
    private_parent: &'a Path,
    /// The prefix's image inside the private directory.
    private_relative: &'a Path,
    /// The prefix's image once installed.
    final_root: &'a Path,
}

fn install_to(
    wheel_path: &Path,
    scheme: &InstallScheme,
    options: &InstallOptions,
    destination: &Destination<'_>,
) -> Result<InstalledWheel, InstallError> {
    let (wheel, filename) = wheel_file_name(wheel_path)?;
    let refuser = Refuser { wheel: &wheel };
    let mut archive = WheelArchive::open(wheel_path, refuser)?;
    let contents = contents::read_wheel_contents(&mut archive, &filename, scheme, refuser)?;
    let staging_dir = destination.private_parent;
    fs::create_dir_all(staging_dir).map_err(io_error("create", staging_dir))?;
    let private = tempfile::Builder::new()
        .prefix(".vendor-install-")
        .tempdir_in(staging_dir)
        .map_err(io_error("create a directory in", staging_dir))?;
    let private_root = private.path().join(destination.private_relative);
    let staged = Stager {
        archive: &mut archive,
        contents: &contents,
        scheme,
        options,
        root: &private_root,
        refuser,
    }
    .stage()?;
    let final_root = destination.final_root;
    move_into_place(&staged, &private_root, final_root)?;
    Ok(describe(staged, contents, scheme, final_root, filename))
}

/// The wheel's file name, as given (for messages) and parsed.
fn wheel_file_name(wheel_path: &Path) -> Result<(String, WheelFilename), InstallError> {
    let wheel = wheel_path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| wheel_path.display().to_string());
    let filename =
        WheelFilename::from_str(&wheel).map_err(|error| InstallError::InvalidFilename {
            wheel: wheel.clone(),
            reason: error.reason,
        })?;
    Ok((wheel, filename))
}

/// Rename every staged file from the private directory to its final place.
fn move_into_place(staged: &Staged, from: &Path, to: &Path) -> Result<(), InstallError> {
    for file in &staged.files {
        let source = from.join(&file.relative);
        let destination = to.join(&file.relative);
        if let Some(parent) = destination.parent() {
            fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        fs::rename(&source, &destination).map_err(io_error("move a file to", &destination))?;
    }
    Ok(())
}

fn describe(
    staged: Staged,
    contents: contents::WheelContents,
    scheme: &InstallScheme,
    staged_root: &Path,
    filename: WheelFilename,
) -> InstalledWheel {
    let directories = staged
        .files
        .iter()
        .flat_map(|file| ancestors(&file.relative))
        .map(|directory| scheme.prefix.join(directory))
        .collect();
    let files = staged
        .files
        .into_iter()
        .map(|file| {
            let contents = FileContents::of(&file.kind, || staged_root.join(&file.relative));
            InstalledFile {
                path: scheme.prefix.join(&file.relative),
                mode: file.mode,
                contents,
                kind: file.kind,
                is_license: file.is_license,
                size: file.size,
                sha256: file.sha256,
            }
        })
        .collect();
    InstalledWheel {
        name: filename.name,
        version: filename.version,
        files,
        directories,
        is_pure: contents.is_pure,
        entry_points: contents.entry_points,
        dist_info: scheme.site_packages().join(&contents.layout.dist_info),
        bytecode_skipped: staged
            .bytecode_skipped
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        metadata: contents.metadata,
    }
}
