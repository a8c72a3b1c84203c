//! The nodes of the resolution graph as PubGrub sees them.
//!
//! Extras are separate virtual packages (`celery[redis]`) that depend on
//! the base package at exactly the same version plus the extra's own
//! requirements, so PubGrub never needs to know what an extra is.

use std::fmt;

use crate::name::{ExtraName, PackageName};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResolverPackage {
    /// The user's requirements.
    Root,
    Base(PackageName),
    Extra(PackageName, ExtraName),
}

impl ResolverPackage {
    pub fn name(&self) -> Option<&PackageName> {
        match self {
            Self::Root => None,
            Self::Base(name) | Self::Extra(name, _) => Some(name),
        }
    }
}

impl fmt::Display for ResolverPackage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => formatter.write_str("your requirements"),
            Self::Base(name) => write!(formatter, "{name}"),
            Self::Extra(name, extra) => write!(formatter, "{name}[{extra}]"),
        }
    }
}
