//! Which versions of a project can be installed on the target, and which
//! one to pick from a range.
//!
//! Input: every file the index lists for a project, the target's tags and
//! Python, and the formats the package may use ([`Formats`]). Output: a
//! [`VersionMap`] from version to its usable files.
//!
//! Invariants: a version is a candidate only if at least one of its files is
//! usable on the target (a wheel with a compatible tag or an sdist) and that
//! file's `requires-python` admits the target Python; wheels for other
//! platforms never appear. Yanked files stay listed but are only chosen for
//! an exact `==` pin (PEP 592). Without sdists (build requirements, which
//! vendor installs without building them, and `--only-binary`) the versions
//! sdists alone offer are remembered, so that an empty choice can be
//! explained; without wheels (`--no-binary`) only sdists are candidates.
//! Pre-releases are chosen only when the package is pinned to one
//! explicitly or has no final release at all (uv's default
//! `if-necessary-or-explicit`). With `--prefer-binary` the newest version
//! with a wheel goes before newer ones with only an sdist, as pip does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pep440_rs::Version;
use pubgrub::Ranges;

use crate::filename::DistFilename;
use crate::index::{IndexFile, ProjectFiles};
use crate::requirements::Formats;
use crate::targets::Tags;

/// The usable files of each version of one project.
#[derive(Debug)]
pub struct VersionMap {
    /// The page's files, shared with the index client: a version lists the
    /// positions of its usable ones rather than copies (a page of
    /// thousands of files was copied per project).
    project: Arc<ProjectFiles>,
    versions: BTreeMap<Version, Vec<usize>>,
    /// Versions left out because only an sdist offers them and sdists may
    /// not be used.
    without_wheel: BTreeSet<Version>,
    has_final_release: bool,
}

/// How the caller wants pre-releases and yanked files treated.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChoicePolicy<'a> {
    /// A requirement on this package names a pre-release.
    pub explicit_prerelease: bool,
    /// An exact `==` pin: yanked files of exactly this version may be used.
    pub exact_pin: Option<&'a Version>,
    /// The version an existing lock holds; kept when still in range.
    pub preference: Option<&'a Version>,
    /// `--prefer-binary`: the newest version with a wheel before a newer
    /// one with only an sdist.
    pub prefer_wheel: bool,
}

impl VersionMap {
    /// Keep the files usable on the target in the `formats` allowed,
    /// grouped by version.
    pub fn from_project(
        project: Arc<ProjectFiles>,
        tags: &Tags,
        python: &Version,
        formats: Formats,
    ) -> Self {
        let mut versions: BTreeMap<Version, Vec<usize>> = BTreeMap::new();
        let mut sdist_versions = BTreeSet::new();
        for (position, file) in project.files.iter().enumerate() {
            let python_ok = file
                .requires_python
                .as_ref()
                .is_none_or(|specifiers| specifiers.contains(python));
            if !python_ok {
                continue;
            }
            let usable_format = match &file.filename {
                DistFilename::Wheel(wheel) => formats.wheel && tags.is_compatible(wheel),
                DistFilename::Sdist(_) if !formats.sdist => {
                    sdist_versions.insert(file.filename.version().clone());
                    false
                }
                DistFilename::Sdist(_) => true,
            };
            if usable_format {
                versions
                    .entry(file.filename.version().clone())
                    .or_default()
                    .push(position);
            }
        }
        let without_wheel = sdist_versions
            .into_iter()
            .filter(|version| !versions.contains_key(version))
            .collect();
        let has_final_release = versions.keys().any(|version| !version.any_prerelease());
        Self {
            project,
            versions,
            without_wheel,
            has_final_release,
        }
    }

    /// Whether a version in `range` was left out only for lack of a wheel.
    pub fn has_sdist_only_version_in(&self, range: &Ranges<Version>) -> bool {
        self.without_wheel
            .iter()
            .any(|version| range.contains(version))
    }

    /// The version to try next: the preference if it is allowed, else the
    /// highest allowed version in `range`.
    pub fn choose(&self, range: &Ranges<Version>, policy: ChoicePolicy<'_>) -> Option<Version> {
        if let Some(preferred) = policy.preference {
            if range.contains(preferred) && self.is_allowed(preferred, policy) {
                return Some(preferred.clone());
            }
        }
        let allowed =
            |version: &&Version| range.contains(*version) && self.is_allowed(version, policy);
        let has_wheel = |version: &&Version| {
            self.files_of(version)
                .any(|file| matches!(file.filename, DistFilename::Wheel(_)))
        };
        let newest_wheel = policy
            .prefer_wheel
            .then(|| self.versions.keys().rev().filter(allowed).find(has_wheel))
            .flatten();
        newest_wheel
            .or_else(|| self.versions.keys().rev().find(allowed))
            .cloned()
    }

    fn is_allowed(&self, version: &Version, policy: ChoicePolicy<'_>) -> bool {
        if !self.versions.contains_key(version) {
            return false;
        }
        let prerelease_ok =
            !version.any_prerelease() || policy.explicit_prerelease || !self.has_final_release;
        let pinned_exactly = policy.exact_pin == Some(version);
        let has_live_file = self.files_of(version).any(|file| file.yanked.is_none());
        prerelease_ok && (has_live_file || pinned_exactly)
    }

    /// The usable files of `version`, yanked ones dropped unless nothing else is left.
    pub fn files(&self, version: &Version) -> Vec<&IndexFile> {
        let live: Vec<&IndexFile> = self
            .files_of(version)
            .filter(|file| file.yanked.is_none())
            .collect();
        if live.is_empty() {
            self.files_of(version).collect()
        } else {
            live
        }
    }

    /// Every usable file of `version`, yanked or not.
    fn files_of(&self, version: &Version) -> impl Iterator<Item = &IndexFile> {
        let positions = self.versions.get(version).map(Vec::as_slice).unwrap_or(&[]);
        positions
            .iter()
            .map(|position| &self.project.files[*position])
    }

    /// The file whose metadata describes `version`: the best wheel (wheels
    /// carry exact metadata and often PEP 658), else the sdist.
    pub fn metadata_file(&self, version: &Version, tags: &Tags) -> Option<&IndexFile> {
        let files = self.files(version);
        let best_wheel = files
            .iter()
            .filter_map(|file| match &file.filename {
                DistFilename::Wheel(wheel) => Some((tags.priority(wheel)?, *file)),
                DistFilename::Sdist(_) => None,
            })
            .max_by_key(|(priority, _)| *priority)
            .map(|(_, file)| file);
        best_wheel.or_else(|| files.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use pep440_rs::VersionSpecifiers;

    use super::*;
    use crate::name::PackageName;
    use crate::targets::Target;

    fn file(filename: &str, requires_python: Option<&str>, yanked: bool) -> IndexFile {
        IndexFile {
            filename: DistFilename::from_str(filename).unwrap(),
            url: url::Url::parse(&format!("https://index.invalid/{filename}")).unwrap(),
            index: None,
            sha256: None,
            size: None,
            upload_time: None,
            requires_python: requires_python.map(|text| VersionSpecifiers::from_str(text).unwrap()),
            yanked: yanked.then(String::new),
            has_core_metadata: false,
        }
    }

    fn map(files: Vec<IndexFile>, wheels_only: bool) -> VersionMap {
        let formats = if wheels_only {
            Formats::WHEEL_ONLY
        } else {
            Formats::ANY
        };
        let target = Target::load("el9", None).unwrap();
        let project = ProjectFiles {
            name: PackageName::from_str("demo").unwrap(),
            files,
        };
        VersionMap::from_project(Arc::new(project), &target.tags(), &target.python, formats)
    }

    fn version(text: &str) -> Version {
        Version::from_str(text).unwrap()
    }

    fn choose(map: &VersionMap, policy: ChoicePolicy<'_>) -> Option<String> {
        map.choose(&Ranges::full(), policy)
            .map(|version| version.to_string())
    }

    #[test]
    fn keeps_only_files_usable_on_the_target() {
        let map = map(
            vec![
                file("demo-3.0-cp311-cp311-win_amd64.whl", None, false),
                file("demo-2.0-py3-none-any.whl", Some(">=3.12"), false),
                file("demo-1.0-py3-none-any.whl", None, false),
                file("demo-1.0.tar.gz", None, false),
            ],
            false,
        );
        assert_eq!(
            choose(&map, ChoicePolicy::default()).as_deref(),
            Some("1.0")
        );
        let metadata_file = map
            .metadata_file(&version("1.0"), &Target::load("el9", None).unwrap().tags())
            .unwrap();
        assert_eq!(
            metadata_file.filename.to_string(),
            "demo-1.0-py3-none-any.whl"
        );
    }

    #[test]
    fn pre_releases_only_when_asked_for_or_alone() {
        let files = vec![
            file("demo-2.0b1-py3-none-any.whl", None, false),
            file("demo-1.0-py3-none-any.whl", None, false),
        ];
        let with_final = map(files.clone(), false);
        assert_eq!(
            choose(&with_final, ChoicePolicy::default()).as_deref(),
            Some("1.0")
        );
        let explicit = ChoicePolicy {
            explicit_prerelease: true,
            ..ChoicePolicy::default()
        };
        assert_eq!(choose(&with_final, explicit).as_deref(), Some("2.0b1"));
        let only_prerelease = map(files[..1].to_vec(), false);
        assert_eq!(
            choose(&only_prerelease, ChoicePolicy::default()).as_deref(),
            Some("2.0b1")
        );
    }

    #[test]
    fn yanked_versions_only_for_an_exact_pin() {
        let map = map(
            vec![
                file("demo-2.0-py3-none-any.whl", None, true),
                file("demo-1.0-py3-none-any.whl", None, false),
            ],
            false,
        );
        assert_eq!(
            choose(&map, ChoicePolicy::default()).as_deref(),
            Some("1.0")
        );
        let pinned = version("2.0");
        let policy = ChoicePolicy {
            exact_pin: Some(&pinned),
            ..ChoicePolicy::default()
        };
        assert_eq!(choose(&map, policy).as_deref(), Some("2.0"));
    }

    #[test]
    fn a_preference_wins_while_in_range() {
        let map = map(
            vec![
                file("demo-2.0-py3-none-any.whl", None, false),
                file("demo-1.0-py3-none-any.whl", None, false),
            ],
            false,
        );
        let preferred = version("1.0");
        let policy = ChoicePolicy {
            preference: Some(&preferred),
            ..ChoicePolicy::default()
        };
        assert_eq!(choose(&map, policy).as_deref(), Some("1.0"));
        let above_one = Ranges::strictly_higher_than(version("1.0"));
        assert_eq!(map.choose(&above_one, policy), Some(version("2.0")));
    }

    #[test]
    fn wheels_only_remembers_versions_offered_as_sdists_alone() {
        let map = map(
            vec![
                file("demo-2.0.tar.gz", None, false),
                file("demo-1.0-py3-none-any.whl", None, false),
            ],
            true,
        );
        assert_eq!(
            choose(&map, ChoicePolicy::default()).as_deref(),
            Some("1.0")
        );
        assert!(map.has_sdist_only_version_in(&Ranges::singleton(version("2.0"))));
        assert!(!map.has_sdist_only_version_in(&Ranges::singleton(version("1.0"))));
    }

    #[test]
    fn prefer_binary_takes_the_newest_version_with_a_wheel() {
        let map = map(
            vec![
                file("demo-2.0.tar.gz", None, false),
                file("demo-1.0-py3-none-any.whl", None, false),
                file("demo-1.0.tar.gz", None, false),
            ],
            false,
        );
        assert_eq!(
            choose(&map, ChoicePolicy::default()).as_deref(),
            Some("2.0")
        );
        let prefer_wheel = ChoicePolicy {
            prefer_wheel: true,
            ..ChoicePolicy::default()
        };
        assert_eq!(choose(&map, prefer_wheel).as_deref(), Some("1.0"));
        let only_sdists = VersionMap::from_project(
            Arc::new(ProjectFiles {
                name: PackageName::from_str("demo").unwrap(),
                files: vec![file("demo-1.0-py3-none-any.whl", None, false)],
            }),
            &Target::load("el9", None).unwrap().tags(),
            &version("3.11.9"),
            Formats {
                wheel: false,
                sdist: true,
            },
        );
        assert_eq!(
            choose(&only_sdists, prefer_wheel),
            None,
            "--no-binary leaves no wheel"
        );
    }
}
