"""The Kubernetes Jobs `mlp worker` creates, checked like the rendered manifests.

fixtures/job-manifests/*.json are written by the builder itself,
`mlp_jobs::kubernetes::job_manifest` (crates/mlp-jobs/tests/kubernetes.rs:
`manifests_match_the_golden_files` fails whenever the builder's output drifts
from these files; regenerate them with
`MLP_UPDATE_JOB_MANIFESTS=1 cargo nextest run -p mlp-jobs --test kubernetes`).
Here they must validate strictly against the Kubernetes schema, meet Pod
Security "restricted" and the platform's hardening rules next to the rendered
overlays (ServiceAccount, PriorityClass), fit a node of the Kind cluster, and
get exactly the network paths connectivity.yaml gives `mlp-job`.
"""
import json

import pytest

import k8slib
from conftest import docs_for

DIR = k8slib.HERE / "fixtures" / "job-manifests"
PATHS = sorted(DIR.glob("*.json"))


def jobs() -> list[dict]:
    return [json.loads(p.read_text()) for p in PATHS]


def test_golden_job_manifests_present():
    names = {p.stem for p in PATHS}
    assert {"training", "training-gpu", "data-processing", "data-processing-sharded",
            "training-distributed"} <= names, names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_job_manifest_strict_schema(path):
    doc = json.loads(path.read_text())
    assert doc["kind"] == "Job" and doc["apiVersion"] == "batch/v1"
    errors = k8slib.validate_doc(doc)
    assert not errors, "\n".join(errors)


def test_job_manifests_pss_restricted():
    v = k8slib.check_pss_restricted(jobs())
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_job_manifests_hardening(rendered, env):
    """Read-only root, requests+limits, no token, the mlp-job ServiceAccount
    and the mlp-batch PriorityClass as rendered in each overlay."""
    v = [x for x in k8slib.check_hardening(docs_for(rendered, env) + jobs()) if x.startswith("Job/")]
    assert not v, "\n".join(v)


def test_job_manifests_fit_a_kind_node():
    nodes = k8slib.kind_nodes(k8slib.K8S_DIR / "kind" / "cluster.yaml")
    v = k8slib.check_schedulable(jobs(), nodes)
    assert not v, "\n".join(v)


def test_job_manifests_placement_matches_the_pod_templates(rendered):
    """Training and data Jobs go where the base PodTemplates of their class go."""
    base = {d["metadata"]["name"]: d["template"]["spec"]
            for d in k8slib.find(docs_for(rendered, "local"), "PodTemplate")}
    by_name = {p.stem: json.loads(p.read_text()) for p in PATHS}
    for case, tpl in (("training", "mlp-job-training"), ("data-processing", "mlp-job-data"),
                      ("data-processing-sharded", "mlp-job-data")):
        spec = by_name[case]["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == base[tpl]["nodeSelector"], case
        assert spec["tolerations"] == base[tpl]["tolerations"], case
        assert spec["serviceAccountName"] == base[tpl]["serviceAccountName"], case
        assert spec["priorityClassName"] == base[tpl]["priorityClassName"], case


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_job_manifests_connectivity(rendered, env):
    """Job pods are selected by the NetworkPolicies as the `mlp-job`
    workload: the rendered policies plus these Jobs still give exactly the
    paths of connectivity.yaml."""
    for j in jobs():
        labels = j["spec"]["template"]["metadata"]["labels"]
        assert k8slib.workload_of(labels) == "mlp-job", labels
    v = k8slib.check_connectivity(docs_for(rendered, env) + jobs(), env)
    assert not v, "\n".join(v)


# A distributed training attempt (issue 19): besides its Indexed Job, the objects the worker
# creates with it, owned by the Job (ownerReferences are added when the Job exists).
OBJECTS = sorted((DIR / "attempt-objects").glob("*.json"))


def distributed_job() -> dict:
    return json.loads((DIR / "training-distributed.json").read_text())


def attempt_object(kind: str) -> dict:
    docs = [json.loads(p.read_text()) for p in OBJECTS]
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, [d["kind"] for d in docs]
    return found[0]


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.stem)
def test_attempt_objects_strict_schema(path):
    errors = k8slib.validate_doc(json.loads(path.read_text()))
    assert not errors, "\n".join(errors)


def test_distributed_job_is_an_indexed_gang_behind_a_headless_service():
    job = distributed_job()
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 2
    assert spec["backoffLimit"] == 0
    pod_labels = spec["template"]["metadata"]["labels"]
    svc = attempt_object("Service")
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["publishNotReadyAddresses"] is True
    assert k8slib._selector_matches({"matchLabels": svc["spec"]["selector"]}, pod_labels)
    # Pod DNS names <job>-<index>.<service>: the pods' subdomain is the Service.
    assert spec["template"]["spec"]["subdomain"] == svc["metadata"]["name"]
    env = {e["name"]: e for e in spec["template"]["spec"]["containers"][0]["env"]}
    assert env["MASTER_ADDR"]["value"] == f"{job['metadata']['name']}-0.{svc['metadata']['name']}"


def test_distributed_job_token_comes_from_its_secret():
    job = distributed_job()
    secret = attempt_object("Secret")
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["MLFLOW_TRACKING_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    assert "value" not in env["MLFLOW_TRACKING_TOKEN"]
    assert secret["stringData"]["token"] not in json.dumps(job)


def test_distributed_network_policy_is_exactly_the_attempts_pods(rendered):
    """Ingress and egress only between the pods of this attempt (all TCP: gloo and NCCL use
    ephemeral ports), a job pod of another job or attempt is not selected, and the base
    policies still give job pods their one path to the backend."""
    job = distributed_job()
    np_ = attempt_object("NetworkPolicy")
    labels = job["spec"]["template"]["metadata"]["labels"]
    sel = np_["spec"]["podSelector"]
    assert k8slib._selector_matches(sel, labels)
    for other in ({**labels, "mlp.dev/job-id": "j-other"}, {**labels, "mlp.dev/attempt": "2"},
                  {"app.kubernetes.io/name": "mlp-backend"}):
        assert not k8slib._selector_matches(sel, other), other
    assert set(np_["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert np_["spec"]["ingress"] == [{"from": [{"podSelector": sel}], "ports": [{"protocol": "TCP"}]}]
    assert np_["spec"]["egress"] == [{"to": [{"podSelector": sel}], "ports": [{"protocol": "TCP"}]}]
    # The workload-level paths are unchanged by the distributed Job's pods.
    v = k8slib.check_connectivity(docs_for(rendered, "local") + jobs(), "local")
    assert not v, "\n".join(v)
