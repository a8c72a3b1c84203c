//! The `<app>` RPM: the application's own project, built and verified like
//! any package, with what a server needs besides its code.
//!
//! Input: the [`PackageContext`], the RPM spec of the app's wheel as
//! [`super::spec::wheel_rpm_spec`] makes it, the [`Deployment`] of
//! `vendor.toml`, and the EVR of this release's `<app>-deps`. Output: the
//! `<app>` spec.
//!
//! Invariants (docs/rpm-rules.md#the-application-rpm): the package is named
//! `<app>` and requires `<app>-deps` at its exact EVR, so `dnf install
//! <app>` brings the whole locked set and `dnf upgrade <app>` the new one;
//! `/etc/<app>` is on the venv's import path (a `.pth` file); config files
//! are `%config(noreplace)`, 0640, group of the service user; every other
//! file is root's; every directory it creates under the prefix or
//! `/etc/<app>` is its own.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::dependency::{DependencyFlags, RpmDependency};
use super::error::PackageError;
use super::rpm_writer::{RpmDirectory, RpmFile, RpmFileSource, RpmSpec};
use super::service::{scriptlets, sysusers_entry, sysusers_path, unit_file, unit_path};
use super::spec::PackageContext;
use super::version::RpmEvr;
use crate::config::{DeployedFile, Deployment};
use crate::name::PackageName;

/// The locked package that is the app itself, and how it is deployed.
#[derive(Clone, Debug)]
pub struct Application {
    pub package: PackageName,
    pub deployment: Deployment,
}

/// The `.pth` file that puts `/etc/<app>` on the venv's import path, so
/// `try: import local_settings` finds `/etc/<app>/local_settings.py`.
pub fn config_path_file(context: &PackageContext) -> String {
    context
        .scheme()
        .site_packages()
        .join(format!("{}-config.pth", context.app))
        .display()
        .to_string()
}

/// `/etc/<app>`.
pub fn config_directory(app: &str) -> String {
    format!("/etc/{app}")
}

/// The `<app>` spec: the app's wheel as the venv holds it, renamed, with
/// the deployment's files, unit, user and scriptlets; [`require_deps`]
/// adds the `<app>-deps` of its release once that is known.
pub(super) fn app_rpm_spec(
    context: &PackageContext,
    wheel_spec: RpmSpec,
    deployment: &Deployment,
) -> Result<RpmSpec, PackageError> {
    let app = &context.app;
    let mut spec = RpmSpec {
        name: app.clone(),
        ..wheel_spec
    };
    let service = deployment.service.as_ref();
    let config_group = service.map(|service| service.user.clone());
    spec.files.push(bytes_file(
        config_path_file(context),
        0o644,
        format!("{}\n", config_directory(app)),
    ));
    for file in &deployment.files {
        let mode = if is_executable(file)? { 0o755 } else { 0o644 };
        spec.files.push(project_file(file, mode, false, None));
    }
    for file in &deployment.config {
        read_check(file, "app.config")?;
        spec.files
            .push(project_file(file, 0o640, true, config_group.clone()));
    }
    if let Some(service) = service {
        spec.files.push(bytes_file(
            unit_path(app),
            0o644,
            unit_file(app, service, &context.target),
        ));
        spec.files.push(bytes_file(
            sysusers_path(app),
            0o644,
            sysusers_entry(app, service),
        ));
    }
    spec.directories
        .extend(owned_directories(context, deployment));
    spec.scripts = scriptlets(app, service, &deployment.scripts, &context.target);
    Ok(spec)
}

/// `Requires: <app>-deps = <deps>`: installing or upgrading `<app>`
/// brings exactly its release's set.
pub(super) fn require_deps(spec: &mut RpmSpec, app: &str, deps: &RpmEvr) {
    spec.requires.push(RpmDependency::versioned(
        format!("{app}-deps"),
        DependencyFlags::Equal,
        deps.clone(),
    ));
}

fn bytes_file(path: String, mode: u32, text: String) -> RpmFile {
    RpmFile {
        path,
        mode,
        source: RpmFileSource::Bytes(text.into_bytes()),
        is_license: false,
        is_doc: false,
        is_config: false,
        group: None,
    }
}

fn project_file(file: &DeployedFile, mode: u32, is_config: bool, group: Option<String>) -> RpmFile {
    RpmFile {
        path: file.server_path.clone(),
        mode,
        source: RpmFileSource::Path(file.source.clone()),
        is_license: false,
        is_doc: false,
        is_config,
        group,
    }
}

/// A project file's executable bit, which it keeps on the servers; an
/// error names the file when it is not a readable regular file.
fn is_executable(file: &DeployedFile) -> Result<bool, PackageError> {
    let metadata = read_check(file, "app.files")?;
    Ok(metadata.permissions().mode() & 0o111 != 0)
}

fn read_check(file: &DeployedFile, key: &'static str) -> Result<std::fs::Metadata, PackageError> {
    let error = |source| PackageError::DeploymentFile {
        key,
        written: file.written.clone(),
        path: file.source.clone(),
        source,
    };
    let metadata = std::fs::metadata(&file.source).map_err(error)?;
    if !metadata.is_file() {
        return Err(error(std::io::Error::other("not a regular file")));
    }
    std::fs::File::open(&file.source).map_err(error)?;
    Ok(metadata)
}

/// `/etc/<app>` and every folder the deployment's files need under the
/// prefix or `/etc/<app>` that the venv does not already own.
fn owned_directories(context: &PackageContext, deployment: &Deployment) -> Vec<RpmDirectory> {
    let config_root = config_directory(&context.app);
    let owned_elsewhere = context.scheme().base_directories();
    let mut directories = BTreeSet::from([config_root.clone()]);
    let roots = [context.prefix.as_path(), Path::new(&config_root)];
    for file in deployment.files.iter().chain(&deployment.config) {
        for ancestor in Path::new(&file.server_path).ancestors().skip(1) {
            let inside = roots
                .iter()
                .any(|root| ancestor.starts_with(root) && ancestor != *root);
            if !inside || owned_elsewhere.contains(ancestor) {
                continue;
            }
            directories.insert(ancestor.display().to_string());
        }
    }
    directories
        .into_iter()
        .map(|path| RpmDirectory { path, mode: 0o755 })
        .collect()
}
