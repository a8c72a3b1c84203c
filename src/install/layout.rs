//! Where each file of a wheel goes under the install prefix.
//!
//! Input: an [`InstallScheme`] and a wheel's normalised archive paths.
//! Output: paths relative to the prefix (`lib/python3.11/site-packages/six.py`,
//! `bin/django-admin`) and RECORD's view of them (relative to site-packages).
//! Invariant: the mapping is the wheel spec's: the root and `.data/purelib`,
//! `.data/platlib` go to site-packages, `.data/scripts` to `bin/`,
//! `.data/headers` to `include/site/pythonX.Y/<Name>/`, `.data/data` to the
//! prefix itself; any other `.data` key, or a `.data`/`.dist-info` directory
//! of another distribution, is refused.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::error::{InstallError, Refusal};

/// Where a Python environment keeps what it installs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallScheme {
    /// The environment's root on the server, e.g. `/opt/mysite`.
    pub prefix: PathBuf,
    /// The target Python's `(major, minor)`.
    pub python_version: (u64, u64),
}

impl InstallScheme {
    pub fn new(prefix: impl Into<PathBuf>, python_version: (u64, u64)) -> Self {
        Self {
            prefix: prefix.into(),
            python_version,
        }
    }

    /// `lib/pythonX.Y/site-packages`, relative to the prefix.
    pub fn site_packages_relative(&self) -> String {
        let (major, minor) = self.python_version;
        format!("lib/python{major}.{minor}/site-packages")
    }

    pub fn site_packages(&self) -> PathBuf {
        self.prefix.join(self.site_packages_relative())
    }

    pub fn scripts(&self) -> PathBuf {
        self.prefix.join("bin")
    }

    /// `include/site/pythonX.Y/<distribution>`, as pip names it (with the
    /// distribution's `Name` as spelled in its metadata).
    pub fn headers(&self, distribution: &str) -> PathBuf {
        self.prefix.join(self.headers_relative(distribution))
    }

    fn headers_relative(&self, distribution: &str) -> String {
        let (major, minor) = self.python_version;
        format!("include/site/python{major}.{minor}/{distribution}")
    }

    pub fn data(&self) -> PathBuf {
        self.prefix.clone()
    }

    /// The environment's interpreter, which scripts and launchers run.
    pub fn interpreter(&self) -> PathBuf {
        self.prefix.join("bin/python")
    }

    /// The directories every environment has (the prefix, `bin`, `lib`, ...
    /// down to site-packages, and `include/site/pythonX.Y`): the package that
    /// makes the environment owns them, packages installed into it need not.
    pub fn base_directories(&self) -> BTreeSet<PathBuf> {
        let (major, minor) = self.python_version;
        let mut directories = BTreeSet::from([self.prefix.clone(), self.scripts()]);
        for relative in [
            self.site_packages_relative(),
            format!("include/site/python{major}.{minor}"),
        ] {
            let path = self.prefix.join(&relative);
            directories.extend(
                path.ancestors()
                    .take_while(|ancestor| ancestor.starts_with(&self.prefix))
                    .map(Path::to_path_buf),
            );
        }
        directories
    }

    /// The prefix without its leading `/`, for laying files out in a staging directory.
    pub(super) fn checked_prefix_relative(&self) -> Result<PathBuf, InstallError> {
        let invalid = || InstallError::InvalidPrefix {
            prefix: self.prefix.clone(),
        };
        if !self.prefix.is_absolute() {
            return Err(invalid());
        }
        let mut relative = PathBuf::new();
        for component in self.prefix.components() {
            match component {
                Component::RootDir => {}
                Component::Normal(part) => relative.push(part),
                _ => return Err(invalid()),
            }
        }
        Ok(relative)
    }
}

/// Which scheme path an installed file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Category {
    Lib,
    Scripts,
    Headers,
    Data,
}

/// The mapping for one wheel.
pub(super) struct Layout {
    pub dist_info: String,
    pub data_dir: String,
    site_packages: String,
    headers: String,
}

impl Layout {
    pub fn new(scheme: &InstallScheme, dist_info: &str, display_name: &str) -> Self {
        let stem = dist_info.trim_end_matches(".dist-info");
        Self {
            dist_info: dist_info.to_string(),
            data_dir: format!("{stem}.data"),
            site_packages: scheme.site_packages_relative(),
            headers: scheme.headers_relative(display_name),
        }
    }

    /// The installed path (relative to the prefix) of the archive path `path`.
    pub fn destination(&self, path: &str) -> Result<(String, Category), Refusal> {
        let (first, rest) = path.split_once('/').unwrap_or((path, ""));
        if first == self.data_dir {
            let (key, inner) = rest.split_once('/').unwrap_or((rest, ""));
            if inner.is_empty() {
                return Err(Refusal::UnknownDataScheme);
            }
            return match key {
                "purelib" | "platlib" => Ok((self.in_site_packages(inner), Category::Lib)),
                "scripts" => Ok((format!("bin/{inner}"), Category::Scripts)),
                "headers" => Ok((format!("{}/{inner}", self.headers), Category::Headers)),
                "data" => Ok((inner.to_string(), Category::Data)),
                _ => Err(Refusal::UnknownDataScheme),
            };
        }
        let foreign = (first.ends_with(".data") || first.ends_with(".dist-info"))
            && first != self.dist_info
            && !rest.is_empty();
        if foreign {
            return Err(Refusal::ForeignDistribution {
                expected: self.dist_info.clone(),
            });
        }
        Ok((self.in_site_packages(path), Category::Lib))
    }

    pub fn in_site_packages(&self, path: &str) -> String {
        format!("{}/{path}", self.site_packages)
    }

    /// RECORD's path for an installed file: relative to site-packages, with
    /// `../` for files elsewhere in the prefix, as pip writes it.
    pub fn record_path(&self, relative: &str) -> String {
        if let Some(inside) = relative
            .strip_prefix(&self.site_packages)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            return inside.to_string();
        }
        let depth = self.site_packages.split('/').count();
        format!("{}{relative}", "../".repeat(depth))
    }

    /// License files: anything under `<dist-info>/licenses/` (PEP 639) and
    /// the usual names directly in the dist-info directory.
    pub fn is_license(&self, path: &str) -> bool {
        let Some(inside) = path
            .strip_prefix(&self.dist_info)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return false;
        };
        if inside.starts_with("licenses/") {
            return true;
        }
        let upper = inside.to_ascii_uppercase();
        !inside.contains('/')
            && ["LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS"]
                .iter()
                .any(|prefix| upper.starts_with(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        let scheme = InstallScheme::new("/opt/app", (3, 11));
        Layout::new(&scheme, "zope.interface-7.0.dist-info", "zope.interface")
    }

    #[test]
    fn maps_every_scheme_key() {
        let layout = layout();
        let site = "lib/python3.11/site-packages";
        let cases = [
            (
                "zope/interface/__init__.py",
                format!("{site}/zope/interface/__init__.py"),
            ),
            (
                "zope.interface-7.0.data/purelib/a.py",
                format!("{site}/a.py"),
            ),
            (
                "zope.interface-7.0.data/platlib/b.so",
                format!("{site}/b.so"),
            ),
            (
                "zope.interface-7.0.data/scripts/tool",
                "bin/tool".to_string(),
            ),
            (
                "zope.interface-7.0.data/headers/z.h",
                "include/site/python3.11/zope.interface/z.h".to_string(),
            ),
            (
                "zope.interface-7.0.data/data/share/x",
                "share/x".to_string(),
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(layout.destination(path).unwrap().0, expected, "{path}");
        }
        assert_eq!(
            layout.destination("zope.interface-7.0.data/other/x"),
            Err(Refusal::UnknownDataScheme)
        );
        assert!(layout.destination("other-1.0.dist-info/METADATA").is_err());
        assert!(layout.destination("other-1.0.data/scripts/x").is_err());
    }

    #[test]
    fn writes_record_paths_like_pip() {
        let layout = layout();
        assert_eq!(
            layout.record_path("lib/python3.11/site-packages/a/b.py"),
            "a/b.py"
        );
        assert_eq!(layout.record_path("bin/tool"), "../../../bin/tool");
    }

    #[test]
    fn recognises_license_files() {
        let layout = layout();
        assert!(layout.is_license("zope.interface-7.0.dist-info/licenses/sub/LICENSE.txt"));
        assert!(layout.is_license("zope.interface-7.0.dist-info/COPYING"));
        assert!(layout.is_license("zope.interface-7.0.dist-info/LICENSE.rst"));
        assert!(!layout.is_license("zope.interface-7.0.dist-info/METADATA"));
        assert!(!layout.is_license("zope/LICENSE"));
    }

    #[test]
    fn lists_base_directories_and_checks_prefixes() {
        let scheme = InstallScheme::new("/opt/app", (3, 11));
        let directories = scheme.base_directories();
        assert!(directories.contains(Path::new("/opt/app/lib/python3.11/site-packages")));
        assert!(directories.contains(Path::new("/opt/app/include/site")));
        assert!(!directories.contains(Path::new("/opt")));
        assert_eq!(
            scheme.checked_prefix_relative().unwrap(),
            PathBuf::from("opt/app")
        );
        assert!(InstallScheme::new("opt/app", (3, 11))
            .checked_prefix_relative()
            .is_err());
        assert!(InstallScheme::new("/opt/../x", (3, 11))
            .checked_prefix_relative()
            .is_err());
    }
}
