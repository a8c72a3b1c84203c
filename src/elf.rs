//! ELF files: every place vendor reads or rewrites one.
//!
//! This module reads dependencies as rpm's `elfdeps` generates them, for one
//! file and for a whole payload; [`search_path`] finds and removes RPATH /
//! RUNPATH entries that point into the build host; [`debug_info`] strips
//! debug sections as rpmbuild's `brp-strip` does. Reading uses `goblin`,
//! rewriting uses `object`'s ELF builder.
//!
//! Input: the bytes of one file ([`elf_dependencies`]) or every file of a
//! package payload ([`payload_dependencies`]). Output: rpm-format Requires
//! and Provides strings (`libc.so.6(GLIBC_2.34)(64bit)`, `libz.so.1()(64bit)`,
//! `rtld(GNU_HASH)`), plus what later checks need (sonames, RPATH/RUNPATH,
//! `DT_NEEDED`) and, for a payload, the libraries it bundles.
//!
//! Invariants (`docs/rpm-rules.md#elf-dependencies`, after rpm 4.18's
//! `tools/elfdeps.c`):
//! - only `ET_DYN` and `ET_EXEC` files count; the `(64bit)` marker is added
//!   for ELFCLASS64 (except Alpha, as rpm does); a name is `soname` alone
//!   without version and marker, else `soname(VERSION)MARKER`;
//! - Requires: every `DT_NEEDED`, every `SHT_GNU_verneed` (file, version)
//!   pair, `rtld(GNU_HASH)` with `DT_GNU_HASH` and no `DT_HASH`. Files are
//!   treated as executable (vendor writes `.so` files 0755, which rpm before
//!   4.17 needs to generate Requires at all);
//! - Provides, for shared libraries only (`ET_DYN` without `DT_DEBUG`, so not
//!   PIE executables): `DT_SONAME` (the file name when there is none) and the
//!   non-base `SHT_GNU_verdef` versions;
//! - only names containing `.so` and starting with `lib`, `ld.`, `ld-`,
//!   `ld64.` or `ld64-` are kept, so Python extension modules provide nothing;
//! - in a payload, requirements on libraries shipped in the same payload are
//!   dropped, and those libraries, when another file uses them or they sit in
//!   a manylinux `<pkg>.libs/` directory, are bundled: reported, never
//!   provided.

pub mod debug_info;
pub mod search_path;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

use goblin::container::{Container, Ctx};
use goblin::elf::dynamic::{
    DT_DEBUG, DT_GNU_HASH, DT_HASH, DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME,
};
use goblin::elf::header::{ELFCLASS64, ET_DYN, ET_EXEC};
use goblin::elf::section_header::{SHT_GNU_VERDEF, SHT_GNU_VERNEED};
use goblin::elf::symver::VER_FLG_BASE;
use goblin::elf::{Dynamic, Elf, ProgramHeader, SectionHeader, VerdefSection, VerneedSection};

/// `\x7fELF`.
const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
/// Alpha never got the `(64bit)` marker (`EM_ALPHA`, `EM_FAKE_ALPHA`).
const ALPHA_MACHINES: [u16; 2] = [41, 0x9026];
/// The marker rpm appends to every name of a 64-bit file.
const MARKER_64BIT: &str = "(64bit)";
/// The requirement rpm adds for files hashed with only `DT_GNU_HASH`.
pub const RTLD_GNU_HASH: &str = "rtld(GNU_HASH)";

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("`{file}` is not a valid ELF file: {message}")]
    Malformed { file: String, message: String },
    #[error("cannot read `{}`: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// rpm's dependency strings for one file or a payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElfDependencies {
    pub requires: BTreeSet<String>,
    pub provides: BTreeSet<String>,
}

/// What one ELF file needs and offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfFileInfo {
    /// What `elfdeps --requires` / `--provides` print for this file.
    pub dependencies: ElfDependencies,
    /// A shared library (`ET_DYN` without `DT_DEBUG`), not an executable.
    pub is_shared_library: bool,
    pub is_64bit: bool,
    pub soname: Option<String>,
    /// Every `DT_NEEDED` entry, unfiltered, in file order.
    pub needed: Vec<String>,
    /// `DT_RPATH` and `DT_RUNPATH` entries, split at `:`, in file order.
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
}

/// rpm's view of one file: `Ok(None)` when it is not an `ET_DYN` / `ET_EXEC`
/// ELF file. `file_name` is the file's base name: rpm provides it as the
/// soname of a shared library that has no `DT_SONAME`; it also names the
/// file in errors.
pub fn elf_dependencies(bytes: &[u8], file_name: &str) -> Result<Option<ElfFileInfo>, ElfError> {
    if !bytes.starts_with(&ELF_MAGIC) {
        return Ok(None);
    }
    let malformed = |error: goblin::error::Error| ElfError::Malformed {
        file: file_name.to_string(),
        message: error.to_string(),
    };
    let header = Elf::parse_header(bytes).map_err(malformed)?;
    if header.e_type != ET_DYN && header.e_type != ET_EXEC {
        return Ok(None);
    }
    let parsed = ParsedElf::parse(bytes, &header).map_err(malformed)?;
    let is_64bit = header.e_ident[goblin::elf::header::EI_CLASS] == ELFCLASS64;
    let marker = (is_64bit && !ALPHA_MACHINES.contains(&header.e_machine)).then_some(MARKER_64BIT);
    Ok(Some(parsed.into_info(
        header.e_type == ET_DYN,
        is_64bit,
        marker,
        file_name,
    )))
}

/// The parts of an ELF file elfdeps reads, as owned strings.
struct ParsedElf {
    needed: Vec<String>,
    soname: Option<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
    has_hash: bool,
    has_gnu_hash: bool,
    has_debug: bool,
    /// (file, version) pairs of `SHT_GNU_verneed`.
    version_needs: Vec<(String, String)>,
    /// The base `SHT_GNU_verdef` name (the soname at link time) and the
    /// names of the other definitions.
    version_base: Option<String>,
    version_definitions: Vec<String>,
}

impl ParsedElf {
    /// Reads only the headers, the dynamic section and the version sections:
    /// symbol tables of large libraries are never touched.
    fn parse(bytes: &[u8], header: &goblin::elf::Header) -> goblin::error::Result<Self> {
        let container = if header.e_ident[goblin::elf::header::EI_CLASS] == ELFCLASS64 {
            Container::Big
        } else {
            Container::Little
        };
        let ctx = Ctx::new(container, header.endianness()?);
        let program_headers =
            ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx)?;
        let section_headers =
            SectionHeader::parse(bytes, header.e_shoff as usize, header.e_shnum as usize, ctx)?;
        let mut parsed = Self {
            needed: Vec::new(),
            soname: None,
            rpath: Vec::new(),
            runpath: Vec::new(),
            has_hash: false,
            has_gnu_hash: false,
            has_debug: false,
            version_needs: Vec::new(),
            version_base: None,
            version_definitions: Vec::new(),
        };
        if let Some(dynamic) = Dynamic::parse(bytes, &program_headers, ctx)? {
            parsed.read_dynamic(bytes, &dynamic);
        }
        parsed.read_version_needs(bytes, &section_headers, ctx)?;
        parsed.read_version_definitions(bytes, &section_headers, ctx)?;
        Ok(parsed)
    }

    fn read_dynamic(&mut self, bytes: &[u8], dynamic: &Dynamic) {
        let strings = StringTable::new(bytes, dynamic.info.strtab, dynamic.info.strsz);
        for entry in &dynamic.dyns {
            let string = || strings.get(entry.d_val as usize);
            match entry.d_tag {
                DT_NEEDED => self.needed.extend(string()),
                DT_SONAME => self.soname = string(),
                DT_RPATH => self
                    .rpath
                    .extend(string().iter().flat_map(|paths| split_paths(paths))),
                DT_RUNPATH => self
                    .runpath
                    .extend(string().iter().flat_map(|paths| split_paths(paths))),
                DT_HASH => self.has_hash = true,
                DT_GNU_HASH => self.has_gnu_hash = true,
                DT_DEBUG => self.has_debug = true,
                _ => {}
            }
        }
    }

    fn read_version_needs(
        &mut self,
        bytes: &[u8],
        section_headers: &[SectionHeader],
        ctx: Ctx,
    ) -> goblin::error::Result<()> {
        let Some(section) = VerneedSection::parse(bytes, section_headers, ctx)? else {
            return Ok(());
        };
        let strings = linked_strings(bytes, section_headers, SHT_GNU_VERNEED);
        for need in section.iter() {
            let Some(file) = strings.get(need.vn_file) else {
                break;
            };
            for auxiliary in need.iter() {
                let Some(version) = strings.get(auxiliary.vna_name) else {
                    break;
                };
                self.version_needs.push((file.clone(), version));
            }
        }
        Ok(())
    }

    fn read_version_definitions(
        &mut self,
        bytes: &[u8],
        section_headers: &[SectionHeader],
        ctx: Ctx,
    ) -> goblin::error::Result<()> {
        let Some(section) = VerdefSection::parse(bytes, section_headers, ctx)? else {
            return Ok(());
        };
        let strings = linked_strings(bytes, section_headers, SHT_GNU_VERDEF);
        for definition in section.iter() {
            // The first auxiliary entry names the version; the others are
            // its parents, which elfdeps ignores.
            let Some(name) = definition
                .iter()
                .next()
                .and_then(|auxiliary| strings.get(auxiliary.vda_name))
            else {
                break;
            };
            if definition.vd_flags & VER_FLG_BASE != 0 {
                self.version_base = Some(name);
            } else if self.version_base.is_some() {
                self.version_definitions.push(name);
            }
        }
        Ok(())
    }

    fn into_info(
        self,
        is_dyn: bool,
        is_64bit: bool,
        marker: Option<&str>,
        file_name: &str,
    ) -> ElfFileInfo {
        let mut dependencies = ElfDependencies::default();
        for needed in &self.needed {
            add_dependency(&mut dependencies.requires, needed, None, marker);
        }
        for (file, version) in &self.version_needs {
            add_dependency(&mut dependencies.requires, file, Some(version), marker);
        }
        if self.has_gnu_hash && !self.has_hash {
            dependencies.requires.insert(RTLD_GNU_HASH.to_string());
        }
        if let Some(base) = &self.version_base {
            for version in &self.version_definitions {
                add_dependency(&mut dependencies.provides, base, Some(version), marker);
            }
        }
        let is_shared_library = is_dyn && !self.has_debug;
        if is_shared_library {
            let soname = self.soname.as_deref().unwrap_or(file_name);
            add_dependency(&mut dependencies.provides, soname, None, marker);
        }
        ElfFileInfo {
            dependencies,
            is_shared_library,
            is_64bit,
            soname: self.soname,
            needed: self.needed,
            rpath: self.rpath,
            runpath: self.runpath,
        }
    }
}

/// `soname`, or `soname(version)marker`, when rpm would keep the name.
fn add_dependency(
    set: &mut BTreeSet<String>,
    soname: &str,
    version: Option<&String>,
    marker: Option<&str>,
) {
    if !is_library_name(soname) {
        return;
    }
    let dependency = if version.is_some() || marker.is_some() {
        format!(
            "{soname}({}){}",
            version.map_or("", String::as_str),
            marker.unwrap_or("")
        )
    } else {
        soname.to_string()
    };
    set.insert(dependency);
}

/// elfdeps' soname filter: linkable libraries and the dynamic linker only.
pub fn is_library_name(soname: &str) -> bool {
    !soname.trim().is_empty()
        && soname.contains(".so")
        && ["lib", "ld.", "ld-", "ld64.", "ld64-"]
            .iter()
            .any(|prefix| soname.starts_with(prefix))
}

/// The soname a dependency string is about (`libc.so.6(GLIBC_2.34)(64bit)`
/// → `libc.so.6`).
pub fn dependency_soname(dependency: &str) -> &str {
    dependency
        .split_once('(')
        .map_or(dependency, |(soname, _)| soname)
}

fn split_paths(paths: &str) -> impl Iterator<Item = String> + '_ {
    paths
        .split(':')
        .filter(|path| !path.is_empty())
        .map(str::to_string)
}

/// A NUL-terminated string table inside the file, read lazily.
struct StringTable<'a> {
    bytes: &'a [u8],
}

impl<'a> StringTable<'a> {
    fn new(file: &'a [u8], offset: usize, size: usize) -> Self {
        let end = offset.saturating_add(size).min(file.len());
        Self {
            bytes: file.get(offset..end).unwrap_or_default(),
        }
    }

    fn get(&self, offset: usize) -> Option<String> {
        let tail = self.bytes.get(offset..)?;
        let length = tail.iter().position(|byte| *byte == 0)?;
        Some(String::from_utf8_lossy(&tail[..length]).into_owned())
    }
}

/// The string table a version section links to (`sh_link`), as elfdeps reads it.
fn linked_strings<'a>(
    bytes: &'a [u8],
    section_headers: &[SectionHeader],
    section_type: u32,
) -> StringTable<'a> {
    let linked = section_headers
        .iter()
        .find(|header| header.sh_type == section_type)
        .and_then(|header| section_headers.get(header.sh_link as usize));
    match linked {
        Some(strings) => {
            StringTable::new(bytes, strings.sh_offset as usize, strings.sh_size as usize)
        }
        None => StringTable { bytes: &[] },
    }
}

/// A library shipped inside the payload that the payload's own files use or
/// that sits in a manylinux `.libs/` directory: a copy that will not get the
/// distribution's fixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundledLibrary {
    /// Path in the payload.
    pub path: String,
    /// Its `DT_SONAME`, or its file name when it has none.
    pub soname: String,
    /// Payload paths of the files that need it, sorted.
    pub used_by: Vec<String>,
}

/// A file that starts like ELF but could not be read as ELF. rpm skips such
/// files silently; callers should warn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableElf {
    pub path: String,
    pub reason: String,
}

/// The ELF dependencies of a whole payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PayloadElfDependencies {
    /// The union of every file's Requires, minus what the payload satisfies
    /// itself, and Provides, minus the bundled libraries'.
    pub dependencies: ElfDependencies,
    /// Sorted by path.
    pub bundled: Vec<BundledLibrary>,
    /// Every ELF file by payload path, for linkage checks.
    pub files: BTreeMap<String, ElfFileInfo>,
    pub unreadable: Vec<UnreadableElf>,
}

/// Reads every file of a payload (`(path in payload, path on disk)`) and
/// combines their ELF dependencies. Only files that cannot be read fail;
/// malformed ELF files are listed in
/// [`PayloadElfDependencies::unreadable`].
pub fn payload_dependencies(
    files: &[(String, PathBuf)],
) -> Result<PayloadElfDependencies, ElfError> {
    let mut payload = PayloadElfDependencies::default();
    for (payload_path, disk_path) in files {
        let Some(bytes) = read_if_elf(disk_path)? else {
            continue;
        };
        match elf_dependencies(&bytes, file_name(payload_path)) {
            Ok(Some(info)) => {
                payload.files.insert(payload_path.clone(), info);
            }
            Ok(None) => {}
            Err(error) => payload.unreadable.push(UnreadableElf {
                path: payload_path.clone(),
                reason: error.to_string(),
            }),
        }
    }
    combine(&mut payload);
    Ok(payload)
}

/// The file's bytes when it starts with the ELF magic; other files are not
/// read beyond their first four bytes.
fn read_if_elf(path: &PathBuf) -> Result<Option<Vec<u8>>, ElfError> {
    let read_error = |source| ElfError::Read {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let mut magic = [0u8; 4];
    let mut filled = 0;
    while filled < magic.len() {
        match file.read(&mut magic[filled..]).map_err(read_error)? {
            0 => return Ok(None),
            read => filled += read,
        }
    }
    if magic != ELF_MAGIC {
        return Ok(None);
    }
    let mut bytes = magic.to_vec();
    file.read_to_end(&mut bytes).map_err(read_error)?;
    Ok(Some(bytes))
}

fn file_name(payload_path: &str) -> &str {
    payload_path.rsplit('/').next().unwrap_or(payload_path)
}

/// auditwheel puts grafted libraries in `<pkg>.libs/` (older versions:
/// `<pkg>/.libs/`).
fn is_in_libs_directory(payload_path: &str) -> bool {
    let mut components: Vec<&str> = payload_path.split('/').collect();
    components.pop();
    components
        .iter()
        .any(|component| component.ends_with(".libs"))
}

/// Fills the payload-wide dependencies and bundled list from `files`.
fn combine(payload: &mut PayloadElfDependencies) {
    // Every shipped shared library answers to its soname and its file name.
    let mut shipped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, info) in &payload.files {
        if info.is_shared_library {
            let names = info
                .soname
                .iter()
                .map(String::as_str)
                .chain([file_name(path)]);
            for name in names.collect::<BTreeSet<_>>() {
                shipped.entry(name).or_default().push(path);
            }
        }
    }
    let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut requires = BTreeSet::new();
    for (path, info) in &payload.files {
        for requirement in &info.dependencies.requires {
            match shipped.get(dependency_soname(requirement)) {
                Some(libraries) => {
                    for library in libraries.iter().filter(|library| **library != path) {
                        users.entry(library).or_default().insert(path);
                    }
                }
                None => {
                    requires.insert(requirement.clone());
                }
            }
        }
    }
    let mut bundled = Vec::new();
    let mut provides = BTreeSet::new();
    for (path, info) in &payload.files {
        let used_by = users.remove(path.as_str());
        if info.is_shared_library && (used_by.is_some() || is_in_libs_directory(path)) {
            bundled.push(BundledLibrary {
                path: path.clone(),
                soname: info
                    .soname
                    .clone()
                    .unwrap_or_else(|| file_name(path).to_string()),
                used_by: used_by.into_iter().flatten().map(str::to_string).collect(),
            });
        } else {
            provides.extend(info.dependencies.provides.iter().cloned());
        }
    }
    payload.dependencies = ElfDependencies { requires, provides };
    payload.bundled = bundled;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_names_like_elfdeps() {
        for kept in [
            "libc.so.6",
            "ld-linux-x86-64.so.2",
            "ld64.so.2",
            "libfoo-1a2b3c4d.so.1.2",
        ] {
            assert!(is_library_name(kept), "{kept}");
        }
        for dropped in [
            "_imaging.cpython-311-x86_64-linux-gnu.so",
            "libfoo.a",
            "foo.so",
            " ",
            "",
        ] {
            assert!(!is_library_name(dropped), "{dropped}");
        }
    }

    #[test]
    fn formats_names_like_elfdeps() {
        let mut set = BTreeSet::new();
        add_dependency(&mut set, "libz.so.1", None, Some(MARKER_64BIT));
        add_dependency(
            &mut set,
            "libc.so.6",
            Some(&"GLIBC_2.34".to_string()),
            Some(MARKER_64BIT),
        );
        add_dependency(&mut set, "libm.so.6", None, None);
        add_dependency(&mut set, "libm.so.6", Some(&"GLIBC_2.0".to_string()), None);
        add_dependency(&mut set, "_x.cpython-311-x86_64-linux-gnu.so", None, None);
        let expected = [
            "libc.so.6(GLIBC_2.34)(64bit)",
            "libm.so.6",
            "libm.so.6(GLIBC_2.0)",
            "libz.so.1()(64bit)",
        ];
        assert_eq!(set.into_iter().collect::<Vec<_>>(), expected);
        assert_eq!(
            dependency_soname("libc.so.6(GLIBC_2.34)(64bit)"),
            "libc.so.6"
        );
        assert_eq!(dependency_soname("libm.so.6"), "libm.so.6");
    }

    #[test]
    fn non_elf_and_broken_elf() {
        assert_eq!(elf_dependencies(b"#!/bin/sh\n", "run").unwrap(), None);
        assert_eq!(elf_dependencies(b"", "empty").unwrap(), None);
        let error = elf_dependencies(b"\x7fELF\x02\x01", "libbroken.so").unwrap_err();
        assert!(error
            .to_string()
            .starts_with("`libbroken.so` is not a valid ELF file"));
    }

    #[test]
    fn recognises_manylinux_library_directories() {
        assert!(is_in_libs_directory(
            "lib/python3.11/site-packages/numpy.libs/libgfortran-040039e1.so.5.0.0"
        ));
        assert!(is_in_libs_directory(
            "site-packages/pillow/.libs/libjpeg-1a2b.so.62"
        ));
        assert!(!is_in_libs_directory(
            "site-packages/numpy/core/_multiarray_umath.so"
        ));
        assert!(!is_in_libs_directory("numpy.libs"));
    }
}
