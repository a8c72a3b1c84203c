//! Preflight: before any build starts, check that the build host has every
//! prerequisite of every package to be built from source.
//!
//! Input: the policies of the packages to build and a [`BuildHost`] (what
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
use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::model::{FamilyPackages, Prerequisite};
use super::LoadedPolicy;
use crate::name::PackageName;

/// The distribution family of the build host; decides the install command
/// and which package names of a prerequisite apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostFamily {
    Debian,
    El,
    Fedora,
}

/// What the build host offers to a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildHost {
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
    #[error("{}", render_missing(.missing, .hint))]
    Missing {
        missing: Vec<MissingPrerequisite>,
        hint: String,
    },
}

/// Check every prerequisite of every package; all that are missing are
/// reported together.
pub fn preflight(packages: &[&LoadedPolicy], host: &BuildHost) -> Result<(), PreflightError> {
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

impl BuildHost {
    /// This machine: `/etc/os-release`, the compiler's include path (`cc -E
    /// -v`, else the standard folders) plus `-I` flags of `CPPFLAGS` /
    /// `CFLAGS`, `PATH`, and `pkg-config` (or `$PKG_CONFIG`) when present.
    pub fn detect() -> BuildHost {
        let family = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|text| family_from_os_release(&text));
        let path: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        let mut include_dirs = flag_include_dirs();
        include_dirs.extend(compiler_include_dirs().unwrap_or_else(standard_include_dirs));
        let program =
            std::env::var_os("PKG_CONFIG").unwrap_or_else(|| OsString::from("pkg-config"));
        let pkg_config = find_executable(Path::new(&program), &path).map(|program| PkgConfig {
            program,
            libdir: None,
        });
        BuildHost {
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

fn include_flags(flags: &str) -> Vec<PathBuf> {
    flags
        .split_whitespace()
        .filter_map(|flag| flag.strip_prefix("-I"))
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// `name` as an executable file: a path as given, a bare name on `path`.
fn find_executable(name: &Path, path: &[PathBuf]) -> Option<PathBuf> {
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

/// Answers about the host, asking pkg-config once per module.
struct HostProbe<'a> {
    host: &'a BuildHost,
    /// module → its `-I` folders, `None` when pkg-config does not know it.
    modules: BTreeMap<String, Option<Vec<PathBuf>>>,
}

impl<'a> HostProbe<'a> {
    fn new(host: &'a BuildHost) -> Self {
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

fn render_missing(missing: &[MissingPrerequisite], hint: &str) -> String {
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
    let _ = write!(text, "\nhint: {hint}");
    text
}

#[cfg(test)]
mod tests;
