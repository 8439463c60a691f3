//! An acknowledged write survives `kill -9` of the server, on both back-ends: the built `mlp`
//! binary is started, a log-batch is acknowledged, the process is killed with SIGKILL at once,
//! and a restarted server on the same database returns every point and param. The same with
//! concurrent writers killed mid-flight, which is what group commit (many requests per
//! transaction) must not break: every answered request's point is there after a restart.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mlp_store_postgres::testing::{self, TempDatabase};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange (`Connection: close`): status and body.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, serde_json::Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    Ok((status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)))
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(data_dir: &Path, db_url: Option<&str>) -> Server {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlp"));
        cmd.args([
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("MLP__DATABASE__URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        if let Some(url) = db_url {
            cmd.env("MLP__DATABASE__URL", url);
        }
        let child = cmd.spawn().expect("start mlp server");
        let server = Server { child, port };
        let t = Instant::now();
        while !matches!(http(port, "GET", "/health", ""), Ok((200, _))) {
            assert!(t.elapsed() < Duration::from_secs(30), "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
    fn call(&self, method: &str, path: &str, body: &str) -> serde_json::Value {
        let (status, json) = http(self.port, method, &format!("/api/2.0/mlflow{path}"), body).unwrap();
        assert_eq!(status, 200, "{method} {path}: {json}");
        json
    }
    /// SIGKILL: no shutdown hook, no flush, no graceful anything.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn acknowledged_batches_survive_kill_9(data_dir: &Path, db_url: Option<&str>) {
    const ROUNDS: usize = 3;
    const POINTS: usize = 999; // + 1 param: the 1000-entry limit of a batch
    let server = Server::start(data_dir, db_url);
    let exp = server.call("POST", "/experiments/create", r#"{"name":"durability"}"#)["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = server.call(
        "POST",
        "/runs/create",
        &format!(r#"{{"experiment_id":"{exp}","start_time":1}}"#),
    )["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut server = Some(server);
    for round in 0..ROUNDS {
        let s = server.take().unwrap_or_else(|| Server::start(data_dir, db_url));
        let metrics: Vec<serde_json::Value> = (0..POINTS)
            .map(|i| serde_json::json!({"key": format!("m{round}"), "value": i as f64, "timestamp": 1, "step": i}))
            .collect();
        let batch = serde_json::json!({
            "run_id": run,
            "metrics": metrics,
            "params": [{"key": format!("p{round}"), "value": "v"}],
        });
        s.call("POST", "/runs/log-batch", &batch.to_string());
        // Acknowledged: kill at once.
        s.kill9();
    }
    let s = Server::start(data_dir, db_url);
    let got = s.call("GET", &format!("/runs/get?run_id={run}"), "");
    let params = got["run"]["data"]["params"].as_array().cloned().unwrap_or_default();
    for round in 0..ROUNDS {
        assert!(
            params.iter().any(|p| p["key"] == format!("p{round}")),
            "param of round {round} lost: {params:?}"
        );
        let hist = s.call(
            "GET",
            &format!("/metrics/get-history?run_id={run}&metric_key=m{round}&max_results=25000"),
            "",
        );
        let n = hist["metrics"].as_array().map_or(0, Vec::len);
        assert_eq!(
            n, POINTS,
            "round {round}: {n} of {POINTS} acknowledged points survived kill -9"
        );
    }
}

/// Writers on their own runs, killed mid-flight while requests are in every stage (queued for
/// the writer, in a transaction being committed, answered): every point whose request was
/// answered 200 must be there after a restart. Unanswered ones may or may not be.
fn concurrent_acknowledged_writes_survive_kill_9(data_dir: &Path, db_url: Option<&str>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    const WRITERS: usize = 8;
    const KILLS: usize = 3;
    const ACKS_BEFORE_KILL: usize = 150;
    let server = Server::start(data_dir, db_url);
    let exp = server.call("POST", "/experiments/create", r#"{"name":"durability-concurrent"}"#)["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let runs: Vec<String> = (0..WRITERS)
        .map(|_| {
            server.call(
                "POST",
                "/runs/create",
                &format!(r#"{{"experiment_id":"{exp}","start_time":1}}"#),
            )["run"]["info"]["run_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let acked: Arc<Vec<Mutex<Vec<i64>>>> = Arc::new((0..WRITERS).map(|_| Mutex::new(Vec::new())).collect());
    let mut server = Some(server);
    for kill in 0..KILLS {
        let s = server.take().unwrap_or_else(|| Server::start(data_dir, db_url));
        let port = s.port;
        let total = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (run, acked, total) = (runs[w].clone(), acked.clone(), total.clone());
                std::thread::spawn(move || {
                    // Steps never repeat across kills, so a point cannot be mistaken for another.
                    for step in (kill as i64 * 1_000_000).. {
                        let body =
                            format!(r#"{{"run_id":"{run}","key":"c","value":{step},"timestamp":1,"step":{step}}}"#);
                        match http(port, "POST", "/api/2.0/mlflow/runs/log-metric", &body) {
                            Ok((200, _)) => {
                                acked[w].lock().unwrap().push(step);
                                total.fetch_add(1, Ordering::Relaxed);
                            }
                            // Killed: connection refused or reset, or an answer cut short.
                            _ => break,
                        }
                    }
                })
            })
            .collect();
        let t = Instant::now();
        while total.load(Ordering::Relaxed) < ACKS_BEFORE_KILL {
            assert!(t.elapsed() < Duration::from_secs(60), "writers made no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        s.kill9();
        for w in writers {
            w.join().unwrap();
        }
    }
    let s = Server::start(data_dir, db_url);
    for (w, run) in runs.iter().enumerate() {
        let hist = s.call(
            "GET",
            &format!("/metrics/get-history?run_id={run}&metric_key=c&max_results=25000"),
            "",
        );
        let stored: std::collections::HashSet<i64> = hist["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["step"].as_i64().unwrap())
            .collect();
        let acked = acked[w].lock().unwrap();
        let lost: Vec<&i64> = acked.iter().filter(|s| !stored.contains(s)).collect();
        assert!(
            lost.is_empty(),
            "writer {w}: {} of {} acknowledged points lost: {lost:?}",
            lost.len(),
            acked.len()
        );
    }
}

#[test]
fn sqlite_concurrent_acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_acknowledged_writes_survive_kill_9(dir.path(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_acknowledged_writes_survive_kill_9() {
    if let Some(reason) = testing::skip_reason() {
        eprintln!("skipping: {reason}");
        return;
    }
    let db = TempDatabase::create(&testing::server_url().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || concurrent_acknowledged_writes_survive_kill_9(dir.path(), Some(&url)))
        .await
        .unwrap();
}

#[test]
fn sqlite_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    acknowledged_batches_survive_kill_9(dir.path(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_write_survives_kill_9() {
    if let Some(reason) = testing::skip_reason() {
        eprintln!("skipping: {reason}");
        return;
    }
    let db = TempDatabase::create(&testing::server_url().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || acknowledged_batches_survive_kill_9(dir.path(), Some(&url)))
        .await
        .unwrap();
}
