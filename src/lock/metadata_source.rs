//! The resolver's [`MetadataSource`] over the real indexes.
//!
//! Input: package names and index files. Output: the files a project
//! lists ([`ProjectFiles`]) and a file's [`CoreMetadata`], from the async
//! [`IndexClient`] (memoized there), and for an sdist without static
//! metadata from an [`SdistMetadataBuilder`] when one is given.
//!
//! Invariants: [`IndexMetadata`] blocks the calling thread on the client,
//! so the resolver runs on a blocking thread; prefetches run on the
//! runtime and never block.

use std::sync::Arc;

use tokio::runtime::Handle;

use super::resolve::{MetadataPick, MetadataSource, ResolveError};
use crate::index::{CoreMetadata, IndexClient, IndexError, IndexFile, ProjectFiles};
use crate::name::PackageName;

/// Reads the metadata of an sdist that does not state it statically, by
/// building it ([`super::MetadataFromBackend`]).
pub trait SdistMetadataBuilder {
    fn metadata(
        &self,
        file: &IndexFile,
    ) -> Result<Arc<CoreMetadata>, Box<dyn std::error::Error + Send + Sync>>;
}

/// The configured indexes and find-links locations, through the async
/// client; sdists whose metadata is not static are built to read it when
/// an `sdist_metadata` builder is given, else refused.
pub struct IndexMetadata<'a> {
    client: &'a IndexClient,
    runtime: &'a Handle,
    sdist_metadata: Option<&'a dyn SdistMetadataBuilder>,
}

impl<'a> IndexMetadata<'a> {
    pub fn new(
        client: &'a IndexClient,
        runtime: &'a Handle,
        sdist_metadata: Option<&'a dyn SdistMetadataBuilder>,
    ) -> Self {
        Self {
            client,
            runtime,
            sdist_metadata,
        }
    }
}

impl MetadataSource for IndexMetadata<'_> {
    fn project(&self, name: &PackageName) -> Result<Arc<ProjectFiles>, ResolveError> {
        Ok(self.runtime.block_on(self.client.project(name))?)
    }

    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, ResolveError> {
        match (
            self.runtime.block_on(self.client.metadata(file)),
            self.sdist_metadata,
        ) {
            (Ok(metadata), _) => Ok(metadata),
            (Err(IndexError::MetadataNeedsBuild { .. }), Some(builder)) => builder
                .metadata(file)
                .map_err(|source| ResolveError::MetadataFromBackend {
                    filename: file.filename.to_string(),
                    source,
                }),
            (Err(error), _) => Err(error.into()),
        }
    }

    fn prefetch_metadata(&self, files: Vec<IndexFile>) {
        for file in files {
            if self.client.has_local_metadata(&file) {
                continue;
            }
            let client = self.client.clone();
            self.runtime.spawn(async move {
                let _ = client.metadata(&file).await;
            });
        }
    }

    fn prefetch(&self, name: &PackageName, pick: MetadataPick) {
        let client = self.client.clone();
        let name = name.clone();
        self.runtime.spawn(async move {
            let Ok(project) = client.project(&name).await else {
                return;
            };
            if let Some(file) = pick(project) {
                let _ = client.metadata(&file).await;
            }
        });
    }
}
