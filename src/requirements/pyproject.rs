//! `pyproject.toml` as a requirement source (PEP 621 `[project]` table).
//!
//! Input: the file's path and the requested extras. Output: the project's
//! dependencies and, for each requested extra it defines, its optional
//! dependencies, each with the `file:line` of its string; plus the names of
//! every extra the file defines.
//!
//! Invariants: dependencies a build backend computes (`dynamic`) are refused
//! rather than guessed; an extra that names the project itself
//! (`all = ["mysite[images,cache]"]`) is expanded in place.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{folder_of, Origin, RequirementsError, SourcedRequirement};
use crate::name::{ExtraName, PackageName};
use crate::requirement_text::parse_requirement;

/// What one `pyproject.toml` contributes.
#[derive(Debug)]
pub(super) struct Project {
    pub(super) requirements: Vec<SourcedRequirement>,
    pub(super) defined_extras: BTreeSet<ExtraName>,
}

#[derive(Deserialize)]
struct PyprojectFile {
    project: Option<ProjectTable>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ProjectTable {
    name: Option<String>,
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    dynamic: Vec<String>,
}

pub(super) fn read(path: &Path, extras: &[ExtraName]) -> Result<Project, RequirementsError> {
    let text = std::fs::read_to_string(path).map_err(|source| RequirementsError::Read {
        path: path.to_path_buf(),
        included_from: None,
        source,
    })?;
    parse(&text, path, extras)
}

fn parse(text: &str, path: &Path, extras: &[ExtraName]) -> Result<Project, RequirementsError> {
    let invalid = |message: String, hint: Option<&str>| RequirementsError::Pyproject {
        path: path.to_path_buf(),
        message,
        hint: hint.map(str::to_string),
    };
    let file: PyprojectFile = toml::from_str(text)
        .map_err(|error| invalid(crate::excerpt::toml_error(&error, text), None))?;
    let project = file.project.ok_or_else(|| {
        invalid(
            "there is no `[project]` table".to_string(),
            Some("vendor reads PEP 621 metadata (`[project].dependencies`); export other formats to a requirements file"),
        )
    })?;
    if project.dynamic.iter().any(|field| field == "dependencies") {
        return Err(invalid(
            "`dependencies` is dynamic (computed by the build backend)".to_string(),
            Some("list the dependencies in `[project].dependencies`, or write them to a requirements file"),
        ));
    }
    if !extras.is_empty()
        && project
            .dynamic
            .iter()
            .any(|field| field == "optional-dependencies")
    {
        return Err(invalid(
            "`optional-dependencies` is dynamic (computed by the build backend)".to_string(),
            Some("list the extras in `[project.optional-dependencies]`"),
        ));
    }
    let self_name = match &project.name {
        Some(name) => Some(
            PackageName::new(name.clone())
                .map_err(|error| invalid(format!("`project.name`: {error}"), None))?,
        ),
        None => None,
    };
    let mut optional = BTreeMap::new();
    for (extra, requirements) in &project.optional_dependencies {
        let name = ExtraName::new(extra.clone())
            .map_err(|error| invalid(format!("extra `{extra}`: {error}"), None))?;
        optional.insert(name, requirements);
    }
    let parser = Parser {
        text,
        path,
        self_name,
        optional: &optional,
    };
    let mut requirements = Vec::new();
    let mut expanded = BTreeSet::new();
    parser.collect(&project.dependencies, &mut requirements, &mut expanded)?;
    for extra in extras {
        parser.collect_extra(extra, &mut requirements, &mut expanded)?;
    }
    Ok(Project {
        requirements,
        defined_extras: optional.keys().cloned().collect(),
    })
}

struct Parser<'a> {
    text: &'a str,
    path: &'a Path,
    self_name: Option<PackageName>,
    optional: &'a BTreeMap<ExtraName, &'a Vec<Spanned<String>>>,
}

impl Parser<'_> {
    /// Parse `entries`, expanding references to the project's own extras.
    fn collect(
        &self,
        entries: &[Spanned<String>],
        requirements: &mut Vec<SourcedRequirement>,
        expanded: &mut BTreeSet<ExtraName>,
    ) -> Result<(), RequirementsError> {
        for entry in entries {
            let origin = Origin {
                path: self.path.to_path_buf(),
                line: line_of(self.text, entry.span().start),
            };
            let requirement = parse_requirement(entry.get_ref(), Some(&folder_of(self.path)))
                .map_err(|error| RequirementsError::InvalidRequirement {
                    origin: origin.clone(),
                    message: error.to_string(),
                    hint: None,
                })?;
            if self.self_name.as_ref() == Some(&requirement.name) {
                for extra in &requirement.extras {
                    self.collect_extra(extra, requirements, expanded)?;
                }
            } else {
                requirements.push(SourcedRequirement::new(requirement, origin));
            }
        }
        Ok(())
    }

    /// Add the requirements of one extra, once; an extra this file does not
    /// define adds nothing (the caller checks that each requested extra is
    /// defined by some input).
    fn collect_extra(
        &self,
        extra: &ExtraName,
        requirements: &mut Vec<SourcedRequirement>,
        expanded: &mut BTreeSet<ExtraName>,
    ) -> Result<(), RequirementsError> {
        if !expanded.insert(extra.clone()) {
            return Ok(());
        }
        match self.optional.get(extra) {
            Some(entries) => self.collect(entries, requirements, expanded),
            None => Ok(()),
        }
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hint::Hint;

    fn extra(name: &str) -> ExtraName {
        ExtraName::new(name.to_string()).unwrap()
    }

    const PYPROJECT: &str = r#"[build-system]
requires = ["hatchling"]

[project]
name = "MySite"
version = "1.0"
dependencies = [
    "django>=5.1",
    "psycopg2 ; sys_platform == 'linux'",
]

[project.optional-dependencies]
images = ["pillow>=11"]
cache = [
    "pymemcache",
]
all = ["mysite[images,cache]"]

[tool.whatever]
anything = true
"#;

    fn parse_names(extras: &[ExtraName]) -> Vec<(String, usize)> {
        parse(PYPROJECT, Path::new("app/pyproject.toml"), extras)
            .unwrap()
            .requirements
            .into_iter()
            .map(|sourced| (sourced.requirement.name.to_string(), sourced.origin.line))
            .collect()
    }

    #[test]
    fn reads_dependencies_with_their_lines() {
        assert_eq!(
            parse_names(&[]),
            [("django".to_string(), 8), ("psycopg2".to_string(), 9)]
        );
        let project = parse(PYPROJECT, Path::new("pyproject.toml"), &[]).unwrap();
        let defined: Vec<String> = project
            .defined_extras
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(defined, ["all", "cache", "images"]);
    }

    #[test]
    fn adds_requested_extras_and_expands_self_references() {
        let names: Vec<String> = parse_names(&[extra("all")])
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["django", "psycopg2", "pillow", "pymemcache"]);
        assert_eq!(
            parse_names(&[extra("cache")])[2],
            ("pymemcache".to_string(), 15)
        );
        // Requesting an extra twice (directly and through `all`) adds it once.
        assert_eq!(parse_names(&[extra("images"), extra("all")]).len(), 4);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let path = Path::new("pyproject.toml");
        let error = parse("[tool.poetry]\nname = \"x\"\n", path, &[])
            .unwrap_err()
            .with_hint();
        assert!(
            error.contains("`pyproject.toml`")
                && error.contains("no `[project]` table")
                && error.contains("hint:"),
            "{error}"
        );
        let dynamic = "[project]\nname = \"x\"\ndynamic = [\"dependencies\"]\n";
        let error = parse(dynamic, path, &[]).unwrap_err().with_hint();
        assert!(error.contains("dynamic"), "{error}");
        let bad = "[project]\nname = \"x\"\ndependencies = [\n  \"ok\",\n  \"django>=\",\n]\n";
        let error = parse(bad, path, &[]).unwrap_err().with_hint();
        assert!(error.contains("`pyproject.toml:5`"), "{error}");
        assert!(error.contains("django>="), "{error}");
        let error = parse("[project\n", path, &[]).unwrap_err().with_hint();
        assert!(error.contains("`pyproject.toml`"), "{error}");
    }
}
