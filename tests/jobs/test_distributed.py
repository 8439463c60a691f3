"""Distributed training jobs (issue 19) on the local executor: the PyTorch DDP example with two
replicas end to end, and the gang semantics (the rendezvous environment of every rank, a failed
rank stops and retries the whole group) with tiny shell workloads."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import requests
from conftest import DURATIONS, unique

PYTHON = sys.executable


def test_distributed_example_with_two_replicas(mlp, client, tmp_path):
    name = unique("ddp")
    job_id, secs = mlp.submit("--name", name, "--kind", "training", "--experiment", name,
                              "--replicas", "2", "--timeout", "600", "--",
                              PYTHON, "examples/distributed_train.py", "--epochs", "4",
                              "--max-final-loss", "0.5")
    DURATIONS["distributed_train.py, 2 replicas"] = secs
    job = mlp.get(job_id)
    assert job["state"] == "SUCCEEDED", job
    assert (job["replicas"], job["processes_per_replica"], job["attempts"]) == (2, 1, 1)

    run = client.get_run(job["run_id"])
    m, p = run.data.metrics, run.data.params
    # Every rank added its own bit (2**rank) and its rank to the all-reduce: 0b11 and 0 + 1.
    assert m["allreduce_rank_mask"] == 3
    assert m["allreduce_rank_sum"] == 1
    # Both ranks trained on their half of the data (2048 samples, 4 epochs).
    assert m["samples_rank_0"] == m["samples_rank_1"] == 4 * 1024
    assert m["weights_in_sync"] == 1
    assert p["world_size"] == "2" and p["backend"] == "gloo"
    losses = client.get_metric_history(run.info.run_id, "train_loss")
    assert sorted(x.step for x in losses) == [0, 1, 2, 3]
    assert m["final_train_loss"] < losses[0].value

    # Rank 1 logged into its own child run of the job's run.
    children = client.search_runs([run.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert [c.info.run_name for c in children] == [f"{name}-rank-1"]
    child = children[0]
    assert child.data.params == {"rank": "1", "world_size": "2"}
    assert len(client.get_metric_history(child.info.run_id, "rank_train_loss")) == 4
    assert child.info.status == "FINISHED"
    assert child.data.tags["mlp.rank"] == "1" and child.data.tags["mlp.job_id"] == job_id

    # Each rank's logs, rank 0's also where `mlp job logs` looks by default.
    logs = {f.path for f in client.list_artifacts(run.info.run_id, "logs/attempt-1/rank-1")}
    assert logs == {"logs/attempt-1/rank-1/stdout.log", "logs/attempt-1/rank-1/stderr.log"}
    out = mlp("logs", job_id).stdout
    assert "epoch 3 loss" in out and '"allreduce_rank_mask": 3' in out
    assert out == mlp("logs", job_id, "--rank", "0").stdout
    assert "epoch" not in mlp("logs", job_id, "--rank", "1").stdout
    bad = mlp("logs", job_id, "--rank", "2", check=False)
    assert bad.returncode != 0 and "the job has 2 rank(s)" in bad.stderr


RECORD = ('echo "$MLP_JOB_ATTEMPT $RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $MLP_REPLICA_INDEX '
          '$MASTER_ADDR $MASTER_PORT ${MLFLOW_RUN_ID:-none}" > "$OUT/start-$MLP_JOB_ATTEMPT-$RANK"')


def starts(out: Path, attempt: int) -> dict[int, list[str]]:
    return {int(p.name.rsplit("-", 1)[1]): p.read_text().split()
            for p in out.glob(f"start-{attempt}-*")}


def test_every_rank_gets_the_rendezvous_environment(mlp, client, tmp_path):
    """2 replicas × 2 processes; replica_logging none: ranks above 0 get no MLflow run."""
    job_id, _ = mlp.submit("--name", unique("ranks"), "--kind", "training", "--replicas", "2",
                           "--processes-per-replica", "2", "--replica-logging", "none",
                           "--env", f"OUT={tmp_path}", "--", "sh", "-c", RECORD)
    job = mlp.get(job_id)
    assert job["state"] == "SUCCEEDED", job
    ranks = starts(tmp_path, 1)
    assert sorted(ranks) == [0, 1, 2, 3]
    ports = {r[7] for r in ranks.values()}
    assert len(ports) == 1 and int(ports.pop()) > 0
    for rank, (attempt, rnk, local, world, local_world, replica, addr, _port, run_id) in ranks.items():
        assert (attempt, int(rnk), int(local), world, local_world, int(replica), addr) == \
            ("1", rank, rank % 2, "4", "2", rank // 2, "127.0.0.1")
        assert run_id == (job["run_id"] if rank == 0 else "none")
    assert client.search_runs([job["experiment_id"]],
                              f"tags.mlflow.parentRunId = '{job['run_id']}'") == []


def test_a_failed_rank_stops_and_retries_the_whole_group(mlp, tmp_path):
    """Attempt 1: rank 1 fails after a second while rank 0 would run for a minute; rank 0 is
    stopped (SIGTERM) and the attempt fails as a whole; attempt 2 starts both ranks anew on a new
    rendezvous port and succeeds."""
    script = RECORD + '''
if [ "$MLP_JOB_ATTEMPT" = 1 ]; then
  if [ "$RANK" = 1 ]; then sleep 1; exit 3; fi
  trap 'echo "$RANK" > "$OUT/stopped-$MLP_JOB_ATTEMPT"; exit 143' TERM
  sleep 60 & wait
fi'''
    t0 = time.monotonic()
    job_id, _ = mlp.submit("--name", unique("gang"), "--kind", "training", "--replicas", "2",
                           "--retries", "1", "--env", f"OUT={tmp_path}", "--", "sh", "-c", script)
    took = time.monotonic() - t0
    job = mlp.get(job_id)
    assert job["state"] == "SUCCEEDED", job
    assert job["attempts"] == 2
    first, second = starts(tmp_path, 1), starts(tmp_path, 2)
    assert sorted(first) == [0, 1] and sorted(second) == [0, 1]
    # Rank 0 of the failed attempt was stopped by the platform, not left to sleep.
    assert (tmp_path / "stopped-1").read_text().strip() == "0"
    assert took < 40, f"the group was not stopped at once ({took:.0f}s)"
    # Each attempt is a new rendezvous.
    assert first[0][7] == first[1][7] and second[0][7] == second[1][7]


def test_a_failed_rank_fails_the_job_when_no_retry_is_left(mlp, tmp_path):
    job_id, _ = mlp.submit("--name", unique("gang-fail"), "--kind", "training", "--replicas", "3",
                           "--env", f"OUT={tmp_path}", "--", "sh", "-c",
                           RECORD + '\n[ "$RANK" = 2 ] && { sleep 1; exit 5; }\nsleep 60', wait=False)
    job = mlp.wait_state(job_id, {"SUCCEEDED", "FAILED", "CANCELLED"}, timeout=60)
    assert job["state"] == "FAILED", job
    assert job["exit_code"] == 5
    assert job["reason"] == "rank 2 exited with 5; the group of 3 was stopped"
    # (Rank 2 waits a second before failing, so that every rank has started by then.)
    assert sorted(starts(tmp_path, 1)) == [0, 1, 2]


def test_distributed_specs_are_checked(mlp):
    for args, needle in [
        (["--kind", "training", "--replicas", "65"], "replicas must be at most 64"),
        (["--kind", "training", "--processes-per-replica", "17"], "processes_per_replica must be at most 16"),
        (["--kind", "data-processing", "--replicas", "2"], "data-processing jobs split their work with 'shards'"),
        (["--kind", "training", "--replica-logging", "everywhere", "--replicas", "2"], "expected child_runs or none"),
    ]:
        p = mlp("submit", "--name", unique("bad"), *args, "--", "true", check=False)
        assert p.returncode != 0 and needle in p.stderr, (args, p.stderr)
    # The API refuses the same with a 400 (not a 5xx, which the mlflow client would retry).
    r = requests.post(f"{mlp.uri}/api/v1/jobs", json={
        "name": unique("bad"), "kind": "training", "command": ["true"], "replicas": 2,
        "replica_logging": "sometimes"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    r = requests.post(f"{mlp.uri}/api/v1/jobs", json={
        "name": unique("bad"), "kind": "training", "command": ["true"], "replicas": 100}, timeout=30)
    assert r.status_code == 400 and "replicas must be at most 64" in r.json()["message"], r.text


STOPPABLE = RECORD + '''
trap 'echo "$RANK" > "$OUT/stopped-$MLP_JOB_ATTEMPT-$RANK"; exit 143' TERM
sleep 60 & wait'''


def test_cancel_and_timeout_stop_every_rank(mlp, tmp_path):
    cancelled, timed_out = tmp_path / "cancel", tmp_path / "timeout"
    cancelled.mkdir()
    timed_out.mkdir()
    job_id, _ = mlp.submit("--name", unique("gang-cancel"), "--kind", "training", "--replicas", "2",
                           "--env", f"OUT={cancelled}", "--", "sh", "-c", STOPPABLE, wait=False)
    deadline = time.monotonic() + 60
    while len(starts(cancelled, 1)) < 2:
        assert time.monotonic() < deadline, mlp.get(job_id)
        time.sleep(0.2)
    mlp("cancel", job_id)
    assert mlp.wait_state(job_id, {"CANCELLED", "FAILED", "SUCCEEDED"}, timeout=60)["state"] == "CANCELLED"
    assert sorted(p.name for p in cancelled.glob("stopped-*")) == ["stopped-1-0", "stopped-1-1"]

    job_id, _ = mlp.submit("--name", unique("gang-timeout"), "--kind", "training", "--replicas", "2",
                           "--timeout", "3", "--env", f"OUT={timed_out}", "--", "sh", "-c", STOPPABLE,
                           wait=False)
    job = mlp.wait_state(job_id, {"CANCELLED", "FAILED", "SUCCEEDED"}, timeout=60)
    assert job["state"] == "FAILED" and job["reason"] == "timed out after 3s", job
    assert sorted(p.name for p in timed_out.glob("stopped-*")) == ["stopped-1-0", "stopped-1-1"]
