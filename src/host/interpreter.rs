//! The build host's interpreters: CPython of a given `X.Y`, found once per
//! process.
//!
//! Input: an `X.Y`. Output: the path of a real interpreter binary (its
//! `sys.executable`, never a pyenv shim). Invariant: every candidate is run
//! and must say it is CPython of that `X.Y`; answers are remembered, so the
//! search (most of a second behind pyenv shims) runs once per version.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::HostError;

/// Find an interpreter of `python_version` on the build host: `pythonX.Y` on
/// `PATH`, the usual system locations, pyenv and uv installs, then `python3`
/// on `PATH`. Each candidate is run to check its version; the answer is its
/// `sys.executable` (a real binary, not a pyenv shim).
///
/// Answers are remembered for the life of the process: behind pyenv shims
/// one search costs most of a second, and a build asks several times.
pub fn find_interpreter(python_version: (u64, u64)) -> Result<PathBuf, HostError> {
    static FOUND: std::sync::Mutex<Vec<((u64, u64), PathBuf)>> = std::sync::Mutex::new(Vec::new());
    // Held during the search, so a caller arriving meanwhile (see
    // [`start_finding_interpreter`]) waits for its answer instead of
    // searching again.
    let mut found = FOUND
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, path)) = found.iter().find(|(version, _)| *version == python_version) {
        return Ok(path.clone());
    }
    let path = search_interpreter(python_version)?;
    found.push((python_version, path.clone()));
    Ok(path)
}

/// Start [`find_interpreter`] on another thread and return at once: the
/// search (most of a second behind pyenv shims) then overlaps whatever the
/// caller does before it needs the interpreter.
pub fn start_finding_interpreter(python_version: (u64, u64)) {
    std::thread::spawn(move || find_interpreter(python_version));
}

fn search_interpreter(python_version: (u64, u64)) -> Result<PathBuf, HostError> {
    let (major, minor) = python_version;
    let versioned = format!("python{major}.{minor}");
    let path_dirs = super::toolchain::search_path();
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(path_dirs.iter().map(|dir| dir.join(&versioned)));
    for dir in ["/usr/bin", "/usr/local/bin", "/opt/rh/bin"] {
        candidates.push(Path::new(dir).join(&versioned));
    }
    let home = dirs::home_dir().unwrap_or_default();
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".pyenv"));
    let uv_root = dirs::data_dir()
        .unwrap_or_else(|| home.join(".local/share"))
        .join("uv/python");
    candidates.extend(
        installs_of(&pyenv_root.join("versions"), &format!("{major}.{minor}."))
            .into_iter()
            .map(|install| install.join("bin").join(&versioned)),
    );
    candidates.extend(
        installs_of(&uv_root, &format!("cpython-{major}.{minor}."))
            .into_iter()
            .map(|install| install.join("bin").join(&versioned)),
    );
    candidates.extend(path_dirs.iter().map(|dir| dir.join("python3")));
    for candidate in &candidates {
        if let Some(executable) = probe(candidate, python_version) {
            return Ok(executable);
        }
    }
    Err(HostError::NoInterpreter {
        version: format!("{major}.{minor}"),
        searched: vec![
            format!("`{versioned}` and `python3` on PATH"),
            format!("`/usr/bin/{versioned}`, `/usr/local/bin/{versioned}`"),
            format!(
                "`{}/{major}.{minor}.*`",
                pyenv_root.join("versions").display()
            ),
            format!("`{}/cpython-{major}.{minor}.*`", uv_root.display()),
        ],
    })
}

/// Directories in `root` whose names start with `prefix`, newest patch first.
fn installs_of(root: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut installs: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(prefix)?;
            let patch: u64 = rest
                .split(|character: char| !character.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            Some((patch, entry.path()))
        })
        .collect();
    installs.sort();
    installs.into_iter().rev().map(|(_, path)| path).collect()
}

/// `sys.executable` of `candidate` when it is CPython `python_version`.
fn probe(candidate: &Path, python_version: (u64, u64)) -> Option<PathBuf> {
    if !candidate.is_file() {
        return None;
    }
    let output = Command::new(candidate)
        .args([
            "-S",
            "-c",
            "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2], sys.executable)",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let stdout = String::from_utf8(output.stdout).ok()?;
    let mut fields = stdout.trim().splitn(3, ' ');
    let (implementation, version) = (fields.next()?, fields.next()?);
    let (major, minor) = python_version;
    if !output.status.success()
        || implementation != "cpython"
        || version != format!("{major}.{minor}")
    {
        return None;
    }
    let executable = fields.next().unwrap_or_default();
    Some(if executable.is_empty() {
        candidate.to_path_buf()
    } else {
        PathBuf::from(executable)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hint::Hint;

    #[test]
    fn reports_where_it_looked() {
        let error = find_interpreter((2, 1)).unwrap_err();
        let message = error.with_hint();
        assert!(message.contains("python2.1"), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }
}
