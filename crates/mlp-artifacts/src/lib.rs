//! Artifact storage behind one trait. Paths are relative, `/`-separated and checked once here
//! (no `..`, no absolute paths), so no back-end can be walked out of its root. Bodies are
//! streamed both ways: nothing holds a whole file in memory.
//!
//! Back-ends: a local directory ([`LocalArtifactStore`]) and any S3-compatible object store
//! ([`S3ArtifactStore`]); [`open`] picks one from the artifact root URI.

#[cfg(feature = "conformance")]
pub mod conformance;
mod local;
mod s3;

use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use mlp_core::{Error, Result};

pub use local::LocalArtifactStore;
pub use s3::{PART_SIZE as S3_PART_SIZE, S3ArtifactStore, S3Options};

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Relative to the listed directory.
    pub path: String,
    pub is_dir: bool,
    pub file_size: Option<u64>,
}

pub struct Download {
    pub size: u64,
    pub body: ByteStream,
}

#[async_trait]
pub trait ArtifactStore: Send + Sync + 'static {
    /// Writes `body` at `path`, replacing what is there; returns the bytes written. The new
    /// content becomes visible only once complete.
    async fn put(&self, path: &str, body: ByteStream) -> Result<u64>;
    /// Opens the file at `path`; RESOURCE_DOES_NOT_EXIST if there is none.
    async fn get(&self, path: &str) -> Result<Download>;
    /// Lists the direct children of directory `path` (empty for a file or a missing path).
    async fn list(&self, path: &str) -> Result<Vec<FileInfo>>;
    /// Deletes a file or a whole directory; deleting nothing is not an error.
    async fn delete(&self, path: &str) -> Result<()>;
    /// A short description for logs and readiness (`file:///data/artifacts`).
    fn describe(&self) -> String;
}

/// Opens the artifact store of an artifact root: `s3://bucket/prefix` (with `s3` options), or a
/// local directory given as a plain path or a `file://` URI. Does not contact a remote store.
pub fn open(root: &str, s3: &S3Options) -> Result<Arc<dyn ArtifactStore>> {
    let root = root.trim();
    if root.starts_with("s3://") {
        return s3::open_s3(root, s3);
    }
    let dir = match root.strip_prefix("file://") {
        Some(p) => p,
        None if root.contains("://") || root.starts_with("mlflow-artifacts:") => {
            return Err(Error::invalid(format!(
                "unsupported artifact root '{root}': expected a directory, file:///path or s3://bucket/prefix"
            )));
        }
        None => root,
    };
    if dir.is_empty() {
        return Err(Error::invalid("the artifact root is empty"));
    }
    Ok(Arc::new(LocalArtifactStore::new(dir)?))
}

/// Normalises an artifact path: strips leading/trailing slashes, refuses `..`, `.`, empty
/// segments inside, backslashes and NUL.
pub fn clean_path(path: &str) -> Result<String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for seg in trimmed.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\') || seg.contains('\0') {
            return Err(Error::invalid(format!(
                "Invalid artifact path: '{path}'. Paths must be relative and must not contain '..'"
            )));
        }
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::{S3Options, clean_path, open};

    #[test]
    fn paths() {
        assert_eq!(clean_path("/1/abc/artifacts/x.txt").unwrap(), "1/abc/artifacts/x.txt");
        assert_eq!(clean_path("").unwrap(), "");
        assert!(clean_path("1/../../etc/passwd").is_err());
        assert!(clean_path("a//b").is_err());
        assert!(clean_path("a/./b").is_err());
        assert!(clean_path("a\\b").is_err());
    }

    #[test]
    fn open_chooses_by_scheme() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a");
        let s = open(plain.to_str().unwrap(), &S3Options::default()).unwrap();
        assert_eq!(s.describe(), format!("file://{}", plain.display()));
        let uri = format!("file://{}", dir.path().join("b").display());
        assert_eq!(open(&uri, &S3Options::default()).unwrap().describe(), uri);
        let s3 = S3Options {
            endpoint: Some("http://127.0.0.1:9000".into()),
            access_key_id: Some("k".into()),
            secret_access_key: Some("s".into()),
            ..Default::default()
        };
        assert!(
            open("s3://bucket/prefix", &s3)
                .unwrap()
                .describe()
                .starts_with("s3://bucket/prefix")
        );
        assert!(open("gs://bucket/x", &s3).is_err());
        assert!(open("", &s3).is_err());
    }
}
