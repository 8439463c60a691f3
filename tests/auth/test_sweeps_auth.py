"""Sweeps with authentication on (issue 19): creating one needs EDIT on its experiment, a sweep is
its creator's to read and cancel, and its trials run as the creator's jobs with their own
run-scoped tokens (the trial logs its objective with MLFLOW_TRACKING_TOKEN)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import requests
from mlflow import MlflowClient

from conftest import ADMIN, ADMIN_PW, as_user
from test_auth import PW, admin_client, job_runners, new_user, uniq

TRIAL = str(Path(__file__).resolve().parents[1] / "jobs" / "sweep" / "trial.py")


def sweep_spec(experiment: str | None, steps: int = 3) -> dict:
    spec = {
        "name": uniq("sw"),
        "trial": {"command": [sys.executable, TRIAL], "env": {"STEPS": str(steps), "STEP_SECONDS": "0.05"}},
        "search_space": {"x": {"type": "choice", "values": [2.0, 1.0]}},
        "strategy": {"type": "grid"},
        "objective": {"metric": "loss", "direction": "minimize"},
        "budget": {"parallelism": 1},
    }
    if experiment:
        spec["experiment_name"] = experiment
    return spec


def test_sweeps_need_edit_belong_to_their_creator_and_run_with_job_tokens(server, mlp_only):
    bob, carol = new_user(server), new_user(server)
    url = server.url("/api/v1/sweeps")
    # A sweep starts jobs: without the jobs capability, not even into a new experiment.
    r = requests.post(url, json=sweep_spec(uniq("sweeps")), auth=(bob, PW), timeout=30)
    assert r.status_code == 403 and "jobs capability" in r.json()["message"], r.text
    job_runners(server, bob, carol)
    # The Default experiment is READ by default: no sweep there.
    r = requests.post(url, json=sweep_spec(None), auth=(bob, PW), timeout=30)
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED", r.text
    exp = uniq("sweeps")
    r = requests.post(url, json=sweep_spec(exp), auth=(bob, PW), timeout=30)
    assert r.status_code == 200, r.text
    sweep = r.json()["sweep"]
    assert sweep["owner"] == bob
    # Carol has nothing on bob's experiment: she cannot add a sweep there nor see his.
    assert requests.post(url, json=sweep_spec(exp), auth=(carol, PW), timeout=30).status_code == 403
    assert requests.get(f"{url}/{sweep['sweep_id']}", auth=(carol, PW), timeout=10).status_code == 404
    r = requests.post(f"{url}/{sweep['sweep_id']}/cancel", json={}, auth=(carol, PW), timeout=10)
    assert r.status_code == 404
    assert requests.get(url, auth=(carol, PW), timeout=10).json()["sweeps"] == []
    assert [s["sweep_id"] for s in requests.get(url, auth=(bob, PW), timeout=10).json()["sweeps"]] == [sweep["sweep_id"]]
    everyone = requests.get(url, auth=(ADMIN, ADMIN_PW), timeout=10).json()["sweeps"]
    assert sweep["sweep_id"] in {s["sweep_id"] for s in everyone}

    # The trials run as bob's jobs, logging with their own tokens; the best is tagged.
    deadline = time.monotonic() + 120
    while True:
        got = requests.get(f"{url}/{sweep['sweep_id']}", auth=(bob, PW), timeout=10).json()
        if got["sweep"]["state"] != "RUNNING":
            break
        assert time.monotonic() < deadline, got
        time.sleep(0.5)
    assert got["sweep"]["state"] == "SUCCEEDED", got
    assert got["sweep"]["best_trial"] == 1
    jobs = requests.get(server.url("/api/v1/jobs"), auth=(bob, PW), timeout=10).json()["jobs"]
    assert {t["job_id"] for t in got["trials"]} <= {j["job_id"] for j in jobs}
    with as_user(bob, PW):
        parent = MlflowClient(server.base).get_run(got["sweep"]["parent_run_id"])
        assert parent.data.tags["mlp.sweep.best_run_id"] == got["trials"][1]["run_id"]
    with as_user(ADMIN, ADMIN_PW):
        assert admin_client(server).get_user_permission(bob, "experiment", got["sweep"]["experiment_id"]).permission == "MANAGE"
