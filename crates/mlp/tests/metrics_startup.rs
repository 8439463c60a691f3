//! `/metrics` of the real binary before any use: the counters the dashboards and alerts read are
//! there at 0 (so `rate()` sees the first increment and panels do not show "No data"), and the
//! dependency gauges (metadata store pool, artifact store, job queue) are exported.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn counters_are_exported_at_zero_before_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .env("MLP__DATA_DIR", dir.path())
        .env("MLP__METRICS__PORT", metrics_port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // reqwest is built without a TLS crypto provider of its own: the process installs ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let scrape = || async {
        http.get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    };
    let start = Instant::now();
    let before = loop {
        if let Some(t) = scrape().await {
            break t;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "metrics did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for series in [
        "mlp_runs_created_total",
        "mlp_metrics_logged_total",
        "mlp_registered_models_created_total",
        "mlp_model_versions_created_total",
        "mlp_artifact_bytes_total{direction=\"in\"}",
        "mlp_jobs_submitted_total{kind=\"training\"}",
        "mlp_job_attempts_total{kind=\"data-processing\"}",
    ] {
        assert_eq!(
            sample(&before, series),
            Some(0.0),
            "{series} missing or not 0:\n{before}"
        );
    }
    assert_eq!(sample(&before, "mlp_artifact_store_up"), Some(1.0), "{before}");
    assert_eq!(sample(&before, "mlp_queue_up"), Some(1.0), "{before}");
    assert_eq!(sample(&before, "mlp_store_up"), Some(1.0), "{before}");
    let idle = sample(&before, "mlp_store_pool_connections{state=\"idle\"}").expect("pool gauge");
    let busy = sample(&before, "mlp_store_pool_connections{state=\"in_use\"}").expect("pool gauge");
    assert!(
        idle + busy >= 1.0,
        "the store answered a ping, so a connection is open:\n{before}"
    );

    // The zeroed series is the one the server increments.
    let base = format!("http://127.0.0.1:{port}/api/2.0/mlflow");
    let exp: serde_json::Value = http
        .post(format!("{base}/experiments/create"))
        .json(&serde_json::json!({"name": "metrics-startup"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = http
        .post(format!("{base}/runs/create"))
        .json(&serde_json::json!({"experiment_id": exp["experiment_id"]}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let registered = http
        .post(format!("{base}/registered-models/create"))
        .json(&serde_json::json!({"name": "metrics-startup-model"}))
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());
    let after = scrape().await.unwrap();
    assert_eq!(sample(&after, "mlp_runs_created_total"), Some(1.0), "{after}");
    assert!(
        sample(&after, "mlp_store_query_duration_seconds_count{op=\"create_run\"}").is_some_and(|n| n >= 1.0),
        "no store latency for create_run:\n{after}"
    );
    assert!(
        sample(
            &after,
            "mlp_store_query_duration_seconds_count{op=\"create_registered_model\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "no store latency for the registry:\n{after}"
    );
    // The job queue's gauge reads the job table at each scrape: the jobs store is timed too.
    assert!(
        sample(&after, "mlp_store_query_duration_seconds_count{op=\"count_jobs\"}").is_some_and(|n| n >= 1.0),
        "no store latency for the jobs store:\n{after}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
