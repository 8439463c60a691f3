#!/usr/bin/env python3
"""The training example of the platform's jobs: an SGD classifier on the digits data set,
trained epoch by epoch with partial_fit, logged through the unmodified mlflow client.

As a job (the platform sets MLFLOW_TRACKING_URI, MLFLOW_RUN_ID and MLFLOW_EXPERIMENT_ID, and
mlflow.start_run() joins that run):

    mlp job submit --name train-digits --kind training --experiment digits --wait -- \
        .venv/bin/python examples/train_job.py --epochs 15 --register-as digits-sgd

By hand (creates a run in --experiment):

    MLFLOW_TRACKING_URI=http://127.0.0.1:8000 python examples/train_job.py [--register-as NAME]

Logs params, the training data set as a dataset input, train/validation loss and accuracy for
every epoch (step = epoch), a confusion matrix, and the model (scaler + classifier pipeline)
with an input example and signature; with --register-as it registers that model. The last line
of stdout is a JSON object with the run id, model URI and registered version.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

t_start = time.monotonic()

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

# The digits targets and predictions are integers, which is what we mean.
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiment", default="digits-sgd",
                    help="experiment of the run created when MLFLOW_RUN_ID is not set")
    ap.add_argument("--run-name", default="train-digits-sgd", help="name of a run created by hand")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--learning-rate", type=float, default=0.01, help="eta0 of a constant schedule")
    ap.add_argument("--alpha", type=float, default=1e-4, help="L2 regularisation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--register-as", default=None, help="registered model name")
    ap.add_argument("--min-accuracy", type=float, default=0.0,
                    help="exit with status 2 when the final validation accuracy is lower")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    job_id = os.environ.get("MLP_JOB_ID")
    joining = bool(os.environ.get("MLFLOW_RUN_ID"))

    data = load_digits(as_frame=True)
    X = data.data.astype("float64")
    y = data.target
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=args.seed, stratify=y)
    classes = np.unique(y)

    scaler = StandardScaler().fit(X_train)
    Xs_train, Xs_val = scaler.transform(X_train), scaler.transform(X_val)
    clf = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=args.learning_rate,
                        alpha=args.alpha, random_state=args.seed)
    rng = np.random.default_rng(args.seed)

    if not joining:
        # By hand: our own run in our own experiment. As a job, MLFLOW_RUN_ID (and the job's
        # MLFLOW_EXPERIMENT_ID) decide, and set_experiment would conflict with them.
        mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name=None if joining else args.run_name) as run:
        print(f"run {run.info.run_id} in experiment {run.info.experiment_id}"
              + (f" (job {job_id}, attempt {os.environ.get('MLP_JOB_ATTEMPT')})" if job_id else ""), flush=True)
        mlflow.log_params({
            "model": "SGDClassifier", "loss": "log_loss", "epochs": args.epochs, "batch_size": args.batch_size,
            "learning_rate": args.learning_rate, "alpha": args.alpha, "seed": args.seed,
            "n_train": len(X_train), "n_val": len(X_val), "n_features": X.shape[1],
        })
        mlflow.set_tags({"example": "train_job", "framework": f"scikit-learn {sklearn.__version__}"})
        mlflow.log_input(mlflow.data.from_pandas(X_train.assign(target=y_train), name="digits-train",
                                                 targets="target"), context="training")

        for epoch in range(args.epochs):
            order = rng.permutation(len(Xs_train))
            for start in range(0, len(order), args.batch_size):
                idx = order[start:start + args.batch_size]
                clf.partial_fit(Xs_train[idx], y_train.iloc[idx], classes=classes)
            metrics = {
                "train_loss": log_loss(y_train, clf.predict_proba(Xs_train), labels=classes),
                "train_accuracy": accuracy_score(y_train, clf.predict(Xs_train)),
                "val_loss": log_loss(y_val, clf.predict_proba(Xs_val), labels=classes),
                "val_accuracy": accuracy_score(y_val, clf.predict(Xs_val)),
            }
            mlflow.log_metrics(metrics, step=epoch)
            print(f"epoch {epoch + 1:>3}/{args.epochs}  " + "  ".join(f"{k}={v:.4f}" for k, v in metrics.items()),
                  flush=True)

        mlflow.log_dict({"labels": [int(c) for c in classes],
                         "matrix": confusion_matrix(y_val, clf.predict(Xs_val), labels=classes).tolist()},
                        "confusion_matrix.json")

        model = Pipeline([("scaler", scaler), ("clf", clf)])
        # Explicit requirements skip mlflow's inference, which imports the model in a subprocess
        # and would double the job's run time.
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=X_val.head(5),
            pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"numpy=={np.__version__}"],
            registered_model_name=args.register_as)
        val_accuracy = float(accuracy_score(y_val, model.predict(X_val)))
        mlflow.log_metric("final_val_accuracy", val_accuracy)

    out = {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "model_id": info.model_id,
           "model_uri": info.model_uri, "val_accuracy": val_accuracy,
           "duration_seconds": round(time.monotonic() - t_start, 2)}
    if args.register_as:
        out["registered_model"] = args.register_as
        out["registered_model_version"] = str(info.registered_model_version)
    print(json.dumps(out), flush=True)
    if val_accuracy < args.min_accuracy:
        print(f"validation accuracy {val_accuracy:.4f} is below --min-accuracy {args.min_accuracy}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
