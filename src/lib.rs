//! `vendor`: turn a Python application's requirements into RPMs.
//!
//! The pipeline is `Requirements → Lock → CachedArtifacts → Wheels →
//! VerifiedWheels → Rpms`; each module below owns one stage or one shared
//! value type. Library code never prints: progress goes through
//! [`progress::Reporter`], results are returned as values.

pub mod build;
pub mod cache;
pub mod config;
pub mod fetch;
pub mod filename;
pub mod hash;
pub mod index;
pub mod install;
pub mod lock;
pub mod name;
pub mod package;
pub mod parallel;
pub mod policy;
pub mod progress;
pub mod requirements;
pub mod requires;
pub mod scratch;
pub mod target;
pub mod verify;
pub mod wheels;
