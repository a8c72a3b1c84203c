//! Whether a wheel's ELF files can load on the target's servers: every
//! library they need at a soname the target ships, and no glibc or
//! libstdc++ symbol version newer than the target's.
//!
//! Input: the ELF Requires of a wheel's payload (bundled copies excluded,
//! as [`crate::package::elf`] computes them for the RPM) and the
//! [`TargetLibraries`] setting. Output: one [`CheckOutcome`] per wheel that
//! has ELF files.
//!
//! Invariants: only definite mismatches fail — a library the target ships
//! under another soname (`libtiff.so.6` where el9 has `libtiff.so.5`: the
//! build host's distribution is not the target's), or a `GLIBC_X.Y` or
//! `GLIBCXX_3.4.N` symbol version newer than the target's glibc or
//! libstdc++ (when its file states that). The target's soname map is not
//! exhaustive, so a soname it does not know is not a failure here (the
//! build warns about it). With `allow_foreign_host` the mismatches pass,
//! named in the detail, so the report still says what will not install.

use std::collections::BTreeSet;
use std::str::FromStr;

use pep440_rs::Version;

use super::report::{CheckKind, CheckOutcome};
use crate::elf::dependency_soname;
use crate::targets::Target;

/// The target the wheels must run on, and whether a mismatch is accepted.
#[derive(Clone, Copy, Debug)]
pub struct TargetLibraries<'a> {
    pub target: &'a Target,
    /// `[build] allow-foreign-host` of `vendor.toml`: the build host is
    /// knowingly not of the target's distribution (a trial build).
    pub allow_foreign_host: bool,
}

/// The target packages whose sonames carry the symbol versions checked.
const GLIBC_PACKAGE: &str = "glibc";
const LIBSTDCXX_PACKAGE: &str = "libstdc++";

/// One requirement the target cannot satisfy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mismatch {
    /// `needed` is a soname of a library the target ships as `shipped`.
    OtherSoname {
        needed: String,
        shipped: String,
        package: String,
    },
    /// A symbol version (`GLIBC_2.36`) newer than the target's library has.
    NewerSymbols {
        soname: String,
        version: String,
        /// What the target has: `glibc 2.34`.
        target_has: String,
    },
}

impl TargetLibraries<'_> {
    /// The outcome for a payload whose ELF Requires are `requires`
    /// (`libc.so.6(GLIBC_2.34)(64bit)`, `libtiff.so.6()(64bit)`); `None`
    /// when it has none.
    pub fn check(&self, package: &str, requires: &BTreeSet<String>) -> Option<CheckOutcome> {
        let sonames: BTreeSet<&str> = requires
            .iter()
            .map(|requirement| dependency_soname(requirement))
            .filter(|soname| soname.contains(".so"))
            .collect();
        if sonames.is_empty() {
            return None;
        }
        let mismatches = self.mismatches(requires, &sonames);
        let kind = CheckKind::TargetLibraries {
            target: self.target.name.clone(),
        };
        if mismatches.is_empty() {
            let (major, minor) = self.target.glibc;
            return Some(CheckOutcome::passed(
                kind,
                format!(
                    "{} libraries, none under another soname than `{}`'s, no glibc symbol newer \
                     than {major}.{minor}",
                    sonames.len(),
                    self.target.name
                ),
            ));
        }
        let described: Vec<String> = mismatches
            .iter()
            .map(|mismatch| self.describe(mismatch))
            .collect();
        if self.allow_foreign_host {
            // One line: `vendor verify`'s table shows a detail's first line.
            return Some(CheckOutcome::passed(
                kind,
                format!("allowed by `allow-foreign-host`: {}", described.join("; ")),
            ));
        }
        Some(CheckOutcome::failed(
            kind,
            // One mismatch per line in the failure report.
            described.join("\n"),
            Some(format!(
                "`{package}` was linked against the build host's libraries, not `{}`'s: its RPM \
                 would require what no `{}` server has, so `dnf install` refuses it",
                self.target.name, self.target.name
            )),
            Some(self.hint(package, &mismatches)),
        ))
    }

    fn hint(&self, package: &str, mismatches: &[Mismatch]) -> String {
        let (major, minor) = self.target.glibc;
        let other_soname = mismatches
            .iter()
            .any(|mismatch| matches!(mismatch, Mismatch::OtherSoname { .. }));
        let leave_out = if other_soname {
            format!(
                ", or leave out the feature that needs the library (in a project policy, \
                 `policies/packages/{package}.toml`)"
            )
        } else {
            String::new()
        };
        format!(
            "build on a host of the target's distribution (`{}`, glibc {major}.{minor}){leave_out}; \
             for a trial build elsewhere, set `allow-foreign-host = true` under `[build]` in \
             vendor.toml or pass `--allow-foreign-host`",
            self.target.name
        )
    }

    fn mismatches(&self, requires: &BTreeSet<String>, sonames: &BTreeSet<&str>) -> Vec<Mismatch> {
        let mut found = BTreeSet::new();
        for soname in sonames {
            if let Some((shipped, package)) = self.target.other_soname_of(soname) {
                found.insert(Mismatch::OtherSoname {
                    needed: soname.to_string(),
                    shipped: shipped.to_string(),
                    package: package.to_string(),
                });
            }
        }
        for requirement in requires {
            if let Some(mismatch) = self.newer_symbols(requirement) {
                found.insert(mismatch);
            }
        }
        found.into_iter().collect()
    }

    /// `libc.so.6(GLIBC_2.36)(64bit)` on a target with glibc 2.34, or
    /// `libstdc++.so.6(GLIBCXX_3.4.30)(64bit)` on one with `3.4.29`.
    fn newer_symbols(&self, requirement: &str) -> Option<Mismatch> {
        let soname = dependency_soname(requirement);
        let package = self.target.sonames.get(soname)?;
        let tag = symbol_version(requirement)?;
        let target_has = if package == GLIBC_PACKAGE {
            let number = tag.strip_prefix("GLIBC_")?;
            let (major, minor) = self.target.glibc;
            let newest = Version::from_str(&format!("{major}.{minor}")).ok()?;
            (Version::from_str(number).ok()? > newest).then(|| format!("glibc {major}.{minor}"))?
        } else if package == LIBSTDCXX_PACKAGE {
            let number = tag.strip_prefix("GLIBCXX_")?;
            let newest = self.target.libstdcxx.as_ref()?;
            (&Version::from_str(number).ok()? > newest)
                .then(|| format!("libstdc++ `GLIBCXX_{newest}`"))?
        } else {
            return None;
        };
        Some(Mismatch::NewerSymbols {
            soname: soname.to_string(),
            version: tag.to_string(),
            target_has,
        })
    }

    fn describe(&self, mismatch: &Mismatch) -> String {
        let target = &self.target.name;
        match mismatch {
            Mismatch::OtherSoname {
                needed,
                shipped,
                package,
            } => format!("links `{needed}`, but `{target}` ships `{shipped}` (`{package}`)"),
            Mismatch::NewerSymbols {
                soname,
                version,
                target_has,
            } => format!("needs `{version}` from `{soname}`, but `{target}` has {target_has}"),
        }
    }
}

/// `libc.so.6(GLIBC_2.34)(64bit)` → `GLIBC_2.34`; `None` when
/// unversioned (`libc.so.6()(64bit)`).
fn symbol_version(requirement: &str) -> Option<&str> {
    let (_, rest) = requirement.split_once('(')?;
    let version = rest.split(')').next()?;
    (!version.is_empty()).then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el9() -> Target {
        Target::load("el9", None).expect("el9 is built in")
    }

    fn requires(entries: &[&str]) -> BTreeSet<String> {
        entries.iter().map(|entry| entry.to_string()).collect()
    }

    fn check(allow_foreign_host: bool, entries: &[&str]) -> Option<CheckOutcome> {
        let target = el9();
        TargetLibraries {
            target: &target,
            allow_foreign_host,
        }
        .check("pillow", &requires(entries))
    }

    #[test]
    fn libraries_the_target_ships_pass() {
        let outcome = check(
            false,
            &[
                "libc.so.6()(64bit)",
                "libc.so.6(GLIBC_2.34)(64bit)",
                "libc.so.6(GLIBC_2.2.5)(64bit)",
                "libc.so.6(GLIBC_PRIVATE)(64bit)",
                "libtiff.so.5()(64bit)",
                "libtiff.so.5(LIBTIFF_4.0)(64bit)",
                "rtld(GNU_HASH)",
            ],
        )
        .unwrap();
        assert!(outcome.passed, "{outcome:?}");
        assert_eq!(
            outcome.detail,
            "2 libraries, none under another soname than `el9`'s, no glibc symbol newer than 2.34"
        );
    }

    #[test]
    fn another_soname_of_a_shipped_library_fails_with_a_hint() {
        let outcome = check(
            false,
            &["libtiff.so.6()(64bit)", "libtiff.so.6(LIBTIFF_4.1)(64bit)"],
        )
        .unwrap();
        assert!(!outcome.passed);
        assert_eq!(
            outcome.detail,
            "links `libtiff.so.6`, but `el9` ships `libtiff.so.5` (`libtiff`)"
        );
        let hint = outcome.hint.unwrap();
        assert!(hint.contains("allow-foreign-host = true"), "{hint}");
        assert!(hint.contains("leave out the feature"), "{hint}");
    }

    #[test]
    fn a_glibc_symbol_newer_than_the_target_fails() {
        let outcome = check(
            false,
            &[
                "libm.so.6(GLIBC_2.29)(64bit)",
                "libc.so.6(GLIBC_2.36)(64bit)",
            ],
        )
        .unwrap();
        assert!(!outcome.passed);
        assert_eq!(
            outcome.detail,
            "needs `GLIBC_2.36` from `libc.so.6`, but `el9` has glibc 2.34"
        );
        // No feature to leave out: the code itself needs the newer glibc.
        let hint = outcome.hint.unwrap();
        assert!(!hint.contains("leave out"), "{hint}");
    }

    #[test]
    fn a_libstdcxx_symbol_newer_than_the_target_fails() {
        let outcome = check(
            false,
            &[
                "libstdc++.so.6(GLIBCXX_3.4.29)(64bit)",
                "libstdc++.so.6(GLIBCXX_3.4.30)(64bit)",
                "libstdc++.so.6(CXXABI_1.3.13)(64bit)",
            ],
        )
        .unwrap();
        assert!(!outcome.passed);
        assert_eq!(
            outcome.detail,
            "needs `GLIBCXX_3.4.30` from `libstdc++.so.6`, but `el9` has libstdc++ `GLIBCXX_3.4.29`"
        );
    }

    #[test]
    fn sonames_the_map_does_not_know_are_left_to_the_build_warning() {
        let outcome = check(false, &["libunheardof.so.3()(64bit)"]).unwrap();
        assert!(outcome.passed, "{outcome:?}");
    }

    #[test]
    fn a_foreign_host_passes_but_says_what_will_not_install() {
        let outcome = check(true, &["libtiff.so.6()(64bit)"]).unwrap();
        assert!(outcome.passed);
        assert_eq!(
            outcome.detail,
            "allowed by `allow-foreign-host`: links `libtiff.so.6`, but `el9` ships `libtiff.so.5` (`libtiff`)"
        );
    }

    #[test]
    fn a_payload_without_libraries_has_no_outcome() {
        assert_eq!(check(false, &[]), None);
        assert_eq!(check(false, &["rtld(GNU_HASH)"]), None);
    }
}
