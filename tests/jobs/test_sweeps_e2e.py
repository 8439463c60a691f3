"""Hyperparameter sweeps end to end (issue 19): `mlp sweep submit` on a server of its own (so its
worker may run more jobs at once than a sweep's parallelism allows, and can be restarted), with
a trial script whose objective depends only on its parameter; checked with the real mlflow
client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from conftest import DURATIONS, REPO, Server, _free_port, unique

PYTHON = sys.executable
TRIAL = str(REPO / "tests" / "jobs" / "sweep" / "trial.py")


def start_server(data_dir: Path, log_path: Path) -> Server:
    port = _free_port()
    cmd = [os.environ["MLP_BIN"], "server", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "info")
    # Room for four jobs at once: the sweep's parallelism, not the worker, must be the limit.
    env["MLP__WORKER__MAX_CONCURRENT"] = "4"
    # A short lease: a cancel (and an early stop) reaches the trial within a second, and a
    # restarted server takes over the sweep and its trials within seconds.
    env["MLP__WORKER__LEASE_SECONDS"] = "3"
    env["MLP__WORKER__GRACE_SECONDS"] = "1"
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(REPO), env=env, start_new_session=True)
    srv = Server(f"http://127.0.0.1:{port}", proc, log_path, data_dir)
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}\n{srv.log_tail()}")
        try:
            if requests.get(srv.uri + "/health", timeout=2).status_code == 200:
                return srv
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            srv.stop()
            raise AssertionError(f"the server did not become healthy\n{srv.log_tail()}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def sweep_server():
    tmp = Path(tempfile.mkdtemp(prefix="mlp-sweeps-e2e-"))
    srv = start_server(tmp / "data", tmp / "server.log")
    try:
        yield srv
    finally:
        srv.stop()


def mlp(srv: Server, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [os.environ["MLP_BIN"], "sweep", *args[:1], "--server", srv.uri, *args[1:]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(REPO))
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}\n"
                             f"server log:\n{srv.log_tail()}")
    return p


def spec(name: str, xs: list[float], *, parallelism: int = 2, steps: int = 10, step_seconds: float = 0.3,
         asha: bool = True) -> dict:
    strategy = ({"type": "asha", "sampler": "grid", "min_resource": 1, "max_resource": 9, "reduction_factor": 3}
                if asha else {"type": "grid"})
    return {
        "name": name,
        "experiment_name": name,
        "trial": {
            "command": [PYTHON, TRIAL],
            "env": {"STEPS": str(steps), "STEP_SECONDS": str(step_seconds)},
            "timeout_seconds": 600,
        },
        "search_space": {"x": {"type": "choice", "values": xs}},
        "strategy": strategy,
        "objective": {"metric": "loss", "direction": "minimize"},
        "budget": {"parallelism": parallelism},
    }


def submit(srv: Server, tmp_path: Path, body: dict, *extra: str) -> tuple[str, subprocess.CompletedProcess]:
    f = tmp_path / f"{body['name']}.json"
    f.write_text(json.dumps(body))
    p = mlp(srv, "submit", "--file", str(f), *extra)
    return p.stdout.strip().splitlines()[0], p


def get(srv: Server, sweep_id: str) -> dict:
    return json.loads(mlp(srv, "get", sweep_id).stdout)


def wait_sweep(srv: Server, sweep_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        got = get(srv, sweep_id)
        if got["sweep"]["state"] != "RUNNING":
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"sweep {sweep_id} still running after {timeout}s: {got}\n{srv.log_tail()}")
        time.sleep(0.5)


def max_overlap(trials: list[dict]) -> int:
    """The most trials whose jobs ran at the same moment, from their start and end times."""
    events = []
    for t in trials:
        if "started_at" in t:
            events.append((t["started_at"], 1))
            events.append((t.get("finished_at", 2**62), -1))
    # An end and a start at the same millisecond: the end first (the slot was free).
    events.sort(key=lambda e: (e[0], e[1]))
    most = cur = 0
    for _, d in events:
        cur += d
        most = max(most, cur)
    return most


def test_an_asha_sweep_of_8_trials_stops_hopeless_ones_and_tags_the_best(sweep_server, tmp_path):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=sweep_server.uri)
    name = unique("sweep8")
    xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    t0 = time.monotonic()
    sweep_id, p = submit(sweep_server, tmp_path, spec(name, xs), "--wait")
    secs = time.monotonic() - t0
    DURATIONS["sweep: 8 trials, parallelism 2, ASHA (tests/jobs/sweep/trial.py, 10 x 0.3 s)"] = secs
    assert f"sweep {sweep_id}: SUCCEEDED" in p.stderr, p.stderr
    got = get(sweep_server, sweep_id)
    sweep, trials = got["sweep"], got["trials"]
    assert sweep["state"] == "SUCCEEDED", sweep
    assert [t["index"] for t in trials] == list(range(8))
    assert sorted(t["params"]["x"] for t in trials) == xs
    assert all(t["state"] in ("SUCCEEDED", "CANCELLED") for t in trials), trials

    # x = 1 is best at every step; the trials started after the first two meet it at the first
    # rung (with x = 2 there too: the top third of three is one) and are stopped.
    stopped = [t for t in trials if t["early_stopped"]]
    assert len(stopped) >= 1, trials
    best = next(t for t in trials if t["params"]["x"] == 1.0)
    assert not best["early_stopped"] and best["state"] == "SUCCEEDED"
    assert sweep["best_trial"] == best["index"]
    assert sweep["best_value"] == pytest.approx(1.0 * (1 + 1 / 10))
    for t in stopped:
        assert t["state"] == "CANCELLED"
        assert client.get_run(t["run_id"]).data.tags.get("mlp.sweep.early_stopped") == "true"
        # Stopped before its last step.
        assert len(client.get_metric_history(t["run_id"], "loss")) < 10

    # Never more than the parallelism at once, from the jobs' own start and end times.
    assert max_overlap(trials) <= 2, trials
    assert max_overlap(trials) == 2, "the budget allows two at once and they were used"

    # The parent run: the best trial tagged; every trial a child with its params logged.
    parent = client.get_run(sweep["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlp.sweep.best_run_id"] == best["run_id"]
    assert float(parent.data.tags["mlp.sweep.best_value"]) == pytest.approx(1.1)
    assert json.loads(parent.data.tags["mlp.sweep.best_params"]) == {"x": 1.0}
    assert parent.data.tags["mlp.sweep.best_param.x"] == "1.0"
    for t in trials:
        r = client.get_run(t["run_id"])
        assert r.data.tags["mlflow.parentRunId"] == sweep["parent_run_id"]
        assert r.data.params["x"] == json.dumps(t["params"]["x"])
        assert r.info.experiment_id == sweep["experiment_id"]
    children = client.search_runs([sweep["experiment_id"]],
                                  filter_string=f"tags.mlflow.parentRunId = '{sweep['parent_run_id']}'")
    assert len(children) == 8

    listed = mlp(sweep_server, "list").stdout
    assert sweep_id in listed and "SUCCEEDED" in listed


def test_cancelling_a_sweep_stops_every_trial_and_starts_no_more(sweep_server, tmp_path):
    name = unique("sweepcancel")
    sweep_id, _ = submit(sweep_server, tmp_path,
                         spec(name, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], steps=300, step_seconds=0.2, asha=False))
    deadline = time.monotonic() + 60
    while True:
        trials = get(sweep_server, sweep_id)["trials"]
        if sum(t["state"] == "RUNNING" for t in trials) == 2:
            break
        assert time.monotonic() < deadline, trials
        time.sleep(0.3)
    out = mlp(sweep_server, "cancel", sweep_id).stdout
    assert sweep_id in out
    got = wait_sweep(sweep_server, sweep_id, timeout=60)
    assert got["sweep"]["state"] == "CANCELLED", got["sweep"]
    assert len(got["trials"]) == 2, "no trial is started after the cancel"
    assert all(t["state"] == "CANCELLED" for t in got["trials"]), got["trials"]
    # The processes are gone: nothing logs any more.
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=sweep_server.uri)
    counts = [len(client.get_metric_history(t["run_id"], "loss")) for t in got["trials"]]
    time.sleep(1.5)
    assert [len(client.get_metric_history(t["run_id"], "loss")) for t in got["trials"]] == counts
    assert client.get_run(got["sweep"]["parent_run_id"]).info.status == "KILLED"
    # Cancelling again changes nothing.
    assert "CANCELLED" in mlp(sweep_server, "cancel", sweep_id).stdout


def test_a_bad_spec_is_refused_naming_the_field(sweep_server, tmp_path):
    body = spec(unique("bad"), [1.0])
    body["search_space"]["y"] = {"type": "log_uniform", "lo": 0.0, "hi": 1.0}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(body))
    p = mlp(sweep_server, "submit", "--file", str(f), check=False)
    assert p.returncode != 0 and "search_space.y" in p.stderr, p.stderr
    r = requests.post(sweep_server.uri + "/api/v1/sweeps", json=body, timeout=10)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    assert "search_space.y" in r.json()["message"]
    r = requests.post(sweep_server.uri + "/api/v1/sweeps", json={**spec(unique("bad"), [1.0]), "budget": {"parallelism": -1}},
                      timeout=10)
    assert r.status_code == 400, r.text
    assert requests.get(sweep_server.uri + "/api/v1/sweeps/s-missing", timeout=10).status_code == 404


def test_a_restarted_server_resumes_a_sweep(tmp_path):
    """The sweep's state is in the store: a server killed mid-sweep (its trials with it) is
    restarted on the same data and the sweep finishes, each trial launched once."""
    srv = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        body = spec(unique("resume"), [1.0, 2.0, 3.0, 4.0], steps=8, step_seconds=0.3, asha=False)
        sweep_id, _ = submit(srv, tmp_path, body)
        deadline = time.monotonic() + 60
        while sum(t["state"] == "RUNNING" for t in get(srv, sweep_id)["trials"]) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        os.killpg(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait(timeout=10)
        srv = start_server(tmp_path / "data", tmp_path / "server.log")
        got = wait_sweep(srv, sweep_id, timeout=180)
        assert got["sweep"]["state"] == "SUCCEEDED", got
        assert [t["index"] for t in got["trials"]] == [0, 1, 2, 3]
        assert got["sweep"]["best_trial"] == 0
        assert all(t["state"] == "SUCCEEDED" for t in got["trials"]), got["trials"]
    finally:
        srv.stop()
