//! The HTTP layer driven in-process (`tower::ServiceExt::oneshot`) over a temporary SQLite store
//! and a temporary artifact directory: every endpoint group, MLflow's wire rules, and the
//! promise that bad input never earns a 5xx.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use mlp_artifacts::LocalArtifactStore;
use mlp_server::{AppState, app};
use mlp_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use tower::ServiceExt;

const API: &str = "/api/2.0/mlflow";
const ART: &str = "/api/2.0/mlflow-artifacts/artifacts";

struct TestApp {
    app: Router,
    dir: tempfile::TempDir,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        if self.bytes.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl TestApp {
    async fn new() -> Self {
        Self::with_max_upload(5 << 30).await
    }

    async fn with_max_upload(max_artifact_bytes: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("mlp.db").display());
        let store = Arc::new(SqliteStore::open(&url, "mlflow-artifacts:").await.unwrap());
        let artifacts = Arc::new(LocalArtifactStore::new(dir.path().join("artifacts")).unwrap());
        let mut state = AppState::new(store.clone(), store, artifacts, None);
        state.max_artifact_bytes = max_artifact_bytes;
        let app = app(state);
        TestApp { app, dir }
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Resp { status, headers, bytes }
    }

    /// A request with a raw body (sent as JSON content).
    async fn raw(&self, method: Method, uri: &str, body: impl Into<Body>) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.into())
            .unwrap();
        self.send(req).await
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let r = self.raw(method, uri, body).await;
        (r.status.as_u16(), r.json())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, &format!("{API}{path}"), None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, &format!("{API}{path}"), Some(body)).await
    }

    /// A POST that must succeed.
    async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, 200, "POST {path}: {v}");
        v
    }

    /// A GET that must succeed.
    async fn ok_get(&self, path: &str) -> Value {
        let (status, v) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    async fn experiment(&self, name: &str) -> String {
        self.ok("/experiments/create", json!({ "name": name })).await["experiment_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn run(&self, exp: &str) -> String {
        self.ok(
            "/runs/create",
            json!({ "experiment_id": exp, "start_time": 1000, "run_name": "r" }),
        )
        .await["run"]["info"]["run_id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Asserts an MLflow error: status, `error_code`, and a message.
fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error_code"], want_code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only error_code and message: {body}"
    );
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Misc endpoints.

#[tokio::test]
async fn health_version_ready_and_server_info() {
    let t = TestApp::new().await;
    let r = t.raw(Method::GET, "/health", "").await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "OK"));
    let r = t.raw(Method::GET, "/version", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), mlp_server::MLFLOW_COMPAT_VERSION);
    let r = t.raw(Method::GET, "/ready", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({ "store": true, "artifacts": true }));
    for prefix in ["/api", "/ajax-api"] {
        let r = t
            .raw(Method::GET, &format!("{prefix}/3.0/mlflow/server-info"), "")
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let v = r.json();
        assert!(v.is_object());
        assert_eq!(v["multipart_uploads_enabled"], false);
        assert!(v["store_type"].is_string());
        assert!(v["features_enabled"].is_object());
    }
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let t = TestApp::new().await;
    let req = Request::builder()
        .uri("/health")
        .header("x-request-id", "my-id-123")
        .body(Body::empty())
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.headers["x-request-id"], "my-id-123");
    // Echoed on errors too.
    let req = Request::builder()
        .uri(format!("{API}/experiments/get?experiment_id=999"))
        .header("x-request-id", "err-id")
        .body(Body::empty())
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers["x-request-id"], "err-id");
    // Generated when absent.
    let r = t.raw(Method::GET, "/health", "").await;
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert!(!id.is_empty());
}

#[tokio::test]
async fn unknown_route_is_endpoint_not_found_json() {
    let t = TestApp::new().await;
    for uri in [
        "/api/2.0/mlflow/nope",
        "/api/2.0/mlflow/runs/get-everything",
        "/api/9.9/mlflow/runs/get",
        "/totally/unknown",
    ] {
        let (status, body) = t.call(Method::GET, uri, None).await;
        assert_error(status, &body, 404, "ENDPOINT_NOT_FOUND");
        let (status, body) = t.call(Method::POST, uri, Some(json!({}))).await;
        assert_error(status, &body, 404, "ENDPOINT_NOT_FOUND");
    }
}

#[tokio::test]
async fn ajax_prefix_serves_the_same_api() {
    let t = TestApp::new().await;
    let (status, v) = t
        .call(
            Method::GET,
            "/ajax-api/2.0/mlflow/experiments/get?experiment_id=0",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["experiment"]["name"], "Default");
}

// ---------------------------------------------------------------------------------------------
// Experiments.

#[tokio::test]
async fn experiment_crud_over_http() {
    let t = TestApp::new().await;
    let v = t
        .ok(
            "/experiments/create",
            json!({ "name": "exp", "tags": [{ "key": "team", "value": "ml" }], "no_such_field": [1, 2] }),
        )
        .await;
    let id = v["experiment_id"].as_str().expect("ids are strings").to_string();
    assert_eq!(v.as_object().unwrap().len(), 1);

    let v = t.ok_get(&format!("/experiments/get?experiment_id={id}")).await;
    let e = &v["experiment"];
    assert_eq!(e["experiment_id"], id.as_str());
    assert_eq!(e["name"], "exp");
    assert_eq!(e["artifact_location"], format!("mlflow-artifacts:/{id}"));
    assert_eq!(e["lifecycle_stage"], "active");
    assert!(e["creation_time"].is_i64() && e["last_update_time"].is_i64());
    assert_eq!(e["tags"], json!([{ "key": "team", "value": "ml" }]));
    // No tags: the field is left out.
    let v = t.ok_get("/experiments/get?experiment_id=0").await;
    assert!(v["experiment"].get("tags").is_none(), "{v}");

    let v = t.ok_get("/experiments/get-by-name?experiment_name=exp").await;
    assert_eq!(v["experiment"]["experiment_id"], id.as_str());
    let (s, v) = t.get("/experiments/get-by-name?experiment_name=missing").await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = t.get("/experiments/get?experiment_id=424242").await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = t.post("/experiments/create", json!({ "name": "exp" })).await;
    assert_error(s, &v, 400, "RESOURCE_ALREADY_EXISTS");

    // Rename, including onto a taken name.
    t.experiment("taken").await;
    assert_eq!(
        t.ok(
            "/experiments/update",
            json!({ "experiment_id": id, "new_name": "renamed" })
        )
        .await,
        json!({})
    );
    let (s, v) = t
        .post(
            "/experiments/update",
            json!({ "experiment_id": id, "new_name": "taken" }),
        )
        .await;
    assert_error(s, &v, 400, "RESOURCE_ALREADY_EXISTS");

    // Tags.
    t.ok(
        "/experiments/set-experiment-tag",
        json!({ "experiment_id": id, "key": "team", "value": "vision" }),
    )
    .await;
    let v = t.ok_get(&format!("/experiments/get?experiment_id={id}")).await;
    assert_eq!(v["experiment"]["tags"], json!([{ "key": "team", "value": "vision" }]));
    t.ok(
        "/experiments/delete-experiment-tag",
        json!({ "experiment_id": id, "key": "team" }),
    )
    .await;
    let (s, v) = t
        .post(
            "/experiments/delete-experiment-tag",
            json!({ "experiment_id": id, "key": "team" }),
        )
        .await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");

    // Delete and restore.
    t.ok("/experiments/delete", json!({ "experiment_id": id })).await;
    let v = t.ok_get(&format!("/experiments/get?experiment_id={id}")).await;
    assert_eq!(v["experiment"]["lifecycle_stage"], "deleted");
    t.ok("/experiments/restore", json!({ "experiment_id": id })).await;
    let v = t.ok_get(&format!("/experiments/get?experiment_id={id}")).await;
    assert_eq!(v["experiment"]["lifecycle_stage"], "active");
    let (s, v) = t
        .post("/experiments/delete", json!({ "experiment_id": "424242" }))
        .await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn search_experiments_paging_get_and_post() {
    let t = TestApp::new().await;
    for name in ["b", "a", "d", "c"] {
        t.experiment(name).await;
    }
    // POST, pages of two, following next_page_token to the end.
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({ "max_results": 2, "order_by": ["name ASC"], "view_type": "ACTIVE_ONLY" });
        if let Some(tok) = &token {
            body["page_token"] = json!(tok);
        }
        let v = t.ok("/experiments/search", body).await;
        pages += 1;
        for e in v["experiments"].as_array().unwrap() {
            names.push(e["name"].as_str().unwrap().to_string());
        }
        match v.get("next_page_token") {
            Some(tok) => token = Some(tok.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["Default", "a", "b", "c", "d"]);
    assert_eq!(pages, 3);

    // GET with the fields in the query string; repeated keys make a list.
    let v = t
        .ok_get(&format!(
            "/experiments/search?max_results=10&filter={}&order_by={}",
            enc("name LIKE '%'"),
            enc("name DESC")
        ))
        .await;
    let got: Vec<&str> = v["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["d", "c", "b", "a", "Default"]);
    assert!(v.get("next_page_token").is_none(), "no token on the last page: {v}");
    let v = t
        .ok_get(&format!(
            "/experiments/search?order_by={}&order_by={}&max_results=3",
            enc("creation_time DESC"),
            enc("name ASC")
        ))
        .await;
    assert_eq!(v["experiments"].as_array().unwrap().len(), 3);
    assert!(v["next_page_token"].is_string());

    // Nothing found: an empty object.
    let v = t.ok("/experiments/search", json!({ "filter": "name = 'zzz'" })).await;
    assert_eq!(v, json!({}));
    // int64 given as a string.
    let v = t.ok("/experiments/search", json!({ "max_results": "1" })).await;
    assert_eq!(v["experiments"].as_array().unwrap().len(), 1);

    // Limits and tokens.
    let (s, v) = t.post("/experiments/search", json!({ "max_results": 50001 })).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    assert!(v["message"].as_str().unwrap().contains("50000"), "{v}");
    t.ok("/experiments/search", json!({ "max_results": 50000 })).await;
    let (s, v) = t.post("/experiments/search", json!({ "page_token": "garbage!" })).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    // A token is bound to its query.
    let v = t.ok("/experiments/search", json!({ "max_results": 1 })).await;
    let tok = v["next_page_token"].as_str().unwrap().to_string();
    let (s, v) = t
        .post(
            "/experiments/search",
            json!({ "max_results": 1, "page_token": tok, "filter": "name = 'a'" }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    // MLflow's own token format is accepted.
    let v = t
        .ok(
            "/experiments/search",
            json!({ "max_results": 2, "page_token": "eyJvZmZzZXQiOiAyfQ==", "order_by": ["name ASC"] }),
        )
        .await;
    assert_eq!(v["experiments"][0]["name"], "b");
    let (s, v) = t.post("/experiments/search", json!({ "view_type": "SOMETIMES" })).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t
        .post("/experiments/search", json!({ "filter": "name = 'a' OR name = 'b'" }))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
}

// ---------------------------------------------------------------------------------------------
// Runs.

#[tokio::test]
async fn run_lifecycle_over_http() {
    let t = TestApp::new().await;
    let exp = t.experiment("e").await;
    let v = t
        .ok(
            "/runs/create",
            json!({
                "experiment_id": exp,
                "user_id": "alice",
                "start_time": "1700000000000",
                "run_name": "first",
                "tags": [{ "key": "k", "value": "v" }],
                "whatever": { "nested": true },
            }),
        )
        .await;
    let run = &v["run"];
    let id = run["info"]["run_id"].as_str().unwrap().to_string();
    assert_eq!(run["info"]["run_uuid"], id.as_str());
    assert_eq!(run["info"]["start_time"], json!(1_700_000_000_000i64));
    assert_eq!(run["info"]["status"], "RUNNING");
    assert_eq!(run["info"]["run_name"], "first");
    assert_eq!(run["info"]["lifecycle_stage"], "active");
    assert_eq!(
        run["info"]["artifact_uri"],
        format!("mlflow-artifacts:/{exp}/{id}/artifacts")
    );
    assert!(
        run["info"].get("end_time").is_none(),
        "absent end_time is left out: {run}"
    );
    assert!(run["data"].get("metrics").is_none() && run["data"].get("params").is_none());
    assert!(run.get("outputs").is_none());
    let tags = run["data"]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!({ "key": "mlflow.runName", "value": "first" })));

    // GET by run_id or the legacy run_uuid (or both, as the client sends).
    for q in [
        format!("run_id={id}"),
        format!("run_uuid={id}"),
        format!("run_uuid={id}&run_id={id}"),
    ] {
        let v = t.ok_get(&format!("/runs/get?{q}")).await;
        assert_eq!(v["run"]["info"]["run_id"], id.as_str());
    }
    let (s, v) = t.get("/runs/get?run_id=0123456789abcdef0123456789abcdef").await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");

    let v = t
        .ok(
            "/runs/update",
            json!({ "run_id": id, "run_uuid": id, "status": "FINISHED", "end_time": "1700000005000", "run_name": "second" }),
        )
        .await;
    assert_eq!(v["run_info"]["status"], "FINISHED");
    assert_eq!(v["run_info"]["end_time"], json!(1_700_000_005_000i64));
    assert_eq!(v["run_info"]["run_name"], "second");

    // Params and tags.
    t.ok(
        "/runs/log-parameter",
        json!({ "run_id": id, "key": "lr", "value": "0.1" }),
    )
    .await;
    let (s, v) = t
        .post(
            "/runs/log-parameter",
            json!({ "run_id": id, "key": "lr", "value": "0.2" }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    t.ok("/runs/set-tag", json!({ "run_uuid": id, "key": "t", "value": "1" }))
        .await;
    t.ok("/runs/set-tag", json!({ "run_id": id, "key": "t", "value": "2" }))
        .await;
    t.ok("/runs/delete-tag", json!({ "run_id": id, "key": "t" })).await;
    let (s, v) = t.post("/runs/delete-tag", json!({ "run_id": id, "key": "t" })).await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let v = t.ok_get(&format!("/runs/get?run_id={id}")).await;
    assert_eq!(v["run"]["data"]["params"], json!([{ "key": "lr", "value": "0.1" }]));

    // Delete: writes are refused with 400, restore brings it back.
    t.ok("/runs/delete", json!({ "run_id": id })).await;
    let v = t.ok_get(&format!("/runs/get?run_id={id}")).await;
    assert_eq!(v["run"]["info"]["lifecycle_stage"], "deleted");
    let (s, v) = t
        .post(
            "/runs/log-metric",
            json!({ "run_id": id, "key": "m", "value": 1, "timestamp": 1 }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    t.ok("/runs/restore", json!({ "run_id": id })).await;
    t.ok(
        "/runs/log-metric",
        json!({ "run_id": id, "key": "m", "value": 1, "timestamp": 1 }),
    )
    .await;
    let (s, v) = t
        .post("/runs/delete", json!({ "run_id": "0123456789abcdef0123456789abcdef" }))
        .await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");

    // No experiment id: the default experiment.
    let v = t.ok("/runs/create", json!({})).await;
    assert_eq!(v["run"]["info"]["experiment_id"], "0");
    assert!(!v["run"]["info"]["run_name"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn metrics_nan_and_infinities_as_strings() {
    let t = TestApp::new().await;
    let id = t.run("0").await;
    for (key, value) in [
        ("nan", json!("NaN")),
        ("pinf", json!("Infinity")),
        ("ninf", json!("-Infinity")),
        ("num_str", json!("2.5")),
        ("plain", json!(0.125)),
        ("int", json!(3)),
    ] {
        t.ok(
            "/runs/log-metric",
            json!({ "run_id": id, "key": key, "value": value, "timestamp": "1700000000000", "step": "7" }),
        )
        .await;
    }
    let v = t.ok_get(&format!("/runs/get?run_id={id}")).await;
    let metrics = v["run"]["data"]["metrics"].as_array().unwrap();
    let get = |k: &str| {
        metrics
            .iter()
            .find(|m| m["key"] == k)
            .unwrap_or_else(|| panic!("{k} missing: {v}"))
            .clone()
    };
    assert_eq!(get("nan")["value"], "NaN");
    assert_eq!(get("pinf")["value"], json!(1.797_693_134_862_315_7e308));
    assert_eq!(get("ninf")["value"], json!(-1.797_693_134_862_315_7e308));
    assert_eq!(get("num_str")["value"], json!(2.5));
    assert_eq!(get("plain")["value"], json!(0.125));
    assert_eq!(get("int")["value"], json!(3.0));
    let m = get("nan");
    assert_eq!(m["timestamp"], json!(1_700_000_000_000i64));
    assert_eq!(m["step"], json!(7));
    for absent in ["model_id", "dataset_name", "dataset_digest", "run_id"] {
        assert!(m.get(absent).is_none(), "{absent} must be left out: {m}");
    }
    let raw = t
        .raw(Method::GET, &format!("{API}/runs/get?run_id={id}"), "")
        .await
        .text();
    assert!(raw.contains("1.7976931348623157e"), "{raw}");

    // History echoes NaN as a string and leaves the implied run id out.
    let v = t
        .ok_get(&format!("/metrics/get-history?run_id={id}&metric_key=nan"))
        .await;
    assert_eq!(
        v,
        json!({ "metrics": [{ "key": "nan", "value": "NaN", "timestamp": 1_700_000_000_000i64, "step": 7 }] })
    );
    // A bad value is a 400.
    let (s, v) = t
        .post(
            "/runs/log-metric",
            json!({ "run_id": id, "key": "bad", "value": "abc", "timestamp": 1 }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    // Missing timestamp: MLflow's missing-parameter message.
    let (s, v) = t
        .post("/runs/log-metric", json!({ "run_id": id, "key": "bad", "value": 1 }))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    assert!(v["message"].as_str().unwrap().contains("'timestamp'"), "{v}");
}

#[tokio::test]
async fn log_batch_limits_truncation_and_keys() {
    let t = TestApp::new().await;
    let id = t.run("0").await;
    let metrics = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "key": "m", "value": i, "timestamp": 1, "step": i }))
            .collect()
    };
    t.ok("/runs/log-batch", json!({ "run_id": id, "metrics": metrics(1000) }))
        .await;
    let (s, v) = t
        .post("/runs/log-batch", json!({ "run_id": id, "metrics": metrics(1001) }))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    assert!(v["message"].as_str().unwrap().contains("1000"), "{v}");
    let params: Vec<Value> = (0..101)
        .map(|i| json!({ "key": format!("p{i}"), "value": "v" }))
        .collect();
    let (s, v) = t
        .post("/runs/log-batch", json!({ "run_id": id, "params": params }))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let tags: Vec<Value> = (0..101)
        .map(|i| json!({ "key": format!("t{i}"), "value": "v" }))
        .collect();
    let (s, v) = t.post("/runs/log-batch", json!({ "run_id": id, "tags": tags })).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");

    // Long values are truncated, not refused.
    t.ok(
        "/runs/log-parameter",
        json!({ "run_id": id, "key": "long_param", "value": "p".repeat(6001) }),
    )
    .await;
    t.ok(
        "/runs/set-tag",
        json!({ "run_id": id, "key": "long_tag", "value": "t".repeat(8001) }),
    )
    .await;
    t.ok(
        "/runs/log-batch",
        json!({ "run_id": id, "params": [{ "key": "bp", "value": "b".repeat(7000) }], "tags": [{ "key": "bt", "value": "c".repeat(9000) }] }),
    )
    .await;
    let v = t.ok_get(&format!("/runs/get?run_id={id}")).await;
    let find = |field: &str, k: &str| {
        v["run"]["data"][field]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == k)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .chars()
            .count()
    };
    assert_eq!(find("params", "long_param"), 6000);
    assert_eq!(find("params", "bp"), 6000);
    assert_eq!(find("tags", "long_tag"), 8000);
    assert_eq!(find("tags", "bt"), 8000);

    // Keys: 250 characters are fine, 251 are not; odd characters and escapes are refused.
    t.ok(
        "/runs/log-parameter",
        json!({ "run_id": id, "key": "k".repeat(250), "value": "v" }),
    )
    .await;
    for key in ["k".repeat(251), "../up".into(), "/abs".into(), "bad$".into(), "".into()] {
        let (s, v) = t
            .post(
                "/runs/log-metric",
                json!({ "run_id": id, "key": key, "value": 1, "timestamp": 1 }),
            )
            .await;
        assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    }
    // A replayed batch is harmless; a changed param fails the whole batch.
    let batch = json!({ "run_id": id, "metrics": [{ "key": "r", "value": 1, "timestamp": 1 }], "params": [{ "key": "x", "value": "1" }] });
    t.ok("/runs/log-batch", batch.clone()).await;
    t.ok("/runs/log-batch", batch).await;
    let (s, v) = t
        .post(
            "/runs/log-batch",
            json!({ "run_id": id, "metrics": [{ "key": "after", "value": 1, "timestamp": 1 }], "params": [{ "key": "x", "value": "2" }] }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let v = t
        .ok_get(&format!("/metrics/get-history?run_id={id}&metric_key=r"))
        .await;
    assert_eq!(v["metrics"].as_array().unwrap().len(), 1);
    let v = t
        .ok_get(&format!("/metrics/get-history?run_id={id}&metric_key=after"))
        .await;
    assert_eq!(v, json!({}));
    // A single object stands for a one-element list.
    t.ok(
        "/runs/log-batch",
        json!({ "run_id": id, "tags": { "key": "single", "value": "yes" } }),
    )
    .await;
}

#[tokio::test]
async fn search_runs_over_http() {
    let t = TestApp::new().await;
    let e1 = t.experiment("e1").await;
    let e2 = t.experiment("e2").await;
    let mut ids = Vec::new();
    for (i, exp) in [&e1, &e1, &e1, &e2].iter().enumerate() {
        let v = t
            .ok(
                "/runs/create",
                json!({ "experiment_id": exp, "start_time": 1000 + i as i64, "run_name": format!("r{i}") }),
            )
            .await;
        let id = v["run"]["info"]["run_id"].as_str().unwrap().to_string();
        t.ok(
            "/runs/log-batch",
            json!({ "run_id": id, "metrics": [{ "key": "acc", "value": i as f64 / 10.0, "timestamp": 1 }], "params": [{ "key": "i", "value": i.to_string() }] }),
        )
        .await;
        ids.push(id);
    }
    let names = |v: &Value| -> Vec<String> {
        v["runs"]
            .as_array()
            .map(|runs| {
                runs.iter()
                    .map(|r| r["info"]["run_name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let v = t
        .ok(
            "/runs/search",
            json!({ "experiment_ids": [e1, e2], "filter": "metrics.acc >= 0.1", "order_by": ["metrics.acc DESC"] }),
        )
        .await;
    assert_eq!(names(&v), ["r3", "r2", "r1"]);
    assert_eq!(v["runs"][0]["data"]["metrics"][0]["value"], json!(0.3));
    // GET with repeated experiment_ids; a single experiment_ids value is a list of one.
    // IN is not allowed on params: MLflow refuses it.
    let (s, v) = t
        .post(
            "/runs/search",
            json!({ "experiment_ids": [e1], "filter": "params.i IN ('1', '3')" }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let v = t
        .ok_get(&format!(
            "/runs/search?experiment_ids={e1}&experiment_ids={e2}&filter={}",
            enc(&format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[3]))
        ))
        .await;
    let mut got = names(&v);
    got.sort();
    assert_eq!(got, ["r0", "r3"]);
    let v = t
        .ok_get(&format!(
            "/runs/search?experiment_ids={e1}&order_by={}",
            enc("params.i ASC")
        ))
        .await;
    assert_eq!(names(&v), ["r0", "r1", "r2"]);

    // Paging with tokens: no duplicates or gaps.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({ "experiment_ids": [e1, e2], "max_results": 3 });
        if let Some(tok) = &token {
            body["page_token"] = json!(tok);
        }
        let v = t.ok("/runs/search", body).await;
        seen.extend(names(&v));
        match v.get("next_page_token") {
            Some(tok) => token = Some(tok.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["r3", "r2", "r1", "r0"], "default order: start_time DESC");

    // View types and validation.
    t.ok("/runs/delete", json!({ "run_id": ids[0] })).await;
    let v = t
        .ok(
            "/runs/search",
            json!({ "experiment_ids": [e1], "run_view_type": "DELETED_ONLY" }),
        )
        .await;
    assert_eq!(names(&v), ["r0"]);
    let v = t
        .ok(
            "/runs/search",
            json!({ "experiment_ids": [e1], "run_view_type": "ALL" }),
        )
        .await;
    assert_eq!(names(&v).len(), 3);
    let v = t
        .ok(
            "/runs/search",
            json!({ "experiment_ids": [e1], "filter": "metrics.acc > 100" }),
        )
        .await;
    assert_eq!(v, json!({}), "no runs, no token");
    let (s, v) = t
        .post("/runs/search", json!({ "experiment_ids": [e1], "max_results": 50001 }))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    t.ok("/runs/search", json!({ "experiment_ids": [e1], "max_results": 50000 }))
        .await;
    let (s, v) = t
        .post(
            "/runs/search",
            json!({ "experiment_ids": [e1], "page_token": "bm90IGpzb24=" }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t
        .post(
            "/runs/search",
            json!({ "experiment_ids": [e1], "filter": "metrics.acc = 'high'" }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t
        .post(
            "/runs/search",
            json!({ "experiment_ids": [e1], "order_by": ["metrics.acc UPWARDS"] }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn metric_history_paging_and_bulk_interval() {
    let t = TestApp::new().await;
    let a = t.run("0").await;
    let b = t.run("0").await;
    for (id, n) in [(&a, 30), (&b, 10)] {
        let metrics: Vec<Value> = (0..n)
            .map(|i| json!({ "key": "loss", "value": i, "timestamp": 100 + i, "step": i }))
            .collect();
        t.ok("/runs/log-batch", json!({ "run_id": id, "metrics": metrics }))
            .await;
    }
    let mut steps = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut uri = format!("/metrics/get-history?run_id={a}&metric_key=loss&max_results=7");
        if let Some(tok) = &token {
            uri.push_str(&format!("&page_token={}", enc(tok)));
        }
        let v = t.ok_get(&uri).await;
        for m in v["metrics"].as_array().unwrap() {
            steps.push(m["step"].as_i64().unwrap());
        }
        match v.get("next_page_token") {
            Some(tok) => token = Some(tok.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(steps, (0..30).collect::<Vec<_>>());
    let (s, v) = t
        .get(&format!(
            "/metrics/get-history?run_id={a}&metric_key=loss&page_token=xyz"
        ))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t
        .get(&format!(
            "/metrics/get-history?run_id={a}&metric_key=loss&max_results=25001"
        ))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t.get(&format!("/metrics/get-history?run_id={a}")).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    // As MLflow does, a run that does not exist has an empty history.
    let (s, v) = t
        .get("/metrics/get-history?run_id=0123456789abcdef0123456789abcdef&metric_key=loss")
        .await;
    assert_eq!((s, v), (200, json!({})));

    // Bulk interval: repeated run_ids in the query string; every point names its run.
    let v = t
        .ok_get(&format!(
            "/metrics/get-history-bulk-interval?run_ids={a}&run_ids={b}&metric_key=loss&start_step=2&end_step=4&max_results=100"
        ))
        .await;
    let points = v["metrics"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    for p in points {
        let run = p["run_id"].as_str().unwrap();
        assert!(run == a || run == b);
        assert!((2..=4).contains(&p["step"].as_i64().unwrap()));
    }
    let v = t
        .ok_get(&format!(
            "/metrics/get-history-bulk-interval?run_ids={a}&run_ids={b}&metric_key=loss&max_results=5"
        ))
        .await;
    let b_steps: Vec<i64> = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["run_id"] == b.as_str())
        .map(|p| p["step"].as_i64().unwrap())
        .collect();
    assert!(b_steps.contains(&0) && b_steps.contains(&9), "{b_steps:?}");
    let v = t
        .ok_get(&format!(
            "/metrics/get-history-bulk-interval?run_ids={a}&metric_key=nope"
        ))
        .await;
    assert_eq!(v, json!({}));
    let (s, v) = t
        .get(&format!(
            "/metrics/get-history-bulk-interval?run_ids={a}&metric_key=loss&start_step=5&end_step=1"
        ))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t.get("/metrics/get-history-bulk-interval?metric_key=loss").await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn inputs_and_outputs_over_http() {
    let t = TestApp::new().await;
    let exp = t.experiment("e").await;
    let id = t.run(&exp).await;
    let ds = json!({ "name": "train", "digest": "abc123", "source_type": "local", "source": "{\"uri\":\"/tmp/x\"}", "schema": "{}" });
    t.ok(
        "/runs/log-inputs",
        json!({
            "run_id": id,
            "datasets": [{ "tags": [{ "key": "mlflow.data.context", "value": "training" }], "dataset": ds }],
            "models": [{ "model_id": "m-1" }],
        }),
    )
    .await;
    t.ok(
        "/runs/outputs",
        json!({ "run_id": id, "models": [{ "model_id": "m-2", "step": "3" }] }),
    )
    .await;
    let v = t.ok_get(&format!("/runs/get?run_id={id}")).await;
    let inputs = &v["run"]["inputs"];
    assert_eq!(inputs["dataset_inputs"][0]["dataset"], ds);
    assert_eq!(
        inputs["dataset_inputs"][0]["tags"],
        json!([{ "key": "mlflow.data.context", "value": "training" }])
    );
    assert!(inputs["dataset_inputs"][0]["dataset"].get("profile").is_none());
    assert_eq!(inputs["model_inputs"], json!([{ "model_id": "m-1" }]));
    assert_eq!(
        v["run"]["outputs"]["model_outputs"],
        json!([{ "model_id": "m-2", "step": 3 }])
    );
    let v = t
        .ok(
            "/runs/search",
            json!({ "experiment_ids": [exp], "filter": "datasets.context = 'training' AND datasets.digest = 'abc123'" }),
        )
        .await;
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    // Required fields.
    let (s, v) = t
        .post(
            "/runs/log-inputs",
            json!({ "run_id": id, "datasets": [{ "tags": [] }] }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t
        .post(
            "/runs/log-inputs",
            json!({ "run_id": id, "datasets": [{ "dataset": { "name": "n", "digest": "d".repeat(37), "source_type": "s", "source": "s" } }] }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t
        .post(
            "/runs/outputs",
            json!({ "run_id": id, "models": [{ "model_id": "m-3" }] }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
}

// ---------------------------------------------------------------------------------------------
// Logged models.

#[tokio::test]
async fn logged_models_over_http() {
    let t = TestApp::new().await;
    let exp = t.experiment("e").await;
    let run = t.run(&exp).await;
    let v = t
        .ok(
            "/logged-models",
            json!({
                "experiment_id": exp,
                "name": "model-b",
                "model_type": "sklearn",
                "source_run_id": run,
                "params": [{ "key": "alpha", "value": "0.5" }],
                "tags": [{ "key": "k", "value": "v" }],
            }),
        )
        .await;
    let m = &v["model"];
    let id = m["info"]["model_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("m-"));
    assert_eq!(m["info"]["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(
        m["info"]["artifact_uri"],
        format!("mlflow-artifacts:/{exp}/models/{id}/artifacts")
    );
    assert_eq!(m["info"]["experiment_id"], exp.as_str());
    assert_eq!(m["info"]["source_run_id"], run.as_str());
    assert_eq!(m["data"]["params"], json!([{ "key": "alpha", "value": "0.5" }]));
    assert!(m["info"].get("status_message").is_none());
    assert!(m["info"].get("registrations").is_none());

    let model_url = format!("{API}/logged-models/{id}");
    let (s, v) = t.call(Method::GET, &model_url, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["model"]["info"]["name"], "model-b");
    let (s, v) = t
        .call(
            Method::PATCH,
            &model_url,
            Some(json!({ "model_id": id, "status": "LOGGED_MODEL_READY" })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["model"]["info"]["status"], "LOGGED_MODEL_READY");
    let (s, v) = t
        .call(
            Method::PATCH,
            &model_url,
            Some(json!({ "status": "LOGGED_MODEL_PENDING" })),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");

    // Tags and params.
    let (s, _) = t
        .call(
            Method::PATCH,
            &format!("{model_url}/tags"),
            Some(json!({ "tags": [{ "key": "stage", "value": "dev" }, { "key": "k", "value": "v2" }] })),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = t.call(Method::DELETE, &format!("{model_url}/tags/stage"), None).await;
    assert_eq!(s, 200);
    let (s, v) = t.call(Method::DELETE, &format!("{model_url}/tags/stage"), None).await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let (s, _) = t
        .call(
            Method::POST,
            &format!("{model_url}/params"),
            Some(json!({ "model_id": id, "params": [{ "key": "beta", "value": "2" }] })),
        )
        .await;
    assert_eq!(s, 200);
    // Metrics logged with model_id land on the model.
    t.ok(
        "/runs/log-metric",
        json!({ "run_id": run, "key": "acc", "value": 0.9, "timestamp": 5, "step": 1, "model_id": id, "dataset_name": "eval", "dataset_digest": "d1" }),
    )
    .await;
    let (_, v) = t.call(Method::GET, &model_url, None).await;
    let info = &v["model"]["info"];
    assert_eq!(info["tags"], json!([{ "key": "k", "value": "v2" }]));
    let mut params = v["model"]["data"]["params"].as_array().unwrap().clone();
    params.sort_by_key(|p| p["key"].as_str().unwrap().to_string());
    assert_eq!(
        params,
        [
            json!({ "key": "alpha", "value": "0.5" }),
            json!({ "key": "beta", "value": "2" })
        ]
    );
    let metric = &v["model"]["data"]["metrics"][0];
    assert_eq!(metric["key"], "acc");
    assert_eq!(metric["model_id"], id.as_str());
    assert_eq!(metric["run_id"], run.as_str());
    assert_eq!(metric["dataset_name"], "eval");

    // Search.
    t.ok("/logged-models", json!({ "experiment_id": exp, "name": "model-a" }))
        .await;
    t.ok("/logged-models", json!({ "experiment_id": exp, "name": "model-c" }))
        .await;
    let v = t
        .ok(
            "/logged-models/search",
            json!({ "experiment_ids": [exp], "filter": "name = 'model-b'" }),
        )
        .await;
    assert_eq!(v["models"].as_array().unwrap().len(), 1);
    assert_eq!(v["models"][0]["info"]["model_id"], id.as_str());
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({ "experiment_ids": [exp], "max_results": 2, "order_by": [{ "field_name": "name", "ascending": false }] });
        if let Some(tok) = &token {
            body["page_token"] = json!(tok);
        }
        let v = t.ok("/logged-models/search", body).await;
        for m in v["models"].as_array().unwrap() {
            names.push(m["info"]["name"].as_str().unwrap().to_string());
        }
        match v.get("next_page_token") {
            Some(tok) => token = Some(tok.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["model-c", "model-b", "model-a"]);
    let v = t
        .ok(
            "/logged-models/search",
            json!({ "experiment_ids": [exp], "filter": "metrics.acc > 0.5", "datasets": [{ "dataset_name": "eval" }] }),
        )
        .await;
    assert_eq!(v["models"][0]["info"]["model_id"], id.as_str());
    let (s, v) = t.post("/logged-models/search", json!({})).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let (s, v) = t
        .post(
            "/logged-models/search",
            json!({ "experiment_ids": [exp], "max_results": 1001 }),
        )
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");

    // Delete, with the JSON body the client sends.
    let (s, v) = t
        .call(Method::DELETE, &model_url, Some(json!({ "model_id": id })))
        .await;
    assert_eq!((s, v), (200, json!({})));
    let (s, v) = t.call(Method::GET, &model_url, None).await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = t
        .call(Method::GET, &format!("{model_url}?allow_deleted=true"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["model"]["info"]["model_id"], id.as_str());
    let (s, v) = t
        .call(
            Method::GET,
            &format!("{API}/logged-models/m-00000000000000000000000000000000"),
            None,
        )
        .await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = t.post("/logged-models", json!({ "name": "x" })).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
}

// ---------------------------------------------------------------------------------------------
// Artifacts.

#[tokio::test]
async fn artifacts_put_get_list_delete() {
    let t = TestApp::new().await;
    let exp = t.experiment("e").await;
    let run = t.run(&exp).await;
    let base = format!("{exp}/{run}/artifacts");

    let r = t
        .raw(Method::PUT, &format!("{ART}/{base}/dir/hello.txt"), "hello world")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .raw(Method::PUT, &format!("{ART}/{base}/model.json"), "{\"a\":1}")
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = t.raw(Method::GET, &format!("{ART}/{base}/dir/hello.txt"), "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "hello world");
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(r.headers["content-length"], "11");

    // Listing: names relative to the listed path.
    let (s, v) = t.call(Method::GET, &format!("{ART}?path={}", enc(&base)), None).await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({ "files": [
            { "path": "dir", "is_dir": true },
            { "path": "model.json", "is_dir": false, "file_size": 7 },
        ] })
    );
    let (_, v) = t
        .call(
            Method::GET,
            &format!("{ART}?path={}", enc(&format!("{base}/dir"))),
            None,
        )
        .await;
    assert_eq!(
        v,
        json!({ "files": [{ "path": "hello.txt", "is_dir": false, "file_size": 11 }] })
    );
    // A file or a missing path lists as {}.
    let (_, v) = t
        .call(
            Method::GET,
            &format!("{ART}?path={}", enc(&format!("{base}/model.json"))),
            None,
        )
        .await;
    assert_eq!(v, json!({}));
    let (_, v) = t.call(Method::GET, &format!("{ART}?path=nothing/here"), None).await;
    assert_eq!(v, json!({}));

    // The tracking API's run listing.
    let v = t.ok_get(&format!("/artifacts/list?run_id={run}&path=dir")).await;
    assert_eq!(v["root_uri"], format!("mlflow-artifacts:/{base}"));
    assert_eq!(
        v["files"],
        json!([{ "path": "dir/hello.txt", "is_dir": false, "file_size": 11 }])
    );

    // Overwrite, delete, then 404.
    t.raw(Method::PUT, &format!("{ART}/{base}/model.json"), "{}").await;
    let r = t.raw(Method::GET, &format!("{ART}/{base}/model.json"), "").await;
    assert_eq!(r.text(), "{}");
    let (s, v) = t.call(Method::DELETE, &format!("{ART}/{base}/model.json"), None).await;
    assert_eq!((s, v), (200, json!({})));
    let (s, v) = t.call(Method::GET, &format!("{ART}/{base}/model.json"), None).await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = t.call(Method::GET, &format!("{ART}/{base}/dir"), None).await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");

    // Path traversal is refused, whichever way it is spelled.
    for path in [
        "../outside.txt",
        "1/../../outside.txt",
        "%2e%2e/outside.txt",
        "a/%2E%2E/%2e%2e/outside.txt",
        "a/..%2foutside.txt",
        "a%2f..%2f..%2foutside.txt",
        "a/./b.txt",
        "a\\b.txt",
        "a%00b.txt",
    ] {
        for method in [Method::PUT, Method::GET, Method::DELETE] {
            let r = t.raw(method.clone(), &format!("{ART}/{path}"), "x").await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{method} {path}: {}", r.text());
            assert_eq!(r.json()["error_code"], "INVALID_PARAMETER_VALUE");
        }
    }
    for path in ["..", "../..", "a/../../b"] {
        let (s, v) = t.call(Method::GET, &format!("{ART}?path={}", enc(path)), None).await;
        assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    }
    let (s, v) = t
        .get(&format!("/artifacts/list?run_id={run}&path={}", enc("../../..")))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    let outside = t.dir.path().join("outside.txt");
    assert!(!outside.exists());
}

// ---------------------------------------------------------------------------------------------
// Wire rules.

#[tokio::test]
async fn request_body_errors() {
    let t = TestApp::new().await;
    let url = format!("{API}/experiments/create");
    // A JSON array, a string, a number, null: 400.
    for body in ["[]", "[{\"name\":\"x\"}]", "\"x\"", "42", "null", "true"] {
        let r = t.raw(Method::POST, &url, body).await;
        assert_error(r.status.as_u16(), &r.json(), 400, "INVALID_PARAMETER_VALUE");
    }
    // Malformed JSON reads as an empty body: the first missing field is named.
    for body in ["{", "{\"name\": ", "not json at all", "{'name': 'x'}", "\u{0}\u{1}"] {
        let r = t.raw(Method::POST, &url, body).await;
        let v = r.json();
        assert_error(r.status.as_u16(), &v, 400, "INVALID_PARAMETER_VALUE");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("Missing value for required parameter 'name'"),
            "{v}"
        );
    }
    // Wrong types.
    for body in [
        json!({ "name": 5 }),
        json!({ "name": true }),
        json!({ "name": ["a"] }),
        json!({ "name": { "x": 1 } }),
        json!({ "name": "ok", "tags": [{ "key": 1, "value": "v" }] }),
        json!({ "name": "ok", "tags": 7 }),
    ] {
        let (s, v) = t.call(Method::POST, &url, Some(body.clone())).await;
        assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    }
    // An empty required string counts as missing.
    let (s, v) = t.post("/experiments/create", json!({ "name": "" })).await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    // Unknown fields are ignored.
    let (s, v) = t
        .post(
            "/experiments/create",
            json!({ "name": "fine", "future_field": { "a": [1, 2, 3] }, "workspace": "x" }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // int64 fields: numbers or strings; other types refused.
    let id = t.run("0").await;
    for ts in [json!(1_700_000_000_000i64), json!("1700000000000"), json!(1.7e12)] {
        t.ok(
            "/runs/log-metric",
            json!({ "run_id": id, "key": "m", "value": 1, "timestamp": ts }),
        )
        .await;
    }
    for ts in [json!("soon"), json!(1.5), json!(true), json!([1]), json!(1e30)] {
        let (s, v) = t
            .post(
                "/runs/log-metric",
                json!({ "run_id": id, "key": "m", "value": 1, "timestamp": ts }),
            )
            .await;
        assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    }
}

/// A paging token with an offset so large that the next page's offset would overflow.
#[tokio::test]
async fn huge_page_token_offset_is_refused() {
    let t = TestApp::new().await;
    let id = t.run("0").await;
    // base64 of {"offset": 18446744073709551615}, MLflow's token format.
    let tok = "eyJvZmZzZXQiOiAxODQ0Njc0NDA3MzcwOTU1MTYxNX0=";
    for (path, body) in [
        ("/experiments/search", json!({ "page_token": tok })),
        ("/runs/search", json!({ "experiment_ids": ["0"], "page_token": tok })),
        (
            "/logged-models/search",
            json!({ "experiment_ids": ["0"], "page_token": tok }),
        ),
    ] {
        let (s, v) = t.post(path, body).await;
        assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    }
    let (s, v) = t
        .get(&format!(
            "/metrics/get-history?run_id={id}&metric_key=m&page_token={}",
            enc(tok)
        ))
        .await;
    assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
}

/// Fires malformed requests at many endpoints: every answer must be a client error (< 500),
/// and JSON with an error code when it is an MLflow route.
#[tokio::test]
async fn malformed_requests_never_5xx() {
    let t = TestApp::new().await;
    let exp = t.experiment("target").await;
    let run = t.run(&exp).await;
    let model = t.ok("/logged-models", json!({ "experiment_id": exp })).await["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_string();
    let many_ids: Vec<String> = (0..40_000).map(|i| format!("{i:032x}")).collect();
    let big_in = format!(
        "attributes.run_id IN ({})",
        many_ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(",")
    );
    let many_exps: Vec<String> = (0..40_000).map(|i| i.to_string()).collect();
    let long_name = "n".repeat(400);

    let cases: Vec<(Method, String, String)> = vec![
        // Experiments.
        (Method::POST, "/experiments/create".into(), "[1,2]".into()),
        (Method::POST, "/experiments/create".into(), "{".into()),
        (Method::POST, "/experiments/create".into(), json!({ "name": "x".repeat(501) }).to_string()),
        (Method::POST, "/experiments/create".into(), json!({ "name": "y", "tags": [{ "key": "../a", "value": "v" }] }).to_string()),
        (Method::POST, "/experiments/create".into(), json!({ "name": "z", "tags": [null] }).to_string()),
        (Method::GET, "/experiments/get?experiment_id=abc".into(), String::new()),
        (Method::GET, "/experiments/get?experiment_id=-1".into(), String::new()),
        (Method::GET, "/experiments/get?experiment_id=99999999999999999999999".into(), String::new()),
        (Method::GET, "/experiments/get".into(), String::new()),
        (Method::GET, "/experiments/get-by-name?experiment_name=%ZZ%00".into(), String::new()),
        (Method::POST, "/experiments/search".into(), json!({ "max_results": -1 }).to_string()),
        (Method::POST, "/experiments/search".into(), json!({ "max_results": 1e300 }).to_string()),
        (Method::POST, "/experiments/search".into(), json!({ "filter": "name = " }).to_string()),
        (Method::POST, "/experiments/search".into(), json!({ "filter": "metrics.a > 1" }).to_string()),
        (Method::POST, "/experiments/search".into(), json!({ "filter": "experiment_id IN ('1', 'x')" }).to_string()),
        (Method::POST, "/experiments/search".into(), json!({ "filter": "experiment_id = '99999999999999999999'" }).to_string()),
        (Method::POST, "/experiments/search".into(), json!({ "order_by": ["tags.x ASC"] }).to_string()),
        (Method::POST, "/experiments/search".into(), json!({ "view_type": 17 }).to_string()),
        (Method::POST, "/experiments/update".into(), json!({ "experiment_id": "0" }).to_string()),
        (Method::POST, "/experiments/delete".into(), json!({ "experiment_id": "0" }).to_string()),
        (Method::POST, "/experiments/restore".into(), json!({ "experiment_id": "0" }).to_string()),
        (Method::POST, "/experiments/set-experiment-tag".into(), json!({ "experiment_id": exp, "key": "k", "value": "v".repeat(20_001) }).to_string()),
        (Method::POST, "/experiments/delete-experiment-tag".into(), json!({ "experiment_id": "x", "key": "k" }).to_string()),
        // Runs.
        (Method::POST, "/runs/create".into(), json!({ "experiment_id": "abc" }).to_string()),
        (Method::POST, "/runs/create".into(), json!({ "experiment_id": "424242" }).to_string()),
        (Method::POST, "/runs/create".into(), json!({ "start_time": "soon" }).to_string()),
        (Method::POST, "/runs/create".into(), json!({ "tags": [{ "key": "bad key!", "value": "v" }] }).to_string()),
        (Method::GET, "/runs/get?run_id=../../etc/passwd".into(), String::new()),
        (Method::GET, format!("/runs/get?run_id={}", "a".repeat(65)), String::new()),
        (Method::GET, "/runs/get?run_id=%00".into(), String::new()),
        (Method::POST, "/runs/update".into(), json!({ "run_id": run, "status": "BOGUS" }).to_string()),
        (Method::POST, "/runs/update".into(), json!({ "run_id": run, "end_time": { "t": 1 } }).to_string()),
        (Method::POST, "/runs/log-metric".into(), json!({ "run_id": run, "key": "m", "value": {}, "timestamp": 1 }).to_string()),
        (Method::POST, "/runs/log-metric".into(), json!({ "run_id": run, "key": "m", "value": 1, "timestamp": 1, "step": "x" }).to_string()),
        (Method::POST, "/runs/log-parameter".into(), json!({ "run_id": run, "key": "p" }).to_string()),
        (Method::POST, "/runs/set-tag".into(), json!({ "run_id": run, "value": "v" }).to_string()),
        (Method::POST, "/runs/log-batch".into(), json!({ "run_id": run, "metrics": 5 }).to_string()),
        (Method::POST, "/runs/log-batch".into(), json!({ "run_id": run, "metrics": [null] }).to_string()),
        (Method::POST, "/runs/log-batch".into(), json!({ "run_id": run, "params": [{ "key": "a", "value": "1" }, { "key": "a", "value": "2" }] }).to_string()),
        (Method::POST, "/runs/log-batch".into(), json!({ "metrics": [] }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": [1] }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": ["x"] }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": ["0"], "filter": "params.a > 1" }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": ["0"], "filter": "datasets.size = 'x'" }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": ["0"], "order_by": ["datasets.name"] }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": ["0"], "filter": big_in }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": many_exps }).to_string()),
        (Method::POST, "/runs/search".into(), json!({ "experiment_ids": ["0"], "filter": "metrics.m > 1e999" }).to_string()),
        (Method::GET, format!("/metrics/get-history?run_id={run}&metric_key=m&max_results=0"), String::new()),
        (Method::GET, format!("/metrics/get-history-bulk-interval?run_ids={run}&metric_key=m&max_results=100000"), String::new()),
        (Method::GET, format!("/metrics/get-history-bulk-interval?{}&metric_key=m", many_ids[..101].iter().map(|i| format!("run_ids={i}")).collect::<Vec<_>>().join("&")), String::new()),
        (Method::GET, "/metrics/get-history-bulk-interval?run_ids=..%2F..&metric_key=m".into(), String::new()),
        (Method::POST, "/runs/log-inputs".into(), json!({ "run_id": run, "datasets": [{ "dataset": { "name": "n" } }] }).to_string()),
        (Method::POST, "/runs/log-inputs".into(), json!({ "run_id": run, "models": [{}] }).to_string()),
        (Method::POST, "/runs/outputs".into(), json!({ "run_id": run, "models": [{ "model_id": "m", "step": "x" }] }).to_string()),
        (Method::GET, "/artifacts/list?run_id=0123456789abcdef0123456789abcdef".into(), String::new()),
        // Logged models.
        (Method::POST, "/logged-models".into(), json!({ "experiment_id": "abc" }).to_string()),
        (Method::POST, "/logged-models".into(), json!({ "experiment_id": exp, "params": (0..101).map(|i| json!({ "key": format!("p{i}"), "value": "v" })).collect::<Vec<_>>() }).to_string()),
        (Method::PATCH, format!("/logged-models/{model}"), json!({ "status": "DONE" }).to_string()),
        (Method::PATCH, format!("/logged-models/{model}"), "{".into()),
        (Method::PATCH, "/logged-models/m-missing".into(), json!({ "status": "LOGGED_MODEL_READY" }).to_string()),
        (Method::PATCH, format!("/logged-models/{model}/tags"), json!({ "tags": [{ "key": "", "value": "v" }] }).to_string()),
        (Method::POST, format!("/logged-models/{model}/params"), json!({ "params": [{ "key": "a/../../b", "value": "v" }] }).to_string()),
        (Method::GET, format!("/logged-models/{model}?allow_deleted=maybe"), String::new()),
        (Method::POST, "/logged-models/search".into(), json!({ "experiment_ids": ["0"], "order_by": [{ "field_name": "bogus" }] }).to_string()),
        (Method::POST, "/logged-models/search".into(), json!({ "experiment_ids": ["0"], "order_by": [{ "ascending": true }] }).to_string()),
        (Method::POST, "/logged-models/search".into(), json!({ "experiment_ids": ["0"], "filter": "datasets.name = 'x'" }).to_string()),
        (Method::POST, "/logged-models/search".into(), json!({ "experiment_ids": ["0"], "datasets": [{}] }).to_string()),
        (Method::GET, "/logged-models/search".into(), String::new()),
    ];
    let art_cases: Vec<(Method, String, String)> = vec![
        (Method::PUT, format!("{ART}/{long_name}"), "x".into()),
        (Method::PUT, format!("{ART}/{exp}/{long_name}/file.txt"), "x".into()),
        (Method::GET, format!("{ART}/{long_name}"), String::new()),
        (Method::DELETE, format!("{ART}/{long_name}"), String::new()),
        (Method::GET, format!("{ART}?path={long_name}"), String::new()),
        (Method::PUT, format!("{ART}/f.txt"), "x".into()),
        (Method::PUT, format!("{ART}/f.txt/child.txt"), "x".into()),
        (Method::PUT, format!("{ART}/f.txt/sub/child.txt"), "x".into()),
        (Method::PUT, format!("{ART}/{exp}"), "x".into()),
        (Method::GET, format!("{ART}/f.txt/child.txt"), String::new()),
        (Method::DELETE, format!("{ART}/"), String::new()),
        (Method::GET, format!("{ART}/%FF%FE"), String::new()),
    ];
    assert!(cases.len() + art_cases.len() >= 50);
    let mut failures = Vec::new();
    for (method, path, body) in cases
        .into_iter()
        .map(|(m, p, b)| (m, format!("{API}{p}"), b))
        .chain(art_cases)
    {
        let r = t.raw(method.clone(), &path, body).await;
        let short: String = path.chars().take(120).collect();
        if r.status.as_u16() >= 500 {
            failures.push(format!("{method} {short} -> {} {}", r.status, r.text()));
        } else if r.status.is_client_error() && r.status != StatusCode::METHOD_NOT_ALLOWED {
            let ok = serde_json::from_slice::<Value>(&r.bytes).is_ok_and(|v| v["error_code"].is_string());
            if !ok {
                failures.push(format!(
                    "{method} {short} -> {} without an MLflow error body: {}",
                    r.status,
                    r.text()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "bad answers:\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Artifact downloads as user content, and the upload limit.

#[tokio::test]
async fn artifact_downloads_never_run_as_active_content() {
    let t = TestApp::new().await;
    let put = |name: &str| format!("{ART}/0/r/artifacts/{}", enc(name).replace('+', "%20"));
    let downloads = [
        "x.html",
        "x.htm",
        "x.xhtml",
        "x.xht",
        "x.svg",
        "x.xml",
        "x.xsl",
        "x.js",
        "x.mjs",
        "x.pdf",
        "MLmodel",
        "x.weird-ext",
        "x.md",
    ];
    let inline = [
        "a.png", "a.jpg", "a.jpeg", "a.gif", "a.webp", "a.txt", "a.log", "a.json", "a.csv", "a.tsv",
    ];
    for name in downloads.iter().chain(&inline) {
        let r = t.raw(Method::PUT, &put(name), "<script>alert(1)</script>").await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text());
    }
    for name in downloads.iter().chain(&inline) {
        let r = t.raw(Method::GET, &put(name), "").await;
        assert_eq!(r.status, StatusCode::OK, "{name}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{name}");
        assert_eq!(r.headers["content-security-policy"], "sandbox", "{name}");
        let disposition = r.headers.get("content-disposition").map(|v| v.to_str().unwrap());
        if downloads.contains(name) {
            assert_eq!(
                disposition,
                Some(format!("attachment; filename=\"{name}\"").as_str()),
                "{name}"
            );
        } else {
            assert_eq!(disposition, None, "{name} is previewed inline");
        }
    }
    // The type stays what it is (the UI shows an SVG through <img>, which a download
    // disposition does not affect).
    let r = t.raw(Method::GET, &put("x.svg"), "").await;
    assert_eq!(r.headers["content-type"], "image/svg+xml");

    // Names that cannot sit in a quoted string as they are: an ASCII stand-in, and the exact
    // name in RFC 6266's filename*.
    let name = "r\u{e9}sum\u{e9} \"q\"%;.html";
    let r = t.raw(Method::PUT, &put(name), "x").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t.raw(Method::GET, &put(name), "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers["content-disposition"],
        "attachment; filename=\"r_sum_ _q__;.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22q%22%25%3B.html"
    );
}

#[tokio::test]
async fn uploads_over_the_limit_are_413_and_leave_nothing_behind() {
    let t = TestApp::with_max_upload(10).await;
    let url = format!("{ART}/0/r/artifacts/f.bin");
    let status_of = |r: &Resp| {
        let v = r.json();
        assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE", "{v}");
        r.status
    };
    let r = t.raw(Method::PUT, &url, "0123456789").await;
    assert_eq!(r.status, StatusCode::OK, "exactly the limit: {}", r.text());

    // Refused from the declared length, before any byte is read.
    let req = Request::builder()
        .method(Method::PUT)
        .uri(&url)
        .header("content-length", "11")
        .body(Body::from("0123456789A"))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(status_of(&r), StatusCode::PAYLOAD_TOO_LARGE);

    // A streamed body with no length: refused once it passes the limit.
    let chunks = || {
        let c = ["012345", "6789AB", "CDEF"].map(|c| Ok::<_, std::io::Error>(bytes::Bytes::from_static(c.as_bytes())));
        Body::from_stream(futures_util::stream::iter(c))
    };
    let req = Request::builder().method(Method::PUT).uri(&url).body(chunks()).unwrap();
    let r = t.send(req).await;
    assert_eq!(status_of(&r), StatusCode::PAYLOAD_TOO_LARGE);
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("{ART}/0/r/artifacts/new.bin"))
        .body(chunks())
        .unwrap();
    assert_eq!(status_of(&t.send(req).await), StatusCode::PAYLOAD_TOO_LARGE);

    // The earlier version is intact, the refused new file does not exist, and no temporary
    // file is left.
    let r = t.raw(Method::GET, &url, "").await;
    assert_eq!(r.text(), "0123456789");
    let (s, v) = t.call(Method::GET, &format!("{ART}/0/r/artifacts/new.bin"), None).await;
    assert_error(s, &v, 404, "RESOURCE_DOES_NOT_EXIST");
    let left: Vec<_> = std::fs::read_dir(t.dir.path().join("artifacts/0/r/artifacts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["f.bin"]);
}

#[tokio::test]
async fn a_symlink_in_the_artifact_store_is_a_client_error() {
    let t = TestApp::new().await;
    let outside = t.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let root = t.dir.path().join("artifacts");
    std::fs::create_dir_all(root.join("0")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("0/link")).unwrap();
    for (method, path) in [
        (Method::GET, format!("{ART}/0/link/secret.txt")),
        (Method::PUT, format!("{ART}/0/link/secret.txt")),
        (Method::DELETE, format!("{ART}/0/link/secret.txt")),
        (Method::GET, format!("{ART}?path=0/link")),
    ] {
        let (s, v) = t.call(method.clone(), &path, None).await;
        assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
    }
    assert_eq!(std::fs::read_to_string(outside.join("secret.txt")).unwrap(), "secret");
}

/// Bounded work per request: every search kind refuses what is past the limits of
/// `mlp_core::validation` with a 400 naming the limit (never a 5xx, never a 503 a client would
/// retry), the largest admitted searches work, and names with NUL or past MLflow's column
/// lengths are refused.
#[tokio::test]
async fn search_limits_and_names_are_400_over_http() {
    use mlp_core::validation::{
        MAX_FILTER_CLAUSES, MAX_FILTER_STRING_LENGTH, MAX_FILTER_VALUE_LENGTH, MAX_IN_LIST_VALUES, MAX_ORDER_BY_TERMS,
        MAX_REGISTERED_MODEL_NAME_LENGTH,
    };
    let t = TestApp::new().await;
    let exp = t.experiment("limits").await;
    t.run(&exp).await;
    let refused = |(s, v): (u16, Value), part: String| {
        assert_error(s, &v, 400, "INVALID_PARAMETER_VALUE");
        assert!(v["message"].as_str().unwrap().contains(&part), "{part}: {v}");
    };

    let clauses = |n: usize| vec!["metrics.m >= 0"; n].join(" AND ");
    t.ok(
        "/runs/search",
        json!({ "experiment_ids": [exp], "filter": clauses(MAX_FILTER_CLAUSES) }),
    )
    .await;
    refused(
        t.post(
            "/runs/search",
            json!({ "experiment_ids": [exp], "filter": clauses(MAX_FILTER_CLAUSES + 1) }),
        )
        .await,
        format!("at most {MAX_FILTER_CLAUSES} clauses"),
    );
    let orders = |n: usize| vec!["name"; n];
    t.ok("/experiments/search", json!({ "order_by": orders(MAX_ORDER_BY_TERMS) }))
        .await;
    refused(
        t.post(
            "/experiments/search",
            json!({ "order_by": orders(MAX_ORDER_BY_TERMS + 1) }),
        )
        .await,
        format!("at most {MAX_ORDER_BY_TERMS} terms"),
    );
    let long = "x".repeat(MAX_FILTER_VALUE_LENGTH);
    t.ok(
        "/registered-models/search",
        json!({ "filter": format!("name LIKE '{long}'") }),
    )
    .await;
    refused(
        t.post(
            "/registered-models/search",
            json!({ "filter": format!("name LIKE '{long}%'") }),
        )
        .await,
        format!("at most {MAX_FILTER_VALUE_LENGTH} characters"),
    );
    let items = |n: usize| (0..n).map(|i| format!("'m{i}'")).collect::<Vec<_>>().join(",");
    t.ok(
        "/model-versions/search",
        json!({ "filter": format!("name IN ({})", items(MAX_IN_LIST_VALUES)) }),
    )
    .await;
    refused(
        t.post(
            "/model-versions/search",
            json!({ "filter": format!("name IN ({})", items(MAX_IN_LIST_VALUES + 1)) }),
        )
        .await,
        format!("at most {MAX_IN_LIST_VALUES} values"),
    );
    let padded = format!("name = 'x'{}", " ".repeat(MAX_FILTER_STRING_LENGTH));
    refused(
        t.post(
            "/logged-models/search",
            json!({ "experiment_ids": [exp], "filter": padded }),
        )
        .await,
        format!("at most {MAX_FILTER_STRING_LENGTH} bytes"),
    );

    refused(
        t.post("/experiments/create", json!({ "name": "a\u{0}b" })).await,
        "NUL".into(),
    );
    refused(
        t.post("/registered-models/create", json!({ "name": "m\u{0}" })).await,
        "NUL".into(),
    );
    let too_long = "m".repeat(MAX_REGISTERED_MODEL_NAME_LENGTH + 1);
    refused(
        t.post("/registered-models/create", json!({ "name": too_long })).await,
        format!("length limit of {MAX_REGISTERED_MODEL_NAME_LENGTH}"),
    );
    t.ok(
        "/registered-models/create",
        json!({ "name": "m".repeat(MAX_REGISTERED_MODEL_NAME_LENGTH) }),
    )
    .await;
    refused(
        t.post("/runs/create", json!({ "experiment_id": exp, "run_name": "r\u{0}" }))
            .await,
        "NUL".into(),
    );
}
