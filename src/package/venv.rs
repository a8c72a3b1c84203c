//! The two RPMs every app gets besides its dependencies.
//!
//! Input: the [`PackageContext`] and the EVRs of the dependency RPMs.
//! Output: the specs of `<app>-venv` (owns the prefix and makes it a real
//! virtualenv pointing at the target's interpreter) and `<app>-deps`
//! (requires every dependency RPM at its exact EVR, so `dnf install
//! <app>-deps` installs the whole locked set).

use std::path::Path;

use super::dependency::{rpmlib_features, DependencyFlags, RpmDependency};
use super::rpm_writer::{RpmDirectory, RpmFile, RpmFileSource, RpmSpec};
use super::spec::PackageContext;
use super::version::RpmEvr;

/// The epoch of `<app>-venv` and `<app>-deps`: 1, above the date-based
/// versions of vendor's first releases (epoch 0), so that servers
/// installed then upgrade to release-numbered ones.
pub const APP_EPOCH: u64 = 1;

/// `<app>-venv`, versioned by the target's Python (`1:3.11.9`); its
/// release comes from the release history, like any package's.
pub fn venv_rpm_spec(context: &PackageContext) -> RpmSpec {
    let scheme = context.scheme();
    let prefix = context.prefix.display().to_string();
    let (major, minor) = context.python_minor();
    let interpreter = context.target.python_interpreter.clone();
    let version = RpmEvr {
        epoch: Some(APP_EPOCH),
        ..RpmEvr::from_version(context.target.python.to_string())
    };
    let mut spec = context.base_spec(
        format!("{}-venv", context.app),
        &version,
        context.target.arch.clone(),
    );
    spec.summary = format!(
        "Python {major}.{minor} virtual environment for {}",
        context.app
    );
    spec.description = format!(
        // Separate lines: rpmlint refuses description lines over 79 characters.
        "The virtual environment under {prefix}\nthat the {} Python packages install into.\n\
         Its interpreter is the system's {interpreter}.",
        context.app
    );
    spec.license = "MIT".to_string();
    let home = Path::new(&interpreter)
        .parent()
        .map(|parent| parent.display().to_string())
        .unwrap_or_else(|| "/usr/bin".to_string());
    let pyvenv = format!(
        "home = {home}\ninclude-system-site-packages = false\nversion = {}\nexecutable = {interpreter}\n",
        context.target.python
    );
    let link = |path: String, target: &str| RpmFile {
        path,
        mode: 0o777,
        source: RpmFileSource::Symlink(target.to_string()),
        is_license: false,
        is_doc: false,
        is_config: false,
        group: None,
    };
    spec.files = vec![
        link(format!("{prefix}/bin/python"), &interpreter),
        link(format!("{prefix}/bin/python{major}"), "python"),
        link(format!("{prefix}/bin/python{major}.{minor}"), "python"),
        link(format!("{prefix}/lib64"), "lib"),
        RpmFile {
            path: format!("{prefix}/pyvenv.cfg"),
            mode: 0o644,
            source: RpmFileSource::Bytes(pyvenv.into_bytes()),
            is_license: false,
            is_doc: false,
            is_config: false,
            group: None,
        },
    ];
    spec.directories = scheme
        .base_directories()
        .into_iter()
        .map(|path| RpmDirectory {
            path: path.display().to_string(),
            mode: 0o755,
        })
        .collect();
    spec.requires = vec![context.python_abi(), RpmDependency::any(interpreter)];
    spec
}

/// `<app>-deps` of release `number` (`1:<number>`), requiring each `(rpm
/// name, full EVR)` exactly and obsoleting each of `dropped` up to the EVR
/// given (what earlier releases shipped that this one does not).
pub fn deps_rpm_spec(
    context: &PackageContext,
    number: u64,
    members: &[(String, RpmEvr)],
    dropped: &[(String, RpmEvr)],
) -> RpmSpec {
    let version = RpmEvr {
        epoch: Some(APP_EPOCH),
        ..RpmEvr::from_version(number.to_string())
    };
    let mut spec = context.base_spec(
        format!("{}-deps", context.app),
        &version,
        "noarch".to_string(),
    );
    spec.summary = format!("All locked Python dependencies of {}", context.app);
    spec.description = format!(
        "Installs the {} virtual environment and every Python package\n\
         of its lock at exactly the locked version.",
        context.app
    );
    spec.license = "MIT".to_string();
    let mut requires: Vec<RpmDependency> = members
        .iter()
        .map(|(name, evr)| {
            RpmDependency::versioned(name.clone(), DependencyFlags::Equal, evr.clone())
        })
        .collect();
    requires.extend(rpmlib_features(&requires, &version));
    requires.sort();
    spec.requires = requires;
    spec.obsoletes = dropped
        .iter()
        .map(|(name, evr)| {
            RpmDependency::versioned(name.clone(), DependencyFlags::LessOrEqual, evr.clone())
        })
        .collect();
    spec
}
