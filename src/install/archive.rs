//! Reading a wheel's zip archive without trusting it.
//!
//! Input: the wheel file. Output: its entries with normalised relative paths
//! ([`Entry`]) and a way to stream each entry's bytes. Invariants, checked
//! before a single byte is extracted: every name is a relative path without
//! `..`, no two entries normalise to the same path (including exact
//! duplicates, which the `zip` crate would silently merge), symbolic links
//! stay inside their tree and nothing lies below one, and the declared sizes
//! are within limits. While streaming, no entry may inflate past its declared
//! size: the headers are never trusted alone.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::error::{io_error, InstallError, Refusal, Refuser};
use crate::archive_paths::{ancestors, normalise_entry_name, resolve_link_target, UnsafeLink};

/// The most bytes a whole wheel may unpack to (the largest real wheels, CUDA
/// builds of deep-learning libraries, stay well below).
pub const MAX_TOTAL_BYTES: u64 = 16 << 30;
/// The most entries a wheel may have.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Deflate cannot exceed about 1032:1; a header claiming more lies.
const MAX_RATIO: u64 = 1100;
/// Entries smaller than this skip the ratio check (tiny files have framing overhead).
const RATIO_FLOOR: u64 = 1 << 20;
/// The most bytes of a metadata file (RECORD, METADATA, ...) read into memory.
pub(super) const MAX_METADATA_BYTES: u64 = 64 << 20;

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFDIR: u32 = 0o040_000;

/// What an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum EntryKind {
    File {
        executable: bool,
    },
    /// A symbolic link; the target is read later from the entry's bytes.
    Symlink,
    Directory,
}

/// One archive entry, validated.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    index: usize,
    /// The name exactly as stored (used in messages).
    pub name: String,
    /// The normalised path, `/`-separated, without `.` or empty components.
    pub path: String,
    pub kind: EntryKind,
    /// The uncompressed size the central directory declares.
    pub size: u64,
}

/// An open wheel whose entries passed the structural checks.
pub(super) struct WheelArchive<'a> {
    refuser: Refuser<'a>,
    archive: zip::ZipArchive<File>,
    /// Entries by normalised path (directories included).
    pub entries: BTreeMap<String, Entry>,
}

impl<'a> WheelArchive<'a> {
    pub fn open(path: &Path, refuser: Refuser<'a>) -> Result<Self, InstallError> {
        let file = File::open(path).map_err(io_error("open", path))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|source| InstallError::Archive {
            wheel: refuser.wheel.to_string(),
            source,
        })?;
        refuse_exact_duplicates(path, archive.central_directory_start(), refuser)?;
        if archive.len() > MAX_ENTRIES {
            let name = archive.name_for_index(MAX_ENTRIES).unwrap_or_default();
            return Err(refuser.refuse(
                name,
                Refusal::TooManyEntries {
                    count: archive.len(),
                    limit: MAX_ENTRIES,
                },
            ));
        }
        let mut entries = BTreeMap::new();
        let mut total: u64 = 0;
        for index in 0..archive.len() {
            let file = archive
                .by_index_raw(index)
                .map_err(|source| InstallError::Archive {
                    wheel: refuser.wheel.to_string(),
                    source,
                })?;
            let name = file.name().to_string();
            let path = normalise_name(&name).map_err(|reason| refuser.refuse(&name, reason))?;
            let mode = file.unix_mode().unwrap_or(0);
            let kind = if file.is_dir() || mode & S_IFMT == S_IFDIR {
                EntryKind::Directory
            } else if mode & S_IFMT == S_IFLNK {
                EntryKind::Symlink
            } else {
                EntryKind::File {
                    executable: mode & 0o111 != 0,
                }
            };
            let (size, compressed) = (file.size(), file.compressed_size());
            if size > RATIO_FLOOR && size / MAX_RATIO > compressed {
                return Err(refuser.refuse(
                    &name,
                    Refusal::ImpossibleRatio {
                        declared: size,
                        compressed,
                    },
                ));
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL_BYTES {
                return Err(refuser.refuse(
                    &name,
                    Refusal::TooLarge {
                        declared: total,
                        limit: MAX_TOTAL_BYTES,
                    },
                ));
            }
            let entry = Entry {
                index,
                name: name.clone(),
                path: path.clone(),
                kind,
                size,
            };
            if entries.insert(path, entry).is_some() {
                return Err(refuser.refuse(name, Refusal::Duplicate));
            }
        }
        let mut wheel = Self {
            refuser,
            archive,
            entries,
        };
        wheel.check_links()?;
        Ok(wheel)
    }

    /// Symbolic links must resolve inside their tree without passing through
    /// another link, and no entry may lie below a link.
    fn check_links(&mut self) -> Result<(), InstallError> {
        let links: BTreeSet<String> = self
            .entries
            .values()
            .filter(|entry| entry.kind == EntryKind::Symlink)
            .map(|entry| entry.path.clone())
            .collect();
        if links.is_empty() {
            return Ok(());
        }
        for entry in self.entries.values() {
            if let Some(link) = ancestors(&entry.path).find(|ancestor| links.contains(*ancestor)) {
                return Err(self.refuser.refuse(
                    &entry.name,
                    Refusal::BelowLink {
                        link: link.to_string(),
                    },
                ));
            }
        }
        for path in &links {
            let entry = self.entries[path].clone();
            let target = self.read_link(&entry)?;
            check_link_target(&entry.path, &target, &links)
                .map_err(|reason| self.refuser.refuse(&entry.name, reason))?;
        }
        Ok(())
    }

    /// The target of a symbolic-link entry.
    pub fn read_link(&mut self, entry: &Entry) -> Result<String, InstallError> {
        let bytes = self.read_small(entry)?;
        String::from_utf8(bytes).map_err(|_| {
            self.refuser.refuse(
                &entry.name,
                Refusal::Invalid("the link target is not UTF-8".into()),
            )
        })
    }

    /// The whole content of a small entry (metadata files, link targets).
    pub fn read_small(&mut self, entry: &Entry) -> Result<Vec<u8>, InstallError> {
        if entry.size > MAX_METADATA_BYTES {
            return Err(self.refuser.refuse(
                &entry.name,
                Refusal::TooLarge {
                    declared: entry.size,
                    limit: MAX_METADATA_BYTES,
                },
            ));
        }
        let mut bytes = Vec::with_capacity(entry.size as usize);
        self.stream(entry, |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(bytes)
    }

    /// Feed the entry's bytes to `sink`, failing as soon as more than the
    /// declared size arrives, and when fewer do.
    pub fn stream(
        &mut self,
        entry: &Entry,
        mut sink: impl FnMut(&[u8]) -> Result<(), InstallError>,
    ) -> Result<u64, InstallError> {
        let refuser = self.refuser;
        let archive_error = |source| InstallError::Archive {
            wheel: refuser.wheel.to_string(),
            source,
        };
        let read_error = |source: std::io::Error| {
            refuser.refuse(
                &entry.name,
                Refusal::Invalid(format!("cannot inflate it: {source}")),
            )
        };
        let file = self.archive.by_index(entry.index).map_err(archive_error)?;
        let mut limited = file.take(entry.size.saturating_add(1));
        let mut buffer = vec![0u8; 64 * 1024];
        let mut read_total: u64 = 0;
        loop {
            let read = limited.read(&mut buffer).map_err(read_error)?;
            if read == 0 {
                break;
            }
            read_total += read as u64;
            if read_total > entry.size {
                return Err(refuser.refuse(
                    &entry.name,
                    Refusal::SizeMismatch {
                        declared: entry.size,
                        actual: read_total,
                        more: true,
                    },
                ));
            }
            sink(&buffer[..read])?;
        }
        if read_total != entry.size {
            return Err(refuser.refuse(
                &entry.name,
                Refusal::SizeMismatch {
                    declared: entry.size,
                    actual: read_total,
                    more: false,
                },
            ));
        }
        Ok(read_total)
    }
}

/// A zip name → a normalised relative path.
pub(super) fn normalise_name(name: &str) -> Result<String, Refusal> {
    normalise_entry_name(name).map_err(Refusal::UnsafePath)
}

/// The tree a path belongs to: `<x>.data/<key>` for data files, else the root.
fn tree_of(path: &str) -> Vec<&str> {
    let mut components = path.split('/');
    match components.next() {
        Some(first) if first.ends_with(".data") => [Some(first), components.next()]
            .into_iter()
            .flatten()
            .collect(),
        _ => Vec::new(),
    }
}

/// Resolve `target` from the link at `link_path` lexically; it must stay in
/// the link's tree (the root, or one `<x>.data/<key>` tree).
fn check_link_target(
    link_path: &str,
    target: &str,
    links: &BTreeSet<String>,
) -> Result<(), Refusal> {
    let escapes = || Refusal::LinkEscapes {
        target: target.to_string(),
    };
    let resolved =
        resolve_link_target(link_path, target, |path| links.contains(path)).map_err(|reason| {
            match reason {
                UnsafeLink::Escapes => escapes(),
                UnsafeLink::ThroughLink => Refusal::LinkThroughLink {
                    target: target.to_string(),
                },
            }
        })?;
    let tree = tree_of(link_path);
    if resolved.len() < tree.len() || resolved[..tree.len()] != tree[..] {
        return Err(escapes());
    }
    if tree.is_empty()
        && resolved
            .first()
            .is_some_and(|first| first.ends_with(".data"))
    {
        return Err(escapes());
    }
    Ok(())
}

/// The `zip` crate keys entries by name, so an archive holding the same name
/// twice reads as one entry. Walk the central directory ourselves and count.
fn refuse_exact_duplicates(
    path: &Path,
    start: u64,
    refuser: Refuser<'_>,
) -> Result<(), InstallError> {
    const SIGNATURE: &[u8] = b"PK\x01\x02";
    const FIXED_LENGTH: usize = 46;
    let mut directory = Vec::new();
    let read = File::open(path).and_then(|mut file| {
        file.seek(SeekFrom::Start(start))?;
        file.take(1 << 31).read_to_end(&mut directory)
    });
    read.map_err(io_error("read the central directory of", path))?;
    let mut seen: BTreeSet<&[u8]> = BTreeSet::new();
    let mut offset = 0;
    while directory.len() >= offset + FIXED_LENGTH && &directory[offset..offset + 4] == SIGNATURE {
        let field = |at: usize| {
            usize::from(u16::from_le_bytes([
                directory[offset + at],
                directory[offset + at + 1],
            ]))
        };
        let (name_length, extra_length, comment_length) = (field(28), field(30), field(32));
        let name_start = offset + FIXED_LENGTH;
        let Some(name) = directory.get(name_start..name_start + name_length) else {
            break;
        };
        if !seen.insert(name) {
            return Err(refuser.refuse(String::from_utf8_lossy(name), Refusal::Duplicate));
        }
        offset = name_start + name_length + extra_length + comment_length;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_link_targets() {
        let links = BTreeSet::from(["pkg/lib.so".to_string(), "pkg/alias".to_string()]);
        assert!(check_link_target("pkg/lib.so", "lib.so.1", &links).is_ok());
        assert!(check_link_target("pkg/lib.so", "../other/x", &links).is_ok());
        assert!(check_link_target("pkg/lib.so", "../../x", &links).is_err());
        assert!(check_link_target("pkg/lib.so", "/usr/lib/x", &links).is_err());
        assert!(check_link_target("pkg/x", "alias/../..", &links).is_err());
        assert!(check_link_target("a-1.data/scripts/x", "../data/y", &links).is_err());
        assert!(check_link_target("a-1.data/scripts/x", "y", &links).is_ok());
        assert!(check_link_target("pkg/x", "../a-1.data/scripts/y", &links).is_err());
    }
}
