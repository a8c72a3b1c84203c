//! Confinement of the third-party code vendor runs: PEP 517 hooks (at lock
//! and at build time) and verification imports and probes.
//!
//! Input: the program to run and a [`Confinement`] (the folders it may
//! write, the folders it must read that a fresh `/dev` would hide, whether
//! it may use the network, the folders it must not see). Output: a
//! [`Command`] that runs it inside bubblewrap (`bwrap`): the whole file
//! system read-only, a private `/tmp` and `/dev`, writes only to the given
//! folders, hidden folders (the cache) empty but for the inputs it was
//! given, no network (a new network namespace with only a loopback
//! device), no other process visible, and killed with vendor. Secrets are
//! never shown, whatever else is: the release signing key and the user's
//! credentials ([`secret_paths`]) read as empty, and the signing passphrase
//! variable is removed.
//!
//! Invariants: the sandbox is found and tried once per process; when it
//! cannot be had (no `bwrap`, or no namespaces in this container) every
//! caller gets the same [`SandboxError`], which says how to get it or how
//! to opt out — vendor never quietly runs third-party code unconfined. The
//! opt-out is explicit: `VENDOR_NO_SANDBOX=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::host::toolchain::{find_executable, search_path};

/// Folders the sandbox replaces with its own.
const REPLACED: [&str; 3] = ["/dev", "/tmp", "/var/tmp"];

/// Credentials and keys under the user's home that confined code must not
/// read (a `setup.py` could copy them into the wheel it ships).
const HOME_SECRETS: [&str; 11] = [
    ".gnupg",
    ".ssh",
    ".netrc",
    ".pypirc",
    ".pip",
    ".config/pip",
    ".aws",
    ".docker",
    ".kube",
    ".git-credentials",
    ".config/gh",
];

/// Files the caller named secret this process ([`keep_secret`]).
static KEPT_SECRETS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Environment variables the caller named secret ([`keep_secret_variable`]).
static KEPT_VARIABLES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Hide `path` (a signing key) from all confined code this process runs.
pub fn keep_secret(path: &Path) {
    let mut kept = KEPT_SECRETS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    kept.push(path.to_path_buf());
}

/// Withhold the variable `name` (a signing passphrase) from all confined
/// code this process runs.
pub fn keep_secret_variable(name: &str) {
    let mut kept = KEPT_VARIABLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    kept.push(name.to_string());
}

/// `command` without the variables kept secret.
fn withhold_secret_variables(command: &mut Command) {
    let kept = KEPT_VARIABLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for name in kept.iter() {
        command.env_remove(name);
    }
}

/// The secrets hidden from confined code: `home`'s credentials,
/// `gnupg_home`, and `kept` files; those that exist, links resolved.
pub fn secret_paths(
    home: Option<&Path>,
    gnupg_home: Option<&Path>,
    kept: &[PathBuf],
) -> Vec<PathBuf> {
    let in_home = home
        .into_iter()
        .flat_map(|home| HOME_SECRETS.iter().map(move |secret| home.join(secret)));
    let candidates: Vec<PathBuf> = in_home
        .chain(gnupg_home.map(Path::to_path_buf))
        .chain(kept.iter().cloned())
        .collect();
    existing(&candidates)
}

/// The secrets of this process: its user's, and those kept.
fn secrets_of_this_process() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let gnupg_home = std::env::var_os("GNUPGHOME").map(PathBuf::from);
    let kept = KEPT_SECRETS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    secret_paths(home.as_deref(), gnupg_home.as_deref(), &kept)
}

/// The variable that lets third-party code run unconfined.
pub const NO_SANDBOX_VARIABLE: &str = "VENDOR_NO_SANDBOX";

#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot confine build backends and verification imports: {reason}")]
pub struct SandboxError {
    pub reason: String,
}

impl crate::hint::Hint for SandboxError {
    fn hint(&self) -> Option<String> {
        Some(format!(
            "install bubblewrap (`apt install bubblewrap`, `dnf install bubblewrap`); in a container, allow user namespaces; or set `{NO_SANDBOX_VARIABLE}=1` to run sdists' build code and imports unconfined (they can then reach the network and write anywhere)"
        ))
    }
}

/// What confined code may do.
#[derive(Clone, Debug, Default)]
pub struct Confinement {
    /// Folders it may write (its scratch folder, its output).
    pub writable: Vec<PathBuf>,
    /// Folders it reads that the sandbox would otherwise hide: inputs
    /// inside a `hidden` folder (installed trees in the cache), or under the
    /// sandbox's own `/dev`, `/tmp` and `/var/tmp` (a cache on `/dev/shm`);
    /// everything else is visible read-only anyway.
    pub readable: Vec<PathBuf>,
    /// Folders it must not see (the cache: other packages' sources and
    /// builds, kept RPMs, index pages): each shows as an empty read-only
    /// folder holding only the `readable` and `writable` folders inside it.
    pub hidden: Vec<PathBuf>,
    /// The network, for a package whose policy says its build needs it.
    pub network: bool,
}

/// How third-party code is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sandbox {
    Bubblewrap {
        program: PathBuf,
    },
    /// `VENDOR_NO_SANDBOX=1`: the user chose to run it unconfined.
    Unconfined,
}

/// The sandbox of this process, found and tried on first use.
pub fn sandbox() -> Result<&'static Sandbox, SandboxError> {
    static SANDBOX: OnceLock<Result<Sandbox, SandboxError>> = OnceLock::new();
    SANDBOX.get_or_init(detect).as_ref().map_err(Clone::clone)
}

fn detect() -> Result<Sandbox, SandboxError> {
    if std::env::var_os(NO_SANDBOX_VARIABLE).is_some_and(|value| value != "0" && !value.is_empty())
    {
        return Ok(Sandbox::Unconfined);
    }
    let program = find_in_path("bwrap").ok_or_else(|| SandboxError {
        reason: "`bwrap` (bubblewrap) is not installed".to_string(),
    })?;
    let sandbox = Sandbox::Bubblewrap { program };
    let output = sandbox
        .command(Path::new("/bin/true"), &Confinement::default())
        .stdin(Stdio::null())
        .output()
        .map_err(|error| SandboxError {
            reason: format!("`bwrap` cannot run: {error}"),
        })?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        let first_line = message.lines().next().unwrap_or("").trim();
        return Err(SandboxError {
            reason: format!("`bwrap` fails here ({first_line})"),
        });
    }
    Ok(sandbox)
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    find_executable(Path::new(program), &search_path())
}

impl Sandbox {
    /// `program` run confined; arguments, environment and working folder
    /// are the caller's to add as for any command. The working folder must
    /// be visible inside (any folder outside `/dev`, or one listed).
    pub fn command(&self, program: &Path, confinement: &Confinement) -> Command {
        let Sandbox::Bubblewrap { program: bwrap } = self else {
            let mut command = Command::new(program);
            withhold_secret_variables(&mut command);
            return command;
        };
        let mut command = Command::new(bwrap);
        withhold_secret_variables(&mut command);
        command.args(["--die-with-parent", "--new-session", "--unshare-pid"]);
        command.args(["--unshare-ipc", "--unshare-uts"]);
        if !confinement.network {
            command.arg("--unshare-net");
        }
        command.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
        command.args(["--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]);
        let hidden: Vec<PathBuf> = existing(&confinement.hidden);
        for folder in &hidden {
            command.arg("--tmpfs").arg(folder);
        }
        // The fresh /dev, /tmp and /var/tmp and the emptied hidden folders
        // hide what lives under them: show again what was asked for,
        // read-only first so writable folders inside stay so.
        for folder in existing(&confinement.readable) {
            let covered = REPLACED
                .iter()
                .map(Path::new)
                .chain(hidden.iter().map(PathBuf::as_path))
                .any(|cover| folder.starts_with(cover));
            if covered {
                command.arg("--ro-bind").arg(&folder).arg(&folder);
            }
        }
        for folder in &confinement.writable {
            command.arg("--bind").arg(folder).arg(folder);
        }
        // Last, once the folders inside are in place: the emptied folders
        // themselves take no writes either.
        for folder in &hidden {
            command.arg("--remount-ro").arg(folder);
        }
        // Secrets go last, over whatever the folders above showed.
        for secret in secrets_of_this_process() {
            if secret.is_dir() {
                command.arg("--tmpfs").arg(&secret);
                command.arg("--remount-ro").arg(&secret);
            } else {
                command.arg("--ro-bind").arg("/dev/null").arg(&secret);
            }
        }
        command.arg("--").arg(program);
        command
    }
}

/// The folders of `folders` that exist, links resolved: bubblewrap mounts
/// at resolved paths, and a folder is judged inside another by them.
fn existing(folders: &[PathBuf]) -> Vec<PathBuf> {
    folders
        .iter()
        .filter_map(|folder| fs_err::canonicalize(folder).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bubblewrap() -> Option<Sandbox> {
        let program = find_in_path("bwrap")?;
        let sandbox = Sandbox::Bubblewrap { program };
        let works = sandbox
            .command(Path::new("/bin/true"), &Confinement::default())
            .status()
            .is_ok_and(|status| status.success());
        works.then_some(sandbox)
    }

    fn run(sandbox: &Sandbox, script: &str, confinement: &Confinement) -> (bool, String) {
        let output = sandbox
            .command(Path::new("/bin/sh"), confinement)
            .args(["-c", script])
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    #[test]
    fn confined_code_writes_only_its_own_folders_and_has_no_network() {
        let Some(sandbox) = bubblewrap() else {
            eprintln!("no usable bwrap here: skipped (CI installs bubblewrap)");
            return;
        };
        let outside = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let confinement = Confinement {
            writable: vec![scratch.path().to_path_buf()],
            readable: vec![outside.path().to_path_buf()],
            ..Confinement::default()
        };
        let inside_file = scratch.path().join("built");
        let (wrote, _) = run(
            &sandbox,
            &format!("echo ok > {}", inside_file.display()),
            &confinement,
        );
        assert!(wrote && inside_file.is_file());
        let escaped = outside.path().join("escaped");
        let (wrote, error) = run(
            &sandbox,
            &format!("echo x > {}", escaped.display()),
            &confinement,
        );
        assert!(!wrote && !escaped.exists(), "{error}");
        assert!(error.contains("Read-only file system"), "{error}");
        let (private_tmp, _) = run(&sandbox, "echo x > /tmp/vendor-sandbox-test", &confinement);
        assert!(private_tmp && !Path::new("/tmp/vendor-sandbox-test").exists());
        // Only a loopback device (two header lines and `lo`): no route anywhere.
        let (only_loopback, error) = run(
            &sandbox,
            "test $(wc -l < /proc/net/dev) -eq 3",
            &confinement,
        );
        assert!(only_loopback, "{error}");
        let (networked, _) = run(
            &sandbox,
            "test $(wc -l < /proc/net/dev) -gt 3",
            &Confinement {
                network: true,
                ..confinement.clone()
            },
        );
        let host_interfaces = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
        assert_eq!(networked, host_interfaces.lines().count() > 3);
    }

    #[test]
    fn a_hidden_folder_shows_only_the_inputs_given_inside_it() {
        let Some(sandbox) = bubblewrap() else {
            eprintln!("no usable bwrap here: skipped (CI installs bubblewrap)");
            return;
        };
        // On disk: under /tmp or /dev/shm the sandbox's own /tmp and /dev
        // would hide the folder whatever was asked.
        let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sandbox-tests");
        fs_err::create_dir_all(&parent).unwrap();
        let cache = tempfile::tempdir_in(&parent).unwrap();
        let secret = cache.path().join("artifacts/other-package.tar.gz");
        let input = cache.path().join("installed/ab/cd/tree");
        let scratch = cache.path().join("work/scratch-1");
        for folder in [secret.parent().unwrap(), &input, &scratch] {
            fs_err::create_dir_all(folder).unwrap();
        }
        fs_err::write(&secret, "not yours").unwrap();
        fs_err::write(input.join("module.py"), "X = 1").unwrap();
        let confinement = Confinement {
            writable: vec![scratch.clone()],
            readable: vec![input.clone()],
            hidden: vec![cache.path().to_path_buf()],
            network: false,
        };
        let (read_input, error) = run(
            &sandbox,
            &format!("cat {}/module.py", input.display()),
            &confinement,
        );
        assert!(read_input, "{error}");
        let (wrote_scratch, error) = run(
            &sandbox,
            &format!("echo ok > {}/built", scratch.display()),
            &confinement,
        );
        assert!(wrote_scratch && scratch.join("built").is_file(), "{error}");
        for attempt in [
            format!("cat {}", secret.display()),
            format!("ls {}/artifacts", cache.path().display()),
            format!("echo x > {}/planted", cache.path().display()),
            format!("echo x > {}/planted", input.display()),
        ] {
            let (got_through, _) = run(&sandbox, &attempt, &confinement);
            assert!(!got_through, "{attempt}");
        }
        assert!(!cache.path().join("planted").exists());
        // Unconfined, the same read succeeds: the check above can fail.
        assert!(
            run(
                &Sandbox::Unconfined,
                &format!("cat {}", secret.display()),
                &confinement
            )
            .0
        );
    }

    #[test]
    fn secret_variables_are_withheld_confined_or_not() {
        keep_secret_variable("VENDOR_TEST_SECRET_PASSPHRASE");
        let sandboxes = [
            Sandbox::Unconfined,
            Sandbox::Bubblewrap {
                program: PathBuf::from("bwrap"),
            },
        ];
        for sandbox in sandboxes {
            let command = sandbox.command(Path::new("/bin/true"), &Confinement::default());
            let removed = command
                .get_envs()
                .any(|(name, value)| name == "VENDOR_TEST_SECRET_PASSPHRASE" && value.is_none());
            assert!(removed, "{sandbox:?}");
        }
    }

    #[test]
    fn secrets_read_as_empty_whatever_else_is_shown() {
        let Some(sandbox) = bubblewrap() else {
            eprintln!("no usable bwrap here: skipped (CI installs bubblewrap)");
            return;
        };
        let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sandbox-tests");
        fs_err::create_dir_all(&parent).unwrap();
        let home = tempfile::tempdir_in(&parent).unwrap();
        let key = home.path().join("project/release-key.asc");
        fs_err::create_dir_all(key.parent().unwrap()).unwrap();
        fs_err::write(&key, "-----BEGIN PGP PRIVATE KEY BLOCK-----").unwrap();
        fs_err::create_dir_all(home.path().join(".ssh")).unwrap();
        fs_err::write(home.path().join(".ssh/id_ed25519"), "private").unwrap();
        fs_err::write(home.path().join(".netrc"), "machine pypi password x").unwrap();
        let secrets = secret_paths(Some(home.path()), None, std::slice::from_ref(&key));
        assert_eq!(secrets.len(), 3, "{secrets:?}");
        keep_secret(&key);
        keep_secret(&home.path().join(".ssh"));
        keep_secret(&home.path().join(".netrc"));
        let confinement = Confinement {
            writable: vec![key.parent().unwrap().to_path_buf()],
            ..Confinement::default()
        };
        for secret in [
            key.clone(),
            home.path().join(".ssh/id_ed25519"),
            home.path().join(".netrc"),
        ] {
            let (read, _) = run(
                &sandbox,
                &format!("grep -q . {}", secret.display()),
                &confinement,
            );
            assert!(!read, "{} was readable", secret.display());
            assert!(
                run(
                    &Sandbox::Unconfined,
                    &format!("grep -q . {}", secret.display()),
                    &confinement
                )
                .0
            );
        }
        // The folder holding the key is still writable: only the key is hidden.
        let (wrote, error) = run(
            &sandbox,
            &format!("echo ok > {}/built", key.parent().unwrap().display()),
            &confinement,
        );
        assert!(wrote, "{error}");
    }
}
