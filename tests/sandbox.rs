//! Third-party code runs confined: a hostile build backend and a hostile
//! verification probe try the network, write outside their scratch folder
//! and look into the cache beyond their inputs; none gets through, and a
//! well-behaved package built beside them is unaffected.
//!
//! Input: two local project folders (`hostile`, `tidy`) built by the
//! fixture backend of `tests/common/fixture_backend.py`, `hostile`'s
//! wrapped so that every hook first requests
//! `http://127.0.0.1:<port>/escape/<hook>` from the test's own index server
//! (reachable from the test, so only confinement can stop it), writes a
//! file next to the project and fails if it can see the cache's downloads
//! or index pages; a project policy for `tidy` whose probe does the same.
//! Output: pass/fail. The index is `lock_build_requires`'s.
//!
//! Needs bubblewrap (scripts/install-deps.sh installs it).

use crate::common;

use std::path::Path;

use common::scenario::FIXTURE_BACKEND;
use common::Project;

/// Python that tries to escape: a request to the test's index server and a
/// file written at `outside`, each failure swallowed, so whether they got
/// through shows only in the server's log and on disk; then a look into
/// `cache`, which raises (failing the hook or probe) if the cache's
/// downloads or index pages can be seen.
fn escape_attempt(url: &str, outside: &Path, cache: &Path, label: &str) -> String {
    format!(
        "def _escape(label):\n    \
             import os, urllib.request\n    \
             try:\n        urllib.request.urlopen({url:?} + label, timeout=5).read()\n    \
             except Exception:\n        pass\n    \
             try:\n        open({outside:?} + label, 'w').write('escaped')\n    \
             except Exception:\n        pass\n    \
             seen = [n for n in ('artifacts', 'index-v1', 'metadata-v1') if os.path.exists(os.path.join({cache:?}, n))]\n    \
             if seen:\n        raise RuntimeError('read the cache: ' + ', '.join(seen))\n\n\
         _escape({label:?})\n",
        outside = format!("{}/escaped-", outside.display()),
        cache = cache.display().to_string(),
    )
}

fn write_tree(folder: &Path, name: &str, backend: &str, extra: &[(&str, String)]) {
    let files = [
        (
            "pyproject.toml".to_string(),
            format!(
                "[build-system]\nrequires = [\"buildtool<2\"]\nbuild-backend = \"{backend}\"\nbackend-path = [\".\"]\n\n[project]\nname = \"{name}\"\nversion = \"1.0\"\ndependencies = [\"runtimedep\"]\n"
            ),
        ),
        ("fixture_backend.py".to_string(), FIXTURE_BACKEND.to_string()),
        (
            "_fixture/METADATA".to_string(),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nRequires-Dist: runtimedep\n"),
        ),
        (format!("{name}/__init__.py"), "VERSION = \"1.0\"\n".to_string()),
    ];
    for (relative, text) in files.into_iter().chain(
        extra
            .iter()
            .map(|(path, text)| (path.to_string(), text.clone())),
    ) {
        let path = folder.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// `hostile_backend`: the fixture backend, each hook preceded by an escape.
fn hostile_backend(url: &str, outside: &Path, cache: &Path) -> String {
    let mut text = String::from("import fixture_backend as _inner\n\n");
    text.push_str(&escape_attempt(url, outside, cache, "import"));
    for hook in [
        "get_requires_for_build_wheel",
        "prepare_metadata_for_build_wheel",
        "build_wheel",
    ] {
        text.push_str(&format!(
            "\n\ndef {hook}(*args, **kwargs):\n    _escape({hook:?})\n    return _inner.{hook}(*args, **kwargs)\n"
        ));
    }
    text
}

#[test]
fn backends_and_probes_reach_no_network_and_write_only_their_scratch() {
    let index = crate::lock_build_requires::index();
    let scratch = tempfile::tempdir().unwrap();
    let outside = scratch.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let escape_url = format!("{}/escape/", index.base_url());
    // On the target folder's disk: a cache under /tmp or /dev/shm would be
    // hidden by the sandbox's own /tmp and /dev whatever vendor asked.
    let project = Project::new_in(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let cache = project.cache_dir().to_path_buf();
    write_tree(
        &scratch.path().join("hostile"),
        "hostile",
        "hostile_backend",
        &[(
            "hostile_backend.py",
            hostile_backend(&escape_url, &outside, &cache),
        )],
    );
    write_tree(&scratch.path().join("tidy"), "tidy", "fixture_backend", &[]);

    let folder_url = |name: &str| url::Url::from_directory_path(scratch.path().join(name)).unwrap();
    project.write(
        "requirements.in",
        &format!(
            "hostile @ {}\ntidy @ {}\n",
            folder_url("hostile"),
            folder_url("tidy")
        ),
    );
    project.write("vendor.toml", "[app]\nname = \"confined\"\n");
    let probe = escape_attempt(&escape_url, &outside, &cache, "probe");
    project.write(
        "policies/packages/tidy.toml",
        &format!(
            "description = \"tidy, with a probe that tries to escape\"\n\n[[verify.probes]]\nname = \"escape\"\ncode = '''\n{probe}'''\nexplanation = \"the probe of this test\"\n"
        ),
    );

    project.lock(&index).assert_success();
    project.run(&["build"]).assert_success();
    project
        .run(&["verify"])
        .assert_success()
        .assert_mentions(&["probe `escape`"]);

    let escapes: Vec<String> = index
        .requests()
        .iter()
        .map(|request| request.path_only().to_string())
        .filter(|path| path.contains("/escape/"))
        .collect();
    assert!(
        escapes.is_empty(),
        "confined code reached the network: {escapes:?}"
    );
    let written: Vec<String> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        written.is_empty(),
        "confined code wrote outside its scratch: {written:?}"
    );
    // Both were built, verified and packaged.
    for rpm in ["confined-python3-hostile", "confined-python3-tidy"] {
        assert!(
            crate::rpm_tools::rpms_by_name(&project.file("dist/el9")).contains_key(rpm),
            "{rpm}"
        );
    }
    // The same escape unconfined gets through: the checks above can fail.
    let unconfined = std::process::Command::new("python3")
        .args([
            "-c",
            &escape_attempt(&escape_url, &outside, &cache, "control"),
        ])
        .output()
        .unwrap();
    let complaint = String::from_utf8_lossy(&unconfined.stderr);
    assert!(
        !unconfined.status.success() && complaint.contains("read the cache: artifacts"),
        "{complaint}"
    );
    assert!(outside.join("escaped-control").is_file());
    assert!(index
        .requests()
        .iter()
        .any(|request| request.path_only().ends_with("/escape/control")));
}
