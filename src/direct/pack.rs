//! A source tree packed into an sdist, deterministically.
//!
//! Input: a project folder (a directory reference, or a VCS checkout's
//! project folder), the package name and version. Output: the bytes of
//! `<name>-<version>.tar.gz` holding the tree under `<name>-<version>/`,
//! and the version the tree states without building ([`static_version`]).
//!
//! Invariants: the same files give the same bytes (entries sorted; owner
//! 0; mtime 1980-01-01, the earliest a wheel's zip can record; mode 0644,
//! or 0755 for executables; gzip header without time or name); inside a
//! git work tree the files are git's (`ls-files`: tracked, plus untracked
//! ones not ignored), elsewhere everything except VCS folders, virtual
//! environments, caches and build output.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use pep440_rs::Version;

use super::DirectError;
use crate::name::PackageName;

/// The sdist's core metadata file.
const PKG_INFO: &str = "PKG-INFO";

/// 1980-01-01T00:00:00Z.
const PACKED_MTIME: u64 = 315_532_800;

/// Folders never packed when the tree is not a git work tree.
const SKIPPED_FOLDERS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "build",
    "dist",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
];

/// The file and top folder name of a packed tree (PEP 625).
fn base_name(name: &PackageName, version: &Version) -> String {
    format!("{}-{version}", name.as_ref().replace('-', "_"))
}

/// The sdist file name of a packed tree.
pub fn sdist_filename(name: &PackageName, version: &Version) -> String {
    format!("{}.tar.gz", base_name(name, version))
}

/// Pack `folder` as the sdist of `name` `version`.
pub fn pack_tree(
    folder: &Path,
    name: &PackageName,
    version: &Version,
) -> Result<Vec<u8>, DirectError> {
    let fail = |message: String| DirectError::Pack {
        path: folder.to_path_buf(),
        message,
    };
    if !folder.join("pyproject.toml").is_file() && !folder.join("setup.py").is_file() {
        return Err(fail(
            "it has neither `pyproject.toml` nor `setup.py`, so it is not a Python project".into(),
        ));
    }
    let mut files = project_files(folder)?;
    files.sort();
    let prefix = base_name(name, version);
    let encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::new(6));
    let mut builder = tar::Builder::new(encoder);
    // A project taking its version from git finds none in the packed tree:
    // it reads the sdist's `PKG-INFO` instead, as in any sdist it makes.
    let pkg_info = (!folder.join(PKG_INFO).exists()
        && super::scm_version::takes_version_from_git(folder))
    .then(|| format!("Metadata-Version: 1.0\nName: {name}\nVersion: {version}\n"));
    let mut entries: Vec<(&Path, Option<&str>)> = files
        .iter()
        .map(|relative| (relative.as_path(), None))
        .collect();
    if let Some(text) = &pkg_info {
        entries.push((Path::new(PKG_INFO), Some(text)));
        entries.sort_by(|left, right| left.0.cmp(right.0));
    }
    for (relative, generated) in entries {
        let appended = match generated {
            Some(text) => append_generated(&mut builder, relative, text, &prefix),
            None => append_entry(&mut builder, folder, relative, &prefix),
        };
        appended.map_err(|error| fail(format!("`{}`: {error}", relative.display())))?;
    }
    let encoder = builder
        .into_inner()
        .map_err(|error| fail(error.to_string()))?;
    encoder.finish().map_err(|error| fail(error.to_string()))
}

/// A file made here (not read from the tree), as [`append_entry`] would
/// add a regular file.
fn append_generated(
    builder: &mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    relative: &Path,
    text: &str,
    prefix: &str,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mtime(PACKED_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(text.len() as u64);
    builder.append_data(
        &mut header,
        Path::new(prefix).join(relative),
        text.as_bytes(),
    )
}

fn append_entry(
    builder: &mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    folder: &Path,
    relative: &Path,
    prefix: &str,
) -> std::io::Result<()> {
    let path = folder.join(relative);
    let metadata = std::fs::symlink_metadata(&path)?;
    let name = Path::new(prefix).join(relative);
    let mut header = tar::Header::new_gnu();
    header.set_mtime(PACKED_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    if metadata.file_type().is_symlink() {
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        let target = std::fs::read_link(&path)?;
        builder.append_link(&mut header, &name, target)
    } else {
        let executable = metadata.permissions().mode() & 0o111 != 0;
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(if executable { 0o755 } else { 0o644 });
        header.set_size(metadata.len());
        builder.append_data(&mut header, &name, std::fs::File::open(&path)?)
    }
}

/// The files to pack, relative to `folder`: git's view of a work tree,
/// else a walk that leaves out what is not source.
fn project_files(folder: &Path) -> Result<Vec<PathBuf>, DirectError> {
    if let Some(files) = git_files(folder) {
        return Ok(files);
    }
    let mut files = Vec::new();
    walk(folder, Path::new(""), &mut files).map_err(|error| DirectError::Pack {
        path: folder.to_path_buf(),
        message: error.to_string(),
    })?;
    Ok(files)
}

/// `git ls-files` of the work tree holding `folder`, limited to it; `None`
/// when it is not in one (or git is missing).
fn git_files(folder: &Path) -> Option<Vec<PathBuf>> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(folder)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let files = output
        .stdout
        .split(|byte| *byte == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| PathBuf::from(String::from_utf8_lossy(entry).into_owned()))
        // A tracked file deleted from the work tree is not part of it.
        .filter(|relative| std::fs::symlink_metadata(folder.join(relative)).is_ok())
        .collect();
    Some(files)
}

fn walk(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(relative))? {
        let entry = entry?;
        let name = entry.file_name();
        let child = relative.join(&name);
        if entry.file_type()?.is_dir() {
            let name = name.to_string_lossy();
            let skipped = SKIPPED_FOLDERS.contains(&name.as_ref())
                || name.ends_with(".egg-info")
                || entry.path().join("pyvenv.cfg").is_file();
            if !skipped {
                walk(root, &child, files)?;
            }
        } else if !name.to_string_lossy().ends_with(".pyc") {
            files.push(child);
        }
    }
    Ok(())
}

/// The version a tree states without running its backend: `PKG-INFO`'s
/// (an unpacked sdist), else `[project] version` when not dynamic.
pub fn static_version(folder: &Path) -> Option<Version> {
    if let Ok(text) = std::fs::read_to_string(folder.join("PKG-INFO")) {
        let version = text
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| line.strip_prefix("Version:"))?;
        return Version::from_str(version.trim()).ok();
    }
    let text = std::fs::read_to_string(folder.join("pyproject.toml")).ok()?;
    let document: toml::Table = toml::from_str(&text).ok()?;
    let project = document.get("project")?.as_table()?;
    let dynamic = project
        .get("dynamic")
        .and_then(toml::Value::as_array)
        .is_some_and(|dynamic| {
            dynamic
                .iter()
                .any(|value| value.as_str() == Some("version"))
        });
    if dynamic {
        return None;
    }
    Version::from_str(project.get("version")?.as_str()?).ok()
}

/// The project name a tree states: `[project] name` of its
/// `pyproject.toml`, else `PKG-INFO`'s `Name`.
pub fn static_name(folder: &Path) -> Option<PackageName> {
    let from_pyproject = std::fs::read_to_string(folder.join("pyproject.toml"))
        .ok()
        .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
        .and_then(|document| {
            let name = document.get("project")?.get("name")?.as_str()?.to_string();
            Some(name)
        });
    let from_pkg_info = || {
        let text = std::fs::read_to_string(folder.join("PKG-INFO")).ok()?;
        text.lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| line.strip_prefix("Name:"))
            .map(|name| name.trim().to_string())
    };
    PackageName::from_str(&from_pyproject.or_else(from_pkg_info)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> PackageName {
        PackageName::from_str("my-lib").unwrap()
    }

    fn project(folder: &Path) {
        std::fs::write(
            folder.join("pyproject.toml"),
            "[project]\nname = \"my-lib\"\nversion = \"1.2\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(folder.join("my_lib/__pycache__")).unwrap();
        std::fs::write(folder.join("my_lib/__init__.py"), "X = 1\n").unwrap();
        std::fs::write(folder.join("my_lib/__pycache__/x.pyc"), "junk").unwrap();
        std::fs::create_dir_all(folder.join(".venv")).unwrap();
        std::fs::write(folder.join(".venv/pyvenv.cfg"), "").unwrap();
    }

    fn entries(bytes: &[u8]) -> Vec<(String, u32, u64)> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                (
                    entry.path().unwrap().display().to_string(),
                    header.mode().unwrap(),
                    header.mtime().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn packs_the_same_tree_to_the_same_bytes_without_junk() {
        let folder = tempfile::tempdir().unwrap();
        project(folder.path());
        let version = static_version(folder.path()).unwrap();
        assert_eq!(version.to_string(), "1.2");
        assert_eq!(static_name(folder.path()), Some(name()));
        let first = pack_tree(folder.path(), &name(), &version).unwrap();
        // Writing a file again (a new mtime) does not change the bytes.
        std::fs::write(folder.path().join("my_lib/__init__.py"), "X = 1\n").unwrap();
        let second = pack_tree(folder.path(), &name(), &version).unwrap();
        assert_eq!(first, second);
        let listed = entries(&first);
        let names: Vec<&str> = listed.iter().map(|entry| entry.0.as_str()).collect();
        assert_eq!(
            names,
            ["my_lib-1.2/my_lib/__init__.py", "my_lib-1.2/pyproject.toml"]
        );
        assert!(listed
            .iter()
            .all(|entry| entry.1 == 0o644 && entry.2 == PACKED_MTIME));
        assert_eq!(sdist_filename(&name(), &version), "my_lib-1.2.tar.gz");
    }

    #[test]
    fn a_dynamic_version_is_not_static_and_a_non_project_is_refused() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(
            folder.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\ndynamic = [\"version\"]\n",
        )
        .unwrap();
        assert_eq!(static_version(folder.path()), None);
        let empty = tempfile::tempdir().unwrap();
        let error = pack_tree(empty.path(), &name(), &Version::new([1])).unwrap_err();
        assert!(
            error.to_string().contains("not a Python project"),
            "{error}"
        );
    }
}
