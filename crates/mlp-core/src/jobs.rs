//! Jobs: training and data-processing workloads. The spec a user submits, its validation (a bad
//! spec is refused before anything is queued), the job's state machine, and the store trait that
//! keeps jobs durable in the metadata database.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::store::{Page, PageRequest};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    Training,
    DataProcessing,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Training => "training",
            JobKind::DataProcessing => "data-processing",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "training" => Some(Self::Training),
            "data-processing" => Some(Self::DataProcessing),
            _ => None,
        }
    }
    /// The node group a job of this kind runs on unless it asks for another; these are the
    /// names the infrastructure gives its node groups.
    pub fn default_node_group(self, gpu: bool) -> &'static str {
        match (self, gpu) {
            (_, true) => "gpu",
            (JobKind::Training, false) => "compute",
            (JobKind::DataProcessing, false) => "data",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "QUEUED",
            JobState::Running => "RUNNING",
            JobState::Succeeded => "SUCCEEDED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// CPU cores, e.g. 0.5 or 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// Memory in Kubernetes notation, e.g. `512Mi`, `2Gi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
}

/// What a user submits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSpec {
    pub name: String,
    pub kind: Option<JobKind>,
    /// Container image (Kubernetes executor); the local executor runs `command` directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_group: Option<String>,
    pub timeout_seconds: u64,
    pub max_retries: u32,
    /// Experiment to log into, by name (created if missing); the Default experiment otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Data processing only: run as N shards (an Indexed Job on Kubernetes).
    pub shards: u32,
    /// Training only: distributed training over this many replicas (pods on Kubernetes), each
    /// running `processes_per_replica` processes, with the rendezvous environment of
    /// `torch.distributed` (`MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE`, `RANK`, `LOCAL_RANK`).
    /// 0 (absent, as in specs stored before the field existed) means 1.
    pub replicas: u32,
    pub processes_per_replica: u32,
    /// Where ranks other than 0 log: their own child runs of the job's run, or nowhere (no
    /// MLflow environment). Rank 0 always logs to the job's run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_logging: Option<ReplicaLogging>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaLogging {
    /// A child run per rank (`<job>-rank-N`, tag `mlflow.parentRunId`): what a rank logs (its
    /// loss, its system metrics) is kept apart from rank 0's and never lost.
    #[default]
    ChildRuns,
    /// No MLflow environment for ranks other than 0.
    None,
}

impl ReplicaLogging {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaLogging::ChildRuns => "child_runs",
            ReplicaLogging::None => "none",
        }
    }
}

pub const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 24 * 3600;
pub const MAX_RETRIES: u32 = 10;
pub const MAX_SHARDS: u32 = 1000;
/// A gang this size still fits the node groups of the platform; a larger one is more likely a
/// typo than a plan, and would sit unscheduled until the gang deadline.
pub const MAX_REPLICAS: u32 = 64;
/// One process per accelerator is the usual layout; 16 covers the largest GPU nodes.
pub const MAX_PROCESSES_PER_REPLICA: u32 = 16;

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn valid_quantity(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.parse::<f64>().map(|v| v > 0.0).unwrap_or(false)
        && ["", "Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T"].contains(&unit)
}

impl JobSpec {
    /// Fills defaults and refuses what could never run, with a message naming the field.
    pub fn validate(mut self) -> Result<Self> {
        let bad = |m: String| Err(Error::invalid(m));
        self.name = self.name.trim().to_string();
        if self.name.is_empty() {
            return bad("Job 'name' is required".into());
        }
        if !is_dns_label(&self.name) {
            return bad(format!(
                "Job name '{}' must be a DNS label: lowercase letters, digits and '-', at most 63 characters",
                self.name
            ));
        }
        let Some(kind) = self.kind else {
            return bad("Job 'kind' is required: 'training' or 'data-processing'".into());
        };
        if self.command.is_empty() || self.command[0].trim().is_empty() {
            return bad("Job 'command' must name a program to run".into());
        }
        if let Some(image) = &self.image
            && (image.trim().is_empty() || image.contains(char::is_whitespace))
        {
            return bad(format!("Invalid image '{image}'"));
        }
        for key in self.env.keys() {
            let ok = !key.is_empty()
                && !key.starts_with(|c: char| c.is_ascii_digit())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return bad(format!("Invalid environment variable name '{key}'"));
            }
        }
        if let Some(cpu) = self.resources.cpu
            && !(cpu > 0.0 && cpu <= 256.0)
        {
            return bad(format!("resources.cpu must be between 0 and 256 cores, got {cpu}"));
        }
        if let Some(mem) = &self.resources.memory
            && !valid_quantity(mem)
        {
            return bad(format!(
                "resources.memory '{mem}' is not a quantity such as 512Mi or 2Gi"
            ));
        }
        if let Some(gpu) = self.resources.gpu
            && gpu > 16
        {
            return bad(format!("resources.gpu must be at most 16, got {gpu}"));
        }
        if let Some(group) = &self.node_group
            && !is_dns_label(group)
        {
            return bad(format!("Invalid node_group '{group}'"));
        }
        if self.timeout_seconds == 0 {
            self.timeout_seconds = DEFAULT_TIMEOUT_SECONDS;
        }
        if self.timeout_seconds > MAX_TIMEOUT_SECONDS {
            return bad(format!("timeout_seconds must be at most {MAX_TIMEOUT_SECONDS}"));
        }
        if self.max_retries > MAX_RETRIES {
            return bad(format!("max_retries must be at most {MAX_RETRIES}"));
        }
        if self.shards == 0 {
            self.shards = 1;
        }
        if self.shards > 1 && kind != JobKind::DataProcessing {
            return bad("Only data-processing jobs can be sharded".into());
        }
        if self.shards > MAX_SHARDS {
            return bad(format!("shards must be at most {MAX_SHARDS}"));
        }
        if self.replicas == 0 {
            self.replicas = 1;
        }
        if self.processes_per_replica == 0 {
            self.processes_per_replica = 1;
        }
        if self.replicas > MAX_REPLICAS {
            return bad(format!(
                "replicas must be at most {MAX_REPLICAS}, got {}",
                self.replicas
            ));
        }
        if self.processes_per_replica > MAX_PROCESSES_PER_REPLICA {
            return bad(format!(
                "processes_per_replica must be at most {MAX_PROCESSES_PER_REPLICA}, got {}",
                self.processes_per_replica
            ));
        }
        if self.world_size() > 1 && kind != JobKind::Training {
            // Shards are independent: a failed shard does not stop the others' work from
            // counting, and they need no rendezvous; ranks of a distributed job are one gang.
            return bad(
                "replicas and processes_per_replica are for training jobs; data-processing jobs split their work with 'shards'"
                    .into(),
            );
        }
        if self.replica_logging.is_some() && self.world_size() == 1 {
            return bad(
                "replica_logging applies to distributed jobs (replicas or processes_per_replica above 1)".into(),
            );
        }
        for (k, v) in &self.labels {
            if k.is_empty() || k.len() > 63 || v.len() > 63 {
                return bad(format!(
                    "Invalid label '{k}={v}': keys and values are at most 63 characters"
                ));
            }
        }
        Ok(self)
    }

    pub fn kind(&self) -> JobKind {
        self.kind.unwrap_or(JobKind::Training)
    }

    pub fn replicas(&self) -> u32 {
        self.replicas.max(1)
    }

    pub fn processes_per_replica(&self) -> u32 {
        self.processes_per_replica.max(1)
    }

    /// The number of ranks: replicas × processes per replica.
    pub fn world_size(&self) -> u32 {
        self.replicas() * self.processes_per_replica()
    }

    /// Whether the job runs as a gang of ranks with a rendezvous (even 1 replica × 1 process is
    /// not: that is a plain job).
    pub fn is_distributed(&self) -> bool {
        self.world_size() > 1
    }

    pub fn replica_logging(&self) -> ReplicaLogging {
        self.replica_logging.unwrap_or_default()
    }

    pub fn node_group(&self) -> String {
        self.node_group.clone().unwrap_or_else(|| {
            self.kind()
                .default_node_group(self.resources.gpu.unwrap_or(0) > 0)
                .to_string()
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub job_id: String,
    #[serde(flatten)]
    pub spec: JobSpec,
    pub state: JobState,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    pub cancel_requested: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// Until when the worker running it holds it; past that, another worker may take it over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<i64>,
    /// The user who submitted it (`None` when submitted with authentication off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub kind: Option<JobKind>,
    /// Only the jobs this user submitted.
    pub owner: Option<String>,
    pub page: PageRequest,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: JobState,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// Milliseconds a failed attempt waits before its retry: doubling with the attempts, so that a
/// job failing on a dependency that is down does not hammer it, and capped at a minute.
pub fn retry_delay_ms(attempts: u32) -> i64 {
    (1000i64 << attempts.min(6)).min(60_000)
}

/// Where a job goes when an attempt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptEnd {
    pub state: JobState,
    pub finished_at: Option<i64>,
    /// The earliest time a retry may be claimed (0 when the job is over).
    pub not_before: i64,
}

/// The retry policy: a failed attempt goes back to QUEUED, after [`retry_delay_ms`], while the
/// job has retries left and nobody asked to cancel it; every other outcome is final. `job` is
/// the job as the ending attempt holds it (its `attempts` include that attempt).
pub fn end_of_attempt(job: &Job, outcome: &Outcome, now_ms: i64) -> AttemptEnd {
    let retry = outcome.state == JobState::Failed && !job.cancel_requested && job.attempts <= job.spec.max_retries;
    if retry {
        AttemptEnd {
            state: JobState::Queued,
            finished_at: None,
            not_before: now_ms + retry_delay_ms(job.attempts),
        }
    } else {
        AttemptEnd {
            state: outcome.state,
            finished_at: Some(now_ms),
            not_before: 0,
        }
    }
}

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    async fn insert_job(&self, job: &Job) -> Result<()>;
    /// Creates the job's run (in state SCHEDULED) and the job, pointing at that run, in one
    /// transaction: a crash in between must not leave a run that no job owns. The run's id and
    /// experiment replace `job.run_id` and `job.experiment_id`; returns the job as stored.
    async fn insert_job_with_run(&self, job: &Job, run: &crate::store::CreateRun) -> Result<Job>;
    async fn get_job(&self, job_id: &str) -> Result<Job>;
    async fn list_jobs(&self, q: &JobQuery) -> Result<Page<Job>>;
    /// QUEUED jobs, and RUNNING jobs whose lease has expired, oldest first.
    async fn runnable_jobs(&self, now_ms: i64, limit: u64) -> Result<Vec<Job>>;
    /// Takes a job for `worker_id` if it is QUEUED, or RUNNING with an expired lease: the state
    /// becomes RUNNING, attempts grows by one. `None` if another worker holds it or it ended.
    /// The conditional update is what makes a job never run twice at once.
    async fn claim_job(&self, job_id: &str, worker_id: &str, now_ms: i64, lease_ms: i64) -> Result<Option<Job>>;
    /// Extends the lease while the worker runs the job; false if the worker no longer holds it.
    async fn renew_lease(&self, job_id: &str, worker_id: &str, until_ms: i64) -> Result<bool>;
    /// Ends an attempt held by `worker_id`: terminal, or back to QUEUED for a retry.
    async fn finish_attempt(&self, job_id: &str, worker_id: &str, outcome: &Outcome, now_ms: i64) -> Result<Job>;
    /// Asks for cancellation; a QUEUED job is cancelled at once.
    async fn request_cancel(&self, job_id: &str, now_ms: i64) -> Result<Job>;
    async fn set_job_run(&self, job_id: &str, run_id: &str, experiment_id: &str) -> Result<()>;
    /// How many jobs there are per kind and state (for the gauges scraped by Prometheus).
    async fn count_jobs(&self) -> Result<Vec<(JobKind, JobState, u64)>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(attempts: u32, max_retries: u32, cancel_requested: bool) -> Job {
        Job {
            job_id: "j".into(),
            spec: JobSpec { max_retries, ..spec() },
            state: JobState::Running,
            created_at: 0,
            started_at: Some(0),
            finished_at: None,
            attempts,
            exit_code: None,
            reason: None,
            run_id: None,
            experiment_id: None,
            cancel_requested,
            worker_id: Some("w".into()),
            lease_expires_at: Some(1),
            owner: None,
        }
    }

    fn outcome(state: JobState) -> Outcome {
        Outcome {
            state,
            exit_code: Some(1),
            reason: None,
        }
    }

    #[test]
    fn retry_delay_doubles_up_to_a_minute() {
        assert_eq!(retry_delay_ms(0), 1000);
        assert_eq!(retry_delay_ms(1), 2000);
        assert_eq!(retry_delay_ms(5), 32_000);
        assert_eq!(retry_delay_ms(6), 60_000);
        assert_eq!(retry_delay_ms(u32::MAX), 60_000);
    }

    #[test]
    fn failed_attempts_are_retried_while_retries_remain() {
        let end = end_of_attempt(&job(1, 2, false), &outcome(JobState::Failed), 10_000);
        assert_eq!(
            end,
            AttemptEnd {
                state: JobState::Queued,
                finished_at: None,
                not_before: 12_000
            }
        );
        assert_eq!(
            end_of_attempt(&job(3, 2, false), &outcome(JobState::Failed), 10_000),
            AttemptEnd {
                state: JobState::Failed,
                finished_at: Some(10_000),
                not_before: 0
            }
        );
        // A cancellation request, success and cancellation are final whatever the retries.
        for (j, o) in [
            (job(1, 2, true), JobState::Failed),
            (job(1, 2, false), JobState::Succeeded),
            (job(1, 2, false), JobState::Cancelled),
        ] {
            let end = end_of_attempt(&j, &outcome(o), 5);
            assert_eq!((end.state, end.finished_at, end.not_before), (o, Some(5), 0));
        }
    }

    fn spec() -> JobSpec {
        JobSpec {
            name: "train-1".into(),
            kind: Some(JobKind::Training),
            command: vec!["python".into(), "train.py".into()],
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_filled() {
        let s = spec().validate().unwrap();
        assert_eq!(s.timeout_seconds, DEFAULT_TIMEOUT_SECONDS);
        assert_eq!(s.shards, 1);
        assert_eq!(s.node_group(), "compute");
        assert_eq!((s.replicas, s.processes_per_replica), (1, 1));
        assert!(!s.is_distributed());
        let d = JobSpec {
            replicas: 2,
            processes_per_replica: 3,
            ..spec()
        }
        .validate()
        .unwrap();
        assert_eq!(d.world_size(), 6);
        assert_eq!(d.replica_logging(), ReplicaLogging::ChildRuns);
        // A spec stored before the fields existed reads as one replica of one process.
        let old: JobSpec = serde_json::from_str(r#"{"name":"a","kind":"training","command":["x"]}"#).unwrap();
        assert_eq!(
            (old.replicas(), old.processes_per_replica(), old.world_size()),
            (1, 1, 1)
        );
        let parsed: JobSpec = serde_json::from_str(
            r#"{"name":"a","kind":"training","command":["x"],"replicas":2,"replica_logging":"none"}"#,
        )
        .unwrap();
        assert_eq!(parsed.replica_logging(), ReplicaLogging::None);
    }

    #[test]
    fn bad_specs_are_refused_with_the_field_named() {
        let cases: Vec<(JobSpec, &str)> = vec![
            (
                JobSpec {
                    name: "".into(),
                    ..spec()
                },
                "name",
            ),
            (
                JobSpec {
                    name: "Bad_Name".into(),
                    ..spec()
                },
                "DNS label",
            ),
            (JobSpec { kind: None, ..spec() }, "kind"),
            (
                JobSpec {
                    command: vec![],
                    ..spec()
                },
                "command",
            ),
            (
                JobSpec {
                    resources: Resources {
                        cpu: Some(-1.0),
                        ..Default::default()
                    },
                    ..spec()
                },
                "cpu",
            ),
            (
                JobSpec {
                    resources: Resources {
                        memory: Some("lots".into()),
                        ..Default::default()
                    },
                    ..spec()
                },
                "memory",
            ),
            (JobSpec { shards: 4, ..spec() }, "sharded"),
            (
                JobSpec {
                    replicas: MAX_REPLICAS + 1,
                    ..spec()
                },
                "replicas must be at most 64",
            ),
            (
                JobSpec {
                    processes_per_replica: 17,
                    ..spec()
                },
                "processes_per_replica must be at most 16",
            ),
            (
                JobSpec {
                    kind: Some(JobKind::DataProcessing),
                    replicas: 2,
                    ..spec()
                },
                "data-processing jobs split their work with 'shards'",
            ),
            (
                JobSpec {
                    replica_logging: Some(ReplicaLogging::None),
                    ..spec()
                },
                "replica_logging applies to distributed jobs",
            ),
            (
                JobSpec {
                    max_retries: 99,
                    ..spec()
                },
                "max_retries",
            ),
            (
                JobSpec {
                    timeout_seconds: MAX_TIMEOUT_SECONDS + 1,
                    ..spec()
                },
                "timeout",
            ),
            (
                JobSpec {
                    env: [("1X".to_string(), "v".to_string())].into(),
                    ..spec()
                },
                "environment",
            ),
        ];
        for (s, needle) in cases {
            let e = s.validate().unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidParameterValue);
            assert!(e.message.contains(needle), "{} does not mention {needle}", e.message);
        }
    }

    #[test]
    fn node_groups_follow_kind_and_gpu() {
        let d = JobSpec {
            kind: Some(JobKind::DataProcessing),
            shards: 3,
            ..spec()
        }
        .validate()
        .unwrap();
        assert_eq!(d.node_group(), "data");
        let g = JobSpec {
            resources: Resources {
                gpu: Some(1),
                ..Default::default()
            },
            ..spec()
        };
        assert_eq!(g.node_group(), "gpu");
    }

    #[test]
    fn quantities() {
        assert!(valid_quantity("512Mi"));
        assert!(valid_quantity("2Gi"));
        assert!(valid_quantity("1000"));
        assert!(!valid_quantity("Mi"));
        assert!(!valid_quantity("2Xi"));
    }
}
