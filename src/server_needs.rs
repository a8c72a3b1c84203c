//! What a server must provide for the app's RPMs: the union of their
//! system `Requires`, mapped to the target distribution's package names.
//!
//! Input: the folder `vendor build` wrote (`<out>/<target>/`, the `*.rpm`
//! files of its latest release, per `releases.json`, else all of them;
//! only their headers are read) and the [`Target`] they were built
//! for. Output: [`SystemRequirements`] — per distribution package, the
//! capabilities (sonames, interpreter, `python(abi)`) that need it and which
//! RPMs need them, plus the capabilities no package is known for.
//!
//! Invariants: a requirement satisfied inside the folder (by an RPM's name,
//! one of its Provides or one of its files — `<app>-python3dist(...)`, the
//! venv's `bin/python`) is the app's own and never reported, nor are
//! `rpmlib(...)` features, which rpm itself provides. Versioned-symbol
//! requirements (`libc.so.6(GLIBC_2.34)(64bit)`) fold into their soname.
//! Nothing is guessed: a soname the target file does not map is reported as
//! unmapped, not dropped.

mod deployment;
mod repo_file;

pub use deployment::ServerChanges;
pub use repo_file::repo_file;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rpm::{Dependency, DependencyFlags, PackageMetadata};

use crate::package::releases::History;
use crate::targets::Target;

#[derive(Debug, thiserror::Error)]
pub enum RequiresError {
    #[error("no RPMs in `{}`", .folder.display())]
    NoRpms { folder: PathBuf },
    #[error("cannot read `{}`: {source}", .folder.display())]
    ReadFolder {
        folder: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the RPM `{}`: {message}", .path.display())]
    ReadRpm { path: PathBuf, message: String },
}

impl crate::hint::Hint for RequiresError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NoRpms { .. } => Some("run `vendor build` first".to_string()),
            Self::ReadRpm { .. } => Some("rebuild the folder with `vendor build`".to_string()),
            _ => None,
        }
    }
}

/// The answer to "what must a server have installed?".
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SystemRequirements {
    /// The folder that was read.
    pub folder: PathBuf,
    /// How many RPMs it holds.
    pub rpm_count: usize,
    /// Distribution package (`libjpeg-turbo`) → what needs it.
    pub packages: BTreeMap<String, Vec<NeededCapability>>,
    /// System requirements no package of the target is known for.
    pub unmapped: Vec<NeededCapability>,
    /// The app's own capabilities (`<app>-python3dist(name)`) that no RPM
    /// of the folder provides: a package that failed, or was left out.
    /// No server package can provide them.
    pub missing_from_output: Vec<NeededCapability>,
    /// Config files, units, users and scriptlets the RPMs bring.
    pub server_changes: Vec<ServerChanges>,
}

/// One system capability and the RPMs that require it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NeededCapability {
    /// `libjpeg.so.62`, `python(abi) = 3.11`, `/usr/bin/python3.11`.
    pub capability: String,
    /// The Requires entries folded into it, as `rpm -q --requires` prints
    /// them (`libc.so.6(GLIBC_2.34)(64bit)`).
    pub requires: BTreeSet<String>,
    /// Names of the RPMs requiring it (`mysite-python3-pillow`).
    pub required_by: BTreeSet<String>,
}

impl SystemRequirements {
    /// The distribution packages, sorted: what `dnf install` needs.
    pub fn package_names(&self) -> Vec<&str> {
        self.packages.keys().map(String::as_str).collect()
    }
}

/// Read every RPM of `folder` and map its system requirements with
/// `target`'s data.
pub fn system_requirements(
    folder: &Path,
    target: &Target,
) -> Result<SystemRequirements, RequiresError> {
    let rpms = read_rpms(folder)?;
    let internal = InternalCapabilities::of(&rpms);
    // capability → (package or None, entry)
    let mut needed: BTreeMap<(Option<String>, String), NeededCapability> = BTreeMap::new();
    for rpm in &rpms {
        for requirement in &rpm.requires {
            if is_rpmlib(requirement) || internal.satisfies(&requirement.name) {
                continue;
            }
            let (capability, package) = classify(requirement, target);
            let entry = needed
                .entry((package, capability.clone()))
                .or_insert_with(|| NeededCapability {
                    capability,
                    requires: BTreeSet::new(),
                    required_by: BTreeSet::new(),
                });
            entry.requires.insert(render_dependency(requirement));
            entry.required_by.insert(rpm.name.clone());
        }
    }
    let mut requirements = SystemRequirements {
        folder: folder.to_path_buf(),
        rpm_count: rpms.len(),
        server_changes: rpms.iter().filter_map(|rpm| rpm.changes.clone()).collect(),
        ..SystemRequirements::default()
    };
    for ((package, _), capability) in needed {
        match package {
            Some(package) => requirements
                .packages
                .entry(package)
                .or_default()
                .push(capability),
            None if is_app_capability(&capability.capability) => {
                requirements.missing_from_output.push(capability)
            }
            None => requirements.unmapped.push(capability),
        }
    }
    Ok(requirements)
}

/// `<app>-python3dist(name)`: only the app's own RPMs provide it.
fn is_app_capability(capability: &str) -> bool {
    capability
        .split_once("-python3dist(")
        .is_some_and(|(app, _)| !app.is_empty() && !app.contains(['(', ' ']))
}

/// The parts of one RPM's header this module uses.
struct RpmHeader {
    name: String,
    requires: Vec<Dependency>,
    provides: Vec<Dependency>,
    files: Vec<PathBuf>,
    changes: Option<ServerChanges>,
}

/// The headers of `folder/*.rpm`, in file-name order.
fn read_rpms(folder: &Path) -> Result<Vec<RpmHeader>, RequiresError> {
    let entries = match fs_err::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(RequiresError::NoRpms {
                folder: folder.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(RequiresError::ReadFolder {
                folder: folder.to_path_buf(),
                source,
            })
        }
    };
    // A repository keeps earlier releases for downgrades; a server gets
    // the latest.
    let latest: Option<BTreeSet<String>> = History::read(folder).ok().and_then(|history| {
        history.latest().map(|release| {
            release
                .rpms
                .iter()
                .map(|rpm| rpm.file.clone())
                .chain([release.deps.clone()])
                .collect()
        })
    });
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RequiresError::ReadFolder {
            folder: folder.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let in_latest = latest
            .as_ref()
            .is_none_or(|files| files.contains(&entry.file_name().to_string_lossy().into_owned()));
        if path.extension().is_some_and(|extension| extension == "rpm")
            && path.is_file()
            && in_latest
        {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(RequiresError::NoRpms {
            folder: folder.to_path_buf(),
        });
    }
    paths.sort();
    paths.iter().map(|path| read_rpm(path)).collect()
}

fn read_rpm(path: &Path) -> Result<RpmHeader, RequiresError> {
    let unreadable = |error: rpm::Error| RequiresError::ReadRpm {
        path: path.to_path_buf(),
        message: error.to_string(),
    };
    let metadata = PackageMetadata::open(path).map_err(unreadable)?;
    let name = metadata.get_name().map_err(unreadable)?.to_string();
    Ok(RpmHeader {
        changes: deployment::server_changes(&name, &metadata),
        name,
        requires: metadata.get_requires().map_err(unreadable)?,
        provides: metadata.get_provides().map_err(unreadable)?,
        // A package without files (a meta package) has no file list at all.
        files: metadata.get_file_paths().unwrap_or_default(),
    })
}

/// Everything the folder's RPMs provide themselves.
struct InternalCapabilities(BTreeSet<String>);

impl InternalCapabilities {
    fn of(rpms: &[RpmHeader]) -> Self {
        let mut names = BTreeSet::new();
        for rpm in rpms {
            names.insert(rpm.name.clone());
            names.extend(rpm.provides.iter().map(|provide| provide.name.clone()));
            names.extend(rpm.files.iter().map(|file| file.display().to_string()));
        }
        Self(names)
    }

    /// A plain capability the folder provides, or a rich dependency
    /// (`(a >= 1 with a < 2)`) all of whose capabilities it provides.
    fn satisfies(&self, requirement: &str) -> bool {
        if requirement.starts_with('(') {
            let names = rich_dependency_names(requirement);
            !names.is_empty() && names.iter().all(|name| self.0.contains(*name))
        } else {
            self.0.contains(requirement)
        }
    }
}

/// The capability names of a rich dependency: every token that is neither
/// a keyword, a comparison nor the version after one.
fn rich_dependency_names(requirement: &str) -> Vec<&str> {
    const KEYWORDS: [&str; 8] = ["and", "or", "if", "else", "with", "without", "unless", ""];
    let mut names = Vec::new();
    let mut after_comparison = false;
    for token in requirement.split_whitespace() {
        let token = token.trim_start_matches('(');
        // Closing parentheses beyond the token's own (`python3dist(x))`).
        let mut token = token;
        while token.ends_with(')') && token.matches(')').count() > token.matches('(').count() {
            token = &token[..token.len() - 1];
        }
        if ["<", ">", "=", "<=", ">=", "=="].contains(&token) {
            after_comparison = true;
            continue;
        }
        if std::mem::take(&mut after_comparison) || KEYWORDS.contains(&token) {
            continue;
        }
        names.push(token);
    }
    names
}

fn is_rpmlib(requirement: &Dependency) -> bool {
    requirement.flags.contains(DependencyFlags::RPMLIB) || requirement.name.starts_with("rpmlib(")
}

/// The capability a requirement stands for and the target's package for it.
fn classify(requirement: &Dependency, target: &Target) -> (String, Option<String>) {
    let name = requirement.name.as_str();
    if name == "python(abi)" {
        let minor = requirement.version.as_str();
        let minor = if minor.is_empty() {
            target.python_minor()
        } else {
            minor.to_string()
        };
        return (
            format!("python(abi) = {minor}"),
            python_package(target, &minor),
        );
    }
    if name.starts_with('/') {
        return (name.to_string(), path_package(name, target));
    }
    if name.starts_with("rtld(") {
        // The dynamic loader's features are glibc's.
        return (name.to_string(), target.sonames.get("libc.so.6").cloned());
    }
    if let Some(soname) = soname_of(name) {
        return (soname.to_string(), target.sonames.get(soname).cloned());
    }
    if is_scriptlet_tool(requirement) {
        // vendor names the distribution's own package for what a
        // scriptlet runs (`Requires(pre): shadow-utils`).
        return (name.to_string(), Some(name.to_string()));
    }
    (render_dependency(requirement), None)
}

/// A plain package name required by a scriptlet.
fn is_scriptlet_tool(requirement: &Dependency) -> bool {
    let scriptlet = DependencyFlags::SCRIPT_PRE
        | DependencyFlags::SCRIPT_POST
        | DependencyFlags::SCRIPT_PREUN
        | DependencyFlags::SCRIPT_POSTUN;
    requirement.flags.intersects(scriptlet)
        && !requirement.flags.contains(DependencyFlags::INTERP)
        && !requirement.name.contains(['(', '/', ' '])
}

/// `libc.so.6(GLIBC_2.34)(64bit)` → `libc.so.6`; `None` when not a soname.
fn soname_of(name: &str) -> Option<&str> {
    let soname = name.split_once('(').map_or(name, |(soname, _)| soname);
    (soname.contains(".so") && !soname.contains(' ')).then_some(soname)
}

/// The package of the target's CPython `X.Y`: its `-devel` package's name
/// without `-devel` (`python3.11-devel` → `python3.11`).
fn python_package(target: &Target, minor: &str) -> Option<String> {
    let devel = target.python_devel.get(minor)?;
    Some(devel.strip_suffix("-devel").unwrap_or(devel).to_string())
}

/// Interpreter paths RPMs require: the target's Pythons, and the shells
/// scriptlets or scripts may name.
fn path_package(path: &str, target: &Target) -> Option<String> {
    if let Some(minor) = path.strip_prefix("/usr/bin/python") {
        if target.python_devel.contains_key(minor) {
            return python_package(target, minor);
        }
    }
    if path == target.python_interpreter {
        return python_package(target, &target.python_minor());
    }
    match path {
        "/bin/sh" | "/usr/bin/sh" | "/bin/bash" | "/usr/bin/bash" => Some("bash".to_string()),
        "/usr/bin/env" => Some("coreutils".to_string()),
        _ => None,
    }
}

/// `name op version` as rpm prints it.
fn render_dependency(dependency: &Dependency) -> String {
    let comparison = dependency.flags.comparator_str();
    if comparison.is_empty() || dependency.version.is_empty() {
        dependency.name.clone()
    } else {
        format!("{} {comparison} {}", dependency.name, dependency.version)
    }
}

#[cfg(test)]
mod tests;
