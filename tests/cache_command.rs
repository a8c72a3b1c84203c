//! Integration tests of `vendor cache`: after a real lock and build from the
//! loopback index, `info` lists what the cache holds, `clean` removes what a
//! build makes again (the next offline build gives the same RPMs), and
//! `clean --all` empties it (the next offline build names what is missing).

use crate::common;
use crate::rpm_tools;

use common::{CoreMetadata, Project, Scenario, TestIndex, WheelBuilder};
use rpm_tools::file_tree as tree;

fn scenario() -> Scenario {
    let mut webapp = CoreMetadata::new("webapp", "1.0");
    webapp.requires_dist = vec!["helper>=1".to_string()];
    [
        WheelBuilder::new("webapp", "1.0", "py3-none-any")
            .metadata(&webapp)
            .file("webapp/__init__.py", "import helper\n"),
        WheelBuilder::new("helper", "1.0", "py3-none-any")
            .file("helper/__init__.py", "VALUE = 1\n"),
    ]
    .iter()
    .fold(Scenario::empty(), |scenario, wheel| {
        scenario.with_artifact(common::rpm_fixtures::wheel_artifact(wheel))
    })
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

#[test]
fn clean_removes_what_builds_remake_and_all_empties_the_cache() {
    let index = TestIndex::start(scenario());
    let project = Project::new().requirements("webapp\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    let built = tree(&project.file("dist/el9"));

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
