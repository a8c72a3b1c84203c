//! `--find-links` locations → [`IndexFile`]s.
//!
//! Input: a location as the user wrote it: a folder (path or `file://` URL),
//! a local HTML file, or an `http(s)` URL of an HTML page of links. Output:
//! every wheel and sdist found there, of all projects (the client filters by
//! name).
//!
//! Invariants: local files get a `file://` URL and their sha256, computed
//! once per (path, modification time, size) and remembered in the cache;
//! only the folder itself is listed, not its sub-folders (like pip).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use url::Url;

use super::error::IndexError;
use super::simple::new_index_file;
use super::IndexFile;
use crate::cache::{sharded_key, Bucket, Cache};
use crate::hash::Sha256;

/// A parsed find-links location.
#[derive(Clone, Debug)]
pub(crate) enum FindLinks {
    /// A folder or HTML file on this machine.
    Local(PathBuf),
    /// An HTML page on a server (credentials stripped; they live in `Credentials`).
    Remote(Url),
}

impl FindLinks {
    /// Parse `raw`; also returns the URL as written (credentials included),
    /// so that its login can be registered.
    pub fn parse(raw: &str) -> Result<(Self, Option<Url>), IndexError> {
        let invalid = |reason: String| IndexError::InvalidFindLinks {
            location: super::credentials::redact(raw),
            reason,
        };
        match Url::parse(raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok((
                Self::Remote(super::credentials::strip_credentials(&url)),
                Some(url),
            )),
            Ok(url) if url.scheme() == "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| invalid("not a local path".into()))?;
                Ok((Self::Local(path), None))
            }
            // Anything else (including `C:\…`-like strings) is a path.
            _ => Ok((Self::Local(PathBuf::from(raw)), None)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Local(path) => path.display().to_string(),
            Self::Remote(url) => url.to_string(),
        }
    }
}

/// Every distribution file in the local folder `folder`.
pub(crate) fn list_folder(folder: &Path, cache: &Cache) -> Result<Vec<IndexFile>, IndexError> {
    let entries = std::fs::read_dir(folder).map_err(|error| IndexError::InvalidFindLinks {
        location: folder.display().to_string(),
        reason: error.to_string(),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| IndexError::io(folder, error))?;
        let path = entry.path();
        let Some(filename) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let metadata = entry
            .metadata()
            .map_err(|error| IndexError::io(&path, error))?;
        if !metadata.is_file() {
            continue;
        }
        let absolute =
            std::fs::canonicalize(&path).map_err(|error| IndexError::io(&path, error))?;
        let Ok(url) = Url::from_file_path(&absolute) else {
            continue;
        };
        let Some(mut file) = new_index_file(filename, url) else {
            continue;
        };
        file.size = Some(metadata.len());
        file.sha256 = Some(local_digest(&absolute, &metadata, cache)?);
        files.push(file);
    }
    files.sort_by(|left, right| left.filename.as_str().cmp(right.filename.as_str()));
    Ok(files)
}

/// The sha256 of a local file, remembered by (path, mtime, size).
fn local_digest(
    path: &Path,
    metadata: &std::fs::Metadata,
    cache: &Cache,
) -> Result<Sha256, IndexError> {
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |duration| duration.as_nanos());
    let identity = format!("{}\n{modified}\n{}", path.display(), metadata.len());
    let key = Sha256::of_bytes(identity.as_bytes());
    let key = format!("find-links/{}", sharded_key(&key));
    if let Some(digest) = cache
        .read_entry(Bucket::Index, &key)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.trim().parse::<Sha256>().ok())
    {
        return Ok(digest);
    }
    let file = std::fs::File::open(path).map_err(|error| IndexError::io(path, error))?;
    let digest = Sha256::of_reader(std::io::BufReader::new(file))
        .map_err(|error| IndexError::io(path, error))?;
    cache.write_entry(Bucket::Index, &key, digest.as_str().as_bytes())?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_folder_with_digests() {
        let folder = tempfile::tempdir().unwrap();
        let cache_folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(cache_folder.path()).unwrap();
        std::fs::write(folder.path().join("demo-1.0-py3-none-any.whl"), b"wheel").unwrap();
        std::fs::write(folder.path().join("demo-1.0.tar.gz"), b"sdist").unwrap();
        std::fs::write(folder.path().join("README.txt"), b"not a dist").unwrap();
        std::fs::create_dir(folder.path().join("sub")).unwrap();
        std::fs::write(folder.path().join("sub/other-1.0.tar.gz"), b"hidden").unwrap();

        let files = list_folder(folder.path(), &cache).unwrap();
        let names: Vec<&str> = files.iter().map(|file| file.filename.as_str()).collect();
        assert_eq!(names, ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]);
        assert_eq!(files[0].sha256, Some(Sha256::of_bytes(b"wheel")));
        assert_eq!(files[0].size, Some(5));
        assert_eq!(files[0].url.scheme(), "file");
        assert!(files[0].index.is_none());
        // The second listing is served from the remembered digests.
        assert_eq!(
            list_folder(folder.path(), &cache).unwrap()[1].sha256,
            files[1].sha256
        );
        assert!(list_folder(&folder.path().join("missing"), &cache).is_err());
    }

    #[test]
    fn parses_locations() {
        let (remote, with_login) = FindLinks::parse("https://u:p@example.com/links/").unwrap();
        assert!(
            matches!(&remote, FindLinks::Remote(url) if url.as_str() == "https://example.com/links/")
        );
        assert_eq!(with_login.unwrap().username(), "u");
        assert!(
            matches!(FindLinks::parse("wheels").unwrap().0, FindLinks::Local(path) if path == Path::new("wheels"))
        );
        assert!(
            matches!(FindLinks::parse("file:///srv/wheels").unwrap().0, FindLinks::Local(path) if path == Path::new("/srv/wheels"))
        );
    }
}
