//! `vendor`: turn a Python application's requirements into RPMs.
//!
//! The pipeline is `Requirements → Lock → CachedArtifacts → Wheels →
//! VerifiedWheels → Rpms` (see `docs/architecture.md`). The modules below
//! are listed in that order: shared value types first, then one module per
//! stage, then the machinery the stages share. Library code never prints:
//! progress goes through [`progress::Reporter`], results are returned as
//! values.

// Shared value types.
pub mod excerpt;
pub mod filename;
pub mod hash;
pub mod hint;
pub mod name;

// Inputs: the project, its requirements, the target platform, policies.
pub mod config;
pub mod direct;
pub mod policy;
pub mod requirements;
pub mod targets;

// The stages, in pipeline order: requirements → `pylock.toml` (`vendor lock`);
pub mod lock;

// lock → artifacts in the cache (`vendor fetch`);
pub mod fetch;

// cached artifacts → wheels built and verified (`vendor build`, `vendor verify`);
pub mod wheels;

// the checks only verified wheels pass;
pub mod verify;

// verified wheels → RPMs and repodata (`vendor build`);
pub mod package;

// RPMs → what a server must provide (`vendor requires`).
pub mod server_needs;

// Machinery the stages share.
pub mod archive_paths;
pub mod cache;
pub mod cache_check;
pub mod elf;
pub mod host;
pub mod index;
pub mod install;
pub mod io_failure;
pub mod parallel;
pub mod pep517;
pub mod progress;
pub mod requirement_text;
pub mod sandbox;
pub mod scratch;
