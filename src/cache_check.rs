//! `vendor cache verify`: every cache entry whose bytes can be checked,
//! checked, and (when asked) the damaged ones removed.
//!
//! Input: a [`Cache`]. Output: a [`CacheCheck`]: entries checked per folder
//! and every damaged entry with what is wrong. What each entry is checked
//! against is decided by the code that writes it:
//! - artifacts: the sha256 their path is named by;
//! - wheels built from sdists: their own RECORD ([`install::check_wheel`]);
//! - installed trees: their manifest ([`install::cached::check_entry`]);
//! - kept RPMs: the sha256 they were kept with ([`package::check_kept_rpm`]).
//!
//! Index pages, metadata and verification reports are small derived records
//! that a damaged copy makes a miss of; they are not checked. Invariant:
//! removal takes whole entries, each in one rename ([`Cache::remove_entry`]),
//! so a run using the cache meanwhile sees an entry or a miss.

use std::path::{Path, PathBuf};

use crate::cache::{Bucket, Cache, CacheError, EntryProblem};
use crate::hash::Sha256;
use crate::progress::Reporter;
use crate::{install, package, parallel, pep517};

/// One checked folder of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedFolder {
    /// `artifacts`, `built-v1`, …
    pub name: String,
    pub entries: usize,
    /// Entries of a layout this `vendor` no longer reads (not checked).
    pub stale: usize,
}

/// A damaged entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedEntry {
    pub path: PathBuf,
    pub problem: String,
    pub removed: bool,
}

/// What `vendor cache verify` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheCheck {
    pub folders: Vec<CheckedFolder>,
    pub damaged: Vec<DamagedEntry>,
}

/// The kinds of entry that can be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Artifact,
    BuiltWheel,
    InstalledTree,
    KeptRpm,
}

impl Kind {
    const ALL: [Self; 4] = [
        Self::Artifact,
        Self::BuiltWheel,
        Self::InstalledTree,
        Self::KeptRpm,
    ];

    fn folder(self, cache: &Cache) -> PathBuf {
        match self {
            Self::Artifact => cache.artifacts_folder(),
            Self::BuiltWheel => cache.bucket_path(Bucket::Built),
            Self::InstalledTree => cache.bucket_path(Bucket::Installed),
            Self::KeptRpm => cache.bucket_path(Bucket::Packaged),
        }
    }

    /// What is wrong with the entry `key` at `folder`, if anything.
    fn check(self, key: &str, folder: &Path) -> Result<(), EntryProblem> {
        match self {
            Self::Artifact => Ok(check_artifact(key, folder)?),
            Self::BuiltWheel => match pep517::cached_wheel(folder) {
                Some(wheel) => Ok(install::check_wheel(&wheel).map_err(|error| error.to_string())?),
                // The wheel is renamed into a folder made just before.
                None => Err(EntryProblem::Stale),
            },
            Self::InstalledTree => install::cached::check_entry(folder),
            Self::KeptRpm => package::check_kept_rpm(folder),
        }
    }
}

/// Check every entry on up to `jobs` threads; with `remove`, remove the
/// damaged ones.
pub fn check_cache(
    cache: &Cache,
    jobs: usize,
    remove: bool,
    reporter: &dyn Reporter,
) -> Result<CacheCheck, CacheError> {
    let entries: Vec<(Kind, String, PathBuf)> = Kind::ALL
        .iter()
        .flat_map(|&kind| {
            cache
                .sharded_entries(&kind.folder(cache))
                .into_iter()
                .map(move |(key, path)| (kind, key, path))
        })
        .collect();
    reporter.stage_started("verifying the cache", entries.len() as u64);
    let problems = parallel::run_parallel(&entries, jobs, |(kind, key, path)| {
        let problem = kind.check(key, path).err();
        reporter.stage_advanced(key);
        problem
    });
    reporter.stage_finished();
    let count = |kind: Kind, stale: bool| {
        entries
            .iter()
            .zip(&problems)
            .filter(|((entry_kind, _, _), problem)| {
                *entry_kind == kind && (problem == &&Some(EntryProblem::Stale)) == stale
            })
            .count()
    };
    let mut check = CacheCheck {
        folders: Kind::ALL
            .iter()
            .map(|&kind| CheckedFolder {
                name: folder_name(cache, &kind.folder(cache)),
                entries: count(kind, false),
                stale: count(kind, true),
            })
            .collect(),
        damaged: Vec::new(),
    };
    for ((_, _, path), problem) in entries.into_iter().zip(problems) {
        let Some(EntryProblem::Damaged(problem)) = problem else {
            continue;
        };
        if remove {
            cache.remove_entry(&path)?;
        }
        check.damaged.push(DamagedEntry {
            path,
            problem,
            removed: remove,
        });
    }
    Ok(check)
}

/// The folder's path below the cache root, for the report.
fn folder_name(cache: &Cache, folder: &Path) -> String {
    folder
        .strip_prefix(cache.root())
        .unwrap_or(folder)
        .display()
        .to_string()
}

/// An artifact folder holds one file whose sha256 is the folder's key.
fn check_artifact(key: &str, folder: &Path) -> Result<(), String> {
    let files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|error| format!("cannot be read: {error}"))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    let [file] = files.as_slice() else {
        return Err(format!("holds {} files, one was stored", files.len()));
    };
    let actual = std::fs::File::open(file)
        .and_then(Sha256::of_reader)
        .map_err(|error| format!("cannot be read: {error}"))?;
    if actual.as_str() == key {
        Ok(())
    } else {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        Err(format!(
            "`{name}` has sha256 {actual}, not the {key} it was stored as"
        ))
    }
}
