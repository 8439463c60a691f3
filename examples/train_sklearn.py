#!/usr/bin/env python3
"""A typical training script, unchanged MLflow client code.

    MLFLOW_TRACKING_URI=http://127.0.0.1:8000 python examples/train_sklearn.py \
        [--experiment NAME] [--register-as MODEL_NAME] [--C 0.5] [--max-iter 200] [--no-model]

As a job (`mlp job submit ... -- python examples/train_sklearn.py`), it joins the job's run
(MLFLOW_RUN_ID) instead of creating one; see examples/README.md.

Logs params, per-epoch metrics, tags, the training data set, an artifact and an sklearn model
(with an input example), optionally registers it, then loads it back from the server and checks
the predictions. Prints one JSON line with the ids at the end. Exits non-zero on any mismatch.

As a sweep trial (examples/sweep_sklearn.json) its hyperparameters come from MLP_PARAM_C and
MLP_PARAM_MAX_ITER (flags win); the platform has logged them as params already, so the script
logs the same strings. `test_loss` per epoch is what the sweep's early stopping watches.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import mlflow
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", default="iris-logreg")
    ap.add_argument("--register-as", default=None, help="registered model name (needs the registry)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--C", default=None, help="inverse regularisation strength (env MLP_PARAM_C)")
    ap.add_argument("--max-iter", default=None, help="solver iterations (env MLP_PARAM_MAX_ITER)")
    ap.add_argument("--no-model", action="store_true", help="skip logging and reloading the model")
    args = ap.parse_args()
    # Kept as the text given: a sweep logged these strings as params before the script started,
    # and MLflow refuses to change a logged param (str(float("1e-5")) would differ).
    c_text = args.C or os.environ.get("MLP_PARAM_C") or "0.5"
    iter_text = args.max_iter or os.environ.get("MLP_PARAM_MAX_ITER") or "200"

    data = load_iris(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0, stratify=data.target)
    train_df = X_train.assign(target=y_train)

    # As a platform job, MLFLOW_RUN_ID names the run to join (mlflow.start_run() picks it up) and
    # the job's experiment applies; --experiment only picks the experiment of a run made by hand.
    joining = bool(os.environ.get("MLFLOW_RUN_ID"))
    if not joining:
        mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name=None if joining else "train") as run:
        params = {"C": float(c_text), "solver": "lbfgs", "max_iter": int(iter_text)}
        mlflow.log_params({"C": c_text, "solver": "lbfgs", "max_iter": iter_text})
        mlflow.set_tags({"team": "ml", "stage": "dev"})
        mlflow.log_input(mlflow.data.from_pandas(train_df, name="iris-train", targets="target"), context="training")

        model = None
        for epoch in range(args.epochs):
            model = LogisticRegression(C=params["C"], solver=params["solver"], max_iter=params["max_iter"])
            n = int(len(X_train) * (epoch + 1) / args.epochs)
            model.fit(X_train.iloc[:n], y_train.iloc[:n])
            mlflow.log_metrics({"train_acc": model.score(X_train, y_train),
                                "test_acc": model.score(X_test, y_test),
                                "test_loss": log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)},
                               step=epoch)

        with tempfile.TemporaryDirectory() as tmp:
            report = os.path.join(tmp, "report.txt")
            with open(report, "w") as f:
                f.write(f"test accuracy: {model.score(X_test, y_test):.4f}\n")
            mlflow.log_artifact(report)

        if args.no_model:
            print(json.dumps({"run_id": run.info.run_id, "test_acc": float(model.score(X_test, y_test))}))
            return 0
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=X_test.head(5),
            registered_model_name=args.register_as)

    expected = model.predict(X_test)
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    if not np.array_equal(np.asarray(loaded.predict(X_test)), expected):
        print("prediction mismatch after loading from runs:/", file=sys.stderr)
        return 1
    out = {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "model_id": info.model_id,
           "model_uri": info.model_uri, "test_acc": float(model.score(X_test, y_test))}
    if args.register_as:
        uri = f"models:/{args.register_as}/{info.registered_model_version}"
        if not np.array_equal(np.asarray(mlflow.pyfunc.load_model(uri).predict(X_test)), expected):
            print(f"prediction mismatch after loading from {uri}", file=sys.stderr)
            return 1
        out["registered_model_version"] = str(info.registered_model_version)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
