//! Jobs in the binary: building the job service and workers from the configuration, and the
//! `mlp job …` commands, which talk to a server over its HTTP API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use mlp_artifacts::ArtifactStore;
use mlp_core::jobs::{JobKind, JobSpec, ReplicaLogging, Resources};
use mlp_jobs::{InProcessQueue, JobService, LocalExecutor, PollingOnly, Queue, RedisQueue, Worker, WorkerConfig};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, redact_url};
use crate::stores::Stores;

/// The queue: Redis Streams when `redis.url` is set, in-process otherwise. `in_server`: for
/// `mlp server` (as opposed to `mlp worker`).
pub async fn job_service(
    cfg: &Config,
    stores: &Stores,
    artifacts: Arc<dyn ArtifactStore>,
    in_server: bool,
) -> anyhow::Result<JobService> {
    let queue: Arc<dyn Queue> = match cfg.redis.resolved_url()? {
        Some(url) => {
            let lease = Duration::from_secs(cfg.worker.lease_seconds.max(1));
            Arc::new(
                RedisQueue::connect(&url, None, lease)
                    .await
                    .with_context(|| format!("cannot connect to Redis at {}", redact_url(&url)))?,
            )
        }
        // A server whose worker is elsewhere has no one to wake in-process: workers poll.
        None if !cfg.worker.embedded && in_server => Arc::new(PollingOnly),
        None => Arc::new(InProcessQueue::default()),
    };
    Ok(JobService {
        tracking: stores.tracking.clone(),
        jobs: stores.jobs.clone(),
        queue,
        artifacts,
    })
}

pub fn worker(cfg: &Config, service: JobService, stores: &Stores) -> anyhow::Result<Arc<Worker>> {
    let w = &cfg.worker;
    let executor: Arc<dyn mlp_jobs::Executor> = match w.executor.as_str() {
        "local" => Arc::new(LocalExecutor {
            work_dir: w.work_dir.clone().unwrap_or_else(|| cfg.data_dir.join("jobs")),
            cwd: None,
            grace: Duration::from_secs(w.grace_seconds),
            artifacts: service.artifacts.clone(),
            log_flush_every: Duration::from_secs(2),
            worker_env: None,
        }),
        "kubernetes" => {
            use mlp_jobs::kubernetes::{KubeConfig, KubeTimings, KubernetesExecutor};
            let config = KubeConfig {
                namespace: w.namespace.clone(),
                gang_timeout_seconds: w.gang_timeout_seconds,
                ..KubeConfig::default()
            };
            let exec = match &w.kubernetes_api_url {
                // `kubectl proxy` or an explicit API server (its token, if any, from a file).
                Some(url) => match &w.kubernetes_token_file {
                    Some(file) => KubernetesExecutor::with_token_file(
                        url,
                        file.clone(),
                        None,
                        config,
                        KubeTimings::default(),
                        service.artifacts.clone(),
                    ),
                    None => KubernetesExecutor::with_endpoint(
                        url,
                        None,
                        config,
                        KubeTimings::default(),
                        service.artifacts.clone(),
                    ),
                },
                None => KubernetesExecutor::in_cluster(config, KubeTimings::default(), service.artifacts.clone()),
            }
            .map_err(|e| anyhow::anyhow!("cannot set up the Kubernetes executor: {e}"))?;
            Arc::new(exec)
        }
        other => bail!("unsupported worker.executor '{other}': expected 'local' or 'kubernetes'"),
    };
    let tracking_uri = w.tracking_uri.clone().unwrap_or_else(|| {
        let host = match cfg.server.host.as_str() {
            "0.0.0.0" | "::" | "" => "127.0.0.1",
            h => h,
        };
        format!("http://{host}:{}", cfg.server.port)
    });
    Ok(Arc::new(Worker {
        service,
        executor,
        config: WorkerConfig {
            max_concurrent: w.max_concurrent.max(1),
            lease: Duration::from_secs(w.lease_seconds.max(1)),
            tracking_uri,
            ..WorkerConfig::default()
        },
        // With auth on the API refuses anonymous calls, so each job gets its own run-scoped
        // token; the worker writes it to the shared auth store, where every replica finds it.
        credentials: cfg.auth.enabled.then(|| {
            Arc::new(mlp_server::auth::JobTokens::new(stores.auth.clone())) as Arc<dyn mlp_jobs::JobCredentials>
        }),
    }))
}

pub fn sweep_service(jobs: &JobService, stores: &Stores) -> mlp_jobs::sweeps::SweepService {
    mlp_jobs::sweeps::SweepService {
        jobs: jobs.clone(),
        store: stores.sweeps.clone(),
    }
}

/// Starts the sweep controller in the background until `shutdown`; it holds each sweep it
/// drives with the worker's lease length.
pub fn spawn_sweep_controller(
    cfg: &Config,
    service: mlp_jobs::sweeps::SweepService,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let controller = Arc::new(mlp_jobs::sweeps::SweepController {
        service,
        worker_id: WorkerConfig::default().worker_id.replacen("worker", "sweeps", 1),
        lease: Duration::from_secs(cfg.worker.lease_seconds.max(1)),
        tick: Duration::from_secs(1),
    });
    tokio::spawn(controller.run(shutdown))
}

/// Starts a worker in the background until `shutdown`.
pub fn spawn_worker(worker: Arc<Worker>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(worker.run(shutdown))
}

#[derive(Args)]
pub struct JobArgs {
    /// The platform's URL (also MLP_SERVER, or MLFLOW_TRACKING_URI).
    #[arg(long, global = true, env = "MLP_SERVER")]
    server: Option<String>,
    /// `text` for people, `json` for scripts (one JSON document on stdout, no progress lines).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(subcommand)]
    command: JobCommand,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
enum JobCommand {
    /// Submit a job: `mlp job submit --name train --kind training -- python train.py`.
    /// Boxed: its many flags would make `mlp`'s whole command enum as large.
    Submit(Box<SubmitArgs>),
    /// List jobs, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        max_results: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one job as JSON.
    Get { job_id: String },
    /// Print a job's log (stdout by default); --follow tails it until the job ends.
    Logs {
        job_id: String,
        #[arg(long, default_value = "stdout")]
        stream: String,
        #[arg(long)]
        attempt: Option<u32>,
        #[arg(long)]
        shard: Option<u32>,
        /// One rank of a distributed job (default: rank 0).
        #[arg(long)]
        rank: Option<u32>,
        #[arg(long, short)]
        follow: bool,
    },
    /// Cancel a job (SIGTERM, then SIGKILL after the grace period).
    Cancel { job_id: String },
}

#[derive(Args)]
struct SubmitArgs {
    /// A JSON spec file; flags override its fields.
    #[arg(long, short)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    /// training or data-processing.
    #[arg(long)]
    kind: Option<String>,
    #[arg(long)]
    image: Option<String>,
    /// Experiment to log into (created if missing).
    #[arg(long)]
    experiment: Option<String>,
    #[arg(long)]
    cpu: Option<f64>,
    #[arg(long)]
    memory: Option<String>,
    #[arg(long)]
    gpu: Option<u32>,
    #[arg(long)]
    node_group: Option<String>,
    #[arg(long)]
    timeout: Option<u64>,
    #[arg(long)]
    retries: Option<u32>,
    #[arg(long)]
    shards: Option<u32>,
    /// Distributed training: this many replicas (pods on Kubernetes) ...
    #[arg(long)]
    replicas: Option<u32>,
    /// ... each running this many processes (one rank each).
    #[arg(long)]
    processes_per_replica: Option<u32>,
    /// Where ranks other than 0 log: child_runs (default) or none.
    #[arg(long, value_name = "child_runs|none")]
    replica_logging: Option<String>,
    /// KEY=VALUE, repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// KEY=VALUE, repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Wait for the job to end and exit non-zero unless it succeeded. On a terminal, state
    /// changes and the job's output are shown as they happen.
    #[arg(long)]
    wait: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true)]
    command: Vec<String>,
}

fn pairs(items: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--{what} '{kv}' must be KEY=VALUE"))
        })
        .collect()
}

pub(crate) fn server_url(arg: Option<String>) -> String {
    arg.or_else(|| {
        std::env::var("MLFLOW_TRACKING_URI")
            .ok()
            .filter(|u| u.starts_with("http"))
    })
    .unwrap_or_else(|| "http://127.0.0.1:8000".into())
    .trim_end_matches('/')
    .to_string()
}

/// The `Authorization` header from the environment, as the mlflow client builds it: a token
/// (`MLP_TOKEN`, else `MLFLOW_TRACKING_TOKEN`) as Bearer, else `MLFLOW_TRACKING_USERNAME` and
/// `MLFLOW_TRACKING_PASSWORD` as Basic.
fn authorization(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    use base64::Engine;
    let set = |k: &str| var(k).filter(|v| !v.is_empty());
    if let Some(token) = set("MLP_TOKEN").or_else(|| set("MLFLOW_TRACKING_TOKEN")) {
        return Some(format!("Bearer {token}"));
    }
    let user = set("MLFLOW_TRACKING_USERNAME")?;
    let password = set("MLFLOW_TRACKING_PASSWORD")?;
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(format!("Basic {pair}"))
}

/// Sends a request and turns an API error into a readable message.
pub(crate) async fn call(req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
    let resp = req
        .send()
        .await
        .context("cannot reach the server (is `mlp server` running? see --server)")?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let code = body["error_code"].as_str().unwrap_or("ERROR");
    let message = body["message"].as_str().unwrap_or("");
    bail!("{code} ({status}): {message}")
}

/// An HTTP client sending the credentials of the environment (see [`authorization`]).
pub(crate) fn api_client() -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(value) = authorization(|k| std::env::var(k).ok()) {
        let mut value = reqwest::header::HeaderValue::from_str(&value)
            .context("the credentials in MLP_TOKEN / MLFLOW_TRACKING_* are not a valid header value")?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .default_headers(headers)
        .build()?)
}

pub async fn run(args: JobArgs) -> anyhow::Result<()> {
    let base = server_url(args.server);
    let http = api_client()?;
    let json_out = args.output == Output::Json;
    match args.command {
        JobCommand::Submit(s) => {
            let mut spec: JobSpec = match &s.file {
                Some(f) => serde_json::from_str(
                    &std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
                )
                .with_context(|| format!("{} is not a valid job spec", f.display()))?,
                None => JobSpec::default(),
            };
            if let Some(v) = s.name {
                spec.name = v;
            }
            if let Some(k) = s.kind {
                spec.kind = Some(
                    JobKind::parse(&k)
                        .with_context(|| format!("--kind '{k}': expected training or data-processing"))?,
                );
            }
            spec.image = s.image.or(spec.image);
            spec.experiment_name = s.experiment.or(spec.experiment_name);
            spec.resources = Resources {
                cpu: s.cpu.or(spec.resources.cpu),
                memory: s.memory.or(spec.resources.memory),
                gpu: s.gpu.or(spec.resources.gpu),
            };
            spec.node_group = s.node_group.or(spec.node_group);
            spec.timeout_seconds = s.timeout.unwrap_or(spec.timeout_seconds);
            spec.max_retries = s.retries.unwrap_or(spec.max_retries);
            spec.shards = s.shards.unwrap_or(spec.shards);
            spec.replicas = s.replicas.unwrap_or(spec.replicas);
            spec.processes_per_replica = s.processes_per_replica.unwrap_or(spec.processes_per_replica);
            if let Some(l) = s.replica_logging {
                spec.replica_logging = Some(match l.trim().replace('-', "_").as_str() {
                    "child_runs" => ReplicaLogging::ChildRuns,
                    "none" => ReplicaLogging::None,
                    _ => bail!("--replica-logging '{l}': expected child_runs or none"),
                });
            }
            spec.env.extend(pairs(&s.env, "env")?);
            spec.labels.extend(pairs(&s.labels, "label")?);
            if !s.command.is_empty() {
                spec.command = s.command;
            }
            // The server validates too; checking here gives the same message without a round trip.
            let spec = spec.validate().map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let resp: Value = call(http.post(format!("{base}/api/v1/jobs")).json(&spec))
                .await?
                .json()
                .await?;
            let job_id = resp["job"]["job_id"].as_str().unwrap_or("").to_string();
            if !json_out {
                println!("{job_id}");
            }
            let job = match s.wait {
                true => wait_for(&http, &base, &job_id, !json_out).await?,
                false => resp["job"].clone(),
            };
            if json_out {
                println!("{}", serde_json::to_string(&job)?);
            }
            let state = job["state"].as_str().unwrap_or("");
            if s.wait && state != "SUCCEEDED" {
                bail!("job {job_id} ended {state}");
            }
        }
        JobCommand::List {
            state,
            kind,
            max_results,
            json,
        } => {
            let mut q = vec![("max_results", max_results.to_string())];
            if let Some(s) = state {
                q.push(("state", s));
            }
            if let Some(k) = kind {
                q.push(("kind", k));
            }
            let resp: Value = call(http.get(format!("{base}/api/v1/jobs")).query(&q))
                .await?
                .json()
                .await?;
            if json || json_out {
                println!("{}", serde_json::to_string_pretty(&resp["jobs"])?);
            } else {
                println!(
                    "{:<40} {:<24} {:<16} {:<10} {:>8}  REASON",
                    "JOB", "NAME", "KIND", "STATE", "ATTEMPTS"
                );
                for j in resp["jobs"].as_array().into_iter().flatten() {
                    println!(
                        "{:<40} {:<24} {:<16} {:<10} {:>8}  {}",
                        j["job_id"].as_str().unwrap_or(""),
                        j["name"].as_str().unwrap_or(""),
                        j["kind"].as_str().unwrap_or(""),
                        j["state"].as_str().unwrap_or(""),
                        j["attempts"],
                        j["reason"].as_str().unwrap_or("")
                    );
                }
            }
        }
        JobCommand::Get { job_id } => {
            let resp: Value = call(http.get(format!("{base}/api/v1/jobs/{job_id}")))
                .await?
                .json()
                .await?;
            println!("{}", serde_json::to_string_pretty(&resp["job"])?);
        }
        JobCommand::Logs {
            job_id,
            stream,
            attempt,
            shard,
            rank,
            follow,
        } => {
            let mut offset = 0u64;
            loop {
                let mut q = vec![("stream", stream.clone()), ("offset", offset.to_string())];
                if let Some(a) = attempt {
                    q.push(("attempt", a.to_string()));
                }
                if let Some(s) = shard {
                    q.push(("shard", s.to_string()));
                }
                if let Some(r) = rank {
                    q.push(("rank", r.to_string()));
                }
                let resp = call(http.get(format!("{base}/api/v1/jobs/{job_id}/logs")).query(&q)).await?;
                let next = resp
                    .headers()
                    .get("x-next-offset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                let state = resp
                    .headers()
                    .get("x-job-state")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let bytes = resp.bytes().await?;
                use std::io::Write;
                std::io::stdout().write_all(&bytes)?;
                offset = next.unwrap_or(offset + bytes.len() as u64);
                let ended = matches!(state.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED");
                if !follow || (ended && bytes.is_empty()) {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        JobCommand::Cancel { job_id } => {
            let resp: Value = call(
                http.post(format!("{base}/api/v1/jobs/{job_id}/cancel"))
                    .json(&serde_json::json!({})),
            )
            .await?
            .json()
            .await?;
            match json_out {
                true => println!("{}", serde_json::to_string(&resp["job"])?),
                false => println!("{} {}", job_id, resp["job"]["state"].as_str().unwrap_or("")),
            }
        }
    }
    Ok(())
}

/// Polls until the job ends and returns the job as the server last described it. With
/// `progress` on a terminal, every state change is shown as it happens, with the time since
/// submission, and the job's stdout and stderr follow live (on our stderr: stdout keeps just the
/// job id, so `id=$(mlp job submit --wait …)` works the same on a terminal); piped, only the final
/// state.
async fn wait_for(http: &reqwest::Client, base: &str, job_id: &str, progress: bool) -> anyhow::Result<Value> {
    use std::io::IsTerminal;
    let live = progress && std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let mut last = String::new();
    let mut tail = LogTail::default();
    loop {
        let resp: Value = call(http.get(format!("{base}/api/v1/jobs/{job_id}")))
            .await?
            .json()
            .await?;
        let job = &resp["job"];
        let state = job["state"].as_str().unwrap_or("").to_string();
        let reason = job["reason"].as_str().unwrap_or("");
        let done = matches!(state.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED");
        if live {
            // The log first: what the job printed before it ended belongs above "SUCCEEDED".
            tail.poll(http, base, job_id, job["attempts"].as_u64().unwrap_or(0))
                .await;
        }
        if live && state != last {
            let secs = start.elapsed().as_secs_f64();
            match (done, reason.is_empty()) {
                (true, false) => eprintln!("[{secs:6.1}s] job {job_id}: {state} ({reason})"),
                _ => eprintln!("[{secs:6.1}s] job {job_id}: {state}"),
            }
            last = state.clone();
        } else if done && progress && !live {
            match reason.is_empty() {
                true => eprintln!("job {job_id}: {state}"),
                false => eprintln!("job {job_id}: {state} ({reason})"),
            }
        }
        if done {
            return Ok(resp["job"].clone());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The live log of `--wait`: how far each stream of the current attempt has been shown. A new
/// attempt (a retry) starts both streams again from the beginning, under a header line.
#[derive(Default)]
struct LogTail {
    attempt: u64,
    offsets: [u64; 2],
}

impl LogTail {
    const STREAMS: [&str; 2] = ["stdout", "stderr"];

    /// Shows what each stream gained since the last poll. Failures are not the job's: a log
    /// that cannot be read now is read on the next poll, and never ends the wait.
    async fn poll(&mut self, http: &reqwest::Client, base: &str, job_id: &str, attempt: u64) {
        use std::io::Write;
        if attempt == 0 {
            return;
        }
        if attempt != self.attempt {
            if self.attempt != 0 {
                eprintln!("--- attempt {attempt} ---");
            }
            self.attempt = attempt;
            self.offsets = [0, 0];
        }
        for (stream, offset) in Self::STREAMS.iter().zip(self.offsets.iter_mut()) {
            let q = [
                ("stream", stream.to_string()),
                ("attempt", attempt.to_string()),
                ("offset", offset.to_string()),
            ];
            let Ok(resp) = call(http.get(format!("{base}/api/v1/jobs/{job_id}/logs")).query(&q)).await else {
                continue;
            };
            let next = resp
                .headers()
                .get("x-next-offset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let Ok(bytes) = resp.bytes().await else { continue };
            let _ = std::io::stderr().write_all(&bytes);
            *offset = next.unwrap_or(*offset + bytes.len() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::authorization;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn credentials_from_the_environment() {
        assert_eq!(authorization(env(&[])), None);
        assert_eq!(
            authorization(env(&[("MLFLOW_TRACKING_TOKEN", "t1"), ("MLP_TOKEN", "t0")])).as_deref(),
            Some("Bearer t0")
        );
        assert_eq!(
            authorization(env(&[
                ("MLFLOW_TRACKING_TOKEN", "t1"),
                ("MLFLOW_TRACKING_USERNAME", "u")
            ]))
            .as_deref(),
            Some("Bearer t1")
        );
        // "u:p" in base64.
        assert_eq!(
            authorization(env(&[
                ("MLFLOW_TRACKING_USERNAME", "u"),
                ("MLFLOW_TRACKING_PASSWORD", "p")
            ]))
            .as_deref(),
            Some("Basic dTpw")
        );
        assert_eq!(authorization(env(&[("MLFLOW_TRACKING_USERNAME", "u")])), None);
    }
}
