//! Tests of the whole client against a tiny HTTP/1.1 server on 127.0.0.1:
//! retries, resumed downloads, range requests, validators, offline mode,
//! credentials. (End-to-end tests of the binary against a full loopback
//! index live under `tests/`.)

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::hint::Hint;
use crate::progress::TaskId;

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    headers: HashMap<String, String>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What the server answers.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes (still announcing the full length), then hang up.
    truncate_at: Option<usize>,
}

impl Reply {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            truncate_at: None,
        }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Serve `bytes` honouring a `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` header.
    fn ranged(request: &Request, bytes: &[u8]) -> Self {
        let Some(range) = request.header("range") else {
            return Self::new(200, bytes.to_vec());
        };
        let spec = range.trim_start_matches("bytes=");
        let length = bytes.len();
        let (start, end) = match spec.split_once('-') {
            Some(("", suffix)) => (
                length - suffix.parse::<usize>().unwrap().min(length),
                length,
            ),
            Some((start, "")) => (start.parse().unwrap(), length),
            Some((start, end)) => (start.parse().unwrap(), end.parse::<usize>().unwrap() + 1),
            None => panic!("bad range {range}"),
        };
        let end = end.min(length);
        Self::new(206, bytes[start..end].to_vec()).header(
            "Content-Range",
            &format!("bytes {start}-{}/{length}", end - 1),
        )
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

struct TestServer {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
}

impl TestServer {
    fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(handler);
        let (seen, counted) = (Arc::clone(&requests), Arc::clone(&connections));
        // The accept loop ends with the test process; each connection thread
        // ends when the client hangs up.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                let (handler, seen) = (Arc::clone(&handler), Arc::clone(&seen));
                std::thread::spawn(move || serve_connection(stream, &handler, &seen));
            }
        });
        Self {
            address,
            requests,
            connections,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|request| request.path == path)
            .collect()
    }
}

fn serve_connection(stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Request>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let request = Request { path, headers };
        seen.lock().unwrap().push(request.clone());
        let reply = handler(&request);
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let sent = reply.truncate_at.unwrap_or(reply.body.len());
        if writer.write_all(head.as_bytes()).is_err()
            || writer.write_all(&reply.body[..sent]).is_err()
            || writer.flush().is_err()
        {
            return;
        }
        if reply.truncate_at.is_some() {
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

/// Records warnings and checks that tasks are started and finished in pairs.
#[derive(Default)]
struct RecordingReporter {
    warnings: Mutex<Vec<String>>,
    started: Mutex<Vec<TaskId>>,
    finished: Mutex<Vec<TaskId>>,
}

impl Reporter for RecordingReporter {
    fn task_started(&self, id: TaskId, _label: &str, _total_bytes: Option<u64>) {
        self.started.lock().unwrap().push(id);
    }
    fn task_finished(&self, id: TaskId) {
        self.finished.lock().unwrap().push(id);
    }
    fn warn(&self, message: &str) {
        self.warnings.lock().unwrap().push(message.to_string());
    }
}

impl RecordingReporter {
    fn warnings(&self) -> Vec<String> {
        self.warnings.lock().unwrap().clone()
    }

    fn assert_tasks_balanced(&self) {
        assert_eq!(
            *self.started.lock().unwrap(),
            *self.finished.lock().unwrap()
        );
    }
}

struct Setup {
    client: IndexClient,
    reporter: Arc<RecordingReporter>,
    cache_folder: tempfile::TempDir,
}

fn fast_options() -> HttpOptions {
    HttpOptions {
        retries: 3,
        retry_base_delay: Duration::from_millis(1),
        ..HttpOptions::default()
    }
}

fn client_with(settings: IndexSettings, cache_folder: Option<tempfile::TempDir>) -> Setup {
    let cache_folder = cache_folder.unwrap_or_else(|| tempfile::tempdir().unwrap());
    let cache = Cache::open(cache_folder.path()).unwrap();
    let reporter = Arc::new(RecordingReporter::default());
    let client =
        IndexClient::with_http_options(settings, cache, reporter.clone(), fast_options()).unwrap();
    Setup {
        client,
        reporter,
        cache_folder,
    }
}

fn index_settings(server: &TestServer) -> IndexSettings {
    IndexSettings {
        index_urls: vec![server.url("/simple")],
        ..IndexSettings::default()
    }
}

/// Every file of `project`, in ascending version order.
fn files_of(project: &ProjectFiles) -> Vec<IndexFile> {
    project.all_files().cloned().collect()
}

fn name(raw: &str) -> PackageName {
    PackageName::new(raw.to_string()).unwrap()
}

fn html_page(links: &[(&str, &Sha256)]) -> String {
    let anchors: String = links
        .iter()
        .map(|(filename, digest)| {
            format!("<a href=\"/files/{filename}#sha256={digest}\">{filename}</a>\n")
        })
        .collect();
    format!("<html><body>\n{anchors}</body></html>")
}

fn artifact_count(cache_folder: &tempfile::TempDir) -> usize {
    fn walk(path: &std::path::Path) -> usize {
        std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| match entry.path().is_dir() {
                        true => walk(&entry.path()),
                        false => 1,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&cache_folder.path().join("artifacts"))
}

#[tokio::test]
async fn retries_server_errors_then_succeeds() {
    let digest = Sha256::of_bytes(b"x");
    let page = html_page(&[("demo-1.0.tar.gz", &digest)]);
    let calls = AtomicUsize::new(0);
    let server = TestServer::start(move |_| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::new(500, "boom"),
        1 => Reply::new(429, "slow down").header("Retry-After", "0"),
        _ => Reply::new(200, page.clone()).header("Content-Type", "text/html"),
    });
    let setup = client_with(index_settings(&server), None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    assert_eq!(files_of(&project).len(), 1);
    assert_eq!(files_of(&project)[0].sha256, Some(digest));
    assert_eq!(server.requests().len(), 3);
    let warnings = setup.reporter.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("500") && warnings[0].contains("/simple/demo/"));
}

#[tokio::test]
async fn gives_up_after_the_last_retry_and_never_retries_404() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/simple/broken/" => Reply::new(503, "down"),
        _ => Reply::new(404, "no such project"),
    });
    let setup = client_with(index_settings(&server), None);
    let error = setup.client.project(&name("broken")).await.unwrap_err();
    assert!(
        matches!(
            error,
            IndexError::Status {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains(&server.url("/simple/broken/")));
    assert_eq!(server.requests_to("/simple/broken/").len(), 4);

    let missing = setup.client.project(&name("missing")).await.unwrap();
    assert!(files_of(&missing).is_empty());
    assert_eq!(server.requests_to("/simple/missing/").len(), 1);
}

#[tokio::test]
async fn concurrent_calls_share_one_request() {
    let server = TestServer::start(|_| {
        std::thread::sleep(Duration::from_millis(50));
        Reply::new(200, "<html></html>").header("Content-Type", "text/html")
    });
    let setup = client_with(index_settings(&server), None);
    let demo = name("demo");
    let (first, second) = tokio::join!(setup.client.project(&demo), setup.client.project(&demo));
    assert!(first.is_ok() && second.is_ok());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn first_index_that_knows_the_project_wins() {
    let digest = Sha256::of_bytes(b"y");
    let page = html_page(&[("demo-2.0.tar.gz", &digest)]);
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/second/demo/" => Reply::new(200, page.clone()).header("Content-Type", "text/html"),
        _ => Reply::new(404, ""),
    });
    let settings = IndexSettings {
        index_urls: vec![server.url("/first/"), server.url("/second")],
        ..IndexSettings::default()
    };
    let setup = client_with(settings, None);
    let project = setup.client.project(&name("Demo")).await.unwrap();
    assert_eq!(files_of(&project).len(), 1);
    assert_eq!(
        files_of(&project)[0].index.as_deref(),
        Some(server.url("/second").as_str())
    );
    assert_eq!(
        setup.client.index_urls(),
        [server.url("/first"), server.url("/second")]
    );
}

#[tokio::test]
async fn json_pages_and_exclude_newer() {
    let body = r#"{"meta": {"api-version": "1.0"}, "name": "demo", "files": [
        {"filename": "demo-1.0.tar.gz", "url": "/files/demo-1.0.tar.gz", "hashes": {},
         "upload-time": "2020-01-01T00:00:00Z"},
        {"filename": "demo-2.0.tar.gz", "url": "/files/demo-2.0.tar.gz", "hashes": {},
         "upload-time": "2030-01-01T00:00:00Z"},
        {"filename": "demo-3.0.tar.gz", "url": "/files/demo-3.0.tar.gz", "hashes": {}}]}"#;
    let server = TestServer::start(move |request| {
        assert!(request
            .header("accept")
            .unwrap()
            .starts_with("application/vnd.pypi.simple.v1+json"));
        Reply::new(200, body).header("Content-Type", "application/vnd.pypi.simple.v1+json")
    });
    let settings = IndexSettings {
        exclude_newer: Some("2025-01-01T00:00:00Z".parse().unwrap()),
        ..index_settings(&server)
    };
    let setup = client_with(settings, None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    let names: Vec<&str> = project
        .all_files()
        .map(|file| file.filename.as_str())
        .collect();
    assert_eq!(names, ["demo-1.0.tar.gz"]);
}

#[tokio::test]
async fn revalidates_with_etag_and_honours_max_age() {
    let page = html_page(&[("demo-1.0.tar.gz", &Sha256::of_bytes(b"z"))]);
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/simple/etag/" if request.header("if-none-match") == Some("\"v1\"") => Reply::new(304, ""),
        "/simple/etag/" => Reply::new(200, page.replace("demo", "etag"))
            .header("Content-Type", "text/html")
            .header("ETag", "\"v1\""),
        _ => Reply::new(200, page.clone())
            .header("Content-Type", "text/html")
            .header("Cache-Control", "max-age=600"),
    });
    let first = client_with(index_settings(&server), None);
    first.client.project(&name("etag")).await.unwrap();
    first.client.project(&name("demo")).await.unwrap();

    // A new client (empty memory) on the same cache.
    let second = client_with(index_settings(&server), Some(first.cache_folder));
    let etag = second.client.project(&name("etag")).await.unwrap();
    assert_eq!(files_of(&etag).len(), 1, "the 304 reused the stored body");
    let revalidations = server.requests_to("/simple/etag/");
    assert_eq!(revalidations.len(), 2);
    assert_eq!(revalidations[1].header("if-none-match"), Some("\"v1\""));
    second.client.project(&name("demo")).await.unwrap();
    assert_eq!(
        server.requests_to("/simple/demo/").len(),
        1,
        "fresh by max-age"
    );
}

#[tokio::test]
async fn offline_opens_no_socket_and_serves_the_cache() {
    let page = html_page(&[("demo-1.0.tar.gz", &Sha256::of_bytes(b"w"))]);
    let server = TestServer::start(move |_| {
        Reply::new(200, page.clone()).header("Content-Type", "text/html")
    });
    let offline = IndexSettings {
        offline: true,
        ..index_settings(&server)
    };
    let cold = client_with(offline.clone(), None);
    let error = cold.client.project(&name("demo")).await.unwrap_err();
    assert!(
        matches!(&error, IndexError::OfflineProject { package, .. } if package.as_ref() == "demo")
    );
    assert!(error.to_string().contains("`demo`"), "{error}");
    let url = Url::parse(&server.url("/files/demo-1.0.tar.gz")).unwrap();
    let download = cold
        .client
        .download(&url, "demo-1.0.tar.gz", &Sha256::of_bytes(b"w"))
        .await;
    assert!(matches!(download, Err(IndexError::Offline { .. })));
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);

    let online = client_with(index_settings(&server), Some(cold.cache_folder));
    online.client.project(&name("demo")).await.unwrap();
    let connections = server.connections.load(Ordering::SeqCst);
    let warm = client_with(offline, Some(online.cache_folder));
    let project = warm.client.project(&name("demo")).await.unwrap();
    assert_eq!(files_of(&project).len(), 1);
    assert_eq!(server.connections.load(Ordering::SeqCst), connections);
}

/// Serves `bytes`, cutting the first response at 50,000 bytes and
/// honouring range requests.
fn cutting_then_resuming_server(bytes: Vec<u8>) -> TestServer {
    TestServer::start(move |request| match request.header("range") {
        None => Reply {
            truncate_at: Some(50_000),
            ..Reply::new(200, bytes.clone())
        },
        Some(_) => Reply::ranged(request, &bytes),
    })
}

/// Serves `bytes` whole, cutting the first response at 10,000 bytes and
/// ignoring range requests.
fn cutting_then_restarting_server(bytes: Vec<u8>) -> TestServer {
    let calls = AtomicUsize::new(0);
    TestServer::start(move |_| Reply {
        truncate_at: (calls.fetch_add(1, Ordering::SeqCst) == 0).then_some(10_000),
        ..Reply::new(200, bytes.clone())
    })
}

#[tokio::test]
async fn resumes_a_download_interrupted_mid_body() {
    let bytes: Vec<u8> = (0..200_000u32).map(|value| (value % 251) as u8).collect();
    let digest = Sha256::of_bytes(&bytes);
    let server = cutting_then_resuming_server(bytes.clone());
    let setup = client_with(index_settings(&server), None);
    let url = Url::parse(&server.url("/files/demo-1.0.tar.gz")).unwrap();
    let path = setup
        .client
        .download(&url, "demo-1.0.tar.gz", &digest)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("range"), Some("bytes=50000-"));
    assert_eq!(setup.reporter.warnings().len(), 1);
    setup.reporter.assert_tasks_balanced();

    // Cached now: no further request.
    let again = setup
        .client
        .download(&url, "demo-1.0.tar.gz", &digest)
        .await
        .unwrap();
    assert_eq!(again, path);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn restarts_when_the_server_cannot_resume() {
    let bytes: Vec<u8> = (0..100_000u32).map(|value| (value % 13) as u8).collect();
    let digest = Sha256::of_bytes(&bytes);
    let server = cutting_then_restarting_server(bytes.clone());
    let setup = client_with(index_settings(&server), None);
    let url = Url::parse(&server.url("/files/demo-1.0.tar.gz")).unwrap();
    let path = setup
        .client
        .download(&url, "demo-1.0.tar.gz", &digest)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
}

/// Download `url` as `demo-1.0.tar.gz` with a tee read on a thread of its
/// own (its reader blocks); the path, and what the reader got.
async fn download_with_tee(
    client: &IndexClient,
    url: &Url,
    digest: &Sha256,
) -> (std::path::PathBuf, std::io::Result<Vec<u8>>) {
    let (tee, mut reader) = crate::index::byte_tee();
    let reading = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut bytes).map(|_| bytes)
    });
    let path = client
        .download_teeing(url, "demo-1.0.tar.gz", digest, Some(tee))
        .await
        .unwrap();
    (path, reading.join().unwrap())
}

#[tokio::test]
async fn a_tee_gets_the_whole_file_across_a_resume_and_nothing_from_the_cache() {
    let bytes: Vec<u8> = (0..200_000u32).map(|value| (value % 251) as u8).collect();
    let digest = Sha256::of_bytes(&bytes);
    let server = cutting_then_resuming_server(bytes.clone());
    let setup = client_with(index_settings(&server), None);
    let url = Url::parse(&server.url("/files/demo-1.0.tar.gz")).unwrap();
    let (_, read) = download_with_tee(&setup.client, &url, &digest).await;
    assert_eq!(read.unwrap(), bytes);
    assert_eq!(server.requests().len(), 2);
    // From the cache, the tee is fed nothing: its reader fails, never ends early.
    let (_, read) = download_with_tee(&setup.client, &url, &digest).await;
    assert!(read.is_err());
}

#[tokio::test]
async fn a_tee_fails_when_its_download_starts_over() {
    let bytes: Vec<u8> = (0..100_000u32).map(|value| (value % 13) as u8).collect();
    let digest = Sha256::of_bytes(&bytes);
    let server = cutting_then_restarting_server(bytes.clone());
    let setup = client_with(index_settings(&server), None);
    let url = Url::parse(&server.url("/files/demo-1.0.tar.gz")).unwrap();
    let (path, read) = download_with_tee(&setup.client, &url, &digest).await;
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    let error = read.unwrap_err();
    assert!(error.to_string().contains("started over"), "{error}");
}

#[tokio::test]
async fn hash_mismatch_keeps_nothing() {
    let server = TestServer::start(|_| Reply::new(200, "tampered"));
    let setup = client_with(index_settings(&server), None);
    let url = Url::parse(&server.url("/files/demo-1.0.tar.gz")).unwrap();
    let expected = Sha256::of_bytes(b"original");
    let error = setup
        .client
        .download(&url, "demo-1.0.tar.gz", &expected)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IndexError::HashMismatch { actual, .. } if *actual == Sha256::of_bytes(b"tampered"))
    );
    assert!(error.to_string().contains("demo-1.0.tar.gz"));
    assert_eq!(artifact_count(&setup.cache_folder), 0);
    let temp_files = std::fs::read_dir(setup.cache_folder.path().join("tmp"))
        .unwrap()
        .count();
    assert_eq!(temp_files, 0);
    setup.reporter.assert_tasks_balanced();
}

const METADATA: &str = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six>=1.0\n";

fn wheel_index(server_wheel: Vec<u8>, honour_range: bool) -> (TestServer, Sha256) {
    let digest = Sha256::of_bytes(&server_wheel);
    let size = server_wheel.len();
    let page = format!(
        r#"{{"files": [
            {{"filename": "demo-1.0-py3-none-any.whl", "url": "/files/demo-1.0-py3-none-any.whl",
              "hashes": {{"sha256": "{digest}"}}, "size": {size}}},
            {{"filename": "demo-1.1-py3-none-any.whl", "url": "/files/demo-1.1-py3-none-any.whl",
              "hashes": {{}}}}]}}"#
    );
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/simple/demo/" => Reply::new(200, page.clone())
            .header("Content-Type", "application/vnd.pypi.simple.v1+json"),
        path if path.starts_with("/files/") && honour_range => {
            Reply::ranged(request, &server_wheel)
        }
        path if path.starts_with("/files/") => Reply::new(200, server_wheel.clone()),
        _ => Reply::new(404, ""),
    });
    (server, digest)
}

#[tokio::test]
async fn reads_wheel_metadata_with_range_requests() {
    let wheel = super::wheel::tests::build_wheel(METADATA, 400_000);
    let (server, _) = wheel_index(wheel, true);
    let setup = client_with(index_settings(&server), None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    assert!(!setup.client.has_local_metadata(&files_of(&project)[0]));
    let metadata = setup.client.metadata(&files_of(&project)[0]).await.unwrap();
    assert_eq!(metadata.requires_dist[0].name.as_ref(), "six");
    let wheel_requests = server.requests_to("/files/demo-1.0-py3-none-any.whl");
    assert!(wheel_requests
        .iter()
        .all(|request| request.header("range").is_some()));
    assert!(wheel_requests.len() <= 3, "{wheel_requests:?}");
    assert_eq!(
        artifact_count(&setup.cache_folder),
        0,
        "nothing downloaded whole"
    );

    // Stored by sha256: a new client needs no request for it.
    let before = server.requests().len();
    let second = client_with(index_settings(&server), Some(setup.cache_folder));
    let project = second.client.project(&name("demo")).await.unwrap();
    assert!(
        second.client.has_local_metadata(&files_of(&project)[0]),
        "stored: not prefetched again"
    );
    assert!(!second.client.has_local_metadata(&files_of(&project)[1]));
    second
        .client
        .metadata(&files_of(&project)[0])
        .await
        .unwrap();
    assert_eq!(server.requests().len(), before + 1, "only the index page");
}

#[tokio::test]
async fn downloads_the_wheel_when_ranges_are_ignored() {
    let wheel = super::wheel::tests::build_wheel(METADATA, 10_000);
    let (server, digest) = wheel_index(wheel, false);
    let setup = client_with(index_settings(&server), None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    let metadata = setup.client.metadata(&files_of(&project)[0]).await.unwrap();
    assert_eq!(metadata.version.to_string(), "1.0");
    assert!(setup
        .client
        .cache()
        .find_artifact(&digest, "demo-1.0-py3-none-any.whl")
        .is_some());
    // The host is remembered: the next wheel is downloaded without trying ranges.
    let error = setup
        .client
        .metadata(&files_of(&project)[1])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("demo-1.1"), "{error}");
    let later = server.requests_to("/files/demo-1.1-py3-none-any.whl");
    assert_eq!(later.len(), 1);
    assert!(later[0].header("range").is_none());
}

#[tokio::test]
async fn prefers_pep658_metadata() {
    let digest = Sha256::of_bytes(b"never fetched");
    let page = format!(
        "<a href=\"/files/demo-1.0-py3-none-any.whl#sha256={digest}\" data-core-metadata=\"true\">w</a>"
    );
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/simple/demo/" => Reply::new(200, page.clone()).header("Content-Type", "text/html"),
        "/files/demo-1.0-py3-none-any.whl.metadata" => Reply::new(200, METADATA),
        _ => Reply::new(404, ""),
    });
    let setup = client_with(index_settings(&server), None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    assert!(files_of(&project)[0].has_core_metadata);
    let metadata = setup.client.metadata(&files_of(&project)[0]).await.unwrap();
    assert_eq!(metadata.name.as_ref(), "demo");
    assert!(server
        .requests_to("/files/demo-1.0-py3-none-any.whl")
        .is_empty());
}

#[tokio::test]
async fn sdists_with_dynamic_metadata_need_a_build() {
    let sdist = super::sdist::tests::build_sdist(
        "demo-1.0",
        &[
            (
                "PKG-INFO",
                "Metadata-Version: 1.1\nName: demo\nVersion: 1.0\n",
            ),
            ("setup.py", ""),
        ],
    );
    let digest = Sha256::of_bytes(&sdist);
    let page = html_page(&[("demo-1.0.tar.gz", &digest)]);
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/simple/demo/" => Reply::new(200, page.clone()).header("Content-Type", "text/html"),
        _ => Reply::new(200, sdist.clone()),
    });
    let setup = client_with(index_settings(&server), None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    let error = setup
        .client
        .metadata(&files_of(&project)[0])
        .await
        .unwrap_err();
    assert!(matches!(error, IndexError::MetadataNeedsBuild { .. }));
    let message = error.with_hint();
    assert!(message.contains("`demo` 1.0") && message.contains("prepare_metadata_for_build_wheel"));
    assert!(message.contains("hint:"));
    // The sdist itself is cached (verified) for the later build.
    let cached = setup
        .client
        .cache()
        .find_artifact(&digest, "demo-1.0.tar.gz")
        .unwrap();
    // The verdict is kept: a later lock does not need (or open) the sdist.
    std::fs::remove_file(cached).unwrap();
    let offline = IndexSettings {
        offline: true,
        ..index_settings(&server)
    };
    let later = client_with(offline, Some(setup.cache_folder));
    let project = later.client.project(&name("demo")).await.unwrap();
    let error = later
        .client
        .metadata(&files_of(&project)[0])
        .await
        .unwrap_err();
    assert!(
        matches!(error, IndexError::MetadataNeedsBuild { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn credentials_are_sent_but_never_shown() {
    let page = html_page(&[("demo-1.0.tar.gz", &Sha256::of_bytes(b"v"))]);
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/simple/demo/" => {
            // "alice:s3cret" in base64.
            assert_eq!(
                request.header("authorization"),
                Some("Basic YWxpY2U6czNjcmV0")
            );
            Reply::new(200, page.clone()).header("Content-Type", "text/html")
        }
        _ => Reply::new(401, "who are you"),
    });
    let settings = IndexSettings {
        index_urls: vec![format!("http://alice:s3cret@{}/simple", server.address)],
        ..IndexSettings::default()
    };
    let setup = client_with(settings, None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    let shown = format!("{:?} {:?}", files_of(&project), setup.client.index_urls());
    assert!(
        !shown.contains("s3cret") && !shown.contains("alice"),
        "{shown}"
    );
    let error = setup.client.project(&name("other")).await.unwrap_err();
    assert!(matches!(
        error,
        IndexError::Unauthorized { status: 401, .. }
    ));
    assert!(!error.with_hint().contains("s3cret"));
    assert!(error.with_hint().contains("hint:"));
}

#[tokio::test]
async fn find_links_folders_join_index_files_and_work_offline() {
    let links = tempfile::tempdir().unwrap();
    let wheel = super::wheel::tests::build_wheel(METADATA, 100);
    std::fs::write(links.path().join("demo-1.0-py3-none-any.whl"), &wheel).unwrap();
    std::fs::write(links.path().join("other-1.0.tar.gz"), b"other").unwrap();
    let settings = IndexSettings {
        no_index: true,
        find_links: vec![links.path().display().to_string()],
        offline: true,
        ..IndexSettings::default()
    };
    let setup = client_with(settings, None);
    let project = setup.client.project(&name("demo")).await.unwrap();
    assert_eq!(files_of(&project).len(), 1);
    let file = &files_of(&project)[0];
    assert_eq!(file.sha256, Some(Sha256::of_bytes(&wheel)));
    let metadata = setup.client.metadata(file).await.unwrap();
    assert_eq!(metadata.requires_dist.len(), 1);
    // A file:// artifact is copied into the cache, verified, without network.
    let path = setup
        .client
        .download(
            &file.url,
            file.filename.as_str(),
            file.sha256.as_ref().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), wheel);
}

/// Against the real PyPI: `cargo test --lib index::tests::real_pypi -- --ignored`.
/// Metadata comes from PEP 658 when the index announces it, else from
/// range requests; either way the wheel itself is not downloaded.
#[tokio::test]
#[ignore = "needs the network (pypi.org)"]
async fn real_pypi_six() {
    let setup = client_with(IndexSettings::default(), None);
    let project = setup.client.project(&name("six")).await.unwrap();
    let wheel = project
        .all_files()
        .find(|file| file.filename.as_str() == "six-1.17.0-py2.py3-none-any.whl")
        .expect("six 1.17.0 has a wheel on PyPI");
    let digest = wheel.sha256.clone().expect("PyPI lists sha256 digests");
    assert!(wheel.upload_time.is_some() && wheel.requires_python.is_some());
    assert_eq!(wheel.index.as_deref(), Some(DEFAULT_INDEX_URL));
    let metadata = setup.client.metadata(wheel).await.unwrap();
    assert_eq!(metadata.version.to_string(), "1.17.0");
    assert!(setup
        .client
        .cache()
        .find_artifact(&digest, wheel.filename.as_str())
        .is_none());
    let path = setup
        .client
        .download(&wheel.url, wheel.filename.as_str(), &digest)
        .await
        .unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), wheel.size.unwrap());
    setup.reporter.assert_tasks_balanced();
}

/// The resolver `block_on`s these futures from other threads and
/// `tokio::spawn`s prefetches: the client must be shareable and every
/// future `Send`. (Compiling is the test; the futures are never polled.)
#[test]
fn client_and_futures_can_cross_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    fn sendable<T: Send>(_: T) {}
    shareable::<IndexClient>();
    let setup = client_with(
        IndexSettings {
            no_index: true,
            offline: true,
            ..IndexSettings::default()
        },
        None,
    );
    let file = super::simple::new_index_file(
        "demo-1.0.tar.gz",
        Url::parse("https://example.com/demo-1.0.tar.gz").unwrap(),
    )
    .unwrap();
    let digest = Sha256::of_bytes(b"");
    sendable(setup.client.project(&name("demo")));
    sendable(setup.client.metadata(&file));
    sendable(setup.client.download(&file.url, "demo-1.0.tar.gz", &digest));
}
