//! Jobs: a user submits a spec; the platform records it (durably, in the metadata store),
//! creates its MLflow run, and wakes a worker through the queue. A worker claims the job with a
//! lease (a conditional update, so a job never runs twice at once), runs one attempt with an
//! executor, renews the lease while it runs, and records how it ended. A worker that dies stops
//! renewing; once its lease runs out another worker takes the job over, so nothing is lost.

pub mod kubernetes;
pub mod local;
pub mod queue;
pub mod sweeps;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mlp_artifacts::ArtifactStore;
use mlp_core::jobs::*;
use mlp_core::model::{RunStatus, Tag};
use mlp_core::store::{CreateRun, TrackingStore, UpdateRun};
use mlp_core::{Error, ErrorCode, Result};
use tokio_util::sync::CancellationToken;

pub use local::LocalExecutor;
pub use queue::{Delivery, InProcessQueue, PollingOnly, Queue, RedisQueue};

pub use mlp_core::clock::now_ms;

/// What an executor gets for one attempt besides the job.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub number: u32,
    /// MLFLOW_TRACKING_URI, MLFLOW_RUN_ID, MLFLOW_EXPERIMENT_ID, MLP_JOB_ID, MLP_JOB_ATTEMPT.
    pub env: BTreeMap<String, String>,
    /// Artifact path under which this attempt's logs go (`…/artifacts/logs/attempt-N`).
    pub log_prefix: String,
    /// Distributed jobs with `replica_logging: child_runs`: the child run of each rank above 0
    /// (rank → run). A rank above 0 that is missing here gets no MLflow environment.
    pub rank_runs: BTreeMap<u32, RankRun>,
}

/// The child run a rank other than 0 logs into, and its own token when auth is on.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRun {
    pub run_id: String,
    pub token: Option<String>,
}

/// The variables that tie a process to an MLflow run: what a rank without a run of its own
/// must not get (it would log into rank 0's run, or be refused with rank 0's token).
pub const MLFLOW_RUN_VARS: [&str; 4] = [
    "MLFLOW_RUN_ID",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_ID",
];

impl Attempt {
    /// The platform's variables for one rank of a distributed job: rank 0 has the job's run,
    /// another rank its child run or no MLflow variables at all.
    pub fn env_for_rank(&self, rank: u32) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        if rank == 0 {
            return env;
        }
        match self.rank_runs.get(&rank) {
            Some(r) => {
                env.insert("MLFLOW_RUN_ID".into(), r.run_id.clone());
                match &r.token {
                    Some(t) => env.insert("MLFLOW_TRACKING_TOKEN".into(), t.clone()),
                    None => env.remove("MLFLOW_TRACKING_TOKEN"),
                };
            }
            None => {
                for k in MLFLOW_RUN_VARS {
                    env.remove(k);
                }
            }
        }
        env
    }
}

#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Runs one attempt to its end. `cancel` fires when the job is cancelled or the worker lost
    /// its lease; the executor then stops the workload and answers CANCELLED.
    async fn run(&self, job: &Job, attempt: &Attempt, cancel: CancellationToken) -> Outcome;

    /// Like [`Executor::run`], and `detach` fires when the worker shuts down while the job goes on
    /// (another worker takes it over). An executor whose workload outlives the worker (a
    /// Kubernetes Job) then returns CANCELLED without stopping it; the default, for workloads that
    /// are the worker's own processes, stops them as on cancel.
    async fn run_detachable(
        &self,
        job: &Job,
        attempt: &Attempt,
        cancel: CancellationToken,
        detach: CancellationToken,
    ) -> Outcome {
        let stop = cancel.child_token();
        let run = self.run(job, attempt, stop.clone());
        tokio::pin!(run);
        tokio::select! {
            out = &mut run => out,
            _ = detach.cancelled() => {
                stop.cancel();
                run.await
            }
        }
    }

    fn describe(&self) -> String;
}

/// Issues each attempt its own credential when the server has authentication on: a token that
/// may write only the job's run and read its experiment, so that the job's MLflow calls work
/// without the submitter's credentials. Implemented by the server's auth module, which owns the
/// token format; the worker only mints, hands over and revokes.
#[async_trait]
pub trait JobCredentials: Send + Sync + 'static {
    /// A secret for `MLFLOW_TRACKING_TOKEN`, valid for the run until `expires_at` (ms).
    async fn mint(&self, job: &Job, run_id: &str, experiment_id: &str, expires_at: i64) -> Result<String>;
    /// Ends every credential of the job (the attempt is over).
    async fn revoke(&self, job_id: &str) -> Result<()>;
}

/// The artifact-store path behind a run's `mlflow-artifacts:/…` URI.
pub fn proxied_path(artifact_uri: &str) -> Option<String> {
    artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .map(|p| p.trim_start_matches('/').to_string())
}

/// Submission, cancellation and reading of jobs: what the API and the CLI call.
#[derive(Clone)]
pub struct JobService {
    pub tracking: Arc<dyn TrackingStore>,
    pub jobs: Arc<dyn JobStore>,
    pub queue: Arc<dyn Queue>,
    pub artifacts: Arc<dyn ArtifactStore>,
}

impl JobService {
    pub async fn submit(&self, spec: JobSpec) -> Result<Job> {
        self.submit_as(spec, None).await
    }

    /// Submits on behalf of `owner` (the authenticated user), who may then see and cancel it.
    pub async fn submit_as(&self, spec: JobSpec, spec_owner: Option<String>) -> Result<Job> {
        let spec = spec.validate()?;
        let experiment_id = self.experiment_id(spec.experiment_name.as_deref()).await?;
        let job_id = format!("j-{}", uuid::Uuid::now_v7().simple());
        let tags = job_run_tags(&job_id, &spec);
        let run = CreateRun {
            experiment_id: experiment_id.clone(),
            user_id: "mlp-jobs".into(),
            run_name: Some(spec.name.clone()),
            start_time: now_ms(),
            tags,
        };
        let job = Job {
            job_id: job_id.clone(),
            spec,
            state: JobState::Queued,
            created_at: now_ms(),
            started_at: None,
            finished_at: None,
            attempts: 0,
            exit_code: None,
            reason: None,
            run_id: None,
            experiment_id: Some(experiment_id),
            cancel_requested: false,
            worker_id: None,
            lease_expires_at: None,
            owner: spec_owner,
        };
        // The run (SCHEDULED) and the job in one transaction: no run is left without its job.
        let job = self.jobs.insert_job_with_run(&job, &run).await?;
        // The job is durable now; if the wake-up is lost, workers find it by polling the store.
        if let Err(e) = self.queue.publish(&job_id).await {
            tracing::warn!(job_id, error = %e, "queue publish failed; workers will find the job by polling");
        }
        tracing::info!(job_id, kind = job.spec.kind().as_str(), "job submitted");
        metrics::counter!("mlp_jobs_submitted_total", "kind" => job.spec.kind().as_str()).increment(1);
        Ok(job)
    }

    /// The experiment a job (or sweep) logs into, by name (created if missing); the Default one
    /// without a name.
    pub async fn experiment_id(&self, name: Option<&str>) -> Result<String> {
        match name.filter(|n| !n.trim().is_empty()) {
            None => Ok("0".to_string()),
            Some(name) => match self.tracking.get_experiment_by_name(name).await {
                Ok(e) => Ok(e.experiment_id),
                Err(e) if e.code == ErrorCode::ResourceDoesNotExist => {
                    match self.tracking.create_experiment(name, None, &[]).await {
                        Ok(id) => Ok(id),
                        // Created concurrently by another submission.
                        Err(e) if e.code == ErrorCode::ResourceAlreadyExists => {
                            Ok(self.tracking.get_experiment_by_name(name).await?.experiment_id)
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            },
        }
    }

    pub async fn cancel(&self, job_id: &str) -> Result<Job> {
        let job = self.jobs.request_cancel(job_id, now_ms()).await?;
        if job.state == JobState::Cancelled
            && let Some(run_id) = &job.run_id
        {
            let _ = self
                .tracking
                .update_run(&UpdateRun {
                    run_id: run_id.clone(),
                    status: Some(RunStatus::Killed),
                    end_time: Some(now_ms()),
                    run_name: None,
                })
                .await;
        }
        Ok(job)
    }

    /// The artifact path of an attempt's log stream (`stdout` or `stderr`).
    /// `rank` (distributed jobs) picks one rank's log; without it rank 0's, which is also where
    /// a single-process job's log is.
    pub async fn log_path(
        &self,
        job: &Job,
        attempt: Option<u32>,
        shard: Option<u32>,
        rank: Option<u32>,
        stream: &str,
    ) -> Result<String> {
        if !matches!(stream, "stdout" | "stderr") {
            return Err(Error::invalid(format!(
                "Invalid log stream '{stream}': expected stdout or stderr"
            )));
        }
        let run_id = job
            .run_id
            .as_deref()
            .ok_or_else(|| Error::not_found("The job has no run yet"))?;
        let run = self.tracking.get_run(run_id).await?;
        let base = proxied_path(&run.info.artifact_uri)
            .ok_or_else(|| Error::invalid("The job's run does not keep its artifacts on this server"))?;
        let attempt = attempt.unwrap_or(job.attempts.max(1));
        if let Some(r) = rank
            && r >= job.spec.world_size()
        {
            return Err(Error::invalid(format!(
                "Invalid rank {r}: the job has {} rank(s)",
                job.spec.world_size()
            )));
        }
        let shard = match (job.spec.shards > 1, shard, rank) {
            (true, s, _) => format!("/shard-{}", s.unwrap_or(0)),
            (false, _, Some(r)) if job.spec.is_distributed() => format!("/rank-{r}"),
            (false, _, _) => String::new(),
        };
        Ok(format!("{base}/logs/attempt-{attempt}{shard}/{stream}.log"))
    }
}

/// The tags of a job's run.
pub fn job_run_tags(job_id: &str, spec: &JobSpec) -> Vec<Tag> {
    let mut tags = vec![
        Tag::new("mlp.job_id", job_id.to_string()),
        Tag::new("mlp.job_kind", spec.kind().as_str()),
        Tag::new("mlflow.source.type", "JOB"),
        Tag::new("mlflow.source.name", spec.command.join(" ")),
    ];
    tags.extend(
        spec.labels
            .iter()
            .map(|(k, v)| Tag::new(format!("mlp.label.{k}"), v.clone())),
    );
    tags
}

/// A bounded label for why a job ended.
fn reason_class(job: &Job) -> &'static str {
    match (job.state, job.reason.as_deref().unwrap_or("")) {
        (JobState::Succeeded, _) => "none",
        (JobState::Cancelled, _) => "cancelled",
        (_, r) if r.starts_with("timed out") => "timeout",
        (_, r) if r.starts_with("infrastructure") || r.starts_with("cannot start") => "infrastructure",
        (_, _) if job.exit_code.is_some() => "exit_code",
        _ => "other",
    }
}

/// Tunables of a worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub worker_id: String,
    pub max_concurrent: usize,
    pub lease: Duration,
    pub poll: Duration,
    pub tracking_uri: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: format!(
                "worker-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            max_concurrent: 2,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            tracking_uri: "http://127.0.0.1:8000".into(),
        }
    }
}

pub struct Worker {
    pub service: JobService,
    pub executor: Arc<dyn Executor>,
    pub config: WorkerConfig,
    /// With authentication on: each attempt gets a run-scoped token as MLFLOW_TRACKING_TOKEN.
    pub credentials: Option<Arc<dyn JobCredentials>>,
}

impl Worker {
    /// Runs until `shutdown` fires; jobs in flight are then stopped and left for another worker
    /// (their lease runs out), so a stopped worker loses nothing.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.config.max_concurrent));
        tracing::info!(
            worker_id = self.config.worker_id,
            queue = self.service.queue.describe(),
            executor = self.executor.describe(),
            "worker started"
        );
        let mut tasks = tokio::task::JoinSet::new();
        while !shutdown.is_cancelled() {
            let deliveries = tokio::select! {
                d = self.service.queue.receive(&self.config.worker_id, self.config.poll) => d,
                _ = shutdown.cancelled() => break,
            };
            let mut candidates: Vec<(String, Option<Delivery>)> = match deliveries {
                Ok(d) => d.into_iter().map(|d| (d.job_id.clone(), Some(d))).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "queue receive failed");
                    tokio::time::sleep(self.config.poll).await;
                    Vec::new()
                }
            };
            // The safety net: jobs whose wake-up was lost, retries that are due, and jobs of
            // workers whose lease ran out.
            match self.service.jobs.runnable_jobs(now_ms(), 16).await {
                Ok(jobs) => {
                    for j in jobs {
                        if !candidates.iter().any(|(id, _)| *id == j.job_id) {
                            candidates.push((j.job_id, None));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot list runnable jobs"),
            }
            for (job_id, delivery) in candidates {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let lease_ms = self.config.lease.as_millis() as i64;
                match self
                    .service
                    .jobs
                    .claim_job(&job_id, &self.config.worker_id, now_ms(), lease_ms)
                    .await
                {
                    Ok(Some(job)) => {
                        let me = self.clone();
                        let stop = shutdown.clone();
                        tasks.spawn(async move {
                            me.run_attempt(job, stop).await;
                            if let Some(d) = delivery {
                                let _ = me.service.queue.ack(&d).await;
                            }
                            drop(permit);
                        });
                    }
                    Ok(None) => {
                        drop(permit);
                        // Held by a live worker, waiting for a retry, or ended: in every case
                        // the store, not this message, now says what happens next.
                        if let Some(d) = delivery {
                            let _ = self.service.queue.ack(&d).await;
                        }
                    }
                    Err(e) => {
                        drop(permit);
                        tracing::warn!(job_id, error = %e, "cannot claim job");
                    }
                }
            }
            while tasks.try_join_next().is_some() {}
        }
        // In-flight attempts see the shutdown, stop their workload and return; waiting for
        // them (rather than aborting) lets each one record its end and acknowledge its entry.
        while tasks.join_next().await.is_some() {}
        tracing::info!(worker_id = self.config.worker_id, "worker stopped");
    }

    /// Data jobs report what they processed as MLflow metrics (`rows_processed`,
    /// `bytes_processed`); the platform re-exports the totals to Prometheus.
    async fn export_data_volume(&self, run_id: &str, kind: &'static str) {
        let Ok(run) = self.service.tracking.get_run(run_id).await else {
            return;
        };
        for (key, name) in [
            ("rows_processed", "mlp_data_rows_processed_total"),
            ("bytes_processed", "mlp_data_bytes_processed_total"),
        ] {
            let sum = |matches: &dyn Fn(&str) -> bool| -> f64 {
                run.data
                    .metrics
                    .iter()
                    .filter(|m| matches(&m.key))
                    .map(|m| m.value)
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .sum()
            };
            // The job's total, or else the sum of its shards' (`rows_processed_shard_3`).
            let total = match sum(&|k| k == key) {
                v if v > 0.0 => v,
                _ => sum(&|k| k.strip_prefix(key).is_some_and(|rest| rest.starts_with("_shard_"))),
            };
            if total > 0.0 {
                metrics::counter!(name, "kind" => kind).increment(total as u64);
            }
        }
    }

    async fn run_attempt(&self, job: Job, shutdown: CancellationToken) {
        let worker_id = self.config.worker_id.clone();
        let tracking = &self.service.tracking;
        let run_id = job.run_id.clone().unwrap_or_default();
        let experiment_id = job.experiment_id.clone().unwrap_or_else(|| "0".into());
        tracing::info!(
            job_id = job.job_id,
            attempt = job.attempts,
            worker_id,
            "job attempt started"
        );
        let kind = job.spec.kind().as_str();
        let attempt_started = std::time::Instant::now();
        metrics::counter!("mlp_job_attempts_total", "kind" => kind).increment(1);
        if job.attempts == 1 {
            let waited = (now_ms() - job.created_at).max(0) as f64 / 1000.0;
            metrics::histogram!("mlp_job_queue_wait_seconds", "kind" => kind).record(waited);
        }
        let log_prefix = match tracking.get_run(&run_id).await {
            Ok(run) => proxied_path(&run.info.artifact_uri)
                .map(|p| format!("{p}/logs/attempt-{}", job.attempts))
                .unwrap_or_else(|| format!("jobs/{}/logs/attempt-{}", job.job_id, job.attempts)),
            Err(_) => format!("jobs/{}/logs/attempt-{}", job.job_id, job.attempts),
        };
        let _ = tracking
            .update_run(&UpdateRun {
                run_id: run_id.clone(),
                status: Some(RunStatus::Running),
                ..Default::default()
            })
            .await;
        let mut env = BTreeMap::new();
        env.insert("MLFLOW_TRACKING_URI".to_string(), self.config.tracking_uri.clone());
        env.insert("MLFLOW_RUN_ID".to_string(), run_id.clone());
        env.insert("MLFLOW_EXPERIMENT_ID".to_string(), experiment_id.clone());
        env.insert("MLP_JOB_ID".to_string(), job.job_id.clone());
        env.insert("MLP_JOB_ATTEMPT".to_string(), job.attempts.to_string());
        if let Some(creds) = &self.credentials {
            // The attempt cannot outlive its timeout plus the stop grace; a minute of slack
            // covers the last log flush. Revoked below as soon as the attempt ends.
            let expires_at = now_ms() + (job.spec.timeout_seconds as i64 + 120) * 1000;
            match creds.mint(&job, &run_id, &experiment_id, expires_at).await {
                Ok(secret) => {
                    env.insert("MLFLOW_TRACKING_TOKEN".to_string(), secret);
                }
                Err(e) => {
                    // Without it every MLflow call of the job would be refused: fail the attempt
                    // as an infrastructure problem (retried) rather than run it blind.
                    tracing::warn!(job_id = job.job_id, error = %e, "cannot issue the job's token");
                    let outcome = Outcome {
                        state: JobState::Failed,
                        exit_code: None,
                        reason: Some(format!("infrastructure: cannot issue the job's token: {}", e.message)),
                    };
                    self.record_end(&job, &worker_id, &run_id, kind, attempt_started, outcome)
                        .await;
                    return;
                }
            }
        }
        let rank_runs = match self.rank_runs(&job, &run_id, &experiment_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(job_id = job.job_id, error = %e, "cannot create the ranks' child runs");
                let outcome = Outcome {
                    state: JobState::Failed,
                    exit_code: None,
                    reason: Some(format!(
                        "infrastructure: cannot create the ranks' child runs: {}",
                        e.message
                    )),
                };
                if let Some(creds) = &self.credentials {
                    let _ = creds.revoke(&job.job_id).await;
                }
                self.record_end(&job, &worker_id, &run_id, kind, attempt_started, outcome)
                    .await;
                return;
            }
        };
        let attempt = Attempt {
            number: job.attempts,
            env,
            log_prefix,
            rank_runs,
        };

        // Heartbeat: renew the lease, and stop the workload when the job is cancelled, the
        // lease is lost, or the worker shuts down.
        let cancel = CancellationToken::new();
        // A shutdown detaches rather than cancels: the job is not the user's to stop, and a
        // workload that can outlive this process keeps running for the worker that takes over.
        let detach = CancellationToken::new();
        let heartbeat = {
            let jobs = self.service.jobs.clone();
            let cancel = cancel.clone();
            let detach = detach.clone();
            let job_id = job.job_id.clone();
            let worker_id = worker_id.clone();
            let lease = self.config.lease;
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let every = (lease / 3).max(Duration::from_millis(200));
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = cancel.cancelled() => return,
                        _ = shutdown.cancelled() => { detach.cancel(); return; }
                    }
                    match jobs.get_job(&job_id).await {
                        Ok(j) if j.cancel_requested => {
                            tracing::info!(job_id, "cancel requested");
                            cancel.cancel();
                            return;
                        }
                        _ => {}
                    }
                    match jobs
                        .renew_lease(&job_id, &worker_id, now_ms() + lease.as_millis() as i64)
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(job_id, "lease lost; stopping the attempt");
                            cancel.cancel();
                            return;
                        }
                        // A store hiccup: keep going, the lease has slack for a few of these.
                        Err(e) => tracing::warn!(job_id, error = %e, "cannot renew lease"),
                    }
                }
            })
        };
        let outcome = self
            .executor
            .run_detachable(&job, &attempt, cancel.clone(), detach.clone())
            .await;
        cancel.cancel();
        let _ = heartbeat.await;
        if !(shutdown.is_cancelled() && outcome.state == JobState::Cancelled) {
            let status = match outcome.state {
                JobState::Succeeded => RunStatus::Finished,
                JobState::Cancelled => RunStatus::Killed,
                _ => RunStatus::Failed,
            };
            for r in attempt.rank_runs.values() {
                let _ = tracking
                    .update_run(&UpdateRun {
                        run_id: r.run_id.clone(),
                        status: Some(status),
                        end_time: Some(now_ms()),
                        run_name: None,
                    })
                    .await;
            }
        }
        if let Some(creds) = &self.credentials
            && let Err(e) = creds.revoke(&job.job_id).await
        {
            // It still expires with the job's timeout.
            tracing::warn!(job_id = job.job_id, error = %e, "cannot revoke the job's token");
        }

        if shutdown.is_cancelled() && outcome.state == JobState::Cancelled {
            // Not the user's cancel: leave the job RUNNING so its lease runs out and another
            // worker takes it over.
            tracing::info!(job_id = job.job_id, "worker shutting down; the job will be taken over");
            return;
        }
        self.record_end(&job, &worker_id, &run_id, kind, attempt_started, outcome)
            .await;
    }

    /// A child run of the job's run for each rank above 0, for this attempt (a retry is a new
    /// gang, with new runs), each with its own token when auth is on.
    async fn rank_runs(&self, job: &Job, run_id: &str, experiment_id: &str) -> Result<BTreeMap<u32, RankRun>> {
        let mut out = BTreeMap::new();
        if !job.spec.is_distributed() || job.spec.replica_logging() != ReplicaLogging::ChildRuns || run_id.is_empty() {
            return Ok(out);
        }
        let expires_at = now_ms() + (job.spec.timeout_seconds as i64 + 120) * 1000;
        for rank in 1..job.spec.world_size() {
            let tags = vec![
                Tag::new("mlflow.parentRunId", run_id),
                Tag::new("mlp.job_id", job.job_id.clone()),
                Tag::new("mlp.job_attempt", job.attempts.to_string()),
                Tag::new("mlp.rank", rank.to_string()),
                Tag::new("mlflow.source.type", "JOB"),
            ];
            let run = self
                .service
                .tracking
                .create_run(&CreateRun {
                    experiment_id: experiment_id.to_string(),
                    user_id: "mlp-jobs".into(),
                    run_name: Some(format!("{}-rank-{rank}", job.spec.name)),
                    start_time: now_ms(),
                    tags,
                })
                .await?;
            let child = run.info.run_id.clone();
            let _ = self
                .service
                .tracking
                .update_run(&UpdateRun {
                    run_id: child.clone(),
                    status: Some(RunStatus::Running),
                    ..Default::default()
                })
                .await;
            let token = match &self.credentials {
                Some(c) => Some(c.mint(job, &child, experiment_id, expires_at).await?),
                None => None,
            };
            out.insert(rank, RankRun { run_id: child, token });
        }
        Ok(out)
    }

    async fn record_end(
        &self,
        job: &Job,
        worker_id: &str,
        run_id: &str,
        kind: &'static str,
        attempt_started: std::time::Instant,
        outcome: Outcome,
    ) {
        let tracking = &self.service.tracking;
        let run_id = run_id.to_string();
        match self
            .service
            .jobs
            .finish_attempt(&job.job_id, worker_id, &outcome, now_ms())
            .await
        {
            Ok(done) => {
                tracing::info!(
                    job_id = done.job_id,
                    state = done.state.as_str(),
                    attempts = done.attempts,
                    exit_code = ?done.exit_code,
                    reason = ?done.reason,
                    "job attempt finished"
                );
                let seconds = attempt_started.elapsed().as_secs_f64();
                metrics::histogram!("mlp_job_attempt_duration_seconds", "kind" => kind, "outcome" => outcome.state.as_str())
                    .record(seconds);
                if done.state.is_terminal() {
                    metrics::counter!(
                        "mlp_jobs_finished_total",
                        "kind" => kind,
                        "state" => done.state.as_str(),
                        "reason" => reason_class(&done),
                    )
                    .increment(1);
                    if done.state == JobState::Succeeded {
                        self.export_data_volume(&run_id, kind).await;
                    }
                    let status = match done.state {
                        JobState::Succeeded => RunStatus::Finished,
                        JobState::Cancelled => RunStatus::Killed,
                        _ => RunStatus::Failed,
                    };
                    let _ = tracking
                        .update_run(&UpdateRun {
                            run_id,
                            status: Some(status),
                            end_time: Some(now_ms()),
                            run_name: None,
                        })
                        .await;
                } else {
                    let _ = tracking
                        .update_run(&UpdateRun {
                            run_id,
                            status: Some(RunStatus::Scheduled),
                            ..Default::default()
                        })
                        .await;
                }
            }
            Err(e) => tracing::warn!(job_id = job.job_id, error = %e, "cannot record the end of the attempt"),
        }
    }
}
