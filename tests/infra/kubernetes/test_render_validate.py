"""Every overlay builds, and every rendered object validates strictly."""
import pytest

import k8slib
from conftest import docs_for


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_overlay_builds(rendered_text, env):
    out = rendered_text[env]
    if isinstance(out, Exception):
        pytest.fail(str(out))
    assert k8slib.load_docs(out), f"overlay {env} rendered nothing"


def test_base_builds():
    assert k8slib.load_docs(k8slib.kustomize(k8slib.K8S_DIR / "base"))


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_strict_schema_validation(rendered, env):
    errors = k8slib.validate_docs(docs_for(rendered, env))
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_no_unfilled_placeholders(rendered, env):
    v = k8slib.check_placeholders(docs_for(rendered, env))
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_namespaces_and_pss_labels(rendered, env):
    v = k8slib.check_namespaces(docs_for(rendered, env))
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_references_resolve(rendered, env):
    v = k8slib.check_references(docs_for(rendered, env))
    assert not v, "\n".join(v)


def test_crd_schema_dir_present():
    assert k8slib.CRD_SCHEMA_DIR.is_dir(), (
        f"CRD schemas not found at {k8slib.CRD_SCHEMA_DIR}; set CRD_SCHEMA_DIR")


def test_kind_cluster_config():
    """Kind: ingress-ready control plane with 80/443 mapped, the registry
    mirror configured, one worker per simulated node group with the node
    group's labels, batch groups tainted."""
    import yaml
    cfg = yaml.safe_load((k8slib.K8S_DIR / "kind" / "cluster.yaml").read_text())
    assert cfg["kind"] == "Cluster" and cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert any('config_path = "/etc/containerd/certs.d"' in p for p in cfg["containerdConfigPatches"])
    cp = [n for n in cfg["nodes"] if n["role"] == "control-plane"]
    assert len(cp) == 1 and cp[0]["labels"]["ingress-ready"] == "true"
    assert {m["containerPort"] for m in cp[0]["extraPortMappings"]} == {80, 443}
    images = {n.get("image") for n in cfg["nodes"]}
    assert len(images) == 1 and None not in images and ":latest" not in next(iter(images))
    nodes = k8slib.kind_nodes(k8slib.K8S_DIR / "kind" / "cluster.yaml")
    workers = {n["labels"].get("ml-platform/workload-type"): n for n in nodes if n["role"] == "worker"}
    assert set(workers) == {"general", "training", "data-processing"}
    assert not workers["general"]["taints"]
    for wt in ("training", "data-processing"):
        assert {"key": "ml-platform/workload", "value": wt, "effect": "NoSchedule"} in workers[wt]["taints"]
