//! pip-style requirement files.
//!
//! Input: the text of a requirements (or constraints) file and its path.
//! Output: requirements, constraints and index options appended to a
//! [`RequirementsInput`].
//!
//! Processing follows pip's `req_file.py`: physical lines ending in `\` are
//! joined (the logical line keeps the number of its first physical line), then
//! comments (`#` at the start or after whitespace) are removed, then `${VAR}`
//! is replaced by the environment variable (left as written when unset).
//! One difference: inside a constraints file, `-r` includes more constraints
//! (pip reads them as requirements, which is rarely what the author meant).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::LazyLock;

use pep508_rs::{Requirement, VersionOrUrl};
use regex::Regex;

use super::{
    folder_of, parent_of, resolve_location, Origin, RequirementsError, RequirementsInput,
    SourcedRequirement,
};
use crate::hash::Sha256;
use crate::requirement_text::parse_requirement;

/// Whether a file's requirements are requirements or constraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Requirements,
    Constraints,
}

/// Reads files recursively into one [`RequirementsInput`].
#[derive(Default)]
pub(super) struct Reader {
    pub(super) input: RequirementsInput,
    /// Files being read, outermost first: `(as written, canonical)`.
    stack: Vec<(PathBuf, PathBuf)>,
}

/// The options vendor understands on a line of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineOption {
    Requirement,
    Constraint,
    IndexUrl,
    ExtraIndexUrl,
    FindLinks,
    NoIndex,
    NoBinary,
    OnlyBinary,
    PreferBinary,
    RequireHashes,
    Editable,
}

impl LineOption {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "-r" | "--requirement" => Self::Requirement,
            "-e" | "--editable" => Self::Editable,
            "-c" | "--constraint" => Self::Constraint,
            "-i" | "--index-url" => Self::IndexUrl,
            "--extra-index-url" => Self::ExtraIndexUrl,
            "-f" | "--find-links" => Self::FindLinks,
            "--no-index" => Self::NoIndex,
            "--no-binary" => Self::NoBinary,
            "--only-binary" => Self::OnlyBinary,
            "--prefer-binary" => Self::PreferBinary,
            "--require-hashes" => Self::RequireHashes,
            _ => return None,
        })
    }

    fn takes_value(self) -> bool {
        !matches!(
            self,
            Self::NoIndex | Self::PreferBinary | Self::RequireHashes
        )
    }
}

impl Reader {
    /// Read `path` and everything it includes.
    pub(super) fn read_file(
        &mut self,
        path: &Path,
        kind: Kind,
        included_from: Option<&Origin>,
    ) -> Result<(), RequirementsError> {
        if let Some(origin) = included_from {
            let canonical = canonical(path);
            if self.stack.iter().any(|(_, open)| *open == canonical) {
                let mut chain: Vec<PathBuf> = self
                    .stack
                    .iter()
                    .map(|(written, _)| written.clone())
                    .collect();
                chain.push(path.to_path_buf());
                return Err(RequirementsError::IncludeCycle {
                    origin: origin.clone(),
                    path: path.to_path_buf(),
                    chain,
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(|source| RequirementsError::Read {
            path: path.to_path_buf(),
            included_from: included_from.cloned(),
            source,
        })?;
        self.parse_text(&text, path, kind)
    }

    /// Parse `text` as the content of `path`.
    pub(super) fn parse_text(
        &mut self,
        text: &str,
        path: &Path,
        kind: Kind,
    ) -> Result<(), RequirementsError> {
        self.stack.push((path.to_path_buf(), canonical(path)));
        let result = logical_lines(text).try_for_each(|(line_number, line)| {
            let line = expand_env_vars(&line);
            let line = line.trim();
            if line.is_empty() {
                return Ok(());
            }
            let origin = Origin {
                path: path.to_path_buf(),
                line: line_number,
            };
            if line.starts_with('-') {
                self.parse_option_line(line, &origin, kind)
            } else {
                self.parse_requirement_line(line, &origin, kind)
            }
        });
        self.stack.pop();
        result
    }

    fn parse_option_line(
        &mut self,
        line: &str,
        origin: &Origin,
        kind: Kind,
    ) -> Result<(), RequirementsError> {
        let words = split_words(line).map_err(|message| unsupported(origin, line, &message))?;
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let (name, inline_value) = split_option(&word);
            let Some(option) = LineOption::parse(name) else {
                let (message, hint) = unknown_option(name);
                return Err(unsupported_with_hint(origin, line, &message, Some(&hint)));
            };
            let value =
                if option.takes_value() {
                    Some(inline_value.or_else(|| words.next()).ok_or_else(|| {
                        unsupported(origin, line, &format!("`{name}` needs a value"))
                    })?)
                } else if inline_value.is_some() {
                    return Err(unsupported(
                        origin,
                        line,
                        &format!("`{name}` takes no value"),
                    ));
                } else {
                    None
                };
            self.apply_option(option, value.unwrap_or_default(), origin, kind)?;
        }
        Ok(())
    }

    fn apply_option(
        &mut self,
        option: LineOption,
        value: String,
        origin: &Origin,
        kind: Kind,
    ) -> Result<(), RequirementsError> {
        let folder = folder_of(&origin.path);
        match option {
            LineOption::Requirement => {
                self.read_file(&parent_of(&origin.path).join(&value), kind, Some(origin))?
            }
            LineOption::Constraint => self.read_file(
                &parent_of(&origin.path).join(&value),
                Kind::Constraints,
                Some(origin),
            )?,
            LineOption::IndexUrl => self.input.index_url = Some(resolve_location(&value, &folder)),
            LineOption::ExtraIndexUrl => {
                self.input
                    .extra_index_urls
                    .push(resolve_location(&value, &folder));
            }
            LineOption::FindLinks => self
                .input
                .find_links
                .push(resolve_location(&value, &folder)),
            LineOption::NoIndex => self.input.no_index = true,
            LineOption::NoBinary => self
                .input
                .format_control
                .add_no_binary(&value)
                .map_err(|message| format_error(origin, &value, &message))?,
            LineOption::OnlyBinary => self
                .input
                .format_control
                .add_only_binary(&value)
                .map_err(|message| format_error(origin, &value, &message))?,
            LineOption::PreferBinary => self.input.prefer_binary = true,
            LineOption::RequireHashes => self.input.require_hashes = true,
            // What vendor ships is installed, never editable: the project is
            // built into a wheel like any other source.
            LineOption::Editable => self.parse_requirement_line(&value, origin, kind)?,
        }
        Ok(())
    }

    fn parse_requirement_line(
        &mut self,
        line: &str,
        origin: &Origin,
        kind: Kind,
    ) -> Result<(), RequirementsError> {
        let (text, options) = split_requirement_options(line);
        let named = match location_requirement(text, &folder_of(&origin.path)) {
            Some(Ok(named)) => named,
            Some(Err(message)) => {
                return Err(unsupported_with_hint(
                    origin,
                    text,
                    &message,
                    Some("name the package: `name @ git+https://…`, `name @ file:///absolute/path`, or add `#egg=name`"),
                ))
            }
            None => text.to_string(),
        };
        let text = named.as_str();
        let requirement =
            parse_requirement(text, Some(&folder_of(&origin.path))).map_err(|error| {
                RequirementsError::InvalidRequirement {
                    origin: origin.clone(),
                    message: error.to_string(),
                    hint: requirement_hint(text),
                }
            })?;
        let hashes = parse_hashes(options, origin, line)?;
        if kind == Kind::Constraints {
            check_constraint(&requirement, origin, line)?;
        }
        let sourced = SourcedRequirement {
            requirement,
            origin: origin.clone(),
            hashes,
        };
        match kind {
            Kind::Requirements => self.input.requirements.push(sourced),
            Kind::Constraints => self.input.constraints.push(sourced),
        }
        Ok(())
    }
}

/// A `--no-binary` / `--only-binary` value that is not a package list.
fn format_error(origin: &Origin, text: &str, message: &str) -> RequirementsError {
    let hint =
        "write package names separated by commas, `:all:` or `:none:` (`--no-binary lxml,xmlsec`)";
    unsupported_with_hint(origin, text, message, Some(hint))
}

fn unsupported(origin: &Origin, text: &str, message: &str) -> RequirementsError {
    unsupported_with_hint(origin, text, message, None)
}

fn unsupported_with_hint(
    origin: &Origin,
    text: &str,
    message: &str,
    hint: Option<&str>,
) -> RequirementsError {
    RequirementsError::Unsupported {
        origin: origin.clone(),
        text: text.to_string(),
        message: message.to_string(),
        hint: hint.map(str::to_string),
    }
}

/// The canonical form of `path` for cycle detection (as written when it
/// cannot be resolved; reading it will then report the problem).
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Join continuation lines and drop comments, as pip does; yields
/// `(first physical line number, text)`.
fn logical_lines(text: &str) -> impl Iterator<Item = (usize, String)> {
    static COMMENT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(^|\s+)#.*$").expect("a valid regex"));
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let is_comment = raw.trim_start().starts_with('#');
        match raw.strip_suffix('\\') {
            Some(part) if !is_comment => {
                pending
                    .get_or_insert_with(|| (number, String::new()))
                    .1
                    .push_str(part);
            }
            _ => match pending.take() {
                // pip prefixes a space so a comment line ends the joined text.
                Some((start, mut joined)) => {
                    joined.push(' ');
                    joined.push_str(raw);
                    lines.push((start, joined));
                }
                None => lines.push((number, raw.to_string())),
            },
        }
    }
    lines.extend(pending);
    lines
        .into_iter()
        .map(|(number, line)| (number, COMMENT.replace(&line, "").into_owned()))
}

/// `${NAME}` → the variable's value; unset variables stay as written (pip).
fn expand_env_vars(line: &str) -> String {
    static VARIABLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\$\{([A-Z0-9_]+)\}").expect("a valid regex"));
    VARIABLE
        .replace_all(line, |captures: &regex::Captures<'_>| {
            std::env::var(&captures[1]).unwrap_or_else(|_| captures[0].to_string())
        })
        .into_owned()
}

/// Split at whitespace, honouring single and double quotes (like `shlex`).
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for character in line.chars() {
        match quote {
            Some(open) if character == open => quote = None,
            Some(_) => current.get_or_insert_with(String::new).push(character),
            None if character == '\'' || character == '"' => {
                quote = Some(character);
                current.get_or_insert_with(String::new);
            }
            None if character.is_whitespace() => words.extend(current.take()),
            None => current.get_or_insert_with(String::new).push(character),
        }
    }
    if let Some(open) = quote {
        return Err(format!("unterminated `{open}` quote"));
    }
    words.extend(current);
    Ok(words)
}

/// `--name=value` → (`--name`, value); `-rfile` → (`-r`, `file`).
fn split_option(word: &str) -> (&str, Option<String>) {
    if word.starts_with("--") {
        match word.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (word, None),
        }
    } else if word.len() > 2 && word.is_char_boundary(2) {
        (&word[..2], Some(word[2..].to_string()))
    } else {
        (word, None)
    }
}

/// Split a requirement line at its first option (` --hash=…`), skipping
/// dashes inside quoted marker values.
fn split_requirement_options(line: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut previous_is_space = false;
    for (index, character) in line.char_indices() {
        match quote {
            Some(open) if character == open => quote = None,
            Some(_) => {}
            None if character == '"' || character == '\'' => quote = Some(character),
            None if character == '-' && previous_is_space => {
                return (line[..index].trim_end(), &line[index..]);
            }
            None => {}
        }
        previous_is_space = character.is_whitespace();
    }
    (line, "")
}

/// The `--hash` options after a requirement; only sha256 is accepted.
fn parse_hashes(
    options: &str,
    origin: &Origin,
    line: &str,
) -> Result<Vec<Sha256>, RequirementsError> {
    let words = split_words(options).map_err(|message| unsupported(origin, line, &message))?;
    let mut words = words.into_iter();
    let mut hashes = Vec::new();
    while let Some(word) = words.next() {
        let (name, inline_value) = split_option(&word);
        if name != "--hash" {
            return Err(unsupported_with_hint(origin, line, &format!("`{name}` is not supported after a requirement"), Some("only `--hash=sha256:…` may follow a requirement; build settings belong in the package's policy")));
        }
        let value = inline_value
            .or_else(|| words.next())
            .ok_or_else(|| unsupported(origin, line, "`--hash` needs a value"))?;
        let Some(digest) = value.strip_prefix("sha256:") else {
            return Err(unsupported_with_hint(
                origin,
                line,
                &format!("`--hash={value}`: only sha256 hashes are supported"),
                Some(
                    "write `--hash=sha256:<64 hex digits>` (`pip-compile --generate-hashes` does)",
                ),
            ));
        };
        let digest = Sha256::from_str(digest)
            .map_err(|error| unsupported(origin, line, &error.to_string()))?;
        hashes.push(digest);
    }
    Ok(hashes)
}

/// A line that names a location instead of a package (`./pkg`, `-e .`,
/// `git+https://…#egg=name`, `https://…/name-1.0.tar.gz`) written as
/// `name @ <url>`, the way pip reads it: the name from `#egg=`, else the
/// folder's `pyproject.toml` / `PKG-INFO`, else the archive's file name.
/// `None` when the line is an ordinary requirement.
fn location_requirement(text: &str, folder: &Path) -> Option<Result<String, String>> {
    const STARTS: [&str; 10] = [
        ".", "/", "file:", "git+", "http://", "https://", "hg+", "svn+", "bzr+", "~",
    ];
    if !STARTS.iter().any(|start| text.starts_with(start)) {
        return None;
    }
    let (location, marker) = match text.split_once(" ;").or_else(|| text.split_once("; ")) {
        Some((location, marker)) => (location.trim(), format!(" ; {}", marker.trim())),
        None => (text.trim(), String::new()),
    };
    let url = if location.contains(':') && !location.starts_with('/') && !location.starts_with('.')
    {
        location.to_string()
    } else {
        let path = folder.join(location);
        let path = std::path::absolute(&path).unwrap_or(path);
        match url::Url::from_file_path(&path) {
            Ok(url) => url.to_string(),
            Err(()) => return Some(Err(format!("`{location}` is not a usable path"))),
        }
    };
    let egg = url.split_once('#').and_then(|(_, fragment)| {
        fragment
            .split('&')
            .find_map(|pair| pair.strip_prefix("egg="))
            // `egg=name`, `egg=name[extra]`, `egg=name==1.0+git` (Zulip's):
            // the name is what PEP 508 allows in one.
            .map(|egg| {
                egg.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect::<String>()
            })
            .filter(|name| !name.is_empty())
    });
    let name = egg.or_else(|| name_from_location(&url));
    Some(match name {
        Some(name) => Ok(format!("{name} @ {url}{marker}")),
        None => Err(format!("cannot tell which package `{location}` is")),
    })
}

/// The package a local folder or an archive URL holds, when it says.
fn name_from_location(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.scheme() == "file" {
        let path = parsed.to_file_path().ok()?;
        if path.is_dir() {
            return crate::direct::pack::static_name(&path).map(|name| name.to_string());
        }
    }
    let last = crate::filename::url_file_name(&parsed)?;
    crate::filename::DistFilename::from_str(&last)
        .ok()
        .map(|filename| filename.name().to_string())
}

/// Constraints pin versions only (as in pip): no extras, no URLs.
fn check_constraint(
    requirement: &Requirement,
    origin: &Origin,
    line: &str,
) -> Result<(), RequirementsError> {
    let (message, hint) = if !requirement.extras.is_empty() {
        (
            "a constraint cannot have extras",
            format!(
                "constrain `{}` without `[…]`; request extras in a requirements file",
                requirement.name
            ),
        )
    } else if matches!(requirement.version_or_url, Some(VersionOrUrl::Url(_))) {
        (
            "a constraint cannot be a URL",
            format!("put `{} @ …` in a requirements file", requirement.name),
        )
    } else {
        return Ok(());
    };
    Err(unsupported_with_hint(origin, line, message, Some(&hint)))
}

/// A hint for requirements pip users commonly write but PEP 508 forbids.
fn requirement_hint(text: &str) -> Option<String> {
    let looks_like_location = text.starts_with('.')
        || text.starts_with('/')
        || text.starts_with('~')
        || (text.contains("://") && !text.contains('@'))
        || [".whl", ".tar.gz", ".zip"]
            .iter()
            .any(|suffix| text.ends_with(suffix));
    if looks_like_location {
        return Some(
            "name the package: `name @ https://…` or `name @ file:///absolute/path`".to_string(),
        );
    }
    None
}

/// Message and hint for an option vendor does not support.
fn unknown_option(name: &str) -> (String, String) {
    let hint = match name {
        "--pre" => "name the pre-release in the requirement itself (`name>=2.0rc1`)",
        "--trusted-host" | "--cert" | "--client-cert" => {
            "vendor checks TLS against the system's certificate store; add the index's CA there"
        }
        _ => "vendor understands `-r`, `-c`, `-i`/`--index-url`, `--extra-index-url`, `-f`/`--find-links`, `--no-index`, `--no-binary`, `--only-binary`, `--prefer-binary` and `--require-hashes` on a line of their own",
    };
    (format!("`{name}` is not supported"), hint.to_string())
}

#[cfg(test)]
mod tests;
