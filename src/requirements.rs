//! Requirement inputs: pip-style requirement files and `pyproject.toml`.
//!
//! Input: paths given by the user or `vendor.toml`, in order, and the extras
//! requested for `pyproject.toml` files. Output: [`RequirementsInput`], every
//! requirement and constraint with the `file:line` it came from, plus the
//! index options the files carry.
//!
//! Invariants: order is preserved (an included file's requirements appear
//! where its `-r` line is); relative paths (includes, `--find-links`, local
//! indexes) are resolved against the folder of the file that names them;
//! anything vendor does not understand is an error naming `file:line`, never
//! silently skipped.
//!
//! pip syntax handled (see [`pip`]): comments, line continuations, `${VAR}`
//! expansion, `-r`/`-c` includes with cycle detection, `-i`, `--extra-index-url`,
//! `-f`, `--no-index`, and `--hash` after a requirement. Hashes are kept
//! ([`SourcedRequirement::hashes`]) so the lock can insist that the artifact it
//! picks has one of them; only `sha256` is accepted, since that is what the
//! lock and the cache record.

mod format_control;
mod pinned_lock;
mod pip;
mod pyproject;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use pep508_rs::Requirement;

use crate::excerpt::{excerpt, shorten_quoted};
use crate::hash::Sha256;
use crate::name::ExtraName;
use crate::requirement_text::parse_requirement;

pub use format_control::{FormatControl, Formats};

/// Where a requirement was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    pub path: PathBuf,
    /// 1-based; the first physical line of a continued line.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.path.display(), self.line)
    }
}

/// A requirement and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcedRequirement {
    pub requirement: Requirement,
    pub origin: Origin,
    /// `--hash=sha256:…` options of the line; empty when none were given.
    pub hashes: Vec<Sha256>,
}

impl SourcedRequirement {
    pub fn new(requirement: Requirement, origin: Origin) -> Self {
        Self {
            requirement,
            origin,
            hashes: Vec::new(),
        }
    }
}

/// Everything read from the requirement sources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequirementsInput {
    pub requirements: Vec<SourcedRequirement>,
    pub constraints: Vec<SourcedRequirement>,
    /// The last `--index-url` seen, as pip does.
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// URLs, or absolute paths (relative ones resolved against the file's folder).
    pub find_links: Vec<String>,
    pub no_index: bool,
    /// `--no-binary` / `--only-binary` lines.
    pub format_control: FormatControl,
    /// `--prefer-binary`: an older version with a wheel over a newer one
    /// with only an sdist.
    pub prefer_binary: bool,
    /// `--require-hashes`: every package must come with `--hash` values.
    pub require_hashes: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RequirementsError {
    #[error("cannot read `{}`{}: {source}", excerpt(&.path.display().to_string()), render_included_from(.included_from))]
    Read {
        path: PathBuf,
        included_from: Option<Origin>,
        source: std::io::Error,
    },
    #[error("invalid requirement at `{origin}`: {message}")]
    InvalidRequirement {
        origin: Origin,
        /// pep508's message with the offending text and a caret under it.
        message: String,
        hint: Option<String>,
    },
    #[error("unsupported line at `{origin}`: `{}`: {}", excerpt(.text), shorten_quoted(.message))]
    Unsupported {
        origin: Origin,
        text: String,
        message: String,
        hint: Option<String>,
    },
    #[error("`{origin}` includes `{}`, which is already being read (an include cycle: {})", .path.display(), .chain.iter().map(|path| format!("`{}`", path.display())).collect::<Vec<_>>().join(" → "))]
    IncludeCycle {
        origin: Origin,
        path: PathBuf,
        chain: Vec<PathBuf>,
    },
    #[error("invalid `{}`: {}", .path.display(), shorten_quoted(.message))]
    Pyproject {
        path: PathBuf,
        message: String,
        hint: Option<String>,
    },
    #[error("invalid `{}`: {}", .path.display(), shorten_quoted(.message))]
    Lockfile {
        path: PathBuf,
        message: String,
        hint: Option<String>,
    },
    #[error("`{origin}`: `{}` is not pinned: {reason}", excerpt(.requirement))]
    NotPinned {
        origin: Origin,
        requirement: String,
        reason: &'static str,
    },
    #[error("extra `{extra}` is not defined by {}; defined: {}", .paths.iter().map(|path| format!("`{}`", path.display())).collect::<Vec<_>>().join(", "), if .defined.is_empty() { "none".to_string() } else { .defined.join(", ") })]
    UnknownExtra {
        extra: ExtraName,
        paths: Vec<PathBuf>,
        defined: Vec<String>,
    },
    #[error("extras ({}) were requested but no `pyproject.toml` is among the inputs", .extras.join(", "))]
    ExtrasWithoutPyproject { extras: Vec<String> },
}

impl crate::hint::Hint for RequirementsError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::InvalidRequirement { hint, .. }
            | Self::Unsupported { hint, .. }
            | Self::Pyproject { hint, .. }
            | Self::Lockfile { hint, .. } => hint.clone(),
            Self::NotPinned { .. } => Some("a pinned file names each package as `name==version` with `--hash=sha256:…` (`uv pip compile --generate-hashes` and `pip-compile --generate-hashes` write one); or lock it with `vendor lock -r`".to_string()),
            Self::IncludeCycle { .. } => Some("remove the `-r` line that closes the cycle".to_string()),
            Self::ExtrasWithoutPyproject { .. } => Some("extras select `[project.optional-dependencies]`; in a requirements file write `name[extra]`".to_string()),
            _ => None,
        }
    }
}

fn render_included_from(origin: &Option<Origin>) -> String {
    origin
        .as_ref()
        .map(|origin| format!(" (included from `{origin}`)"))
        .unwrap_or_default()
}

/// The requirement on the app's own project (`[app] source`): its
/// `[project] name` at that folder, as a `directory` package, unless
/// `input` already requires that name (`-e .` in a requirements file).
pub fn add_app_source(
    input: &mut RequirementsInput,
    source: &Path,
    config_path: &Path,
) -> Result<(), RequirementsError> {
    let pyproject = source.join("pyproject.toml");
    let invalid = |message: String, hint: &str| RequirementsError::Pyproject {
        path: pyproject.clone(),
        message,
        hint: Some(hint.to_string()),
    };
    if !pyproject.is_file() {
        return Err(invalid(
            format!(
                "`[app] source` of `{}` has no `pyproject.toml`",
                config_path.display()
            ),
            "`source` names the folder of the app's own project, usually `.`",
        ));
    }
    let name = crate::direct::pack::static_name(source).ok_or_else(|| {
        invalid(
            "`[project] name` is missing or not a valid package name".to_string(),
            "the app's project states its name in `[project] name`; it becomes the `<app>` RPM's content",
        )
    })?;
    if input
        .requirements
        .iter()
        .any(|sourced| sourced.requirement.name == name)
    {
        return Ok(());
    }
    let url = url::Url::from_directory_path(source).map_err(|()| {
        invalid(
            "`[app] source` is not an absolute path".to_string(),
            "use a path relative to `vendor.toml`",
        )
    })?;
    let requirement = parse_requirement(&format!("{name} @ {url}"), None).map_err(|error| {
        invalid(
            error.to_string(),
            "the folder's path must be usable in a `file://` URL",
        )
    })?;
    input.requirements.push(SourcedRequirement::new(
        requirement,
        Origin {
            path: config_path.to_path_buf(),
            line: 0,
        },
    ));
    Ok(())
}

/// Read requirement sources in order: `pyproject.toml` files
/// (`[project].dependencies` plus `[project.optional-dependencies]` for each
/// requested extra), PEP 751 lock files (each package pinned with its
/// hashes, see [`pinned_lock`]) and pip-style requirement files.
pub fn read_requirements(
    paths: &[PathBuf],
    extras: &[ExtraName],
) -> Result<RequirementsInput, RequirementsError> {
    let mut reader = pip::Reader::default();
    let mut pyprojects = Vec::new();
    let mut defined_extras = BTreeSet::new();
    for path in paths {
        if pinned_lock::is_lock_file(path) {
            let pinned = pinned_lock::read(path)?;
            reader.input.add_pinned_lock(pinned);
        } else if is_pyproject(path) {
            let project = pyproject::read(path, extras)?;
            defined_extras.extend(project.defined_extras);
            reader.input.requirements.extend(project.requirements);
            pyprojects.push(path.clone());
        } else {
            reader.read_file(path, pip::Kind::Requirements, None)?;
        }
    }
    check_extras(extras, &pyprojects, &defined_extras)?;
    Ok(reader.input)
}

impl RequirementsInput {
    /// Add what a lock file read as requirements holds: its pins, and its
    /// indexes after any named before.
    fn add_pinned_lock(&mut self, pinned: RequirementsInput) {
        self.requirements.extend(pinned.requirements);
        let mut indexes = pinned.index_url.into_iter().chain(pinned.extra_index_urls);
        if self.index_url.is_none() {
            self.index_url = indexes.next();
        }
        self.extra_index_urls.extend(indexes);
        self.find_links.extend(pinned.find_links);
        self.require_hashes = true;
    }

    /// Check that the input pins every package as a lock would: `==` an
    /// exact version (or `===`), with `--hash` values. A pip-compile
    /// `requirements.txt` with hashes passes; a loose `requirements.in`
    /// does not.
    pub fn check_pinned(&self) -> Result<(), RequirementsError> {
        for sourced in &self.requirements {
            let reason = match &sourced.requirement.version_or_url {
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers))
                    if specifiers.len() == 1 && is_exact(&specifiers[0]) =>
                {
                    if sourced.hashes.is_empty() {
                        Some("it has no `--hash`")
                    } else {
                        None
                    }
                }
                // A direct reference names its one source.
                Some(pep508_rs::VersionOrUrl::Url(_)) => None,
                _ => Some("it does not name one exact version with `==`"),
            };
            if let Some(reason) = reason {
                return Err(RequirementsError::NotPinned {
                    origin: sourced.origin.clone(),
                    requirement: sourced.requirement.to_string(),
                    reason,
                });
            }
        }
        Ok(())
    }
}

/// `==1.2.3` or `===1.2.3`; not `==1.2.*`.
fn is_exact(specifier: &pep440_rs::VersionSpecifier) -> bool {
    matches!(
        specifier.operator(),
        pep440_rs::Operator::Equal | pep440_rs::Operator::ExactEqual
    )
}

/// Parse pip-style requirements `text` as if read from `path` (includes are
/// read relative to `path`'s folder).
pub fn parse_requirements_text(
    text: &str,
    path: &Path,
) -> Result<RequirementsInput, RequirementsError> {
    let mut reader = pip::Reader::default();
    reader.parse_text(text, path, pip::Kind::Requirements)?;
    Ok(reader.input)
}

/// A `--find-links` / index location: URLs are kept, anything else is a path,
/// made absolute against `base_dir`.
pub fn resolve_location(location: &str, base_dir: &Path) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let path = Path::new(location);
    if path.is_absolute() {
        location.to_string()
    } else {
        base_dir.join(path).display().to_string()
    }
}

/// The folder holding `path` as written (empty for a bare file name), so
/// includes keep readable relative names in messages.
fn parent_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// The absolute folder holding `path`.
fn folder_of(path: &Path) -> PathBuf {
    let parent = parent_of(path);
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

fn is_pyproject(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name == "pyproject.toml")
}

/// Every requested extra must be defined by at least one `pyproject.toml`.
fn check_extras(
    extras: &[ExtraName],
    pyprojects: &[PathBuf],
    defined: &BTreeSet<ExtraName>,
) -> Result<(), RequirementsError> {
    if extras.is_empty() {
        return Ok(());
    }
    if pyprojects.is_empty() {
        return Err(RequirementsError::ExtrasWithoutPyproject {
            extras: extras.iter().map(ToString::to_string).collect(),
        });
    }
    match extras.iter().find(|extra| !defined.contains(*extra)) {
        Some(extra) => Err(RequirementsError::UnknownExtra {
            extra: extra.clone(),
            paths: pyprojects.to_vec(),
            defined: defined.iter().map(ToString::to_string).collect(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hint::Hint;

    fn extra(name: &str) -> ExtraName {
        ExtraName::new(name.to_string()).unwrap()
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn names(requirements: &[SourcedRequirement]) -> Vec<String> {
        requirements
            .iter()
            .map(|sourced| sourced.requirement.name.to_string())
            .collect()
    }

    #[test]
    fn reads_pyproject_and_requirement_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let pyproject = write(
            dir.path(),
            "pyproject.toml",
            "[project]\nname = \"mysite\"\nversion = \"1\"\ndependencies = [\"django>=5\"]\n\n[project.optional-dependencies]\nimages = [\"pillow\"]\n",
        );
        let requirements = write(dir.path(), "extra.in", "gunicorn\n");
        let input = read_requirements(&[pyproject, requirements], &[extra("images")]).unwrap();
        assert_eq!(names(&input.requirements), ["django", "pillow", "gunicorn"]);
        assert_eq!(input.requirements[2].origin.line, 1);
    }

    #[test]
    fn extras_must_exist_somewhere() {
        let dir = tempfile::tempdir().unwrap();
        let pyproject = write(
            dir.path(),
            "pyproject.toml",
            "[project]\nname = \"mysite\"\ndependencies = []\n[project.optional-dependencies]\ndev = [\"pytest\"]\n",
        );
        let error = read_requirements(&[pyproject], &[extra("docs")])
            .unwrap_err()
            .with_hint();
        assert!(
            error.contains("extra `docs`") && error.contains("defined: dev"),
            "{error}"
        );
        let requirements = write(dir.path(), "requirements.in", "django\n");
        let error = read_requirements(&[requirements], &[extra("dev")])
            .unwrap_err()
            .with_hint();
        assert!(
            error.contains("no `pyproject.toml`") && error.contains("hint:"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = read_requirements(&[PathBuf::from("/nonexistent/requirements.in")], &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`/nonexistent/requirements.in`"), "{error}");
    }

    #[test]
    fn resolves_locations() {
        let base = Path::new("/srv/app");
        assert_eq!(resolve_location("wheels", base), "/srv/app/wheels");
        assert_eq!(resolve_location("/opt/wheels", base), "/opt/wheels");
        assert_eq!(
            resolve_location("https://example.com/simple", base),
            "https://example.com/simple"
        );
    }
}
