"""The checks can fail: each one is run on deliberately broken input (the bad
fixtures, or a good rendered overlay with one thing broken) and must report
it. If a check silently stops working, these tests fail."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

import k8slib
from conftest import docs_for

HERE = Path(__file__).resolve().parent
BAD = k8slib.load_docs((HERE / "fixtures" / "bad" / "bad-workload.yaml").read_text())
INVALID = k8slib.load_docs((HERE / "fixtures" / "bad" / "invalid-schema.yaml").read_text())


def _expect(violations: list[str], *needles: str):
    assert violations, "check reported nothing on a deliberately bad input"
    text = "\n".join(violations)
    for n in needles:
        assert n in text, f"expected a violation mentioning {n!r}, got:\n{text}"


# ---- the bad fixture file trips every policy check ----------------------

def test_bad_fixture_schema_validation():
    errors = k8slib.validate_docs(INVALID)
    for name in ("Deployment/ml-platform/typo", "Ingress/ml-platform/removed-api",
                 "ExternalSecret/ml-platform/old-eso-api", "ExternalSecret/ml-platform/eso-typo",
                 "Application/argocd/argo-typo"):
        assert any(e.startswith(name) for e in errors), f"{name} not rejected: {errors}"


def test_bad_fixture_pss():
    _expect(k8slib.check_pss_restricted(BAD), "hostNetwork", "hostPID", "hostPath", "privileged",
            "allowPrivilegeEscalation", "capabilities.drop", "capabilities.add", "runAsNonRoot", "seccompProfile",
            "hostPort", "runAsUser 0")


def test_bad_fixture_hardening():
    _expect(k8slib.check_hardening(BAD), "readOnlyRootFilesystem", "resources.limits.cpu",
            "dedicated serviceAccountName", "automountServiceAccountToken", "priorityClassName", "livenessProbe",
            "literal secret")


def test_bad_fixture_images():
    _expect(k8slib.check_images(BAD, "prod"), ":latest", "has no tag")


def test_bad_fixture_secrets():
    _expect(k8slib.check_secrets(BAD, "prod"), "ConfigMap/ml-platform/leaky", "must not ship Secrets",
            "env DATABASE_URL contains a credential")
    _expect(k8slib.check_secrets(BAD, "local"), "not produced by secretGenerator")


def test_bad_fixture_rbac():
    _expect(k8slib.check_rbac(BAD), "wildcard in verbs", "pods/exec", "grants more than needed")


def test_bad_fixture_namespaces():
    _expect(k8slib.check_namespaces(BAD), "namespace must be ml-platform", "enforce must be restricted")


def test_bad_fixture_netpols():
    _expect(k8slib.check_netpol_coverage(BAD), "no default-deny", "no DNS egress", "not selected")
    _expect(k8slib.check_connectivity(BAD, "local"), "every peer is allowed")


def test_bad_fixture_cronjobs_and_backups():
    _expect(k8slib.check_cronjobs(BAD), "concurrencyPolicy", "startingDeadlineSeconds",
            "activeDeadlineSeconds", "invalid schedule")
    _expect(k8slib.check_backups(BAD, "prod"), "no Velero Schedule", "s3://")


def test_bad_committed_secret_tree(tmp_path):
    (tmp_path / "secret.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"k": "dg=="}}))
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(
        {"secretGenerator": [{"name": "y", "literals": ["password=hunter2"]},
                             {"name": "z", "files": ["tracked-file"]}]}))
    _expect(k8slib.check_committed_secrets(tmp_path), "committed Secret x", "uses literals", "not git-ignored")


# ---- one thing broken in a good overlay ---------------------------------

def _drop_rule_port(pol):
    pol["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 8001}]


def test_connectivity_detects_missing_and_extra_paths(rendered):
    docs = docs_for(rendered, "local")
    assert not k8slib.check_connectivity(docs, "local")
    broken = k8slib.mutate(docs, "NetworkPolicy", "postgresql-ingress", _drop_rule_port)
    _expect(k8slib.check_connectivity(broken, "local"),
            "declared path not allowed by an ingress policy: mlp-backend -> postgresql 5432/TCP",
            "undeclared path: mlp-backend -> postgresql 8001/TCP")


def test_connectivity_detects_extra_cidr_in_cloud(rendered):
    docs = docs_for(rendered, "prod")

    def widen(pol):
        pol["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})
    broken = k8slib.mutate(docs, "NetworkPolicy", "mlp-backend-from-alb", widen)
    _expect(k8slib.check_connectivity(broken, "prod"), "undeclared path: 0.0.0.0/0 -> mlp-backend 8000/TCP")


def test_connectivity_detects_undeclared_workload(rendered):
    docs = copy.deepcopy(docs_for(rendered, "dev"))
    extra = copy.deepcopy(k8slib.find(docs, "Deployment", "mlp-frontend")[0])
    extra["metadata"]["name"] = "sidecar-app"
    extra["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] = "sidecar-app"
    docs.append(extra)
    _expect(k8slib.check_connectivity(docs, "dev"), "workload sidecar-app runs but is not declared")
    _expect(k8slib.check_netpol_coverage(docs), "Deployment/sidecar-app: not selected")


def test_connectivity_detects_changed_declaration(rendered):
    conn = k8slib.load_connectivity()
    conn["flows"] = [f for f in conn["flows"] if f.get("to") != "kube-dns"]
    _expect(k8slib.check_connectivity(docs_for(rendered, "staging"), "staging", conn), "undeclared path")


def test_default_deny_and_dns_required(rendered):
    docs = [d for d in docs_for(rendered, "prod")
            if not (d["kind"] == "NetworkPolicy" and d["metadata"]["name"] in ("default-deny-all", "allow-dns-egress"))]
    _expect(k8slib.check_netpol_coverage(docs), "no default-deny", "no DNS egress")


@pytest.mark.parametrize("mutation,needle", [
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"),
     "allowPrivilegeEscalation"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"].update(drop=[]),
     "capabilities.drop"),
    (lambda d: d["spec"]["template"]["spec"]["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "hostPath"),
    (lambda d: d["spec"]["template"]["spec"]["initContainers"][0]["securityContext"].update(
        seccompProfile={"type": "Unconfined"}), "seccompProfile"),
    (lambda d: d["spec"]["template"]["spec"]["securityContext"].update(runAsNonRoot=False) or
     [c["securityContext"].pop("runAsNonRoot") for c in d["spec"]["template"]["spec"]["containers"] +
      d["spec"]["template"]["spec"]["initContainers"]], "runAsNonRoot"),
])
def test_pss_detects_single_regression(rendered, mutation, needle):
    broken = k8slib.mutate(docs_for(rendered, "prod"), "Deployment", "mlp-backend", mutation)
    _expect(k8slib.check_pss_restricted(broken), needle)


@pytest.mark.parametrize("mutation,needle", [
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("readOnlyRootFilesystem"),
     "readOnlyRootFilesystem"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"].pop("limits"), "resources.limits"),
    (lambda d: d["spec"]["template"]["spec"].update(automountServiceAccountToken=True), "automountServiceAccountToken"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe"), "readinessProbe"),
])
def test_hardening_detects_single_regression(rendered, mutation, needle):
    broken = k8slib.mutate(docs_for(rendered, "dev"), "Deployment", "mlp-backend", mutation)
    _expect(k8slib.check_hardening(broken), needle)


def test_prod_image_pinning_detects_latest_and_dev_tags(rendered):
    def latest(d):
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/ml-platform/mlp:latest"
    _expect(k8slib.check_images(k8slib.mutate(docs_for(rendered, "prod"), "Deployment", "mlp-backend", latest),
                                "prod"), ":latest")

    def untagged(d):
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/ml-platform/mlp"
    _expect(k8slib.check_images(k8slib.mutate(docs_for(rendered, "prod"), "Deployment", "mlp-frontend", untagged),
                                "prod"), "no tag")
    # The local overlay's ":dev" images would be rejected in prod.
    _expect(k8slib.check_images(docs_for(rendered, "local"), "prod"), "not pinned to a release", "local registry")


def test_placeholder_left_is_detected(rendered):
    def unwired(d):
        d["data"]["MLP__DATABASE__URL"] = k8slib.PLACEHOLDER
    _expect(k8slib.check_placeholders(k8slib.mutate(docs_for(rendered, "dev"), "ConfigMap", "mlp-config", unwired)),
            "mlp-config")


def test_reference_checks_detect_breakage(rendered):
    def wrong_selector(d):
        d["spec"]["selector"] = {"app.kubernetes.io/name": "nothing"}
    _expect(k8slib.check_references(k8slib.mutate(docs_for(rendered, "dev"), "Service", "mlp-backend",
                                                  wrong_selector)), "selects no pod")

    def wrong_secret(d):
        d["spec"]["template"]["spec"]["volumes"][1]["secret"]["secretName"] = "nope"
    _expect(k8slib.check_references(k8slib.mutate(docs_for(rendered, "dev"), "Deployment", "mlp-backend",
                                                  wrong_secret)), "Secret nope")


def test_backup_checks_detect_missing_pieces(rendered):
    docs = docs_for(rendered, "staging")
    no_cron = [d for d in docs if d["kind"] != "CronJob"]
    _expect(k8slib.check_backups(no_cron, "staging"), "CronJob mlp-pg-backup missing")
    no_velero = [d for d in docs if d["kind"] != "Schedule"]
    _expect(k8slib.check_backups(no_velero, "staging"), "no Velero Schedule")

    def short(d):
        d["data"]["RETENTION_DAYS"] = "3"
    _expect(k8slib.check_backups(k8slib.mutate(docs_for(rendered, "prod"), "ConfigMap", "pg-backup-config", short),
                                 "prod"), "30 days")


def test_scheduling_detects_unsatisfiable_node_selector(rendered):
    nodes = k8slib.kind_nodes(k8slib.K8S_DIR / "kind" / "cluster.yaml")

    def gpu(d):
        d["spec"]["template"]["spec"]["nodeSelector"] = {"ml-platform/workload-type": "gpu"}
    _expect(k8slib.check_schedulable(k8slib.mutate(docs_for(rendered, "local"), "Deployment", "mlp-worker", gpu),
                                     nodes), "Deployment/mlp-worker: fits no node")
    docs = copy.deepcopy(docs_for(rendered, "local"))
    for t in k8slib.find(docs, "PodTemplate"):
        t["template"]["spec"]["tolerations"] = []
    _expect(k8slib.check_schedulable(docs, nodes), "PodTemplate/mlp-job-training: fits no node")


def test_argocd_policy_detects_breakage():
    docs = []
    for path in ("argocd", "argocd/apps"):
        docs += k8slib.load_docs(k8slib.kustomize(k8slib.K8S_DIR / path))
    assert not k8slib.check_argocd(docs)

    def auto_prune(d):
        d["spec"]["syncPolicy"]["automated"] = {"prune": True, "selfHeal": True}
    _expect(k8slib.check_argocd(k8slib.mutate(docs, "Application", "ml-platform-prod", auto_prune)),
            "prod must not auto-sync")

    def default_project(d):
        d["spec"]["project"] = "default"
        d["spec"]["source"]["path"] = "infrastructure/kubernetes/overlays/nope"
    _expect(k8slib.check_argocd(k8slib.mutate(docs, "Application", "ml-platform-dev", default_project)),
            "default project", "does not exist", "no Application for overlays/dev")

    def manual_dev(d):
        d["spec"].pop("syncPolicy")
    _expect(k8slib.check_argocd(k8slib.mutate(docs, "Application", "ml-platform-dev", manual_dev)),
            "dev must auto-sync")
