//! Source distributions: safe unpacking and the `[build-system]` table.
//!
//! Input: an sdist file (`.tar.gz` or `.zip`). Output: a [`SourceTree`] (the
//! single top-level folder unpacked below a destination, with its
//! [`BuildSystem`]), or only the [`BuildSystem`] read straight from the
//! archive ([`read_build_system`], used at lock time).
//!
//! Invariants:
//! - nothing is written outside the destination: absolute paths, `..`,
//!   entries outside the one top-level folder, links leaving the tree or
//!   running through other links, hard links to anything but a regular file
//!   already unpacked, device files, FIFOs, duplicate entries and archives
//!   over the size limits are refused, naming the sdist and the entry;
//! - files are created with `create_new` and links only after every file, so
//!   nothing is ever written through a link;
//! - a missing `pyproject.toml` or `[build-system]` table means PEP 517's
//!   fallback (`setuptools>=40.8.0`, `setuptools.build_meta:__legacy__`).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::Requirement;

use super::error::{io_error, BuildError};
use crate::filename::SdistExtension;
use crate::index::sdist::{read_sdist_files, SdistError};

/// What PEP 517 says to assume without a `[build-system]` table.
const FALLBACK_REQUIREMENT: &str = "setuptools>=40.8.0";
const FALLBACK_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// An unpacked sdist.
#[derive(Clone, Debug)]
pub struct SourceTree {
    /// The sdist's top-level folder, unpacked.
    pub root: PathBuf,
    pub build_system: BuildSystem,
    /// The sdist's file name, for messages.
    pub sdist: String,
}

/// An sdist's `[build-system]` table (or PEP 517's fallback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSystem {
    pub requires: Vec<Requirement>,
    /// `module` or `module:object`.
    pub backend: String,
    /// Folders of the source tree that hold an in-tree backend, relative to its root.
    pub backend_path: Vec<String>,
}

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

/// Unpack `sdist` into `dest` (created if needed) and read its build system.
pub fn unpack_sdist(sdist: &Path, dest: &Path) -> Result<SourceTree, BuildError> {
    unpack_with_limits(sdist, dest, UnpackLimits::default())
}

pub(crate) fn unpack_with_limits(
    sdist: &Path,
    dest: &Path,
    limits: UnpackLimits,
) -> Result<SourceTree, BuildError> {
    let label = file_label(sdist);
    fs::create_dir_all(dest).map_err(io_error("create", dest))?;
    // Hooks run with the tree as working directory: its paths must be absolute.
    let dest = &fs::canonicalize(dest).map_err(io_error("resolve", dest))?;
    let mut unpacker = Unpacker {
        sdist: &label,
        dest,
        limits,
        top: None,
        seen: BTreeMap::new(),
        links: Vec::new(),
        bytes: 0,
    };
    match extension(sdist, &label)? {
        SdistExtension::TarGz => unpacker.read_tar_gz(sdist)?,
        SdistExtension::Zip => unpacker.read_zip(sdist)?,
        SdistExtension::TarBz2 | SdistExtension::TarXz => unreachable!("refused by extension()"),
    }
    let top = unpacker.finish()?;
    let root = dest.join(&top);
    let pyproject = root.join("pyproject.toml");
    let text = match fs::read_to_string(&pyproject) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(io_error("read", pyproject)(error)),
    };
    let build_system = parse_build_system(text.as_deref(), &label)?;
    Ok(SourceTree {
        root,
        build_system,
        sdist: label,
    })
}

/// The `[build-system]` of `sdist`, read from the archive without unpacking it.
pub fn read_build_system(sdist: &Path) -> Result<BuildSystem, BuildError> {
    let label = file_label(sdist);
    let extension = extension(sdist, &label)?;
    let files = read_sdist_files(sdist, extension, &|relative| relative == "pyproject.toml")
        .map_err(|error| BuildError::Archive {
            sdist: label.clone(),
            reason: match error {
                SdistError::Unsupported(reason) | SdistError::Invalid(reason) => reason,
            },
        })?;
    parse_build_system(files.get("pyproject.toml").map(String::as_str), &label)
}

/// Parse `pyproject.toml`'s `[build-system]` (`None`: no `pyproject.toml`).
pub fn parse_build_system(text: Option<&str>, sdist: &str) -> Result<BuildSystem, BuildError> {
    let invalid = |key: &str, reason: String| BuildError::Pyproject {
        sdist: sdist.to_string(),
        key: key.to_string(),
        reason,
    };
    let fallback = || BuildSystem {
        requires: vec![Requirement::from_str(FALLBACK_REQUIREMENT).expect("a valid requirement")],
        backend: FALLBACK_BACKEND.to_string(),
        backend_path: Vec::new(),
    };
    let Some(text) = text else {
        return Ok(fallback());
    };
    let document: toml::Table = toml::from_str(text)
        .map_err(|error| invalid("pyproject.toml", format!("is not valid TOML: {error}")))?;
    let Some(table) = document.get("build-system") else {
        return Ok(fallback());
    };
    let table = table
        .as_table()
        .ok_or_else(|| invalid("build-system", "must be a table".into()))?;
    let strings = |key: &str| -> Result<Option<Vec<String>>, BuildError> {
        let Some(value) = table.get(key) else {
            return Ok(None);
        };
        let items = value.as_array().ok_or_else(|| {
            invalid(
                &format!("build-system.{key}"),
                "must be an array of strings".into(),
            )
        })?;
        items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_string).ok_or_else(|| {
                    invalid(
                        &format!("build-system.{key}"),
                        format!("must be an array of strings, not hold `{item}`"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    let requires = strings("requires")?
        .ok_or_else(|| invalid("build-system.requires", "is missing".into()))?
        .iter()
        .map(|text| {
            Requirement::from_str(text).map_err(|error| {
                invalid(
                    "build-system.requires",
                    format!("holds `{text}`, which is not a PEP 508 requirement: {error}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let backend = match table.get("build-backend") {
        None => FALLBACK_BACKEND.to_string(),
        Some(value) => {
            let backend = value
                .as_str()
                .ok_or_else(|| invalid("build-system.build-backend", "must be a string".into()))?;
            check_backend_name(backend)
                .map_err(|reason| invalid("build-system.build-backend", reason))?;
            backend.to_string()
        }
    };
    let backend_path = strings("backend-path")?.unwrap_or_default();
    for path in &backend_path {
        check_backend_path(path).map_err(|reason| invalid("build-system.backend-path", reason))?;
    }
    Ok(BuildSystem {
        requires,
        backend,
        backend_path,
    })
}

/// `module.sub` or `module.sub:object.attribute`, Python identifiers only.
fn check_backend_name(backend: &str) -> Result<(), String> {
    let identifiers = |dotted: &str| {
        dotted.split('.').all(|part| {
            let mut characters = part.chars();
            characters
                .next()
                .is_some_and(|first| first.is_alphabetic() || first == '_')
                && characters.all(|character| character.is_alphanumeric() || character == '_')
        })
    };
    let (module, object) = backend.split_once(':').unwrap_or((backend, ""));
    if identifiers(module) && (object.is_empty() || identifiers(object)) {
        Ok(())
    } else {
        Err(format!("`{backend}` is not `module` or `module:object`"))
    }
}

/// PEP 517: backend-path entries are relative paths inside the source tree.
fn check_backend_path(path: &str) -> Result<(), String> {
    let inside = !path.starts_with('/')
        && normalize(&[], path).is_some_and(|parts| !parts.is_empty() || path == ".");
    if inside {
        Ok(())
    } else {
        Err(format!(
            "holds `{path}`, which is not a folder inside the source tree"
        ))
    }
}

/// Resolve `relative` against `base` lexically; `None` when it climbs out.
fn normalize(base: &[&str], relative: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = base.iter().map(|part| part.to_string()).collect();
    for component in relative.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part.to_string()),
        }
    }
    Some(parts)
}

fn file_label(sdist: &Path) -> String {
    sdist
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| sdist.display().to_string())
}

fn extension(sdist: &Path, label: &str) -> Result<SdistExtension, BuildError> {
    let name = label.to_ascii_lowercase();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Ok(SdistExtension::TarGz)
    } else if name.ends_with(".zip") {
        Ok(SdistExtension::Zip)
    } else {
        Err(BuildError::Archive {
            sdist: label.to_string(),
            reason: format!(
                "`{}` is not a `.tar.gz` or `.zip` file; only those sdists can be built",
                sdist.display()
            ),
        })
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

struct Unpacker<'a> {
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

impl Unpacker<'_> {
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

    fn read_tar_gz(&mut self, sdist: &Path) -> Result<(), BuildError> {
        let file = fs::File::open(sdist).map_err(io_error("read", sdist))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
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

    fn read_zip(&mut self, sdist: &Path) -> Result<(), BuildError> {
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
    fn split<'n>(&mut self, name: &'n str) -> Result<Option<(String, Vec<&'n str>)>, BuildError> {
        if name.starts_with('/') {
            return Err(self.refuse(name, "has an absolute path"));
        }
        let parts: Vec<&str> = name
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(self.refuse(name, "has a `..` component"));
        }
        if name.contains('\0') {
            return Err(self.refuse(name, "has a NUL byte in its name"));
        }
        let Some((top, below)) = parts.split_first() else {
            return Ok(None);
        };
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
        Ok(Some((top.to_string(), below.to_vec())))
    }

    fn add(
        &mut self,
        name: &str,
        kind: EntryKind,
        declared: u64,
        reader: &mut dyn Read,
    ) -> Result<(), BuildError> {
        let Some((top, below)) = self.split(name)? else {
            return Ok(());
        };
        let is_directory = matches!(kind, EntryKind::Directory);
        if below.is_empty() {
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
        let relative = below.join("/");
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
        let resolved = normalize(&[], target)
            .filter(|parts| parts.first().map(String::as_str) == Some(top))
            .map(|parts| parts[1..].join("/"));
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
        let size = reader.metadata().map_err(io_error("read", &source))?.len();
        let executable = {
            use std::os::unix::fs::PermissionsExt;
            reader
                .metadata()
                .map_err(io_error("read", &source))?
                .permissions()
                .mode()
                & 0o111
                != 0
        };
        self.write_file(name, path, executable, size, &mut reader)
    }

    /// Check and create the links; return the top-level folder.
    fn finish(self) -> Result<String, BuildError> {
        let Some(top) = self.top.clone() else {
            return Err(self.archive_error("the archive is empty"));
        };
        let link_paths: BTreeMap<&str, &str> = self
            .links
            .iter()
            .map(|(link, target)| (link.as_str(), target.as_str()))
            .collect();
        for (link, target) in &self.links {
            let entry = format!("{top}/{link}");
            if target.starts_with('/') || target.is_empty() {
                return Err(self.refuse(
                    &entry,
                    format!("is a symbolic link to `{target}`, which points outside the sdist"),
                ));
            }
            let parent: Vec<&str> = link.split('/').rev().skip(1).collect::<Vec<_>>();
            let parent: Vec<&str> = parent.into_iter().rev().collect();
            let mut walked: Vec<&str> = parent.clone();
            for component in target.split('/') {
                match component {
                    "" | "." => {}
                    ".." => {
                        if walked.pop().is_none() {
                            return Err(self.refuse(
                                &entry,
                                format!(
                                    "is a symbolic link to `{target}`, which points outside the sdist"
                                ),
                            ));
                        }
                    }
                    part => {
                        walked.push(part);
                        let so_far = walked.join("/");
                        if so_far != *link && link_paths.contains_key(so_far.as_str()) {
                            return Err(self.refuse(
                                &entry,
                                format!(
                                    "is a symbolic link to `{target}`, which runs through another \
                                     symbolic link"
                                ),
                            ));
                        }
                    }
                }
            }
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
}

/// `a/b/c` → `a/b`, `a`.
fn ancestors(relative: &str) -> impl Iterator<Item = &str> {
    relative
        .match_indices('/')
        .map(move |(index, _)| &relative[..index])
}

#[cfg(test)]
#[path = "sdist_tests.rs"]
mod tests;
