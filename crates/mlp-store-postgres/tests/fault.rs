//! Fault behaviour on PostgreSQL: the server on a dedicated PostgreSQL instance (started by this
//! test with `scripts/pg-tmp`), which is then stopped and started again. While it is down every
//! API call answers 503 TEMPORARILY_UNAVAILABLE within a bounded time (no hang, no 500); once it
//! is back the server recovers by itself, with the data written before the outage intact.
//! Backends killed under the pool (`pg_terminate_backend`) are replaced without a failed request.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mlp_artifacts::LocalArtifactStore;
use mlp_server::AppState;
use mlp_store_postgres::{PgOptions, PgStore, testing};
use sqlx::{Connection, PgConnection};
use tower::ServiceExt;

fn pg_tmp() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-tmp")
}

fn have_server_binaries() -> bool {
    ["initdb", "pg_ctl", "postgres"].iter().all(|b| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {b}"))
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A PostgreSQL server of this test's own, stopped and removed on drop.
struct Instance {
    dir: PathBuf,
    url: String,
}

impl Instance {
    fn run(&self, cmd: &str) {
        let out = Command::new(pg_tmp()).arg(cmd).arg(&self.dir).output().unwrap();
        assert!(
            out.status.success(),
            "pg-tmp {cmd} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fn start() -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/pg-fault")
            .join(uuid::Uuid::new_v4().simple().to_string());
        let out = Command::new(pg_tmp())
            .arg("start")
            .arg(&dir)
            .arg(port.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg-tmp start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Instance { dir, url }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = Command::new(pg_tmp()).arg("stop").arg(&self.dir).output();
    }
}

async fn call(app: &axum::Router, method: &str, path: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(format!("/api/2.0/mlflow{path}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_then_recovers() {
    if !have_server_binaries() {
        if testing::skip_reason().is_none() {
            panic!("PostgreSQL tests are required but initdb/pg_ctl/postgres are not on PATH");
        }
        eprintln!("skipping: PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH");
        return;
    }
    let pg = Instance::start();
    let mut opts = PgOptions::new(pg.url.clone());
    opts.max_connections = 4;
    opts.acquire_timeout = Duration::from_secs(2);
    let store = Arc::new(PgStore::open(&opts).await.unwrap());
    let artifacts = tempfile::tempdir().unwrap();
    let app = mlp_server::app(AppState {
        store: store.clone(),
        registry: store.clone(),
        artifacts: Arc::new(LocalArtifactStore::new(artifacts.path()).unwrap()),
        jobs: None,
        max_artifact_bytes: 5 << 30,
    });

    let (status, body) = call(&app, "POST", "/experiments/create", r#"{"name":"before-outage"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let exp = body["experiment_id"].as_str().unwrap().to_string();
    let get = format!("/experiments/get?experiment_id={exp}");
    let run_body = format!(r#"{{"experiment_id":"{exp}","start_time":1}}"#);

    // Killed backends: the pool tests connections before use and replaces dead ones.
    let mut admin = PgConnection::connect(&pg.url).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (status, body) = call(&app, "GET", &get, "").await;
    assert_eq!(status, StatusCode::OK, "after pg_terminate_backend: {body}");

    // Outage: every call is a quick 503 TEMPORARILY_UNAVAILABLE.
    pg.run("pause");
    for (method, path, body) in [
        ("GET", get.as_str(), ""),
        ("POST", "/runs/create", run_body.as_str()),
        ("POST", "/runs/search", r#"{"experiment_ids":["0"]}"#),
        ("GET", get.as_str(), ""),
    ] {
        let t = Instant::now();
        let (status, json) = call(&app, method, path, body).await;
        let took = t.elapsed();
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path} during the outage: {json}"
        );
        assert_eq!(json["error_code"], "TEMPORARILY_UNAVAILABLE", "{json}");
        assert!(
            took < Duration::from_secs(5),
            "{method} {path} took {took:?} during the outage"
        );
        assert!(!json.to_string().contains("password"), "{json}");
    }

    // Back: the same server answers again without a restart, and nothing was lost.
    pg.run("resume");
    let t = Instant::now();
    loop {
        let (status, json) = call(&app, "GET", &get, "").await;
        if status == StatusCode::OK {
            assert_eq!(json["experiment"]["name"], "before-outage");
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "while recovering: {json}");
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no recovery after {:?}",
            t.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, json) = call(&app, "POST", "/runs/create", &run_body).await;
    assert_eq!(status, StatusCode::OK, "after recovery: {json}");
}
