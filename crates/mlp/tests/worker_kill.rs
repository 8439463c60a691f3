//! A worker killed with SIGKILL in the middle of a job loses nothing: once its lease runs out,
//! another worker process takes the job over and finishes it, and the first attempt's process
//! does not outlive its worker. Real processes: `mlp server` and two `mlp worker`s sharing one
//! SQLite database, driven over HTTP.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(args: &[&str], data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(args)
        .env("MLP__DATA_DIR", data)
        .env("MLP__SERVER__HOST", "127.0.0.1")
        .env("MLP__SERVER__PORT", port.to_string())
        .env("MLP__METRICS__PORT", "0")
        .env("MLP__WORKER__EMBEDDED", "false")
        .env("MLP__WORKER__LEASE_SECONDS", "2")
        .env("MLP__WORKER__GRACE_SECONDS", "1")
        .env_remove("MLP__REDIS__URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mlp binary starts")
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn job(http: &reqwest::Client, base: &str, id: &str) -> Value {
    http.get(format!("{base}/api/v1/jobs/{id}"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["job"]
        .clone()
}

async fn wait_for(http: &reqwest::Client, base: &str, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let j = job(http, base, id).await;
        if done(&j) {
            return j;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}: {j}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_killed_worker_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Killed(spawn(&["server"], &data, port));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let start = Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut first = spawn(&["worker"], &data, port);

    let marker = dir.path().join("attempts.log");
    let pids = dir.path().join("pids.log");
    let script = format!(
        "echo $MLP_JOB_ATTEMPT >> {}; echo $$ >> {}; sleep 4",
        marker.display(),
        pids.display()
    );
    let spec = serde_json::json!({"name": "survives", "kind": "training", "command": ["sh", "-c", script]});
    let resp: Value = http
        .post(format!("{base}/api/v1/jobs"))
        .json(&spec)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = resp["job"]["job_id"].as_str().expect("a job id").to_string();

    wait_for(&http, &base, &id, "the first attempt", |j| j["state"] == "RUNNING").await;
    let start = Instant::now();
    while !pids.exists() {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().unwrap(); // SIGKILL: no clean-up of any kind.
    first.wait().unwrap();
    let first_pid: i32 = std::fs::read_to_string(&pids).unwrap().trim().parse().unwrap();
    let start = Instant::now();
    while unsafe { libc_kill(first_pid, 0) } == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the dead worker's job process kept running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let _second = Killed(spawn(&["worker"], &data, port));
    let done = wait_for(&http, &base, &id, "the take-over", |j| {
        matches!(j["state"].as_str(), Some("SUCCEEDED" | "FAILED" | "CANCELLED"))
    })
    .await;
    assert_eq!(done["state"], "SUCCEEDED", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    let attempts: Vec<String> = std::fs::read_to_string(&marker)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(attempts, vec!["1", "2"]);
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
