//! Logs of the real binary: every line is JSON, every request line carries the request id that
//! the response echoes, and no secret from the configuration is ever printed.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn logs_are_json_with_request_ids_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = "s3cr3t-Pa55word-do-not-print";
    let redis_secret = dir.path().join("redis-password");
    std::fs::write(&redis_secret, "redis-hunter2-do-not-print").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .env("MLP__DATA_DIR", dir.path())
        .env("MLP__METRICS__PORT", "0")
        .env("MLP__LOG__LEVEL", "debug")
        // A secret in a URL that is never used (SQLite is configured) must still be redacted
        // wherever the configuration is logged.
        .env("DATABASE_URL", format!("sqlite://{}/mlp.db", dir.path().display()))
        .env("MLP__REDIS__PASSWORD_FILE", &redis_secret)
        .env("MLP__ARTIFACTS__S3__SECRET_ACCESS_KEY", secret)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let start = Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resp = http
        .post(format!("{base}/api/2.0/mlflow/experiments/create"))
        .json(&serde_json::json!({"name": "logs"}))
        .send()
        .await
        .unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let given = http
        .get(format!("{base}/api/2.0/mlflow/experiments/get?experiment_id=999"))
        .header("x-request-id", "client-chosen-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.status(), 404);
    assert_eq!(given.headers()["x-request-id"], "client-chosen-id-42");
    tokio::time::sleep(Duration::from_millis(300)).await;
    unsafe { kill(child.id() as i32, 15) };
    child.wait().unwrap();
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();

    assert!(!logs.contains(secret), "a secret was logged");
    assert!(!logs.contains("redis-hunter2"), "a secret file's content was logged");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 3, "{logs}");
    let request_lines: Vec<&serde_json::Value> = lines.iter().filter(|l| l["span"]["name"] == "request").collect();
    assert!(
        request_lines
            .iter()
            .any(|l| l["span"]["request_id"] == request_id.as_str()),
        "{logs}"
    );
    assert!(
        request_lines
            .iter()
            .any(|l| l["span"]["request_id"] == "client-chosen-id-42"),
        "{logs}"
    );
    for l in &request_lines {
        assert!(
            !l["span"]["request_id"].as_str().unwrap_or("").is_empty(),
            "a request line without an id: {l}"
        );
    }
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
