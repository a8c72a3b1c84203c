//! Git repositories of VCS references: a revision resolved to its commit,
//! and the tree checked out at that commit.
//!
//! Input: a [`VcsSource`] and a scratch path. Output: the full commit id,
//! with the repository checked out there at that commit.
//!
//! Invariants: git never prompts (no terminal, no askpass), so a private
//! repository fails with git's message instead of hanging; a revision is a
//! tag, a branch (the remote's), or a commit id (full or abbreviated); the
//! commit found is what the lock records and what every later build checks
//! out.

use std::path::Path;
use std::process::Command;

use super::{DirectError, VcsSource};

/// Clone `source` into `into` and check out its commit (the locked one, or
/// else the requested revision, else the default branch); returns it.
pub fn checkout(source: &VcsSource, into: &Path) -> Result<String, DirectError> {
    let url = source.url.to_string();
    let destination = into.display().to_string();
    git(
        &url,
        None,
        &["clone", "--quiet", "--no-checkout", &url, &destination],
    )?;
    let revision = if source.commit.is_empty() {
        source.requested_revision.as_deref().unwrap_or("HEAD")
    } else {
        source.commit.as_str()
    };
    let commit = resolve_commit(&url, into, revision)?;
    git(
        &url,
        Some(into),
        &["checkout", "--quiet", "--detach", &commit],
    )?;
    Ok(commit)
}

/// The commit a revision names in the clone at `repository`: as written
/// (tags, commit ids), else as a branch of the remote.
fn resolve_commit(url: &str, repository: &Path, revision: &str) -> Result<String, DirectError> {
    for candidate in [revision.to_string(), format!("origin/{revision}")] {
        let spec = format!("{candidate}^{{commit}}");
        if let Ok(commit) = git(
            url,
            Some(repository),
            &["rev-parse", "--verify", "--quiet", &spec],
        ) {
            return Ok(commit.trim().to_string());
        }
    }
    Err(DirectError::Git {
        url: url.to_string(),
        args: format!("rev-parse {revision}"),
        message: format!("no commit, tag or branch `{revision}`"),
    })
}

/// Run git; its stdout, or (the first lines of) its stderr as the error.
pub(super) fn git(url: &str, folder: Option<&Path>, args: &[&str]) -> Result<String, DirectError> {
    let mut command = Command::new("git");
    if let Some(folder) = folder {
        command.arg("-C").arg(folder);
    }
    let failed = |message: String| DirectError::Git {
        url: url.to_string(),
        args: args.first().copied().unwrap_or_default().to_string(),
        message,
    };
    let output = command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| failed(format!("cannot run git: {error}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.lines().take(3).collect::<Vec<_>>().join("; ");
        return Err(failed(if message.is_empty() {
            format!("exit status {}", output.status)
        } else {
            message
        }));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `git <args>` in `folder` as a test's committer; panics on failure.
    pub(in crate::direct) fn run(folder: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(folder)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn resolves_tags_branches_and_commits() {
        let origin = tempfile::tempdir().unwrap();
        run(
            origin.path(),
            &["init", "--quiet", "--initial-branch", "main"],
        );
        std::fs::write(origin.path().join("a"), "1").unwrap();
        run(origin.path(), &["add", "a"]);
        run(origin.path(), &["commit", "--quiet", "-m", "one"]);
        run(origin.path(), &["tag", "v1"]);
        std::fs::write(origin.path().join("a"), "2").unwrap();
        run(origin.path(), &["commit", "--quiet", "-am", "two"]);
        run(origin.path(), &["branch", "feature"]);

        let url = url::Url::from_directory_path(origin.path()).unwrap();
        let source = |revision: Option<&str>, commit: &str| VcsSource {
            url: url.clone(),
            requested_revision: revision.map(str::to_string),
            commit: commit.to_string(),
            subdirectory: None,
        };
        let checkout_of = |source: &VcsSource| {
            let scratch = tempfile::tempdir().unwrap();
            let into = scratch.path().join("checkout");
            let commit = checkout(source, &into).unwrap();
            (commit, std::fs::read_to_string(into.join("a")).unwrap())
        };
        let (tagged, content) = checkout_of(&source(Some("v1"), ""));
        assert_eq!((tagged.len(), content.as_str()), (40, "1"));
        let (branch, content) = checkout_of(&source(Some("feature"), ""));
        assert_eq!(content, "2");
        assert_ne!(branch, tagged);
        // A locked commit wins over the revision, which may have moved.
        let (locked, content) = checkout_of(&source(Some("feature"), &tagged));
        assert_eq!((locked, content.as_str()), (tagged.clone(), "1"));
        let (short, _) = checkout_of(&source(Some(&tagged[..10]), ""));
        assert_eq!(short, tagged);

        let scratch = tempfile::tempdir().unwrap();
        let error = checkout(&source(Some("nope"), ""), &scratch.path().join("c")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no commit, tag or branch `nope`"),
            "{error}"
        );
    }
}
