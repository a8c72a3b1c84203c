//! (being written by the targets work; placeholder API so the crate builds)
use crate::filename::WheelFilename;

/// How well a wheel's tags fit the target; higher is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagPriority(pub u32);

/// The target's supported wheel tags.
#[derive(Clone, Debug, Default)]
pub struct Tags;

impl Tags {
    pub fn priority(&self, _wheel: &WheelFilename) -> Option<TagPriority> {
        None
    }
}
