//! Hermetic tests of direct references: a forge-style source archive
//! with `#subdirectory=`, a local folder (`-e ./treepkg`, whose version
//! only its backend knows), a
//! git repository at a tag (`git+file://…@v1`) and a `file://` sdist lock as
//! PEP 751 `directory`, `vcs` (the tag's commit) and `archive` sources with
//! their build environments; `vendor fetch` packs the folder and the commit
//! into sdists (again offline, from the cache, for the commit); `vendor
//! build` builds all three with their in-tree backend and packages them.
//! The index is `lock_build_requires`'s; the trees carry the fixture
//! backend of `tests/common/fixture_backend.py`.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::scenario::FIXTURE_BACKEND;
use common::Project;

/// A project folder built by the fixture backend: `name` `version`, one
/// module, depending on `runtimedep`, built with `buildtool<2`. With
/// `dynamic`, only the backend knows the version (as with `setup.py` or
/// setuptools-scm).
fn write_tree(folder: &Path, name: &str, version: &str, dynamic: bool) {
    let module = name.replace('-', "_");
    let version_line = match dynamic {
        true => "dynamic = [\"version\"]".to_string(),
        false => format!("version = \"{version}\""),
    };
    let files = [
        (
            "pyproject.toml".to_string(),
            format!(
                "[build-system]\nrequires = [\"buildtool<2\"]\nbuild-backend = \"fixture_backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"{name}\"\n{version_line}\ndependencies = [\"runtimedep\"]\n"
            ),
        ),
        ("fixture_backend.py".to_string(), FIXTURE_BACKEND.to_string()),
        (
            "_fixture/METADATA".to_string(),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Dist: runtimedep\n"),
        ),
        (
            format!("{module}/__init__.py"),
            format!("VERSION = \"{version}\"\n"),
        ),
    ];
    for (relative, text) in files {
        let path = folder.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn git(folder: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(folder)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A repository whose tag `v1` holds `gitpkg` 1.0 and whose branch has
/// moved on to 2.0; returns its `file://` URL and the tag's commit.
fn repository(folder: &Path) -> (String, String) {
    std::fs::create_dir_all(folder).unwrap();
    git(folder, &["init", "--quiet", "--initial-branch", "main"]);
    write_tree(folder, "gitpkg", "1.0", false);
    git(folder, &["add", "-A"]);
    git(folder, &["commit", "--quiet", "-m", "1.0"]);
    git(folder, &["tag", "v1"]);
    let tagged = git(folder, &["rev-parse", "HEAD"]);
    write_tree(folder, "gitpkg", "2.0", false);
    git(folder, &["commit", "--quiet", "-am", "2.0"]);
    let url = url::Url::from_directory_path(folder).unwrap();
    (url.to_string().trim_end_matches('/').to_string(), tagged)
}

/// The source table (`directory`, `vcs`, `archive`) of a locked package.
fn source_of(lock: &common::PyLock, name: &str, kind: &str) -> toml::Table {
    let package = lock.package(name);
    package
        .table
        .get(kind)
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("`{name}` has no `{kind}`:\n{}", lock.text))
        .clone()
}

#[test]
fn folders_repositories_and_archives_lock_fetch_and_build_as_sdists() {
    let index = crate::lock_build_requires::index();
    let scratch = tempfile::tempdir().unwrap();
    let (repository_url, tagged) = repository(&scratch.path().join("repo"));
    let archive = index.artifact("nativepkg-1.0.tar.gz");
    let archive_path = scratch.path().join("nativepkg-1.0.tar.gz");
    std::fs::write(&archive_path, archive.bytes.as_slice()).unwrap();
    let archive_url = url::Url::from_file_path(&archive_path).unwrap();

    // A forge-style archive of a whole repository (`<commit>.tar.gz`, one
    // top folder) whose project is in a subdirectory.
    let forge = scratch.path().join("forge");
    write_tree(&forge.join("mono-0a1b2c3/python"), "archpkg", "4.2", false);
    let forge_archive = scratch.path().join("0a1b2c3.tar.gz");
    let tarred = Command::new("tar")
        .arg("czf")
        .arg(&forge_archive)
        .arg("-C")
        .arg(&forge)
        .arg("mono-0a1b2c3")
        .status()
        .unwrap();
    assert!(tarred.success());
    let forge_url = url::Url::from_file_path(&forge_archive).unwrap();

    let project = Project::new().requirements(&format!(
        "-e ./treepkg\ngitpkg @ git+{repository_url}@v1\nnativepkg @ {archive_url}\narchpkg @ {forge_url}#subdirectory=python\n"
    ));
    write_tree(&project.file("treepkg"), "treepkg", "0.3", true);
    project.write(
        "vendor.toml",
        "[app]\nname = \"demo\"\nprefix = \"/opt/demo\"\n",
    );
    project.lock(&index).assert_success();

    let lock = project.pylock();
    assert_eq!(lock.version_of("treepkg"), "0.3");
    assert_eq!(lock.version_of("gitpkg"), "1.0", "the tag, not the branch");
    assert_eq!(lock.version_of("runtimedep"), "1.0");
    let directory = source_of(&lock, "treepkg", "directory");
    assert_eq!(directory["path"].as_str(), Some("treepkg"));
    let vcs = source_of(&lock, "gitpkg", "vcs");
    assert_eq!(vcs["commit-id"].as_str(), Some(tagged.as_str()));
    assert_eq!(vcs["requested-revision"].as_str(), Some("v1"));
    let archived = source_of(&lock, "nativepkg", "archive");
    assert_eq!(
        archived["hashes"]["sha256"].as_str(),
        Some(archive.sha256.as_str())
    );
    let forge_source = source_of(&lock, "archpkg", "archive");
    assert_eq!(forge_source["subdirectory"].as_str(), Some("python"));
    assert_eq!(lock.version_of("archpkg"), "4.2");
    assert!(forge_source["hashes"]["sha256"].as_str().is_some());
    for name in ["treepkg", "gitpkg", "nativepkg", "archpkg"] {
        let package = lock.package(name);
        assert!(
            package.sdist().is_none() && package.wheels().is_empty(),
            "{name}"
        );
        let build = package
            .table
            .get("tool")
            .and_then(|tool| tool.get("vendor"));
        assert!(
            build.is_some_and(|vendor| vendor.get("build-requires").is_some()),
            "`{name}` has its build environment:\n{}",
            lock.text
        );
    }
    // Locking again changes nothing; the packed trees are deterministic.
    project.lock_with(&index, &["--locked"]).assert_success();
    // uv reads the sources as PEP 751 defines them.
    let plan = crate::lock_build_requires::uv_install_plan(&project, &index, "pylock.toml");
    let gitpkg = format!("+ gitpkg @ git+{repository_url}@{tagged}");
    for expected in [
        gitpkg.as_str(),
        "+ treepkg @ file://",
        "+ nativepkg @ file://",
        "+ archpkg @ file://",
        "+ runtimedep==1.0",
    ] {
        assert!(plan.contains(expected), "{expected}: {plan}");
    }

    project.fetch().assert_success();
    project.fetch_with(&["--offline"]).assert_success();

    project.run(&["build"]).assert_success();
    let mut rpms: Vec<String> = std::fs::read_dir(project.file("dist/el9"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rpm"))
        .collect();
    rpms.sort();
    for expected in [
        "demo-python3-gitpkg-1.0-1.el9.noarch.rpm",
        "demo-python3-nativepkg-1.0-1.el9.noarch.rpm",
        "demo-python3-treepkg-0.3-1.el9.noarch.rpm",
        "demo-python3-archpkg-4.2-1.el9.noarch.rpm",
    ] {
        assert!(
            rpms.iter().any(|rpm| rpm == expected),
            "{expected}: {rpms:?}"
        );
    }
}

#[test]
fn a_missing_revision_or_folder_is_named_with_its_line() {
    let index = crate::lock_build_requires::index();
    let scratch = tempfile::tempdir().unwrap();
    let (repository_url, _) = repository(&scratch.path().join("repo"));
    let project =
        Project::new().requirements(&format!("six\ngitpkg @ git+{repository_url}@nope\n"));
    project.lock(&index).assert_code(1).assert_mentions(&[
        "requirements.in:2",
        "`gitpkg`",
        "no commit, tag or branch `nope`",
    ]);
    project.write("requirements.in", "./missing\n");
    project
        .lock(&index)
        .assert_code(1)
        .assert_mentions(&["requirements.in:1", "cannot tell which package"]);
}

#[test]
fn a_backend_without_a_metadata_hook_is_built_to_read_the_metadata() {
    let index = crate::lock_build_requires::index();
    let project = Project::new().requirements("-e ./plainpkg\n");
    let tree = project.file("plainpkg");
    write_tree(&tree, "plainpkg", "0.7", true);
    // A backend with only the mandatory hooks (as old in-house backends):
    // the version is known only from the wheel it builds.
    std::fs::write(
        tree.join("plain_backend.py"),
        "from fixture_backend import build_wheel, build_sdist\n",
    )
    .unwrap();
    let pyproject = std::fs::read_to_string(tree.join("pyproject.toml")).unwrap();
    std::fs::write(
        tree.join("pyproject.toml"),
        pyproject.replace("\"fixture_backend\"", "\"plain_backend\""),
    )
    .unwrap();
    let locked = project.lock_with(&index, &["-v"]);
    locked.assert_success().assert_mentions(&[
        "info prepare_metadata_for_build_wheel of `plainpkg",
        "info build_wheel of `plainpkg",
    ]);
    assert_eq!(
        project.pylock().versions(),
        common::expected_versions(&[("plainpkg", "0.7"), ("runtimedep", "1.0")])
    );
}

/// A backend standing in for setuptools-scm: the version comes from the
/// sdist's `PKG-INFO`; without one (a tree packed without `.git` and
/// without the version) it fails as setuptools-scm does.
const SCM_BACKEND: &str = r#"import os, re
import fixture_backend as _inner

_ROOT = os.path.dirname(os.path.abspath(__file__))


def _take_version():
    pkg_info = os.path.join(_ROOT, "PKG-INFO")
    if not os.path.exists(pkg_info):
        raise LookupError("setuptools-scm was unable to detect version for " + _ROOT)
    with open(pkg_info, encoding="utf-8") as handle:
        version = re.search(r"^Version: (.+)$", handle.read(), re.M).group(1)
    path = os.path.join(_ROOT, "_fixture", "METADATA")
    with open(path, encoding="utf-8") as handle:
        text = re.sub(r"^Version: .*$", "Version: " + version, handle.read(), flags=re.M)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def prepare_metadata_for_build_wheel(directory, config_settings=None):
    _take_version()
    return _inner.prepare_metadata_for_build_wheel(directory, config_settings)


def build_wheel(directory, config_settings=None, metadata_directory=None):
    _take_version()
    return _inner.build_wheel(directory, config_settings, metadata_directory)
"#;

#[test]
fn a_repository_versioned_by_its_tags_locks_and_builds_with_setuptools_scm_versions() {
    let index = crate::lock_build_requires::index();
    let scratch = tempfile::tempdir().unwrap();
    let folder = scratch.path().join("scmrepo");
    std::fs::create_dir_all(&folder).unwrap();
    git(&folder, &["init", "--quiet", "--initial-branch", "main"]);
    write_tree(&folder, "scmpkg", "0", true);
    let pyproject = std::fs::read_to_string(folder.join("pyproject.toml")).unwrap();
    std::fs::write(
        folder.join("pyproject.toml"),
        pyproject
            .replace("\"buildtool<2\"]", "\"buildtool<2\", \"setuptools-scm\"]")
            .replace("\"fixture_backend\"", "\"scm_backend\""),
    )
    .unwrap();
    std::fs::write(folder.join("scm_backend.py"), SCM_BACKEND).unwrap();
    git(&folder, &["add", "-A"]);
    git(&folder, &["commit", "--quiet", "-m", "first"]);
    git(&folder, &["tag", "v1.4.0"]);
    std::fs::write(folder.join("scmpkg/extra.py"), "X = 2\n").unwrap();
    git(&folder, &["add", "-A"]);
    git(&folder, &["commit", "--quiet", "-m", "second"]);
    let head = git(&folder, &["rev-parse", "--short", "HEAD"]);
    let url = url::Url::from_directory_path(&folder).unwrap();

    // At the tag: the tag's version; on the branch past it: the next
    // version's dev release, as setuptools-scm numbers it.
    let tagged = Project::new().requirements(&format!("scmpkg @ git+{url}@v1.4.0\n"));
    tagged.write("vendor.toml", "[app]\nname = \"scm\"\n");
    tagged.lock(&index).assert_success();
    assert_eq!(
        tagged.pylock().versions(),
        common::expected_versions(&[("scmpkg", "1.4.0"), ("runtimedep", "1.0")])
    );
    tagged.run(&["build"]).assert_success();
    let rpms = crate::rpm_tools::rpms_by_name(&tagged.file("dist/el9"));
    assert!(rpms.contains_key("scm-python3-scmpkg"), "{rpms:?}");

    let branch = Project::new().requirements(&format!("scmpkg @ git+{url}@main\n"));
    branch.lock(&index).assert_success();
    let dev_release = format!("1.4.1.dev1+g{head}");
    assert_eq!(
        branch.pylock().versions(),
        common::expected_versions(&[("scmpkg", &dev_release), ("runtimedep", "1.0")])
    );
}
