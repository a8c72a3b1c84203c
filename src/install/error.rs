//! Why installing a wheel failed.
//!
//! [`InstallError::Refused`] covers every way a wheel's own content can be
//! wrong or hostile; it always names the wheel and the entry so the user can
//! tell which artifact to distrust. The other variants are about the build
//! host (files, interpreter).

use std::fmt;
use std::path::PathBuf;

use crate::excerpt::{excerpt, shorten_quoted};
use crate::io_failure::{io_failure, IoFailure};

use crate::archive_paths::UnsafeName;

/// A failure of [`super::install_wheel`].
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("refusing wheel `{}`: {}", excerpt(.wheel), shorten_quoted(&format!("entry `{entry}` {reason}")))]
    Refused {
        wheel: String,
        entry: String,
        reason: Refusal,
    },
    #[error("cannot read wheel `{wheel}` as a zip archive: {source}")]
    Archive {
        wheel: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("`{wheel}` is not a wheel file name: {reason}")]
    InvalidFilename { wheel: String, reason: String },
    #[error("the install prefix `{}` must be an absolute path without `..`", prefix.display())]
    InvalidPrefix { prefix: PathBuf },
    #[error(transparent)]
    Io(#[from] IoFailure),
    #[error("`{}` is not a working Python {expected} interpreter ({found})", interpreter.display())]
    InterpreterMismatch {
        interpreter: PathBuf,
        expected: String,
        found: String,
    },
    #[error(
        "cannot compile byte-code for Python {version}: hash-based `.pyc` files need Python 3.7 \
         or newer"
    )]
    BytecodeUnsupported { version: String },
    #[error("byte-compiling `{wheel}` with `{}` failed ({status}): {stderr}", interpreter.display())]
    Bytecode {
        wheel: String,
        interpreter: PathBuf,
        status: String,
        stderr: String,
    },
}

impl crate::hint::Hint for InstallError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Refused { .. } => Some("the wheel is damaged or was tampered with; fetch it again from a trusted index or report it to its publisher".to_string()),
            Self::InterpreterMismatch { expected, .. } => Some(format!("point vendor at the build host's Python {expected}")),
            Self::BytecodeUnsupported { .. } => Some("target a newer Python, or install without byte-code".to_string()),
            _ => None,
        }
    }
}

/// What is wrong with one entry of a wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The entry's name is not a safe relative path (absolute, `..`, ...).
    UnsafePath(UnsafeName),
    /// A symbolic link whose target leaves the tree it belongs to.
    LinkEscapes { target: String },
    /// A symbolic link whose target runs through another symbolic link.
    LinkThroughLink { target: String },
    /// The entry lies below a symbolic link, so writing it would follow the link.
    BelowLink { link: String },
    /// Two entries (or an entry and a generated file) land on the same path.
    Duplicate,
    /// The entry installs to the same path as `other` (an entry or a generated file).
    SamePathAs { other: String, path: String },
    /// The entry inflates to more (or fewer) bytes than its header declares.
    SizeMismatch {
        declared: u64,
        actual: u64,
        more: bool,
    },
    /// The declared sizes exceed what any real wheel needs.
    TooLarge { declared: u64, limit: u64 },
    /// The declared size is more than deflate can produce from the compressed size.
    ImpossibleRatio { declared: u64, compressed: u64 },
    /// The archive has more entries than any real wheel needs.
    TooManyEntries { count: usize, limit: usize },
    /// The entry's digest differs from RECORD's.
    HashMismatch {
        algorithm: String,
        expected: String,
        actual: String,
    },
    /// The entry's size differs from RECORD's.
    RecordSizeMismatch { recorded: u64, actual: u64 },
    /// The entry is in the archive but not listed in RECORD.
    NotInRecord,
    /// RECORD lists the entry but the archive lacks it.
    MissingFromArchive,
    /// RECORD lists the entry without a usable hash.
    UnhashedInRecord(String),
    /// A required part of the wheel is missing (`.dist-info`, METADATA, WHEEL, RECORD).
    Missing(&'static str),
    /// The entry names another distribution or version than the wheel file name.
    ForeignDistribution { expected: String },
    /// `Wheel-Version` is not 1.x.
    UnsupportedWheelVersion(String),
    /// A `.data/<key>` directory with a key the wheel spec does not define.
    UnknownDataScheme,
    /// A metadata file that cannot be parsed.
    Invalid(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsafePath(why) => write!(formatter, "{why}"),
            Self::LinkEscapes { target } => write!(
                formatter,
                "is a symbolic link to `{target}`, which points outside the tree it is installed in"
            ),
            Self::LinkThroughLink { target } => write!(
                formatter,
                "is a symbolic link to `{target}`, which runs through another symbolic link"
            ),
            Self::BelowLink { link } => {
                write!(formatter, "lies below the symbolic link `{link}`")
            }
            Self::Duplicate => write!(formatter, "appears more than once"),
            Self::SamePathAs { other, path } => write!(
                formatter,
                "installs to `{path}`, like `{other}`"
            ),
            Self::SizeMismatch {
                declared,
                actual,
                more: true,
            } => write!(
                formatter,
                "inflates to more than its declared {declared} bytes (read {actual} before stopping)"
            ),
            Self::SizeMismatch {
                declared, actual, ..
            } => write!(
                formatter,
                "inflates to {actual} bytes but declares {declared}"
            ),
            Self::TooLarge { declared, limit } => write!(
                formatter,
                "brings the declared unpacked size to {declared} bytes, over the limit of {limit}"
            ),
            Self::ImpossibleRatio {
                declared,
                compressed,
            } => write!(
                formatter,
                "declares {declared} bytes from {compressed} compressed bytes, more than deflate \
                 can produce"
            ),
            Self::TooManyEntries { count, limit } => {
                write!(formatter, "is one of {count} entries, over the limit of {limit}")
            }
            Self::HashMismatch {
                algorithm,
                expected,
                actual,
            } => write!(
                formatter,
                "has {algorithm} `{actual}` but RECORD says `{expected}`"
            ),
            Self::RecordSizeMismatch { recorded, actual } => write!(
                formatter,
                "is {actual} bytes but RECORD says {recorded}"
            ),
            Self::NotInRecord => write!(formatter, "is not listed in RECORD"),
            Self::MissingFromArchive => {
                write!(formatter, "is listed in RECORD but missing from the archive")
            }
            Self::UnhashedInRecord(why) => write!(formatter, "has no usable hash in RECORD: {why}"),
            Self::Missing(what) => write!(formatter, "is missing: {what}"),
            Self::ForeignDistribution { expected } => write!(
                formatter,
                "belongs to another distribution than the wheel file name's `{expected}`"
            ),
            Self::UnsupportedWheelVersion(version) => write!(
                formatter,
                "declares `Wheel-Version: {version}`; only major version 1 is supported"
            ),
            Self::UnknownDataScheme => write!(
                formatter,
                "is in a `.data` directory other than purelib, platlib, scripts, headers or data"
            ),
            Self::Invalid(why) => write!(formatter, "is invalid: {why}"),
        }
    }
}

/// Builds [`InstallError::Refused`] for one wheel.
#[derive(Clone, Copy)]
pub(super) struct Refuser<'a> {
    pub wheel: &'a str,
}

impl Refuser<'_> {
    pub fn refuse(&self, entry: impl Into<String>, reason: Refusal) -> InstallError {
        InstallError::Refused {
            wheel: self.wheel.to_string(),
            entry: entry.into(),
            reason,
        }
    }
}

/// Attach the action and path to an I/O error (see [`crate::io_failure`]).
pub(crate) fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> InstallError {
    let failure = io_failure(action, path);
    move |source| InstallError::Io(failure(source))
}
