//! Index credentials: where they come from and how they are kept out of
//! everything that is shown or written.
//!
//! Input: the configured index and find-links URLs (which may carry
//! `user:password@`) and the netrc file (`$NETRC`, else `~/.netrc`).
//! Output: [`Credentials`], which answers "what auth goes with a request to
//! this URL" by host (and port), plus [`strip_credentials`] / [`redact`].
//!
//! Invariant: credentials live only here and in request headers; every URL
//! stored in an [`super::IndexFile`], an error or a log passes through
//! [`strip_credentials`] first.

use std::path::{Path, PathBuf};

use url::Url;

/// A user name and an optional password for one host.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets, even in debug output.
        formatter
            .debug_struct("Login")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .finish()
    }
}

/// Logins by host, from URLs first and the netrc file second.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// `(host, port, login)` taken from URL userinfo; port `None` = the scheme's default.
    from_urls: Vec<(String, Option<u16>, Login)>,
    /// `(host, port, login)` taken from netrc `machine` entries.
    from_netrc: Vec<(String, Option<u16>, Login)>,
}

/// A netrc file that exists but cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the netrc file `{path}`: {reason}; index credentials from it are ignored")]
pub struct NetrcError {
    pub path: PathBuf,
    pub reason: String,
}

impl crate::hint::Hint for NetrcError {
    fn hint(&self) -> Option<String> {
        Some("fix the file or point `NETRC` at another one".to_string())
    }
}

impl Credentials {
    /// Collect userinfo from `urls`; netrc is added by [`Self::add_netrc`].
    pub fn from_urls<'a>(urls: impl IntoIterator<Item = &'a Url>) -> Self {
        let mut credentials = Self::default();
        for url in urls {
            if url.username().is_empty() && url.password().is_none() {
                continue;
            }
            let Some(host) = url.host_str() else { continue };
            let login = Login {
                username: percent_decode(url.username()),
                password: url.password().map(percent_decode),
            };
            credentials
                .from_urls
                .push((host.to_ascii_lowercase(), url.port(), login));
        }
        credentials
    }

    /// Add the `machine` entries of the netrc file at `path`, when it exists.
    pub fn add_netrc(&mut self, path: &Path) -> Result<(), NetrcError> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => {
                return Err(NetrcError {
                    path: path.to_path_buf(),
                    reason: error.to_string(),
                })
            }
        };
        let netrc =
            netrc::Netrc::parse(std::io::BufReader::new(file)).map_err(|error| NetrcError {
                path: path.to_path_buf(),
                reason: match error {
                    netrc::Error::Io(error) => error.to_string(),
                    netrc::Error::Parse(message, line) => format!("line {line}: {message}"),
                },
            })?;
        // The `default` entry is deliberately ignored: sending one login to
        // every host (PyPI's CDN included) would leak it.
        for (host, machine) in netrc.hosts {
            self.from_netrc.push((
                host.to_ascii_lowercase(),
                machine.port,
                Login {
                    username: machine.login,
                    password: machine.password,
                },
            ));
        }
        Ok(())
    }

    /// The netrc path: `$NETRC`, else `~/.netrc`.
    pub fn default_netrc_path() -> Option<PathBuf> {
        match std::env::var_os("NETRC") {
            Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
            _ => dirs::home_dir().map(|home| home.join(".netrc")),
        }
    }

    /// The login to send with a request to `url`, if any.
    pub fn for_url(&self, url: &Url) -> Option<&Login> {
        let host = url.host_str()?.to_ascii_lowercase();
        let port = url.port_or_known_default();
        let matches = |(entry_host, entry_port, _): &&(String, Option<u16>, Login)| {
            *entry_host == host && entry_port.is_none_or(|entry_port| Some(entry_port) == port)
        };
        // A login written into an index URL is more specific than netrc;
        // among URL logins, the one with an explicit matching port wins.
        let from_urls = |with_port: bool| {
            self.from_urls
                .iter()
                .filter(matches)
                .find(|(_, entry_port, _)| entry_port.is_some() == with_port)
        };
        from_urls(true)
            .or_else(|| from_urls(false))
            .or_else(|| self.from_netrc.iter().find(matches))
            .map(|(_, _, login)| login)
    }
}

fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// `url` without user name and password.
pub fn strip_credentials(url: &Url) -> Url {
    let mut url = url.clone();
    remove_credentials(&mut url);
    url
}

/// [`strip_credentials`] in place, for a URL that is already a copy.
pub fn remove_credentials(url: &mut Url) {
    if !url.username().is_empty() || url.password().is_some() {
        // Both setters only fail for URLs that cannot have a host (`mailto:`),
        // which cannot carry credentials either.
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
}

/// `url` as written, with any `user:password@` removed (for the lock file,
/// which must carry no secret but should keep the user's spelling).
pub fn redact_credentials(url: &str) -> String {
    userinfo_pattern()
        .replace_all(url, "${scheme}")
        .into_owned()
}

fn userinfo_pattern() -> &'static regex::Regex {
    use std::sync::OnceLock;
    static USERINFO: OnceLock<regex::Regex> = OnceLock::new();
    USERINFO.get_or_init(|| {
        regex::Regex::new(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
            .expect("the userinfo pattern is valid")
    })
}

/// Remove `user:password@` from every URL inside free text (e.g. a message
/// from a lower layer), so that nothing secret reaches the user's screen.
pub fn redact(text: &str) -> String {
    userinfo_pattern()
        .replace_all(text, "${scheme}****@")
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_redacts() {
        let url = Url::parse("https://alice:s%40cret@example.com/simple/").unwrap();
        assert_eq!(
            strip_credentials(&url).as_str(),
            "https://example.com/simple/"
        );
        assert_eq!(
            redact("failed: https://alice:secret@example.com/simple/ and http://tok@h:8/x"),
            "failed: https://****@example.com/simple/ and http://****@h:8/x"
        );
        assert_eq!(redact("no url here @ all"), "no url here @ all");
        assert_eq!(
            redact_credentials("https://alice:secret@example.com/simple/"),
            "https://example.com/simple/"
        );
        assert_eq!(
            redact_credentials("https://example.com/simple"),
            "https://example.com/simple"
        );
        let login = Login {
            username: "alice".into(),
            password: Some("secret".into()),
        };
        assert!(!format!("{login:?}").contains("secret"));
    }

    #[test]
    fn url_logins_match_by_host_and_port() {
        let index = Url::parse("https://alice:s%40cret@Example.com/simple").unwrap();
        let credentials = Credentials::from_urls([&index]);
        let login = credentials
            .for_url(&Url::parse("https://example.com/files/a.whl").unwrap())
            .unwrap();
        assert_eq!(login.username, "alice");
        assert_eq!(login.password.as_deref(), Some("s@cret"));
        assert!(credentials
            .for_url(&Url::parse("https://other.example.com/").unwrap())
            .is_none());

        let with_port = Url::parse("http://bob:pw@127.0.0.1:8080/simple").unwrap();
        let credentials = Credentials::from_urls([&with_port]);
        assert!(credentials
            .for_url(&Url::parse("http://127.0.0.1:8080/x").unwrap())
            .is_some());
        assert!(credentials
            .for_url(&Url::parse("http://127.0.0.1:9090/x").unwrap())
            .is_none());
    }

    #[test]
    fn reads_netrc_and_ignores_default() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("netrc");
        std::fs::write(
            &path,
            "machine pkgs.example.com login carol password hunter2\n\
             default login everyone password leak\n",
        )
        .unwrap();
        let mut credentials = Credentials::default();
        credentials.add_netrc(&path).unwrap();
        let login = credentials
            .for_url(&Url::parse("https://pkgs.example.com/simple/").unwrap())
            .unwrap();
        assert_eq!(login.username, "carol");
        assert_eq!(login.password.as_deref(), Some("hunter2"));
        assert!(credentials
            .for_url(&Url::parse("https://pypi.org/simple/").unwrap())
            .is_none());

        // A URL login beats netrc for the same host.
        let index = Url::parse("https://dave:pw@pkgs.example.com/simple").unwrap();
        let mut credentials = Credentials::from_urls([&index]);
        credentials.add_netrc(&path).unwrap();
        let url = Url::parse("https://pkgs.example.com/x").unwrap();
        assert_eq!(credentials.for_url(&url).unwrap().username, "dave");

        // Missing file: nothing, no error. Garbage: an error naming the file.
        assert!(credentials
            .add_netrc(&folder.path().join("missing"))
            .is_ok());
        std::fs::write(&path, "machine").unwrap();
        let error = Credentials::default().add_netrc(&path);
        assert!(error.is_err_and(|error| error.to_string().contains("netrc")));
    }
}
