//! PEP 440 versions → RPM `Epoch:Version-Release`.
//!
//! Input: a parsed PEP 440 [`Version`] and the target's [`RpmVersionStyle`].
//! Output: an [`RpmEvr`] whose RPM ordering (`rpmvercmp`) agrees with PEP 440
//! ordering, as `docs/rpm-rules.md` specifies:
//! - epoch `N!` → RPM Epoch `N` (epoch 0 is left out, as rpm does);
//! - pre-release → `~a1`, `~b1`, `~rc1`; a lone dev release → `~~devN` (below
//!   every pre-release of the same release); post release → `^postN`, or
//!   `.postN` for rpm < 4.15 (EL8), which has no `^`;
//! - combined forms keep their order by appending the parts in PEP 440's
//!   order: `1.0rc1.post2.dev3` → `1.0~rc1^post2~dev3` (a dev release *after*
//!   a pre or post part needs only one `~`, since nothing else competes
//!   there);
//! - the local segment `+xyz` is dropped: rpm has no equivalent, and no index
//!   serves two versions differing only there.
//!
//! Invariants: the output never contains `-` (not allowed in an RPM version)
//! and holds only digits, letters, `.`, `~` and `^`. Two forms exist:
//! [`rpm_version`] keeps the release segments as upstream wrote them (the
//! package's own Version tag), [`rpm_dependency_version`] drops trailing zero
//! segments so that `== 2.0` and `== 2` mean the same thing in dependency
//! expressions (PEP 440 treats them as equal; rpm would not).

use std::fmt;

use pep440_rs::{PrereleaseKind, Version};

use crate::targets::release_at_least;

/// How versions are spelled for a target's rpm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpmVersionStyle {
    /// `^` is understood (rpm ≥ 4.15). Without it, post releases are spelled
    /// `.postN`, which still sorts after the base and before the next release.
    pub caret: bool,
}

impl RpmVersionStyle {
    /// rpm 4.15 introduced `^`.
    const FIRST_RPM_WITH_CARET: [u64; 2] = [4, 15];

    /// The style for a target whose rpm has version `rpm_version`.
    pub fn for_rpm(rpm_version: &Version) -> Self {
        Self {
            caret: release_at_least(rpm_version, &Self::FIRST_RPM_WITH_CARET),
        }
    }
}

/// An RPM `[Epoch:]Version[-Release]`.
///
/// `Ord` is lexical (for deterministic sorting of dependency sets), not
/// rpm's version ordering.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RpmEvr {
    pub epoch: Option<u64>,
    pub version: String,
    pub release: Option<String>,
}

impl RpmEvr {
    /// An EVR without epoch and release, e.g. `3.11` for `python(abi) = 3.11`.
    pub fn from_version(version: impl Into<String>) -> Self {
        Self {
            epoch: None,
            version: version.into(),
            release: None,
        }
    }

    /// The same epoch and version with `release` (e.g. `1.el9`).
    pub fn with_release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// Whether any part uses `character` (`~` and `^` need `rpmlib()` features).
    pub fn contains(&self, character: char) -> bool {
        self.version.contains(character)
            || self
                .release
                .as_deref()
                .is_some_and(|release| release.contains(character))
    }
}

impl fmt::Display for RpmEvr {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(epoch) = self.epoch {
            write!(formatter, "{epoch}:")?;
        }
        formatter.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(formatter, "-{release}")?;
        }
        Ok(())
    }
}

/// The package's own Version (upstream release segments, e.g. `2.0` stays
/// `2.0`), with the RPM substitutions for pre, post and dev parts.
pub fn rpm_version(version: &Version, style: RpmVersionStyle) -> RpmEvr {
    convert(version, version.release(), style)
}

/// The form used in dependency expressions and `python3dist()` Provides:
/// trailing zero release segments dropped (`2.0` → `2`, `2.4.8.0` → `2.4.8`).
pub fn rpm_dependency_version(version: &Version, style: RpmVersionStyle) -> RpmEvr {
    convert(version, trim_trailing_zeros(version.release()), style)
}

/// `release` without trailing zero segments, keeping at least one (`0.0` → `0`).
fn trim_trailing_zeros(release: &[u64]) -> &[u64] {
    let significant = release
        .iter()
        .rposition(|segment| *segment != 0)
        .map_or(1, |last| last + 1);
    &release[..significant.min(release.len())]
}

/// The RPM Epoch: PEP 440's, left out when 0 as rpm does.
pub(crate) fn rpm_epoch(version: &Version) -> Option<u64> {
    Some(version.epoch()).filter(|epoch| *epoch != 0)
}

/// Joins release segments with `.` (`[2, 4, 8]` → `2.4.8`).
pub(crate) fn join_release(release: &[u64]) -> String {
    release
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn convert(version: &Version, release: &[u64], style: RpmVersionStyle) -> RpmEvr {
    let mut text = join_release(release);
    text.push_str(&suffix(version, style));
    RpmEvr {
        epoch: rpm_epoch(version),
        version: text,
        release: None,
    }
}

/// The pre, post and dev parts in RPM spelling, in PEP 440's order.
fn suffix(version: &Version, style: RpmVersionStyle) -> String {
    let mut suffix = String::new();
    if let Some(pre) = version.pre() {
        let kind = match pre.kind {
            PrereleaseKind::Alpha => "a",
            PrereleaseKind::Beta => "b",
            PrereleaseKind::Rc => "rc",
        };
        suffix.push_str(&format!("~{kind}{}", pre.number));
    }
    if let Some(post) = version.post() {
        let separator = if style.caret { '^' } else { '.' };
        suffix.push_str(&format!("{separator}post{post}"));
    }
    if let Some(dev) = version.dev() {
        // Alone, a dev release must sort below the release's pre-releases
        // (`~~dev` < `~a`); after a pre or post part it only needs to sort
        // below that part.
        let tildes = if suffix.is_empty() { "~~" } else { "~" };
        suffix.push_str(&format!("{tildes}dev{dev}"));
    }
    suffix
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;
    use std::process::Command;
    use std::str::FromStr;

    use super::*;

    const CARET: RpmVersionStyle = RpmVersionStyle { caret: true };
    const DOT_POST: RpmVersionStyle = RpmVersionStyle { caret: false };

    fn version(text: &str) -> Version {
        Version::from_str(text).unwrap()
    }

    #[test]
    fn converts_like_the_rules() {
        let cases = [
            ("2.0", "2.0", "2"),
            ("2.4.8.0", "2.4.8.0", "2.4.8"),
            ("0.0", "0.0", "0"),
            ("2.4.8b5", "2.4.8~b5", "2.4.8~b5"),
            ("1.0RC1", "1.0~rc1", "1~rc1"),
            ("1.0.dev7", "1.0~~dev7", "1~~dev7"),
            ("2.4.8.post1", "2.4.8^post1", "2.4.8^post1"),
            ("1.0.post1.dev2", "1.0^post1~dev2", "1^post1~dev2"),
            ("1.0rc1.dev2", "1.0~rc1~dev2", "1~rc1~dev2"),
            ("1.0a1.post2.dev3", "1.0~a1^post2~dev3", "1~a1^post2~dev3"),
            ("1.0+ubuntu.1", "1.0", "1"),
        ];
        for (pep440, own, dependency) in cases {
            assert_eq!(rpm_version(&version(pep440), CARET).to_string(), own);
            assert_eq!(
                rpm_dependency_version(&version(pep440), CARET).to_string(),
                dependency
            );
        }
        let epoch = rpm_version(&version("2!1.0.post3"), DOT_POST);
        assert_eq!(epoch.epoch, Some(2));
        assert_eq!(epoch.version, "1.0.post3");
        assert_eq!(epoch.to_string(), "2:1.0.post3");
        assert_eq!(rpm_version(&version("0!1.0"), CARET).epoch, None);
    }

    #[test]
    fn caret_style_follows_the_target_rpm() {
        assert!(!RpmVersionStyle::for_rpm(&version("4.14.3")).caret);
        assert!(RpmVersionStyle::for_rpm(&version("4.15")).caret);
        assert!(RpmVersionStyle::for_rpm(&version("4.16.1.3")).caret);
        assert!(RpmVersionStyle::for_rpm(&version("6.0")).caret);
    }

    #[test]
    fn evr_display_and_release() {
        let evr = RpmEvr::from_version("2.4.8~b5").with_release("1.el9");
        assert_eq!(evr.to_string(), "2.4.8~b5-1.el9");
        assert!(evr.contains('~'));
        assert!(!evr.contains('^'));
    }

    /// PEP 440 pairs covering every part and their combinations. Each
    /// adjacent pair of a chain is compared, plus the listed extra pairs.
    const ORDERED_CHAIN: [&str; 27] = [
        "0.9",
        "1.0.dev1",
        "1.0.dev7",
        "1.0a1.dev1",
        "1.0a1",
        "1.0a1.post1.dev1",
        "1.0a1.post1",
        "1.0a2",
        "1.0b1",
        "1.0rc1.dev1",
        "1.0rc1",
        "1.0rc1.post1",
        "1.0rc2",
        "1.0",
        "1.0.post1.dev2",
        "1.0.post1",
        "1.0.post2.dev1",
        "1.0.post2",
        "1.0.0.1",
        "1.0.1.dev1",
        "1.0.1",
        "1.0.10",
        "1.1",
        "2.0",
        "2.0.post1",
        "2.0.1",
        "1!0.1",
    ];

    const EXTRA_PAIRS: [(&str, &str); 12] = [
        ("1.0rc1", "1.0"),
        ("1.0.post1.dev2", "1.0"),
        ("1.0.post1.dev2", "1.0.post1"),
        ("2.0", "2.0.post1"),
        ("2.0.post1", "2.0.1"),
        ("1.0.dev1", "1.0a1"),
        ("1.0.dev1", "0.9.post1"),
        ("1!1.0", "2.0"),
        ("1!1.0", "1!1.0.post1"),
        ("1.0+local.7", "1.0"),
        ("1.0+local.7", "1.0.post1"),
        ("10.0", "9.99"),
    ];

    /// Pairs PEP 440 calls equal that differ only in trailing zeros: equal in
    /// the dependency form.
    const TRAILING_ZERO_PAIRS: [(&str, &str); 3] =
        [("2.0", "2"), ("2.4.8.0", "2.4.8"), ("1.0.0rc1", "1rc1")];

    fn all_pairs() -> Vec<(Version, Version)> {
        let chain = ORDERED_CHAIN.iter().map(|text| version(text));
        let mut pairs: Vec<_> = chain.clone().zip(chain.skip(1)).collect();
        pairs.extend(
            EXTRA_PAIRS
                .iter()
                .map(|(left, right)| (version(left), version(right))),
        );
        pairs
    }

    /// `rpm.vercmp` over every pair, in one rpm process.
    fn rpm_vercmp(pairs: &[(RpmEvr, RpmEvr)]) -> Vec<Ordering> {
        let calls: String = pairs
            .iter()
            .map(|(left, right)| format!("print(rpm.vercmp(\"{left}\", \"{right}\") .. \"\\n\") "))
            .collect();
        let output = Command::new("rpm")
            .arg("--eval")
            .arg(format!("%{{lua: {calls}}}"))
            .output()
            .expect("rpm is installed (it is a test requirement)");
        assert!(output.status.success(), "{output:?}");
        let results: Vec<Ordering> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| line.trim().parse::<i32>().unwrap().cmp(&0))
            .collect();
        assert_eq!(results.len(), pairs.len(), "one result per pair");
        results
    }

    /// rpm cannot order two versions that differ only in the dropped local
    /// segment; everything else must agree with PEP 440.
    fn expected_rpm_ordering(left: &Version, right: &Version) -> Ordering {
        if left.clone().without_local() == right.clone().without_local() {
            Ordering::Equal
        } else {
            left.cmp(right)
        }
    }

    fn assert_rpm_agrees(
        pairs: &[(Version, Version)],
        convert: fn(&Version, RpmVersionStyle) -> RpmEvr,
        style: RpmVersionStyle,
    ) {
        let converted: Vec<_> = pairs
            .iter()
            .map(|(left, right)| (convert(left, style), convert(right, style)))
            .collect();
        let rpm = rpm_vercmp(&converted);
        for (((left, right), (rpm_left, rpm_right)), rpm_ordering) in
            pairs.iter().zip(&converted).zip(rpm)
        {
            assert_eq!(
                rpm_ordering,
                expected_rpm_ordering(left, right),
                "{left} vs {right} became {rpm_left} vs {rpm_right} ({style:?})"
            );
        }
    }

    #[test]
    fn own_versions_sort_like_pep440_in_rpm() {
        let pairs = all_pairs();
        assert_rpm_agrees(&pairs, rpm_version, CARET);
        assert_rpm_agrees(&pairs, rpm_version, DOT_POST);
    }

    #[test]
    fn dependency_versions_sort_like_pep440_in_rpm() {
        let mut pairs = all_pairs();
        pairs.extend(
            TRAILING_ZERO_PAIRS
                .iter()
                .map(|(left, right)| (version(left), version(right))),
        );
        assert_rpm_agrees(&pairs, rpm_dependency_version, CARET);
        assert_rpm_agrees(&pairs, rpm_dependency_version, DOT_POST);
    }
}
