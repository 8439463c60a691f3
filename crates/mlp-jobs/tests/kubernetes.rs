//! The Kubernetes executor without a cluster: the Job manifests it builds (restricted profile,
//! placement, resources, Indexed Jobs, names, environment; golden files that
//! `tests/infra/kubernetes/test_job_manifests.py` validates against the Kubernetes schema and
//! the platform's policies), and its API calls against an in-process mock API server.
//!
//! The golden manifests live in `tests/infra/kubernetes/fixtures/job-manifests/`; after an
//! intended change to the manifests, regenerate them with
//! `MLP_UPDATE_JOB_MANIFESTS=1 cargo nextest run -p mlp-jobs --test kubernetes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use mlp_artifacts::{ArtifactStore, LocalArtifactStore};
use mlp_core::jobs::{Job, JobKind, JobSpec, JobState, Resources};
use mlp_jobs::kubernetes::*;
use mlp_jobs::{Attempt, Executor, RankRun};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const JOB_ID: &str = "j-0190f3a2b4c57d8e9f00112233445566";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn job(spec: JobSpec) -> Job {
    Job {
        job_id: JOB_ID.into(),
        spec: spec.validate().expect("valid spec"),
        state: JobState::Running,
        created_at: 0,
        started_at: Some(0),
        finished_at: None,
        attempts: 1,
        exit_code: None,
        reason: None,
        run_id: Some("0a1b2c3d4e5f".into()),
        experiment_id: Some("1".into()),
        cancel_requested: false,
        worker_id: Some("w1".into()),
        lease_expires_at: None,
        owner: None,
    }
}

fn training() -> JobSpec {
    JobSpec {
        name: "train-iris".into(),
        kind: Some(JobKind::Training),
        image: Some("ghcr.io/ml-platform/ml-training:0.1.0".into()),
        command: vec!["python".into(), "train.py".into(), "--epochs".into(), "5".into()],
        env: [("LEARNING_RATE".to_string(), "0.1".to_string())].into(),
        resources: Resources {
            cpu: Some(0.5),
            memory: Some("1Gi".into()),
            gpu: None,
        },
        timeout_seconds: 600,
        labels: [("team".to_string(), "vision".to_string())].into(),
        ..Default::default()
    }
}

fn gpu_training() -> JobSpec {
    JobSpec {
        name: "train-resnet".into(),
        resources: Resources {
            cpu: Some(4.0),
            memory: Some("16Gi".into()),
            gpu: Some(2),
        },
        ..training()
    }
}

fn data(shards: u32) -> JobSpec {
    JobSpec {
        name: "profile-dataset".into(),
        kind: Some(JobKind::DataProcessing),
        image: None,
        command: vec!["mlp-data-profile".into(), "--input".into(), "s3://data/in.csv".into()],
        env: BTreeMap::new(),
        resources: Resources::default(),
        shards,
        timeout_seconds: 3600,
        ..Default::default()
    }
}

fn attempt(n: u32) -> Attempt {
    Attempt {
        number: n,
        env: [
            ("MLFLOW_TRACKING_URI", "http://127.0.0.1:8000"),
            ("MLFLOW_RUN_ID", "0a1b2c3d4e5f"),
            ("MLFLOW_EXPERIMENT_ID", "1"),
            ("MLP_JOB_ID", JOB_ID),
            ("MLP_JOB_ATTEMPT", &n.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        log_prefix: format!("1/0a1b2c3d4e5f/artifacts/logs/attempt-{n}"),
        rank_runs: BTreeMap::new(),
    }
}

fn pod_spec(m: &Value) -> &Value {
    &m["spec"]["template"]["spec"]
}

fn container(m: &Value) -> &Value {
    &pod_spec(m)["containers"][0]
}

fn env_of(m: &Value) -> BTreeMap<String, Value> {
    container(m)["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let v = e.get("value").cloned().unwrap_or_else(|| e["valueFrom"].clone());
            (e["name"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

#[test]
fn manifest_is_one_job_per_attempt_without_kubernetes_retries() {
    let cfg = KubeConfig::default();
    let m = job_manifest(&job(training()), &attempt(3), &cfg);
    assert_eq!(m["apiVersion"], "batch/v1");
    assert_eq!(m["kind"], "Job");
    assert_eq!(m["metadata"]["name"], "train-iris-33445566-a3");
    assert_eq!(m["metadata"]["namespace"], "ml-platform");
    assert_eq!(m["spec"]["backoffLimit"], 0);
    assert_eq!(m["spec"]["activeDeadlineSeconds"], 600);
    assert_eq!(m["spec"]["ttlSecondsAfterFinished"], 3600);
    assert_eq!(m["spec"]["completions"], 1);
    assert!(m["spec"].get("completionMode").is_none());
    assert_eq!(pod_spec(&m)["restartPolicy"], "Never");
    assert_eq!(container(&m)["image"], "ghcr.io/ml-platform/ml-training:0.1.0");
    assert_eq!(container(&m)["command"], json!(["python", "train.py", "--epochs", "5"]));
    // Pure: the same inputs give the same Job.
    assert_eq!(m, job_manifest(&job(training()), &attempt(3), &cfg));
}

#[test]
fn manifest_has_the_restricted_security_profile() {
    for spec in [training(), gpu_training(), data(1), data(4)] {
        let m = job_manifest(&job(spec), &attempt(1), &KubeConfig::default());
        let pod = pod_spec(&m);
        assert_eq!(pod["serviceAccountName"], "mlp-job");
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["enableServiceLinks"], false);
        assert_eq!(pod["priorityClassName"], "mlp-batch");
        let psc = &pod["securityContext"];
        assert_eq!(psc["runAsNonRoot"], true);
        assert_eq!(psc["runAsUser"], 10001);
        assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault");
        for f in ["hostNetwork", "hostPID", "hostIPC"] {
            assert!(pod.get(f).is_none(), "{f} set");
        }
        let sc = &container(&m)["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        assert!(sc["capabilities"].get("add").is_none());
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        // A writable /tmp on the read-only root filesystem; only emptyDir volumes.
        let mounts = container(&m)["volumeMounts"].as_array().unwrap();
        assert!(mounts.iter().any(|v| v["name"] == "tmp" && v["mountPath"] == "/tmp"));
        for v in pod["volumes"].as_array().unwrap() {
            assert!(v.get("emptyDir").is_some(), "volume {v} is not an emptyDir");
        }
    }
}

#[test]
fn manifest_labels_match_the_network_policies() {
    let m = job_manifest(&job(training()), &attempt(1), &KubeConfig::default());
    let policies = std::fs::read_to_string(repo().join("infrastructure/kubernetes/base/networkpolicies/platform.yaml"))
        .expect("the base NetworkPolicies");
    // mlp-job-egress and mlp-backend-ingress select job pods by this label.
    assert!(policies.contains("app.kubernetes.io/name: mlp-job\n"));
    for labels in [&m["metadata"]["labels"], &m["spec"]["template"]["metadata"]["labels"]] {
        assert_eq!(labels["app.kubernetes.io/name"], WORKLOAD_NAME);
        assert_eq!(labels["app.kubernetes.io/part-of"], "ml-platform");
        assert_eq!(labels["mlp.dev/job-id"], JOB_ID);
        assert_eq!(labels["mlp.dev/kind"], "training");
        assert_eq!(labels["mlp.dev/attempt"], "1");
        for (k, v) in labels.as_object().unwrap() {
            let v = v.as_str().expect("label values are strings");
            assert!(v.len() <= 63, "label {k}={v} too long");
        }
    }
    // User labels are annotations: they must not make pods match other policies.
    let ann = &m["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(ann["mlp.dev/labels"], r#"{"team":"vision"}"#);
    assert!(m["spec"]["template"]["metadata"]["labels"].get("team").is_none());
}

fn tolerations(m: &Value) -> Vec<(String, String)> {
    pod_spec(m)["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["effect"], "NoSchedule");
            assert_eq!(t["operator"], "Equal");
            (
                t["key"].as_str().unwrap().to_string(),
                t["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn tol(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[test]
fn manifest_places_each_kind_on_its_node_group() {
    let cfg = KubeConfig::default();
    // Training (node group "compute"): the training nodes of Terraform/Kind.
    let m = job_manifest(&job(training()), &attempt(1), &cfg);
    assert_eq!(
        pod_spec(&m)["nodeSelector"],
        json!({"ml-platform/workload-type": "training"})
    );
    assert_eq!(tolerations(&m), vec![tol("ml-platform/workload", "training")]);
    // GPU training: also tolerates the GPU taint of the compute group / GPU pool.
    let m = job_manifest(&job(gpu_training()), &attempt(1), &cfg);
    assert_eq!(job(gpu_training()).spec.node_group(), "gpu");
    assert_eq!(
        pod_spec(&m)["nodeSelector"],
        json!({"ml-platform/workload-type": "training"})
    );
    assert_eq!(
        tolerations(&m),
        vec![tol("ml-platform/workload", "training"), tol("nvidia.com/gpu", "true")]
    );
    // Data processing: the data nodes.
    let m = job_manifest(&job(data(1)), &attempt(1), &cfg);
    assert_eq!(
        pod_spec(&m)["nodeSelector"],
        json!({"ml-platform/workload-type": "data-processing"})
    );
    assert_eq!(tolerations(&m), vec![tol("ml-platform/workload", "data-processing")]);
    assert_eq!(container(&m)["image"], cfg.data_processing_image);
    // An explicit group the config does not know: selected by its node-group label.
    let m = job_manifest(
        &job(JobSpec {
            node_group: Some("karpenter-training".into()),
            ..training()
        }),
        &attempt(1),
        &cfg,
    );
    assert_eq!(
        pod_spec(&m)["nodeSelector"],
        json!({"ml-platform/node-group": "karpenter-training"})
    );
    assert_eq!(pod_spec(&m)["tolerations"], json!([]));
    // A GPU request on a CPU group still tolerates the GPU taint.
    let m = job_manifest(
        &job(JobSpec {
            node_group: Some("compute".into()),
            ..gpu_training()
        }),
        &attempt(1),
        &cfg,
    );
    assert!(tolerations(&m).contains(&tol("nvidia.com/gpu", "true")));
}

#[test]
fn default_node_groups_match_terraform_and_kind() {
    let env_config =
        std::fs::read_to_string(repo().join("infrastructure/terraform/modules/env-config/main.tf")).unwrap();
    assert!(env_config.contains(r#"workload_label = "ml-platform/workload-type""#));
    assert!(
        env_config.contains(
            r#"training_taint = { key = "ml-platform/workload", value = "training", effect = "NoSchedule" }"#
        )
    );
    assert!(env_config.contains(
        r#"data_taint     = { key = "ml-platform/workload", value = "data-processing", effect = "NoSchedule" }"#
    ));
    assert!(
        env_config.contains(r#"gpu_taint      = { key = "nvidia.com/gpu", value = "true", effect = "NoSchedule" }"#)
    );
    let kind = std::fs::read_to_string(repo().join("infrastructure/kubernetes/kind/cluster.yaml")).unwrap();
    assert!(kind.contains("ml-platform/workload-type: training"));
    assert!(kind.contains("ml-platform/workload-type: data-processing"));
    let groups = default_node_groups();
    for name in ["compute", "gpu", "data"] {
        assert!(groups.contains_key(name), "no default for node group {name}");
    }
}

#[test]
fn manifest_resources_are_requests_and_limits() {
    let m = job_manifest(&job(training()), &attempt(1), &KubeConfig::default());
    let r = &container(&m)["resources"];
    assert_eq!(r["requests"], json!({"cpu": "500m", "memory": "1Gi"}));
    assert_eq!(r["limits"], json!({"cpu": "500m", "memory": "1Gi"}));
    let m = job_manifest(&job(gpu_training()), &attempt(1), &KubeConfig::default());
    let r = &container(&m)["resources"];
    assert_eq!(
        r["requests"],
        json!({"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "2"})
    );
    assert_eq!(
        r["limits"],
        json!({"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "2"})
    );
    // Nothing asked: the defaults of the base PodTemplates.
    let m = job_manifest(&job(data(1)), &attempt(1), &KubeConfig::default());
    let r = &container(&m)["resources"];
    assert_eq!(r["requests"], json!({"cpu": "1", "memory": "2Gi"}));
    assert_eq!(r["limits"], json!({"cpu": "2", "memory": "4Gi"}));
    assert_eq!(cpu_quantity(0.25), "250m");
    assert_eq!(cpu_quantity(1.5), "1500m");
    assert_eq!(cpu_quantity(8.0), "8");
}

#[test]
fn sharded_data_processing_is_an_indexed_job() {
    let cfg = KubeConfig {
        max_parallelism: 4,
        ..KubeConfig::default()
    };
    let m = job_manifest(&job(data(6)), &attempt(1), &cfg);
    assert_eq!(m["spec"]["completionMode"], "Indexed");
    assert_eq!(m["spec"]["completions"], 6);
    assert_eq!(m["spec"]["parallelism"], 4);
    let env = env_of(&m);
    assert_eq!(env["MLP_SHARD_COUNT"], "6");
    assert_eq!(
        env["MLP_SHARD_INDEX"],
        json!({"fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}})
    );
    let m = job_manifest(&job(data(3)), &attempt(1), &cfg);
    assert_eq!(m["spec"]["parallelism"], 3);
    // One shard: a plain Job.
    let m = job_manifest(&job(data(1)), &attempt(1), &cfg);
    assert!(m["spec"].get("completionMode").is_none());
    assert_eq!(env_of(&m)["MLP_SHARD_INDEX"], "0");
    assert_eq!(env_of(&m)["MLP_SHARD_COUNT"], "1");
}

#[test]
fn manifest_names_are_short_dns_labels() {
    let long = "a".repeat(63);
    for (name, n) in [
        ("train-iris", 1),
        (long.as_str(), 1),
        (long.as_str(), 4_000_000_000),
        ("x", 10),
    ] {
        let j = job(JobSpec {
            name: name.into(),
            ..training()
        });
        let m = job_manifest(&j, &attempt(n), &KubeConfig::default());
        let got = m["metadata"]["name"].as_str().unwrap();
        assert!(is_dns_label(got), "{got} is not a DNS-1123 label");
        assert!(got.ends_with(&format!("-33445566-a{n}")), "{got}");
    }
    // Jobs submitted in the same second (UUIDv7 share their start) get different names.
    let mut a = job(training());
    let mut b = job(training());
    a.job_id = "j-0190f3a2b4c57d8e9f0011223344aaaa".into();
    b.job_id = "j-0190f3a2b4c57d8e9f0011223344bbbb".into();
    assert_ne!(job_name(&a, 1), job_name(&b, 1));
    // The truncated name does not end with '-'.
    let j = job(JobSpec {
        name: format!("{}-b", "a".repeat(43)),
        ..training()
    });
    assert!(is_dns_label(&job_name(&j, 1)));
}

#[test]
fn manifest_env_carries_the_run_and_the_platform_wins() {
    let j = job(JobSpec {
        env: [
            ("LEARNING_RATE".to_string(), "0.1".to_string()),
            ("MLFLOW_RUN_ID".to_string(), "user-tries-to-override".to_string()),
        ]
        .into(),
        ..training()
    });
    let m = job_manifest(&j, &attempt(2), &KubeConfig::default());
    let env = env_of(&m);
    assert_eq!(env["MLFLOW_RUN_ID"], "0a1b2c3d4e5f");
    assert_eq!(env["MLFLOW_EXPERIMENT_ID"], "1");
    assert_eq!(env["MLP_JOB_ID"], JOB_ID);
    assert_eq!(env["MLP_JOB_ATTEMPT"], "2");
    assert_eq!(env["LEARNING_RATE"], "0.1");
    assert_eq!(env["MLP_SHARD_INDEX"], "0");
    assert_eq!(env["HOME"], "/tmp");
    // Pods reach the tracking server through its Service, not the worker's loopback.
    assert_eq!(
        env["MLFLOW_TRACKING_URI"],
        "http://mlp-backend.ml-platform.svc.cluster.local:8000"
    );
    let cfg = KubeConfig {
        tracking_uri: None,
        ..KubeConfig::default()
    };
    assert_eq!(
        env_of(&job_manifest(&j, &attempt(2), &cfg))["MLFLOW_TRACKING_URI"],
        "http://127.0.0.1:8000"
    );
    // No duplicates.
    assert_eq!(env.len(), container(&m)["env"].as_array().unwrap().len());
}

/// The Job carries the spec's and the platform's variables and nothing of the worker's own
/// environment (which holds the platform's secrets): not copied, not referenced.
#[test]
fn manifest_copies_nothing_of_the_workers_environment() {
    let j = job(JobSpec {
        env: [("LEARNING_RATE".to_string(), "0.1".to_string())].into(),
        ..training()
    });
    let platform = [
        "HOME",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_RUN_ID",
        "MLFLOW_TRACKING_URI",
        "MLP_JOB_ATTEMPT",
        "MLP_JOB_ID",
        "MLP_SHARD_COUNT",
        "MLP_SHARD_INDEX",
    ];
    for (m, extra) in [
        (
            job_manifest(&j, &attempt(1), &KubeConfig::default()),
            // Not an Indexed Job: the platform sets JOB_COMPLETION_INDEX (the controller does in one).
            vec!["JOB_COMPLETION_INDEX", "LEARNING_RATE"],
        ),
        (job_manifest(&job(data(4)), &attempt(1), &KubeConfig::default()), vec![]),
    ] {
        let c = container(&m);
        assert!(c.get("envFrom").is_none(), "{c}");
        let names: Vec<String> = env_of(&m).into_keys().collect();
        let mut want: Vec<&str> = platform.iter().copied().chain(extra).collect();
        want.sort();
        assert_eq!(names, want);
        // No variable of this process's environment (PATH at least) is in the Job by name, and
        // PATH not by value either (the image's own PATH applies).
        let text = m.to_string();
        for (k, _) in std::env::vars() {
            assert!(
                names.contains(&k) || !text.contains(&format!("\"{k}\"")),
                "{k} copied into the Job"
            );
        }
        let path = std::env::var("PATH").unwrap();
        assert!(!text.contains(&path), "the worker's PATH copied into the Job");
    }
}

#[test]
fn kube_config_deserializes_with_defaults() {
    let cfg: KubeConfig = serde_json::from_value(json!({
        "namespace": "jobs",
        "node_groups": {"compute": {"node_selector": {"pool": "cpu"}, "tolerations": [
            {"key": "ml-platform/workload", "value": "training", "effect": "NoSchedule"}]}}
    }))
    .unwrap();
    assert_eq!(cfg.namespace, "jobs");
    assert_eq!(cfg.service_account, "mlp-job");
    assert_eq!(cfg.node_group("compute").tolerations[0].operator, "Equal");
    assert_eq!(cfg.node_group("compute").node_selector["pool"], "cpu");
}

/// The specs whose manifests are kept as golden files and validated by the infra suite.
fn golden_cases() -> Vec<(&'static str, Value)> {
    let cfg = KubeConfig::default();
    vec![
        ("training", job_manifest(&job(training()), &attempt(1), &cfg)),
        ("training-gpu", job_manifest(&job(gpu_training()), &attempt(2), &cfg)),
        ("data-processing", job_manifest(&job(data(1)), &attempt(1), &cfg)),
        (
            "data-processing-sharded",
            job_manifest(&job(data(16)), &attempt(1), &cfg),
        ),
        ("training-distributed", distributed_golden().job),
    ]
}

/// A distributed attempt on a server with auth on: the Job and the objects it owns.
fn distributed_golden() -> AttemptObjects {
    let mut a = attempt(1);
    a.env
        .insert("MLFLOW_TRACKING_TOKEN".into(), "test-token-of-the-job".into());
    a.rank_runs.insert(
        1,
        RankRun {
            run_id: "1b2c3d4e5f60".into(),
            token: Some("test-token-of-rank-1".into()),
        },
    );
    attempt_objects(&job(distributed(2, 1)), &a, &KubeConfig::default())
}

/// The Secret, Service and NetworkPolicy of `training-distributed`, validated by the infra suite
/// beside the Jobs (`attempt-objects/`).
fn golden_dependents() -> Vec<(&'static str, Value)> {
    let o = distributed_golden();
    vec![
        ("training-distributed-secret", o.secret.unwrap()),
        ("training-distributed-service", o.service.unwrap()),
        ("training-distributed-networkpolicy", o.network_policy.unwrap()),
    ]
}

fn golden_dir() -> PathBuf {
    repo().join("tests/infra/kubernetes/fixtures/job-manifests")
}

#[test]
fn manifests_match_the_golden_files() {
    let dir = golden_dir();
    let update = std::env::var_os("MLP_UPDATE_JOB_MANIFESTS").is_some();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let cases = golden_cases().into_iter().map(|(n, m)| (format!("{n}.json"), m)).chain(
        golden_dependents()
            .into_iter()
            .map(|(n, m)| (format!("attempt-objects/{n}.json"), m)),
    );
    if update {
        std::fs::create_dir_all(dir.join("attempt-objects")).unwrap();
    }
    for (name, m) in cases {
        let path = dir.join(&name);
        if update {
            std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap() + "\n").unwrap();
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with MLP_UPDATE_JOB_MANIFESTS=1 cargo nextest run -p mlp-jobs --test kubernetes",
                path.display()
            )
        });
        let golden: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            golden,
            m,
            "{} is out of date; regenerate with MLP_UPDATE_JOB_MANIFESTS=1 cargo nextest run -p mlp-jobs --test kubernetes",
            path.display()
        );
    }
}

/// Strict schema validation with the infra suite's kubernetes-validate when its virtualenv
/// exists (tests/infra/kubernetes/run.sh creates it); the infra suite validates the same golden
/// files in any case (test_job_manifests.py).
#[test]
fn manifests_validate_against_the_kubernetes_schema() {
    let venv = std::env::var_os("INFRA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv-infra"));
    let tool = venv.join("bin/kubernetes-validate");
    if !tool.is_file() {
        eprintln!(
            "skipped: {} not found (created by tests/infra/kubernetes/run.sh, whose test_job_manifests.py validates the same manifests)",
            tool.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, m) in golden_cases() {
        let p = dir.path().join(format!("{name}.json"));
        std::fs::write(&p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        files.push(p);
    }
    let version = std::env::var("K8S_VERSION").unwrap_or_else(|_| "1.32.0".into());
    let out = std::process::Command::new(&tool)
        .args(["--strict", "--no-warn", "-k", &version])
        .args(&files)
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubernetes-validate failed:\n{text}");
    assert_eq!(text.matches(" passed for resource job/").count(), files.len(), "{text}");
    assert!(!text.contains("ERROR"), "{text}");

    // The check can fail: an unknown field is refused in strict mode.
    let mut bad = golden_cases().remove(0).1;
    bad["spec"]["template"]["spec"]["containers"][0]["securityContex"] = json!({});
    let p = dir.path().join("bad.json");
    std::fs::write(&p, serde_json::to_vec(&bad).unwrap()).unwrap();
    let out = std::process::Command::new(&tool)
        .args(["--strict", "--no-warn", "-k", &version])
        .arg(&p)
        .output()
        .expect("run kubernetes-validate");
    assert!(!out.status.success(), "kubernetes-validate accepted an unknown field");
}

// ---------------------------------------------------------------------------------------------
// A mock Kubernetes API server
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Req {
    method: Method,
    path: String,
    query: String,
    body: Value,
    auth: Option<String>,
}

#[derive(Clone, Copy)]
enum End {
    Complete,
    /// Failed with this Job condition reason: the pod of this index exited with this code, the
    /// Job controller killed the others (deleted, 143).
    Failed(&'static str, u64, i32),
    /// The node went away under pod 0 (a spot interruption).
    Disrupted,
    Never,
}

struct Mock {
    requests: Mutex<Vec<Req>>,
    jobs: Mutex<BTreeMap<String, Value>>,
    pods: Mutex<Vec<Value>>,
    job_gets: AtomicUsize,
    end: End,
    /// The Job ends at this GET.
    end_after_gets: usize,
    /// Every request answers this status.
    fail_all: Option<u16>,
    /// GETs of the Job with these numbers answer 503.
    job_get_503: std::ops::Range<usize>,
    /// The job container of every pod waits with this reason.
    pod_waiting: Option<&'static str>,
    /// Requests without this Authorization header answer 401.
    required_auth: Mutex<Option<String>>,
    /// Secrets, Services and NetworkPolicies by (collection, name).
    objects: Mutex<BTreeMap<(String, String), Value>>,
    /// Pods with an index at or above this stay Pending, unschedulable.
    schedulable: usize,
}

impl Mock {
    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
    fn find(&self, method: Method, path_suffix: &str) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(path_suffix))
            .collect()
    }
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(code).unwrap(),
        axum::Json(json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": reason, "message": message, "code": code})),
    )
        .into_response()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn selector_matches(selector: &str, labels: &Value) -> bool {
    selector.split(',').all(|term| match term.split_once('=') {
        Some((k, v)) => labels[k] == v,
        None => false,
    })
}

fn spawn_pods(mock: &Mock, job: &Value) {
    let mut pods = make_pods(job);
    for (i, p) in pods.iter_mut().enumerate() {
        if i >= mock.schedulable {
            p["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]});
        }
    }
    if let Some(reason) = mock.pod_waiting {
        for p in &mut pods {
            p["status"] = json!({"phase": "Pending", "containerStatuses": [{"name": "job",
                "state": {"waiting": {"reason": reason, "message": "couldn't parse image name"}}}]});
        }
    }
    mock.pods.lock().unwrap().extend(pods);
}

fn make_pods(job: &Value) -> Vec<Value> {
    let name = job["metadata"]["name"].as_str().unwrap();
    let indexed = job["spec"]["completionMode"] == "Indexed";
    let n = job["spec"]["completions"].as_u64().unwrap_or(1);
    (0..n)
        .map(|i| {
            let mut annotations = json!({});
            if indexed {
                annotations[COMPLETION_INDEX_ANNOTATION] = json!(i.to_string());
            }
            json!({
                "metadata": {"name": format!("{name}-{i}-x7k2p"), "labels": {"job-name": name},
                    "annotations": annotations, "creationTimestamp": "2026-11-25T19:00:00Z"},
                "status": {"phase": "Running", "containerStatuses": [{"name": "job", "state": {"running": {}}}]}
            })
        })
        .collect()
}

async fn handle(State(mock): State<Arc<Mock>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    mock.requests.lock().unwrap().push(Req {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        auth: headers.get("authorization").map(|v| v.to_str().unwrap().to_string()),
    });
    let required = mock.required_auth.lock().unwrap().clone();
    if let Some(required) = required
        && headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(required.as_str())
    {
        return status(401, "Unauthorized", "Unauthorized");
    }
    if let Some(code) = mock.fail_all {
        return status(code, "ServiceUnavailable", "the API server is unavailable");
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.clone(), segs.as_slice()) {
        (Method::POST, ["apis", "batch", "v1", "namespaces", _ns, "jobs"]) => {
            let mut job: Value = serde_json::from_slice(&body).unwrap();
            let name = job["metadata"]["name"].as_str().unwrap().to_string();
            let mut jobs = mock.jobs.lock().unwrap();
            if jobs.contains_key(&name) {
                return status(409, "AlreadyExists", &format!("jobs.batch \"{name}\" already exists"));
            }
            job["status"] = json!({});
            job["metadata"]["uid"] = json!(format!("uid-{name}"));
            // A suspended Job has no pods until it is resumed.
            if job["spec"]["suspend"] != true {
                spawn_pods(&mock, &job);
            }
            jobs.insert(name, job.clone());
            (StatusCode::CREATED, axum::Json(job)).into_response()
        }
        (Method::GET, ["apis", "batch", "v1", "namespaces", _ns, "jobs"]) => {
            let sel = query_param(&query, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = mock
                .jobs
                .lock()
                .unwrap()
                .values()
                .filter(|j| selector_matches(&sel, &j["metadata"]["labels"]))
                .cloned()
                .collect();
            axum::Json(json!({"kind": "JobList", "items": items})).into_response()
        }
        (Method::GET, ["apis", "batch", "v1", "namespaces", _ns, "jobs", name]) => {
            let n = mock.job_gets.fetch_add(1, Ordering::SeqCst) + 1;
            if mock.job_get_503.contains(&n) {
                return status(503, "ServiceUnavailable", "etcd leader changed");
            }
            let mut jobs = mock.jobs.lock().unwrap();
            let Some(job) = jobs.get_mut(*name) else {
                return status(404, "NotFound", &format!("jobs.batch \"{name}\" not found"));
            };
            if n >= mock.end_after_gets && job["status"]["conditions"].is_null() {
                let mut pods = mock.pods.lock().unwrap();
                let mine = pods.iter_mut().filter(|p| p["metadata"]["labels"]["job-name"] == *name);
                match mock.end {
                    End::Complete => {
                        job["status"] = json!({"succeeded": 1, "conditions": [
                            {"type": "SuccessCriteriaMet", "status": "True"},
                            {"type": "Complete", "status": "True"}]});
                        for p in mine {
                            p["status"] = json!({"phase": "Succeeded", "containerStatuses": [
                                {"name": "job", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]});
                        }
                    }
                    End::Failed(reason, index, code) => {
                        job["status"] = json!({"failed": 1, "conditions": [
                            {"type": "FailureTarget", "status": "True", "reason": reason},
                            {"type": "Failed", "status": "True", "reason": reason, "message": "Job has reached the specified backoff limit"}]});
                        for p in mine {
                            if pod_index_of(p) == index {
                                p["status"] = json!({"phase": "Failed", "containerStatuses": [
                                    {"name": "job", "state": {"terminated": {"exitCode": code, "reason": "Error",
                                        "finishedAt": "2026-11-25T19:00:05Z"}}}]});
                            } else {
                                p["metadata"]["deletionTimestamp"] = json!("2026-11-25T19:00:06Z");
                                p["status"] = json!({"phase": "Failed", "containerStatuses": [
                                    {"name": "job", "state": {"terminated": {"exitCode": 143, "reason": "Error",
                                        "finishedAt": "2026-11-25T19:00:01Z"}}}]});
                            }
                        }
                    }
                    End::Disrupted => {
                        job["status"] = json!({"failed": 1, "conditions": [
                            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]});
                        for p in mine {
                            p["status"] = json!({"phase": "Failed",
                                "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet"}],
                                "containerStatuses": [{"name": "job", "state": {"terminated": {"exitCode": 143, "reason": "Error"}}}]});
                        }
                    }
                    End::Never => {}
                }
            }
            axum::Json(job.clone()).into_response()
        }
        (Method::PATCH, ["apis", "batch", "v1", "namespaces", _ns, "jobs", name]) => {
            let patch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut jobs = mock.jobs.lock().unwrap();
            match jobs.get_mut(*name) {
                Some(job) => {
                    if let Some(s) = patch["spec"]["suspend"].as_bool() {
                        if job["spec"]["suspend"] == true && !s {
                            spawn_pods(&mock, job);
                        }
                        job["spec"]["suspend"] = json!(s);
                    }
                    axum::Json(job.clone()).into_response()
                }
                None => status(404, "NotFound", "not found"),
            }
        }
        (Method::POST, ["api", "v1", "namespaces", _ns, collection @ ("secrets" | "services")])
        | (
            Method::POST,
            [
                "apis",
                "networking.k8s.io",
                "v1",
                "namespaces",
                _ns,
                collection @ "networkpolicies",
            ],
        ) => {
            let obj: Value = serde_json::from_slice(&body).unwrap();
            let key = (
                collection.to_string(),
                obj["metadata"]["name"].as_str().unwrap().to_string(),
            );
            let mut objects = mock.objects.lock().unwrap();
            if objects.contains_key(&key) {
                return status(409, "AlreadyExists", "already exists");
            }
            objects.insert(key, obj.clone());
            (StatusCode::CREATED, axum::Json(obj)).into_response()
        }
        (
            Method::DELETE,
            [
                "api",
                "v1",
                "namespaces",
                _ns,
                collection @ ("secrets" | "services"),
                name,
            ],
        )
        | (
            Method::DELETE,
            [
                "apis",
                "networking.k8s.io",
                "v1",
                "namespaces",
                _ns,
                collection @ "networkpolicies",
                name,
            ],
        ) => {
            match mock
                .objects
                .lock()
                .unwrap()
                .remove(&(collection.to_string(), name.to_string()))
            {
                Some(_) => axum::Json(json!({"kind": "Status", "status": "Success"})).into_response(),
                None => status(404, "NotFound", "not found"),
            }
        }
        (Method::DELETE, ["apis", "batch", "v1", "namespaces", _ns, "jobs", name]) => {
            match mock.jobs.lock().unwrap().remove(*name) {
                Some(_) => axum::Json(json!({"kind": "Status", "status": "Success"})).into_response(),
                None => status(404, "NotFound", "not found"),
            }
        }
        (Method::GET, ["api", "v1", "namespaces", _ns, "pods"]) => {
            let sel = query_param(&query, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = mock
                .pods
                .lock()
                .unwrap()
                .iter()
                .filter(|p| selector_matches(&sel, &p["metadata"]["labels"]))
                .cloned()
                .collect();
            axum::Json(json!({"kind": "PodList", "items": items})).into_response()
        }
        (Method::GET, ["api", "v1", "namespaces", _ns, "pods", pod, "log"]) => {
            let pods = mock.pods.lock().unwrap();
            match pods.iter().find(|p| p["metadata"]["name"] == *pod) {
                Some(p) => format!("log of shard {}\nepoch 1 loss 0.5\n", pod_index_of(p)).into_response(),
                None => status(404, "NotFound", "pod not found"),
            }
        }
        _ => status(404, "NotFound", &format!("mock: no route for {method} {path}")),
    }
}

fn pod_index_of(p: &Value) -> u64 {
    p["metadata"]["annotations"][COMPLETION_INDEX_ANNOTATION]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

struct Cluster {
    mock: Arc<Mock>,
    url: String,
    artifacts_dir: tempfile::TempDir,
    artifacts: Arc<dyn ArtifactStore>,
}

async fn cluster(end: End, end_after_gets: usize, fail_all: Option<u16>) -> Cluster {
    cluster_with(end, end_after_gets, fail_all, |_| {}).await
}

async fn cluster_with(
    end: End,
    end_after_gets: usize,
    fail_all: Option<u16>,
    tweak: impl FnOnce(&mut Mock),
) -> Cluster {
    let mut mock = Mock {
        requests: Mutex::new(Vec::new()),
        jobs: Mutex::new(BTreeMap::new()),
        pods: Mutex::new(Vec::new()),
        job_gets: AtomicUsize::new(0),
        end,
        end_after_gets,
        fail_all,
        job_get_503: 0..0,
        pod_waiting: None,
        required_auth: Mutex::new(None),
        objects: Mutex::new(BTreeMap::new()),
        schedulable: usize::MAX,
    };
    tweak(&mut mock);
    let mock = Arc::new(mock);
    let app = axum::Router::new().fallback(handle).with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let artifacts_dir = tempfile::tempdir().unwrap();
    let artifacts: Arc<dyn ArtifactStore> = Arc::new(LocalArtifactStore::new(artifacts_dir.path()).unwrap());
    Cluster {
        mock,
        url,
        artifacts_dir,
        artifacts,
    }
}

fn fast() -> KubeTimings {
    KubeTimings {
        poll: Duration::from_millis(20),
        log_flush: Duration::from_millis(50),
        request_timeout: Duration::from_secs(5),
        api_retries: 2,
        retry_backoff: Duration::from_millis(10),
        start_grace: Duration::from_secs(60),
        token_refresh: Duration::from_secs(60),
        api_outage: Duration::from_millis(300),
    }
}

impl Cluster {
    fn executor(&self) -> KubernetesExecutor {
        KubernetesExecutor::with_endpoint(
            &self.url,
            Some("test-token".into()),
            KubeConfig::default(),
            fast(),
            self.artifacts.clone(),
        )
        .unwrap()
    }
    fn log(&self, path: &str) -> String {
        std::fs::read_to_string(self.artifacts_dir.path().join(path))
            .unwrap_or_else(|e| panic!("no log at {path}: {e}"))
    }
}

const JOBS: &str = "/apis/batch/v1/namespaces/ml-platform/jobs";

#[tokio::test]
async fn executor_runs_a_job_to_success_and_copies_its_log() {
    let c = cluster(End::Complete, 3, None).await;
    let exec = c.executor();
    let a = attempt(1);
    let out = exec.run(&job(training()), &a, CancellationToken::new()).await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    assert_eq!(out.exit_code, Some(0));

    let posts = c.mock.find(Method::POST, JOBS);
    assert_eq!(posts.len(), 1);
    let body = &posts[0].body;
    assert_eq!(body["metadata"]["name"], "train-iris-33445566-a1");
    assert_eq!(body["spec"]["backoffLimit"], 0);
    assert_eq!(
        body["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"],
        "mlp-job"
    );
    assert_eq!(posts[0].auth.as_deref(), Some("Bearer test-token"));
    // Earlier attempts were looked for by the job-id label.
    let lists = c.mock.find(Method::GET, JOBS);
    assert_eq!(
        query_param(&lists[0].query, "labelSelector").as_deref(),
        Some(format!("mlp.dev/job-id={JOB_ID}").as_str())
    );
    // Followed by GET until Complete; pods listed by job-name; log read from the job container.
    assert!(
        c.mock
            .find(Method::GET, &format!("{JOBS}/train-iris-33445566-a1"))
            .len()
            >= 3
    );
    let pods = c.mock.find(Method::GET, "/api/v1/namespaces/ml-platform/pods");
    assert_eq!(
        query_param(&pods[0].query, "labelSelector").as_deref(),
        Some("job-name=train-iris-33445566-a1")
    );
    let logs = c.mock.find(Method::GET, "/log");
    assert!(logs.iter().all(|r| r.query == "container=job"));
    assert!(c.mock.find(Method::DELETE, "").is_empty());
    assert_eq!(
        c.log(&format!("{}/stdout.log", a.log_prefix)),
        "log of shard 0\nepoch 1 loss 0.5\n"
    );
}

#[tokio::test]
async fn executor_reports_the_exit_code_of_a_failed_pod() {
    let c = cluster(End::Failed("BackoffLimitExceeded", 0, 3), 2, None).await;
    let out = c
        .executor()
        .run(&job(training()), &attempt(1), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Failed);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.reason.as_deref(), Some("exited with 3"));
    assert!(
        c.log("1/0a1b2c3d4e5f/artifacts/logs/attempt-1/stdout.log")
            .contains("epoch 1")
    );
}

#[tokio::test]
async fn executor_maps_deadline_exceeded_to_timed_out() {
    let c = cluster(End::Failed("DeadlineExceeded", 0, 137), 2, None).await;
    let out = c
        .executor()
        .run(&job(training()), &attempt(1), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Failed);
    assert_eq!(out.exit_code, None);
    assert_eq!(out.reason.as_deref(), Some("timed out after 600s"));
}

#[tokio::test]
async fn executor_cancels_by_deleting_the_job() {
    let c = cluster(End::Never, usize::MAX, None).await;
    let exec = c.executor();
    let cancel = CancellationToken::new();
    let j = job(training());
    let a = attempt(1);
    let run = exec.run(&j, &a, cancel.clone());
    let canceller = async {
        // Cancel once the Job is being followed.
        while c.mock.job_gets.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel.cancel();
    };
    let (out, ()) = tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(run, canceller) })
        .await
        .expect("the executor stops on cancel");
    assert_eq!(out.state, JobState::Cancelled);
    let deletes = c.mock.find(Method::DELETE, &format!("{JOBS}/train-iris-33445566-a1"));
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        query_param(&deletes[0].query, "propagationPolicy").as_deref(),
        Some("Background")
    );
    assert!(c.mock.jobs.lock().unwrap().is_empty());
    // The log read before the pods go is kept.
    assert!(
        c.log(&format!("{}/stdout.log", a.log_prefix))
            .contains("log of shard 0")
    );
}

#[tokio::test]
async fn executor_adopts_the_job_of_the_same_attempt() {
    let c = cluster(End::Complete, 2, None).await;
    let j = job(training());
    let a = attempt(1);
    // A previous try of this attempt created the Job (then its worker lost the answer).
    let existing = job_manifest(&j, &a, &KubeConfig::default());
    c.mock.pods.lock().unwrap().extend(make_pods(&existing));
    c.mock
        .jobs
        .lock()
        .unwrap()
        .insert("train-iris-33445566-a1".into(), existing);
    let out = c.executor().run(&j, &a, CancellationToken::new()).await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    assert_eq!(c.mock.find(Method::POST, JOBS).len(), 1);
    assert!(
        c.mock.find(Method::DELETE, "").is_empty(),
        "the adopted Job must not be deleted"
    );
    assert_eq!(c.mock.jobs.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn executor_refuses_to_adopt_a_job_of_another_attempt() {
    let c = cluster(End::Complete, 2, None).await;
    let j = job(training());
    let mut other = job_manifest(&j, &attempt(1), &KubeConfig::default());
    other["metadata"]["labels"]["mlp.dev/job-id"] = json!("j-someone-else");
    c.mock
        .jobs
        .lock()
        .unwrap()
        .insert("train-iris-33445566-a1".into(), other);
    let out = c.executor().run(&j, &attempt(1), CancellationToken::new()).await;
    assert_eq!(out.state, JobState::Failed);
    assert!(out.reason.unwrap().starts_with("infrastructure:"));
}

#[tokio::test]
async fn executor_adopts_the_running_job_of_an_earlier_attempt_and_deletes_older_ones() {
    let c = cluster(End::Complete, 2, None).await;
    let j = job(training());
    // Attempts 1 and 2 had workers that went away; both Jobs still run. Attempt 2's goes on,
    // attempt 1's must not run beside it.
    for n in [1, 2] {
        let m = job_manifest(&j, &attempt(n), &KubeConfig::default());
        c.mock.pods.lock().unwrap().extend(make_pods(&m));
        c.mock
            .jobs
            .lock()
            .unwrap()
            .insert(format!("train-iris-33445566-a{n}"), m);
    }
    let out = c.executor().run(&j, &attempt(3), CancellationToken::new()).await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    assert!(c.mock.find(Method::POST, JOBS).is_empty(), "no new Job for attempt 3");
    assert_eq!(
        c.mock
            .find(Method::DELETE, &format!("{JOBS}/train-iris-33445566-a1"))
            .len(),
        1
    );
    assert!(
        c.mock
            .find(Method::DELETE, &format!("{JOBS}/train-iris-33445566-a2"))
            .is_empty()
    );
}

#[tokio::test]
async fn executor_detaches_without_deleting_the_job() {
    let c = cluster(End::Never, usize::MAX, None).await;
    let exec = c.executor();
    let (cancel, detach) = (CancellationToken::new(), CancellationToken::new());
    let j = job(training());
    let a = attempt(1);
    let run = exec.run_detachable(&j, &a, cancel.clone(), detach.clone());
    let detacher = async {
        while c.mock.job_gets.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        detach.cancel();
    };
    let (out, ()) = tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(run, detacher) })
        .await
        .expect("the executor returns on detach");
    assert_eq!(out.state, JobState::Cancelled);
    assert!(out.reason.as_deref().unwrap_or("").starts_with("detached"), "{out:?}");
    assert!(
        c.mock
            .find(Method::DELETE, &format!("{JOBS}/train-iris-33445566-a1"))
            .is_empty()
    );
    assert!(c.mock.jobs.lock().unwrap().contains_key("train-iris-33445566-a1"));
    // The logs read so far are kept.
    assert!(
        c.log(&format!("{}/stdout.log", a.log_prefix))
            .contains("log of shard 0")
    );
}

#[tokio::test]
async fn executor_treats_api_errors_as_infrastructure_failures() {
    let c = cluster(End::Complete, 1, Some(503)).await;
    let out = c
        .executor()
        .run(&job(training()), &attempt(1), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Failed);
    let reason = out.reason.unwrap();
    assert!(reason.starts_with("infrastructure:"), "{reason}");
    assert!(reason.contains("503"), "{reason}");
    // The create was tried again (api_retries = 2) before giving up.
    assert_eq!(c.mock.find(Method::POST, JOBS).len(), 3);

    // Nothing listening: connection refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let exec = KubernetesExecutor::with_endpoint(
        &format!("http://127.0.0.1:{port}"),
        None,
        KubeConfig::default(),
        fast(),
        c.artifacts.clone(),
    )
    .unwrap();
    let out = exec.run(&job(training()), &attempt(1), CancellationToken::new()).await;
    assert_eq!(out.state, JobState::Failed);
    assert!(out.reason.unwrap().starts_with("infrastructure:"));
}

#[tokio::test]
async fn executor_runs_shards_as_an_indexed_job_with_a_log_per_shard() {
    let c = cluster(End::Complete, 3, None).await;
    let a = attempt(1);
    let out = c.executor().run(&job(data(3)), &a, CancellationToken::new()).await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    let body = &c.mock.find(Method::POST, JOBS)[0].body;
    assert_eq!(body["spec"]["completionMode"], "Indexed");
    assert_eq!(body["spec"]["completions"], 3);
    assert_eq!(body["spec"]["parallelism"], 3);
    for i in 0..3 {
        assert_eq!(
            c.log(&format!("{}/shard-{i}/stdout.log", a.log_prefix)),
            format!("log of shard {i}\nepoch 1 loss 0.5\n")
        );
    }
}

#[tokio::test]
async fn executor_reports_the_failed_shard() {
    // Shard 2 failed; the Job controller then killed shards 0 and 1 (143, deleted).
    let c = cluster(End::Failed("BackoffLimitExceeded", 2, 2), 2, None).await;
    let out = c
        .executor()
        .run(&job(data(3)), &attempt(1), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Failed);
    assert_eq!(out.exit_code, Some(2));
    assert_eq!(out.reason.as_deref(), Some("shard 2 exited with 2"));
}

#[tokio::test]
async fn executor_reads_the_token_file_again_when_it_rotates() {
    let c = cluster(End::Complete, 4, None).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first\n").unwrap();
    let exec = KubernetesExecutor::with_token_file(
        &c.url,
        token.clone(),
        None,
        KubeConfig::default(),
        KubeTimings {
            token_refresh: Duration::ZERO,
            poll: Duration::from_millis(50),
            ..fast()
        },
        c.artifacts.clone(),
    )
    .unwrap();
    let j = job(training());
    let a = attempt(1);
    let run = exec.run(&j, &a, CancellationToken::new());
    let rotate = async {
        while c.mock.job_gets.load(Ordering::SeqCst) < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        std::fs::write(&token, "second\n").unwrap();
    };
    let (out, ()) = tokio::join!(run, rotate);
    assert_eq!(out.state, JobState::Succeeded);
    let auths: Vec<String> = c.mock.requests().into_iter().filter_map(|r| r.auth).collect();
    assert_eq!(auths.first().map(String::as_str), Some("Bearer first"));
    assert_eq!(auths.last().map(String::as_str), Some("Bearer second"));
}

#[tokio::test]
async fn executor_treats_a_disrupted_pod_as_an_infrastructure_failure() {
    let c = cluster(End::Disrupted, 2, None).await;
    let out = c
        .executor()
        .run(&job(training()), &attempt(1), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Failed);
    let reason = out.reason.unwrap();
    assert!(reason.starts_with("infrastructure:"), "{reason}");
    assert!(reason.contains("TerminationByKubelet"), "{reason}");
}

#[tokio::test]
async fn executor_rides_out_a_short_api_outage_and_gives_up_on_a_long_one() {
    // GETs 2..=5 fail (each retried twice): under the 300 ms outage tolerance of fast().
    let c = cluster_with(End::Complete, 8, None, |m| m.job_get_503 = 2..6).await;
    let out = c
        .executor()
        .run(&job(training()), &attempt(1), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");

    // The API stays down once the Job runs: infrastructure, and the Job is not left behind.
    let c = cluster_with(End::Never, usize::MAX, None, |m| m.job_get_503 = 2..usize::MAX).await;
    let started = std::time::Instant::now();
    let out = c
        .executor()
        .run(&job(training()), &attempt(1), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Failed);
    let reason = out.reason.unwrap();
    assert!(
        reason.starts_with("infrastructure:") && reason.contains("503"),
        "{reason}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        c.mock
            .find(Method::DELETE, &format!("{JOBS}/train-iris-33445566-a1"))
            .len(),
        1
    );
}

#[tokio::test]
async fn executor_fails_a_pod_that_cannot_start() {
    let c = cluster_with(End::Never, usize::MAX, None, |m| {
        m.pod_waiting = Some("InvalidImageName")
    })
    .await;
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        c.executor()
            .run(&job(training()), &attempt(1), CancellationToken::new()),
    )
    .await
    .expect("a pod that cannot start ends the attempt");
    assert_eq!(out.state, JobState::Failed);
    let reason = out.reason.unwrap();
    assert!(
        reason.starts_with("cannot start the container: InvalidImageName"),
        "{reason}"
    );
    assert_eq!(
        c.mock
            .find(Method::DELETE, &format!("{JOBS}/train-iris-33445566-a1"))
            .len(),
        1
    );
}

#[tokio::test]
async fn executor_reads_a_rotated_token_at_once_on_401() {
    let c = cluster(End::Complete, 4, None).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "old").unwrap();
    let exec = KubernetesExecutor::with_token_file(
        &c.url,
        token.clone(),
        None,
        KubeConfig::default(),
        fast(), // reads the file again only every 60 s
        c.artifacts.clone(),
    )
    .unwrap();
    let j = job(training());
    let a = attempt(1);
    let run = exec.run(&j, &a, CancellationToken::new());
    let rotate = async {
        while c.mock.job_gets.load(Ordering::SeqCst) < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        std::fs::write(&token, "new").unwrap();
        *c.mock.required_auth.lock().unwrap() = Some("Bearer new".into());
    };
    let (out, ()) = tokio::join!(run, rotate);
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    let auths: Vec<String> = c.mock.requests().into_iter().filter_map(|r| r.auth).collect();
    assert_eq!(auths.first().map(String::as_str), Some("Bearer old"));
    assert_eq!(auths.last().map(String::as_str), Some("Bearer new"));
}

// ---------------------------------------------------------------------------------------------
// Distributed training and the attempt's Secret
// ---------------------------------------------------------------------------------------------

fn distributed(replicas: u32, per_replica: u32) -> JobSpec {
    JobSpec {
        name: "ddp".into(),
        replicas,
        processes_per_replica: per_replica,
        ..training()
    }
}

/// An attempt of an auth-on server: the job's token, and child runs (with tokens) for ranks.
fn attempt_with_tokens(n: u32, ranks: u32) -> Attempt {
    let mut a = attempt(n);
    a.env.insert("MLFLOW_TRACKING_TOKEN".into(), "mlpj_job_secret".into());
    for r in 1..ranks {
        a.rank_runs.insert(
            r,
            RankRun {
                run_id: format!("child{r}"),
                token: Some(format!("mlpj_rank{r}_secret")),
            },
        );
    }
    a
}

#[test]
fn distributed_training_is_an_indexed_gang_with_a_headless_service() {
    let cfg = KubeConfig {
        max_parallelism: 2,
        ..KubeConfig::default()
    };
    let j = job(distributed(4, 1));
    let o = attempt_objects(&j, &attempt(1), &cfg);
    let m = &o.job;
    assert_eq!(m["spec"]["completionMode"], "Indexed");
    // All replicas at once, whatever max_parallelism allows shards.
    assert_eq!(m["spec"]["completions"], 4);
    assert_eq!(m["spec"]["parallelism"], 4);
    assert_eq!(m["spec"]["backoffLimit"], 0);
    assert_eq!(m["spec"]["suspend"], true);
    let name = m["metadata"]["name"].as_str().unwrap();
    assert_eq!(name, "ddp-33445566-a1");
    let svc = o.service.as_ref().expect("a headless Service");
    assert_eq!(svc["metadata"]["name"], name);
    assert_eq!(svc["spec"]["clusterIP"], "None");
    assert_eq!(svc["spec"]["publishNotReadyAddresses"], true);
    let selector = json!({"app.kubernetes.io/name": "mlp-job", "mlp.dev/job-id": JOB_ID, "mlp.dev/attempt": "1"});
    assert_eq!(svc["spec"]["selector"], selector);
    // The selector matches the pods of this attempt.
    let pod_labels = &m["spec"]["template"]["metadata"]["labels"];
    for (k, v) in selector.as_object().unwrap() {
        assert_eq!(&pod_labels[k], v);
    }
    assert_eq!(pod_spec(m)["subdomain"], name);
    let env = env_of(m);
    assert_eq!(env["MASTER_ADDR"], format!("{name}-0.{name}").as_str());
    assert_eq!(env["MASTER_PORT"], "29500");
    assert_eq!(env["WORLD_SIZE"], "4");
    assert_eq!(env["LOCAL_WORLD_SIZE"], "1");
    assert_eq!(env["MLP_REPLICAS"], "4");
    assert_eq!(env["MLP_REPLICA_LOGGING"], "child_runs");
    // RANK is the launcher's (from JOB_COMPLETION_INDEX, which the Job controller sets).
    assert!(!env.contains_key("RANK") && !env.contains_key("JOB_COMPLETION_INDEX"));
    let cmd = container(m)["command"].as_array().unwrap().clone();
    assert_eq!(cmd[..2], [json!("/bin/sh"), json!("-c")]);
    assert_eq!(cmd[2], LAUNCHER);
    assert_eq!(
        cmd[4..],
        [json!("python"), json!("train.py"), json!("--epochs"), json!("5")]
    );
    // Placement: the job's node group, like any training job.
    let plain = job_manifest(&job(training()), &attempt(1), &cfg);
    assert_eq!(pod_spec(m)["nodeSelector"], pod_spec(&plain)["nodeSelector"]);
    assert_eq!(pod_spec(m)["tolerations"], pod_spec(&plain)["tolerations"]);
    // Pod hostnames `<job>-<index>` stay DNS labels with the longest names.
    let long = job(JobSpec {
        name: "a".repeat(63),
        ..distributed(64, 1)
    });
    let n = job_name(&long, 4_000_000_000);
    assert!(format!("{n}-63").len() <= 63 && is_dns_label(&n), "{n}");
    // A Service name starts with a letter.
    assert_eq!(service_name("7up-33445566-a1"), "j7up-33445566-a1");
    // No Service, NetworkPolicy or suspension for a plain job without a token.
    let plain = attempt_objects(&job(training()), &attempt(1), &cfg);
    assert!(plain.service.is_none() && plain.network_policy.is_none() && plain.secret.is_none());
    assert!(plain.job["spec"].get("suspend").is_none());
}

#[test]
fn distributed_network_policy_opens_tcp_between_the_attempts_pods_only() {
    let j = job(distributed(2, 1));
    let o = attempt_objects(&j, &attempt(3), &KubeConfig::default());
    let np = o.network_policy.expect("a NetworkPolicy");
    let sel =
        json!({"matchLabels": {"app.kubernetes.io/name": "mlp-job", "mlp.dev/job-id": JOB_ID, "mlp.dev/attempt": "3"}});
    assert_eq!(np["spec"]["podSelector"], sel);
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        np["spec"]["ingress"],
        json!([{"from": [{"podSelector": sel}], "ports": [{"protocol": "TCP"}]}])
    );
    assert_eq!(
        np["spec"]["egress"],
        json!([{"to": [{"podSelector": sel}], "ports": [{"protocol": "TCP"}]}])
    );
}

#[test]
fn the_token_is_in_a_secret_not_in_the_pod_spec() {
    for spec in [training(), distributed(2, 2)] {
        let j = job(spec);
        let o = attempt_objects(&j, &attempt_with_tokens(1, j.spec.world_size()), &KubeConfig::default());
        let name = o.job["metadata"]["name"].as_str().unwrap().to_string();
        let text = o.job.to_string();
        assert!(!text.contains("mlpj_"), "a token in the Job: {text}");
        assert_eq!(
            env_of(&o.job)["MLFLOW_TRACKING_TOKEN"],
            json!({"secretKeyRef": {"name": name, "key": "token"}})
        );
        assert_eq!(o.job["spec"]["suspend"], true, "no pod before the Secret exists");
        let secret = o.secret.expect("a Secret");
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(secret["metadata"]["name"], name);
        assert_eq!(secret["stringData"]["token"], "mlpj_job_secret");
        if j.spec.is_distributed() {
            // The other ranks' child runs and tokens, for the launcher, mounted read-only.
            assert_eq!(secret["stringData"]["run-id-3"], "child3");
            assert_eq!(secret["stringData"]["token-1"], "mlpj_rank1_secret");
            let vol = pod_spec(&o.job)["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == "mlp-ranks")
                .cloned()
                .unwrap();
            assert_eq!(vol["secret"]["secretName"], name);
        }
    }
}

/// The launcher run by a real `sh`: ranks from the completion index, each rank's run from the
/// Secret's files, and the gang inside a pod.
#[test]
fn the_launcher_computes_ranks_and_stops_the_pod_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ranks = dir.path().join("ranks");
    std::fs::create_dir(&ranks).unwrap();
    std::fs::write(ranks.join("run-id-3"), "child3").unwrap();
    std::fs::write(ranks.join("token-3"), "tok3").unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    use std::os::unix::process::CommandExt;
    let launch = |index: &str, script: &str| {
        std::process::Command::new("sh")
            .args(["-c", LAUNCHER, "mlp-launch", "sh", "-c", script])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("TMPDIR", dir.path())
            .env("MLP_PROCESSES_PER_REPLICA", "2")
            .env("JOB_COMPLETION_INDEX", index)
            .env("MLP_RANK_DIR", &ranks)
            .env("MLFLOW_RUN_ID", "job-run")
            .env("MLFLOW_TRACKING_TOKEN", "job-token")
            .env("MLFLOW_TRACKING_URI", "http://tracking")
            .env("OUT", &out_dir)
            .process_group(0)
            .output()
            .unwrap()
    };
    let record = r#"echo "$RANK $LOCAL_RANK $MLP_REPLICA_INDEX ${MLFLOW_RUN_ID:-none} ${MLFLOW_TRACKING_TOKEN:-none} ${MLFLOW_TRACKING_URI:-none}" > "$OUT/$RANK""#;
    for index in ["0", "1"] {
        let o = launch(index, record);
        assert!(o.status.success(), "{o:?}");
    }
    let got = |r: u32| std::fs::read_to_string(out_dir.join(r.to_string())).unwrap();
    assert_eq!(got(0), "0 0 0 job-run job-token http://tracking\n");
    // Rank 1 has no child run: no MLflow variables at all.
    assert_eq!(got(1), "1 1 0 none none none\n");
    assert_eq!(got(2), "2 0 1 none none none\n");
    assert_eq!(got(3), "3 1 1 child3 tok3 http://tracking\n");

    // Local rank 1 fails at once; local rank 0 would run for a minute: it is stopped, and the
    // pod exits with the failure's code well before.
    let started = std::time::Instant::now();
    let o = launch(
        "0",
        r#"if [ "$LOCAL_RANK" = 1 ]; then exit 7; fi; trap 'kill $!; echo stopped > "$OUT/stopped"; exit 143' TERM; sleep 60 & wait"#,
    );
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert_eq!(std::fs::read_to_string(out_dir.join("stopped")).unwrap(), "stopped\n");
}

#[tokio::test]
async fn executor_runs_a_distributed_job_with_its_objects_owned_by_the_job() {
    let c = cluster(End::Complete, 4, None).await;
    let j = job(distributed(2, 1));
    let a = attempt_with_tokens(1, 2);
    let out = c.executor().run(&j, &a, CancellationToken::new()).await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    let name = "ddp-33445566-a1";
    let post = &c.mock.find(Method::POST, JOBS)[0].body;
    assert_eq!(post["spec"]["suspend"], true);
    for (suffix, kind) in [
        ("/api/v1/namespaces/ml-platform/secrets", "Secret"),
        ("/api/v1/namespaces/ml-platform/services", "Service"),
        (
            "/apis/networking.k8s.io/v1/namespaces/ml-platform/networkpolicies",
            "NetworkPolicy",
        ),
    ] {
        let posts = c.mock.find(Method::POST, suffix);
        assert_eq!(posts.len(), 1, "{kind}");
        assert_eq!(posts[0].body["kind"], kind);
        assert_eq!(
            posts[0].body["metadata"]["ownerReferences"],
            json!([{"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": format!("uid-{name}"), "blockOwnerDeletion": false}]),
            "{kind}"
        );
    }
    // Resumed after its dependents exist.
    let order: Vec<String> = c
        .mock
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::POST || r.method == Method::PATCH)
        .map(|r| format!("{} {}", r.method, r.path.rsplit('/').next().unwrap()))
        .collect();
    assert_eq!(
        order,
        [
            "POST jobs",
            "POST secrets",
            "POST services",
            "POST networkpolicies",
            &format!("PATCH {name}")
        ]
    );
    // The Secret is gone with the attempt; the finished Job (and its Service and policy, by
    // garbage collection) stays for its TTL.
    let deletes: Vec<String> = c.mock.find(Method::DELETE, "").into_iter().map(|r| r.path).collect();
    assert_eq!(deletes, [format!("/api/v1/namespaces/ml-platform/secrets/{name}")]);
    // Logs: each replica under its rank, rank 0 also where a single process's goes.
    assert_eq!(
        c.log(&format!("{}/rank-1/stdout.log", a.log_prefix)),
        "log of shard 1\nepoch 1 loss 0.5\n"
    );
    assert_eq!(
        c.log(&format!("{}/stdout.log", a.log_prefix)),
        "log of shard 0\nepoch 1 loss 0.5\n"
    );
}

#[tokio::test]
async fn executor_fails_a_gang_that_cannot_be_scheduled_and_deletes_it() {
    // One of the two replicas stays Pending (Unschedulable) past the gang deadline.
    let c = cluster_with(End::Never, usize::MAX, None, |m| m.schedulable = 1).await;
    let exec = KubernetesExecutor::with_endpoint(
        &c.url,
        None,
        KubeConfig {
            gang_timeout_seconds: 1,
            ..KubeConfig::default()
        },
        fast(),
        c.artifacts.clone(),
    )
    .unwrap();
    let j = job(distributed(2, 1));
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        exec.run(&j, &attempt_with_tokens(1, 2), CancellationToken::new()),
    )
    .await
    .expect("the gang deadline ends the attempt");
    assert_eq!(out.state, JobState::Failed);
    let reason = out.reason.unwrap();
    assert!(
        reason.starts_with("infrastructure: gang not scheduled: 1 of 2 replicas running after 1s"),
        "{reason}"
    );
    assert!(reason.contains("Unschedulable: 0/3 nodes are available"), "{reason}");
    // Nothing of the attempt is left.
    assert!(c.mock.jobs.lock().unwrap().is_empty());
    assert!(
        c.mock.objects.lock().unwrap().is_empty(),
        "{:?}",
        c.mock.objects.lock().unwrap().keys()
    );
}

#[tokio::test]
async fn executor_fails_the_group_on_a_failed_replica_and_a_retry_is_a_new_group() {
    let c = cluster(End::Failed("BackoffLimitExceeded", 1, 9), 3, None).await;
    let j = job(distributed(2, 1));
    let out = c
        .executor()
        .run(&j, &attempt_with_tokens(1, 2), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Failed);
    assert_eq!(out.exit_code, Some(9));
    assert_eq!(
        out.reason.as_deref(),
        Some("replica 1 exited with 9; the group was stopped")
    );
    assert!(c.mock.jobs.lock().unwrap().is_empty(), "the failed group is deleted");
    assert!(c.mock.objects.lock().unwrap().is_empty());

    // The retry (attempt 2) creates a whole new group with its own objects.
    let c = cluster(End::Complete, 4, None).await;
    let out = c
        .executor()
        .run(&j, &attempt_with_tokens(2, 2), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    let post = &c.mock.find(Method::POST, JOBS)[0].body;
    assert_eq!(post["metadata"]["name"], "ddp-33445566-a2");
    assert_eq!(post["spec"]["template"]["metadata"]["labels"]["mlp.dev/attempt"], "2");
    let np = &c.mock.find(Method::POST, "/networkpolicies")[0].body;
    assert_eq!(np["spec"]["podSelector"]["matchLabels"]["mlp.dev/attempt"], "2");
}

#[tokio::test]
async fn executor_cancel_deletes_the_whole_group() {
    let c = cluster(End::Never, usize::MAX, None).await;
    let exec = c.executor();
    let cancel = CancellationToken::new();
    let j = job(distributed(2, 1));
    let a = attempt_with_tokens(1, 2);
    let run = exec.run(&j, &a, cancel.clone());
    let canceller = async {
        while c.mock.job_gets.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel.cancel();
    };
    let (out, ()) = tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(run, canceller) })
        .await
        .expect("the executor stops on cancel");
    assert_eq!(out.state, JobState::Cancelled);
    assert!(c.mock.jobs.lock().unwrap().is_empty());
    assert!(c.mock.objects.lock().unwrap().is_empty());
}

#[tokio::test]
async fn executor_does_not_adopt_a_job_left_suspended_by_an_earlier_attempt() {
    // Attempt 1's worker created its Job (suspended) and died before resuming it: that Job never
    // ran, and its token is revoked. Attempt 2 deletes it and runs its own.
    let c = cluster(End::Complete, 4, None).await;
    let j = job(distributed(2, 1));
    let m = job_manifest(&j, &attempt_with_tokens(1, 2), &KubeConfig::default());
    assert_eq!(m["spec"]["suspend"], true);
    c.mock.jobs.lock().unwrap().insert("ddp-33445566-a1".into(), m);
    let out = c
        .executor()
        .run(&j, &attempt_with_tokens(2, 2), CancellationToken::new())
        .await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    assert_eq!(c.mock.find(Method::DELETE, &format!("{JOBS}/ddp-33445566-a1")).len(), 1);
    assert_eq!(
        c.mock.find(Method::POST, JOBS)[0].body["metadata"]["name"],
        "ddp-33445566-a2"
    );
}
