//! SHA-256 digests as a newtype.
//!
//! Input: 64 hex characters (any case) or bytes to hash. Output: [`Sha256`],
//! always stored and displayed as lowercase hex, so it can be used as a cache
//! key and compared as a string.

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest;

/// A sha256 digest, lowercase hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(String);

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a sha256 digest")]
pub struct InvalidSha256(pub String);

impl crate::hint::Hint for InvalidSha256 {
    fn hint(&self) -> Option<String> {
        Some("a sha256 is 64 hexadecimal characters".to_string())
    }
}

impl Sha256 {
    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(hex::encode(sha2::Sha256::digest(bytes)))
    }

    /// The digest of everything `reader` yields.
    pub fn of_reader(mut reader: impl Read) -> std::io::Result<Self> {
        let mut hasher = Sha256Hasher::default();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = reader.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(hasher.finish())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest as its 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        // Always 64 hex characters, by construction.
        let _ = hex::decode_to_slice(&self.0, &mut bytes);
        bytes
    }

    /// The digest whose bytes are `bytes`.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(hex::encode(bytes))
    }
}

/// Incremental hashing for streamed downloads.
#[derive(Default)]
pub struct Sha256Hasher(sha2::Sha256);

impl Sha256Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Sha256 {
        Sha256(hex::encode(self.0.finalize()))
    }
}

impl FromStr for Sha256 {
    type Err = InvalidSha256;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if raw.len() == 64 && raw.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(InvalidSha256(raw.to_string()))
        }
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "sha256:{}", self.0)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// sha256 of the file at `path`, computed once per process for the same
/// file: several stages key their cache entries with a wheel's digest, and
/// rehashing tens of megabytes for each is measurable. A file replaced or
/// changed since (another inode, size or modification time) is hashed again.
pub fn file_digest(path: &std::path::Path) -> std::io::Result<Sha256> {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    type Identity = (std::path::PathBuf, u64, u64, u64, i64, i64);
    static DIGESTS: std::sync::LazyLock<std::sync::Mutex<HashMap<Identity, Sha256>>> =
        std::sync::LazyLock::new(Default::default);
    let metadata = std::fs::metadata(path)?;
    let identity = (
        path.to_path_buf(),
        metadata.dev(),
        metadata.ino(),
        metadata.size(),
        metadata.mtime(),
        metadata.mtime_nsec(),
    );
    let known = DIGESTS
        .lock()
        .ok()
        .and_then(|digests| digests.get(&identity).cloned());
    if let Some(digest) = known {
        return Ok(digest);
    }
    let digest = Sha256::of_reader(std::fs::File::open(path)?)?;
    if let Ok(mut digests) = DIGESTS.lock() {
        digests.insert(identity, digest.clone());
    }
    Ok(digest)
}

/// sha256 of the running `vendor` binary, computed once: results that
/// depend on vendor's own code (kept RPMs, passed verifications) are keyed
/// with it, so another build of vendor never reuses them.
pub fn executable_digest() -> &'static str {
    static DIGEST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIGEST.get_or_init(|| {
        std::env::current_exe()
            .and_then(std::fs::File::open)
            .and_then(Sha256::of_reader)
            .map(|digest| digest.as_str().to_string())
            .unwrap_or_else(|_| format!("unknown-{}", std::process::id()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_parses() {
        let digest = Sha256::of_bytes(b"abc");
        assert_eq!(
            digest.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let upper: Sha256 = digest.as_str().to_uppercase().parse().unwrap();
        assert_eq!(upper, digest);
        assert!("xyz".parse::<Sha256>().is_err());
        assert_eq!(Sha256::of_reader(&b"abc"[..]).unwrap(), digest);
    }

    #[test]
    fn file_digest_follows_changes() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("file");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(file_digest(&path).unwrap(), Sha256::of_bytes(b"abc"));
        assert_eq!(file_digest(&path).unwrap(), Sha256::of_bytes(b"abc"));
        // A new file at the same path (another inode and size).
        let replacement = folder.path().join("replacement");
        std::fs::write(&replacement, b"abcd").unwrap();
        std::fs::rename(&replacement, &path).unwrap();
        assert_eq!(file_digest(&path).unwrap(), Sha256::of_bytes(b"abcd"));
    }
}
