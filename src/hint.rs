//! Hints: what the user can do about an error, kept beside its message as
//! data and rendered last.
//!
//! Input: an error (any stage's enum, possibly deep in a chain of causes).
//! Output: its hint, when there is a fix to suggest. Invariants: messages
//! never carry their hint (no `\nhint:` inside a `Display`), so a cause is
//! never printed with its advice in the middle of someone else's message;
//! a wrapper that forwards its inner error's message (`transparent`)
//! forwards its hint too. This module is a leaf every stage depends on; the
//! CLI, which knows every stage, finds the hint anywhere in a chain of
//! causes and renders `error: …`, the causes, then `hint: …`.

/// The hint for a full file system under the cache.
pub const CACHE_DISK_FULL: &str = "the cache's file system is full: free space, run `vendor cache clean` (downloads and built wheels stay), or pass `--cache-dir` a folder on a larger one";

/// The hint for a full file system under the output folder.
pub const OUTPUT_DISK_FULL: &str =
    "the output folder's file system is full: free space, or pass `--out` a folder on a larger one";

/// Whether `error` says the file system is full (`ENOSPC`, or `EDQUOT`:
/// a quota is a full disk to the user).
pub fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// An error that may suggest a fix.
pub trait Hint {
    /// The fix, in one or two sentences, or `None` when there is none.
    fn hint(&self) -> Option<String>;

    /// The message and its hint on one string, for reports that list
    /// several failures (a build summary, a warning).
    fn with_hint(&self) -> String
    where
        Self: std::fmt::Display,
    {
        match self.hint() {
            Some(hint) => format!("{self}\nhint: {hint}"),
            None => self.to_string(),
        }
    }
}
