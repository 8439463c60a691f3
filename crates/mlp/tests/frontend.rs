//! `mlp ui` (the frontend Deployment): serves the embedded UI and forwards API calls to the
//! backend, streaming both ways; with the backend gone it answers 502 with a JSON error.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mlp(args: &[&str], data: &std::path::Path) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_mlp"))
            .args(args)
            .env("MLP__DATA_DIR", data)
            .env("MLP__SERVER__HOST", "127.0.0.1")
            .env("MLP__METRICS__PORT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn wait_up(http: &reqwest::Client, url: &str) {
    let start = Instant::now();
    while http.get(url).send().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_frontend_serves_the_ui_and_forwards_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (api, ui) = (free_port(), free_port());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let backend = mlp(&["server", "--port", &api.to_string()], dir.path());
    let _frontend = mlp(
        &[
            "ui",
            "--port",
            &ui.to_string(),
            "--backend-url",
            &format!("http://127.0.0.1:{api}"),
        ],
        dir.path(),
    );
    wait_up(&http, &format!("http://127.0.0.1:{api}/health")).await;
    wait_up(&http, &format!("http://127.0.0.1:{ui}/health")).await;
    let base = format!("http://127.0.0.1:{ui}");

    let index = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let created: serde_json::Value = http
        .post(format!("{base}/api/2.0/mlflow/experiments/create"))
        .json(&serde_json::json!({"name": "through-the-frontend"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["experiment_id"].as_str().unwrap().to_string();
    let got: serde_json::Value = http
        .get(format!("{base}/api/2.0/mlflow/experiments/get"))
        .query(&[("experiment_id", id.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["experiment"]["name"], "through-the-frontend");
    // Errors pass through unchanged, and an artifact body is streamed both ways.
    let missing = http
        .get(format!("{base}/api/2.0/mlflow/experiments/get?experiment_id=999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body = vec![7u8; 3 * 1024 * 1024];
    let put = http
        .put(format!(
            "{base}/api/2.0/mlflow-artifacts/artifacts/{id}/r/artifacts/blob.bin"
        ))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let back = http
        .get(format!(
            "{base}/api/2.0/mlflow-artifacts/artifacts/{id}/r/artifacts/blob.bin"
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(back.len(), body.len());
    assert!(back.iter().all(|b| *b == 7));

    drop(backend);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let down = http
        .get(format!("{base}/api/2.0/mlflow/experiments/get?experiment_id={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), 502);
    let err: serde_json::Value = down.json().await.unwrap();
    assert_eq!(err["error_code"], "TEMPORARILY_UNAVAILABLE");
    // The UI itself does not depend on the backend.
    assert_eq!(http.get(format!("{base}/")).send().await.unwrap().status(), 200);
}
