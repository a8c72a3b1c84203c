//! Byte-code: `.pyc` files for the target Python, made by the build host's
//! interpreter of the same X.Y.
//!
//! Input: the staged `.py` files with their server paths, and an interpreter.
//! Output: `__pycache__/<stem>.cpython-XY.pyc` next to each source that
//! compiles. Invariants: the `.pyc` files are unchecked-hash (PEP 552), so
//! they never depend on file times; the source path embedded in them is the
//! server path, never the staging path; every interpreter runs with a
//! cleared environment, `PYTHONHASHSEED=0` and a fixed `SOURCE_DATE_EPOCH`,
//! so the bytes depend only on the sources and the interpreter's version.
//!
//! Compiling is most of the time packaging takes, so a wheel with much
//! source is split into contiguous runs of its (sorted) sources, one
//! interpreter process each, up to one per core. Each `.pyc` depends on its
//! own source only, not on what the same process compiled before it, so the
//! split (which depends on the core count) never changes the bytes; a test
//! compiles the same sources split both ways and compares.

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

/// Source bytes below which another interpreter process is not worth its
/// start-up (~25 ms, against ~4 MB/s of compiling).
const SOURCE_BYTES_PER_PROCESS: u64 = 512 * 1024;

/// Compile every job, in one interpreter process per core at most; returns
/// the sources that did not compile, in job order.
pub(super) fn compile(
    jobs: &[CompileJob],
    interpreter: &Path,
    python_version: (u64, u64),
    wheel: &str,
) -> Result<Vec<PathBuf>, InstallError> {
    let split = ProcessSplit {
        max_processes: std::thread::available_parallelism().map_or(1, usize::from),
        bytes_per_process: SOURCE_BYTES_PER_PROCESS,
    };
    compile_in_processes(jobs, interpreter, python_version, wheel, split)
}

/// How many interpreters compile one wheel's sources.
#[derive(Clone, Copy, Debug)]
struct ProcessSplit {
    max_processes: usize,
    /// Source bytes that justify one more process.
    bytes_per_process: u64,
}

fn compile_in_processes(
    jobs: &[CompileJob],
    interpreter: &Path,
    python_version: (u64, u64),
    wheel: &str,
    split: ProcessSplit,
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
    // A source that cannot be read fails in the interpreter, with its name.
    let sizes: Vec<u64> = jobs
        .iter()
        .map(|job| std::fs::metadata(&job.source).map_or(0, |metadata| metadata.len()))
        .collect();
    let total: u64 = sizes.iter().sum();
    let wanted = total.div_ceil(split.bytes_per_process.max(1));
    let wanted = usize::try_from(wanted).unwrap_or(usize::MAX);
    let ranges = split_evenly(&sizes, wanted.clamp(1, split.max_processes.max(1)));
    let results: Vec<Result<Vec<PathBuf>, InstallError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|range| {
                scope.spawn(move || {
                    compile_in_one_process(&jobs[range], interpreter, python_version, wheel)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut failed = Vec::new();
    for result in results {
        failed.extend(result?);
    }
    Ok(failed)
}

/// At most `parts` contiguous, non-empty ranges of `sizes` with about the
/// same total each.
fn split_evenly(sizes: &[u64], parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, sizes.len().max(1));
    let total: u64 = sizes.iter().sum();
    let mut ranges = Vec::with_capacity(parts);
    let (mut start, mut sum) = (0, 0u64);
    for (index, size) in sizes.iter().enumerate() {
        sum += size;
        // Close part k once the running sum reaches k/parts of the total.
        let boundary = total.saturating_mul(ranges.len() as u64 + 1) / parts as u64;
        if ranges.len() + 1 < parts && sum >= boundary {
            ranges.push(start..index + 1);
            start = index + 1;
        }
    }
    if start < sizes.len() {
        ranges.push(start..sizes.len());
    }
    ranges
}

/// Compile `jobs` in one interpreter run, in order; returns the sources that
/// did not compile.
fn compile_in_one_process(
    jobs: &[CompileJob],
    interpreter: &Path,
    python_version: (u64, u64),
    wheel: &str,
) -> Result<Vec<PathBuf>, InstallError> {
    let (major, minor) = python_version;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::find_interpreter;

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
    fn splits_into_contiguous_runs_of_similar_size() {
        let sizes = [5, 1, 1, 1, 1, 1, 4, 2, 0, 0];
        assert_eq!(
            split_evenly(&sizes, 1),
            vec![std::ops::Range { start: 0, end: 10 }]
        );
        assert_eq!(split_evenly(&sizes, 2), [0..4, 4..10]);
        assert_eq!(split_evenly(&sizes, 3), [0..1, 1..6, 6..10]);
        for parts in 1..=12 {
            let ranges = split_evenly(&sizes, parts);
            assert!(
                ranges.len() <= parts.min(sizes.len()),
                "{parts}: {ranges:?}"
            );
            assert!(ranges.iter().all(|range| !range.is_empty()), "{ranges:?}");
            let covered: Vec<usize> = ranges.into_iter().flatten().collect();
            assert_eq!(covered, (0..sizes.len()).collect::<Vec<_>>());
        }
        assert_eq!(split_evenly(&[0, 0, 0], 2), [0..1, 1..3]);
        assert!(split_evenly(&[], 4).is_empty());
    }

    /// Sources whose code objects share names, strings and constants, so
    /// that one process's interning state could leak from file to file.
    fn write_sources(folder: &Path) -> Vec<CompileJob> {
        let mut jobs = Vec::new();
        for index in 0..9 {
            let name = format!("module_{index}.py");
            let source = folder.join("src").join(&name);
            let text = if index == 4 || index == 7 {
                "print 'python 2'\n".to_string()
            } else {
                let mut text =
                    format!("'''Module {index}.'''\nSHARED = ('self', 'value', {index})\n");
                for function in 0..(40 * (index + 1)) {
                    text.push_str(&format!(
                        "def f{function}(self, value='value'):\n    return {{'key': value, 'n': {function}}}\n\n\
                         class C{function}:\n    name = 'self'\n    def m(self):\n        return f{function}(self)\n\n"
                    ));
                }
                text
            };
            fs_err::create_dir_all(source.parent().unwrap()).unwrap();
            fs_err::write(&source, text).unwrap();
            jobs.push(CompileJob {
                pyc: folder.join("pyc").join(format!("{name}c")),
                server_path: Path::new("/opt/app/lib").join(&name),
                source,
            });
        }
        fs_err::create_dir_all(folder.join("pyc")).unwrap();
        jobs
    }

    #[test]
    fn splitting_across_processes_keeps_the_bytes() {
        let python = find_interpreter((3, 11)).unwrap();
        let compiled = |max_processes: usize| {
            let folder = tempfile::tempdir().unwrap();
            let jobs = write_sources(folder.path());
            let split = ProcessSplit {
                max_processes,
                bytes_per_process: 1,
            };
            let failed = compile_in_processes(&jobs, &python, (3, 11), "demo.whl", split).unwrap();
            let failed: Vec<String> = failed
                .iter()
                .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            let pycs: Vec<Option<Vec<u8>>> = jobs
                .iter()
                .map(|job| std::fs::read(&job.pyc).ok())
                .collect();
            (failed, pycs)
        };
        let (failed_once, in_one) = compiled(1);
        assert_eq!(failed_once, ["module_4.py", "module_7.py"]);
        assert_eq!(in_one.iter().filter(|pyc| pyc.is_some()).count(), 7);
        for processes in [2, 3, 9] {
            let (failed, split) = compiled(processes);
            assert_eq!(failed, failed_once, "{processes} processes");
            assert!(split == in_one, "{processes} processes: other .pyc bytes");
        }
    }

    #[test]
    fn refuses_pythons_without_hash_based_pyc() {
        let error = compile(&[], Path::new("python3"), (3, 6), "a.whl").unwrap_err();
        assert!(matches!(error, InstallError::BytecodeUnsupported { .. }));
    }
}
