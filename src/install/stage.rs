//! Writing one wheel's installed files into a private staging area.
//!
//! Input: a checked [`WheelArchive`] and its [`WheelContents`]. Output: every
//! installed file under `<root>/<path relative to the prefix>`, as
//! [`StagedFile`]s sorted by path. Invariants: the complete file list (wheel
//! files, launchers, `.pyc`, INSTALLER, RECORD) is planned before anything is
//! written, so a path claimed twice or lying below a symbolic link is refused
//! up front; every wheel file is checked against RECORD as it streams out;
//! symbolic links are created last, so nothing is ever written through one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::archive::{Entry, EntryKind, WheelArchive};
use super::bytecode::{compile, pyc_path, CompileJob};
use super::contents::WheelContents;
use super::error::{io_error, InstallError, Refusal, Refuser};
use super::layout::{Category, InstallScheme};
use super::record::{render_record, FileHasher, InstalledRow};
use super::scripts::{render_launcher, rewrite_script};
use super::{FileKind, InstallOptions};
use crate::archive_paths::ancestors;
use crate::hash::Sha256;

/// Where a planned file's bytes come from.
enum Source {
    Entry(Entry),
    Generated(Vec<u8>),
    Bytecode { source: String },
    Record,
}

struct PlannedFile {
    source: Source,
    /// The archive entry (or generator) responsible, for messages.
    origin: String,
    category: Category,
    mode: u32,
    is_license: bool,
}

/// One file as staged.
pub(super) struct StagedFile {
    /// Relative to the prefix, `/`-separated.
    pub relative: String,
    pub mode: u32,
    pub kind: FileKind,
    pub is_license: bool,
    pub sha256: Sha256,
    pub size: u64,
}

/// The staged files, sorted, and the sources that did not byte-compile.
pub(super) struct Staged {
    pub files: Vec<StagedFile>,
    pub bytecode_skipped: Vec<String>,
}

pub(super) struct Stager<'a, 'w> {
    pub archive: &'a mut WheelArchive<'w>,
    pub contents: &'a WheelContents,
    pub scheme: &'a InstallScheme,
    pub options: &'a InstallOptions,
    /// The staging directory's image of the prefix.
    pub root: &'a Path,
    pub refuser: Refuser<'w>,
}

impl Stager<'_, '_> {
    pub fn stage(mut self) -> Result<Staged, InstallError> {
        let mut plan = self.plan()?;
        let mut hashes: BTreeMap<String, (Sha256, u64)> = BTreeMap::new();
        let mut links: BTreeMap<String, String> = BTreeMap::new();
        for (relative, planned) in &plan {
            match &planned.source {
                Source::Entry(entry) if entry.kind == EntryKind::Symlink => {
                    links.insert(relative.clone(), self.check_link(entry)?);
                }
                Source::Entry(entry) => {
                    let hash = self.extract(entry, relative, planned)?;
                    hashes.insert(relative.clone(), hash);
                }
                Source::Generated(bytes) => {
                    self.write(relative, bytes, planned.mode)?;
                    hashes.insert(
                        relative.clone(),
                        (Sha256::of_bytes(bytes), bytes.len() as u64),
                    );
                }
                Source::Bytecode { .. } | Source::Record => {}
            }
        }
        let bytecode_skipped = self.compile(&mut plan, &mut hashes)?;
        for (relative, target) in &links {
            let path = self.root.join(relative);
            self.create_parent(&path)?;
            std::os::unix::fs::symlink(target, &path)
                .map_err(io_error("create the link", &path))?;
        }
        self.write_record(&plan, &mut hashes)?;
        let files = plan
            .into_iter()
            .map(|(relative, planned)| {
                let (kind, (sha256, size)) = match links.get(&relative) {
                    Some(target) => (
                        FileKind::Symlink(PathBuf::from(target)),
                        (Sha256::of_bytes(target.as_bytes()), target.len() as u64),
                    ),
                    None => {
                        let hash = hashes.remove(&relative).ok_or_else(|| {
                            let path = self.staged_path(&relative);
                            io_error("stage", path)(std::io::Error::other("it was never written"))
                        })?;
                        (FileKind::Regular, hash)
                    }
                };
                Ok(StagedFile {
                    relative,
                    mode: planned.mode,
                    kind,
                    is_license: planned.is_license,
                    sha256,
                    size,
                })
            })
            .collect::<Result<Vec<_>, InstallError>>()?;
        Ok(Staged {
            files,
            bytecode_skipped,
        })
    }

    /// Every installed file, keyed by its path relative to the prefix.
    fn plan(&self) -> Result<BTreeMap<String, PlannedFile>, InstallError> {
        let layout = &self.contents.layout;
        let mut plan: BTreeMap<String, PlannedFile> = BTreeMap::new();
        let dist_info_file =
            |name: &str| layout.in_site_packages(&format!("{}/{name}", layout.dist_info));
        let generated = |source, origin: String| PlannedFile {
            source,
            origin,
            category: Category::Lib,
            mode: 0o644,
            is_license: false,
        };
        let installer = format!("{}\n", self.options.installer).into_bytes();
        plan.insert(
            dist_info_file("INSTALLER"),
            generated(
                Source::Generated(installer),
                format!("{}/INSTALLER (written by the installer)", layout.dist_info),
            ),
        );
        plan.insert(
            dist_info_file("RECORD"),
            generated(
                Source::Record,
                format!("{}/RECORD (written by the installer)", layout.dist_info),
            ),
        );
        let installer_entry = format!("{}/INSTALLER", layout.dist_info);
        for entry in self.archive.entries.values() {
            let skipped = entry.kind == EntryKind::Directory
                || self.contents.is_unrecorded(&entry.path)
                || entry.path == installer_entry;
            if skipped {
                continue;
            }
            let (relative, category) = layout
                .destination(&entry.path)
                .map_err(|reason| self.refuser.refuse(&entry.name, reason))?;
            let executable = matches!(entry.kind, EntryKind::File { executable: true });
            let mode = match entry.kind {
                EntryKind::Symlink => 0o777,
                _ if executable || category == Category::Scripts || is_shared_object(&relative) => {
                    0o755
                }
                _ => 0o644,
            };
            let planned = PlannedFile {
                source: Source::Entry(entry.clone()),
                origin: entry.name.clone(),
                category,
                mode,
                is_license: layout.is_license(&entry.path),
            };
            insert_once(&mut plan, relative, planned, self.refuser)?;
        }
        for entry_point in &self.contents.entry_points {
            let launcher = render_launcher(entry_point, &self.scheme.interpreter());
            let planned = PlannedFile {
                source: Source::Generated(launcher.into_bytes()),
                origin: format!(
                    "{}/entry_points.txt: {}",
                    layout.dist_info, entry_point.name
                ),
                category: Category::Scripts,
                mode: 0o755,
                is_license: false,
            };
            insert_once(
                &mut plan,
                format!("bin/{}", entry_point.name),
                planned,
                self.refuser,
            )?;
        }
        if self.options.compile_bytecode.is_some() {
            let sources: Vec<(String, String)> = plan
                .iter()
                .filter(|(_, planned)| planned.category == Category::Lib)
                .filter(|(_, planned)| {
                    matches!(&planned.source, Source::Entry(entry) if entry.kind != EntryKind::Symlink)
                })
                .filter_map(|(relative, _)| {
                    let pyc = pyc_path(relative, self.scheme.python_version)?;
                    Some((pyc, relative.clone()))
                })
                .collect();
            for (pyc, source) in sources {
                // A `.pyc` shipped in the wheel is replaced, as pip does.
                plan.insert(
                    pyc,
                    generated(
                        Source::Bytecode {
                            source: source.clone(),
                        },
                        source,
                    ),
                );
            }
        }
        refuse_paths_below_links(&plan, self.refuser)?;
        Ok(plan)
    }

    fn staged_path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn create_parent(&self, path: &Path) -> Result<(), InstallError> {
        match path.parent() {
            Some(parent) => fs::create_dir_all(parent).map_err(io_error("create", parent)),
            None => Ok(()),
        }
    }

    fn set_mode(path: &Path, mode: u32) -> Result<(), InstallError> {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(io_error("set the mode of", path))
    }

    /// Stream one entry to its staged path, checking it against RECORD.
    fn extract(
        &mut self,
        entry: &Entry,
        relative: &str,
        planned: &PlannedFile,
    ) -> Result<(Sha256, u64), InstallError> {
        let path = self.staged_path(relative);
        self.create_parent(&path)?;
        let file = File::create(&path).map_err(io_error("create", &path))?;
        let mut writer = BufWriter::new(file);
        let row = self.contents.record.get(&entry.path);
        let mut hasher = FileHasher::new(row);
        let size = self.archive.stream(entry, |chunk| {
            hasher.update(chunk);
            writer.write_all(chunk).map_err(io_error("write", &path))
        })?;
        writer
            .into_inner()
            .map_err(|error| io_error("write", &path)(error.into_error()))?;
        let row = row.ok_or_else(|| self.refuser.refuse(&entry.name, Refusal::NotInRecord))?;
        let mut hash = (hasher.finish(row, size, &entry.name, self.refuser)?, size);
        if planned.category == Category::Scripts
            && rewrite_script(&path, &self.scheme.interpreter())?
        {
            hash = hash_file(&path)?;
        }
        Self::set_mode(&path, planned.mode)?;
        Ok(hash)
    }

    /// Read a link entry's target and check it against RECORD.
    fn check_link(&mut self, entry: &Entry) -> Result<String, InstallError> {
        let target = self.archive.read_link(entry)?;
        let row = self
            .contents
            .record
            .get(&entry.path)
            .ok_or_else(|| self.refuser.refuse(&entry.name, Refusal::NotInRecord))?;
        let mut hasher = FileHasher::new(Some(row));
        hasher.update(target.as_bytes());
        hasher.finish(row, target.len() as u64, &entry.name, self.refuser)?;
        Ok(target)
    }

    fn write(&self, relative: &str, bytes: &[u8], mode: u32) -> Result<(), InstallError> {
        let path = self.staged_path(relative);
        self.create_parent(&path)?;
        fs::write(&path, bytes).map_err(io_error("write", &path))?;
        Self::set_mode(&path, mode)
    }

    /// Byte-compile every planned `.pyc` in one interpreter run; the ones
    /// whose source does not compile leave the plan.
    fn compile(
        &self,
        plan: &mut BTreeMap<String, PlannedFile>,
        hashes: &mut BTreeMap<String, (Sha256, u64)>,
    ) -> Result<Vec<String>, InstallError> {
        let Some(interpreter) = &self.options.compile_bytecode else {
            return Ok(Vec::new());
        };
        let (pycs, jobs): (Vec<String>, Vec<CompileJob>) = plan
            .iter()
            .filter_map(|(pyc, planned)| match &planned.source {
                Source::Bytecode { source } => Some((
                    pyc.clone(),
                    CompileJob {
                        source: self.staged_path(source),
                        pyc: self.staged_path(pyc),
                        server_path: self.scheme.prefix.join(source),
                    },
                )),
                _ => None,
            })
            .unzip();
        let failed: BTreeSet<PathBuf> = compile(
            &jobs,
            interpreter,
            self.scheme.python_version,
            self.refuser.wheel,
        )?
        .into_iter()
        .collect();
        let mut skipped = Vec::new();
        for (pyc, job) in pycs.into_iter().zip(&jobs) {
            if failed.contains(&job.source) {
                plan.remove(&pyc);
                skipped.push(job.server_path.to_string_lossy().into_owned());
                continue;
            }
            Self::set_mode(&job.pyc, 0o644)?;
            hashes.insert(pyc, hash_file(&job.pyc)?);
        }
        Ok(skipped)
    }

    /// RECORD for the installed layout: every file relative to
    /// site-packages, sorted; `.pyc`, links and RECORD itself without hash.
    fn write_record(
        &self,
        plan: &BTreeMap<String, PlannedFile>,
        hashes: &mut BTreeMap<String, (Sha256, u64)>,
    ) -> Result<(), InstallError> {
        let layout = &self.contents.layout;
        let mut rows: Vec<InstalledRow> = plan
            .iter()
            .map(|(relative, planned)| {
                let hashed = match &planned.source {
                    Source::Entry(entry) => entry.kind != EntryKind::Symlink,
                    Source::Generated(_) => true,
                    Source::Bytecode { .. } | Source::Record => false,
                };
                InstalledRow {
                    path: layout.record_path(relative),
                    hash: hashed.then(|| hashes.get(relative).cloned()).flatten(),
                }
            })
            .collect();
        rows.sort_by(|left, right| left.path.cmp(&right.path));
        let bytes = render_record(&rows);
        let relative = layout.in_site_packages(&format!("{}/RECORD", layout.dist_info));
        self.write(&relative, &bytes, 0o644)?;
        hashes.insert(relative, (Sha256::of_bytes(&bytes), bytes.len() as u64));
        Ok(())
    }
}

/// Plan `planned` at `relative`, refusing a path already claimed.
fn insert_once(
    plan: &mut BTreeMap<String, PlannedFile>,
    relative: String,
    planned: PlannedFile,
    refuser: Refuser<'_>,
) -> Result<(), InstallError> {
    if let Some(previous) = plan.get(&relative) {
        let reason = Refusal::SamePathAs {
            other: previous.origin.clone(),
            path: relative,
        };
        return Err(refuser.refuse(&planned.origin, reason));
    }
    plan.insert(relative, planned);
    Ok(())
}

/// rpm before 4.17 generates Requires only for executable shared objects.
fn is_shared_object(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name.ends_with(".so") || name.contains(".so.")
}

fn refuse_paths_below_links(
    plan: &BTreeMap<String, PlannedFile>,
    refuser: Refuser<'_>,
) -> Result<(), InstallError> {
    let links: BTreeSet<&str> = plan
        .iter()
        .filter(|(_, planned)| {
            matches!(&planned.source, Source::Entry(entry) if entry.kind == EntryKind::Symlink)
        })
        .map(|(relative, _)| relative.as_str())
        .collect();
    if links.is_empty() {
        return Ok(());
    }
    for (relative, planned) in plan {
        if let Some(link) = ancestors(relative).find(|ancestor| links.contains(ancestor)) {
            return Err(refuser.refuse(
                &planned.origin,
                Refusal::BelowLink {
                    link: link.to_string(),
                },
            ));
        }
    }
    Ok(())
}

fn hash_file(path: &Path) -> Result<(Sha256, u64), InstallError> {
    let file = File::open(path).map_err(io_error("read", path))?;
    let size = file.metadata().map_err(io_error("read", path))?.len();
    let sha256 = Sha256::of_reader(file).map_err(io_error("read", path))?;
    Ok((sha256, size))
}
