//! Reading a wheel's `METADATA`, from a whole file or from byte ranges.
//!
//! Input: a wheel as a `Read + Seek` (a file in the cache or on disk), or a
//! [`SparseZip`]: the wheel's length plus whichever byte ranges were fetched
//! so far. Output: the text of `<name>-<version>.dist-info/METADATA`.
//!
//! Invariant: the `zip` crate does the parsing either way; reading a
//! [`SparseZip`] never guesses: a read of bytes not fetched fails and
//! records which range is needed ([`SparseZip::missing`]), so the caller can
//! fetch exactly that and try again.

use std::io::{self, Read, Seek, SeekFrom};

use crate::filename::WheelFilename;
use crate::name::PackageName;

/// Why METADATA could not be read.
#[derive(Debug)]
pub enum WheelReadError {
    /// Bytes `start..start + length` are needed first (sparse reads only).
    Missing {
        start: u64,
        length: u64,
    },
    Invalid(String),
}

/// Read `METADATA` from a whole wheel.
pub fn read_metadata<R: Read + Seek>(reader: R, wheel: &WheelFilename) -> Result<String, String> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|error| error.to_string())?;
    let name = metadata_entry_name(archive.file_names(), &wheel.name)
        .ok_or_else(|| "the wheel has no `*.dist-info/METADATA`".to_string())?;
    let mut entry = archive.by_name(&name).map_err(|error| error.to_string())?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read `{name}`: {error}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Read `METADATA` from the ranges fetched so far.
pub fn read_sparse_metadata(
    sparse: &mut SparseZip,
    wheel: &WheelFilename,
) -> Result<String, WheelReadError> {
    sparse.missing = None;
    sparse.position = 0;
    let result = read_metadata(&mut *sparse, wheel);
    match (result, sparse.missing) {
        (Ok(text), _) => Ok(text),
        (Err(_), Some((start, length))) => Err(WheelReadError::Missing { start, length }),
        (Err(reason), None) => Err(WheelReadError::Invalid(reason)),
    }
}

/// The top-level `<x>.dist-info/METADATA` whose `<x>` names `package`
/// (falling back to the only one there is).
fn metadata_entry_name<'a>(
    names: impl Iterator<Item = &'a str>,
    package: &PackageName,
) -> Option<String> {
    let candidates: Vec<&str> = names
        .filter(|name| name.split('/').count() == 2 && name.ends_with(".dist-info/METADATA"))
        .collect();
    let matching = candidates.iter().find(|name| {
        let folder = name.trim_end_matches(".dist-info/METADATA");
        let distribution = folder.split('-').next().unwrap_or(folder);
        PackageName::new(distribution.to_string()).is_ok_and(|name| &name == package)
    });
    match (matching, candidates.as_slice()) {
        (Some(name), _) => Some(name.to_string()),
        (None, [only]) => Some(only.to_string()),
        _ => None,
    }
}

/// A file of known length of which only some byte ranges are present.
#[derive(Debug)]
pub struct SparseZip {
    length: u64,
    /// `(start, bytes)`, non-overlapping.
    chunks: Vec<(u64, Vec<u8>)>,
    position: u64,
    /// The first read that fell outside every chunk.
    missing: Option<(u64, u64)>,
}

impl SparseZip {
    pub fn new(length: u64) -> Self {
        Self {
            length,
            chunks: Vec::new(),
            position: 0,
            missing: None,
        }
    }

    /// Add `bytes` found at `start`; parts already present are dropped so
    /// chunks never overlap.
    pub fn insert(&mut self, start: u64, bytes: Vec<u8>) {
        let mut start = start;
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() {
            let length = rest.len() as u64;
            let take = match self.covered_prefix(start, length) {
                Some(covered) => {
                    let skip = covered.min(length);
                    rest = &rest[skip as usize..];
                    start += skip;
                    continue;
                }
                None => self
                    .next_chunk_start(start)
                    .map_or(length, |next| (next - start).min(length)),
            };
            self.chunks.push((start, rest[..take as usize].to_vec()));
            rest = &rest[take as usize..];
            start += take;
        }
    }

    fn next_chunk_start(&self, position: u64) -> Option<u64> {
        self.chunks
            .iter()
            .map(|(chunk_start, _)| *chunk_start)
            .filter(|chunk_start| *chunk_start > position)
            .min()
    }

    /// How many bytes from `start` an existing chunk already holds.
    fn covered_prefix(&self, start: u64, length: u64) -> Option<u64> {
        if length == 0 {
            return None;
        }
        self.chunks.iter().find_map(|(chunk_start, chunk)| {
            let chunk_end = chunk_start + chunk.len() as u64;
            (*chunk_start <= start && start < chunk_end).then(|| chunk_end - start)
        })
    }

    /// The range to request for a miss at `start..start + length`: at least
    /// `minimum` bytes, not past the end, not into the next chunk; a miss in
    /// the central directory asks for the rest of it at once (the `zip`
    /// crate reads it entry by entry: a wheel of thousands of files, as
    /// Django's, took eight round trips).
    pub fn range_for_miss(&self, start: u64, length: u64, minimum: u64) -> (u64, u64) {
        let next = self.next_chunk_start(start).unwrap_or(self.length);
        let wanted = match self.central_directory() {
            Some((offset, size)) if (offset..offset + size).contains(&start) => {
                (offset + size - start).max(length).max(minimum)
            }
            _ => length.max(minimum),
        };
        let end = (start + wanted).min(next).min(self.length);
        (start, end.max(start + 1).min(self.length))
    }

    /// Where the central directory lies (`(offset, size)`), from the
    /// end-of-central-directory record in the chunk that ends the file;
    /// `None` when that chunk does not hold the record, or the archive is
    /// ZIP64 (then misses are fetched as they come).
    fn central_directory(&self) -> Option<(u64, u64)> {
        const SIGNATURE: &[u8] = b"PK\x05\x06";
        const RECORD: usize = 22;
        let (start, tail) = self
            .chunks
            .iter()
            .find(|(start, chunk)| start + chunk.len() as u64 == self.length)?;
        let position = (0..=tail.len().checked_sub(RECORD)?)
            .rev()
            .find(|&position| {
                let record = &tail[position..];
                let comment = u16::from_le_bytes([record[20], record[21]]) as usize;
                record.starts_with(SIGNATURE) && record.len() == RECORD + comment
            })?;
        let field = |at: usize| u32::from_le_bytes(tail[at..at + 4].try_into().unwrap_or_default());
        let (size, offset) = (field(position + 12), field(position + 16));
        let end = u64::from(offset) + u64::from(size);
        let valid = size != u32::MAX && offset != u32::MAX && end <= start + position as u64;
        valid.then_some((u64::from(offset), u64::from(size)))
    }
}

impl Read for SparseZip {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if buffer.is_empty() || self.position >= self.length {
            return Ok(0);
        }
        let position = self.position;
        let found = self
            .chunks
            .iter()
            .find(|(start, chunk)| *start <= position && position < start + chunk.len() as u64);
        let Some((start, chunk)) = found else {
            if self.missing.is_none() {
                self.missing = Some((position, buffer.len() as u64));
            }
            return Err(io::Error::other("byte range not fetched yet"));
        };
        let offset = usize::try_from(position - start).unwrap_or(usize::MAX);
        let available = &chunk[offset..];
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.position += count as u64;
        Ok(count)
    }
}

impl Seek for SparseZip {
    fn seek(&mut self, target: SeekFrom) -> io::Result<u64> {
        let position = match target {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(offset) => self.length.checked_add_signed(offset),
            SeekFrom::Current(offset) => self.position.checked_add_signed(offset),
        };
        self.position = position
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.position)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A small wheel whose METADATA is `metadata`, padded with `padding`
    /// bytes of incompressible data before it so range reads matter.
    pub(crate) fn build_wheel(metadata: &str, padding: usize) -> Vec<u8> {
        let mut buffer = io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut buffer);
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            writer.start_file("demo/__init__.py", stored).unwrap();
            let mut state = 0x2545_f491_u32;
            let noise: Vec<u8> = (0..padding)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            writer.write_all(&noise).unwrap();
            let deflated = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            writer
                .start_file("demo-1.0.dist-info/METADATA", deflated)
                .unwrap();
            writer.write_all(metadata.as_bytes()).unwrap();
            writer
                .start_file("demo-1.0.dist-info/RECORD", deflated)
                .unwrap();
            writer.finish().unwrap();
        }
        buffer.into_inner()
    }

    /// Read `demo`'s METADATA from `sparse`, fetching each miss from
    /// `wheel_bytes` as the index client would; the text and the fetches.
    fn read_fetching(sparse: &mut SparseZip, wheel_bytes: &[u8], minimum: u64) -> (String, usize) {
        let filename: WheelFilename = "demo-1.0-py3-none-any.whl".parse().unwrap();
        let mut fetches = 0;
        loop {
            match read_sparse_metadata(sparse, &filename) {
                Ok(text) => return (text, fetches),
                Err(WheelReadError::Missing { start, length }) => {
                    fetches += 1;
                    assert!(fetches < 20, "the reads do not converge");
                    let (start, end) = sparse.range_for_miss(start, length, minimum);
                    sparse.insert(start, wheel_bytes[start as usize..end as usize].to_vec());
                }
                Err(WheelReadError::Invalid(reason)) => panic!("{reason}"),
            }
        }
    }

    #[test]
    fn reads_whole_and_sparse_wheels() {
        let metadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";
        let wheel_bytes = build_wheel(metadata, 300_000);
        let filename: WheelFilename = "demo-1.0-py3-none-any.whl".parse().unwrap();
        assert_eq!(
            read_metadata(io::Cursor::new(&wheel_bytes), &filename).unwrap(),
            metadata
        );

        let mut sparse = SparseZip::new(wheel_bytes.len() as u64);
        let tail = wheel_bytes.len() - 1000;
        sparse.insert(tail as u64, wheel_bytes[tail..].to_vec());
        let (text, fetches) = read_fetching(&mut sparse, &wheel_bytes, 4096);
        assert!(fetches < 5, "{fetches} fetches");
        assert_eq!(text, metadata);
        let fetched: usize = sparse.chunks.iter().map(|(_, chunk)| chunk.len()).sum();
        assert!(fetched < 20_000, "fetched {fetched} bytes");
    }

    /// A wheel of thousands of files (Django's has about 2,800): its
    /// central directory is several times one range request.
    #[test]
    fn a_large_central_directory_is_fetched_in_one_request() {
        let metadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";
        let mut buffer = io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut buffer);
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            for number in 0..5000 {
                writer
                    .start_file(format!("demo/locale/module_{number:05}.py"), stored)
                    .unwrap();
                writer.write_all(b"x = 1\n").unwrap();
            }
            writer
                .start_file("demo-1.0.dist-info/METADATA", stored)
                .unwrap();
            writer.write_all(metadata.as_bytes()).unwrap();
            writer.finish().unwrap();
        }
        let wheel_bytes = buffer.into_inner();
        let chunk = 64 * 1024;
        let mut sparse = SparseZip::new(wheel_bytes.len() as u64);
        let tail = wheel_bytes.len() - chunk;
        sparse.insert(tail as u64, wheel_bytes[tail..].to_vec());
        let (text, fetches) = read_fetching(&mut sparse, &wheel_bytes, chunk as u64);
        assert_eq!(text, metadata);
        // The rest of the central directory, then the METADATA entry.
        assert!(fetches <= 2, "{fetches} fetches");
    }

    #[test]
    fn sparse_chunks_never_overlap() {
        let mut sparse = SparseZip::new(100);
        sparse.insert(10, vec![1; 10]);
        sparse.insert(5, vec![2; 30]);
        sparse.insert(12, vec![3; 3]);
        let mut all = [0u8; 100];
        for (start, chunk) in &sparse.chunks {
            for (offset, byte) in chunk.iter().enumerate() {
                assert_eq!(
                    all[*start as usize + offset],
                    0,
                    "overlap at {start}+{offset}"
                );
                all[*start as usize + offset] = *byte;
            }
        }
        assert_eq!(&all[5..10], &[2; 5]);
        assert_eq!(&all[10..20], &[1; 10]);
        assert_eq!(&all[20..35], &[2; 15]);
        assert_eq!(sparse.range_for_miss(0, 1, 64), (0, 5));
        assert_eq!(sparse.range_for_miss(90, 1, 64), (90, 100));
    }

    #[test]
    fn finds_the_right_dist_info() {
        let package = PackageName::new("foo-bar".into()).unwrap();
        let names = [
            "foo_bar/__init__.py",
            "other-1.0.dist-info/METADATA",
            "foo_bar-1.0.dist-info/METADATA",
            "nested/x.dist-info/METADATA",
        ];
        assert_eq!(
            metadata_entry_name(names.into_iter(), &package).as_deref(),
            Some("foo_bar-1.0.dist-info/METADATA")
        );
        assert!(metadata_entry_name(["a/b.py"].into_iter(), &package).is_none());
    }
}
