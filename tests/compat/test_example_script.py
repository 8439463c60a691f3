"""The example training script (examples/train_sklearn.py) runs end to end as a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import unique

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "train_sklearn.py"


def _run(tracking_uri, *args):
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri)
    p = subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=150)
    assert p.returncode == 0, f"stdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-5000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not SCRIPT.exists(), reason="examples/train_sklearn.py not present")
def test_training_script_end_to_end(tracking_uri, client):
    exp = unique("compat-example")
    out = _run(tracking_uri, "--experiment", exp, "--epochs", "3")
    run = client.get_run(out["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"C": "0.5", "solver": "lbfgs", "max_iter": "200"}
    assert run.data.tags["team"] == "ml"
    assert run.data.metrics["test_acc"] == pytest.approx(out["test_acc"])
    assert [m.step for m in sorted(client.get_metric_history(out["run_id"], "train_acc"), key=lambda m: m.step)] == [0, 1, 2]
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["iris-train"]
    assert "report.txt" in {f.path for f in client.list_artifacts(out["run_id"])}
    assert [o.model_id for o in run.outputs.model_outputs] == [out["model_id"]]


@pytest.mark.skipif(not SCRIPT.exists(), reason="examples/train_sklearn.py not present")
def test_registry_training_script_end_to_end(tracking_uri, client):
    """Same script with --register-as (registry, issue 3)."""
    name = unique("compat-example-model")
    out = _run(tracking_uri, "--experiment", unique("compat-example-reg"), "--epochs", "2", "--register-as", name)
    assert out["registered_model_version"] == "1"
    mv = client.get_model_version(name, "1")
    assert mv.run_id == out["run_id"]
    assert mv.status == "READY"
