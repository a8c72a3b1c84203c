//! Hermetic test of releases on a fleet: release 1 installed with `dnf
//! --installroot` over the el9 stand-in, then release 2 — one version up,
//! one down, one package added, one dropped, one rebuilt from its sdist at
//! the same version — reaches the server with a plain `dnf upgrade`, exactly;
//! `dnf downgrade <app>-deps` (with `dnf autoremove`) and, separately, `dnf
//! history undo` take it back to release 1 exactly; an unchanged rebuild
//! leaves every file byte-identical. The index is `lock_build_requires`'s.

use crate::common;
use crate::rpm_tools;

use std::collections::BTreeSet;
use std::path::Path;

use common::Project;

const APP: &str = "demo";

/// `name version` of every installed RPM of the app.
fn installed(root: &Path) -> BTreeSet<String> {
    rpm_tools::rpm(&[
        "--root",
        root.to_str().unwrap(),
        "-qa",
        "--qf",
        "%{NAME} %{VERSION}\n",
    ])
    .lines()
    .filter(|line| line.starts_with(&format!("{APP}-")))
    .map(str::to_string)
    .collect()
}

/// What a release's `<app>-deps` requires, as `name version` (the set
/// the lock says), plus `<app>-deps` itself.
fn release_set(repository: &Path, number: u64) -> BTreeSet<String> {
    let deps = repository.join(format!("{APP}-deps-{number}-1.el9.noarch.rpm"));
    let mut set: BTreeSet<String> = rpm_tools::rpm(&["-qp", "--requires", deps.to_str().unwrap()])
        .lines()
        .filter(|line| line.starts_with(&format!("{APP}-")))
        .map(|line| {
            let (name, evr) = line.split_once(" = ").expect("exact requirements");
            let version_release = evr.split_once(':').map_or(evr, |(_, rest)| rest);
            let version = version_release
                .rsplit_once('-')
                .map_or(version_release, |(v, _)| v);
            format!("{name} {version}")
        })
        .collect();
    set.insert(format!("{APP}-deps {number}"));
    set
}

fn header_digest(arguments: &[&str]) -> String {
    rpm_tools::rpm(&[arguments, &["--qf", "%{SHA256HEADER}"]].concat())
}

#[test]
fn a_release_reaches_the_server_with_dnf_upgrade_and_goes_back_with_dnf() {
    let index = crate::lock_build_requires::index();
    let project =
        Project::new().requirements("contested==2.0\nbuildtool==1.0\nbackendhelper\npurewheel\n");
    project.write("vendor.toml", &format!("[app]\nname = \"{APP}\"\n"));
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    let repository = project.file("dist/el9");
    let first = release_set(&repository, 1);

    let stand_in = rpm_tools::build_stand_in();
    let repositories = [
        ("app", repository.as_path()),
        ("standin", stand_in.repository.as_path()),
    ];
    let root = tempfile::tempdir().unwrap();
    let dnf = |args: &[&str]| {
        rpm_tools::run(rpm_tools::dnf(root.path(), &repositories).args(args));
    };
    dnf(&["install", &format!("{APP}-deps")]);
    assert_eq!(installed(root.path()), first);

    // Release 2: contested down, buildtool up, backendhelper dropped,
    // runtimedep added, purewheel built from its sdist at the same version.
    project.write(
        "requirements.in",
        "contested==1.0\nbuildtool==1.5\nruntimedep\npurewheel\n",
    );
    project.write(
        "vendor.toml",
        &format!("[app]\nname = \"{APP}\"\n[build]\nfrom-source = [\"purewheel\"]\n"),
    );
    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    let second = release_set(&repository, 2);
    assert!(second.contains("demo-python3-contested 1.0"), "{second:?}");
    assert!(second.contains("demo-python3-runtimedep 1.0"), "{second:?}");
    assert!(!second
        .iter()
        .any(|rpm| rpm.starts_with("demo-python3-backendhelper")));
    let rebuilt = "demo-python3-purewheel-1.0-2.el9.noarch.rpm";
    assert!(
        repository.join(rebuilt).is_file(),
        "the rebuilt package has release 2"
    );
    assert!(
        repository
            .join("demo-python3-purewheel-1.0-1.el9.noarch.rpm")
            .is_file(),
        "release 1's RPMs stay for rollbacks"
    );

    dnf(&["--refresh", "upgrade"]);
    assert_eq!(
        installed(root.path()),
        second,
        "dnf upgrade installs exactly release 2"
    );
    assert_eq!(
        header_digest(&[
            "--root",
            root.path().to_str().unwrap(),
            "-q",
            "demo-python3-purewheel"
        ]),
        header_digest(&["-qp", repository.join(rebuilt).to_str().unwrap()]),
        "the rebuilt package on the server is release 2's"
    );

    dnf(&["downgrade", &format!("{APP}-deps")]);
    dnf(&["autoremove"]);
    assert_eq!(
        installed(root.path()),
        first,
        "downgrade + autoremove: exactly release 1"
    );

    dnf(&["upgrade"]);
    assert_eq!(installed(root.path()), second);
    dnf(&["history", "undo", "last"]);
    assert_eq!(
        installed(root.path()),
        first,
        "history undo: exactly release 1"
    );

    let before = rpm_tools::file_tree(&repository);
    project.run(&["build"]).assert_success();
    rpm_tools::assert_same_tree(&before, &rpm_tools::file_tree(&repository));

    project
        .run(&["releases"])
        .assert_success()
        .assert_mentions(&[
            "release 2",
            "↓ demo-python3-contested 2.0 → 1.0",
            "↑ demo-python3-buildtool 1.0 → 1.5",
            "+ demo-python3-runtimedep 1.0",
            "- demo-python3-backendhelper",
            "~ demo-python3-purewheel 1.0 rebuilt",
        ]);
}
