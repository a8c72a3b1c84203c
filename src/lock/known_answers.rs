//! Answers of `get_requires_for_build_wheel` known without running the
//! backend.
//!
//! Input: an unpacked sdist ([`read_source_facts`] reads what matters of
//! it, once, into [`SourceFacts`], which the cache keeps with its
//! `[build-system]`) and the setuptools version its build environment
//! resolved to. Output: the backend's answer when it is certain, else
//! `None` (the hook runs).
//!
//! Invariant: only setuptools' own hook is answered. That is the hook of
//! `setuptools.build_meta` (and its `__legacy__` form) named directly with
//! no `backend-path`, or of an in-tree backend module that takes setuptools'
//! hooks with `from setuptools.build_meta import *` and whose
//! `backend-path` folders never touch that hook (no file there spells its
//! name, setuptools' internals behind it, `setattr`, or holds a
//! `setuptools` of its own that would shadow the real one), as Pillow's
//! wrapper, which only overrides `build_wheel`. From setuptools 71 on (the
//! first with `bdist_wheel` built in), that hook returns exactly the
//! project's `setup_requires`, so a source that never spells
//! `setup_requires` is answered with nothing. Anything else, or any doubt
//! (an unreadable tree, too much source to read), runs the hook.
//!
//! Why: the hook runs `setup.py egg_info` in a fresh interpreter, half a
//! second per sdist on a cold lock (most of it compiling setuptools to
//! bytecode), and most setuptools sdists ask for nothing.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::Requirement;

use crate::pep517::{BuildSystem, SourceTree};

/// The oldest setuptools whose `get_requires_for_build_wheel` adds nothing
/// of its own (older ones add `wheel`).
const QUIET_SETUPTOOLS: &str = "71";

/// More source than this is not read: the hook runs instead.
const MOST_BYTES_READ: u64 = 32 * 1024 * 1024;

/// Where `setup_requires` could be written: Python, `setup.cfg` and data
/// files a `setup.py` might load its arguments from.
const READ_EXTENSIONS: &[&str] = &["py", "cfg", "toml", "json", "ini", "txt"];

/// The import that hands an in-tree module setuptools' hooks.
const SETUPTOOLS_REEXPORT: &str = "from setuptools.build_meta import *";

/// Spellings in an in-tree backend that could change setuptools' answer:
/// the hook's own name, what it calls, and generic attribute setting.
const HOOK_TOUCHES: &[&str] = &[
    "get_requires_for_build_wheel",
    "_get_build_requires",
    "fetch_build_eggs",
    "_BACKEND",
    "setattr",
];

/// What an sdist's tree says about its `get_requires_for_build_wheel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceFacts {
    /// Some source file spells `setup_requires` (or the tree could not be
    /// read to tell).
    pub mentions_setup_requires: bool,
    /// The backend's `get_requires_for_build_wheel` is setuptools' own.
    pub setuptools_hook: bool,
}

/// What `get_requires_for_build_wheel` answers, when that is certain.
pub fn known_requires_answer(
    facts: SourceFacts,
    setuptools: Option<&Version>,
) -> Option<Vec<Requirement>> {
    if !facts.setuptools_hook || facts.mentions_setup_requires {
        return None;
    }
    let quiet = Version::from_str(QUIET_SETUPTOOLS).ok()?;
    (*setuptools? >= quiet).then(Vec::new)
}

/// Read the [`SourceFacts`] of an unpacked sdist.
pub fn read_source_facts(tree: &SourceTree) -> SourceFacts {
    SourceFacts {
        mentions_setup_requires: mentions_setup_requires(&tree.root),
        setuptools_hook: has_setuptools_hook(&tree.root, &tree.build_system),
    }
}

/// Whether the backend's `get_requires_for_build_wheel` is setuptools'
/// (see the module documentation).
fn has_setuptools_hook(root: &Path, build_system: &BuildSystem) -> bool {
    let named_directly = matches!(
        build_system.backend.as_str(),
        "setuptools.build_meta" | "setuptools.build_meta:__legacy__"
    );
    if build_system.backend_path.is_empty() {
        return named_directly;
    }
    if named_directly || build_system.backend.contains(':') {
        return false;
    }
    let folders: Vec<PathBuf> = build_system
        .backend_path
        .iter()
        .map(|folder| root.join(folder))
        .collect();
    let shadows_setuptools = folders.iter().any(|folder| {
        ["setuptools", "setuptools.py", "distutils", "distutils.py"]
            .iter()
            .any(|name| folder.join(name).exists())
    });
    if shadows_setuptools {
        return false;
    }
    let Some(module) = backend_module_file(&folders, &build_system.backend) else {
        return false;
    };
    let reexports = std::fs::read_to_string(module).is_ok_and(|text| {
        text.lines().any(|line| {
            // Top level only (an indented import is conditional), comments
            // and spacing aside.
            let code = line.split('#').next().unwrap_or_default();
            !code.starts_with(char::is_whitespace)
                && code.split_whitespace().collect::<Vec<_>>().join(" ") == SETUPTOOLS_REEXPORT
        })
    });
    let mut budget = MOST_BYTES_READ;
    reexports
        && folders
            .iter()
            // Python passes over folders that are not there.
            .filter(|folder| folder.exists())
            .all(|folder| scan(folder, &["py"], HOOK_TOUCHES, &mut budget) == Some(false))
}

/// The file Python imports the module `dotted` from, searching `folders`
/// in order (a module file, else a package's `__init__.py`).
fn backend_module_file(folders: &[PathBuf], dotted: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = dotted.split('.').collect();
    if parts
        .iter()
        .any(|part| part.is_empty() || !part.chars().all(|c| c.is_alphanumeric() || c == '_'))
    {
        return None;
    }
    let relative: PathBuf = parts.iter().collect();
    folders.iter().find_map(|folder| {
        let module = folder.join(&relative).with_extension("py");
        let package = folder.join(&relative).join("__init__.py");
        [module, package].into_iter().find(|path| path.is_file())
    })
}

/// Whether any source file of the tree at `root` spells `setup_requires`
/// (`true` when that cannot be told).
fn mentions_setup_requires(root: &Path) -> bool {
    let mut budget = MOST_BYTES_READ;
    scan(root, READ_EXTENSIONS, &["setup_requires"], &mut budget).unwrap_or(true)
}

/// Whether a file below `folder` with one of `extensions` spells one of
/// `words`: `Some(true)` at the first, `None` when the tree cannot be read
/// or the budget runs out.
fn scan(folder: &Path, extensions: &[&str], words: &[&str], budget: &mut u64) -> Option<bool> {
    for entry in std::fs::read_dir(folder).ok()? {
        let entry = entry.ok()?;
        let kind = entry.file_type().ok()?;
        let path = entry.path();
        if kind.is_dir() {
            if scan(&path, extensions, words, budget)? {
                return Some(true);
            }
            continue;
        }
        let readable = kind.is_file()
            && path
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| extensions.contains(&extension));
        if !readable {
            continue;
        }
        *budget = budget.checked_sub(entry.metadata().ok()?.len())?;
        let bytes = std::fs::read(&path).ok()?;
        let spells = |word: &str| {
            bytes
                .windows(word.len())
                .any(|window| window == word.as_bytes())
        };
        if words.iter().any(|word| spells(word)) {
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

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Pillow 12's `_custom_build/backend.py`, shortened.
    const PILLOW_LIKE_BACKEND: &str = "from __future__ import annotations\n\
        import sys\n\n\
        from setuptools.build_meta import *  # noqa: F403\n\
        from setuptools.build_meta import build_wheel\n\n\
        backend_class = build_wheel.__self__.__class__\n\n\
        class _CustomBuildMetaBackend(backend_class):\n\
        \x20   def run_setup(self, setup_script=\"setup.py\"):\n\
        \x20       return super().run_setup(setup_script)\n\n\
        _backend = _CustomBuildMetaBackend()\n\
        build_wheel = _backend.build_wheel\n";

    #[test]
    fn only_setuptools_hooks_without_setup_requires_on_quiet_setuptools_are_answered() {
        let version = |text: &str| Version::from_str(text).unwrap();
        let facts = |setuptools_hook, mentions_setup_requires| SourceFacts {
            mentions_setup_requires,
            setuptools_hook,
        };
        let modern = version("84.2.1");
        assert_eq!(
            known_requires_answer(facts(true, false), Some(&modern)),
            Some(Vec::new())
        );
        assert_eq!(
            known_requires_answer(facts(true, true), Some(&modern)),
            None
        );
        assert_eq!(
            known_requires_answer(facts(false, false), Some(&modern)),
            None
        );
        assert_eq!(
            known_requires_answer(facts(true, false), Some(&version("69.5.1"))),
            None
        );
        assert_eq!(known_requires_answer(facts(true, false), None), None);
    }

    #[test]
    fn setuptools_named_directly_has_its_hook_unless_a_backend_path_could_shadow_it() {
        let tree = tempfile::tempdir().unwrap();
        let hook =
            |backend, path: &[&str]| has_setuptools_hook(tree.path(), &build_system(backend, path));
        assert!(hook("setuptools.build_meta", &[]));
        assert!(hook("setuptools.build_meta:__legacy__", &[]));
        assert!(!hook("setuptools.build_meta", &["."]));
        assert!(!hook("hatchling.build", &[]));
        assert!(!hook("flit_core.buildapi", &[]));
    }

    #[test]
    fn an_in_tree_module_that_reexports_setuptools_hooks_has_setuptools_hook() {
        let tree = tempfile::tempdir().unwrap();
        let root = tree.path();
        write(root, "_custom_build/backend.py", PILLOW_LIKE_BACKEND);
        let hook = |backend, path: &[&str]| has_setuptools_hook(root, &build_system(backend, path));
        assert!(hook("backend", &["_custom_build"]));
        // As a package, and found in the second folder.
        write(root, "tools/inner/build/__init__.py", PILLOW_LIKE_BACKEND);
        assert!(hook("inner.build", &["missing", "tools"]));
        // Not found, or named with an object: the hook runs.
        assert!(!hook("other", &["_custom_build"]));
        assert!(!hook("backend:_backend", &["_custom_build"]));
        assert!(!hook("../backend", &["_custom_build"]));
    }

    #[test]
    fn an_in_tree_module_that_touches_the_hook_or_shadows_setuptools_has_its_own() {
        let touching = [
            "def get_requires_for_build_wheel(config_settings=None):\n    return ['cython']\n",
            "_BACKEND.run_setup = lambda self: None\n",
            "setattr(build_wheel.__self__, 'x', 1)\n",
        ];
        for extra in touching {
            let tree = tempfile::tempdir().unwrap();
            write(tree.path(), "_custom_build/backend.py", PILLOW_LIKE_BACKEND);
            write(tree.path(), "_custom_build/helpers.py", extra);
            let system = build_system("backend", &["_custom_build"]);
            assert!(!has_setuptools_hook(tree.path(), &system), "{extra}");
        }
        let shadowing = tempfile::tempdir().unwrap();
        write(
            shadowing.path(),
            "_custom_build/backend.py",
            PILLOW_LIKE_BACKEND,
        );
        write(shadowing.path(), "_custom_build/setuptools/__init__.py", "");
        let system = build_system("backend", &["_custom_build"]);
        assert!(!has_setuptools_hook(shadowing.path(), &system));
        let other_import = tempfile::tempdir().unwrap();
        write(
            other_import.path(),
            "_custom_build/backend.py",
            "from setuptools.build_meta import build_wheel\n",
        );
        assert!(!has_setuptools_hook(other_import.path(), &system));
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
