//! Compile-checking probe snippets with the host's `python3`.
//!
//! Input: loaded policies. Output: `Ok` when every `verify.probes[N].code`
//! compiles, else the first failure naming file and key. Invariants: one
//! `python3` process checks all probes of all files (snippets go in as JSON
//! on stdin, never on the command line); nothing is executed, only
//! `compile(code, name, "exec")`; no process is started when there is
//! nothing to check.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{LoadedPolicy, PolicyError};

/// Reads `[[label, code], ...]`, prints `[[index, message], ...]` for the
/// snippets that do not compile.
const CHECKER: &str = r#"
import json, sys
failures = []
for index, (label, code) in enumerate(json.load(sys.stdin)):
    try:
        compile(code, label, "exec")
    except SyntaxError as error:
        failures.append([index, "{} (line {})".format(error.msg, error.lineno)])
    except (ValueError, TypeError) as error:
        failures.append([index, str(error)])
json.dump(failures, sys.stdout)
"#;

#[derive(Serialize)]
struct Snippet<'a>(String, &'a str);

#[derive(Deserialize)]
struct Failure(usize, String);

/// Every probe of `policies` compiles with the host's `python3`.
pub(super) fn check_compile(policies: &[LoadedPolicy]) -> Result<(), PolicyError> {
    let located: Vec<(&LoadedPolicy, usize, &str)> = policies
        .iter()
        .flat_map(|loaded| {
            loaded
                .policy
                .verify
                .probes
                .iter()
                .enumerate()
                .map(move |(index, probe)| (loaded, index, probe.code.as_str()))
        })
        .collect();
    let Some((first, _, _)) = located.first() else {
        return Ok(());
    };
    let checker_error = |message: String| PolicyError::ProbeChecker {
        origin: first.origin.clone(),
        message,
    };
    let snippets: Vec<Snippet> = located
        .iter()
        .map(|(loaded, index, code)| Snippet(format!("<{} probe {index}>", loaded.name), code))
        .collect();
    let input = serde_json::to_vec(&snippets).map_err(|error| checker_error(error.to_string()))?;
    let output = run_python(&input).map_err(checker_error)?;
    let failures: Vec<Failure> = serde_json::from_slice(&output)
        .map_err(|error| checker_error(format!("unreadable answer: {error}")))?;
    match failures.into_iter().next() {
        None => Ok(()),
        Some(Failure(position, message)) => {
            let Some((loaded, index, _)) = located.get(position) else {
                return Err(checker_error(format!("answer names probe {position}")));
            };
            Err(PolicyError::Invalid {
                origin: loaded.origin.clone(),
                message: format!(
                    "`verify.probes[{index}].code` (`{}`) does not compile: {message}",
                    loaded.policy.verify.probes[*index].name
                ),
                hint: Some("probes are Python statements run with the target's interpreter; an exception or failed `assert` fails them".to_string()),
            })
        }
    }
}

/// `python3 -I -c CHECKER` with `input` on stdin → its stdout.
fn run_python(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("python3")
        .args(["-I", "-c", CHECKER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start it: {error}"))?;
    // Written from another thread so a full stdout pipe cannot deadlock us.
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child
        .wait_with_output()
        .map_err(|error| format!("it did not finish: {error}"))?;
    let written = writer.join().map_err(|_| "the writer thread panicked")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "it failed ({}): {}",
            output.status,
            stderr.trim().lines().last().unwrap_or("")
        ));
    }
    written.map_err(|error| format!("cannot write to it: {error}"))?;
    Ok(output.stdout)
}

/// For the unit test of the built-in files.
#[cfg(test)]
pub(super) fn check_builtin(policies: &[LoadedPolicy]) -> Result<(), PolicyError> {
    check_compile(policies)
}
