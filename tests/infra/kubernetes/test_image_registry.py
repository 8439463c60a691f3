"""Cloud images come from the registry Terraform creates: the registry host of
every image is IMAGE_REGISTRY of the overlay's infra-outputs.env (written from
the Terraform outputs by `mlp infra deploy`), not a literal in the overlay."""
from __future__ import annotations

import re
import shutil

import pytest

import k8slib

REGISTRY = "999999999999.dkr.ecr.ap-south-2.amazonaws.com"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_image_uses_the_registry_of_the_outputs(workspace, tmp_path, env):
    ws = tmp_path / "k8s"
    shutil.copytree(workspace, ws)
    outputs = ws / "overlays" / env / "infra-outputs.env"
    text = outputs.read_text()
    assert re.search(r"^IMAGE_REGISTRY=", text, re.M), "infra-outputs.env lacks IMAGE_REGISTRY"
    outputs.write_text(re.sub(r"^IMAGE_REGISTRY=.*$", f"IMAGE_REGISTRY={REGISTRY}", text, flags=re.M))
    docs = k8slib.load_docs(k8slib.kustomize(ws / "overlays" / env))
    images = [c["image"] for p in k8slib.pod_templates(docs) for _, c in p.containers()]
    assert len(images) >= 8
    wrong = [i for i in images if not i.startswith(f"{REGISTRY}/ml-platform/{env}/")]
    assert not wrong, wrong
