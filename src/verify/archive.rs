//! The wheel's zip archive as verification needs it: the list of entry
//! names, the ELF files copied out to disk, and a rewritten wheel with some
//! entries replaced.
//!
//! Input: a wheel file (its sha256 already checked by the caller). Output:
//! [`WheelListing`] (names in archive order, ELF files extracted under a
//! scratch directory by entry index, never by name, so a hostile name
//! cannot write outside it), and [`rewrite_wheel`].
//!
//! Invariants: sizes are bounded as the installer bounds them
//! ([`crate::install::MAX_ENTRIES`], [`crate::install::MAX_TOTAL_BYTES`]);
//! the full safety checks (paths, links, RECORD hashes) are the installer's,
//! which runs on the same wheel in the scratch environment. A rewritten
//! wheel keeps every entry in the original order with its original
//! timestamp and mode, copies unchanged entries byte for byte (still
//! compressed), and has a RECORD whose rows for the replaced files carry
//! their new sha256 and size: the result depends only on the input bytes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::Digest;

use super::VerifyError;
use crate::install::{MAX_ENTRIES, MAX_TOTAL_BYTES};

const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];

/// One ELF file of the wheel, copied out.
#[derive(Clone, Debug)]
pub(super) struct ExtractedElf {
    /// Its index in the archive.
    pub index: usize,
    /// Its name in the archive.
    pub name: String,
    /// The copy on disk.
    pub disk_path: PathBuf,
}

/// What verification reads from a wheel.
#[derive(Debug)]
pub(super) struct WheelListing {
    /// Names of the file entries (not directories), in archive order.
    pub names: Vec<String>,
    pub elf_files: Vec<ExtractedElf>,
    /// `top_level.txt` of the dist-info directory, when there is one.
    pub top_level: Option<String>,
}

/// Lists `wheel` and copies its ELF files into `scratch`.
pub(super) fn read_wheel(wheel: &Path, scratch: &Path) -> Result<WheelListing, VerifyError> {
    let mut archive = open_archive(wheel)?;
    if archive.len() > MAX_ENTRIES {
        return Err(VerifyError::Archive {
            wheel: wheel.to_path_buf(),
            message: format!("it has more than {MAX_ENTRIES} entries"),
        });
    }
    let mut listing = WheelListing {
        names: Vec::new(),
        elf_files: Vec::new(),
        top_level: None,
    };
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| archive_error(wheel, error))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let size = entry.size();
        total = total.saturating_add(size);
        if total > MAX_TOTAL_BYTES {
            return Err(VerifyError::Archive {
                wheel: wheel.to_path_buf(),
                message: format!("it unpacks to more than {MAX_TOTAL_BYTES} bytes"),
            });
        }
        if is_top_level_file(&name) {
            let mut text = String::new();
            (&mut entry)
                .take(1 << 20)
                .read_to_string(&mut text)
                .map_err(|error| entry_error(wheel, &name, error))?;
            listing.top_level = Some(text);
        } else if !entry.is_symlink() && size >= ELF_MAGIC.len() as u64 {
            let mut magic = [0u8; 4];
            entry
                .read_exact(&mut magic)
                .map_err(|error| entry_error(wheel, &name, error))?;
            if magic == ELF_MAGIC {
                let disk_path = scratch.join(format!("entry-{index}"));
                copy_out(&mut entry, &magic, size, &disk_path)
                    .map_err(|error| entry_error(wheel, &name, error))?;
                listing.elf_files.push(ExtractedElf {
                    index,
                    name: name.clone(),
                    disk_path,
                });
            }
        }
        listing.names.push(name);
    }
    Ok(listing)
}

/// `<dist>.dist-info/top_level.txt` directly below the root.
fn is_top_level_file(name: &str) -> bool {
    name.split_once('/').is_some_and(|(directory, file)| {
        directory.ends_with(".dist-info") && file == "top_level.txt"
    })
}

/// Writes the rest of `entry` (after `magic`) to `disk_path`, refusing more
/// bytes than the entry declares.
fn copy_out(
    entry: &mut impl Read,
    magic: &[u8],
    declared: u64,
    disk_path: &Path,
) -> std::io::Result<()> {
    let mut output = BufWriter::new(File::create(disk_path)?);
    output.write_all(magic)?;
    let copied = std::io::copy(&mut entry.take(declared + 1), &mut output)? + magic.len() as u64;
    if copied != declared {
        return Err(std::io::Error::other(format!(
            "it holds {copied} bytes but declares {declared}"
        )));
    }
    output.flush()
}

/// Writes a copy of `wheel` at `output` with the entries at the given
/// indexes replaced by the files on disk, and RECORD updated to match.
pub(super) fn rewrite_wheel(
    wheel: &Path,
    replacements: &BTreeMap<usize, PathBuf>,
    output: &Path,
) -> Result<(), VerifyError> {
    let mut archive = open_archive(wheel)?;
    let record_index = find_record(&mut archive, wheel)?;
    let mut new_rows = BTreeMap::new();
    for (index, disk_path) in replacements {
        let name = archive
            .name_for_index(*index)
            .unwrap_or_default()
            .to_string();
        let bytes = fs_err::read(disk_path).map_err(VerifyError::Io)?;
        let digest = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&bytes));
        new_rows.insert(name, (format!("sha256={digest}"), bytes.len().to_string()));
    }
    let record_name = archive
        .name_for_index(record_index)
        .unwrap_or_default()
        .to_string();
    let record = {
        let mut entry = archive
            .by_index(record_index)
            .map_err(|error| archive_error(wheel, error))?;
        let mut bytes = Vec::new();
        (&mut entry)
            .take(64 << 20)
            .read_to_end(&mut bytes)
            .map_err(|error| entry_error(wheel, &record_name, error))?;
        bytes
    };
    let record = update_record(&record, &new_rows).map_err(|message| VerifyError::Archive {
        wheel: wheel.to_path_buf(),
        message: format!("its `{record_name}` {message}"),
    })?;

    let directory = output.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(directory).map_err(VerifyError::Io)?;
    let temporary = tempfile::Builder::new()
        .prefix(".vendor-wheel-")
        .tempfile_in(directory)
        .map_err(|error| VerifyError::Write {
            path: directory.to_path_buf(),
            source: error,
        })?;
    let write_error = |error: zip::result::ZipError| VerifyError::Write {
        path: output.to_path_buf(),
        source: std::io::Error::other(error),
    };
    let mut writer = zip::ZipWriter::new(BufWriter::new(temporary.as_file()));
    for index in 0..archive.len() {
        let replacement = if index == record_index {
            Some(record.clone())
        } else if let Some(disk_path) = replacements.get(&index) {
            Some(fs_err::read(disk_path).map_err(VerifyError::Io)?)
        } else {
            None
        };
        let mut entry = archive
            .by_index(index)
            .map_err(|error| archive_error(wheel, error))?;
        let name = entry.name().to_string();
        if let Some(bytes) = replacement {
            writer
                .start_file(name.as_str(), entry.options())
                .map_err(write_error)?;
            writer
                .write_all(&bytes)
                .map_err(|error| write_error(error.into()))?;
        } else if entry.is_symlink() {
            // `raw_copy_file` would turn a link into a regular file.
            let mut target = String::new();
            (&mut entry)
                .take(4096)
                .read_to_string(&mut target)
                .map_err(|error| entry_error(wheel, &name, error))?;
            let options = entry.options();
            writer
                .add_symlink(name.as_str(), target, options)
                .map_err(write_error)?;
        } else if entry.is_dir() {
            let options = entry.options();
            writer
                .add_directory(name.as_str(), options)
                .map_err(write_error)?;
        } else {
            writer.raw_copy_file(entry).map_err(write_error)?;
        }
    }
    let buffered = writer.finish().map_err(write_error)?;
    buffered
        .into_inner()
        .map_err(|error| error.into_error())
        .and_then(|file| file.sync_all())
        .map_err(|source| VerifyError::Write {
            path: output.to_path_buf(),
            source,
        })?;
    temporary
        .persist(output)
        .map_err(|error| VerifyError::Write {
            path: output.to_path_buf(),
            source: error.error,
        })?;
    Ok(())
}

/// The index of `<dist>.dist-info/RECORD`; a wheel has exactly one.
fn find_record(archive: &mut zip::ZipArchive<File>, wheel: &Path) -> Result<usize, VerifyError> {
    let records: Vec<usize> = (0..archive.len())
        .filter(|index| {
            archive.name_for_index(*index).is_some_and(|name| {
                name.split_once('/').is_some_and(|(directory, file)| {
                    directory.ends_with(".dist-info") && file == "RECORD"
                })
            })
        })
        .collect();
    match records.as_slice() {
        [index] => Ok(*index),
        [] => Err(VerifyError::Archive {
            wheel: wheel.to_path_buf(),
            message: "it has no `.dist-info/RECORD`".to_string(),
        }),
        _ => Err(VerifyError::Archive {
            wheel: wheel.to_path_buf(),
            message: "it has more than one `.dist-info/RECORD`".to_string(),
        }),
    }
}

/// RECORD with the hash and size of the rows named in `new_rows` replaced,
/// rows in their original order. Every replaced file must have a row.
fn update_record(
    record: &[u8],
    new_rows: &BTreeMap<String, (String, String)>,
) -> Result<Vec<u8>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(record);
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut updated = std::collections::BTreeSet::new();
    for (number, row) in reader.records().enumerate() {
        let row = row.map_err(|error| format!("cannot be read at line {}: {error}", number + 1))?;
        let path = row.get(0).unwrap_or_default();
        let name = path.trim_start_matches("./");
        let fields: Vec<String> = match new_rows.get(name) {
            Some((hash, size)) => {
                updated.insert(name.to_string());
                vec![path.to_string(), hash.clone(), size.clone()]
            }
            None => row.iter().map(str::to_string).collect(),
        };
        writer
            .write_record(&fields)
            .map_err(|error| format!("cannot be written: {error}"))?;
    }
    let missing: Vec<&str> = new_rows
        .keys()
        .filter(|name| !updated.contains(*name))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!("does not list `{}`", missing.join("`, `")));
    }
    writer
        .into_inner()
        .map_err(|error| format!("cannot be written: {error}"))
}

fn open_archive(wheel: &Path) -> Result<zip::ZipArchive<File>, VerifyError> {
    let file = File::open(wheel).map_err(|source| VerifyError::Read {
        path: wheel.to_path_buf(),
        source,
    })?;
    zip::ZipArchive::new(file).map_err(|error| archive_error(wheel, error))
}

fn archive_error(wheel: &Path, error: zip::result::ZipError) -> VerifyError {
    VerifyError::Archive {
        wheel: wheel.to_path_buf(),
        message: error.to_string(),
    }
}

fn entry_error(wheel: &Path, name: &str, error: std::io::Error) -> VerifyError {
    VerifyError::Archive {
        wheel: wheel.to_path_buf(),
        message: format!("entry `{name}` cannot be read: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_only_the_named_rows() {
        let record = b"pkg/__init__.py,sha256=abc,3\n\"pkg/a,b.so\",sha256=old,10\npkg-1.dist-info/RECORD,,\n";
        let new_rows = BTreeMap::from([(
            "pkg/a,b.so".to_string(),
            ("sha256=new".to_string(), "12".to_string()),
        )]);
        let updated = update_record(record, &new_rows).unwrap();
        assert_eq!(
            String::from_utf8(updated).unwrap(),
            "pkg/__init__.py,sha256=abc,3\n\"pkg/a,b.so\",sha256=new,12\npkg-1.dist-info/RECORD,,\n"
        );
        let missing = BTreeMap::from([(
            "pkg/other.so".to_string(),
            ("sha256=new".to_string(), "12".to_string()),
        )]);
        let error = update_record(record, &missing).unwrap_err();
        assert!(error.contains("`pkg/other.so`"), "{error}");
    }
}
