//! The PEP 517 frontend: sdist → wheel on the build host.
//!
//! Input: an sdist from the cache, its locked build requirements (wheels in
//! the cache), the package policy's [`crate::policy::model::BuildSettings`]
//! and the build host's interpreter. Output: a wheel.
//!
//! Invariants: no network and no pip: the sdist is unpacked safely
//! ([`sdist`]), build requirements are installed by our own installer into
//! an isolated environment, and the backend runs through an embedded shim.

mod error;
mod hooks;
pub mod sdist;

pub use error::BuildError;
pub use hooks::{BuildEnvironment, DEFAULT_SOURCE_DATE_EPOCH};
pub use sdist::{read_build_system, unpack_sdist, BuildSystem, SourceTree};
