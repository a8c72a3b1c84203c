//! Package and extra names, normalised as PEP 503 says.
//!
//! Input: any spelling (`Django`, `zope.interface`, `Foo__Bar`). Output: the
//! normalised newtype; two names are equal iff their normalised forms are.
//! The types come from `pep508_rs` so requirements parsed there need no
//! conversion.

pub use pep508_rs::{ExtraName, InvalidNameError, PackageName};

/// Why a text is not a package or extra name, for messages that quote the
/// text themselves (pep508's `InvalidNameError` repeats all of it).
pub const NAME_RULE: &str =
    "a name starts and ends with a letter or digit and holds only letters, digits, `-`, `_` and `.`";

/// `` `raw` is not a package name: <the rule> ``, `raw` cut to an excerpt.
pub fn not_a_name(raw: &str) -> String {
    format!(
        "`{}` is not a package name: {NAME_RULE}",
        crate::excerpt::excerpt(raw)
    )
}

/// Parse a package name, normalising it (`Zope.Interface` → `zope-interface`).
pub fn parse_package_name(raw: &str) -> Result<PackageName, InvalidNameError> {
    PackageName::new(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_pep503() {
        assert_eq!(parse_package_name("Django").unwrap().as_ref(), "django");
        assert_eq!(
            parse_package_name("zope.interface").unwrap().as_ref(),
            "zope-interface"
        );
        assert_eq!(
            parse_package_name("Foo__Bar-.baz").unwrap().as_ref(),
            "foo-bar-baz"
        );
        assert!(parse_package_name("not a name").is_err());
    }
}
