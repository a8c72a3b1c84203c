//! The integration tests, compiled as one binary.
//!
//! Each module below was its own test binary; as one, the suite links once
//! and takes a tenth of the disk, since every binary carried the whole
//! library. nextest still runs each test in its own process, so tests that
//! change a process-wide setting cannot affect each other.

mod common;
mod rpm_tools;

mod app_rpm;
mod build_rpms;
mod cache_command;
mod direct_references;
mod e2e_build;
mod e2e_native;
mod e2e_real_apps;
mod e2e_real_index;
mod faults;
mod fuzz;
mod harness;
mod lock_build_requires;
mod lock_fetch;
mod native_build;
mod package_rules;
mod releases;
mod repodata;
mod requires;
mod resolver_scale;
mod sandbox;
mod signing;
mod verify;
