//! [`Lock`] → `pylock.toml` text.
//!
//! Keys follow PEP 751's order; every list is sorted here, whatever order
//! the `Lock` holds, so the same resolution always gives the same bytes.

use std::path::{Path, PathBuf};

use toml_edit::{
    value, Array, ArrayOfTables, Datetime, DocumentMut, InlineTable, Item, Table, Value,
};

use super::{environment_marker, requires_python, HEADER};
use crate::direct::DirectSource;
use crate::lock::model::{
    Lock, LockOptions, LockedArtifact, LockedBuild, LockedBuildRequirement, LockedDependency,
    LockedPackage,
};

/// Arrays longer than this on one line are written one item per line.
const MAX_INLINE_ARRAY_WIDTH: usize = 80;

/// Render `lock` with every artifact as a URL.
pub fn render(lock: &Lock) -> String {
    render_document(lock, None)
}

/// Render `lock` for the file at `lock_path`: `file://` artifacts that live
/// under the lock file's folder are written as `path`s relative to it, so
/// the project folder can move.
pub fn render_at(lock: &Lock, lock_path: &Path) -> String {
    render_document(lock, lock_folder(lock_path).as_deref())
}

/// The absolute folder holding the lock file, against which `path` keys are
/// resolved; `None` when the working directory is unknown.
pub(super) fn lock_folder(lock_path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(lock_path).ok()?;
    absolute.parent().map(Path::to_path_buf)
}

fn render_document(lock: &Lock, folder: Option<&Path>) -> String {
    let mut document = DocumentMut::new();
    document["lock-version"] = value("1.0");
    document["environments"] = value(fold_long_array(Array::from_iter([environment_marker(
        &lock.options,
    )])));
    document["requires-python"] = value(requires_python(&lock.options));
    document["extras"] = value(Array::new());
    document["dependency-groups"] = value(Array::new());
    document["default-groups"] = value(Array::new());
    document["created-by"] = value("vendor");

    let mut packages: Vec<&LockedPackage> = lock.packages.iter().collect();
    packages.sort_by(|left, right| left.name.cmp(&right.name));
    if packages.is_empty() {
        // An empty array of tables would vanish from the text, and PEP 751
        // requires the key.
        document["packages"] = value(Array::new());
    } else {
        let tables = packages
            .into_iter()
            .map(|package| package_table(package, folder))
            .collect::<ArrayOfTables>();
        document["packages"] = Item::ArrayOfTables(tables);
    }

    let mut vendor = options_table(&lock.options);
    if !lock.build_packages.is_empty() {
        let mut build_packages: Vec<&LockedPackage> = lock.build_packages.iter().collect();
        build_packages
            .sort_by(|left, right| (&left.name, &left.version).cmp(&(&right.name, &right.version)));
        vendor["build-packages"] = Item::ArrayOfTables(
            build_packages
                .into_iter()
                .map(|package| {
                    // The package's `build-requires` is its whole environment.
                    let mut table = package_table(package, folder);
                    table.remove("dependencies");
                    table
                })
                .collect(),
        );
    }
    let mut tool = Table::new();
    tool.set_implicit(true);
    tool["vendor"] = Item::Table(vendor);
    document["tool"] = Item::Table(tool);
    format!("{HEADER}\n{document}")
}

fn package_table(package: &LockedPackage, folder: Option<&Path>) -> Table {
    let mut table = Table::new();
    table["name"] = value(package.name.as_ref());
    table["version"] = value(package.version.to_string());
    if let Some(requires_python) = &package.requires_python {
        table["requires-python"] = value(requires_python.to_string());
    }
    if let Some(index) = &package.index {
        table["index"] = value(index.as_str());
    }
    let mut dependencies: Vec<&LockedDependency> = package.dependencies.iter().collect();
    dependencies.sort_by(|left, right| left.name.cmp(&right.name));
    let dependency_names = dependencies.iter().map(|dependency| {
        let mut entry = InlineTable::new();
        entry.insert("name", dependency.name.as_ref().into());
        entry
    });
    table["dependencies"] = value(fold_long_array(Array::from_iter(dependency_names)));
    if let Some(direct) = &package.direct {
        let (key, source) = direct_table(package, direct, folder);
        table[key] = Item::Table(source);
    } else if let Some(sdist) = &package.sdist {
        table["sdist"] = Item::Table(artifact_table(sdist, folder));
    }
    if !package.wheels.is_empty() && package.direct.is_none() {
        let mut wheels: Vec<&LockedArtifact> = package.wheels.iter().collect();
        wheels.sort_by(|left, right| left.filename.as_str().cmp(right.filename.as_str()));
        let wheels = wheels
            .into_iter()
            .map(|wheel| artifact_table(wheel, folder))
            .collect::<ArrayOfTables>();
        table["wheels"] = Item::ArrayOfTables(wheels);
    }
    let mut vendor = Table::new();
    if let Some(extras) = dependency_extras(&dependencies) {
        vendor["dependency-extras"] = value(extras);
    }
    if let Some(build) = &package.build {
        vendor["build-requires"] = value(build_requires(build));
    }
    if !vendor.is_empty() {
        let mut tool = Table::new();
        tool.set_implicit(true);
        tool["vendor"] = Item::Table(vendor);
        table["tool"] = Item::Table(tool);
    }
    table
}

/// PEP 751's `archive` (the package's one file, without `name`),
/// `directory` (relative to the lock's folder when under it) or `vcs`.
fn direct_table(
    package: &LockedPackage,
    direct: &DirectSource,
    folder: Option<&Path>,
) -> (&'static str, Table) {
    let mut table = Table::new();
    match direct {
        DirectSource::Archive {
            url,
            subdirectory,
            source_archive,
        } => {
            if let Some(artifact) = package.sdist.as_ref().or(package.wheels.first()) {
                table = artifact_table(artifact, folder);
                table.remove("name");
            } else if let Some(file) = source_archive {
                match relative_path(url, folder) {
                    Some(path) => table["path"] = value(path),
                    None => table["url"] = value(url.as_str()),
                }
                table["size"] = value(i64::try_from(file.size).unwrap_or(i64::MAX));
                let mut hashes = InlineTable::new();
                hashes.insert("sha256", file.sha256.as_str().into());
                table["hashes"] = value(hashes);
            }
            if let Some(subdirectory) = subdirectory {
                table["subdirectory"] = value(subdirectory.as_str());
            }
        }
        DirectSource::Directory { path, editable } => {
            let relative = url::Url::from_file_path(path)
                .ok()
                .and_then(|url| relative_path(&url, folder));
            let written = match relative {
                Some(relative) if relative.is_empty() => ".".to_string(),
                Some(relative) => relative,
                None => path.display().to_string(),
            };
            table["path"] = value(written);
            table["editable"] = value(*editable);
        }
        DirectSource::Vcs(vcs) => {
            table["type"] = value("git");
            table["url"] = value(vcs.url.as_str());
            if let Some(revision) = &vcs.requested_revision {
                table["requested-revision"] = value(revision.as_str());
            }
            table["commit-id"] = value(vcs.commit.as_str());
            if let Some(subdirectory) = &vcs.subdirectory {
                table["subdirectory"] = value(subdirectory.as_str());
            }
        }
    }
    (direct.kind(), table)
}

/// `[{ name = "setuptools", version = "80.9.0" }, …]`, sorted: the
/// package's whole build environment, each entry a `build-packages` entry.
fn build_requires(build: &LockedBuild) -> Array {
    let mut requirements: Vec<&LockedBuildRequirement> = build.requirements.iter().collect();
    requirements.sort();
    requirements.dedup();
    let entries = requirements.into_iter().map(|requirement| {
        let mut entry = InlineTable::new();
        entry.insert("name", requirement.name.as_ref().into());
        entry.insert("version", requirement.version.to_string().into());
        entry
    });
    fold_long_array(Array::from_iter(entries))
}

/// `{ celery = ["redis"] }`: the extras each edge asks for, which PEP 751's
/// `dependencies` cannot say; `None` when no edge asks for any.
fn dependency_extras(dependencies: &[&LockedDependency]) -> Option<InlineTable> {
    let mut extras_by_name = InlineTable::new();
    for dependency in dependencies {
        if dependency.extras.is_empty() {
            continue;
        }
        let mut extras: Vec<&str> = dependency.extras.iter().map(AsRef::as_ref).collect();
        extras.sort_unstable();
        extras.dedup();
        extras_by_name.insert(
            dependency.name.as_ref(),
            Value::Array(Array::from_iter(extras)),
        );
    }
    (!extras_by_name.is_empty()).then_some(extras_by_name)
}

fn artifact_table(artifact: &LockedArtifact, folder: Option<&Path>) -> Table {
    let mut table = Table::new();
    table["name"] = value(artifact.filename.as_str());
    if let Some(upload_time) = &artifact.upload_time {
        table["upload-time"] = value(datetime(upload_time));
    }
    match relative_path(&artifact.url, folder) {
        Some(path) => table["path"] = value(path),
        None => table["url"] = value(artifact.url.as_str()),
    }
    if let Some(size) = artifact.size {
        // TOML integers are i64; no real file comes near the limit.
        table["size"] = value(i64::try_from(size).unwrap_or(i64::MAX));
    }
    let mut hashes = InlineTable::new();
    hashes.insert("sha256", artifact.sha256.as_str().into());
    table["hashes"] = value(hashes);
    table
}

/// The `/`-separated path of a `file://` URL relative to `folder`, when the
/// file lives under it.
fn relative_path(url: &url::Url, folder: Option<&Path>) -> Option<String> {
    if url.scheme() != "file" {
        return None;
    }
    let file = url.to_file_path().ok()?;
    let relative = file.strip_prefix(folder?).ok()?;
    let parts = relative
        .components()
        .map(|component| component.as_os_str().to_str())
        .collect::<Option<Vec<&str>>>()?;
    Some(parts.join("/"))
}

fn options_table(options: &LockOptions) -> Table {
    let mut table = Table::new();
    table["target"] = value(options.target.as_str());
    table["arch"] = value(options.arch.as_str());
    table["python"] = value(options.python.to_string());
    table["requirements"] = value(string_array(&options.requirements));
    table["constraints"] = value(string_array(&options.constraints));
    table["index-urls"] = value(string_array(&options.index_urls));
    table["find-links"] = value(string_array(&options.find_links));
    if let Some(exclude_newer) = &options.exclude_newer {
        table["exclude-newer"] = value(datetime(exclude_newer));
    }
    // Written only when used, so that other locks stay as they were.
    let formats = &options.format_control;
    if !formats.no_binary.is_empty() {
        table["no-binary"] = value(Array::from_iter(
            formats.no_binary.iter().map(String::as_str),
        ));
    }
    if !formats.only_binary.is_empty() {
        table["only-binary"] = value(Array::from_iter(
            formats.only_binary.iter().map(String::as_str),
        ));
    }
    if options.prefer_binary {
        table["prefer-binary"] = value(true);
    }
    if options.require_hashes {
        table["require-hashes"] = value(true);
    }
    table
}

/// The strings in the order given: requirement order is the user's and
/// the resolver already sorts them.
fn string_array(items: &[String]) -> Array {
    fold_long_array(Array::from_iter(items.iter().map(String::as_str)))
}

/// Put each item on its own line when the array is too wide for one.
fn fold_long_array(mut array: Array) -> Array {
    if array.to_string().len() <= MAX_INLINE_ARRAY_WIDTH {
        return array;
    }
    for item in array.iter_mut() {
        item.decor_mut().set_prefix("\n    ");
        item.decor_mut().set_suffix("");
    }
    array.set_trailing_comma(true);
    array.set_trailing("\n");
    array
}

/// A TOML offset datetime in UTC (`2021-05-05T14:18:17.237677Z`).
fn datetime(timestamp: &jiff::Timestamp) -> Datetime {
    let civil = timestamp.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    // Byte-sized fields always fit; a year before 1 AD cannot be written in
    // TOML and cannot come from an index (RFC 3339 has no such years).
    let byte = |field: i8| u8::try_from(field).unwrap_or(0);
    Datetime {
        date: Some(toml_edit::Date {
            year: u16::try_from(civil.year()).unwrap_or(0),
            month: byte(civil.month()),
            day: byte(civil.day()),
        }),
        time: Some(toml_edit::Time {
            hour: byte(civil.hour()),
            minute: byte(civil.minute()),
            second: byte(civil.second()),
            nanosecond: u32::try_from(civil.subsec_nanosecond()).unwrap_or(0),
        }),
        offset: Some(toml_edit::Offset::Z),
    }
}
