//! Packaging: verified wheels → RPMs and a dnf repository.
//!
//! Input: installed file trees and the lock's metadata. Output: RPM files and
//! `repodata/`. The rules this module reproduces are in
//! `docs/rpm-rules.md`; each submodule implements one part of them:
//! - [`version`]: PEP 440 versions → RPM EVRs (`~`, `^` or `.post`, epoch);
//! - [`dependency`]: RPM dependencies, PEP 440 specifiers → RPM expressions,
//!   `rpmlib()` features;
//! - [`license`]: wheel license metadata → an SPDX `License` tag;
//! - [`releases`]: the repository's release history → each RPM's epoch and
//!   release, `<app>-deps`' number and what it obsoletes.
//!
//! Invariant: these rule modules are pure (bytes and values in, values out);
//! writing RPMs and repository metadata lives in sibling modules.

mod app_package;
mod app_rpms;
pub mod dependency;
mod error;
mod header_text;
pub mod license;
mod output;
pub mod pipeline;
pub mod releases;
pub mod repodata;
mod reuse;
pub use reuse::check_entry as check_kept_rpm;
mod rpm;
pub mod rpm_writer;
pub mod service;
pub mod signing;
pub mod spec;
pub mod venv;
pub mod version;
