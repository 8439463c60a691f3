"""infrastructure/scripts/deploy-environment.sh is a thin wrapper of `mlp infra deploy`: the
same arguments reach the one deploy path (its behaviour is tested in crates/mlp-infra)."""
import os
import subprocess

import pytest

import tfmodel as t

SCRIPT = t.REPO / "infrastructure" / "scripts" / "deploy-environment.sh"
MLP = os.environ.get("MLP_BIN") or str(t.REPO / "target" / "debug" / "mlp")


def run(*args, mlp=MLP):
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "MLP_BIN": mlp}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_script_is_executable_bash_with_strict_mode():
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert os.access(SCRIPT, os.X_OK)
    assert 'infra deploy' in text


def test_help():
    r = run("--help")
    assert r.returncode == 0 and "Usage:" in r.stdout


def test_without_the_binary_it_says_so():
    r = run("dev", "plan", mlp="/nonexistent/mlp")
    assert r.returncode != 0


@pytest.fixture(scope="module")
def have_mlp():
    if not os.access(MLP, os.X_OK):
        pytest.fail(f"{MLP} is not built (cargo build -p mlp, or set MLP_BIN)")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_passes_options_and_arguments_to_mlp_infra_deploy(have_mlp, env):
    r = run("--dry-run", env, "apply")
    assert r.returncode == 0, r.stderr
    assert f"-chdir={t.CLOUD_ROOT} apply -input=false tfplan-{env}" in r.stdout
    assert "infra-outputs-from-terraform.sh" in r.stdout
    assert f"patch application ml-platform-{env}" in r.stdout


def test_refuses_to_destroy_prod(have_mlp):
    r = run("--dry-run", "--yes", "prod", "destroy")
    assert r.returncode == 2 and "prod is never destroyed" in r.stderr
