//! `[app] source` and the `[app.files]`, `[app.config]`, `[app.service]`
//! and `[app.scripts]` tables: what the `<app>` RPM installs besides the
//! application's code.
//!
//! Input: the raw tables of `vendor.toml` and the project folder. Output: a
//! [`Deployment`], or a problem naming the key.
//!
//! Invariants: every server path is absolute and clean and appears once;
//! config files live under `/etc/` and plain files do not (rpm treats a
//! file under `/etc` as configuration); project paths are resolved against
//! the project folder and stay relative in what is shown to users; the
//! service user is a valid system user name and never `root`; environment
//! names are shell-safe and no value spans lines. Whether the project files
//! exist is checked when they are packaged, which names them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::Problem;

/// The application's own project and how it is deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// The folder with the app's `pyproject.toml`, resolved.
    pub source: PathBuf,
    /// `[app.files]`: installed as they are, owned by root.
    pub files: Vec<DeployedFile>,
    /// `[app.config]`: `%config(noreplace)`, mode 0640, group of the
    /// service user.
    pub config: Vec<DeployedFile>,
    pub service: Option<ServiceConfig>,
    pub scripts: ScriptsConfig,
}

/// One file of the project installed at a server path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeployedFile {
    /// Absolute and clean, e.g. `/etc/mysite/local_settings.py`.
    pub server_path: String,
    /// Resolved against the project folder.
    pub source: PathBuf,
    /// As written in `vendor.toml`, for messages.
    pub written: String,
}

/// `[app.service]`: the systemd unit `<app>.service`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// `ExecStart=`, as written.
    pub exec: String,
    /// The system user (and group) the service runs as; created by the
    /// package.
    pub user: String,
    /// `Environment=` entries, sorted by name.
    pub environment: BTreeMap<String, String>,
    /// `WorkingDirectory=`; `None` means the state directory.
    pub working_directory: Option<String>,
}

/// `[app.scripts]`: shell run by rpm, exactly as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptsConfig {
    /// After the first installation.
    pub post_install: Option<String>,
    /// After an upgrade (the new files are in place).
    pub post_upgrade: Option<String>,
    /// Before the package is removed for good (not before an upgrade).
    pub pre_uninstall: Option<String>,
}

impl ScriptsConfig {
    pub fn is_empty(&self) -> bool {
        self.post_install.is_none() && self.post_upgrade.is_none() && self.pre_uninstall.is_none()
    }
}

/// The `[app.*]` tables as read (they are keys of `[app]` itself).
pub(super) struct RawDeployment {
    pub files: BTreeMap<String, String>,
    pub config: BTreeMap<String, String>,
    pub service: Option<RawService>,
    pub scripts: Option<RawScripts>,
}

impl RawDeployment {
    fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.config.is_empty()
            && self.service.is_none()
            && self.scripts.is_none()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawService {
    exec: String,
    user: Option<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    working_directory: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawScripts {
    post_install: Option<String>,
    post_upgrade: Option<String>,
    pre_uninstall: Option<String>,
}

/// The deployment of `app`, when `[app] source` is set; the `[app.*]`
/// tables without it are an error (nothing would install them).
pub(super) fn check_deployment(
    app: &str,
    source: Option<&Path>,
    raw: RawDeployment,
    project_dir: &Path,
) -> Result<Option<Deployment>, Problem> {
    let Some(source) = source else {
        if raw.is_empty() {
            return Ok(None);
        }
        return Err((
            "`[app.files]`, `[app.config]`, `[app.service]` and `[app.scripts]` belong to the app's own RPM, which needs `[app] source`".to_string(),
            Some("add `source = \".\"` under `[app]`: the folder with the app's `pyproject.toml`"),
        ));
    };
    let files = check_files("app.files", raw.files, project_dir)?;
    let config = check_files("app.config", raw.config, project_dir)?;
    check_placement(&files, &config)?;
    let service = raw
        .service
        .map(|service| check_service(app, service))
        .transpose()?;
    let scripts = raw
        .scripts
        .map(check_scripts)
        .transpose()?
        .unwrap_or_default();
    Ok(Some(Deployment {
        source: clean_join(project_dir, source),
        files,
        config,
        service,
        scripts,
    }))
}

/// `project_dir/relative`, absolute (the project may be named relative to
/// the current folder) and without the `.` components `source = "."` adds.
fn clean_join(project_dir: &Path, relative: &Path) -> PathBuf {
    let joined = project_dir.join(relative);
    let joined = std::path::absolute(&joined).unwrap_or(joined);
    joined
        .components()
        .filter(|component| !matches!(component, Component::CurDir))
        .collect()
}

fn check_files(
    key: &str,
    raw: BTreeMap<String, String>,
    project_dir: &Path,
) -> Result<Vec<DeployedFile>, Problem> {
    raw.into_iter()
        .map(|(server_path, written)| {
            if !is_clean_absolute(&server_path) {
                return Err((
                    format!("`{key}`: `{server_path}` is not a clean absolute server path"),
                    Some("write server paths like `/opt/mysite/deploy/apache.conf`: absolute, no `.` or `..`"),
                ));
            }
            let relative = Path::new(&written);
            let inside = relative
                .components()
                .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
            if written.is_empty() || !inside {
                return Err((
                    format!("`{key}`: `{server_path}` = `{written}`: the file must be a path inside the project"),
                    Some("name it relative to the folder of `vendor.toml`, e.g. `deploy/apache.conf`"),
                ));
            }
            Ok(DeployedFile {
                server_path,
                source: clean_join(project_dir, relative),
                written,
            })
        })
        .collect()
}

/// Config files under `/etc/`, other files outside it, no path twice.
fn check_placement(files: &[DeployedFile], config: &[DeployedFile]) -> Result<(), Problem> {
    if let Some(file) = config
        .iter()
        .find(|file| !file.server_path.starts_with("/etc/"))
    {
        return Err((
            format!(
                "`app.config`: `{}` is not under `/etc/`",
                file.server_path
            ),
            Some("server-specific files live under `/etc/` (`/etc/<app>/` is on the app's import path); packaged files go in `[app.files]`"),
        ));
    }
    if let Some(file) = files
        .iter()
        .find(|file| file.server_path.starts_with("/etc/"))
    {
        return Err((
            format!("`app.files`: `{}` is under `/etc/`", file.server_path),
            Some("files under `/etc/` are configuration: list them in `[app.config]`, which keeps a server's edits on upgrade"),
        ));
    }
    if let Some(file) = config.iter().find(|file| {
        files
            .iter()
            .any(|other| other.server_path == file.server_path)
    }) {
        return Err((
            format!(
                "`{}` is in both `[app.files]` and `[app.config]`",
                file.server_path
            ),
            None,
        ));
    }
    Ok(())
}

fn check_service(app: &str, raw: RawService) -> Result<ServiceConfig, Problem> {
    let user = raw.user.unwrap_or_else(|| app.to_string());
    let valid_user = user.len() <= 32
        && user
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && user.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || "_-".contains(character)
        });
    if !valid_user || user == "root" {
        return Err((
            format!("`app.service.user = \"{user}\"` is not a system user the package can create"),
            Some("use lower-case letters, digits, `_` and `-` (at most 32, not `root`); without `user` the app's name is used"),
        ));
    }
    if raw.exec.trim().is_empty() || has_line_break(&raw.exec) {
        return Err((
            "`app.service.exec` must be one non-empty command line".to_string(),
            Some("e.g. `exec = \"/opt/mysite/bin/gunicorn --bind 127.0.0.1:8000 mysite.wsgi\"`"),
        ));
    }
    for (name, value) in &raw.environment {
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '_');
        if !valid_name || has_line_break(value) {
            return Err((
                format!("`app.service.environment`: `{name}` must be a variable name with a one-line value"),
                None,
            ));
        }
    }
    if let Some(directory) = raw
        .working_directory
        .as_ref()
        .filter(|directory| !is_clean_absolute(directory))
    {
        return Err((
            format!(
                "`app.service.working-directory = \"{directory}\"` is not a clean absolute path"
            ),
            None,
        ));
    }
    Ok(ServiceConfig {
        exec: raw.exec,
        user,
        environment: raw.environment,
        working_directory: raw.working_directory,
    })
}

fn check_scripts(raw: RawScripts) -> Result<ScriptsConfig, Problem> {
    let scripts = ScriptsConfig {
        post_install: raw.post_install,
        post_upgrade: raw.post_upgrade,
        pre_uninstall: raw.pre_uninstall,
    };
    let all = [
        &scripts.post_install,
        &scripts.post_upgrade,
        &scripts.pre_uninstall,
    ];
    if all
        .iter()
        .any(|script| script.as_ref().is_some_and(|text| text.contains('\0')))
    {
        return Err((
            "`app.scripts`: a script contains a NUL byte".to_string(),
            None,
        ));
    }
    Ok(scripts)
}

fn has_line_break(text: &str) -> bool {
    text.contains(['\n', '\r', '\0'])
}

/// Absolute, no `.`/`..`/`//`, no trailing `/`, printable without spaces.
pub(super) fn is_clean_absolute(path: &str) -> bool {
    let as_path = Path::new(path);
    path.len() > 1
        && as_path.is_absolute()
        && !path.ends_with('/')
        && !path.contains("//")
        && as_path
            .components()
            .all(|component| matches!(component, Component::RootDir | Component::Normal(_)))
        && path.chars().all(|character| character.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_project_config, ConfigError};
    use crate::hint::Hint;
    use std::path::{Path, PathBuf};

    fn parse(text: &str) -> Result<super::super::ProjectConfig, ConfigError> {
        parse_project_config(text, Path::new("/srv/mysite/vendor.toml"))
    }

    const DEPLOYED: &str = r#"
[app]
name = "mysite"
source = "."
[app.files]
"/opt/mysite/deploy/apache_common.conf" = "deploy/apache_common.conf"
[app.config]
"/etc/mysite/local_settings.py" = "deploy/local_settings.py"
[app.service]
exec = "/opt/mysite/bin/gunicorn mysite.wsgi"
environment = { DJANGO_SETTINGS_MODULE = "mysite.settings" }
[app.scripts]
post-upgrade = "/opt/mysite/bin/mysite-manage migrate --noinput"
"#;

    #[test]
    fn reads_the_deployment_tables() {
        let config = parse(DEPLOYED).unwrap();
        let deployment = config.app.deployment.unwrap();
        assert_eq!(deployment.source, PathBuf::from("/srv/mysite"));
        assert_eq!(
            deployment.files[0].server_path,
            "/opt/mysite/deploy/apache_common.conf"
        );
        assert_eq!(
            deployment.config[0].source,
            PathBuf::from("/srv/mysite/deploy/local_settings.py")
        );
        let service = deployment.service.unwrap();
        assert_eq!(
            service.user, "mysite",
            "the user defaults to the app's name"
        );
        assert_eq!(
            service.environment["DJANGO_SETTINGS_MODULE"],
            "mysite.settings"
        );
        assert_eq!(
            deployment.scripts.post_upgrade.as_deref(),
            Some("/opt/mysite/bin/mysite-manage migrate --noinput")
        );
        assert_eq!(deployment.scripts.post_install, None);
    }

    #[test]
    fn a_project_named_relative_to_the_current_folder_gets_absolute_paths() {
        let config =
            parse_project_config(DEPLOYED, Path::new("test-data/example/vendor.toml")).unwrap();
        let deployment = config.app.deployment.unwrap();
        assert!(
            deployment.source.is_absolute(),
            "{}",
            deployment.source.display()
        );
        assert!(deployment.source.ends_with("test-data/example"));
        assert!(deployment.config[0].source.is_absolute());
    }

    #[test]
    fn refuses_deployments_that_would_not_install_cleanly() {
        for (text, expected) in [
            ("[app]\nname = \"x\"\n[app.config]\n\"/etc/x/a\" = \"a\"\n", "needs `[app] source`"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.config]\n\"/opt/x/a\" = \"a\"\n", "not under `/etc/`"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.files]\n\"/etc/x/a\" = \"a\"\n", "is under `/etc/`"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.files]\n\"opt/x\" = \"a\"\n", "clean absolute"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.files]\n\"/opt/x/a\" = \"../a\"\n", "inside the project"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.service]\nexec = \"a\"\nuser = \"root\"\n", "not a system user"),
            ("[app]\nname = \"My.Site\"\nsource = \".\"\n[app.service]\nexec = \"a\"\n", "not a system user"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.service]\nexec = \"a\\nb\"\n", "one non-empty command line"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.service]\nexec = \"a\"\nenvironment = { \"A B\" = \"1\" }\n", "variable name"),
            ("[app]\nname = \"x\"\nsource = \".\"\n[app.scripts]\npost-remove = \"a\"\n", "unknown field `post-remove`"),
        ] {
            let error = parse(text).unwrap_err().with_hint();
            assert!(error.contains("vendor.toml"), "{error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
