//! Tests of pip-style requirement files: each syntax feature and each error.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::*;
use crate::hint::Hint;
use crate::name::PackageName;
use crate::requirements::{parse_requirements_text, read_requirements};

fn parse(text: &str) -> RequirementsInput {
    parse_requirements_text(text, Path::new("reqs.in")).unwrap()
}

fn parse_error(text: &str) -> String {
    parse_requirements_text(text, Path::new("reqs.in"))
        .unwrap_err()
        .with_hint()
}

fn names(requirements: &[SourcedRequirement]) -> Vec<String> {
    requirements
        .iter()
        .map(|sourced| sourced.requirement.name.to_string())
        .collect()
}

fn lines(requirements: &[SourcedRequirement]) -> Vec<usize> {
    requirements
        .iter()
        .map(|sourced| sourced.origin.line)
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn comments_and_blank_lines() {
    let input = parse("# full line\n\n   # indented\ndjango>=5  # trailing\n\trequests\t# tab\n");
    assert_eq!(names(&input.requirements), ["django", "requests"]);
    assert_eq!(lines(&input.requirements), [4, 5]);
    assert_eq!(input.requirements[0].requirement.to_string(), "django>=5");
}

#[test]
fn a_hash_without_space_is_part_of_the_line() {
    // pip only starts a comment at `#` preceded by whitespace, so URL
    // fragments survive.
    let input = parse("foo @ https://example.com/foo-1.0.tar.gz#egg=foo\n");
    let text = input.requirements[0].requirement.to_string();
    assert!(text.ends_with("#egg=foo"), "{text}");
}

#[test]
fn continuations_keep_the_first_line_number() {
    let input = parse("django\\\n>=5,\\\n<6\nrequests\n");
    assert_eq!(names(&input.requirements), ["django", "requests"]);
    assert_eq!(lines(&input.requirements), [1, 4]);
    assert_eq!(
        input.requirements[0].requirement.to_string(),
        "django>=5,<6"
    );
    let error = parse_error("celery\\\n[redis]\\\n>=\n");
    assert!(error.contains("`reqs.in:1`"), "{error}");
}

#[test]
fn a_comment_line_ends_a_continuation() {
    let input = parse("django \\\n# comment\nrequests\n");
    assert_eq!(names(&input.requirements), ["django", "requests"]);
}

#[test]
fn extras_markers_and_urls() {
    let input = parse(
        "celery[redis,msgpack]>=5.4\nfoo ; python_full_version < \"3.11.3\"\nbar @ https://example.com/bar-1.0-py3-none-any.whl\n",
    );
    let celery = &input.requirements[0].requirement;
    assert_eq!(celery.extras.len(), 2);
    let marker = &input.requirements[1].requirement.marker;
    assert!(marker.contents().is_some());
    assert!(matches!(
        input.requirements[2].requirement.version_or_url,
        Some(VersionOrUrl::Url(_))
    ));
}

#[test]
fn environment_variables_are_expanded() {
    std::env::set_var("VENDOR_TEST_PIP_VERSION", "5.1");
    let input = parse("django==${VENDOR_TEST_PIP_VERSION}\n");
    assert_eq!(input.requirements[0].requirement.to_string(), "django==5.1");
    // Unset variables stay as written, and then fail to parse with the name shown.
    let error = parse_error("django==${VENDOR_TEST_UNSET_VARIABLE}\n");
    assert!(
        error.contains("VENDOR_TEST_UNSET_VARIABLE") && error.contains("reqs.in:1"),
        "{error}"
    );
}

#[test]
fn index_options() {
    let input = parse(
        "--index-url https://example.com/simple\n--extra-index-url=https://mirror.example.com/simple\n-f https://example.com/links/\n--find-links wheels\n--no-index\n-i https://second.example.com/simple\n",
    );
    assert_eq!(
        input.index_url.as_deref(),
        Some("https://second.example.com/simple")
    );
    assert_eq!(
        input.extra_index_urls,
        ["https://mirror.example.com/simple"]
    );
    assert_eq!(input.find_links[0], "https://example.com/links/");
    let local = Path::new(&input.find_links[1]);
    assert!(
        local.is_absolute() && local.ends_with("wheels"),
        "{local:?}"
    );
    assert!(input.no_index);
    assert!(input.requirements.is_empty());
}

#[test]
fn find_links_are_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "sub/reqs.in", "-f ../wheels\n-fdist\n");
    let input = read_requirements(&[path], &[]).unwrap();
    assert_eq!(
        input.find_links,
        [
            dir.path().join("sub/../wheels").display().to_string(),
            dir.path().join("sub/dist").display().to_string(),
        ]
    );
}

#[test]
fn hashes_are_kept() {
    let digest = "a".repeat(64);
    let input = parse(&format!(
        "django==5.1 \\\n    --hash=sha256:{digest} \\\n    --hash sha256:{}\n",
        "B".repeat(64)
    ));
    let hashes: Vec<String> = input.requirements[0]
        .hashes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(hashes, [digest, "b".repeat(64)]);
    assert_eq!(input.requirements[0].requirement.to_string(), "django==5.1");
    let error = parse_error("django==5.1 --hash=md5:abc\n");
    assert!(
        error.contains("reqs.in:1") && error.contains("only sha256"),
        "{error}"
    );
    let error = parse_error("django==5.1 --hash=sha256:xyz\n");
    assert!(
        error.contains("reqs.in:1") && error.contains("xyz"),
        "{error}"
    );
    let error = parse_error("django --config-settings=a=b\n");
    assert!(
        error.contains("`--config-settings` is not supported") && error.contains("hint:"),
        "{error}"
    );
}

#[test]
fn includes_and_constraints_are_relative_to_the_including_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base/common.in", "requests\n-c pins.txt\n");
    write(dir.path(), "base/pins.txt", "\nrequests==2.32.3\n");
    let main = write(
        dir.path(),
        "requirements.in",
        "django\n-r base/common.in\ngunicorn\n",
    );
    let input = read_requirements(&[main], &[]).unwrap();
    assert_eq!(
        names(&input.requirements),
        ["django", "requests", "gunicorn"]
    );
    assert_eq!(names(&input.constraints), ["requests"]);
    let constraint_origin = input.constraints[0].origin.to_string();
    assert!(
        constraint_origin.ends_with("base/pins.txt:2"),
        "{constraint_origin}"
    );
}

#[test]
fn nested_files_in_constraints_stay_constraints() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "more.txt", "idna==3.10\n");
    write(dir.path(), "pins.txt", "--requirement more.txt\n");
    let main = write(
        dir.path(),
        "requirements.in",
        "--constraint=pins.txt\nrequests\n",
    );
    let input = read_requirements(&[main], &[]).unwrap();
    assert_eq!(names(&input.requirements), ["requests"]);
    assert_eq!(names(&input.constraints), ["idna"]);
}

#[test]
fn constraints_pin_versions_only() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pins.txt", "celery[redis]==5.4\n");
    let main = write(dir.path(), "requirements.in", "-c pins.txt\n");
    let error = read_requirements(std::slice::from_ref(&main), &[])
        .unwrap_err()
        .with_hint();
    assert!(
        error.contains("pins.txt:1") && error.contains("extras"),
        "{error}"
    );
    write(
        dir.path(),
        "pins.txt",
        "\nfoo @ https://example.com/foo.whl\n",
    );
    let error = read_requirements(&[main], &[]).unwrap_err().with_hint();
    assert!(
        error.contains("pins.txt:2") && error.contains("URL"),
        "{error}"
    );
}

#[test]
fn include_cycles_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.in", "django\n-r b.in\n");
    write(dir.path(), "b.in", "\n\n-r a.in\n");
    let error = read_requirements(&[dir.path().join("a.in")], &[])
        .unwrap_err()
        .with_hint();
    assert!(
        error.contains("b.in:3") && error.contains("cycle"),
        "{error}"
    );
    // Including the same file twice without a cycle is fine.
    write(dir.path(), "c.in", "-r d.in\n-r d.in\n");
    write(dir.path(), "d.in", "idna\n");
    let input = read_requirements(&[dir.path().join("c.in")], &[]).unwrap();
    assert_eq!(names(&input.requirements), ["idna", "idna"]);
}

#[test]
fn a_self_include_through_parse_text_is_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "self.in", "-r self.in\n");
    let error = parse_requirements_text("-r self.in\n", &path)
        .unwrap_err()
        .with_hint();
    assert!(error.contains("cycle"), "{error}");
}

#[test]
fn a_missing_include_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "requirements.in", "django\n-r missing.in\n");
    let error = read_requirements(&[main], &[]).unwrap_err().with_hint();
    assert!(error.contains("missing.in"), "{error}");
    assert!(
        error.contains("included from") && error.contains("requirements.in:2"),
        "{error}"
    );
}

#[test]
fn malformed_requirements_name_file_line_and_text() {
    let error = parse_error("django\n\nDjango>=\n");
    assert!(error.contains("`reqs.in:3`"), "{error}");
    assert!(error.contains("Django>="), "{error}");
    assert!(error.contains('^'), "{error}");
    let error = parse_error("./local/project\n");
    assert!(
        error.contains("reqs.in:1") && error.contains("hint: name the package"),
        "{error}"
    );
    let error = parse_error("git+https://example.com/repo.git@v1\n");
    assert!(
        error.contains("cannot tell which package") && error.contains("hint: name the package"),
        "{error}"
    );
}

#[test]
fn locations_are_read_as_pip_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "proj/pyproject.toml",
        "[project]\nname = \"My_Lib\"\nversion = \"1.0\"\n",
    );
    let path = write(
        dir.path(),
        "requirements.txt",
        "-e ./proj\n./proj ; python_version > \"3\"\ngit+https://example.com/repo.git@v1#egg=other[fast]\nhttps://example.com/foo-1.0.tar.gz\nhttps://example.com/archive/abc.zip#egg=talon-core==1.6.0+git&subdirectory=talon-core\n",
    );
    let input = read_requirements(&[path], &[]).unwrap();
    let written: Vec<String> = input
        .requirements
        .iter()
        .map(|sourced| sourced.requirement.to_string())
        .collect();
    let folder = url::Url::from_file_path(dir.path().join("proj")).unwrap();
    assert_eq!(
        written,
        [
            format!("my-lib @ {folder}"),
            format!("my-lib @ {folder} ; python_full_version >= '3.1'"),
            "other @ git+https://example.com/repo.git@v1#egg=other[fast]".to_string(),
            "foo @ https://example.com/foo-1.0.tar.gz".to_string(),
            "talon-core @ https://example.com/archive/abc.zip#egg=talon-core==1.6.0+git&subdirectory=talon-core".to_string(),
        ]
    );
}

#[test]
fn unsupported_options_are_errors_with_hints() {
    for (line, expected) in [
        ("--pre", "`--pre` is not supported"),
        ("--no-binary --pre", "not a list of packages"),
        ("--trusted-host example.com", "certificate"),
        ("--frobnicate", "vendor understands"),
    ] {
        let error = parse_error(&format!("django\n{line}\n"));
        assert!(error.contains("reqs.in:2"), "{error}");
        assert!(error.contains(expected), "{line}: {error}");
        assert!(error.contains("hint:"), "{error}");
    }
    let error = parse_error("-r\n");
    assert!(
        error.contains("`-r` needs a value") && error.contains("reqs.in:1"),
        "{error}"
    );
    let error = parse_error("--no-index=yes\n");
    assert!(error.contains("takes no value"), "{error}");
    let error = parse_error("-r 'unterminated\n");
    assert!(error.contains("unterminated"), "{error}");
}

#[test]
fn binary_format_options_are_read_as_pip_reads_them() {
    let input = parse(
        "--no-binary=lxml,xmlsec\n--only-binary :all:\n--no-binary lxml\n--prefer-binary\nlxml\n",
    );
    let formats = |name: &str| {
        let formats = input
            .format_control
            .formats(&PackageName::from_str(name).unwrap());
        (formats.wheel, formats.sdist)
    };
    // `:all:` for wheels emptied the earlier list; the later `lxml` is back.
    assert_eq!(formats("lxml"), (false, true));
    assert_eq!(formats("xmlsec"), (true, false));
    assert_eq!(formats("django"), (true, false));
    assert!(input.prefer_binary);
    assert_eq!(names(&input.requirements), ["lxml"]);
    let error = parse_error("--prefer-binary=yes\n");
    assert!(error.contains("takes no value"), "{error}");
}

#[test]
fn splits_requirement_options_outside_quotes() {
    assert_eq!(
        split_requirement_options("foo ; extra == \"a -b\" --hash=x"),
        ("foo ; extra == \"a -b\"", "--hash=x")
    );
    assert_eq!(split_requirement_options("foo-bar>=1"), ("foo-bar>=1", ""));
}
