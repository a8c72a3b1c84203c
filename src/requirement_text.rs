//! PEP 508 requirement strings from untrusted text (requirement files,
//! `pyproject.toml`, core metadata, build backends' answers), parsed with
//! `pep508_rs`.
//!
//! Input: one requirement string. Output: a [`Requirement`], or an
//! [`InvalidRequirement`] whose message is pep508's, its input line cut to a
//! window around the carets ([`crate::excerpt::caret_excerpt`]).
//! Invariant: no input panics. `pep508_rs` 0.9.2 panics (an `expect` in its
//! name and extra parsers) on a package or extra name that ends in `-`, `_`
//! or `.` and is followed by more text (`django-==4.2`, `pkg[extra-]`),
//! and (mixing byte and character counts) on a character outside ASCII
//! after a marker expression; such text is refused here first, with the
//! message pep508 gives for the nearest valid case. Its error `Display`
//! panics on a span inside a character, so messages are drawn here.
//! Every caller parses through here.

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
    if let Some(message) = name_pep508_cannot_end(text).or_else(|| non_ascii_outside_quotes(text)) {
        return Err(InvalidRequirement(caret_excerpt(&message)));
    }
    let parsed = match working_dir {
        Some(folder) => Requirement::parse(text, folder),
        None => Requirement::from_str(text),
    };
    parsed.map_err(|error| InvalidRequirement(caret_excerpt(&render(&error))))
}

/// pep508's three-line message (complaint, input, carets), drawn here: its
/// own `Display` slices the input at a byte span that can fall inside a
/// character (an error at `é` spans one byte) and panics.
fn render(error: &pep508_rs::Pep508Error) -> String {
    let input = &error.input;
    let floor = |at: usize| {
        (0..=at.min(input.len()))
            .rev()
            .find(|&at| input.is_char_boundary(at))
            .unwrap_or(0)
    };
    let start = floor(error.start);
    let end = floor(error.start.saturating_add(error.len)).max(start);
    let column = input[..start].chars().count();
    let width = input[start..end].chars().count().max(1);
    format!(
        "{}\n{input}\n{}{}",
        error.message,
        " ".repeat(column),
        "^".repeat(width)
    )
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
    extra_pep508_cannot_end(text, bracket + 1)
}

/// The same for the extras list starting at byte `position`, walked as
/// pep508 walks it: each extra is the longest run of name characters after
/// optional whitespace, followed by optional whitespace and `,` or `]`.
fn extra_pep508_cannot_end(text: &str, mut position: usize) -> Option<String> {
    let skip_whitespace = |at: usize| at + (text[at..].len() - text[at..].trim_start().len());
    loop {
        position = skip_whitespace(position);
        let run = text[position..]
            .find(|character| !is_name_character(character))
            .map_or(&text[position..], |length| {
                &text[position..position + length]
            });
        let starts_alphanumeric = run.starts_with(|c: char| c.is_ascii_alphanumeric());
        if let Some(last) = run.chars().last().filter(|&c| is_separator(c)) {
            if starts_alphanumeric {
                return Some(complaint(
                    "Extra name",
                    last,
                    text,
                    position + run.len() - 1,
                ));
            }
        }
        if run.is_empty() {
            return None;
        }
        position = skip_whitespace(position + run.len());
        match text[position..].chars().next() {
            Some(',') => position += 1,
            _ => return None,
        }
    }
}

/// pep508's message for a character outside ASCII in the markers, where
/// PEP 508 allows none but in quoted values: `pep508_rs` 0.9.2 mixes
/// character and byte counts after a marker expression and panics on such
/// text. (A URL before the markers may hold any character, as pip allows.)
fn non_ascii_outside_quotes(text: &str) -> Option<String> {
    let markers = markers_start(text)?;
    let mut quote = None;
    for (at, character) in text.char_indices().skip_while(|&(at, _)| at < markers) {
        match (quote, character) {
            (None, '\'' | '"') => quote = Some(character),
            (Some(open), _) if open == character => quote = None,
            (None, _) if !character.is_ascii() => {
                let column = text[..at].chars().count();
                let shown = character.escape_default();
                return Some(format!(
                    "Expected an ASCII character outside a quoted string, found `{shown}`\n{text}\n{}^",
                    " ".repeat(column)
                ));
            }
            _ => {}
        }
    }
    None
}

/// Where the markers begin: the first `;` that pep508 takes as their
/// start (after a URL, only one with whitespace before it).
fn markers_start(text: &str) -> Option<usize> {
    let is_url = text.contains('@');
    text.char_indices()
        .find(|&(at, character)| {
            character == ';' && (!is_url || text[..at].ends_with(char::is_whitespace))
        })
        .map(|(at, _)| at)
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
            "psycopg[ requirements.txt. Used by tests",
            "pkg[a,b.]",
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

    #[test]
    fn errors_at_a_character_outside_ascii_are_drawn_without_a_panic() {
        let error = parse_requirement("celery[A \u{fffd}redis]", None)
            .unwrap_err()
            .to_string();
        assert_eq!(error.lines().count(), 3, "{error}");
        assert!(error.lines().nth(2).unwrap().trim() == "^", "{error}");
    }

    #[test]
    fn text_outside_ascii_is_refused_unless_quoted() {
        for text in [
            "chardet <6 ; extra == 'x'\u{fffd}\u{fffd}",
            "chardet <6 ; extra == 'x' \u{e9}t\u{e9}",
            "pkg ; extra == 'a' or caf\u{e9}",
        ] {
            let error = parse_requirement(text, None).unwrap_err().to_string();
            assert!(
                error.contains("Expected an ASCII character"),
                "{text}: {error}"
            );
            assert_eq!(error.lines().count(), 3, "{error}");
        }
        for allowed in [
            "pkg ; platform_release == 'caf\u{e9}'",
            "pkg @ file:///home/jos\u{e9}/pkg ; python_version >= '3'",
        ] {
            assert_eq!(
                parse_requirement(allowed, None).unwrap(),
                Requirement::from_str(allowed).unwrap()
            );
        }
    }
}
