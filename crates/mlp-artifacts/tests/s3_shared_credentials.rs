//! Keys from the AWS shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, as the Kind
//! overlay mounts it), when nothing is configured. Alone in its test binary: it sets
//! environment variables.

mod common;

use common::{ACCESS_KEY, S3Server, SECRET_KEY};
use mlp_artifacts::{S3Options, conformance};

#[tokio::test]
async fn keys_from_the_shared_credentials_file() {
    let server = S3Server::start().await;
    server.create_bucket("bkt");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!("[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    // SAFETY: the only test in this binary, and no other thread reads the environment yet.
    unsafe {
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ] {
            std::env::remove_var(var);
        }
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &file);
        std::env::set_var("AWS_ENDPOINT_URL", format!("http://{}", server.addr));
    }
    // Only the root: endpoint, path style, plain HTTP and keys all come from the environment.
    let store = mlp_artifacts::open("s3://bkt/p", &S3Options::default()).unwrap();
    store.put("k", conformance::body("v")).await.unwrap();
    assert_eq!(conformance::read(store.as_ref(), "k").await, b"v");

    // A named file that cannot be read is a configuration error at start.
    unsafe { std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("missing")) };
    let e = mlp_artifacts::open("s3://bkt/p", &S3Options::default()).err().unwrap();
    assert!(e.message.contains("shared credentials"), "{e}");
}
