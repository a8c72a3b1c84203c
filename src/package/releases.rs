//! The release history of an output repository: which EVR each RPM gets,
//! so that every change reaches the servers with `dnf upgrade` and nothing
//! else does.
//!
//! Input: `releases.json` of the output folder (absent: no history), and
//! per RPM of this build its name, upstream version and content key (the
//! digest of everything its bytes depend on but its release). Output: each
//! RPM's epoch offset and release number, `<app>-deps`' release number and
//! what it obsoletes, and the new history to write beside the RPMs.
//!
//! Invariants (docs/rpm-rules.md, "Releases"):
//! - the same content at the same version keeps its EVR, so an unchanged
//!   rebuild gives byte-identical RPMs and an unchanged set keeps its
//!   `<app>-deps` number;
//! - other content at the same version gets the next release number;
//! - a version lower than one shipped before gets the next epoch, so going
//!   back a version is still an upgrade for rpm;
//! - `<app>-deps` gets the next number whenever its set changes, in any
//!   direction, and obsoletes every RPM an earlier release shipped that the
//!   set no longer has;
//! - the `<app>` RPM requires its release's `<app>-deps` exactly, so its
//!   bytes change with the number: a change of the app alone is a new
//!   release too, and the app's recorded content is its own content and
//!   the number it requires (`<own>@deps<number>`);
//! - numbers come from this recorded history only, never from the clock:
//!   the history is data in the repository, written with it atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use serde::{Deserialize, Serialize};

const FORMAT: &str = "vendor-releases-1";
/// Between the app RPM's own content and the `<app>-deps` number it requires.
const APP_CONTENT_SEPARATOR: &str = "@deps";
/// The history's file name in the output folder.
pub const HISTORY_FILE: &str = "releases.json";

/// The history could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the release history `{}`: {message}", path.display())]
pub struct HistoryError {
    pub path: PathBuf,
    pub message: String,
}

impl crate::hint::Hint for HistoryError {
    fn hint(&self) -> Option<String> {
        Some("restore it from the published repository; without it, release numbers would start again at 1 and servers would not upgrade".to_string())
    }
}

/// Every release the repository has had, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub format: String,
    pub releases: Vec<Release>,
}

/// One release: the `<app>-deps` number and the RPMs it requires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub number: u64,
    /// The sha256 of the lock file text the release was built from.
    pub lock: String,
    /// The `<app>-deps` file of the release.
    pub deps: String,
    /// What `<app>-deps` requires, sorted by name.
    pub rpms: Vec<ReleasedRpm>,
}

/// One RPM of a release.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReleasedRpm {
    pub name: String,
    /// The PEP 440 version for packages; the RPM version for the app's own.
    pub version: String,
    /// Added to the version's own epoch (going back a version raises it).
    pub epoch_offset: u64,
    /// The number before the dist tag (`3` of `3.el9`).
    pub release: u64,
    /// The digest of what the RPM's bytes depend on, its release aside.
    pub content: String,
    pub file: String,
}

/// The EVR parts history decides for one RPM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assigned {
    pub epoch_offset: u64,
    pub release: u64,
}

impl History {
    /// Read `<folder>/releases.json`; a folder without one has no history.
    pub fn read(folder: &Path) -> Result<Self, HistoryError> {
        let path = folder.join(HISTORY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Self::empty()),
            Err(error) => {
                return Err(HistoryError {
                    path,
                    message: error.to_string(),
                })
            }
        };
        let history: Self = serde_json::from_str(&text).map_err(|error| HistoryError {
            path: path.clone(),
            message: error.to_string(),
        })?;
        if history.format != FORMAT {
            return Err(HistoryError {
                path,
                message: format!("format `{}` is not `{FORMAT}`", history.format),
            });
        }
        Ok(history)
    }

    pub fn empty() -> Self {
        Self {
            format: FORMAT.to_string(),
            releases: Vec::new(),
        }
    }

    /// Deterministic text: the same history always gives the same bytes.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        text
    }

    pub fn latest(&self) -> Option<&Release> {
        self.releases.last()
    }

    fn shipped<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ReleasedRpm> + 'a {
        self.releases
            .iter()
            .flat_map(|release| &release.rpms)
            .filter(move |rpm| rpm.name == name)
    }

    /// The epoch offset and release number of `name` at `version` with
    /// `content` (see the module documentation). `version` is compared
    /// as PEP 440 when both parse, else as text.
    pub fn assign(&self, name: &str, version: &str, content: &str) -> Assigned {
        let Some(epoch_offset) = self.shipped(name).map(|rpm| rpm.epoch_offset).max() else {
            return Assigned {
                epoch_offset: 0,
                release: 1,
            };
        };
        let newest_at_epoch = self
            .shipped(name)
            .filter(|rpm| rpm.epoch_offset == epoch_offset)
            .map(|rpm| rpm.version.as_str())
            .max_by(|left, right| compare_versions(left, right))
            .unwrap_or_default();
        let lower = compare_versions(version, newest_at_epoch) == std::cmp::Ordering::Less;
        // The same bytes keep their EVR while it is still the newest
        // epoch; after a later release went back a version it would sort
        // below that release, so it is shipped again one epoch up.
        if let Some(same) = self.shipped(name).find(|rpm| {
            rpm.version == version && rpm.content == content && rpm.epoch_offset == epoch_offset
        }) {
            if !lower {
                return Assigned {
                    epoch_offset,
                    release: same.release,
                };
            }
        }
        let epoch_offset = if lower {
            epoch_offset + 1
        } else {
            epoch_offset
        };
        let release = self
            .shipped(name)
            .filter(|rpm| rpm.epoch_offset == epoch_offset && rpm.version == version)
            .map(|rpm| rpm.release)
            .max()
            .map_or(1, |release| release + 1);
        Assigned {
            epoch_offset,
            release,
        }
    }

    /// The `<app>-deps` number of a release requiring exactly `rpms`: the
    /// latest one when the set is the same, else the next.
    pub fn deps_number(&self, rpms: &[ReleasedRpm]) -> u64 {
        self.number_unless_changed(|latest| same_set(&latest.rpms, rpms))
    }

    /// The latest release's number when `unchanged` says so of it, else
    /// the next (1 for a first release).
    fn number_unless_changed(&self, unchanged: impl Fn(&Release) -> bool) -> u64 {
        match self.latest() {
            Some(latest) if unchanged(latest) => latest.number,
            Some(latest) => latest.number + 1,
            None => 1,
        }
    }

    /// The `<app>-deps` number of a release of `others` and the app RPM
    /// (`name`, `version`, its `own` content: everything but the `<app>-deps`
    /// it requires), with the app's epoch offset, release and recorded
    /// content. The number stays when neither the set nor the app changed.
    pub fn app_release(
        &self,
        others: &[ReleasedRpm],
        name: &str,
        version: &str,
        own: &str,
    ) -> (u64, Assigned, String) {
        let number = self.number_unless_changed(|latest| {
            let earlier_others: Vec<ReleasedRpm> = latest
                .rpms
                .iter()
                .filter(|rpm| rpm.name != name)
                .cloned()
                .collect();
            let same_app = latest.rpms.iter().any(|rpm| {
                rpm.name == name
                    && rpm.version == version
                    && rpm
                        .content
                        .split_once(APP_CONTENT_SEPARATOR)
                        .map(|(own, _)| own)
                        == Some(own)
            });
            same_app && same_set(&earlier_others, others)
        });
        let content = format!("{own}{APP_CONTENT_SEPARATOR}{number}");
        let assigned = self.assign(name, version, &content);
        (number, assigned, content)
    }

    /// The RPMs an earlier release shipped that `current` no longer has,
    /// with the highest (epoch offset, version, release) each had.
    pub fn dropped(&self, current: &BTreeSet<String>) -> Vec<ReleasedRpm> {
        let mut newest: BTreeMap<&str, &ReleasedRpm> = BTreeMap::new();
        for rpm in self.releases.iter().flat_map(|release| &release.rpms) {
            if current.contains(&rpm.name) {
                continue;
            }
            let entry = newest.entry(&rpm.name).or_insert(rpm);
            if newer(rpm, entry) {
                *entry = rpm;
            }
        }
        newest.into_values().cloned().collect()
    }

    /// This history with `release` recorded (replacing a release of the
    /// same number: a rebuild of an unchanged set).
    pub fn with(mut self, release: Release) -> Self {
        self.releases.retain(|known| known.number != release.number);
        self.releases.push(release);
        self.releases.sort_by_key(|release| release.number);
        self
    }

    /// The RPM files of the newest `keep` releases.
    pub fn kept_files(&self, keep: usize) -> BTreeSet<String> {
        self.releases
            .iter()
            .rev()
            .take(keep.max(1))
            .flat_map(|release| {
                release
                    .rpms
                    .iter()
                    .map(|rpm| rpm.file.clone())
                    .chain(std::iter::once(release.deps.clone()))
            })
            .collect()
    }
}

/// How one RPM differs between two releases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added {
        name: String,
        version: String,
    },
    Removed {
        name: String,
        version: String,
    },
    Upgraded {
        name: String,
        from: String,
        to: String,
    },
    Downgraded {
        name: String,
        from: String,
        to: String,
    },
    /// Same version, other bytes (another build setting, policy, vendor).
    Rebuilt {
        name: String,
        version: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Added { name, version } => write!(formatter, "+ {name} {version}"),
            Self::Removed { name, version } => write!(formatter, "- {name} {version}"),
            Self::Upgraded { name, from, to } => write!(formatter, "↑ {name} {from} → {to}"),
            Self::Downgraded { name, from, to } => write!(formatter, "↓ {name} {from} → {to}"),
            Self::Rebuilt { name, version } => write!(formatter, "~ {name} {version} rebuilt"),
        }
    }
}

impl Release {
    /// What changed from `previous` to this release, by RPM name.
    pub fn changes_since(&self, previous: &Release) -> Vec<Change> {
        let before: BTreeMap<&str, &ReleasedRpm> = previous
            .rpms
            .iter()
            .map(|rpm| (rpm.name.as_str(), rpm))
            .collect();
        let after: BTreeMap<&str, &ReleasedRpm> = self
            .rpms
            .iter()
            .map(|rpm| (rpm.name.as_str(), rpm))
            .collect();
        let names: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
        names
            .into_iter()
            .filter_map(|name| {
                let owned = name.to_string();
                match (before.get(name), after.get(name)) {
                    (None, Some(new)) => Some(Change::Added {
                        name: owned,
                        version: new.version.clone(),
                    }),
                    (Some(old), None) => Some(Change::Removed {
                        name: owned,
                        version: old.version.clone(),
                    }),
                    (Some(old), Some(new)) if old.version != new.version => {
                        let (from, to) = (old.version.clone(), new.version.clone());
                        Some(match compare_versions(&new.version, &old.version) {
                            std::cmp::Ordering::Less => Change::Downgraded {
                                name: owned,
                                from,
                                to,
                            },
                            _ => Change::Upgraded {
                                name: owned,
                                from,
                                to,
                            },
                        })
                    }
                    (Some(old), Some(new))
                        if old.release != new.release || old.epoch_offset != new.epoch_offset =>
                    {
                        Some(Change::Rebuilt {
                            name: owned,
                            version: new.version.clone(),
                        })
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

/// Two releases require the same RPMs (name, version, epoch, release).
fn same_set(left: &[ReleasedRpm], right: &[ReleasedRpm]) -> bool {
    let key = |rpms: &[ReleasedRpm]| -> BTreeSet<(String, String, u64, u64)> {
        rpms.iter()
            .map(|rpm| {
                (
                    rpm.name.clone(),
                    rpm.version.clone(),
                    rpm.epoch_offset,
                    rpm.release,
                )
            })
            .collect()
    };
    key(left) == key(right)
}

/// Whether `candidate` sorts after `known` as rpm sorts their EVRs.
fn newer(candidate: &ReleasedRpm, known: &ReleasedRpm) -> bool {
    candidate
        .epoch_offset
        .cmp(&known.epoch_offset)
        .then_with(|| compare_versions(&candidate.version, &known.version))
        .then_with(|| candidate.release.cmp(&known.release))
        == std::cmp::Ordering::Greater
}

/// PEP 440 order when both parse (the RPM versions follow it, see
/// docs/rpm-rules.md), else text order.
fn compare_versions(left: &str, right: &str) -> std::cmp::Ordering {
    match (Version::from_str(left), Version::from_str(right)) {
        (Ok(left), Ok(right)) => left.cmp(&right),
        _ => left.cmp(right),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpm(
        name: &str,
        version: &str,
        epoch_offset: u64,
        release: u64,
        content: &str,
    ) -> ReleasedRpm {
        ReleasedRpm {
            name: name.to_string(),
            version: version.to_string(),
            epoch_offset,
            release,
            content: content.to_string(),
            file: format!("{name}-{version}-{release}.rpm"),
        }
    }

    fn history(releases: Vec<Vec<ReleasedRpm>>) -> History {
        releases
            .into_iter()
            .enumerate()
            .fold(History::empty(), |history, (index, rpms)| {
                history.with(Release {
                    number: index as u64 + 1,
                    lock: String::new(),
                    deps: format!("deps-{}.rpm", index + 1),
                    rpms,
                })
            })
    }

    #[test]
    fn same_content_keeps_its_evr_and_changes_move_up() {
        let history = history(vec![vec![rpm("django", "5.1", 0, 1, "a")]]);
        let assigned = |version: &str, content: &str| {
            let assigned = history.assign("django", version, content);
            (assigned.epoch_offset, assigned.release)
        };
        assert_eq!(assigned("5.1", "a"), (0, 1), "unchanged");
        assert_eq!(assigned("5.1", "b"), (0, 2), "rebuilt with other bytes");
        assert_eq!(assigned("5.2", "c"), (0, 1), "upgraded");
        assert_eq!(assigned("5.0", "d"), (1, 1), "downgraded: the next epoch");
        assert_eq!(
            history.assign("new", "1.0", "e"),
            Assigned {
                epoch_offset: 0,
                release: 1
            }
        );

        let later = history.clone().with(Release {
            number: 2,
            lock: String::new(),
            deps: "deps-2.rpm".to_string(),
            rpms: vec![rpm("django", "5.0", 1, 1, "d")],
        });
        // Back up to 5.1 from 5.0 at epoch 1: 5.1 is newer there, so epoch 1
        // is enough, and the old 0:5.1 (lower than 1:5.0) is not reused.
        assert_eq!(
            later.assign("django", "5.1", "a"),
            Assigned {
                epoch_offset: 1,
                release: 1
            }
        );
        assert_eq!(
            later.assign("django", "5.0", "d"),
            Assigned {
                epoch_offset: 1,
                release: 1
            }
        );
    }

    #[test]
    fn the_app_rpm_is_a_new_release_when_it_or_its_set_changes() {
        let venv = vec![rpm("app-venv", "3.11.9", 0, 1, "v")];
        let empty = History::empty();
        let (number, assigned, content) = empty.app_release(&venv, "app", "1.0", "own");
        assert_eq!(
            (number, assigned.release, content.as_str()),
            (1, 1, "own@deps1")
        );
        let mut first = venv.clone();
        first.push(rpm("app", "1.0", 0, 1, &content));
        let history = history(vec![first]);
        let (number, assigned, _) = history.app_release(&venv, "app", "1.0", "own");
        assert_eq!((number, assigned.release), (1, 1), "nothing changed");
        let (number, assigned, _) = history.app_release(&venv, "app", "1.0", "edited");
        assert_eq!((number, assigned.release), (2, 2), "the app alone changed");
        let other_venv = vec![rpm("app-venv", "3.11.9", 0, 2, "w")];
        let (number, assigned, content) = history.app_release(&other_venv, "app", "1.0", "own");
        assert_eq!(
            (number, assigned.release, content.as_str()),
            (2, 2, "own@deps2"),
            "the same app requiring a new <app>-deps is a new release of it"
        );
    }

    #[test]
    fn deps_numbers_follow_the_set_and_dropped_rpms_are_named() {
        let first = vec![rpm("a", "1", 0, 1, "x"), rpm("b", "1", 0, 1, "y")];
        let history = history(vec![first.clone()]);
        assert_eq!(history.deps_number(&first), 1);
        let second = vec![rpm("a", "2", 0, 1, "z")];
        assert_eq!(history.deps_number(&second), 2);
        let current = BTreeSet::from(["a".to_string()]);
        let dropped = history.dropped(&current);
        assert_eq!(dropped, vec![rpm("b", "1", 0, 1, "y")]);
        assert_eq!(History::empty().deps_number(&second), 1);
    }

    #[test]
    fn reads_what_it_renders_and_names_a_damaged_file() {
        let folder = tempfile::tempdir().unwrap();
        assert_eq!(History::read(folder.path()).unwrap(), History::empty());
        let history = history(vec![vec![rpm("a", "1", 0, 1, "x")]]);
        std::fs::write(folder.path().join(HISTORY_FILE), history.render()).unwrap();
        assert_eq!(History::read(folder.path()).unwrap(), history);
        std::fs::write(folder.path().join(HISTORY_FILE), "{").unwrap();
        let error = crate::hint::Hint::with_hint(&History::read(folder.path()).unwrap_err());
        assert!(
            error.contains("releases.json") && error.contains("hint:"),
            "{error}"
        );
    }
}
