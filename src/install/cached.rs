//! Installed trees kept in the cache: each wheel is unpacked and
//! byte-compiled once per scheme and interpreter, then read from there by
//! verification (through a `.pth` file) and by packaging (as RPM payload).
//!
//! Input: the cache, a wheel (its sha256 already checked by the caller), an
//! [`InstallScheme`] and [`InstallOptions`]. Output: a [`CachedInstall`]: the
//! tree's image of the prefix and the [`InstalledWheel`] describing it, with
//! every regular file's bytes on disk inside the cache entry.
//!
//! Invariants:
//! - the key covers everything the installed bytes depend on: the wheel's
//!   bytes, the prefix, the Python `X.Y`, the installer name, the
//!   interpreter that compiles `.pyc` files and the `vendor` binary, so a
//!   hit is what installing again would give;
//! - an entry appears whole or not at all: the wheel is installed into a
//!   private folder of the bucket that is renamed to the key once its
//!   manifest is written, so a killed run leaves no entry half-written; a
//!   damaged entry is a miss and is replaced; private folders a killed run
//!   left behind are removed once they are a day old (younger ones may
//!   belong to a run still going);
//! - entries are read-only data: whoever reads a tree (imports run with
//!   `-B`) must not write into it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::io_error;
use super::scripts::parse_entry_points;
use super::{
    install_wheel, FileContents, FileKind, InstallError, InstallOptions, InstallScheme,
    InstalledFile, InstalledWheel, WheelMetadata,
};
use crate::cache::{exchange, sharded_key, Bucket, Cache, EntryProblem};
use crate::filename::WheelFilename;
use crate::hash::{executable_digest, file_digest, Sha256, Sha256Hasher};

/// The name of an entry's private folder while it is being installed.
const PRIVATE_PREFIX: &str = ".vendor-installing-";
/// A private folder older than this was left by a killed run.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Bumped when the entry layout changes.
const FORMAT: &str = "vendor-installed-2";
const MANIFEST_FILE: &str = "manifest.json";
/// The folder of an entry holding the installed files, laid out as
/// [`install_wheel`] lays them out under its staging folder.
const TREE_FOLDER: &str = "tree";

/// A wheel installed into the cache.
#[derive(Clone, Debug)]
pub struct CachedInstall {
    /// The image of the scheme's prefix: `<tree>/opt/app`.
    pub prefix_root: PathBuf,
    pub installed: InstalledWheel,
}

impl CachedInstall {
    /// The image of the scheme's site-packages folder.
    pub fn site_packages(&self, scheme: &InstallScheme) -> PathBuf {
        self.prefix_root.join(scheme.site_packages_relative())
    }
}

/// What an entry records besides the files themselves; the metadata and
/// entry points are read back from the installed dist-info.
#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    wheel: String,
    /// The scheme's prefix: where the files are below [`TREE_FOLDER`].
    prefix: PathBuf,
    files: Vec<ManifestFile>,
    directories: BTreeSet<PathBuf>,
    is_pure: bool,
    dist_info: PathBuf,
    bytecode_skipped: Vec<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct ManifestFile {
    path: PathBuf,
    mode: u32,
    link: Option<PathBuf>,
    is_license: bool,
    size: u64,
    sha256: Sha256,
}

/// `wheel_path` installed for `scheme`: from the cache when an earlier run
/// installed the same bytes the same way, else installed now and kept.
pub fn install_wheel_cached(
    cache: &Cache,
    wheel_path: &Path,
    scheme: &InstallScheme,
    options: &InstallOptions,
) -> Result<CachedInstall, InstallError> {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| remove_abandoned(&cache.bucket_path(Bucket::Installed)));
    let entry = cache.entry_path(
        Bucket::Installed,
        &sharded_key(&key(wheel_path, scheme, options)?),
    );
    if let Some(found) = load(&entry, scheme) {
        tracing::debug!("installed tree of `{}`: cached", file_name(wheel_path));
        return Ok(found);
    }
    let started = std::time::Instant::now();
    let private = install_privately(wheel_path, scheme, options, &entry)?;
    publish(private, &entry, scheme)?;
    tracing::debug!(
        "installed tree of `{}`: installed in {:.2} s",
        file_name(wheel_path),
        started.elapsed().as_secs_f64()
    );
    load(&entry, scheme).ok_or_else(|| {
        let unreadable = std::io::Error::other("the entry just written cannot be read");
        io_error("read back", entry.join(MANIFEST_FILE))(unreadable)
    })
}

/// The wheel's file name, for logs.
fn file_name(wheel_path: &Path) -> std::borrow::Cow<'_, str> {
    wheel_path.file_name().unwrap_or_default().to_string_lossy()
}

/// `wheel_path` installed into a new private folder beside `entry`, with
/// its manifest: what [`publish`] renames into place.
fn install_privately(
    wheel_path: &Path,
    scheme: &InstallScheme,
    options: &InstallOptions,
    entry: &Path,
) -> Result<tempfile::TempDir, InstallError> {
    let parent = entry.parent().unwrap_or(entry);
    fs::create_dir_all(parent).map_err(io_error("create", parent))?;
    let private = tempfile::Builder::new()
        .prefix(PRIVATE_PREFIX)
        .tempdir_in(parent)
        .map_err(io_error("create a directory in", parent))?;
    let tree = private.path().join(TREE_FOLDER);
    let installed = install_wheel(wheel_path, scheme, &tree, options)?;
    let manifest = manifest_of(&installed, wheel_path, scheme);
    let manifest_path = private.path().join(MANIFEST_FILE);
    let text = serde_json::to_vec(&manifest)
        .map_err(|error| io_error("write", &manifest_path)(std::io::Error::other(error)))?;
    fs::write(&manifest_path, text).map_err(io_error("write", &manifest_path))?;
    Ok(private)
}

/// Remove the private folders killed runs left in `bucket`'s shard
/// folders. Best effort: a folder that cannot be read or removed stays.
fn remove_abandoned(bucket: &Path) {
    let Ok(shards) = fs::read_dir(bucket) else {
        return;
    };
    for shard in shards.filter_map(Result::ok) {
        crate::scratch::remove_folders_where(&shard.path(), PRIVATE_PREFIX, |folder| {
            crate::scratch::is_older_than(folder, ABANDONED_AFTER)
        });
    }
}

/// The entry's key; hashing the wheel is the bulk of the cost of a hit.
fn key(
    wheel_path: &Path,
    scheme: &InstallScheme,
    options: &InstallOptions,
) -> Result<Sha256, InstallError> {
    let wheel_digest = file_digest(wheel_path).map_err(io_error("read", wheel_path))?;
    let mut hasher = Sha256Hasher::default();
    let interpreter = options
        .compile_bytecode
        .as_ref()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    let (major, minor) = scheme.python_version;
    hasher.update(
        format!(
            "{FORMAT}\n{}\n{wheel_digest}\n{}\n{major}.{minor}\n{}\n{interpreter}\n",
            executable_digest(),
            scheme.prefix.display(),
            options.installer,
        )
        .as_bytes(),
    );
    Ok(hasher.finish())
}

/// Rename the private folder to the entry. When the entry is there already
/// it is kept if it loads (another process or thread published the same
/// bytes meanwhile, and may be using them), else (damaged) swapped out in
/// one atomic exchange, so no reader ever finds the entry missing.
fn publish(
    private: tempfile::TempDir,
    entry: &Path,
    scheme: &InstallScheme,
) -> Result<(), InstallError> {
    let private = private.keep();
    let moved = fs::rename(&private, entry);
    let outcome = match moved {
        Ok(()) => return Ok(()),
        Err(_) if load(entry, scheme).is_some() => Ok(()),
        Err(source) if entry.exists() => exchange(&private, entry).map_err(|_| source),
        Err(source) => Err(source),
    };
    // Ours when it was not needed, the damaged entry when it was swapped out.
    let _ = fs::remove_dir_all(&private);
    outcome.map_err(io_error("move into the cache", entry))
}

fn manifest_of(installed: &InstalledWheel, wheel_path: &Path, scheme: &InstallScheme) -> Manifest {
    let files = installed
        .files
        .iter()
        .map(|file| ManifestFile {
            path: file
                .path
                .strip_prefix(&scheme.prefix)
                .unwrap_or(&file.path)
                .to_path_buf(),
            mode: file.mode,
            link: match &file.kind {
                FileKind::Regular => None,
                FileKind::Symlink(target) => Some(target.clone()),
            },
            is_license: file.is_license,
            size: file.size,
            sha256: file.sha256.clone(),
        })
        .collect();
    Manifest {
        format: FORMAT.to_string(),
        wheel: wheel_path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        prefix: scheme.prefix.clone(),
        files,
        directories: installed.directories.clone(),
        is_pure: installed.is_pure,
        dist_info: installed.dist_info.clone(),
        bytecode_skipped: installed.bytecode_skipped.clone(),
    }
}

/// The entry at `entry`, or `None` when it is missing or damaged.
fn load(entry: &Path, scheme: &InstallScheme) -> Option<CachedInstall> {
    let text = fs::read(entry.join(MANIFEST_FILE)).ok()?;
    let manifest: Manifest = serde_json::from_slice(&text).ok()?;
    if manifest.format != FORMAT {
        return None;
    }
    let filename = WheelFilename::from_str(&manifest.wheel).ok()?;
    let tree = entry.join(TREE_FOLDER);
    let on_disk =
        |server_path: &Path| tree.join(server_path.strip_prefix("/").unwrap_or(server_path));
    let prefix_root = on_disk(&scheme.prefix);
    let dist_info = on_disk(&manifest.dist_info);
    let metadata_text = fs::read_to_string(dist_info.join("METADATA")).ok()?;
    let metadata = WheelMetadata::parse(&metadata_text).ok()?;
    let entry_points = match fs::read_to_string(dist_info.join("entry_points.txt")) {
        Ok(text) => parse_entry_points(&text).ok()?,
        Err(_) => Vec::new(),
    };
    let files = manifest
        .files
        .into_iter()
        .map(|file| {
            let path = scheme.prefix.join(&file.path);
            let kind = file.link.map_or(FileKind::Regular, FileKind::Symlink);
            let contents = FileContents::of(&kind, || on_disk(&path));
            InstalledFile {
                path,
                mode: file.mode,
                contents,
                kind,
                is_license: file.is_license,
                size: file.size,
                sha256: file.sha256,
            }
        })
        .collect();
    Some(CachedInstall {
        prefix_root,
        installed: InstalledWheel {
            name: filename.name,
            version: filename.version,
            files,
            directories: manifest.directories,
            metadata,
            is_pure: manifest.is_pure,
            entry_points,
            dist_info: manifest.dist_info,
            bytecode_skipped: manifest.bytecode_skipped,
        },
    })
}

/// Check the entry at `entry` against its manifest: every listed file is
/// there with its size and sha256 (links with their target), and nothing
/// else is in the tree, since verification imports from it. `Err` says
/// what is wrong; a private folder of a run still installing is no entry.
pub fn check_entry(entry: &Path) -> Result<(), EntryProblem> {
    let manifest_path = entry.join(MANIFEST_FILE);
    let text = fs::read(&manifest_path).map_err(|error| format!("no manifest: {error}"))?;
    let format = serde_json::from_slice::<serde_json::Value>(&text)
        .ok()
        .and_then(|value| value.get("format")?.as_str().map(str::to_string));
    if format.as_ref().is_some_and(|format| format != FORMAT) {
        return Err(EntryProblem::Stale);
    }
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|error| format!("the manifest is unreadable: {error}"))?;
    let prefix_root = entry.join(TREE_FOLDER).join(
        manifest
            .prefix
            .strip_prefix("/")
            .unwrap_or(&manifest.prefix),
    );
    let mut listed = BTreeSet::new();
    for file in &manifest.files {
        let path = prefix_root.join(&file.path);
        check_file(&path, file)
            .map_err(|problem| format!("`{}` {problem}", file.path.display()))?;
        listed.insert(path);
    }
    match files_below(&entry.join(TREE_FOLDER))
        .into_iter()
        .find(|path| !listed.contains(path))
    {
        Some(unlisted) => Err(EntryProblem::Damaged(format!(
            "`{}` is not in the manifest",
            unlisted
                .strip_prefix(&prefix_root)
                .unwrap_or(&unlisted)
                .display()
        ))),
        None => Ok(()),
    }
}

/// One manifest file against what is on disk.
fn check_file(path: &Path, file: &ManifestFile) -> Result<(), String> {
    if let Some(target) = &file.link {
        return match fs::read_link(path) {
            Ok(found) if &found == target => Ok(()),
            Ok(found) => Err(format!("links to `{}`", found.display())),
            Err(error) => Err(format!("cannot be read: {error}")),
        };
    }
    let read = |error: std::io::Error| format!("cannot be read: {error}");
    let size = fs::symlink_metadata(path).map_err(read)?.len();
    if size != file.size {
        return Err(format!("has {size} bytes, {} were installed", file.size));
    }
    let sha256 = fs::File::open(path)
        .and_then(Sha256::of_reader)
        .map_err(read)?;
    if sha256 != file.sha256 {
        return Err(format!(
            "has sha256 {sha256}, {} was installed",
            file.sha256
        ));
    }
    Ok(())
}

/// Every file and link below `folder`, never following links.
fn files_below(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in fs::read_dir(&directory).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry.path()),
                _ => found.push(entry.path()),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::host::find_interpreter;
    use crate::install::environment::tests::tiny_wheel;
    use crate::install::environment::PythonEnvironment;

    fn scheme() -> InstallScheme {
        InstallScheme::new("/opt/mysite", (3, 11))
    }

    fn options() -> InstallOptions {
        InstallOptions::for_rpm(&find_interpreter((3, 11)).unwrap())
    }

    /// What an installed wheel says, without where its bytes are staged.
    fn described(installed: &InstalledWheel) -> Vec<(PathBuf, u32, FileKind, bool, u64, Sha256)> {
        installed
            .files
            .iter()
            .map(|file| {
                let (path, mode, kind) = (file.path.clone(), file.mode, file.kind.clone());
                (
                    path,
                    mode,
                    kind,
                    file.is_license,
                    file.size,
                    file.sha256.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn installs_once_and_reads_the_same_wheel_back() {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path().join("cache")).unwrap();
        let wheel = tiny_wheel(folder.path(), "tinypkg");
        let first = install_wheel_cached(&cache, &wheel, &scheme(), &options()).unwrap();
        let fresh =
            install_wheel(&wheel, &scheme(), &folder.path().join("fresh"), &options()).unwrap();
        assert_eq!(described(&first.installed), described(&fresh));
        assert_eq!(first.installed.metadata, fresh.metadata);
        assert_eq!(first.installed.entry_points, fresh.entry_points);
        assert_eq!(first.installed.directories, fresh.directories);
        assert!(first
            .site_packages(&scheme())
            .join("tinypkg/__init__.py")
            .is_file());
        for file in &first.installed.files {
            if let FileContents::OnDisk(path) = &file.contents {
                assert!(path.starts_with(&first.prefix_root), "{}", path.display());
                assert_eq!(fs::metadata(path).unwrap().len(), file.size);
            }
        }

        // A marker in the tree survives the second call: nothing was installed again.
        let marker = first.prefix_root.join("marker");
        fs::write(&marker, "kept").unwrap();
        let second = install_wheel_cached(&cache, &wheel, &scheme(), &options()).unwrap();
        assert_eq!(second.prefix_root, first.prefix_root);
        assert!(marker.is_file());
        assert_eq!(described(&second.installed), described(&first.installed));

        // Another prefix is another entry.
        let elsewhere = InstallScheme::new("/opt/other", (3, 11));
        let other = install_wheel_cached(&cache, &wheel, &elsewhere, &options()).unwrap();
        assert_ne!(other.prefix_root, first.prefix_root);
        assert!(other.installed.files[0].path.starts_with("/opt/other"));
    }

    #[test]
    fn a_damaged_entry_is_installed_again_and_leftovers_are_ignored() {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path().join("cache")).unwrap();
        let wheel = tiny_wheel(folder.path(), "tinypkg");
        let first = install_wheel_cached(&cache, &wheel, &scheme(), &options()).unwrap();
        let entry = first.prefix_root.ancestors().nth(3).unwrap().to_path_buf();
        assert!(entry.join(MANIFEST_FILE).is_file(), "{}", entry.display());
        fs::write(entry.join(MANIFEST_FILE), "{ not json").unwrap();
        // What a run killed while installing leaves behind.
        fs::create_dir_all(
            entry
                .parent()
                .unwrap()
                .join(".vendor-installing-killed/tree"),
        )
        .unwrap();

        let again = install_wheel_cached(&cache, &wheel, &scheme(), &options()).unwrap();
        assert_eq!(described(&again.installed), described(&first.installed));
        let manifest = fs::read_to_string(entry.join(MANIFEST_FILE)).unwrap();
        assert!(manifest.contains(FORMAT), "{manifest}");
    }

    #[test]
    fn a_late_publisher_keeps_the_entry_in_use_and_replaces_a_damaged_one() {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path().join("cache")).unwrap();
        let wheel = tiny_wheel(folder.path(), "tinypkg");
        let first = install_wheel_cached(&cache, &wheel, &scheme(), &options()).unwrap();
        let entry = first.prefix_root.ancestors().nth(3).unwrap().to_path_buf();
        let marker = entry.join("in-use");
        fs::write(&marker, "").unwrap();

        // Another install that missed at the same time publishes second.
        let late = install_privately(&wheel, &scheme(), &options(), &entry).unwrap();
        publish(late, &entry, &scheme()).unwrap();
        assert!(marker.exists(), "the entry in use was replaced");

        fs::write(entry.join(MANIFEST_FILE), "{ damaged").unwrap();
        let fresh = install_privately(&wheel, &scheme(), &options(), &entry).unwrap();
        publish(fresh, &entry, &scheme()).unwrap();
        assert!(!marker.exists(), "the damaged entry stayed");
        assert!(load(&entry, &scheme()).is_some());
        let shard: Vec<_> = fs::read_dir(entry.parent().unwrap()).unwrap().collect();
        assert_eq!(shard.len(), 1, "only the entry is left: {shard:?}");
    }

    #[test]
    fn threads_installing_the_same_wheel_at_once_all_see_a_whole_tree() {
        let folder = tempfile::tempdir().unwrap();
        let wheel = tiny_wheel(folder.path(), "tinypkg");
        for round in 0..3 {
            let cache = Cache::open(folder.path().join(format!("cache-{round}"))).unwrap();
            let start = std::sync::Barrier::new(6);
            std::thread::scope(|scope| {
                for _ in 0..6 {
                    scope.spawn(|| {
                        start.wait();
                        let tree =
                            install_wheel_cached(&cache, &wheel, &scheme(), &options()).unwrap();
                        // Checked while the other threads are still publishing.
                        for _ in 0..20 {
                            for file in &tree.installed.files {
                                if let FileContents::OnDisk(path) = &file.contents {
                                    assert!(path.is_file(), "{} vanished", path.display());
                                }
                            }
                        }
                    });
                }
            });
        }
    }

    #[test]
    fn private_folders_of_killed_runs_are_removed_once_a_day_old() {
        let folder = tempfile::tempdir().unwrap();
        let shard = folder.path().join("ab");
        let (old, young, entry) = (
            shard.join(format!("{PRIVATE_PREFIX}old")),
            shard.join(format!("{PRIVATE_PREFIX}young")),
            shard.join("cdef"),
        );
        for path in [&old, &young, &entry] {
            fs::create_dir_all(path.join(TREE_FOLDER)).unwrap();
        }
        let two_days_ago = std::time::SystemTime::now() - 2 * ABANDONED_AFTER;
        for path in [&old, &entry] {
            fs::File::open(path)
                .unwrap()
                .set_modified(two_days_ago)
                .unwrap();
        }
        remove_abandoned(folder.path());
        assert!(!old.exists());
        assert!(young.exists(), "may belong to a run still going");
        assert!(entry.exists(), "entries are never swept");
    }

    #[test]
    fn an_environment_imports_from_cached_trees_and_runs_their_pth_files() {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path().join("cache")).unwrap();
        let interpreter = find_interpreter((3, 11)).unwrap();
        let trees: Vec<PathBuf> = ["alpha", "beta"]
            .iter()
            .map(|name| {
                let wheel = tiny_wheel(folder.path(), name);
                let tree = install_wheel_cached(&cache, &wheel, &scheme(), &options()).unwrap();
                tree.site_packages(&scheme())
            })
            .collect();
        // A package's own `.pth` file, as some wheels ship.
        fs::write(
            trees[1].join("beta-extra.pth"),
            "import os; os.environ['BETA_PTH'] = 'ran'\n",
        )
        .unwrap();
        let mut environment =
            PythonEnvironment::create(&interpreter, (3, 11), &folder.path().join("env")).unwrap();
        environment.add_site_directories(&trees).unwrap();
        let output = Command::new(environment.python())
            .args([
                "-I",
                "-B",
                "-c",
                "import os, alpha, beta; alpha.main(); beta.main(); print(os.environ.get('BETA_PTH')); \
                 print(alpha.__spec__.cached)",
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines[..3], ["alpha ran", "beta ran", "ran"], "{stdout}");
        // The import used the tree's unchecked-hash `.pyc`, which is there.
        assert!(Path::new(lines[3]).is_file(), "{stdout}");
        assert!(
            lines[3].starts_with(&trees[0].display().to_string()),
            "{stdout}"
        );
    }
}
