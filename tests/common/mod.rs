//! Shared harness of the hermetic integration tests.
//!
//! Input: fixture descriptions (`test-data/index/packages.toml`) and what a
//! test asks for. Output: a loopback PyPI-like index ([`TestIndex`]), a
//! throw-away project that runs the real `vendor` binary ([`Project`]), and
//! a reader of the produced `pylock.toml` ([`PyLock`]).
//!
//! ```ignore
//! let index = TestIndex::start(Scenario::default());
//! let project = Project::new().requirements("alpha\nweb[redis]\n");
//! project.lock(&index).assert_success();
//! assert_eq!(project.pylock().version_of("alpha"), "1.0");
//! assert_eq!(index.requests().len(), 0);
//! ```
//!
//! Each test binary uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod dist;
pub mod index_pages;
pub mod index_server;
pub mod project;
pub mod pylock;
pub mod rpm_fixtures;
pub mod scenario;

pub use dist::{normalize_name, ArchiveFile, CoreMetadata, SdistBuilder, WheelBuilder};
pub use index_server::{RecordedRequest, TestIndex};
pub use project::{files_under, Outcome, Project, PYTHON, TARGET};
pub use pylock::{expected_versions, LockedFile, LockedPackage, PyLock};
pub use scenario::{sha256_hex, Artifact, Location, Scenario, SdistKind};

/// uv, which some tests compare `vendor` with: `VENDOR_UV` (set by
/// `scripts/test.sh`), else where `scripts/install-deps.sh` puts it.
pub fn uv_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("VENDOR_UV").filter(|path| !path.is_empty()) {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let installed = std::path::Path::new(&home).join(".cache/vendor-tools/venv/bin/uv");
    assert!(
        installed.is_file(),
        "no uv at `{}` and VENDOR_UV is not set\n\
         hint: run the test suite through `scripts/test.sh`, which installs a pinned uv \
         and sets VENDOR_UV (or set VENDOR_UV=/path/to/uv yourself)",
        installed.display()
    );
    installed
}
