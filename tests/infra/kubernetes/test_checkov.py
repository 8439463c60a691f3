"""Checkov's Kubernetes and Dockerfile checks (reviewed skip list in
checkov.yaml) over the rendered overlays and infrastructure/docker; the bad
fixtures prove the scan can fail."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import k8slib

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory, rendered_text):
    exe = shutil.which("checkov")
    assert exe, "checkov not installed (run through run.sh)"
    d = tmp_path_factory.mktemp("checkov")
    for env, text in rendered_text.items():
        assert not isinstance(text, Exception), f"overlay {env} did not build"
        (d / "overlays").mkdir(exist_ok=True)
        (d / "overlays" / f"{env}.yaml").write_text(text)
    shutil.copytree(k8slib.REPO / "infrastructure" / "docker", d / "docker")
    shutil.copytree(HERE / "fixtures" / "bad", d / "bad")
    proc = subprocess.run([exe, "-d", str(d), "--config-file", str(HERE / "checkov.yaml"), "-o", "json"],
                          capture_output=True, text=True, timeout=300)
    try:
        reports = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov produced no JSON (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
    reports = reports if isinstance(reports, list) else [reports]
    failed, passed = {}, {}
    for rep in reports:
        for f in rep["results"]["failed_checks"]:
            failed.setdefault(f["file_path"].lstrip("/"), []).append(f)
        for f in rep["results"]["passed_checks"]:
            passed.setdefault(f["file_path"].lstrip("/"), []).append(f)
        assert not rep["summary"].get("parsing_errors"), rep["summary"]
    return failed, passed


def _fmt(fails):
    return "\n".join(f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in fails)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_checkov_overlay_passes(checkov_results, env):
    failed, passed = checkov_results
    key = f"overlays/{env}.yaml"
    assert passed.get(key), f"checkov checked nothing in {key}"
    assert not failed.get(key), _fmt(failed.get(key, []))


def test_checkov_dockerfiles_pass(checkov_results):
    failed, passed = checkov_results
    dockerfiles = [k for k in passed if k.startswith("docker/")]
    assert len({k for k in dockerfiles}) >= 4, f"Dockerfiles not scanned: {sorted(passed)}"
    bad = [f for k, fs in failed.items() if k.startswith("docker/") for f in fs]
    assert not bad, _fmt(bad)


def test_checkov_flags_bad_manifests(checkov_results):
    failed, _ = checkov_results
    ids = {f["check_id"] for f in failed.get("bad/bad-workload.yaml", [])}
    expected = {"CKV_K8S_16", "CKV_K8S_20", "CKV_K8S_19", "CKV_K8S_14", "CKV_K8S_22", "CKV_K8S_21", "CKV_K8S_11"}
    assert expected <= ids, f"checkov missed {sorted(expected - ids)} (flagged {sorted(ids)})"
    docker_ids = {f["check_id"] for f in failed.get("bad/Dockerfile", [])}
    assert {"CKV_DOCKER_3", "CKV_DOCKER_7"} <= docker_ids, sorted(docker_ids)
