//! Self-tests of the hermetic test harness (`tests/common/`): the fixture
//! generator produces valid, deterministic wheels and sdists, and the
//! loopback index speaks the simple API and injects the faults it promises.
//! These do not run `vendor`; they make the CLI tests' failures meaningful.

use crate::common;

use std::collections::BTreeMap;
use std::io::Read;

use common::{dist, sha256_hex, Scenario, TestIndex};

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    /// `Err` when the connection broke before the announced length.
    body: Result<Vec<u8>, String>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone().expect("complete body")).expect("utf-8 body")
    }
}

/// A blocking GET with reqwest (the client `vendor` itself uses).
fn get(url: &str, headers: &[(&str, &str)]) -> Fetched {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let mut request = client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map(|bytes| bytes.to_vec())
            .map_err(|error| error.to_string());
        Fetched {
            status,
            headers,
            body,
        }
    })
}

/// A PEP 691 page, parsed.
fn get_json(url: &str) -> serde_json::Value {
    let page = get(url, &[("Accept", JSON)]);
    assert_eq!(page.status, 200, "{url}");
    serde_json::from_str(&page.text()).expect("JSON body")
}

const JSON: &str = "application/vnd.pypi.simple.v1+json";
const UV_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

fn zip_entries(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("valid zip");
    let mut entries = BTreeMap::new();
    for position in 0..archive.len() {
        let mut entry = archive.by_index(position).expect("zip entry");
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).expect("read entry");
        entries.insert(entry.name().to_string(), contents);
    }
    entries
}

fn tar_entries(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut entries = BTreeMap::new();
    for entry in archive.entries().expect("valid tar.gz") {
        let mut entry = entry.expect("tar entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).expect("read entry");
        entries.insert(path, contents);
    }
    entries
}

#[test]
fn generation_is_deterministic_and_file_names_are_unique() {
    let first = Scenario::default().generate();
    let second = Scenario::default().generate();
    let digests = |artifacts: &[common::Artifact]| -> BTreeMap<String, String> {
        artifacts
            .iter()
            .map(|artifact| (artifact.filename.clone(), artifact.sha256.clone()))
            .collect()
    };
    assert_eq!(digests(&first), digests(&second));
    assert_eq!(digests(&first).len(), first.len(), "duplicate file names");
    assert!(first
        .iter()
        .any(|artifact| artifact.filename == "zope_shim-1.0-py3-none-any.whl"));
    assert!(first
        .iter()
        .any(|artifact| artifact.filename == "zope_shim-1.0.tar.gz"));
}

#[test]
fn wheels_are_zips_with_metadata_and_a_correct_record() {
    for artifact in Scenario::default().generate() {
        if !artifact.is_wheel() {
            continue;
        }
        let entries = zip_entries(&artifact.bytes);
        let dist_info = format!(
            "{}-{}.dist-info",
            dist::distribution_name(&artifact.project),
            artifact.version
        );
        let metadata = &entries[&format!("{dist_info}/METADATA")];
        let metadata_text = String::from_utf8_lossy(metadata);
        assert!(metadata_text.contains(&format!("Name: {}\n", artifact.project)));
        if let Some(served) = &artifact.metadata {
            assert_eq!(
                served.as_slice(),
                metadata.as_slice(),
                "{}",
                artifact.filename
            );
        }
        let record = String::from_utf8(entries[&format!("{dist_info}/RECORD")].clone()).unwrap();
        let mut listed = 0;
        for line in record.lines() {
            let fields: Vec<&str> = line.split(',').collect();
            if fields[0].ends_with("/RECORD") {
                assert_eq!(fields[1..], ["", ""]);
                continue;
            }
            let contents = &entries[fields[0]];
            assert_eq!(
                fields[1],
                format!("sha256={}", dist::record_digest(contents))
            );
            assert_eq!(fields[2], contents.len().to_string());
            listed += 1;
        }
        assert_eq!(listed + 1, entries.len(), "RECORD lists every entry");
        let module = dist::distribution_name(&artifact.project);
        assert!(entries.contains_key(&format!("{module}/__init__.py")));
    }
}

#[test]
fn wheel_builder_keeps_modes_data_files_and_extra_dist_info_files() {
    let wheel = dist::WheelBuilder::new("Tool.Kit", "0.1", "py3-none-any")
        .file("toolkit/__init__.py", "")
        .data_file("scripts", "toolkit-run", "#!python\nprint(1)\n", 0o755)
        .dist_info_file("entry_points.txt", "[console_scripts]\ntk = toolkit:main\n");
    assert_eq!(wheel.filename(), "tool_kit-0.1-py3-none-any.whl");
    let bytes = wheel.build();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    let script = archive
        .by_name("tool_kit-0.1.data/scripts/toolkit-run")
        .expect("script in .data");
    assert_eq!(script.unix_mode().map(|mode| mode & 0o777), Some(0o755));
    drop(script);
    assert!(archive
        .by_name("tool_kit-0.1.dist-info/entry_points.txt")
        .is_ok());
    assert_eq!(bytes, wheel.build(), "deterministic");
}

#[test]
fn sdists_hold_pkg_info_pyproject_and_module() {
    let scenario = Scenario::default();
    let artifacts = scenario.generate();
    let find = |filename: &str| {
        artifacts
            .iter()
            .find(|artifact| artifact.filename == filename)
            .unwrap_or_else(|| panic!("{filename}"))
    };

    let static_sdist = tar_entries(&find("pgdriver-2.9.9.tar.gz").bytes);
    let pkg_info = String::from_utf8_lossy(&static_sdist["pgdriver-2.9.9/PKG-INFO"]).into_owned();
    assert!(pkg_info.starts_with("Metadata-Version: 2.2\n"));
    assert!(pkg_info.contains("Requires-Dist: tzshim>=1\n"));
    assert!(!pkg_info.contains("Dynamic:"));
    assert!(static_sdist.contains_key("pgdriver-2.9.9/pyproject.toml"));
    assert!(static_sdist.contains_key("pgdriver-2.9.9/pgdriver/__init__.py"));

    let dynamic_sdist = tar_entries(&find("dynsdist-1.0.tar.gz").bytes);
    let pkg_info = String::from_utf8_lossy(&dynamic_sdist["dynsdist-1.0/PKG-INFO"]).into_owned();
    assert!(pkg_info.contains("Dynamic: Requires-Dist\n"));
    assert!(!pkg_info.contains("Requires-Dist: "));

    let dotted = tar_entries(&find("zope_shim-1.0.tar.gz").bytes);
    assert!(dotted.contains_key("zope_shim-1.0/zope_shim/__init__.py"));
    let pyproject = String::from_utf8_lossy(&dotted["zope_shim-1.0/pyproject.toml"]).into_owned();
    let parsed: toml::Table = toml::from_str(&pyproject).expect("pyproject is TOML");
    assert_eq!(parsed["project"]["name"].as_str(), Some("Zope.Shim"));
}

#[test]
fn dynamic_sdist_backend_prepares_metadata_and_builds_a_wheel() {
    let artifacts = Scenario::default().generate();
    let sdist = artifacts
        .iter()
        .find(|artifact| artifact.filename == "dynsdist-1.0.tar.gz")
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(sdist.bytes.as_slice()))
        .unpack(work.path())
        .unwrap();
    let source = work.path().join("dynsdist-1.0");
    let metadata_dir = work.path().join("metadata");
    let wheel_dir = work.path().join("wheels");
    std::fs::create_dir_all(&metadata_dir).unwrap();
    std::fs::create_dir_all(&wheel_dir).unwrap();
    let script = format!(
        "import sys; sys.path.insert(0, '.'); import fixture_backend as b\n\
         print(b.prepare_metadata_for_build_wheel({:?}))\n\
         print(b.build_wheel({:?}))\n",
        metadata_dir.to_str().unwrap(),
        wheel_dir.to_str().unwrap()
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .current_dir(&source)
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let mut lines = printed.lines();
    assert_eq!(lines.next(), Some("dynsdist-1.0.dist-info"));
    assert_eq!(lines.next(), Some("dynsdist-1.0-py3-none-any.whl"));
    let metadata =
        std::fs::read_to_string(metadata_dir.join("dynsdist-1.0.dist-info/METADATA")).unwrap();
    assert!(metadata.contains("Requires-Dist: tzshim\n"));
    let wheel = std::fs::read(wheel_dir.join("dynsdist-1.0-py3-none-any.whl")).unwrap();
    let entries = zip_entries(&wheel);
    assert!(entries.contains_key("dynsdist/__init__.py"));
    assert!(entries.contains_key("dynsdist-1.0.dist-info/RECORD"));
}

#[test]
fn serves_json_when_asked() {
    let index = TestIndex::start(Scenario::default());
    let page = get(&format!("{}/shaky/", index.url()), &[("Accept", UV_ACCEPT)]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some(JSON));
    let json: serde_json::Value = serde_json::from_str(&page.text()).unwrap();
    assert_eq!(json["meta"]["api-version"], "1.1");
    assert_eq!(json["name"], "shaky");
    assert_eq!(json["versions"], serde_json::json!(["1.0", "1.1"]));
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let latest = &files[1];
    let artifact = index.artifact("shaky-1.1-py3-none-any.whl");
    assert_eq!(latest["filename"], artifact.filename);
    assert_eq!(latest["url"], index.file_url(&artifact.filename));
    assert_eq!(latest["hashes"]["sha256"], artifact.sha256);
    assert_eq!(latest["size"], artifact.size());
    assert_eq!(latest["yanked"], "broken build");
    assert_eq!(files[0]["yanked"], false);
    assert_eq!(latest["upload-time"], "2024-03-01T00:00:00.000000Z");
    assert_eq!(
        latest["core-metadata"]["sha256"],
        artifact.metadata_sha256().unwrap()
    );
    assert_eq!(latest["dist-info-metadata"], latest["core-metadata"]);

    let json = get_json(&format!("{}/modern/", index.url()));
    let requires: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["requires-python"].as_str().unwrap())
        .collect();
    assert_eq!(requires, [">=3.8", ">=3.8", ">=3.12", ">=3.12"]);

    let json = get_json(&format!("{}/beta/", index.url()));
    assert_eq!(json["files"][0]["core-metadata"], false);

    let json = get_json(&format!("{}/", index.url()));
    let names: Vec<&str> = json["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|project| project["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Zope.Shim") && names.contains(&"alpha"));
    assert!(!names.contains(&"localonly"), "find-links only");
}

#[test]
fn serves_html_otherwise_and_when_json_is_off() {
    let index = TestIndex::start(Scenario::default());
    let page = get(&format!("{}/modern/", index.url()), &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    let artifact = index.artifact("modern-2.0-py3-none-any.whl");
    assert!(html.contains(&format!(
        "<a href=\"{}#sha256={}\" data-requires-python=\"&gt;=3.12\" data-core-metadata=\"sha256={}\"",
        index.file_url(&artifact.filename),
        artifact.sha256,
        artifact.metadata_sha256().unwrap()
    )));
    let shaky = get(
        &format!("{}/shaky/", index.url()),
        &[("Accept", "text/html")],
    )
    .text();
    assert!(shaky.contains("data-yanked=\"broken build\""));

    let html_only = TestIndex::start(Scenario::default().html_only().relative_urls());
    let page = get(
        &format!("{}/alpha/", html_only.url()),
        &[("Accept", UV_ACCEPT)],
    );
    assert_eq!(
        page.header("content-type"),
        Some("application/vnd.pypi.simple.v1+html")
    );
    assert!(page
        .text()
        .contains("href=\"../../files/alpha-1.0-py3-none-any.whl#sha256="));
}

#[test]
fn normalises_names_and_answers_404_for_unknown_projects() {
    let index = TestIndex::start(Scenario::default());
    let dotted = get(&format!("{}/Zope.Shim/", index.url()), &[("Accept", JSON)]);
    assert_eq!(dotted.status, 200, "redirected to /simple/zope-shim/");
    let json: serde_json::Value = serde_json::from_str(&dotted.text()).unwrap();
    assert_eq!(json["name"], "Zope.Shim");
    assert_eq!(index.requests_to("/simple/zope-shim/"), 1);
    assert_eq!(
        get(&format!("{}/nothing-here/", index.url()), &[]).status,
        404
    );
    assert_eq!(get(&format!("{}/localonly/", index.url()), &[]).status, 404);
    assert!(index
        .find_links()
        .join("localonly-0.5-py3-none-any.whl")
        .is_file());
    assert_eq!(get(&index.file_url("nothing.whl"), &[]).status, 404);
}

#[test]
fn serves_files_metadata_and_byte_ranges() {
    let index = TestIndex::start(Scenario::default());
    let artifact = index.artifact("alpha-1.0-py3-none-any.whl");
    let file = get(&index.file_url(&artifact.filename), &[]);
    assert_eq!(file.status, 200);
    assert_eq!(file.header("accept-ranges"), Some("bytes"));
    let body = file.body.unwrap();
    assert_eq!(sha256_hex(&body), artifact.sha256);

    let metadata = get(
        &format!("{}.metadata", index.file_url(&artifact.filename)),
        &[],
    );
    assert_eq!(metadata.status, 200);
    assert_eq!(
        sha256_hex(&metadata.body.unwrap()),
        artifact.metadata_sha256().unwrap()
    );
    let no_metadata = get(
        &format!("{}.metadata", index.file_url("beta-1.0-py3-none-any.whl")),
        &[],
    );
    assert_eq!(no_metadata.status, 404);

    let size = body.len();
    let tail = get(
        &index.file_url(&artifact.filename),
        &[("Range", "bytes=-22")],
    );
    assert_eq!(tail.status, 206);
    assert_eq!(
        tail.header("content-range"),
        Some(format!("bytes {}-{}/{size}", size - 22, size - 1).as_str())
    );
    assert_eq!(tail.body.unwrap(), body[size - 22..]);
    let middle = get(
        &index.file_url(&artifact.filename),
        &[("Range", "bytes=10-19")],
    );
    assert_eq!(middle.body.unwrap(), body[10..20]);
    let beyond = get(
        &index.file_url(&artifact.filename),
        &[("Range", &format!("bytes={size}-"))],
    );
    assert_eq!(beyond.status, 416);

    index.set_range_support(false);
    let whole = get(
        &index.file_url(&artifact.filename),
        &[("Range", "bytes=-22")],
    );
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("accept-ranges"), None);
    assert_eq!(whole.body.unwrap(), body);
}

#[test]
fn etag_turns_a_repeat_into_304() {
    let index = TestIndex::start(Scenario::default());
    let url = format!("{}/alpha/", index.url());
    let first = get(&url, &[("Accept", JSON)]);
    let etag = first.header("etag").expect("etag").to_string();
    let again = get(&url, &[("Accept", JSON), ("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert_eq!(again.body.unwrap(), b"");
    let other_format = get(&url, &[("Accept", "text/html"), ("If-None-Match", &etag)]);
    assert_eq!(other_format.status, 200, "the HTML page has its own ETag");
}

#[test]
fn injected_failures_then_recovery() {
    let index = TestIndex::start(Scenario::default());
    index.fail_first("/simple/alpha/", 2, 500);
    let url = format!("{}/alpha/", index.url());
    assert_eq!(get(&url, &[]).status, 500);
    assert_eq!(get(&url, &[]).status, 500);
    assert_eq!(get(&url, &[]).status, 200);
    assert_eq!(get(&format!("{}/gamma/", index.url()), &[]).status, 200);
    assert_eq!(index.requests_to("/simple/alpha/"), 3);
}

#[test]
fn cut_off_downloads_break_then_recover() {
    let index = TestIndex::start(Scenario::default());
    let artifact = index.artifact("gamma-1.0-py3-none-any.whl");
    index.cut_off_first(&artifact.filename, 100, 1);
    let broken = get(&index.file_url(&artifact.filename), &[]);
    assert_eq!(broken.status, 200);
    assert_eq!(
        broken.header("content-length"),
        Some(artifact.size().to_string().as_str())
    );
    assert!(broken.body.is_err(), "the body must end early");
    let whole = get(&index.file_url(&artifact.filename), &[]);
    assert_eq!(sha256_hex(&whole.body.unwrap()), artifact.sha256);
}

#[test]
fn corrupted_files_keep_their_size_but_not_their_hash() {
    let index = TestIndex::start(Scenario::default());
    let artifact = index.artifact("shaky-1.0-py3-none-any.whl");
    index.corrupt(&artifact.filename);
    let served = get(&index.file_url(&artifact.filename), &[]).body.unwrap();
    assert_eq!(served.len() as u64, artifact.size());
    assert_ne!(sha256_hex(&served), artifact.sha256);
    index.clear_faults();
    let served = get(&index.file_url(&artifact.filename), &[]).body.unwrap();
    assert_eq!(sha256_hex(&served), artifact.sha256);
}

#[test]
fn basic_auth_is_enforced_and_requests_are_recorded() {
    let index = TestIndex::start(Scenario::default().basic_auth("deploy", "s3cret"));
    let url = format!("{}/alpha/", index.url());
    let refused = get(&url, &[]);
    assert_eq!(refused.status, 401);
    assert!(refused.header("www-authenticate").is_some());
    let wrong = get(&url, &[("Authorization", "Basic ZGVwbG95Ondyb25n")]);
    assert_eq!(wrong.status, 401);
    // base64("deploy:s3cret")
    let allowed = get(&url, &[("Authorization", "Basic ZGVwbG95OnMzY3JldA==")]);
    assert_eq!(allowed.status, 200);
    let requests = index.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].method, "GET");
    assert_eq!(requests[2].path, "/simple/alpha/");
    assert_eq!(
        requests[2].header("Authorization"),
        Some("Basic ZGVwbG95OnMzY3JldA==")
    );
    index.clear_requests();
    assert!(index.requests().is_empty());
    assert!(index
        .url_with_credentials("deploy", "s3cret")
        .starts_with("http://deploy:s3cret@127.0.0.1:"));
}
