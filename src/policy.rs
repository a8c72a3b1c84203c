//! Per-package policies: `policies/packages/<pep503-name>.toml` → typed
//! [`Policy`] values (compiled-in defaults, overridden by a project's own
//! `policies/`).
//!
//! Input: the built-in policy files and an optional project folder. Output:
//! a set of policies by package name. Invariant: the schema is strict;
//! every error names the file and the key.

pub mod model;

pub use model::{
    BuildSettings, FamilyPackages, OneOrMany, Policy, Prerequisite, Probe, Source, VerifySettings,
};
