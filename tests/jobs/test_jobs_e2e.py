"""The two example workloads of issue 5 submitted through `mlp job submit` on the embedded
default, checked through the real mlflow client; plus list, logs, a refused spec, a failing job
and cancellation."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests
from conftest import DURATIONS, REPO, unique

PYTHON = sys.executable
DATA = REPO / "examples" / "data" / "transactions.csv"
SCHEMA = REPO / "examples" / "data" / "transactions.schema.json"


def data_profile_bin() -> str:
    explicit = os.environ.get("DATA_PROFILE_BIN")
    if explicit:
        return explicit
    return str(Path(os.environ["MLP_BIN"]).resolve().parent / "data-profile")


def expected_profile() -> dict:
    """The transactions file validated independently of the Rust code, with the csv module."""
    schema = json.loads(SCHEMA.read_text())
    nulls = set(schema["null_values"])
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")

    def ok(col, v):
        if v in nulls:
            return col["nullable"]
        t = col["type"]
        try:
            if t == "long":
                int(v)
            elif t == "double":
                float(v)
            elif t == "boolean":
                return v.strip().lower() in {"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"}
            elif t == "datetime":
                if not iso.match(v):
                    return False
                datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True

    with open(DATA, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    idx = {c["name"]: header.index(c["name"]) for c in schema["columns"]}
    valid_ids = []
    for r in rows:
        if len(r) == len(header) and all(ok(c, r[idx[c["name"]]]) for c in schema["columns"]):
            valid_ids.append(r[idx["transaction_id"]])
    raw = DATA.read_bytes()
    return {"rows": len(rows), "valid_ids": valid_ids, "rejected": len(rows) - len(valid_ids),
            "bytes": len(raw) - len(raw.split(b"\n", 1)[0]) - 1,
            "digest": hashlib.sha256(raw).hexdigest()[:16]}


def history_steps(client, run_id, key):
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def download_text(client, run_id, path, tmp_path) -> str:
    local = client.download_artifacts(run_id, path, str(tmp_path))
    return Path(local).read_text()


# ---------------------------------------------------------------------------------------------
# Training: examples/train_job.py through `mlp job submit --kind training --wait`
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def training_job(mlp):
    experiment = unique("jobs-e2e-train")
    model = unique("digits-sgd")
    job_id, secs = mlp.submit("--name", "train-digits", "--kind", "training", "--experiment", experiment,
                              "--label", "suite=jobs-e2e", "--",
                              PYTHON, "examples/train_job.py", "--epochs", "8", "--register-as", model)
    DURATIONS["training job (examples/train_job.py, 8 epochs, registered)"] = secs
    return {"job_id": job_id, "experiment": experiment, "model": model, "job": mlp.get(job_id)}


def test_training_job_run_metrics_and_registered_model(training_job, client, tmp_path):
    job = training_job["job"]
    assert job["state"] == "SUCCEEDED", job
    assert (job["kind"], job["attempts"], job["exit_code"]) == ("training", 1, 0)
    run = client.get_run(job["run_id"])
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "train-digits"
    assert client.get_experiment(run.info.experiment_id).name == training_job["experiment"]
    assert run.data.tags["mlp.job_id"] == training_job["job_id"]
    assert run.data.tags["mlp.label.suite"] == "jobs-e2e"
    assert run.data.params["epochs"] == "8"
    assert run.data.params["model"] == "SGDClassifier"
    # One point per epoch, for loss and accuracy on both splits.
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert history_steps(client, run.info.run_id, key) == list(range(8)), key
    losses = [m.value for m in sorted(client.get_metric_history(run.info.run_id, "train_loss"), key=lambda m: m.step)]
    assert losses[-1] < losses[0]
    assert run.data.metrics["final_val_accuracy"] > 0.85
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["digits-train"]
    # The logged model (MLflow 3) and its registered version.
    assert len(run.outputs.model_outputs) == 1
    logged = client.get_logged_model(run.outputs.model_outputs[0].model_id)
    assert logged.source_run_id == run.info.run_id
    mv = client.get_model_version(training_job["model"], "1")
    assert (mv.run_id, mv.status) == (run.info.run_id, "READY")
    # The model loads back by its registry URI and predicts.
    import mlflow
    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True)
    pred = mlflow.pyfunc.load_model(f"models:/{training_job['model']}/1").predict(digits.data.astype("float64").head(50))
    assert (pred == digits.target.head(50).to_numpy()).mean() > 0.8
    assert "confusion_matrix.json" in {f.path for f in client.list_artifacts(run.info.run_id)}
    # The job's stdout is kept with the run.
    log = download_text(client, run.info.run_id, "logs/attempt-1/stdout.log", tmp_path)
    assert "epoch   8/8" in log


def test_job_logs_prints_the_jobs_stdout(training_job, mlp):
    out = mlp("logs", training_job["job_id"]).stdout
    lines = out.strip().splitlines()
    assert sum(1 for line in lines if line.startswith("epoch ")) == 8
    last = json.loads(lines[-1])
    assert last["run_id"] == training_job["job"]["run_id"]
    assert last["registered_model_version"] == "1"
    # --stream stderr is a separate stream (the mlflow client's own messages go there).
    assert "epoch   1/8" not in mlp("logs", training_job["job_id"], "--stream", "stderr").stdout


def test_train_sklearn_example_runs_as_a_job(mlp, client):
    """The long-standing example script joins the job's run instead of creating its own."""
    model = unique("iris-logreg")
    job_id, secs = mlp.submit("--name", "train-iris", "--kind", "training", "--experiment", unique("jobs-e2e-iris"),
                              "--", PYTHON, "examples/train_sklearn.py", "--epochs", "3", "--register-as", model)
    DURATIONS["training job (examples/train_sklearn.py, 3 epochs, registered)"] = secs
    job = mlp.get(job_id)
    run = client.get_run(job["run_id"])
    assert (job["state"], run.info.status) == ("SUCCEEDED", "FINISHED")
    assert history_steps(client, run.info.run_id, "train_acc") == [0, 1, 2]
    assert run.data.params["C"] == "0.5"
    assert client.get_model_version(model, "1").run_id == run.info.run_id


# ---------------------------------------------------------------------------------------------
# Data processing: the Rust data-profile example, 2 shards
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_job(mlp):
    binary = data_profile_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is not built (cargo build -p data-profile, or set DATA_PROFILE_BIN)")
    experiment = unique("jobs-e2e-data")
    job_id, secs = mlp.submit("--name", "profile-transactions", "--kind", "data-processing", "--shards", "2",
                              "--experiment", experiment, "--",
                              binary, "--input", "examples/data/transactions.csv",
                              "--schema", "examples/data/transactions.schema.json")
    DURATIONS["data-processing job (data-profile, 2 shards)"] = secs
    return {"job_id": job_id, "experiment": experiment, "job": mlp.get(job_id)}


def test_data_profile_job_dataset_metrics_and_artifacts(data_job, client, tmp_path):
    job = data_job["job"]
    assert job["state"] == "SUCCEEDED", job
    assert (job["kind"], job["shards"]) == ("data-processing", 2)
    exp = expected_profile()
    assert exp["rejected"] > 0  # the sample has broken rows on purpose
    run = client.get_run(job["run_id"])
    assert run.info.status == "FINISHED"
    m = run.data.metrics
    # Per shard, and the totals the last shard to finish adds up.
    for key in ("rows_processed", "rows_rejected", "bytes_processed", "duration_seconds"):
        assert f"{key}_shard_0" in m and f"{key}_shard_1" in m, key
    assert m["rows_processed_shard_0"] + m["rows_processed_shard_1"] == exp["rows"]
    assert m["rows_processed_shard_0"] == (exp["rows"] + 1) // 2
    assert (m["rows_processed"], m["rows_rejected"], m["bytes_processed"]) == (exp["rows"], exp["rejected"], exp["bytes"])
    assert run.data.params["shard_count"] == "2"

    # One dataset input per shard: same dataset, each with its shard's digest and profile.
    inputs = sorted(run.inputs.dataset_inputs, key=lambda d: {t.key: t.value for t in d.tags}["mlp.shard"])
    assert [{t.key: t.value for t in d.tags} for d in inputs] == [
        {"mlflow.data.context": "processing", "mlp.shard": "0/2"},
        {"mlflow.data.context": "processing", "mlp.shard": "1/2"},
    ]
    assert {d.dataset.name for d in inputs} == {"transactions"}
    assert len({d.dataset.digest for d in inputs}) == 2
    for i, d in enumerate(inputs):
        ds = d.dataset
        assert ds.source_type == "local"
        assert json.loads(ds.source)["uri"].endswith("/examples/data/transactions.csv")
        from mlflow.types import Schema

        colspec = json.loads(ds.schema)["mlflow_colspec"]
        schema = Schema.from_json(json.dumps(colspec))
        assert schema.input_names() == [c["name"] for c in json.loads(SCHEMA.read_text())["columns"]]
        assert {c["name"]: c["required"] for c in colspec}["merchant"] is False
        profile = json.loads(ds.profile)
        assert profile["digest"] == ds.digest
        assert profile["shard"] == {"index": i, "count": 2}
        assert profile["rows_processed"] == m[f"rows_processed_shard_{i}"]
        assert profile["num_rows"] == profile["rows_processed"] - profile["rows_rejected"]
        assert profile["columns"]["amount"]["min"] > 0
        assert profile["columns"]["category"]["distinct"] == 7

    # Each shard's outputs under shard-<i>/; the cleaned rows are exactly the valid ones.
    names = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"shard-0", "shard-1", "logs"} <= names
    cleaned_ids = []
    for i in range(2):
        files = {f.path for f in client.list_artifacts(run.info.run_id, f"shard-{i}")}
        assert files == {f"shard-{i}/cleaned.csv", f"shard-{i}/profile.json", f"shard-{i}/rejected.jsonl"}
        rows = list(csv.reader(download_text(client, run.info.run_id, f"shard-{i}/cleaned.csv", tmp_path / str(i))
                               .splitlines()))
        assert rows[0][0] == "transaction_id"
        cleaned_ids += [r[0] for r in rows[1:]]
        rejected = download_text(client, run.info.run_id, f"shard-{i}/rejected.jsonl", tmp_path / str(i))
        assert len(rejected.splitlines()) == m[f"rows_rejected_shard_{i}"]
    assert sorted(cleaned_ids) == sorted(exp["valid_ids"])


def test_data_profile_shard_logs(data_job, mlp):
    for i in range(2):
        out = mlp("logs", data_job["job_id"], "--shard", str(i)).stdout
        assert f"transactions shard {i}/2:" in out
        assert json.loads(out.strip().splitlines()[-1])["shard"] == {"index": i, "count": 2}


def test_data_profile_by_hand_creates_its_own_run(server, client, tmp_path):
    """Without MLFLOW_RUN_ID the binary makes a run in --experiment; one shard hashes the file."""
    import subprocess

    exp_name = unique("data-profile-by-hand")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_RUN_ID", "MLP_SHARD"))}
    env["MLFLOW_TRACKING_URI"] = server.uri
    p = subprocess.run([data_profile_bin(), "--input", str(DATA), "--schema", str(SCHEMA), "--experiment", exp_name,
                        "--format", "jsonl", "--output-dir", str(tmp_path / "out")],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    exp = expected_profile()
    assert out["digest"] == exp["digest"]
    run = client.get_run(out["run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == exp_name
    assert (run.data.metrics["rows_processed"], run.data.metrics["rows_rejected"]) == (exp["rows"], exp["rejected"])
    assert [d.dataset.digest for d in run.inputs.dataset_inputs] == [exp["digest"]]
    assert {f.path for f in client.list_artifacts(run.info.run_id)} == {"cleaned.jsonl", "profile.json",
                                                                        "rejected.jsonl"}
    assert len((tmp_path / "out" / "cleaned.jsonl").read_text().splitlines()) == len(exp["valid_ids"])
    # A quality gate: too many rejected rows is a failure (exit status 3).
    p = subprocess.run([data_profile_bin(), "--input", str(DATA), "--schema", str(SCHEMA), "--no-tracking",
                        "--max-rejected-fraction", "0.001"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 3, p.stderr


# ---------------------------------------------------------------------------------------------
# list, refused specs, failure, cancel
# ---------------------------------------------------------------------------------------------

def test_job_list_shows_both_examples_succeeded(training_job, data_job, mlp):
    jobs = {j["job_id"]: j for j in json.loads(mlp("list", "--json").stdout)}
    assert jobs[training_job["job_id"]]["state"] == "SUCCEEDED"
    assert jobs[data_job["job_id"]]["state"] == "SUCCEEDED"
    table = mlp("list").stdout.splitlines()
    assert table[0].split()[:4] == ["JOB", "NAME", "KIND", "STATE"]
    for job_id, name, kind in [(training_job["job_id"], "train-digits", "training"),
                               (data_job["job_id"], "profile-transactions", "data-processing")]:
        row = next(line for line in table if line.startswith(job_id))
        assert row.split()[1:4] == [name, kind, "SUCCEEDED"]
    only = json.loads(mlp("list", "--json", "--kind", "data-processing").stdout)
    assert data_job["job_id"] in {j["job_id"] for j in only}
    assert {j["kind"] for j in only} == {"data-processing"}


@pytest.mark.parametrize("args, message", [
    (["--name", "bad-kind", "--kind", "nope", "--", "echo", "hi"], "--kind 'nope'"),
    (["--name", "no-command", "--kind", "training"], "'command'"),
    (["--name", "Bad_Name", "--kind", "training", "--", "echo"], "DNS label"),
    (["--name", "sharded-training", "--kind", "training", "--shards", "2", "--", "echo"], "data-processing"),
])
def test_refused_specs_exit_non_zero_with_a_message(mlp, args, message):
    before = len(json.loads(mlp("list", "--json", "--max-results", "1000").stdout))
    p = mlp("submit", *args, check=False)
    assert p.returncode != 0
    assert message in p.stderr, p.stderr
    assert "panicked" not in p.stderr
    assert len(json.loads(mlp("list", "--json", "--max-results", "1000").stdout)) == before


def test_the_server_refuses_a_bad_spec_too(server):
    r = requests.post(f"{server.uri}/api/v1/jobs", json={"name": "raw", "kind": "nope", "command": ["echo"]}, timeout=10)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.post(f"{server.uri}/api/v1/jobs", json={"name": "raw", "kind": "training", "command": []}, timeout=10)
    assert r.status_code == 400
    assert "command" in r.json()["message"]


def test_a_failing_job_fails_the_wait_and_keeps_its_stderr(mlp, client):
    p = mlp("submit", "--wait", "--name", "fails", "--kind", "training", "--",
            "sh", "-c", "echo starting; echo boom >&2; exit 3", check=False)
    assert p.returncode != 0
    assert "FAILED" in p.stderr
    job_id = p.stdout.strip().splitlines()[0]
    job = mlp.get(job_id)
    assert (job["state"], job["exit_code"]) == ("FAILED", 3)
    assert "exited with 3" in job["reason"]
    assert client.get_run(job["run_id"]).info.status == "FAILED"
    assert mlp("logs", job_id, "--stream", "stderr").stdout.strip() == "boom"
    assert mlp("logs", job_id).stdout.strip() == "starting"


def test_cancel_a_long_job(mlp, client):
    job_id, _ = mlp.submit("--name", "sleeper", "--kind", "training", "--", "sleep", "300", wait=False)
    mlp.wait_state(job_id, {"RUNNING"}, timeout=60)
    out = mlp("cancel", job_id).stdout
    assert out.startswith(job_id)
    job = mlp.wait_state(job_id, {"CANCELLED", "SUCCEEDED", "FAILED"}, timeout=30)
    assert job["state"] == "CANCELLED", job
    assert job.get("finished_at")
    assert client.get_run(job["run_id"]).info.status == "KILLED"
    # Cancelling an ended job changes nothing.
    mlp("cancel", job_id, check=False)
    assert mlp.get(job_id)["state"] == "CANCELLED"


# ---------------------------------------------------------------------------------------------
# With authentication on: the job's process logs with its own run-scoped token
# ---------------------------------------------------------------------------------------------

def test_training_job_with_auth_on_logs_and_registers_with_its_own_token(tmp_path):
    import signal
    import socket
    import subprocess
    import time

    from mlflow import MlflowClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    (tmp_path / "admin-pw").write_text("admin-password-for-jobs")
    (tmp_path / "user-pw").write_text("user-password-for-jobs")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLP__", "MLFLOW_"))}
    server_env = {**env, "MLP__AUTH__ENABLED": "true", "MLP__AUTH__ADMIN_PASSWORD_FILE": str(tmp_path / "admin-pw"),
                  "MLP__METRICS__PORT": "0", "MLP__REDIS__URL": ""}
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen([os.environ["MLP_BIN"], "server", "--port", str(port), "--data-dir",
                                 str(tmp_path / "data")], env=server_env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(REPO), start_new_session=True)
    try:
        for _ in range(300):
            try:
                if requests.get(uri + "/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)

        def mlp(*args, user, password):
            cli_env = {**env, "MLP_SERVER": uri, "MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password}
            return subprocess.run([os.environ["MLP_BIN"], *args], env=cli_env, capture_output=True, text=True,
                                  timeout=300, cwd=str(REPO))

        r = mlp("user", "create", "trainer", "--password-file", str(tmp_path / "user-pw"),
                user="admin", password="admin-password-for-jobs")
        assert r.returncode == 0, r.stderr
        # Running jobs is a capability an admin hands out through a role.
        admin = ("admin", "admin-password-for-jobs")
        role = requests.post(uri + "/api/3.0/mlflow/roles/create", json={"name": "trainers", "workspace": "default"},
                             auth=admin, timeout=10).json()["role"]
        for call, body in (("permissions/add", {"role_id": role["id"], "resource_type": "jobs",
                                                "resource_pattern": "*", "permission": "USE"}),
                           ("assign", {"role_id": role["id"], "username": "trainer"})):
            r = requests.post(uri + f"/api/3.0/mlflow/roles/{call}", json=body, auth=admin, timeout=10)
            assert r.ok, r.text
        model, experiment = unique("auth-digits"), unique("auth-train")
        r = mlp("job", "submit", "--wait", "--name", "train-auth", "--kind", "training", "--experiment", experiment,
                "--", PYTHON, "examples/train_job.py", "--epochs", "2", "--register-as", model,
                user="trainer", password="user-password-for-jobs")
        job_id = r.stdout.strip().splitlines()[0] if r.stdout.strip() else ""
        logs = mlp("job", "logs", job_id, "--stream", "stderr", user="trainer", password="user-password-for-jobs")
        if r.returncode != 0:
            print(logs.stdout[-4000:])
        assert r.returncode == 0, r.stderr
        os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = \
            "trainer", "user-password-for-jobs"
        try:
            c = MlflowClient(tracking_uri=uri, registry_uri=uri)
            job = json.loads(mlp("job", "get", job_id, user="trainer", password="user-password-for-jobs").stdout)
            run = c.get_run(job["run_id"])
            assert run.info.status == "FINISHED" and "final_val_accuracy" in run.data.metrics
            assert c.get_model_version(model, "1").run_id == job["run_id"]
        finally:
            os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
            os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
