//! The human difference between two locks, for `vendor lock --locked`.
//!
//! Input: the lock on disk and the lock a fresh resolution would write.
//! Output: one line per change, options first, then packages by name:
//! `+ django 5.1.4`, `- six 1.16.0`, `~ requests 2.32.2 → 2.32.3`,
//! `~ six 1.16.0 (changed: wheels)`, `~ python 3.11.7 → 3.11.9`; then the
//! build packages by name and version: `+ build setuptools 80.9.0`,
//! `- build setuptools 75.1.0`, `~ build wheel 0.45.1 (changed: wheels)`.
//! Invariant: the list is empty exactly when the locks are equal.

use std::collections::BTreeMap;
use std::fmt::Display;

use crate::lock::model::{Lock, LockOptions, LockedPackage};
use crate::name::PackageName;
use pep440_rs::Version;

/// What changed from `old` to `new`, one line per change.
pub fn diff(old: &Lock, new: &Lock) -> Vec<String> {
    let mut lines = diff_options(&old.options, &new.options);
    lines.extend(diff_packages(&old.packages, &new.packages));
    lines.extend(diff_build_packages(
        &old.build_packages,
        &new.build_packages,
    ));
    lines
}

/// Build packages are keyed by name and version: two versions of one name
/// are separate entries, so a moved pin reads as one removal and one addition.
fn diff_build_packages(old: &[LockedPackage], new: &[LockedPackage]) -> Vec<String> {
    let key = |package: &&LockedPackage| (package.name.clone(), package.version.clone());
    let old: BTreeMap<_, &LockedPackage> =
        old.iter().map(|package| (key(&package), package)).collect();
    let new: BTreeMap<_, &LockedPackage> =
        new.iter().map(|package| (key(&package), package)).collect();
    let mut keys: Vec<&(PackageName, Version)> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let (name, version) = key;
            match (old.get(key), new.get(key)) {
                (Some(before), Some(after)) => {
                    diff_package(before, after).map(|line| line.replacen("~ ", "~ build ", 1))
                }
                (Some(_), None) => Some(format!("- build {name} {version}")),
                (None, Some(_)) => Some(format!("+ build {name} {version}")),
                (None, None) => None,
            }
        })
        .collect()
}

fn diff_options(old: &LockOptions, new: &LockOptions) -> Vec<String> {
    let mut lines = Vec::new();
    change(&mut lines, "target", &old.target, &new.target);
    change(&mut lines, "arch", &old.arch, &new.arch);
    change(&mut lines, "python", &old.python, &new.python);
    membership(
        &mut lines,
        "requirement",
        &old.requirements,
        &new.requirements,
    );
    membership(&mut lines, "constraint", &old.constraints, &new.constraints);
    membership(&mut lines, "index-url", &old.index_urls, &new.index_urls);
    membership(&mut lines, "find-links", &old.find_links, &new.find_links);
    let show = |time: &Option<jiff::Timestamp>| {
        time.map_or_else(|| "none".to_string(), |time| time.to_string())
    };
    change(
        &mut lines,
        "exclude-newer",
        &show(&old.exclude_newer),
        &show(&new.exclude_newer),
    );
    let listed =
        |names: &std::collections::BTreeSet<String>| names.iter().cloned().collect::<Vec<_>>();
    let (old_formats, new_formats) = (&old.format_control, &new.format_control);
    membership(
        &mut lines,
        "no-binary",
        &listed(&old_formats.no_binary),
        &listed(&new_formats.no_binary),
    );
    membership(
        &mut lines,
        "only-binary",
        &listed(&old_formats.only_binary),
        &listed(&new_formats.only_binary),
    );
    change(
        &mut lines,
        "prefer-binary",
        &old.prefer_binary,
        &new.prefer_binary,
    );
    change(
        &mut lines,
        "require-hashes",
        &old.require_hashes,
        &new.require_hashes,
    );
    lines
}

/// `~ label old → new` when the values differ.
fn change<T: PartialEq + Display>(lines: &mut Vec<String>, label: &str, old: &T, new: &T) {
    if old != new {
        lines.push(format!("~ {label} {old} → {new}"));
    }
}

/// `- label item` for what `new` lacks, `+ label item` for what it adds;
/// a pure reordering shows as one line since order matters for indexes.
fn membership(lines: &mut Vec<String>, label: &str, old: &[String], new: &[String]) {
    let removed: Vec<&String> = old.iter().filter(|item| !new.contains(item)).collect();
    let added: Vec<&String> = new.iter().filter(|item| !old.contains(item)).collect();
    lines.extend(removed.iter().map(|item| format!("- {label} {item}")));
    lines.extend(added.iter().map(|item| format!("+ {label} {item}")));
    if removed.is_empty() && added.is_empty() && old != new {
        lines.push(format!(
            "~ {label} order: {} → {}",
            old.join(", "),
            new.join(", ")
        ));
    }
}

fn diff_packages(old: &[LockedPackage], new: &[LockedPackage]) -> Vec<String> {
    let (old, new) = (by_name(old), by_name(new));
    let mut names: Vec<&PackageName> = old.keys().chain(new.keys()).copied().collect();
    names.sort();
    names.dedup();
    let mut lines = Vec::new();
    for name in names {
        let empty = Vec::new();
        let (before, after) = (
            old.get(name).unwrap_or(&empty),
            new.get(name).unwrap_or(&empty),
        );
        match (before.as_slice(), after.as_slice()) {
            ([before], [after]) => lines.extend(diff_package(before, after)),
            _ => {
                // Absent on one side (or, in a hand-edited file, repeated).
                lines.extend(
                    before
                        .iter()
                        .map(|package| format!("- {} {}", name, package.version)),
                );
                lines.extend(
                    after
                        .iter()
                        .map(|package| format!("+ {} {}", name, package.version)),
                );
            }
        }
    }
    lines
}

/// Packages by name; a name holds more than one package only in a
/// hand-edited file.
fn by_name(packages: &[LockedPackage]) -> BTreeMap<&PackageName, Vec<&LockedPackage>> {
    let mut map: BTreeMap<&PackageName, Vec<&LockedPackage>> = BTreeMap::new();
    for package in packages {
        map.entry(&package.name).or_default().push(package);
    }
    map
}

fn diff_package(old: &LockedPackage, new: &LockedPackage) -> Option<String> {
    if old.version != new.version {
        return Some(format!("~ {} {} → {}", old.name, old.version, new.version));
    }
    let changed: Vec<&str> = [
        (
            "requires-python",
            old.requires_python != new.requires_python,
        ),
        ("index", old.index != new.index),
        ("dependencies", old.dependencies != new.dependencies),
        ("sdist", old.sdist != new.sdist),
        ("wheels", old.wheels != new.wheels),
        ("build-requires", old.build != new.build),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    (!changed.is_empty()).then(|| {
        format!(
            "~ {} {} (changed: {})",
            old.name,
            old.version,
            changed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use pep440_rs::Version;

    use super::*;
    use crate::lock::pylock::fixtures::{dependency, sample_lock};

    #[test]
    fn equal_locks_have_no_difference() {
        assert!(diff(&sample_lock(), &sample_lock()).is_empty());
    }

    #[test]
    fn lists_added_removed_and_moved_packages() {
        let old = sample_lock();
        let mut new = sample_lock();
        let mut django = new.packages[1].clone();
        django.name = PackageName::from_str("django").unwrap();
        django.version = Version::from_str("5.1.4").unwrap();
        new.packages.insert(0, django);
        new.packages
            .retain(|package| package.name.as_ref() != "six");
        let markupsafe = new
            .packages
            .iter_mut()
            .find(|package| package.name.as_ref() == "markupsafe")
            .unwrap();
        markupsafe.version = Version::from_str("3.0.3").unwrap();
        let local = new
            .packages
            .iter_mut()
            .find(|package| package.name.as_ref() == "local-app")
            .unwrap();
        local.dependencies = vec![dependency("markupsafe", &[])];
        local.wheels[0].size = Some(5);
        assert_eq!(
            diff(&old, &new),
            [
                "+ django 5.1.4",
                "~ local-app 0.1.0 (changed: dependencies, wheels)",
                "~ markupsafe 3.0.2 → 3.0.3",
                "- six 1.16.0",
            ]
        );
    }

    #[test]
    fn lists_changed_options() {
        let old = sample_lock();
        let mut new = sample_lock();
        new.options.target = "el10".to_string();
        new.options.python = Version::from_str("3.12.8").unwrap();
        new.options.requirements = vec!["local-app".to_string(), "django>=5".to_string()];
        new.options
            .index_urls
            .push("https://example.org/simple".to_string());
        new.options.find_links.clear();
        new.options.exclude_newer = None;
        assert_eq!(
            diff(&old, &new),
            [
                "~ target el9 → el10",
                "~ python 3.11.9 → 3.12.8",
                "- requirement six>=1.16; python_version >= \"3\"",
                "+ requirement django>=5",
                "+ index-url https://example.org/simple",
                "- find-links /srv/wheels",
                "~ exclude-newer 2026-11-01T00:00:00Z → none",
            ]
        );
        let mut reordered = sample_lock();
        reordered.options.requirements.reverse();
        assert_eq!(
            diff(&old, &reordered),
            ["~ requirement order: local-app, six>=1.16; python_version >= \"3\" → six>=1.16; python_version >= \"3\", local-app"]
        );
    }

    #[test]
    fn lists_build_packages_by_name_and_version() {
        use crate::lock::pylock::fixtures::{build_package, build_requirement};
        let old = sample_lock();
        let mut new = sample_lock();
        // setuptools 75.1.0 is replaced by 80.9.0 for the local package;
        // wheel gets a new file; markupsafe's environment gains cython.
        new.build_packages.remove(0);
        new.packages[0].build.as_mut().unwrap().requirements =
            vec![build_requirement("setuptools", "80.9.0")];
        new.build_packages[1].wheels[0].size = Some(1);
        new.build_packages.push(build_package(
            "cython",
            "3.1.2",
            "cython-3.1.2-py3-none-any.whl",
            "0000000000000000000000000000000000000000000000000000000000000031",
        ));
        new.packages[1]
            .build
            .as_mut()
            .unwrap()
            .requirements
            .insert(0, build_requirement("cython", "3.1.2"));
        assert_eq!(
            diff(&old, &new),
            [
                "~ local-app 0.1.0 (changed: build-requires)",
                "~ markupsafe 3.0.2 (changed: build-requires)",
                "+ build cython 3.1.2",
                "- build setuptools 75.1.0",
                "~ build wheel 0.45.1 (changed: wheels)",
            ]
        );
    }
}
