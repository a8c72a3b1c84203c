//! Wheel tags a target accepts, most preferred first.
//!
//! Input: the target's CPython `X.Y`, its architecture and its glibc version
//! (data from `policies/targets/`, never the build host). Output: [`Tags`],
//! the ordered list of `(python, abi, platform)` triples that
//! `packaging.tags.sys_tags()` would produce on that server, and a lookup from
//! a wheel file name to its [`TagPriority`].
//!
//! Invariants: the order is `packaging`'s for CPython (checked against its
//! output in the tests); a higher priority is a better fit.
//!
//! Two deliberate differences from what `pip` on the server would accept:
//! - `linux_<arch>` is never accepted. It marks a wheel built on some host
//!   without manylinux auditing: it links whatever libraries that host had,
//!   so nothing says it runs on the target (this is also why PyPI refuses
//!   such uploads).
//! - `musllinux_*` is never accepted: EL and Fedora are glibc systems.

use std::collections::HashMap;

use crate::filename::WheelFilename;

/// How well a wheel's tags fit the target; higher is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagPriority(pub u32);

/// One `(python, abi, platform)` triple, e.g. `cp311-abi3-manylinux_2_17_x86_64`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WheelTag {
    pub python: String,
    pub abi: String,
    pub platform: String,
}

impl std::fmt::Display for WheelTag {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// The target's supported wheel tags.
#[derive(Clone, Debug, Default)]
pub struct Tags {
    /// Most preferred first.
    ordered: Vec<WheelTag>,
    /// python → abi → platform → priority; nested so lookups need no allocation.
    priorities: HashMap<String, HashMap<String, HashMap<String, TagPriority>>>,
}

impl Tags {
    /// The tags of CPython `python` (`(3, 11)`) on `platforms` (most specific
    /// first), in `packaging.tags` order: `cpython_tags` then `compatible_tags`.
    pub fn for_cpython(python: (u64, u64), platforms: &[String]) -> Self {
        let mut ordered = cpython_tags(python, platforms);
        ordered.extend(compatible_tags(python, platforms));
        Self::from_ordered(ordered)
    }

    fn from_ordered(ordered: Vec<WheelTag>) -> Self {
        let mut priorities: HashMap<String, HashMap<String, HashMap<String, TagPriority>>> =
            HashMap::new();
        let count = ordered.len();
        for (index, tag) in ordered.iter().enumerate() {
            // Saturate rather than wrap: no real list comes near `u32::MAX`.
            let priority = TagPriority(u32::try_from(count - index).unwrap_or(u32::MAX));
            priorities
                .entry(tag.python.clone())
                .or_default()
                .entry(tag.abi.clone())
                .or_default()
                .entry(tag.platform.clone())
                // A duplicate keeps its first, better, priority.
                .or_insert(priority);
        }
        Self {
            ordered,
            priorities,
        }
    }

    /// The best priority over the wheel's tag triples; `None` when the wheel
    /// cannot be installed on the target.
    pub fn priority(&self, wheel: &WheelFilename) -> Option<TagPriority> {
        wheel
            .tag_triples()
            .filter_map(|(python, abi, platform)| self.priority_of(python, abi, platform))
            .max()
    }

    /// The priority of one triple.
    pub fn priority_of(&self, python: &str, abi: &str, platform: &str) -> Option<TagPriority> {
        self.priorities
            .get(python)?
            .get(abi)?
            .get(platform)
            .copied()
    }

    pub fn is_compatible(&self, wheel: &WheelFilename) -> bool {
        self.priority(wheel).is_some()
    }

    /// Every accepted tag, most preferred first.
    pub fn iter(&self) -> impl Iterator<Item = &WheelTag> {
        self.ordered.iter()
    }

    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }
}

/// Architectures manylinux defines (PEP 599/600) and `packaging` accepts.
pub const MANYLINUX_ARCHES: [&str; 9] = [
    "x86_64",
    "i686",
    "aarch64",
    "armv7l",
    "ppc64",
    "ppc64le",
    "s390x",
    "riscv64",
    "loongarch64",
];

/// `manylinux_2_<glibc>_<arch>` down to the oldest manylinux for `arch`
/// (glibc 2.5 on x86_64 / i686, 2.17 elsewhere), each legacy alias
/// (`manylinux2014` = 2.17, `manylinux2010` = 2.12, `manylinux1` = 2.5) right
/// after its PEP 600 spelling, as `packaging._manylinux.platform_tags` does.
/// Empty for an architecture manylinux does not define or a glibc older than
/// the oldest manylinux.
pub fn manylinux_platforms(arch: &str, glibc: (u32, u32)) -> Vec<String> {
    if !MANYLINUX_ARCHES.contains(&arch) || glibc.0 != 2 {
        // glibc has been 2.x since 1997; a 3.x would need packaging's
        // cross-major rules, which no target uses yet.
        return Vec::new();
    }
    let oldest_minor = if matches!(arch, "x86_64" | "i686") {
        5
    } else {
        17
    };
    let mut platforms = Vec::new();
    for minor in (oldest_minor..=glibc.1).rev() {
        platforms.push(format!("manylinux_2_{minor}_{arch}"));
        if let Some(legacy) = legacy_manylinux(arch, minor) {
            platforms.push(format!("{legacy}_{arch}"));
        }
    }
    platforms
}

/// The pre-PEP 600 name of `manylinux_2_<minor>` on `arch`, when it has one.
fn legacy_manylinux(arch: &str, minor: u32) -> Option<&'static str> {
    // manylinux1 and manylinux2010 were only ever defined for x86 (PEP 513,
    // PEP 571); manylinux2014 (PEP 599) for every arch above but the two newest.
    let x86 = matches!(arch, "x86_64" | "i686");
    match minor {
        17 if !matches!(arch, "riscv64" | "loongarch64") => Some("manylinux2014"),
        12 if x86 => Some("manylinux2010"),
        5 if x86 => Some("manylinux1"),
        _ => None,
    }
}

fn tag(python: &str, abi: &str, platform: &str) -> WheelTag {
    WheelTag {
        python: python.to_string(),
        abi: abi.to_string(),
        platform: platform.to_string(),
    }
}

/// `packaging.tags.cpython_tags`: the interpreter's own ABI, then abi3 and
/// `none` for this version, then abi3 wheels built for older 3.x.
fn cpython_tags((major, minor): (u64, u64), platforms: &[String]) -> Vec<WheelTag> {
    let interpreter = format!("cp{major}{minor}");
    // abi3 exists from 3.2 on (PEP 384).
    let abi3_applies = (major, minor) >= (3, 2);
    let mut tags = Vec::new();
    for abi in [interpreter.as_str(), "abi3", "none"] {
        if abi == "abi3" && !abi3_applies {
            continue;
        }
        tags.extend(
            platforms
                .iter()
                .map(|platform| tag(&interpreter, abi, platform)),
        );
    }
    if abi3_applies {
        for older in (2..minor).rev() {
            let older_interpreter = format!("cp{major}{older}");
            tags.extend(
                platforms
                    .iter()
                    .map(|platform| tag(&older_interpreter, "abi3", platform)),
            );
        }
    }
    tags
}

/// `packaging.tags.compatible_tags`: pure-Python-interpreter tags on each
/// platform, then the `any` platform.
fn compatible_tags((major, minor): (u64, u64), platforms: &[String]) -> Vec<WheelTag> {
    let versions = python_interpreter_range(major, minor);
    let mut tags = Vec::new();
    for version in &versions {
        tags.extend(
            platforms
                .iter()
                .map(|platform| tag(version, "none", platform)),
        );
    }
    tags.push(tag(&format!("cp{major}{minor}"), "none", "any"));
    tags.extend(versions.iter().map(|version| tag(version, "none", "any")));
    tags
}

/// `pyXY`, `pyX`, then `pyX(Y-1)` down to `pyX0`.
fn python_interpreter_range(major: u64, minor: u64) -> Vec<String> {
    let mut versions = vec![format!("py{major}{minor}"), format!("py{major}")];
    versions.extend((0..minor).rev().map(|older| format!("py{major}{older}")));
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference lists start with comment lines saying how they were made.
    fn reference(text: &str) -> Vec<String> {
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn ours(python: (u64, u64), arch: &str, glibc: (u32, u32)) -> Vec<String> {
        Tags::for_cpython(python, &manylinux_platforms(arch, glibc))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn matches_packaging_for_cpython_311_on_glibc_228_x86_64() {
        let expected = reference(include_str!(
            "testdata/packaging-cp311-glibc2.28-x86_64.txt"
        ));
        assert_eq!(ours((3, 11), "x86_64", (2, 28)), expected);
    }

    #[test]
    fn matches_packaging_for_cpython_312_on_glibc_234_aarch64() {
        let expected = reference(include_str!(
            "testdata/packaging-cp312-glibc2.34-aarch64.txt"
        ));
        assert_eq!(ours((3, 12), "aarch64", (2, 34)), expected);
    }

    #[test]
    fn legacy_aliases_follow_their_pep600_names() {
        let platforms = manylinux_platforms("x86_64", (2, 34));
        let position = |name: &str| platforms.iter().position(|platform| platform == name);
        for (modern, legacy) in [
            ("manylinux_2_17_x86_64", "manylinux2014_x86_64"),
            ("manylinux_2_12_x86_64", "manylinux2010_x86_64"),
            ("manylinux_2_5_x86_64", "manylinux1_x86_64"),
        ] {
            assert_eq!(position(legacy), position(modern).map(|index| index + 1));
        }
        assert_eq!(
            platforms.first().map(String::as_str),
            Some("manylinux_2_34_x86_64")
        );
        assert_eq!(
            platforms.last().map(String::as_str),
            Some("manylinux1_x86_64")
        );
        let arm = manylinux_platforms("aarch64", (2, 28));
        assert_eq!(
            arm.last().map(String::as_str),
            Some("manylinux2014_aarch64")
        );
        assert!(!arm.iter().any(|platform| platform.contains("manylinux1")));
    }

    #[test]
    fn host_only_and_musl_platforms_are_refused() {
        let tags = Tags::for_cpython((3, 11), &manylinux_platforms("x86_64", (2, 34)));
        let check = |name: &str| tags.is_compatible(&name.parse().unwrap());
        assert!(!check("foo-1.0-cp311-cp311-linux_x86_64.whl"));
        assert!(!check("foo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"));
        assert!(!check("foo-1.0-cp311-cp311-manylinux_2_17_aarch64.whl"));
        assert!(check("foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"));
        assert!(manylinux_platforms("sparc", (2, 34)).is_empty());
    }

    #[test]
    fn priorities_rank_specific_over_generic() {
        let tags = Tags::for_cpython((3, 11), &manylinux_platforms("x86_64", (2, 34)));
        let priority = |name: &str| tags.priority(&name.parse().unwrap());
        let native = priority("foo-1.0-cp311-cp311-manylinux_2_34_x86_64.whl").unwrap();
        let older_glibc = priority("foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl").unwrap();
        let abi3 = priority("foo-1.0-cp38-abi3-manylinux_2_17_x86_64.whl").unwrap();
        let pure = priority("foo-1.0-py3-none-any.whl").unwrap();
        assert!(native > older_glibc && older_glibc > abi3 && abi3 > pure);
        // A compressed tag set counts by its best member.
        let multi = priority("foo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        assert_eq!(multi, Some(older_glibc));
        assert_eq!(
            Tags::default().priority(&"foo-1.0-py3-none-any.whl".parse().unwrap()),
            None
        );
    }
}
