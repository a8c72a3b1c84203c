use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::hint::Hint;

fn name(text: &str) -> PackageName {
    PackageName::new(text.to_string()).unwrap()
}

/// A project folder holding `policies/packages/<file> = text`.
fn project_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let folder = project.path().join(PROJECT_POLICIES_DIR);
    std::fs::create_dir_all(&folder).unwrap();
    for (file, text) in files {
        std::fs::write(folder.join(file), text).unwrap();
    }
    project
}

fn load_error(files: &[(&str, &str)]) -> String {
    let project = project_with(files);
    Policies::load(Some(project.path()))
        .unwrap_err()
        .with_hint()
}

const MINIMAL: &str = r#"
source = "sdist"
[verify]
links = ["libfoo.so.*"]
[[verify.probes]]
name = "works"
code = "import foo\nassert foo.ok()"
explanation = "foo does not work"
"#;

#[test]
fn every_builtin_policy_parses_and_its_probes_compile() {
    let loaded: Vec<LoadedPolicy> = builtin_policies().map(Result::unwrap).collect();
    assert_eq!(loaded.len(), BUILTIN_POLICIES.len());
    for policy in &loaded {
        assert_eq!(
            policy.origin,
            format!("built-in policies/packages/{}.toml", policy.name)
        );
        for probe in &policy.policy.verify.probes {
            assert!(!probe.explanation.is_empty(), "{}", policy.name);
        }
    }
    probes::check_builtin(&loaded).unwrap();
}

#[test]
fn every_policy_file_is_compiled_in() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/packages");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".toml").map(str::to_string))
        .collect();
    files.sort();
    let mut compiled: Vec<String> = BUILTIN_POLICIES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    compiled.sort();
    assert_eq!(
        files, compiled,
        "policies/packages and BUILTIN_POLICIES differ"
    );
}

#[test]
fn builtin_policies_say_what_the_issue_asks() {
    let policies = Policies::builtin();
    let pillow = &policies.get(&name("Pillow")).unwrap().policy;
    assert_eq!(pillow.source, Source::Sdist);
    assert!(!pillow.verify.bundled);
    let headers: Vec<&str> = pillow
        .prerequisites
        .iter()
        .flat_map(|prerequisite| prerequisite.header.as_ref().unwrap().alternatives())
        .collect();
    for header in ["jpeglib.h", "zlib.h", "ft2build.h", "lcms2.h", "tiff.h"] {
        assert!(headers.contains(&header), "{header}: {headers:?}");
    }
    for prerequisite in &pillow.prerequisites {
        assert!(prerequisite.packages.debian.is_some() && prerequisite.packages.el.is_some());
    }
    let probes: Vec<&str> = pillow
        .verify
        .probes
        .iter()
        .map(|probe| probe.name.as_str())
        .collect();
    assert!(
        probes.contains(&"jpeg") && probes.contains(&"freetype"),
        "{probes:?}"
    );
    let globs = policies.get(&name("pillow")).unwrap().link_globs();
    assert!(globs.iter().any(|(_, glob)| glob.is_match("libjpeg.so.62")));
    let mysqlclient = policies.get(&name("mysqlclient")).unwrap().link_globs();
    assert!(mysqlclient
        .iter()
        .any(|(_, glob)| glob.is_match("libmariadb.so.3")));
    assert!(mysqlclient
        .iter()
        .any(|(_, glob)| glob.is_match("libmysqlclient.so.21")));
    let cryptography = &policies.get(&name("cryptography")).unwrap().policy;
    assert_eq!(cryptography.source, Source::Wheel);
    assert!(cryptography.verify.bundled);
    for sdist in ["psycopg2", "mysqlclient", "lxml", "pylibmc", "python-ldap"] {
        let policy = &policies.get(&name(sdist)).unwrap().policy;
        assert_eq!(policy.source, Source::Sdist, "{sdist}");
        assert!(!policy.verify.bundled, "{sdist}");
        assert!(!policy.verify.links.is_empty(), "{sdist}");
    }
    assert!(policies.get(&name("django")).is_none());
}

#[test]
fn a_project_file_replaces_the_builtin_one_whole() {
    let project = project_with(&[("pillow.toml", MINIMAL), ("foo-bar.toml", MINIMAL)]);
    let policies = Policies::load(Some(project.path())).unwrap();
    let pillow = policies.get(&name("pillow")).unwrap();
    assert_eq!(pillow.policy.verify.links, ["libfoo.so.*"]);
    assert!(pillow.policy.prerequisites.is_empty(), "nothing is merged");
    assert!(
        pillow.origin.ends_with("policies/packages/pillow.toml")
            && Path::new(&pillow.origin).is_absolute(),
        "{}",
        pillow.origin
    );
    assert_eq!(
        pillow.digest,
        crate::hash::Sha256::of_bytes(MINIMAL.as_bytes())
    );
    assert_ne!(
        pillow.digest,
        Policies::builtin().get(&name("pillow")).unwrap().digest
    );
    assert!(policies.get(&name("foo-bar")).is_some());
    assert!(
        policies.get(&name("psycopg2")).is_some(),
        "other built-ins stay"
    );
    let names: Vec<String> = policies
        .iter()
        .map(|loaded| loaded.name.to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // A project without the folder gets the built-ins.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        Policies::load(Some(empty.path())).unwrap(),
        Policies::builtin()
    );
    assert_eq!(Policies::load(None).unwrap(), Policies::builtin());
}

#[test]
fn unknown_keys_are_errors_naming_file_key_and_line() {
    let text = MINIMAL.replace("[verify]", "[verify]\nprob = 1");
    let error = load_error(&[("pillow.toml", &text)]);
    assert!(error.contains("policies/packages/pillow.toml`"), "{error}");
    assert!(
        error.contains("line 4: unknown key `verify.prob`"),
        "{error}"
    );
    assert!(
        error.contains("hint:") && error.contains("`probes`"),
        "{error}"
    );
    let text = MINIMAL.replace("explanation", "flavour = \"x\"\nexplanation");
    let error = load_error(&[("foo.toml", &text)]);
    assert!(
        error.contains("unknown key `verify.probes[0].flavour`"),
        "{error}"
    );
    let error = load_error(&[("foo.toml", "sauce = \"sdist\"\n")]);
    assert!(error.contains("line 1: unknown key `sauce`"), "{error}");
    let text = MINIMAL.replace("explanation = \"foo does not work\"", "");
    let error = load_error(&[("foo.toml", &text)]);
    assert!(
        error.contains("missing key `verify.probes[0].explanation`"),
        "{error}"
    );
    let error = load_error(&[("foo.toml", "source = \"binary\"\n")]);
    assert!(
        error.contains("`source`") && error.contains("binary"),
        "{error}"
    );
    let error = load_error(&[("foo.toml", "[[prerequisites]]\nheader = 3\n")]);
    assert!(
        error.contains("`prerequisites[0].header` must be a string or a list of strings"),
        "{error}"
    );
}

#[test]
fn bad_globs_name_the_key() {
    let text = MINIMAL.replace("[\"libfoo.so.*\"]", "[\"libfoo.so.*\", \"libbar.so.[\"]");
    let error = load_error(&[("foo.toml", &text)]);
    assert!(error.contains("`verify.links[1]`"), "{error}");
    assert!(error.contains("`libbar.so.[`"), "{error}");
    assert!(error.contains("foo.toml"), "{error}");
}

#[test]
fn probes_that_do_not_compile_name_the_key() {
    let broken = MINIMAL.replace(
        "explanation = \"foo does not work\"",
        "explanation = \"x\"\n[[verify.probes]]\nname = \"second\"\ncode = \"if True print(1)\"\nexplanation = \"y\"",
    );
    let error = load_error(&[("aaa.toml", MINIMAL), ("foo.toml", &broken)]);
    assert!(error.contains("foo.toml`"), "{error}");
    assert!(
        error.contains("`verify.probes[1].code` (`second`) does not compile"),
        "{error}"
    );
    assert!(error.contains("line 1"), "{error}");
}

#[test]
fn file_names_must_be_normalized_package_names() {
    let error = load_error(&[("Pillow_SIMD.toml", MINIMAL)]);
    assert!(
        error.contains("`Pillow_SIMD.toml` is not a normalized package name"),
        "{error}"
    );
    assert!(
        error.contains("hint: rename it to `pillow-simd.toml`"),
        "{error}"
    );
    let error = load_error(&[("-.toml", MINIMAL)]);
    assert!(error.contains("is not named after a package"), "{error}");
    // Other files in the folder are not policies.
    let project = project_with(&[("README.md", "notes")]);
    assert!(Policies::load(Some(project.path())).is_ok());
}

#[test]
fn structural_mistakes_are_errors() {
    let error = load_error(&[("foo.toml", "[[prerequisites]]\nfeature = \"x\"\n")]);
    assert!(
        error.contains("`prerequisites[0]` names no header, pkg-config module or executable"),
        "{error}"
    );
    let twice = format!(
        "{MINIMAL}[[verify.probes]]\nname = \"works\"\ncode = \"pass\"\nexplanation = \"x\"\n"
    );
    let error = load_error(&[("foo.toml", &twice)]);
    assert!(error.contains("`verify.probes[1].name`"), "{error}");
    let error = load_error(&[(
        "foo.toml",
        "[verify]\nimports = [\"PIL._imaging\", \"not a module\"]\n",
    )]);
    assert!(error.contains("`verify.imports[1]`"), "{error}");
}

#[test]
fn what_builds_from_source() {
    let policies = Policies::builtin();
    let none = BTreeSet::new();
    // The policy demands the sdist even though a wheel fits.
    assert!(policies.builds_from_source(&name("pillow"), true, &none));
    // A wheel fits and nothing asks for the sdist.
    assert!(!policies.builds_from_source(&name("django"), true, &none));
    assert!(!policies.builds_from_source(&name("cryptography"), true, &none));
    // No wheel fits: always the sdist.
    assert!(policies.builds_from_source(&name("django"), false, &none));
    // `[build] from-source` wins over a `wheel` policy.
    let listed = BTreeSet::from([name("cryptography")]);
    assert!(policies.builds_from_source(&name("cryptography"), true, &listed));
}
