//! Signing a release: an OpenPGP header signature in every RPM, a detached
//! signature of `repodata/repomd.xml`, and the public key beside them.
//!
//! Input: the user's armored secret key (`[sign] key`), its passphrase
//! (`$VENDOR_SIGN_PASSPHRASE`), the target, and the files to sign. Output:
//! signed RPMs (replaced by rename, so a file the cache hard-linked is
//! never changed in place), `repomd.xml.asc`, and `RPM-GPG-KEY-<app>`.
//!
//! Invariants: signatures carry the package's own build time, not the
//! clock, so with RSA and Ed25519 (both deterministic) signed output is
//! byte-reproducible; ECDSA would not be, and is refused; a key the
//! target's rpm cannot verify (EdDSA before rpm 4.16: EL8) is refused
//! before anything is built; a wrong passphrase is found when loading.

use std::path::{Path, PathBuf};

use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::public_key::PublicKeyAlgorithm;
use rpm::signature::Signing;

use crate::targets::Target;

/// The environment variable holding the key's passphrase.
pub const PASSPHRASE_VARIABLE: &str = "VENDOR_SIGN_PASSPHRASE";

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot read the signing key `{}`: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not an armored OpenPGP secret key: {message}", .path.display())]
    NotAKey { path: PathBuf, message: String },
    #[error("the signing key `{}` is {algorithm}, which {reason}", .path.display())]
    Algorithm {
        path: PathBuf,
        algorithm: String,
        reason: String,
        hint: String,
    },
    #[error("the signing key `{}` cannot sign: {message}", .path.display())]
    Unusable { path: PathBuf, message: String },
    #[error("cannot sign `{}`: {message}", .path.display())]
    Sign { path: PathBuf, message: String },
}

impl crate::hint::Hint for SigningError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NotAKey { .. } => Some(
                "export it with `gpg --export-secret-keys --armor KEYID > keys/release.asc`"
                    .to_string(),
            ),
            Self::Algorithm { hint, .. } => Some(hint.clone()),
            Self::Unusable { .. } => Some(format!(
                "a protected key needs its passphrase in `${PASSPHRASE_VARIABLE}`"
            )),
            _ => None,
        }
    }
}

/// A loaded, checked signing key.
pub struct ReleaseSigner {
    signer: rpm::signature::pgp::Signer,
    public_key: String,
    path: PathBuf,
    /// When the signing key was made: no signature may be older (gpg
    /// rejects such a one as a time conflict).
    key_created: u64,
}

impl std::fmt::Debug for ReleaseSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ReleaseSigner")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ReleaseSigner {
    /// Load the key at `path` for `target`, unlocking it with `passphrase`.
    pub fn load(
        path: &Path,
        passphrase: Option<String>,
        target: &Target,
    ) -> Result<Self, SigningError> {
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let not_a_key = |message: String| SigningError::NotAKey {
            path: path.to_path_buf(),
            message,
        };
        let (mut keys, _) = SignedSecretKey::from_string_many(&text)
            .map_err(|error| not_a_key(error.to_string()))?;
        let key = keys
            .next()
            .ok_or_else(|| not_a_key("it holds no key".to_string()))?
            .map_err(|error| not_a_key(error.to_string()))?;
        let (algorithm, key_created) = signing_key_details(&key);
        check_algorithm(path, algorithm, target)?;
        let public_key = key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(|error| not_a_key(error.to_string()))?;
        let mut signer = rpm::signature::pgp::Signer::from_asc(&text)
            .map_err(|error| not_a_key(error.to_string()))?;
        if let Some(passphrase) = passphrase {
            signer = signer.with_key_passphrase(passphrase);
        }
        // A wrong or missing passphrase shows here, before any build.
        signer
            .sign(&b"vendor"[..], rpm::Timestamp(0))
            .map_err(|error| SigningError::Unusable {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        Ok(Self {
            signer,
            public_key,
            path: path.to_path_buf(),
            key_created,
        })
    }

    /// A signature's time: the signed thing's own time, but never before
    /// the key existed. Both are fixed, so signatures stay reproducible.
    fn signature_time(&self, time: u64) -> u32 {
        u32::try_from(time.max(self.key_created)).unwrap_or(u32::MAX)
    }

    /// The armored public key, for `RPM-GPG-KEY-<app>`.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Add a header signature to the RPM at `path`, dated its build time,
    /// and replace the file by rename.
    pub fn sign_rpm(&self, path: &Path) -> Result<(), SigningError> {
        let failed = |message: String| SigningError::Sign {
            path: path.to_path_buf(),
            message,
        };
        let mut package = rpm::Package::open(path).map_err(|error| failed(error.to_string()))?;
        let build_time = package
            .metadata
            .get_build_time()
            .map_err(|error| failed(error.to_string()))?;
        package
            .sign_with_timestamp(self.signer.clone(), self.signature_time(build_time))
            .map_err(|error| failed(error.to_string()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let mut temp =
            tempfile::NamedTempFile::new_in(folder).map_err(|error| failed(error.to_string()))?;
        package
            .write(&mut std::io::BufWriter::new(temp.as_file_mut()))
            .map_err(|error| failed(error.to_string()))?;
        std::fs::set_permissions(
            temp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .map_err(|error| failed(error.to_string()))?;
        temp.persist(path)
            .map_err(|error| failed(error.error.to_string()))?;
        Ok(())
    }

    /// An armored detached signature of `bytes` (for `repomd.xml.asc`),
    /// dated `timestamp`.
    pub fn sign_detached(
        &self,
        bytes: &[u8],
        timestamp: u64,
        label: &Path,
    ) -> Result<String, SigningError> {
        let failed = |message: String| SigningError::Sign {
            path: label.to_path_buf(),
            message,
        };
        let packet = self
            .signer
            .sign(bytes, rpm::Timestamp(self.signature_time(timestamp)))
            .map_err(|error| failed(error.to_string()))?;
        DetachedSignature::from_bytes(&packet[..])
            .and_then(|signature| signature.to_armored_string(ArmorOptions::default()))
            .map_err(|error| failed(error.to_string()))
    }
}

/// The algorithm and creation time of the key that will sign: a signing
/// subkey's, else the primary key's (as the rpm crate chooses).
fn signing_key_details(key: &SignedSecretKey) -> (PublicKeyAlgorithm, u64) {
    use pgp::types::KeyDetails;
    let created = |time: pgp::types::Timestamp| u64::from(time.as_secs());
    key.secret_subkeys
        .iter()
        .find(|subkey| {
            subkey
                .signatures
                .iter()
                .any(|signature| signature.key_flags().sign())
        })
        .map(|subkey| (subkey.key.algorithm(), created(subkey.key.created_at())))
        .unwrap_or_else(|| {
            (
                key.primary_key.algorithm(),
                created(key.primary_key.created_at()),
            )
        })
}

/// RSA everywhere; Ed25519 where the target's rpm is 4.16 or newer.
fn check_algorithm(
    path: &Path,
    algorithm: PublicKeyAlgorithm,
    target: &Target,
) -> Result<(), SigningError> {
    let name = match algorithm {
        PublicKeyAlgorithm::RSA => "RSA".to_string(),
        PublicKeyAlgorithm::EdDSALegacy | PublicKeyAlgorithm::Ed25519 => "Ed25519".to_string(),
        other => format!("{other:?}"),
    };
    let refuse = |reason: String, hint: &str| SigningError::Algorithm {
        path: path.to_path_buf(),
        algorithm: name.clone(),
        reason,
        hint: hint.to_string(),
    };
    match algorithm {
        PublicKeyAlgorithm::RSA => Ok(()),
        PublicKeyAlgorithm::EdDSALegacy | PublicKeyAlgorithm::Ed25519 => {
            if target.rpm_at_least(4, 16) {
                Ok(())
            } else {
                Err(refuse(
                    format!(
                        "rpm {} of `{}` cannot verify (EdDSA needs rpm 4.16)",
                        target.rpm_version, target.name
                    ),
                    "sign with an RSA key (`gpg --quick-gen-key NAME rsa3072 sign`)",
                ))
            }
        }
        _ => Err(refuse(
            "vendor does not sign with: only RSA and Ed25519 give reproducible signatures rpm verifies".to_string(),
            "sign with an RSA or Ed25519 key",
        )),
    }
}
