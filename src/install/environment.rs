//! Virtual environments on the build host, made by us (not `python -m venv`).
//!
//! Input: the build host's interpreter of some Python X.Y and a folder.
//! Output: a [`PythonEnvironment`] at that folder: `pyvenv.cfg` (`home`,
//! `include-system-site-packages = false`, `version`), `bin/python`,
//! `bin/python3` and `bin/pythonX.Y` linking to the interpreter, and an empty
//! `lib/pythonX.Y/site-packages`, into which [`PythonEnvironment::install_wheels`]
//! installs wheels with our own installer.
//!
//! Invariants: the environment sees no site-packages but its own (build
//! environments and verification must not pick up whatever the host has);
//! wheels are installed at the environment's real path, so console-script
//! launchers run the environment's `bin/python`; no byte-code is written
//! (these environments are short-lived).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::io_error;
use super::{install_wheel_in_place, InstallError, InstallOptions, InstallScheme};

/// A virtual environment on this host.
#[derive(Clone, Debug)]
pub struct PythonEnvironment {
    root: PathBuf,
    scheme: InstallScheme,
}

impl PythonEnvironment {
    /// Make a virtual environment at `root` (created if needed; it should be
    /// empty) for `interpreter`, which must be CPython `python_version`.
    pub fn create(
        interpreter: &Path,
        python_version: (u64, u64),
        root: &Path,
    ) -> Result<Self, InstallError> {
        let full_version = interpreter_version(interpreter, python_version)?;
        fs::create_dir_all(root).map_err(io_error("create", root))?;
        let root = fs::canonicalize(root).map_err(io_error("resolve", root))?;
        let scheme = InstallScheme::new(&root, python_version);
        let bin = scheme.scripts();
        fs::create_dir_all(&bin).map_err(io_error("create", &bin))?;
        let site_packages = scheme.site_packages();
        fs::create_dir_all(&site_packages).map_err(io_error("create", &site_packages))?;
        let (major, minor) = python_version;
        for name in [
            "python".to_string(),
            "python3".to_string(),
            format!("python{major}.{minor}"),
        ] {
            let link = bin.join(name);
            std::os::unix::fs::symlink(interpreter, &link)
                .map_err(io_error("create the link", &link))?;
        }
        // `home` is where Python looks for its standard library from a venv.
        let home = interpreter.parent().unwrap_or(Path::new("/"));
        let config = format!(
            "home = {}\ninclude-system-site-packages = false\nversion = {full_version}\n",
            home.display()
        );
        let config_path = root.join("pyvenv.cfg");
        fs::write(&config_path, config).map_err(io_error("write", &config_path))?;
        Ok(Self { root, scheme })
    }

    /// Install `wheels` (their hashes already checked) with our installer.
    pub fn install_wheels(&self, wheels: &[PathBuf]) -> Result<(), InstallError> {
        let options = InstallOptions {
            installer: "vendor".to_string(),
            compile_bytecode: None,
        };
        for wheel in wheels {
            install_wheel_in_place(wheel, &self.scheme, &options)?;
        }
        Ok(())
    }

    /// Make `directories` (installed trees' site-packages, e.g. from
    /// [`super::cached`]) part of the environment without copying them: a
    /// `.pth` file adds each as a site directory, so their own `.pth` files
    /// are processed too, as if the packages were installed here.
    pub fn add_site_directories(&self, directories: &[PathBuf]) -> Result<(), InstallError> {
        let mut text = String::new();
        for directory in directories {
            // A JSON string is a valid Python string literal.
            let literal = serde_json::to_string(&directory.to_string_lossy())
                .expect("a string always serializes");
            text.push_str(&format!("import site; site.addsitedir({literal})\n"));
        }
        let path = self.site_packages().join("_vendor_site_directories.pth");
        fs::write(&path, text).map_err(io_error("write", &path))
    }

    /// `bin/python` of the environment.
    pub fn python(&self) -> PathBuf {
        self.scheme.interpreter()
    }

    pub fn site_packages(&self) -> PathBuf {
        self.scheme.site_packages()
    }

    /// The environment's folder (absolute, links resolved).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The environment's Python `(major, minor)`.
    pub fn python_version(&self) -> (u64, u64) {
        self.scheme.python_version
    }
}

/// `X.Y.Z` of `interpreter`, checking that it is CPython `python_version`.
/// Answers are remembered per interpreter path for the life of the process:
/// a lock or build makes several environments over the same interpreter,
/// and each question costs an interpreter start.
pub fn interpreter_version(
    interpreter: &Path,
    python_version: (u64, u64),
) -> Result<String, InstallError> {
    type Known = std::collections::HashMap<PathBuf, String>;
    static KNOWN: std::sync::LazyLock<std::sync::Mutex<Known>> =
        std::sync::LazyLock::new(Default::default);
    let (major, minor) = python_version;
    let remembered = KNOWN
        .lock()
        .ok()
        .and_then(|known| known.get(interpreter).cloned());
    // A remembered answer of another X.Y still fails below, as it should.
    let version = match remembered {
        Some(version) => version,
        None => {
            let version = ask_interpreter_version(interpreter, python_version)?;
            if let Ok(mut known) = KNOWN.lock() {
                known.insert(interpreter.to_path_buf(), version.clone());
            }
            version
        }
    };
    if version.starts_with(&format!("{major}.{minor}.")) {
        Ok(version)
    } else {
        Err(InstallError::InterpreterMismatch {
            interpreter: interpreter.to_path_buf(),
            expected: format!("{major}.{minor}"),
            found: format!("it is cpython {version}"),
        })
    }
}

fn ask_interpreter_version(
    interpreter: &Path,
    python_version: (u64, u64),
) -> Result<String, InstallError> {
    let (major, minor) = python_version;
    let mismatch = |found: String| InstallError::InterpreterMismatch {
        interpreter: interpreter.to_path_buf(),
        expected: format!("{major}.{minor}"),
        found,
    };
    let output = Command::new(interpreter)
        .args([
            "-S",
            "-c",
            "import sys; print(sys.implementation.name, '%d.%d.%d' % sys.version_info[:3])",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| mismatch(format!("it does not run: {error}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut fields = stdout.split_whitespace();
    let (implementation, version) = (fields.next(), fields.next());
    match (output.status.success(), implementation, version) {
        (true, Some("cpython"), Some(version))
            if version.starts_with(&format!("{major}.{minor}.")) =>
        {
            Ok(version.to_string())
        }
        (true, _, _) => Err(mismatch(format!("it is {}", stdout.trim()))),
        (false, _, _) => Err(mismatch(format!(
            "it exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::Digest;

    use super::*;
    use crate::install::find_interpreter;

    /// A pure wheel `<name>-1.0` whose module `<name>` has a `main()` that
    /// prints `<name> ran`, installed as the console script `<name>`.
    pub(crate) fn tiny_wheel(folder: &Path, name: &str) -> PathBuf {
        let dist_info = format!("{name}-1.0.dist-info");
        let files = [
            (
                format!("{name}/__init__.py"),
                format!("def main():\n    print('{name} ran')\n"),
            ),
            (
                format!("{dist_info}/METADATA"),
                format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"),
            ),
            (
                format!("{dist_info}/WHEEL"),
                "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                    .to_string(),
            ),
            (
                format!("{dist_info}/entry_points.txt"),
                format!("[console_scripts]\n{name} = {name}:main\n"),
            ),
        ];
        let path = folder.join(format!("{name}-1.0-py3-none-any.whl"));
        let mut writer = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        let mut record = String::new();
        for (file, text) in &files {
            writer.start_file(file.as_str(), options).unwrap();
            writer.write_all(text.as_bytes()).unwrap();
            let digest = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(text.as_bytes()));
            record.push_str(&format!("{file},sha256={digest},{}\n", text.len()));
        }
        record.push_str(&format!("{dist_info}/RECORD,,\n"));
        writer
            .start_file(format!("{dist_info}/RECORD"), options)
            .unwrap();
        writer.write_all(record.as_bytes()).unwrap();
        writer.finish().unwrap();
        path
    }

    #[test]
    fn creates_an_isolated_environment_and_installs_into_it() {
        let interpreter = find_interpreter((3, 11)).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let environment =
            PythonEnvironment::create(&interpreter, (3, 11), &folder.path().join("env")).unwrap();
        let config = fs::read_to_string(environment.root().join("pyvenv.cfg")).unwrap();
        assert!(
            config.contains("include-system-site-packages = false"),
            "{config}"
        );
        assert!(config.contains("version = 3.11."), "{config}");
        for name in ["python", "python3", "python3.11"] {
            assert!(environment.root().join("bin").join(name).exists(), "{name}");
        }
        environment
            .install_wheels(&[tiny_wheel(folder.path(), "tinypkg")])
            .unwrap();
        assert!(environment
            .site_packages()
            .join("tinypkg/__init__.py")
            .is_file());
        let leftovers: Vec<_> = fs::read_dir(environment.root())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .filter(|name| name.to_string_lossy().starts_with(".vendor-install-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        let output = Command::new(environment.python())
            .args([
                "-c",
                "import sys, tinypkg; print(sys.prefix); print(tinypkg.__file__); \
                 print(sys.prefix != sys.base_prefix)",
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines[0], environment.root().to_str().unwrap());
        assert!(
            Path::new(lines[1]).starts_with(environment.site_packages()),
            "{stdout}"
        );
        assert_eq!(lines[2], "True");

        let launcher = environment.root().join("bin/tinypkg");
        let text = fs::read_to_string(&launcher).unwrap();
        let expected = format!("#!{}", environment.python().display());
        assert!(text.starts_with(&expected), "{text}");
        let output = Command::new(&launcher).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "tinypkg ran\n");
    }

    #[test]
    fn refuses_an_interpreter_of_another_version() {
        let interpreter = find_interpreter((3, 11)).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let error = PythonEnvironment::create(&interpreter, (3, 5), &folder.path().join("env"))
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("not a working Python 3.5"), "{message}");
        assert!(!folder.path().join("env").exists());
    }
}
