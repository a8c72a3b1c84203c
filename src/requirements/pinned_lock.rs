//! A PEP 751 `pylock.toml` written by another tool (uv, pip) read as pinned,
//! hashed requirements, so that `vendor` locks exactly its pins for a target.
//!
//! Input: the text of a lock file and its path. Output: one requirement per
//! locked package, `name==version ; <its marker>`, carrying the sha256 of
//! every artifact the file lists, in hash-checking mode; the indexes the
//! packages came from; the folders of artifacts given by `path`.
//!
//! Invariants: the resolver can only pick what the file pins (exact version,
//! one of its files), so a lock of another tool keeps its pins; a package
//! whose marker is false on the target drops out as it would in an
//! installer; a source vendor cannot lock (a `vcs`, `directory` or
//! `archive` entry) or an artifact without a sha256 is an error naming the
//! package. PEP 751 has no record of the extras requested at the top, so
//! none are.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use pep508_rs::Requirement;
use serde::Deserialize;

use super::{folder_of, Origin, RequirementsError, RequirementsInput, SourcedRequirement};
use crate::hash::Sha256;
use crate::requirement_text::parse_requirement;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockFile {
    lock_version: String,
    #[serde(default)]
    packages: Vec<toml::Spanned<Package>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Package {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    index: Option<String>,
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
    vcs: Option<toml::Value>,
    directory: Option<toml::Value>,
    archive: Option<Artifact>,
}

#[derive(Deserialize)]
struct Artifact {
    url: Option<String>,
    path: Option<String>,
    /// Only for an `archive` source.
    subdirectory: Option<String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

/// Whether `path` names a PEP 751 lock file (`pylock.toml`, `pylock.*.toml`).
pub(super) fn is_lock_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| {
            name == "pylock.toml" || (name.starts_with("pylock.") && name.ends_with(".toml"))
        })
}

/// Read the lock file at `path` as pinned requirements.
pub(super) fn read(path: &Path) -> Result<RequirementsInput, RequirementsError> {
    let text = std::fs::read_to_string(path).map_err(|source| RequirementsError::Read {
        path: path.to_path_buf(),
        included_from: None,
        source,
    })?;
    parse(&text, path)
}

/// Parse `text` as the lock file at `path`.
pub(super) fn parse(text: &str, path: &Path) -> Result<RequirementsInput, RequirementsError> {
    let invalid = |message: String, hint: Option<&str>| RequirementsError::Lockfile {
        path: path.to_path_buf(),
        message,
        hint: hint.map(str::to_string),
    };
    let file: LockFile = toml::from_str(text).map_err(|error| {
        invalid(
            crate::excerpt::toml_error(&error, text),
            Some("a PEP 751 lock file is expected (`uv pip compile --format pylock.toml` writes one)"),
        )
    })?;
    if !file.lock_version.starts_with("1.") && file.lock_version != "1" {
        return Err(invalid(
            format!(
                "lock-version `{}` is not supported; vendor reads 1.x",
                file.lock_version
            ),
            None,
        ));
    }
    let mut input = RequirementsInput {
        require_hashes: true,
        ..RequirementsInput::default()
    };
    let mut indexes = Vec::new();
    for spanned in &file.packages {
        let origin = Origin {
            path: path.to_path_buf(),
            line: line_of(text, spanned.span()),
        };
        let package = spanned.get_ref();
        let requirement = pinned_requirement(package, &origin, &folder_of(path))?;
        if let Some(index) = &package.index {
            if !indexes.contains(index) {
                indexes.push(index.clone());
            }
        }
        let mut hashes = Vec::new();
        for artifact in package
            .sdist
            .iter()
            .chain(&package.wheels)
            .chain(&package.archive)
        {
            hashes.push(artifact_sha256(artifact, &package.name, &origin)?);
            if package.archive.is_some() {
                continue;
            }
            if let (None, Some(local)) = (&artifact.url, &artifact.path) {
                let file = folder_of(path).join(local);
                let folder = file.parent().unwrap_or(&file).display().to_string();
                if !input.find_links.contains(&folder) {
                    input.find_links.push(folder);
                }
            }
        }
        input.requirements.push(SourcedRequirement {
            requirement,
            origin,
            hashes,
        });
    }
    let mut indexes = indexes.into_iter();
    input.index_url = indexes.next();
    input.extra_index_urls = indexes.collect();
    Ok(input)
}

/// `name==version ; marker` for a package from an index or a find-links
/// folder; `name @ <url> ; marker` for a direct source (a repository at
/// its `commit-id`, a folder, an archive).
fn pinned_requirement(
    package: &Package,
    origin: &Origin,
    lock_folder: &Path,
) -> Result<Requirement, RequirementsError> {
    let marker = package
        .marker
        .as_ref()
        .map(|marker| format!(" ; {marker}"))
        .unwrap_or_default();
    let parse = |text: String| {
        parse_requirement(&text, None).map_err(|error| RequirementsError::InvalidRequirement {
            origin: origin.clone(),
            message: error.to_string(),
            hint: None,
        })
    };
    let invalid = |message: String| RequirementsError::Unsupported {
        origin: origin.clone(),
        text: package.name.clone(),
        message,
        hint: None,
    };
    if let Some(url) = direct_url(package, lock_folder).map_err(invalid)? {
        return parse(format!("{} @ {url}{marker}", package.name));
    }
    let Some(version) = &package.version else {
        return Err(RequirementsError::Unsupported {
            origin: origin.clone(),
            text: package.name.clone(),
            message: "the package has no `version`".to_string(),
            hint: None,
        });
    };
    parse(format!("{}=={version}{marker}", package.name))
}

/// The URL of a `vcs`, `directory` or `archive` source, as a requirement
/// writes it; `None` for a package from an index.
fn direct_url(package: &Package, lock_folder: &Path) -> Result<Option<String>, String> {
    let text = |table: &toml::Value, key: &str| {
        table
            .get(key)
            .and_then(toml::Value::as_str)
            .map(str::to_string)
    };
    let local = |path: String| {
        url::Url::from_file_path(lock_folder.join(&path))
            .map(|url| url.to_string())
            .map_err(|()| format!("`{path}` is not a usable path"))
    };
    if let Some(vcs) = &package.vcs {
        if text(vcs, "type").as_deref() != Some("git") {
            return Err("only `git` repositories are supported".to_string());
        }
        let url = match (text(vcs, "url"), text(vcs, "path")) {
            (Some(url), _) => url,
            (None, Some(path)) => local(path)?,
            (None, None) => return Err("the `vcs` source has no `url` or `path`".to_string()),
        };
        let commit = text(vcs, "commit-id").ok_or("the `vcs` source has no `commit-id`")?;
        let subdirectory = text(vcs, "subdirectory")
            .map(|subdirectory| format!("#subdirectory={subdirectory}"))
            .unwrap_or_default();
        return Ok(Some(format!("git+{url}@{commit}{subdirectory}")));
    }
    if let Some(directory) = &package.directory {
        let path = text(directory, "path").ok_or("the `directory` source has no `path`")?;
        return local(path).map(Some);
    }
    if let Some(archive) = &package.archive {
        let url = match (&archive.url, &archive.path) {
            (Some(url), _) => url.clone(),
            (None, Some(path)) => local(path.clone())?,
            (None, None) => return Err("the `archive` source has no `url` or `path`".to_string()),
        };
        return Ok(Some(match &archive.subdirectory {
            Some(subdirectory) => format!("{url}#subdirectory={subdirectory}"),
            None => url,
        }));
    }
    Ok(None)
}

fn artifact_sha256(
    artifact: &Artifact,
    package: &str,
    origin: &Origin,
) -> Result<Sha256, RequirementsError> {
    let location = artifact
        .url
        .as_deref()
        .or(artifact.path.as_deref())
        .unwrap_or("an artifact");
    let Some(digest) = artifact.hashes.get("sha256") else {
        return Err(RequirementsError::Unsupported {
            origin: origin.clone(),
            text: package.to_string(),
            message: format!("`{location}` has no sha256 hash"),
            hint: Some(
                "vendor checks every artifact by its sha256; lock with a tool that records it"
                    .to_string(),
            ),
        });
    };
    Sha256::from_str(digest).map_err(|error| RequirementsError::Unsupported {
        origin: origin.clone(),
        text: package.to_string(),
        message: format!("`{location}`: {error}"),
        hint: None,
    })
}

/// The 1-based line where `span` starts.
fn line_of(text: &str, span: Range<usize>) -> usize {
    let start = span.start.min(text.len());
    text[..start].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hint::Hint;

    const SHA_A: &str = "1ddc333a16fc139fd253035a1606bb24261951bbc3a6ca256717fa06cc41a898";
    const SHA_B: &str = "6f1616c2786c408ce86ab7e10f792b8f15742f7b7b7460243929cb371e7f1dad";

    fn uv_lock() -> String {
        format!(
            r#"lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.11"

[[packages]]
name = "django"
version = "4.2.16"
index = "https://pypi.org/simple"
sdist = {{ url = "https://files.example/Django-4.2.16.tar.gz", size = 1, hashes = {{ sha256 = "{SHA_B}" }} }}
wheels = [{{ url = "https://files.example/Django-4.2.16-py3-none-any.whl", hashes = {{ sha256 = "{SHA_A}" }} }}]

[[packages]]
name = "pywin32"
version = "306"
marker = "sys_platform == 'win32'"
wheels = [{{ path = "wheels/pywin32-306-cp311-cp311-win_amd64.whl", hashes = {{ sha256 = "{SHA_A}" }} }}]
"#
        )
    }

    #[test]
    fn pins_every_package_with_its_hashes_and_marker() {
        let path = Path::new("/srv/app/pylock.toml");
        let input = parse(&uv_lock(), path).unwrap();
        assert!(input.require_hashes);
        let lines: Vec<String> = input
            .requirements
            .iter()
            .map(|sourced| format!("{} @{}", sourced.requirement, sourced.origin.line))
            .collect();
        assert_eq!(
            lines,
            [
                "django==4.2.16 @5",
                "pywin32==306 ; sys_platform == 'win32' @12"
            ]
        );
        assert_eq!(input.requirements[0].hashes.len(), 2);
        assert_eq!(input.index_url.as_deref(), Some("https://pypi.org/simple"));
        assert_eq!(input.find_links, ["/srv/app/wheels"]);
    }

    #[test]
    fn direct_sources_become_direct_references() {
        let path = Path::new("/srv/app/pylock.toml");
        let text = "lock-version = \"1.0\"\n[[packages]]\nname = \"mylib\"\nvcs = { type = \"git\", url = \"https://example/mylib.git\", commit-id = \"abc\", subdirectory = \"py\" }\n[[packages]]\nname = \"local\"\ndirectory = { path = \"src/local\" }\n";
        let input = parse(text, path).unwrap();
        let written: Vec<String> = input
            .requirements
            .iter()
            .map(|sourced| sourced.requirement.to_string())
            .collect();
        assert_eq!(
            written,
            [
                "mylib @ git+https://example/mylib.git@abc#subdirectory=py",
                "local @ file:///srv/app/src/local"
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_lock_naming_the_package() {
        let path = Path::new("pylock.toml");
        let vcs = "lock-version = \"1.0\"\n[[packages]]\nname = \"mylib\"\nvcs = { type = \"hg\", url = \"https://example/mylib\", commit-id = \"abc\" }\n";
        let error = parse(vcs, path).unwrap_err().with_hint();
        assert!(
            error.starts_with("unsupported line at `pylock.toml:2`: `mylib`: only `git`"),
            "{error}"
        );
        let unhashed = "lock-version = \"1.0\"\n[[packages]]\nname = \"six\"\nversion = \"1.16.0\"\nwheels = [{ url = \"https://x/six-1.16.0-py3-none-any.whl\", hashes = { md5 = \"00\" } }]\n";
        let error = parse(unhashed, path).unwrap_err().with_hint();
        assert!(error.contains("has no sha256 hash"), "{error}");
        let future = "lock-version = \"2.0\"\n";
        let error = parse(future, path).unwrap_err().with_hint();
        assert!(error.contains("lock-version `2.0`"), "{error}");
        let garbage = "packages = 3\n";
        let error = parse(garbage, path).unwrap_err().with_hint();
        assert!(error.starts_with("invalid `pylock.toml`"), "{error}");
    }

    #[test]
    fn recognises_lock_file_names() {
        assert!(is_lock_file(Path::new("x/pylock.toml")));
        assert!(is_lock_file(Path::new("pylock.uv.toml")));
        assert!(!is_lock_file(Path::new("requirements.txt")));
        assert!(!is_lock_file(Path::new("pyproject.toml")));
    }
}
