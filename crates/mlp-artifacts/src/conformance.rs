//! The artifact conformance suite: generic checks over `&dyn ArtifactStore` that every back-end
//! must pass (local directory, S3-compatible stores), so that a behaviour cannot differ between
//! them without a test failing. Each check works under its own `base` directory, so the checks
//! can share one store. Failures panic (they are meant to be called from `#[tokio::test]`s).
//!
//! ```ignore
//! #[tokio::test]
//! async fn conformance() {
//!     let store = /* a fresh store */;
//!     mlp_artifacts::conformance::run_all(&store).await;
//! }
//! ```

use std::hash::{DefaultHasher, Hasher};

use bytes::Bytes;
use futures_util::StreamExt;
use mlp_core::ErrorCode;

use crate::{ArtifactStore, ByteStream, FileInfo};

/// Size of the streamed upload of [`large_streamed_upload`]: several multipart parts.
pub const LARGE_UPLOAD_SIZE: u64 = 20 * 1024 * 1024;

/// Runs every check, each under its own directory.
pub async fn run_all(store: &dyn ArtifactStore) {
    put_get_overwrite(store, "conf/put").await;
    list_nested(store, "conf/list").await;
    delete_file_and_dir(store, "conf/delete").await;
    missing_file(store, "conf/missing").await;
    path_traversal_refused(store).await;
    large_streamed_upload(store, "conf/large", LARGE_UPLOAD_SIZE).await;
    interrupted_upload_is_not_visible(store, "conf/interrupted").await;
}

/// A body of one chunk.
pub fn body(bytes: impl Into<Bytes>) -> ByteStream {
    let b: Bytes = bytes.into();
    Box::pin(futures_util::stream::iter(vec![Ok(b)]))
}

/// A deterministic pseudo-random body of `size` bytes in `chunk`-sized pieces, generated lazily
/// (never held in memory as a whole).
pub fn generated_body(size: u64, chunk: usize, seed: u64) -> ByteStream {
    let state = (0u64, seed | 1);
    Box::pin(futures_util::stream::unfold(state, move |(sent, mut x)| async move {
        if sent >= size {
            return None;
        }
        let n = chunk.min((size - sent) as usize);
        let mut buf = Vec::with_capacity(n + 8);
        while buf.len() < n {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.extend_from_slice(&x.to_le_bytes());
        }
        buf.truncate(n);
        Some((Ok(Bytes::from(buf)), (sent + n as u64, x)))
    }))
}

/// Length and hash of a stream, consumed chunk by chunk.
pub async fn digest(mut s: ByteStream) -> (u64, u64) {
    let mut h = DefaultHasher::new();
    let mut n = 0u64;
    while let Some(chunk) = s.next().await {
        let chunk = chunk.expect("the body streams without error");
        h.write(&chunk);
        n += chunk.len() as u64;
    }
    (n, h.finish())
}

/// Downloads `path` whole (for small files).
pub async fn read(store: &dyn ArtifactStore, path: &str) -> Vec<u8> {
    let d = store.get(path).await.unwrap_or_else(|e| panic!("get {path}: {e}"));
    let size = d.size;
    let mut out = Vec::new();
    let mut body = d.body;
    while let Some(c) = body.next().await {
        out.extend_from_slice(&c.expect("the body streams without error"));
    }
    assert_eq!(out.len() as u64, size, "announced size of {path}");
    out
}

fn file(path: &str, size: u64) -> FileInfo {
    FileInfo {
        path: path.into(),
        is_dir: false,
        file_size: Some(size),
    }
}

fn dir(path: &str) -> FileInfo {
    FileInfo {
        path: path.into(),
        is_dir: true,
        file_size: None,
    }
}

async fn expect_code<T>(what: &str, r: mlp_core::Result<T>, code: ErrorCode) {
    match r {
        Ok(_) => panic!("{what}: succeeded, expected {}", code.as_str()),
        Err(e) => assert_eq!(e.code, code, "{what}: {e}"),
    }
}

/// Put, get, overwrite (shorter content), empty files and names with spaces.
pub async fn put_get_overwrite(store: &dyn ArtifactStore, base: &str) {
    let p = format!("{base}/model/weights.bin");
    assert_eq!(store.put(&p, body("hello world")).await.unwrap(), 11);
    assert_eq!(read(store, &p).await, b"hello world");
    assert_eq!(store.put(&p, body("bye")).await.unwrap(), 3);
    assert_eq!(read(store, &p).await, b"bye", "an overwrite replaces the whole content");

    let empty = format!("{base}/empty.txt");
    assert_eq!(store.put(&empty, body(Bytes::new())).await.unwrap(), 0);
    assert_eq!(read(store, &empty).await, b"");

    let odd = format!("{base}/with space/and [brackets] 100%.txt");
    store.put(&odd, body("odd")).await.unwrap();
    assert_eq!(read(store, &odd).await, b"odd");
    let listed = store.list(&format!("{base}/with space")).await.unwrap();
    assert_eq!(listed, vec![file("and [brackets] 100%.txt", 3)]);

    // Leading and trailing slashes are normalised away.
    assert_eq!(read(store, &format!("/{p}")).await, b"bye");

    // Several chunks make one file.
    let chunks: Vec<std::io::Result<Bytes>> = vec![Ok("a".into()), Ok("bc".into()), Ok(Bytes::new()), Ok("d".into())];
    let multi = format!("{base}/chunks.txt");
    assert_eq!(
        store
            .put(&multi, Box::pin(futures_util::stream::iter(chunks)))
            .await
            .unwrap(),
        4
    );
    assert_eq!(read(store, &multi).await, b"abcd");
}

/// Listing: direct children only, relative names sorted by name; a file path or a missing path
/// lists nothing.
pub async fn list_nested(store: &dyn ArtifactStore, base: &str) {
    store.put(&format!("{base}/a.txt"), body("aaaa")).await.unwrap();
    store.put(&format!("{base}/sub/b.txt"), body("bb")).await.unwrap();
    store.put(&format!("{base}/sub/deeper/c.txt"), body("c")).await.unwrap();
    store.put(&format!("{base}/z/d.txt"), body("")).await.unwrap();
    // A sibling sharing a name prefix is not a child.
    store.put(&format!("{base}-sibling/x.txt"), body("x")).await.unwrap();

    assert_eq!(
        store.list(base).await.unwrap(),
        vec![file("a.txt", 4), dir("sub"), dir("z")]
    );
    assert_eq!(
        store.list(&format!("/{base}/")).await.unwrap(),
        vec![file("a.txt", 4), dir("sub"), dir("z")],
        "slashes at either end are ignored"
    );
    assert_eq!(
        store.list(&format!("{base}/sub")).await.unwrap(),
        vec![file("b.txt", 2), dir("deeper")]
    );
    assert_eq!(
        store.list(&format!("{base}/sub/deeper")).await.unwrap(),
        vec![file("c.txt", 1)]
    );
    assert!(
        store.list(&format!("{base}/a.txt")).await.unwrap().is_empty(),
        "a file lists nothing"
    );
    assert!(store.list(&format!("{base}/missing")).await.unwrap().is_empty());
    assert!(
        store.list(&format!("{base}/su")).await.unwrap().is_empty(),
        "no partial names"
    );
    let root = store.list("").await.unwrap();
    assert!(
        root.iter().any(|f| f.is_dir && base.starts_with(&f.path)),
        "the root lists the top directory: {root:?}"
    );
}

/// Delete a file, a whole directory, and nothing (not an error); neighbours survive.
pub async fn delete_file_and_dir(store: &dyn ArtifactStore, base: &str) {
    for p in ["keep.txt", "f.txt", "d/1.txt", "d/e/2.txt", "d/e/f/3.txt", "dx/4.txt"] {
        store.put(&format!("{base}/{p}"), body(p.to_string())).await.unwrap();
    }
    store.delete(&format!("{base}/f.txt")).await.unwrap();
    expect_code(
        "get a deleted file",
        store.get(&format!("{base}/f.txt")).await.map(|_| ()),
        ErrorCode::ResourceDoesNotExist,
    )
    .await;

    store.delete(&format!("{base}/d")).await.unwrap();
    for p in ["d/1.txt", "d/e/2.txt", "d/e/f/3.txt"] {
        expect_code(
            "get a file of a deleted directory",
            store.get(&format!("{base}/{p}")).await.map(|_| ()),
            ErrorCode::ResourceDoesNotExist,
        )
        .await;
    }
    assert!(store.list(&format!("{base}/d")).await.unwrap().is_empty());
    assert_eq!(
        store.list(base).await.unwrap(),
        vec![dir("dx"), file("keep.txt", 8)],
        "only the deleted directory is gone"
    );
    assert_eq!(read(store, &format!("{base}/dx/4.txt")).await, b"dx/4.txt");

    store.delete(&format!("{base}/never-existed")).await.unwrap();
    store.delete(&format!("{base}/d")).await.unwrap();
    expect_code(
        "delete the root",
        store.delete("").await,
        ErrorCode::InvalidParameterValue,
    )
    .await;
    expect_code(
        "delete the root",
        store.delete("/").await,
        ErrorCode::InvalidParameterValue,
    )
    .await;
}

/// A missing file, and a directory, are RESOURCE_DOES_NOT_EXIST on get.
pub async fn missing_file(store: &dyn ArtifactStore, base: &str) {
    expect_code(
        "get a missing file",
        store.get(&format!("{base}/nope.txt")).await.map(|_| ()),
        ErrorCode::ResourceDoesNotExist,
    )
    .await;
    store.put(&format!("{base}/dir/f"), body("f")).await.unwrap();
    expect_code(
        "get a directory",
        store.get(&format!("{base}/dir")).await.map(|_| ()),
        ErrorCode::ResourceDoesNotExist,
    )
    .await;
    expect_code(
        "get the root",
        store.get("").await.map(|_| ()),
        ErrorCode::ResourceDoesNotExist,
    )
    .await;
}

/// `..`, `.`, empty segments, backslashes and NUL are refused by every operation.
pub async fn path_traversal_refused(store: &dyn ArtifactStore) {
    for bad in [
        "../escape.txt",
        "a/../../etc/passwd",
        "a/./b",
        "a//b",
        "a\\..\\b",
        "a/\0/b",
        "..",
    ] {
        let invalid = ErrorCode::InvalidParameterValue;
        expect_code(&format!("put {bad:?}"), store.put(bad, body("x")).await, invalid).await;
        expect_code(&format!("get {bad:?}"), store.get(bad).await.map(|_| ()), invalid).await;
        expect_code(&format!("list {bad:?}"), store.list(bad).await, invalid).await;
        expect_code(&format!("delete {bad:?}"), store.delete(bad).await, invalid).await;
    }
    expect_code(
        "put the root",
        store.put("", body("x")).await,
        ErrorCode::InvalidParameterValue,
    )
    .await;
}

/// A multipart-sized upload streamed in small chunks comes back identical (length and hash),
/// and is listed with its size.
pub async fn large_streamed_upload(store: &dyn ArtifactStore, base: &str, size: u64) {
    let p = format!("{base}/big.bin");
    let (_, expected) = digest(generated_body(size, 64 * 1024, 7)).await;
    assert_eq!(store.put(&p, generated_body(size, 64 * 1024, 7)).await.unwrap(), size);
    let d = store.get(&p).await.unwrap();
    assert_eq!(d.size, size);
    assert_eq!(digest(d.body).await, (size, expected), "downloaded content differs");
    assert_eq!(store.list(base).await.unwrap(), vec![file("big.bin", size)]);
    // Overwriting a large file with a small one.
    store.put(&p, body("small")).await.unwrap();
    assert_eq!(read(store, &p).await, b"small");
}

/// An upload whose body fails midway (a client that went away) fails, and leaves neither a
/// partial new file nor a damaged old one.
pub async fn interrupted_upload_is_not_visible(store: &dyn ArtifactStore, base: &str) {
    fn failing(after: u64) -> ByteStream {
        let ok = generated_body(after, 64 * 1024, 3);
        let err = futures_util::stream::iter(vec![Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        ))]);
        Box::pin(ok.chain(err))
    }
    for after in [1000, 12 * 1024 * 1024] {
        let fresh = format!("{base}/fresh-{after}.bin");
        assert!(store.put(&fresh, failing(after)).await.is_err());
        expect_code(
            "get an interrupted upload",
            store.get(&fresh).await.map(|_| ()),
            ErrorCode::ResourceDoesNotExist,
        )
        .await;

        let old = format!("{base}/old-{after}.txt");
        store.put(&old, body("old content")).await.unwrap();
        assert!(store.put(&old, failing(after)).await.is_err());
        assert_eq!(read(store, &old).await, b"old content");
    }
    let names: Vec<String> = store.list(base).await.unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(
        names,
        vec!["old-1000.txt", "old-12582912.txt"],
        "no leftovers are listed"
    );
}
