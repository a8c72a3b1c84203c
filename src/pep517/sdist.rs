//! Source distributions: safe unpacking and the `[build-system]` table.
//!
//! Input: an sdist file (`.tar.gz` or `.zip`). Output: a [`SourceTree`] (the
//! single top-level folder unpacked below a destination, with its
//! [`BuildSystem`]).
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

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::Requirement;

use super::error::{io_error, BuildError};
pub(crate) use super::unpack::UnpackLimits;
use super::unpack::Unpacker;
use crate::archive_paths::{normalise_entry_name, UnsafeName};
use crate::excerpt::excerpt;
use crate::filename::SdistExtension;
use crate::requirement_text::parse_requirement;

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
    let kind = extension(sdist, &label)?;
    unpack_into(&label, dest, limits, |unpacker| match kind {
        SdistExtension::TarGz => {
            unpacker.read_tar_gz(fs::File::open(sdist).map_err(io_error("read", sdist))?)
        }
        SdistExtension::Zip => unpacker.read_zip(sdist),
        SdistExtension::TarBz2 | SdistExtension::TarXz => unreachable!("refused by extension()"),
    })
}

/// Unpack the `.tar.gz` sdist `filename` from `reader` (its bytes as they
/// download) into `dest`, as [`unpack_sdist`] does from a file. The tree
/// is only as trustworthy as the bytes: use it once their digest is checked.
pub fn unpack_tar_gz_from(
    reader: impl io::Read,
    filename: &str,
    dest: &Path,
) -> Result<SourceTree, BuildError> {
    unpack_into(filename, dest, UnpackLimits::default(), |unpacker| {
        unpacker.read_tar_gz(reader)
    })
}

/// Unpack with `read` into `dest` (created if needed), then read the
/// tree's build system.
fn unpack_into(
    label: &str,
    dest: &Path,
    limits: UnpackLimits,
    read: impl FnOnce(&mut Unpacker<'_>) -> Result<(), BuildError>,
) -> Result<SourceTree, BuildError> {
    fs::create_dir_all(dest).map_err(io_error("create", dest))?;
    // Hooks run with the tree as working directory: its paths must be absolute.
    let dest = &fs::canonicalize(dest).map_err(io_error("resolve", dest))?;
    let mut unpacker = Unpacker::new(label, dest, limits);
    read(&mut unpacker)?;
    let top = unpacker.finish()?;
    let root = dest.join(&top);
    let pyproject = root.join("pyproject.toml");
    let text = match fs::read_to_string(&pyproject) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(io_error("read", pyproject)(error)),
    };
    let build_system = parse_build_system(text.as_deref(), label)?;
    Ok(SourceTree {
        root,
        build_system,
        sdist: label.to_string(),
    })
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
    let document: toml::Table = toml::from_str(text).map_err(|error| {
        let message = crate::excerpt::toml_error(&error, text);
        invalid("pyproject.toml", format!("is not valid TOML: {message}"))
    })?;
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
            parse_requirement(text, None).map_err(|error| {
                let (text, error) = (excerpt(text), excerpt(&error.to_string()));
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
    let inside = match normalise_entry_name(path) {
        Ok(_) => true,
        Err(UnsafeName::Empty) => path == ".",
        Err(_) => false,
    };
    if inside {
        Ok(())
    } else {
        Err(format!(
            "holds `{path}`, which is not a folder inside the source tree"
        ))
    }
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

#[cfg(test)]
mod tests;
