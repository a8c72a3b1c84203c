//! Reading a produced `pylock.toml` (PEP 751) for assertions.
//!
//! Input: the file's text. Output: [`PyLock`] with typed accessors for
//! `[[packages]]`, their `[packages.sdist]` / `[[packages.wheels]]` and
//! `[tool.vendor]`.
//!
//! Invariant: this reads the standard's field names with the `toml` crate,
//! independently of the library's own reader, so a test catches a writer
//! that drifts from PEP 751.

use std::collections::BTreeMap;
use std::path::Path;

use super::dist::normalize_name;

impl LockedFile {
    /// The `url`, or the `path` when the file is local.
    pub fn location(&self) -> &str {
        self.url
            .as_deref()
            .or(self.path.as_deref())
            .unwrap_or_default()
    }
}

/// One `sdist` or `wheels` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedFile {
    pub name: String,
    /// `url` for remote files; PEP 751 allows `path` (relative to the lock
    /// file) instead, for local files. Exactly one of the two is set.
    pub url: Option<String>,
    pub path: Option<String>,
    pub size: Option<u64>,
    /// As written (a TOML datetime or string), normalised through its text.
    pub upload_time: Option<String>,
    pub sha256: String,
}

#[derive(Clone, Debug)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub table: toml::Table,
}

impl LockedPackage {
    pub fn sdist(&self) -> Option<LockedFile> {
        self.table
            .get("sdist")
            .map(|value| locked_file(&self.name, value))
    }

    pub fn wheels(&self) -> Vec<LockedFile> {
        self.table
            .get("wheels")
            .and_then(toml::Value::as_array)
            .map(|wheels| {
                wheels
                    .iter()
                    .map(|value| locked_file(&self.name, value))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn wheel_names(&self) -> Vec<String> {
        self.wheels().into_iter().map(|wheel| wheel.name).collect()
    }

    /// The sdist and every wheel.
    pub fn files(&self) -> Vec<LockedFile> {
        self.sdist().into_iter().chain(self.wheels()).collect()
    }
}

fn locked_file(package: &str, value: &toml::Value) -> LockedFile {
    let table = value
        .as_table()
        .unwrap_or_else(|| panic!("`{package}`: artifact is not a table: {value}"));
    let text = |key: &str| -> Option<String> {
        table.get(key).map(|value| match value {
            toml::Value::String(text) => text.clone(),
            toml::Value::Datetime(datetime) => datetime.to_string(),
            other => other.to_string(),
        })
    };
    let (url, path) = (text("url"), text("path"));
    assert!(
        url.is_some() != path.is_some(),
        "`{package}`: an artifact needs exactly one of `url` and `path`: {value}"
    );
    LockedFile {
        // PEP 751 makes `name` optional: it is then the last part of the
        // URL or path (uv writes none).
        name: text("name").unwrap_or_else(|| {
            let location = url.as_deref().or(path.as_deref()).unwrap_or_default();
            location.rsplit('/').next().unwrap_or_default().to_string()
        }),
        url,
        path,
        size: table
            .get("size")
            .and_then(toml::Value::as_integer)
            .map(|size| size as u64),
        upload_time: text("upload-time"),
        sha256: table
            .get("hashes")
            .and_then(|hashes| hashes.get("sha256"))
            .and_then(toml::Value::as_str)
            .unwrap_or_else(|| panic!("`{package}`: artifact without `hashes.sha256`"))
            .to_string(),
    }
}

/// A parsed lock file.
#[derive(Clone, Debug)]
pub struct PyLock {
    pub text: String,
    pub document: toml::Table,
}

impl PyLock {
    #[track_caller]
    pub fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read `{}`: {error}", path.display()));
        Self::parse(&text)
    }

    #[track_caller]
    pub fn parse(text: &str) -> Self {
        let document: toml::Table = toml::from_str(text)
            .unwrap_or_else(|error| panic!("pylock.toml is not TOML: {error}\n{text}"));
        Self {
            text: text.to_string(),
            document,
        }
    }

    pub fn packages(&self) -> Vec<LockedPackage> {
        self.document
            .get("packages")
            .and_then(toml::Value::as_array)
            .map(|packages| {
                packages
                    .iter()
                    .map(|value| {
                        let table = value.as_table().expect("package is a table").clone();
                        let field = |key: &str| {
                            table
                                .get(key)
                                .and_then(toml::Value::as_str)
                                .unwrap_or_else(|| panic!("package without `{key}`: {value}"))
                                .to_string()
                        };
                        LockedPackage {
                            name: field("name"),
                            version: field("version"),
                            table,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Normalised name → version.
    pub fn versions(&self) -> BTreeMap<String, String> {
        self.packages()
            .into_iter()
            .map(|package| (normalize_name(&package.name), package.version))
            .collect()
    }

    /// The package with this name (any spelling).
    #[track_caller]
    pub fn package(&self, name: &str) -> LockedPackage {
        self.find(name)
            .unwrap_or_else(|| panic!("`{name}` is not in the lock:\n{}", self.text))
    }

    pub fn find(&self, name: &str) -> Option<LockedPackage> {
        let wanted = normalize_name(name);
        self.packages()
            .into_iter()
            .find(|package| normalize_name(&package.name) == wanted)
    }

    #[track_caller]
    pub fn version_of(&self, name: &str) -> String {
        self.package(name).version
    }

    /// `[tool.vendor]`.
    pub fn tool_vendor(&self) -> Option<&toml::Table> {
        self.document
            .get("tool")
            .and_then(|tool| tool.get("vendor"))
            .and_then(toml::Value::as_table)
    }
}

/// Versions as a sorted map, for `assert_eq!` against expectations.
pub fn expected_versions(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, version)| (normalize_name(name), version.to_string()))
        .collect()
}
