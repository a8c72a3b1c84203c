//! `pylock.toml` text → [`Lock`].
//!
//! Accepts what [`super::render`] writes and tolerates the optional keys of
//! PEP 751 vendor has no use for (`marker`, `attestation-identities`, other
//! tools' `tool` tables, `environments`, which vendor derives from
//! `[tool.vendor]`). Sources vendor cannot build (`vcs`, `directory`,
//! `archive`) are refused by name. The result is sorted like the model says.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use toml::{Table, Value};
use url::Url;

use super::render::lock_folder;
use super::PylockError;
use crate::direct::{DirectSource, SourceArchive, VcsSource};
use crate::excerpt::{excerpt, shorten_quoted};
use crate::filename::{url_file_name, DistFilename};
use crate::hash::Sha256;
use crate::lock::model::{
    Lock, LockOptions, LockedArtifact, LockedBuild, LockedBuildRequirement, LockedDependency,
    LockedPackage,
};
use crate::name::not_a_name;
use crate::name::{ExtraName, PackageName};
use crate::requirements::FormatControl;

/// Parse the text of the lock file at `path` (used in errors and to resolve
/// relative `path` keys).
pub fn parse(text: &str, path: &Path) -> Result<Lock, PylockError> {
    let document: Table = toml::from_str(text).map_err(|error| PylockError::Syntax {
        path: path.to_path_buf(),
        message: crate::excerpt::toml_error(&error, text),
    })?;
    let root = Scope {
        path,
        location: String::new(),
        folder: lock_folder(path),
    };
    check_lock_version(&root, &document)?;
    let options = parse_options(&root, &document)?;
    let mut packages = match document.get("packages") {
        None => return Err(root.missing("packages")),
        Some(Value::Array(entries)) => entries
            .iter()
            .enumerate()
            .map(|(position, entry)| parse_package(&root, "packages", position, entry))
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(root.invalid("packages", expected("an array", other))),
    };
    packages.sort_by(|left, right| left.name.cmp(&right.name));
    check_graph(&root, &packages)?;
    let build_packages = parse_build_packages(&root, &document)?;
    check_build_environments(&root, &packages, &build_packages)?;
    Ok(Lock {
        packages,
        build_packages,
        options,
    })
}

/// `[[tool.vendor.build-packages]]`, sorted by name and version.
fn parse_build_packages(root: &Scope, document: &Table) -> Result<Vec<LockedPackage>, PylockError> {
    let Some(vendor) = vendor_table(document) else {
        return Ok(Vec::new());
    };
    let scope = root.within("tool.vendor");
    let mut build_packages = scope
        .array(vendor, "build-packages")?
        .iter()
        .enumerate()
        .map(|(position, entry)| {
            let package = parse_package(&scope, "build-packages", position, entry)?;
            if package.wheels.is_empty() {
                return Err(scope
                    .within(format!("build package `{}`", package.name))
                    .missing("wheels"));
            }
            Ok(package)
        })
        .collect::<Result<Vec<_>, _>>()?;
    build_packages
        .sort_by(|left, right| (&left.name, &left.version).cmp(&(&right.name, &right.version)));
    for pair in build_packages.windows(2) {
        if (&pair[0].name, &pair[0].version) == (&pair[1].name, &pair[1].version) {
            return Err(scope.invalid(
                "build-packages",
                format!(
                    "`{}` {} appears more than once",
                    pair[0].name, pair[0].version
                ),
            ));
        }
    }
    Ok(build_packages)
}

/// Every pin of every build environment names a locked build package.
fn check_build_environments(
    root: &Scope,
    packages: &[LockedPackage],
    build_packages: &[LockedPackage],
) -> Result<(), PylockError> {
    for package in packages {
        let Some(build) = &package.build else {
            continue;
        };
        for requirement in &build.requirements {
            let locked = build_packages.iter().any(|candidate| {
                candidate.name == requirement.name && candidate.version == requirement.version
            });
            if !locked {
                return Err(root.within(format!("package `{}`", package.name)).invalid(
                    BUILD_REQUIRES_KEY,
                    format!(
                        "`{}` {} is not in `[[tool.vendor.build-packages]]`",
                        requirement.name, requirement.version
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `[tool.vendor]` of a document or of a package, when present.
fn vendor_table(table: &Table) -> Option<&Table> {
    table
        .get("tool")
        .and_then(Value::as_table)
        .and_then(|tool| tool.get("vendor"))
        .and_then(Value::as_table)
}

fn check_lock_version(root: &Scope, document: &Table) -> Result<(), PylockError> {
    let version = root.required_str(document, "lock-version")?;
    if version.split('.').next() == Some("1") {
        Ok(())
    } else {
        Err(PylockError::UnsupportedVersion {
            path: root.path.to_path_buf(),
            version: version.to_string(),
        })
    }
}

fn parse_options(root: &Scope, document: &Table) -> Result<LockOptions, PylockError> {
    let vendor = document
        .get("tool")
        .and_then(Value::as_table)
        .and_then(|tool| tool.get("vendor"))
        .ok_or_else(|| PylockError::NotFromVendor {
            path: root.path.to_path_buf(),
        })?;
    let scope = root.within("tool.vendor");
    let vendor = scope.as_table(vendor, "tool.vendor")?;
    Ok(LockOptions {
        target: scope.required_str(vendor, "target")?.to_string(),
        arch: scope.required_str(vendor, "arch")?.to_string(),
        python: scope
            .parsed::<Version>(vendor, "python")?
            .ok_or_else(|| scope.missing("python"))?,
        requirements: scope.strings(vendor, "requirements")?,
        constraints: scope.strings(vendor, "constraints")?,
        index_urls: scope.strings(vendor, "index-urls")?,
        find_links: scope.strings(vendor, "find-links")?,
        exclude_newer: scope.timestamp(vendor, "exclude-newer")?,
        format_control: FormatControl {
            no_binary: scope.strings(vendor, "no-binary")?.into_iter().collect(),
            only_binary: scope.strings(vendor, "only-binary")?.into_iter().collect(),
        },
        prefer_binary: scope.flag(vendor, "prefer-binary")?,
        require_hashes: scope.flag(vendor, "require-hashes")?,
    })
}

/// One entry of `key` (`packages` or `build-packages`) at `position`.
fn parse_package(
    root: &Scope,
    key: &str,
    position: usize,
    entry: &Value,
) -> Result<LockedPackage, PylockError> {
    let entry_scope = root.within(format!("{key}[{position}]"));
    let table = root.as_table(entry, key)?;
    let name: PackageName = entry_scope
        .parsed(table, "name")?
        .ok_or_else(|| entry_scope.missing("name"))?;
    let scope = match key {
        "packages" => root.within(format!("package `{name}`")),
        _ => root.within(format!("build package `{name}`")),
    };
    let version: Version = scope
        .parsed(table, "version")?
        .ok_or_else(|| scope.missing("version"))?;
    let (direct, archive) = parse_direct(&scope, table)?;
    let mut sdist = match table.get("sdist") {
        Some(sdist) => Some(parse_artifact(
            &scope.within("sdist"),
            scope.as_table(sdist, "sdist")?,
        )?),
        None => None,
    };
    if let Some(sdist) = &sdist {
        if !matches!(sdist.filename, DistFilename::Sdist(_)) {
            return Err(scope.invalid("sdist", format!("`{}` is not an sdist", sdist.filename)));
        }
    }
    let mut wheels = Vec::new();
    for (position, entry) in scope.array(table, "wheels")?.iter().enumerate() {
        let wheel_scope = scope.within(format!("wheels[{position}]"));
        let wheel = parse_artifact(&wheel_scope, scope.as_table(entry, "wheels")?)?;
        if !matches!(wheel.filename, DistFilename::Wheel(_)) {
            return Err(wheel_scope.invalid("name", format!("`{}` is not a wheel", wheel.filename)));
        }
        wheels.push(wheel);
    }
    match archive {
        Some(artifact) if matches!(artifact.filename, DistFilename::Wheel(_)) => {
            wheels.push(artifact)
        }
        Some(artifact) => sdist = Some(artifact),
        None => {}
    }
    wheels.sort_by(|left, right| left.filename.as_str().cmp(right.filename.as_str()));
    if sdist.is_none() && wheels.is_empty() && direct.is_none() {
        return Err(scope.missing("sdist` or `wheels"));
    }
    Ok(LockedPackage {
        requires_python: scope.parsed::<VersionSpecifiers>(table, "requires-python")?,
        index: scope.optional_str(table, "index")?.map(str::to_string),
        dependencies: parse_dependencies(&scope, table)?,
        build: parse_build(&scope, table)?,
        name,
        version,
        sdist,
        wheels,
        direct,
    })
}

/// A package's `archive`, `directory` or `vcs` table, if it has one; an
/// archive's file comes back as an artifact.
fn parse_direct(
    scope: &Scope,
    table: &Table,
) -> Result<(Option<DirectSource>, Option<LockedArtifact>), PylockError> {
    if let Some(archive) = table.get("archive") {
        let archive_scope = scope.within("archive");
        let archive = scope.as_table(archive, "archive")?;
        let subdirectory = archive_scope
            .optional_str(archive, "subdirectory")?
            .map(str::to_string);
        let url = match (
            archive_scope.optional_str(archive, "url")?,
            archive_scope.optional_str(archive, "path")?,
        ) {
            (Some(url), _) => {
                Url::parse(url).map_err(|error| archive_scope.invalid("url", error))?
            }
            (None, Some(path)) => archive_scope.file_url(path)?,
            (None, None) => return Err(archive_scope.missing("url")),
        };
        let mut source = DirectSource::Archive {
            url: url.clone(),
            subdirectory,
            source_archive: None,
        };
        if source.is_dist_archive() {
            let artifact = parse_artifact(&archive_scope, archive)?;
            return Ok((Some(source), Some(artifact)));
        }
        // A source archive: its file is packed at fetch time.
        let hashes = archive
            .get("hashes")
            .ok_or_else(|| archive_scope.missing("hashes"))?;
        let hashes = archive_scope.as_table(hashes, "hashes")?;
        let sha256 = archive_scope
            .within("hashes")
            .parsed::<Sha256>(hashes, "sha256")?
            .ok_or_else(|| archive_scope.missing("hashes.sha256"))?;
        let size = match archive.get("size") {
            Some(Value::Integer(size)) => u64::try_from(*size).unwrap_or(0),
            _ => 0,
        };
        if let DirectSource::Archive { source_archive, .. } = &mut source {
            *source_archive = Some(SourceArchive {
                filename: url_file_name(&url).unwrap_or_default(),
                sha256,
                size,
            });
        }
        return Ok((Some(source), None));
    }
    if let Some(directory) = table.get("directory") {
        let directory_scope = scope.within("directory");
        let directory = scope.as_table(directory, "directory")?;
        let written = directory_scope.required_str(directory, "path")?;
        let url = directory_scope.file_url(written)?;
        let path = url
            .to_file_path()
            .map_err(|()| directory_scope.invalid("path", "not a local path"))?;
        let editable = directory_scope.flag(directory, "editable")?;
        return Ok((Some(DirectSource::Directory { path, editable }), None));
    }
    if let Some(vcs) = table.get("vcs") {
        let vcs_scope = scope.within("vcs");
        let vcs = scope.as_table(vcs, "vcs")?;
        let kind = vcs_scope.required_str(vcs, "type")?;
        if kind != "git" {
            return Err(vcs_scope.invalid("type", format!("`{kind}`: only git is supported")));
        }
        let url = Url::parse(vcs_scope.required_str(vcs, "url")?)
            .map_err(|error| vcs_scope.invalid("url", error))?;
        let commit = vcs_scope.required_str(vcs, "commit-id")?.to_string();
        let source = VcsSource {
            url,
            requested_revision: vcs_scope
                .optional_str(vcs, "requested-revision")?
                .map(str::to_string),
            commit,
            subdirectory: vcs_scope
                .optional_str(vcs, "subdirectory")?
                .map(str::to_string),
        };
        return Ok((Some(DirectSource::Vcs(source)), None));
    }
    Ok((None, None))
}

/// `dependencies` names the edges; `tool.vendor.dependency-extras` adds
/// the extras each edge requests.
fn parse_dependencies(scope: &Scope, table: &Table) -> Result<Vec<LockedDependency>, PylockError> {
    let mut dependencies = Vec::new();
    for (position, entry) in scope.array(table, "dependencies")?.iter().enumerate() {
        let entry_scope = scope.within(format!("dependencies[{position}]"));
        let entry = scope.as_table(entry, "dependencies")?;
        let name: PackageName = entry_scope
            .parsed(entry, "name")?
            .ok_or_else(|| entry_scope.missing("name"))?;
        dependencies.push(LockedDependency {
            name,
            extras: Vec::new(),
        });
    }
    dependencies.sort();
    let extras_key = "tool.vendor.dependency-extras";
    let extras = vendor_table(table).and_then(|vendor| vendor.get("dependency-extras"));
    let Some(extras) = extras else {
        return Ok(dependencies);
    };
    for (raw_name, raw_extras) in scope.as_table(extras, extras_key)? {
        let name = PackageName::from_str(raw_name)
            .map_err(|_| scope.invalid(extras_key, not_a_name(raw_name)))?;
        let dependency = dependencies
            .iter_mut()
            .find(|dependency| dependency.name == name)
            .ok_or_else(|| {
                scope.invalid(
                    extras_key,
                    format!("`{name}` is not one of the package's dependencies"),
                )
            })?;
        let Value::Array(raw_extras) = raw_extras else {
            return Err(scope.invalid(extras_key, expected("an array of extra names", raw_extras)));
        };
        let mut extras = raw_extras
            .iter()
            .map(|extra| match extra {
                Value::String(extra) => ExtraName::from_str(extra)
                    .map_err(|_| scope.invalid(extras_key, not_a_name(extra))),
                other => Err(scope.invalid(extras_key, expected("an extra name", other))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        extras.sort();
        extras.dedup();
        dependency.extras = extras;
    }
    Ok(dependencies)
}

const BUILD_REQUIRES_KEY: &str = "tool.vendor.build-requires";

/// `tool.vendor.build-requires`: `[{ name, version }, …]`, each name once.
fn parse_build(scope: &Scope, table: &Table) -> Result<Option<LockedBuild>, PylockError> {
    let Some(entries) = vendor_table(table).and_then(|vendor| vendor.get("build-requires")) else {
        return Ok(None);
    };
    let Value::Array(entries) = entries else {
        return Err(scope.invalid(BUILD_REQUIRES_KEY, expected("an array", entries)));
    };
    let mut requirements = Vec::with_capacity(entries.len());
    for (position, entry) in entries.iter().enumerate() {
        let entry_scope = scope.within(format!("{BUILD_REQUIRES_KEY}[{position}]"));
        let entry = scope.as_table(entry, BUILD_REQUIRES_KEY)?;
        requirements.push(LockedBuildRequirement {
            name: entry_scope
                .parsed(entry, "name")?
                .ok_or_else(|| entry_scope.missing("name"))?,
            version: entry_scope
                .parsed(entry, "version")?
                .ok_or_else(|| entry_scope.missing("version"))?,
        });
    }
    requirements.sort();
    for pair in requirements.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(scope.invalid(
                BUILD_REQUIRES_KEY,
                format!(
                    "`{}` is pinned more than once; a build environment holds one version of each package",
                    pair[0].name
                ),
            ));
        }
    }
    Ok(Some(LockedBuild { requirements }))
}

fn parse_artifact(scope: &Scope, table: &Table) -> Result<LockedArtifact, PylockError> {
    let url = match (
        scope.optional_str(table, "url")?,
        scope.optional_str(table, "path")?,
    ) {
        (Some(url), _) => Url::parse(url).map_err(|error| scope.invalid("url", error))?,
        (None, Some(path)) => scope.file_url(path)?,
        (None, None) => return Err(scope.missing("url")),
    };
    let filename = match scope.optional_str(table, "name")? {
        Some(name) => name.to_string(),
        // PEP 751 lets `name` be left out when the URL or path ends with it.
        None => last_segment(&url).ok_or_else(|| scope.missing("name"))?,
    };
    let filename =
        DistFilename::from_str(&filename).map_err(|error| scope.invalid("name", error))?;
    let size = match table.get("size") {
        None => None,
        Some(Value::Integer(size)) => Some(
            u64::try_from(*size)
                .map_err(|_| scope.invalid("size", format!("`{size}` is not a file size")))?,
        ),
        Some(other) => return Err(scope.invalid("size", expected("an integer", other))),
    };
    let hashes_scope = scope.within("hashes");
    let hashes = match table.get("hashes") {
        Some(hashes) => scope.as_table(hashes, "hashes")?,
        None => return Err(scope.missing("hashes")),
    };
    let sha256 = hashes_scope
        .parsed::<Sha256>(hashes, "sha256")?
        .ok_or_else(|| scope.missing("hashes.sha256"))?;
    Ok(LockedArtifact {
        filename,
        url,
        size,
        upload_time: scope.timestamp(table, "upload-time")?,
        sha256,
    })
}

/// The file name at the end of `url`, when it is spelled there literally
/// (PEP 751 only lets `name` be left out when it is the same value).
fn last_segment(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.next_back()?;
    (!segment.is_empty() && !segment.contains('%')).then(|| segment.to_string())
}

/// Every name appears once, and every dependency edge points at a locked
/// package: later stages walk the graph by name.
fn check_graph(root: &Scope, packages: &[LockedPackage]) -> Result<(), PylockError> {
    for pair in packages.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(root.invalid(
                "packages",
                format!(
                    "package `{}` appears more than once; vendor locks one version of each package",
                    pair[0].name
                ),
            ));
        }
    }
    let names: BTreeSet<&PackageName> = packages.iter().map(|package| &package.name).collect();
    for package in packages {
        for dependency in &package.dependencies {
            if !names.contains(&dependency.name) {
                return Err(root.within(format!("package `{}`", package.name)).invalid(
                    "dependencies",
                    format!("`{}` is not a package of this lock", dependency.name),
                ));
            }
        }
    }
    Ok(())
}

fn expected(what: &str, found: &Value) -> String {
    format!("expected {what}, found {}", found.type_str())
}

/// Where in the file a value is, for error messages, plus what resolving
/// it needs.
struct Scope<'a> {
    path: &'a Path,
    /// Empty at the top level, else ends in `: `.
    location: String,
    folder: Option<PathBuf>,
}

impl<'a> Scope<'a> {
    fn within(&self, part: impl Display) -> Scope<'a> {
        Scope {
            path: self.path,
            location: format!("{}{}: ", self.location, shorten_quoted(&part.to_string())),
            folder: self.folder.clone(),
        }
    }

    fn missing(&self, key: &str) -> PylockError {
        PylockError::MissingKey {
            path: self.path.to_path_buf(),
            location: self.location.clone(),
            key: key.to_string(),
        }
    }

    fn invalid(&self, key: &str, message: impl Display) -> PylockError {
        PylockError::InvalidValue {
            path: self.path.to_path_buf(),
            location: self.location.clone(),
            key: key.to_string(),
            message: shorten_quoted(&message.to_string()),
        }
    }

    fn as_table<'t>(&self, value: &'t Value, key: &str) -> Result<&'t Table, PylockError> {
        value
            .as_table()
            .ok_or_else(|| self.invalid(key, expected("a table", value)))
    }

    fn optional_str<'t>(
        &self,
        table: &'t Table,
        key: &str,
    ) -> Result<Option<&'t str>, PylockError> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.invalid(key, expected("a string", other))),
        }
    }

    fn required_str<'t>(&self, table: &'t Table, key: &str) -> Result<&'t str, PylockError> {
        self.optional_str(table, key)?
            .ok_or_else(|| self.missing(key))
    }

    /// A string parsed as `T`, naming the key and the text when it does not
    /// parse.
    fn parsed<T>(&self, table: &Table, key: &str) -> Result<Option<T>, PylockError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional_str(table, key)?
            .map(|text| {
                T::from_str(text).map_err(|error| {
                    let (text, error) = (excerpt(text), excerpt(&error.to_string()));
                    self.invalid(key, format!("`{text}`: {error}"))
                })
            })
            .transpose()
    }

    /// An optional array; absent means empty.
    fn array<'t>(&self, table: &'t Table, key: &str) -> Result<&'t [Value], PylockError> {
        match table.get(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.invalid(key, expected("an array", other))),
        }
    }

    fn strings(&self, table: &Table, key: &str) -> Result<Vec<String>, PylockError> {
        self.array(table, key)?
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(self.invalid(key, expected("an array of strings", other))),
            })
            .collect()
    }

    /// A boolean that is false when absent.
    fn flag(&self, table: &Table, key: &str) -> Result<bool, PylockError> {
        match table.get(key) {
            None => Ok(false),
            Some(Value::Boolean(flag)) => Ok(*flag),
            Some(other) => Err(self.invalid(key, expected("a boolean", other))),
        }
    }

    /// An offset date-time, as PEP 751 writes `upload-time`.
    fn timestamp(&self, table: &Table, key: &str) -> Result<Option<jiff::Timestamp>, PylockError> {
        let datetime = match table.get(key) {
            None => return Ok(None),
            Some(Value::Datetime(datetime)) => datetime,
            Some(other) => return Err(self.invalid(key, expected("a date-time", other))),
        };
        let not_utc = || {
            self.invalid(
                key,
                format!(
                    "`{datetime}` is not a date-time with an offset (like `2024-01-31T12:00:00Z`)"
                ),
            )
        };
        if datetime.date.is_none() || datetime.time.is_none() || datetime.offset.is_none() {
            return Err(not_utc());
        }
        jiff::Timestamp::from_str(&datetime.to_string())
            .map(Some)
            .map_err(|_| not_utc())
    }

    /// A `path` key: relative to the lock file's folder, or absolute.
    fn file_url(&self, path: &str) -> Result<Url, PylockError> {
        let path = Path::new(path);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            let folder = self.folder.as_ref().ok_or_else(|| {
                self.invalid(
                    "path",
                    "a relative path needs the lock file's folder, which is unknown",
                )
            })?;
            folder.join(path)
        };
        Url::from_file_path(&absolute)
            .map_err(|()| self.invalid("path", format!("`{}` is not a file path", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/project/pylock.toml";

    /// A minimal valid file with `package` spliced into `[[packages]]`.
    fn lock_text(package: &str) -> String {
        format!(
            r#"lock-version = "1.0"
created-by = "other-tool"

[[packages]]
{package}

[tool.vendor]
target = "el9"
arch = "x86_64"
python = "3.11.9"
"#
        )
    }

    const SIX_WHEEL: &str = r#"
[[packages.wheels]]
url = "https://files.pythonhosted.org/packages/d9/5a/e7c31adbe875f2abbb91bd84cf2dc52d792b5a01506781dbcf25c91daf11/six-1.16.0-py2.py3-none-any.whl"
hashes = { sha256 = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254" }
"#;

    fn error(text: &str) -> String {
        crate::hint::Hint::with_hint(&parse(text, Path::new(PATH)).unwrap_err())
    }

    #[test]
    fn tolerates_optional_pep751_keys_and_derives_file_names() {
        let package = format!(
            "name = \"Six\"\nversion = \"1.16.0\"\nmarker = \"python_version >= '3'\"\n\
             attestation-identities = [{{ kind = \"GitHub\", repository = \"benjaminp/six\" }}]\n\
             [packages.tool.other]\nanything = 1\n{SIX_WHEEL}"
        );
        let text = lock_text(&package).replace(
            "[tool.vendor]",
            "environments = [\"sys_platform == 'linux'\"]\n[tool.other]\nkey = true\n\n[tool.vendor]",
        );
        let lock = parse(&text, Path::new(PATH)).unwrap();
        let six = &lock.packages[0];
        assert_eq!(six.name.as_ref(), "six");
        assert_eq!(
            six.wheels[0].filename.as_str(),
            "six-1.16.0-py2.py3-none-any.whl"
        );
        assert_eq!(six.wheels[0].size, None);
        assert!(lock.options.requirements.is_empty());
    }

    #[test]
    fn names_the_package_and_key_that_is_missing() {
        assert_eq!(
            error(&lock_text(&format!("name = \"foo\"\n{SIX_WHEEL}"))),
            "`/project/pylock.toml`: package `foo`: missing key `version`"
        );
        assert_eq!(
            error(&lock_text("version = \"1.0\"")),
            "`/project/pylock.toml`: packages[0]: missing key `name`"
        );
        assert_eq!(
            error(&lock_text("name = \"foo\"\nversion = \"1.0\"")),
            "`/project/pylock.toml`: package `foo`: missing key `sdist` or `wheels`"
        );
        let no_hash = SIX_WHEEL.replace("hashes = { sha256", "hashes = { md5");
        assert_eq!(
            error(&lock_text(&format!(
                "name = \"six\"\nversion = \"1.16.0\"\n{no_hash}"
            ))),
            "`/project/pylock.toml`: package `six`: wheels[0]: missing key `hashes.sha256`"
        );
        assert_eq!(
            error("lock-version = \"1.0\"\npackages = []\n[tool.vendor]\ntarget = \"el9\"\narch = \"x86_64\""),
            "`/project/pylock.toml`: tool.vendor: missing key `python`"
        );
    }

    #[test]
    fn names_the_key_whose_value_is_wrong() {
        assert_eq!(
            error(&lock_text(&format!("name = \"six\"\nversion = 3\n{SIX_WHEEL}"))),
            "`/project/pylock.toml`: package `six`: key `version`: expected a string, found integer"
        );
        assert_eq!(
            error(&lock_text(&format!(
                "name = \"six\"\nversion = \"one\"\n{SIX_WHEEL}"
            ))),
            format!(
                "`/project/pylock.toml`: package `six`: key `version`: `one`: {}",
                Version::from_str("one").unwrap_err()
            )
        );
        let local_time = SIX_WHEEL.replace("hashes", "upload-time = 2021-05-05T14:18:17\nhashes");
        assert!(error(&lock_text(&format!("name = \"six\"\nversion = \"1.16.0\"\n{local_time}")))
            .starts_with("`/project/pylock.toml`: package `six`: wheels[0]: key `upload-time`: `2021-05-05T14:18:17` is not a date-time with an offset"));
        let sdist_as_wheel = SIX_WHEEL.replace("-py2.py3-none-any.whl", ".tar.gz");
        assert_eq!(
            error(&lock_text(&format!("name = \"six\"\nversion = \"1.16.0\"\n{sdist_as_wheel}"))),
            "`/project/pylock.toml`: package `six`: wheels[0]: key `name`: `six-1.16.0.tar.gz` is not a wheel"
        );
        let extras = "\n[packages.tool.vendor]\ndependency-extras = { celery = [\"redis\"] }";
        assert_eq!(
            error(&lock_text(&format!("name = \"six\"\nversion = \"1.16.0\"\n{SIX_WHEEL}{extras}"))),
            "`/project/pylock.toml`: package `six`: key `tool.vendor.dependency-extras`: `celery` is not one of the package's dependencies"
        );
    }

    #[test]
    fn reads_and_writes_direct_sources() {
        let vcs = "name = \"mylib\"\nversion = \"1.0\"\n[packages.vcs]\ntype = \"git\"\nurl = \"https://example.org/mylib.git\"\nrequested-revision = \"v1.0\"\ncommit-id = \"0123456789abcdef0123456789abcdef01234567\"\nsubdirectory = \"python\"";
        let directory = "name = \"local\"\nversion = \"0.1\"\ndirectory = { path = \"src/local\", editable = false }";
        let archive = format!("name = \"archived\"\nversion = \"2.0\"\narchive = {{ url = \"https://example.org/archived-2.0.tar.gz\", size = 3, hashes = {{ sha256 = \"{}\" }} }}", "ab".repeat(32));
        for package in [vcs.to_string(), directory.to_string(), archive] {
            let lock = parse(&lock_text(&package), Path::new(PATH)).unwrap();
            let written = super::super::render_at(&lock, Path::new(PATH));
            assert_eq!(parse(&written, Path::new(PATH)).unwrap(), lock, "{written}");
            assert!(!written.contains("sdist"), "{written}");
        }
        let lock = parse(&lock_text(directory), Path::new(PATH)).unwrap();
        assert_eq!(
            lock.packages[0].direct,
            Some(DirectSource::Directory {
                path: PathBuf::from("/project/src/local"),
                editable: false
            })
        );
        let hg = vcs.replace("\"git\"", "\"hg\"");
        assert!(error(&lock_text(&hg)).contains("only git is supported"));
    }

    #[test]
    fn checks_the_whole_file() {
        assert!(error("lock-version = ").starts_with("`/project/pylock.toml` is not valid TOML: "));
        assert!(error(
            &lock_text(&format!(
                "name = \"six\"\nversion = \"1.16.0\"\n{SIX_WHEEL}"
            ))
            .replace("\"1.0\"", "\"2.0\"")
        )
        .starts_with("`/project/pylock.toml`: lock-version `2.0` is not supported"));
        assert!(error("lock-version = \"1.0\"\npackages = []\n")
            .starts_with("`/project/pylock.toml` has no `[tool.vendor]` table"));
        let twice = format!("name = \"six\"\nversion = \"1.16.0\"\n{SIX_WHEEL}\n[[packages]]\nname = \"six\"\nversion = \"1.17.0\"\n{SIX_WHEEL}");
        assert_eq!(
            error(&lock_text(&twice)),
            "`/project/pylock.toml`: key `packages`: package `six` appears more than once; vendor locks one version of each package"
        );
        let dangling = format!("name = \"six\"\nversion = \"1.16.0\"\ndependencies = [{{ name = \"missing\" }}]\n{SIX_WHEEL}");
        assert_eq!(
            error(&lock_text(&dangling)),
            "`/project/pylock.toml`: package `six`: key `dependencies`: `missing` is not a package of this lock"
        );
    }
}
