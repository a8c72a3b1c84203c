//! Which locked packages are built from their sdist: the one decision lock,
//! fetch and build share.
//!
//! Input: a [`Lock`], the target's wheel [`Tags`], the [`Policies`] and the
//! project's `[build] from-source`. Output: a [`BuildPlan`]. Invariant: the
//! rule is [`Policies::builds_from_source`] (no wheel for the target, a
//! policy asking for the sdist, or the project's list), applied to the
//! lock's packages here and only here, so `vendor lock` locks build
//! requirements for exactly what `vendor fetch` downloads the sdist of and
//! `vendor build` builds.

use std::collections::BTreeSet;

use super::model::Lock;
use crate::name::PackageName;
use crate::policy::Policies;
use crate::targets::Tags;

/// The locked packages whose wheel is built from their sdist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildPlan {
    from_source: BTreeSet<PackageName>,
}

impl BuildPlan {
    /// Decide, for every package of `lock`, whether it is built from source
    /// for a target accepting `tags`.
    pub fn for_lock(
        lock: &Lock,
        tags: &Tags,
        policies: &Policies,
        configured: &BTreeSet<PackageName>,
    ) -> Self {
        let from_source = lock
            .packages
            .iter()
            .filter(|package| {
                let has_usable_wheel = package.best_wheel(tags).is_some();
                policies.builds_from_source(&package.name, has_usable_wheel, configured)
            })
            .map(|package| package.name.clone())
            .collect();
        Self { from_source }
    }

    /// Whether `name`'s wheel is built from its sdist.
    pub fn builds_from_source(&self, name: &PackageName) -> bool {
        self.from_source.contains(name)
    }

    /// Every package built from source, sorted.
    pub fn packages_from_source(&self) -> &BTreeSet<PackageName> {
        &self.from_source
    }
}
