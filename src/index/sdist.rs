//! Metadata of a source distribution, without building it.
//!
//! Input: an sdist file on disk (`.tar.gz` or `.zip`). Output: an
//! [`SdistMetadata`]: the top-level `PKG-INFO` when it is static (Metadata-Version
//! 2.2+ with `Requires-Dist` / `Requires-Python` not `Dynamic`); else, for
//! setuptools sdists written before 2.2, `PKG-INFO` plus
//! `*.egg-info/requires.txt` unless `setup.py` passes requirements and asks
//! which interpreter or platform it runs on (then `requires.txt` holds what it
//! computed on the machine that made the sdist); else "needs the PEP 517
//! hook".
//!
//! Invariant: only the few small files named above are read into memory;
//! nothing is extracted to disk and nothing is executed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::egg_info::parse_requires_txt;
use super::metadata::{CoreMetadata, Headers};
use crate::filename::{SdistExtension, SdistFilename};

/// What the sdist says about its dependencies.
#[derive(Debug)]
pub enum SdistMetadata {
    /// Static metadata, as text (cacheable as is).
    Static(String),
    /// Assembled from `PKG-INFO` and `requires.txt`.
    EggInfo(CoreMetadata),
    /// Only running the build backend can tell.
    NeedsBuild,
}

#[derive(Debug, thiserror::Error)]
pub enum SdistError {
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

/// Read the metadata of the sdist at `path`.
pub fn read_sdist_metadata(
    path: &Path,
    sdist: &SdistFilename,
) -> Result<SdistMetadata, SdistError> {
    let files = read_sdist_files(path, sdist.extension, &is_relevant)?;
    decide(&files, sdist)
}

/// The text of the files of the sdist at `path` whose path below the top
/// folder satisfies `wanted` (the first copy of a repeated path wins).
pub(crate) fn read_sdist_files(
    path: &Path,
    extension: SdistExtension,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<SdistFiles, SdistError> {
    match extension {
        SdistExtension::TarGz => read_tar_gz(path, wanted),
        SdistExtension::Zip => read_zip(path, wanted),
        SdistExtension::TarBz2 | SdistExtension::TarXz => Err(SdistError::Unsupported(
            "only `.tar.gz` and `.zip` sdists can be read".into(),
        )),
    }
}

/// Relevant files, keyed by their path below the top folder
/// (`PKG-INFO`, `foo.egg-info/requires.txt`, `src/foo.egg-info/PKG-INFO`).
pub(crate) type SdistFiles = BTreeMap<String, String>;

fn decide(files: &SdistFiles, sdist: &SdistFilename) -> Result<SdistMetadata, SdistError> {
    let top = files
        .get("PKG-INFO")
        .map(|text| (text, Headers::parse(text)));
    if let Some((text, headers)) = &top {
        if headers.has_static_dependencies() {
            return Ok(SdistMetadata::Static(text.to_string()));
        }
        if headers
            .metadata_version()
            .is_some_and(|version| version >= (2, 2))
        {
            // Modern metadata that says its dependencies are dynamic.
            return Ok(SdistMetadata::NeedsBuild);
        }
    }
    let Some(egg_info) = egg_info_folder(files, sdist) else {
        return Ok(SdistMetadata::NeedsBuild);
    };
    if files
        .get("setup.py")
        .is_some_and(|setup| looks_at_the_interpreter(setup))
    {
        // `requires.txt` says what `setup.py` computed on the machine that
        // made the sdist (`enum34` added there for a Python before 3.4).
        return Ok(SdistMetadata::NeedsBuild);
    }
    let headers = files
        .get(&format!("{egg_info}/PKG-INFO"))
        .map(|text| Headers::parse(text))
        .or(top.map(|(_, headers)| headers))
        .ok_or_else(|| SdistError::Invalid("no `PKG-INFO` in the sdist".into()))?;
    let mut metadata = CoreMetadata::from_headers(&headers.without("requires-dist"))
        .map_err(SdistError::Invalid)?;
    // setuptools leaves `requires.txt` out when there are no requirements.
    let requires = match files.get(&format!("{egg_info}/requires.txt")) {
        Some(text) => parse_requires_txt(text)
            .map_err(|reason| SdistError::Invalid(format!("`{egg_info}/requires.txt` {reason}")))?,
        None => Default::default(),
    };
    metadata.requires_dist = requires.requires_dist;
    for extra in requires.provides_extras {
        if !metadata.provides_extras.contains(&extra) {
            metadata.provides_extras.push(extra);
        }
    }
    Ok(SdistMetadata::EggInfo(metadata))
}

/// What a `setup.py` spells when it asks which interpreter or platform it
/// runs on, as one that computes its requirements from them must.
/// (`platforms=` alone, a `setup()` keyword of old sdists, asks nothing.)
const INTERPRETER_QUESTIONS: &[&str] = &[
    "sys.version",
    "version_info",
    "hexversion",
    "sys.platform",
    "platform.",
    "import platform",
    "implementation",
    "os.name",
    "PY2",
    "PY3",
];

/// Whether `setup.py` passes requirements and asks about the interpreter
/// or platform: then its `requires.txt` may hold the answer for the machine
/// that made the sdist, not for the target, and only the backend can tell.
/// A `setup.py` that passes none (psycopg2's asks about the platform only
/// to configure its build) leaves `requires.txt` to `setup.cfg`, which is
/// static.
fn looks_at_the_interpreter(setup: &str) -> bool {
    let passes_requirements = ["install_requires", "extras_require"]
        .iter()
        .any(|keyword| setup.contains(keyword));
    passes_requirements
        && INTERPRETER_QUESTIONS
            .iter()
            .any(|question| setup.contains(question))
}

/// The `*.egg-info` folder (top level or under `src/`) of this package.
fn egg_info_folder(files: &SdistFiles, sdist: &SdistFilename) -> Option<String> {
    let mut folders: Vec<&str> = files
        .keys()
        .filter_map(|path| path.rsplit_once('/').map(|(folder, _)| folder))
        .filter(|folder| folder.ends_with(".egg-info"))
        .collect();
    folders.dedup();
    let names_package = |folder: &&&str| {
        let stem = folder.rsplit('/').next().unwrap_or(folder);
        let stem = stem.trim_end_matches(".egg-info");
        crate::name::PackageName::new(stem.to_string()).is_ok_and(|name| name == sdist.name)
    };
    folders
        .iter()
        .find(names_package)
        .or(folders.first())
        .map(|folder| folder.to_string())
}

/// Whether `relative` (the path below the top folder) is a file we read.
fn is_relevant(relative: &str) -> bool {
    let parts: Vec<&str> = relative.split('/').collect();
    match parts.as_slice() {
        ["PKG-INFO" | "setup.py"] => true,
        [folder, "PKG-INFO" | "requires.txt"] => folder.ends_with(".egg-info"),
        ["src", folder, "PKG-INFO" | "requires.txt"] => folder.ends_with(".egg-info"),
        _ => false,
    }
}

/// `top/rest` → `rest` (ignoring a leading `./`).
fn below_top(path: &str) -> Option<&str> {
    let path = path.trim_start_matches("./");
    path.split_once('/').map(|(_, rest)| rest)
}

fn read_tar_gz(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<SdistFiles, SdistError> {
    let invalid =
        |error: std::io::Error| SdistError::Invalid(format!("cannot read the archive: {error}"));
    let file = std::fs::File::open(path).map_err(invalid)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = SdistFiles::new();
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let entry_path = entry
            .path()
            .map_err(invalid)?
            .to_string_lossy()
            .into_owned();
        let Some(relative) = below_top(&entry_path).filter(|relative| wanted(relative)) else {
            continue;
        };
        let relative = relative.to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(invalid)?;
        files
            .entry(relative)
            .or_insert_with(|| String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(files)
}

fn read_zip(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<SdistFiles, SdistError> {
    let invalid = |error: &dyn std::fmt::Display| {
        SdistError::Invalid(format!("cannot read the archive: {error}"))
    };
    let file = std::fs::File::open(path).map_err(|error| invalid(&error))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| invalid(&error))?;
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    let mut files = SdistFiles::new();
    for name in names {
        let Some(relative) = below_top(&name).filter(|relative| wanted(relative)) else {
            continue;
        };
        let mut bytes = Vec::new();
        archive
            .by_name(&name)
            .map_err(|error| invalid(&error))?
            .read_to_end(&mut bytes)
            .map_err(|error| invalid(&error))?;
        files
            .entry(relative.to_string())
            .or_insert_with(|| String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(files)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `.tar.gz` sdist with `files` (paths below the top folder).
    pub(crate) fn build_sdist(top: &str, files: &[(&str, &str)]) -> Vec<u8> {
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(encoder);
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, format!("{top}/{path}"), text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn read(files: &[(&str, &str)]) -> SdistMetadata {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("demo-1.0.tar.gz");
        std::fs::write(&path, build_sdist("demo-1.0", files)).unwrap();
        read_sdist_metadata(&path, &"demo-1.0.tar.gz".parse().unwrap()).unwrap()
    }

    #[test]
    fn static_pkg_info_is_used_as_is() {
        let pkg_info = "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: six\n";
        match read(&[("PKG-INFO", pkg_info), ("setup.py", "raise SystemExit")]) {
            SdistMetadata::Static(text) => assert_eq!(text, pkg_info),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn old_setuptools_sdists_use_egg_info() {
        let pkg_info = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Python: >=3.7\n";
        let requires = "six>=1.0\n\n[postgres]\npsycopg2\n";
        let outcome = read(&[
            ("PKG-INFO", pkg_info),
            ("demo.egg-info/PKG-INFO", pkg_info),
            ("demo.egg-info/requires.txt", requires),
        ]);
        let SdistMetadata::EggInfo(metadata) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(metadata.requires_dist.len(), 2);
        assert_eq!(
            metadata.requires_dist[1].to_string(),
            "psycopg2 ; extra == 'postgres'"
        );
        assert_eq!(metadata.provides_extras[0].as_ref(), "postgres");
        assert_eq!(metadata.requires_python.unwrap().to_string(), ">=3.7");

        // An egg-info folder without requires.txt means no requirements.
        let outcome = read(&[
            ("PKG-INFO", pkg_info),
            ("src/demo.egg-info/PKG-INFO", pkg_info),
        ]);
        assert!(
            matches!(outcome, SdistMetadata::EggInfo(metadata) if metadata.requires_dist.is_empty())
        );
    }

    #[test]
    fn egg_info_of_a_setup_py_that_asks_about_the_interpreter_is_not_trusted() {
        let pkg_info = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";
        // python-u2flib-server 5.0.1: `requires.txt` was written on Python 2.
        let asking = "import sys\ninstall_requires = ['six']\n\
                      if sys.version_info < (3, 4):\n    install_requires.append('enum34')\n";
        let plain =
            "from setuptools import setup\nsetup(install_requires=['six'], platforms='any')\n";
        let with_setup = |setup| {
            read(&[
                ("PKG-INFO", pkg_info),
                ("setup.py", setup),
                ("demo.egg-info/PKG-INFO", pkg_info),
                ("demo.egg-info/requires.txt", "six\nenum34\n"),
            ])
        };
        assert!(matches!(with_setup(asking), SdistMetadata::NeedsBuild));
        let platform = "import platform\nextras_require = {}\n\
                        if platform.system() == 'Windows': extras_require['win'] = ['pywin32']\n";
        assert!(matches!(with_setup(platform), SdistMetadata::NeedsBuild));
        assert!(matches!(with_setup(plain), SdistMetadata::EggInfo(_)));
        // Asking only to configure the build: `requires.txt` is trusted.
        let configuring = "import sys\nif sys.platform == 'win32': pass\nsetup(name='demo')\n";
        assert!(matches!(with_setup(configuring), SdistMetadata::EggInfo(_)));
    }

    #[test]
    fn dynamic_or_bare_sdists_need_a_build() {
        let dynamic = "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nDynamic: Requires-Dist\n";
        assert!(matches!(
            read(&[("PKG-INFO", dynamic), ("demo.egg-info/PKG-INFO", dynamic)]),
            SdistMetadata::NeedsBuild
        ));
        let old = "Metadata-Version: 1.0\nName: demo\nVersion: 1.0\n";
        assert!(matches!(
            read(&[("PKG-INFO", old)]),
            SdistMetadata::NeedsBuild
        ));
    }
}
