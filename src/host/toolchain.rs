//! What the build host offers to a build: its distribution family, the
//! compiler's include path, `PATH` and pkg-config.
//!
//! Input: this machine (`/etc/os-release`, `cc -E -v`, `CPPFLAGS` /
//! `CFLAGS`, `PATH`, `$PKG_CONFIG`). Output: a [`Toolchain`]. Invariant:
//! detection only looks; it never installs or runs a build.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The distribution family of the build host; decides the install command
/// and which package names of a prerequisite apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostFamily {
    Debian,
    El,
    Fedora,
}

/// What the build host offers to a build: what preflight checks a
/// policy's prerequisites against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toolchain {
    /// `None` when `/etc/os-release` names no family vendor knows.
    pub family: Option<HostFamily>,
    /// Where the C compiler looks for `#include <...>`, in its order.
    pub include_dirs: Vec<PathBuf>,
    /// The `PATH` folders.
    pub path: Vec<PathBuf>,
    /// How to ask pkg-config, when the host has it.
    pub pkg_config: Option<PkgConfig>,
}

/// A pkg-config program and, optionally, the only folder it searches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkgConfig {
    pub program: PathBuf,
    /// Passed as `PKG_CONFIG_LIBDIR` (replacing its default search path).
    pub libdir: Option<PathBuf>,
}

impl Toolchain {
    /// This machine: `/etc/os-release`, the compiler's include path (`cc -E
    /// -v`, else the standard folders) plus `-I` flags of `CPPFLAGS` /
    /// `CFLAGS`, `PATH`, and `pkg-config` (or `$PKG_CONFIG`) when present.
    pub fn detect() -> Toolchain {
        let family = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|text| family_from_os_release(&text));
        let path = search_path();
        let mut include_dirs = flag_include_dirs();
        include_dirs.extend(compiler_include_dirs().unwrap_or_else(standard_include_dirs));
        let program =
            std::env::var_os("PKG_CONFIG").unwrap_or_else(|| OsString::from("pkg-config"));
        let pkg_config = find_executable(Path::new(&program), &path).map(|program| PkgConfig {
            program,
            libdir: None,
        });
        Toolchain {
            family,
            include_dirs,
            path,
            pkg_config,
        }
    }
}

/// `ID` / `ID_LIKE` of os-release → the family (Fedora itself, else any
/// RHEL-like system is EL, else Debian and its derivatives).
pub fn family_from_os_release(text: &str) -> Option<HostFamily> {
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(|value| value.trim().trim_matches(['"', '\'']).to_lowercase())
            .unwrap_or_default()
    };
    let id = field("ID");
    let like = field("ID_LIKE");
    let names: Vec<&str> = std::iter::once(id.as_str())
        .chain(like.split_whitespace())
        .collect();
    if id == "fedora" {
        Some(HostFamily::Fedora)
    } else if names
        .iter()
        .any(|name| ["rhel", "centos", "rocky", "almalinux", "ol"].contains(name))
    {
        Some(HostFamily::El)
    } else if names.iter().any(|name| ["debian", "ubuntu"].contains(name)) {
        Some(HostFamily::Debian)
    } else if names.contains(&"fedora") {
        Some(HostFamily::El)
    } else {
        None
    }
}

/// The `#include <...>` search list of `cc -E -v -x c /dev/null`.
fn compiler_include_dirs() -> Option<Vec<PathBuf>> {
    let output = Command::new("cc")
        .args(["-E", "-v", "-x", "c", "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let dirs: Vec<PathBuf> = stderr
        .lines()
        .skip_while(|line| !line.starts_with("#include <...> search starts here:"))
        .skip(1)
        .take_while(|line| !line.starts_with("End of search list."))
        .map(|line| PathBuf::from(line.trim()))
        .collect();
    (output.status.success() && !dirs.is_empty()).then_some(dirs)
}

/// Where headers live when no compiler answers.
fn standard_include_dirs() -> Vec<PathBuf> {
    let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    ["/usr/local/include", &multiarch, "/usr/include"]
        .into_iter()
        .map(PathBuf::from)
        .collect()
}

/// `-I` folders of `CPPFLAGS` and `CFLAGS`, which build backends pass on.
fn flag_include_dirs() -> Vec<PathBuf> {
    ["CPPFLAGS", "CFLAGS"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .flat_map(|flags| include_flags(&flags))
        .collect()
}

pub(crate) fn include_flags(flags: &str) -> Vec<PathBuf> {
    flags
        .split_whitespace()
        .filter_map(|flag| flag.strip_prefix("-I"))
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// `name` as an executable file: a path as given, a bare name on `path`.
/// The folders of `$PATH`, in order.
pub(crate) fn search_path() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

pub(crate) fn find_executable(name: &Path, path: &[PathBuf]) -> Option<PathBuf> {
    let is_executable = |candidate: &Path| {
        std::fs::metadata(candidate)
            .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    };
    if name.components().count() > 1 {
        return is_executable(name).then(|| name.to_path_buf());
    }
    path.iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_from_os_release() {
        let cases = [
            ("ID=debian\nVERSION_ID=\"12\"\n", Some(HostFamily::Debian)),
            ("ID=ubuntu\nID_LIKE=debian\n", Some(HostFamily::Debian)),
            (
                "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
                Some(HostFamily::El),
            ),
            (
                "ID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\n",
                Some(HostFamily::El),
            ),
            ("ID=\"rhel\"\nID_LIKE=\"fedora\"\n", Some(HostFamily::El)),
            (
                "ID=\"amzn\"\nID_LIKE=\"centos rhel fedora\"\n",
                Some(HostFamily::El),
            ),
            ("ID=fedora\nVERSION_ID=43\n", Some(HostFamily::Fedora)),
            ("ID=arch\n", None),
            ("", None),
        ];
        for (text, family) in cases {
            assert_eq!(family_from_os_release(text), family, "{text}");
        }
    }
}
