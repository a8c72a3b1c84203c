//! Scripts: `#!python` shebangs in `.data/scripts`, and launchers for the
//! `console_scripts` / `gui_scripts` entry points.
//!
//! Input: the text of `entry_points.txt`, or a staged script. Output: parsed
//! [`EntryPoint`]s and launcher text, or the script with its shebang pointing
//! at the prefix's interpreter. Invariant: a launcher only ever contains
//! dotted Python identifiers taken from the entry point, so a hostile
//! `entry_points.txt` cannot inject code, and a script name is a single path
//! component, so it cannot write outside `bin/`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

use super::error::{io_error, InstallError};
use crate::name::ExtraName;

/// Which launcher section an entry point came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryPointGroup {
    /// `[console_scripts]`
    Console,
    /// `[gui_scripts]` (on Linux the launcher is the same)
    Gui,
}

/// One `name = module:attribute [extras]` line of a launcher section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub group: EntryPointGroup,
    pub module: String,
    /// The dotted attribute path to call (`main`, `Cli.run`).
    pub attribute: String,
    pub extras: Vec<ExtraName>,
}

/// `module[:attr][ [extras]]`, as `importlib.metadata` reads it.
static VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<module>[^:\[\]\s]+)\s*(?::\s*(?P<attribute>[^\[\]\s]+))?\s*(?:\[(?P<extras>[^\]]*)\])?$")
        .expect("static regex")
});
static DOTTED_IDENTIFIER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^\W\d]\w*(?:\.[^\W\d]\w*)*$").expect("static regex"));

/// The console and GUI entry points of an `entry_points.txt`, in file order;
/// other groups are ignored. An error is `(entry point, why)`.
pub(super) fn parse_entry_points(text: &str) -> Result<Vec<EntryPoint>, (String, String)> {
    let mut group = None;
    let mut entry_points = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            group = match section.trim() {
                "console_scripts" => Some(EntryPointGroup::Console),
                "gui_scripts" => Some(EntryPointGroup::Gui),
                _ => None,
            };
            continue;
        }
        let Some(group) = group else { continue };
        let (name, value) = line.split_once('=').ok_or_else(|| {
            (
                line.to_string(),
                "expected `name = module:function`".to_string(),
            )
        })?;
        entry_points.push(parse_entry_point(name.trim(), value.trim(), group)?);
    }
    Ok(entry_points)
}

fn parse_entry_point(
    name: &str,
    value: &str,
    group: EntryPointGroup,
) -> Result<EntryPoint, (String, String)> {
    let fail = |why: &str| (name.to_string(), why.to_string());
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.chars().any(char::is_control)
    {
        return Err(fail("a script name must be a plain file name"));
    }
    let captures = VALUE
        .captures(value)
        .ok_or_else(|| fail(&format!("`{value}` is not `module:function [extras]`")))?;
    let module = &captures["module"];
    let attribute = captures
        .name("attribute")
        .ok_or_else(|| fail(&format!("`{value}` names no function to call")))?
        .as_str();
    if !DOTTED_IDENTIFIER.is_match(module) || !DOTTED_IDENTIFIER.is_match(attribute) {
        return Err(fail(&format!(
            "`{value}` is not made of Python identifiers"
        )));
    }
    let extras = captures
        .name("extras")
        .map(|extras| {
            extras
                .as_str()
                .split(',')
                .map(str::trim)
                .filter(|extra| !extra.is_empty())
                .map(|extra| {
                    ExtraName::from_str(extra).map_err(|_| fail(&format!("bad extra `{extra}`")))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(EntryPoint {
        name: name.to_string(),
        group,
        module: module.to_string(),
        attribute: attribute.to_string(),
        extras,
    })
}

/// The launcher script for `entry_point`, run by `interpreter`.
pub(super) fn render_launcher(entry_point: &EntryPoint, interpreter: &Path) -> String {
    let import_name = entry_point
        .attribute
        .split('.')
        .next()
        .unwrap_or(&entry_point.attribute);
    format!(
        "#!{interpreter}\n\
         # -*- coding: utf-8 -*-\n\
         import sys\n\
         from {module} import {import_name}\n\
         if __name__ == \"__main__\":\n    sys.exit({attribute}())\n",
        interpreter = interpreter.display(),
        module = entry_point.module,
        attribute = entry_point.attribute,
    )
}

/// The first line with `#!python…` replaced by `#!<interpreter>`, keeping
/// any arguments; `None` when the script does not start with `#!python`.
fn rewritten_shebang(first_line: &[u8], interpreter: &Path) -> Option<Vec<u8>> {
    let rest = first_line.strip_prefix(b"#!python")?;
    let line = rest.strip_suffix(b"\n").unwrap_or(rest);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // `#!pythonw`, `#!python3`: the rest of the word names the interpreter too.
    let arguments_start = line
        .iter()
        .position(|byte| byte.is_ascii_whitespace())
        .unwrap_or(line.len());
    let mut shebang = format!("#!{}", interpreter.display()).into_bytes();
    shebang.extend_from_slice(&line[arguments_start..]);
    shebang.push(b'\n');
    Some(shebang)
}

/// Rewrite a staged script's `#!python` shebang in place; `true` if it had one.
pub(super) fn rewrite_script(path: &Path, interpreter: &Path) -> Result<bool, InstallError> {
    let file = File::open(path).map_err(io_error("open", path))?;
    let mut reader = BufReader::new(file);
    let mut first_line = Vec::new();
    (&mut reader)
        .take(4096)
        .read_until(b'\n', &mut first_line)
        .map_err(io_error("read", path))?;
    let Some(shebang) = rewritten_shebang(&first_line, interpreter) else {
        return Ok(false);
    };
    let rewritten = path.with_extension("vendor-rewrite");
    let mut output = File::create(&rewritten).map_err(io_error("create", &rewritten))?;
    output
        .write_all(&shebang)
        .and_then(|()| std::io::copy(&mut reader, &mut output).map(drop))
        .map_err(io_error("write", &rewritten))?;
    std::fs::rename(&rewritten, path).map_err(io_error("replace", path))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_launcher_sections() {
        let text = "[console_scripts]\nfoo = foo.cli:main\nbar=bar:App.run [extra1, extra2]\n\
                    [gui_scripts]\nfoo-gui = foo.gui:start\n[pytest11]\nplugin = foo.plugin\n";
        let entry_points = parse_entry_points(text).unwrap();
        assert_eq!(entry_points.len(), 3);
        assert_eq!(entry_points[1].attribute, "App.run");
        assert_eq!(entry_points[1].extras.len(), 2);
        assert_eq!(entry_points[2].group, EntryPointGroup::Gui);
        let launcher = render_launcher(&entry_points[1], Path::new("/opt/app/bin/python"));
        assert!(launcher.starts_with("#!/opt/app/bin/python\n"));
        assert!(launcher.contains("from bar import App\n"));
        assert!(launcher.contains("sys.exit(App.run())"));
    }

    #[test]
    fn refuses_unsafe_entry_points() {
        for text in [
            "[console_scripts]\n../../etc/evil = a:b\n",
            "[console_scripts]\nx = os;import evil:b\n",
            "[console_scripts]\nx = a:b()\n",
            "[console_scripts]\nx = a\n",
        ] {
            assert!(parse_entry_points(text).is_err(), "{text}");
        }
    }

    #[test]
    fn rewrites_python_shebangs() {
        let interpreter = Path::new("/opt/app/bin/python");
        assert_eq!(
            rewritten_shebang(b"#!python\n", interpreter).unwrap(),
            b"#!/opt/app/bin/python\n"
        );
        assert_eq!(
            rewritten_shebang(b"#!pythonw -u\r\n", interpreter).unwrap(),
            b"#!/opt/app/bin/python -u\n"
        );
        assert_eq!(rewritten_shebang(b"#!/bin/sh\n", interpreter), None);
    }
}
