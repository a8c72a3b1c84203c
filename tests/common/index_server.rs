//! A PyPI-like index on `127.0.0.1:<ephemeral port>` for hermetic tests.
//!
//! Input: a [`Scenario`] (fixture projects + server options). Output: a
//! running server ([`TestIndex`]) that serves `/simple/` (PEP 691 JSON or
//! PEP 503 HTML by `Accept`), `/simple/<normalized>/`, `/files/<filename>`
//! and `/files/<filename>.metadata` (PEP 658), with `ETag`/304 and `Range`.
//! Files published to `--find-links` are written into [`TestIndex::find_links`].
//!
//! Invariants: every request is recorded (method, path, headers) before it
//! is answered, so a test can prove that a command made none; faults are
//! consumed in request order and only affect the paths or files named; the
//! server stops when the value is dropped. One thread per connection and
//! `Connection: close` keep it simple — the tests need correctness, not speed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;

use super::dist::normalize_name;
use super::index_pages::{negotiate, project_page, root_page, Format};
use super::scenario::{sha256_hex, Artifact, Scenario, ServerOptions};

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target as sent, query included.
    pub path: String,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Faults {
    /// path → (status, remaining count).
    failures: HashMap<String, (u16, usize)>,
    /// file name → (bytes sent before closing, remaining count).
    cut_offs: HashMap<String, (usize, usize)>,
    corrupted: HashSet<String>,
    /// path → (wait before answering, remaining count).
    stalls: HashMap<String, (Duration, usize)>,
    /// Pause between 4 KiB chunks of every file body (a slow link).
    pace: Option<Duration>,
}

impl Faults {
    fn take_failure(&mut self, path: &str) -> Option<u16> {
        let (status, remaining) = self.failures.get_mut(path)?;
        (*remaining > 0).then(|| {
            *remaining -= 1;
            *status
        })
    }

    fn take_stall(&mut self, path: &str) -> Option<Duration> {
        let (wait, remaining) = self.stalls.get_mut(path)?;
        (*remaining > 0).then(|| {
            *remaining -= 1;
            *wait
        })
    }

    fn take_cut_off(&mut self, filename: &str) -> Option<usize> {
        let (after, remaining) = self.cut_offs.get_mut(filename)?;
        (*remaining > 0).then(|| {
            *remaining -= 1;
            *after
        })
    }
}

struct ServerState {
    base_url: String,
    artifacts: Vec<Artifact>,
    /// Files on the index by file name → index into `artifacts`.
    files: HashMap<String, usize>,
    /// Normalized name → (display name, indices of its files on the index).
    projects: BTreeMap<String, (String, Vec<usize>)>,
    options: Mutex<ServerOptions>,
    faults: Mutex<Faults>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A running loopback index; stops on drop.
pub struct TestIndex {
    address: SocketAddr,
    state: Arc<ServerState>,
    shutdown: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    find_links: tempfile::TempDir,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not take the server down with it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TestIndex {
    /// Generate the scenario's files and start serving them.
    pub fn start(scenario: Scenario) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        let artifacts = scenario.generate();
        let find_links = tempfile::Builder::new()
            .prefix("vendor-find-links-")
            .tempdir()
            .expect("find-links temp dir");
        let mut files = HashMap::new();
        let mut projects: BTreeMap<String, (String, Vec<usize>)> = BTreeMap::new();
        for (position, artifact) in artifacts.iter().enumerate() {
            if artifact.location.in_find_links() {
                std::fs::write(find_links.path().join(&artifact.filename), &*artifact.bytes)
                    .expect("write find-links file");
            }
            if artifact.location.on_index() {
                let previous = files.insert(artifact.filename.clone(), position);
                assert!(previous.is_none(), "duplicate file {}", artifact.filename);
                projects
                    .entry(artifact.normalized.clone())
                    .or_insert_with(|| (artifact.project.clone(), Vec::new()))
                    .1
                    .push(position);
            }
        }
        let state = Arc::new(ServerState {
            base_url: format!("http://{address}"),
            artifacts,
            files,
            projects,
            options: Mutex::new(scenario.options),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
        });
        let shutdown = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let state = Arc::clone(&state);
            let shutdown = Arc::clone(&shutdown);
            std::thread::spawn(move || accept_connections(listener, state, shutdown))
        };
        Self {
            address,
            state,
            shutdown,
            acceptor: Some(acceptor),
            find_links,
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The simple API root, `http://127.0.0.1:<port>/simple`, for `--index-url`.
    pub fn url(&self) -> String {
        format!("{}/simple", self.state.base_url)
    }

    /// The simple API root with `user:password@` in it.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}/simple", self.address)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn file_url(&self, filename: &str) -> String {
        format!("{}/files/{filename}", self.state.base_url)
    }

    /// The `--find-links` folder holding the files published there.
    pub fn find_links(&self) -> &Path {
        self.find_links.path()
    }

    /// A generated file by name, wherever it is published.
    pub fn artifact(&self, filename: &str) -> Artifact {
        self.state
            .artifacts
            .iter()
            .find(|artifact| artifact.filename == filename)
            .unwrap_or_else(|| panic!("no fixture file `{filename}`"))
            .clone()
    }

    /// Every generated file of a project (any spelling of its name).
    pub fn artifacts_of(&self, project: &str) -> Vec<Artifact> {
        let normalized = normalize_name(project);
        self.state
            .artifacts
            .iter()
            .filter(|artifact| artifact.normalized == normalized)
            .cloned()
            .collect()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// How many requests asked for exactly this path (query ignored).
    pub fn requests_to(&self, path: &str) -> usize {
        lock(&self.state.requests)
            .iter()
            .filter(|request| request.path_only() == path)
            .count()
    }

    /// `path` answers `status` to its next `times` requests, then recovers.
    pub fn fail_first(&self, path: &str, times: usize, status: u16) {
        lock(&self.state.faults)
            .failures
            .insert(path.to_string(), (status, times));
    }

    /// The next `times` GETs of `filename` announce the full length, send
    /// `after_bytes` bytes and close the connection.
    pub fn cut_off_first(&self, filename: &str, after_bytes: usize, times: usize) {
        lock(&self.state.faults)
            .cut_offs
            .insert(filename.to_string(), (after_bytes, times));
    }

    /// Serve other bytes (same length) for `filename` than the index lists.
    pub fn corrupt(&self, filename: &str) {
        lock(&self.state.faults)
            .corrupted
            .insert(filename.to_string());
    }

    /// The next `times` requests of `path` wait `wait` before any answer
    /// (a stalled server: the client's read timeout must end it).
    pub fn stall_first(&self, path: &str, wait: Duration, times: usize) {
        lock(&self.state.faults)
            .stalls
            .insert(path.to_string(), (wait, times));
    }

    /// Every file body is sent in 4 KiB chunks with `pause` between them,
    /// so that downloads take long enough to be interrupted.
    pub fn pace_files(&self, pause: Duration) {
        lock(&self.state.faults).pace = Some(pause);
    }

    pub fn clear_faults(&self) {
        *lock(&self.state.faults) = Faults::default();
    }

    pub fn set_range_support(&self, enabled: bool) {
        lock(&self.state.options).range = enabled;
    }
}

impl Drop for TestIndex {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_connections(listener: TcpListener, state: Arc<ServerState>, shutdown: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let state = Arc::clone(&state);
        std::thread::spawn(move || serve_connection(stream, &state));
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Read one request head; `None` when the peer sent nothing usable.
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Complete(_)) => {
                return Some(Request {
                    method: parsed.method?.to_string(),
                    path: parsed.path?.to_string(),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|header| {
                            (
                                header.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(header.value).into_owned(),
                            )
                        })
                        .collect(),
                });
            }
            Ok(httparse::Status::Partial) if buffer.len() < 64 * 1024 => continue,
            _ => return None,
        }
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then close (a dropped connection).
    cut_off_after: Option<usize>,
    /// Pause between 4 KiB chunks of the body.
    pace: Option<Duration>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
            cut_off_after: None,
            pace: None,
        }
    }

    fn text(status: u16, body: &str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }

    fn redirect(location: &str) -> Self {
        Self::text(301, "moved").header("Location", location)
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        401 => "Unauthorized",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn serve_connection(mut stream: TcpStream, state: &ServerState) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    lock(&state.requests).push(RecordedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        headers: request.headers.clone(),
    });
    let path = request.path.split('?').next().unwrap_or_default();
    let stall = lock(&state.faults).take_stall(path);
    if let Some(wait) = stall {
        std::thread::sleep(wait);
    }
    let response = respond(state, &request);
    let _ = write_response(&mut stream, &response, request.method == "HEAD");
}

fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason_phrase(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        let sent = response
            .cut_off_after
            .map_or(response.body.len(), |after| after.min(response.body.len()));
        match response.pace {
            Some(pause) => {
                for chunk in response.body[..sent].chunks(4096) {
                    stream.write_all(chunk)?;
                    stream.flush()?;
                    std::thread::sleep(pause);
                }
            }
            None => stream.write_all(&response.body[..sent])?,
        }
    }
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}

fn respond(state: &ServerState, request: &Request) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::text(405, "only GET and HEAD");
    }
    let options = lock(&state.options).clone();
    if let Some((user, password)) = &options.basic_auth {
        if !authorized(request.header("authorization"), user, password) {
            return Response::text(401, "credentials required")
                .header("WWW-Authenticate", "Basic realm=\"vendor-tests\"");
        }
    }
    let path = request.path.split('?').next().unwrap_or_default();
    if let Some(status) = lock(&state.faults).take_failure(path) {
        return Response::text(status, "injected failure");
    }
    let response = route(state, request, path, &options);
    with_validators(request, response)
}

fn authorized(header: Option<&str>, user: &str, password: &str) -> bool {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    header
        .and_then(|value| value.strip_prefix("Basic "))
        .is_some_and(|encoded| encoded.trim() == expected)
}

fn route(state: &ServerState, request: &Request, path: &str, options: &ServerOptions) -> Response {
    if path == "/simple" {
        return Response::redirect("/simple/");
    }
    if path == "/simple/" {
        let names: Vec<(String, String)> = state
            .projects
            .iter()
            .map(|(normalized, (display, _))| (normalized.clone(), display.clone()))
            .collect();
        let format = negotiate(request.header("accept"), options.json);
        return simple_page(root_page(&names, format), format);
    }
    if let Some(rest) = path.strip_prefix("/simple/") {
        let Some(name) = rest.strip_suffix('/') else {
            return Response::redirect(&format!("/simple/{rest}/"));
        };
        let normalized = normalize_name(name);
        if normalized != name {
            return Response::redirect(&format!("/simple/{normalized}/"));
        }
        return project_response(state, request, &normalized, options);
    }
    if let Some(filename) = path.strip_prefix("/files/") {
        if let Some(wheel) = filename.strip_suffix(".metadata") {
            return metadata_response(state, wheel);
        }
        return file_response(state, request, filename, options);
    }
    Response::text(404, "not found")
}

fn simple_page(body: String, format: Format) -> Response {
    Response::new(200, format.content_type(), body)
        .header("Vary", "Accept")
        .header("Cache-Control", "max-age=0, must-revalidate")
}

fn project_response(
    state: &ServerState,
    request: &Request,
    normalized: &str,
    options: &ServerOptions,
) -> Response {
    let Some((display, positions)) = state.projects.get(normalized) else {
        return Response::text(404, &format!("no project `{normalized}`"));
    };
    let artifacts: Vec<&Artifact> = positions
        .iter()
        .map(|position| &state.artifacts[*position])
        .collect();
    let base_url = state.base_url.clone();
    let absolute = options.absolute_urls;
    let file_url = move |filename: &str| {
        if absolute {
            format!("{base_url}/files/{filename}")
        } else {
            format!("../../files/{filename}")
        }
    };
    let format = negotiate(request.header("accept"), options.json);
    simple_page(project_page(display, &artifacts, format, &file_url), format)
}

fn metadata_response(state: &ServerState, wheel: &str) -> Response {
    let metadata = state
        .files
        .get(wheel)
        .and_then(|position| state.artifacts[*position].metadata.clone());
    match metadata {
        Some(bytes) => Response::new(200, "application/octet-stream", bytes.to_vec()),
        None => Response::text(404, &format!("no metadata for `{wheel}`")),
    }
}

/// Flip bytes in the middle: same size, different digest.
fn corrupted(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let middle = bytes.len() / 2;
    for byte in bytes.iter_mut().skip(middle).take(16) {
        *byte ^= 0xA5;
    }
    bytes
}

fn file_response(
    state: &ServerState,
    request: &Request,
    filename: &str,
    options: &ServerOptions,
) -> Response {
    let Some(position) = state.files.get(filename) else {
        return Response::text(404, &format!("no file `{filename}`"));
    };
    let artifact = &state.artifacts[*position];
    let mut faults = lock(&state.faults);
    let bytes = if faults.corrupted.contains(filename) {
        corrupted(&artifact.bytes)
    } else {
        artifact.bytes.to_vec()
    };
    let mut response = match (options.range, request.header("range")) {
        (true, Some(range)) => ranged_response(&bytes, range),
        _ => Response::new(200, "application/octet-stream", bytes),
    };
    if options.range {
        response = response.header("Accept-Ranges", "bytes");
    }
    if request.method == "GET" && matches!(response.status, 200 | 206) {
        response.cut_off_after = faults.take_cut_off(filename);
        response.pace = faults.pace;
    }
    response
}

/// A single `bytes=` range (`a-b`, `a-`, `-n`); anything else gets the whole file.
fn ranged_response(bytes: &[u8], range: &str) -> Response {
    let size = bytes.len();
    let whole = || Response::new(200, "application/octet-stream", bytes.to_vec());
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return whole();
    };
    if spec.contains(',') {
        return whole();
    }
    let Some((start, end)) = spec.split_once('-') else {
        return whole();
    };
    let bounds = match (start.trim(), end.trim()) {
        ("", suffix) => suffix
            .parse::<usize>()
            .ok()
            .filter(|length| *length > 0)
            .map(|length| (size.saturating_sub(length), size.saturating_sub(1))),
        (start, "") => start
            .parse::<usize>()
            .ok()
            .map(|start| (start, size.saturating_sub(1))),
        (start, end) => match (start.parse::<usize>(), end.parse::<usize>()) {
            (Ok(start), Ok(end)) if start <= end => Some((start, end.min(size.saturating_sub(1)))),
            _ => return whole(),
        },
    };
    match bounds {
        Some((start, end)) if start < size => {
            Response::new(206, "application/octet-stream", bytes[start..=end].to_vec())
                .header("Content-Range", &format!("bytes {start}-{end}/{size}"))
        }
        _ => Response::text(416, "range not satisfiable")
            .header("Content-Range", &format!("bytes */{size}")),
    }
}

/// `ETag` on every 200, and 304 when the client already has that version.
fn with_validators(request: &Request, response: Response) -> Response {
    if response.status != 200 {
        return response;
    }
    let etag = format!("\"{}\"", &sha256_hex(&response.body)[..32]);
    let matches = request.header("if-none-match").is_some_and(|tags| {
        tags.split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
    });
    if matches {
        let mut not_modified = Response::new(304, "text/plain", Vec::new());
        not_modified.headers = response
            .headers
            .into_iter()
            .filter(|(name, _)| name != "Content-Type")
            .collect();
        return not_modified.header("ETag", &etag);
    }
    response.header("ETag", &etag)
}
