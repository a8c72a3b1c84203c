//! Property-based fuzzing of every reader of untrusted input: requirement
//! files and `pyproject.toml`, `pylock.toml`, core metadata, wheels, sdists
//! (tar.gz and zip), ELF files and policies.
//!
//! Each property starts from real files (`test-data/fuzz/`, the built-in
//! policies, the host's own shared libraries), applies a few random
//! mutations — byte flips, truncations, deletions, repeated slices and
//! insertions of tokens that mean something to the format (`\r\n`, NUL,
//! `==`, `[[packages]]`, `../`, a 5,000-byte run) — and requires that the
//! reader returns, never panics, and that a refusal is a short message (no
//! page of someone else's text). The archive readers must also leave
//! nothing behind when they refuse, and write nothing outside their folder.
//!
//! Cases per property: `PROPTEST_CASES` when set (`scripts/fuzz.sh` runs
//! many; a twentieth of them for policies, each of which runs `python3`), else
//! a bound that keeps CI short. A hang is caught by nextest's
//! timeout for the test.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::common::files_under;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-data/fuzz");

/// Inserted by mutations: what parsers of these formats branch on.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\r",
    b"\0",
    b"\n",
    b"\t",
    b"\x7f",
    b"\"",
    b"'",
    b"\\",
    b"\\\n",
    b"[",
    b"]",
    b"{",
    b"}",
    b"=",
    b"==",
    b"===",
    b">=",
    b"~=",
    b"!=",
    b"*",
    b",",
    b";",
    b"@",
    b"#",
    b" ",
    b"-r ",
    b"-c ",
    b"-e ",
    b"--hash=sha256:",
    b"--no-binary=:all:",
    b"--only-binary :none:",
    b"--index-url ",
    b" ; extra == \"x\"",
    b"[extra]",
    b"file://",
    b"git+file:///tmp/x@",
    b"https://",
    b"\xef\xbb\xbf",
    "é".as_bytes(),
    "\u{202e}".as_bytes(),
    b"\xff\xfe",
    b"\xc3",
    b"[[packages]]\n",
    b"[tool.vendor]\n",
    b"version = ",
    b"name = ",
    b"Name: ",
    b"Version: ",
    b"Requires-Dist: ",
    b"Metadata-Version: 2.4\n",
    b"Dynamic: ",
    b"../",
    b"/",
    b"/etc/passwd",
    b"99999999999999999999999999",
    b"-1",
    b"0",
    b"1e308",
    b"nan",
];

/// One edit of a seed. Offsets are taken modulo the current length.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Delete(usize, usize),
    Repeat(usize, usize, usize),
    Insert(usize, usize),
    LongRun(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(at, bits)| Mutation::Flip(at, bits | 1)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        2 => (any::<usize>(), 1..64usize).prop_map(|(at, length)| Mutation::Delete(at, length)),
        2 => (any::<usize>(), 1..64usize, any::<usize>())
            .prop_map(|(from, length, to)| Mutation::Repeat(from, length, to)),
        4 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert(at, token)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::LongRun(at, byte)),
    ]
}

fn apply(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for mutation in mutations {
        let at = |offset: usize, bytes: &Vec<u8>| offset % (bytes.len() + 1);
        match *mutation {
            Mutation::Flip(offset, bits) if !bytes.is_empty() => {
                let index = offset % bytes.len();
                bytes[index] ^= bits;
            }
            Mutation::Flip(..) => {}
            Mutation::Truncate(offset) => bytes.truncate(at(offset, &bytes)),
            Mutation::Delete(offset, length) => {
                let start = at(offset, &bytes);
                let end = (start + length).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Repeat(from, length, to) => {
                let start = at(from, &bytes);
                let slice = bytes[start..(start + length).min(bytes.len())].to_vec();
                let to = at(to, &bytes);
                bytes.splice(to..to, slice);
            }
            Mutation::Insert(offset, token) => {
                let to = at(offset, &bytes);
                bytes.splice(to..to, TOKENS[token].iter().copied());
            }
            Mutation::LongRun(offset, byte) => {
                let to = at(offset, &bytes);
                bytes.splice(to..to, std::iter::repeat_n(byte, 5_000));
            }
        }
    }
    bytes
}

/// A seed (by index) with up to eight mutations applied.
fn mutated(seeds: &[Vec<u8>]) -> impl Strategy<Value = (usize, Vec<u8>)> {
    let seeds = seeds.to_vec();
    (0..seeds.len(), proptest::collection::vec(mutation(), 0..8))
        .prop_map(move |(seed, mutations)| (seed, apply(&seeds[seed], &mutations)))
}

/// `PROPTEST_CASES`, else `default`.
fn config(default: u32) -> Config {
    config_divided(default, 1)
}

/// `PROPTEST_CASES / divisor`, else `default`: for properties whose cases
/// cost a process each (policy probes are compiled by `python3`).
fn config_divided(default: u32, divisor: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse::<u32>().ok())
        .map_or(default, |cases| (cases / divisor).max(1));
    // The suite's runs are reproducible (a CI failure shows again on any
    // machine); `scripts/fuzz.sh` sets `PROPTEST_RNG_SEED` to a fresh seed.
    let rng_seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .map_or(RngSeed::Fixed(SUITE_SEED), RngSeed::Fixed);
    Config {
        cases,
        rng_seed,
        ..Config::default()
    }
}

/// The seed of the test suite's fuzz runs when none is given.
const SUITE_SEED: u64 = 20_261_204;

fn corpus(names: &[&str]) -> Vec<Vec<u8>> {
    names
        .iter()
        .map(|name| fs_err::read(Path::new(CORPUS).join(name)).unwrap())
        .collect()
}

/// A refusal must be short enough to read: a few lines, never a page of
/// the input.
fn assert_clear(message: &str) {
    assert!(!message.trim().is_empty(), "an empty error message");
    assert!(
        message.lines().count() <= 12 && message.chars().count() <= 1_500,
        "an error message of {} lines, {} characters:\n{}",
        message.lines().count(),
        message.chars().count(),
        message.chars().take(300).collect::<String>()
    );
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn requirement_files_and_pyproject_never_panic() {
    let seeds = corpus(&[
        "../requirements/netbox-4.4.10.txt",
        "../requirements/django-app.in",
        "requirements-options.txt",
        "example.pyproject.toml",
    ]);
    proptest!(config(256), |((seed, bytes) in mutated(&seeds))| {
        let folder = tempfile::tempdir().unwrap();
        let name = if seed == 3 { "pyproject.toml" } else { "requirements.txt" };
        let path = folder.path().join(name);
        fs_err::write(&path, &bytes).unwrap();
        if let Err(error) = vendor::requirements::read_requirements(std::slice::from_ref(&path), &[]) {
            assert_clear(&error.to_string());
        }
        if let Err(error) = vendor::requirements::parse_requirements_text(&text(&bytes), &path) {
            assert_clear(&error.to_string());
        }
    });
}

#[test]
fn pylock_files_never_panic() {
    let seeds = corpus(&["uv-django-app.pylock.toml", "vendor-example.pylock.toml"]);
    proptest!(config(256), |((_seed, bytes) in mutated(&seeds))| {
        if let Err(error) = vendor::lock::pylock::parse(&text(&bytes), Path::new("pylock.toml")) {
            assert_clear(&error.to_string());
        }
    });
}

#[test]
fn core_metadata_never_panics() {
    let mut seeds = corpus(&["requests-2.32.3.METADATA"]);
    seeds.push(fs_err::read(Path::new(CORPUS).join("../native/featurepkg-1.0/PKG-INFO")).unwrap());
    proptest!(config(512), |((_seed, bytes) in mutated(&seeds))| {
        let text = text(&bytes);
        if let Err(error) = vendor::index::CoreMetadata::parse(&text) {
            assert_clear(&error);
        }
        if let Err(error) = vendor::install::WheelMetadata::parse(&text) {
            assert_clear(&error);
        }
    });
}

#[test]
fn wheels_never_panic_and_a_refused_wheel_leaves_nothing() {
    let seeds = corpus(&["six-1.16.0-py2.py3-none-any.whl"]);
    proptest!(config(192), |((_seed, bytes) in mutated(&seeds))| {
        check_wheel_bytes(&bytes);
    });
}

/// `bytes` as a wheel: checked and installed without a panic; a refusal is
/// short and leaves nothing in the staging folder.
fn check_wheel_bytes(bytes: &[u8]) {
    let folder = tempfile::tempdir().unwrap();
    let wheel = folder.path().join("six-1.16.0-py2.py3-none-any.whl");
    fs_err::write(&wheel, bytes).unwrap();
    if let Err(error) = vendor::install::check_wheel(&wheel) {
        assert_clear(&error.to_string());
    }
    let staging = folder.path().join("staging");
    let scheme = vendor::install::InstallScheme::new("/opt/fuzz", (3, 11));
    let options = vendor::install::InstallOptions::for_environment();
    match vendor::install::install_wheel(&wheel, &scheme, &staging, &options) {
        Ok(installed) => {
            for file in &installed.files {
                let relative = file.path.strip_prefix("/").unwrap();
                let staged = staging.join(relative);
                assert!(staged.symlink_metadata().is_ok(), "{}", file.path.display());
                assert!(staged.starts_with(&staging), "{}", staged.display());
            }
        }
        Err(error) => {
            assert_clear(&error.to_string());
            assert_eq!(files_under(&staging), Vec::<PathBuf>::new(), "{error}");
        }
    }
}

#[test]
fn sdists_never_panic_and_unpack_only_into_their_folder() {
    let tar_gz = corpus(&["six-1.16.0.tar.gz"]).remove(0);
    let seeds = vec![tar_gz.clone(), zip_of_tar_gz(&tar_gz)];
    proptest!(config(192), |((seed, bytes) in mutated(&seeds))| {
        check_sdist_bytes(&bytes, if seed == 0 { "six-1.16.0.tar.gz" } else { "six-1.16.0.zip" });
    });
}

/// `bytes` as the sdist `name`: unpacked without a panic, a refusal short,
/// and nothing written outside the destination folder.
fn check_sdist_bytes(bytes: &[u8], name: &str) {
    let folder = tempfile::tempdir().unwrap();
    let sdist = folder.path().join(name);
    fs_err::write(&sdist, bytes).unwrap();
    let destination = folder.path().join("source");
    if let Err(error) = vendor::pep517::unpack_sdist(&sdist, &destination) {
        assert_clear(&error.to_string());
    }
    for path in files_under(folder.path()) {
        assert!(
            path == sdist || path.starts_with(&destination),
            "{}",
            path.display()
        );
        if let Ok(target) = fs_err::read_link(&path) {
            let resolved = path.parent().unwrap().join(&target);
            assert!(
                !target.is_absolute() && normalized(&resolved).starts_with(&destination),
                "{} links to {}",
                path.display(),
                target.display()
            );
        }
    }
}

/// `path` with `.` and `..` taken out lexically.
fn normalized(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                result.pop();
            }
            std::path::Component::CurDir => {}
            other => result.push(other),
        }
    }
    result
}

#[test]
fn elf_files_never_panic() {
    let seeds: Vec<Vec<u8>> = host_elf_files()
        .iter()
        .map(|path| fs_err::read(path).unwrap())
        .collect();
    proptest!(config(256), |((_seed, bytes) in mutated(&seeds))| {
        if let Err(error) = vendor::elf::elf_dependencies(&bytes, "_fuzz.cpython-311-x86_64-linux-gnu.so") {
            assert_clear(&error.to_string());
        }
        if let Err(error) = vendor::elf::search_path::host_search_paths(&bytes, "fuzz/_fuzz.so") {
            assert_clear(&error.to_string());
        }
    });
}

#[test]
fn policies_never_panic() {
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/packages");
    let mut names: Vec<PathBuf> = files_under(&builtin);
    names.sort();
    let seeds: Vec<Vec<u8>> = names
        .iter()
        .map(|path| fs_err::read(path).unwrap())
        .collect();
    proptest!(config_divided(128, 20), |((_seed, bytes) in mutated(&seeds))| {
        let project = tempfile::tempdir().unwrap();
        let folder = project.path().join("policies/packages");
        fs_err::create_dir_all(&folder).unwrap();
        fs_err::write(folder.join("fuzzed.toml"), &bytes).unwrap();
        if let Err(error) = vendor::policy::Policies::load(Some(project.path())) {
            assert_clear(&error.to_string());
        }
    });
}

/// One edit of an archive's members, leaving the container itself valid,
/// so that the readers' path, link, RECORD and metadata checks are reached.
#[derive(Clone, Debug)]
enum MemberEdit {
    Contents(usize, Vec<Mutation>),
    Name(usize, Vec<Mutation>),
    Mode(usize, u32),
    Duplicate(usize),
    Link(usize, usize),
    Remove(usize),
}

fn member_edit() -> impl Strategy<Value = MemberEdit> {
    let mutations = || proptest::collection::vec(mutation(), 1..4);
    prop_oneof![
        4 => (any::<usize>(), mutations()).prop_map(|(at, edits)| MemberEdit::Contents(at, edits)),
        3 => (any::<usize>(), mutations()).prop_map(|(at, edits)| MemberEdit::Name(at, edits)),
        1 => (any::<usize>(), prop::sample::select(vec![0o755u32, 0o4755, 0o000, 0o120_777, 0o040_755]))
            .prop_map(|(at, mode)| MemberEdit::Mode(at, mode)),
        1 => any::<usize>().prop_map(MemberEdit::Duplicate),
        1 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| MemberEdit::Link(at, token)),
        1 => any::<usize>().prop_map(MemberEdit::Remove),
    ]
}

/// An archive member: name, bytes, mode, and a link target for links.
#[derive(Clone, Debug)]
struct Member {
    name: Vec<u8>,
    contents: Vec<u8>,
    mode: u32,
    link: Option<Vec<u8>>,
}

fn edit_members(members: &[Member], edits: &[MemberEdit]) -> Vec<Member> {
    let mut members = members.to_vec();
    for edit in edits {
        if members.is_empty() {
            break;
        }
        let count = members.len();
        let pick = |at: usize| at % count;
        match edit {
            MemberEdit::Contents(at, mutations) => {
                let member = pick(*at);
                members[member].contents = apply(&members[member].contents, mutations);
            }
            MemberEdit::Name(at, mutations) => {
                let member = pick(*at);
                members[member].name = apply(&members[member].name, mutations);
            }
            MemberEdit::Mode(at, mode) => members[pick(*at)].mode = *mode,
            MemberEdit::Duplicate(at) => members.push(members[pick(*at)].clone()),
            MemberEdit::Link(at, token) => members[pick(*at)].link = Some(TOKENS[*token].to_vec()),
            MemberEdit::Remove(at) => {
                members.remove(pick(*at));
            }
        }
    }
    members
}

fn zip_members(archive: &[u8]) -> Vec<Member> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut file = archive.by_index(index).unwrap();
            let mut contents = Vec::new();
            file.read_to_end(&mut contents).unwrap();
            Member {
                name: file.name().as_bytes().to_vec(),
                contents,
                mode: file.unix_mode().unwrap_or(0o644),
                link: None,
            }
        })
        .collect()
}

fn write_zip_members(members: &[Member]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for member in members {
        let name = text(&member.name);
        let options = zip::write::SimpleFileOptions::default().unix_permissions(member.mode);
        let written = match &member.link {
            Some(target) => writer.add_symlink(name, text(target), options),
            None => writer
                .start_file(name, options)
                .and_then(|()| Ok(writer.write_all(&member.contents)?)),
        };
        // The zip writer refuses some names (duplicates); such a member is left out.
        if written.is_err() {
            writer.abort_file().ok();
        }
    }
    writer.finish().unwrap().into_inner()
}

fn tar_gz_members(archive: &[u8]) -> Vec<Member> {
    use std::io::Read;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let mut contents = Vec::new();
            entry.read_to_end(&mut contents).unwrap();
            Member {
                name: entry.path_bytes().to_vec(),
                contents,
                mode: entry.header().mode().unwrap_or(0o644),
                link: None,
            }
        })
        .collect()
}

/// A tar.gz with raw member names (the tar crate's builder would refuse
/// `..` and absolute names, which is what this must send).
fn write_tar_gz_members(members: &[Member]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for member in members {
        let mut header = tar::Header::new_old();
        let name = &member.name[..member.name.len().min(99)];
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_mode(member.mode & 0o7777);
        match &member.link {
            Some(target) => {
                header.set_entry_type(if member.mode & 1 == 1 {
                    tar::EntryType::Link
                } else {
                    tar::EntryType::Symlink
                });
                let target = &target[..target.len().min(99)];
                header.as_old_mut().linkname[..target.len()].copy_from_slice(target);
                header.set_size(0);
                header.set_cksum();
                builder.append(&header, std::io::empty()).unwrap();
            }
            None => {
                header.set_entry_type(match member.mode & 0o170_000 {
                    0o040_000 => tar::EntryType::Directory,
                    _ => tar::EntryType::Regular,
                });
                header.set_size(member.contents.len() as u64);
                header.set_cksum();
                builder.append(&header, member.contents.as_slice()).unwrap();
            }
        }
    }
    builder.into_inner().unwrap().finish().unwrap()
}

#[test]
fn wheel_members_never_panic_and_a_refused_wheel_leaves_nothing() {
    let members = zip_members(&corpus(&["six-1.16.0-py2.py3-none-any.whl"]).remove(0));
    let edits = proptest::collection::vec(member_edit(), 1..4);
    proptest!(config(256), |(edits in edits)| {
        let bytes = write_zip_members(&edit_members(&members, &edits));
        check_wheel_bytes(&bytes);
    });
}

#[test]
fn sdist_members_never_panic_and_unpack_only_into_their_folder() {
    let members = tar_gz_members(&corpus(&["six-1.16.0.tar.gz"]).remove(0));
    let edits = proptest::collection::vec(member_edit(), 1..4);
    proptest!(config(256), |(edits in edits, as_zip in any::<bool>())| {
        let edited = edit_members(&members, &edits);
        let (bytes, name) = if as_zip {
            (write_zip_members(&edited), "six-1.16.0.zip")
        } else {
            (write_tar_gz_members(&edited), "six-1.16.0.tar.gz")
        };
        check_sdist_bytes(&bytes, name);
    });
}

/// Real ELF files of this host: an executable, a system library and a
/// CPython extension module.
fn host_elf_files() -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("/bin/true")];
    let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
    let libz = [
        format!("/usr/lib/{triplet}/libz.so.1"),
        format!("/lib/{triplet}/libz.so.1"),
        "/usr/lib64/libz.so.1".to_string(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
    .expect("libz.so.1 on the host");
    found.push(fs_err::canonicalize(libz).unwrap());
    let extensions = Path::new("/usr/lib/python3.11/lib-dynload");
    let extension = files_under(extensions)
        .into_iter()
        .find(|path| path.to_string_lossy().contains("_json."))
        .expect("the host's _json extension");
    found.push(extension);
    found
}

/// The same files as a zip sdist, as older projects upload them.
fn zip_of_tar_gz(tar_gz: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tar_gz));
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        writer
            .start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}
