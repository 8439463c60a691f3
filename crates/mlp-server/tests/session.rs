//! The web UI's login sessions in-process: the cookie's attributes, CSRF on state-changing
//! calls, same-origin only, logout and expiry, throttling, the permissions query, and the 401
//! without a Basic challenge for the UI's own requests.

use std::sync::Arc;
use std::time::Duration;

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

struct T {
    app: Router,
    _dir: tempfile::TempDir,
}

async fn setup(auth_on: bool, ttl: Duration) -> T {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mlp.db").display());
    let store = Arc::new(SqliteStore::open(&url, "mlflow-artifacts:").await.unwrap());
    let artifacts = Arc::new(LocalArtifactStore::new(dir.path().join("artifacts")).unwrap());
    let mut state = AppState::new(store.clone(), store.clone(), artifacts, None);
    state.session.ttl = ttl;
    if auth_on {
        let auth = Auth::new(store.clone(), Permission::Read);
        auth.bootstrap_admin(ADMIN.0, Some(ADMIN.1)).await.unwrap();
        store
            .create_user(ALICE.0, &hash_password(ALICE.1).await.unwrap(), false)
            .await
            .unwrap();
        state.auth = Some(Arc::new(auth));
    }
    T {
        app: app(state),
        _dir: dir,
    }
}

struct Resp {
    status: u16,
    body: Value,
    headers: axum::http::HeaderMap,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// A logged-in browser: the cookie's value and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl T {
    async fn send(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: Option<Value>) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        Resp {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    async fn login(&self, (user, pw): (&str, &str)) -> Session {
        let r = self
            .send(
                Method::POST,
                "/api/v1/session",
                &[],
                Some(json!({"username": user, "password": pw})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let set = r.header("set-cookie").unwrap();
        let cookie = set.split(';').next().unwrap().to_string();
        Session {
            cookie,
            csrf: r.body["csrf_token"].as_str().unwrap().to_string(),
        }
    }
}

fn create(name: &str) -> Option<Value> {
    Some(json!({ "name": name }))
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_that_names_the_user() {
    let t = setup(true, Duration::from_secs(3600)).await;
    let r = t
        .send(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(json!({"username": ALICE.0, "password": ALICE.1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["username"], "alice");
    assert_eq!(r.body["is_admin"], false);
    assert_eq!(r.body["auth_enabled"], true);
    let set = r.header("set-cookie").unwrap().to_string();
    let attrs: Vec<&str> = set.split("; ").collect();
    assert!(attrs[0].starts_with("mlp_session=mlps_"), "{set}");
    for want in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"] {
        assert!(attrs.contains(&want), "{want} missing from {set}");
    }
    assert!(!attrs.contains(&"Secure"), "plain http: {set}");
    // Over https (a TLS-terminating proxy says so), the cookie is Secure.
    let r = t
        .send(
            Method::POST,
            "/api/v1/session",
            &[("x-forwarded-proto", "https")],
            Some(json!({"username": ALICE.0, "password": ALICE.1})),
        )
        .await;
    assert!(r.header("set-cookie").unwrap().ends_with("; Secure"));

    let s = t.login(ALICE).await;
    let me = t
        .send(Method::GET, "/api/v1/session", &[("cookie", &s.cookie)], None)
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["username"], "alice");
    assert_eq!(me.body["csrf_token"], s.csrf.as_str());
    // The session works for the API, reads without the CSRF token.
    let r = t
        .send(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id=0"),
            &[("cookie", &s.cookie)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A session is not a personal token: not listed, and its secret is no Bearer token.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ALICE.0, ALICE.1))
    );
    let tokens = t
        .send(Method::GET, "/api/v1/tokens", &[("authorization", &basic)], None)
        .await;
    assert_eq!(tokens.body["tokens"], json!([]), "{}", tokens.body);
    let secret = s.cookie.trim_start_matches("mlp_session=");
    let bearer = format!("Bearer {secret}");
    let r = t
        .send(
            Method::GET,
            &format!("{API}/experiments/get?experiment_id=0"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn wrong_passwords_are_401_without_a_cookie_and_throttled() {
    let t = setup(true, Duration::from_secs(3600)).await;
    for body in [
        json!({"username": ALICE.0, "password": "not-her-password"}),
        json!({"username": "nobody", "password": "whatever-it-is"}),
    ] {
        let r = t.send(Method::POST, "/api/v1/session", &[], Some(body)).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body["error_code"], "UNAUTHENTICATED");
        assert!(r.header("set-cookie").is_none());
        assert!(r.header("www-authenticate").is_none(), "no browser dialog");
    }
    let r = t
        .send(Method::POST, "/api/v1/session", &[], Some(json!({"username": "alice"})))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    for _ in 0..9 {
        t.send(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(json!({"username": ALICE.0, "password": "guess-guess-guess"})),
        )
        .await;
    }
    // Ten failures: even the right password is refused until the window ends.
    let r = t
        .send(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(json!({"username": ALICE.0, "password": ALICE.1})),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert!(r.header("set-cookie").is_none());
    // Another user from the same address still logs in.
    t.login(ADMIN).await;
}

#[tokio::test]
async fn state_changing_calls_with_the_cookie_need_the_csrf_token() {
    let t = setup(true, Duration::from_secs(3600)).await;
    let s = t.login(ALICE).await;
    let other = t.login(ADMIN).await;
    let url = format!("{API}/experiments/create");
    for headers in [
        vec![("cookie", s.cookie.as_str())],
        vec![("cookie", s.cookie.as_str()), ("x-csrf-token", "0123")],
        // Another session's token is wrong for this one.
        vec![("cookie", s.cookie.as_str()), ("x-csrf-token", other.csrf.as_str())],
    ] {
        let r = t.send(Method::POST, &url, &headers, create("csrf")).await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
        assert_eq!(r.body["error_code"], "PERMISSION_DENIED");
    }
    let r = t
        .send(
            Method::POST,
            &url,
            &[("cookie", &s.cookie), ("x-csrf-token", &s.csrf)],
            create("csrf"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Basic callers need no CSRF token.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ALICE.0, ALICE.1))
    );
    let r = t
        .send(Method::POST, &url, &[("authorization", &basic)], create("basic"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn the_cookie_is_refused_from_another_origin() {
    let t = setup(true, Duration::from_secs(3600)).await;
    let s = t.login(ALICE).await;
    let get = format!("{API}/experiments/get?experiment_id=0");
    // Same site, other port: SameSite=Strict still sends the cookie there, so the server checks.
    for (k, v) in [
        ("origin", "http://localhost:3000"),
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "same-site"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = t
            .send(
                Method::GET,
                &get,
                &[("host", "localhost:8000"), ("cookie", &s.cookie), (k, v)],
                None,
            )
            .await;
        assert_eq!(r.status, 403, "{k}: {v}: {}", r.body);
    }
    let r = t
        .send(
            Method::POST,
            &format!("{API}/experiments/create"),
            &[
                ("host", "localhost:8000"),
                ("origin", "http://localhost:8000"),
                ("sec-fetch-site", "same-origin"),
                ("cookie", &s.cookie),
                ("x-csrf-token", &s.csrf),
            ],
            create("same-origin"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn logout_revokes_and_clears_and_expired_sessions_are_401() {
    let t = setup(true, Duration::from_secs(3600)).await;
    let s = t.login(ALICE).await;
    let with_cookie = [("cookie", s.cookie.as_str())];
    let me = || t.send(Method::GET, "/api/v1/session", &with_cookie, None);
    assert_eq!(me().await.status, 200);
    let r = t
        .send(Method::DELETE, "/api/v1/session", &[("cookie", &s.cookie)], None)
        .await;
    assert_eq!(r.status, 403, "logout needs the CSRF token too: {}", r.body);
    let r = t
        .send(
            Method::DELETE,
            "/api/v1/session",
            &[("cookie", &s.cookie), ("x-csrf-token", &s.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap();
    assert!(set.starts_with("mlp_session=;") && set.contains("Max-Age=0"), "{set}");
    let after = me().await;
    assert_eq!(after.status, 401, "{}", after.body);
    assert!(after.header("www-authenticate").is_none());

    let t = setup(true, Duration::from_millis(300)).await;
    let s = t.login(ALICE).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = t
        .send(Method::GET, "/api/v1/session", &[("cookie", &s.cookie)], None)
        .await;
    assert_eq!(r.status, 401, "expired: {}", r.body);
}

#[tokio::test]
async fn the_ui_gets_401_without_a_basic_challenge() {
    let t = setup(true, Duration::from_secs(3600)).await;
    let get = format!("{API}/experiments/get?experiment_id=0");
    let r = t.send(Method::GET, &get, &[], None).await;
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"mlflow\""));
    let r = t
        .send(Method::GET, &get, &[("x-requested-with", "XMLHttpRequest")], None)
        .await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_none());
}

#[tokio::test]
async fn permissions_answer_what_the_caller_may_do() {
    let t = setup(true, Duration::from_secs(3600)).await;
    let a = t.login(ADMIN).await;
    let s = t.login(ALICE).await;
    let post = |sess: &Session, path: &str, body: Value| {
        let (cookie, csrf) = (sess.cookie.clone(), sess.csrf.clone());
        let path = format!("{API}{path}");
        let t = &t;
        async move {
            t.send(
                Method::POST,
                &path,
                &[("cookie", &cookie), ("x-csrf-token", &csrf)],
                Some(body),
            )
            .await
        }
    };
    let admins = post(&a, "/experiments/create", json!({"name": "admins"})).await.body["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let hers = post(&s, "/experiments/create", json!({"name": "hers"})).await.body["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    post(&a, "/registered-models/create", json!({"name": "m1"})).await;
    let r = t
        .send(
            Method::GET,
            &format!("/api/v1/permissions?experiment_id={admins}&experiment_id={hers}&registered_model_name=m1"),
            &[("cookie", &s.cookie)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["experiments"][&admins], "READ");
    assert_eq!(r.body["experiments"][&hers], "MANAGE");
    assert_eq!(r.body["registered_models"]["m1"], "READ");
    let r = t
        .send(Method::GET, "/api/v1/permissions?experiment_id=1", &[], None)
        .await;
    assert_eq!(r.status, 401);

    // Auth off: no login, everyone may do everything.
    let t = setup(false, Duration::from_secs(3600)).await;
    let r = t.send(Method::GET, "/api/v1/session", &[], None).await;
    assert_eq!(r.body["auth_enabled"], false, "{}", r.body);
    let r = t
        .send(Method::GET, "/api/v1/permissions?experiment_id=0", &[], None)
        .await;
    assert_eq!(r.body["experiments"]["0"], "MANAGE", "{}", r.body);
    let r = t
        .send(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(json!({"username": "a", "password": "b"})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}
