//! The Kubernetes executor: one batch/v1 Job per attempt in the platform namespace.
//!
//! [`job_manifest`] builds the Job from the spec: a pure function, so the manifests are tested
//! (and validated against the Kubernetes schema) without a cluster. It mirrors the PodTemplates
//! of `infrastructure/kubernetes/base/app-ml-platform/`: the `mlp-job` ServiceAccount without a
//! token, the `app.kubernetes.io/name: mlp-job` label the NetworkPolicies select job pods by,
//! the Pod Security "restricted" profile with a read-only root filesystem, the `mlp-batch`
//! priority class, and the node selector and tolerations of the job's node group (the labels and
//! taints `terraform/modules/env-config` gives the node groups, also on the Kind workers).
//!
//! [`KubernetesExecutor`] talks to the API server over plain REST (reqwest, already in the build
//! through object_store): it creates the Job (adopting it on 409 if a previous try of the same
//! attempt created it), adopts the still-running Job of an earlier attempt instead (the worker
//! that ran it shut down or died: a restart must not throw the work away), polls the Job until
//! its Complete or Failed condition, copies the pod logs to the artifact store while it runs and
//! at the end, deletes the Job on cancel and leaves it running when the worker detaches.
//! Kubernetes retries nothing (`backoffLimit: 0`): retries are the platform's, one Job each.
//!
//! Each attempt's objects besides the Job ([`attempt_objects`]) are owned by it
//! (`ownerReferences`), so they go with it: the Secret with the attempt's MLflow token (the pod
//! spec only references it), and for a distributed training job a headless Service (stable pod
//! addresses: `MASTER_ADDR` is `<job>-0.<service>`) and a NetworkPolicy that lets exactly that
//! attempt's pods reach each other. The Job is created suspended and resumed once they exist.
//! A distributed job is a gang: when not all its pods run within the gang deadline, or a pod
//! fails, the attempt fails and the whole group is deleted; a retry is a new group.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use mlp_artifacts::ArtifactStore;
use mlp_core::jobs::{Job, JobKind, JobState, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::{Attempt, Executor};

/// The annotation the Job controller puts on each pod of an Indexed Job.
pub const COMPLETION_INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// The label the NetworkPolicies of the platform select job pods by (`mlp-job-egress`, and the
/// `mlp-backend-ingress` rule that lets job pods reach the tracking API on 8000).
pub const WORKLOAD_NAME: &str = "mlp-job";
pub const LABEL_JOB_ID: &str = "mlp.dev/job-id";
pub const LABEL_KIND: &str = "mlp.dev/kind";
pub const LABEL_ATTEMPT: &str = "mlp.dev/attempt";
/// The container of every job pod.
pub const CONTAINER: &str = "job";
/// The rendezvous port of rank 0 (torchrun's default): each pod has its own network namespace.
pub const MASTER_PORT: u16 = 29500;
/// The key of the attempt's token in its Secret.
pub const TOKEN_KEY: &str = "token";
/// Where a distributed job's pods find the child runs (and tokens) of their ranks.
pub const RANK_SECRET_DIR: &str = "/var/run/mlp";

/// The entrypoint of a distributed job's pods: starts `processes_per_replica` copies of the
/// command with RANK = completion index × processes_per_replica + local rank, gives each rank
/// its MLflow run (rank 0 the job's, another its child run from the Secret, or none), and is
/// the gang inside the pod: the first process to fail stops the others and its exit code is
/// the pod's. POSIX sh only (the image's `/bin/sh`). `$0` is `mlp-launch`, `$@` the command.
pub const LAUNCHER: &str = r#"set -u
P=${MLP_PROCESSES_PER_REPLICA:-1}
I=${JOB_COMPLETION_INDEX:-0}
export MLP_REPLICA_INDEX=$I GROUP_RANK=$I
d=$(mktemp -d "${TMPDIR:-/tmp}/mlp-launch.XXXXXX")
l=0
while [ "$l" -lt "$P" ]; do
  (
    RANK=$((I * P + l))
    export RANK LOCAL_RANK=$l
    if [ "$RANK" -ne 0 ]; then
      f="${MLP_RANK_DIR:-/var/run/mlp}/run-id-$RANK"
      if [ -r "$f" ]; then
        MLFLOW_RUN_ID=$(cat "$f")
        export MLFLOW_RUN_ID
        if [ -r "${MLP_RANK_DIR:-/var/run/mlp}/token-$RANK" ]; then
          MLFLOW_TRACKING_TOKEN=$(cat "${MLP_RANK_DIR:-/var/run/mlp}/token-$RANK")
          export MLFLOW_TRACKING_TOKEN
        else
          unset MLFLOW_TRACKING_TOKEN
        fi
      else
        unset MLFLOW_RUN_ID MLFLOW_TRACKING_TOKEN MLFLOW_TRACKING_URI MLFLOW_EXPERIMENT_ID
      fi
    fi
    "$@" &
    echo $! > "$d/pid-$l"
    wait $!
    echo $? > "$d/.rc-$l" && mv "$d/.rc-$l" "$d/rc-$l"
  ) &
  l=$((l + 1))
done
stop() { for p in "$d"/pid-*; do [ -e "$p" ] && kill -TERM "$(cat "$p")" 2>/dev/null; done; }
trap 'stop; exit 143' TERM INT
while :; do
  n=0
  for f in "$d"/rc-*; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    rc=$(cat "$f")
    if [ "$rc" -ne 0 ]; then
      stop
      t=0
      while [ "$t" -lt 10 ] && [ "$(ls "$d" | grep -c '^rc-')" -lt "$P" ]; do sleep 1; t=$((t + 1)); done
      exit "$rc"
    fi
  done
  [ "$n" -eq "$P" ] && exit 0
  sleep 1
done
"#;

/// Node labels and taint keys of `infrastructure/terraform/modules/env-config`.
pub const WORKLOAD_TYPE_LABEL: &str = "ml-platform/workload-type";
pub const NODE_GROUP_LABEL: &str = "ml-platform/node-group";
pub const WORKLOAD_TAINT: &str = "ml-platform/workload";
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toleration {
    pub key: String,
    #[serde(default = "equal")]
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: String,
}

fn equal() -> String {
    "Equal".into()
}

impl Toleration {
    pub fn no_schedule(key: &str, value: &str) -> Self {
        Toleration {
            key: key.into(),
            operator: "Equal".into(),
            value: Some(value.into()),
            effect: "NoSchedule".into(),
        }
    }
}

/// Where the pods of a node group go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeGroup {
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
}

impl NodeGroup {
    fn workload(workload_type: &str, taint: Option<&str>) -> Self {
        NodeGroup {
            node_selector: [(WORKLOAD_TYPE_LABEL.to_string(), workload_type.to_string())].into(),
            tolerations: taint
                .map(|t| vec![Toleration::no_schedule(WORKLOAD_TAINT, t)])
                .unwrap_or_default(),
        }
    }
}

/// The node groups of the infrastructure, by the names jobs use (`JobKind::default_node_group`:
/// compute, data, gpu) and the names Terraform/Kind give them (training, data, general).
///
/// Pods select nodes by `ml-platform/workload-type`, not `ml-platform/node-group`, so the same
/// selector reaches the EKS node group, the Karpenter pool (whose node-group label is
/// `karpenter-training` / `karpenter-data`) and the Kind worker. GPU jobs also tolerate the
/// `nvidia.com/gpu` taint; their `nvidia.com/gpu` resource request is what puts them on GPU nodes.
pub fn default_node_groups() -> BTreeMap<String, NodeGroup> {
    let training = NodeGroup::workload("training", Some("training"));
    let data = NodeGroup::workload("data-processing", Some("data-processing"));
    let mut gpu = training.clone();
    gpu.tolerations.push(Toleration::no_schedule(GPU_RESOURCE, "true"));
    [
        ("compute".to_string(), training.clone()),
        ("training".to_string(), training),
        ("gpu".to_string(), gpu),
        ("data".to_string(), data.clone()),
        ("data-processing".to_string(), data),
        ("general".to_string(), NodeGroup::workload("general", None)),
    ]
    .into()
}

/// CPU (cores, Kubernetes notation) and memory of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuMemory {
    pub cpu: String,
    pub memory: String,
}

/// What [`job_manifest`] needs besides the job. Defaults are the ones of the base manifests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KubeConfig {
    pub namespace: String,
    pub service_account: String,
    /// Mount an API token into job pods: off unless a deployment asks for it.
    pub automount_service_account_token: bool,
    pub training_image: String,
    pub data_processing_image: String,
    pub image_pull_policy: String,
    /// Node group name → placement. A group missing here is selected by its
    /// `ml-platform/node-group` label, without tolerations.
    pub node_groups: BTreeMap<String, NodeGroup>,
    pub priority_class: Option<String>,
    /// Prefer spot capacity (soft node affinity on the Karpenter / EKS capacity-type labels).
    pub prefer_spot: bool,
    /// At most this many shards of an Indexed Job run at once.
    pub max_parallelism: u32,
    pub ttl_seconds_after_finished: u32,
    pub run_as_user: i64,
    /// Used when the spec asks for no cpu / memory.
    pub default_requests: CpuMemory,
    pub default_limits: CpuMemory,
    pub tmp_size_limit: String,
    /// An emptyDir at /scratch for intermediate data; none if unset.
    pub scratch_size_limit: Option<String>,
    /// The tracking URI as job pods reach it (the backend Service); overrides the worker's.
    /// `None` keeps the attempt's `MLFLOW_TRACKING_URI`.
    pub tracking_uri: Option<String>,
    /// A distributed job whose pods are not all running this long after its Job was created
    /// fails its attempt (gang scheduling: all or nothing).
    pub gang_timeout_seconds: u64,
}

impl Default for KubeConfig {
    fn default() -> Self {
        KubeConfig {
            namespace: "ml-platform".into(),
            service_account: "mlp-job".into(),
            automount_service_account_token: false,
            training_image: "ghcr.io/ml-platform/ml-training:0.1.0".into(),
            data_processing_image: "ghcr.io/ml-platform/ml-batch-inference:0.1.0".into(),
            image_pull_policy: "IfNotPresent".into(),
            node_groups: default_node_groups(),
            priority_class: Some("mlp-batch".into()),
            prefer_spot: true,
            max_parallelism: 10,
            ttl_seconds_after_finished: 3600,
            run_as_user: 10001,
            default_requests: CpuMemory {
                cpu: "1".into(),
                memory: "2Gi".into(),
            },
            default_limits: CpuMemory {
                cpu: "2".into(),
                memory: "4Gi".into(),
            },
            tmp_size_limit: "1Gi".into(),
            scratch_size_limit: Some("20Gi".into()),
            tracking_uri: Some("http://mlp-backend.ml-platform.svc.cluster.local:8000".into()),
            gang_timeout_seconds: 300,
        }
    }
}

impl KubeConfig {
    pub fn node_group(&self, name: &str) -> NodeGroup {
        self.node_groups.get(name).cloned().unwrap_or_else(|| NodeGroup {
            node_selector: [(NODE_GROUP_LABEL.to_string(), name.to_string())].into(),
            tolerations: Vec::new(),
        })
    }

    pub fn default_image(&self, kind: JobKind) -> &str {
        match kind {
            JobKind::Training => &self.training_image,
            JobKind::DataProcessing => &self.data_processing_image,
        }
    }
}

fn dns_label_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_string()
}

/// `<job-name>-<short job id>-a<attempt>`: a DNS-1123 label of at most 63 characters (also the
/// limit of the `job-name` label Kubernetes puts on the pods). The short id is the end of the
/// job id: job ids are UUIDv7, whose start is a timestamp shared by jobs submitted together.
pub fn job_name(job: &Job, attempt: u32) -> String {
    // The pods of a distributed job are named (hostname) `<job>-<index>`, also a label: room
    // for "-63".
    let max = if job.spec.is_distributed() { 60 } else { 63 };
    job_name_max(job, attempt, max)
}

/// The headless Service of a distributed attempt: the Job's name, which must start with a
/// letter here (a Service name is a DNS-1035 label; a job name may start with a digit).
pub fn service_name(job_name: &str) -> String {
    if job_name.starts_with(|c: char| c.is_ascii_lowercase()) {
        job_name.to_string()
    } else {
        let mut n = format!("j{job_name}");
        n.truncate(63);
        n.trim_end_matches('-').to_string()
    }
}

fn job_name_max(job: &Job, attempt: u32, max: usize) -> String {
    let id: String = job
        .job_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let short = &id[id.len().saturating_sub(8)..];
    let suffix = if short.is_empty() {
        format!("-a{attempt}")
    } else {
        format!("-{short}-a{attempt}")
    };
    let mut base = dns_label_part(&job.spec.name);
    base.truncate(max - suffix.len());
    let base = base.trim_end_matches('-');
    let base = if base.is_empty() { "job" } else { base };
    format!("{base}{suffix}")
}

/// Kubernetes notation for a number of cores: `2`, `500m`.
pub fn cpu_quantity(cores: f64) -> String {
    let milli = (cores * 1000.0).round().max(1.0) as u64;
    if milli.is_multiple_of(1000) {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

fn env_value(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// The objects of one attempt. Pure, like [`job_manifest`]; the executor adds the Job's
/// `ownerReferences` to the others once the Job exists.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptObjects {
    pub job: Value,
    /// The attempt's MLflow token(s), when auth is on, and the child runs of the ranks.
    pub secret: Option<Value>,
    /// Distributed jobs: the headless Service and the NetworkPolicy between the pods.
    pub service: Option<Value>,
    pub network_policy: Option<Value>,
}

/// The batch/v1 Job of one attempt. Pure: the same job, attempt and config give the same Job.
pub fn job_manifest(job: &Job, attempt: &Attempt, cfg: &KubeConfig) -> Value {
    attempt_objects(job, attempt, cfg).job
}

/// What selects exactly the pods of one attempt.
fn attempt_selector(job: &Job, attempt: u32) -> Value {
    json!({
        "app.kubernetes.io/name": WORKLOAD_NAME,
        LABEL_JOB_ID: job.job_id,
        LABEL_ATTEMPT: attempt.to_string(),
    })
}

/// The Job, and the Secret, Service and NetworkPolicy it needs, of one attempt.
pub fn attempt_objects(job: &Job, attempt: &Attempt, cfg: &KubeConfig) -> AttemptObjects {
    let spec = &job.spec;
    let kind = spec.kind();
    let name = job_name(job, attempt.number);
    let shards = spec.shards.max(1);
    let distributed = spec.is_distributed();
    let indexed = (kind == JobKind::DataProcessing && shards > 1) || distributed;
    let gpu = spec.resources.gpu.unwrap_or(0);
    let svc = service_name(&name);

    let labels = json!({
        "app.kubernetes.io/name": WORKLOAD_NAME,
        "app.kubernetes.io/component": "ml-workload",
        "app.kubernetes.io/part-of": "ml-platform",
        "app.kubernetes.io/managed-by": "mlp-worker",
        "ml-platform/job-class": kind.as_str(),
        LABEL_JOB_ID: job.job_id,
        LABEL_KIND: kind.as_str(),
        LABEL_ATTEMPT: attempt.number.to_string(),
    });
    // User labels go into an annotation: labels select pods (NetworkPolicies), and what a user
    // writes must not make a job pod match a policy meant for something else.
    let mut annotations = serde_json::Map::new();
    annotations.insert("mlp.dev/job-name".into(), json!(spec.name));
    if let Some(run_id) = &job.run_id {
        annotations.insert("mlp.dev/run-id".into(), json!(run_id));
    }
    if !spec.labels.is_empty() {
        annotations.insert(
            "mlp.dev/labels".into(),
            json!(serde_json::to_string(&spec.labels).unwrap_or_default()),
        );
    }

    // Environment: the spec's, then the platform's (which wins), then the shard; nothing of the
    // worker's own environment, which holds the platform's secrets (local.rs explains why the
    // platform's variables win).
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("HOME".into(), "/tmp".into());
    vars.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(attempt.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(uri) = &cfg.tracking_uri {
        vars.insert("MLFLOW_TRACKING_URI".into(), uri.clone());
    }
    vars.insert("MLP_SHARD_COUNT".into(), shards.to_string());
    vars.remove("MLP_SHARD_INDEX");
    vars.remove("JOB_COMPLETION_INDEX");
    // The token is a secret: in the attempt's Secret, referenced from the pod spec, so that
    // reading the Job (or the pod) does not give it away.
    let token = vars.remove("MLFLOW_TRACKING_TOKEN");
    let mut secret_data = serde_json::Map::new();
    if let Some(t) = &token {
        secret_data.insert(TOKEN_KEY.into(), json!(t));
    }
    if distributed {
        for k in [
            "RANK",
            "LOCAL_RANK",
            "GROUP_RANK",
            "MLP_REPLICA_INDEX",
            "MASTER_ADDR",
            "MASTER_PORT",
        ] {
            vars.remove(k);
        }
        vars.insert("MASTER_ADDR".into(), format!("{name}-0.{svc}"));
        vars.insert("MASTER_PORT".into(), MASTER_PORT.to_string());
        vars.insert("WORLD_SIZE".into(), spec.world_size().to_string());
        vars.insert("LOCAL_WORLD_SIZE".into(), spec.processes_per_replica().to_string());
        vars.insert("MLP_REPLICAS".into(), spec.replicas().to_string());
        vars.insert(
            "MLP_PROCESSES_PER_REPLICA".into(),
            spec.processes_per_replica().to_string(),
        );
        vars.insert("MLP_REPLICA_LOGGING".into(), spec.replica_logging().as_str().into());
        vars.insert("MLP_RANK_DIR".into(), RANK_SECRET_DIR.into());
        for (rank, r) in &attempt.rank_runs {
            secret_data.insert(format!("run-id-{rank}"), json!(r.run_id));
            if let Some(t) = &r.token {
                secret_data.insert(format!("token-{rank}"), json!(t));
            }
        }
    }
    let mut env: Vec<Value> = vars.iter().map(|(k, v)| env_value(k, v)).collect();
    if token.is_some() {
        env.push(json!({
            "name": "MLFLOW_TRACKING_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": name, "key": TOKEN_KEY}}
        }));
    }
    if distributed {
        env.push(env_value("MLP_SHARD_INDEX", "0"));
    } else if indexed {
        // The Job controller also sets JOB_COMPLETION_INDEX in Indexed Jobs.
        env.push(json!({
            "name": "MLP_SHARD_INDEX",
            "valueFrom": {"fieldRef": {"fieldPath": format!("metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']")}}
        }));
    } else {
        env.push(env_value("MLP_SHARD_INDEX", "0"));
        env.push(env_value("JOB_COMPLETION_INDEX", "0"));
    }

    // Resources: what the spec asks for is both request and limit (no overcommit of a batch
    // node); the base template's defaults otherwise.
    let (cpu_req, cpu_lim) = match spec.resources.cpu {
        Some(c) => (cpu_quantity(c), cpu_quantity(c)),
        None => (cfg.default_requests.cpu.clone(), cfg.default_limits.cpu.clone()),
    };
    let (mem_req, mem_lim) = match &spec.resources.memory {
        Some(m) => (m.clone(), m.clone()),
        None => (cfg.default_requests.memory.clone(), cfg.default_limits.memory.clone()),
    };
    let mut requests = json!({"cpu": cpu_req, "memory": mem_req});
    let mut limits = json!({"cpu": cpu_lim, "memory": mem_lim});
    if gpu > 0 {
        requests[GPU_RESOURCE] = json!(gpu.to_string());
        limits[GPU_RESOURCE] = json!(gpu.to_string());
    }

    let group = cfg.node_group(&spec.node_group());
    let mut tolerations = group.tolerations.clone();
    if gpu > 0 && !tolerations.iter().any(|t| t.key == GPU_RESOURCE) {
        tolerations.push(Toleration::no_schedule(GPU_RESOURCE, "true"));
    }

    let mut volume_mounts = vec![json!({"name": "tmp", "mountPath": "/tmp"})];
    let mut volumes = vec![json!({"name": "tmp", "emptyDir": {"sizeLimit": cfg.tmp_size_limit}})];
    if distributed && !attempt.rank_runs.is_empty() {
        volume_mounts.push(json!({"name": "mlp-ranks", "mountPath": RANK_SECRET_DIR, "readOnly": true}));
        volumes.push(json!({"name": "mlp-ranks", "secret": {"secretName": name, "defaultMode": 0o440}}));
    }
    let command: Vec<String> = if distributed {
        ["/bin/sh", "-c", LAUNCHER, "mlp-launch"]
            .into_iter()
            .map(str::to_string)
            .chain(spec.command.iter().cloned())
            .collect()
    } else {
        spec.command.clone()
    };
    if let Some(size) = &cfg.scratch_size_limit {
        volume_mounts.push(json!({"name": "scratch", "mountPath": "/scratch"}));
        volumes.push(json!({"name": "scratch", "emptyDir": {"sizeLimit": size}}));
    }

    let container = json!({
        "name": CONTAINER,
        "image": spec.image.clone().unwrap_or_else(|| cfg.default_image(kind).to_string()),
        "imagePullPolicy": cfg.image_pull_policy,
        "command": command,
        "env": env,
        "resources": {"requests": requests, "limits": limits},
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "privileged": false,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": volume_mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    });

    let mut pod_spec = json!({
        "serviceAccountName": cfg.service_account,
        "automountServiceAccountToken": cfg.automount_service_account_token,
        "restartPolicy": "Never",
        "enableServiceLinks": false,
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": cfg.run_as_user,
            "runAsGroup": cfg.run_as_user,
            "fsGroup": cfg.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "nodeSelector": group.node_selector,
        "tolerations": tolerations,
        "containers": [container],
        "volumes": volumes,
    });
    if let Some(pc) = &cfg.priority_class {
        pod_spec["priorityClassName"] = json!(pc);
    }
    if distributed {
        // With the headless Service of the same name: `<job>-<index>.<service>` resolves to
        // each pod, ready or not.
        pod_spec["subdomain"] = json!(svc);
    }
    if cfg.prefer_spot {
        pod_spec["affinity"] = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "preference": {"matchExpressions": [
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]}},
            {"weight": 100, "preference": {"matchExpressions": [
                {"key": "eks.amazonaws.com/capacityType", "operator": "In", "values": ["SPOT"]}]}},
        ]}});
    }

    let mut job_spec = json!({
        "backoffLimit": 0,
        "activeDeadlineSeconds": spec.timeout_seconds.max(1),
        "ttlSecondsAfterFinished": cfg.ttl_seconds_after_finished,
        "template": {
            "metadata": {"labels": labels, "annotations": annotations},
            "spec": pod_spec,
        },
    });
    if distributed {
        // A gang: every replica at once, whatever max_parallelism says about shards.
        job_spec["completionMode"] = json!("Indexed");
        job_spec["completions"] = json!(spec.replicas());
        job_spec["parallelism"] = json!(spec.replicas());
    } else if indexed {
        job_spec["completionMode"] = json!("Indexed");
        job_spec["completions"] = json!(shards);
        job_spec["parallelism"] = json!(shards.min(cfg.max_parallelism.max(1)));
    } else {
        job_spec["completions"] = json!(1);
        job_spec["parallelism"] = json!(1);
    }
    let has_dependents = !secret_data.is_empty() || distributed;
    if has_dependents {
        // Resumed once the Secret (and Service, NetworkPolicy) exist: no pod starts without.
        job_spec["suspend"] = json!(true);
    }
    let metadata = |kind_labels: &Value| {
        json!({
            "name": name,
            "namespace": cfg.namespace,
            "labels": kind_labels,
            "annotations": annotations,
        })
    };
    let job_obj = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(&labels),
        "spec": job_spec,
    });
    let secret = (!secret_data.is_empty()).then(|| {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata(&labels),
            "type": "Opaque",
            "stringData": secret_data,
        })
    });
    let selector = attempt_selector(job, attempt.number);
    let service = distributed.then(|| {
        let mut md = metadata(&labels);
        md["name"] = json!(svc);
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": md,
            "spec": {
                "clusterIP": "None",
                "selector": selector,
                // Rank 0's address must resolve before it is ready: the others dial it while
                // it starts.
                "publishNotReadyAddresses": true,
            },
        })
    });
    // All TCP between the attempt's own pods, nothing else: gloo and NCCL open their
    // peer-to-peer connections on ephemeral ports (only the rendezvous, MASTER_PORT, is
    // fixed), so a port list would break them; the pod selector is what keeps it narrow.
    // Both directions: the base policies deny job pods all ingress and all egress but the
    // tracking API (mlp-job-egress), which still applies.
    let network_policy = distributed.then(|| {
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(&labels),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": selector}}], "ports": [{"protocol": "TCP"}]}],
                "egress": [{"to": [{"podSelector": {"matchLabels": selector}}], "ports": [{"protocol": "TCP"}]}],
            },
        })
    });
    AttemptObjects {
        job: job_obj,
        secret,
        service,
        network_policy,
    }
}

// ---------------------------------------------------------------------------------------------
// The executor
// ---------------------------------------------------------------------------------------------

/// How often the executor polls, flushes logs, and how it treats a failing API.
#[derive(Debug, Clone)]
pub struct KubeTimings {
    pub poll: Duration,
    pub log_flush: Duration,
    pub request_timeout: Duration,
    /// Further tries of a request that failed transiently (connection, 5xx, 429).
    pub api_retries: u32,
    pub retry_backoff: Duration,
    /// How long a pod may fail to start (image pull, bad config) before the attempt fails.
    pub start_grace: Duration,
    /// How often the service-account token file is read again (bound tokens rotate).
    pub token_refresh: Duration,
    /// How long the API may stay unreachable (or answer 5xx) while a Job runs before the
    /// attempt is given up: the Job runs on without us, a control-plane upgrade must not end it.
    pub api_outage: Duration,
}

impl Default for KubeTimings {
    fn default() -> Self {
        KubeTimings {
            poll: Duration::from_secs(2),
            log_flush: Duration::from_secs(15),
            request_timeout: Duration::from_secs(30),
            api_retries: 4,
            retry_backoff: Duration::from_millis(500),
            start_grace: Duration::from_secs(300),
            token_refresh: Duration::from_secs(60),
            api_outage: Duration::from_secs(300),
        }
    }
}

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

enum Auth {
    None,
    Static(String),
    File {
        path: PathBuf,
        cached: Mutex<Option<(String, Instant)>>,
    },
}

#[derive(Debug)]
enum ApiError {
    /// No answer: connection refused or reset, timeout.
    Transport(String),
    Status {
        code: u16,
        reason: String,
        message: String,
    },
}

impl ApiError {
    fn code(&self) -> Option<u16> {
        match self {
            ApiError::Status { code, .. } => Some(*code),
            ApiError::Transport(_) => None,
        }
    }
    fn transient(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Status { code, .. } => *code >= 500 || *code == 429,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Transport(m) => write!(f, "{m}"),
            ApiError::Status { code, reason, message } => {
                write!(f, "HTTP {code}")?;
                if !reason.is_empty() {
                    write!(f, " {reason}")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
        }
    }
}

fn infrastructure(msg: impl std::fmt::Display) -> Outcome {
    Outcome {
        state: JobState::Failed,
        exit_code: None,
        reason: Some(format!("infrastructure: {msg}")),
    }
}

fn failed(exit_code: Option<i32>, reason: impl Into<String>) -> Outcome {
    Outcome {
        state: JobState::Failed,
        exit_code,
        reason: Some(reason.into()),
    }
}

fn cancelled() -> Outcome {
    Outcome {
        state: JobState::Cancelled,
        exit_code: None,
        reason: Some("cancelled".into()),
    }
}

/// An API error as the end of an attempt. Unreachable or failing API, throttling, refused
/// credentials or quota, a missing namespace are the platform's problem (infrastructure, retried
/// by the platform's policy); a Job the API refuses as invalid (400, 422) is not.
fn api_outcome(doing: &str, e: &ApiError) -> Outcome {
    match e.code() {
        Some(400 | 422) => failed(None, format!("Kubernetes refused {doing}: {e}")),
        _ => infrastructure(format!("Kubernetes API error {doing}: {e}")),
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
}

enum JobEnd {
    Complete,
    Failed { reason: String, message: String },
}

fn job_end(job: &Value) -> Option<JobEnd> {
    if condition(job, "Complete").is_some() {
        return Some(JobEnd::Complete);
    }
    condition(job, "Failed").map(|c| JobEnd::Failed {
        reason: c["reason"].as_str().unwrap_or_default().to_string(),
        message: c["message"].as_str().unwrap_or_default().to_string(),
    })
}

fn pod_index(pod: &Value) -> u32 {
    let md = &pod["metadata"];
    md["annotations"][COMPLETION_INDEX_ANNOTATION]
        .as_str()
        .or_else(|| md["labels"][COMPLETION_INDEX_ANNOTATION].as_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn job_container(pod: &Value) -> Option<&Value> {
    pod["status"]["containerStatuses"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == CONTAINER)
}

/// The newest pod of each completion index, by index.
fn latest_pods(pods: &[Value]) -> BTreeMap<u32, &Value> {
    let mut by_index: BTreeMap<u32, &Value> = BTreeMap::new();
    for p in pods {
        let i = pod_index(p);
        let created = p["metadata"]["creationTimestamp"].as_str().unwrap_or_default();
        match by_index.get(&i) {
            Some(q) if q["metadata"]["creationTimestamp"].as_str().unwrap_or_default() > created => {}
            _ => {
                by_index.insert(i, p);
            }
        }
    }
    by_index
}

/// Waiting reasons of a container that will not start by itself.
const START_FAILURES: [&str; 5] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Pod status reasons that mean the node or the cluster, not the workload, ended the pod.
const DISRUPTIONS: [&str; 5] = ["Evicted", "Preempting", "NodeLost", "Shutdown", "NodeShutdown"];

#[derive(Default)]
struct LogState {
    /// Artifact path → hash of what was last uploaded there.
    uploaded: HashMap<String, u64>,
    /// Since when a pod has failed to start (pod name → first seen).
    start_failing: HashMap<String, Instant>,
}

pub struct KubernetesExecutor {
    client: reqwest::Client,
    base_url: String,
    auth: Auth,
    pub config: KubeConfig,
    pub timings: KubeTimings,
    artifacts: Arc<dyn ArtifactStore>,
}

impl KubernetesExecutor {
    fn build(
        base_url: &str,
        auth: Auth,
        ca_pem: Option<&[u8]>,
        config: KubeConfig,
        timings: KubeTimings,
        artifacts: Arc<dyn ArtifactStore>,
    ) -> Result<Self, String> {
        // reqwest is built without a crypto provider of its own (see the workspace manifest).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timings.request_timeout);
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("invalid Kubernetes CA certificate: {e}"))?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the Kubernetes API client: {e}"))?;
        Ok(KubernetesExecutor {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
            config,
            timings,
            artifacts,
        })
    }

    /// Inside a pod: the API server of `KUBERNETES_SERVICE_HOST`/`PORT`, the service-account
    /// token (read again every `timings.token_refresh`: bound tokens rotate) and CA.
    pub fn in_cluster(
        config: KubeConfig,
        timings: KubeTimings,
        artifacts: Arc<dyn ArtifactStore>,
    ) -> Result<Self, String> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST")
            .map_err(|_| "KUBERNETES_SERVICE_HOST is not set: not running inside a Kubernetes pod".to_string())?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let ca_path = format!("{SA_DIR}/ca.crt");
        let ca = std::fs::read(&ca_path).map_err(|e| format!("cannot read {ca_path}: {e}"))?;
        let token = PathBuf::from(format!("{SA_DIR}/token"));
        if !token.is_file() {
            return Err(format!("no service-account token at {}", token.display()));
        }
        Self::build(
            &format!("https://{host}:{port}"),
            Auth::File {
                path: token,
                cached: Mutex::new(None),
            },
            Some(&ca),
            config,
            timings,
            artifacts,
        )
    }

    /// An explicit API server: `kubectl proxy` (`http://127.0.0.1:8001`, no token) or a test
    /// server. HTTPS uses the system's roots.
    pub fn with_endpoint(
        base_url: &str,
        token: Option<String>,
        config: KubeConfig,
        timings: KubeTimings,
        artifacts: Arc<dyn ArtifactStore>,
    ) -> Result<Self, String> {
        let auth = token.map(Auth::Static).unwrap_or(Auth::None);
        Self::build(base_url, auth, None, config, timings, artifacts)
    }

    /// An explicit API server with a token file read again every `timings.token_refresh`.
    pub fn with_token_file(
        base_url: &str,
        token_file: PathBuf,
        ca_pem: Option<&[u8]>,
        config: KubeConfig,
        timings: KubeTimings,
        artifacts: Arc<dyn ArtifactStore>,
    ) -> Result<Self, String> {
        let auth = Auth::File {
            path: token_file,
            cached: Mutex::new(None),
        };
        Self::build(base_url, auth, ca_pem, config, timings, artifacts)
    }

    async fn token(&self) -> Result<Option<String>, ApiError> {
        match &self.auth {
            Auth::None => Ok(None),
            Auth::Static(t) => Ok(Some(t.clone())),
            Auth::File { path, cached } => {
                if let Some((t, at)) = &*cached.lock().unwrap()
                    && at.elapsed() < self.timings.token_refresh
                {
                    return Ok(Some(t.clone()));
                }
                let t = tokio::fs::read_to_string(path).await.map_err(|e| {
                    ApiError::Transport(format!("cannot read the service-account token {}: {e}", path.display()))
                })?;
                let t = t.trim().to_string();
                *cached.lock().unwrap() = Some((t.clone(), Instant::now()));
                Ok(Some(t))
            }
        }
    }

    /// One request, tried again on transient failures. Returns the body.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Bytes, ApiError> {
        let mut tries = 0;
        let mut reauthenticated = false;
        loop {
            match self.call_once(method.clone(), path, body).await {
                // A rotated token: read the file again before giving up.
                Err(e) if e.code() == Some(401) && !reauthenticated && matches!(self.auth, Auth::File { .. }) => {
                    reauthenticated = true;
                    if let Auth::File { cached, .. } = &self.auth {
                        *cached.lock().unwrap() = None;
                    }
                }
                Err(e) if e.transient() && tries < self.timings.api_retries => {
                    tries += 1;
                    let wait = self.timings.retry_backoff * 2u32.saturating_pow(tries - 1).min(16);
                    tracing::debug!(%method, path, error = %e, tries, "Kubernetes API request failed; trying again");
                    tokio::time::sleep(wait).await;
                }
                r => return r,
            }
        }
    }

    async fn call_once(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Bytes, ApiError> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .header("accept", "application/json");
        if let Some(t) = self.token().await? {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap_or_default());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ApiError::Transport(format!("cannot reach the Kubernetes API at {}: {e}", self.base_url)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ApiError::Transport(format!("reading a Kubernetes API answer: {e}")))?;
        if status.is_success() {
            return Ok(bytes);
        }
        let st: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = || {
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                .trim()
                .to_string()
        };
        Err(ApiError::Status {
            code: status.as_u16(),
            reason: st["reason"].as_str().unwrap_or_default().to_string(),
            message: st["message"].as_str().map(str::to_string).unwrap_or_else(text),
        })
    }

    async fn call_json(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let bytes = self.call(method, path, body).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::Transport(format!("the Kubernetes API answered something that is not JSON: {e}")))
    }

    fn jobs_path(&self) -> String {
        format!("/apis/batch/v1/namespaces/{}/jobs", self.config.namespace)
    }

    async fn get_job(&self, name: &str) -> Result<Value, ApiError> {
        self.call_json(reqwest::Method::GET, &format!("{}/{name}", self.jobs_path()), None)
            .await
    }

    async fn delete_job(&self, name: &str) -> Result<(), ApiError> {
        let path = format!("{}/{name}?propagationPolicy=Background", self.jobs_path());
        match self.call(reqwest::Method::DELETE, &path, None).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn core_path(&self, resource: &str) -> String {
        format!("/api/v1/namespaces/{}/{resource}", self.config.namespace)
    }

    fn netpol_path(&self) -> String {
        format!(
            "/apis/networking.k8s.io/v1/namespaces/{}/networkpolicies",
            self.config.namespace
        )
    }

    async fn delete_object(&self, collection: &str, name: &str) -> Result<(), ApiError> {
        match self
            .call(reqwest::Method::DELETE, &format!("{collection}/{name}"), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The end of an attempt: its Secret goes (the token in it is revoked anyway), and with
    /// `group` the Job and everything else of the attempt (a failed gang leaves nothing
    /// running). The Job's dependents would follow it by garbage collection; deleting them
    /// here does not wait for the collector.
    async fn clean_up(&self, job: &Job, attempt: &Attempt, name: &str, group: bool) {
        let mut doomed = Vec::new();
        if attempt.env.contains_key("MLFLOW_TRACKING_TOKEN") || !attempt.rank_runs.is_empty() {
            doomed.push((self.core_path("secrets"), name.to_string()));
        }
        if group {
            doomed.push((self.jobs_path(), name.to_string()));
            if job.spec.is_distributed() {
                doomed.push((self.core_path("services"), service_name(name)));
                doomed.push((self.netpol_path(), name.to_string()));
            }
        }
        for (collection, object) in doomed {
            let r = if collection == self.jobs_path() {
                self.delete_job(&object).await
            } else {
                self.delete_object(&collection, &object).await
            };
            if let Err(e) = r {
                tracing::warn!(job_id = job.job_id, object, error = %e, "cannot delete an object of the attempt");
            }
        }
    }

    /// Creates the Job's dependents (owned by it, so that they go with it) and resumes it.
    /// Idempotent: what a previous try of this attempt created is kept.
    async fn create_dependents(&self, name: &str, objects: &AttemptObjects) -> Result<(), Outcome> {
        let k8s_job = self
            .get_job(name)
            .await
            .map_err(|e| api_outcome("reading the created Job", &e))?;
        let uid = k8s_job["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        let owner = json!([{
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": name,
            "uid": uid,
            "blockOwnerDeletion": false,
        }]);
        let dependents = [
            (&objects.secret, self.core_path("secrets"), "the Secret"),
            (&objects.service, self.core_path("services"), "the headless Service"),
            (&objects.network_policy, self.netpol_path(), "the NetworkPolicy"),
        ];
        for (object, collection, what) in dependents {
            let Some(object) = object else { continue };
            let mut object = object.clone();
            if !uid.is_empty() {
                object["metadata"]["ownerReferences"] = owner.clone();
            }
            match self.call(reqwest::Method::POST, &collection, Some(&object)).await {
                Ok(_) => {}
                Err(e) if e.code() == Some(409) => {}
                Err(e) => {
                    let _ = self.delete_job(name).await;
                    return Err(api_outcome(&format!("creating {what}"), &e));
                }
            }
        }
        if k8s_job["spec"]["suspend"] == true {
            let path = format!("{}/{name}", self.jobs_path());
            let patch = json!({"spec": {"suspend": false}});
            if let Err(e) = self.patch(&path, &patch).await {
                let _ = self.delete_job(name).await;
                return Err(api_outcome("resuming the Job", &e));
            }
        }
        Ok(())
    }

    async fn patch(&self, path: &str, patch: &Value) -> Result<Bytes, ApiError> {
        let mut tries = 0;
        loop {
            let mut req = self
                .client
                .patch(format!("{}{path}", self.base_url))
                .header("accept", "application/json")
                .header("content-type", "application/merge-patch+json")
                .body(serde_json::to_vec(patch).unwrap_or_default());
            if let Some(t) = self.token().await? {
                req = req.bearer_auth(t);
            }
            let r = match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    return resp
                        .bytes()
                        .await
                        .map_err(|e| ApiError::Transport(format!("reading a Kubernetes API answer: {e}")));
                }
                Ok(resp) => ApiError::Status {
                    code: resp.status().as_u16(),
                    reason: String::new(),
                    message: resp.text().await.unwrap_or_default(),
                },
                Err(e) => ApiError::Transport(format!("cannot reach the Kubernetes API at {}: {e}", self.base_url)),
            };
            if r.transient() && tries < self.timings.api_retries {
                tries += 1;
                tokio::time::sleep(self.timings.retry_backoff).await;
                continue;
            }
            return Err(r);
        }
    }

    /// Gang scheduling of a distributed job: `None` while it may still come up (or is up),
    /// the failure once the deadline passed without every replica running.
    fn gang_failure(&self, job: &Job, pods: &[Value], since: Instant) -> Option<Outcome> {
        let want = job.spec.replicas() as usize;
        let latest = latest_pods(pods);
        let up = latest
            .values()
            .filter(|p| matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded" | "Failed")))
            .count();
        if up >= want || since.elapsed() < Duration::from_secs(self.config.gang_timeout_seconds) {
            return None;
        }
        // Why the first pod that is not up is waiting: the scheduler's message says which
        // resource or placement is missing.
        let why = latest
            .values()
            .find(|p| !matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded" | "Failed")))
            .map(|p| {
                let cond = p["status"]["conditions"]
                    .as_array()
                    .and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled" && c["status"] != "True"));
                let name = p["metadata"]["name"].as_str().unwrap_or_default();
                match cond {
                    Some(c) => format!(
                        "; pod {name}: {}: {}",
                        c["reason"].as_str().unwrap_or("Pending"),
                        c["message"].as_str().unwrap_or_default()
                    ),
                    None => format!(
                        "; pod {name} is {}",
                        p["status"]["phase"].as_str().unwrap_or("not created")
                    ),
                }
            })
            .unwrap_or_default();
        Some(infrastructure(format!(
            "gang not scheduled: {up} of {want} replicas running after {}s{why}",
            self.config.gang_timeout_seconds
        )))
    }

    async fn list_pods(&self, job_name: &str) -> Result<Vec<Value>, ApiError> {
        let path = format!(
            "/api/v1/namespaces/{}/pods?labelSelector={}",
            self.config.namespace,
            enc(&format!("job-name={job_name}"))
        );
        let list = self.call_json(reqwest::Method::GET, &path, None).await?;
        Ok(list["items"].as_array().cloned().unwrap_or_default())
    }

    /// Jobs of earlier attempts of the same platform job that are still running: a worker that
    /// shut down (detached) or died leaves its Job behind. The newest one is adopted, so a
    /// worker restart does not throw the work away; any other is deleted, so that a job never
    /// runs twice at once. Returns the name of the adopted Job.
    async fn earlier_attempts(&self, job: &Job, name: &str) -> Option<String> {
        let path = format!(
            "{}?labelSelector={}",
            self.jobs_path(),
            enc(&format!("{LABEL_JOB_ID}={}", job.job_id))
        );
        let list = match self.call_json(reqwest::Method::GET, &path, None).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(job_id = job.job_id, error = %e, "cannot list the job's earlier Kubernetes Jobs");
                return None;
            }
        };
        let attempt_of = |j: &Value| {
            j["metadata"]["labels"][LABEL_ATTEMPT]
                .as_str()
                .and_then(|a| a.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let mut running: Vec<&Value> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| {
                o["metadata"]["name"].as_str().is_some_and(|n| n != name)
                    && job_end(o).is_none()
                    && o["metadata"]["deletionTimestamp"].is_null()
            })
            .collect();
        // Still suspended: its worker went away before its Secret (or Service) was made, so
        // it never ran; it cannot be resumed with a revoked token. Deleted below, not adopted.
        running.sort_by_key(|o| (o["spec"]["suspend"] == true, std::cmp::Reverse(attempt_of(o))));

        let adopted = running
            .first()
            .filter(|o| o["spec"]["suspend"] != true)
            .and_then(|o| o["metadata"]["name"].as_str())
            .map(str::to_string);
        if let Some(a) = &adopted {
            tracing::info!(
                job_id = job.job_id,
                k8s_job = a,
                "adopting the running Job of an earlier attempt"
            );
        }
        for other in running.iter().skip(usize::from(adopted.is_some())) {
            let Some(other_name) = other["metadata"]["name"].as_str() else {
                continue;
            };
            tracing::info!(
                job_id = job.job_id,
                k8s_job = other_name,
                "deleting the Job of an earlier attempt"
            );
            if let Err(e) = self.delete_job(other_name).await {
                tracing::warn!(job_id = job.job_id, k8s_job = other_name, error = %e, "cannot delete an earlier attempt's Job");
            }
        }
        adopted
    }

    /// Creates the Job, or adopts the one a previous try of this very attempt created.
    async fn create_or_adopt(&self, job: &Job, attempt: &Attempt, manifest: &Value, name: &str) -> Result<(), Outcome> {
        match self
            .call(reqwest::Method::POST, &self.jobs_path(), Some(manifest))
            .await
        {
            Ok(_) => {
                tracing::info!(job_id = job.job_id, k8s_job = name, "Kubernetes Job created");
                Ok(())
            }
            Err(e) if e.code() == Some(409) => {
                let existing = self
                    .get_job(name)
                    .await
                    .map_err(|e| api_outcome("reading the existing Job", &e))?;
                let labels = &existing["metadata"]["labels"];
                if labels[LABEL_JOB_ID] != job.job_id.as_str()
                    || labels[LABEL_ATTEMPT] != attempt.number.to_string().as_str()
                {
                    return Err(infrastructure(format!(
                        "a Kubernetes Job named {name} exists and is not attempt {} of job {}",
                        attempt.number, job.job_id
                    )));
                }
                tracing::info!(
                    job_id = job.job_id,
                    k8s_job = name,
                    "adopting the existing Kubernetes Job of this attempt"
                );
                Ok(())
            }
            Err(e) => Err(api_outcome("creating the Job", &e)),
        }
    }

    /// Copies each pod's log (stdout and stderr together, as Kubernetes keeps them) to the
    /// artifact store, where the local executor puts stdout; skips what did not change.
    async fn flush_logs(&self, job: &Job, attempt: &Attempt, pods: &[Value], state: &mut LogState) {
        let sharded = job.spec.shards > 1;
        for (index, pod) in latest_pods(pods) {
            let Some(pod_name) = pod["metadata"]["name"].as_str() else {
                continue;
            };
            if matches!(pod["status"]["phase"].as_str(), None | Some("Pending")) {
                continue;
            }
            let path = format!(
                "/api/v1/namespaces/{}/pods/{pod_name}/log?container={CONTAINER}",
                self.config.namespace
            );
            let log = match self.call(reqwest::Method::GET, &path, None).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::debug!(pod = pod_name, error = %e, "cannot read pod log");
                    continue;
                }
            };
            let mut remotes = if sharded {
                vec![format!("{}/shard-{index}/stdout.log", attempt.log_prefix)]
            } else if job.spec.is_distributed() {
                // A pod's log holds all its processes: under the rank of its first one; rank
                // 0's also where a single process's goes (`mlp job logs` without --rank).
                let rank = index * job.spec.processes_per_replica();
                let mut r = vec![format!("{}/rank-{rank}/stdout.log", attempt.log_prefix)];
                if index == 0 {
                    r.push(format!("{}/stdout.log", attempt.log_prefix));
                }
                r
            } else {
                vec![format!("{}/stdout.log", attempt.log_prefix)]
            };
            let hash = {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                log.hash(&mut h);
                h.finish()
            };
            for remote in remotes.drain(..) {
                if state.uploaded.get(&remote) == Some(&hash) {
                    continue;
                }
                let log = log.clone();
                let body = Box::pin(futures_util::stream::once(async move { Ok(log) }));
                match self.artifacts.put(&remote, body).await {
                    Ok(_) => {
                        state.uploaded.insert(remote, hash);
                    }
                    Err(e) => tracing::warn!(path = remote, error = %e, "cannot copy job log to the artifact store"),
                }
            }
        }
    }

    /// A pod whose container cannot start (bad image, missing config) never fails the Job by
    /// itself; past the grace period the attempt fails.
    fn start_failure(&self, pods: &[Value], state: &mut LogState) -> Option<Outcome> {
        for pod in pods {
            let name = pod["metadata"]["name"].as_str().unwrap_or_default();
            let waiting = job_container(pod).map(|c| &c["state"]["waiting"]);
            let reason = waiting.and_then(|w| w["reason"].as_str()).unwrap_or_default();
            if !START_FAILURES.contains(&reason) {
                state.start_failing.remove(name);
                continue;
            }
            let since = *state.start_failing.entry(name.to_string()).or_insert_with(Instant::now);
            if reason == "InvalidImageName" || since.elapsed() >= self.timings.start_grace {
                let message = waiting.and_then(|w| w["message"].as_str()).unwrap_or_default();
                return Some(failed(None, format!("cannot start the container: {reason}: {message}")));
            }
        }
        None
    }

    async fn outcome_of_failure(&self, job: &Job, name: &str, reason: &str, message: &str) -> Outcome {
        if reason == "DeadlineExceeded" {
            return failed(None, format!("timed out after {}s", job.spec.timeout_seconds));
        }
        let pods = self.list_pods(name).await.unwrap_or_default();
        let sharded = job.spec.shards > 1;
        // The pod that failed first and was not stopped by the Job controller (which deletes
        // the other pods of a failed Indexed Job): its failure is the Job's.
        let mut failed_pods: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                p["status"]["phase"] == "Failed"
                    || job_container(p)
                        .is_some_and(|c| c["state"]["terminated"]["exitCode"].as_i64().is_some_and(|x| x != 0))
            })
            .collect();
        failed_pods.sort_by_key(|p| {
            let finished = job_container(p)
                .and_then(|c| c["state"]["terminated"]["finishedAt"].as_str())
                .unwrap_or("~")
                .to_string();
            (!p["metadata"]["deletionTimestamp"].is_null(), finished, pod_index(p))
        });
        if let Some(pod) = failed_pods.first() {
            let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
            let pod_reason = pod["status"]["reason"].as_str().unwrap_or_default();
            if DISRUPTIONS.contains(&pod_reason) || condition(pod, "DisruptionTarget").is_some() {
                let why = condition(pod, "DisruptionTarget")
                    .and_then(|c| c["reason"].as_str())
                    .unwrap_or(pod_reason);
                return infrastructure(format!("pod {pod_name} was disrupted ({why})"));
            }
            let term = job_container(pod).map(|c| &c["state"]["terminated"]);
            if let Some(code) = term.and_then(|t| t["exitCode"].as_i64()).filter(|c| *c != 0) {
                let code = code as i32;
                let mut reason = if job.spec.is_distributed() {
                    format!("replica {} exited with {code}; the group was stopped", pod_index(pod))
                } else if sharded {
                    format!("shard {} exited with {code}", pod_index(pod))
                } else {
                    format!("exited with {code}")
                };
                if term.is_some_and(|t| t["reason"] == "OOMKilled") {
                    reason.push_str(" (OOMKilled: out of memory)");
                }
                return failed(Some(code), reason);
            }
        }
        let mut what = format!(
            "the Kubernetes Job failed: {}",
            if reason.is_empty() { "Failed" } else { reason }
        );
        if !message.is_empty() {
            what.push_str(": ");
            what.push_str(message);
        }
        failed(None, what)
    }

    async fn follow(
        &self,
        job: &Job,
        attempt: &Attempt,
        name: &str,
        cancel: &CancellationToken,
        detach: &CancellationToken,
    ) -> Outcome {
        let mut logs = LogState::default();
        let mut next_flush = Instant::now() + self.timings.log_flush;
        let mut unreachable_since: Option<Instant> = None;
        let gang_since = Instant::now();
        let mut gang_up = !job.spec.is_distributed();
        loop {
            tokio::select! {
                biased;
                _ = detach.cancelled() => {
                    // The worker stops, the job does not: the Job keeps running and the worker
                    // that takes the job over adopts it (see `earlier_attempts`).
                    tracing::info!(job_id = job.job_id, k8s_job = name, "worker shutting down: leaving the Kubernetes Job running");
                    let pods = self.list_pods(name).await.unwrap_or_default();
                    self.flush_logs(job, attempt, &pods, &mut logs).await;
                    return Outcome {
                        state: JobState::Cancelled,
                        exit_code: None,
                        reason: Some(format!("detached: the Kubernetes Job {name} keeps running")),
                    };
                }
                _ = cancel.cancelled() => {
                    tracing::info!(job_id = job.job_id, k8s_job = name, "cancelling: deleting the Kubernetes Job");
                    let deleted = self.delete_job(name).await;
                    // The pods are deleted in the background; their logs are readable meanwhile.
                    let pods = self.list_pods(name).await.unwrap_or_default();
                    self.flush_logs(job, attempt, &pods, &mut logs).await;
                    if let Err(e) = deleted {
                        tracing::warn!(job_id = job.job_id, k8s_job = name, error = %e, "cannot delete the Kubernetes Job");
                    }
                    return cancelled();
                }
                _ = tokio::time::sleep(self.timings.poll) => {}
            }
            let k8s_job = match self.get_job(name).await {
                Ok(j) => {
                    unreachable_since = None;
                    j
                }
                Err(e) if e.code() == Some(404) => {
                    return infrastructure(format!("the Kubernetes Job {name} was deleted while it ran"));
                }
                Err(e)
                    if e.transient()
                        && unreachable_since.get_or_insert_with(Instant::now).elapsed() < self.timings.api_outage =>
                {
                    tracing::warn!(job_id = job.job_id, k8s_job = name, error = %e, "cannot follow the Kubernetes Job; trying again");
                    continue;
                }
                Err(e) => {
                    // Retries are spent: give the attempt up, and do not leave it running.
                    let _ = self.delete_job(name).await;
                    return infrastructure(format!("Kubernetes API error following the Job: {e}"));
                }
            };
            if let Some(end) = job_end(&k8s_job) {
                let pods = self.list_pods(name).await.unwrap_or_default();
                self.flush_logs(job, attempt, &pods, &mut logs).await;
                return match end {
                    JobEnd::Complete => Outcome {
                        state: JobState::Succeeded,
                        exit_code: Some(0),
                        reason: None,
                    },
                    JobEnd::Failed { reason, message } => self.outcome_of_failure(job, name, &reason, &message).await,
                };
            }
            if !gang_up {
                // Every poll until the whole gang runs: its deadline is checked on time.
                match self.list_pods(name).await {
                    Ok(pods) => {
                        let latest = latest_pods(&pods);
                        gang_up = latest.len() >= job.spec.replicas() as usize
                            && latest.values().all(|p| {
                                matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded" | "Failed"))
                            });
                        if let Some(outcome) = self.gang_failure(job, &pods, gang_since) {
                            tracing::warn!(job_id = job.job_id, k8s_job = name, reason = ?outcome.reason, "gang deadline passed");
                            self.flush_logs(job, attempt, &pods, &mut logs).await;
                            return outcome;
                        }
                    }
                    Err(e) => tracing::debug!(k8s_job = name, error = %e, "cannot list the Job's pods"),
                }
            }
            if Instant::now() >= next_flush {
                next_flush = Instant::now() + self.timings.log_flush;
                match self.list_pods(name).await {
                    Ok(pods) => {
                        self.flush_logs(job, attempt, &pods, &mut logs).await;
                        if let Some(outcome) = self.start_failure(&pods, &mut logs) {
                            let _ = self.delete_job(name).await;
                            return outcome;
                        }
                    }
                    Err(e) => tracing::debug!(k8s_job = name, error = %e, "cannot list the Job's pods"),
                }
            }
        }
    }
}

#[async_trait]
impl Executor for KubernetesExecutor {
    async fn run(&self, job: &Job, attempt: &Attempt, cancel: CancellationToken) -> Outcome {
        self.run_detachable(job, attempt, cancel, CancellationToken::new())
            .await
    }

    async fn run_detachable(
        &self,
        job: &Job,
        attempt: &Attempt,
        cancel: CancellationToken,
        detach: CancellationToken,
    ) -> Outcome {
        if cancel.is_cancelled() {
            return cancelled();
        }
        let own = job_name(job, attempt.number);
        let name = match self.earlier_attempts(job, &own).await {
            Some(earlier) => earlier,
            None => {
                let objects = attempt_objects(job, attempt, &self.config);
                if let Err(outcome) = self.create_or_adopt(job, attempt, &objects.job, &own).await {
                    return outcome;
                }
                if objects.job["spec"]["suspend"] == true
                    && let Err(outcome) = self.create_dependents(&own, &objects).await
                {
                    self.clean_up(job, attempt, &own, true).await;
                    return outcome;
                }
                own
            }
        };
        let outcome = self.follow(job, attempt, &name, &cancel, &detach).await;
        let detached = detach.is_cancelled() && outcome.state == JobState::Cancelled;
        if !detached {
            // A failed gang is deleted whole; a plain failed Job stays (until its TTL) for
            // `kubectl describe`, as do the finished Jobs.
            let group = job.spec.is_distributed() && outcome.state != JobState::Succeeded;
            self.clean_up(job, attempt, &name, group).await;
        }
        outcome
    }

    fn describe(&self) -> String {
        format!(
            "Kubernetes Jobs in namespace {} at {}",
            self.config.namespace, self.base_url
        )
    }
}
