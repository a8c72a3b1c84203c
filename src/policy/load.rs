//! Reading one policy file: TOML → [`LoadedPolicy`], with every problem
//! reported as the file plus the key path (`verify.probes[1].name`).
//!
//! Input: a file name, its text and how to name it in errors. Output: a
//! checked [`LoadedPolicy`]. Invariants: the file name is a normalized PEP
//! 503 name; every prerequisite names something to look for; link globs
//! compile; probe names are unique. Probe code is checked separately
//! ([`super::probes`]) because that needs a Python.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobMatcher};

use super::model::Policy;
use super::{LoadedPolicy, PolicyError};
use crate::hash::Sha256;
use crate::name::PackageName;

/// Every `*.toml` of `folder` (absent folder: none), sorted by file name.
pub(super) fn load_folder(folder: &Path) -> Result<Vec<LoadedPolicy>, PolicyError> {
    let entries = match fs_err::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PolicyError::Read {
                path: folder.to_path_buf(),
                source,
            })
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| PolicyError::Read {
                path: folder.to_path_buf(),
                source,
            })?
            .path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs_err::read_to_string(&path).map_err(|source| PolicyError::Read {
                path: path.clone(),
                source,
            })?;
            let file_name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            parse_policy(&file_name, &text, path.display().to_string())
        })
        .collect()
}

/// Parse and check one policy file named `file_name` (`pillow.toml`).
pub(super) fn parse_policy(
    file_name: &str,
    text: &str,
    origin: String,
) -> Result<LoadedPolicy, PolicyError> {
    let invalid = |message: String, hint: Option<String>| PolicyError::Invalid {
        origin: origin.clone(),
        message,
        hint,
    };
    let name = package_name_of(file_name).map_err(|(message, hint)| invalid(message, hint))?;
    let policy: Policy =
        serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|error| {
            let (message, hint) = describe_toml_error(text, &error);
            invalid(message, hint)
        })?;
    check_policy(&policy).map_err(|(message, hint)| invalid(message, hint))?;
    Ok(LoadedPolicy {
        name,
        policy,
        origin,
        digest: Sha256::of_bytes(text.as_bytes()),
    })
}

/// The glob syntax of `verify.links`: `*`, `?`, `[...]`, `{a,b}`; a soname
/// has no `/`, so `*` may match anything.
pub(super) fn compile_glob(text: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(text)
        .literal_separator(false)
        .build()
        .map(|glob: Glob| glob.compile_matcher())
}

type Problem = (String, Option<String>);

/// `pillow.toml` → `pillow`, refusing names that are not normalized (the
/// file would silently never apply otherwise).
fn package_name_of(file_name: &str) -> Result<PackageName, Problem> {
    let stem = file_name.strip_suffix(".toml").unwrap_or(file_name);
    let name = PackageName::new(stem.to_string()).map_err(|_| {
        (
            format!(
                "`{}` is not named after a package: {}",
                crate::excerpt::excerpt(file_name),
                crate::name::NAME_RULE
            ),
            Some("name policy files `<pep503-name>.toml`, e.g. `pillow.toml`".to_string()),
        )
    })?;
    if name.as_ref() != stem {
        return Err((
            format!("`{file_name}` is not a normalized package name"),
            Some(format!("rename it to `{name}.toml`")),
        ));
    }
    Ok(name)
}

/// serde's message with the key path and line, e.g. "line 12: unknown key
/// `verify.prob`; expected one of `links`, …".
fn describe_toml_error(text: &str, error: &serde_path_to_error::Error<toml::de::Error>) -> Problem {
    let inner = error.inner();
    let line = inner
        .span()
        .map(|span| format!("line {}: ", line_of(text, span.start)))
        .unwrap_or_default();
    let path = error.path().to_string();
    let message = inner.message().trim_end();
    let key = |name: &str| {
        if path == name || path.ends_with(&format!(".{name}")) {
            path.clone()
        } else if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, expected)) = rest.split_once('`') {
            let expected = expected.trim_start_matches(',').trim();
            return (
                format!("{line}unknown key `{}`", key(field)),
                Some(format!(
                    "the keys allowed there: {}",
                    expected
                        .trim_start_matches("expected ")
                        .trim_start_matches("one of ")
                )),
            );
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some((field, _)) = rest.split_once('`') {
            return (format!("{line}missing key `{}`", key(field)), None);
        }
    }
    if message.contains("untagged enum OneOrMany") {
        return (
            format!("{line}`{path}` must be a string or a list of strings"),
            None,
        );
    }
    if path == "." {
        (format!("{line}{message}"), None)
    } else {
        (format!("{line}`{path}`: {message}"), None)
    }
}

/// 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

/// What serde cannot say: prerequisites that look for nothing, globs,
/// duplicate or empty probes.
fn check_policy(policy: &Policy) -> Result<(), Problem> {
    for (index, prerequisite) in policy.prerequisites.iter().enumerate() {
        let alternatives = [
            &prerequisite.header,
            &prerequisite.pkg_config,
            &prerequisite.executable,
        ];
        let named = alternatives
            .iter()
            .filter_map(|alternative| alternative.as_ref())
            .flat_map(|alternative| alternative.alternatives())
            .collect::<Vec<_>>();
        if named.is_empty() || named.iter().any(|name| name.trim().is_empty()) {
            return Err((
                format!("`prerequisites[{index}]` names no header, pkg-config module or executable"),
                Some("give `header`, `pkg-config` or `executable` (a string or a list of alternatives)".to_string()),
            ));
        }
    }
    for (index, link) in policy.verify.links.iter().enumerate() {
        compile_glob(link).map_err(|error| {
            (
                format!("`verify.links[{index}]`: `{link}` is not a valid glob: {}", error.kind()),
                Some("globs match sonames, e.g. `libjpeg.so.*` or `{libmariadb,libmysqlclient}.so.*`".to_string()),
            )
        })?;
    }
    for (index, import) in policy.verify.imports.iter().enumerate() {
        let valid = !import.is_empty()
            && import.split('.').all(|part| {
                part.chars()
                    .next()
                    .is_some_and(|first| first.is_alphabetic() || first == '_')
                    && part
                        .chars()
                        .all(|character| character.is_alphanumeric() || character == '_')
            });
        if !valid {
            return Err((
                format!("`verify.imports[{index}]`: `{import}` is not a dotted module name"),
                None,
            ));
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (index, probe) in policy.verify.probes.iter().enumerate() {
        if probe.name.trim().is_empty() {
            return Err((format!("`verify.probes[{index}].name` is empty"), None));
        }
        if !names.insert(probe.name.as_str()) {
            return Err((
                format!(
                    "`verify.probes[{index}].name`: a probe named `{}` comes earlier",
                    probe.name
                ),
                Some("probe names identify failures in reports; make them unique".to_string()),
            ));
        }
        if probe.code.trim().is_empty() {
            return Err((format!("`verify.probes[{index}].code` is empty"), None));
        }
    }
    Ok(())
}
