"""Example batch/data-processing job: loads a registered model from the
tracking API and scores a generated batch, logging summary metrics."""
import os

import mlflow
import numpy as np


def main() -> None:
    model_uri = os.environ.get("MLP_MODEL_URI", "models:/example/latest")
    n = int(os.environ.get("MLP_BATCH_SIZE", "1000"))
    mlflow.set_experiment(os.environ.get("MLP_EXPERIMENT", "example-batch-inference"))
    with mlflow.start_run():
        model = mlflow.pyfunc.load_model(model_uri)
        batch = np.random.default_rng(0).normal(size=(n, 4))
        predictions = model.predict(batch)
        mlflow.log_metric("rows", n)
        mlflow.log_metric("distinct_predictions", len(set(np.asarray(predictions).tolist())))


if __name__ == "__main__":
    main()
