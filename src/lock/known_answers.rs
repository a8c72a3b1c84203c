//! Answers of `get_requires_for_build_wheel` known without running the
//! backend.
//!
//! Input: an sdist's `[build-system]`, whether its source mentions
//! `setup_requires` anywhere ([`mentions_setup_requires`]), and the
//! setuptools version its build environment resolved to. Output: the backend's answer when
//! it is certain, else `None` (the hook runs).
//!
//! Invariant: only setuptools' own backends (`setuptools.build_meta` and
//! its `__legacy__` form, not wrapped in an in-tree backend) are answered.
//! From setuptools 71 on (the first with `bdist_wheel` built in), their
//! hook returns exactly the project's `setup_requires`, so a source that
//! never spells `setup_requires` is answered with nothing. Anything else,
//! or any doubt (an unreadable tree, too much source to read), runs the
//! hook.
//!
//! Why: the hook runs `setup.py egg_info` in a fresh interpreter, half a
//! second per sdist on a cold lock, and most setuptools sdists ask for
//! nothing.

use std::path::Path;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::Requirement;

use crate::pep517::BuildSystem;

/// The oldest setuptools whose `get_requires_for_build_wheel` adds nothing
/// of its own (older ones add `wheel`).
const QUIET_SETUPTOOLS: &str = "71";

/// More source than this is not read: the hook runs instead.
const MOST_BYTES_READ: u64 = 32 * 1024 * 1024;

/// Where `setup_requires` could be written: Python, `setup.cfg` and data
/// files a `setup.py` might load its arguments from.
const READ_EXTENSIONS: &[&str] = &["py", "cfg", "toml", "json", "ini", "txt"];

/// What `get_requires_for_build_wheel` answers, when that is certain.
pub fn known_requires_answer(
    build_system: &BuildSystem,
    mentions_setup_requires: bool,
    setuptools: Option<&Version>,
) -> Option<Vec<Requirement>> {
    let setuptools_backend = matches!(
        build_system.backend.as_str(),
        "setuptools.build_meta" | "setuptools.build_meta:__legacy__"
    );
    if !setuptools_backend || !build_system.backend_path.is_empty() || mentions_setup_requires {
        return None;
    }
    let quiet = Version::from_str(QUIET_SETUPTOOLS).ok()?;
    (*setuptools? >= quiet).then(Vec::new)
}

/// Whether any source file of the tree at `root` spells `setup_requires`
/// (`true` when that cannot be told).
pub fn mentions_setup_requires(root: &Path) -> bool {
    let mut budget = MOST_BYTES_READ;
    scan(root, &mut budget).unwrap_or(true)
}

/// `Some(true)` at the first mention, `None` when the tree cannot be read
/// or the budget runs out.
fn scan(folder: &Path, budget: &mut u64) -> Option<bool> {
    for entry in std::fs::read_dir(folder).ok()? {
        let entry = entry.ok()?;
        let kind = entry.file_type().ok()?;
        let path = entry.path();
        if kind.is_dir() {
            if scan(&path, budget)? {
                return Some(true);
            }
            continue;
        }
        let readable = kind.is_file()
            && path
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| READ_EXTENSIONS.contains(&extension));
        if !readable {
            continue;
        }
        *budget = budget.checked_sub(entry.metadata().ok()?.len())?;
        let bytes = std::fs::read(&path).ok()?;
        if bytes
            .windows(b"setup_requires".len())
            .any(|window| window == b"setup_requires")
        {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_system(backend: &str, backend_path: &[&str]) -> BuildSystem {
        BuildSystem {
            requires: Vec::new(),
            backend: backend.to_string(),
            backend_path: backend_path.iter().map(|path| path.to_string()).collect(),
        }
    }

    #[test]
    fn only_quiet_setuptools_backends_without_setup_requires_are_answered() {
        let version = |text: &str| Version::from_str(text).unwrap();
        let modern = Some(version("84.2.1"));
        let answered = |backend, path: &[&str], mentions, setuptools: &Option<Version>| {
            known_requires_answer(&build_system(backend, path), mentions, setuptools.as_ref())
        };
        assert_eq!(
            answered("setuptools.build_meta", &[], false, &modern),
            Some(Vec::new())
        );
        assert_eq!(
            answered("setuptools.build_meta:__legacy__", &[], false, &modern),
            Some(Vec::new())
        );
        assert_eq!(answered("setuptools.build_meta", &[], true, &modern), None);
        assert_eq!(
            answered("backend", &["_custom_build"], false, &modern),
            None
        );
        assert_eq!(answered("hatchling.build", &[], false, &modern), None);
        let old = Some(version("69.5.1"));
        assert_eq!(answered("setuptools.build_meta", &[], false, &old), None);
        assert_eq!(answered("setuptools.build_meta", &[], false, &None), None);
    }

    #[test]
    fn any_source_file_that_spells_setup_requires_counts() {
        let tree = tempfile::tempdir().unwrap();
        std::fs::write(
            tree.path().join("setup.py"),
            "from setuptools import setup\nsetup()\n",
        )
        .unwrap();
        std::fs::write(
            tree.path().join("README.rst"),
            "setup_requires is not read here",
        )
        .unwrap();
        assert!(!mentions_setup_requires(tree.path()));
        let tools = tree.path().join("tools");
        std::fs::create_dir(&tools).unwrap();
        std::fs::write(
            tools.join("options.json"),
            "{\"setup_requires\": [\"cffi\"]}",
        )
        .unwrap();
        assert!(mentions_setup_requires(tree.path()));
        assert!(mentions_setup_requires(&tree.path().join("missing")));
    }
}
