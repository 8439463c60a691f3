"""infrastructure/scripts/deploy-environment.sh: argument validation and
--dry-run output. Runs with a PATH without terraform/kubectl to prove the
dry run needs no tools and executes nothing."""
import os
import subprocess

import pytest

import tfmodel as t

SCRIPT = t.REPO / "infrastructure" / "scripts" / "deploy-environment.sh"


def run(*args, path="/usr/bin:/bin", stdin=subprocess.DEVNULL):
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30, stdin=stdin)


def test_script_is_executable_bash_with_strict_mode():
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert os.access(SCRIPT, os.X_OK)


def test_bash_syntax():
    r = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_help():
    r = run("--help")
    assert r.returncode == 0 and "Usage:" in r.stdout


@pytest.mark.parametrize("args,needle", [
    ((), "missing environment"),
    (("qa",), "invalid environment: 'qa'"),
    (("production",), "invalid environment"),
    (("dev", "deploy"), "invalid action: 'deploy'"),
    (("--force", "dev"), "unknown option: --force"),
    (("dev", "plan", "extra"), "too many arguments"),
])
def test_rejects_bad_arguments(args, needle):
    r = run("--dry-run", *args) if args and not args[0].startswith("--") else run(*args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert needle in r.stderr


def test_refuses_to_destroy_prod_even_with_yes():
    r = run("--dry-run", "--yes", "prod", "destroy")
    assert r.returncode == 3 and "refusing to destroy prod" in r.stderr


def test_real_run_needs_terraform_on_path():
    r = run("dev", "plan")
    assert r.returncode == 127 and "terraform is required" in r.stderr


def test_prod_apply_without_tty_needs_yes(tmp_path):
    # fake terraform so the script reaches the confirmation step; stdin is not a tty
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "terraform").write_text("#!/bin/sh\necho \"fake terraform $*\"\n")
    (fake / "terraform").chmod(0o755)
    r = run("prod", "apply", path=f"{fake}:/usr/bin:/bin")
    assert r.returncode == 3 and "--yes" in r.stderr
    assert "fake terraform" in r.stdout and " apply " not in r.stdout, "must stop before apply"


@pytest.mark.parametrize("env", t.ENV_NAMES)
def test_dry_run_plan(env):
    r = run("--dry-run", env)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.startswith("+ ")]
    tf_dir = f"-chdir={t.ENVIRONMENTS / env}"
    assert lines[0].startswith(f"+ terraform {tf_dir} init -input=false")
    assert ("-backend-config=backend.hcl" in lines[0]) == (env != "local")
    assert lines[1] == f"+ terraform {tf_dir} plan -input=false -var-file=../_shared/common.tfvars -var-file=terraform.tfvars -out=tfplan"
    assert len(lines) == 2, "plan must not apply anything"


@pytest.mark.parametrize("env", ["local", "staging"])
def test_dry_run_apply_deploys_the_matching_overlay(env):
    r = run("--dry-run", env, "apply")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"apply -input=false tfplan" in out
    assert f"+ kubectl apply -k {t.REPO / 'infrastructure' / 'kubernetes' / 'overlays' / env}" in out
    if env == "local":
        assert "kind export kubeconfig" in out and "localhost:5001" in out
    else:
        assert "aws eks update-kubeconfig" in out and "--region eu-central-1" in out
    # order: plan before apply before kubectl
    assert out.index(" plan ") < out.index(" apply -input=false tfplan") < out.index("kubectl apply -k")


def test_skip_kubernetes():
    r = run("--dry-run", "--skip-kubernetes", "dev", "apply")
    assert r.returncode == 0 and "kubectl apply" not in r.stdout


def test_dry_run_prod_apply_is_allowed_and_shown():
    r = run("--dry-run", "prod", "apply")
    assert r.returncode == 0 and "kubectl apply -k" in r.stdout
