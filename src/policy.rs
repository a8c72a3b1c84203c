//! Per-package policies: `policies/packages/<pep503-name>.toml` → typed
//! [`Policy`] values (compiled-in defaults, overridden by a project's own
//! `policies/packages/`).
//!
//! Input: the built-in policy files and an optional project folder. Output:
//! [`Policies`], one [`LoadedPolicy`] per package name, each with where it
//! came from and the sha256 of its bytes (part of the built-wheel cache key).
//!
//! Invariants: the schema is strict and every error names the file and the
//! key (`verify.links[2]`); file names are normalized PEP 503 names; link
//! globs compile; probes compile with the host's `python3` (project files at
//! every load, built-in files in a unit test). A project file replaces the
//! built-in file of the same name as a whole — nothing is merged, so what a
//! project file says is all that applies.
//!
//! Policy file schema (strict; see the shipped files for real ones):
//! ```toml
//! description = "Pillow built against the system's image libraries"
//! source = "sdist"                 # or "wheel" (the default)
//! [[prerequisites]]                # met when any one alternative is found
//! feature = "JPEG support"
//! header = "jpeglib.h"             # a string or a list of alternatives
//! pkg-config = "libjpeg"
//! executable = "pg_config"
//! packages = { debian = "libjpeg62-turbo-dev", el = "libjpeg-turbo-devel", fedora = "…" }
//! [build]
//! env = { NAME = "value" }
//! config-settings = { jpeg = "enable" }
//! hint = "shown when the build fails"
//! [verify]
//! links = ["libjpeg.so.*"]         # globs over DT_NEEDED; each must match one
//! bundled = false                  # copies of libraries inside the wheel allowed?
//! imports = ["PIL._imaging"]
//! [[verify.probes]]
//! name = "jpeg"
//! code = "from PIL import features\nassert features.check('jpg')"
//! explanation = "what users lose when it fails"
//! hint = "how to fix it on the build host"
//! ```

mod load;
pub mod model;
pub mod preflight;
mod probes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::hash::Sha256;
use crate::name::PackageName;

pub use model::{
    BuildSettings, FamilyPackages, OneOrMany, Policy, Prerequisite, Probe, Source, VerifySettings,
};
pub use preflight::{preflight, MissingPrerequisite, PreflightError};

/// The policy files shipped with vendor, compiled in.
const BUILTIN_POLICIES: &[(&str, &str)] = &[
    (
        "argon2-cffi-bindings",
        include_str!("../policies/packages/argon2-cffi-bindings.toml"),
    ),
    ("cffi", include_str!("../policies/packages/cffi.toml")),
    (
        "cryptography",
        include_str!("../policies/packages/cryptography.toml"),
    ),
    ("lxml", include_str!("../policies/packages/lxml.toml")),
    (
        "matplotlib-inline",
        include_str!("../policies/packages/matplotlib-inline.toml"),
    ),
    (
        "mysqlclient",
        include_str!("../policies/packages/mysqlclient.toml"),
    ),
    ("pillow", include_str!("../policies/packages/pillow.toml")),
    (
        "psycopg2",
        include_str!("../policies/packages/psycopg2.toml"),
    ),
    (
        "psycopg2-binary",
        include_str!("../policies/packages/psycopg2-binary.toml"),
    ),
    (
        "psycopg-binary",
        include_str!("../policies/packages/psycopg-binary.toml"),
    ),
    (
        "psycopg-c",
        include_str!("../policies/packages/psycopg-c.toml"),
    ),
    ("pycurl", include_str!("../policies/packages/pycurl.toml")),
    ("pylibmc", include_str!("../policies/packages/pylibmc.toml")),
    (
        "python-ldap",
        include_str!("../policies/packages/python-ldap.toml"),
    ),
    ("uwsgi", include_str!("../policies/packages/uwsgi.toml")),
    ("xmlsec", include_str!("../policies/packages/xmlsec.toml")),
];

/// Where a project keeps its own policy files.
pub const PROJECT_POLICIES_DIR: &str = "policies/packages";

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read `{}`: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a valid policy; `message` names the key.
    #[error("`{origin}`: {}", crate::excerpt::shorten_quoted(.message))]
    Invalid {
        origin: String,
        message: String,
        hint: Option<String>,
    },
    #[error("cannot check the probes of `{origin}` with `python3`: {message}")]
    ProbeChecker { origin: String, message: String },
}

impl crate::hint::Hint for PolicyError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Invalid { hint, .. } => hint.clone(),
            Self::ProbeChecker { .. } => {
                Some("the build host needs `python3` on `PATH` to check policy probes".to_string())
            }
            _ => None,
        }
    }
}

/// One policy file, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedPolicy {
    pub name: PackageName,
    pub policy: Policy,
    /// `built-in policies/packages/pillow.toml`, or the project file's path.
    pub origin: String,
    /// sha256 of the file's bytes.
    pub digest: Sha256,
}

impl LoadedPolicy {
    /// The compiled `verify.links` globs, in the file's order, each with its
    /// text. They were checked when the file was loaded.
    pub fn link_globs(&self) -> Vec<(String, globset::GlobMatcher)> {
        self.policy
            .verify
            .links
            .iter()
            .filter_map(|text| Some((text.clone(), load::compile_glob(text).ok()?)))
            .collect()
    }
}

/// Every policy that applies to a project, by package name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policies {
    by_name: BTreeMap<PackageName, LoadedPolicy>,
}

impl Policies {
    /// The built-in policies, overridden and extended by the project's
    /// `<project>/policies/packages/*.toml`. Project probes are compiled with
    /// the host's `python3` (one process for all of them).
    pub fn load(project_dir: Option<&Path>) -> Result<Policies, PolicyError> {
        let mut policies = Self::builtin();
        let Some(project_dir) = project_dir else {
            return Ok(policies);
        };
        let project = load::load_folder(&project_dir.join(PROJECT_POLICIES_DIR))?;
        probes::check_compile(&project)?;
        for loaded in project {
            policies.by_name.insert(loaded.name.clone(), loaded);
        }
        Ok(policies)
    }

    /// Only the policies compiled into vendor.
    pub fn builtin() -> Policies {
        let by_name = builtin_policies()
            .map(|loaded| {
                let loaded = loaded.unwrap_or_else(|error| {
                    panic!("a built-in policy is invalid (the unit tests catch this): {error}")
                });
                (loaded.name.clone(), loaded)
            })
            .collect();
        Policies { by_name }
    }

    pub fn get(&self, name: &PackageName) -> Option<&LoadedPolicy> {
        self.by_name.get(name)
    }

    /// Every policy, by package name.
    pub fn iter(&self) -> impl Iterator<Item = &LoadedPolicy> {
        self.by_name.values()
    }

    /// Whether `name` is built from its sdist: no wheel fits the target, its
    /// policy demands the sdist, or the project lists it in `[build]
    /// from-source`.
    pub fn builds_from_source(
        &self,
        name: &PackageName,
        has_usable_wheel: bool,
        from_source: &BTreeSet<PackageName>,
    ) -> bool {
        !has_usable_wheel
            || from_source.contains(name)
            || self
                .get(name)
                .is_some_and(|loaded| loaded.policy.source == Source::Sdist)
    }
}

/// Parse every built-in file (without the probe check, which needs Python).
fn builtin_policies() -> impl Iterator<Item = Result<LoadedPolicy, PolicyError>> {
    BUILTIN_POLICIES.iter().map(|(name, text)| {
        let origin = format!("built-in {PROJECT_POLICIES_DIR}/{name}.toml");
        load::parse_policy(&format!("{name}.toml"), text, origin)
    })
}

#[cfg(test)]
mod tests;
