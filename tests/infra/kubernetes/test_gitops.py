"""Argo CD: bootstrap and apps render, validate against the CRD schemas, and
every Application points at an overlay that exists and builds."""
import pytest

import k8slib


@pytest.fixture(scope="module")
def argocd_docs():
    docs = []
    for path in ("argocd", "argocd/apps"):
        docs += k8slib.load_docs(k8slib.kustomize(k8slib.K8S_DIR / path))
    return docs


def test_argocd_manifests_validate(argocd_docs):
    errors = k8slib.validate_docs(argocd_docs)
    assert not errors, "\n".join(errors)


def test_argocd_policy(argocd_docs):
    v = k8slib.check_argocd(argocd_docs)
    assert not v, "\n".join(v)


def test_application_sources_build(argocd_docs, workspace):
    for app in k8slib.find(argocd_docs, "Application"):
        path = app["spec"]["source"]["path"]
        rel = path.removeprefix("infrastructure/kubernetes/")
        assert rel != path, f"{path} is outside infrastructure/kubernetes"
        assert k8slib.load_docs(k8slib.kustomize(workspace / rel)), f"{path} renders nothing"


def test_project_whitelists_every_rendered_kind(argocd_docs, rendered):
    """A kind missing from the AppProject whitelist would fail the sync."""
    proj = k8slib.find(argocd_docs, "AppProject", "ml-platform")[0]["spec"]
    allowed = {(w["group"], w["kind"]) for w in proj["namespaceResourceWhitelist"]}
    allowed |= {(w["group"], w["kind"]) for w in proj["clusterResourceWhitelist"]}
    for env in k8slib.CLOUD_ENVS:
        for d in rendered[env]:
            group = d["apiVersion"].split("/")[0] if "/" in d["apiVersion"] else ""
            assert (group, d["kind"]) in allowed, f"{env}: {k8slib.ident(d)} not whitelisted in AppProject"
