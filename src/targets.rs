//! Targets: the server platform a lock and its RPMs are made for.
//!
//! Input: `policies/targets/<name>.toml` (compiled into the binary; a
//! project's own `policies/targets/<name>.toml` overrides it), optionally a
//! Python version chosen by the user. Output: a [`Target`] with its wheel
//! [`Tags`] and PEP 508 marker environment.
//!
//! Invariants: everything is computed from the target's data, never from the
//! machine vendor runs on (`--target host` is [`crate::host::platform`]). The
//! selected Python is always one of the target's CPythons by `X.Y`; its full
//! version is kept because markers such as `python_full_version < "3.11.3"`
//! depend on it.
//!
//! Target file schema (strict, unknown keys are errors):
//! ```toml
//! description = "Enterprise Linux 9"
//! family = "el"                  # or "fedora"
//! dist-tag = ".el9"
//! arch = "x86_64"
//! glibc = "2.34"
//! libstdcxx = "3.4.29"           # optional: newest GLIBCXX_ symbol version
//! rpm = "4.16.1.3"
//! systemd = "252"                # optional: picks the unit scriptlets' form
//! [python]
//! default = "3.11.9"
//! [[python.available]]
//! version = "3.11.9"
//! devel = "python3.11-devel"     # provides Python.h for this interpreter
//! interpreter = "/usr/bin/python3.11"   # optional, this is the default
//! [sonames]                      # soname → package that provides it
//! "libjpeg.so.62" = "libjpeg-turbo"
//! [headers]                      # header / pkg-config module → -devel package
//! "jpeglib.h" = "libjpeg-turbo-devel"
//! ```

mod tags;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};
use serde::Deserialize;

pub use tags::{manylinux_platforms, TagPriority, Tags, WheelTag, MANYLINUX_ARCHES};

/// The target files shipped with vendor.
const BUILTIN_TARGETS: [(&str, &str); 4] = [
    ("el8", include_str!("../policies/targets/el8.toml")),
    ("el9", include_str!("../policies/targets/el9.toml")),
    ("el10", include_str!("../policies/targets/el10.toml")),
    (
        "fedora-43",
        include_str!("../policies/targets/fedora-43.toml"),
    ),
];

/// Where a project keeps its own target files.
const PROJECT_TARGETS_DIR: &str = "policies/targets";

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("unknown target `{name}`; available: {}", .available.join(", "))]
    Unknown {
        name: String,
        available: Vec<String>,
    },
    #[error("`{name}` is not a valid target name")]
    InvalidName { name: String },
    #[error("cannot read `{}`: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid target file `{origin}`: {message}")]
    Invalid { origin: String, message: String },
    #[error("target `{target}` has no Python {requested}; available: {}", .available.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    PythonUnavailable {
        target: String,
        requested: Version,
        available: Vec<Version>,
    },
    #[error("cannot describe this machine as a target: {message}")]
    Host { message: String },
}

impl crate::hint::Hint for TargetError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Unknown { name, .. } => Some(format!("describe it in `{PROJECT_TARGETS_DIR}/{name}.toml` in the project, or use `--target host`")),
            Self::InvalidName { .. } => Some("target names use letters, digits, `-`, `_` and `.`".to_string()),
            Self::PythonUnavailable { .. } => Some("pick one of these with `--python`, or add it to the target file".to_string()),
            _ => None,
        }
    }
}

/// The distribution family; decides package naming conventions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetFamily {
    El,
    Fedora,
}

impl fmt::Display for TargetFamily {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::El => "el",
            Self::Fedora => "fedora",
        })
    }
}

/// A server platform, with one CPython selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub description: String,
    pub family: TargetFamily,
    /// `.el9`
    pub dist_tag: String,
    /// `x86_64`
    pub arch: String,
    pub glibc: (u32, u32),
    /// The newest `GLIBCXX_` symbol version of the target's `libstdc++`
    /// (`3.4.29`: GCC 11), when the target file states it.
    pub libstdcxx: Option<Version>,
    pub rpm_version: Version,
    /// The systemd the distribution ships, when the target file states it.
    pub systemd: Option<Version>,
    /// The selected full version (the target file's default unless chosen).
    pub python: Version,
    /// Every full version the distribution ships, ascending.
    pub pythons: Vec<Version>,
    /// The selected Python's interpreter on the servers (`/usr/bin/python3.11`).
    pub python_interpreter: String,
    /// soname → distribution package (`libjpeg.so.62` → `libjpeg-turbo`).
    pub sonames: BTreeMap<String, String>,
    /// header, pkg-config module or config script → `-devel` package;
    /// includes `Python.h` for the selected Python.
    pub headers: BTreeMap<String, String>,
    /// `X.Y` → the `-devel` package providing that Python's headers.
    pub python_devel: BTreeMap<String, String>,
}

impl Target {
    /// Load `policies/targets/<name>.toml`: built-in files are compiled in; a
    /// project's `<project>/policies/targets/<name>.toml` overrides them.
    /// `host` (this machine) is not a file: see [`crate::host::platform`].
    pub fn load(name: &str, project_dir: Option<&Path>) -> Result<Target, TargetError> {
        let valid_name = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character));
        if !valid_name {
            return Err(TargetError::InvalidName {
                name: name.to_string(),
            });
        }
        if let Some(project_dir) = project_dir {
            let path = project_dir
                .join(PROJECT_TARGETS_DIR)
                .join(format!("{name}.toml"));
            if path.is_file() {
                let text = fs_err::read_to_string(&path).map_err(|source| TargetError::Read {
                    path: path.clone(),
                    source,
                })?;
                return parse_target(name, &text, &path.display().to_string());
            }
        }
        match BUILTIN_TARGETS.iter().find(|(builtin, _)| *builtin == name) {
            Some((_, text)) => parse_target(name, text, &format!("built-in {name}.toml")),
            None => Err(TargetError::Unknown {
                name: name.to_string(),
                available: available_targets(project_dir),
            }),
        }
    }

    /// Select the Python. It must match one of `pythons` by `X.Y`; a full
    /// version given by the user wins (3.11.3 is accepted when the target has
    /// 3.11.9), while `X.Y` alone selects the target's full version.
    pub fn with_python(mut self, python: Version) -> Result<Target, TargetError> {
        let requested = python_series(&python);
        let Some(available) = self
            .pythons
            .iter()
            .find(|available| python_series(available) == requested)
        else {
            return Err(TargetError::PythonUnavailable {
                target: self.name.clone(),
                requested: python,
                available: self.pythons.clone(),
            });
        };
        let selected = if python.release().len() >= 3 {
            python
        } else {
            available.clone()
        };
        self.select_python(selected);
        Ok(self)
    }

    /// The wheel tags a server of this target accepts, most preferred
    /// first. Worked out once per Python series, architecture and glibc in
    /// a process: a lock asks for them per resolution, and a build
    /// environment is one.
    pub fn tags(&self) -> Arc<Tags> {
        type Key = ((u64, u64), String, (u32, u32));
        static KNOWN: Mutex<Vec<(Key, Arc<Tags>)>> = Mutex::new(Vec::new());
        let key = (python_series(&self.python), self.arch.clone(), self.glibc);
        let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, tags)) = known.iter().find(|(known_key, _)| *known_key == key) {
            return Arc::clone(tags);
        }
        let platforms = manylinux_platforms(&self.arch, self.glibc);
        let tags = Arc::new(Tags::for_cpython(key.0, &platforms));
        known.push((key, Arc::clone(&tags)));
        tags
    }

    /// The PEP 508 environment of the selected CPython on this target.
    pub fn marker_environment(&self) -> MarkerEnvironment {
        cpython_linux_markers(&self.python, &self.arch)
    }

    /// Whether the target's rpm is `major.minor` or newer.
    pub fn rpm_at_least(&self, major: u64, minor: u64) -> bool {
        release_at_least(&self.rpm_version, &[major, minor])
    }

    /// Whether the target's systemd is version `major` or newer; a target
    /// file without `systemd` is taken to be recent.
    pub fn systemd_at_least(&self, major: u64) -> bool {
        self.systemd
            .as_ref()
            .is_none_or(|version| release_at_least(version, &[major]))
    }

    /// `(X, Y)` of the selected Python.
    pub fn python_series(&self) -> (u64, u64) {
        python_series(&self.python)
    }

    /// Another soname of the same library that the target ships, with its
    /// package: `libtiff.so.5` (`libtiff`) for `libtiff.so.6` on el9. `None`
    /// when the target ships `soname` itself or no library of that name.
    pub fn other_soname_of(&self, soname: &str) -> Option<(&str, &str)> {
        if self.sonames.contains_key(soname) {
            return None;
        }
        let wanted = library_stem(soname)?;
        self.sonames
            .iter()
            .find(|(known, _)| library_stem(known) == Some(wanted))
            .map(|(known, package)| (known.as_str(), package.as_str()))
    }

    /// `X.Y` of the selected Python, e.g. `3.11`.
    pub fn python_minor(&self) -> String {
        let (major, minor) = python_series(&self.python);
        format!("{major}.{minor}")
    }

    fn select_python(&mut self, python: Version) {
        self.python_interpreter = interpreter_for(&python);
        let minor = {
            let (major, minor) = python_series(&python);
            format!("{major}.{minor}")
        };
        if let Some(devel) = self.python_devel.get(&minor) {
            self.headers.insert("Python.h".to_string(), devel.clone());
        }
        self.python = python;
    }
}

/// The PEP 508 environment of CPython `python` (full version) on Linux/`arch`.
pub fn cpython_linux_markers(python: &Version, arch: &str) -> MarkerEnvironment {
    let (major, minor) = python_series(python);
    let base = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: "3.0",
        os_name: "posix",
        platform_machine: arch,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: "3.0",
        python_version: "3.0",
        sys_platform: "linux",
    })
    .expect("the literal versions parse");
    base.with_implementation_version(python.clone())
        .with_python_full_version(python.clone())
        .with_python_version(Version::new([major, minor]))
}

/// Names of every target `load` knows: built-in and the project's, sorted.
pub fn available_targets(project_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN_TARGETS
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    names.push("host".to_string());
    if let Some(entries) =
        project_dir.and_then(|dir| std::fs::read_dir(dir.join(PROJECT_TARGETS_DIR)).ok())
    {
        names.extend(entries.filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(str::to_string))?
        }));
    }
    names.sort();
    names.dedup();
    names
}

/// Whether `version` is at least `minimum`, compared on `minimum`'s
/// segments, missing ones counting as 0 (`4.16.1.3` is at least `4.16`,
/// `6.0` at least `4.19`, `4.14.3` not at least `4.15`).
pub fn release_at_least(version: &Version, minimum: &[u64]) -> bool {
    let release = version.release();
    let compared: Vec<u64> = (0..minimum.len())
        .map(|index| release.get(index).copied().unwrap_or(0))
        .collect();
    compared.as_slice() >= minimum
}

/// `(major, minor)` of a Python version (`3.11.9` → `(3, 11)`); a missing
/// minor counts as 0.
pub fn python_series(version: &Version) -> (u64, u64) {
    let release = version.release();
    (
        release.first().copied().unwrap_or(0),
        release.get(1).copied().unwrap_or(0),
    )
}

/// `/usr/bin/pythonX.Y`: where EL and Fedora install every CPython they ship.
pub(crate) fn interpreter_for(python: &Version) -> String {
    let (major, minor) = python_series(python);
    format!("/usr/bin/python{major}.{minor}")
}

/// `libtiff.so.6` → `libtiff`.
fn library_stem(soname: &str) -> Option<&str> {
    soname.split_once(".so").map(|(stem, _)| stem)
}

/// `2.34` → `(2, 34)`.
pub(crate) fn parse_glibc(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TargetFile {
    description: String,
    family: TargetFamily,
    dist_tag: String,
    arch: String,
    glibc: String,
    libstdcxx: Option<String>,
    rpm: String,
    systemd: Option<String>,
    python: PythonSection,
    #[serde(default)]
    sonames: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PythonSection {
    default: String,
    available: Vec<PythonEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PythonEntry {
    version: String,
    devel: String,
    interpreter: Option<String>,
}

/// Parse and check one target file; `origin` names it in errors.
fn parse_target(name: &str, text: &str, origin: &str) -> Result<Target, TargetError> {
    let invalid = |message: String| TargetError::Invalid {
        origin: origin.to_string(),
        message,
    };
    let file: TargetFile =
        toml::from_str(text).map_err(|error| invalid(crate::excerpt::toml_error(&error, text)))?;
    let glibc = parse_glibc(&file.glibc)
        .ok_or_else(|| invalid(format!("`glibc = \"{}\"` is not `MAJOR.MINOR`", file.glibc)))?;
    if !MANYLINUX_ARCHES.contains(&file.arch.as_str()) {
        return Err(invalid(format!(
            "`arch = \"{}\"` is not an architecture manylinux wheels exist for ({})",
            file.arch,
            MANYLINUX_ARCHES.join(", ")
        )));
    }
    let parse_version = |key: &str, text: &str| {
        Version::from_str(text).map_err(|error| invalid(format!("`{key} = \"{text}\"`: {error}")))
    };
    let rpm_version = parse_version("rpm", &file.rpm)?;
    let systemd = file
        .systemd
        .as_deref()
        .map(|text| parse_version("systemd", text))
        .transpose()?;
    let libstdcxx = file
        .libstdcxx
        .as_deref()
        .map(|text| parse_version("libstdcxx", text))
        .transpose()?;
    let mut pythons = Vec::new();
    let mut python_devel = BTreeMap::new();
    let mut interpreters = BTreeMap::new();
    for entry in &file.python.available {
        let version = parse_version("python.available.version", &entry.version)?;
        if version.release().len() < 3 {
            return Err(invalid(format!(
                "Python `{version}` is not a full `X.Y.Z` version (markers need it)"
            )));
        }
        let (major, minor) = python_series(&version);
        let minor_text = format!("{major}.{minor}");
        if python_devel
            .insert(minor_text.clone(), entry.devel.clone())
            .is_some()
        {
            return Err(invalid(format!("Python {minor_text} is listed twice")));
        }
        if let Some(interpreter) = &entry.interpreter {
            interpreters.insert(minor_text, interpreter.clone());
        }
        pythons.push(version);
    }
    pythons.sort();
    let default = parse_version("python.default", &file.python.default)?;
    if !pythons.contains(&default) {
        return Err(invalid(format!(
            "the default Python `{default}` is not among `python.available`"
        )));
    }
    let mut target = Target {
        name: name.to_string(),
        description: file.description,
        family: file.family,
        dist_tag: file.dist_tag,
        arch: file.arch,
        glibc,
        libstdcxx,
        rpm_version,
        systemd,
        python: default.clone(),
        pythons,
        python_interpreter: String::new(),
        sonames: file.sonames,
        headers: file.headers,
        python_devel,
    };
    target.select_python(default);
    if let Some(interpreter) = interpreters.get(&target.python_minor()) {
        target.python_interpreter = interpreter.clone();
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filename::WheelFilename;
    use crate::hint::Hint;
    use pep508_rs::Requirement;

    fn version(text: &str) -> Version {
        text.parse().unwrap()
    }

    fn wheel(name: &str) -> WheelFilename {
        name.parse().unwrap()
    }

    #[test]
    fn compares_release_segments() {
        assert!(release_at_least(&version("4.16.1.3"), &[4, 16]));
        assert!(release_at_least(&version("4.19"), &[4, 16]));
        assert!(!release_at_least(&version("4.14.3"), &[4, 16]));
        assert!(release_at_least(&version("6.0"), &[4, 19]));
        assert!(!release_at_least(&version("239"), &[249]));
        let el9 = Target::load("el9", None).unwrap();
        assert!(el9.rpm_at_least(4, 16) && !el9.rpm_at_least(4, 19));
        assert!(el9.systemd_at_least(249) && !el9.systemd_at_least(253));
    }

    #[test]
    fn loads_every_builtin_target() {
        for (name, _) in BUILTIN_TARGETS {
            let target = Target::load(name, None).unwrap();
            assert_eq!(target.name, name);
            assert_eq!(target.arch, "x86_64");
            assert!(target.pythons.contains(&target.python));
            assert_eq!(
                target.sonames.get("libjpeg.so.62").unwrap(),
                "libjpeg-turbo"
            );
            assert_eq!(target.sonames.get("libc.so.6").unwrap(), "glibc");
            assert!(target.headers.contains_key("Python.h"), "{name}");
            assert!(!target.tags().is_empty());
        }
    }

    #[test]
    fn builtin_targets_carry_the_documented_facts() {
        let el9 = Target::load("el9", None).unwrap();
        assert_eq!(el9.glibc, (2, 34));
        assert_eq!(el9.python, version("3.11.9"));
        assert_eq!(el9.python_interpreter, "/usr/bin/python3.11");
        assert_eq!(el9.dist_tag, ".el9");
        assert_eq!(el9.family, TargetFamily::El);
        assert_eq!(el9.headers["Python.h"], "python3.11-devel");
        assert_eq!(el9.sonames["libssl.so.3"], "openssl-libs");
        let el8 = Target::load("el8", None).unwrap();
        assert_eq!(el8.glibc, (2, 28));
        assert_eq!(el8.rpm_version, version("4.14.3"));
        assert_eq!(el8.python, version("3.11.11"));
        assert_eq!(el8.sonames["libffi.so.6"], "libffi");
        let el10 = Target::load("el10", None).unwrap();
        assert_eq!(
            (el10.glibc, el10.python.clone()),
            ((2, 39), version("3.12.9"))
        );
        let fedora = Target::load("fedora-43", None).unwrap();
        assert_eq!(fedora.family, TargetFamily::Fedora);
        assert_eq!(fedora.python, version("3.14.0"));
        assert_eq!(fedora.dist_tag, ".fc43");
    }

    #[test]
    fn unknown_target_lists_the_available_ones() {
        let error = Target::load("el7", None).unwrap_err().with_hint();
        assert!(error.contains("unknown target `el7`"), "{error}");
        assert!(error.contains("el10, el8, el9, fedora-43, host"), "{error}");
        assert!(error.contains("hint:"), "{error}");
        let error = Target::load("../etc/passwd", None).unwrap_err().with_hint();
        assert!(error.contains("not a valid target name"), "{error}");
    }

    #[test]
    fn a_project_target_overrides_and_extends_the_builtins() {
        let project = tempfile::tempdir().unwrap();
        let dir = project.path().join(PROJECT_TARGETS_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let custom = BUILTIN_TARGETS[1]
            .1
            .replace("glibc = \"2.34\"", "glibc = \"2.30\"");
        std::fs::write(dir.join("el9.toml"), &custom).unwrap();
        std::fs::write(dir.join("mine.toml"), &custom).unwrap();
        assert_eq!(
            Target::load("el9", Some(project.path())).unwrap().glibc,
            (2, 30)
        );
        assert_eq!(
            Target::load("mine", Some(project.path())).unwrap().name,
            "mine"
        );
        let error = Target::load("other", Some(project.path()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("mine"), "{error}");
    }

    #[test]
    fn target_files_are_strict() {
        let text = BUILTIN_TARGETS[1]
            .1
            .replacen("arch = ", "flavour = \"vanilla\"\narch = ", 1);
        let error = parse_target("x", &text, "x.toml").unwrap_err().to_string();
        assert!(
            error.contains("x.toml") && error.contains("flavour"),
            "{error}"
        );
        let bad_default = BUILTIN_TARGETS[1]
            .1
            .replace("default = \"3.11.9\"", "default = \"3.10.4\"");
        let error = parse_target("x", &bad_default, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("3.10.4"), "{error}");
        let bad_arch = BUILTIN_TARGETS[1]
            .1
            .replace("arch = \"x86_64\"", "arch = \"sparc\"");
        assert!(parse_target("x", &bad_arch, "x.toml").is_err());
    }

    #[test]
    fn selects_python_by_python_series() {
        let el9 = Target::load("el9", None).unwrap();
        let user_pinned = el9.clone().with_python(version("3.11.3")).unwrap();
        assert_eq!(user_pinned.python, version("3.11.3"));
        let by_minor = el9.clone().with_python(version("3.12")).unwrap();
        assert_eq!(by_minor.python, version("3.12.9"));
        assert_eq!(by_minor.python_interpreter, "/usr/bin/python3.12");
        assert_eq!(by_minor.headers["Python.h"], "python3.12-devel");
        let system = el9.clone().with_python(version("3.9")).unwrap();
        assert_eq!(system.headers["Python.h"], "python3-devel");
        let error = el9.with_python(version("3.10.1")).unwrap_err().to_string();
        assert!(
            error.contains("3.10.1") && error.contains("3.9.21, 3.11.9, 3.12.9"),
            "{error}"
        );
    }

    #[test]
    fn wheel_compatibility_follows_glibc_and_python() {
        let el8 = Target::load("el8", None).unwrap().tags();
        let el9 = Target::load("el9", None).unwrap().tags();
        let pillow_228 = wheel("Pillow-11.0.0-cp311-cp311-manylinux_2_28_x86_64.whl");
        assert!(el8.is_compatible(&pillow_228), "glibc 2.28 is el8's own");
        assert!(el9.is_compatible(&pillow_228));
        let newer = wheel("foo-1.0-cp311-cp311-manylinux_2_34_x86_64.whl");
        assert!(!el8.is_compatible(&newer));
        assert!(el9.is_compatible(&newer));
        assert!(!el9.is_compatible(&wheel("foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")));
        let abi3 = wheel("cryptography-44.0.0-cp39-abi3-manylinux_2_28_x86_64.whl");
        assert!(el9.is_compatible(&abi3) && el8.is_compatible(&abi3));
        let legacy = wheel(
            "psycopg2_binary-2.9.10-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        );
        assert!(el8.is_compatible(&legacy));
        assert!(el9.priority(&pillow_228) > el9.priority(&legacy));
    }

    #[test]
    fn marker_environment_is_the_targets() {
        let el9 = Target::load("el9", None).unwrap();
        let old = el9.clone().with_python(version("3.11.2")).unwrap();
        let requirement: Requirement = "foo ; python_full_version < \"3.11.3\"".parse().unwrap();
        assert!(!requirement.evaluate_markers(&el9.marker_environment(), &[]));
        assert!(requirement.evaluate_markers(&old.marker_environment(), &[]));
        let environment = el9.marker_environment();
        assert_eq!(environment.python_version().string, "3.11");
        assert_eq!(environment.python_full_version().string, "3.11.9");
        assert_eq!(environment.platform_machine(), "x86_64");
        assert_eq!(environment.sys_platform(), "linux");
        let platform: Requirement =
            "foo ; sys_platform == \"linux\" and platform_python_implementation == \"CPython\" and implementation_name == \"cpython\" and os_name == \"posix\" and platform_system == \"Linux\""
                .parse()
                .unwrap();
        assert!(platform.evaluate_markers(&environment, &[]));
        let windows: Requirement = "foo ; sys_platform == \"win32\"".parse().unwrap();
        assert!(!windows.evaluate_markers(&environment, &[]));
    }
}
