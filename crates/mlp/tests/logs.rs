//! Logs of the real binary: piped, every line is JSON, every request line carries the request id
//! that the response echoes, and no secret from the configuration is ever printed; on a terminal,
//! readable text with a banner saying where to open the UI.

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
    let _ = rustls::crypto::ring::default_provider().install_default();
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
    let ready = lines
        .iter()
        .find(|l| l["message"] == "mlp server ready")
        .unwrap_or_else(|| panic!("no ready event: {logs}"));
    assert_eq!(ready["url"], base.as_str(), "{ready}");
    assert_eq!(ready["metrics"], "off", "{ready}");
    let config = lines
        .iter()
        .find(|l| l["message"] == "configuration")
        .unwrap_or_else(|| panic!("no configuration event: {logs}"));
    assert_eq!(config["server.port"], port, "{config}");
    assert_eq!(config["redis.url"], "off", "{config}");
    assert_eq!(config["data_dir"], dir.path().display().to_string(), "{config}");
    // Fields, not a Debug dump, and no Rust Option spelled out anywhere ('None' alone is also
    // MLflow's model stage, which the debug-level SQL shows).
    assert!(!logs.contains("Config {") && !logs.contains("Some("), "{logs}");
    assert!(!logs.contains(":\"None\"") && !logs.contains("=None"), "{logs}");
    for l in &request_lines {
        assert!(
            !l["span"]["request_id"].as_str().unwrap_or("").is_empty(),
            "a request line without an id: {l}"
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `mlp server` under a pseudo-terminal (util-linux `script`), as a person starts it.
#[tokio::test]
async fn a_terminal_gets_text_and_a_banner_with_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let metrics_port = free_port();
    let pid_file = dir.path().join("pid");
    let cmd = format!(
        "echo $$ > '{}'; exec '{}' server --host 127.0.0.1 --port {port}",
        pid_file.display(),
        env!("CARGO_BIN_EXE_mlp")
    );
    let child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("MLP__DATA_DIR", dir.path())
        .env("MLP__METRICS__PORT", metrics_port.to_string())
        .env_remove("MLP__LOG__FORMAT")
        .env_remove("RUST_LOG")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/mlp.db?password=pty-secret", dir.path().display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the server under a pseudo-terminal");
    let base = format!("http://127.0.0.1:{port}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let start = Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    unsafe { kill(pid, 15) };
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");

    assert!(screen.contains(&format!("is ready: open {base}")), "{screen}");
    assert!(screen.contains(&format!("{base}/api/2.0/mlflow")), "{screen}");
    assert!(
        screen.contains(&format!("http://127.0.0.1:{metrics_port}/metrics")),
        "{screen}"
    );
    assert!(screen.contains(&format!("{}/mlp.db", dir.path().display())), "{screen}");
    assert!(screen.contains("off (loopback only)"), "{screen}");
    assert!(screen.contains("listening"), "the usual log lines follow: {screen}");
    assert!(!screen.contains("pty-secret"), "{screen}");
    assert!(!screen.contains("Some(") && !screen.contains("None"), "{screen}");
    for line in screen.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line.trim()).is_err() || line.trim().is_empty(),
            "a JSON line on a terminal: {line}"
        );
    }
}

/// Forced text survives a pipe (a person redirecting to a file), without terminal colours.
#[test]
fn forced_text_format_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["migrate"])
        .env("MLP__DATA_DIR", dir.path())
        .env("MLP__LOG__FORMAT", "text")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("INFO") && logs.contains("migrations applied"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in a file: {logs}");
    assert!(logs.lines().all(|l| !l.trim_start().starts_with('{')), "{logs}");

    let bad = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["migrate"])
        .env("MLP__DATA_DIR", dir.path())
        .env("MLP__LOG__FORMAT", "yaml")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("MLP__LOG__FORMAT"));
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
