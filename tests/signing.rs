//! Hermetic tests of signed releases with keys `gpg --batch` makes: every
//! RPM carries a header signature (`rpm -K`: OK with the published key
//! imported, NOKEY without, BAD after a flipped byte of the header),
//! `repodata/repomd.xml.asc` signs the metadata, `RPM-GPG-KEY-<app>` is
//! published, `dnf` with `gpgcheck=1` and `repo_gpgcheck=1` installs and
//! refuses a tampered `repomd.xml`; RSA and Ed25519 output is
//! byte-reproducible; an Ed25519 key for EL8 (rpm 4.14) and a wrong
//! passphrase are refused with a hint.

use crate::common;
use crate::rpm_tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Project;

const APP: &str = "demo";
const PASSPHRASE: &str = "correct horse";

/// An armored secret key of `key_type` (gpg's batch parameters) made in a
/// throw-away keyring, protected with [`PASSPHRASE`].
fn secret_key(folder: &Path, key_type: &str) -> String {
    let home = folder.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let parameters = folder.join("parameters");
    std::fs::write(
        &parameters,
        format!(
            "{key_type}\nKey-Usage: sign\nName-Real: Release\nName-Email: release@example.org\nExpire-Date: 0\nPassphrase: {PASSPHRASE}\n%commit\n"
        ),
    )
    .unwrap();
    let gpg = |args: &[&str]| {
        rpm_tools::run(
            Command::new("gpg")
                .arg("--homedir")
                .arg(&home)
                .args([
                    "--batch",
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase",
                    PASSPHRASE,
                ])
                .args(args),
        )
    };
    gpg(&["--gen-key", parameters.to_str().unwrap()]);
    gpg(&["--export-secret-keys", "--armor", "release@example.org"])
}

fn signed_project(index: &common::TestIndex, key: &str) -> Project {
    let mut project = Project::new().requirements("runtimedep\ncontested\n");
    project.write("keys/release.asc", key);
    project.write(
        "vendor.toml",
        &format!("[app]\nname = \"{APP}\"\n[sign]\nkey = \"keys/release.asc\"\n"),
    );
    project.set_env("VENDOR_SIGN_PASSPHRASE", PASSPHRASE);
    project.lock(index).assert_success();
    project
}

fn rpm_checksig(rpm: &Path, dbpath: Option<&Path>) -> String {
    let mut command = Command::new("rpmkeys");
    if let Some(dbpath) = dbpath {
        command.arg("--dbpath").arg(dbpath);
    }
    let output = command.arg("-Kv").arg(rpm).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn rpms(repository: &Path) -> Vec<PathBuf> {
    rpm_tools::rpm_files(repository).into_values().collect()
}

#[test]
fn rsa_signed_releases_verify_with_rpm_and_dnf() {
    let index = crate::lock_build_requires::index();
    let scratch = tempfile::tempdir().unwrap();
    let project = signed_project(
        &index,
        &secret_key(scratch.path(), "Key-Type: RSA\nKey-Length: 3072"),
    );
    project.run(&["build"]).assert_success();
    let repository = project.file("dist/el9");
    let public_key = repository.join(format!("RPM-GPG-KEY-{APP}"));
    assert!(public_key.is_file());
    assert!(repository.join("repodata/repomd.xml.asc").is_file());

    let dbpath = scratch.path().join("rpmdb");
    std::fs::create_dir_all(&dbpath).unwrap();
    rpm_tools::run(
        Command::new("rpmkeys")
            .arg("--dbpath")
            .arg(&dbpath)
            .arg("--import")
            .arg(&public_key),
    );
    for rpm in rpms(&repository) {
        let with_key = rpm_checksig(&rpm, Some(&dbpath));
        assert!(
            with_key.contains("Header V4 RSA/SHA256 Signature") && with_key.contains(": OK"),
            "{with_key}"
        );
        assert!(
            !with_key.contains("NOKEY") && !with_key.contains("BAD"),
            "{with_key}"
        );
        let without = rpm_checksig(&rpm, Some(&scratch.path().join("empty-rpmdb")));
        assert!(without.contains("NOKEY"), "{without}");
    }
    // A flipped byte of the header (in the summary) breaks the signature.
    let victim = rpms(&repository).into_iter().next().unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let summary = rpm_tools::rpm(&["-qp", "--qf", "%{SUMMARY}", victim.to_str().unwrap()]);
    let at = bytes
        .windows(summary.len())
        .position(|window| window == summary.as_bytes())
        .expect("the summary is in the header");
    bytes[at] ^= 0x20;
    let tampered = scratch.path().join("tampered.rpm");
    std::fs::write(&tampered, bytes).unwrap();
    assert!(rpm_checksig(&tampered, Some(&dbpath)).contains("BAD"));

    // dnf checks both the packages and the metadata.
    let stand_in = rpm_tools::build_stand_in();
    let dnf = |root: &Path, repository: &Path| {
        let key_url = url::Url::from_file_path(&public_key).unwrap();
        Command::new("dnf")
            .args(["--quiet", "--assumeyes", "--releasever", "9", "--noplugins"])
            .arg("--installroot")
            .arg(root)
            .arg("--setopt=reposdir=/dev/null")
            .arg("--repofrompath")
            .arg(format!("standin,{}", stand_in.repository.display()))
            .arg("--setopt=standin.gpgcheck=0")
            .arg("--repofrompath")
            .arg(format!("app,{}", repository.display()))
            .arg("--setopt=app.gpgcheck=1")
            .arg("--setopt=app.repo_gpgcheck=1")
            .arg(format!("--setopt=app.gpgkey={key_url}"))
            .arg("--setopt=app.skip_if_unavailable=0")
            .args(["install", &format!("{APP}-deps")])
            .output()
            .unwrap()
    };
    let root = tempfile::tempdir().unwrap();
    let installed = dnf(root.path(), &repository);
    assert!(installed.status.success(), "{installed:?}");
    assert!(rpm_tools::installed_names(root.path()).contains(&format!("{APP}-deps")));

    let copy = scratch.path().join("copy");
    rpm_tools::run(Command::new("cp").arg("-r").arg(&repository).arg(&copy));
    let repomd = copy.join("repodata/repomd.xml");
    let text = std::fs::read_to_string(&repomd).unwrap();
    std::fs::write(&repomd, text.replace("<revision>", "<revision>9")).unwrap();
    let refused = dnf(tempfile::tempdir().unwrap().path(), &copy);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("GPG signature"),
        "{refused:?}"
    );

    // The `.repo` file `vendor requires` writes is all a server needs.
    let baseurl = url::Url::from_directory_path(&repository).unwrap();
    let repos = scratch.path().join("yum.repos.d");
    std::fs::create_dir_all(&repos).unwrap();
    let repo_file = repos.join(format!("{APP}.repo"));
    let report = project.run(&[
        "requires",
        "--json",
        "--repo-file",
        repo_file.to_str().unwrap(),
        "--baseurl",
        baseurl.as_str(),
    ]);
    report.assert_success();
    let json: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    assert!(json["rpm_count"].as_u64().unwrap() >= 4, "{json}");
    let text = std::fs::read_to_string(&repo_file).unwrap();
    assert!(text.contains("gpgcheck=1\nrepo_gpgcheck=1\n"), "{text}");
    let root = tempfile::tempdir().unwrap();
    let from_repo_file = Command::new("dnf")
        .args(["--quiet", "--assumeyes", "--releasever", "9", "--noplugins"])
        .arg("--installroot")
        .arg(root.path())
        .arg(format!("--setopt=reposdir={}", repos.display()))
        .arg("--repofrompath")
        .arg(format!("standin,{}", stand_in.repository.display()))
        .arg("--setopt=standin.gpgcheck=0")
        .args(["install", &format!("{APP}-deps")])
        .output()
        .unwrap();
    assert!(
        from_repo_file.status.success(),
        "{from_repo_file:?}\n{text}"
    );

    let before = rpm_tools::file_tree(&repository);
    project.run(&["build"]).assert_success();
    rpm_tools::assert_same_tree(&before, &rpm_tools::file_tree(&repository));
}

#[test]
fn ed25519_signs_reproducibly_for_el9_and_is_refused_for_el8() {
    let index = crate::lock_build_requires::index();
    let scratch = tempfile::tempdir().unwrap();
    let key = secret_key(scratch.path(), "Key-Type: EDDSA\nKey-Curve: ed25519");
    let mut project = signed_project(&index, &key);
    project.run(&["build"]).assert_success();
    let repository = project.file("dist/el9");
    let before = rpm_tools::file_tree(&repository);
    let deps = repository.join(format!("{APP}-deps-1-1.el9.noarch.rpm"));
    let checked = rpm_checksig(&deps, None);
    assert!(
        checked.contains("Header V4 EdDSA/SHA256 Signature"),
        "{checked}"
    );
    project.run(&["build"]).assert_success();
    rpm_tools::assert_same_tree(&before, &rpm_tools::file_tree(&repository));

    project.set_env("VENDOR_SIGN_PASSPHRASE", "wrong");
    project
        .run(&["build"])
        .assert_code(1)
        .assert_mentions(&["release.asc", "cannot sign"])
        .assert_hint_last("VENDOR_SIGN_PASSPHRASE");
    project.set_env("VENDOR_SIGN_PASSPHRASE", PASSPHRASE);

    project
        .run(&[
            "lock",
            "-r",
            "requirements.in",
            "--target",
            "el8",
            "--index-url",
            &index.url(),
        ])
        .assert_success();
    project
        .run(&["build"])
        .assert_code(1)
        .assert_mentions(&["release.asc", "is Ed25519", "EdDSA needs rpm 4.16"])
        .assert_hint_last("RSA key");
}
