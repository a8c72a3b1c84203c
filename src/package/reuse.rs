//! Reusing RPMs written by an earlier build with the same inputs.
//!
//! Input: the cache, the packaging context, a verified wheel's sha256 and
//! the extras it is packaged with. Output: a previously written RPM linked
//! into the output folder, or nothing. Invariant: the key covers everything an RPM's
//! bytes depend on — the wheel's bytes, the context (app, prefix, target,
//! release, build time, version style), the extras, the interpreter that
//! compiles `.pyc` files, and the `vendor` binary itself — so a hit is
//! byte-identical to what writing it again would give. Entries are written
//! with the cache's temp-file-and-rename, so a killed build leaves none
//! half-written; a damaged entry is a miss, never an error.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::rpm::PackagedRpm;
use super::spec::PackageContext;
use super::version::RpmEvr;
use crate::cache::{sharded_key, Bucket, Cache, EntryProblem};
use crate::elf::BundledLibrary;
use crate::hash::{executable_digest, Sha256, Sha256Hasher};
use crate::name::PackageName;

/// Bumped when the entry layout changes.
const FORMAT: &str = "vendor-packaged-2";
const DESCRIPTION_FILE: &str = "packaged.json";

/// Where earlier RPMs are kept, for one build's context.
pub(super) struct RpmStore<'a> {
    cache: &'a Cache,
    /// Everything of the key that all packages of the build share.
    shared: String,
}

impl<'a> RpmStore<'a> {
    pub(super) fn new(cache: &'a Cache, context: &PackageContext, interpreter: &Path) -> Self {
        let shared = format!(
            "{FORMAT}\n{}\n{}\n{context:?}\n",
            executable_digest(),
            interpreter.display()
        );
        Self { cache, shared }
    }

    /// The key of `wheel` packaged with `extras` (sorted by the caller).
    pub(super) fn key(&self, wheel_digest: &Sha256, extras: &[String]) -> Sha256 {
        let mut hasher = Sha256Hasher::default();
        hasher.update(self.shared.as_bytes());
        hasher.update(wheel_digest.as_str().as_bytes());
        for extra in extras {
            hasher.update(format!("\nextra:{extra}").as_bytes());
        }
        hasher.finish()
    }

    /// The earlier RPM of `key`, linked (or copied) into `output_dir`.
    pub(super) fn reuse(&self, key: &Sha256, output_dir: &Path) -> Option<PackagedRpm> {
        let folder = self.folder(key);
        let text = std::fs::read(folder.join(DESCRIPTION_FILE)).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        let source = folder.join(&entry.file_name);
        let destination = output_dir.join(&entry.file_name);
        let size = std::fs::metadata(&source).ok()?.len();
        if size != entry.size {
            return None;
        }
        std::fs::hard_link(&source, &destination)
            .or_else(|_| std::fs::copy(&source, &destination).map(drop))
            .ok()?;
        entry.into_packaged()
    }

    /// Keep `rpm` (written to `output_dir`) for later builds, with its
    /// sha256 for `vendor cache verify`.
    pub(super) fn keep(&self, key: &Sha256, rpm: &PackagedRpm, output_dir: &Path) {
        let folder = self.folder(key);
        let stored = self.cache.temp_file().ok().and_then(|mut temp| {
            let mut source = std::fs::File::open(output_dir.join(&rpm.file_name)).ok()?;
            std::io::copy(&mut source, temp.as_file_mut()).ok()?;
            let sha256 = std::fs::File::open(temp.path())
                .and_then(Sha256::of_reader)
                .ok()?;
            self.cache.persist(temp, folder.join(&rpm.file_name)).ok()?;
            Some(sha256)
        });
        // The description goes last: an entry without it is never read.
        if let Some(sha256) = stored {
            if let Ok(text) = serde_json::to_vec(&Entry::new(rpm, sha256)) {
                let _ = self.cache.write_entry(
                    Bucket::Packaged,
                    &format!("{}/{DESCRIPTION_FILE}", sharded_key(key)),
                    &text,
                );
            }
        }
    }

    fn folder(&self, key: &Sha256) -> PathBuf {
        self.cache.entry_path(Bucket::Packaged, &sharded_key(key))
    }
}

/// Check a kept RPM's entry folder: its description reads and the RPM
/// has the sha256 it was kept with. An entry of an earlier layout, or
/// without its description yet, is [`EntryProblem::Stale`].
pub fn check_entry(folder: &Path) -> Result<(), EntryProblem> {
    // The description is written last: without it, the entry is incomplete.
    let text = std::fs::read(folder.join(DESCRIPTION_FILE)).map_err(|_| EntryProblem::Stale)?;
    let entry: Entry = serde_json::from_slice(&text).map_err(|_| EntryProblem::Stale)?;
    let path = folder.join(&entry.file_name);
    let actual = std::fs::File::open(&path)
        .and_then(Sha256::of_reader)
        .map_err(|error| format!("`{}` cannot be read: {error}", entry.file_name))?;
    if actual != entry.sha256 {
        return Err(EntryProblem::Damaged(format!(
            "`{}` has sha256 {actual}, {} was kept",
            entry.file_name, entry.sha256
        )));
    }
    Ok(())
}

/// [`PackagedRpm`] as stored.
#[derive(Serialize, Deserialize)]
struct Entry {
    package: Option<String>,
    version: String,
    rpm_name: String,
    epoch: Option<u64>,
    rpm_version: String,
    release: Option<String>,
    file_name: String,
    arch: String,
    bundled: Vec<(String, String, Vec<String>)>,
    size: u64,
    sha256: Sha256,
}

impl Entry {
    fn new(rpm: &PackagedRpm, sha256: Sha256) -> Self {
        Self {
            package: rpm.package.as_ref().map(ToString::to_string),
            version: rpm.version.clone(),
            rpm_name: rpm.rpm_name.clone(),
            epoch: rpm.evr.epoch,
            rpm_version: rpm.evr.version.clone(),
            release: rpm.evr.release.clone(),
            file_name: rpm.file_name.clone(),
            arch: rpm.arch.clone(),
            bundled: rpm
                .bundled
                .iter()
                .map(|library| {
                    (
                        library.path.clone(),
                        library.soname.clone(),
                        library.used_by.clone(),
                    )
                })
                .collect(),
            size: rpm.size,
            sha256,
        }
    }

    fn into_packaged(self) -> Option<PackagedRpm> {
        let package = match self.package {
            Some(name) => Some(PackageName::from_str(&name).ok()?),
            None => None,
        };
        Some(PackagedRpm {
            package,
            version: self.version,
            rpm_name: self.rpm_name,
            evr: RpmEvr {
                epoch: self.epoch,
                version: self.rpm_version,
                release: self.release,
            },
            file_name: self.file_name,
            arch: self.arch,
            bundled: self
                .bundled
                .into_iter()
                .map(|(path, soname, used_by)| BundledLibrary {
                    path,
                    soname,
                    used_by,
                })
                .collect(),
            size: self.size,
        })
    }
}
