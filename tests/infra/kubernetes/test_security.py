"""Pod Security "restricted", hardening, RBAC, images and secrets."""
import pytest

import k8slib
from conftest import docs_for


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_pod_security_restricted(rendered, env):
    docs = docs_for(rendered, env)
    assert k8slib.pod_templates(docs), "no pod templates rendered"
    v = k8slib.check_pss_restricted(docs)
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_container_hardening(rendered, env):
    v = k8slib.check_hardening(docs_for(rendered, env))
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_rbac_least_privilege(rendered, env):
    v = k8slib.check_rbac(docs_for(rendered, env))
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_images_pinned(rendered, env):
    v = k8slib.check_images(docs_for(rendered, env), env)
    assert not v, "\n".join(v)


def test_prod_images_come_from_ecr(rendered):
    for cid, image in k8slib.all_images(docs_for(rendered, "prod")):
        assert ".dkr.ecr." in image, f"{cid}: prod image {image} not from ECR"


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_no_plaintext_secrets(rendered, env):
    v = k8slib.check_secrets(docs_for(rendered, env), env)
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.CLOUD_ENVS)
def test_cloud_secrets_come_from_external_secrets(rendered, env):
    docs = docs_for(rendered, env)
    targets = {(d["spec"].get("target") or {}).get("name") for d in k8slib.find(docs, "ExternalSecret")}
    assert {"mlp-database", "mlp-redis", "mlp-admin"} <= targets
    for es in k8slib.find(docs, "ExternalSecret"):
        assert es["apiVersion"] == "external-secrets.io/v1"
        assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "platform-secrets"}


def test_no_committed_secrets():
    v = k8slib.check_committed_secrets()
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_cronjobs_are_bounded(rendered, env):
    v = k8slib.check_cronjobs(docs_for(rendered, env))
    assert not v, "\n".join(v)


def test_local_pods_fit_kind_nodes(rendered):
    nodes = k8slib.kind_nodes(k8slib.K8S_DIR / "kind" / "cluster.yaml")
    v = k8slib.check_schedulable(docs_for(rendered, "local"), nodes)
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.CLOUD_ENVS)
def test_batch_jobs_are_cheap_and_preemptible(rendered, env):
    """ML jobs: lowest priority (never preempting), tainted batch nodes,
    spot preferred."""
    docs = docs_for(rendered, env)
    pcs = {d["metadata"]["name"]: d for d in k8slib.find(docs, "PriorityClass")}
    for tpl in k8slib.find(docs, "PodTemplate"):
        spec = tpl["template"]["spec"]
        pc = pcs[spec["priorityClassName"]]
        assert pc["preemptionPolicy"] == "Never"
        assert pc["value"] < min(p["value"] for n, p in pcs.items() if n != pc["metadata"]["name"])
        assert spec["nodeSelector"]["ml-platform/workload-type"] in ("training", "data-processing")
        assert any(t["key"] == "ml-platform/workload" for t in spec["tolerations"])
        prefs = spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert any("spot" in str(p).lower() for p in prefs)


def test_prod_is_highly_available(rendered):
    docs = docs_for(rendered, "prod")
    for name in ("mlp-backend", "mlp-frontend", "mlp-worker"):
        dep = k8slib.find(docs, "Deployment", name)[0]
        assert dep["spec"]["replicas"] >= 2, name
        assert k8slib.find(docs, "PodDisruptionBudget", name), f"PDB for {name}"
    hpa = k8slib.find(docs, "HorizontalPodAutoscaler", "mlp-backend")[0]
    assert hpa["spec"]["minReplicas"] >= 3


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_auth_is_on_with_the_admin_password_from_a_secret(rendered, env):
    """Issue 14 replaced issue 13's escape flag: the API listens on the pod network because every
    call is authenticated, and the first admin's password is a mounted Secret (generated locally,
    from Secrets Manager in the cloud), never a literal."""
    docs = docs_for(rendered, env)
    config = k8slib.find(docs, "ConfigMap", "mlp-config", prefix=True)[0]["data"]
    assert config["MLP__AUTH__ENABLED"] == "true"
    assert "MLP__SERVER__UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK" not in config
    assert "MLP__AUTH__ADMIN_PASSWORD" not in config
    path = config["MLP__AUTH__ADMIN_PASSWORD_FILE"]
    backend = k8slib.find(docs, "Deployment", "mlp-backend")[0]["spec"]["template"]["spec"]
    server = next(c for c in backend["containers"] if c["name"] == "server")
    mount = next(m for m in server["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in backend["volumes"] if v["name"] == mount["name"])
    if env == "local":
        # The generated Secret's name carries its content hash, and the volume follows it.
        secret = k8slib.find(docs, "Secret", "mlp-admin", prefix=True)[0]
        assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    else:
        assert volume["secret"]["secretName"] == "mlp-admin"
        es = k8slib.find(docs, "ExternalSecret", "mlp-admin")[0]
        assert es["spec"]["data"][0]["remoteRef"]["key"] == f"ml-platform/{env}/mlp-admin"
