//! The HTTP layer: one `reqwest` client, credentials per request, a
//! concurrency limit, retries with backoff, and resumable downloads.
//!
//! Input: `http(s)` URLs (without credentials) and request headers.
//! Output: whole bodies ([`Http::get`]), byte ranges ([`Http::get_range`]) or
//! a file streamed to disk with its sha256 ([`Http::download`]).
//!
//! Invariants:
//! - offline, no client exists: every request fails with
//!   [`IndexError::Offline`] before any socket is opened;
//! - connect errors, timeouts, truncated bodies, 429 and 5xx are retried
//!   with exponential backoff and jitter (each retry reported through
//!   [`Reporter::warn`]); other statuses are returned to the caller;
//! - a download interrupted mid-body resumes with `Range` when the server
//!   allows it and restarts otherwise; the hash always covers exactly the
//!   bytes in the file.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_RANGE, RANGE, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::credentials::{redact, strip_credentials, Credentials};
use super::error::IndexError;
use super::tee::ByteTee;
use crate::hash::{Sha256, Sha256Hasher};
use crate::progress::{Reporter, TaskId};

/// Tunables of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff delay; doubled on each retry, capped at 10 s.
    pub retry_base_delay: Duration,
    pub connect_timeout: Duration,
    /// Longest silence while waiting for response bytes.
    pub read_timeout: Duration,
    /// Requests in flight at once (downloads included).
    pub max_concurrency: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            retries: 3,
            retry_base_delay: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_concurrency: 50,
        }
    }
}

impl HttpOptions {
    /// Defaults, overridden by `VENDOR_HTTP_RETRIES` and `VENDOR_HTTP_TIMEOUT` (seconds).
    pub fn from_env() -> Self {
        let mut options = Self::default();
        let number = |name: &str| std::env::var(name).ok()?.trim().parse::<u64>().ok();
        if let Some(retries) = number("VENDOR_HTTP_RETRIES") {
            options.retries = u32::try_from(retries).unwrap_or(u32::MAX);
        }
        if let Some(seconds) = number("VENDOR_HTTP_TIMEOUT") {
            options.read_timeout = Duration::from_secs(seconds.max(1));
        }
        options
    }
}

/// A complete response.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub status: StatusCode,
    /// The final URL after redirects, without credentials.
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Which bytes [`Http::get_range`] asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ByteRange {
    /// `start..end`, end exclusive.
    Span { start: u64, end: u64 },
    /// The last N bytes.
    Suffix(u64),
}

/// The bytes a server sent for a range request.
#[derive(Debug)]
pub(crate) struct RangePart {
    pub start: u64,
    pub body: Vec<u8>,
    /// The whole file's length, when the server said it.
    pub total: Option<u64>,
}

/// Why one attempt failed, and whether another may succeed.
enum Failure {
    Transient {
        error: IndexError,
        retry_after: Option<Duration>,
    },
    Fatal(IndexError),
}

pub(crate) struct Http {
    client: Option<reqwest::Client>,
    credentials: Credentials,
    permits: Arc<Semaphore>,
    options: HttpOptions,
    reporter: Arc<dyn Reporter>,
}

impl Http {
    pub fn new(
        offline: bool,
        credentials: Credentials,
        options: HttpOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Self, IndexError> {
        let client = if offline {
            None
        } else {
            let client = reqwest::Client::builder()
                .user_agent(concat!("vendor/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(options.connect_timeout)
                .read_timeout(options.read_timeout)
                .dns_resolver(Arc::new(super::dns::CachingResolver::default()))
                .build()
                .map_err(|error| IndexError::Client {
                    reason: error_chain(&error),
                })?;
            Some(client)
        };
        Ok(Self {
            client,
            credentials,
            permits: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            options,
            reporter,
        })
    }

    pub fn is_offline(&self) -> bool {
        self.client.is_none()
    }

    /// GET `url` and read the whole body. Transient failures are retried;
    /// any other status is returned for the caller to interpret.
    pub async fn get(&self, url: &Url, headers: HeaderMap) -> Result<Fetched, IndexError> {
        let mut retry = RetryState::new(self);
        loop {
            match self.get_once(url, &headers).await {
                Ok(fetched) => return Ok(fetched),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Transient { error, retry_after }) => {
                    retry.wait_or_fail(error, retry_after).await?
                }
            }
        }
    }

    async fn get_once(&self, url: &Url, headers: &HeaderMap) -> Result<Fetched, Failure> {
        let (response, _permit) = self.send(url, headers.clone()).await?;
        let status = response.status();
        let final_url = strip_credentials(response.url());
        let response_headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|error| transient(url, &error, None))?;
        Ok(Fetched {
            status,
            url: final_url,
            headers: response_headers,
            body: body.to_vec(),
        })
    }

    /// GET a byte range of `url`. `Ok(None)` when the server ignores
    /// `Range` (the body is then not read at all); other statuses than 200
    /// and 206 are errors.
    pub async fn get_range(
        &self,
        url: &Url,
        range: ByteRange,
    ) -> Result<Option<RangePart>, IndexError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        let range = match range {
            ByteRange::Span { start, end } => format!("bytes={start}-{}", end.saturating_sub(1)),
            ByteRange::Suffix(length) => format!("bytes=-{length}"),
        };
        headers.insert(RANGE, header_value(&range));
        let mut retry = RetryState::new(self);
        loop {
            let attempt = async {
                let (response, _permit) = self.send(url, headers.clone()).await?;
                match response.status() {
                    StatusCode::PARTIAL_CONTENT => {}
                    // The whole file would follow: the server ignores `Range`.
                    StatusCode::OK | StatusCode::RANGE_NOT_SATISFIABLE => return Ok(None),
                    status => return Err(Failure::Fatal(status_error(url, status, 1))),
                }
                let Some((start, total)) = content_range(&response) else {
                    return Ok(None);
                };
                let body = response
                    .bytes()
                    .await
                    .map_err(|error| transient(url, &error, None))?;
                Ok(Some(RangePart {
                    start,
                    body: body.to_vec(),
                    total,
                }))
            };
            match attempt.await {
                Ok(result) => return Ok(result),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Transient { error, retry_after }) => {
                    retry.wait_or_fail(error, retry_after).await?
                }
            }
        }
    }

    /// Stream `url` into `file` (which must be empty), resuming or
    /// restarting after interruptions, and feed `tee` the same bytes (see
    /// [`super::tee`]). Returns the digest and size of what was written;
    /// statuses other than 200/206 are errors.
    pub async fn download(
        &self,
        url: &Url,
        file: std::fs::File,
        task: &mut DownloadTask<'_>,
        tee: Option<ByteTee>,
    ) -> Result<(Sha256, u64), IndexError> {
        let mut file = tokio::fs::File::from_std(file);
        let mut state = DownloadState {
            hasher: Sha256Hasher::default(),
            written: 0,
            resumable: true,
            tee,
        };
        let mut retry = RetryState::new(self);
        loop {
            match self.download_once(url, &mut file, &mut state, task).await {
                Ok(()) => break,
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Transient { error, retry_after }) => {
                    retry.wait_or_fail(error, retry_after).await?
                }
            }
        }
        // Writes are buffered: a full disk may only show here.
        file.flush()
            .await
            .map_err(|source| IndexError::CacheWrite {
                url: strip_credentials(url).to_string(),
                source,
            })?;
        if let Some(tee) = state.tee.take() {
            tee.finish().await;
        }
        Ok((state.hasher.finish(), state.written))
    }

    async fn download_once(
        &self,
        url: &Url,
        file: &mut tokio::fs::File,
        state: &mut DownloadState,
        task: &mut DownloadTask<'_>,
    ) -> Result<(), Failure> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        if state.written > 0 && state.resumable {
            headers.insert(RANGE, header_value(&format!("bytes={}-", state.written)));
        }
        let (mut response, _permit) = self.send(url, headers).await?;
        let resumed = response.status() == StatusCode::PARTIAL_CONTENT
            && content_range(&response).is_some_and(|(start, _)| start == state.written);
        if response.status() == StatusCode::RANGE_NOT_SATISFIABLE && state.written > 0 {
            state.resumable = false;
            return Err(transient_message(url, "the server refused to resume", None));
        }
        if response.status() != StatusCode::OK && !resumed {
            return Err(Failure::Fatal(status_error(url, response.status(), 1)));
        }
        if !resumed && state.written > 0 {
            // The server sent the whole file again: start over.
            state.restart(file).await.map_err(|error| {
                Failure::Fatal(IndexError::Task(format!(
                    "cannot rewind a download: {error}"
                )))
            })?;
        }
        task.start(
            response
                .content_length()
                .map(|length| length + state.written),
        );
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(()),
                Err(error) => return Err(transient(url, &error, None)),
            };
            file.write_all(&chunk).await.map_err(|source| {
                Failure::Fatal(IndexError::CacheWrite {
                    url: strip_credentials(url).to_string(),
                    source,
                })
            })?;
            state.hasher.update(&chunk);
            state.written += chunk.len() as u64;
            if let Some(tee) = &state.tee {
                if !tee.feed(&chunk).await {
                    state.tee = None;
                }
            }
            task.progress(state.written);
        }
    }

    /// Send one GET with the login for `url`'s host; classify failures.
    async fn send(
        &self,
        url: &Url,
        headers: HeaderMap,
    ) -> Result<(Response, OwnedSemaphorePermit), Failure> {
        let client = self.client.as_ref().ok_or_else(|| {
            Failure::Fatal(IndexError::Offline {
                url: strip_credentials(url).to_string(),
            })
        })?;
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|error| Failure::Fatal(IndexError::Task(error.to_string())))?;
        let mut request = client.get(strip_credentials(url)).headers(headers);
        if let Some(login) = self.credentials.for_url(url) {
            request = request.basic_auth(&login.username, login.password.as_deref());
        }
        let started = std::time::Instant::now();
        let response = request.send().await.map_err(|error| {
            match error.is_builder() || error.is_redirect() {
                true => Failure::Fatal(network_error(url, &error, 1)),
                false => transient(url, &error, None),
            }
        })?;
        let status = response.status();
        tracing::debug!(
            "GET {} → {status} in {:.0} ms",
            strip_credentials(url),
            started.elapsed().as_secs_f64() * 1000.0
        );
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(Failure::Transient {
                error: status_error(url, status, 1),
                retry_after,
            });
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(Failure::Fatal(status_error(url, status, 1)));
        }
        Ok((response, permit))
    }
}

/// Per-download progress, reported as one Reporter task that is finished
/// exactly once (on drop) if it was ever started.
pub(crate) struct DownloadTask<'a> {
    reporter: &'a dyn Reporter,
    id: TaskId,
    label: &'a str,
    started: bool,
}

impl<'a> DownloadTask<'a> {
    pub fn new(reporter: &'a dyn Reporter, label: &'a str) -> Self {
        Self {
            reporter,
            id: TaskId::next(),
            label,
            started: false,
        }
    }

    fn start(&mut self, total: Option<u64>) {
        if !self.started {
            self.started = true;
            self.reporter.task_started(self.id, self.label, total);
        }
    }

    fn progress(&self, done: u64) {
        self.reporter.task_progress(self.id, done);
    }
}

impl Drop for DownloadTask<'_> {
    fn drop(&mut self) {
        if self.started {
            self.reporter.task_finished(self.id);
        }
    }
}

struct DownloadState {
    hasher: Sha256Hasher,
    written: u64,
    /// False once the server refused a resume: restart from zero instead.
    resumable: bool,
    /// Who reads the bytes as they arrive, until a restart or until they
    /// stop reading.
    tee: Option<ByteTee>,
}

impl DownloadState {
    async fn restart(&mut self, file: &mut tokio::fs::File) -> std::io::Result<()> {
        file.flush().await?;
        file.set_len(0).await?;
        file.seek(std::io::SeekFrom::Start(0)).await?;
        self.hasher = Sha256Hasher::default();
        self.written = 0;
        // The reader has seen bytes that are now gone: it must fail.
        self.tee = None;
        Ok(())
    }
}

/// Counts the attempts of one request and sleeps between them.
struct RetryState<'a> {
    http: &'a Http,
    retries_done: u32,
}

impl<'a> RetryState<'a> {
    fn new(http: &'a Http) -> Self {
        Self {
            http,
            retries_done: 0,
        }
    }

    /// Sleep before the next attempt, or give up with `error` (its attempt
    /// count updated) when no retry is left.
    async fn wait_or_fail(
        &mut self,
        error: IndexError,
        retry_after: Option<Duration>,
    ) -> Result<(), IndexError> {
        let attempts = self.retries_done + 1;
        if self.retries_done >= self.http.options.retries {
            return Err(with_attempts(error, attempts));
        }
        self.retries_done += 1;
        let delay = retry_after
            .map(|delay| delay.min(Duration::from_secs(60)))
            .unwrap_or_else(|| backoff(self.http.options.retry_base_delay, self.retries_done));
        self.http.reporter.warn(&format!(
            "{}; retrying in {:.1} s (retry {} of {})",
            first_line(&with_attempts(error, attempts).to_string()),
            delay.as_secs_f64(),
            self.retries_done,
            self.http.options.retries
        ));
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// `base * 2^(retry-1)`, capped at 10 s, times a random factor in [0.5, 1.5).
fn backoff(base: Duration, retry: u32) -> Duration {
    let exponential = base
        .saturating_mul(1u32 << (retry - 1).min(16))
        .min(Duration::from_secs(10));
    // `RandomState` is seeded randomly per instance: enough jitter to keep
    // parallel clients from retrying in lockstep, without another crate.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let factor = 0.5 + (random % 1000) as f64 / 1000.0;
    exponential.mul_f64(factor)
}

fn with_attempts(error: IndexError, attempts: u32) -> IndexError {
    match error {
        IndexError::Network { url, reason, .. } => IndexError::Network {
            url,
            attempts,
            reason,
        },
        IndexError::Status { url, status, .. } => IndexError::Status {
            url,
            status,
            attempts,
        },
        other => other,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

fn transient(url: &Url, error: &reqwest::Error, retry_after: Option<Duration>) -> Failure {
    Failure::Transient {
        error: network_error(url, error, 1),
        retry_after,
    }
}

fn transient_message(url: &Url, reason: &str, retry_after: Option<Duration>) -> Failure {
    Failure::Transient {
        error: IndexError::Network {
            url: strip_credentials(url).to_string(),
            attempts: 1,
            reason: reason.to_string(),
        },
        retry_after,
    }
}

fn network_error(url: &Url, error: &reqwest::Error, attempts: u32) -> IndexError {
    IndexError::Network {
        url: strip_credentials(url).to_string(),
        attempts,
        reason: error_chain(error),
    }
}

pub(crate) fn status_error(url: &Url, status: StatusCode, attempts: u32) -> IndexError {
    let url = strip_credentials(url).to_string();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        IndexError::Unauthorized {
            url,
            status: status.as_u16(),
        }
    } else {
        IndexError::Status {
            url,
            status: status.as_u16(),
            attempts,
        }
    }
}

/// The error and its causes, `: `-joined, without the request URL (which
/// the caller names itself) and with any userinfo redacted.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        // reqwest's own line repeats the URL; its causes say what happened.
        let text = match text.find(" for url (") {
            Some(index) => text[..index].to_string(),
            None => text,
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = error.source();
    }
    redact(&parts.join(": "))
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("range headers are ASCII")
}

/// `(start, total)` of a `Content-Range: bytes start-end/total` header.
fn content_range(response: &Response) -> Option<(u64, Option<u64>)> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes ")?;
    let (span, total) = range.split_once('/')?;
    let (start, _) = span.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for retry in 1..30 {
            let delay = backoff(base, retry);
            assert!(delay <= Duration::from_secs(15), "{delay:?}");
            assert!(delay >= Duration::from_millis(50), "{delay:?}");
        }
        assert!(backoff(base, 5) >= Duration::from_millis(800));
    }
}
