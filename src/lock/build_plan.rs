//! Which locked packages are built from their sdist: the one decision lock,
//! fetch and build share.
//!
//! Input: a [`Lock`], the target's wheel [`Tags`], the [`Policies`] and the
//! project's `[build] from-source`. Output: a [`BuildPlan`]. Invariant: the
//! rule is [`SourceRules::builds_from_source`] — the requirement files'
//! `--no-binary` / `--only-binary` (recorded in the lock) first, then
//! [`Policies::builds_from_source`] (no wheel for the target, a policy
//! asking for the sdist, or the project's list) — applied to the lock's
//! packages here and only here, so `vendor lock` locks build requirements
//! for exactly what `vendor fetch` downloads the sdist of and `vendor build`
//! builds.

use std::collections::BTreeSet;

use super::model::Lock;
use crate::name::PackageName;
use crate::policy::Policies;
use crate::requirements::FormatControl;
use crate::targets::Tags;

/// Everything that decides sdist or wheel for one package.
pub struct SourceRules<'a> {
    pub policies: &'a Policies,
    /// `[build] from-source`.
    pub configured: &'a BTreeSet<PackageName>,
    pub formats: &'a FormatControl,
}

impl SourceRules<'_> {
    /// Whether `name` is built from its sdist: `--no-binary` says so, or,
    /// unless `--only-binary` forbids it, its policy or the project does,
    /// or it has no wheel for the target.
    pub fn builds_from_source(&self, name: &PackageName, has_usable_wheel: bool) -> bool {
        let allowed = self.formats.formats(name);
        if !allowed.wheel {
            return true;
        }
        if !allowed.sdist && has_usable_wheel {
            return false;
        }
        self.policies
            .builds_from_source(name, has_usable_wheel, self.configured)
    }

    /// Decide, for every package of `lock`, whether it is built from source
    /// for a target accepting `tags`.
    pub fn plan(&self, lock: &Lock, tags: &Tags) -> BuildPlan {
        let from_source = lock
            .packages
            .iter()
            .filter(|package| {
                let has_usable_wheel = package.best_wheel(tags).is_some();
                self.builds_from_source(&package.name, has_usable_wheel)
            })
            .map(|package| package.name.clone())
            .collect();
        BuildPlan { from_source }
    }
}

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
        let rules = SourceRules {
            policies,
            configured,
            formats: &lock.options.format_control,
        };
        rules.plan(lock, tags)
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
