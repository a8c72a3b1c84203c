//! Byte-code: `.pyc` files for the target Python, made by the build host's
//! interpreter of the same X.Y.
//!
//! Input: the staged `.py` files with their server paths, and an interpreter.
//! Output: `__pycache__/<stem>.cpython-XY.pyc` next to each source that
//! compiles. Invariants: one interpreter process per wheel; the `.pyc` files
//! are unchecked-hash (PEP 552), so they never depend on file times; the
//! source path embedded in them is the server path, never the staging path;
//! the interpreter runs with a cleared environment, `PYTHONHASHSEED=0` and a
//! fixed `SOURCE_DATE_EPOCH`, and compiles in sorted order, so the bytes
//! depend only on the sources and the interpreter's version.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::{io_error, InstallError};

/// Compiles each `[source, pyc, server path]` job from stdin; prints the
/// sources that did not compile (py2-only test files exist in real wheels:
/// pip skips them too).
const DRIVER: &str = r#"
import json, py_compile, sys
expected = tuple(int(part) for part in sys.argv[1].split("."))
if sys.implementation.name != "cpython" or sys.version_info[:2] != expected:
    sys.stderr.write("this is %s %d.%d, not cpython %s\n" % (
        sys.implementation.name, sys.version_info[0], sys.version_info[1], sys.argv[1]))
    sys.exit(3)
failed = []
for source, cfile, dfile in json.loads(sys.stdin.buffer.read().decode("utf-8")):
    try:
        py_compile.compile(source, cfile=cfile, dfile=dfile, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        failed.append(source)
sys.stdout.write(json.dumps(failed))
"#;

/// Any fixed value: unchecked-hash `.pyc` files do not embed it, but tools
/// that look at it then see a reproducible build.
const SOURCE_DATE_EPOCH: &str = "315532800";

/// One source to compile.
pub(super) struct CompileJob {
    pub source: PathBuf,
    pub pyc: PathBuf,
    pub server_path: PathBuf,
}

/// Where `source`'s `.pyc` goes for CPython X.Y (PEP 3147).
pub(super) fn pyc_path(source: &str, python_version: (u64, u64)) -> Option<String> {
    let stem = source.strip_suffix(".py")?;
    let (directory, file_stem) = match stem.rsplit_once('/') {
        Some((directory, file_stem)) => (format!("{directory}/"), file_stem),
        None => (String::new(), stem),
    };
    let (major, minor) = python_version;
    Some(format!(
        "{directory}__pycache__/{file_stem}.cpython-{major}{minor}.pyc"
    ))
}

/// Compile every job in one interpreter run; returns the sources that did not compile.
pub(super) fn compile(
    jobs: &[CompileJob],
    interpreter: &Path,
    python_version: (u64, u64),
    wheel: &str,
) -> Result<Vec<PathBuf>, InstallError> {
    let (major, minor) = python_version;
    if python_version < (3, 7) {
        return Err(InstallError::BytecodeUnsupported {
            version: format!("{major}.{minor}"),
        });
    }
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let failure = |status: String, stderr: String| InstallError::Bytecode {
        wheel: wheel.to_string(),
        interpreter: interpreter.to_path_buf(),
        status,
        stderr,
    };
    let input: Vec<[&Path; 3]> = jobs
        .iter()
        .map(|job| [&*job.source, &*job.pyc, &*job.server_path])
        .collect();
    let input =
        serde_json::to_vec(&input).map_err(|error| failure("json".into(), error.to_string()))?;
    let mut child = Command::new(interpreter)
        .args(["-S", "-B", "-c", DRIVER, &format!("{major}.{minor}")])
        .env_clear()
        .env("PYTHONHASHSEED", "0")
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_error("run", interpreter))?;
    // Write from another thread: a large job list would otherwise fill the
    // pipe while the child fills stdout.
    let mut stdin = child.stdin.take();
    let writer = std::thread::spawn(move || stdin.as_mut().map(|stdin| stdin.write_all(&input)));
    let output = child
        .wait_with_output()
        .map_err(io_error("run", interpreter))?;
    let written = writer.join().ok().flatten();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if !output.status.success() {
        return Err(failure(output.status.to_string(), stderr));
    }
    if let Some(Err(error)) = written {
        return Err(failure("stdin".into(), error.to_string()));
    }
    serde_json::from_slice::<Vec<PathBuf>>(&output.stdout)
        .map_err(|error| failure("unreadable output".into(), format!("{error}; {stderr}")))
}

/// Find an interpreter of `python_version` on the build host: `pythonX.Y` on
/// `PATH`, the usual system locations, pyenv and uv installs, then `python3`
/// on `PATH`. Each candidate is run to check its version; the answer is its
/// `sys.executable` (a real binary, not a pyenv shim).
pub fn find_interpreter(python_version: (u64, u64)) -> Result<PathBuf, InstallError> {
    let (major, minor) = python_version;
    let versioned = format!("python{major}.{minor}");
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
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
    Err(InstallError::NoInterpreter {
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

    #[test]
    fn places_pyc_files() {
        assert_eq!(
            pyc_path("lib/python3.11/site-packages/six.py", (3, 11)).unwrap(),
            "lib/python3.11/site-packages/__pycache__/six.cpython-311.pyc"
        );
        assert_eq!(
            pyc_path("a.py", (3, 9)).unwrap(),
            "__pycache__/a.cpython-39.pyc"
        );
        assert_eq!(pyc_path("a.pyi", (3, 9)), None);
    }

    #[test]
    fn refuses_pythons_without_hash_based_pyc() {
        let error = compile(&[], Path::new("python3"), (3, 6), "a.whl").unwrap_err();
        assert!(matches!(error, InstallError::BytecodeUnsupported { .. }));
    }

    #[test]
    fn reports_where_it_looked() {
        let error = find_interpreter((2, 1)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("python2.1"), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }
}
