"""Runs and logging through the real mlflow client: fluent API and MlflowClient."""

from __future__ import annotations

import math
import time

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.experiment_id == "0"
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    by_name = client.get_experiment_by_name("Default")
    assert by_name is not None and by_name.experiment_id == "0"


def test_set_experiment_creates_then_reuses(tracking_uri, exp_name, client):
    assert client.get_experiment_by_name(exp_name) is None  # 404 RESOURCE_DOES_NOT_EXIST -> None
    exp = mlflow.set_experiment(exp_name)
    assert exp.name == exp_name
    assert exp.lifecycle_stage == "active"
    assert exp.experiment_id and exp.experiment_id != "0"
    again = mlflow.set_experiment(exp_name)
    assert again.experiment_id == exp.experiment_id
    assert client.get_experiment(exp.experiment_id).name == exp_name
    assert exp.artifact_location  # server-chosen


def test_start_run_and_end_run(experiment_id, client):
    with mlflow.start_run(run_name="train-1") as run:
        run_id = run.info.run_id
        assert run.info.status == "RUNNING"
        assert run.info.experiment_id == experiment_id
        assert run.info.run_name == "train-1"
        assert len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id)
        assert run.info.artifact_uri
    got = client.get_run(run_id)
    assert got.info.run_id == run_id
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.info.lifecycle_stage == "active"
    assert got.data.tags["mlflow.runName"] == "train-1"
    assert "mlflow.user" in got.data.tags
    assert "mlflow.source.type" in got.data.tags


def test_failed_run_status(experiment_id, client):
    with pytest.raises(RuntimeError):
        with mlflow.start_run() as run:
            raise RuntimeError("boom")
    assert client.get_run(run.info.run_id).info.status == "FAILED"


def test_nested_runs_parent_tag(experiment_id, client):
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child-a", nested=True) as a:
            pass
        with mlflow.start_run(run_name="child-b", nested=True) as b:
            pass
    pid = parent.info.run_id
    for child in (a, b):
        got = client.get_run(child.info.run_id)
        assert got.data.tags["mlflow.parentRunId"] == pid
        assert got.info.status == "FINISHED"
    assert "mlflow.parentRunId" not in client.get_run(pid).data.tags
    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{pid}'")
    assert sorted(r.info.run_name for r in children) == ["child-a", "child-b"]


def test_log_params_metrics_tags_fluent(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_param("C", 0.5)
        mlflow.log_params({"solver": "lbfgs", "max_iter": 200})
        mlflow.log_metric("loss", 0.9, step=0)
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metrics({"acc": 0.8, "f1": 0.75}, step=1)
        mlflow.set_tag("team", "ml")
        mlflow.set_tags({"a": "1", "b": 2})
    data = client.get_run(run.info.run_id).data
    assert data.params == {"C": "0.5", "solver": "lbfgs", "max_iter": "200"}
    # run data holds the LATEST value per key
    assert data.metrics == {"loss": 0.5, "acc": 0.8, "f1": 0.75}
    assert data.tags["team"] == "ml"
    assert data.tags["a"] == "1" and data.tags["b"] == "2"


def test_latest_metric_is_highest_step_not_last_logged(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 3.0, step=5)
        mlflow.log_metric("m", 1.0, step=2)  # logged later, but an older step
    run_id = run.info.run_id
    assert client.get_run(run_id).data.metrics["m"] == 3.0
    hist = client.get_metric_history(run_id, "m")
    assert sorted((h.step, h.value) for h in hist) == [(2, 1.0), (5, 3.0)]


def test_log_batch_client(experiment_id, client):
    run = client.create_run(experiment_id, run_name="batch")
    run_id = run.info.run_id
    ts = 1_700_000_000_000
    metrics = [Metric("loss", 1.0 / (i + 1), ts + i, i) for i in range(50)]
    params = [Param(f"p{i}", str(i)) for i in range(20)]
    tags = [RunTag(f"t{i}", f"v{i}") for i in range(10)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    # replaying the exact same batch is harmless (the client retries POSTs)
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run_id)

    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {f"p{i}": str(i) for i in range(20)}
    for i in range(10):
        assert got.data.tags[f"t{i}"] == f"v{i}"
    assert got.data.metrics["loss"] == pytest.approx(1.0 / 50)
    hist = client.get_metric_history(run_id, "loss")
    steps = sorted({h.step for h in hist})
    assert steps == list(range(50))
    assert len(hist) == 50  # the replayed batch added no duplicate points
    by_step = {h.step: h for h in hist}
    assert by_step[7].value == pytest.approx(1.0 / 8)
    assert by_step[7].timestamp == ts + 7


def test_log_batch_many_metrics_chunked(experiment_id, client):
    """More than 1000 metrics: the client splits into several log-batch calls."""
    run_id = client.create_run(experiment_id).info.run_id
    ts = 1_700_000_000_000
    metrics = [Metric("big", float(i), ts + i, i) for i in range(2500)]
    client.log_batch(run_id, metrics=metrics)
    hist = client.get_metric_history(run_id, "big")
    assert len(hist) == 2500
    assert sorted(h.step for h in hist) == list(range(2500))
    assert client.get_run(run_id).data.metrics["big"] == 2499.0


def test_metric_history_nan_inf_and_int64(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    big_ts = 4_102_444_800_000  # year 2100 in ms, > 2**31
    client.log_metric(run_id, "v", 1.5, timestamp=big_ts, step=0)
    client.log_metric(run_id, "v", float("nan"), timestamp=big_ts + 1, step=1)
    client.log_metric(run_id, "v", -2.0, timestamp=big_ts + 2, step=2**40)
    client.log_metric(run_id, "v", 0.0, timestamp=big_ts + 3, step=3)
    hist = sorted(client.get_metric_history(run_id, "v"), key=lambda m: m.step)
    assert [h.step for h in hist] == [0, 1, 3, 2**40]
    assert hist[0].value == 1.5 and hist[0].timestamp == big_ts
    assert math.isnan(hist[1].value)
    assert hist[2].value == 0.0
    assert hist[3].value == -2.0 and hist[3].timestamp == big_ts + 2
    # latest = highest step
    assert client.get_run(run_id).data.metrics["v"] == -2.0


def test_metric_nan_latest(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "n", float("nan"), step=0)
    got = client.get_run(run_id).data.metrics["n"]
    assert math.isnan(got)


def test_metric_history_missing_key_is_empty(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    assert client.get_metric_history(run_id, "never-logged") == []


def test_same_param_value_is_idempotent_changed_value_rejected(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "lr", "0.1")
    client.log_param(run_id, "lr", "0.1")  # same value: fine
    client.log_batch(run_id, params=[Param("lr", "0.1")])  # same value in a batch: fine
    with pytest.raises(MlflowException) as ei:
        client.log_param(run_id, "lr", "0.2")
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as ei:
        client.log_batch(run_id, params=[Param("lr", "0.3")])
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params["lr"] == "0.1"


def test_long_param_value_truncated(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "long", "x" * 6000)
    assert client.get_run(run_id).data.params["long"] == "x" * 6000


def test_set_tag_overwrites_and_delete_tag(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "k", "v1")
    client.set_tag(run_id, "k", "v2")
    client.set_tag(run_id, "keep", "yes")
    assert client.get_run(run_id).data.tags["k"] == "v2"
    client.delete_tag(run_id, "k")
    tags = client.get_run(run_id).data.tags
    assert "k" not in tags and tags["keep"] == "yes"
    with pytest.raises(MlflowException) as ei:
        client.delete_tag(run_id, "k")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_update_run_name_and_status(experiment_id, client):
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    client.update_run(run_id, name="after")
    got = client.get_run(run_id)
    assert got.info.run_name == "after"
    assert got.data.tags["mlflow.runName"] == "after"
    assert got.info.status == "RUNNING"
    end = int(time.time() * 1000)
    client.set_terminated(run_id, status="KILLED", end_time=end)
    got = client.get_run(run_id)
    assert got.info.status == "KILLED"
    assert got.info.end_time == end


def test_create_run_explicit_fields(experiment_id, client):
    st = 1_600_000_000_123
    run = client.create_run(experiment_id, start_time=st, tags={"x": "y"}, run_name="explicit")
    got = client.get_run(run.info.run_id)
    assert got.info.start_time == st
    assert got.info.run_name == "explicit"
    assert got.data.tags["x"] == "y"
    assert got.info.experiment_id == experiment_id
    assert RunStatus.from_string(got.info.status) == RunStatus.RUNNING


def test_delete_and_restore_run(experiment_id, client):
    from mlflow.entities import ViewType

    keep = client.create_run(experiment_id).info.run_id
    gone = client.create_run(experiment_id).info.run_id
    client.delete_run(gone)
    got = client.get_run(gone)  # deleted runs are still readable
    assert got.info.lifecycle_stage == "deleted"

    def ids(view):
        return {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=view)}

    assert ids(ViewType.ACTIVE_ONLY) == {keep}
    assert ids(ViewType.DELETED_ONLY) == {gone}
    assert ids(ViewType.ALL) == {keep, gone}

    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert ids(ViewType.ACTIVE_ONLY) == {keep, gone}
    assert ids(ViewType.DELETED_ONLY) == set()


def test_missing_run_errors(experiment_id, client):
    missing = "0" * 32
    for call in (
        lambda: client.get_run(missing),
        lambda: client.log_param(missing, "a", "b"),
        lambda: client.log_metric(missing, "a", 1.0),
        lambda: client.set_tag(missing, "a", "b"),
        lambda: client.delete_run(missing),
    ):
        with pytest.raises(MlflowException) as ei:
            call()
        assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_log_to_finished_run_still_allowed_for_tags(experiment_id, client):
    with mlflow.start_run() as run:
        pass
    client.set_tag(run.info.run_id, "post", "hoc")
    assert client.get_run(run.info.run_id).data.tags["post"] == "hoc"


def test_log_to_deleted_run_rejected(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    with pytest.raises(MlflowException) as ei:
        client.log_param(run_id, "a", "b")
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"


def test_run_ids_unique(experiment_id, client):
    ids = {client.create_run(experiment_id).info.run_id for _ in range(10)}
    assert len(ids) == 10
