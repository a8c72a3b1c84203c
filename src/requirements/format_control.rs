//! `--no-binary`, `--only-binary` and `--prefer-binary`, as pip defines
//! them, for requirement files.
//!
//! Input: the options' values as written (`lxml,xmlsec`, `:all:`,
//! `:none:`), in the order they appear. Output: a [`FormatControl`] that
//! says, per package, whether a wheel and whether an sdist may be used.
//!
//! Invariants (pip's `FormatControl`): a name given to one option leaves
//! the other; `:all:` replaces what the option held and empties the other
//! option; `:none:` empties the option; a name named explicitly wins over
//! `:all:`, and `--only-binary` wins over `--no-binary` when both say
//! `:all:`-and-name. Names are PEP 503-normalised.

use std::collections::BTreeSet;
use std::str::FromStr;

use crate::name::PackageName;

const ALL: &str = ":all:";
const NONE: &str = ":none:";

/// Which distribution formats each package may use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatControl {
    /// Never a wheel: normalised names, or `:all:`.
    pub no_binary: BTreeSet<String>,
    /// Never an sdist: normalised names, or `:all:`.
    pub only_binary: BTreeSet<String>,
}

/// What a package may be installed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formats {
    pub wheel: bool,
    pub sdist: bool,
}

impl Formats {
    pub const ANY: Self = Self {
        wheel: true,
        sdist: true,
    };
    pub const WHEEL_ONLY: Self = Self {
        wheel: true,
        sdist: false,
    };
}

impl FormatControl {
    /// `--no-binary VALUE`.
    pub fn add_no_binary(&mut self, value: &str) -> Result<(), String> {
        let (target, other) = (&mut self.no_binary, &mut self.only_binary);
        apply(value, target, other)
    }

    /// `--only-binary VALUE`.
    pub fn add_only_binary(&mut self, value: &str) -> Result<(), String> {
        let (target, other) = (&mut self.only_binary, &mut self.no_binary);
        apply(value, target, other)
    }

    /// The formats `name` may use.
    pub fn formats(&self, name: &PackageName) -> Formats {
        let name = name.as_ref();
        let no_sdist = Formats::WHEEL_ONLY;
        let no_wheel = Formats {
            wheel: false,
            sdist: true,
        };
        if self.only_binary.contains(name) {
            no_sdist
        } else if self.no_binary.contains(name) {
            no_wheel
        } else if self.only_binary.contains(ALL) {
            no_sdist
        } else if self.no_binary.contains(ALL) {
            no_wheel
        } else {
            Formats::ANY
        }
    }

    pub fn is_empty(&self) -> bool {
        self.no_binary.is_empty() && self.only_binary.is_empty()
    }
}

/// pip's `handle_mutual_excludes`.
fn apply(
    value: &str,
    target: &mut BTreeSet<String>,
    other: &mut BTreeSet<String>,
) -> Result<(), String> {
    if value.starts_with('-') {
        return Err(format!(
            "`{value}` is not a list of packages (`name,name`, `:all:` or `:none:`)"
        ));
    }
    let mut entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    while let Some(position) = entries.iter().position(|entry| *entry == ALL) {
        other.clear();
        target.clear();
        target.insert(ALL.to_string());
        entries.drain(..=position);
        if !entries.contains(&NONE) {
            return Ok(());
        }
    }
    for entry in entries {
        if entry == NONE {
            target.clear();
            continue;
        }
        let name = PackageName::from_str(entry).map_err(|_| crate::name::not_a_name(entry))?;
        other.remove(name.as_ref());
        target.insert(name.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats(control: &FormatControl, name: &str) -> (bool, bool) {
        let formats = control.formats(&PackageName::from_str(name).unwrap());
        (formats.wheel, formats.sdist)
    }

    #[test]
    fn names_select_formats_per_package() {
        let mut control = FormatControl::default();
        control.add_no_binary("lxml,XMLSec").unwrap();
        assert_eq!(formats(&control, "lxml"), (false, true));
        assert_eq!(formats(&control, "xmlsec"), (false, true));
        assert_eq!(formats(&control, "django"), (true, true));
        control.add_only_binary("lxml").unwrap();
        assert_eq!(
            formats(&control, "lxml"),
            (true, false),
            "the later option wins"
        );
        assert_eq!(formats(&control, "xmlsec"), (false, true));
    }

    #[test]
    fn all_and_none_follow_pip() {
        let mut control = FormatControl::default();
        control.add_no_binary(":all:").unwrap();
        assert_eq!(formats(&control, "django"), (false, true));
        control.add_only_binary("django").unwrap();
        assert_eq!(
            formats(&control, "django"),
            (true, false),
            "a name beats :all:"
        );
        assert_eq!(formats(&control, "six"), (false, true));
        control.add_no_binary(":none:").unwrap();
        assert_eq!(formats(&control, "six"), (true, true));
        control.add_only_binary(":all:").unwrap();
        assert!(
            control.no_binary.is_empty(),
            ":all: empties the other option"
        );
        control.add_only_binary(":all:,:none:,six").unwrap();
        assert_eq!(formats(&control, "six"), (true, false));
        assert_eq!(formats(&control, "django"), (true, true));
        assert!(control.add_no_binary("--pre").is_err());
    }
}
