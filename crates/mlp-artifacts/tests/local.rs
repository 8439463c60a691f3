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

/// A linked directory and a linked file below the root, both pointing outside it: every
/// operation through them is refused as the client's mistake, and nothing outside changes.
#[tokio::test]
async fn symlinks_below_the_root_are_never_followed() {
    use mlp_artifacts::ArtifactStore;
    use mlp_core::ErrorCode;
    use std::os::unix::fs::symlink;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("artifacts");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("deep")).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    std::fs::write(outside.join("deep/more.txt"), "more").unwrap();
    let store = LocalArtifactStore::new(&root).unwrap();
    store.put("exp/run/real.txt", conformance::body("real")).await.unwrap();
    symlink(&outside, root.join("exp/run/linkdir")).unwrap();
    symlink(outside.join("secret.txt"), root.join("exp/run/linkfile")).unwrap();
    symlink(&outside, root.join("toplink")).unwrap();

    let refused = |what: &str, r: mlp_core::Result<()>| {
        let e = r.expect_err(&format!("{what} must be refused"));
        assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{what}: {e}");
        assert!(e.message.contains("symbolic link"), "{what}: {e}");
    };
    for p in [
        "exp/run/linkdir/secret.txt",
        "exp/run/linkdir/deep/more.txt",
        "exp/run/linkfile",
        "toplink/secret.txt",
    ] {
        refused(&format!("GET {p}"), store.get(p).await.map(|_| ()));
    }
    for p in [
        "exp/run/linkdir/secret.txt",
        "exp/run/linkdir/new.txt",
        "exp/run/linkdir/newdir/new.txt",
        "exp/run/linkfile",
        "toplink/new.txt",
    ] {
        refused(
            &format!("PUT {p}"),
            store.put(p, conformance::body("pwned")).await.map(|_| ()),
        );
    }
    for p in [
        "exp/run/linkdir/secret.txt",
        "exp/run/linkdir/deep",
        "exp/run/linkdir",
        "exp/run/linkfile",
        "toplink",
    ] {
        refused(&format!("DELETE {p}"), store.delete(p).await);
    }
    for p in ["exp/run/linkdir", "exp/run/linkdir/deep", "toplink"] {
        refused(&format!("list {p}"), store.list(p).await.map(|_| ()));
    }
    // A listing does not report links (it would describe what lies outside).
    let names: Vec<String> = store
        .list("exp/run")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(names, ["real.txt"]);
    let names: Vec<String> = store.list("").await.unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(names, ["exp"]);

    // Deleting a directory that holds links removes the links, not what they point to.
    store.delete("exp").await.unwrap();
    assert!(!root.join("exp").exists());
    let outside_now = |p: &str| std::fs::read_to_string(outside.join(p)).unwrap();
    assert_eq!(outside_now("secret.txt"), "secret");
    assert_eq!(outside_now("deep/more.txt"), "more");
    let mut left: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["deep", "secret.txt"], "nothing was created outside the root");
    assert!(std::fs::symlink_metadata(root.join("toplink")).is_ok());
}

/// The root itself may be a link (the operator chose it); only links below it are refused.
#[tokio::test]
async fn a_linked_root_works() {
    use mlp_artifacts::ArtifactStore;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("root")).unwrap();
    let store = LocalArtifactStore::new(dir.path().join("root")).unwrap();
    store.put("a/b.txt", conformance::body("x")).await.unwrap();
    assert_eq!(conformance::read(&store, "a/b.txt").await, b"x");
    assert!(dir.path().join("real/a/b.txt").exists());
}
