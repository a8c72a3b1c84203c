//! The top-level modules of a wheel: what verification imports.
//!
//! Input: the wheel's entry names and its `top_level.txt`, if any. Output:
//! sorted, distinct dotted module names.
//!
//! Rules (the same for both sources):
//! - `top_level.txt` wins when present (setuptools writes it from the
//!   packages it actually built); `/` in it becomes `.`, a name that is a
//!   namespace package in the file list is expanded like one (below), and
//!   a name the wheel has no file or folder for is stale and left out;
//! - otherwise the file list decides: at the install root (the wheel's root
//!   and `<dist>.data/purelib|platlib/`), a directory with `__init__.py` is a
//!   package, a `.py` file a module, a `<name>.<tag>.so` file an extension
//!   module; a directory without `__init__.py` is a namespace package, so
//!   its own packages and modules are imported instead (`google/protobuf/`
//!   → `google.protobuf`), which proves more than importing the namespace;
//! - names starting with `_` are imported too (`_cffi_backend` is a real
//!   module), but names that cannot be imported (`foo-stubs`, `pkg.libs`)
//!   and the conventional test, benchmark, documentation and example trees
//!   (`tests`, `test`, `testing`, `benchmarks`, `benchmark`, `docs`, `doc`,
//!   `examples`, `example`) are not: they often need development-only
//!   dependencies the environment does not hold.

use std::collections::{BTreeMap, BTreeSet};

/// Trees that are not part of a package's runtime API.
const SKIPPED: [&str; 9] = [
    "tests",
    "test",
    "testing",
    "benchmarks",
    "benchmark",
    "docs",
    "doc",
    "examples",
    "example",
];
/// How deep namespace packages are followed.
const MAX_NAMESPACE_DEPTH: usize = 4;

/// The modules to import for a wheel with these entry names.
pub(super) fn top_level_modules(names: &[String], top_level: Option<&str>) -> Vec<String> {
    let tree = InstallTree::new(names);
    let mut modules = BTreeSet::new();
    let listed: BTreeSet<String> = top_level
        .unwrap_or_default()
        .lines()
        .map(|line| line.trim().trim_matches('/').replace('/', "."))
        .filter(|module| is_importable(module))
        // A stale name (google-re2 lists `_re2`, an extension its build put
        // inside `re2/`) is not in the wheel: only what is, is imported.
        .filter(|module| tree.has_top_level(module.split('.').next().unwrap_or_default()))
        .collect();
    if listed.is_empty() {
        tree.collect(&[], 0, &mut modules);
    }
    for module in listed {
        let components: Vec<&str> = module.split('.').collect();
        match tree.directory(&components) {
            // A namespace package (`zope`): what it holds proves more.
            Some(directory) if !directory.is_package() => {
                let before = modules.len();
                directory.collect(&components, components.len(), &mut modules);
                if modules.len() == before {
                    modules.insert(module);
                }
            }
            _ => {
                modules.insert(module);
            }
        }
    }
    modules.into_iter().collect()
}

/// Whether `module` is a dotted name of identifiers outside the skipped trees.
fn is_importable(module: &str) -> bool {
    !module.is_empty()
        && module.split('.').all(is_identifier)
        && !module
            .split('.')
            .next()
            .is_some_and(|first| SKIPPED.contains(&first))
}

fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// Install-root paths, as a tree of directories and files.
#[derive(Default)]
struct InstallTree {
    directories: BTreeMap<String, InstallTree>,
    files: BTreeSet<String>,
}

impl InstallTree {
    fn new(names: &[String]) -> Self {
        let mut root = Self::default();
        for name in names {
            if let Some(path) = install_root_path(name) {
                root.insert(&path.split('/').collect::<Vec<_>>());
            }
        }
        root
    }

    fn insert(&mut self, components: &[&str]) {
        match components {
            [] => {}
            [file] => {
                self.files.insert((*file).to_string());
            }
            [directory, rest @ ..] => self
                .directories
                .entry((*directory).to_string())
                .or_default()
                .insert(rest),
        }
    }

    fn directory(&self, components: &[&str]) -> Option<&Self> {
        match components {
            [] => Some(self),
            [first, rest @ ..] => self.directories.get(*first)?.directory(rest),
        }
    }

    /// Whether the install root holds `name` as a folder or a module file.
    fn has_top_level(&self, name: &str) -> bool {
        self.directories.contains_key(name)
            || self
                .files
                .iter()
                .any(|file| module_of_file(file) == Some(name))
    }

    fn is_package(&self) -> bool {
        self.files
            .iter()
            .any(|file| file == "__init__.py" || file == "__init__.pyc")
    }

    /// Adds the modules of this directory (`prefix` is its dotted name) to `modules`.
    fn collect(&self, prefix: &[&str], depth: usize, modules: &mut BTreeSet<String>) {
        let dotted = |name: &str| {
            let mut parts = prefix.to_vec();
            parts.push(name);
            parts.join(".")
        };
        for file in &self.files {
            if let Some(module) = module_of_file(file) {
                if module != "__init__" && is_importable(&dotted(module)) {
                    modules.insert(dotted(module));
                }
            }
        }
        for (name, directory) in &self.directories {
            let module = dotted(name);
            if !is_importable(&module) {
                continue;
            }
            if directory.is_package() {
                modules.insert(module);
            } else if depth < MAX_NAMESPACE_DEPTH {
                let mut inner = prefix.to_vec();
                inner.push(name);
                directory.collect(&inner, depth + 1, modules);
            }
        }
    }
}

/// `six.py` → `six`; `_x.cpython-311-x86_64-linux-gnu.so`, `_x.abi3.so`,
/// `_x.so` → `_x`; anything else is not a module.
fn module_of_file(file: &str) -> Option<&str> {
    if let Some(stem) = file.strip_suffix(".py") {
        return Some(stem);
    }
    let stem = file.strip_suffix(".so")?;
    Some(stem.split_once('.').map_or(stem, |(module, _)| module))
}

/// The entry's path relative to the install root (site-packages), when it
/// goes there: root entries except metadata, and `.data/purelib|platlib`.
pub(super) fn install_root_path(name: &str) -> Option<String> {
    let (first, rest) = name.split_once('/').unwrap_or((name, ""));
    if first.ends_with(".dist-info") {
        return None;
    }
    if first.ends_with(".data") {
        let (scheme, path) = rest.split_once('/')?;
        return matches!(scheme, "purelib" | "platlib").then(|| path.to_string());
    }
    Some(name.trim_start_matches("./").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn derives_modules_from_the_file_list() {
        let wheel = names(&[
            "pkg/__init__.py",
            "pkg/sub/__init__.py",
            "six.py",
            "_cffi_backend.cpython-311-x86_64-linux-gnu.so",
            "_speedups.abi3.so",
            "google/protobuf/__init__.py",
            "google/protobuf/message.py",
            "google/auth.py",
            "tests/__init__.py",
            "pkg.libs/libz-1a2b.so.1",
            "pkg-stubs/__init__.pyi",
            "extra-1.0.data/platlib/fast/__init__.py",
            "extra-1.0.data/scripts/tool",
            "extra-1.0.dist-info/RECORD",
            "__pycache__/six.cpython-311.pyc",
        ]);
        assert_eq!(
            top_level_modules(&wheel, None),
            [
                "_cffi_backend",
                "_speedups",
                "fast",
                "google.auth",
                "google.protobuf",
                "pkg",
                "six"
            ]
        );
    }

    #[test]
    fn prefers_top_level_txt() {
        let wheel = names(&["a/__init__.py", "b.py"]);
        // `ns/inner` names nothing in the wheel: stale, left out.
        assert_eq!(
            top_level_modules(&wheel, Some("a\n\ntests\nns/inner\n")),
            ["a"]
        );
        assert_eq!(top_level_modules(&wheel, Some("\n")), ["a", "b"]);
        let namespaced = names(&[
            "zope/interface/__init__.py",
            "zope/interface/_zope_interface_coptimizations.cpython-311-x86_64-linux-gnu.so",
            "zope.interface-8.7.dist-info/top_level.txt",
        ]);
        assert_eq!(
            top_level_modules(&namespaced, Some("zope\n")),
            ["zope.interface"]
        );
        // Only stale names: the file list decides.
        assert_eq!(
            top_level_modules(&namespaced, Some("other\n")),
            ["zope.interface"]
        );
        // google-re2's `top_level.txt` lists `_re2`, which its build put in `re2/`.
        let re2 = names(&[
            "re2/__init__.py",
            "re2/_re2.cpython-311-x86_64-linux-gnu.so",
        ]);
        assert_eq!(top_level_modules(&re2, Some("_re2\nre2\n")), ["re2"]);
    }
}
