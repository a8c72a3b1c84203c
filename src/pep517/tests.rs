//! Builds with the real interpreter and C compiler: the `featurepkg` fixture
//! from `test-data/native/` (an in-tree PEP 517 backend that, like Pillow,
//! silently leaves zlib out when `zlib.h` is not found) and small backends
//! written here to break the protocol.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::*;
use crate::hint::Hint;
use crate::host::find_interpreter;
use crate::install::environment::tests::tiny_wheel;
use crate::install::environment::PythonEnvironment;
use crate::policy::model::OneOrMany;

const NATIVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-data/native");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/test-data/native/featurepkg-1.0"
);

/// A `.tar.gz` of `folder` with every file under `<top>/`, sorted.
fn pack(folder: &Path, top: &str, destination: &Path) -> PathBuf {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for path in files {
        let relative = path
            .strip_prefix(folder)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = fs::read(&path).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(fs::metadata(&path).unwrap().permissions().mode() & 0o777);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("{top}/{relative}"), bytes.as_slice())
            .unwrap();
    }
    let sdist = destination.join(format!("{top}.tar.gz"));
    fs::write(&sdist, builder.into_inner().unwrap().finish().unwrap()).unwrap();
    sdist
}

struct Host {
    interpreter: PathBuf,
    python: Version,
}

fn host() -> Host {
    let interpreter = find_interpreter((3, 11)).expect("the build tests need Python 3.11");
    let output = Command::new(&interpreter)
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .unwrap();
    let python = Version::from_str(String::from_utf8(output.stdout).unwrap().trim()).unwrap();
    Host {
        interpreter,
        python,
    }
}

/// Everything a [`BuildRequest`] borrows.
struct Fixture {
    folder: tempfile::TempDir,
    cache: Cache,
    host: Host,
    package: PackageName,
    version: Version,
    sdist: PathBuf,
    sdist_sha256: Sha256,
    build_wheels: Vec<(Sha256, PathBuf)>,
}

impl Fixture {
    fn new() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let cache = Cache::open(folder.path().join("cache")).unwrap();
        let sdist = pack(Path::new(FIXTURE), "featurepkg-1.0", folder.path());
        let sdist_sha256 = Sha256::of_bytes(&fs::read(&sdist).unwrap());
        Self {
            folder,
            cache,
            host: host(),
            package: PackageName::from_str("featurepkg").unwrap(),
            version: Version::from_str("1.0").unwrap(),
            sdist,
            sdist_sha256,
            build_wheels: Vec::new(),
        }
    }

    fn request<'a>(
        &'a self,
        settings: &'a BuildSettings,
        policy_digest: Option<&'a Sha256>,
    ) -> BuildRequest<'a> {
        BuildRequest {
            package: &self.package,
            version: &self.version,
            sdist: &self.sdist,
            sdist_sha256: &self.sdist_sha256,
            build_wheels: &self.build_wheels,
            settings,
            policy_digest,
            interpreter: &self.host.interpreter,
            python_version: &self.host.python,
            target: "el9",
            log_dir: self.folder.path(),
            source_date_epoch: 1_700_000_000,
        }
    }

    /// Run `code` with the python of a fresh environment (in `name`) holding `wheel`.
    fn run(&self, wheel: &Path, name: &str, code: &str) -> std::process::Output {
        let environment = PythonEnvironment::create(
            &self.host.interpreter,
            (3, 11),
            &self.folder.path().join(name),
        )
        .unwrap();
        environment.install_wheels(&[wheel.to_path_buf()]).unwrap();
        Command::new(environment.python())
            .args(["-c", code])
            .output()
            .unwrap()
    }

    /// `featurepkg.features()` from an environment holding `wheel`.
    fn features(&self, wheel: &Path, name: &str) -> String {
        let output = self.run(
            wheel,
            name,
            "import featurepkg; print(featurepkg.features())",
        );
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }
}

/// `DT_NEEDED` of the wheel's extension module.
fn needed_libraries(wheel: &Path) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(fs::File::open(wheel).unwrap()).unwrap();
    let name = archive
        .file_names()
        .find(|name| name.ends_with(".so"))
        .expect("the wheel holds an extension module")
        .to_string();
    let mut bytes = Vec::new();
    archive
        .by_name(&name)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    elf.libraries
        .iter()
        .map(|library| library.to_string())
        .collect()
}

fn settings_with_env(name: &str, value: &str) -> BuildSettings {
    BuildSettings {
        env: BTreeMap::from([(name.to_string(), value.to_string())]),
        ..BuildSettings::default()
    }
}

#[test]
fn builds_with_and_without_the_optional_feature_in_parallel_and_caches() {
    let fixture = Fixture::new();
    let empty = fixture.folder.path().join("no-headers");
    fs::create_dir_all(&empty).unwrap();
    // The fixture's own policy, as a project would have it.
    let policies = crate::policy::Policies::load(Some(Path::new(NATIVE))).unwrap();
    let policy = policies.get(&fixture.package).unwrap();
    let with_zlib = policy.policy.build.clone();
    let mut hidden = with_zlib.clone();
    hidden.env.insert(
        "FEATUREPKG_INCLUDE_DIRS".to_string(),
        empty.to_str().unwrap().to_string(),
    );
    let hidden_digest = Sha256::of_bytes(b"policy hiding zlib.h");
    let hidden_logs = fixture.folder.path().join("hidden-logs");
    let (linked, unlinked) = std::thread::scope(|scope| {
        let linked = scope.spawn(|| {
            build_cached(
                &fixture.cache,
                &fixture.request(&with_zlib, Some(&policy.digest)),
            )
        });
        let unlinked = scope.spawn(|| {
            // Its own log folder: both builds are `featurepkg-1.0.log`.
            let mut request = fixture.request(&hidden, Some(&hidden_digest));
            request.log_dir = &hidden_logs;
            build_cached(&fixture.cache, &request)
        });
        (linked.join().unwrap(), unlinked.join().unwrap())
    });
    let (linked, unlinked) = (linked.unwrap(), unlinked.unwrap());

    assert!(!linked.from_cache);
    assert!(linked.path.starts_with(fixture.cache.root()));
    assert_eq!(
        linked.path.file_name().unwrap(),
        "featurepkg-1.0-cp311-cp311-linux_x86_64.whl"
    );
    assert!(needed_libraries(&linked.path).contains(&"libz.so.1".to_string()));
    assert_eq!(fixture.features(&linked.path, "with"), "{'zlib': True}");
    let log = fs::read_to_string(linked.log.as_ref().unwrap()).unwrap();
    assert!(log.contains("featurepkg: zlib.h found"), "{log}");

    // Like Pillow without jpeglib.h: the build "succeeds" without the feature.
    assert!(!needed_libraries(&unlinked.path).contains(&"libz.so.1".to_string()));
    assert_eq!(
        fixture.features(&unlinked.path, "without"),
        "{'zlib': False}"
    );
    let log = fs::read_to_string(unlinked.log.as_ref().unwrap()).unwrap();
    assert!(log.contains("zlib.h not found"), "{log}");
    // The policy's probe tells the two apart.
    let probe = &policy.policy.verify.probes[0].code;
    assert!(fixture
        .run(&linked.path, "probe-with", probe)
        .status
        .success());
    let output = fixture.run(&unlinked.path, "probe-without", probe);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("built without zlib"),
        "{output:?}"
    );
    assert!(!log.contains("zlib.h found"), "{log}");
    assert_ne!(linked.path, unlinked.path);

    // Unchanged inputs: the first wheel, untouched, with no build.
    let again = build_cached(
        &fixture.cache,
        &fixture.request(&with_zlib, Some(&policy.digest)),
    )
    .unwrap();
    assert_eq!(
        again,
        BuiltWheel {
            path: linked.path.clone(),
            from_cache: true,
            log: None
        }
    );
    assert_eq!(
        fs::read_dir(fixture.cache.root().join("tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_failing_backend_shows_its_log_tail_and_the_policy_hint() {
    let fixture = Fixture::new();
    let mut settings = settings_with_env("FEATUREPKG_FAIL", "1");
    settings.hint = Some("install zlib1g-dev".to_string());
    let error = build_cached(&fixture.cache, &fixture.request(&settings, None)).unwrap_err();
    let BuildError::BackendFailed {
        hook,
        log_path,
        tail,
        ..
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!(hook, "build_wheel");
    assert!(tail.contains("featurepkg was told to fail"), "{tail}");
    assert!(tail.contains("RuntimeError"), "{tail}");
    let message = error.with_hint();
    assert!(
        message.contains(&log_path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("`featurepkg-1.0.tar.gz`"), "{message}");
    assert!(message.ends_with("hint: install zlib1g-dev"), "{message}");
    // Nothing was cached.
    let built = fixture.cache.root().join("built-v1");
    assert!(!built.exists() || fs::read_dir(built).unwrap().count() == 0);
}

#[test]
fn requirements_the_backend_asks_for_must_be_locked() {
    let mut fixture = Fixture::new();
    let settings = BuildSettings {
        config_settings: BTreeMap::from([(
            "build-requires".to_string(),
            OneOrMany::Many(vec!["helper>=1".to_string(), "cython>=3".to_string()]),
        )]),
        ..BuildSettings::default()
    };
    let helper = tiny_wheel(fixture.folder.path(), "helper");
    fixture.build_wheels = vec![(Sha256::of_bytes(&fs::read(&helper).unwrap()), helper)];
    let error = build_cached(&fixture.cache, &fixture.request(&settings, None)).unwrap_err();
    let message = error.with_hint();
    assert!(
        matches!(&error, BuildError::UnlockedRequirement { requirement, .. } if requirement == "cython>=3"),
        "{message}"
    );
    assert!(message.contains("`featurepkg 1.0`"), "{message}");
    assert!(
        message.ends_with("hint: run `vendor lock` to lock build requirements"),
        "{message}"
    );

    // Locked (and installed into the build environment), it builds.
    let only_helper = BuildSettings {
        config_settings: BTreeMap::from([(
            "build-requires".to_string(),
            OneOrMany::One("helper>=1".to_string()),
        )]),
        ..BuildSettings::default()
    };
    let built = build_cached(&fixture.cache, &fixture.request(&only_helper, None)).unwrap();
    assert!(!built.from_cache);
}

#[test]
fn the_wheel_must_be_the_requested_package() {
    let mut fixture = Fixture::new();
    fixture.package = PackageName::from_str("otherpkg").unwrap();
    let settings = BuildSettings::default();
    let error = build_cached(&fixture.cache, &fixture.request(&settings, None)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, BuildError::WrongWheel { .. }), "{message}");
    assert!(
        message.contains("not a wheel of `otherpkg 1.0`"),
        "{message}"
    );
}

#[test]
fn the_key_covers_every_input() {
    let fixture = Fixture::new();
    let settings = BuildSettings::default();
    let base = build_key(&fixture.request(&settings, None));
    let digest = Sha256::of_bytes(b"policy");
    assert_ne!(base, build_key(&fixture.request(&settings, Some(&digest))));
    let mut request = fixture.request(&settings, None);
    request.target = "el8";
    assert_ne!(base, build_key(&request));
    let other_python = Version::from_str("3.11.99").unwrap();
    let mut request = fixture.request(&settings, None);
    request.python_version = &other_python;
    assert_ne!(base, build_key(&request));
    let wheels = [
        (
            Sha256::of_bytes(b"a"),
            PathBuf::from("a-1.0-py3-none-any.whl"),
        ),
        (
            Sha256::of_bytes(b"b"),
            PathBuf::from("b-1.0-py3-none-any.whl"),
        ),
    ];
    let reversed = [wheels[1].clone(), wheels[0].clone()];
    let mut request = fixture.request(&settings, None);
    request.build_wheels = &wheels;
    let with_wheels = build_key(&request);
    assert_ne!(base, with_wheels);
    request.build_wheels = &reversed;
    assert_eq!(with_wheels, build_key(&request), "order does not matter");
}

/// A source tree with an in-tree backend `backend.py` holding `code`.
fn tree_with_backend(folder: &Path, code: &str) -> SourceTree {
    let root = folder.join("demo-1.0");
    fs::create_dir_all(root.join("_backend")).unwrap();
    fs::write(root.join("_backend/backend.py"), code).unwrap();
    SourceTree {
        root,
        build_system: BuildSystem {
            requires: Vec::new(),
            backend: "backend".to_string(),
            backend_path: vec!["_backend".to_string()],
        },
        sdist: "demo-1.0.tar.gz".to_string(),
    }
}

#[test]
fn hooks_run_isolated_with_backend_path_first_and_a_clean_environment() {
    let host = host();
    let folder = tempfile::tempdir().unwrap();
    let tree = tree_with_backend(
        folder.path(),
        "import os, sys\n\
         def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n\
         \x20   print('path0', sys.path[0])\n\
         \x20   print('isolated', sys.flags.isolated)\n\
         \x20   print('cwd', os.getcwd())\n\
         \x20   print('epoch', os.environ.get('SOURCE_DATE_EPOCH'))\n\
         \x20   print('policy', os.environ.get('POLICY_VARIABLE'))\n\
         \x20   print('pythonpath', os.environ.get('PYTHONPATH'))\n\
         \x20   print('settings', config_settings)\n\
         \x20   return 'missing-1.0-py3-none-any.whl'\n",
    );
    let environment =
        BuildEnvironment::create(&host.interpreter, (3, 11), &[], &folder.path().join("env"))
            .unwrap()
            .with_source_date_epoch(1234);
    let log = folder.path().join("logs/demo.log");
    let mut settings = settings_with_env("POLICY_VARIABLE", "set");
    settings
        .config_settings
        .insert("key".to_string(), OneOrMany::One("value".to_string()));

    // No `get_requires_for_build_wheel` hook: nothing more is needed.
    let requires = environment
        .requires_for_build_wheel(&tree, &settings, &log)
        .unwrap();
    assert!(requires.is_empty());

    // A wheel name that names no file breaks the protocol.
    let error = environment
        .build_wheel(&tree, &settings, &folder.path().join("out"), &log)
        .unwrap_err();
    assert!(
        matches!(&error, BuildError::Protocol { hook, .. } if hook == "build_wheel"),
        "{error}"
    );
    assert!(error.to_string().contains("holds no such file"), "{error}");
    let text = fs::read_to_string(&log).unwrap();
    let root = fs::canonicalize(&tree.root).unwrap();
    for expected in [
        format!("path0 {}", root.join("_backend").display()),
        "isolated 1".to_string(),
        format!("cwd {}", root.display()),
        "epoch 1234".to_string(),
        "policy set".to_string(),
        "pythonpath None".to_string(),
        "settings {'key': 'value'}".to_string(),
    ] {
        assert!(text.contains(&expected), "{expected} not in\n{text}");
    }
}

#[test]
fn a_backend_outside_its_backend_path_or_answering_nonsense_is_refused() {
    let host = host();
    let folder = tempfile::tempdir().unwrap();
    let environment =
        BuildEnvironment::create(&host.interpreter, (3, 11), &[], &folder.path().join("env"))
            .unwrap();
    let settings = BuildSettings::default();
    let log = folder.path().join("demo.log");

    let mut tree = tree_with_backend(folder.path(), "");
    tree.build_system.backend = "json".to_string();
    let error = environment
        .requires_for_build_wheel(&tree, &settings, &log)
        .unwrap_err();
    assert!(
        error.to_string().contains("not from its backend-path"),
        "{error}"
    );

    let tree = tree_with_backend(
        folder.path(),
        "def get_requires_for_build_wheel(config_settings=None):\n    return ['not a requirement!']\n",
    );
    let error = environment
        .requires_for_build_wheel(&tree, &settings, &log)
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, BuildError::Protocol { .. }), "{message}");
    assert!(message.contains("`not a requirement!`"), "{message}");
}

#[test]
fn asks_the_backend_what_else_it_needs_at_lock_time() {
    let fixture = Fixture::new();
    let settings = BuildSettings {
        config_settings: BTreeMap::from([(
            "build-requires".to_string(),
            OneOrMany::One("cython>=3; python_version >= '3'".to_string()),
        )]),
        ..BuildSettings::default()
    };
    let scratch = fixture.folder.path().join("scratch");
    let tree = unpack_sdist(&fixture.sdist, &scratch.join("source")).unwrap();
    let environment = BuildEnvironment::create(
        &fixture.host.interpreter,
        (3, 11),
        &[],
        &scratch.join("environment"),
    )
    .unwrap();
    let requires = environment
        .requires_for_build_wheel(&tree, &settings, &fixture.folder.path().join("lock.log"))
        .unwrap();
    let requires: Vec<String> = requires.iter().map(ToString::to_string).collect();
    assert_eq!(requires, ["cython>=3 ; python_full_version >= '3'"]);
}
