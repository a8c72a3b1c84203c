//! Core metadata of sdists that do not state it statically, through their
//! PEP 517 backend.
//!
//! Input: an index file (an sdist whose `PKG-INFO` is older than Metadata
//! 2.2 or marks `Requires-Dist` dynamic, with no egg-info to fall back on),
//! the target's Python, the policies and the index. Output: its
//! [`CoreMetadata`], from the `METADATA` of a wheel built in its build
//! environment on this host (see [`SdistContext::built_metadata`]).
//!
//! Invariants: the build host is detected once, on first need (see
//! [`LazyBuildHost`]), so a lock that never meets such an sdist never looks
//! for an interpreter; the
//! answer is cached by the sdist's sha256 and the interpreter's `X.Y`, so a
//! relock builds nothing; only sdists with a sha256 are built.

use std::sync::Arc;

use tokio::runtime::Handle;

use super::build_environment::{build_settings, BuildRequirementsError, SdistContext};
use super::metadata_source::SdistMetadataBuilder;
use crate::cache::Bucket;
use crate::filename::DistFilename;
use crate::host::LazyBuildHost;
use crate::index::{CoreMetadata, IndexClient, IndexFile};
use crate::policy::Policies;

/// Builds sdists on this host to read their metadata; shared by one lock.
pub struct MetadataFromBackend<'a> {
    host: &'a LazyBuildHost,
    policies: &'a Policies,
    client: &'a IndexClient,
    runtime: &'a Handle,
}

impl<'a> MetadataFromBackend<'a> {
    pub fn new(
        host: &'a LazyBuildHost,
        policies: &'a Policies,
        client: &'a IndexClient,
        runtime: &'a Handle,
    ) -> Self {
        Self {
            host,
            policies,
            client,
            runtime,
        }
    }

    /// The metadata of the sdist `file`, built once per sdist and host
    /// Python series.
    pub fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, BuildRequirementsError> {
        let will_not_build = |reason: &str| BuildRequirementsError::WillNotBuild {
            filename: file.filename.to_string(),
            reason: reason.to_string(),
        };
        let DistFilename::Sdist(sdist) = &file.filename else {
            return Err(will_not_build("it is not an sdist"));
        };
        let Ok(artifact) = super::to_artifact(&sdist.name, file) else {
            return Err(will_not_build("the index gives no sha256 for it"));
        };
        let (major, minor) = self.host.python_series();
        let key = format!("pep517/{}-cp{major}{minor}.METADATA", artifact.sha256);
        let cache = self.client.cache();
        if let Some(text) = cache
            .read_entry(Bucket::Metadata, &key)
            .and_then(|bytes| String::from_utf8(bytes).ok())
        {
            if let Ok(metadata) = CoreMetadata::parse(&text) {
                return Ok(Arc::new(metadata));
            }
        }
        let settings = build_settings(self.policies, &sdist.name);
        let context = SdistContext::fetch(
            &sdist.name,
            &sdist.version,
            &artifact,
            self.host,
            &settings,
            self.client,
            self.runtime,
        )?;
        let text = context.built_metadata()?;
        let metadata =
            CoreMetadata::parse(&text).map_err(|reason| BuildRequirementsError::BuiltMetadata {
                package: sdist.name.clone(),
                version: sdist.version.clone(),
                reason,
            })?;
        // A failed cache write only costs a rebuild next time.
        let _ = cache.write_entry(Bucket::Metadata, &key, text.as_bytes());
        Ok(Arc::new(metadata))
    }
}

impl SdistMetadataBuilder for MetadataFromBackend<'_> {
    fn metadata(
        &self,
        file: &IndexFile,
    ) -> Result<Arc<CoreMetadata>, Box<dyn std::error::Error + Send + Sync>> {
        MetadataFromBackend::metadata(self, file).map_err(Into::into)
    }
}
