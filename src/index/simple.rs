//! Simple-repository pages → [`IndexFile`]s: PEP 691 JSON and PEP 503 HTML.
//!
//! Input: a page body, its `Content-Type` and the URL it was served from
//! (relative links resolve against it, or against `<base href>`). Output:
//! the distribution files the page links to, without [`IndexFile::index`]
//! (the page's reader knows which index it is).
//!
//! Invariants: returned URLs are absolute, without credentials or fragment;
//! links that are not wheels or sdists (`.exe`, `.egg`, …) are skipped;
//! unparsable `requires-python` / `upload-time` values become `None` rather
//! than errors, since one odd file must not hide a whole project.

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;

use pep440_rs::VersionSpecifiers;
use serde::Deserialize;
use url::Url;

use super::credentials::remove_credentials;
use super::IndexFile;
use crate::filename::{url_file_name, DistFilename};
use crate::hash::Sha256;

/// The `Accept` header for simple-API pages: JSON preferred, HTML accepted.
pub(crate) const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

/// Whether a `Content-Type` announces the PEP 691 JSON form.
pub(crate) fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().ends_with("json"))
}

// The page's strings are borrowed from the body where they have no
// escapes: a project page lists every file of every release (botocore's
// holds thousands), and owned copies of them all were most of a warm
// lock's allocations.
#[derive(Deserialize)]
struct JsonPage<'a> {
    #[serde(default, borrow)]
    files: Vec<JsonFile<'a>>,
}

#[derive(Deserialize)]
struct JsonFile<'a> {
    #[serde(borrow)]
    filename: Cow<'a, str>,
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(default, borrow)]
    hashes: JsonHashes<'a>,
    #[serde(default, borrow, rename = "requires-python")]
    requires_python: Option<Cow<'a, str>>,
    #[serde(default, rename = "core-metadata")]
    core_metadata: Option<Flag>,
    #[serde(default, rename = "dist-info-metadata")]
    dist_info_metadata: Option<Flag>,
    #[serde(default)]
    yanked: Option<Flag>,
    #[serde(default, borrow, rename = "upload-time")]
    upload_time: Option<Cow<'a, str>>,
    size: Option<u64>,
}

/// Only the digest vendor checks; other algorithms are skipped unread.
#[derive(Default, Deserialize)]
struct JsonHashes<'a> {
    #[serde(default, borrow)]
    sha256: Option<Cow<'a, str>>,
}

/// A PEP 691 value that is `false`, `true`, a reason string (`yanked`) or
/// a table of hashes (`core-metadata`), read without building a JSON value.
enum Flag {
    False,
    True,
    Text(String),
    /// A number, list or table: what it means depends on the key.
    Other,
}

impl Flag {
    /// `yanked`: `true` or a reason; anything else is not a yank.
    fn yank_reason(&self) -> Option<String> {
        match self {
            Flag::True => Some(String::new()),
            Flag::Text(reason) => Some(reason.clone()),
            Flag::False | Flag::Other => None,
        }
    }

    /// `core-metadata`: served unless stated `false`.
    fn is_set(&self) -> bool {
        !matches!(self, Flag::False)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl<'de> serde::de::Visitor<'de> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a boolean, a string or a table")
            }
            fn visit_bool<E>(self, value: bool) -> Result<Flag, E> {
                Ok(if value { Flag::True } else { Flag::False })
            }
            fn visit_str<E>(self, value: &str) -> Result<Flag, E> {
                Ok(Flag::Text(value.to_string()))
            }
            // Values PEP 691 does not define are read, not refused: one odd
            // file must not hide the page.
            fn visit_u64<E>(self, _: u64) -> Result<Flag, E> {
                Ok(Flag::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Flag, E> {
                Ok(Flag::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Flag, E> {
                Ok(Flag::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Flag, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Flag::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Flag, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Flag::Other)
            }
        }
        deserializer.deserialize_any(FlagVisitor)
    }
}

/// Parse a page served as `content_type`: PEP 691 JSON or PEP 503 HTML.
pub(crate) fn parse_page(
    body: &str,
    page_url: &Url,
    content_type: &str,
) -> Result<Vec<IndexFile>, String> {
    if is_json(content_type) {
        parse_json(body.as_bytes(), page_url)
    } else {
        parse_html(body, page_url)
    }
}

/// Parse a PEP 691 JSON page.
fn parse_json(body: &[u8], page_url: &Url) -> Result<Vec<IndexFile>, String> {
    let page: JsonPage = serde_json::from_slice(body).map_err(|error| error.to_string())?;
    // Most files of a release share one `requires-python`: parsed once each.
    let mut specifiers: HashMap<&str, Option<VersionSpecifiers>> = HashMap::new();
    let files = page
        .files
        .iter()
        .filter_map(|file| {
            let url = page_url.join(&file.url).ok()?;
            let mut index_file = new_index_file(&file.filename, url)?;
            index_file.sha256 = file
                .hashes
                .sha256
                .as_deref()
                .and_then(|digest| Sha256::from_str(digest).ok());
            index_file.size = file.size;
            index_file.upload_time = file
                .upload_time
                .as_deref()
                .and_then(|time| jiff::Timestamp::from_str(time).ok());
            index_file.requires_python = file.requires_python.as_deref().and_then(|raw| {
                specifiers
                    .entry(raw)
                    .or_insert_with(|| parse_specifiers(raw))
                    .clone()
            });
            index_file.yanked = file.yanked.as_ref().and_then(Flag::yank_reason);
            index_file.has_core_metadata = [&file.core_metadata, &file.dist_info_metadata]
                .into_iter()
                .flatten()
                .any(Flag::is_set);
            Some(index_file)
        })
        .collect();
    Ok(files)
}

/// Parse a PEP 503 HTML page (an index page or a find-links page).
fn parse_html(body: &str, page_url: &Url) -> Result<Vec<IndexFile>, String> {
    let dom = tl::parse(body, tl::ParserOptions::default()).map_err(|error| error.to_string())?;
    let parser = dom.parser();
    let attribute = |tag: &tl::HTMLTag, name: &str| -> Option<String> {
        let value = tag.attributes().get(name)?;
        let raw = value.map(|bytes| bytes.as_utf8_str()).unwrap_or_default();
        Some(html_escape::decode_html_entities(&raw).into_owned())
    };
    let base = dom
        .query_selector("base")
        .and_then(|mut bases| bases.next())
        .and_then(|handle| handle.get(parser)?.as_tag().cloned())
        .and_then(|tag| attribute(&tag, "href"))
        .and_then(|href| page_url.join(&href).ok())
        .unwrap_or_else(|| page_url.clone());
    let Some(anchors) = dom.query_selector("a") else {
        return Ok(Vec::new());
    };
    let files = anchors
        .filter_map(|handle| handle.get(parser)?.as_tag().cloned())
        .filter_map(|tag| {
            let href = attribute(&tag, "href")?;
            let url = base.join(href.trim()).ok()?;
            let filename = url_file_name(&url)?;
            let sha256 = url
                .fragment()
                .and_then(|fragment| fragment.strip_prefix("sha256="))
                .and_then(|digest| Sha256::from_str(digest).ok());
            let mut index_file = new_index_file(&filename, url)?;
            index_file.sha256 = sha256;
            index_file.requires_python = attribute(&tag, "data-requires-python")
                .as_deref()
                .and_then(parse_specifiers);
            index_file.yanked = attribute(&tag, "data-yanked");
            index_file.has_core_metadata = ["data-core-metadata", "data-dist-info-metadata"]
                .iter()
                .filter_map(|name| attribute(&tag, name))
                .any(|value| value != "false");
            Some(index_file)
        })
        .collect();
    Ok(files)
}

/// An [`IndexFile`] with only name and location known; `None` when
/// `filename` is not a wheel or sdist.
pub(crate) fn new_index_file(filename: &str, mut url: Url) -> Option<IndexFile> {
    let filename = DistFilename::from_str(filename).ok()?;
    remove_credentials(&mut url);
    url.set_fragment(None);
    Some(IndexFile {
        filename,
        url,
        index: None,
        sha256: None,
        size: None,
        upload_time: None,
        requires_python: None,
        yanked: None,
        has_core_metadata: false,
    })
}

/// `requires-python` as specifiers; `None` for values that do not parse.
pub(crate) fn parse_specifiers(raw: &str) -> Option<VersionSpecifiers> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    VersionSpecifiers::from_str(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_pep691_json() {
        let body = format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "six", "files": [
              {{"filename": "six-1.16.0-py2.py3-none-any.whl",
                "url": "https://files.example.com/six-1.16.0-py2.py3-none-any.whl",
                "hashes": {{"sha256": "{DIGEST}"}}, "requires-python": ">=2.7, !=3.0.*",
                "core-metadata": {{"sha256": "{DIGEST}"}}, "yanked": false,
                "upload-time": "2021-05-05T14:18:10.123456Z", "size": 11053}},
              {{"filename": "six-1.0.tar.gz", "url": "../../files/six-1.0.tar.gz",
                "hashes": {{}}, "requires-python": "not a specifier",
                "dist-info-metadata": false, "yanked": "broken build"}},
              {{"filename": "six-1.0.win32.exe", "url": "six-1.0.win32.exe", "hashes": {{}}}}
            ]}}"#
        );
        let page = Url::parse("https://user:pw@example.com/simple/six/").unwrap();
        let files = parse_json(body.as_bytes(), &page).unwrap();
        assert_eq!(files.len(), 2);
        let wheel = &files[0];
        assert_eq!(wheel.sha256.as_ref().unwrap().as_str(), DIGEST);
        assert_eq!(wheel.size, Some(11053));
        assert!(wheel.has_core_metadata);
        assert!(wheel.yanked.is_none());
        assert_eq!(
            wheel.requires_python.as_ref().unwrap().to_string(),
            ">=2.7, !=3.0.*"
        );
        assert_eq!(
            wheel.upload_time.unwrap().to_string(),
            "2021-05-05T14:18:10.123456Z"
        );
        let sdist = &files[1];
        // Relative URLs resolve against the page, and lose its credentials.
        assert_eq!(
            sdist.url.as_str(),
            "https://example.com/files/six-1.0.tar.gz"
        );
        assert!(sdist.requires_python.is_none());
        assert_eq!(sdist.yanked.as_deref(), Some("broken build"));
        assert!(!sdist.has_core_metadata);
        assert!(parse_json(b"<html>", &page).is_err());
    }

    #[test]
    fn json_values_outside_pep691_do_not_hide_the_page() {
        // Escaped strings cannot be borrowed from the body; a `yanked` of
        // `true`, metadata stated as `true`, a number, a list or a string, a
        // numeric `yanked`, and nulls.
        let body = r#"{"files": [
            {"filename": "six-1.0-py3-none-any.whl", "url": "six-1.0-py3-none-any.whl\u0020",
             "hashes": {"md5": "x", "sha256": null}, "requires-python": ">=3.8\t",
             "core-metadata": true, "dist-info-metadata": 1, "yanked": true,
             "upload-time": null, "size": null},
            {"filename": "six-2.0.tar.gz", "url": "six-2.0.tar.gz", "core-metadata": [1],
             "yanked": "\"quoted\" reason", "extra-key": {"nested": [1, 2]}},
            {"filename": "six-3.0.tar.gz", "url": "six-3.0.tar.gz", "yanked": null,
             "core-metadata": null},
            {"filename": "six-4.0.tar.gz", "url": "six-4.0.tar.gz", "yanked": 1,
             "core-metadata": "yes"}
        ]}"#;
        let page = Url::parse("https://example.com/simple/six/").unwrap();
        let files = parse_json(body.as_bytes(), &page).unwrap();
        assert_eq!(files.len(), 4);
        assert_eq!(files[0].yanked.as_deref(), Some(""));
        assert!(files[0].has_core_metadata);
        assert!(files[0].sha256.is_none());
        assert_eq!(
            files[0].requires_python.as_ref().unwrap().to_string(),
            ">=3.8"
        );
        assert_eq!(files[1].yanked.as_deref(), Some("\"quoted\" reason"));
        assert!(files[1].has_core_metadata);
        assert!(files[2].yanked.is_none());
        assert!(!files[2].has_core_metadata);
        // Only `true` or a reason yanks a file; any stated metadata but `false` counts.
        assert!(files[3].yanked.is_none());
        assert!(files[3].has_core_metadata);
    }

    #[test]
    fn parses_pep503_html() {
        let body = format!(
            r#"<!DOCTYPE html><html><body>
            <a href="https://files.example.com/p/Foo_Bar-1.0-py3-none-any.whl#sha256={DIGEST}"
               data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256={DIGEST}">Foo_Bar-1.0-py3-none-any.whl</a><br/>
            <a href="../../p/foo-bar-0.9.tar.gz#md5=abc" data-yanked="">foo-bar-0.9.tar.gz</a>
            <a href="foo_bar-0.8%2Blocal.tar.gz" data-yanked="bad &amp; broken" data-core-metadata="false">x</a>
            <a href="foo-bar-0.7.exe">installer</a>
            </body></html>"#
        );
        let page = Url::parse("https://example.com/simple/foo-bar/").unwrap();
        let files = parse_html(&body, &page).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].filename.name().as_ref(), "foo-bar");
        assert_eq!(files[0].sha256.as_ref().unwrap().as_str(), DIGEST);
        assert_eq!(
            files[0].requires_python.as_ref().unwrap().to_string(),
            ">=3.8"
        );
        assert!(files[0].has_core_metadata);
        assert!(files[0].url.fragment().is_none());
        assert_eq!(
            files[1].url.as_str(),
            "https://example.com/p/foo-bar-0.9.tar.gz"
        );
        assert!(files[1].sha256.is_none());
        assert_eq!(files[1].yanked.as_deref(), Some(""));
        assert_eq!(files[2].filename.version().to_string(), "0.8+local");
        assert_eq!(files[2].yanked.as_deref(), Some("bad & broken"));
        assert!(!files[2].has_core_metadata);
    }

    #[test]
    fn html_base_href_moves_relative_links() {
        let body = r#"<html><head><base href="https://mirror.example.com/files/"></head>
            <body><a href="a-1.0.tar.gz">a</a></body></html>"#;
        let page = Url::parse("https://example.com/simple/a/").unwrap();
        let files = parse_html(body, &page).unwrap();
        assert_eq!(
            files[0].url.as_str(),
            "https://mirror.example.com/files/a-1.0.tar.gz"
        );
    }

    #[test]
    fn detects_json_content_type() {
        assert!(is_json("application/vnd.pypi.simple.v1+json"));
        assert!(is_json(
            "application/vnd.pypi.simple.v1+json; charset=utf-8"
        ));
        assert!(!is_json("text/html; charset=utf-8"));
    }
}
