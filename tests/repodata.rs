//! RPMs written in-process plus the repository metadata written in-process,
//! read by the real `dnf` (repoquery, then an install into a scratch root
//! with dependencies checked) and compared with what `createrepo_c` writes
//! for the same folder.

use crate::rpm_tools;

use std::path::{Path, PathBuf};

use vendor::package::dependency::{DependencyFlags, RpmDependency};
use vendor::package::repodata::{write_repodata, RepodataError};
use vendor::package::rpm_writer::{
    write_rpm, RpmDirectory, RpmFile, RpmFileSource, RpmScripts, RpmSpec,
};
use vendor::package::version::RpmEvr;

use rpm_tools::file_tree as tree;

const BUILD_TIME: u64 = 1_700_000_000;

fn evr(epoch: Option<u64>, version: &str, release: Option<&str>) -> RpmEvr {
    RpmEvr {
        epoch,
        version: version.into(),
        release: release.map(Into::into),
    }
}

fn versioned(name: &str, flags: DependencyFlags, evr: RpmEvr) -> RpmDependency {
    RpmDependency::versioned(name, flags, evr)
}

fn spec(name: &str, epoch: Option<u64>, version: &str, build_time: u64) -> RpmSpec {
    RpmSpec {
        name: name.into(),
        epoch,
        version: version.into(),
        release: "1.el9".into(),
        arch: "noarch".into(),
        // Characters XML must escape, so the createrepo_c comparison covers them.
        summary: format!("{name} <summary> & \"more\", it's"),
        description: format!("The {name} package.\n\n\tIndented line."),
        license: "MIT".into(),
        url: None,
        group: None,
        packager: None,
        vendor: None,
        build_time,
        build_host: "vendor".into(),
        files: Vec::new(),
        directories: Vec::new(),
        requires: Vec::new(),
        provides: Vec::new(),
        obsoletes: Vec::new(),
        scripts: RpmScripts::default(),
    }
}

fn bytes_file(path: &str, mode: u32, contents: &str) -> RpmFile {
    RpmFile {
        path: path.into(),
        mode,
        source: RpmFileSource::Bytes(contents.as_bytes().to_vec()),
        is_license: false,
        is_doc: false,
        is_config: false,
        group: None,
    }
}

fn directory(path: &str) -> RpmDirectory {
    RpmDirectory {
        path: path.into(),
        mode: 0o755,
    }
}

/// A small app repository: a venv base owning the prefix and providing the
/// interpreter path, two libraries (an epoch, a `^` post-release, a rich
/// dependency), and the meta package requiring each at its exact EVR. The
/// target system's `python(abi)` comes from a separate stand-in repository.
fn app_specs() -> Vec<RpmSpec> {
    let mut venv = spec("demo-venv", None, "1", BUILD_TIME);
    venv.directories = ["/opt/demo", "/opt/demo/bin", "/opt/demo/lib"]
        .into_iter()
        .map(directory)
        .collect();
    venv.files = vec![
        bytes_file("/opt/demo/bin/python", 0o755, "#!/bin/sh\n"),
        bytes_file("/opt/demo/pyvenv.cfg", 0o644, "home = /usr/bin\n"),
    ];
    venv.requires = vec![versioned(
        "python(abi)",
        DependencyFlags::Equal,
        evr(None, "3.11", None),
    )];

    let mut alpha = spec("demo-python3-alpha", Some(1), "1.0", BUILD_TIME + 10);
    alpha.directories = vec![directory("/opt/demo/lib/alpha")];
    alpha.files = vec![
        bytes_file("/opt/demo/lib/alpha/__init__.py", 0o644, "ALPHA = 1\n"),
        bytes_file("/opt/demo/bin/alpha", 0o755, "#!/opt/demo/bin/python\n"),
    ];
    alpha.requires = vec![
        RpmDependency::any("/opt/demo/bin/python"),
        versioned(
            "python(abi)",
            DependencyFlags::Equal,
            evr(None, "3.11", None),
        ),
        RpmDependency::Rich(
            "(demo-python3dist(beta) >= 2 with demo-python3dist(beta) < 3~~)".into(),
        ),
    ];
    alpha.provides = vec![versioned(
        "demo-python3dist(alpha)",
        DependencyFlags::Equal,
        evr(Some(1), "1", None),
    )];

    let mut beta = spec("demo-python3-beta", None, "2.5^post1", BUILD_TIME + 20);
    beta.directories = vec![directory("/opt/demo/lib/beta")];
    beta.files = vec![bytes_file(
        "/opt/demo/lib/beta/__init__.py",
        0o644,
        "BETA = 2\n",
    )];
    beta.requires = vec![versioned(
        "python(abi)",
        DependencyFlags::Equal,
        evr(None, "3.11", None),
    )];
    beta.provides = vec![versioned(
        "demo-python3dist(beta)",
        DependencyFlags::Equal,
        evr(None, "2.5^post1", None),
    )];

    let mut deps = spec("demo-deps", None, "1", BUILD_TIME);
    deps.requires = vec![
        RpmDependency::any("demo-venv"),
        versioned(
            "demo-python3-alpha",
            DependencyFlags::Equal,
            evr(Some(1), "1.0", Some("1.el9")),
        ),
        versioned(
            "demo-python3-beta",
            DependencyFlags::Equal,
            evr(None, "2.5^post1", Some("1.el9")),
        ),
    ];
    vec![venv, alpha, beta, deps]
}

/// The target system: something that provides `python(abi) = 3.11`.
fn stand_in_repository(folder: &Path) -> PathBuf {
    let repo = folder.join("system");
    fs_err::create_dir_all(&repo).unwrap();
    let mut python = spec("system-python", None, "3.11.9", BUILD_TIME);
    python.provides = vec![versioned(
        "python(abi)",
        DependencyFlags::Equal,
        evr(None, "3.11", None),
    )];
    write_rpm(&python, &repo).unwrap();
    write_repodata(&repo).unwrap();
    repo
}

fn write_app_repository(folder: &Path) -> (PathBuf, Vec<PathBuf>) {
    let repo = folder.join("app");
    fs_err::create_dir_all(&repo).unwrap();
    let rpms = app_specs()
        .iter()
        .map(|spec| write_rpm(spec, &repo).unwrap().path)
        .collect();
    (repo, rpms)
}

/// A new folder holding copies of `rpms`.
fn copy_rpms(rpms: &[PathBuf], folder: &Path) -> PathBuf {
    fs_err::create_dir_all(folder).unwrap();
    for rpm_file in rpms {
        fs_err::copy(rpm_file, folder.join(rpm_file.file_name().unwrap())).unwrap();
    }
    folder.to_path_buf()
}

#[test]
fn dnf_reads_the_dependencies_rpm_wrote() {
    let folder = tempfile::tempdir().unwrap();
    let (repo, rpms) = write_app_repository(folder.path());
    let summary = write_repodata(&repo).unwrap();
    assert_eq!(summary.package_count, 4);
    assert_eq!(summary.revision, BUILD_TIME + 20);
    assert_eq!(summary.repomd_path, repo.join("repodata/repomd.xml"));

    let repositories = [("app", repo.as_path())];
    let listed = rpm_tools::dnf_repoquery(
        &repositories,
        &["--qf", "%{name} %{epoch} %{version} %{release} %{arch}"],
    );
    assert_eq!(
        listed,
        [
            "demo-deps 0 1 1.el9 noarch",
            "demo-python3-alpha 1 1.0 1.el9 noarch",
            "demo-python3-beta 0 2.5^post1 1.el9 noarch",
            "demo-venv 0 1 1.el9 noarch",
        ]
    );
    for rpm_file in &rpms {
        let name = rpm_tools::rpm(&["-qp", "--qf", "%{NAME}", rpm_file.to_str().unwrap()]);
        for query in ["--requires", "--provides"] {
            // rpm checks rpmlib() features itself; repodata leaves them out,
            // and so do requires the package satisfies on its own.
            let own_paths: Vec<String> = rpm_tools::rpm_query_lines(rpm_file, "--list");
            let expected: Vec<String> = rpm_tools::rpm_query_lines(rpm_file, query)
                .into_iter()
                .filter(|line| !line.starts_with("rpmlib(") && !own_paths.contains(line))
                .collect();
            let from_dnf = rpm_tools::dnf_repoquery(&repositories, &[query, &name]);
            assert_eq!(from_dnf, expected, "{query} of {name}");
        }
    }
    // The exact-EVR requires (demo-deps) and the rich dependency on what
    // beta provides (alpha) are real dependencies to dnf.
    let what_requires = rpm_tools::dnf_repoquery(
        &repositories,
        &["--whatrequires", "demo-python3-beta", "--qf", "%{name}"],
    );
    assert_eq!(what_requires, ["demo-deps", "demo-python3-alpha"]);
    let what_provides = rpm_tools::dnf_repoquery(
        &repositories,
        &[
            "--whatprovides",
            "demo-python3dist(beta) < 3",
            "--qf",
            "%{name}",
        ],
    );
    assert_eq!(what_provides, ["demo-python3-beta"]);
}

#[test]
fn dnf_installs_the_meta_package_with_dependencies_checked() {
    let folder = tempfile::tempdir().unwrap();
    let (repo, _) = write_app_repository(folder.path());
    write_repodata(&repo).unwrap();
    let system = stand_in_repository(folder.path());
    let root = folder.path().join("root");
    fs_err::create_dir_all(&root).unwrap();

    // Without the target system's python(abi), nothing can be installed.
    let missing = rpm_tools::dnf(&root, &[("app", &repo)])
        .args(["install", "demo-deps"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("python(abi)"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    rpm_tools::run(
        rpm_tools::dnf(&root, &[("app", &repo), ("system", &system)])
            .args(["install", "demo-deps"]),
    );
    assert_eq!(
        fs_err::read_to_string(root.join("opt/demo/lib/alpha/__init__.py")).unwrap(),
        "ALPHA = 1\n"
    );
    let installed = rpm_tools::rpm(&["-qa", "--root", root.to_str().unwrap(), "--qf", "%{NAME}\n"]);
    let mut installed: Vec<&str> = installed.lines().collect();
    installed.sort();
    assert_eq!(
        installed,
        [
            "demo-deps",
            "demo-python3-alpha",
            "demo-python3-beta",
            "demo-venv",
            "system-python",
        ]
    );
}

#[test]
fn metadata_is_what_createrepo_c_writes() {
    let folder = tempfile::tempdir().unwrap();
    let (repo, rpms) = write_app_repository(folder.path());
    write_repodata(&repo).unwrap();

    let reference = copy_rpms(&rpms, &folder.path().join("reference"));
    rpm_tools::createrepo_c(&reference);

    // createrepo_c records each RPM's mtime as its file time; we record the
    // build time so that copies give the same bytes. Everything else —
    // dependencies, EVR split, header range, checksums, file lists — must be
    // the same text.
    let file_time = regex::Regex::new(r#"<time file="[0-9]+" "#).unwrap();
    for kind in ["primary", "filelists", "other"] {
        let ours = rpm_tools::gunzip(&rpm_tools::repomd_location(&repo, kind));
        let theirs = rpm_tools::gunzip(&rpm_tools::repomd_location(&reference, kind));
        assert_eq!(
            file_time.replace_all(&ours, "<time "),
            file_time.replace_all(&theirs, "<time "),
            "{kind}"
        );
    }
    let primary = rpm_tools::gunzip(&rpm_tools::repomd_location(&repo, "primary"));
    assert!(primary.contains(r#"<time file="1700000010" build="1700000010"/>"#));
    assert!(primary.contains(
        r#"<rpm:entry name="demo-python3-alpha" flags="EQ" epoch="1" ver="1.0" rel="1.el9"/>"#
    ));
}

#[test]
fn same_rpms_give_the_same_metadata_bytes_and_old_metadata_is_replaced() {
    let folder = tempfile::tempdir().unwrap();
    let (repo, rpms) = write_app_repository(folder.path());
    write_repodata(&repo).unwrap();
    let first = tree(&repo.join("repodata"));

    let other = copy_rpms(&rpms, &folder.path().join("other"));
    write_repodata(&other).unwrap();
    assert_eq!(first, tree(&other.join("repodata")));

    // Dropping a package rewrites the metadata; nothing of the old tree or
    // of the staging folders stays behind.
    fs_err::remove_file(&rpms[0]).unwrap();
    let summary = write_repodata(&repo).unwrap();
    assert_eq!(summary.package_count, 3);
    let second = tree(&repo.join("repodata"));
    assert_eq!(second.len(), 4, "{:?}", second.keys());
    assert!(second
        .keys()
        .all(|name| !first.contains_key(name) || name == "repomd.xml"));
    let mut names: Vec<String> = fs_err::read_dir(&repo)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "demo-deps-1-1.el9.noarch.rpm",
            "demo-python3-alpha-1.0-1.el9.noarch.rpm",
            "demo-python3-beta-2.5^post1-1.el9.noarch.rpm",
            "repodata",
        ]
    );
}

#[test]
fn a_broken_rpm_is_named_and_leaves_the_old_metadata_alone() {
    let folder = tempfile::tempdir().unwrap();
    let (repo, _) = write_app_repository(folder.path());
    write_repodata(&repo).unwrap();
    let before = tree(&repo.join("repodata"));

    fs_err::write(repo.join("broken-1-1.noarch.rpm"), "not an rpm").unwrap();
    let error = write_repodata(&repo).unwrap_err();
    assert!(matches!(error, RepodataError::Parse { .. }), "{error:?}");
    assert!(
        error.to_string().contains("broken-1-1.noarch.rpm"),
        "{error}"
    );
    assert_eq!(before, tree(&repo.join("repodata")));
}
