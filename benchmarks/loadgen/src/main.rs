//! `mlp-loadgen`: drives an MLflow-compatible tracking server with many keep-alive connections
//! and pre-serialised bodies, so that the figure measures the server, not the client. (The
//! Python client saturates near 1,000 requests/s and hides the server behind it.)
//!
//! ```text
//! mlp-loadgen --url http://127.0.0.1:8000 log-batch   --clients 8  --requests 200
//! mlp-loadgen --url http://127.0.0.1:8000 log-metric  --clients 64 --seconds 10
//! mlp-loadgen --url http://127.0.0.1:8000 get-history --points 100000 --requests 20
//! mlp-loadgen --url http://127.0.0.1:8000 search      --runs 10000 --requests 50
//! ```
//!
//! Each scenario seeds what it reads (in its own experiment), then prints one line:
//! `scenario  rate  unit/s  p50  p99  max  errors`, and `--json` prints it as JSON.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "mlp-loadgen",
    about = "Load generator for MLflow-compatible tracking servers"
)]
struct Cli {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Clone)]
enum Scenario {
    /// log-batch requests of `--metrics` metrics each, one run per client.
    LogBatch {
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 200)]
        requests: u64,
        #[arg(long, default_value_t = 1000)]
        metrics: usize,
    },
    /// Single-point log-metric requests for `--seconds`, one run per client.
    LogMetric {
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// get-history of one metric with `--points` points, paged as the client pages it.
    GetHistory {
        #[arg(long, default_value_t = 100_000)]
        points: usize,
        #[arg(long, default_value_t = 20)]
        requests: u64,
    },
    /// search-runs with a metric filter and a metric order over `--runs` runs.
    Search {
        #[arg(long, default_value_t = 10_000)]
        runs: usize,
        #[arg(long, default_value_t = 50)]
        requests: u64,
    },
}

struct Client {
    http: reqwest::Client,
    api: String,
}

impl Client {
    fn new(base: &str, pool: usize) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Client {
            http,
            api: format!("{}/api/2.0/mlflow", base.trim_end_matches('/')),
        })
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.api))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            bail!(
                "POST {path}: {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, path_and_query: &str) -> anyhow::Result<(Value, usize)> {
        let resp = self.http.get(format!("{}{path_and_query}", self.api)).send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            bail!("GET {path_and_query}: {status}");
        }
        Ok((serde_json::from_slice(&bytes)?, bytes.len()))
    }

    async fn experiment(&self, prefix: &str) -> anyhow::Result<String> {
        let name = format!(
            "{prefix}-{}",
            std::process::id() as u128 * 1_000_000 + now_us() % 1_000_000
        );
        let v = self
            .post("/experiments/create", json!({ "name": name }).to_string())
            .await?;
        Ok(v["experiment_id"].as_str().context("no experiment_id")?.to_string())
    }

    async fn run(&self, exp: &str) -> anyhow::Result<String> {
        let v = self
            .post(
                "/runs/create",
                json!({ "experiment_id": exp, "start_time": 1 }).to_string(),
            )
            .await?;
        Ok(v["run"]["info"]["run_id"].as_str().context("no run_id")?.to_string())
    }
}

fn now_us() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

/// Latencies of one scenario, in microseconds.
#[derive(Default)]
struct Latencies(Vec<u64>);

impl Latencies {
    fn pct(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.sort_unstable();
        let i = ((self.0.len() - 1) as f64 * p).round() as usize;
        self.0[i] as f64 / 1000.0
    }
}

struct Outcome {
    scenario: &'static str,
    rate: f64,
    unit: &'static str,
    lat: Latencies,
    errors: u64,
    note: String,
}

fn batch_body(run: &str, n: usize, step0: u64) -> String {
    let metrics: Vec<Value> = (0..n)
        .map(|i| json!({ "key": format!("m{}", i % 10), "value": (step0 as f64 + i as f64) / 7.0, "timestamp": 1_700_000_000_000u64 + i as u64, "step": step0 + (i / 10) as u64 }))
        .collect();
    json!({ "run_id": run, "metrics": metrics }).to_string()
}

async fn log_batch(c: Arc<Client>, clients: usize, requests: u64, metrics: usize) -> anyhow::Result<Outcome> {
    let exp = c.experiment("loadgen-batch").await?;
    // Bodies are built before the clock starts: the figure is the server's.
    let mut per_client = Vec::new();
    for k in 0..clients {
        let run = c.run(&exp).await?;
        let n = requests / clients as u64 + u64::from((k as u64) < requests % clients as u64);
        let bodies: Vec<String> = (0..n).map(|r| batch_body(&run, metrics, r * metrics as u64)).collect();
        per_client.push(bodies);
    }
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = per_client
        .into_iter()
        .map(|bodies| {
            let c = c.clone();
            let errors = errors.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(bodies.len());
                for b in bodies {
                    let t = Instant::now();
                    if c.post("/runs/log-batch", b).await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    lat.push(t.elapsed().as_micros() as u64);
                }
                lat
            })
        })
        .collect();
    let mut lat = Latencies::default();
    for t in tasks {
        lat.0.extend(t.await?);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(Outcome {
        scenario: "log-batch",
        rate: (requests as usize * metrics) as f64 / secs,
        unit: "metrics",
        lat,
        errors: errors.load(Ordering::Relaxed),
        note: format!("{clients} clients, {requests} requests of {metrics} metrics"),
    })
}

async fn log_metric(c: Arc<Client>, clients: usize, seconds: u64) -> anyhow::Result<Outcome> {
    let exp = c.experiment("loadgen-metric").await?;
    let mut runs = Vec::new();
    for _ in 0..clients {
        runs.push(c.run(&exp).await?);
    }
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = runs
        .into_iter()
        .map(|run| {
            let c = c.clone();
            let errors = errors.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut step = 0u64;
                while Instant::now() < deadline {
                    let body = format!(
                        r#"{{"run_id":"{run}","key":"loss","value":{},"timestamp":1700000000000,"step":{step}}}"#,
                        step as f64 / 7.0
                    );
                    let t = Instant::now();
                    if c.post("/runs/log-metric", body).await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    lat.push(t.elapsed().as_micros() as u64);
                    step += 1;
                }
                lat
            })
        })
        .collect();
    let mut lat = Latencies::default();
    for t in tasks {
        lat.0.extend(t.await?);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(Outcome {
        scenario: "log-metric",
        rate: lat.0.len() as f64 / secs,
        unit: "requests",
        errors: errors.load(Ordering::Relaxed),
        note: format!("{clients} connections, {seconds} s"),
        lat,
    })
}

async fn get_history(c: Arc<Client>, points: usize, requests: u64) -> anyhow::Result<Outcome> {
    let exp = c.experiment("loadgen-history").await?;
    let run = c.run(&exp).await?;
    for chunk in (0..points).collect::<Vec<_>>().chunks(1000) {
        let metrics: Vec<Value> = chunk
            .iter()
            .map(|i| json!({ "key": "loss", "value": *i as f64 / 7.0, "timestamp": 1_700_000_000_000u64 + *i as u64, "step": i }))
            .collect();
        c.post(
            "/runs/log-batch",
            json!({ "run_id": run, "metrics": metrics }).to_string(),
        )
        .await?;
    }
    let mut lat = Latencies::default();
    let mut bytes = 0;
    let start = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        let mut token = String::new();
        let mut got = 0;
        // Pages of 25,000, as the mlflow client asks for them.
        loop {
            let (v, n) = c
                .get(&format!(
                    "/metrics/get-history?run_id={run}&metric_key=loss&max_results=25000{token}"
                ))
                .await?;
            bytes += n;
            got += v["metrics"].as_array().map_or(0, Vec::len);
            match v["next_page_token"].as_str() {
                Some(t) => token = format!("&page_token={t}"),
                None => break,
            }
        }
        if got != points {
            bail!("get-history returned {got} points, logged {points}");
        }
        lat.0.push(t.elapsed().as_micros() as u64);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(Outcome {
        scenario: "get-history",
        rate: requests as f64 / secs,
        unit: "histories",
        lat,
        errors: 0,
        note: format!(
            "{points} points, {:.1} MB per history",
            bytes as f64 / requests as f64 / 1e6
        ),
    })
}

async fn search(c: Arc<Client>, runs: usize, requests: u64) -> anyhow::Result<Outcome> {
    let exp = c.experiment("loadgen-search").await?;
    // Seed concurrently: 16 at a time.
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for i in 0..runs {
        let (c, exp, sem) = (c.clone(), exp.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire().await;
            let run = c.run(&exp).await?;
            let body = json!({ "run_id": run,
                "metrics": [{ "key": "acc", "value": (i % 100) as f64 / 100.0, "timestamp": 1, "step": 0 }],
                "params": [{ "key": "lr", "value": format!("{}", (i % 7) as f64 / 100.0) }] });
            c.post("/runs/log-batch", body.to_string()).await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let body = json!({ "experiment_ids": [exp], "filter": "metrics.acc > 0.5 and params.lr = '0.03'",
        "order_by": ["metrics.acc DESC"], "max_results": 100 })
    .to_string();
    let mut lat = Latencies::default();
    let start = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        let v = c.post("/runs/search", body.clone()).await?;
        if v["runs"].as_array().map_or(0, Vec::len) == 0 {
            bail!("the search found nothing");
        }
        lat.0.push(t.elapsed().as_micros() as u64);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(Outcome {
        scenario: "search",
        rate: requests as f64 / secs,
        unit: "searches",
        lat,
        errors: 0,
        note: format!("{runs} runs, metric filter + param filter + metric order, 100 results"),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let pool = match &cli.scenario {
        Scenario::LogBatch { clients, .. } | Scenario::LogMetric { clients, .. } => *clients,
        _ => 16,
    };
    let c = Arc::new(Client::new(&cli.url, pool)?);
    let mut out = match cli.scenario {
        Scenario::LogBatch {
            clients,
            requests,
            metrics,
        } => log_batch(c, clients, requests, metrics).await?,
        Scenario::LogMetric { clients, seconds } => log_metric(c, clients, seconds).await?,
        Scenario::GetHistory { points, requests } => get_history(c, points, requests).await?,
        Scenario::Search { runs, requests } => search(c, runs, requests).await?,
    };
    let (p50, p99, max) = (out.lat.pct(0.5), out.lat.pct(0.99), out.lat.pct(1.0));
    if cli.json {
        println!(
            "{}",
            json!({ "scenario": out.scenario, "rate": out.rate, "unit": out.unit, "p50_ms": p50,
                "p99_ms": p99, "max_ms": max, "errors": out.errors, "note": out.note })
        );
    } else {
        println!(
            "{:<12} {:>12.0} {}/s   p50 {:>8.2} ms   p99 {:>8.2} ms   max {:>8.2} ms   errors {}   ({})",
            out.scenario, out.rate, out.unit, p50, p99, max, out.errors, out.note
        );
    }
    if out.errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
