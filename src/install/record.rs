//! `RECORD`: the list of a wheel's files with their hashes and sizes.
//!
//! Input: the wheel's RECORD (CSV: `path,algorithm=urlsafe-b64-digest,size`).
//! Output: the rows by normalised path, and [`FileHasher`] to check streamed
//! bytes against a row. For the installed layout, [`render_record`] writes a
//! new RECORD. Invariant: only sha256, sha384 and sha512 are accepted, as the
//! wheel spec requires; a row without a hash is kept only for RECORD itself
//! and its signatures, which cannot hash themselves.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::Digest;

use super::archive::normalise_name;
use super::error::{InstallError, Refusal, Refuser};
use crate::hash::{Sha256, Sha256Hasher};

/// The hash algorithms a RECORD may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}

/// One RECORD row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RecordRow {
    /// The path as written in RECORD.
    pub raw_path: String,
    pub hash: Option<(Algorithm, Vec<u8>)>,
    pub size: Option<u64>,
}

/// Parse RECORD; `record_name` is the archive name of RECORD, for messages.
pub(super) fn parse_record(
    bytes: &[u8],
    record_name: &str,
    refuser: Refuser<'_>,
) -> Result<BTreeMap<String, RecordRow>, InstallError> {
    let invalid = |why: String| refuser.refuse(record_name, Refusal::Invalid(why));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows: BTreeMap<String, RecordRow> = BTreeMap::new();
    for (number, record) in reader.records().enumerate() {
        let line = number + 1;
        let record = record.map_err(|error| invalid(format!("line {line}: {error}")))?;
        let field = |index: usize| record.get(index).unwrap_or_default().trim();
        let raw_path = field(0);
        if raw_path.is_empty() {
            continue;
        }
        let path = normalise_name(raw_path).map_err(|reason| refuser.refuse(raw_path, reason))?;
        let hash = match field(1) {
            "" => None,
            hash => Some(
                parse_hash(hash)
                    .map_err(|why| refuser.refuse(raw_path, Refusal::UnhashedInRecord(why)))?,
            ),
        };
        let size = match field(2) {
            "" => None,
            size => Some(
                size.parse::<u64>()
                    .map_err(|_| invalid(format!("line {line}: `{size}` is not a size")))?,
            ),
        };
        let row = RecordRow {
            raw_path: raw_path.to_string(),
            hash,
            size,
        };
        if let Some(existing) = rows.get(&path) {
            if (&existing.hash, existing.size) != (&row.hash, row.size) {
                return Err(invalid(format!(
                    "line {line}: `{raw_path}` is listed twice with different hashes"
                )));
            }
            continue;
        }
        rows.insert(path, row);
    }
    Ok(rows)
}

fn parse_hash(raw: &str) -> Result<(Algorithm, Vec<u8>), String> {
    let (name, encoded) = raw
        .split_once('=')
        .ok_or_else(|| format!("`{raw}` is not `algorithm=digest`"))?;
    let algorithm = Algorithm::parse(name)
        .ok_or_else(|| format!("`{name}` is not sha256, sha384 or sha512"))?;
    let digest = URL_SAFE_NO_PAD
        .decode(encoded)
        .or_else(|_| URL_SAFE.decode(encoded))
        .map_err(|_| format!("`{encoded}` is not urlsafe base64"))?;
    Ok((algorithm, digest))
}

/// Hashes streamed bytes with sha256 (always, for the installed file list)
/// and with the algorithm RECORD uses for the entry.
pub(super) struct FileHasher {
    sha256: Sha256Hasher,
    other: Option<OtherHasher>,
}

enum OtherHasher {
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl FileHasher {
    pub fn new(row: Option<&RecordRow>) -> Self {
        let other = match row
            .and_then(|row| row.hash.as_ref())
            .map(|(algorithm, _)| *algorithm)
        {
            Some(Algorithm::Sha384) => Some(OtherHasher::Sha384(sha2::Sha384::new())),
            Some(Algorithm::Sha512) => Some(OtherHasher::Sha512(sha2::Sha512::new())),
            _ => None,
        };
        Self {
            sha256: Sha256Hasher::default(),
            other,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        match &mut self.other {
            Some(OtherHasher::Sha384(hasher)) => hasher.update(bytes),
            Some(OtherHasher::Sha512(hasher)) => hasher.update(bytes),
            None => {}
        }
    }

    /// The sha256, after checking the digest and size against `row`.
    pub fn finish(
        self,
        row: &RecordRow,
        size: u64,
        entry: &str,
        refuser: Refuser<'_>,
    ) -> Result<Sha256, InstallError> {
        let sha256 = self.sha256.finish();
        let Some((algorithm, expected)) = &row.hash else {
            return Err(refuser.refuse(entry, Refusal::UnhashedInRecord("no hash".into())));
        };
        let actual = match self.other {
            Some(OtherHasher::Sha384(hasher)) => hasher.finalize().to_vec(),
            Some(OtherHasher::Sha512(hasher)) => hasher.finalize().to_vec(),
            None => hex::decode(sha256.as_str()).unwrap_or_default(),
        };
        if actual != *expected {
            return Err(refuser.refuse(
                entry,
                Refusal::HashMismatch {
                    algorithm: algorithm.name().to_string(),
                    expected: URL_SAFE_NO_PAD.encode(expected),
                    actual: URL_SAFE_NO_PAD.encode(&actual),
                },
            ));
        }
        if let Some(recorded) = row.size.filter(|recorded| *recorded != size) {
            return Err(refuser.refuse(
                entry,
                Refusal::RecordSizeMismatch {
                    recorded,
                    actual: size,
                },
            ));
        }
        Ok(sha256)
    }
}

/// One row of a RECORD to write: a path relative to site-packages and,
/// unless the file cannot be hashed meaningfully, its sha256 and size.
pub(super) struct InstalledRow {
    pub path: String,
    pub hash: Option<(Sha256, u64)>,
}

/// Render RECORD rows (sorted by the caller) as pip would.
pub(super) fn render_record(rows: &[InstalledRow]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for row in rows {
        let (hash, size) = match &row.hash {
            Some((sha256, size)) => (
                format!(
                    "sha256={}",
                    URL_SAFE_NO_PAD.encode(hex::decode(sha256.as_str()).unwrap_or_default())
                ),
                size.to_string(),
            ),
            None => (String::new(), String::new()),
        };
        // Writing into a Vec cannot fail.
        let _ = writer.write_record([row.path.as_str(), hash.as_str(), size.as_str()]);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSER: Refuser<'static> = Refuser {
        wheel: "a-1-py3-none-any.whl",
    };

    #[test]
    fn parses_rows_and_quoted_paths() {
        let record = b"a/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\
\"a/with,comma.txt\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\
a-1.dist-info/RECORD,,\n";
        let rows = parse_record(record, "a-1.dist-info/RECORD", REFUSER).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows["a/with,comma.txt"].hash.is_some());
        assert_eq!(rows["a-1.dist-info/RECORD"].hash, None);
        let mut hasher = FileHasher::new(Some(&rows["a/__init__.py"]));
        hasher.update(b"");
        hasher
            .finish(&rows["a/__init__.py"], 0, "a/__init__.py", REFUSER)
            .unwrap();
    }

    #[test]
    fn refuses_weak_hashes() {
        let error = parse_record(b"a.py,md5=abc,1\n", "RECORD", REFUSER).unwrap_err();
        assert!(error.to_string().contains("`a.py`"), "{error}");
    }

    #[test]
    fn checks_sha512() {
        let digest = URL_SAFE_NO_PAD.encode(sha2::Sha512::digest(b"hello"));
        let record = format!("a.txt,sha512={digest},5\n");
        let rows = parse_record(record.as_bytes(), "RECORD", REFUSER).unwrap();
        let mut hasher = FileHasher::new(Some(&rows["a.txt"]));
        hasher.update(b"hello");
        assert!(hasher.finish(&rows["a.txt"], 5, "a.txt", REFUSER).is_ok());
        let mut hasher = FileHasher::new(Some(&rows["a.txt"]));
        hasher.update(b"hellO");
        assert!(hasher.finish(&rows["a.txt"], 5, "a.txt", REFUSER).is_err());
    }

    #[test]
    fn renders_like_pip() {
        let rows = [
            InstalledRow {
                path: "a.py".into(),
                hash: Some((Sha256::of_bytes(b""), 0)),
            },
            InstalledRow {
                path: "a,b.txt".into(),
                hash: None,
            },
        ];
        assert_eq!(
            String::from_utf8(render_record(&rows)).unwrap(),
            "a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\"a,b.txt\",,\n"
        );
    }
}
