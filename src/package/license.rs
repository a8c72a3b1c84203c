//! A wheel's license metadata → the RPM `License` tag.
//!
//! Input: the wheel's `License-Expression` or one-line `License` field and
//! its `Classifier: License :: …` entries. Output: an SPDX license
//! expression, the form RPM-based distributions use for `License`.
//!
//! Invariants: the result always parses as a strict SPDX expression. A field
//! that already is one (PEP 639 `License-Expression`, or a `License` such as
//! `MIT`) is kept as written; otherwise classifiers are mapped, and only
//! those that name one license exactly become SPDX identifiers — the rest
//! (`BSD License`, `Apache Software License`, …) become `LicenseRef-`
//! identifiers saying no more than the classifier does, because a guessed
//! version would be a false statement about the license. Several classifiers
//! are combined with `AND`, the reading that asks the most of a user: core
//! metadata does not say whether they are alternatives. Nothing usable
//! gives `LicenseRef-Unknown`.

use std::collections::BTreeSet;

/// What a package that declares no license gets.
pub const UNKNOWN_LICENSE: &str = "LicenseRef-Unknown";

/// Trove license classifiers (after `License :: `) with their SPDX term.
const CLASSIFIERS: &[(&str, &str)] = &[
    (
        "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication",
        "CC0-1.0",
    ),
    (
        "OSI Approved :: Academic Free License (AFL)",
        "LicenseRef-AFL",
    ),
    (
        "OSI Approved :: Apache Software License",
        "LicenseRef-Apache",
    ),
    ("OSI Approved :: Artistic License", "LicenseRef-Artistic"),
    ("OSI Approved :: BSD License", "LicenseRef-BSD"),
    (
        "OSI Approved :: Boost Software License 1.0 (BSL-1.0)",
        "BSL-1.0",
    ),
    (
        "OSI Approved :: Eclipse Public License 1.0 (EPL-1.0)",
        "EPL-1.0",
    ),
    (
        "OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)",
        "EPL-2.0",
    ),
    (
        "OSI Approved :: European Union Public Licence 1.1 (EUPL 1.1)",
        "EUPL-1.1",
    ),
    (
        "OSI Approved :: European Union Public Licence 1.2 (EUPL 1.2)",
        "EUPL-1.2",
    ),
    (
        "OSI Approved :: GNU Affero General Public License v3",
        "AGPL-3.0-only",
    ),
    (
        "OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)",
        "AGPL-3.0-or-later",
    ),
    (
        "OSI Approved :: GNU General Public License (GPL)",
        "LicenseRef-GPL",
    ),
    (
        "OSI Approved :: GNU General Public License v2 (GPLv2)",
        "GPL-2.0-only",
    ),
    (
        "OSI Approved :: GNU General Public License v2 or later (GPLv2+)",
        "GPL-2.0-or-later",
    ),
    (
        "OSI Approved :: GNU General Public License v3 (GPLv3)",
        "GPL-3.0-only",
    ),
    (
        "OSI Approved :: GNU General Public License v3 or later (GPLv3+)",
        "GPL-3.0-or-later",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)",
        "LGPL-2.0-only",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)",
        "LGPL-2.0-or-later",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
        "LGPL-3.0-only",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)",
        "LGPL-3.0-or-later",
    ),
    (
        "OSI Approved :: GNU Library or Lesser General Public License (LGPL)",
        "LicenseRef-LGPL",
    ),
    (
        "OSI Approved :: Historical Permission Notice and Disclaimer (HPND)",
        "HPND",
    ),
    ("OSI Approved :: ISC License (ISCL)", "ISC"),
    ("OSI Approved :: MIT License", "MIT"),
    (
        "OSI Approved :: MIT No Attribution License (MIT-0)",
        "MIT-0",
    ),
    (
        "OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)",
        "MPL-1.1",
    ),
    (
        "OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)",
        "MPL-2.0",
    ),
    (
        "OSI Approved :: Python Software Foundation License",
        "PSF-2.0",
    ),
    ("OSI Approved :: The Unlicense (Unlicense)", "Unlicense"),
    (
        "OSI Approved :: Universal Permissive License (UPL)",
        "UPL-1.0",
    ),
    ("OSI Approved :: Zope Public License", "LicenseRef-ZPL"),
    ("OSI Approved :: zlib/libpng License", "Zlib"),
    ("Public Domain", "LicenseRef-Public-Domain"),
];

/// The `License` tag for a wheel whose metadata says `license` (the
/// `License-Expression`, else the one-line `License` field) and carries
/// `classifiers` (`License :: …`).
pub fn rpm_license(license: Option<&str>, classifiers: &[String]) -> String {
    if let Some(expression) = license.and_then(spdx_expression) {
        return expression;
    }
    let terms: BTreeSet<String> = classifiers
        .iter()
        .filter_map(|classifier| classifier_term(classifier))
        .collect();
    if terms.is_empty() {
        return UNKNOWN_LICENSE.to_string();
    }
    terms.into_iter().collect::<Vec<_>>().join(" AND ")
}

/// `text` when it is a strict SPDX expression (case of identifiers as the
/// SPDX list spells them, no deprecated identifiers).
fn spdx_expression(text: &str) -> Option<String> {
    let text = text.trim();
    spdx::Expression::parse(text).ok().map(|_| text.to_string())
}

/// The SPDX term of one `License :: …` classifier; `None` for the bare
/// `License :: OSI Approved` grouping. Classifiers the table does not know
/// become a `LicenseRef-` from their last segment.
fn classifier_term(classifier: &str) -> Option<String> {
    let name = classifier.trim().strip_prefix("License ::")?.trim();
    if name.is_empty() || name == "OSI Approved" {
        return None;
    }
    if let Some((_, term)) = CLASSIFIERS.iter().find(|(known, _)| *known == name) {
        return Some((*term).to_string());
    }
    let last = name.rsplit("::").next().unwrap_or(name);
    let words: Vec<String> = last
        .split(|character: char| !character.is_ascii_alphanumeric() && character != '.')
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect();
    (!words.is_empty()).then(|| format!("LicenseRef-{}", words.join("-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifiers(names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|name| format!("License :: {name}"))
            .collect()
    }

    #[test]
    fn an_spdx_expression_is_kept_as_written() {
        for expression in [
            "MIT",
            "BSD-3-Clause",
            "Apache-2.0 OR BSD-2-Clause",
            "LGPL-3.0-or-later WITH openvpn-openssl-exception",
            "LicenseRef-Proprietary",
        ] {
            let classified = classifiers(&["OSI Approved :: MIT License"]);
            assert_eq!(rpm_license(Some(expression), &classified), expression);
        }
    }

    #[test]
    fn free_text_falls_back_to_the_classifiers() {
        let classified = classifiers(&[
            "OSI Approved :: BSD License",
            "OSI Approved :: Apache Software License",
        ]);
        assert_eq!(
            rpm_license(Some("Dual License"), &classified),
            "LicenseRef-Apache AND LicenseRef-BSD"
        );
        let classified =
            classifiers(&["OSI Approved :: GNU Library or Lesser General Public License (LGPL)"]);
        assert_eq!(
            rpm_license(Some("LGPL with exceptions"), &classified),
            "LicenseRef-LGPL"
        );
        // Deprecated SPDX identifiers and lowercase names are not SPDX.
        let classified = classifiers(&["OSI Approved :: GNU General Public License v2 (GPLv2)"]);
        assert_eq!(rpm_license(Some("GPL-2.0"), &classified), "GPL-2.0-only");
        assert_eq!(rpm_license(Some("mit"), &[]), UNKNOWN_LICENSE);
    }

    #[test]
    fn precise_classifiers_become_spdx_identifiers() {
        let classified = classifiers(&[
            "OSI Approved",
            "OSI Approved :: MIT License",
            "OSI Approved :: Python Software Foundation License",
            "OSI Approved :: MIT License",
        ]);
        assert_eq!(rpm_license(None, &classified), "MIT AND PSF-2.0");
    }

    #[test]
    fn unknown_classifiers_become_license_refs_from_their_last_segment() {
        let classified = classifiers(&["Other/Proprietary License"]);
        assert_eq!(
            rpm_license(None, &classified),
            "LicenseRef-Other-Proprietary-License"
        );
        let classified = classifiers(&["OSI Approved :: Some Future License 1.0 (SFL)"]);
        assert_eq!(
            rpm_license(None, &classified),
            "LicenseRef-Some-Future-License-1.0-SFL"
        );
    }

    #[test]
    fn every_result_is_a_strict_spdx_expression() {
        let mut every: Vec<&str> = CLASSIFIERS.iter().map(|(name, _)| *name).collect();
        every.push("Other/Proprietary License");
        for name in every {
            let license = rpm_license(None, &classifiers(&[name]));
            assert!(
                spdx::Expression::parse(&license).is_ok(),
                "`{name}` gave `{license}`"
            );
        }
        let all = classifiers(
            &CLASSIFIERS
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>(),
        );
        let license = rpm_license(None, &all);
        assert!(spdx::Expression::parse(&license).is_ok(), "{license}");
        assert!(spdx::Expression::parse(UNKNOWN_LICENSE).is_ok());
    }

    #[test]
    fn nothing_usable_is_unknown() {
        assert_eq!(rpm_license(None, &[]), UNKNOWN_LICENSE);
        assert_eq!(
            rpm_license(Some("  "), &classifiers(&["OSI Approved"])),
            UNKNOWN_LICENSE
        );
    }
}
