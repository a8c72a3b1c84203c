//! `vendor.toml`: a project's settings.
//!
//! Input: `<project>/vendor.toml`. Output: [`ProjectConfig`], or `None` when
//! the project has no such file.
//!
//! Invariants: the schema is strict (an unknown table or key is an error that
//! names the file and the key); paths are resolved against the project
//! folder; the app name is usable inside RPM names and the prefix is a clean
//! absolute path. Command-line flags override these values; that merge is
//! the CLI's job.
//!
//! ```toml
//! [app]
//! name = "mysite"                  # RPM names: mysite-python3-django, mysite-venv, ...
//! prefix = "/opt/mysite"           # default: /opt/<name>
//! requirements = ["requirements.in"]
//! source = "."                     # the app's own project → the `<app>` RPM (see `deployment`)
//! [app.files]                      # server path = project path
//! "/opt/mysite/deploy/apache_common.conf" = "deploy/apache_common.conf"
//! [app.config]                     # %config(noreplace) under /etc
//! "/etc/mysite/local_settings.py" = "deploy/local_settings.py"
//! [app.service]                    # mysite.service, run as `user`
//! exec = "/opt/mysite/bin/gunicorn mysite.wsgi"
//! [app.scripts]                    # post-install, post-upgrade, pre-uninstall
//! post-upgrade = "/opt/mysite/bin/mysite-manage migrate --noinput"
//! [target]
//! name = "el9"
//! python = "3.11.9"
//! [build]
//! from-source = ["pillow", "psycopg2"]
//! allow-foreign-host = false       # true: a trial build on a host of another distribution
//! [index]                          # optional
//! index-url = "https://pypi.org/simple"
//! extra-index-urls = []
//! find-links = ["wheels"]          # URLs, or paths relative to the project
//! exclude-newer = 2026-11-01T00:00:00Z   # a TOML datetime or string; a date means its midnight UTC
//! [repo]
//! keep = 5                         # releases whose RPMs the output repository keeps (at least 1)
//! [sign]
//! key = "keys/release.asc"         # armored OpenPGP secret key; passphrase from $VENDOR_SIGN_PASSPHRASE
//! ```

use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::Timestamp;
use pep440_rs::Version;
use serde::Deserialize;

use crate::name::PackageName;
use crate::requirements::resolve_location;

mod deployment;
pub use deployment::{DeployedFile, Deployment, ScriptsConfig, ServiceConfig};

/// The file name looked for in the project folder.
pub const CONFIG_FILE_NAME: &str = "vendor.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{}`: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid `{}`: {message}", .path.display())]
    Invalid {
        path: PathBuf,
        message: String,
        hint: Option<String>,
    },
}

impl crate::hint::Hint for ConfigError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Invalid { hint, .. } => hint.clone(),
            _ => None,
        }
    }
}

/// A project's `vendor.toml`, checked and with paths resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectConfig {
    /// The `vendor.toml` this came from.
    pub path: PathBuf,
    pub app: AppConfig,
    pub target: TargetConfig,
    pub build: BuildConfig,
    pub index: IndexConfig,
    pub repo: RepoConfig,
    pub sign: SignConfig,
}

/// `[sign]`: how releases are signed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignConfig {
    /// The armored OpenPGP secret key, resolved against the project; no
    /// signing when `None`.
    pub key: Option<PathBuf>,
}

/// `[repo]`: the output repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoConfig {
    /// Releases whose RPMs stay in the repository, for `dnf downgrade` and
    /// `dnf history undo`; at least 1.
    pub keep: usize,
}

impl Default for RepoConfig {
    fn default() -> Self {
        Self { keep: 5 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppConfig {
    /// Letters, digits, `-`, `_`, `.`, `+`; starts with a letter or digit.
    pub name: String,
    /// Absolute, without `.`/`..` or a trailing `/`; `None` when not set.
    pub prefix: Option<String>,
    /// Requirement sources, resolved against the project folder, in order.
    pub requirements: Vec<PathBuf>,
    /// `[app] source` and the `[app.*]` tables: the `<app>` RPM.
    pub deployment: Option<Deployment>,
}

impl AppConfig {
    /// The virtualenv root on the servers: `prefix`, else `/opt/<name>`.
    pub fn prefix_or_default(&self) -> String {
        self.prefix
            .clone()
            .unwrap_or_else(|| format!("/opt/{}", self.name))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetConfig {
    pub name: Option<String>,
    pub python: Option<Version>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildConfig {
    pub from_source: Vec<PackageName>,
    /// The build host is knowingly not of the target's distribution: RPMs
    /// that link its libraries are written anyway (a trial build).
    pub allow_foreign_host: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexConfig {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// URLs, or absolute paths (relative ones resolved against the project).
    pub find_links: Vec<String>,
    pub exclude_newer: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    app: Option<RawApp>,
    #[serde(default)]
    target: RawTarget,
    #[serde(default)]
    build: RawBuild,
    #[serde(default)]
    index: RawIndex,
    #[serde(default)]
    repo: RawRepo,
    #[serde(default)]
    sign: RawSign,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSign {
    key: Option<PathBuf>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepo {
    keep: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: String,
    prefix: Option<String>,
    #[serde(default)]
    requirements: Vec<PathBuf>,
    source: Option<PathBuf>,
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    config: std::collections::BTreeMap<String, String>,
    service: Option<deployment::RawService>,
    scripts: Option<deployment::RawScripts>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: Option<String>,
    python: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBuild {
    #[serde(default)]
    from_source: Vec<String>,
    #[serde(default)]
    allow_foreign_host: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawIndex {
    index_url: Option<String>,
    #[serde(default)]
    extra_index_urls: Vec<String>,
    #[serde(default)]
    find_links: Vec<String>,
    exclude_newer: Option<toml::Value>,
}

/// `Ok(None)` when `<dir>/vendor.toml` does not exist.
pub fn load_project_config(project_dir: &Path) -> Result<Option<ProjectConfig>, ConfigError> {
    let path = project_dir.join(CONFIG_FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    parse_project_config(&text, &path).map(Some)
}

/// Parse `text` as the `vendor.toml` at `path` (paths resolve against its folder).
pub fn parse_project_config(text: &str, path: &Path) -> Result<ProjectConfig, ConfigError> {
    let invalid = |message: String, hint: Option<&str>| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
        hint: hint.map(str::to_string),
    };
    let raw: RawConfig = toml::from_str(text)
        .map_err(|error| invalid(crate::excerpt::toml_error(&error, text), None))?;
    let project_dir = path.parent().unwrap_or(Path::new(""));
    let app = raw.app.ok_or_else(|| {
        invalid(
            "there is no `[app]` table".to_string(),
            Some("add `[app]` with at least `name = \"mysite\"`"),
        )
    })?;
    let app = check_app(app, project_dir).map_err(|(message, hint)| invalid(message, hint))?;
    let python = raw
        .target
        .python
        .map(|python| {
            Version::from_str(&python)
                .map_err(|error| invalid(format!("`target.python = \"{python}\"`: {error}"), None))
        })
        .transpose()?;
    let from_source = raw
        .build
        .from_source
        .into_iter()
        .map(|name| {
            PackageName::new(name.clone())
                .map_err(|error| invalid(format!("`build.from-source`: `{name}`: {error}"), None))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let index = check_index(raw.index, project_dir).map_err(|message| invalid(message, None))?;
    let repo = match raw.repo.keep {
        None => RepoConfig::default(),
        Some(keep) if keep >= 1 => RepoConfig {
            keep: keep as usize,
        },
        Some(keep) => {
            return Err(invalid(
                format!("`repo.keep = {keep}`: at least one release must be kept"),
                Some("`keep = 5` keeps the last five releases for `dnf downgrade`"),
            ))
        }
    };
    Ok(ProjectConfig {
        path: path.to_path_buf(),
        app,
        target: TargetConfig {
            name: raw.target.name,
            python,
        },
        build: BuildConfig {
            from_source,
            allow_foreign_host: raw.build.allow_foreign_host,
        },
        index,
        repo,
        sign: SignConfig {
            key: raw.sign.key.map(|key| project_dir.join(key)),
        },
    })
}

/// An `--exclude-newer` value: an RFC 3339 timestamp (`2026-11-01T00:00:00Z`)
/// or a date (`2026-11-01`, meaning its midnight UTC).
pub fn parse_exclude_newer(text: &str) -> Result<Timestamp, String> {
    if let Ok(timestamp) = Timestamp::from_str(text) {
        return Ok(timestamp);
    }
    // jiff reads a date out of a datetime too; an offset-less datetime must
    // not silently become midnight, so only a bare date is tried.
    let is_bare_date = !text.contains(['T', 't', ' ']);
    is_bare_date
        .then(|| jiff::civil::Date::from_str(text).ok())
        .flatten()
        .and_then(|date| date.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|zoned| zoned.timestamp())
        .ok_or_else(|| {
            format!("`{text}` is neither a timestamp with an offset (`2026-11-01T00:00:00Z`) nor a date (`2026-11-01`)")
        })
}

type Problem = (String, Option<&'static str>);

fn check_app(raw: RawApp, project_dir: &Path) -> Result<AppConfig, Problem> {
    let valid_name = raw
        .name
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
        && raw
            .name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_.+".contains(character));
    if !valid_name {
        return Err((
            format!(
                "`app.name = \"{}\"` cannot be part of an RPM name",
                raw.name
            ),
            Some("use letters, digits, `-`, `_`, `.` and `+`, starting with a letter or digit"),
        ));
    }
    let prefix = raw.prefix.map(|prefix| check_prefix(&prefix)).transpose()?;
    let deployment = deployment::check_deployment(
        &raw.name,
        raw.source.as_deref(),
        deployment::RawDeployment {
            files: raw.files,
            config: raw.config,
            service: raw.service,
            scripts: raw.scripts,
        },
        project_dir,
    )?;
    Ok(AppConfig {
        deployment,
        name: raw.name,
        prefix,
        requirements: raw
            .requirements
            .iter()
            .map(|path| project_dir.join(path))
            .collect(),
    })
}

/// An absolute, clean path, returned without a trailing `/`.
fn check_prefix(prefix: &str) -> Result<String, Problem> {
    let trimmed = prefix.trim_end_matches('/');
    let clean = deployment::is_clean_absolute(trimmed)
        && trimmed
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "/-_.+".contains(character));
    if clean {
        Ok(trimmed.to_string())
    } else {
        Err((
            format!("`app.prefix = \"{prefix}\"` is not a clean absolute path"),
            Some("write it like `/opt/mysite`: absolute, no `.` or `..`, letters, digits, `-`, `_`, `.`, `+`"),
        ))
    }
}

fn check_index(raw: RawIndex, project_dir: &Path) -> Result<IndexConfig, String> {
    let location = |key: &str, value: &str| -> Result<String, String> {
        if value.contains("://") {
            url::Url::parse(value).map_err(|error| format!("`index.{key}`: `{value}`: {error}"))?;
        }
        Ok(resolve_location(value, project_dir))
    };
    let exclude_newer = match raw.exclude_newer {
        None => None,
        Some(toml::Value::String(text)) => Some(text),
        Some(toml::Value::Datetime(datetime)) => Some(datetime.to_string()),
        Some(other) => {
            return Err(format!(
                "`index.exclude-newer` must be a datetime or a string, not {}",
                other.type_str()
            ))
        }
    }
    .map(|text| {
        parse_exclude_newer(&text).map_err(|error| format!("`index.exclude-newer`: {error}"))
    })
    .transpose()?;
    Ok(IndexConfig {
        index_url: raw
            .index_url
            .map(|url| location("index-url", &url))
            .transpose()?,
        extra_index_urls: raw
            .extra_index_urls
            .iter()
            .map(|url| location("extra-index-urls", url))
            .collect::<Result<_, _>>()?,
        find_links: raw
            .find_links
            .iter()
            .map(|link| location("find-links", link))
            .collect::<Result<_, _>>()?,
        exclude_newer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hint::Hint;

    fn parse(text: &str) -> Result<ProjectConfig, ConfigError> {
        parse_project_config(text, Path::new("/srv/mysite/vendor.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().with_hint()
    }

    const FULL: &str = r#"
[app]
name = "mysite"
prefix = "/opt/mysite/"
requirements = ["requirements.in", "/abs/more.in"]

[target]
name = "el9"
python = "3.11.9"

[build]
from-source = ["Pillow", "psycopg2"]
allow-foreign-host = true

[index]
index-url = "https://pypi.org/simple"
extra-index-urls = ["https://mirror.example.com/simple"]
find-links = ["wheels", "https://example.com/links/"]
exclude-newer = 2026-11-01T00:00:00Z
"#;

    #[test]
    fn reads_every_table() {
        let config = parse(FULL).unwrap();
        assert_eq!(config.app.name, "mysite");
        assert_eq!(config.app.prefix.as_deref(), Some("/opt/mysite"));
        assert_eq!(
            config.app.requirements,
            [
                PathBuf::from("/srv/mysite/requirements.in"),
                PathBuf::from("/abs/more.in")
            ]
        );
        assert_eq!(config.target.name.as_deref(), Some("el9"));
        assert_eq!(
            config.target.python,
            Some(Version::from_str("3.11.9").unwrap())
        );
        let from_source: Vec<&str> = config.build.from_source.iter().map(AsRef::as_ref).collect();
        assert_eq!(from_source, ["pillow", "psycopg2"]);
        assert!(config.build.allow_foreign_host);
        assert_eq!(
            config.index.find_links,
            ["/srv/mysite/wheels", "https://example.com/links/"]
        );
        assert_eq!(
            config.index.exclude_newer,
            Some("2026-11-01T00:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn only_the_app_name_is_required() {
        let config = parse("[app]\nname = \"mysite\"\n").unwrap();
        assert_eq!(config.app.prefix, None);
        assert_eq!(config.app.prefix_or_default(), "/opt/mysite");
        assert!(config.app.requirements.is_empty());
        assert_eq!(config.target, TargetConfig::default());
        assert_eq!(config.index, IndexConfig::default());
        let error = error("[target]\nname = \"el9\"\n");
        assert!(
            error.contains("no `[app]` table") && error.contains("hint:"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_name_the_file_and_key() {
        for (text, key) in [
            ("[app]\nname = \"x\"\ncolour = \"red\"\n", "colour"),
            ("[app]\nname = \"x\"\n[tagret]\nname = \"el9\"\n", "tagret"),
            (
                "[app]\nname = \"x\"\n[build]\nfrom_source = []\n",
                "from_source",
            ),
            ("[app]\nname = \"x\"\n[index]\nurl = \"x\"\n", "url"),
        ] {
            let error = error(text);
            assert!(error.contains("`/srv/mysite/vendor.toml`"), "{error}");
            assert!(error.contains(&format!("unknown field `{key}`")), "{error}");
        }
    }

    #[test]
    fn checks_values() {
        for (text, expected) in [
            (
                "[app]\nname = \"my site\"\n",
                "cannot be part of an RPM name",
            ),
            ("[app]\nname = \"-x\"\n", "cannot be part of an RPM name"),
            (
                "[app]\nname = \"x\"\nprefix = \"opt/x\"\n",
                "not a clean absolute path",
            ),
            (
                "[app]\nname = \"x\"\nprefix = \"/opt/../x\"\n",
                "not a clean absolute path",
            ),
            (
                "[app]\nname = \"x\"\nprefix = \"/\"\n",
                "not a clean absolute path",
            ),
            (
                "[app]\nname = \"x\"\n[target]\npython = \"three\"\n",
                "target.python",
            ),
            (
                "[app]\nname = \"x\"\n[build]\nfrom-source = [\"not a name\"]\n",
                "not a name",
            ),
            (
                "[app]\nname = \"x\"\n[index]\nexclude-newer = \"soon\"\n",
                "exclude-newer",
            ),
            (
                "[app]\nname = \"x\"\n[index]\nexclude-newer = 3\n",
                "exclude-newer",
            ),
            (
                "[app]\nname = \"x\"\n[index]\nindex-url = \"https://exa mple.com\"\n",
                "index-url",
            ),
        ] {
            let error = error(text);
            assert!(error.contains("vendor.toml"), "{error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
        let name = parse("[app]\nname = \"my_site.2+x\"\n").unwrap();
        assert_eq!(name.app.name, "my_site.2+x");
    }

    #[test]
    fn exclude_newer_accepts_dates_and_strings() {
        let midnight: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        assert_eq!(parse_exclude_newer("2026-11-01"), Ok(midnight));
        assert_eq!(
            parse_exclude_newer("2026-11-01T01:00:00+01:00"),
            Ok(midnight)
        );
        assert!(parse_exclude_newer("2026-11-01T00:00:00").is_err());
        let config = parse("[app]\nname = \"x\"\n[index]\nexclude-newer = 2026-11-01\n").unwrap();
        assert_eq!(config.index.exclude_newer, Some(midnight));
        let config =
            parse("[app]\nname = \"x\"\n[index]\nexclude-newer = \"2026-11-01T00:00:00Z\"\n")
                .unwrap();
        assert_eq!(config.index.exclude_newer, Some(midnight));
    }

    #[test]
    fn loads_from_a_project_folder() {
        let project = tempfile::tempdir().unwrap();
        assert_eq!(load_project_config(project.path()).unwrap(), None);
        std::fs::write(
            project.path().join(CONFIG_FILE_NAME),
            "[app]\nname = \"mysite\"\nrequirements = [\"requirements.in\"]\n",
        )
        .unwrap();
        let config = load_project_config(project.path()).unwrap().unwrap();
        assert_eq!(config.path, project.path().join("vendor.toml"));
        assert_eq!(
            config.app.requirements,
            [project.path().join("requirements.in")]
        );
    }
}
