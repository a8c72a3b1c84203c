//! Locks shared by the tests of [`super`] and its children.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use url::Url;

use crate::lock::model::{
    Lock, LockOptions, LockedArtifact, LockedBuild, LockedBuildRequirement, LockedDependency,
    LockedPackage,
};
use crate::name::{ExtraName, PackageName};

pub fn name(raw: &str) -> PackageName {
    PackageName::from_str(raw).unwrap()
}

pub fn artifact(filename: &str, url: &str, sha256: &str, size: u64, time: &str) -> LockedArtifact {
    LockedArtifact {
        filename: filename.parse().unwrap(),
        url: Url::parse(url).unwrap(),
        size: Some(size),
        upload_time: Some(time.parse().unwrap()),
        sha256: sha256.parse().unwrap(),
    }
}

pub fn dependency(raw: &str, extras: &[&str]) -> LockedDependency {
    LockedDependency {
        name: name(raw),
        extras: extras
            .iter()
            .map(|extra| ExtraName::from_str(extra).unwrap())
            .collect(),
    }
}

pub fn build_requirement(raw: &str, version: &str) -> LockedBuildRequirement {
    LockedBuildRequirement {
        name: name(raw),
        version: Version::from_str(version).unwrap(),
    }
}

/// A build package with one pure wheel (made-up digest).
pub fn build_package(raw: &str, version: &str, wheel: &str, sha256: &str) -> LockedPackage {
    LockedPackage {
        name: name(raw),
        version: Version::from_str(version).unwrap(),
        index: Some("https://pypi.org/simple".to_string()),
        requires_python: Some(VersionSpecifiers::from_str(">=3.9").unwrap()),
        sdist: None,
        wheels: vec![artifact(
            wheel,
            &format!("https://files.pythonhosted.org/packages/{wheel}"),
            sha256,
            1000,
            "2025-01-01T00:00:00Z",
        )],
        dependencies: vec![],
        build: None,
        direct: None,
    }
}

/// A small lock with real PyPI files (six, markupsafe) plus a package
/// with dependency extras and no upload times; markupsafe and the local
/// package are built from source, with two versions of setuptools between
/// them.
pub fn sample_lock() -> Lock {
    let six = LockedPackage {
        name: name("six"),
        version: Version::from_str("1.16.0").unwrap(),
        index: Some("https://pypi.org/simple".to_string()),
        requires_python: Some(
            VersionSpecifiers::from_str(">=2.7, !=3.0.*, !=3.1.*, !=3.2.*").unwrap(),
        ),
        sdist: Some(artifact(
            "six-1.16.0.tar.gz",
            "https://files.pythonhosted.org/packages/71/39/171f1c67cd00715f190ba0b100d606d440a28c93c7714febeca8b79af85e/six-1.16.0.tar.gz",
            "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926",
            34041,
            "2021-05-05T14:18:18.379524Z",
        )),
        wheels: vec![artifact(
            "six-1.16.0-py2.py3-none-any.whl",
            "https://files.pythonhosted.org/packages/d9/5a/e7c31adbe875f2abbb91bd84cf2dc52d792b5a01506781dbcf25c91daf11/six-1.16.0-py2.py3-none-any.whl",
            "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
            11053,
            "2021-05-05T14:18:17.237677Z",
        )],
        dependencies: vec![],
        build: None,
        direct: None,
    };
    let markupsafe = LockedPackage {
        name: name("markupsafe"),
        version: Version::from_str("3.0.2").unwrap(),
        index: Some("https://pypi.org/simple".to_string()),
        requires_python: Some(VersionSpecifiers::from_str(">=3.9").unwrap()),
        sdist: Some(artifact(
            "markupsafe-3.0.2.tar.gz",
            "https://files.pythonhosted.org/packages/b2/97/5d42485e71dfc078108a86d6de8fa46db44a1a9295e89c5d6d4a06e23a62/markupsafe-3.0.2.tar.gz",
            "ee55d3edf80167e48ea11a923c7386f4669df67d7994554387f84e7d8b0a2bf0",
            20537,
            "2024-10-18T15:21:54.129138Z",
        )),
        wheels: vec![artifact(
            "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "https://files.pythonhosted.org/packages/f1/a4/aefb044a2cd8d7334c8a47d3fb2c9f328ac48cb349468cc31c20b539305f/MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "a123e330ef0853c6e822384873bef7507557d8e4a082961e1defa947aa59ba84",
            23120,
            "2024-10-18T15:21:06.495307Z",
        )],
        dependencies: vec![],
        build: Some(LockedBuild {
            requirements: vec![
                build_requirement("setuptools", "80.9.0"),
                build_requirement("wheel", "0.45.1"),
            ],
        }),
        direct: None,
    };
    let mut local = LockedPackage {
        name: name("local-app"),
        version: Version::from_str("0.1.0").unwrap(),
        index: None,
        requires_python: None,
        sdist: None,
        wheels: vec![artifact(
            "local_app-0.1.0-py3-none-any.whl",
            "file:///srv/wheels/local_app-0.1.0-py3-none-any.whl",
            "0000000000000000000000000000000000000000000000000000000000000001",
            100,
            "2024-01-01T00:00:00Z",
        )],
        dependencies: vec![
            dependency("markupsafe", &[]),
            dependency("six", &["extra-a", "extra-b"]),
        ],
        build: Some(LockedBuild {
            requirements: vec![build_requirement("setuptools", "75.1.0")],
        }),
        direct: None,
    };
    local.wheels[0].upload_time = None;
    local.wheels[0].size = None;
    Lock {
        packages: vec![local, markupsafe, six],
        build_packages: vec![
            build_package(
                "setuptools",
                "75.1.0",
                "setuptools-75.1.0-py3-none-any.whl",
                "0000000000000000000000000000000000000000000000000000000000000075",
            ),
            build_package(
                "setuptools",
                "80.9.0",
                "setuptools-80.9.0-py3-none-any.whl",
                "0000000000000000000000000000000000000000000000000000000000000080",
            ),
            build_package(
                "wheel",
                "0.45.1",
                "wheel-0.45.1-py3-none-any.whl",
                "0000000000000000000000000000000000000000000000000000000000000045",
            ),
        ],
        options: LockOptions {
            target: "el9".to_string(),
            arch: "x86_64".to_string(),
            python: Version::from_str("3.11.9").unwrap(),
            requirements: vec![
                "local-app".to_string(),
                "six>=1.16; python_version >= \"3\"".to_string(),
            ],
            constraints: vec!["markupsafe<4".to_string()],
            index_urls: vec!["https://pypi.org/simple".to_string()],
            find_links: vec!["/srv/wheels".to_string()],
            exclude_newer: Some("2026-11-01T00:00:00Z".parse().unwrap()),
            format_control: Default::default(),
            prefer_binary: false,
            require_hashes: false,
        },
    }
}
