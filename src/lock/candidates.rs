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

use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use pep440_rs::Version;
use pubgrub::Ranges;

use crate::filename::DistFilename;
use crate::index::{IndexFile, ProjectFiles};
use crate::requirements::Formats;
use crate::targets::Tags;

/// The usable files of each version of one project.
#[derive(Debug)]
pub struct VersionMap {
    project: Arc<ProjectFiles>,
    tags: Arc<Tags>,
    python: Version,
    formats: Formats,
    /// Per release of `project`: its usable files, worked out the first
    /// time the release is looked at (a lock looks at a few releases of a
    /// history of hundreds).
    usable: Vec<OnceLock<Vec<IndexFile>>>,
    has_final_release: OnceLock<bool>,
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
    /// The files of `project` usable on the target (`tags`, `python`) in
    /// the `formats` allowed, by version.
    pub fn from_project(
        project: Arc<ProjectFiles>,
        tags: Arc<Tags>,
        python: &Version,
        formats: Formats,
    ) -> Self {
        let usable = project.releases().iter().map(|_| OnceLock::new()).collect();
        Self {
            project,
            tags,
            python: python.clone(),
            formats,
            usable,
            has_final_release: OnceLock::new(),
        }
    }

    /// Whether a version in `range` was left out only for lack of a wheel.
    pub fn has_sdist_only_version_in(&self, range: &Ranges<Version>) -> bool {
        if self.formats.sdist {
            return false;
        }
        self.positions_in_descending(range).any(|position| {
            let release = &self.project.releases()[position];
            self.usable_files(position).is_empty()
                && release.files().iter().any(|file| {
                    matches!(file.filename, DistFilename::Sdist(_)) && self.admits_python(file)
                })
        })
    }

    /// The version to try next: the preference if it is allowed, else the
    /// highest allowed version in `range`.
    pub fn choose(&self, range: &Ranges<Version>, policy: ChoicePolicy<'_>) -> Option<Version> {
        if let Some(preferred) = policy.preference {
            let allowed = self
                .position_of(preferred)
                .is_some_and(|position| self.is_allowed(position, policy));
            if range.contains(preferred) && allowed {
                return Some(preferred.clone());
            }
        }
        let allowed = |position: &usize| self.is_allowed(*position, policy);
        let has_wheel = |position: &usize| {
            self.files_at(*position)
                .any(|file| matches!(file.filename, DistFilename::Wheel(_)))
        };
        let newest_wheel = policy
            .prefer_wheel
            .then(|| {
                self.positions_in_descending(range)
                    .filter(allowed)
                    .find(has_wheel)
            })
            .flatten();
        newest_wheel
            .or_else(|| self.positions_in_descending(range).find(allowed))
            .map(|position| self.project.releases()[position].version().clone())
    }

    /// Up to `count` versions in `range` allowed under `policy` and lower
    /// than `below`, highest first: what a walk back from `below` would try
    /// next.
    pub fn candidates_below(
        &self,
        range: &Ranges<Version>,
        policy: ChoicePolicy<'_>,
        below: &Version,
        count: usize,
    ) -> Vec<Version> {
        let releases = self.project.releases();
        self.positions_in_descending(range)
            .skip_while(|position| releases[*position].version() >= below)
            .filter(|position| self.is_allowed(*position, policy))
            .take(count)
            .map(|position| self.project.releases()[position].version().clone())
            .collect()
    }

    /// Whether release number `position` may be chosen under `policy`.
    fn is_allowed(&self, position: usize, policy: ChoicePolicy<'_>) -> bool {
        let version = self.project.releases()[position].version();
        if self.usable_files(position).is_empty() {
            return false;
        }
        let prerelease_ok =
            !version.any_prerelease() || policy.explicit_prerelease || !self.has_final_release();
        let pinned_exactly = policy.exact_pin == Some(version);
        let has_live_file = self.files_at(position).any(|file| file.yanked.is_none());
        prerelease_ok && (has_live_file || pinned_exactly)
    }

    /// Whether some final release has a usable file: pre-releases are
    /// candidates only when none has.
    fn has_final_release(&self) -> bool {
        *self.has_final_release.get_or_init(|| {
            self.positions().rev().any(|position| {
                !self.project.releases()[position].version().any_prerelease()
                    && !self.usable_files(position).is_empty()
            })
        })
    }

    /// The usable files of `version`, yanked ones dropped unless nothing else is left.
    pub fn files(&self, version: &Version) -> Vec<&IndexFile> {
        let Some(position) = self.position_of(version) else {
            return Vec::new();
        };
        let live: Vec<&IndexFile> = self
            .files_at(position)
            .filter(|file| file.yanked.is_none())
            .collect();
        if live.is_empty() {
            self.files_at(position).collect()
        } else {
            live
        }
    }

    fn positions(&self) -> std::ops::Range<usize> {
        0..self.usable.len()
    }

    /// The positions of the releases in `range`, highest first: from the
    /// range's upper bound down (a binary search), each tested against the
    /// range (another). A walk back through Django's history chooses from
    /// ever narrower ranges with a hole for each version tried; testing
    /// all of its hundreds of releases on every choice was most of a warm
    /// resolution's time.
    fn positions_in_descending<'a>(
        &'a self,
        range: &'a Ranges<Version>,
    ) -> impl Iterator<Item = usize> + 'a {
        let releases = self.project.releases();
        let first_not = |outside: &dyn Fn(&Version) -> bool| {
            releases.partition_point(|release| outside(release.version()))
        };
        let (start, end) = match range.bounding_range() {
            None => (0, 0),
            Some((low, high)) => (
                match low {
                    Bound::Included(low) => first_not(&|version| version < low),
                    Bound::Excluded(low) => first_not(&|version| version <= low),
                    Bound::Unbounded => 0,
                },
                match high {
                    Bound::Included(high) => first_not(&|version| version <= high),
                    Bound::Excluded(high) => first_not(&|version| version < high),
                    Bound::Unbounded => releases.len(),
                },
            ),
        };
        (start..end.max(start))
            .rev()
            .filter(move |position| range.contains(releases[*position].version()))
    }

    /// How many releases (candidates or not) lie in `[low, high)`.
    pub fn releases_between(&self, low: &Version, high: &Version) -> usize {
        let releases = self.project.releases();
        let below = |bound: &Version| releases.partition_point(|release| release.version() < bound);
        below(high).saturating_sub(below(low))
    }

    fn position_of(&self, version: &Version) -> Option<usize> {
        self.project
            .releases()
            .binary_search_by(|release| release.version().cmp(version))
            .ok()
    }

    /// Every usable file of release number `position`, yanked or not.
    fn files_at(&self, position: usize) -> impl Iterator<Item = &IndexFile> {
        self.usable_files(position).iter()
    }

    /// The files of release number `position` the target can use, decoded
    /// from the page only when their names say so.
    fn usable_files(&self, position: usize) -> &[IndexFile] {
        self.usable[position].get_or_init(|| {
            let mut files =
                self.project.releases()[position].files_where(&|name| self.has_usable_format(name));
            files.retain(|file| self.admits_python(file));
            files
        })
    }

    fn has_usable_format(&self, filename: &DistFilename) -> bool {
        match filename {
            DistFilename::Wheel(wheel) => self.formats.wheel && self.tags.is_compatible(wheel),
            DistFilename::Sdist(_) => self.formats.sdist,
        }
    }

    fn admits_python(&self, file: &IndexFile) -> bool {
        file.requires_python
            .as_ref()
            .is_none_or(|specifiers| specifiers.contains(&self.python))
    }

    /// The file whose metadata describes `version`: the best wheel (wheels
    /// carry exact metadata and often PEP 658), else the sdist.
    pub fn metadata_file(&self, version: &Version) -> Option<&IndexFile> {
        let files = self.files(version);
        let best_wheel = files
            .iter()
            .filter_map(|file| match &file.filename {
                DistFilename::Wheel(wheel) => Some((self.tags.priority(wheel)?, *file)),
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
        let project = ProjectFiles::from_files(PackageName::from_str("demo").unwrap(), files);
        VersionMap::from_project(Arc::new(project), target.tags(), &target.python, formats)
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
        let metadata_file = map.metadata_file(&version("1.0")).unwrap();
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
            Arc::new(ProjectFiles::from_files(
                PackageName::from_str("demo").unwrap(),
                vec![file("demo-1.0-py3-none-any.whl", None, false)],
            )),
            Target::load("el9", None).unwrap().tags(),
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

    #[test]
    fn choices_from_ranges_with_bounds_and_holes() {
        let files = ["1.0", "1.1", "1.2", "2.0", "2.1", "3.0"]
            .iter()
            .map(|version| file(&format!("demo-{version}-py3-none-any.whl"), None, false))
            .collect();
        let map = map(files, false);
        let pick = |range: Ranges<Version>| {
            map.choose(&range, ChoicePolicy::default())
                .map(|version| version.to_string())
        };
        let below_three = Ranges::strictly_lower_than(version("3.0"));
        assert_eq!(pick(below_three.clone()).as_deref(), Some("2.1"));
        let holes = below_three
            .intersection(&Ranges::singleton(version("2.1")).complement())
            .intersection(&Ranges::singleton(version("2.0")).complement());
        assert_eq!(
            pick(holes.clone()).as_deref(),
            Some("1.2"),
            "past the holes"
        );
        assert_eq!(
            pick(Ranges::between(version("1.0.5"), version("1.2"))).as_deref(),
            Some("1.1"),
            "bounds between releases"
        );
        assert_eq!(pick(Ranges::higher_than(version("3.1"))), None);
        assert_eq!(pick(Ranges::empty()), None);
        let below = map.candidates_below(&holes, ChoicePolicy::default(), &version("1.2"), 5);
        assert_eq!(below, [version("1.1"), version("1.0")]);
        assert_eq!(map.releases_between(&version("1.1"), &version("3.0")), 4);
    }
}
