//! The artifact conformance suite against the local-directory store.

use mlp_artifacts::{LocalArtifactStore, conformance};

#[tokio::test]
async fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalArtifactStore::new(dir.path().join("artifacts")).unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn local_store_via_open_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", dir.path().join("artifacts").display());
    let store = mlp_artifacts::open(&uri, &Default::default()).unwrap();
    conformance::put_get_overwrite(store.as_ref(), "a").await;
    conformance::list_nested(store.as_ref(), "b").await;
}
