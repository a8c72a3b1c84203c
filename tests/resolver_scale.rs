//! Hermetic test of the resolver at the scale of boto3: two sibling
//! packages released hundreds of times, each release pinning the other
//! and capping a dependency that the requirements name first. `vendor
//! lock` must pick the newest releases (as uv does) and read the metadata
//! of a handful of versions, not walk the history — counted in requests
//! to the loopback index, never in time.

use crate::common;

use common::{Project, Scenario, TestIndex};

const RELEASES: usize = 200;

/// `boto` and `core` 1.1 … 1.200 (each `boto` pins its `core`, both cap
/// `dateutil` below 3), `boto` 0.1 without dependencies, and `dateutil` 2.9
/// and 3.0.
fn sibling_projects() -> String {
    let mut boto =
        String::from("[[project]]\nname = \"boto\"\n[[project.version]]\nversion = \"0.1\"\n");
    let mut core = String::from("[[project]]\nname = \"core\"\n");
    for minor in 1..=RELEASES {
        boto.push_str(&format!(
            "[[project.version]]\nversion = \"1.{minor}\"\ndependencies = [\"core==1.{minor}\", \"dateutil<3\"]\n"
        ));
        core.push_str(&format!(
            "[[project.version]]\nversion = \"1.{minor}\"\ndependencies = [\"dateutil<3\"]\n"
        ));
    }
    let dateutil = "[[project]]\nname = \"dateutil\"\n[[project.version]]\nversion = \"2.9\"\n[[project.version]]\nversion = \"3.0\"\n";
    format!("{boto}\n{core}\n{dateutil}")
}

#[test]
fn a_boto3_shaped_resolution_reads_a_handful_of_versions() {
    let index = TestIndex::start(Scenario::empty().with_projects(&sibling_projects()));
    let project = Project::new().requirements("dateutil\nboto\n");
    project.lock(&index).assert_success();
    let lock = project.pylock();
    assert_eq!(lock.version_of("boto"), format!("1.{RELEASES}"));
    assert_eq!(lock.version_of("core"), format!("1.{RELEASES}"));
    assert_eq!(lock.version_of("dateutil"), "2.9");
    let metadata_reads = index
        .requests()
        .iter()
        .filter(|request| {
            let path = request.path_only();
            path.ends_with(".metadata") || path.ends_with(".whl")
        })
        .count();
    // Shown with `--no-capture`, for the record.
    eprintln!("boto3-shaped resolution: {metadata_reads} metadata or wheel requests");
    assert!(
        metadata_reads <= 30,
        "{metadata_reads} metadata or wheel requests for a resolution of 3 packages"
    );
}
