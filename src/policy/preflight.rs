//! Preflight: before any build starts, check that the build host has every
//! prerequisite of every package to be built from source.
//!
//! Input: the policies of the packages to build and a [`Toolchain`] (what
//! the machine offers: include folders, `PATH`, pkg-config, distribution
//! family). Output: `Ok`, or one [`PreflightError`] listing *every* missing
//! prerequisite, one line each, with a single install command for the
//! host's family as the hint.
//!
//! Invariants: a prerequisite is met when any one of its alternatives
//! (headers, pkg-config modules, executables) is found; headers are looked
//! up in the compiler's include path and in the `-I` folders pkg-config
//! gives for the prerequisite's own modules (freetype keeps `ft2build.h` in
//! `include/freetype2/`). Nothing here installs or builds anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::model::{FamilyPackages, Prerequisite};
use super::LoadedPolicy;
use crate::host::toolchain::{find_executable, include_flags};
use crate::host::{HostFamily, Toolchain};
use crate::name::PackageName;

/// One prerequisite a package lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingPrerequisite {
    pub package: PackageName,
    /// What was looked for, e.g. "`jpeglib.h`" or "`pg_config` on `PATH`".
    pub wanted: String,
    pub feature: Option<String>,
    /// The packages providing it, per family.
    pub packages: FamilyPackages,
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{}", render_missing(.missing))]
    Missing {
        missing: Vec<MissingPrerequisite>,
        hint: String,
    },
}

impl crate::hint::Hint for PreflightError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Missing { hint, .. } => Some(hint.clone()),
        }
    }
}

/// Check every prerequisite of every package; all that are missing are
/// reported together.
pub fn preflight(packages: &[&LoadedPolicy], host: &Toolchain) -> Result<(), PreflightError> {
    let mut probe = HostProbe::new(host);
    let mut missing = Vec::new();
    for loaded in packages {
        for prerequisite in &loaded.policy.prerequisites {
            if !probe.is_met(prerequisite) {
                missing.push(MissingPrerequisite {
                    package: loaded.name.clone(),
                    wanted: describe_wanted(prerequisite),
                    feature: prerequisite.feature.clone(),
                    packages: prerequisite.packages.clone(),
                });
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let hint = install_hint(&missing, host.family);
    Err(PreflightError::Missing { missing, hint })
}

/// Answers about the host, asking pkg-config once per module.
struct HostProbe<'a> {
    host: &'a Toolchain,
    /// module → its `-I` folders, `None` when pkg-config does not know it.
    modules: BTreeMap<String, Option<Vec<PathBuf>>>,
}

impl<'a> HostProbe<'a> {
    fn new(host: &'a Toolchain) -> Self {
        Self {
            host,
            modules: BTreeMap::new(),
        }
    }

    fn is_met(&mut self, prerequisite: &Prerequisite) -> bool {
        let modules = alternatives(&prerequisite.pkg_config);
        let module_dirs: Vec<PathBuf> = modules
            .iter()
            .filter_map(|module| self.module(module).cloned())
            .flatten()
            .collect();
        let found_module = modules.iter().any(|module| self.module(module).is_some());
        let found_header = alternatives(&prerequisite.header).iter().any(|header| {
            self.host
                .include_dirs
                .iter()
                .chain(&module_dirs)
                .any(|dir| dir.join(header).is_file())
        });
        let found_executable = alternatives(&prerequisite.executable)
            .iter()
            .any(|name| find_executable(Path::new(name), &self.host.path).is_some());
        found_module || found_header || found_executable
    }

    /// The module's `-I` folders when pkg-config knows it.
    fn module(&mut self, module: &str) -> Option<&Vec<PathBuf>> {
        if !self.modules.contains_key(module) {
            let answer = self.ask_pkg_config(module);
            self.modules.insert(module.to_string(), answer);
        }
        self.modules.get(module).and_then(Option::as_ref)
    }

    fn ask_pkg_config(&self, module: &str) -> Option<Vec<PathBuf>> {
        let pkg_config = self.host.pkg_config.as_ref()?;
        let mut command = Command::new(&pkg_config.program);
        command
            .args(["--cflags-only-I", "--", module])
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        if let Some(libdir) = &pkg_config.libdir {
            command
                .env("PKG_CONFIG_LIBDIR", libdir)
                .env_remove("PKG_CONFIG_PATH");
        }
        let output = command.output().ok()?;
        output
            .status
            .success()
            .then(|| include_flags(&String::from_utf8_lossy(&output.stdout)))
    }
}

fn alternatives(field: &Option<super::OneOrMany>) -> Vec<&str> {
    field
        .as_ref()
        .map(super::OneOrMany::alternatives)
        .unwrap_or_default()
}

/// The alternatives of the first kind the policy gives: headers, else
/// pkg-config modules, else executables.
fn describe_wanted(prerequisite: &Prerequisite) -> String {
    let quoted = |names: Vec<&str>| {
        names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let headers = alternatives(&prerequisite.header);
    if !headers.is_empty() {
        return quoted(headers);
    }
    let modules = alternatives(&prerequisite.pkg_config);
    if !modules.is_empty() {
        return format!("pkg-config module {}", quoted(modules));
    }
    format!(
        "{} on `PATH`",
        quoted(alternatives(&prerequisite.executable))
    )
}

/// The package of `family` providing a prerequisite (Fedora falls back to
/// the EL name).
fn package_for(packages: &FamilyPackages, family: HostFamily) -> Option<&String> {
    match family {
        HostFamily::Debian => packages.debian.as_ref(),
        HostFamily::El => packages.el.as_ref(),
        HostFamily::Fedora => packages.fedora.as_ref().or(packages.el.as_ref()),
    }
}

/// `apt-get install a b` / `dnf install a b` for what is missing, packages
/// in first-seen order; prerequisites without a package name for the family
/// are named instead.
fn install_command(missing: &[MissingPrerequisite], family: HostFamily) -> String {
    let command = match family {
        HostFamily::Debian => "apt-get install",
        HostFamily::El | HostFamily::Fedora => "dnf install",
    };
    let mut names: Vec<&str> = Vec::new();
    let mut unnamed = Vec::new();
    for item in missing {
        match package_for(&item.packages, family) {
            Some(name) if !names.contains(&name.as_str()) => names.push(name),
            Some(_) => {}
            None => unnamed.push(format!("{} (`{}`)", item.wanted, item.package)),
        }
    }
    let mut parts = Vec::new();
    if !names.is_empty() {
        parts.push(format!("{command} {}", names.join(" ")));
    }
    if !unnamed.is_empty() {
        parts.push(format!("no package is known for {}", unnamed.join(", ")));
    }
    parts.join("; ")
}

/// The install command for the host's family; for a family vendor does
/// not know, the Debian and the EL command.
fn install_hint(missing: &[MissingPrerequisite], family: Option<HostFamily>) -> String {
    match family {
        Some(family) => install_command(missing, family),
        None => format!(
            "install what provides them; on Debian: {}; on EL: {}",
            install_command(missing, HostFamily::Debian),
            install_command(missing, HostFamily::El)
        ),
    }
}

fn render_missing(missing: &[MissingPrerequisite]) -> String {
    let mut packages: Vec<String> = missing
        .iter()
        .map(|item| format!("`{}`", item.package))
        .collect();
    packages.dedup();
    let mut text = format!(
        "the build host lacks what {} {} to build from source:",
        packages.join(", "),
        if packages.len() == 1 { "needs" } else { "need" }
    );
    for item in missing {
        let _ = write!(text, "\n  `{}` needs {}", item.package, item.wanted);
        if let Some(feature) = &item.feature {
            let _ = write!(text, " ({feature})");
        }
    }
    text
}

#[cfg(test)]
mod tests;
