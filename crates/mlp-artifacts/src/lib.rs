//! Artifact storage behind one trait. Paths are relative, `/`-separated and checked once here
//! (no `..`, no absolute paths), so no back-end can be walked out of its root. Bodies are
//! streamed both ways: nothing holds a whole file in memory.

mod local;

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use mlp_core::{Error, Result};

pub use local::LocalArtifactStore;

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
    use super::clean_path;

    #[test]
    fn paths() {
        assert_eq!(clean_path("/1/abc/artifacts/x.txt").unwrap(), "1/abc/artifacts/x.txt");
        assert_eq!(clean_path("").unwrap(), "");
        assert!(clean_path("1/../../etc/passwd").is_err());
        assert!(clean_path("a//b").is_err());
        assert!(clean_path("a/./b").is_err());
        assert!(clean_path("a\\b").is_err());
    }
}
