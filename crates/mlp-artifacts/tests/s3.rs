//! The artifact conformance suite against a real S3 server: `s3s` + `s3s-fs` in-process on
//! 127.0.0.1 with SigV4 authentication, one server and bucket per test. Also: wrong
//! credentials, a missing bucket and an unreachable endpoint fail cleanly and quickly, without
//! leaking secrets.

mod common;

use std::time::{Duration, Instant};

use common::{ACCESS_KEY, S3Server, SECRET_KEY};
use mlp_artifacts::{ArtifactStore, S3ArtifactStore, S3Options, conformance};
use mlp_core::ErrorCode;

#[tokio::test]
async fn s3_store_with_prefix_conforms() {
    let server = S3Server::start().await;
    server.create_bucket("artifacts");
    let store = S3ArtifactStore::new("s3://artifacts/mlp/prod", &server.options()).unwrap();
    conformance::run_all(&store).await;
    // Interrupted multipart uploads were aborted: s3s-fs keeps no parts.
    let leftovers: Vec<_> = std::fs::read_dir(server.root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The keys are the artifact paths under the prefix, byte for byte.
    let on_disk = server
        .root
        .path()
        .join("artifacts/mlp/prod/conf/put/with space/and [brackets] 100%.txt");
    assert!(on_disk.is_file(), "{} missing", on_disk.display());
}

#[tokio::test]
async fn s3_store_at_bucket_root_conforms() {
    let server = S3Server::start().await;
    server.create_bucket("bucket");
    let store = mlp_artifacts::open("s3://bucket", &server.options()).unwrap();
    conformance::put_get_overwrite(store.as_ref(), "a").await;
    conformance::list_nested(store.as_ref(), "b").await;
    conformance::delete_file_and_dir(store.as_ref(), "c").await;
    conformance::missing_file(store.as_ref(), "d").await;
    conformance::path_traversal_refused(store.as_ref()).await;
}

#[tokio::test]
async fn s3_large_upload_is_multipart_in_parts() {
    let server = S3Server::start().await;
    server.create_bucket("bkt");
    let store = S3ArtifactStore::new("s3://bkt", &server.options()).unwrap();
    let size = 20 * 1024 * 1024;
    store
        .put("big.bin", conformance::generated_body(size, 16 * 1024, 9))
        .await
        .unwrap();
    let parts: Vec<String> = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("PUT ") && r.contains("partNumber="))
        .cloned()
        .collect();
    assert_eq!(parts.len(), 3, "20 MiB in 8 MiB parts: {parts:?}");
    let sizes: Vec<u64> = std::fs::read_dir(server.root.path().join("bkt"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![size]);

    // A small body is one PUT.
    server.requests.lock().unwrap().clear();
    store.put("small.txt", conformance::body("x")).await.unwrap();
    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
}

#[tokio::test]
async fn s3_secret_from_a_file() {
    let server = S3Server::start().await;
    server.create_bucket("bkt");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("secret_access_key");
    std::fs::write(&f, format!("{SECRET_KEY}\n")).unwrap();
    let opts = S3Options {
        secret_access_key: None,
        secret_access_key_file: Some(f),
        ..server.options()
    };
    let store = S3ArtifactStore::new("s3://bkt/x", &opts).unwrap();
    store.put("k", conformance::body("v")).await.unwrap();
    assert_eq!(conformance::read(&store, "k").await, b"v");
}

#[tokio::test]
async fn s3_wrong_secret_fails_without_leaking_it() {
    let server = S3Server::start().await;
    server.create_bucket("bkt");
    let wrong = "wrong-secret-must-not-leak-42";
    let opts = S3Options {
        secret_access_key: Some(wrong.into()),
        ..server.options()
    };
    let store = S3ArtifactStore::new("s3://bkt", &opts).unwrap();
    let errors = [
        store.put("x/y", conformance::body("v")).await.err(),
        store.get("x/y").await.err(),
        store.list("x").await.err(),
    ];
    for e in errors {
        let e = e.expect("a wrong secret fails");
        assert_ne!(e.code, ErrorCode::ResourceDoesNotExist, "{e}");
        assert!(!e.message.contains(wrong), "secret leaked: {e}");
        assert!(!e.message.contains(SECRET_KEY), "secret leaked: {e}");
    }
}

#[tokio::test]
async fn s3_missing_bucket_is_not_a_missing_artifact() {
    let server = S3Server::start().await;
    let store = S3ArtifactStore::new("s3://no-such-bucket", &server.options()).unwrap();
    // (s3s-fs creates a missing bucket on PUT and answers NoSuchKey to a GET in one, so only
    // listing is checked; AWS and MinIO answer NoSuchBucket.)
    let e = store.list("").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InternalError, "{e}");
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

#[tokio::test]
async fn s3_unreachable_endpoint_is_unavailable_quickly() {
    let port = closed_port().await;
    let opts = S3Options {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(SECRET_KEY.into()),
        ..Default::default()
    };
    // Opening does not contact the store: the server starts while the store is down.
    let store = mlp_artifacts::open("s3://bucket/p", &opts).unwrap();
    let start = Instant::now();
    let big = conformance::generated_body(3 * mlp_artifacts::S3_PART_SIZE as u64, 64 * 1024, 1);
    let results: Vec<(&str, Option<mlp_core::Error>)> = vec![
        ("put", store.put("a/b.txt", conformance::body("v")).await.err()),
        ("put multipart", store.put("a/big.bin", big).await.err()),
        ("get", store.get("a/b.txt").await.err()),
        ("list", store.list("a").await.err()),
        ("delete", store.delete("a").await.err()),
    ];
    let elapsed = start.elapsed();
    for (op, e) in results {
        let e = e.unwrap_or_else(|| panic!("{op} succeeded against a closed port"));
        assert_eq!(e.code, ErrorCode::TemporarilyUnavailable, "{op}: {e}");
        assert!(!e.message.contains(SECRET_KEY), "{op}: {e}");
    }
    assert!(
        elapsed < Duration::from_secs(15),
        "five operations took {elapsed:?} against a closed port"
    );
}

#[tokio::test]
async fn s3_stopped_server_is_unavailable() {
    let server = S3Server::start().await;
    server.create_bucket("bkt");
    let store = S3ArtifactStore::new("s3://bkt", &server.options()).unwrap();
    store.put("f", conformance::body("v")).await.unwrap();
    let addr = server.addr;
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = store.get("f").await.err().expect("the server is gone");
    assert_eq!(e.code, ErrorCode::TemporarilyUnavailable, "{e} ({addr})");
}
