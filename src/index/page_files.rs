//! A page's files in the compact form stored beside the page, so that a
//! warm lock reads them without parsing the page again.
//!
//! Input: the files a page lists, as the page parsers produce them. Output:
//! [`PageFiles`]: the page's releases (version, earliest upload time) read
//! at once, each release's files decoded only when first asked for.
//!
//! The form is `[header length: u32 LE][header][release][release]…`. The
//! header lists each release with the length and crc32 of its bytes; the
//! page entry keeps the crc32 of the length and header ([`header_crc32`]).
//! A large form is read lazily from its file ([`ReleaseBytes::File`]):
//! its header at once, each release's bytes when the release is decoded.
//!
//! Invariants:
//! - decoding what [`encode`] wrote gives back the same files, except
//!   [`IndexFile::index`], which is the reader's to set;
//! - releases are in ascending version order, the files of a release in the
//!   order the page lists them;
//! - only what the page parsers accepted is stored, so decoding re-parses
//!   file names, URLs and specifiers that are known to be valid; a release
//!   whose bytes do not read or fail their crc32 has no files (cache
//!   entries are written whole and renamed into place, so that takes a
//!   damaged disk).
//!
//! Why: a project page lists every file of every release (Django's about
//! 600, botocore's several thousand) and a lock needs the files of a few
//! releases. Parsing the JSON, joining each URL and parsing each file name
//! was most of an offline lock's time; then reading the whole form was
//! (16 MB for Sentry's 143 pages, grpcio's alone 2 MB). uv keeps its pages
//! in a zero-copy form for the same reason.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::str::FromStr;
use std::sync::OnceLock;

use pep440_rs::{Version, VersionSpecifiers};
use serde::{Deserialize, Serialize};
use url::Url;

use super::IndexFile;
use crate::filename::DistFilename;
use crate::hash::Sha256;

/// Bumped whenever [`encode`]'s layout or the page parsers' reading of a
/// page changes: a stored form of another format is rebuilt from the body.
pub(crate) const FORMAT: u32 = 3;

/// Bytes of the length that starts a form.
pub(crate) const LENGTH_BYTES: usize = 4;

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    /// What every file's URL starts with (up to a `/`): the index's file
    /// host and path, stored once.
    url_prefix: &'a str,
    /// The distinct `requires-python` values; files refer to them by position.
    #[serde(borrow)]
    requires_python: Vec<&'a str>,
    #[serde(borrow)]
    releases: Vec<ReleaseHeader<'a>>,
}

#[derive(Serialize, Deserialize)]
struct ReleaseHeader<'a> {
    version: &'a str,
    /// Nanoseconds since the epoch; `None` when no file states one.
    earliest_upload: Option<i128>,
    /// Bytes of this release's files, which follow the header in release order.
    length: u32,
    crc32: u32,
}

// Stored small, as a warm lock reads the compact forms of all its pages:
// the URL without the page's prefix and, where it ends with it, without the
// file name; the digest as bytes.
#[derive(Serialize, Deserialize)]
struct StoredFile<'a> {
    filename: &'a str,
    url_middle: &'a str,
    url_ends_with_filename: bool,
    sha256: Option<[u8; 32]>,
    size: Option<u64>,
    upload_time: Option<i128>,
    requires_python: Option<u32>,
    yanked: Option<&'a str>,
    has_core_metadata: bool,
}

/// The compact form of `files`.
pub(crate) fn encode(files: &[IndexFile]) -> Vec<u8> {
    let mut by_version: BTreeMap<&Version, Vec<&IndexFile>> = BTreeMap::new();
    for file in files {
        by_version
            .entry(file.filename.version())
            .or_default()
            .push(file);
    }
    let url_prefix = common_url_prefix(files);
    let mut specifier_texts: Vec<String> = Vec::new();
    let mut specifier_positions: HashMap<String, u32> = HashMap::new();
    let mut versions = Vec::with_capacity(by_version.len());
    let mut blobs = Vec::with_capacity(by_version.len());
    for (version, files) in &by_version {
        let stored: Vec<StoredFile> = files
            .iter()
            .map(|file| {
                let requires_python = file.requires_python.as_ref().map(|specifiers| {
                    let text = specifiers.to_string();
                    *specifier_positions.entry(text.clone()).or_insert_with(|| {
                        specifier_texts.push(text);
                        (specifier_texts.len() - 1) as u32
                    })
                });
                let filename = file.filename.as_str();
                let url = &file.url.as_str()[url_prefix.len()..];
                let without_filename = url
                    .strip_suffix(filename)
                    .filter(|rest| rest.is_empty() || rest.ends_with('/'));
                StoredFile {
                    filename,
                    url_middle: without_filename.unwrap_or(url),
                    url_ends_with_filename: without_filename.is_some(),
                    sha256: file.sha256.as_ref().map(Sha256::to_bytes),
                    size: file.size,
                    upload_time: file.upload_time.map(|time| time.as_nanosecond()),
                    requires_python,
                    yanked: file.yanked.as_deref(),
                    has_core_metadata: file.has_core_metadata,
                }
            })
            .collect();
        let earliest_upload = stored.iter().filter_map(|file| file.upload_time).min();
        // Serialising borrowed strings and integers into a Vec cannot fail.
        blobs.push(postcard::to_allocvec(&stored).unwrap_or_default());
        versions.push((version.to_string(), earliest_upload));
    }
    let header = Header {
        url_prefix,
        requires_python: specifier_texts.iter().map(String::as_str).collect(),
        releases: versions
            .iter()
            .zip(&blobs)
            .map(|((version, earliest_upload), blob)| ReleaseHeader {
                version,
                earliest_upload: *earliest_upload,
                length: blob.len() as u32,
                crc32: crc32fast::hash(blob),
            })
            .collect(),
    };
    let header = postcard::to_allocvec(&header).unwrap_or_default();
    let mut bytes = (header.len() as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    for blob in blobs {
        bytes.extend_from_slice(&blob);
    }
    bytes
}

/// How many bytes of a form its length and header take, from its first
/// [`LENGTH_BYTES`].
pub(crate) fn header_end(start: [u8; LENGTH_BYTES]) -> usize {
    LENGTH_BYTES + u32::from_le_bytes(start) as usize
}

/// The checksum a page entry keeps of `form`: of its length and header,
/// as the releases have their own.
pub(crate) fn header_crc32(form: &[u8]) -> Option<u32> {
    let start = form.get(..LENGTH_BYTES)?.try_into().ok()?;
    Some(crc32fast::hash(form.get(..header_end(start))?))
}

/// Where the bytes of a form's releases are.
pub(crate) enum ReleaseBytes {
    /// After the header, in the same buffer.
    Memory,
    /// In `file`, from `offset` on: read when a release is decoded.
    File { file: File, offset: u64 },
}

/// A page's files, read from their compact form.
pub(crate) struct PageFiles {
    /// The form from its start: the header, then the releases when they
    /// are in [`ReleaseBytes::Memory`].
    bytes: Vec<u8>,
    release_bytes: ReleaseBytes,
    /// Where the first release starts in the form.
    releases_start: usize,
    url_prefix: String,
    requires_python: Vec<(String, OnceLock<Option<VersionSpecifiers>>)>,
    releases: Vec<EncodedRelease>,
}

/// One release of a page: its files are decoded on demand.
pub(crate) struct EncodedRelease {
    pub version: Version,
    pub earliest_upload: Option<jiff::Timestamp>,
    /// Where its bytes are, counted from the first release's.
    range: Range<usize>,
    crc32: u32,
}

impl PageFiles {
    /// Read a whole compact form; `Err` when it is not one.
    pub(crate) fn decode(bytes: Vec<u8>) -> Result<Self, String> {
        Self::decode_with(bytes, ReleaseBytes::Memory, None)
    }

    /// Read the length and header of a compact form of `length` bytes
    /// whose releases are elsewhere (`release_bytes`).
    pub(crate) fn decode_header(
        header: Vec<u8>,
        release_bytes: ReleaseBytes,
        length: usize,
    ) -> Result<Self, String> {
        Self::decode_with(header, release_bytes, Some(length))
    }

    /// `length` is the whole form's when only its header is in `bytes`.
    fn decode_with(
        bytes: Vec<u8>,
        release_bytes: ReleaseBytes,
        length: Option<usize>,
    ) -> Result<Self, String> {
        let start: [u8; LENGTH_BYTES] = bytes
            .get(..LENGTH_BYTES)
            .and_then(|start| start.try_into().ok())
            .ok_or("the form is shorter than its length")?;
        let header_end = header_end(start);
        let header_bytes = bytes
            .get(LENGTH_BYTES..header_end)
            .ok_or("the form is shorter than its header")?;
        let header: Header =
            postcard::from_bytes(header_bytes).map_err(|error| error.to_string())?;
        let mut end = 0;
        let mut releases = Vec::with_capacity(header.releases.len());
        for release in &header.releases {
            let start = end;
            end += release.length as usize;
            let version = Version::from_str(release.version).map_err(|error| error.to_string())?;
            releases.push(EncodedRelease {
                version,
                earliest_upload: release.earliest_upload.and_then(timestamp),
                range: start..end,
                crc32: release.crc32,
            });
        }
        if header_end + end != length.unwrap_or(bytes.len()) {
            return Err("the releases do not add up to the stored length".into());
        }
        let requires_python = header
            .requires_python
            .iter()
            .map(|text| (text.to_string(), OnceLock::new()))
            .collect();
        let url_prefix = header.url_prefix.to_string();
        Ok(Self {
            bytes,
            release_bytes,
            releases_start: header_end,
            url_prefix,
            requires_python,
            releases,
        })
    }

    pub(crate) fn releases(&self) -> &[EncodedRelease] {
        &self.releases
    }

    /// The files of release number `position` (page order).
    pub(crate) fn files_of(&self, position: usize) -> Vec<IndexFile> {
        self.files_of_where(position, &|_| true)
    }

    /// The files of release number `position` whose names `keep` accepts,
    /// decoded no further than their names otherwise (a release of grpcio
    /// lists 60 wheels, a target uses one or two).
    pub(crate) fn files_of_where(
        &self,
        position: usize,
        keep: &dyn Fn(&DistFilename) -> bool,
    ) -> Vec<IndexFile> {
        let Some(bytes) = self.release_bytes(position) else {
            return Vec::new();
        };
        let Ok(stored) = postcard::from_bytes::<Vec<StoredFile>>(&bytes) else {
            return Vec::new();
        };
        stored
            .iter()
            .filter_map(|file| {
                let filename = DistFilename::from_str(file.filename).ok()?;
                keep(&filename).then(|| self.index_file(file, filename))?
            })
            .collect()
    }

    /// The bytes of release number `position`, when they read and match
    /// their checksum.
    fn release_bytes(&self, position: usize) -> Option<Cow<'_, [u8]>> {
        let release = self.releases.get(position)?;
        let bytes = match &self.release_bytes {
            ReleaseBytes::Memory => {
                let start = self.releases_start;
                Cow::Borrowed(
                    self.bytes
                        .get(start + release.range.start..start + release.range.end)?,
                )
            }
            ReleaseBytes::File { file, offset } => {
                let mut bytes = vec![0; release.range.len()];
                file.read_exact_at(&mut bytes, offset + release.range.start as u64)
                    .ok()?;
                Cow::Owned(bytes)
            }
        };
        if crc32fast::hash(&bytes) != release.crc32 {
            tracing::warn!(
                "a cached page has a damaged release (`{}`)",
                release.version
            );
            return None;
        }
        Some(bytes)
    }

    /// Whether a file of release number `position` has one of `digests`,
    /// read without decoding the release's files (no URL or name parsed).
    pub(crate) fn release_has_digest(
        &self,
        position: usize,
        digests: &std::collections::BTreeSet<Sha256>,
    ) -> bool {
        let Some(bytes) = self.release_bytes(position) else {
            return false;
        };
        postcard::from_bytes::<Vec<StoredFile>>(&bytes).is_ok_and(|stored| {
            stored.iter().any(|file| {
                file.sha256
                    .is_some_and(|bytes| digests.contains(&Sha256::from_bytes(bytes)))
            })
        })
    }

    /// Every file of the page, release by release.
    pub(crate) fn all_files(&self) -> Vec<IndexFile> {
        (0..self.releases.len())
            .flat_map(|position| self.files_of(position))
            .collect()
    }

    fn index_file(&self, file: &StoredFile, filename: DistFilename) -> Option<IndexFile> {
        let mut url = format!("{}{}", self.url_prefix, file.url_middle);
        if file.url_ends_with_filename {
            url.push_str(file.filename);
        }
        Some(IndexFile {
            filename,
            url: Url::parse(&url).ok()?,
            index: None,
            sha256: file.sha256.map(Sha256::from_bytes),
            size: file.size,
            upload_time: file.upload_time.and_then(timestamp),
            requires_python: file
                .requires_python
                .and_then(|position| self.specifiers(position)),
            yanked: file.yanked.map(str::to_string),
            has_core_metadata: file.has_core_metadata,
        })
    }

    /// A `requires-python` of the page, parsed the first time a file uses it.
    fn specifiers(&self, position: u32) -> Option<VersionSpecifiers> {
        let (text, parsed) = self.requires_python.get(position as usize)?;
        parsed
            .get_or_init(|| VersionSpecifiers::from_str(text).ok())
            .clone()
    }
}

/// The longest start, ending in `/`, that every file's URL shares.
fn common_url_prefix(files: &[IndexFile]) -> &str {
    let Some(first) = files.first().map(|file| file.url.as_str()) else {
        return "";
    };
    let shared = files.iter().fold(first.len(), |shared, file| {
        first[..shared]
            .bytes()
            .zip(file.url.as_str().bytes())
            .take_while(|(a, b)| a == b)
            .count()
    });
    let prefix = &first[..shared];
    prefix.rfind('/').map_or("", |slash| &prefix[..=slash])
}

fn timestamp(nanoseconds: i128) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_nanosecond(nanoseconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(filename: &str, requires_python: Option<&str>, uploaded: i64) -> IndexFile {
        IndexFile {
            filename: DistFilename::from_str(filename).unwrap(),
            url: Url::parse(&format!("https://files.example/p/{filename}")).unwrap(),
            index: None,
            sha256: Some(Sha256::of_bytes(filename.as_bytes())),
            size: Some(uploaded as u64),
            upload_time: Some(jiff::Timestamp::from_second(uploaded).unwrap()),
            requires_python: requires_python.map(|text| VersionSpecifiers::from_str(text).unwrap()),
            yanked: (uploaded == 3).then(|| "broken".to_string()),
            has_core_metadata: uploaded % 2 == 0,
        }
    }

    #[test]
    fn decoding_gives_back_the_files_grouped_by_ascending_version() {
        let mut elsewhere = file("demo-10.0.tar.gz", None, 5);
        elsewhere.url = Url::parse("https://files.example/get?name=demo-10.0.tar.gz").unwrap();
        let files = vec![
            file("demo-2.0-py3-none-any.whl", Some(">=3.9"), 4),
            elsewhere,
            file("demo-2.0.tar.gz", Some(">=3.9"), 3),
            file("demo-1.0-py2.py3-none-any.whl", Some(">=2.7, !=3.0.*"), 1),
        ];
        let page = PageFiles::decode(encode(&files)).unwrap();
        let versions: Vec<String> = page
            .releases()
            .iter()
            .map(|release| release.version.to_string())
            .collect();
        assert_eq!(versions, ["1.0", "2.0", "10.0"]);
        assert_eq!(
            page.releases()[1].earliest_upload,
            Some(jiff::Timestamp::from_second(3).unwrap())
        );
        let two = page.files_of(1);
        let shown = |file: &IndexFile| format!("{file:?}");
        assert_eq!(
            shown(&two[0]),
            shown(&files[0]),
            "page order within a release"
        );
        assert_eq!(shown(&two[1]), shown(&files[2]));
        assert_eq!(shown(&page.files_of(0)[0]), shown(&files[3]));
        assert_eq!(
            shown(&page.files_of(2)[0]),
            shown(&files[1]),
            "a URL of its own"
        );
        assert_eq!(page.all_files().len(), 4);
        assert!(page.files_of(3).is_empty());
    }

    #[test]
    fn a_digest_filter_keeps_only_the_files_with_those_digests() {
        let files = vec![
            file("demo-1.0.tar.gz", None, 1),
            file("demo-2.0-py3-none-any.whl", None, 2),
            file("demo-2.0.tar.gz", None, 4),
            file("demo-3.0.tar.gz", None, 5),
        ];
        let wanted: std::collections::BTreeSet<Sha256> = [files[1].sha256.clone().unwrap()].into();
        let page = PageFiles::decode(encode(&files)).unwrap();
        assert!(!page.release_has_digest(0, &wanted));
        assert!(page.release_has_digest(1, &wanted));
        assert!(!page.release_has_digest(9, &wanted), "no such release");
        let project = super::super::project_files::ProjectFiles::from_page(
            "demo".parse().unwrap(),
            page,
            "https://index.example/simple/",
            None,
        );
        let hashed = project.with_digests(&wanted);
        let names: Vec<&str> = hashed
            .all_files()
            .map(|file| file.filename.as_str())
            .collect();
        assert_eq!(names, ["demo-2.0-py3-none-any.whl"]);
        assert!(project.with_digests(&Default::default()).is_empty());
    }

    #[test]
    fn urls_share_a_prefix_up_to_a_slash() {
        let mut files = vec![file("demo-1.0.tar.gz", None, 1)];
        assert_eq!(common_url_prefix(&files), "https://files.example/p/");
        files.push(file("demo-1.1.tar.gz", None, 2));
        assert_eq!(common_url_prefix(&files), "https://files.example/p/");
        files[1].url = Url::parse("https://files.example/pq/demo-1.1.tar.gz").unwrap();
        assert_eq!(common_url_prefix(&files), "https://files.example/");
        assert_eq!(common_url_prefix(&[]), "");
    }

    #[test]
    fn damaged_forms_are_refused_not_misread() {
        let bytes = encode(&[file("demo-1.0.tar.gz", None, 1)]);
        assert!(PageFiles::decode(bytes[..bytes.len() - 1].to_vec()).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(PageFiles::decode(longer).is_err());
        assert!(PageFiles::decode(b"{\"files\": []}".to_vec()).is_err());
        assert_eq!(PageFiles::decode(encode(&[])).unwrap().releases().len(), 0);
    }
}
