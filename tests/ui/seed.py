#!/usr/bin/env python3
"""Seeds a server for the UI tests through the real mlflow client (MLFLOW_TRACKING_URI).

Experiment "ui-e2e": six runs with params, tags and 200-step metric histories; the run "best"
also has artifacts (text, JSON, CSV, PNG), a training dataset and an sklearn logged model (with a
signature, an input example, params and a metric). Experiment "ui-nested": a parent run "sweep" with three nested "trial-*" runs, and "solo".
Prints one JSON line with the ids the tests need.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile

import mlflow
import numpy as np
import pandas as pd
from PIL import Image
from sklearn.linear_model import LogisticRegression

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


def main() -> int:
    mlflow.set_experiment("ui-e2e")
    exp = mlflow.get_experiment_by_name("ui-e2e")
    configs = [
        ("baseline", 0.1, 2, "sgd"),
        ("wide", 0.05, 4, "adam"),
        ("deep", 0.01, 8, "adam"),
        ("tiny-lr", 0.001, 4, "adam"),
        ("best", 0.03, 6, "adamw"),
        ("diverged", 0.5, 2, "sgd"),
    ]
    ids = {}
    for i, (name, lr, depth, opt) in enumerate(configs):
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_params({"lr": lr, "depth": depth, "optimizer": opt})
            # a source that is the same on every machine (the screenshots show it)
            mlflow.set_tags({"team": "vision" if i % 2 else "nlp", "stage": "dev", "mlflow.source.name": "train.py"})
            rng = np.random.default_rng(i)
            final = 0.15 + 0.1 * i if name != "best" else 0.05
            metrics = []
            for step in range(200):
                loss = final + (2.0 - final) * math.exp(-step / (15 + 10 * depth * lr * 10)) + 0.02 * rng.standard_normal()
                if name == "diverged" and step > 120:
                    loss = loss + (step - 120) * 0.05
                acc = max(0.0, min(1.0, 1.0 - loss / 2.2))
                metrics.append(mlflow.entities.Metric("loss", loss, 1_700_000_000_000 + step * 1000, step))
                metrics.append(mlflow.entities.Metric("accuracy", acc, 1_700_000_000_000 + step * 1000, step))
            client = mlflow.MlflowClient()
            for k in range(0, len(metrics), 1000):
                client.log_batch(run.info.run_id, metrics=metrics[k : k + 1000])
            if name == "best":
                with tempfile.TemporaryDirectory() as tmp:
                    with open(os.path.join(tmp, "notes.txt"), "w") as f:
                        f.write("best run so far\nlr=0.03 depth=6\n")
                    with open(os.path.join(tmp, "config.json"), "w") as f:
                        json.dump({"lr": lr, "depth": depth, "optimizer": opt, "layers": [64, 64, 10]}, f)
                    os.makedirs(os.path.join(tmp, "data"))
                    pd.DataFrame({"x": range(20), "y": [v * v for v in range(20)]}).to_csv(os.path.join(tmp, "data", "sample.csv"), index=False)
                    os.makedirs(os.path.join(tmp, "plots"))
                    img = Image.new("RGB", (120, 80), (255, 255, 255))
                    for x in range(120):
                        y = int(70 - 60 * math.exp(-x / 25))
                        img.putpixel((x, y), (31, 119, 180))
                    img.save(os.path.join(tmp, "plots", "curve.png"))
                    mlflow.log_artifacts(tmp)
                X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
                y = np.array([0, 1, 0, 1])
                df = pd.DataFrame(X, columns=["a", "b"]).assign(target=y)
                mlflow.log_input(mlflow.data.from_pandas(df, name="toy-train", targets="target"), context="training")
                model = LogisticRegression().fit(X, y)
                signature = mlflow.models.infer_signature(pd.DataFrame(X, columns=["a", "b"]), model.predict(X))
                info = mlflow.sklearn.log_model(
                    model,
                    name="classifier",
                    signature=signature,
                    input_example=pd.DataFrame(X[:2], columns=["a", "b"]),
                    params={"C": 1.0, "solver": "lbfgs"},
                )
                mlflow.log_metric("val_accuracy", 0.75, step=3, model_id=info.model_id)
                ids["model_id"] = info.model_id
            ids[name] = run.info.run_id
    # Nested runs (a sweep and its trials) in their own experiment, so that the counts above stay.
    mlflow.set_experiment("ui-nested")
    nested = mlflow.get_experiment_by_name("ui-nested")
    with mlflow.start_run(run_name="sweep") as parent:
        mlflow.log_param("trials", 3)
        for t in range(3):
            with mlflow.start_run(run_name=f"trial-{t}", nested=True) as child:
                mlflow.log_param("lr", 0.1 / (t + 1))
                mlflow.log_metric("loss", 1.0 / (t + 1))
                ids[f"trial-{t}"] = child.info.run_id
        ids["sweep"] = parent.info.run_id
    with mlflow.start_run(run_name="solo") as solo:
        mlflow.log_metric("loss", 0.7)
        ids["solo"] = solo.info.run_id
    print(json.dumps({"experiment_id": exp.experiment_id, "nested_experiment_id": nested.experiment_id, "runs": ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
