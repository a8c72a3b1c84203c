//! PEP 508 requirement strings from untrusted text (requirement files,
//! `pyproject.toml`, core metadata, build backends' answers), parsed with
//! `pep508_rs`.
//!
//! Input: one requirement string. Output: a [`Requirement`], or an
//! [`InvalidRequirement`] whose message is pep508's, its input line cut to a
//! window around the carets ([`crate::excerpt::caret_excerpt`]).
//! Invariant: no input panics. `pep508_rs` 0.9.2 panics (an `expect` in its
//! name and extra parsers) on a package or extra name that ends in `-`, `_`
//! or `.` and is followed by more text (`django-==4.2`, `pkg[extra-]`);
//! such names are refused here first, with the message pep508 gives when
//! the name ends the input. Every caller parses through here.

use std::path::Path;
use std::str::FromStr;

use pep508_rs::Requirement;

use crate::excerpt::caret_excerpt;

/// A requirement string that is not valid PEP 508.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRequirement(String);

/// Parse `text`; relative paths in `file:` URLs are taken from `working_dir`.
pub fn parse_requirement(
    text: &str,
    working_dir: Option<&Path>,
) -> Result<Requirement, InvalidRequirement> {
    if let Some(message) = name_pep508_cannot_end(text) {
        return Err(InvalidRequirement(caret_excerpt(&message)));
    }
    let parsed = match working_dir {
        Some(folder) => Requirement::parse(text, folder),
        None => Requirement::from_str(text),
    };
    parsed.map_err(|error| InvalidRequirement(caret_excerpt(&error.to_string())))
}

fn is_name_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.')
}

fn is_separator(character: char) -> bool {
    matches!(character, '-' | '_' | '.')
}

/// pep508's three-line message (complaint, input, carets) for a package
/// name or extra that ends in a separator with more text after it.
fn name_pep508_cannot_end(text: &str) -> Option<String> {
    let name_start = text.len() - text.trim_start().len();
    let name_end = text[name_start..]
        .find(|character| !is_name_character(character))
        .map(|offset| name_start + offset)?;
    let starts_alphanumeric = |token: &str| token.starts_with(|c: char| c.is_ascii_alphanumeric());
    if let Some(last) = text[..name_end].chars().last().filter(|&c| is_separator(c)) {
        if starts_alphanumeric(&text[name_start..]) {
            return Some(complaint("Package name", last, text, name_end - 1));
        }
    }
    let after_name = &text[name_end..];
    let bracket = name_end + (after_name.len() - after_name.trim_start().len());
    if !text[bracket..].starts_with('[') {
        return None;
    }
    let mut position = bracket + 1;
    for extra in text[position..].split(']').next()?.split(',') {
        let trimmed_end = position + extra.trim_end().len();
        let token = text[position..trimmed_end].trim_start();
        let token_valid_so_far = token.chars().all(is_name_character);
        if let Some(last) = token.chars().last().filter(|&c| is_separator(c)) {
            if token_valid_so_far && starts_alphanumeric(token) {
                return Some(complaint("Extra name", last, text, trimmed_end - 1));
            }
        }
        position += extra.len() + 1;
    }
    None
}

fn complaint(what: &str, last: char, text: &str, at: usize) -> String {
    let column = text[..at].chars().count();
    format!(
        "{what} must end with an alphanumeric character, not `{last}`\n{text}\n{}^",
        " ".repeat(column)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ending_in_a_separator_are_refused_not_panicked_on() {
        for text in [
            "django-==4.2",
            "  django_ >=4",
            "django. ; python_version > '3'",
            "pkg[extra-]",
            "pkg[ok, extra_ ]>=1",
        ] {
            let error = parse_requirement(text, None).unwrap_err().to_string();
            assert!(
                error.contains("must end with an alphanumeric character"),
                "{text}: {error}"
            );
            assert_eq!(error.lines().count(), 3, "{error}");
        }
    }

    #[test]
    fn valid_requirements_parse_as_pep508_parses_them() {
        for text in [
            "django==4.2",
            "pkg[a-b,c]>=1 ; python_version >= '3.8'",
            "a-b.c_d",
            "x",
        ] {
            assert_eq!(
                parse_requirement(text, None).unwrap(),
                Requirement::from_str(text).unwrap()
            );
        }
        assert!(parse_requirement("django-", None).is_err());
    }
}
