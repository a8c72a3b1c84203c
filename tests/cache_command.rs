//! Integration tests of `vendor cache`: after a real lock and build from the
//! loopback index, `info` lists what the cache holds, `clean` removes what a
//! build makes again (the next offline build gives the same RPMs), and
//! `clean --all` empties it (the next offline build names what is missing);
//! `verify` finds each kind of damaged entry, `--remove` takes them out,
//! and the next build makes them again with the same RPMs.

use crate::common;
use crate::rpm_tools;
use common::rpm_fixtures::{scenario_of, FROM_SOURCE};

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::{files_under, CoreMetadata, Project, Scenario, TestIndex, WheelBuilder};
use rpm_tools::file_tree as tree;

fn scenario() -> Scenario {
    let mut webapp = CoreMetadata::new("webapp", "1.0");
    webapp.requires_dist = vec!["helper>=1".to_string(), "fromsource".to_string()];
    scenario_of(&[
        WheelBuilder::new("webapp", "1.0", "py3-none-any")
            .metadata(&webapp)
            .file("webapp/__init__.py", "import helper\n"),
        WheelBuilder::new("helper", "1.0", "py3-none-any")
            .file("helper/__init__.py", "VALUE = 1\n"),
    ])
    .with_projects(FROM_SOURCE)
}

/// The folder names of `vendor cache info`'s table.
fn listed_folders(project: &Project) -> Vec<String> {
    let outcome = project.run(&["cache", "info"]);
    outcome.assert_success();
    outcome
        .stdout
        .lines()
        .skip(1)
        .filter(|line| line.ends_with("yes") || line.ends_with("with --all"))
        .map(|line| line.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// A project locked and built from the loopback index (kept running for
/// later builds), with the files its build wrote.
fn built_project() -> (TestIndex, Project, BTreeMap<String, Vec<u8>>) {
    let index = TestIndex::start(scenario());
    let project = Project::new().requirements("webapp\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    let built = tree(&project.file("dist/el9"));
    (index, project, built)
}

#[test]
fn clean_removes_what_builds_remake_and_all_empties_the_cache() {
    let (_index, project, built) = built_project();

    let dir = project.run(&["cache", "dir"]);
    dir.assert_success();
    assert_eq!(dir.stdout.trim(), project.cache_dir().display().to_string());
    let folders = listed_folders(&project);
    for folder in ["artifacts", "installed-v1", "packaged-v1", "verified-v1"] {
        assert!(
            folders.iter().any(|name| name == folder),
            "{folder}: {folders:?}"
        );
    }

    project
        .run(&["cache", "clean"])
        .assert_success()
        .assert_mentions(&["removed "]);
    let folders = listed_folders(&project);
    for gone in ["installed-v1", "packaged-v1", "verified-v1"] {
        assert!(
            !folders.iter().any(|name| name == gone),
            "{gone}: {folders:?}"
        );
    }
    assert!(
        folders.iter().any(|name| name == "artifacts"),
        "{folders:?}"
    );
    project.run(&["build", "--offline"]).assert_success();
    assert!(
        tree(&project.file("dist/el9")) == built,
        "the build after a clean differs"
    );

    project.run(&["cache", "clean", "--all"]).assert_success();
    project
        .run(&["build", "--offline"])
        .assert_code(1)
        .assert_mentions(&["not in the cache", "webapp-1.0-py3-none-any.whl"]);
}

/// The one file of `folder`'s tree whose path ends with `suffix`.
fn one_file(folder: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = files_under(folder)
        .into_iter()
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{suffix} under {}: {found:?}",
        folder.display()
    );
    found.into_iter().next().unwrap()
}

/// Replace `path` by a new file (not writing through hard links).
fn replace(path: &Path, bytes: &[u8]) {
    fs_err::remove_file(path).unwrap();
    fs_err::write(path, bytes).unwrap();
}

/// The wheel at `path` with one file's bytes changed and RECORD left as is.
fn tamper_with_wheel(path: &Path, member_suffix: &str) {
    let mut archive = zip::ZipArchive::new(fs_err::File::open(path).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let name = file.name().to_string();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        if name.ends_with(member_suffix) {
            bytes.extend_from_slice(b"print('tampered')\n");
        }
        writer
            .start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&bytes).unwrap();
    }
    replace(path, &writer.finish().unwrap().into_inner());
}

#[test]
fn verify_finds_each_kind_of_damage_and_remove_lets_the_next_build_heal() {
    let (_index, project, built) = built_project();

    let sound = project.run(&["cache", "verify"]);
    sound.assert_success().assert_mentions(&["0 damaged"]);
    for folder in [
        "artifacts/sha256",
        "built-v1",
        "installed-v1",
        "packaged-v1",
    ] {
        let checked: usize = sound
            .stdout
            .lines()
            .find(|line| line.starts_with(folder))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("{folder} in {}", sound.stdout));
        assert!(checked >= 1, "{folder}: {}", sound.stdout);
    }

    // One damaged entry of each kind, as a bad disk or a stray write leaves them.
    let cache = project.cache_dir();
    let artifact = one_file(&cache.join("artifacts"), "helper-1.0-py3-none-any.whl");
    let mut bytes = fs_err::read(&artifact).unwrap();
    bytes[40] ^= 0xff;
    replace(&artifact, &bytes);
    tamper_with_wheel(
        &one_file(&cache.join("built-v1"), "fromsource-2.0-py3-none-any.whl"),
        "__init__.py",
    );
    let installed = cache.join("installed-v1");
    let webapp_init = one_file(&installed, "site-packages/webapp/__init__.py");
    let text = fs_err::read(&webapp_init).unwrap();
    replace(&webapp_init, &[text.as_slice(), b"# edited\n"].concat());
    let helper_init = one_file(&installed, "site-packages/helper/__init__.py");
    fs_err::write(helper_init.with_file_name("planted.py"), "import os\n").unwrap();
    let kept = one_file(
        &cache.join("packaged-v1"),
        "demo-python3-fromsource-2.0-1.el9.noarch.rpm",
    );
    let mut bytes = fs_err::read(&kept).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    replace(&kept, &bytes);

    let damaged = project.run(&["cache", "verify"]);
    damaged
        .assert_code(1)
        .assert_mentions(&[
            "5 damaged",
            "`helper-1.0-py3-none-any.whl` has sha256",
            "fromsource/__init__.py",
            "webapp/__init__.py` has",
            "planted.py` is not in the manifest",
            "demo-python3-fromsource-2.0-1.el9.noarch.rpm`",
        ])
        .assert_hint_last("vendor cache verify --remove");

    project
        .run(&["cache", "verify", "--remove"])
        .assert_success()
        .assert_mentions(&["5 damaged", "(removed)"]);
    project
        .run(&["cache", "verify"])
        .assert_success()
        .assert_mentions(&["0 damaged"]);
    assert!(!artifact.exists() && !kept.exists() && !webapp_init.exists());
    assert!(
        project.cache_temp_files().is_empty(),
        "{:?}",
        project.cache_temp_files()
    );

    project.run(&["build"]).assert_success();
    assert!(
        tree(&project.file("dist/el9")) == built,
        "the build after removing damaged entries differs"
    );
    project
        .run(&["cache", "verify"])
        .assert_success()
        .assert_mentions(&["0 damaged"]);
}
