//! setuptools' `*.egg-info/requires.txt` → `Requires-Dist` entries.
//!
//! Input: the text of `requires.txt`: unconditional requirements first, then
//! sections `[extra]`, `[:marker]` or `[extra:marker]`. Output: the
//! equivalent PEP 508 requirements and the extras the sections name.
//!
//! Invariant: a requirement that carries its own marker keeps it, combined
//! with its section's marker by `and`; a line that does not parse is an
//! error naming it.

use std::str::FromStr;

use pep508_rs::Requirement;

use crate::excerpt::excerpt;
use crate::name::ExtraName;
use crate::requirement_text::parse_requirement;

/// The requirements and extras of a `requires.txt`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EggRequires {
    pub requires_dist: Vec<Requirement>,
    pub provides_extras: Vec<ExtraName>,
}

/// Translate `requires.txt` text.
pub fn parse_requires_txt(text: &str) -> Result<EggRequires, String> {
    let mut requires = EggRequires::default();
    // The marker every requirement of the current section gets.
    let mut section_marker: Option<String> = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section_marker = section_to_marker(section, &mut requires.provides_extras)
                .map_err(|reason| format!("line {}: {reason}", number + 1))?;
            continue;
        }
        let text = match (&section_marker, line.split_once(';')) {
            (None, _) => line.to_string(),
            (Some(marker), None) => format!("{line} ; {marker}"),
            (Some(marker), Some((requirement, own_marker))) => {
                format!("{requirement} ; ({}) and {marker}", own_marker.trim())
            }
        };
        let requirement = parse_requirement(&text, None).map_err(|error| {
            let (line, error) = (excerpt(line), excerpt(&error.to_string()));
            format!("line {}: invalid requirement `{line}`: {error}", number + 1)
        })?;
        requires.requires_dist.push(requirement);
    }
    Ok(requires)
}

/// `extra:marker` → `(marker) and extra == "extra"`; records the extra.
fn section_to_marker(section: &str, extras: &mut Vec<ExtraName>) -> Result<Option<String>, String> {
    let (extra, marker) = match section.split_once(':') {
        Some((extra, marker)) => (extra.trim(), marker.trim()),
        None => (section.trim(), ""),
    };
    let extra_marker = if extra.is_empty() {
        None
    } else {
        let name = ExtraName::from_str(extra)
            .map_err(|error| format!("invalid extra name `{extra}`: {error}"))?;
        if !extras.contains(&name) {
            extras.push(name.clone());
        }
        Some(format!("extra == \"{name}\""))
    };
    Ok(match (marker.is_empty(), extra_marker) {
        (true, None) => None,
        (true, Some(extra)) => Some(extra),
        (false, None) => Some(format!("({marker})")),
        (false, Some(extra)) => Some(format!("({marker}) and {extra}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_sections() {
        let text = "\
requests>=2.0
six

[:python_version < \"3.8\"]
importlib-metadata

[Socks]
PySocks!=1.5.7,>=1.5.6

[security:sys_platform == \"win32\"]
pywin32; platform_machine == \"AMD64\"
";
        let requires = parse_requires_txt(text).unwrap();
        let rendered: Vec<String> = requires
            .requires_dist
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            rendered,
            [
                "requests>=2.0",
                "six",
                "importlib-metadata ; python_full_version < '3.8'",
                "pysocks>=1.5.6,!=1.5.7 ; extra == 'socks'",
                "pywin32 ; platform_machine == 'AMD64' and sys_platform == 'win32' and extra == 'security'",
            ]
        );
        let extras: Vec<&str> = requires.provides_extras.iter().map(AsRef::as_ref).collect();
        assert_eq!(extras, ["socks", "security"]);
    }

    #[test]
    fn names_bad_lines() {
        let error = parse_requires_txt("ok\n\n[x]\nnot a requirement (((\n").unwrap_err();
        assert!(error.starts_with("line 4:"), "{error}");
        assert!(parse_requires_txt("").unwrap().requires_dist.is_empty());
    }
}
