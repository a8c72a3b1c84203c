//! Static checks of one wheel, without installing it: linkage against the
//! libraries the policy names, bundled library copies, libraries the
//! target lacks, and search paths pointing into the build host (removed,
//! as is the debug information of wheels built here, giving a rewritten
//! wheel).
//!
//! Input: a [`CandidateWheel`], its policy, if any, and the target's
//! libraries. Output:
//! [`InspectedWheel`]: the static outcomes, the wheel to install and
//! package from now on (the rewritten one when a search path was removed),
//! and what the dynamic checks will import and probe.
//!
//! Invariants: ELF files are read with [`crate::package::elf`], the same
//! reader that computes RPM Requires, so "bundled" and "links" mean the same
//! here as in the packages. A wheel without a policy may bundle libraries
//! (published manylinux wheels do); links and probes come only from a policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pep440_rs::Version;

use super::archive::{read_wheel, rewrite_wheel, ExtractedElf};
use super::modules::{install_root_path, top_level_modules};
use super::report::{CheckKind, CheckOutcome};
use super::target_libraries::TargetLibraries;
use super::VerifyError;
use crate::elf::debug_info::strip_debug_info;
use crate::elf::search_path::{host_search_paths, remove_dynamic_entries, StripError};
use crate::elf::{payload_dependencies, PayloadElfDependencies};
use crate::name::PackageName;
use crate::policy::{Policy, VerifySettings};

/// A wheel about to be verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateWheel {
    pub name: PackageName,
    pub version: Version,
    /// The wheel file, downloaded or built; its sha256 already checked.
    pub path: PathBuf,
    pub built_from_source: bool,
}

/// A wheel after the static checks.
#[derive(Clone, Debug)]
pub struct InspectedWheel {
    pub name: PackageName,
    pub version: Version,
    /// The wheel to install and package: the candidate's file, or the
    /// rewritten copy in the work directory when search paths were removed.
    pub path: PathBuf,
    pub rewritten: bool,
    pub built_from_source: bool,
    /// Linkage, bundled-copy and search-path outcomes.
    pub checks: Vec<CheckOutcome>,
    /// Top-level modules (see [`super::modules`]) followed by the policy's
    /// own imports, without repeats.
    pub imports: Vec<String>,
    /// Kept private so only this module makes an inspected wheel.
    pub(super) settings: VerifySettings,
    pub(super) build_hint: Option<String>,
}

/// Runs the static checks on `candidate`; a rewritten wheel is written
/// under `work_dir/stripped/`.
pub fn inspect_wheel(
    candidate: &CandidateWheel,
    policy: Option<&Policy>,
    target_libraries: TargetLibraries<'_>,
    work_dir: &Path,
) -> Result<InspectedWheel, VerifyError> {
    fs_err::create_dir_all(work_dir).map_err(VerifyError::Io)?;
    let scratch = tempfile::Builder::new()
        .prefix(".vendor-inspect-")
        .tempdir_in(work_dir)
        .map_err(|source| VerifyError::Write {
            path: work_dir.to_path_buf(),
            source,
        })?;
    let listing = read_wheel(&candidate.path, scratch.path())?;
    let payload: Vec<(String, PathBuf)> = listing
        .elf_files
        .iter()
        .map(|file| (file.name.clone(), file.disk_path.clone()))
        .collect();
    let elf = payload_dependencies(&payload).map_err(VerifyError::Elf)?;
    let settings = policy.map(|policy| policy.verify.clone());
    let build_hint = policy.and_then(|policy| policy.build.hint.clone());

    let mut checks = Vec::new();
    if let Some(settings) = &settings {
        checks.extend(check_links(
            candidate,
            settings,
            &elf,
            build_hint.as_deref(),
        ));
    }
    checks.extend(check_bundled(candidate, settings.as_ref(), &elf));
    checks.extend(target_libraries.check(candidate.name.as_ref(), &elf.dependencies.requires));
    let (search_path_checks, replacements) =
        rewrite_elf_files(candidate, &listing.elf_files, &elf)?;
    checks.extend(search_path_checks);

    let (path, rewritten) = if replacements.is_empty() {
        (candidate.path.clone(), false)
    } else {
        let file_name = candidate.path.file_name().unwrap_or_default();
        let output = work_dir.join("stripped").join(file_name);
        rewrite_wheel(&candidate.path, &replacements, &output)?;
        (output, true)
    };

    let settings = settings.unwrap_or_else(|| VerifySettings {
        bundled: true,
        ..VerifySettings::default()
    });
    let mut imports = settings.import_after.clone();
    imports.extend(top_level_modules(
        &listing.names,
        listing.top_level.as_deref(),
    ));
    for module in &settings.imports {
        if !imports.contains(module) {
            imports.push(module.clone());
        }
    }
    imports.retain(|module| match not_imported_reason(&settings, module) {
        Some(reason) => {
            let kind = CheckKind::NotImported {
                module: module.clone(),
            };
            checks.push(CheckOutcome::passed(kind, reason));
            false
        }
        None => true,
    });
    Ok(InspectedWheel {
        name: candidate.name.clone(),
        version: candidate.version.clone(),
        path,
        rewritten,
        built_from_source: candidate.built_from_source,
        checks,
        imports,
        settings,
        build_hint,
    })
}

/// One outcome per `links` glob: some extension module (an ELF file that
/// is not a bundled copy) must link a library it matches.
fn check_links(
    candidate: &CandidateWheel,
    settings: &VerifySettings,
    elf: &PayloadElfDependencies,
    build_hint: Option<&str>,
) -> Vec<CheckOutcome> {
    let modules: Vec<(&String, &Vec<String>)> = elf
        .files
        .iter()
        .filter(|(path, _)| !elf.bundled.iter().any(|bundled| &bundled.path == *path))
        .map(|(path, info)| (path, &info.needed))
        .collect();
    let mut linked: Vec<&str> = modules
        .iter()
        .flat_map(|(_, needed)| needed.iter().map(String::as_str))
        .collect();
    linked.sort_unstable();
    linked.dedup();
    settings
        .links
        .iter()
        .map(|glob| {
            let kind = CheckKind::Linkage { glob: glob.clone() };
            let matcher = match globset::Glob::new(glob) {
                Ok(compiled) => compiled.compile_matcher(),
                Err(error) => {
                    return CheckOutcome::failed(
                        kind,
                        format!("`{glob}` is not a valid glob: {error}"),
                        None,
                        Some(format!("fix `links` in the policy of `{}`", candidate.name)),
                    )
                }
            };
            let matches: Vec<String> = modules
                .iter()
                .flat_map(|(path, needed)| {
                    needed
                        .iter()
                        .filter(|soname| matcher.is_match(soname.as_str()))
                        .map(move |soname| {
                            let copy = elf
                                .bundled
                                .iter()
                                .find(|library| &library.soname == soname)
                                .map(|library| format!(" (the copy in `{}`)", library.path))
                                .unwrap_or_default();
                            format!("`{path}` links `{soname}`{copy}")
                        })
                })
                .collect();
            if !matches.is_empty() {
                return CheckOutcome::passed(kind, matches.join(", "));
            }
            let copies: Vec<&str> = elf
                .bundled
                .iter()
                .filter(|library| matcher.is_match(&*without_grafting_hash(&library.soname)))
                .map(|library| library.path.as_str())
                .collect();
            let detail = if modules.is_empty() {
                "the wheel has no extension modules".to_string()
            } else if !copies.is_empty() {
                format!("only a bundled copy matches: `{}`", copies.join("`, `"))
            } else {
                format!(
                    "no extension module links a library matching `{glob}`; they link `{}`",
                    linked.join("`, `")
                )
            };
            CheckOutcome::failed(
                kind,
                detail,
                Some(format!(
                    "`{}` was built without `{glob}`: the features that need that library are \
                     missing",
                    candidate.name
                )),
                Some(match (candidate.built_from_source, build_hint) {
                    (true, Some(hint)) => hint.to_string(),
                    (true, None) => "install the library's development package on the build \
                                     host and build again"
                        .to_string(),
                    (false, _) => published_wheel_hint(candidate),
                }),
            )
        })
        .collect()
}

/// `libjpeg-8a13c6e0.so.62.4.0` → `libjpeg.so.62.4.0`: auditwheel renames
/// the libraries it grafts with a hash of their contents.
fn without_grafting_hash(soname: &str) -> std::borrow::Cow<'_, str> {
    static GRAFTED: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    GRAFTED
        .get_or_init(|| regex::Regex::new(r"^(.+)-[0-9a-f]{8}(\.so(\..*)?)$").expect("valid regex"))
        .replace(soname, "$1$2")
}

/// One outcome per library copy shipped in the wheel.
fn check_bundled(
    candidate: &CandidateWheel,
    settings: Option<&VerifySettings>,
    elf: &PayloadElfDependencies,
) -> Vec<CheckOutcome> {
    let allowed = settings.is_none_or(|settings| settings.bundled);
    elf.bundled
        .iter()
        .map(|library| {
            let kind = CheckKind::Bundled {
                file: library.path.clone(),
            };
            let users = if library.used_by.is_empty() {
                String::new()
            } else {
                format!(", used by `{}`", library.used_by.join("`, `"))
            };
            let detail = format!("a copy of `{}`{users}", library.soname);
            if allowed {
                let reason = if settings.is_some() {
                    "allowed by the policy"
                } else {
                    "allowed: no policy"
                };
                return CheckOutcome::passed(kind, format!("{detail} ({reason})"));
            }
            CheckOutcome::failed(
                kind,
                detail,
                Some(format!(
                    "`{}` ships its own `{}`: that copy never gets the system's fixes, and \
                     servers are not asked to install the library",
                    candidate.name, library.soname
                )),
                Some(format!(
                    "build `{}` from source against the system library, or set `bundled = true` \
                     in its policy",
                    candidate.name
                )),
            )
        })
        .collect()
}

/// Removes host search paths from the extracted ELF files, and debug
/// information from those built here; returns the outcomes and the archive
/// entries to replace (index → fixed file).
fn rewrite_elf_files(
    candidate: &CandidateWheel,
    files: &[ExtractedElf],
    elf: &PayloadElfDependencies,
) -> Result<(Vec<CheckOutcome>, BTreeMap<usize, PathBuf>), VerifyError> {
    let mut outcomes = Vec::new();
    let mut replacements = BTreeMap::new();
    for unreadable in &elf.unreadable {
        let reason = format!("it cannot be read as ELF: {}", unreadable.reason);
        // A file built here must be checkable; a published wheel's odd file
        // was built elsewhere and cannot point into this host (packaging
        // warns about it).
        outcomes.push(if candidate.built_from_source {
            search_path_failure(candidate, &unreadable.path, reason)
        } else {
            CheckOutcome::passed(
                CheckKind::Rpath {
                    file: unreadable.path.clone(),
                    stripped: false,
                },
                format!("not checked: {reason}"),
            )
        });
    }
    let mut debug_info = DebugInfoRemoved::default();
    for file in files {
        if !elf.files.contains_key(&file.name) {
            continue;
        }
        let mut bytes = fs_err::read(&file.disk_path).map_err(VerifyError::Io)?;
        let mut changed = false;
        if candidate.built_from_source {
            match strip_debug_info(&bytes) {
                Ok(None) => {}
                Ok(Some((stripped, saved))) => {
                    bytes = stripped;
                    changed = true;
                    debug_info.files += 1;
                    debug_info.bytes += saved;
                }
                Err(reason) => debug_info.kept.push(format!("`{}` ({reason})", file.name)),
            }
        }
        match strip_host_search_paths(&mut bytes, &file.name) {
            Ok(None) => {}
            Ok(Some(removed)) => {
                changed = true;
                outcomes.push(CheckOutcome::passed(
                    CheckKind::Rpath {
                        file: file.name.clone(),
                        stripped: true,
                    },
                    format!("removed {removed}"),
                ));
            }
            Err(error) => outcomes.push(search_path_failure(
                candidate,
                &file.name,
                error.to_string(),
            )),
        }
        if changed {
            fs_err::write(&file.disk_path, &bytes).map_err(VerifyError::Io)?;
            replacements.insert(file.index, file.disk_path.clone());
        }
    }
    outcomes.extend(debug_info.outcome());
    Ok((outcomes, replacements))
}

/// What stripping the debug information of a wheel built here removed.
#[derive(Default)]
struct DebugInfoRemoved {
    files: usize,
    bytes: u64,
    /// Files the ELF writer could not handle, with why: kept as they are.
    kept: Vec<String>,
}

impl DebugInfoRemoved {
    fn outcome(&self) -> Option<CheckOutcome> {
        if self.files == 0 && self.kept.is_empty() {
            return None;
        }
        let files = match self.files {
            1 => "1 file".to_string(),
            count => format!("{count} files"),
        };
        let mut detail = format!(
            "removed from {files} ({} KiB), as rpmbuild strips what it packages",
            self.bytes / 1024
        );
        if !self.kept.is_empty() {
            detail.push_str(&format!("; kept in {}", self.kept.join(", ")));
        }
        Some(CheckOutcome::passed(CheckKind::DebugInfo, detail))
    }
}

/// Removes the host search paths of one file; `Ok(Some(description))` when
/// something was removed.
fn strip_host_search_paths(bytes: &mut [u8], name: &str) -> Result<Option<String>, StripError> {
    // Other `.data` trees have no place relative to the modules; resolving
    // from their wheel path is as good as any.
    let installed = install_root_path(name).unwrap_or_else(|| name.to_string());
    let found = host_search_paths(bytes, &installed)?;
    if found.is_empty() {
        return Ok(None);
    }
    remove_dynamic_entries(bytes, &found)?;
    if let Some(left) = host_search_paths(bytes, &installed)?.first() {
        return Err(StripError::Mixed {
            tag: left.tag,
            value: left.value.clone(),
        });
    }
    let description = found
        .iter()
        .map(|path| format!("{} `{}`", path.tag, path.value))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(description))
}

fn search_path_failure(candidate: &CandidateWheel, file: &str, detail: String) -> CheckOutcome {
    let hint = if candidate.built_from_source {
        "build without `-Wl,-rpath` into the build host (check LDFLAGS and the interpreter's \
         sysconfig), or keep only `$ORIGIN`-relative paths"
            .to_string()
    } else {
        published_wheel_hint(candidate)
    };
    CheckOutcome::failed(
        CheckKind::Rpath {
            file: file.to_string(),
            stripped: false,
        },
        detail,
        Some(format!(
            "`{file}` would search the build host's paths for libraries on every server"
        )),
        Some(hint),
    )
}

/// What to do when a published wheel fails: build it here instead.
fn published_wheel_hint(candidate: &CandidateWheel) -> String {
    format!(
        "the published wheel was built elsewhere; build `{}` from source on this host \
         (`source = \"sdist\"` in its policy, or `[build] from-source` in vendor.toml)",
        candidate.name
    )
}

/// The policy's reason not to import `module`: it or a package holding it
/// is listed under `[verify] not-imported`.
fn not_imported_reason<'a>(settings: &'a VerifySettings, module: &str) -> Option<&'a str> {
    settings
        .not_imported
        .iter()
        .find(|(listed, _)| {
            module == listed.as_str()
                || module
                    .strip_prefix(listed.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
        .map(|(_, reason)| reason.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_grafted_library_names() {
        assert_eq!(
            without_grafting_hash("libjpeg-8a13c6e0.so.62.4.0"),
            "libjpeg.so.62.4.0"
        );
        assert_eq!(without_grafting_hash("libXau-154567c4.so"), "libXau.so");
        assert_eq!(without_grafting_hash("libjpeg.so.62"), "libjpeg.so.62");
        assert_eq!(without_grafting_hash("libfoo-bar.so.1"), "libfoo-bar.so.1");
    }

    #[test]
    fn not_imported_covers_a_module_and_its_submodules_only() {
        let settings = VerifySettings {
            not_imported: [("pkg.hosted".to_string(), "needs its host".to_string())].into(),
            ..VerifySettings::default()
        };
        assert_eq!(
            not_imported_reason(&settings, "pkg.hosted"),
            Some("needs its host")
        );
        assert_eq!(
            not_imported_reason(&settings, "pkg.hosted.inner"),
            Some("needs its host")
        );
        assert_eq!(not_imported_reason(&settings, "pkg.hostedness"), None);
        assert_eq!(not_imported_reason(&settings, "pkg"), None);
    }
}
