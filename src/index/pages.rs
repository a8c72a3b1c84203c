//! Index and find-links pages, cached with their HTTP validators.
//!
//! Input: a page URL (`http(s)` or `file`) and an `Accept` header. Output:
//! [`Page::Found`] with the files the page lists ([`PageFiles`]), or
//! [`Page::NotFound`] for 404/410.
//!
//! Invariants:
//! - a page is stored in [`Bucket::Index`] with its `ETag`, `Last-Modified`
//!   and `Cache-Control: max-age`, the compact form of its files and its
//!   body; within max-age it is served without a request, after it is
//!   revalidated (`If-None-Match` / `If-Modified-Since`, and a 304 reuses
//!   what is stored);
//! - a page is parsed once, when it is fetched (or when an entry of an older
//!   vendor is first read, which then gains its compact form): later runs
//!   read the compact form, checked by crc32s (see [`page_files`]); a large
//!   one only up to its header, its releases when they are decoded;
//! - 404s are stored too, so an offline run knows a project is absent from
//!   an index rather than missing from the cache;
//! - offline, only stored pages are served; anything else is
//!   [`IndexError::Offline`] and no request is made.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use url::Url;

use super::credentials::strip_credentials;
use super::error::IndexError;
use super::http::{status_error, Http};
use super::page_files::{self, PageFiles, ReleaseBytes};
use super::simple;
use crate::cache::{sharded_key, Bucket, Cache};
use crate::hash::Sha256;

/// A fetched page.
pub(crate) enum Page {
    /// The files the page lists.
    Found(PageFiles),
    NotFound,
}

/// What is stored per page URL, as one line of JSON; the compact form of
/// the page's files and then the body as served follow it (see
/// [`encode_entry`]).
#[derive(Serialize, Deserialize)]
struct Envelope {
    url: String,
    status: u16,
    content_type: String,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Seconds since the Unix epoch when the body was last confirmed.
    checked_at: i64,
    max_age: Option<u64>,
    /// The compact form stored after the envelope; absent in older entries.
    #[serde(default)]
    files: Option<CompactForm>,
    /// Entries of the oldest form kept the body inside the envelope.
    #[serde(default, skip_serializing)]
    body: Option<String>,
}

/// How the compact form of the page's files was written.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct CompactForm {
    format: u32,
    length: usize,
    /// Of its length and header ([`page_files::header_crc32`]).
    crc32: u32,
}

/// Bytes of a compact form above which it is read up to its header, its
/// releases from the file when decoded: grpcio's form is 2 MB, and a lock
/// decodes a few of its releases.
const READ_WHOLE_UP_TO: usize = 128 * 1024;

/// A compact form, as read.
enum Compact {
    Whole(Vec<u8>),
    /// Read up to its header; its releases stay in the entry's file.
    Header(PageFiles),
}

/// A stored page: its envelope, the compact form of its files if it has a
/// usable one, and its body if it was read.
struct StoredPage {
    envelope: Envelope,
    compact: Option<Compact>,
    /// `None` when only the compact form was wanted; such a page is never
    /// stored again (it would lose its body).
    body: Option<String>,
}

/// An entry is the envelope as one line of JSON, then the compact form of
/// the files, then the body as served. A warm lock reads the compact form
/// only; the body is kept so that a newer format can be built from it
/// without the network.
fn encode_entry(page: &StoredPage, body: &str) -> Result<Vec<u8>, serde_json::Error> {
    let mut envelope = serde_json::to_vec(&page.envelope)?;
    envelope.push(b'\n');
    // A form read up to its header has no body with it, so it is never
    // written again; were it, the empty form fails its check on reading
    // and is rebuilt from the body.
    let compact = match &page.compact {
        Some(Compact::Whole(bytes)) => bytes.as_slice(),
        _ => &[],
    };
    let mut bytes = Vec::with_capacity(envelope.len() + compact.len() + body.len());
    bytes.extend_from_slice(&envelope);
    bytes.extend_from_slice(compact);
    bytes.extend_from_slice(body.as_bytes());
    Ok(bytes)
}

/// The inverse of [`encode_entry`], and the older forms (the body after
/// the envelope without a compact form, or inside it); `None` for an entry
/// that is none of these (it is fetched again). The body is read when
/// `with_body` is set or when the compact form is not usable: one of
/// another format, or whose checksum fails, is left out so that it is
/// rebuilt from the body. Without the body, a form longer than
/// `read_whole_up_to` is read up to its header.
fn read_entry(file: File, with_body: bool, read_whole_up_to: usize) -> Option<StoredPage> {
    let mut reader = BufReader::with_capacity(64 * 1024, &file);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).ok()?;
    if line.pop_if(|last| *last == b'\n').is_none() {
        let mut envelope: Envelope = serde_json::from_slice(&line).ok()?;
        let body = envelope.body.take().unwrap_or_default();
        return Some(StoredPage {
            envelope,
            compact: None,
            body: Some(body),
        });
    }
    let mut envelope: Envelope = serde_json::from_slice(&line).ok()?;
    let form_start = line.len() as u64 + 1;
    if let Some(form) = envelope.files.filter(|form| {
        !with_body && form.format == page_files::FORMAT && form.length > read_whole_up_to
    }) {
        let header = read_form_header(&mut reader, form);
        if let Some((header, file)) = header.zip(file.try_clone().ok()) {
            let release_bytes = ReleaseBytes::File {
                file,
                offset: form_start + header.len() as u64,
            };
            if let Ok(files) = PageFiles::decode_header(header, release_bytes, form.length) {
                return Some(StoredPage {
                    envelope,
                    compact: Some(Compact::Header(files)),
                    body: None,
                });
            }
        }
        // Read whole, the body too: the form is rebuilt from it.
        reader.seek(SeekFrom::Start(form_start)).ok()?;
    }
    let mut compact = Vec::new();
    if let Some(form) = envelope.files {
        // Room for all of it up front (grown step by step, the reads were a
        // quarter of an offline lock); a bogus length fails below, as the
        // reserved memory is only touched by what is really read.
        compact.try_reserve_exact(form.length).ok()?;
        (&mut reader)
            .take(form.length as u64)
            .read_to_end(&mut compact)
            .ok()?;
        if compact.len() != form.length {
            return None;
        }
    }
    let usable = envelope.files.is_some_and(|form| {
        form.format == page_files::FORMAT && Some(form.crc32) == page_files::header_crc32(&compact)
    });
    if !usable {
        envelope.files = None;
    }
    let body = match with_body || !usable {
        true => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).ok()?;
            Some(
                String::from_utf8(body)
                    .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
            )
        }
        false => None,
    };
    Some(StoredPage {
        envelope,
        compact: usable.then_some(Compact::Whole(compact)),
        body,
    })
}

/// The length and header of the compact form `form` at the reader's
/// position, when they pass their checksum.
fn read_form_header(reader: &mut impl Read, form: CompactForm) -> Option<Vec<u8>> {
    let mut start = [0; page_files::LENGTH_BYTES];
    reader.read_exact(&mut start).ok()?;
    let header_end = page_files::header_end(start);
    if header_end > form.length {
        return None;
    }
    let mut header = start.to_vec();
    header.resize(header_end, 0);
    reader
        .read_exact(&mut header[page_files::LENGTH_BYTES..])
        .ok()?;
    (crc32fast::hash(&header) == form.crc32).then_some(header)
}

/// The stored page at `key`, if there is a readable one.
fn read_stored(cache: &Cache, key: &str, with_body: bool) -> Option<StoredPage> {
    let file = File::open(cache.entry_path(Bucket::Index, key)).ok()?;
    read_entry(file, with_body, READ_WHOLE_UP_TO)
}

impl StoredPage {
    fn is_fresh(&self) -> bool {
        let age = jiff::Timestamp::now().as_second() - self.envelope.checked_at;
        self.envelope
            .max_age
            .is_some_and(|max_age| age >= 0 && (age as u64) < max_age)
    }

    fn is_found(&self) -> bool {
        self.envelope.status == StatusCode::OK.as_u16()
    }

    /// Make sure a found page has a compact form of its files, parsing the
    /// body for it; `true` when it had to be built.
    fn complete(&mut self) -> Result<bool, IndexError> {
        if !self.is_found() || self.compact.is_some() {
            return Ok(false);
        }
        let url = self.url()?;
        let body = self.body.as_deref().unwrap_or_default();
        let files =
            simple::parse_page(body, &url, &self.envelope.content_type).map_err(|reason| {
                IndexError::InvalidPage {
                    url: self.envelope.url.clone(),
                    reason,
                }
            })?;
        let compact = page_files::encode(&files);
        self.envelope.files = Some(CompactForm {
            format: page_files::FORMAT,
            length: compact.len(),
            crc32: page_files::header_crc32(&compact).unwrap_or_default(),
        });
        self.compact = Some(Compact::Whole(compact));
        Ok(true)
    }

    fn url(&self) -> Result<Url, IndexError> {
        Url::parse(&self.envelope.url).map_err(|error| IndexError::InvalidPage {
            url: self.envelope.url.clone(),
            reason: format!("the cached entry has an invalid URL: {error}"),
        })
    }

    fn into_page(self) -> Result<Page, IndexError> {
        let found = self.is_found();
        let Some(compact) = self.compact.filter(|_| found) else {
            return Ok(Page::NotFound);
        };
        let files = match compact {
            Compact::Header(files) => files,
            Compact::Whole(bytes) => {
                PageFiles::decode(bytes).map_err(|reason| IndexError::InvalidPage {
                    url: self.envelope.url.clone(),
                    reason: format!("the cached entry does not read: {reason}"),
                })?
            }
        };
        Ok(Page::Found(files))
    }
}

/// Fetch `url` (revalidating a stored copy), or serve it from the cache.
pub(crate) async fn fetch_page(
    http: &Http,
    cache: &Cache,
    url: &Url,
    accept: &str,
) -> Result<Page, IndexError> {
    if url.scheme() == "file" {
        return read_local_page(url).await;
    }
    let url = strip_credentials(url);
    let key = entry_key(&url, accept);
    let stored = match read_stored(cache, &key, false) {
        Some(stored) if http.is_offline() || stored.is_fresh() => {
            return store_completed(cache, &key, stored);
        }
        None if http.is_offline() => {
            return Err(IndexError::Offline {
                url: url.to_string(),
            })
        }
        // A 304 stores the page again, body and all.
        Some(stored) if stored.body.is_none() => read_stored(cache, &key, true),
        other => other,
    };

    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, header(accept));
    if let Some(stored) = &stored {
        if let Some(etag) = &stored.envelope.etag {
            headers.insert(IF_NONE_MATCH, header(etag));
        }
        if let Some(last_modified) = &stored.envelope.last_modified {
            headers.insert(IF_MODIFIED_SINCE, header(last_modified));
        }
    }
    let fetched = http.get(&url, headers).await?;
    let now = jiff::Timestamp::now().as_second();
    let max_age = max_age(&fetched.headers);
    let mut new_entry = match (fetched.status, stored) {
        (StatusCode::NOT_MODIFIED, Some(mut stored)) => {
            stored.envelope.checked_at = now;
            stored.envelope.max_age = max_age.or(stored.envelope.max_age);
            stored
        }
        (StatusCode::OK, _) | (StatusCode::NOT_FOUND | StatusCode::GONE, _) => {
            let text = |name| {
                fetched
                    .headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string)
            };
            let found = fetched.status == StatusCode::OK;
            let envelope = Envelope {
                url: fetched.url.to_string(),
                status: if found { 200 } else { 404 },
                content_type: text(CONTENT_TYPE).unwrap_or_default(),
                etag: text(ETAG),
                last_modified: text(LAST_MODIFIED),
                checked_at: now,
                max_age,
                files: None,
                body: None,
            };
            StoredPage {
                envelope,
                compact: None,
                body: Some(if found {
                    String::from_utf8_lossy(&fetched.body).into_owned()
                } else {
                    String::new()
                }),
            }
        }
        (status, _) => return Err(status_error(&url, status, 1)),
    };
    new_entry.complete()?;
    if !no_store(&fetched.headers) {
        write_entry(cache, &key, &new_entry)?;
    }
    new_entry.into_page()
}

/// Serve a stored page, storing it again when its compact form had to be
/// built (an entry of an older vendor), so that it is built once. That
/// write only saves later work: a cache that cannot take it (read-only,
/// full) still serves the page.
fn store_completed(cache: &Cache, key: &str, mut stored: StoredPage) -> Result<Page, IndexError> {
    if stored.complete()? {
        let _ = write_entry(cache, key, &stored);
    }
    stored.into_page()
}

fn write_entry(cache: &Cache, key: &str, page: &StoredPage) -> Result<(), IndexError> {
    let Some(body) = &page.body else {
        return Ok(());
    };
    let bytes = encode_entry(page, body).map_err(|error| IndexError::Task(error.to_string()))?;
    cache.write_entry(Bucket::Index, key, &bytes)?;
    Ok(())
}

/// Pages of a `file://` index or find-links page; a folder means its `index.html`.
async fn read_local_page(url: &Url) -> Result<Page, IndexError> {
    let mut path = url.to_file_path().map_err(|()| IndexError::InvalidPage {
        url: url.to_string(),
        reason: "not a local path".into(),
    })?;
    if path.is_dir() {
        path.push("index.html");
    }
    let body = match tokio::fs::read(&path).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Page::NotFound),
        Err(error) => return Err(IndexError::io(path, error)),
    };
    let invalid = |reason| IndexError::InvalidPage {
        url: url.to_string(),
        reason,
    };
    let files = simple::parse_page(&body, url, "text/html").map_err(invalid)?;
    let files = PageFiles::decode(page_files::encode(&files)).map_err(invalid)?;
    Ok(Page::Found(files))
}

/// One entry per (URL, Accept): the same URL may answer JSON or HTML.
fn entry_key(url: &Url, accept: &str) -> String {
    let digest = Sha256::of_bytes(format!("{url}\n{accept}").as_bytes());
    format!("pages/{}.json", sharded_key(&digest))
}

fn header(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cache_control(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|directive| directive.trim().to_ascii_lowercase())
        .collect()
}

/// `max-age` in seconds; `no-cache` means revalidate every time.
fn max_age(headers: &HeaderMap) -> Option<u64> {
    let directives = cache_control(headers);
    if directives.iter().any(|directive| directive == "no-cache") {
        return None;
    }
    directives
        .iter()
        .find_map(|directive| directive.strip_prefix("max-age=")?.trim().parse().ok())
}

fn no_store(headers: &HeaderMap) -> bool {
    cache_control(headers)
        .iter()
        .any(|directive| directive == "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cache_control() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("max-age=600, public"),
        );
        assert_eq!(max_age(&headers), Some(600));
        assert!(!no_store(&headers));
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("no-cache, max-age=5"),
        );
        assert_eq!(max_age(&headers), None);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("No-Store"));
        assert!(no_store(&headers));
    }

    const SIX_PAGE: &str = r#"{"files": [{"filename": "six-1.16.0-py2.py3-none-any.whl",
        "url": "../../six-1.16.0-py2.py3-none-any.whl", "hashes": {},
        "upload-time": "2021-05-05T14:18:10Z"}]}"#;

    fn stored_page(body: &str) -> StoredPage {
        let envelope = Envelope {
            url: "https://pypi.org/simple/six/".into(),
            status: 200,
            content_type: "application/vnd.pypi.simple.v1+json".into(),
            etag: Some("\"abc\"\n".into()),
            last_modified: None,
            checked_at: 1_700_000_000,
            max_age: Some(600),
            files: None,
            body: None,
        };
        StoredPage {
            envelope,
            compact: None,
            body: Some(body.into()),
        }
    }

    /// `bytes` as a cache entry, read as [`read_stored`] does (or with
    /// every form read up to its header when `lazy`).
    fn read(bytes: &[u8], with_body: bool, lazy: bool) -> Option<StoredPage> {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        file.rewind().unwrap();
        let read_whole_up_to = if lazy { 0 } else { READ_WHOLE_UP_TO };
        read_entry(file, with_body, read_whole_up_to)
    }

    fn whole_form(page: &StoredPage) -> Option<&[u8]> {
        match &page.compact {
            Some(Compact::Whole(bytes)) => Some(bytes),
            _ => None,
        }
    }

    fn file_names(page: StoredPage) -> Vec<String> {
        match page.into_page().unwrap() {
            Page::Found(files) => files
                .all_files()
                .iter()
                .map(|file| format!("{} {}", file.filename, file.url))
                .collect(),
            Page::NotFound => panic!("the page is found"),
        }
    }

    #[test]
    fn entries_keep_the_compact_form_then_the_body_raw() {
        let mut page = stored_page(SIX_PAGE);
        assert!(page.complete().unwrap(), "a page without one gains it");
        assert!(!page.complete().unwrap(), "built once");
        let bytes = encode_entry(&page, SIX_PAGE).unwrap();
        assert!(bytes.ends_with(SIX_PAGE.as_bytes()));
        let without_body = read(&bytes, false, false).unwrap();
        assert!(
            without_body.body.is_none(),
            "a usable compact form is enough"
        );
        assert_eq!(whole_form(&without_body), whole_form(&page));
        let decoded = read(&bytes, true, true).unwrap();
        assert_eq!(
            whole_form(&decoded),
            whole_form(&page),
            "read whole for its body"
        );
        assert_eq!(decoded.body.as_deref(), Some(SIX_PAGE));
        assert_eq!(decoded.envelope.etag.as_deref(), Some("\"abc\"\n"));
        assert_eq!(decoded.envelope.max_age, Some(600));
        assert_eq!(
            file_names(decoded),
            ["six-1.16.0-py2.py3-none-any.whl https://pypi.org/six-1.16.0-py2.py3-none-any.whl"]
        );
    }

    #[test]
    fn a_large_form_is_read_up_to_its_header_and_its_releases_from_the_file() {
        let mut page = stored_page(SIX_PAGE);
        page.complete().unwrap();
        let bytes = encode_entry(&page, SIX_PAGE).unwrap();
        let lazy = read(&bytes, false, true).unwrap();
        assert!(matches!(lazy.compact, Some(Compact::Header(_))));
        assert!(lazy.body.is_none());
        assert_eq!(
            file_names(lazy),
            ["six-1.16.0-py2.py3-none-any.whl https://pypi.org/six-1.16.0-py2.py3-none-any.whl"]
        );
        // A damaged release reads as one without files; its header still reads.
        let mut damaged = bytes.clone();
        let body_start = damaged.len() - SIX_PAGE.len();
        damaged[body_start - 1] ^= 0xff;
        assert!(file_names(read(&damaged, false, true).unwrap()).is_empty());
    }

    #[test]
    fn a_damaged_or_older_compact_form_is_rebuilt_from_the_body() {
        let mut page = stored_page(SIX_PAGE);
        page.complete().unwrap();
        let good = encode_entry(&page, SIX_PAGE).unwrap();
        let compact_start = good.iter().position(|byte| *byte == b'\n').unwrap() + 1;
        let mut damaged = good.clone();
        damaged[compact_start] ^= 0xff;
        let mut older = page;
        older.envelope.files.as_mut().unwrap().format = page_files::FORMAT - 1;
        for (bytes, lazy) in [
            (damaged.clone(), false),
            (damaged, true),
            (encode_entry(&older, SIX_PAGE).unwrap(), true),
        ] {
            let mut decoded = read(&bytes, false, lazy).unwrap();
            assert!(decoded.compact.is_none());
            assert_eq!(decoded.body.as_deref(), Some(SIX_PAGE), "read to rebuild");
            assert!(decoded.complete().unwrap());
            assert_eq!(file_names(decoded).len(), 1);
        }
    }

    #[test]
    fn entries_of_the_older_forms_still_read() {
        let mut envelope = serde_json::to_value(&stored_page("").envelope).unwrap();
        let mut body_after = serde_json::to_vec(&envelope).unwrap();
        body_after.push(b'\n');
        body_after.extend_from_slice(SIX_PAGE.as_bytes());
        envelope["body"] = serde_json::Value::String(SIX_PAGE.into());
        let body_inside = serde_json::to_vec(&envelope).unwrap();
        for bytes in [body_after, body_inside] {
            let mut decoded = read(&bytes, false, true).unwrap();
            assert_eq!(decoded.body.as_deref(), Some(SIX_PAGE));
            assert!(decoded.complete().unwrap());
            assert_eq!(file_names(decoded).len(), 1);
        }
        assert!(read(b"not json", false, false).is_none());
        assert!(read(b"not json\nbody", false, false).is_none());
    }

    #[test]
    fn keys_are_valid_cache_paths() {
        let url = Url::parse("https://pypi.org/simple/six/").unwrap();
        let key = entry_key(&url, "text/html");
        assert!(key.starts_with("pages/"));
        assert_ne!(key, entry_key(&url, "application/json"));
    }
}
