//! The real RPM tools, driven from integration tests: `rpm`, `dnf` and
//! `createrepo_c` (a cross-check only, never used by `vendor` itself).
//!
//! Include it with `mod rpm_tools;` from a test crate.
//!
//! `dnf` on Debian 12 (dnf 4.14, as root) works with an `--installroot` when
//! told everything the host cannot tell it: the release (`--releasever`, no
//! `system-release` package exists), no host repositories
//! (`--setopt=reposdir=/dev/null`), the repositories by path
//! (`--repofrompath NAME,DIR` plus `--repo NAME` for each), no GPG check (our
//! RPMs are unsigned), no weak dependencies and no plugins. Its cache and
//! rpmdb live inside the install root: Debian's rpm keeps its database at
//! `%_dbpath` = `~/.rpmdb`, under the root for `rpm --root` and dnf alike.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The release dnf assumes for the install root (EL9-like).
pub const RELEASEVER: &str = "9";

/// Run a command, assert it succeeded, return its stdout.
pub fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert_success(command, &output);
    String::from_utf8(output.stdout).expect("tool output is UTF-8")
}

fn assert_success(command: &Command, output: &Output) {
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `rpm ARGS…`, asserting success.
pub fn rpm(args: &[&str]) -> String {
    run(Command::new("rpm").args(args))
}

/// `rpm -qp --requires` / `--provides` / … of one RPM file, one per line.
pub fn rpm_query_lines(rpm_file: &Path, query: &str) -> Vec<String> {
    rpm(&["-qp", query, rpm_file.to_str().unwrap()])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A `dnf` command working on `installroot` with only `repositories`
/// (name, folder) enabled. Add the subcommand and its arguments.
pub fn dnf(installroot: &Path, repositories: &[(&str, &Path)]) -> Command {
    let mut command = Command::new("dnf");
    command
        .arg("--quiet")
        .arg("--assumeyes")
        .arg("--installroot")
        .arg(installroot)
        .args(["--releasever", RELEASEVER])
        .args(["--forcearch", "x86_64"])
        .arg("--setopt=reposdir=/dev/null")
        .arg("--setopt=install_weak_deps=False")
        .arg("--setopt=gpgcheck=False")
        .arg("--nogpgcheck")
        .arg("--noplugins");
    for (name, folder) in repositories {
        command
            .arg("--repofrompath")
            .arg(format!("{name},{}", folder.display()))
            .args(["--repo", name]);
    }
    command
}

/// `dnf repoquery ARGS…` against `repositories` in a throw-away root.
pub fn dnf_repoquery(repositories: &[(&str, &Path)], args: &[&str]) -> Vec<String> {
    let root = tempfile::tempdir().unwrap();
    let output = run(dnf(root.path(), repositories).arg("repoquery").args(args));
    output.lines().map(str::to_owned).collect()
}

/// Run `createrepo_c` on `folder` (writes `folder/repodata/`).
pub fn createrepo_c(folder: &Path) {
    run(Command::new("createrepo_c")
        .args(["--quiet", "--no-database", "--simple-md-filenames"])
        .arg(folder));
}

/// The `href` of `kind` (`primary`, `filelists`, `other`) in `repomd.xml`.
pub fn repomd_location(repo: &Path, kind: &str) -> PathBuf {
    let repomd = fs_err::read_to_string(repo.join("repodata/repomd.xml")).unwrap();
    let location = regex::Regex::new(r#"<location href="([^"]+)""#).unwrap();
    let data = repomd
        .split("<data type=\"")
        .find(|data| data.starts_with(&format!("{kind}\"")))
        .unwrap_or_else(|| panic!("no {kind} in {}", repo.display()));
    repo.join(&location.captures(data).unwrap()[1])
}

/// Decompressed text of a `*.xml.gz` metadata file.
pub fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(fs_err::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// `el9-standin`, built with `rpmbuild` from
/// `test-data/el9-standin.spec`, and a repository holding only it.
pub struct StandIn {
    _folder: tempfile::TempDir,
    pub rpm: PathBuf,
    pub repository: PathBuf,
}

/// Build the stand-in of the target system (under `target/`, so fixtures
/// that live as long as the test process are cleaned with the build tree).
pub fn build_stand_in() -> StandIn {
    let folder = tempfile::Builder::new()
        .prefix("standin-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let top = folder.path().join("rpmbuild");
    run(Command::new("rpmbuild")
        .arg("-bb")
        .arg("--quiet")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/el9-standin.spec")));
    let repository = folder.path().join("standin");
    fs_err::create_dir_all(&repository).unwrap();
    let rpm = repository.join("el9-standin-9-1.x86_64.rpm");
    fs_err::copy(top.join("RPMS/x86_64/el9-standin-9-1.x86_64.rpm"), &rpm).unwrap();
    createrepo_c(&repository);
    StandIn {
        _folder: folder,
        rpm,
        repository,
    }
}

/// `rpmlint` with `tests/rpmlint.toml` over `rpms`: its report, asserting it
/// found no error. `home` keeps rpmlint's own files out of the user's.
pub fn rpmlint(rpms: &[PathBuf], home: &Path) -> String {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rpmlint.toml");
    let output = Command::new("rpmlint")
        .arg("--config")
        .arg(&config)
        .args(rpms)
        .env("HOME", home)
        .output()
        .expect("rpmlint is installed (a test requirement)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "rpmlint failed:\n{report}");
    assert!(
        report.contains(&format!(
            "{} packages and 0 specfiles checked; 0 errors,",
            rpms.len()
        )),
        "{report}"
    );
    report
}

/// [`rpmlint`] reports no error and no warning either.
pub fn assert_rpmlint_clean(rpms: &[PathBuf], home: &Path) {
    let report = rpmlint(rpms, home);
    assert!(report.contains(" 0 errors, 0 warnings,"), "{report}");
}

/// `rpm -K` says every digest of every file in `rpms` is right.
pub fn assert_digests_ok(rpms: &[PathBuf]) {
    for rpm_file in rpms {
        let output = rpm(&["-K", rpm_file.to_str().unwrap()]);
        assert!(
            output.trim_end().ends_with("digests OK"),
            "rpm -K {}: {output}",
            rpm_file.display()
        );
    }
}

/// `dnf install PACKAGE` into `installroot` from `repositories` only.
pub fn dnf_install(installroot: &Path, repositories: &[(&str, &Path)], package: &str) {
    run(dnf(installroot, repositories).args(["install", package]));
}

/// The names of the packages installed in `root`, sorted.
pub fn installed_names(root: &Path) -> Vec<String> {
    let output = rpm(&["--root", root.to_str().unwrap(), "-qa", "--qf", "%{NAME}\n"]);
    let mut names: Vec<String> = output.lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// `<venv>/bin/python -I ARGS` in `directory`, with nothing from the
/// environment that could add another module path: run from an install
/// root without chroot, it imports only what the root's venv holds.
pub fn run_venv_python(venv: &Path, directory: &Path, args: &[&str]) -> String {
    run(Command::new(venv.join("bin/python"))
        .arg("-I")
        .args(args)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("PYTHONSTARTUP")
        .env_remove("VIRTUAL_ENV")
        .current_dir(directory))
}

/// Relative path → bytes of every file below `folder`, to compare outputs.
pub fn file_tree(folder: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in fs_err::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(folder).unwrap().display().to_string();
                files.insert(relative, fs_err::read(&path).unwrap());
            }
        }
    }
    files
}

/// The RPM files directly in `folder`, by file name.
pub fn rpm_files(folder: &Path) -> std::collections::BTreeMap<String, PathBuf> {
    fs_err::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "rpm"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, path)
        })
        .collect()
}

/// Two [`file_tree`]s hold the same files with the same bytes (two builds
/// of the same lock and cache).
pub fn assert_same_tree(
    first: &std::collections::BTreeMap<String, Vec<u8>>,
    second: &std::collections::BTreeMap<String, Vec<u8>>,
) {
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in first {
        assert!(second[path] == *bytes, "{path} differs between builds");
    }
}

/// The RPM files of a folder by package name.
pub fn rpms_by_name(folder: &Path) -> std::collections::BTreeMap<String, PathBuf> {
    rpm_files(folder)
        .into_values()
        .map(|path| {
            let name = rpm(&["-qp", "--qf", "%{NAME}", path.to_str().unwrap()]);
            (name, path)
        })
        .collect()
}

/// The end-to-end checks every built repository gets: one RPM per locked
/// package plus `<app>-venv` and `<app>-deps`, each `required` one present,
/// `rpm -K` and rpmlint clean; then `<app>-deps` installed with dnf from the
/// repository and the stand-in's, every RPM landing in the returned root.
pub fn check_and_install_repository(
    repository: &Path,
    locked: usize,
    required: &[&str],
    meta_package: &str,
    home: &Path,
) -> (
    std::collections::BTreeMap<String, PathBuf>,
    tempfile::TempDir,
) {
    let rpms = rpms_by_name(repository);
    assert_eq!(rpms.len(), locked + 2, "{:?}", rpms.keys());
    for name in required {
        assert!(rpms.contains_key(*name), "no {name} in {:?}", rpms.keys());
    }
    let files: Vec<PathBuf> = rpms.values().cloned().collect();
    assert_digests_ok(&files);
    assert_rpmlint_clean(&files, home);

    let stand_in = build_stand_in();
    let root = tempfile::tempdir().unwrap();
    dnf_install(
        root.path(),
        &[("app", repository), ("standin", &stand_in.repository)],
        meta_package,
    );
    let installed = installed_names(root.path());
    assert_eq!(
        installed.len(),
        rpms.len() + 1,
        "every RPM and the stand-in are installed: {installed:?}"
    );
    (rpms, root)
}
