//! The wheel's own metadata files: `METADATA` (core metadata) and `WHEEL`.
//!
//! Input: their text. Output: [`WheelMetadata`] with what packaging needs
//! (summary, description, license, URLs, dependencies) and the facts from
//! `WHEEL` the installer needs. Invariant: header parsing is the index's
//! ([`crate::index::Headers`], [`crate::index::CoreMetadata`]), so a wheel
//! reads the same here as when it was locked.

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::Requirement;

use super::error::Refusal;
use crate::index::{CoreMetadata, Headers};
use crate::name::{ExtraName, PackageName};

/// A wheel's core metadata, as packaging needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelMetadata {
    pub name: PackageName,
    /// `Name` as the project spells it (`zope.interface`); used for the headers directory.
    pub display_name: String,
    pub version: Version,
    pub summary: Option<String>,
    /// The long description (the body, or the legacy `Description` field).
    pub description: Option<String>,
    /// `License-Expression` (PEP 639) when present, else a one-line `License`.
    pub license: Option<String>,
    /// `Classifier: License :: ...` entries, for packages that declare nothing else.
    pub license_classifiers: Vec<String>,
    pub home_page: Option<String>,
    /// `Project-URL` entries as `(label, url)`.
    pub project_urls: Vec<(String, String)>,
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<VersionSpecifiers>,
    pub provides_extra: Vec<ExtraName>,
}

impl WheelMetadata {
    pub fn parse(text: &str) -> Result<Self, String> {
        let headers = Headers::parse(text);
        let core = CoreMetadata::from_headers(&headers)?;
        let display_name = headers.get("name").unwrap_or_default().trim().to_string();
        let license_field = headers
            .get("license")
            .map(str::trim)
            .filter(|license| {
                !license.is_empty() && !license.contains('\n') && *license != "UNKNOWN"
            })
            .map(str::to_string);
        let license = headers
            .get("license-expression")
            .map(|expression| expression.trim().to_string())
            .filter(|expression| !expression.is_empty())
            .or(license_field);
        let project_urls = headers
            .all("project-url")
            .filter_map(|raw| {
                let (label, url) = raw.split_once(',')?;
                Some((label.trim().to_string(), url.trim().to_string()))
            })
            .collect();
        Ok(Self {
            name: core.name,
            display_name,
            version: core.version,
            summary: core.summary,
            description: description(text, &headers),
            license,
            license_classifiers: headers
                .all("classifier")
                .map(str::trim)
                .filter(|classifier| classifier.starts_with("License ::"))
                .map(str::to_string)
                .collect(),
            home_page: core.home_page,
            project_urls,
            requires_dist: core.requires_dist,
            requires_python: core.requires_python,
            provides_extra: core.provides_extras,
        })
    }

    /// The project's URL: `Home-page`, else the `Project-URL` labelled as the
    /// home page (labels compared as PEP 753 normalises them), else the source.
    pub fn url(&self) -> Option<&str> {
        let normalise = |label: &str| {
            label
                .chars()
                .filter(|character| character.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        };
        let labelled = |wanted: &[&str]| {
            self.project_urls
                .iter()
                .find(|(label, _)| wanted.contains(&normalise(label).as_str()))
                .map(|(_, url)| url.as_str())
        };
        self.home_page
            .as_deref()
            .or_else(|| labelled(&["homepage", "home"]))
            .or_else(|| labelled(&["source", "sourcecode", "repository", "github"]))
            .or_else(|| self.project_urls.first().map(|(_, url)| url.as_str()))
    }
}

/// The body after the header block, else the legacy `Description` header.
fn description(text: &str, headers: &Headers) -> Option<String> {
    let body = text
        .split_once("\n\n")
        .or_else(|| text.split_once("\r\n\r\n"))
        .map(|(_, body)| body.trim())
        .filter(|body| !body.is_empty());
    body.map(str::to_string)
        .or_else(|| {
            headers
                .get("description")
                .map(|text| text.trim().to_string())
        })
        .filter(|description| !description.is_empty() && description != "UNKNOWN")
}

/// What `WHEEL` says that the installer needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct WheelInfo {
    /// The archive root is purelib (else platlib); both are site-packages here.
    pub root_is_purelib: bool,
}

pub(super) fn parse_wheel_file(text: &str) -> Result<WheelInfo, Refusal> {
    let headers = Headers::parse(text);
    let version = headers
        .get("wheel-version")
        .ok_or(Refusal::Invalid("no `Wheel-Version` field".into()))?
        .trim();
    let major = version.split('.').next().unwrap_or_default();
    if major != "1" {
        return Err(Refusal::UnsupportedWheelVersion(version.to_string()));
    }
    let root_is_purelib = headers
        .get("root-is-purelib")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    Ok(WheelInfo { root_is_purelib })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_packaging_fields() {
        let text = "Metadata-Version: 2.4\nName: zope.interface\nVersion: 7.0.post1\n\
Summary: Interfaces for Python\nLicense-Expression: ZPL-2.1\nLicense: ZPL 2.1\n\
Classifier: License :: OSI Approved :: Zope Public License\n\
Project-URL: Source, https://github.com/zopefoundation/zope.interface\n\
Project-URL: Home-Page, https://zope.dev\nRequires-Dist: setuptools\n\
Provides-Extra: test\n\nThe long\ndescription.\n";
        let metadata = WheelMetadata::parse(text).unwrap();
        assert_eq!(metadata.name.as_ref(), "zope-interface");
        assert_eq!(metadata.display_name, "zope.interface");
        assert_eq!(metadata.license.as_deref(), Some("ZPL-2.1"));
        assert_eq!(metadata.license_classifiers.len(), 1);
        assert_eq!(metadata.url(), Some("https://zope.dev"));
        assert_eq!(
            metadata.description.as_deref(),
            Some("The long\ndescription.")
        );
        assert_eq!(metadata.requires_dist.len(), 1);
        assert_eq!(metadata.provides_extra.len(), 1);
    }

    #[test]
    fn falls_back_to_legacy_fields() {
        let text = "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n\
License: Copyright (c) Someone\n    Permission is hereby granted\n\
Description: Six is a compatibility library\nHome-page: https://github.com/benjaminp/six\n";
        let metadata = WheelMetadata::parse(text).unwrap();
        assert_eq!(
            metadata.license, None,
            "a multi-line license is a text, not a name"
        );
        assert_eq!(
            metadata.description.as_deref(),
            Some("Six is a compatibility library")
        );
        assert_eq!(metadata.url(), Some("https://github.com/benjaminp/six"));
    }

    #[test]
    fn keeps_reading_after_blank_continuation_lines() {
        let text = "Metadata-Version: 2.1\nName: MarkupSafe\nVersion: 3.0.2\n\
License: Copyright 2010 Pallets\n        \n        Redistribution and use\n\
Project-URL: Source, https://github.com/pallets/markupsafe/\nRequires-Python: >=3.9\n\n\
# MarkupSafe\n";
        let metadata = WheelMetadata::parse(text).unwrap();
        assert_eq!(metadata.license, None);
        assert_eq!(
            metadata.url(),
            Some("https://github.com/pallets/markupsafe/")
        );
        assert_eq!(metadata.requires_python.unwrap().to_string(), ">=3.9");
        assert_eq!(metadata.description.as_deref(), Some("# MarkupSafe"));
    }

    #[test]
    fn checks_the_wheel_version() {
        assert!(
            parse_wheel_file("Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
                .unwrap()
                .root_is_purelib
        );
        assert_eq!(
            parse_wheel_file("Wheel-Version: 2.0\n"),
            Err(Refusal::UnsupportedWheelVersion("2.0".into()))
        );
        assert!(parse_wheel_file("Generator: x\n").is_err());
    }
}
