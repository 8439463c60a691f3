#!/usr/bin/env python3
"""A sweep trial whose objective is known in advance: loss = x * (1 + 1 / (step + 1)), logged at
steps 0..STEPS-1 with a pause between them. Lower x is better at every step, so which trials
asynchronous successive halving stops is decided by x alone. Plain HTTP (no mlflow import) so a
trial starts in milliseconds.

Env: MLP_PARAM_X (from the sweep), STEPS (default 10), STEP_SECONDS (default 0.3), and the
job's MLFLOW_TRACKING_URI / MLFLOW_RUN_ID (and MLFLOW_TRACKING_TOKEN with auth on).
"""

import json
import os
import time
import urllib.request

x = float(os.environ["MLP_PARAM_X"])
steps = int(os.environ.get("STEPS", "10"))
pause = float(os.environ.get("STEP_SECONDS", "0.3"))
uri = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
run_id = os.environ["MLFLOW_RUN_ID"]
headers = {"Content-Type": "application/json"}
if os.environ.get("MLFLOW_TRACKING_TOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]


def post(path, body):
    req = urllib.request.Request(uri + "/api/2.0/mlflow/" + path, data=json.dumps(body).encode(),
                                 headers=headers, method="POST")
    urllib.request.urlopen(req, timeout=10).read()


post("runs/update", {"run_id": run_id, "status": "RUNNING"})
for step in range(steps):
    loss = x * (1 + 1 / (step + 1))
    post("runs/log-metric", {"run_id": run_id, "key": "loss", "value": loss, "step": step,
                             "timestamp": int(time.time() * 1000)})
    time.sleep(pause)
print(json.dumps({"x": x, "loss": loss}))
