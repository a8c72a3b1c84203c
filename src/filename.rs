//! Distribution file names: wheels (`name-ver(-build)?-py-abi-plat.whl`) and
//! sdists (`name-ver.tar.gz` / `.zip`).
//!
//! Input: a file name as found on an index or on disk. Output: the parsed
//! [`DistFilename`]. Invariant: names are PEP 503-normalised, versions parsed
//! by PEP 440; a name that does not parse is an error naming the file.

use std::fmt;
use std::str::FromStr;

use pep440_rs::Version;

use crate::name::PackageName;

/// The percent-decoded last path segment of `url`, the file name an index
/// link or a direct reference gives; `None` when there is none.
pub fn url_file_name(url: &url::Url) -> Option<String> {
    let segment = url.path_segments()?.next_back()?;
    let decoded = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!decoded.is_empty()).then_some(decoded)
}

#[derive(Debug, thiserror::Error)]
#[error("`{}` is not a valid distribution file name: {}", crate::excerpt::excerpt(.filename), crate::excerpt::shorten_quoted(.reason))]
pub struct InvalidFilename {
    pub filename: String,
    pub reason: String,
}

/// A parsed wheel file name; the tag sets are expanded (`py2.py3` → two tags).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WheelFilename {
    pub name: PackageName,
    pub version: Version,
    pub build_tag: Option<String>,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    pub platform_tags: Vec<String>,
    raw: String,
}

impl WheelFilename {
    /// Every `(python, abi, platform)` triple this wheel declares.
    pub fn tag_triples(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.python_tags.iter().flat_map(move |python| {
            self.abi_tags.iter().flat_map(move |abi| {
                self.platform_tags
                    .iter()
                    .map(move |platform| (python.as_str(), abi.as_str(), platform.as_str()))
            })
        })
    }

    /// A wheel is pure when it runs on any platform with any ABI.
    pub fn is_pure(&self) -> bool {
        self.abi_tags.iter().all(|abi| abi == "none")
            && self.platform_tags.iter().all(|platform| platform == "any")
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl FromStr for WheelFilename {
    type Err = InvalidFilename;

    fn from_str(filename: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| InvalidFilename {
            filename: filename.to_string(),
            reason: reason.to_string(),
        };
        let stem = filename
            .strip_suffix(".whl")
            .ok_or_else(|| invalid("a wheel name ends in `.whl`"))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build_tag, tags) = match parts.as_slice() {
            [name, version, python, abi, platform] => {
                (name, version, None, [python, abi, platform])
            }
            [name, version, build, python, abi, platform] => (
                name,
                version,
                Some(build.to_string()),
                [python, abi, platform],
            ),
            _ => return Err(invalid("a wheel name has five or six `-`-separated parts")),
        };
        let split_tags = |tag: &str| tag.split('.').map(str::to_string).collect::<Vec<_>>();
        Ok(Self {
            name: PackageName::new(name.to_string())
                .map_err(|_| invalid(crate::name::NAME_RULE))?,
            version: Version::from_str(version)
                .map_err(|error| invalid(&crate::excerpt::excerpt(&error.to_string())))?,
            build_tag,
            python_tags: split_tags(tags[0]),
            abi_tags: split_tags(tags[1]),
            platform_tags: split_tags(tags[2]),
            raw: filename.to_string(),
        })
    }
}

/// The archive format of a source distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdistExtension {
    TarGz,
    Zip,
    TarBz2,
    TarXz,
}

impl SdistExtension {
    const ALL: [(&'static str, SdistExtension); 5] = [
        (".tar.gz", SdistExtension::TarGz),
        (".tgz", SdistExtension::TarGz),
        (".zip", SdistExtension::Zip),
        (".tar.bz2", SdistExtension::TarBz2),
        (".tar.xz", SdistExtension::TarXz),
    ];
}

/// A parsed sdist file name. The name part is split at the *last* `-` whose
/// remainder parses as a version, since legacy sdists keep dashes in names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SdistFilename {
    pub name: PackageName,
    pub version: Version,
    pub extension: SdistExtension,
    raw: String,
}

impl SdistFilename {
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl FromStr for SdistFilename {
    type Err = InvalidFilename;

    fn from_str(filename: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| InvalidFilename {
            filename: filename.to_string(),
            reason: reason.to_string(),
        };
        let (stem, extension) = SdistExtension::ALL
            .iter()
            .find_map(|(suffix, extension)| {
                filename.strip_suffix(suffix).map(|stem| (stem, *extension))
            })
            .ok_or_else(|| invalid("an sdist ends in `.tar.gz` or `.zip`"))?;
        let (name, version) = stem
            .rmatch_indices('-')
            .find_map(|(index, _)| {
                let version = Version::from_str(&stem[index + 1..]).ok()?;
                let name = PackageName::new(stem[..index].to_string()).ok()?;
                Some((name, version))
            })
            .ok_or_else(|| invalid("no `<name>-<version>` in the file name"))?;
        Ok(Self {
            name,
            version,
            extension,
            raw: filename.to_string(),
        })
    }
}

/// A wheel or an sdist.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DistFilename {
    Wheel(WheelFilename),
    Sdist(SdistFilename),
}

impl DistFilename {
    pub fn name(&self) -> &PackageName {
        match self {
            Self::Wheel(wheel) => &wheel.name,
            Self::Sdist(sdist) => &sdist.name,
        }
    }

    pub fn version(&self) -> &Version {
        match self {
            Self::Wheel(wheel) => &wheel.version,
            Self::Sdist(sdist) => &sdist.version,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Wheel(wheel) => wheel.as_str(),
            Self::Sdist(sdist) => sdist.as_str(),
        }
    }
}

impl FromStr for DistFilename {
    type Err = InvalidFilename;

    fn from_str(filename: &str) -> Result<Self, Self::Err> {
        if filename.ends_with(".whl") {
            WheelFilename::from_str(filename).map(Self::Wheel)
        } else {
            SdistFilename::from_str(filename).map(Self::Sdist)
        }
    }
}

impl fmt::Display for DistFilename {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wheels() {
        let wheel: WheelFilename = "Pillow-11.0.0-cp311-cp311-manylinux_2_28_x86_64.whl"
            .parse()
            .unwrap();
        assert_eq!(wheel.name.as_ref(), "pillow");
        assert_eq!(wheel.version.to_string(), "11.0.0");
        assert!(!wheel.is_pure());
        let pure: WheelFilename = "six-1.16.0-py2.py3-none-any.whl".parse().unwrap();
        assert!(pure.is_pure());
        assert_eq!(pure.tag_triples().count(), 2);
        let built: WheelFilename = "foo-1.0-1build-py3-none-any.whl".parse().unwrap();
        assert_eq!(built.build_tag.as_deref(), Some("1build"));
        assert!("foo-1.0.whl".parse::<WheelFilename>().is_err());
    }

    #[test]
    fn parses_sdists() {
        let sdist: SdistFilename = "psycopg2-2.9.10.tar.gz".parse().unwrap();
        assert_eq!(sdist.name.as_ref(), "psycopg2");
        let dashed: SdistFilename = "python-dateutil-2.9.0.post0.tar.gz".parse().unwrap();
        assert_eq!(dashed.name.as_ref(), "python-dateutil");
        assert_eq!(dashed.version.to_string(), "2.9.0.post0");
        assert!("nothing.tar.gz".parse::<SdistFilename>().is_err());
    }
}
