"""MLflow 3 logged models: mlflow.sklearn.log_model with an input example, loading it back."""

from __future__ import annotations

import numpy as np
import mlflow
import pytest
from mlflow.entities import LoggedModelStatus

PIP_REQS = ["mlflow==3.17.2", "scikit-learn", "skops"]


def test_sklearn_log_model_and_load_back(experiment_id, client, iris, tmp_path):
    X, y, model = iris
    example = X.head(5)
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("train_acc", float(model.score(X, y)), step=0)
        info = mlflow.sklearn.log_model(model, name="model", input_example=example)
    run_id = run.info.run_id
    expected = model.predict(X)

    assert info.model_uri.startswith("models:/m-")
    assert info.model_id and info.model_uri == f"models:/{info.model_id}"
    assert info.run_id == run_id
    assert info.signature is not None  # inferred from the input example

    # the logged model entity as the server keeps it
    lm = mlflow.get_logged_model(info.model_id)
    assert lm.model_id == info.model_id
    assert lm.name == "model"
    assert lm.experiment_id == experiment_id
    assert lm.source_run_id == run_id
    assert lm.status == LoggedModelStatus.READY
    assert lm.artifact_location == f"mlflow-artifacts:/{experiment_id}/models/{info.model_id}/artifacts"
    assert lm.params.get("C") == "1.0"
    # metrics of the model's step were copied onto the model
    assert {m.key: m.value for m in lm.metrics}.get("train_acc") == pytest.approx(float(model.score(X, y)))

    # the run lists the model as an output
    got = client.get_run(run_id)
    assert [o.model_id for o in got.outputs.model_outputs] == [info.model_id]

    # load back by every URI form
    for uri in (f"runs:/{run_id}/model", info.model_uri):
        pyf = mlflow.pyfunc.load_model(uri)
        np.testing.assert_array_equal(np.asarray(pyf.predict(X)), expected)
    sk = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    np.testing.assert_array_equal(sk.predict(X), expected)
    np.testing.assert_allclose(sk.predict_proba(X), model.predict_proba(X))

    # the model's files are downloadable, including the input example
    local = mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri, dst_path=str(tmp_path / "m"))
    import json
    import os

    files = set(os.listdir(local))
    assert {"MLmodel", "input_example.json", "requirements.txt"} <= files
    ex = json.load(open(os.path.join(local, "input_example.json")))
    assert ex["columns"] == list(example.columns)
    assert len(ex["data"]) == 5
    # the stored example is what the client loads back as the model's input example
    assert mlflow.models.Model.load(info.model_uri).load_input_example(local).shape == example.shape


def test_log_model_metrics_and_search_logged_models(experiment_id, client, iris):
    X, y, model = iris
    with mlflow.start_run():
        info_a = mlflow.sklearn.log_model(model, name="alpha", pip_requirements=PIP_REQS)
        info_b = mlflow.sklearn.log_model(model, name="beta", pip_requirements=PIP_REQS)
        mlflow.log_metric("val_acc", 0.93, step=2, model_id=info_a.model_id)
    lm = mlflow.get_logged_model(info_a.model_id)
    assert {m.key: m.value for m in lm.metrics}["val_acc"] == pytest.approx(0.93)

    found = mlflow.search_logged_models(experiment_ids=[experiment_id], filter_string="name = 'beta'",
                                        output_format="list")
    assert [m.model_id for m in found] == [info_b.model_id]
    allm = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    assert {m.model_id for m in allm} == {info_a.model_id, info_b.model_id}


def test_logged_model_tags(experiment_id, client, iris):
    _, _, model = iris
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="tagged", pip_requirements=PIP_REQS)
    mlflow.set_logged_model_tags(info.model_id, {"owner": "compat", "tier": "gold"})
    tags = mlflow.get_logged_model(info.model_id).tags
    assert tags["owner"] == "compat" and tags["tier"] == "gold"
    mlflow.delete_logged_model_tag(info.model_id, "tier")
    tags = mlflow.get_logged_model(info.model_id).tags
    assert "tier" not in tags and tags["owner"] == "compat"


def test_missing_logged_model(client):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as ei:
        mlflow.get_logged_model("m-" + "0" * 32)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
