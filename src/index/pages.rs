//! Index and find-links pages, cached with their HTTP validators.
//!
//! Input: a page URL (`http(s)` or `file`) and an `Accept` header. Output:
//! [`Page::Found`] with the body and the URL it came from, or
//! [`Page::NotFound`] for 404/410.
//!
//! Invariants:
//! - a page is stored in [`Bucket::Index`] with its `ETag`, `Last-Modified`
//!   and `Cache-Control: max-age`; within max-age it is served without a
//!   request, after it is revalidated (`If-None-Match` / `If-Modified-Since`,
//!   and a 304 reuses the stored body);
//! - 404s are stored too, so an offline run knows a project is absent from
//!   an index rather than missing from the cache;
//! - offline, only stored pages are served; anything else is
//!   [`IndexError::Offline`] and no request is made.

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
use crate::cache::{Bucket, Cache};
use crate::hash::Sha256;

/// A fetched page.
#[derive(Debug)]
pub(crate) enum Page {
    Found {
        /// Where the body came from (after redirects): relative links resolve against it.
        url: Url,
        content_type: String,
        body: String,
    },
    NotFound,
}

/// What is stored per page URL.
#[derive(Serialize, Deserialize)]
struct StoredPage {
    url: String,
    status: u16,
    content_type: String,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Seconds since the Unix epoch when the body was last confirmed.
    checked_at: i64,
    max_age: Option<u64>,
    /// Follows the envelope raw (see [`encode_entry`]); older entries kept
    /// it inside.
    #[serde(default, skip_serializing)]
    body: String,
}

/// An entry is its envelope as one line of JSON, then the body as served:
/// a body quoted inside the JSON had to be unescaped and copied whole on
/// every read, and a warm lock reads every page of its projects.
fn encode_entry(page: &StoredPage) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec(page)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(page.body.as_bytes());
    Ok(bytes)
}

/// The inverse of [`encode_entry`], and the older single-JSON form; `None`
/// for an entry that is neither (it is fetched again).
fn decode_entry(mut bytes: Vec<u8>) -> Option<StoredPage> {
    let Some(envelope_end) = bytes.iter().position(|byte| *byte == b'\n') else {
        return serde_json::from_slice(&bytes).ok();
    };
    let mut page: StoredPage = serde_json::from_slice(&bytes[..envelope_end]).ok()?;
    bytes.drain(..=envelope_end);
    page.body = String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    Some(page)
}

impl StoredPage {
    fn is_fresh(&self) -> bool {
        let age = jiff::Timestamp::now().as_second() - self.checked_at;
        self.max_age
            .is_some_and(|max_age| age >= 0 && (age as u64) < max_age)
    }

    fn into_page(self) -> Result<Page, IndexError> {
        if self.status != StatusCode::OK.as_u16() {
            return Ok(Page::NotFound);
        }
        let url = Url::parse(&self.url).map_err(|error| IndexError::InvalidPage {
            url: self.url.clone(),
            reason: format!("the cached entry has an invalid URL: {error}"),
        })?;
        Ok(Page::Found {
            url,
            content_type: self.content_type,
            body: self.body,
        })
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
    let stored: Option<StoredPage> = cache.read_entry(Bucket::Index, &key).and_then(decode_entry);
    if http.is_offline() {
        return match stored {
            Some(stored) => stored.into_page(),
            None => Err(IndexError::Offline {
                url: url.to_string(),
            }),
        };
    }
    let stored = match stored {
        Some(stored) if stored.is_fresh() => return stored.into_page(),
        other => other,
    };

    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, header(accept));
    if let Some(stored) = &stored {
        if let Some(etag) = &stored.etag {
            headers.insert(IF_NONE_MATCH, header(etag));
        }
        if let Some(last_modified) = &stored.last_modified {
            headers.insert(IF_MODIFIED_SINCE, header(last_modified));
        }
    }
    let fetched = http.get(&url, headers).await?;
    let now = jiff::Timestamp::now().as_second();
    let max_age = max_age(&fetched.headers);
    let new_entry = match (fetched.status, stored) {
        (StatusCode::NOT_MODIFIED, Some(mut stored)) => {
            stored.checked_at = now;
            stored.max_age = max_age.or(stored.max_age);
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
            StoredPage {
                url: fetched.url.to_string(),
                status: if found { 200 } else { 404 },
                content_type: text(CONTENT_TYPE).unwrap_or_default(),
                etag: text(ETAG),
                last_modified: text(LAST_MODIFIED),
                checked_at: now,
                max_age,
                body: if found {
                    String::from_utf8_lossy(&fetched.body).into_owned()
                } else {
                    String::new()
                },
            }
        }
        (status, _) => return Err(status_error(&url, status, 1)),
    };
    if !no_store(&fetched.headers) {
        let bytes =
            encode_entry(&new_entry).map_err(|error| IndexError::Task(error.to_string()))?;
        cache.write_entry(Bucket::Index, &key, &bytes)?;
    }
    new_entry.into_page()
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
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(Page::Found {
            url: url.clone(),
            content_type: "text/html".into(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Page::NotFound),
        Err(error) => Err(IndexError::io(path, error)),
    }
}

/// One entry per (URL, Accept): the same URL may answer JSON or HTML.
fn entry_key(url: &Url, accept: &str) -> String {
    let digest = Sha256::of_bytes(format!("{url}\n{accept}").as_bytes());
    format!(
        "pages/{}/{}.json",
        &digest.as_str()[..2],
        &digest.as_str()[2..]
    )
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

    fn stored_page(body: &str) -> StoredPage {
        StoredPage {
            url: "https://pypi.org/simple/six/".into(),
            status: 200,
            content_type: "application/vnd.pypi.simple.v1+json".into(),
            etag: Some("\"abc\"\n".into()),
            last_modified: None,
            checked_at: 1_700_000_000,
            max_age: Some(600),
            body: body.into(),
        }
    }

    #[test]
    fn entries_keep_the_body_raw_after_the_envelope() {
        let body = "{\"files\": []}\n<a href=\"x\">\u{e9}\n</a>\n";
        let bytes = encode_entry(&stored_page(body)).unwrap();
        let (envelope, raw) = bytes.split_at(bytes.iter().position(|b| *b == b'\n').unwrap());
        assert!(!String::from_utf8_lossy(envelope).contains("files"));
        assert_eq!(&raw[1..], body.as_bytes());
        let decoded = decode_entry(bytes).unwrap();
        assert_eq!(decoded.body, body);
        assert_eq!(decoded.etag.as_deref(), Some("\"abc\"\n"));
        assert_eq!(decoded.max_age, Some(600));
    }

    #[test]
    fn entries_of_the_older_single_json_form_still_read() {
        let mut legacy = serde_json::to_value(stored_page("")).unwrap();
        legacy["body"] = serde_json::Value::String("{\"files\": []}".into());
        let decoded = decode_entry(serde_json::to_vec(&legacy).unwrap()).unwrap();
        assert_eq!(decoded.body, "{\"files\": []}");
        assert!(decode_entry(b"not json".to_vec()).is_none());
        assert!(decode_entry(b"not json\nbody".to_vec()).is_none());
    }

    #[test]
    fn keys_are_valid_cache_paths() {
        let url = Url::parse("https://pypi.org/simple/six/").unwrap();
        let key = entry_key(&url, "text/html");
        assert!(key.starts_with("pages/"));
        assert_ne!(key, entry_key(&url, "application/json"));
    }
}
