//! Core metadata (`METADATA`, `PKG-INFO`): RFC 822-style headers → [`CoreMetadata`].
//!
//! Input: the text of a metadata file (any Metadata-Version). Output: the
//! fields the resolver and the lock need, plus [`Headers`] for deciding
//! whether an sdist's `PKG-INFO` is static.
//!
//! Invariants: header names compare case-insensitively; continuation lines
//! (starting with a space or tab) belong to the previous header; parsing
//! stops at the first blank line (the description body); `Requires-Dist`
//! entries that do not parse are an error naming the entry, since silently
//! dropping a dependency would produce a broken lock.

use std::fmt::Write as _;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::Requirement;

use crate::excerpt::excerpt;
use crate::name::{ExtraName, PackageName};
use crate::requirement_text::parse_requirement;

/// The parts of a distribution's core metadata vendor uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreMetadata {
    pub name: PackageName,
    pub version: Version,
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<VersionSpecifiers>,
    pub provides_extras: Vec<ExtraName>,
    pub summary: Option<String>,
    pub license: Option<String>,
    pub home_page: Option<String>,
}

/// The fields [`CoreMetadata::from_headers`] reads.
const USED_FIELDS: [&str; 8] = [
    "name",
    "version",
    "requires-dist",
    "requires-python",
    "provides-extra",
    "summary",
    "license",
    "home-page",
];

/// The header block of a metadata file, in order, names lowercased.
#[derive(Clone, Debug, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn parse(text: &str) -> Self {
        Self::parse_where(text, |_| true)
    }

    /// The headers whose names `keep` accepts (given as written): the
    /// others, often a long `Description` continued over hundreds of lines
    /// in old metadata, are skipped without being copied.
    pub fn parse_where(text: &str, keep: impl Fn(&str) -> bool) -> Self {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut continues_kept = false;
        for line in text.lines() {
            // Only a truly empty line ends the headers: a line of blanks is a
            // continuation (MarkupSafe's multi-line `License` has them).
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut().filter(|_| continues_kept) {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                continue;
            }
            // A line without `:` outside a continuation is not a header:
            // some old PKG-INFO files have stray lines; skip them.
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim();
                continues_kept = keep(name);
                if continues_kept {
                    headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
                }
            }
        }
        Self(headers)
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }

    /// Every value of `name` (case-insensitive), in order.
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .filter(move |(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A copy without the headers called `name`.
    pub fn without(&self, name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        Self(
            self.0
                .iter()
                .filter(|(key, _)| *key != name)
                .cloned()
                .collect(),
        )
    }

    /// `(major, minor)` of `Metadata-Version`, when present and numeric.
    pub fn metadata_version(&self) -> Option<(u64, u64)> {
        let raw = self.get("metadata-version")?;
        let (major, minor) = raw.split_once('.').unwrap_or((raw, "0"));
        Some((major.trim().parse().ok()?, minor.trim().parse().ok()?))
    }

    /// PKG-INFO is authoritative when it is Metadata-Version 2.2+ and does not
    /// declare the fields the resolver needs as `Dynamic`.
    pub fn has_static_dependencies(&self) -> bool {
        self.metadata_version()
            .is_some_and(|version| version >= (2, 2))
            && !self.all("dynamic").any(|field| {
                let field = field.trim().to_ascii_lowercase();
                field == "requires-dist" || field == "requires-python"
            })
    }
}

impl CoreMetadata {
    /// Parse a `METADATA` / `PKG-INFO` text.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::from_headers(&Headers::parse_where(text, |name| {
            USED_FIELDS
                .iter()
                .any(|field| field.eq_ignore_ascii_case(name))
        }))
    }

    /// Parse a metadata file's bytes, decoding only its headers (bytes
    /// that are not UTF-8 replaced): the description after them is often
    /// most of the file, and a lock reads hundreds of these.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, String> {
        let end = bytes
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .or_else(|| bytes.windows(3).position(|triple| triple == b"\n\r\n"))
            .map_or(bytes.len(), |newline| newline + 1);
        Self::parse(&String::from_utf8_lossy(&bytes[..end]))
    }

    pub fn from_headers(headers: &Headers) -> Result<Self, String> {
        let name = headers.get("name").ok_or("no `Name` field")?;
        let name = PackageName::from_str(name)
            .map_err(|_| format!("invalid `Name`: {}", crate::name::not_a_name(name)))?;
        let version = headers.get("version").ok_or("no `Version` field")?;
        let version = Version::from_str(version).map_err(|error| {
            format!(
                "invalid `Version` `{}`: {}",
                excerpt(version),
                excerpt(&error.to_string())
            )
        })?;
        let requires_dist = headers
            .all("requires-dist")
            .map(|raw| {
                parse_requirement(raw, None).map_err(|error| {
                    let (raw, error) = (excerpt(raw), excerpt(&error.to_string()));
                    format!("invalid `Requires-Dist` `{raw}`: {error}")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut provides_extras: Vec<ExtraName> = headers
            .all("provides-extra")
            .filter_map(|raw| ExtraName::from_str(raw.trim()).ok())
            .collect();
        provides_extras.dedup();
        let single_line = |name: &str| {
            headers
                .get(name)
                .map(|value| value.lines().next().unwrap_or_default().trim().to_string())
                .filter(|value| !value.is_empty() && value != "UNKNOWN")
        };
        Ok(Self {
            name,
            version,
            requires_dist,
            requires_python: headers
                .get("requires-python")
                .and_then(super::simple::parse_specifiers),
            provides_extras,
            summary: single_line("summary"),
            license: single_line("license"),
            home_page: single_line("home-page"),
        })
    }

    /// Render as a Metadata-Version 2.1 file that [`Self::parse`] reads back;
    /// used to cache metadata vendor assembled itself (egg-info).
    pub fn to_metadata_text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "Metadata-Version: 2.1");
        let _ = writeln!(text, "Name: {}", self.name);
        let _ = writeln!(text, "Version: {}", self.version);
        for (field, value) in [
            ("Summary", &self.summary),
            ("Home-page", &self.home_page),
            ("License", &self.license),
        ] {
            if let Some(value) = value {
                let _ = writeln!(text, "{field}: {value}");
            }
        }
        if let Some(requires_python) = &self.requires_python {
            let _ = writeln!(text, "Requires-Python: {requires_python}");
        }
        for extra in &self.provides_extras {
            let _ = writeln!(text, "Provides-Extra: {extra}");
        }
        for requirement in &self.requires_dist {
            let _ = writeln!(text, "Requires-Dist: {requirement}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = "Metadata-Version: 2.1
Name: Django
Version: 4.2.1
Summary: A high-level Python web framework
Home-page: https://www.djangoproject.com/
License: BSD-3-Clause
  with a continuation line
Requires-Python: >=3.8
requires-dist: asgiref (<4,>=3.6.0)
Requires-Dist: sqlparse >=0.3.1
Requires-Dist: tzdata ; sys_platform == \"win32\"
Requires-Dist: argon2-cffi >=19.1.0 ; extra == 'argon2'
Provides-Extra: argon2
Provides-Extra: bcrypt
Description-Content-Type: text/x-rst

Requires-Dist: not-a-header (this is the description body)
";

    #[test]
    fn parses_headers_with_continuations() {
        let metadata = CoreMetadata::parse(METADATA).unwrap();
        assert_eq!(metadata.name.as_ref(), "django");
        assert_eq!(metadata.version.to_string(), "4.2.1");
        assert_eq!(metadata.requires_dist.len(), 4);
        assert_eq!(metadata.requires_dist[0].name.as_ref(), "asgiref");
        assert_eq!(
            metadata.requires_dist[3].to_string(),
            "argon2-cffi>=19.1.0 ; extra == 'argon2'"
        );
        assert_eq!(metadata.provides_extras.len(), 2);
        assert_eq!(metadata.requires_python.unwrap().to_string(), ">=3.8");
        assert_eq!(metadata.license.as_deref(), Some("BSD-3-Clause"));
        let headers = Headers::parse(METADATA);
        assert_eq!(
            headers.get("LICENSE"),
            Some("BSD-3-Clause\nwith a continuation line")
        );
        assert!(!headers.has_static_dependencies());
    }

    #[test]
    fn skips_the_headers_it_is_not_asked_for_with_their_continuations() {
        let old_style = "Name: a\nVersion: 1\nDescription: Long\n        Requires-Dist: b\n        |\nRequires-Dist: c\n  ; extra == 'x'\n";
        let headers = Headers::parse_where(old_style, |name| name != "Description");
        assert_eq!(headers.get("description"), None);
        assert_eq!(
            headers.all("requires-dist").collect::<Vec<_>>(),
            ["c\n; extra == 'x'"]
        );
        let metadata = CoreMetadata::parse(old_style).unwrap();
        assert_eq!(metadata.requires_dist.len(), 1);
        assert_eq!(metadata.requires_dist[0].name.as_ref(), "c");
        // `USED_FIELDS` names every field `from_headers` reads: parsing only
        // those gives what parsing every header gives.
        assert_eq!(
            CoreMetadata::parse(METADATA).unwrap(),
            CoreMetadata::from_headers(&Headers::parse(METADATA)).unwrap()
        );
    }

    #[test]
    fn round_trips_through_text() {
        let metadata = CoreMetadata::parse(METADATA).unwrap();
        let again = CoreMetadata::parse(&metadata.to_metadata_text()).unwrap();
        assert_eq!(
            CoreMetadata::parse_bytes(METADATA.as_bytes()).unwrap(),
            metadata
        );
        let crlf = METADATA.replace('\n', "\r\n");
        assert_eq!(
            CoreMetadata::parse_bytes(crlf.as_bytes()).unwrap(),
            metadata
        );
        assert_eq!(again, metadata);
    }

    #[test]
    fn decides_static_pkg_info() {
        let modern =
            Headers::parse("Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Classifier\n");
        assert!(modern.has_static_dependencies());
        let dynamic =
            Headers::parse("Metadata-Version: 2.4\nName: a\nVersion: 1\nDynamic: Requires-Dist\n");
        assert!(!dynamic.has_static_dependencies());
        let old = Headers::parse("Metadata-Version: 1.2\nName: a\nVersion: 1\n");
        assert!(!old.has_static_dependencies());
    }

    #[test]
    fn reports_bad_fields() {
        assert!(CoreMetadata::parse("Version: 1.0\n")
            .unwrap_err()
            .contains("Name"));
        let error =
            CoreMetadata::parse("Name: a\nVersion: 1.0\nRequires-Dist: b (((\n").unwrap_err();
        assert!(error.contains("Requires-Dist"), "{error}");
        // Unparsable requires-python is ignored, not fatal.
        let metadata =
            CoreMetadata::parse("Name: a\nVersion: 1.0\nRequires-Python: >=3.6.*\n").unwrap();
        assert!(metadata.requires_python.is_none());
    }
}
