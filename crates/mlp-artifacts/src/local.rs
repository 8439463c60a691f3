use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use mlp_core::{Error, Result};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use crate::{ArtifactStore, ByteStream, Download, FileInfo, clean_path};

/// Artifacts in a local directory.
#[derive(Debug, Clone)]
pub struct LocalArtifactStore {
    root: PathBuf,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidFilename {
        // A name too long for the file system (ENAMETOOLONG): the client's path, not a fault here.
        return Error::invalid(format!("Invalid artifact path: {e}"));
    }
    Error::internal(format!("artifact store: {what} {}: {e}", path.display()))
}

impl LocalArtifactStore {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io_err("cannot create", &root, e))?;
        Ok(LocalArtifactStore { root })
    }

    fn resolve(&self, path: &str) -> Result<PathBuf> {
        let clean = clean_path(path)?;
        Ok(if clean.is_empty() {
            self.root.clone()
        } else {
            self.root.join(clean)
        })
    }
}

#[async_trait]
impl ArtifactStore for LocalArtifactStore {
    async fn put(&self, path: &str, mut body: ByteStream) -> Result<u64> {
        let target = self.resolve(path)?;
        if target == self.root {
            return Err(Error::invalid("An artifact path must name a file"));
        }
        let parent = target.parent().unwrap_or(&self.root);
        tokio::fs::create_dir_all(parent).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists || e.kind() == std::io::ErrorKind::NotADirectory {
                Error::invalid(format!("Cannot write '{path}': a parent path is a file"))
            } else {
                io_err("cannot create", parent, e)
            }
        })?;
        if tokio::fs::metadata(&target).await.map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::invalid(format!("Cannot write '{path}': it is a directory")));
        }
        // Write to a temporary sibling and rename, so readers never see a half-written file.
        let tmp = parent.join(format!(
            ".{}.upload-{}",
            // A prefix of the name only, so that a name near the length limit still fits.
            target
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("f")
                .chars()
                .take(32)
                .collect::<String>(),
            std::process::id() as u64 ^ rand_suffix()
        ));
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io_err("cannot create", &tmp, e))?;
        let mut written = 0u64;
        let result: Result<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Error::invalid(format!("upload interrupted: {e}")))?;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| io_err("cannot write", &tmp, e))?;
                written += chunk.len() as u64;
            }
            file.flush().await.map_err(|e| io_err("cannot flush", &tmp, e))?;
            file.sync_data().await.map_err(|e| io_err("cannot sync", &tmp, e))?;
            Ok(())
        }
        .await;
        drop(file);
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, &target)
            .await
            .map_err(|e| io_err("cannot rename", &target, e))?;
        Ok(written)
    }

    async fn get(&self, path: &str) -> Result<Download> {
        let target = self.resolve(path)?;
        let not_found = || Error::not_found(format!("Artifact '{path}' does not exist"));
        let meta = tokio::fs::metadata(&target).await.map_err(|_| not_found())?;
        if !meta.is_file() {
            return Err(not_found());
        }
        let file = tokio::fs::File::open(&target).await.map_err(|_| not_found())?;
        Ok(Download {
            size: meta.len(),
            body: Box::pin(ReaderStream::with_capacity(file, 64 * 1024)),
        })
    }

    async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let dir = self.resolve(path)?;
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(_) => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(|e| io_err("cannot list", &dir, e))? {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') && name.contains(".upload-") {
                continue;
            }
            let meta = entry
                .metadata()
                .await
                .map_err(|e| io_err("cannot stat", &entry.path(), e))?;
            out.push(FileInfo {
                path: name,
                is_dir: meta.is_dir(),
                // MLflow lists an empty file without a size.
                file_size: (!meta.is_dir() && meta.len() > 0).then_some(meta.len()),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let target = self.resolve(path)?;
        if target == self.root {
            return Err(Error::invalid("Refusing to delete the artifact root"));
        }
        match tokio::fs::metadata(&target).await {
            Ok(m) if m.is_dir() => tokio::fs::remove_dir_all(&target).await,
            Ok(_) => tokio::fs::remove_file(&target).await,
            Err(_) => return Ok(()),
        }
        .map_err(|e| io_err("cannot delete", &target, e))
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn body(s: &'static str) -> ByteStream {
        Box::pin(futures_util::stream::iter(vec![Ok(Bytes::from_static(s.as_bytes()))]))
    }

    async fn read(d: Download) -> String {
        let chunks: Vec<_> = d.body.collect().await;
        String::from_utf8(chunks.into_iter().flat_map(|c| c.unwrap().to_vec()).collect()).unwrap()
    }

    #[tokio::test]
    async fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalArtifactStore::new(dir.path()).unwrap();
        assert_eq!(s.put("1/r/artifacts/sub/a.txt", body("hello")).await.unwrap(), 5);
        s.put("1/r/artifacts/b.txt", body("x")).await.unwrap();
        let d = s.get("1/r/artifacts/sub/a.txt").await.unwrap();
        assert_eq!(d.size, 5);
        assert_eq!(read(d).await, "hello");
        let l = s.list("1/r/artifacts").await.unwrap();
        assert_eq!(
            l,
            vec![
                FileInfo {
                    path: "b.txt".into(),
                    is_dir: false,
                    file_size: Some(1)
                },
                FileInfo {
                    path: "sub".into(),
                    is_dir: true,
                    file_size: None
                },
            ]
        );
        assert!(s.list("1/r/artifacts/b.txt").await.unwrap().is_empty());
        assert!(s.list("nope").await.unwrap().is_empty());
        s.put("1/r/artifacts/sub/a.txt", body("bye")).await.unwrap();
        assert_eq!(read(s.get("1/r/artifacts/sub/a.txt").await.unwrap()).await, "bye");
        s.delete("1/r/artifacts/sub").await.unwrap();
        assert_eq!(
            s.get("1/r/artifacts/sub/a.txt").await.err().unwrap().code,
            mlp_core::ErrorCode::ResourceDoesNotExist
        );
        assert!(s.get("../x").await.is_err());
        assert!(s.get("1/r/artifacts").await.is_err(), "a directory is not a file");
    }
}
