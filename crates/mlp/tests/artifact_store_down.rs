//! When the S3 artifact store is unreachable, artifact calls fail cleanly with 503
//! TEMPORARILY_UNAVAILABLE within a bounded time, and metadata calls keep working: once
//! in-process (`mlp_server::app` over SQLite), once through the `mlp` binary configured by
//! `MLP__ARTIFACTS__…` variables (which also checks that the secret never reaches the log).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use mlp_artifacts::S3Options;
use mlp_server::{AppState, app};
use mlp_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &str = "artifact-secret-must-not-leak-7f3a";

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn call(app: &axum::Router, method: Method, uri: &str, body: Body) -> (StatusCode, Value) {
    let req = Request::builder().method(method).uri(uri).body(body).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
    };
    (status, v)
}

#[tokio::test]
async fn metadata_works_while_the_artifact_store_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mlp.db").display());
    let store = std::sync::Arc::new(SqliteStore::open(&url, "mlflow-artifacts:").await.unwrap());
    let s3 = S3Options {
        endpoint: Some(format!("http://127.0.0.1:{}", closed_port())),
        access_key_id: Some("mlp-test".into()),
        secret_access_key: Some(SECRET.into()),
        ..Default::default()
    };
    let artifacts = mlp_artifacts::open("s3://mlp-artifacts/test", &s3).unwrap();
    let app = app(AppState {
        store: store.clone(),
        registry: store,
        artifacts,
        jobs: None,
        max_artifact_bytes: 5 << 30,
    });

    let (status, body) = call(
        &app,
        Method::POST,
        "/api/2.0/mlflow/experiments/create",
        Body::from(r#"{"name":"while-s3-is-down"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let exp = body["experiment_id"].as_str().unwrap().to_string();
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/2.0/mlflow/runs/create",
        Body::from(json!({"experiment_id": exp}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let art = "/api/2.0/mlflow-artifacts/artifacts";
    let start = Instant::now();
    let calls = [
        (
            Method::PUT,
            format!("{art}/{exp}/r/artifacts/model.pkl"),
            Body::from("weights"),
        ),
        (Method::GET, format!("{art}/{exp}/r/artifacts/model.pkl"), Body::empty()),
        (Method::GET, format!("{art}?path={exp}/r/artifacts"), Body::empty()),
        (
            Method::DELETE,
            format!("{art}/{exp}/r/artifacts/model.pkl"),
            Body::empty(),
        ),
    ];
    for (method, uri, body) in calls {
        let (status, v) = call(&app, method.clone(), &uri, body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{method} {uri}: {v}");
        assert_eq!(v["error_code"], "TEMPORARILY_UNAVAILABLE", "{method} {uri}: {v}");
        assert!(!v.to_string().contains(SECRET), "{v}");
    }
    assert!(start.elapsed() < Duration::from_secs(15), "took {:?}", start.elapsed());

    // Metadata still answers after the failed artifact calls.
    let (status, body) = call(
        &app,
        Method::GET,
        &format!("/api/2.0/mlflow/experiments/get?experiment_id={exp}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["experiment"]["name"], "while-s3-is-down");
}

/// One HTTP/1.1 request over a fresh connection (no client library needed).
async fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn the_binary_uses_an_s3_root_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret_access_key");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let port = closed_port();
    let log = dir.path().join("server.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--data-dir")
        .arg(dir.path())
        .env("MLP__ARTIFACTS__ROOT", "s3://mlp-artifacts/prod")
        .env(
            "MLP__ARTIFACTS__S3__ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .env("MLP__ARTIFACTS__S3__ACCESS_KEY_ID", "mlp-test")
        .env("MLP__ARTIFACTS__S3__SECRET_ACCESS_KEY_FILE", &secret_file)
        .env("MLP__WORKER__EMBEDDED", "false")
        .env("MLP__LOG__LEVEL", "debug")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("mlp exited with {status}: {}", std::fs::read_to_string(&log).unwrap());
        }
        assert!(Instant::now() < deadline, "mlp did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, text) = http(port, "POST", "/api/2.0/mlflow/experiments/create", r#"{"name":"e"}"#).await;
    let put = http(
        port,
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a.txt",
        "hello",
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status, 200, "{text}\n{log_text}");
    assert_eq!(put.0, 503, "{}\n{log_text}", put.1);
    assert!(put.1.contains("TEMPORARILY_UNAVAILABLE"), "{}", put.1);
    assert!(log_text.contains("s3://mlp-artifacts/prod"), "{log_text}");
    assert!(!log_text.contains(SECRET), "the secret reached the log:\n{log_text}");
    assert!(!put.1.contains(SECRET));
}
