//! Progress reporting from library code without printing.
//!
//! Input: events from long-running stages (downloads, builds, packaging).
//! Output: whatever the [`Reporter`] does with them; the CLI renders them
//! with `indicatif`, tests and `--no-progress` use [`SilentReporter`].
//! Invariant: every `task_started` is followed by exactly one
//! `task_finished` with the same id.

use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one task across its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskId(u64);

impl TaskId {
    /// A process-wide unique id.
    pub fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Receives progress events. Implementations must be cheap: events arrive
/// from download loops.
pub trait Reporter: Send + Sync {
    /// A stage (e.g. `resolving`, `downloading`) with `total` units of work.
    fn stage_started(&self, _stage: &str, _total: u64) {}
    /// One unit of the current stage finished.
    fn stage_advanced(&self, _label: &str) {}
    fn stage_finished(&self) {}
    /// A task (one download) with `total_bytes` when known.
    fn task_started(&self, _id: TaskId, _label: &str, _total_bytes: Option<u64>) {}
    fn task_progress(&self, _id: TaskId, _done_bytes: u64) {}
    fn task_finished(&self, _id: TaskId) {}
    /// Work of unknown size (a resolution) began; a terminal shows a spinner.
    fn activity_started(&self, _message: &str) {}
    fn activity_finished(&self) {}
    /// Something the user should see even without a terminal (e.g. a retry).
    fn warn(&self, _message: &str) {}
}

/// Reports an activity from its start until it is dropped, so that an early
/// return by `?` ends it too.
pub struct Activity<'a>(&'a dyn Reporter);

impl<'a> Activity<'a> {
    pub fn start(reporter: &'a dyn Reporter, message: &str) -> Self {
        reporter.activity_started(message);
        Self(reporter)
    }
}

impl Drop for Activity<'_> {
    fn drop(&mut self) {
        self.0.activity_finished();
    }
}

/// Drops every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct SilentReporter;

impl Reporter for SilentReporter {}
