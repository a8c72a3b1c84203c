//! Versions of trees that take theirs from git (setuptools-scm, hatch-vcs).
//!
//! Input: a project folder inside a git work tree. Output: whether the
//! project takes its version from git ([`takes_version_from_git`]) and, if
//! so, the version setuptools-scm's default scheme gives its commit
//! ([`git_version`]).
//!
//! Why: vendor packs direct references into sdists without `.git` (as
//! `python -m build --sdist` does), so setuptools-scm inside the build
//! would find no repository and fail. The packer instead writes the
//! version into the sdist's `PKG-INFO`, where setuptools-scm (and hatch-vcs
//! through it) reads it when building from an sdist — exactly what an sdist
//! made by the project's own tools holds.
//!
//! Invariants: the scheme is setuptools-scm's default (`guess-next-dev`
//! with `node-and-date` local versions): at a tag, the tag's version; past
//! it by N commits, the next version `.devN+g<hash>`; without a tag,
//! `0.1.devN+g<hash>`. A work tree with uncommitted changes gets the
//! local segment `.dirty` instead of setuptools-scm's date, so the same
//! tree packs to the same bytes on any day.

use std::path::Path;
use std::str::FromStr;

use pep440_rs::Version;

/// Build requirements that mean the version comes from git.
const GIT_VERSION_PLUGINS: [&str; 2] = ["setuptools-scm", "hatch-vcs"];

/// Whether the project in `folder` takes its version from git: a
/// setuptools-scm or hatch-vcs build requirement, a
/// `[tool.setuptools_scm]` table, or `use_scm_version` in `setup.py`.
pub fn takes_version_from_git(folder: &Path) -> bool {
    let pyproject = std::fs::read_to_string(folder.join("pyproject.toml")).unwrap_or_default();
    let requires = toml::from_str::<toml::Table>(&pyproject)
        .ok()
        .and_then(|document| {
            let requires = document.get("build-system")?.get("requires")?.as_array()?;
            Some(
                requires
                    .iter()
                    .filter_map(|requirement| requirement.as_str())
                    .map(|requirement| requirement.to_ascii_lowercase().replace('_', "-"))
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap_or_default();
    let plugin_required = requires.iter().any(|requirement| {
        GIT_VERSION_PLUGINS.iter().any(|plugin| {
            requirement
                .strip_prefix(plugin)
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '-'))
        })
    });
    let setup_py = std::fs::read_to_string(folder.join("setup.py")).unwrap_or_default();
    plugin_required
        || pyproject.contains("[tool.setuptools_scm]")
        || setup_py.contains("use_scm_version")
}

/// The version setuptools-scm gives the commit checked out at `folder`;
/// `None` when it is not in a git work tree.
pub fn git_version(folder: &Path) -> Option<Version> {
    let hash = git(folder, &["rev-parse", "--short", "HEAD"])?;
    let dirty = git(folder, &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    let described = git(
        folder,
        &["describe", "--tags", "--long", "--match", "*[0-9]*"],
    )
    .and_then(|described| parse_described(&described));
    let text = match described {
        Some((tag, 0)) if !dirty => tag.to_string(),
        Some((tag, distance)) => {
            format!(
                "{}.dev{distance}+g{hash}{}",
                next_version(&tag),
                dirty_label(dirty)
            )
        }
        None => {
            let count = git(folder, &["rev-list", "--count", "HEAD"])?;
            format!("0.1.dev{count}+g{hash}{}", dirty_label(dirty))
        }
    };
    Version::from_str(&text).ok()
}

fn dirty_label(dirty: bool) -> &'static str {
    if dirty {
        ".dirty"
    } else {
        ""
    }
}

/// `<tag>-<distance>-g<hash>` as the tag's version and the distance; a tag
/// may carry a `name-` prefix and a `v`, as setuptools-scm's default
/// pattern allows.
fn parse_described(described: &str) -> Option<(Version, u64)> {
    let mut parts = described.rsplitn(3, '-');
    let _hash = parts.next()?;
    let distance = parts.next()?.parse().ok()?;
    let tag = parts.next()?;
    let version_start = tag
        .char_indices()
        .find(|&(at, character)| {
            let rest = &tag[at..];
            (at == 0 || tag[..at].ends_with('-'))
                && (character.is_ascii_digit()
                    || (matches!(character, 'v' | 'V')
                        && rest[1..].starts_with(|c: char| c.is_ascii_digit())))
        })
        .map(|(at, _)| at)?;
    let version = tag[version_start..].trim_start_matches(['v', 'V']);
    Some((Version::from_str(version).ok()?, distance))
}

/// setuptools-scm's guess of the next version after `tag`: a dev release
/// loses its `.devN`; otherwise the last number of the version goes up by
/// one (`1.2.3` → `1.2.4`, `2.0rc1` → `2.0rc2`).
fn next_version(tag: &Version) -> String {
    let text = tag.clone().without_local().to_string();
    if let Some(at) = text.find(".dev") {
        return text[..at].to_string();
    }
    let digits_end = text
        .rfind(|c: char| c.is_ascii_digit())
        .map_or(0, |at| at + 1);
    let digits_start = text[..digits_end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |at| at + 1);
    let number: u64 = text[digits_start..digits_end].parse().unwrap_or(0);
    format!(
        "{}{}{}",
        &text[..digits_start],
        number + 1,
        &text[digits_end..]
    )
}

/// `git <args>` in `folder`, its trimmed output; `None` when it fails.
fn git(folder: &Path, args: &[&str]) -> Option<String> {
    let url = folder.display().to_string();
    let output = super::git::git(&url, Some(folder), args).ok()?;
    Some(output.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::direct::git::tests::run;

    fn commit(folder: &Path, text: &str) {
        std::fs::write(folder.join("module.py"), text).unwrap();
        run(folder, &["add", "-A"]);
        run(folder, &["commit", "--quiet", "-m", text]);
    }

    #[test]
    fn versions_follow_setuptools_scm_default_scheme() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path();
        run(path, &["init", "--quiet", "--initial-branch", "main"]);
        commit(path, "1");
        commit(path, "2");
        let hash = git(path, &["rev-parse", "--short", "HEAD"]).unwrap();
        assert_eq!(
            git_version(path).unwrap().to_string(),
            format!("0.1.dev2+g{hash}")
        );
        run(path, &["tag", "v1.2.3"]);
        assert_eq!(git_version(path).unwrap().to_string(), "1.2.3");
        commit(path, "3");
        commit(path, "4");
        let hash = git(path, &["rev-parse", "--short", "HEAD"]).unwrap();
        assert_eq!(
            git_version(path).unwrap().to_string(),
            format!("1.2.4.dev2+g{hash}")
        );
        std::fs::write(path.join("module.py"), "changed").unwrap();
        assert_eq!(
            git_version(path).unwrap().to_string(),
            format!("1.2.4.dev2+g{hash}.dirty")
        );
        run(path, &["checkout", "--quiet", "--", "module.py"]);
        run(path, &["tag", "mylib-2.0rc1"]);
        assert_eq!(git_version(path).unwrap().to_string(), "2.0rc1");
    }

    #[test]
    fn tags_and_next_versions_parse_as_setuptools_scm_reads_them() {
        let parsed = |text: &str| parse_described(text).map(|(v, d)| (v.to_string(), d));
        assert_eq!(parsed("v1.2.3-0-gabc"), Some(("1.2.3".into(), 0)));
        assert_eq!(parsed("my-lib-4.5-3-gabc"), Some(("4.5".into(), 3)));
        assert_eq!(parsed("release-candidate-x-1-gabc"), None);
        let next = |text: &str| next_version(&Version::from_str(text).unwrap());
        assert_eq!(next("1.2.3"), "1.2.4");
        assert_eq!(next("2.0rc1"), "2.0rc2");
        assert_eq!(next("1.0.dev4"), "1.0");
        assert_eq!(next("1.9"), "1.10");
    }

    #[test]
    fn projects_taking_their_version_from_git_are_recognised() {
        let folder = tempfile::tempdir().unwrap();
        let write =
            |name: &str, text: &str| std::fs::write(folder.path().join(name), text).unwrap();
        write(
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools>=64\", \"setuptools_scm[toml]>=8\"]\n",
        );
        assert!(takes_version_from_git(folder.path()));
        write(
            "pyproject.toml",
            "[build-system]\nrequires = [\"hatchling\", \"hatch-vcs\"]\n",
        );
        assert!(takes_version_from_git(folder.path()));
        write(
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools-scm-git-archive\"]\n",
        );
        assert!(!takes_version_from_git(folder.path()));
        write(
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools\"]\n",
        );
        assert!(!takes_version_from_git(folder.path()));
        write("setup.py", "setup(use_scm_version=True)\n");
        assert!(takes_version_from_git(folder.path()));
    }
}
