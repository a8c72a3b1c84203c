//! This machine described as a [`Target`]: for `--target host`, and as the
//! platform the build host resolves build requirements for.
//!
//! Input: the running system (`uname -m`, `getconf GNU_LIBC_VERSION` or
//! `ldd --version`, `python3`, `rpm`, `/etc/os-release`). Output: a
//! [`Target`] named `host` with one Python and no soname or header maps.
//!
//! [`build_platform`] is the cheap part (architecture and glibc only) that
//! resolving the build host's build requirements needs.
//!
//! Invariant: only used for `--target host` and for the build host; named
//! targets never look at the host. Without `rpm` on the host, the rpm version is taken to be
//! 4.14.3 (EL8's), the oldest vendor supports, so that no newer rpm feature
//! (such as `^` in versions) is used by accident.

use std::collections::BTreeMap;
use std::process::Command;
use std::str::FromStr;

use pep440_rs::Version;

use super::HostFamily;
use crate::targets::{interpreter_for, parse_glibc, Target, TargetError, TargetFamily};

/// The rpm version assumed when the host has no `rpm`.
const FALLBACK_RPM_VERSION: &str = "4.14.3";

/// `--target host`: this machine's glibc, `python3` and architecture.
pub fn detect() -> Result<Target, TargetError> {
    let python_text = command_output(
        "python3",
        &["-c", "import platform; print(platform.python_version())"],
    )
    .ok_or_else(|| {
        host_error("`python3` did not run\nhint: install python3 or name a target (`--target el9`)")
    })?;
    let python = Version::from_str(&python_text)
        .map_err(|error| host_error(&format!("`python3` reported `{python_text}`: {error}")))?;
    detect_with_python(python)
}

/// This machine with `python` as its Python, for callers that already know
/// which interpreter they use (no `python3` is run).
pub fn detect_with_python(python: Version) -> Result<Target, TargetError> {
    let mut target = build_platform(python)?;
    target.arch =
        command_output("uname", &["-m"]).ok_or_else(|| host_error("`uname -m` did not run"))?;
    target.description = format!(
        "this machine ({}, glibc {}.{})",
        target.arch, target.glibc.0, target.glibc.1
    );
    if let Some(rpm_version) = command_output("rpm", &["--version"])
        .and_then(|text| text.rsplit(' ').next().map(str::to_string))
        .and_then(|text| Version::from_str(&text).ok())
    {
        target.rpm_version = rpm_version;
    }
    target.dist_tag = command_output("rpm", &["--eval", "%{?dist}"]).unwrap_or_default();
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    target.family = family_from_os_release(&os_release);
    target.systemd = command_output("systemctl", &["--version"])
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_string))
        .and_then(|text| Version::from_str(&text).ok());
    Ok(target)
}

/// This machine's architecture and glibc with `python`, for resolving the
/// build host's build requirements (markers and wheel tags are all that
/// resolution reads). Only `getconf` runs; the rpm, systemd and
/// distribution facts are left at what is assumed without rpm, as this is
/// not a platform to package for.
pub fn build_platform(python: Version) -> Result<Target, TargetError> {
    let arch = std::env::consts::ARCH.to_string();
    let glibc = detect_glibc()?;
    Ok(Target {
        name: "host".to_string(),
        description: format!("this build host ({arch}, glibc {}.{})", glibc.0, glibc.1),
        family: TargetFamily::El,
        dist_tag: String::new(),
        python_interpreter: interpreter_for(&python),
        pythons: vec![python.clone()],
        python,
        arch,
        glibc,
        // Whatever this machine has is what it links against.
        libstdcxx: None,
        rpm_version: Version::from_str(FALLBACK_RPM_VERSION)
            .map_err(|error| host_error(&error.to_string()))?,
        systemd: None,
        sonames: BTreeMap::new(),
        headers: BTreeMap::new(),
        python_devel: BTreeMap::new(),
    })
}

fn host_error(message: &str) -> TargetError {
    TargetError::Host {
        message: message.to_string(),
    }
}

/// Trimmed stdout of a successful command; `None` when it cannot run or fails.
fn command_output(program: &str, arguments: &[&str]) -> Option<String> {
    let output = Command::new(program).args(arguments).output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// This machine's glibc `(major, minor)`, without detecting the rest.
pub fn detect_glibc() -> Result<(u32, u32), TargetError> {
    // Asked once per process: the glibc does not change under it, and a
    // lock asks per build environment.
    static DETECTED: std::sync::OnceLock<Result<(u32, u32), String>> = std::sync::OnceLock::new();
    DETECTED
        .get_or_init(|| {
            read_glibc_version().map_err(|error| match error {
                TargetError::Host { message } => message,
                other => other.to_string(),
            })
        })
        .clone()
        .map_err(|message| host_error(&message))
}

fn read_glibc_version() -> Result<(u32, u32), TargetError> {
    // `getconf` prints `glibc 2.36`; `ldd --version` starts with
    // `ldd (Debian GLIBC 2.36-9+deb12u4) 2.36`. Both end in the version.
    let from_getconf = command_output("getconf", &["GNU_LIBC_VERSION"]);
    let from_ldd = || {
        command_output("ldd", &["--version"])
            .and_then(|text| text.lines().next().map(str::to_string))
    };
    let line = from_getconf
        .or_else(from_ldd)
        .ok_or_else(|| host_error("cannot find the glibc version (is this a glibc system?)"))?;
    let version = line.rsplit(' ').next().unwrap_or_default();
    parse_glibc(version)
        .ok_or_else(|| host_error(&format!("cannot read a glibc version from `{line}`")))
}

/// Fedora when `/etc/os-release` says so; every other host is treated as EL,
/// the conservative choice for naming packages.
fn family_from_os_release(os_release: &str) -> TargetFamily {
    match super::toolchain::family_from_os_release(os_release) {
        Some(HostFamily::Fedora) => TargetFamily::Fedora,
        _ => TargetFamily::El,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_family_from_os_release() {
        assert_eq!(
            family_from_os_release("NAME=\"Fedora Linux\"\nID=fedora\n"),
            TargetFamily::Fedora
        );
        assert_eq!(
            family_from_os_release("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"),
            TargetFamily::El
        );
    }

    #[test]
    fn describes_this_machine() {
        // The test machine is a glibc Linux with python3 (the test tooling needs it).
        let host = detect().unwrap();
        assert_eq!(host.name, "host");
        assert!(host.glibc.0 == 2 && host.glibc.1 >= 17, "{:?}", host.glibc);
        assert_eq!(host.pythons, vec![host.python.clone()]);
        assert!(!host.tags().is_empty());
    }
}
