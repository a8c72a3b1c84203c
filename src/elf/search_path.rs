//! RPATH/RUNPATH entries that point into the build host, and removing them.
//!
//! Input: an ELF file's bytes and its path inside the wheel. Output: which
//! `DT_RPATH`/`DT_RUNPATH` strings point outside the wheel
//! ([`host_search_paths`]), and the same bytes with those dynamic entries
//! removed ([`remove_dynamic_entries`]).
//!
//! Invariants:
//! - a search path is acceptable only when it is `$ORIGIN`-relative (also
//!   `${ORIGIN}`) and, resolved lexically from the file's place in the
//!   installed tree, stays inside the wheel's tree; absolute paths, plain
//!   relative paths (relative to the process's working directory) and the
//!   other dynamic-string tokens (`$LIB`, `$PLATFORM`) are build-host paths;
//! - removal works like `chrpath -d`: the chosen entries are taken out of the
//!   dynamic section, later entries move up and the freed slots become
//!   `DT_NULL`; nothing else in the file changes (the string itself stays in
//!   `.dynstr`, unreferenced). A string mixing acceptable and host paths
//!   cannot be shortened safely (linkers share string tails), so it is
//!   refused, naming the file.

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{DT_NULL, DT_RPATH, DT_RUNPATH};
use goblin::elf::header::{EI_CLASS, ELFCLASS64};
use goblin::elf::program_header::PT_DYNAMIC;
use goblin::elf::{Dynamic, Elf, ProgramHeader};

/// Why a file's search paths cannot be fixed.
#[derive(Debug, thiserror::Error)]
pub enum StripError {
    #[error("it cannot be read as ELF: {0}")]
    Malformed(String),
    #[error(
        "its {tag} `{value}` mixes paths inside the wheel with build-host paths, which cannot be \
         separated in place"
    )]
    Mixed { tag: &'static str, value: String },
}

/// One dynamic entry (`DT_RPATH` or `DT_RUNPATH`) to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSearchPath {
    /// `RPATH` or `RUNPATH`.
    pub tag: &'static str,
    /// The whole string, `:`-separated.
    pub value: String,
}

/// The search-path entries of `bytes` that point outside the wheel.
/// `installed_path` is the file's `/`-separated path relative to the wheel's
/// install root (site-packages for the root and `.data/p*lib`).
pub fn host_search_paths(
    bytes: &[u8],
    installed_path: &str,
) -> Result<Vec<HostSearchPath>, StripError> {
    let dynamic = DynamicSection::parse(bytes)?;
    let mut found = Vec::new();
    for entry in &dynamic.entries {
        let Some(tag) = search_path_tag(entry.tag) else {
            continue;
        };
        let value = dynamic.string(bytes, entry.value).unwrap_or_default();
        let paths: Vec<&str> = value.split(':').filter(|path| !path.is_empty()).collect();
        let outside = paths
            .iter()
            .filter(|path| !stays_inside(path, installed_path))
            .count();
        if outside == 0 {
            continue;
        }
        if outside != paths.len() {
            return Err(StripError::Mixed { tag, value });
        }
        found.push(HostSearchPath { tag, value });
    }
    Ok(found)
}

/// Removes every `DT_RPATH` and `DT_RUNPATH` entry whose string is in
/// `remove` (as found by [`host_search_paths`]); returns how many went.
pub fn remove_dynamic_entries(
    bytes: &mut [u8],
    remove: &[HostSearchPath],
) -> Result<usize, StripError> {
    let dynamic = DynamicSection::parse(bytes)?;
    let mut kept = Vec::with_capacity(dynamic.entries.len());
    let mut removed = 0;
    for entry in &dynamic.entries {
        if entry.tag == DT_NULL {
            break;
        }
        let drop = search_path_tag(entry.tag).is_some_and(|tag| {
            let value = dynamic.string(bytes, entry.value).unwrap_or_default();
            remove
                .iter()
                .any(|target| target.tag == tag && target.value == value)
        });
        if drop {
            removed += 1;
        } else {
            kept.push(*entry);
        }
    }
    if removed == 0 {
        return Ok(0);
    }
    // Every slot up to the original terminator is rewritten; slots past it
    // (spare DT_NULLs some linkers leave) are already DT_NULL.
    let slots = dynamic.entries.len();
    for slot in 0..slots {
        let entry = kept.get(slot).copied().unwrap_or(RawDyn {
            tag: DT_NULL,
            value: 0,
        });
        dynamic.write(bytes, slot, entry);
    }
    Ok(removed)
}

fn search_path_tag(tag: u64) -> Option<&'static str> {
    match tag {
        DT_RPATH => Some("RPATH"),
        DT_RUNPATH => Some("RUNPATH"),
        _ => None,
    }
}

/// Whether `path` in the search list of the file at `installed_path` stays
/// inside the wheel's installed tree.
fn stays_inside(path: &str, installed_path: &str) -> bool {
    let relative = ["$ORIGIN", "${ORIGIN}"]
        .iter()
        .find_map(|origin| path.strip_prefix(origin));
    let Some(relative) = relative else {
        return false;
    };
    if !(relative.is_empty() || relative.starts_with('/')) {
        // `$ORIGINAL/...` is not the token.
        return false;
    }
    if relative.contains('$') {
        return false;
    }
    let mut depth: Vec<&str> = installed_path.split('/').collect();
    depth.pop();
    for component in relative.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            other => depth.push(other),
        }
    }
    true
}

#[derive(Clone, Copy, Debug)]
struct RawDyn {
    tag: u64,
    value: u64,
}

/// The `PT_DYNAMIC` segment of a file, read without trusting it.
struct DynamicSection {
    /// File offset of the first entry.
    offset: usize,
    is_64bit: bool,
    endian: Endian,
    /// Entries up to and including the first `DT_NULL`.
    entries: Vec<RawDyn>,
    /// File offset and size of the dynamic string table.
    strings: (usize, usize),
}

impl DynamicSection {
    fn parse(bytes: &[u8]) -> Result<Self, StripError> {
        let malformed = |error: goblin::error::Error| StripError::Malformed(error.to_string());
        let header = Elf::parse_header(bytes).map_err(malformed)?;
        let is_64bit = header.e_ident[EI_CLASS] == ELFCLASS64;
        let endian = header.endianness().map_err(malformed)?;
        let container = if is_64bit {
            Container::Big
        } else {
            Container::Little
        };
        let ctx = Ctx::new(container, endian);
        let program_headers =
            ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx)
                .map_err(malformed)?;
        let segment = program_headers
            .iter()
            .find(|header| header.p_type == PT_DYNAMIC);
        let (Some(segment), Some(dynamic)) = (
            segment,
            Dynamic::parse(bytes, &program_headers, ctx).map_err(malformed)?,
        ) else {
            return Ok(Self {
                offset: 0,
                is_64bit,
                endian,
                entries: Vec::new(),
                strings: (0, 0),
            });
        };
        let entries = dynamic
            .dyns
            .iter()
            .map(|entry| RawDyn {
                tag: entry.d_tag,
                value: entry.d_val,
            })
            .collect();
        Ok(Self {
            offset: segment.p_offset as usize,
            is_64bit,
            endian,
            entries,
            strings: (dynamic.info.strtab, dynamic.info.strsz),
        })
    }

    fn string(&self, bytes: &[u8], offset: u64) -> Option<String> {
        let (start, size) = self.strings;
        let table = bytes.get(start..start.saturating_add(size).min(bytes.len()))?;
        let tail = table.get(usize::try_from(offset).ok()?..)?;
        let length = tail.iter().position(|byte| *byte == 0)?;
        Some(String::from_utf8_lossy(&tail[..length]).into_owned())
    }

    /// Writes `entry` into slot `slot`; the slot was read by `parse`, so it
    /// lies inside the file.
    fn write(&self, bytes: &mut [u8], slot: usize, entry: RawDyn) {
        let word = if self.is_64bit { 8 } else { 4 };
        let start = self.offset + slot * 2 * word;
        let mut encoded = Vec::with_capacity(2 * word);
        for value in [entry.tag, entry.value] {
            let value_bytes = match (self.is_64bit, self.endian) {
                (true, Endian::Little) => value.to_le_bytes().to_vec(),
                (true, Endian::Big) => value.to_be_bytes().to_vec(),
                // 32-bit tags and values were widened from 32 bits on read.
                (false, Endian::Little) => (value as u32).to_le_bytes().to_vec(),
                (false, Endian::Big) => (value as u32).to_be_bytes().to_vec(),
            };
            encoded.extend(value_bytes);
        }
        if let Some(target) = bytes.get_mut(start..start + encoded.len()) {
            target.copy_from_slice(&encoded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_search_paths() {
        let module = "pkg/sub/_core.cpython-311-x86_64-linux-gnu.so";
        for inside in [
            "$ORIGIN",
            "${ORIGIN}",
            "$ORIGIN/../../pkg.libs",
            "$ORIGIN/./lib",
            "$ORIGIN/",
        ] {
            assert!(stays_inside(inside, module), "{inside}");
        }
        for outside in [
            "/root/.pyenv/versions/3.11.7/lib",
            "/usr/lib64",
            "lib",
            "$ORIGIN/../../../lib",
            "$ORIGINAL",
            "$ORIGIN/$LIB",
            "$LIB/x",
        ] {
            assert!(!stays_inside(outside, module), "{outside}");
        }
        assert!(!stays_inside("$ORIGIN/..", "_top.so"));
    }

    #[test]
    fn non_elf_is_malformed() {
        assert!(matches!(
            host_search_paths(b"\x7fELF\x02", "x.so"),
            Err(StripError::Malformed(_))
        ));
    }
}
