//! Checking a wheel against its own RECORD, without installing it: what
//! `vendor cache verify` does to the wheels built from sdists, which have no
//! digest of their own to be checked against.
//!
//! Input: a wheel file. Output: `Ok` when every entry inflates (the zip CRC
//! holds) to the size and hash RECORD gives, else the refusal installing it
//! would give. Invariant: the same structural checks as an install (one
//! dist-info, METADATA matching the file name, RECORD listing every entry),
//! since they are the same code; nothing is written.

use std::path::Path;

use super::archive::{EntryKind, WheelArchive};
use super::contents::read_wheel_contents;
use super::error::{InstallError, Refusal, Refuser};
use super::record::FileHasher;
use super::InstallScheme;

/// Check every entry of `wheel_path` against its RECORD.
pub fn check_wheel(wheel_path: &Path) -> Result<(), InstallError> {
    let (wheel, filename) = super::wheel_file_name(wheel_path)?;
    let refuser = Refuser { wheel: &wheel };
    let mut archive = WheelArchive::open(wheel_path, refuser)?;
    // The scheme only names where files would go; any will do.
    let scheme = InstallScheme::new("/opt/check", (3, 11));
    let contents = read_wheel_contents(&mut archive, &filename, &scheme, refuser)?;
    let entries: Vec<_> = archive
        .entries
        .values()
        .filter(|entry| entry.kind != EntryKind::Directory && !contents.is_unrecorded(&entry.path))
        .cloned()
        .collect();
    for entry in &entries {
        let row = contents
            .record
            .get(&entry.path)
            .ok_or_else(|| refuser.refuse(&entry.name, Refusal::NotInRecord))?;
        let mut hasher = FileHasher::new(Some(row));
        let size = archive.stream(entry, |chunk| {
            hasher.update(chunk);
            Ok(())
        })?;
        hasher.finish(row, size, &entry.name, refuser)?;
    }
    Ok(())
}
