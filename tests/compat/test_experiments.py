"""Experiments: create, get, rename, tags, delete/restore, search with filters and paging."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from conftest import unique


def test_create_get_by_id_and_name(client, exp_name):
    eid = client.create_experiment(exp_name, tags={"owner": "compat", "k": "v"})
    assert isinstance(eid, str) and eid != "0"
    exp = client.get_experiment(eid)
    assert exp.name == exp_name
    assert exp.lifecycle_stage == "active"
    assert exp.tags["owner"] == "compat" and exp.tags["k"] == "v"
    assert exp.creation_time is not None and exp.last_update_time is not None
    assert exp.artifact_location
    by_name = client.get_experiment_by_name(exp_name)
    assert by_name.experiment_id == eid


def test_duplicate_experiment_rejected(client, exp_name):
    client.create_experiment(exp_name)
    with pytest.raises(MlflowException) as ei:
        client.create_experiment(exp_name)
    assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_missing_experiment_errors(client):
    with pytest.raises(MlflowException) as ei:
        client.get_experiment("987654321")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name(unique("nope")) is None
    with pytest.raises(MlflowException) as ei:
        client.delete_experiment("987654321")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_rename_experiment(client, exp_name):
    eid = client.create_experiment(exp_name)
    new_name = exp_name + "-renamed"
    client.rename_experiment(eid, new_name)
    assert client.get_experiment(eid).name == new_name
    assert client.get_experiment_by_name(new_name).experiment_id == eid
    assert client.get_experiment_by_name(exp_name) is None


def test_rename_to_existing_name_rejected(client, exp_name):
    a = client.create_experiment(exp_name + "-a")
    client.create_experiment(exp_name + "-b")
    with pytest.raises(MlflowException) as ei:
        client.rename_experiment(a, exp_name + "-b")
    # MLflow answers HTTP 400 BAD_REQUEST (a leaked sqlite IntegrityError); any 4xx code is fine
    assert ei.value.error_code in ("RESOURCE_ALREADY_EXISTS", "INVALID_PARAMETER_VALUE", "BAD_REQUEST")
    assert client.get_experiment(a).name == exp_name + "-a"


def test_experiment_tags(client, exp_name):
    eid = client.create_experiment(exp_name)
    client.set_experiment_tag(eid, "stage", "dev")
    client.set_experiment_tag(eid, "stage", "prod")  # overwrite
    mlflow.set_experiment(experiment_id=eid)
    mlflow.set_experiment_tags({"x": "1", "y": "2"})
    tags = client.get_experiment(eid).tags
    assert tags["stage"] == "prod" and tags["x"] == "1" and tags["y"] == "2"
    client.delete_experiment_tag(eid, "x")
    tags = client.get_experiment(eid).tags
    assert "x" not in tags and tags["y"] == "2"


def test_delete_and_restore_experiment(client, exp_name):
    eid = client.create_experiment(exp_name)
    run_id = client.create_run(eid).info.run_id
    client.delete_experiment(eid)
    exp = client.get_experiment(eid)
    assert exp.lifecycle_stage == "deleted"
    # still findable by name, as deleted
    assert client.get_experiment_by_name(exp_name).lifecycle_stage == "deleted"
    flt = f"name = '{exp_name}'"
    assert client.search_experiments(filter_string=flt) == []
    assert [e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=flt)] == [eid]
    assert [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL, filter_string=flt)] == [eid]
    # the name stays taken while deleted
    with pytest.raises(MlflowException) as ei:
        client.create_experiment(exp_name)
    assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"
    # runs of a deleted experiment are deleted too
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"

    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    assert [e.experiment_id for e in client.search_experiments(filter_string=flt)] == [eid]
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_search_experiments_filters(client):
    prefix = unique("compat-sx")
    ids = {}
    for i, (team, tier) in enumerate([("red", "gold"), ("blue", "gold"), ("red", "silver")]):
        name = f"{prefix}-{i}-{team}"
        ids[name] = client.create_experiment(name, tags={"team": team, "tier": tier})

    def names(flt, **kw):
        return sorted(e.name for e in client.search_experiments(filter_string=flt, **kw))

    assert names(f"name LIKE '{prefix}-%'") == sorted(ids)
    assert names(f"name ILIKE '{prefix.upper()}-%'") == sorted(ids)
    assert names(f"name LIKE '{prefix}-%' AND tags.team = 'red'") == [f"{prefix}-0-red", f"{prefix}-2-red"]
    assert names(f"name LIKE '{prefix}-%' AND tags.team != 'red'") == [f"{prefix}-1-blue"]
    assert names(f"name LIKE '{prefix}-%' AND tags.tier LIKE 'gol%' AND tags.team = 'blue'") == [f"{prefix}-1-blue"]
    assert names(f"name = '{prefix}-1-blue'") == [f"{prefix}-1-blue"]
    assert names(f"name LIKE '{prefix}-%' AND tags.missing IS NULL") == sorted(ids)
    assert names(f"name LIKE '{prefix}-%' AND tags.team IS NOT NULL") == sorted(ids)
    assert names(f"name LIKE '{prefix}-%' AND tags.`team` ILIKE 'RE%'") == [f"{prefix}-0-red", f"{prefix}-2-red"]
    assert names(f"name LIKE '{prefix}-%' AND creation_time > 0") == sorted(ids)


def test_search_experiments_order_and_paging(client):
    prefix = unique("compat-sxp")
    names = [f"{prefix}-{c}" for c in "edcbag"]  # created in non-alphabetical order
    for n in names:
        client.create_experiment(n)
    flt = f"name LIKE '{prefix}-%'"

    asc = client.search_experiments(filter_string=flt, order_by=["name ASC"])
    assert [e.name for e in asc] == sorted(names)
    desc = client.search_experiments(filter_string=flt, order_by=["name DESC"])
    assert [e.name for e in desc] == sorted(names, reverse=True)

    # default order: last_update_time DESC then experiment_id DESC -> newest first
    default = client.search_experiments(filter_string=flt)
    assert [e.name for e in default] == list(reversed(names))

    seen, token, pages = [], None, 0
    while True:
        page = client.search_experiments(filter_string=flt, order_by=["name ASC"], max_results=4, page_token=token)
        pages += 1
        assert len(page) <= 4
        seen += [e.name for e in page]
        token = page.token
        if not token:
            break
        assert pages < 10
    assert pages == 2
    assert seen == sorted(names)

    # exactly full last page: no token
    first = client.search_experiments(filter_string=flt, order_by=["name ASC"], max_results=3)
    assert len(first) == 3 and first.token
    second = client.search_experiments(filter_string=flt, order_by=["name ASC"], max_results=3, page_token=first.token)
    assert len(second) == 3 and not second.token


def test_search_experiments_bad_filter(client):
    for flt in ("name = 'a' OR name = 'b'", "foo.bar = 'x'", "name >< 'x'"):
        with pytest.raises(MlflowException) as ei:
            client.search_experiments(filter_string=flt)
        assert ei.value.error_code == "INVALID_PARAMETER_VALUE", flt
