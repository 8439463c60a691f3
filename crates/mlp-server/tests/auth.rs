//! Authentication and authorization in-process: the challenge, 403s, the creator's MANAGE,
//! search filtering, the credential cache's invalidation, and auth off answering as before.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use mlp_artifacts::LocalArtifactStore;
use mlp_core::auth::{AuthStore, Permission};
use mlp_server::auth::{Auth, hash_password};
use mlp_server::{AppState, app};
use mlp_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use tower::ServiceExt;

const API: &str = "/api/2.0/mlflow";
const ADMIN: (&str, &str) = ("admin", "admin-password-1");
const ALICE: (&str, &str) = ("alice", "alice-password-1");
const BOB: (&str, &str) = ("bob", "bob-password-12");

struct T {
    app: Router,
    _dir: tempfile::TempDir,
}

async fn setup(auth_on: bool) -> T {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mlp.db").display());
    let store = Arc::new(SqliteStore::open(&url, "mlflow-artifacts:").await.unwrap());
    let artifacts = Arc::new(LocalArtifactStore::new(dir.path().join("artifacts")).unwrap());
    let mut state = AppState::new(store.clone(), store.clone(), artifacts, None);
    if auth_on {
        let auth = Auth::new(store.clone(), Permission::Read);
        auth.bootstrap_admin(ADMIN.0, Some(ADMIN.1)).await.unwrap();
        for (name, pw) in [ALICE, BOB] {
            store
                .create_user(name, &hash_password(pw).await.unwrap(), false)
                .await
                .unwrap();
        }
        state.auth = Some(Arc::new(auth));
    }
    T {
        app: app(state),
        _dir: dir,
    }
}

fn basic((user, pw): (&str, &str)) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

impl T {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        who: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> (u16, Value, Option<String>) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(who) = who {
            req = req.header("authorization", basic(who));
        }
        let req = req
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), challenge)
    }
}

#[tokio::test]
async fn without_credentials_401_with_a_basic_challenge_and_probes_stay_open() {
    let t = setup(true).await;
    let (status, body, challenge) = t
        .call(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id=0"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(challenge.as_deref(), Some("Basic realm=\"mlflow\""));
    let (status, _, _) = t
        .call(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id=0"),
            Some((ADMIN.0, "wrong-password")),
            None,
        )
        .await;
    assert_eq!(status, 401);
    for open in ["/health", "/version", "/api/3.0/mlflow/server-info", "/"] {
        let (status, _, _) = t.call(Method::GET, open, None, None).await;
        assert_eq!(status, 200, "{open}");
    }
    let (status, _, _) = t
        .call(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id=0"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn creators_manage_others_read_and_search_hides_denied() {
    let t = setup(true).await;
    let (status, body, _) = t
        .call(
            Method::POST,
            &format!("{API}/experiments/create"),
            Some(ALICE),
            Some(json!({"name": "a"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let exp = body["experiment_id"].as_str().unwrap().to_string();
    // Bob reads (default READ) but cannot write; nothing was written.
    let tag = json!({"experiment_id": exp, "key": "k", "value": "v"});
    let (status, body, _) = t
        .call(
            Method::POST,
            &format!("{API}/experiments/set-experiment-tag"),
            Some(BOB),
            Some(tag.clone()),
        )
        .await;
    assert_eq!((status, body["error_code"].as_str()), (403, Some("PERMISSION_DENIED")));
    let (_, got, _) = t
        .call(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id={exp}"),
            Some(BOB),
            None,
        )
        .await;
    assert!(got["experiment"].get("tags").is_none(), "{got}");
    let (status, _, _) = t
        .call(
            Method::POST,
            &format!("{API}/experiments/set-experiment-tag"),
            Some(ALICE),
            Some(tag),
        )
        .await;
    assert_eq!(status, 200);
    // A missing experiment is 404 for Bob too, not 403.
    let (status, _, _) = t
        .call(
            Method::POST,
            &format!("{API}/experiments/delete"),
            Some(BOB),
            Some(json!({"experiment_id": "424242"})),
        )
        .await;
    assert_eq!(status, 404);
    // DENY hides it from Bob's search and get; Alice still sees it.
    let grant = json!({"username": "bob", "resource_type": "experiment", "resource_id": exp, "permission": "DENY"});
    let (status, body, _) = t
        .call(
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(BOB),
            Some(grant.clone()),
        )
        .await;
    assert_eq!(status, 403, "only a MANAGE holder grants: {body}");
    let (status, _, _) = t
        .call(
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(ALICE),
            Some(grant),
        )
        .await;
    assert_eq!(status, 200);
    let search = json!({"max_results": 100});
    let ids = |v: &Value| -> Vec<String> {
        v["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["experiment_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, bob_sees, _) = t
        .call(
            Method::POST,
            &format!("{API}/experiments/search"),
            Some(BOB),
            Some(search.clone()),
        )
        .await;
    assert_eq!(ids(&bob_sees), ["0"]);
    let (_, alice_sees, _) = t
        .call(
            Method::POST,
            &format!("{API}/experiments/search"),
            Some(ALICE),
            Some(search),
        )
        .await;
    assert_eq!(ids(&alice_sees).len(), 2);
    let (status, _, _) = t
        .call(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id={exp}"),
            Some(BOB),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (_, perm, _) = t
        .call(
            Method::GET,
            &format!("/api/3.0/mlflow/users/permissions/get?username=alice&resource_type=experiment&resource_id={exp}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(perm, json!({"allowed": true, "permission": "MANAGE"}));
}

#[tokio::test]
async fn cached_credentials_are_fast_and_forgotten_on_a_password_change() {
    let t = setup(true).await;
    let uri = format!("{API}/users/current");
    let (status, _, _) = t.call(Method::GET, &uri, Some(BOB), None).await;
    assert_eq!(status, 200);
    // argon2id takes tens of milliseconds; a cached check must not.
    let start = Instant::now();
    for _ in 0..20 {
        assert_eq!(t.call(Method::GET, &uri, Some(BOB), None).await.0, 200);
    }
    let per_call = start.elapsed() / 20;
    assert!(per_call.as_millis() < 10, "{per_call:?} per cached call");
    let change = json!({"username": "bob", "password": "bob-new-password", "current_password": BOB.1});
    let (status, body, _) = t
        .call(
            Method::PATCH,
            &format!("{API}/users/update-password"),
            Some(BOB),
            Some(change),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.call(Method::GET, &uri, Some(BOB), None).await.0, 401);
    assert_eq!(
        t.call(Method::GET, &uri, Some(("bob", "bob-new-password")), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn auth_off_serves_everyone_and_has_no_user_endpoints() {
    let t = setup(false).await;
    let (status, _, challenge) = t
        .call(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id=0"),
            None,
            None,
        )
        .await;
    assert_eq!((status, challenge), (200, None));
    let (status, body, _) = t.call(Method::GET, &format!("{API}/users/current"), None, None).await;
    assert_eq!((status, body["error_code"].as_str()), (404, Some("ENDPOINT_NOT_FOUND")));
}
