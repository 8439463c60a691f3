"""Evaluate modules/env-config offline, exactly as an environment root wires it."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import tfmodel as t

# endpoint_public_access_cidrs has no default: it is the network of whoever applies.
TF_ENV = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0",
          "TF_VAR_endpoint_public_access_cidrs": '["203.0.113.0/24"]'}


def terraform(*args, cwd):
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH")
    return subprocess.run(["terraform", *args], cwd=cwd, env=TF_ENV, capture_output=True, text=True, timeout=120)


def _block_text(text: str, header: str) -> str:
    start = text.index(header)
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise ValueError(header)


def evaluate_env_config(env: str, workdir: Path) -> dict:
    """Evaluate modules/env-config exactly as environments/<env> wires it,
    with the real tfvars files: the root's variables.tf plus its
    `module "config"` block, applied offline (no providers involved)."""
    root = t.root_of(env)
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "variables.tf", workdir / "variables.tf")
    block = _block_text((root / "main.tf").read_text(), 'module "config" {')
    block = re.sub(r'source\s*=\s*"[^"]+"', f'source = "{t.MODULES / "env-config"}"', block, count=1)
    (workdir / "main.tf").write_text(block + '\n\noutput "config" {\n  value = module.config\n}\n')
    r = terraform("init", "-backend=false", "-input=false", cwd=workdir)
    assert r.returncode == 0, r.stderr
    var_files = [f"-var-file={t.ENVIRONMENTS / '_shared' / 'common.tfvars'}", f"-var-file={t.ENVIRONMENTS / env / 'terraform.tfvars'}"]
    r = terraform("apply", "-auto-approve", "-input=false", "-no-color", *var_files, cwd=workdir)
    assert r.returncode == 0, f"env-config rejects environments/{env} tfvars:\n{r.stdout}\n{r.stderr}"
    r = terraform("output", "-json", "config", cwd=workdir)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)
