//! Virtual environments on the build host, made by us (not `python -m venv`).
//!
//! Input: the build host's interpreter of some Python X.Y and a folder.
//! Output: a [`PythonEnvironment`] at that folder: `pyvenv.cfg` (`home`,
//! `include-system-site-packages = false`, `version`), `bin/python`,
//! `bin/python3` and `bin/pythonX.Y` linking to the interpreter, and an empty
//! `lib/pythonX.Y/site-packages`, into which [`PythonEnvironment::install_wheels`]
//! installs wheels with our own installer.
//!
//! Wheels get there one of two ways: [`PythonEnvironment::install_wheels`]
//! installs them into its site-packages, and
//! [`PythonEnvironment::link_cached_wheels`] installs each once into the
//! cache's installed trees (for a prefix no host has) and links those in, so
//! a build environment costs a few files instead of a copy of setuptools.
//!
//! Invariants: the environment sees no site-packages but its own and the
//! trees linked in (build environments and verification must not pick up
//! whatever the host has); console-script launchers and scripts run the
//! environment's `bin/python`; nothing installed here writes byte-code at
//! install time (these environments are short-lived; Python itself writes
//! `.pyc` files of what it imports, atomically, into linked build-tool
//! trees, which are never packaged).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cached::{install_wheel_cached, CachedInstall};
use super::error::io_error;
use super::scripts::render_launcher;
use super::{
    install_wheel_in_place, FileContents, FileKind, InstallError, InstallOptions, InstallScheme,
};
use crate::cache::Cache;

/// The prefix build-tool trees are installed for in the cache: no host has
/// it, so nothing but [`PythonEnvironment::link_cached_wheels`] (which
/// writes its own launchers and rewrites script shebangs) can use them.
const LINKED_PREFIX: &str = "/vendor-linked-tools";

/// A virtual environment on this host.
#[derive(Clone, Debug)]
pub struct PythonEnvironment {
    root: PathBuf,
    scheme: InstallScheme,
    /// Folders outside `root` its interpreter reads: the installed trees
    /// linked in, which confined code must be shown
    /// ([`crate::sandbox::Confinement::readable`]).
    reads: Vec<PathBuf>,
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
        Ok(Self {
            root,
            scheme,
            reads: Vec::new(),
        })
    }

    /// Install `wheels` (their hashes already checked) with our installer.
    pub fn install_wheels(&self, wheels: &[PathBuf]) -> Result<(), InstallError> {
        let options = InstallOptions::for_environment();
        for wheel in wheels {
            install_wheel_in_place(wheel, &self.scheme, &options)?;
        }
        Ok(())
    }

    /// Make `wheels` (their hashes already checked) importable here without
    /// installing them into the environment: each is installed once into
    /// the cache, its site-packages is added as a site directory, and its
    /// console scripts and scripts get launchers in `bin/`.
    pub fn link_cached_wheels(
        &mut self,
        cache: &Cache,
        wheels: &[PathBuf],
    ) -> Result<(), InstallError> {
        let scheme = InstallScheme::new(LINKED_PREFIX, self.python_version());
        let options = InstallOptions::for_environment();
        let trees = wheels
            .iter()
            .map(|wheel| install_wheel_cached(cache, wheel, &scheme, &options))
            .collect::<Result<Vec<_>, _>>()?;
        let site_directories: Vec<PathBuf> = trees
            .iter()
            .map(|tree| tree.site_packages(&scheme))
            .collect();
        self.add_site_directories(&site_directories)?;
        for tree in &trees {
            self.link_scripts(tree, &scheme)?;
            // Scripts are linked from the tree's `bin`, beside its
            // site-packages.
            self.reads.push(tree.prefix_root.clone());
        }
        Ok(())
    }

    /// Launchers for `tree`'s entry points, and its other scripts with the
    /// shebang naming this environment's interpreter (binaries are linked).
    fn link_scripts(
        &self,
        tree: &CachedInstall,
        scheme: &InstallScheme,
    ) -> Result<(), InstallError> {
        let python = self.python();
        let bin = self.scheme.scripts();
        let installed = &tree.installed;
        for entry_point in &installed.entry_points {
            let path = bin.join(&entry_point.name);
            write_executable(&path, render_launcher(entry_point, &python).as_bytes())?;
        }
        let tree_shebang = format!("#!{}", scheme.interpreter().display());
        let scripts = installed.files.iter().filter(|file| {
            file.path.parent() == Some(scheme.scripts().as_path())
                && !installed
                    .entry_points
                    .iter()
                    .any(|entry_point| file.path.ends_with(&entry_point.name))
        });
        for file in scripts {
            let Some(name) = file.path.file_name() else {
                continue;
            };
            let path = bin.join(name);
            match (&file.kind, &file.contents) {
                (FileKind::Regular, FileContents::OnDisk(source)) => {
                    let bytes = fs::read(source).map_err(io_error("read", source))?;
                    match bytes.strip_prefix(tree_shebang.as_bytes()) {
                        Some(rest) => {
                            let mut script = format!("#!{}", python.display()).into_bytes();
                            script.extend_from_slice(rest);
                            write_executable(&path, &script)?;
                        }
                        None => link(source, &path)?,
                    }
                }
                (FileKind::Symlink(target), _) => link(target, &path)?,
                (FileKind::Regular, FileContents::Bytes(_)) => {}
            }
        }
        Ok(())
    }

    /// Make `directories` (installed trees' site-packages, e.g. from
    /// [`super::cached`]) part of the environment without copying them: a
    /// `.pth` file adds each as a site directory, so their own `.pth` files
    /// are processed too, as if the packages were installed here.
    pub fn add_site_directories(&mut self, directories: &[PathBuf]) -> Result<(), InstallError> {
        let mut text = String::new();
        for directory in directories {
            // A JSON string is a valid Python string literal.
            let literal = serde_json::to_string(&directory.to_string_lossy())
                .expect("a string always serializes");
            text.push_str(&format!("import site; site.addsitedir({literal})\n"));
        }
        let path = self.site_packages().join("_vendor_site_directories.pth");
        fs::write(&path, text).map_err(io_error("write", &path))?;
        self.reads.extend(directories.iter().cloned());
        Ok(())
    }

    /// Folders outside the environment that its interpreter reads (the
    /// installed trees linked in).
    pub fn reads(&self) -> &[PathBuf] {
        &self.reads
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

/// Remove whatever is at `path` (a script of an earlier linked wheel with
/// the same name, as pip would overwrite it), so nothing is ever written
/// through a link into the cache.
fn clear(path: &Path) -> Result<(), InstallError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(io_error("replace", path)(error))
        }
        _ => Ok(()),
    }
}

fn link(target: &Path, path: &Path) -> Result<(), InstallError> {
    clear(path)?;
    std::os::unix::fs::symlink(target, path).map_err(io_error("create the link", path))
}

fn write_executable(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    use std::os::unix::fs::PermissionsExt;
    clear(path)?;
    fs::write(path, bytes).map_err(io_error("write", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(io_error("set the mode of", path))
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
    use crate::host::find_interpreter;

    /// A pure wheel `<name>-1.0` whose module `<name>` has a `main()` that
    /// prints `<name> ran`, installed as the console script `<name>`.
    pub(crate) fn tiny_wheel(folder: &Path, name: &str) -> PathBuf {
        tiny_wheel_with(folder, name, &[])
    }

    /// [`tiny_wheel`] with `extra` `(path, text)` entries.
    fn tiny_wheel_with(folder: &Path, name: &str, extra: &[(String, String)]) -> PathBuf {
        let dist_info = format!("{name}-1.0.dist-info");
        let mut files = vec![
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
        files.extend_from_slice(extra);
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
    fn links_cached_wheels_with_their_console_scripts_and_scripts() {
        let interpreter = find_interpreter((3, 11)).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path().join("cache")).unwrap();
        let script = (
            "linkedpkg-1.0.data/scripts/linked-script".to_string(),
            "#!python\nimport linkedpkg; print('script ran from', linkedpkg.__name__)\n"
                .to_string(),
        );
        let wheel = tiny_wheel_with(folder.path(), "linkedpkg", &[script]);
        let mut roots = Vec::new();
        for name in ["first", "second"] {
            let mut environment =
                PythonEnvironment::create(&interpreter, (3, 11), &folder.path().join(name))
                    .unwrap();
            environment
                .link_cached_wheels(&cache, std::slice::from_ref(&wheel))
                .unwrap();
            // Nothing of the wheel is copied into the environment.
            let copied = fs::read_dir(environment.site_packages())
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>();
            assert_eq!(copied, ["_vendor_site_directories.pth"]);
            let bin = environment.root().join("bin");
            let launcher = Command::new(bin.join("linkedpkg")).output().unwrap();
            assert!(launcher.status.success(), "{launcher:?}");
            assert_eq!(String::from_utf8_lossy(&launcher.stdout), "linkedpkg ran\n");
            let script = Command::new(bin.join("linked-script")).output().unwrap();
            assert!(script.status.success(), "{script:?}");
            assert_eq!(
                String::from_utf8_lossy(&script.stdout),
                "script ran from linkedpkg\n"
            );
            let shebang = fs::read_to_string(bin.join("linked-script")).unwrap();
            assert!(
                shebang.starts_with(&format!("#!{}\n", environment.python().display())),
                "{shebang}"
            );
            roots.push(environment.root().to_path_buf());
        }
        // One tree in the cache serves both environments.
        let trees = fs::read_dir(cache.bucket_path(crate::cache::Bucket::Installed))
            .unwrap()
            .flat_map(|shard| fs::read_dir(shard.unwrap().path()).unwrap())
            .count();
        assert_eq!(trees, 1);
    }

    #[test]
    fn a_later_script_of_the_same_name_replaces_the_link_not_the_cached_file() {
        let interpreter = find_interpreter((3, 11)).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path().join("cache")).unwrap();
        let shell_script = "#!/bin/sh\necho alpha\n";
        let alpha = tiny_wheel_with(
            folder.path(),
            "alpha",
            &[(
                "alpha-1.0.data/scripts/shared".to_string(),
                shell_script.to_string(),
            )],
        );
        // Its console script is called `shared` too.
        let shared = tiny_wheel(folder.path(), "shared");
        let mut environment =
            PythonEnvironment::create(&interpreter, (3, 11), &folder.path().join("env")).unwrap();
        environment
            .link_cached_wheels(&cache, &[alpha, shared])
            .unwrap();
        let bin = environment.root().join("bin/shared");
        let output = Command::new(&bin).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "shared ran\n");
        // alpha's script and the `shared` wheel's own launcher, untouched.
        let cached: Vec<String> = walk(&cache.bucket_path(crate::cache::Bucket::Installed))
            .into_iter()
            .filter(|path| path.ends_with("bin/shared"))
            .map(|path| fs::read_to_string(path).unwrap())
            .collect();
        assert_eq!(cached.len(), 2, "{cached:?}");
        assert!(cached.iter().any(|text| text == shell_script), "{cached:?}");
    }

    fn walk(folder: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
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
