//! The wheel's self-description, read and cross-checked before unpacking.
//!
//! Input: an opened [`WheelArchive`] and the wheel's file name. Output:
//! [`WheelContents`]: its dist-info directory, metadata, RECORD and entry
//! points. Invariants: exactly one `.dist-info` for the file name's
//! distribution and version, METADATA agrees with the file name, `WHEEL` is
//! version 1.x, and RECORD and the archive list the same files (RECORD
//! itself and its signatures excepted), every one with a hash and, where
//! RECORD gives one, the declared size.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pep440_rs::Version;

use super::archive::{EntryKind, WheelArchive};
use super::error::{InstallError, Refusal, Refuser};
use super::layout::{InstallScheme, Layout};
use super::metadata::{parse_wheel_file, WheelMetadata};
use super::record::{parse_record, RecordRow};
use super::scripts::{parse_entry_points, EntryPoint};
use crate::filename::WheelFilename;
use crate::name::PackageName;

/// Files in the dist-info directory that RECORD does not list and that are
/// not installed: RECORD is rewritten, its signatures would no longer match.
const UNRECORDED: [&str; 3] = ["RECORD", "RECORD.jws", "RECORD.p7s"];

/// What a wheel says about itself.
pub(super) struct WheelContents {
    pub layout: Layout,
    pub metadata: WheelMetadata,
    pub is_pure: bool,
    pub record: BTreeMap<String, RecordRow>,
    pub entry_points: Vec<EntryPoint>,
}

impl WheelContents {
    /// Whether `path` is RECORD or one of its signatures.
    pub fn is_unrecorded(&self, path: &str) -> bool {
        is_unrecorded(&self.layout.dist_info, path)
    }
}

fn is_unrecorded(dist_info: &str, path: &str) -> bool {
    path.strip_prefix(dist_info)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| UNRECORDED.contains(&name))
}

pub(super) fn read_wheel_contents(
    archive: &mut WheelArchive<'_>,
    filename: &WheelFilename,
    scheme: &InstallScheme,
    refuser: Refuser<'_>,
) -> Result<WheelContents, InstallError> {
    let dist_info = find_dist_info(archive, filename, refuser)?;
    let wheel_text = read_text(archive, &dist_info, "WHEEL", refuser)?;
    let wheel_info = parse_wheel_file(&wheel_text)
        .map_err(|reason| refuser.refuse(format!("{dist_info}/WHEEL"), reason))?;
    let metadata_name = format!("{dist_info}/METADATA");
    let metadata = WheelMetadata::parse(&read_text(archive, &dist_info, "METADATA", refuser)?)
        .map_err(|why| refuser.refuse(&metadata_name, Refusal::Invalid(why)))?;
    if metadata.name != filename.name || metadata.version != filename.version {
        return Err(refuser.refuse(
            &metadata_name,
            Refusal::ForeignDistribution {
                expected: format!("{} {}", filename.name, filename.version),
            },
        ));
    }
    let record_name = format!("{dist_info}/RECORD");
    let record_text = read_text(archive, &dist_info, "RECORD", refuser)?;
    let record = parse_record(record_text.as_bytes(), &record_name, refuser)?;
    let entry_points_name = format!("{dist_info}/entry_points.txt");
    let entry_points = if archive.entries.contains_key(&entry_points_name) {
        let text = read_text(archive, &dist_info, "entry_points.txt", refuser)?;
        parse_entry_points(&text).map_err(|(name, why)| {
            refuser.refuse(
                &entry_points_name,
                Refusal::Invalid(format!("entry point `{name}`: {why}")),
            )
        })?
    } else {
        Vec::new()
    };
    let layout = Layout::new(scheme, &dist_info, &metadata.display_name);
    check_record(archive, &record, &dist_info, refuser)?;
    let platlib = format!("{}/platlib/", layout.data_dir);
    let is_pure = filename.is_pure()
        && wheel_info.root_is_purelib
        && !archive
            .entries
            .keys()
            .any(|path| path.starts_with(&platlib));
    Ok(WheelContents {
        layout,
        metadata,
        is_pure,
        record,
        entry_points,
    })
}

/// The one top-level `<name>-<version>.dist-info` matching the file name.
fn find_dist_info(
    archive: &WheelArchive<'_>,
    filename: &WheelFilename,
    refuser: Refuser<'_>,
) -> Result<String, InstallError> {
    let escaped_name = filename.as_str().split('-').next().unwrap_or_default();
    let expected = format!("{escaped_name}-{}.dist-info", filename.version);
    let candidates: BTreeSet<&str> = archive
        .entries
        .keys()
        .filter_map(|path| path.split('/').next())
        .filter(|first| first.ends_with(".dist-info"))
        .collect();
    let matches = |candidate: &str| {
        let stem = candidate.trim_end_matches(".dist-info");
        stem.split_once('-').is_some_and(|(name, version)| {
            PackageName::from_str(name).is_ok_and(|name| name == filename.name)
                && Version::from_str(version).is_ok_and(|version| version == filename.version)
        })
    };
    let foreign = |candidate: &str| {
        refuser.refuse(
            format!("{candidate}/"),
            Refusal::ForeignDistribution {
                expected: expected.clone(),
            },
        )
    };
    let (matching, others): (Vec<&str>, Vec<&str>) =
        candidates.iter().partition(|candidate| matches(candidate));
    match (matching.as_slice(), others.first()) {
        ([only], None) => Ok(only.to_string()),
        (_, Some(other)) => Err(foreign(other)),
        ([], None) => Err(refuser.refuse(
            format!("{expected}/"),
            Refusal::Missing("a wheel has a `<name>-<version>.dist-info` directory"),
        )),
        (_, None) => Err(refuser.refuse(format!("{expected}/"), Refusal::Duplicate)),
    }
}

fn read_text(
    archive: &mut WheelArchive<'_>,
    dist_info: &str,
    name: &'static str,
    refuser: Refuser<'_>,
) -> Result<String, InstallError> {
    let path = format!("{dist_info}/{name}");
    let entry = archive
        .entries
        .get(&path)
        .filter(|entry| matches!(entry.kind, EntryKind::File { .. }))
        .cloned()
        .ok_or_else(|| refuser.refuse(&path, Refusal::Missing("every wheel has one")))?;
    let bytes = archive.read_small(&entry)?;
    String::from_utf8(bytes)
        .map_err(|_| refuser.refuse(&entry.name, Refusal::Invalid("not UTF-8".into())))
}

/// RECORD and the archive must list the same files.
fn check_record(
    archive: &WheelArchive<'_>,
    record: &BTreeMap<String, RecordRow>,
    dist_info: &str,
    refuser: Refuser<'_>,
) -> Result<(), InstallError> {
    for entry in archive.entries.values() {
        if entry.kind == EntryKind::Directory || is_unrecorded(dist_info, &entry.path) {
            continue;
        }
        let row = record
            .get(&entry.path)
            .ok_or_else(|| refuser.refuse(&entry.name, Refusal::NotInRecord))?;
        if row.hash.is_none() {
            return Err(refuser.refuse(&entry.name, Refusal::UnhashedInRecord("no hash".into())));
        }
        if let Some(recorded) = row.size.filter(|recorded| *recorded != entry.size) {
            return Err(refuser.refuse(
                &entry.name,
                Refusal::RecordSizeMismatch {
                    recorded,
                    actual: entry.size,
                },
            ));
        }
    }
    for (path, row) in record {
        let present = archive
            .entries
            .get(path)
            .is_some_and(|entry| entry.kind != EntryKind::Directory);
        if !present && !is_unrecorded(dist_info, path) {
            return Err(refuser.refuse(&row.raw_path, Refusal::MissingFromArchive));
        }
    }
    Ok(())
}
