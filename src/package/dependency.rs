//! RPM dependencies: `python3dist()` names, PEP 440 specifiers converted to
//! RPM expressions, and the `rpmlib()` features a package needs.
//!
//! Input: a requirement's name, extras and [`VersionSpecifiers`] (markers
//! already evaluated for the target by the caller), or a package's own name
//! and version. Output: [`RpmDependency`] values, either a simple
//! `name [op evr]` or a rich expression `(A with B)`, as
//! `docs/rpm-rules.md` specifies (Fedora's `pythondistdeps` conversion).
//!
//! Invariants: a versioned dependency is a real (name, flags, EVR) triple —
//! never a name string containing an operator; several specifiers on one
//! requirement become one rich dependency whose parts are sorted, so the
//! output does not depend on the order upstream wrote them in.

use std::fmt;

use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};

use super::version::{join_release, rpm_dependency_version, rpm_epoch, RpmEvr, RpmVersionStyle};
use crate::name::{ExtraName, PackageName};

/// rpm's `RPMSENSE_*` comparison bits, as stored in the header.
const SENSE_LESS: u32 = 1 << 1;
const SENSE_GREATER: u32 = 1 << 2;
const SENSE_EQUAL: u32 = 1 << 3;
/// Marks `rpmlib(…)` dependencies, which rpm checks against itself.
const SENSE_RPMLIB: u32 = 1 << 24;

#[derive(Debug, thiserror::Error)]
pub enum DependencyError {
    #[error("`{requirement}{specifier}` cannot be expressed as an rpm dependency: `~=` needs at least two release segments")]
    CompatibleNeedsTwoSegments {
        requirement: String,
        specifier: VersionSpecifier,
    },
}

impl crate::hint::Hint for DependencyError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::CompatibleNeedsTwoSegments { specifier, .. } => {
                let version = specifier.version();
                Some(format!(
                    "write `>={version}` (or `=={version}.*`) in the requirement instead"
                ))
            }
        }
    }
}

/// How a simple dependency compares versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DependencyFlags {
    /// Unversioned: any version satisfies it.
    Any,
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

impl DependencyFlags {
    /// The operator as rpm prints it (empty for [`DependencyFlags::Any`]).
    pub fn operator(self) -> &'static str {
        match self {
            Self::Any => "",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Equal => "=",
            Self::GreaterOrEqual => ">=",
            Self::Greater => ">",
        }
    }

    /// rpm's `RPMSENSE_LESS | RPMSENSE_GREATER | RPMSENSE_EQUAL` bits.
    pub fn sense_bits(self) -> u32 {
        match self {
            Self::Any => 0,
            Self::Less => SENSE_LESS,
            Self::LessOrEqual => SENSE_LESS | SENSE_EQUAL,
            Self::Equal => SENSE_EQUAL,
            Self::GreaterOrEqual => SENSE_GREATER | SENSE_EQUAL,
            Self::Greater => SENSE_GREATER,
        }
    }
}

/// One Requires / Provides entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RpmDependency {
    /// `name`, or `name op evr`. `evr` is `None` exactly when `flags` is
    /// [`DependencyFlags::Any`]; build these with [`RpmDependency::any`] and
    /// [`RpmDependency::versioned`].
    Simple {
        name: String,
        flags: DependencyFlags,
        evr: Option<RpmEvr>,
    },
    /// A rich (boolean) dependency, e.g. `(foo >= 1 with foo < 2)`; rpm stores
    /// the whole expression as the name with no flags or version.
    Rich(String),
}

impl RpmDependency {
    /// An unversioned dependency (`libz.so.1()(64bit)`, `/usr/bin/python3.11`).
    pub fn any(name: impl Into<String>) -> Self {
        Self::Simple {
            name: name.into(),
            flags: DependencyFlags::Any,
            evr: None,
        }
    }

    /// `name flags evr`; `flags` [`DependencyFlags::Any`] drops the EVR.
    pub fn versioned(name: impl Into<String>, flags: DependencyFlags, evr: RpmEvr) -> Self {
        Self::Simple {
            name: name.into(),
            evr: (flags != DependencyFlags::Any).then_some(evr),
            flags,
        }
    }

    /// The name rpm stores (the whole expression for a rich dependency).
    pub fn name(&self) -> &str {
        match self {
            Self::Simple { name, .. } => name,
            Self::Rich(expression) => expression,
        }
    }

    pub fn flags(&self) -> DependencyFlags {
        match self {
            Self::Simple { flags, .. } => *flags,
            Self::Rich(_) => DependencyFlags::Any,
        }
    }

    pub fn evr(&self) -> Option<&RpmEvr> {
        match self {
            Self::Simple { evr, .. } => evr.as_ref(),
            Self::Rich(_) => None,
        }
    }

    pub fn is_rich(&self) -> bool {
        matches!(self, Self::Rich(_))
    }

    /// `rpmlib(…)` dependencies are satisfied by rpm itself.
    pub fn is_rpmlib(&self) -> bool {
        matches!(self, Self::Simple { name, .. } if name.starts_with("rpmlib("))
    }

    /// The flags word for the header: comparison bits, plus `RPMSENSE_RPMLIB`
    /// for `rpmlib(…)` dependencies.
    pub fn sense_bits(&self) -> u32 {
        let rpmlib = if self.is_rpmlib() { SENSE_RPMLIB } else { 0 };
        self.flags().sense_bits() | rpmlib
    }

    /// The EVR as the header stores it (empty when unversioned).
    pub fn evr_string(&self) -> String {
        self.evr().map(ToString::to_string).unwrap_or_default()
    }
}

/// rpm's `--requires` / `--provides` query format: `name`, `name >= 1.2`.
impl fmt::Display for RpmDependency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Simple {
                name,
                flags,
                evr: Some(evr),
            } if *flags != DependencyFlags::Any => {
                write!(formatter, "{name} {} {evr}", flags.operator())
            }
            Self::Simple { name, .. } => formatter.write_str(name),
            Self::Rich(expression) => formatter.write_str(expression),
        }
    }
}

/// `<app>-python3dist(<name>)`, or `<app>-python3dist(<name>[<extra>])`.
pub fn python_dist_name(app: &str, name: &PackageName, extra: Option<&ExtraName>) -> String {
    match extra {
        Some(extra) => format!("{app}-python3dist({name}[{extra}])"),
        None => format!("{app}-python3dist({name})"),
    }
}

/// The Requires for one requirement of a wheel: `…dist(name)` and one
/// `…dist(name[extra])` per extra, each carrying the converted specifiers.
pub fn python_dist_requires(
    app: &str,
    requirement_name: &PackageName,
    extras: &[ExtraName],
    specifiers: &VersionSpecifiers,
    style: RpmVersionStyle,
) -> Result<Vec<RpmDependency>, DependencyError> {
    let names = std::iter::once(None)
        .chain(extras.iter().map(Some))
        .map(|extra| python_dist_name(app, requirement_name, extra));
    names
        .map(|name| constrain(&name, specifiers, style))
        .collect()
}

/// The Provides of a package (or, with `extra`, of its extra):
/// `…dist(name) = version`, in the dependency form of the version.
pub fn python_dist_provides(
    app: &str,
    name: &PackageName,
    extra: Option<&ExtraName>,
    version: &Version,
    style: RpmVersionStyle,
) -> RpmDependency {
    RpmDependency::versioned(
        python_dist_name(app, name, extra),
        DependencyFlags::Equal,
        rpm_dependency_version(version, style),
    )
}

/// `name` constrained by every specifier: unversioned for none, the single
/// converted specifier for one, a sorted `(A with B …)` for several.
fn constrain(
    name: &str,
    specifiers: &VersionSpecifiers,
    style: RpmVersionStyle,
) -> Result<RpmDependency, DependencyError> {
    let mut converted = specifiers
        .iter()
        .map(|specifier| convert_specifier(name, specifier, style))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match converted.len() {
        0 => RpmDependency::any(name),
        1 => converted.remove(0),
        _ => {
            let mut parts: Vec<String> = converted.iter().map(ToString::to_string).collect();
            parts.sort();
            RpmDependency::Rich(format!("({})", parts.join(" with ")))
        }
    })
}

/// One PEP 440 specifier as an rpm dependency on `name` (`docs/rpm-rules.md`, specifiers).
fn convert_specifier(
    name: &str,
    specifier: &VersionSpecifier,
    style: RpmVersionStyle,
) -> Result<RpmDependency, DependencyError> {
    let version = specifier.version();
    let evr = rpm_dependency_version(version, style);
    let simple = |flags, evr| RpmDependency::versioned(name, flags, evr);
    let has_suffix = version.pre().is_some() || version.dev().is_some() || version.post().is_some();
    Ok(match specifier.operator() {
        Operator::Equal | Operator::ExactEqual => simple(DependencyFlags::Equal, evr),
        Operator::EqualStar => between(name, evr, bump_last(version, version.release())),
        Operator::TildeEqual => {
            let release = version.release();
            if release.len() < 2 {
                return Err(DependencyError::CompatibleNeedsTwoSegments {
                    requirement: name.to_string(),
                    specifier: specifier.clone(),
                });
            }
            between(name, evr, bump_last(version, &release[..release.len() - 1]))
        }
        Operator::NotEqual => RpmDependency::Rich(format!("({name} < {evr} or {name} > {evr})")),
        Operator::NotEqualStar => RpmDependency::Rich(format!(
            "({name} < {} or {name} >= {})",
            append(evr.clone(), "~~"),
            bump_last(version, version.release())
        )),
        // `< V~~` keeps V's own pre-releases out, as PEP 440 does.
        Operator::LessThan if !has_suffix => simple(DependencyFlags::Less, append(evr, "~~")),
        Operator::LessThan => simple(DependencyFlags::Less, evr),
        // `> V.0` keeps V's post-releases (`V^postN` < `V.0`) out.
        Operator::GreaterThan if !has_suffix => simple(DependencyFlags::Greater, append(evr, ".0")),
        Operator::GreaterThan => simple(DependencyFlags::Greater, evr),
        Operator::LessThanEqual => simple(DependencyFlags::LessOrEqual, evr),
        Operator::GreaterThanEqual => simple(DependencyFlags::GreaterOrEqual, evr),
    })
}

/// `(name >= lower with name < upper)`.
fn between(name: &str, lower: RpmEvr, upper: RpmEvr) -> RpmDependency {
    RpmDependency::Rich(format!("({name} >= {lower} with {name} < {upper})"))
}

/// `release` with its last segment + 1 and no pre/post/dev part
/// (`2.4` → `2.5`, `2.0` → `2.1`), keeping `version`'s epoch (`1!2` → `1:3`).
fn bump_last(version: &Version, release: &[u64]) -> RpmEvr {
    let mut release = release.to_vec();
    if let Some(last) = release.last_mut() {
        *last += 1;
    }
    RpmEvr {
        epoch: rpm_epoch(version),
        version: join_release(&release),
        release: None,
    }
}

fn append(mut evr: RpmEvr, text: &str) -> RpmEvr {
    evr.version.push_str(text);
    evr
}

/// The `rpmlib(…)` features used by `dependencies` (Requires, Provides and
/// every other set, all together) and the package's own EVR, sorted:
/// `~` → `rpmlib(TildeInVersions) <= 4.10.0-1`,
/// `^` → `rpmlib(CaretInVersions) <= 4.15.0-1`,
/// a rich dependency → `rpmlib(RichDependencies) <= 4.12.0-1`.
///
/// A rich expression is scanned as a whole for `~` and `^`: the names inside
/// never contain them, and over-approximating costs nothing.
pub fn rpmlib_features(dependencies: &[RpmDependency], own_evr: &RpmEvr) -> Vec<RpmDependency> {
    let uses = |character: char| {
        own_evr.contains(character)
            || dependencies.iter().any(|dependency| match dependency {
                RpmDependency::Simple { evr, .. } => {
                    evr.as_ref().is_some_and(|evr| evr.contains(character))
                }
                RpmDependency::Rich(expression) => expression.contains(character),
            })
    };
    let features = [
        ("CaretInVersions", "4.15.0", uses('^')),
        (
            "RichDependencies",
            "4.12.0",
            dependencies.iter().any(RpmDependency::is_rich),
        ),
        ("TildeInVersions", "4.10.0", uses('~')),
    ];
    features
        .into_iter()
        .filter(|(_, _, used)| *used)
        .map(|(feature, version, _)| {
            RpmDependency::versioned(
                format!("rpmlib({feature})"),
                DependencyFlags::LessOrEqual,
                RpmEvr::from_version(version).with_release("1"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    const CARET: RpmVersionStyle = RpmVersionStyle { caret: true };
    const DOT_POST: RpmVersionStyle = RpmVersionStyle { caret: false };

    fn name(text: &str) -> PackageName {
        PackageName::from_str(text).unwrap()
    }

    /// The single dependency `a-python3dist(foo)` gets for `specifiers`.
    fn convert(specifiers: &str, style: RpmVersionStyle) -> String {
        let specifiers = VersionSpecifiers::from_str(specifiers).unwrap();
        let dependencies =
            python_dist_requires("a", &name("foo"), &[], &specifiers, style).unwrap();
        assert_eq!(dependencies.len(), 1);
        dependencies[0].to_string()
    }

    #[test]
    fn converts_every_operator_as_the_rules_say() {
        let d = "a-python3dist(foo)";
        let cases = [
            ("", d.to_string()),
            ("==2.4.8", format!("{d} = 2.4.8")),
            ("==2.0", format!("{d} = 2")),
            ("==1.0+local", format!("{d} = 1")),
            ("===2.4.8", format!("{d} = 2.4.8")),
            ("==2.4.*", format!("({d} >= 2.4 with {d} < 2.5)")),
            ("==2.0.*", format!("({d} >= 2 with {d} < 2.1)")),
            ("==2.*", format!("({d} >= 2 with {d} < 3)")),
            ("~=2.4.8", format!("({d} >= 2.4.8 with {d} < 2.5)")),
            ("~=2.4", format!("({d} >= 2.4 with {d} < 3)")),
            ("~=1.0", format!("({d} >= 1 with {d} < 2)")),
            ("~=2.4.8rc1", format!("({d} >= 2.4.8~rc1 with {d} < 2.5)")),
            ("~=1!2.4", format!("({d} >= 1:2.4 with {d} < 1:3)")),
            ("!=2.4.8", format!("({d} < 2.4.8 or {d} > 2.4.8)")),
            ("!=2.4.*", format!("({d} < 2.4~~ or {d} >= 2.5)")),
            ("!=2.0.*", format!("({d} < 2~~ or {d} >= 2.1)")),
            ("<2.4.8", format!("{d} < 2.4.8~~")),
            ("<2.0", format!("{d} < 2~~")),
            ("<2.0rc1", format!("{d} < 2~rc1")),
            ("<2.0.post1", format!("{d} < 2^post1")),
            (">2.4.8", format!("{d} > 2.4.8.0")),
            (">2.0", format!("{d} > 2.0")),
            (">2.0.dev3", format!("{d} > 2~~dev3")),
            ("<=2.4.8", format!("{d} <= 2.4.8")),
            (">=2.4.8", format!("{d} >= 2.4.8")),
            (">=2.0b1", format!("{d} >= 2~b1")),
        ];
        for (specifiers, expected) in cases {
            assert_eq!(convert(specifiers, CARET), expected, "{specifiers}");
        }
    }

    #[test]
    fn post_releases_use_dots_for_old_rpm() {
        assert_eq!(
            convert("<2.0.post1", DOT_POST),
            "a-python3dist(foo) < 2.post1"
        );
        assert_eq!(
            convert(">=1.0.post1.dev2", DOT_POST),
            "a-python3dist(foo) >= 1.post1~dev2"
        );
    }

    #[test]
    fn several_specifiers_become_one_sorted_rich_dependency() {
        let d = "a-python3dist(foo)";
        assert_eq!(
            convert("<3,>=2.4.8", CARET),
            format!("({d} < 3~~ with {d} >= 2.4.8)")
        );
        assert_eq!(
            convert(">=2.4.8,<3", CARET),
            format!("({d} < 3~~ with {d} >= 2.4.8)")
        );
        assert_eq!(
            convert(">=1,!=1.5", CARET),
            format!("(({d} < 1.5 or {d} > 1.5) with {d} >= 1)")
        );
    }

    #[test]
    fn extras_require_the_base_and_each_extra() {
        let specifiers = VersionSpecifiers::from_str(">=1.2").unwrap();
        let extras = [
            ExtraName::from_str("Socks").unwrap(),
            ExtraName::from_str("http2").unwrap(),
        ];
        let dependencies =
            python_dist_requires("mysite", &name("Requests"), &extras, &specifiers, CARET).unwrap();
        let printed: Vec<String> = dependencies.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "mysite-python3dist(requests) >= 1.2",
                "mysite-python3dist(requests[socks]) >= 1.2",
                "mysite-python3dist(requests[http2]) >= 1.2",
            ]
        );
        let RpmDependency::Simple { name, flags, evr } = &dependencies[0] else {
            panic!("a single specifier is a simple dependency");
        };
        assert_eq!(name, "mysite-python3dist(requests)");
        assert_eq!(*flags, DependencyFlags::GreaterOrEqual);
        assert_eq!(evr.as_ref().unwrap().version, "1.2");
        assert_eq!(dependencies[0].sense_bits(), SENSE_GREATER | SENSE_EQUAL);
    }

    /// `~=2` never reaches the converter: pep440_rs refuses it when parsing
    /// or building a specifier, with the reason the rules give. The
    /// converter's own check stays as a guard should that ever change.
    #[test]
    fn compatible_release_with_one_segment_is_refused() {
        let parse_error = VersionSpecifiers::from_str("~=2").unwrap_err();
        assert!(parse_error.to_string().contains("~="), "{parse_error}");
        assert!(VersionSpecifier::from_version(Operator::TildeEqual, Version::new([2])).is_err());
        let error = DependencyError::CompatibleNeedsTwoSegments {
            requirement: "a-python3dist(foo)".to_string(),
            specifier: VersionSpecifier::from_version(Operator::TildeEqual, Version::new([2, 0]))
                .unwrap(),
        };
        assert_eq!(
            crate::hint::Hint::with_hint(&error),
            "`a-python3dist(foo)~=2.0` cannot be expressed as an rpm dependency: `~=` needs at least two release segments\nhint: write `>=2.0` (or `==2.0.*`) in the requirement instead"
        );
    }

    #[test]
    fn provides_use_the_dependency_form() {
        let version = Version::from_str("2.0.post1").unwrap();
        let provides =
            python_dist_provides("mysite", &name("Zope.Interface"), None, &version, CARET);
        assert_eq!(
            provides.to_string(),
            "mysite-python3dist(zope-interface) = 2^post1"
        );
        let extra = ExtraName::from_str("test").unwrap();
        let provides =
            python_dist_provides("mysite", &name("foo"), Some(&extra), &version, DOT_POST);
        assert_eq!(
            provides.to_string(),
            "mysite-python3dist(foo[test]) = 2.post1"
        );
    }

    #[test]
    fn rpmlib_features_follow_what_is_used() {
        let plain = RpmEvr::from_version("1.2").with_release("1.el9");
        let features = |dependencies: &[RpmDependency], own: &RpmEvr| -> Vec<String> {
            rpmlib_features(dependencies, own)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert!(features(&[RpmDependency::any("libz.so.1()(64bit)")], &plain).is_empty());
        assert_eq!(
            features(&[], &RpmEvr::from_version("1.0~rc1").with_release("1.el9")),
            ["rpmlib(TildeInVersions) <= 4.10.0-1"]
        );
        let caret = python_dist_provides(
            "a",
            &name("foo"),
            None,
            &Version::from_str("1.0.post1").unwrap(),
            CARET,
        );
        let rich = RpmDependency::Rich("(a < 2~~ with a >= 1)".to_string());
        assert_eq!(
            features(&[caret, rich.clone()], &plain),
            [
                "rpmlib(CaretInVersions) <= 4.15.0-1",
                "rpmlib(RichDependencies) <= 4.12.0-1",
                "rpmlib(TildeInVersions) <= 4.10.0-1",
            ]
        );
        let feature = &rpmlib_features(&[rich], &plain)[0];
        assert!(feature.is_rpmlib());
        assert_eq!(
            feature.sense_bits(),
            SENSE_RPMLIB | SENSE_LESS | SENSE_EQUAL
        );
        assert_eq!(feature.evr_string(), "4.12.0-1");
    }
}
