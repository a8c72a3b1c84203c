//! The lock stage: requirements + target + index → [`Lock`].
//!
//! Input: [`crate::requirements::RequirementsInput`], a [`crate::target::Target`]
//! and an [`crate::index::IndexClient`]. Output: a [`Lock`], written as
//! `pylock.toml` (PEP 751) by [`pylock`].
//!
//! Invariants: packages are sorted by name, wheels by file name; every
//! artifact carries a sha256; only wheels usable on the target are listed;
//! no credentials appear in any URL.

pub mod model;
pub mod pylock;

pub use model::{Lock, LockOptions, LockedArtifact, LockedDependency, LockedPackage};
