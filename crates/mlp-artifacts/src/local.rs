//! Artifacts in a local directory.
//!
//! Every operation walks its path from an open descriptor of the root, one component at a time
//! and with `O_NOFOLLOW`, so a symbolic link anywhere below the root is refused rather than
//! followed out of it. Such a link can appear without the API (a job runs as the same user as
//! the worker and may share the data directory), and path-based calls would re-resolve the
//! whole path each time, links included. `clean_path` has already refused `..`, so a walk of
//! plain components with no links stays beneath the root, as `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)` would, but on every kernel. The root itself may be a link: the operator
//! chose it.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use mlp_core::{Error, Result};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;
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

fn errno_err(what: &str, path: &Path, e: Errno) -> Error {
    io_err(what, path, e.into())
}

fn symlink_refused(path: &str, link: &str) -> Error {
    Error::invalid(format!(
        "Invalid artifact path '{path}': '{link}' is a symbolic link, which this store does not follow"
    ))
}

/// Why a walk down the directories of a path stopped.
enum Walk {
    /// The prefix of the path up to this component is a symbolic link.
    Symlink(String),
    Missing,
    /// A component is a file (or anything else that is not a directory).
    NotDir,
    Io(String, Errno),
}

fn is_symlink_errno(e: Errno) -> bool {
    // O_NOFOLLOW on a link: ELOOP on Linux and macOS, EMLINK on FreeBSD.
    e == Errno::LOOP || e == Errno::MLINK
}

/// Opens the directory `name` in `dir`, refusing a link.
fn open_dir_at(dir: &OwnedFd, name: &str) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Descends from `root` through `dirs`, never following a link; with `create`, makes the
/// directories that are missing (each one `mkdirat` in its already opened parent).
fn walk(root: OwnedFd, dirs: &[&str], create: bool) -> std::result::Result<OwnedFd, Walk> {
    let mut dir = root;
    for (i, name) in dirs.iter().enumerate() {
        let mut opened = open_dir_at(&dir, name);
        if create && matches!(opened, Err(Errno::NOENT)) {
            match rustix::fs::mkdirat(&dir, *name, Mode::from_raw_mode(0o777)) {
                // EEXIST: made concurrently by another upload, or a link put there since; the
                // second open tells which.
                Ok(()) | Err(Errno::EXIST) => opened = open_dir_at(&dir, name),
                Err(e) => opened = Err(e),
            }
        }
        dir = opened.map_err(|e| {
            let prefix = dirs[..=i].join("/");
            match e {
                e if is_symlink_errno(e) => Walk::Symlink(prefix),
                Errno::NOENT => Walk::Missing,
                // With O_DIRECTORY, Linux reports a link as ENOTDIR: ask which it is.
                Errno::NOTDIR if matches!(kind_at(&dir, name), Ok(Some((FileType::Symlink, _)))) => {
                    Walk::Symlink(prefix)
                }
                Errno::NOTDIR => Walk::NotDir,
                e => Walk::Io(prefix, e),
            }
        })?;
    }
    Ok(dir)
}

/// The kind of `name` in `dir` itself, a link being reported as a link; `None` if absent.
fn kind_at(dir: &OwnedFd, name: &str) -> rustix::io::Result<Option<(FileType, u64)>> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some((FileType::from_raw_mode(st.st_mode), st.st_size.max(0) as u64))),
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes the directory `name` in `parent` and everything in it. Links inside are removed
/// themselves (`unlinkat` never follows), so what they point to is untouched.
fn remove_tree(parent: &OwnedFd, name: &CString) -> rustix::io::Result<()> {
    let dir = match rustix::fs::openat(
        parent,
        name.as_c_str(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(d) => d,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut entries = Vec::new();
    for entry in Dir::read_from(&dir)? {
        let entry = entry?;
        let n = entry.file_name();
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            entries.push((n.to_owned(), entry.file_type()));
        }
    }
    for (n, ty) in entries {
        let ty = match ty {
            FileType::Unknown => match rustix::fs::statat(&dir, n.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => FileType::from_raw_mode(st.st_mode),
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(e),
            },
            ty => ty,
        };
        let r = if ty == FileType::Directory {
            remove_tree(&dir, &n)
        } else {
            rustix::fs::unlinkat(&dir, n.as_c_str(), AtFlags::empty())
        };
        match r {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e),
        }
    }
    match rustix::fs::unlinkat(parent, name.as_c_str(), AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("artifact store: a file system task failed: {e}")))?
}

/// `a/b/c.txt` as (`["a", "b"]`, `"c.txt"`); the path is clean and not empty.
fn split(clean: &str) -> (Vec<String>, String) {
    let mut parts: Vec<String> = clean.split('/').map(str::to_string).collect();
    let name = parts.pop().unwrap_or_default();
    (parts, name)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

impl LocalArtifactStore {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io_err("cannot create", &root, e))?;
        Ok(LocalArtifactStore { root })
    }

    fn open_root(root: &Path) -> Result<OwnedFd> {
        rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| errno_err("cannot open", root, e))
    }
}

#[async_trait]
impl ArtifactStore for LocalArtifactStore {
    async fn put(&self, path: &str, mut body: ByteStream) -> Result<u64> {
        let clean = clean_path(path)?;
        if clean.is_empty() {
            return Err(Error::invalid("An artifact path must name a file"));
        }
        let (parents, name) = split(&clean);
        // A prefix of the name only, so that a name near the length limit still fits.
        let tmp = format!(
            ".{}.upload-{}",
            name.chars().take(32).collect::<String>(),
            std::process::id() as u64 ^ rand_suffix()
        );
        let root = self.root.clone();
        let (dir, file) = {
            let (path, name, tmp, clean) = (path.to_string(), name.clone(), tmp.clone(), clean.clone());
            blocking(move || {
                let dir = walk(Self::open_root(&root)?, &refs(&parents), true).map_err(|w| match w {
                    Walk::Symlink(link) => symlink_refused(&path, &link),
                    Walk::NotDir | Walk::Missing => {
                        Error::invalid(format!("Cannot write '{path}': a parent path is a file"))
                    }
                    Walk::Io(at, e) => errno_err("cannot create", &root.join(at), e),
                })?;
                match kind_at(&dir, &name) {
                    Ok(Some((FileType::Directory, _))) => {
                        return Err(Error::invalid(format!("Cannot write '{path}': it is a directory")));
                    }
                    Ok(Some((FileType::Symlink, _))) => return Err(symlink_refused(&path, &clean)),
                    Ok(_) => {}
                    Err(e) => return Err(errno_err("cannot stat", &root.join(&clean), e)),
                }
                // Written to a temporary sibling and renamed, so readers never see a
                // half-written file; EXCL and NOFOLLOW so that nothing already there is reused.
                let fd = rustix::fs::openat(
                    &dir,
                    tmp.as_str(),
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o666),
                )
                .map_err(|e| errno_err("cannot create", &root.join(&clean), e))?;
                Ok((dir, std::fs::File::from(fd)))
            })
            .await?
        };
        let dir = std::sync::Arc::new(dir);
        let mut file = tokio::fs::File::from_std(file);
        let shown = self.root.join(&tmp);
        let mut written = 0u64;
        let result: Result<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Error::invalid(format!("upload interrupted: {e}")))?;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| io_err("cannot write", &shown, e))?;
                written += chunk.len() as u64;
            }
            file.flush().await.map_err(|e| io_err("cannot flush", &shown, e))?;
            file.sync_data().await.map_err(|e| io_err("cannot sync", &shown, e))?;
            Ok(())
        }
        .await;
        drop(file);
        let root = self.root.clone();
        let path = path.to_string();
        blocking(move || {
            let renamed = result.and_then(|()| {
                // renameat replaces the name itself, never what a link there points to.
                rustix::fs::renameat(&*dir, tmp.as_str(), &*dir, name.as_str()).map_err(|e| match e {
                    Errno::ISDIR | Errno::NOTEMPTY | Errno::EXIST => {
                        Error::invalid(format!("Cannot write '{path}': it is a directory"))
                    }
                    e => errno_err("cannot rename", &root.join(&clean), e),
                })
            });
            if renamed.is_err() {
                let _ = rustix::fs::unlinkat(&*dir, tmp.as_str(), AtFlags::empty());
            }
            renamed
        })
        .await?;
        Ok(written)
    }

    async fn get(&self, path: &str) -> Result<Download> {
        let clean = clean_path(path)?;
        let not_found = {
            let path = path.to_string();
            move || Error::not_found(format!("Artifact '{path}' does not exist"))
        };
        if clean.is_empty() {
            return Err(not_found());
        }
        let (parents, name) = split(&clean);
        let root = self.root.clone();
        let path = path.to_string();
        let (file, size) = blocking(move || {
            let dir = walk(Self::open_root(&root)?, &refs(&parents), false).map_err(|w| match w {
                Walk::Symlink(link) => symlink_refused(&path, &link),
                Walk::Missing | Walk::NotDir => not_found(),
                Walk::Io(at, e) => errno_err("cannot open", &root.join(at), e),
            })?;
            // NONBLOCK: opening a FIFO someone left here must not hang the worker thread; it
            // changes nothing for a regular file.
            let fd = rustix::fs::openat(
                &dir,
                name.as_str(),
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
                Mode::empty(),
            )
            .map_err(|e| match e {
                e if is_symlink_errno(e) => symlink_refused(&path, &clean),
                Errno::NAMETOOLONG => errno_err("cannot open", &root.join(&clean), e),
                _ => not_found(),
            })?;
            let st = rustix::fs::fstat(&fd).map_err(|e| errno_err("cannot stat", &root.join(&clean), e))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                return Err(not_found());
            }
            Ok((std::fs::File::from(fd), st.st_size.max(0) as u64))
        })
        .await?;
        Ok(Download {
            size,
            body: Box::pin(ReaderStream::with_capacity(tokio::fs::File::from_std(file), 64 * 1024)),
        })
    }

    async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let clean = clean_path(path)?;
        let dirs: Vec<String> = if clean.is_empty() {
            Vec::new()
        } else {
            clean.split('/').map(str::to_string).collect()
        };
        let root = self.root.clone();
        let path = path.to_string();
        blocking(move || {
            let dir = match walk(Self::open_root(&root)?, &refs(&dirs), false) {
                Ok(d) => d,
                Err(Walk::Missing | Walk::NotDir) => return Ok(Vec::new()),
                Err(Walk::Symlink(link)) => return Err(symlink_refused(&path, &link)),
                Err(Walk::Io(at, e)) => return Err(errno_err("cannot open", &root.join(at), e)),
            };
            let shown = root.join(&clean);
            let mut out = Vec::new();
            for entry in Dir::read_from(&dir).map_err(|e| errno_err("cannot list", &shown, e))? {
                let entry = entry.map_err(|e| errno_err("cannot list", &shown, e))?;
                let name = entry.file_name().to_string_lossy().to_string();
                if name == "." || name == ".." || (name.starts_with('.') && name.contains(".upload-")) {
                    continue;
                }
                let st = match rustix::fs::statat(&dir, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => st,
                    // Deleted since the directory was read.
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(errno_err("cannot stat", &shown.join(&name), e)),
                };
                let size = st.st_size.max(0) as u64;
                // Links (and sockets, FIFOs) are not artifacts: reporting them would describe
                // what lies outside the store.
                let is_dir = match FileType::from_raw_mode(st.st_mode) {
                    FileType::Directory => true,
                    FileType::RegularFile => false,
                    _ => continue,
                };
                out.push(FileInfo {
                    path: name,
                    is_dir,
                    // MLflow lists an empty file without a size.
                    file_size: (!is_dir && size > 0).then_some(size),
                });
            }
            out.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(out)
        })
        .await
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let clean = clean_path(path)?;
        if clean.is_empty() {
            return Err(Error::invalid("Refusing to delete the artifact root"));
        }
        let (parents, name) = split(&clean);
        let root = self.root.clone();
        let path = path.to_string();
        blocking(move || {
            let dir = match walk(Self::open_root(&root)?, &refs(&parents), false) {
                Ok(d) => d,
                // Deleting nothing is not an error.
                Err(Walk::Missing | Walk::NotDir) => return Ok(()),
                Err(Walk::Symlink(link)) => return Err(symlink_refused(&path, &link)),
                Err(Walk::Io(at, e)) => return Err(errno_err("cannot open", &root.join(at), e)),
            };
            let shown = root.join(&clean);
            let r = match kind_at(&dir, &name).map_err(|e| errno_err("cannot stat", &shown, e))? {
                None => return Ok(()),
                Some((FileType::Symlink, _)) => return Err(symlink_refused(&path, &clean)),
                Some((FileType::Directory, _)) => {
                    let c = CString::new(name).map_err(|_| Error::invalid("Invalid artifact path"))?;
                    remove_tree(&dir, &c)
                }
                Some(_) => match rustix::fs::unlinkat(&dir, name.as_str(), AtFlags::empty()) {
                    Err(Errno::NOENT) => Ok(()),
                    r => r,
                },
            };
            r.map_err(|e| errno_err("cannot delete", &shown, e))
        })
        .await
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
