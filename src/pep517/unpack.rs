//! Unpacking an sdist archive (`.tar.gz` or `.zip`) into a folder, refusing
//! whatever could write outside it.
//!
//! Input: the archive's entries, streamed. Output: the files under
//! `<dest>/<top>/` and the name of the one top-level folder. Invariants: see
//! [`super::sdist`]; links are checked and created only after every file is
//! written, and files are created with `create_new`.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::error::{io_error, BuildError};
use crate::archive_paths::{
    ancestors, normalise_entry_name, resolve_link_target, UnsafeLink, UnsafeName,
};

/// How much an sdist may unpack to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnpackLimits {
    pub entries: usize,
    pub bytes: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            entries: crate::install::MAX_ENTRIES,
            bytes: crate::install::MAX_TOTAL_BYTES,
        }
    }
}

/// What an archive entry is.
enum EntryKind {
    Directory,
    File {
        executable: bool,
    },
    Symlink(String),
    /// A hard link to this archive path.
    Hardlink(String),
}

pub(super) struct Unpacker<'a> {
    sdist: &'a str,
    dest: &'a Path,
    limits: UnpackLimits,
    /// The top-level folder every entry is in.
    top: Option<String>,
    /// Paths below the top folder already unpacked, and whether each is a directory.
    seen: BTreeMap<String, bool>,
    /// Links (path below the top folder, target), created last.
    links: Vec<(String, String)>,
    bytes: u64,
}

impl<'a> Unpacker<'a> {
    pub fn new(sdist: &'a str, dest: &'a Path, limits: UnpackLimits) -> Self {
        Self {
            sdist,
            dest,
            limits,
            top: None,
            seen: BTreeMap::new(),
            links: Vec::new(),
            bytes: 0,
        }
    }

    fn refuse(&self, entry: &str, reason: impl Into<String>) -> BuildError {
        BuildError::Refused {
            sdist: self.sdist.to_string(),
            entry: entry.to_string(),
            reason: reason.into(),
        }
    }

    fn archive_error(&self, error: impl std::fmt::Display) -> BuildError {
        BuildError::Archive {
            sdist: self.sdist.to_string(),
            reason: error.to_string(),
        }
    }

    pub fn read_tar_gz(&mut self, compressed: impl Read) -> Result<(), BuildError> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(compressed));
        for entry in archive
            .entries()
            .map_err(|error| self.archive_error(error))?
        {
            let mut entry = entry.map_err(|error| self.archive_error(error))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let header = entry.header();
            let link = |entry: &tar::Entry<_>| {
                entry
                    .link_name_bytes()
                    .map(|target| String::from_utf8_lossy(&target).into_owned())
                    .unwrap_or_default()
            };
            let kind = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File {
                    executable: header.mode().unwrap_or(0o644) & 0o111 != 0,
                },
                tar::EntryType::Directory => EntryKind::Directory,
                tar::EntryType::Symlink => EntryKind::Symlink(link(&entry)),
                tar::EntryType::Link => EntryKind::Hardlink(link(&entry)),
                // A pax global header carries no file (git archive writes one).
                tar::EntryType::XGlobalHeader => continue,
                other => {
                    let what = match other {
                        tar::EntryType::Char | tar::EntryType::Block => "is a device file",
                        tar::EntryType::Fifo => "is a FIFO",
                        _ => "is of a tar entry type an sdist has no use for",
                    };
                    return Err(self.refuse(&name, what));
                }
            };
            let declared = header.size().unwrap_or(0);
            self.add(&name, kind, declared, &mut entry)?;
        }
        Ok(())
    }

    pub fn read_zip(&mut self, sdist: &Path) -> Result<(), BuildError> {
        let file = fs::File::open(sdist).map_err(io_error("read", sdist))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|error| self.archive_error(error))?;
        if archive.len() > self.limits.entries {
            return Err(self.refuse(
                "(archive)",
                format!(
                    "has {} entries, over the limit of {}",
                    archive.len(),
                    self.limits.entries
                ),
            ));
        }
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|error| self.archive_error(error))?;
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            let mode = entry.unix_mode().unwrap_or(0o644);
            let kind = match mode & 0o170000 {
                _ if entry.is_dir() => EntryKind::Directory,
                0o120000 => {
                    let mut target = String::new();
                    (&mut entry)
                        .take(4096)
                        .read_to_string(&mut target)
                        .map_err(|error| self.archive_error(error))?;
                    EntryKind::Symlink(target)
                }
                0 | 0o100000 => EntryKind::File {
                    executable: mode & 0o111 != 0,
                },
                _ => return Err(self.refuse(&name, "is a device file, FIFO or socket")),
            };
            let declared = entry.size();
            self.add(&name, kind, declared, &mut entry)?;
        }
        Ok(())
    }

    /// Split `name` into the top folder and the path below it.
    fn split(&mut self, name: &str) -> Result<Option<(String, String)>, BuildError> {
        let normalised = match normalise_entry_name(name) {
            Ok(normalised) => normalised,
            // `./`, which tar archives often start with.
            Err(UnsafeName::Empty) => return Ok(None),
            Err(reason) => return Err(self.refuse(name, reason.to_string())),
        };
        let (top, below) = normalised.split_once('/').unwrap_or((&normalised, ""));
        match &self.top {
            None => self.top = Some(top.to_string()),
            Some(expected) if expected == top => {}
            Some(expected) => {
                return Err(self.refuse(
                    name,
                    format!("lies outside the sdist's top-level folder `{expected}`"),
                ))
            }
        }
        Ok(Some((top.to_string(), below.to_string())))
    }

    fn add(
        &mut self,
        name: &str,
        kind: EntryKind,
        declared: u64,
        reader: &mut dyn Read,
    ) -> Result<(), BuildError> {
        let Some((top, relative)) = self.split(name)? else {
            return Ok(());
        };
        let is_directory = matches!(kind, EntryKind::Directory);
        if relative.is_empty() {
            return match is_directory {
                true => Ok(()),
                false => Err(self.refuse(name, "is a file beside the top-level folder")),
            };
        }
        if self.seen.len() >= self.limits.entries {
            return Err(self.refuse(
                name,
                format!("is over the limit of {} entries", self.limits.entries),
            ));
        }
        match self.seen.get(&relative) {
            Some(true) if is_directory => return Ok(()),
            Some(_) => return Err(self.refuse(name, "appears more than once")),
            None => {}
        }
        if let Some(parent) =
            ancestors(&relative).find(|ancestor| self.seen.get(*ancestor) == Some(&false))
        {
            return Err(self.refuse(name, format!("lies below the file or link `{parent}`")));
        }
        let inner = format!("{relative}/");
        let holds_entries = self
            .seen
            .range(inner.clone()..)
            .next()
            .is_some_and(|(path, _)| path.starts_with(&inner));
        if !is_directory && holds_entries {
            return Err(self.refuse(name, "is not a folder but entries before it lie below it"));
        }
        self.seen.insert(relative.clone(), is_directory);
        let path = self.dest.join(&top).join(&relative);
        match kind {
            EntryKind::Directory => fs::create_dir_all(&path).map_err(io_error("create", &path)),
            EntryKind::Symlink(target) => {
                self.links.push((relative, target));
                Ok(())
            }
            EntryKind::Hardlink(target) => self.copy_hardlink(name, &top, &target, &path),
            EntryKind::File { executable } => {
                self.write_file(name, &path, executable, declared, reader)
            }
        }
    }

    fn write_file(
        &mut self,
        name: &str,
        path: &Path,
        executable: bool,
        declared: u64,
        reader: &mut dyn Read,
    ) -> Result<(), BuildError> {
        let remaining = self.limits.bytes.saturating_sub(self.bytes);
        if declared > remaining {
            return Err(self.too_large(name));
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o755 } else { 0o644 })
            .open(path)
            .map_err(io_error("create", path))?;
        let written = io::copy(&mut reader.take(remaining + 1), &mut file)
            .map_err(|error| self.archive_error(format!("entry `{name}`: {error}")))?;
        file.flush().map_err(io_error("write", path))?;
        self.bytes += written;
        if self.bytes > self.limits.bytes {
            return Err(self.too_large(name));
        }
        Ok(())
    }

    fn too_large(&self, name: &str) -> BuildError {
        self.refuse(
            name,
            format!(
                "brings the unpacked size over the limit of {} bytes",
                self.limits.bytes
            ),
        )
    }

    /// A hard link is unpacked as a copy of the regular file it names.
    fn copy_hardlink(
        &mut self,
        name: &str,
        top: &str,
        target: &str,
        path: &Path,
    ) -> Result<(), BuildError> {
        let resolved = normalise_entry_name(target)
            .ok()
            .and_then(|path| Some(path.strip_prefix(top)?.strip_prefix('/')?.to_string()));
        let Some(resolved) = resolved.filter(|resolved| self.seen.get(resolved) == Some(&false))
        else {
            return Err(self.refuse(
                name,
                format!("is a hard link to `{target}`, which is not a file unpacked before it"),
            ));
        };
        if self.links.iter().any(|(link, _)| *link == resolved) {
            return Err(self.refuse(
                name,
                format!("is a hard link to the symbolic link `{target}`"),
            ));
        }
        let source = self.dest.join(top).join(&resolved);
        let mut reader = fs::File::open(&source).map_err(io_error("read", &source))?;
        let metadata = reader.metadata().map_err(io_error("read", &source))?;
        let executable = metadata.permissions().mode() & 0o111 != 0;
        let size = metadata.len();
        self.write_file(name, path, executable, size, &mut reader)
    }

    /// Check and create the links; return the top-level folder.
    pub fn finish(self) -> Result<String, BuildError> {
        let Some(top) = self.top.clone() else {
            return Err(self.archive_error("the archive is empty"));
        };
        for (link, target) in &self.links {
            self.check_link(link, target)
                .map_err(|reason| self.refuse(&format!("{top}/{link}"), reason))?;
        }
        for (link, target) in &self.links {
            let path = self.dest.join(&top).join(link);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io_error("create", parent))?;
            }
            std::os::unix::fs::symlink(target, &path)
                .map_err(io_error("create the link", &path))?;
        }
        Ok(top)
    }

    /// A link must resolve inside the top folder without running through
    /// another link (whose own target would change what `..` means).
    fn check_link(&self, link: &str, target: &str) -> Result<(), String> {
        let is_link = |path: &str| self.links.iter().any(|(other, _)| other == path);
        resolve_link_target(link, target, is_link)
            .map(drop)
            .map_err(|reason| match reason {
                UnsafeLink::Escapes => {
                    format!("is a symbolic link to `{target}`, which points outside the sdist")
                }
                UnsafeLink::ThroughLink => format!(
                    "is a symbolic link to `{target}`, which runs through another symbolic link"
                ),
            })
    }
}
