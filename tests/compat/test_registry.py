"""Model registry (issue 3) through the real mlflow client.

Select with `-k registry` or by file; kept separate because the registry may land later than tracking.
"""

from __future__ import annotations

import uuid
import warnings

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from conftest import unique

PIP_REQS = ["mlflow==3.17.2", "scikit-learn", "skops"]
API = "/api/2.0/mlflow"

warnings.filterwarnings("ignore", category=FutureWarning)


@pytest.fixture(scope="module")
def trained(tracking_uri, iris):
    """One run with a logged sklearn model, shared (read-only) by the registry tests."""
    X, y, model = iris
    exp = mlflow.set_experiment(unique("compat-registry"))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="model", input_example=X.head(3), pip_requirements=PIP_REQS)
    return {
        "experiment_id": exp.experiment_id,
        "run_id": run.info.run_id,
        "info": info,
        "X": X,
        "expected": model.predict(X),
    }


def _pred(uri, X):
    return np.asarray(mlflow.pyfunc.load_model(uri).predict(X))


def test_register_from_run_and_logged_model_versions(client, trained, model_name):
    run_id = trained["run_id"]
    info = trained["info"]
    v1 = mlflow.register_model(f"runs:/{run_id}/model", model_name)
    assert v1.name == model_name and v1.version == "1"
    assert v1.status == "READY"
    assert v1.run_id == run_id
    v2 = mlflow.register_model(info.model_uri, model_name)  # models:/m-<id>
    assert v2.version == "2"
    assert v2.run_id == run_id  # resolved from the logged model's source run
    assert v2.source == info.model_uri  # "models:/m-<id>"

    rm = client.get_registered_model(model_name)
    assert rm.name == model_name
    assert [(mv.version, mv.current_stage) for mv in rm.latest_versions] == [("2", "None")]

    mv = client.get_model_version(model_name, "1")
    assert mv.version == "1" and mv.current_stage == "None" and mv.status == "READY"

    # registering a logged model tags it with its registrations
    lm = mlflow.get_logged_model(info.model_id)
    assert model_name in lm.tags.get("mlflow.modelVersions", "")


def test_load_by_version_alias_and_stage(client, trained, model_name):
    X, expected = trained["X"], trained["expected"]
    mlflow.register_model(f"runs:/{trained['run_id']}/model", model_name)
    mlflow.register_model(trained["info"].model_uri, model_name)

    np.testing.assert_array_equal(_pred(f"models:/{model_name}/1", X), expected)
    np.testing.assert_array_equal(_pred(f"models:/{model_name}/2", X), expected)

    client.set_registered_model_alias(model_name, "champion", "1")
    mv = client.get_model_version_by_alias(model_name, "champion")
    assert mv.version == "1"
    assert "champion" in mv.aliases
    np.testing.assert_array_equal(_pred(f"models:/{model_name}@champion", X), expected)
    assert client.get_registered_model(model_name).aliases == {"champion": "1"}

    # an alias moves between versions
    client.set_registered_model_alias(model_name, "champion", "2")
    assert client.get_model_version_by_alias(model_name, "champion").version == "2"
    assert client.get_model_version(model_name, "1").aliases == []
    assert client.get_registered_model(model_name).aliases == {"champion": "2"}

    client.transition_model_version_stage(model_name, "2", "Production")
    assert client.get_model_version(model_name, "2").current_stage == "Production"
    np.testing.assert_array_equal(_pred(f"models:/{model_name}/Production", X), expected)
    sk = mlflow.sklearn.load_model(f"models:/{model_name}@champion")
    np.testing.assert_array_equal(sk.predict(X), expected)

    uri = client.get_model_version_download_uri(model_name, "2")
    assert uri

    client.delete_registered_model_alias(model_name, "champion")
    assert client.get_registered_model(model_name).aliases == {}
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(model_name, "champion")


def test_stages_latest_versions_and_archive(client, trained, model_name):
    for _ in range(3):
        mlflow.register_model(trained["info"].model_uri, model_name)
    client.transition_model_version_stage(model_name, "1", "Production")
    client.transition_model_version_stage(model_name, "2", "Staging")
    latest = {mv.current_stage: mv.version for mv in client.get_registered_model(model_name).latest_versions}
    assert latest == {"Production": "1", "Staging": "2", "None": "3"}
    assert [mv.version for mv in client.get_latest_versions(model_name, stages=["Production"])] == ["1"]
    assert sorted(mv.version for mv in client.get_latest_versions(model_name)) == ["1", "2", "3"]

    # archive_existing_versions moves the current Production version to Archived
    client.transition_model_version_stage(model_name, "3", "Production", archive_existing_versions=True)
    stages = {v: client.get_model_version(model_name, v).current_stage for v in ("1", "2", "3")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}
    # without archiving, two versions can share a stage; latest is the highest version
    client.transition_model_version_stage(model_name, "1", "Staging", archive_existing_versions=False)
    assert [mv.version for mv in client.get_latest_versions(model_name, stages=["Staging"])] == ["2"]
    assert client.get_model_version(model_name, "2").current_stage == "Staging"

    with pytest.raises(MlflowException) as ei:
        client.transition_model_version_stage(model_name, "1", "Bogus")
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"


def test_create_model_version_from_runs_source_kept(client, trained, model_name):
    client.create_registered_model(model_name, description="desc", tags={"team": "red"})
    src = f"runs:/{trained['run_id']}/model"
    mv = client.create_model_version(model_name, src, run_id=trained["run_id"], description="first")
    assert mv.version == "1"
    assert mv.source == src
    assert mv.description == "first"
    assert mv.run_id == trained["run_id"]
    rm = client.get_registered_model(model_name)
    assert rm.description == "desc"
    assert rm.tags == {"team": "red"}
    # a runs:/ source is kept as given and is what get-download-uri answers
    assert client.get_model_version_download_uri(model_name, "1") == src


def test_registered_model_and_version_tags_update_rename(client, trained, model_name):
    mlflow.register_model(trained["info"].model_uri, model_name)
    client.set_registered_model_tag(model_name, "owner", "compat")
    client.set_registered_model_tag(model_name, "drop", "me")
    client.delete_registered_model_tag(model_name, "drop")
    assert client.get_registered_model(model_name).tags == {"owner": "compat"}

    client.set_model_version_tag(model_name, "1", "validated", "yes")
    client.set_model_version_tag(model_name, "1", "tmp", "x")
    client.delete_model_version_tag(model_name, "1", "tmp")
    assert client.get_model_version(model_name, "1").tags == {"validated": "yes"}

    client.update_registered_model(model_name, description="new description")
    assert client.get_registered_model(model_name).description == "new description"
    client.update_model_version(model_name, "1", description="v1 description")
    assert client.get_model_version(model_name, "1").description == "v1 description"

    new_name = model_name + "-renamed"
    client.rename_registered_model(model_name, new_name)
    rm = client.get_registered_model(new_name)
    assert rm.tags == {"owner": "compat"}
    assert client.get_model_version(new_name, "1").name == new_name
    with pytest.raises(MlflowException) as ei:
        client.get_registered_model(model_name)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_registered_models(client):
    prefix = unique("compat-srm")
    names = [f"{prefix}-{s}" for s in ("c", "a", "b")]
    for i, n in enumerate(names):
        client.create_registered_model(n, tags={"team": "red" if i % 2 == 0 else "blue", "idx": str(i)})

    def found(flt, **kw):
        return [m.name for m in client.search_registered_models(filter_string=flt, **kw)]

    assert found(f"name = '{names[0]}'") == [names[0]]
    assert found(f"name LIKE '{prefix}-%'") == sorted(names)  # default order: name ASC
    assert found(f"name ILIKE '{prefix.upper()}-%'") == sorted(names)
    assert found(f"name LIKE '{prefix}-%' AND tags.team = 'red'") == sorted([names[0], names[2]])
    assert found(f"name LIKE '{prefix}-%' AND tags.`team` != 'red'") == [names[1]]
    assert found(f"name LIKE '{prefix}-%' AND tags.idx LIKE '1%'") == [names[1]]
    assert found(f"name LIKE '{prefix}-%'", order_by=["name DESC"]) == sorted(names, reverse=True)
    assert found(f"name IN ('{names[0]}', '{names[1]}')") == sorted(names[:2])

    # paging
    seen, token = [], None
    while True:
        page = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2,
                                               page_token=token)
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == sorted(names)
    exact = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=3)
    assert len(exact) == 3 and not exact.token


def test_search_registered_models_tag_not_equal_semantics(client, api):
    """`tags.k != v` never matches a model WITHOUT tag k, except the prompt tag the client appends
    to every search (`AND tag.`mlflow.prompt.is_prompt` != 'true'`), which models lacking it pass."""
    p = unique("compat-srm-ne")
    client.create_registered_model(p + "-a", tags={"team": "red"})
    client.create_registered_model(p + "-b", tags={"team": "blue"})
    client.create_registered_model(p + "-c")  # no tags at all

    def raw(flt):
        r = api.get(f"{API}/registered-models/search", params={"filter": flt})
        assert r.status_code == 200, r.text
        return sorted(m["name"] for m in r.json().get("registered_models", []))

    assert raw(f"name LIKE '{p}-%' AND tags.team != 'red'") == [p + "-b"]
    assert raw(f"name LIKE '{p}-%' AND tags.team = 'red'") == [p + "-a"]
    assert raw(f"name LIKE '{p}-%' AND tags.team LIKE '%'") == [p + "-a", p + "-b"]
    assert raw(f"name LIKE '{p}-%' AND tag.`mlflow.prompt.is_prompt` != 'true'") == [p + "-a", p + "-b", p + "-c"]
    # through the client (which appends the prompt clause)
    assert sorted(m.name for m in client.search_registered_models(f"name LIKE '{p}-%'")) == [
        p + "-a", p + "-b", p + "-c"]
    assert [m.name for m in client.search_registered_models(f"name LIKE '{p}-%' AND tags.team != 'red'")] == [p + "-b"]


def test_search_model_versions(client, trained, model_name):
    other = model_name + "-other"
    for _ in range(3):
        mlflow.register_model(trained["info"].model_uri, model_name)
    mlflow.register_model(f"runs:/{trained['run_id']}/model", other)
    client.set_model_version_tag(model_name, "2", "tier", "gold")

    def found(flt, **kw):
        return sorted((mv.name, mv.version) for mv in client.search_model_versions(filter_string=flt, **kw))

    assert found(f"name = '{model_name}'") == [(model_name, v) for v in ("1", "2", "3")]
    assert found(f"name = '{model_name}' AND tags.tier = 'gold'") == [(model_name, "2")]
    assert found(f"name = '{model_name}' AND version_number > 1") == [(model_name, "2"), (model_name, "3")]
    assert found(f"name IN ('{model_name}', '{other}') AND version_number = 1") == [(model_name, "1"), (other, "1")]
    assert found(f"run_id = '{trained['run_id']}' AND name LIKE '{model_name}%'") == sorted(
        [(model_name, "1"), (model_name, "2"), (model_name, "3"), (other, "1")])
    assert found(f"run_id IN ('{trained['run_id']}') AND name = '{other}'") == [(other, "1")]
    ordered = client.search_model_versions(f"name = '{model_name}'", order_by=["version_number DESC"])
    assert [mv.version for mv in ordered] == ["3", "2", "1"]
    ordered = client.search_model_versions(f"name = '{model_name}'", order_by=["version_number ASC"])
    assert [mv.version for mv in ordered] == ["1", "2", "3"]

    with pytest.raises(MlflowException) as ei:
        client.search_model_versions("name = 'a' OR name = 'b'")
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_version_and_model(client, trained, model_name):
    for _ in range(2):
        mlflow.register_model(trained["info"].model_uri, model_name)
    client.set_registered_model_alias(model_name, "prod", "1")
    client.delete_model_version(model_name, "1")
    with pytest.raises(MlflowException) as ei:
        client.get_model_version(model_name, "1")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # the alias disappears with its version
    assert client.get_registered_model(model_name).aliases == {}
    assert [mv.version for mv in client.search_model_versions(f"name = '{model_name}'")] == ["2"]
    # version numbers are not reused
    assert mlflow.register_model(trained["info"].model_uri, model_name).version == "3"

    client.delete_registered_model(model_name)
    with pytest.raises(MlflowException) as ei:
        client.get_registered_model(model_name)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{model_name}'") == []
    assert client.search_registered_models(filter_string=f"name = '{model_name}'") == []


def test_registry_errors(client, trained, model_name):
    missing = unique("compat-missing-model")
    with pytest.raises(MlflowException) as ei:
        client.get_registered_model(missing)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as ei:
        client.get_model_version(missing, "1")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as ei:
        client.delete_registered_model(missing)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.create_registered_model(model_name)
    with pytest.raises(MlflowException) as ei:
        client.create_registered_model(model_name)
    assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as ei:
        client.get_model_version(model_name, "7")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as ei:
        client.get_model_version_by_alias(model_name, "nope")
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as ei:
        client.set_registered_model_alias(model_name, "a", "9")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException):
        mlflow.pyfunc.load_model(f"models:/{model_name}/5")
    with pytest.raises(MlflowException):
        mlflow.pyfunc.load_model(f"models:/{missing}@champion")


# ------------------------------------------------------------------ raw wire checks for the registry


def test_registry_raw_wire(api, trained):
    name = f"compat-raw-{uuid.uuid4().hex[:10]}"
    r = api.post(f"{API}/registered-models/create", json={"name": name})
    assert r.status_code == 200, r.text
    assert r.json()["registered_model"]["name"] == name
    r = api.post(f"{API}/registered-models/create", json={"name": name})
    assert r.status_code == 400 and r.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    src = f"runs:/{trained['run_id']}/model"
    r = api.post(f"{API}/model-versions/create", json={"name": name, "source": src, "run_id": trained["run_id"]})
    assert r.status_code == 200, r.text
    mv = r.json()["model_version"]
    assert mv["version"] == "1" and mv["status"] == "READY" and mv["current_stage"] == "None"
    assert isinstance(mv["creation_timestamp"], int)

    # GET with query params
    r = api.get(f"{API}/registered-models/get", params={"name": name})
    assert r.status_code == 200 and r.json()["registered_model"]["name"] == name
    r = api.get(f"{API}/model-versions/get", params={"name": name, "version": "1"})
    assert r.status_code == 200 and r.json()["model_version"]["source"] == src
    r = api.get(f"{API}/model-versions/get-download-uri", params={"name": name, "version": "1"})
    assert r.status_code == 200 and r.json()["artifact_uri"]
    # get-latest-versions: POST (what the client sends first) and GET
    r = api.post(f"{API}/registered-models/get-latest-versions", json={"name": name, "stages": ["None"]})
    assert r.status_code == 200 and [v["version"] for v in r.json()["model_versions"]] == ["1"]
    r = api.get(f"{API}/registered-models/get-latest-versions", params={"name": name})
    assert r.status_code == 200 and [v["version"] for v in r.json()["model_versions"]] == ["1"]
    # aliases
    r = api.post(f"{API}/registered-models/alias", json={"name": name, "alias": "blue", "version": "1"})
    assert r.status_code == 200, r.text
    r = api.get(f"{API}/registered-models/alias", params={"name": name, "alias": "blue"})
    assert r.status_code == 200 and r.json()["model_version"]["aliases"] == ["blue"]
    assert api.get(f"{API}/registered-models/get", params={"name": name}).json()["registered_model"]["aliases"] == [
        {"alias": "blue", "version": "1"}]

    # DELETE with a JSON body
    r = api.request("DELETE", f"{API}/registered-models/alias", json={"name": name, "alias": "blue"})
    assert r.status_code == 200, r.text
    r = api.post(f"{API}/registered-models/set-tag", json={"name": name, "key": "k", "value": "v"})
    assert r.status_code == 200
    r = api.request("DELETE", f"{API}/registered-models/delete-tag", json={"name": name, "key": "k"})
    assert r.status_code == 200
    r = api.post(f"{API}/model-versions/set-tag", json={"name": name, "version": "1", "key": "k", "value": "v"})
    assert r.status_code == 200
    r = api.request("DELETE", f"{API}/model-versions/delete-tag", json={"name": name, "version": "1", "key": "k"})
    assert r.status_code == 200
    r = api.request("PATCH", f"{API}/model-versions/update", json={"name": name, "version": "1", "description": "d"})
    assert r.status_code == 200 and r.json()["model_version"]["description"] == "d"
    r = api.request("DELETE", f"{API}/model-versions/delete", json={"name": name, "version": "1"})
    assert r.status_code == 200
    r = api.get(f"{API}/model-versions/get", params={"name": name, "version": "1"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = api.request("DELETE", f"{API}/registered-models/delete", json={"name": name})
    assert r.status_code == 200
    r = api.get(f"{API}/registered-models/get", params={"name": name})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "/registered-models/create", "{}"),
        ("POST", "/model-versions/create", '{"name": "x"}'),
        ("GET", "/registered-models/search?max_results=100000", None),
        ("GET", "/registered-models/search?filter=name%20%3E%3C%20%27x%27", None),
        ("GET", "/model-versions/search?filter=bogus.field%20%3D%20%27x%27", None),
        ("POST", "/model-versions/transition-stage", '{"name": "nope-model", "version": "1", "stage": "Production",'
                                                     ' "archive_existing_versions": false}'),
        ("GET", "/registered-models/alias?name=nope-model&alias=a", None),
    ],
)
def test_registry_garbage_is_4xx(api, method, path, body):
    r = api.request(method, API + path, data=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.json()["error_code"]
