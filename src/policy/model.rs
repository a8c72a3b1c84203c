//! The typed form of one `policies/packages/<name>.toml`.
//!
//! Input: TOML text. Output: [`Policy`]. Invariant: the schema is strict —
//! unknown keys are refused by serde (`deny_unknown_fields`); globs and
//! probes are checked by the loader, which names the file and key.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Where a package's wheel must come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Build from the sdist on the build host, against its system libraries.
    Sdist,
    /// Use a published wheel (the default when one fits the target).
    #[default]
    Wheel,
}

/// Everything vendor knows about building and checking one package.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    /// Free text shown in `vendor verify` and in error messages.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub source: Source,
    /// What the build host must have before the build starts.
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
    #[serde(default)]
    pub build: BuildSettings,
    #[serde(default)]
    pub verify: VerifySettings,
}

/// One thing the build host must provide; any one of the alternatives in a
/// list is enough (mysqlclient: the `mysqlclient` or the `mariadb`
/// pkg-config module).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Prerequisite {
    /// A C header found in the compiler's include path (`jpeglib.h`).
    #[serde(default)]
    pub header: Option<OneOrMany>,
    /// A `pkg-config` module (`libpq`).
    #[serde(default)]
    pub pkg_config: Option<OneOrMany>,
    /// A program on `PATH` (`pg_config`).
    #[serde(default)]
    pub executable: Option<OneOrMany>,
    /// What it is for, shown when it is missing ("JPEG support").
    #[serde(default)]
    pub feature: Option<String>,
    /// The package providing it, per build-host family.
    #[serde(default)]
    pub packages: FamilyPackages,
}

/// Package names per distribution family (for install hints).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyPackages {
    /// Debian and Ubuntu (`apt-get install`).
    #[serde(default)]
    pub debian: Option<String>,
    /// Enterprise Linux (`dnf install`).
    #[serde(default)]
    pub el: Option<String>,
    /// Fedora; falls back to `el` when absent.
    #[serde(default)]
    pub fedora: Option<String>,
}

/// A single string or a list of alternatives.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn alternatives(&self) -> Vec<&str> {
        match self {
            Self::One(one) => vec![one.as_str()],
            Self::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

/// How to run the PEP 517 build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildSettings {
    /// Environment variables set for the backend.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// PEP 517 `config_settings` passed to every hook.
    #[serde(default)]
    pub config_settings: BTreeMap<String, OneOrMany>,
    /// Shown when the build fails.
    #[serde(default)]
    pub hint: Option<String>,
    /// The build may use the network (an escape hatch for the rare backend
    /// that downloads; the lock's promise of an offline build is then not
    /// kept for this package, and `vendor verify` says so).
    #[serde(default)]
    pub network: bool,
}

/// What must be true of the wheel before it may be packaged.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VerifySettings {
    /// Globs over the `DT_NEEDED` sonames of the wheel's ELF files; each must
    /// match at least one (`libjpeg.so.*`, `{libmariadb,libmysqlclient}.so.*`).
    #[serde(default)]
    pub links: Vec<String>,
    /// Whether copies of libraries inside the wheel (`<pkg>.libs/`) are
    /// acceptable. Policies for packages built from source say `false`.
    #[serde(default = "default_true")]
    pub bundled: bool,
    /// Modules imported besides every top-level module (`PIL._imaging`).
    #[serde(default)]
    pub imports: Vec<String>,
    /// Modules of other packages imported first, for a package that refuses
    /// to be imported before them (`psycopg_c` after `psycopg`).
    #[serde(default)]
    pub import_after: Vec<String>,
    /// Modules (and their submodules) not imported, each with the reason:
    /// a module that can only run inside another program (`uwsgidecorators`
    /// needs the `uwsgi` module the uWSGI server embeds), or one the app
    /// never imports that cannot import with the locked set. The reason is
    /// shown in `vendor verify`; everything else is still imported.
    #[serde(default)]
    pub not_imported: BTreeMap<String, String>,
    #[serde(default)]
    pub probes: Vec<Probe>,
}

/// A Python snippet that must run without raising, in a scratch environment
/// holding the wheel and its runtime dependencies.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Probe {
    /// Short feature name (`jpeg`).
    pub name: String,
    /// Python statements; an exception or a failed `assert` fails the probe.
    pub code: String,
    /// What is broken for users when the probe fails.
    pub explanation: String,
    /// How to fix it on the build host.
    #[serde(default)]
    pub hint: Option<String>,
}

fn default_true() -> bool {
    true
}
