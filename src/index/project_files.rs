//! Every file of one project, grouped by release.
//!
//! Input: the project page's [`PageFiles`] (with the index it came from and
//! the `exclude-newer` cutoff), and files listed elsewhere (find-links,
//! direct references). Output: [`ProjectFiles`], its releases in ascending
//! version order.
//!
//! Invariants:
//! - a release of the page lists its files only when first asked for, so
//!   a lock pays for the releases it looks at, not for the history;
//! - the cutoff applies to the page's files: a release none of whose files
//!   was uploaded by then is not listed at all, and files uploaded later (or
//!   at an unknown time) are dropped; files given directly are kept;
//! - files named for another project are dropped, as a page may list them.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use pep440_rs::Version;

use super::page_files::PageFiles;
use super::IndexFile;
use crate::filename::DistFilename;
use crate::hash::Sha256;
use crate::name::PackageName;

/// Every file of one project, across releases.
pub struct ProjectFiles {
    pub name: PackageName,
    /// Ascending by version, one per version.
    releases: Vec<Release>,
}

/// The files of one version.
pub struct Release {
    version: Version,
    files: OnceLock<Vec<IndexFile>>,
    /// Where the files are decoded from, if they were not given.
    encoded: Option<(Arc<PageSource>, usize)>,
}

struct PageSource {
    page: PageFiles,
    name: PackageName,
    index: String,
    cutoff: Option<jiff::Timestamp>,
}

impl ProjectFiles {
    /// The files of `name` as given, grouped by version.
    pub fn from_files(name: PackageName, files: Vec<IndexFile>) -> Self {
        let mut project = Self {
            name,
            releases: Vec::new(),
        };
        project.add_files(files);
        project
    }

    /// The files of `name` on a page of `index`, uploaded by `cutoff`.
    pub(crate) fn from_page(
        name: PackageName,
        page: PageFiles,
        index: &str,
        cutoff: Option<jiff::Timestamp>,
    ) -> Self {
        let listed: Vec<(usize, Version)> = page
            .releases()
            .iter()
            .enumerate()
            .filter(|(_, release)| {
                cutoff.is_none_or(|cutoff| release.earliest_upload.is_some_and(|t| t <= cutoff))
            })
            .map(|(position, release)| (position, release.version.clone()))
            .collect();
        let source = Arc::new(PageSource {
            page,
            name: name.clone(),
            index: index.to_string(),
            cutoff,
        });
        let releases = listed
            .into_iter()
            .map(|(position, version)| Release {
                version,
                files: OnceLock::new(),
                encoded: Some((Arc::clone(&source), position)),
            })
            .collect();
        Self { name, releases }
    }

    /// Add `files` (those named for this project) to their releases.
    pub fn add_files(&mut self, files: impl IntoIterator<Item = IndexFile>) {
        for file in files {
            if file.filename.name() != &self.name {
                continue;
            }
            let version = file.filename.version();
            match self
                .releases
                .binary_search_by(|release| release.version.cmp(version))
            {
                Ok(position) => {
                    let release = &mut self.releases[position];
                    release.files();
                    if let Some(files) = release.files.get_mut() {
                        files.push(file);
                    }
                }
                Err(position) => {
                    let release = Release {
                        version: version.clone(),
                        files: OnceLock::from(vec![file]),
                        encoded: None,
                    };
                    self.releases.insert(position, release);
                }
            }
        }
    }

    /// Whether no release at all is listed.
    pub fn is_empty(&self) -> bool {
        self.releases.is_empty()
    }

    /// Ascending by version.
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// The files whose sha256 is one of `digests` (the `--hash` values of
    /// a requirement). Only releases with a matching digest are decoded:
    /// botocore's page lists thousands of files and a hashed lock needs two.
    pub fn with_digests(&self, digests: &BTreeSet<Sha256>) -> Self {
        let files = self
            .releases
            .iter()
            .filter(|release| release.may_have_digest(digests))
            .flat_map(Release::files)
            .filter(|file| {
                file.sha256
                    .as_ref()
                    .is_some_and(|sha256| digests.contains(sha256))
            })
            .cloned()
            .collect();
        Self::from_files(self.name.clone(), files)
    }

    /// Every file of every release, in ascending version order (this
    /// decodes them all: for small listings).
    pub fn all_files(&self) -> impl Iterator<Item = &IndexFile> {
        self.releases.iter().flat_map(Release::files)
    }
}

impl Release {
    /// Whether a file of this release may have one of `digests`: the
    /// page's releases are asked without decoding their files.
    fn may_have_digest(&self, digests: &BTreeSet<Sha256>) -> bool {
        match (&self.encoded, self.files.get()) {
            (Some((source, position)), None) => source.page.release_has_digest(*position, digests),
            _ => true,
        }
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The release's files in page order, then those added.
    pub fn files(&self) -> &[IndexFile] {
        self.files.get_or_init(|| self.decode_where(&|_| true))
    }

    /// Copies of the release's files whose names `keep` accepts. Until
    /// [`Self::files`] is asked for, only those are decoded past their
    /// names: a lock keeps a target's wheels of each release it looks at,
    /// and parsing the URLs of all the others was a fifth of a warm lock.
    pub fn files_where(&self, keep: &dyn Fn(&DistFilename) -> bool) -> Vec<IndexFile> {
        match self.files.get() {
            Some(files) => files
                .iter()
                .filter(|file| keep(&file.filename))
                .cloned()
                .collect(),
            None => self.decode_where(keep),
        }
    }

    fn decode_where(&self, keep: &dyn Fn(&DistFilename) -> bool) -> Vec<IndexFile> {
        let Some((source, position)) = &self.encoded else {
            return Vec::new();
        };
        let mut files = source.page.files_of_where(*position, keep);
        files.retain(|file| {
            file.filename.name() == &source.name
                && source.cutoff.is_none_or(|cutoff| {
                    file.upload_time.is_some_and(|uploaded| uploaded <= cutoff)
                })
        });
        for file in &mut files {
            file.index = Some(source.index.clone());
        }
        files
    }
}

impl fmt::Debug for ProjectFiles {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ProjectFiles")
            .field("name", &self.name)
            .field("releases", &self.releases.len())
            .finish()
    }
}
