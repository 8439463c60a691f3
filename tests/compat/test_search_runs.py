"""search_runs: the filter grammar, order_by (default + tie-break, NaN/None last), paging."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

T0 = 1_700_000_000_000


@pytest.fixture
def populated(client, experiment_id):
    """Five runs with known fields; start_time increases with the index."""
    specs = [
        # name,     loss,          lr,     model,        team,    status
        ("run-a", 0.50, "0.1", "LogReg", "red", "FINISHED"),
        ("run-b", 0.20, "0.01", "logreg-v2", "blue", "FINISHED"),
        ("run-c", float("nan"), "0.1", "Tree", "red", "FAILED"),
        ("run-d", 0.90, "0.001", "forest", None, "RUNNING"),
        ("run-e", None, "0.5", "tree-big", "blue", "FINISHED"),
    ]
    runs = {}
    for i, (name, loss, lr, model, team, status) in enumerate(specs):
        run = client.create_run(experiment_id, run_name=name, start_time=T0 + i * 1000)
        rid = run.info.run_id
        metrics = [Metric("acc", 0.5 + i / 10, T0, 0)]
        if loss is not None:
            metrics.append(Metric("loss", loss, T0, 1))
        tags = [RunTag("team", team)] if team is not None else []
        tags.append(RunTag("mlflow.note.content", "x"))
        client.log_batch(rid, metrics=metrics, params=[Param("lr", lr), Param("model", model)], tags=tags)
        if status != "RUNNING":
            client.set_terminated(rid, status=status, end_time=T0 + i * 1000 + 500)
        runs[name] = rid
    return experiment_id, runs


def _names(runs):
    return [r.info.run_name for r in runs]


@pytest.mark.parametrize(
    "flt,expected",
    [
        ("metrics.loss < 0.6", ["run-a", "run-b"]),
        ("metrics.loss >= 0.5", ["run-a", "run-d"]),
        ("metrics.loss = 0.2", ["run-b"]),
        ("metrics.loss != 0.2", ["run-a", "run-c", "run-d"]),  # NaN matches !=, a missing metric never does
        ("metrics.acc > 0.75", ["run-d", "run-e"]),
        ("metrics.acc <= 0.6", ["run-a", "run-b"]),
        ("metric.acc > 0.85", ["run-e"]),
        ("params.lr = '0.1'", ["run-a", "run-c"]),
        ("params.lr != '0.1'", ["run-b", "run-d", "run-e"]),
        ("param.lr = \"0.01\"", ["run-b"]),
        ("params.model LIKE 'LogReg%'", ["run-a"]),
        ("params.model LIKE '%ree%'", ["run-c", "run-e"]),
        ("params.model LIKE 'tree%'", ["run-e"]),
        ("params.model LIKE '%og%'", ["run-a", "run-b"]),
        ("params.model ILIKE 'logreg%'", ["run-a", "run-b"]),
        ("params.model ILIKE '%TREE%'", ["run-c", "run-e"]),
        ("params.model LIKE 'fores_'", ["run-d"]),
        ("tags.team = 'red'", ["run-a", "run-c"]),
        ("tags.team != 'red'", ["run-b", "run-e"]),
        ("tag.team LIKE 'bl%'", ["run-b", "run-e"]),
        ("tags.team ILIKE 'RED'", ["run-a", "run-c"]),
        ("tags.`team` = 'blue'", ["run-b", "run-e"]),
        ('tags."team" = \'blue\'', ["run-b", "run-e"]),
        ("tags.`mlflow.note.content` = 'x'", ["run-a", "run-b", "run-c", "run-d", "run-e"]),
        ("attributes.status = 'FINISHED'", ["run-a", "run-b", "run-e"]),
        ("attributes.status != 'FINISHED'", ["run-c", "run-d"]),
        ("status = 'FAILED'", ["run-c"]),
        ("attributes.run_name = 'run-b'", ["run-b"]),
        ("attributes.run_name LIKE 'run-%'", ["run-a", "run-b", "run-c", "run-d", "run-e"]),
        ("attributes.run_name ILIKE 'RUN-C'", ["run-c"]),
        ("run_name != 'run-a'", ["run-b", "run-c", "run-d", "run-e"]),
        ("attributes.`Run name` = 'run-d'", ["run-d"]),
        (f"attributes.start_time >= {T0 + 3000}", ["run-d", "run-e"]),
        (f"attributes.start_time < {T0 + 1000}", ["run-a"]),
        (f"attributes.end_time <= {T0 + 1500}", ["run-a", "run-b"]),
        ("metrics.loss < 0.6 and params.lr = '0.1' and tags.team = 'red' and attributes.status = 'FINISHED'",
         ["run-a"]),
        ("params.lr = '0.1' AND metrics.acc > 0.6", ["run-c"]),
        ("", ["run-a", "run-b", "run-c", "run-d", "run-e"]),
    ],
)
def test_search_runs_filters(client, populated, flt, expected):
    eid, _ = populated
    got = client.search_runs([eid], filter_string=flt)
    assert sorted(_names(got)) == expected


def test_search_runs_run_id_in(client, populated):
    eid, runs = populated
    flt = f"attributes.run_id IN ('{runs['run-a']}', '{runs['run-d']}')"
    assert sorted(_names(client.search_runs([eid], flt))) == ["run-a", "run-d"]
    flt = f"attributes.run_id NOT IN ('{runs['run-a']}', '{runs['run-d']}')"
    assert sorted(_names(client.search_runs([eid], flt))) == ["run-b", "run-c", "run-e"]
    flt = f"run_id = '{runs['run-e']}'"
    assert _names(client.search_runs([eid], flt)) == ["run-e"]


def test_search_runs_param_tag_null(client, populated):
    eid, _ = populated
    assert sorted(_names(client.search_runs([eid], "tags.team IS NULL"))) == ["run-d"]
    assert sorted(_names(client.search_runs([eid], "tags.team IS NOT NULL"))) == ["run-a", "run-b", "run-c", "run-e"]
    assert sorted(_names(client.search_runs([eid], "params.missing IS NULL"))) == [
        "run-a", "run-b", "run-c", "run-d", "run-e"]


def test_search_runs_default_order_start_time_desc(client, populated):
    eid, _ = populated
    assert _names(client.search_runs([eid])) == ["run-e", "run-d", "run-c", "run-b", "run-a"]


def test_search_runs_order_by_metric_nan_and_missing_last(client, populated):
    eid, _ = populated
    asc = _names(client.search_runs([eid], order_by=["metrics.loss ASC"]))
    assert asc[:3] == ["run-b", "run-a", "run-d"]
    assert set(asc[3:]) == {"run-c", "run-e"}
    desc = _names(client.search_runs([eid], order_by=["metrics.loss DESC"]))
    assert desc[:3] == ["run-d", "run-a", "run-b"]
    assert set(desc[3:]) == {"run-c", "run-e"}
    # NaN sorts before missing (None) in both directions in MLflow
    assert asc[3:] == ["run-c", "run-e"]
    assert desc[3:] == ["run-c", "run-e"]


def test_search_runs_order_by_param_tag_attribute(client, populated):
    eid, _ = populated
    assert _names(client.search_runs([eid], order_by=["params.model ASC"])) == [
        "run-a", "run-c", "run-d", "run-b", "run-e"]  # byte order: uppercase first
    assert _names(client.search_runs([eid], order_by=["attributes.start_time ASC"])) == [
        "run-a", "run-b", "run-c", "run-d", "run-e"]
    assert _names(client.search_runs([eid], order_by=["attributes.run_name DESC"])) == [
        "run-e", "run-d", "run-c", "run-b", "run-a"]
    # ties on the key are broken by start_time DESC, then run_id
    assert _names(client.search_runs([eid], order_by=["params.lr ASC"])) == [
        "run-d", "run-b", "run-c", "run-a", "run-e"]
    # missing tag sorts last
    assert _names(client.search_runs([eid], order_by=["tags.team ASC"])) == [
        "run-e", "run-b", "run-c", "run-a", "run-d"]
    assert _names(client.search_runs([eid], order_by=["tags.team DESC", "attributes.start_time ASC"])) == [
        "run-a", "run-c", "run-b", "run-e", "run-d"]
    assert _names(client.search_runs([eid], order_by=["metrics.acc DESC"])) == [
        "run-e", "run-d", "run-c", "run-b", "run-a"]


def test_search_runs_tie_break_run_id(client, experiment_id):
    ids = [client.create_run(experiment_id, start_time=T0).info.run_id for _ in range(6)]
    got = [r.info.run_id for r in client.search_runs([experiment_id])]
    assert got == sorted(ids)  # same start_time -> run_id ASC
    got = [r.info.run_id for r in client.search_runs([experiment_id], order_by=["attributes.start_time DESC"])]
    assert got == sorted(ids)


def test_search_runs_paging(client, experiment_id):
    ids = []
    for i in range(7):
        ids.append(client.create_run(experiment_id, run_name=f"p{i}", start_time=T0 + i).info.run_id)
    expected = list(reversed(ids))  # start_time DESC
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs([experiment_id], max_results=3, page_token=token)
        pages += 1
        assert len(page) <= 3
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
        assert pages < 10
    assert pages == 3
    assert seen == expected

    # MLflow only hands out a token when more results exist: an exactly full last page has none
    six = ", ".join(f"'{r}'" for r in ids[:6])
    first = client.search_runs([experiment_id], f"attributes.run_id IN ({six})", max_results=3)
    assert len(first) == 3 and first.token
    second = client.search_runs([experiment_id], f"attributes.run_id IN ({six})", max_results=3,
                                page_token=first.token)
    assert len(second) == 3 and not second.token
    assert [r.info.run_id for r in first] + [r.info.run_id for r in second] == list(reversed(ids[:6]))

    # paging with a filter and an order_by
    seen, token = [], None
    while True:
        page = client.search_runs([experiment_id], "attributes.run_name LIKE 'p%'",
                                  order_by=["attributes.run_name ASC"], max_results=2, page_token=token)
        seen += [r.info.run_name for r in page]
        token = page.token
        if not token:
            break
    assert seen == [f"p{i}" for i in range(7)]


def test_search_runs_pandas_api(experiment_id, client):
    with mlflow.start_run(run_name="df-1"):
        mlflow.log_metric("loss", 0.3)
        mlflow.log_param("lr", "0.1")
        mlflow.set_tag("team", "red")
    with mlflow.start_run(run_name="df-2"):
        mlflow.log_metric("loss", 0.7)
        mlflow.log_param("lr", "0.2")
    df = mlflow.search_runs(experiment_ids=[experiment_id], order_by=["metrics.loss ASC"])
    assert list(df["tags.mlflow.runName"]) == ["df-1", "df-2"]
    assert list(df["metrics.loss"]) == [0.3, 0.7]
    assert list(df["params.lr"]) == ["0.1", "0.2"]
    runs = mlflow.search_runs(experiment_names=[client.get_experiment(experiment_id).name],
                              filter_string="metrics.loss > 0.5", output_format="list")
    assert [r.info.run_name for r in runs] == ["df-2"]


def test_search_runs_multiple_experiments(client, exp_name):
    e1 = client.create_experiment(exp_name + "-1")
    e2 = client.create_experiment(exp_name + "-2")
    r1 = client.create_run(e1, start_time=T0).info.run_id
    r2 = client.create_run(e2, start_time=T0 + 1).info.run_id
    got = [r.info.run_id for r in client.search_runs([e1, e2])]
    assert got == [r2, r1]


def test_search_runs_deleted_view_types(client, experiment_id):
    a = client.create_run(experiment_id, run_name="alive").info.run_id
    d = client.create_run(experiment_id, run_name="dead").info.run_id
    client.delete_run(d)
    assert _names(client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY)) == ["alive"]
    assert _names(client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)) == ["dead"]
    assert sorted(_names(client.search_runs([experiment_id], run_view_type=ViewType.ALL))) == ["alive", "dead"]
    assert a


@pytest.mark.parametrize(
    "flt",
    [
        "metrics.loss > 1 OR metrics.loss < 0",
        "(metrics.loss > 1)",
        "metrics.loss > 'abc'",
        "params.lr > '0.1'",
        "tags.team IN ('red')",
        "attributes.status IN ('FAILED', 'RUNNING')",
        "foo.bar = 'x'",
        "attributes.nope = 'x'",
        "metrics.loss >> 1",
        "params.lr = 0.1",
        "attributes.status IS NULL",
    ],
)
def test_search_runs_bad_filter(client, experiment_id, flt):
    with pytest.raises(MlflowException) as ei:
        client.search_runs([experiment_id], filter_string=flt)
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("order", ["metrics.loss SIDEWAYS", "foo.bar", "attributes.nope ASC"])
def test_search_runs_bad_order_by(client, experiment_id, order):
    with pytest.raises(MlflowException) as ei:
        client.search_runs([experiment_id], order_by=[order])
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_runs_max_results_over_limit(client, experiment_id):
    with pytest.raises(MlflowException) as ei:
        client.search_runs([experiment_id], max_results=50001)
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
