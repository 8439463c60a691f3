#!/usr/bin/env python3
"""Benchmark: mlp server against MLflow's own server, same client, same operations.

Starts both servers on loopback with fresh SQLite stores, runs identical request loops with
one `requests.Session` (the way the mlflow client talks), and prints a table of figures.
It measures; it asserts nothing.

    .venv/bin/python benchmarks/vs_mlflow.py --mlp target/release/mlp [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

API = "/api/2.0/mlflow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def start(kind: str, mlp_bin: str, tmp: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp, f"{kind}.log"), "w")
    if kind == "mlp":
        env = dict(os.environ, MLP__METRICS__PORT="0", MLP__LOG__LEVEL="warn")
        cmd = [mlp_bin, "server", "--host", "127.0.0.1", "--port", str(port), "--data-dir", os.path.join(tmp, "mlp")]
    else:
        env = dict(os.environ)
        mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
        cmd = [mlflow, "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db", "--artifacts-destination", f"{tmp}/mlflow-art"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    wait_up(url, proc)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except Exception:
        os.killpg(proc.pid, signal.SIGKILL)


def timed(fn, n: int) -> float:
    """Seconds per call, over n calls."""
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n


def bench(url: str, scale: float) -> dict[str, float]:
    s = requests.Session()

    def post(path, body):
        r = s.post(url + API + path, json=body)
        r.raise_for_status()
        return r.json()

    def get(path, params):
        r = s.get(url + API + path, params=params)
        r.raise_for_status()
        return r.json()

    exp = post("/experiments/create", {"name": f"bench-{time.time_ns()}"})["experiment_id"]
    run = post("/runs/create", {"experiment_id": exp, "start_time": 1})["run"]["info"]["run_id"]
    out: dict[str, float] = {}
    n = max(20, int(200 * scale))
    out["log-metric (ms/req)"] = 1000 * timed(
        lambda i: post("/runs/log-metric", {"run_id": run, "key": "m", "value": i * 0.5, "timestamp": 1000 + i, "step": i}), n)
    nb = max(5, int(30 * scale))
    out["log-batch 1000 metrics (points/s)"] = 1000 / timed(
        lambda i: post("/runs/log-batch", {"run_id": run, "metrics": [
            {"key": f"k{j % 10}", "value": float(j), "timestamp": 5000 + i, "step": i * 100 + j // 10} for j in range(1000)]}), nb)
    out["get-run (ms/req)"] = 1000 * timed(lambda i: get("/runs/get", {"run_id": run}), n)
    # A 10,000-point history for get-history.
    for b in range(10):
        post("/runs/log-batch", {"run_id": run, "metrics": [
            {"key": "hist", "value": float(b * 1000 + j), "timestamp": 9000, "step": b * 1000 + j} for j in range(1000)]})
    out["get-history 10k points (ms)"] = 1000 * timed(
        lambda i: get("/metrics/get-history", {"run_id": run, "metric_key": "hist", "max_results": 25000}), max(5, int(20 * scale)))
    # 200 runs for search.
    for r in range(200):
        rid = post("/runs/create", {"experiment_id": exp, "start_time": 10 + r})["run"]["info"]["run_id"]
        post("/runs/log-batch", {"run_id": rid, "metrics": [{"key": "loss", "value": 1 / (r + 1), "timestamp": 1, "step": 0}],
                                 "params": [{"key": "lr", "value": str(r % 5)}], "tags": [{"key": "team", "value": "a" if r % 2 else "b"}]})
    out["search-runs 200 runs, filter+order (ms)"] = 1000 * timed(
        lambda i: post("/runs/search", {"experiment_ids": [exp], "filter": "metrics.loss < 0.5 and params.lr = '1'",
                                         "order_by": ["metrics.loss DESC"], "max_results": 1000}), max(5, int(50 * scale)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlp", default="target/release/mlp")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    results: dict[str, dict[str, list[float]]] = {"mlp": {}, "mlflow": {}}
    for kind in ("mlp", "mlflow"):
        for _ in range(a.repeat):
            tmp = tempfile.mkdtemp(prefix=f"bench-{kind}-")
            proc, url = start(kind, os.path.abspath(a.mlp), tmp)
            try:
                for k, v in bench(url, a.scale).items():
                    results[kind].setdefault(k, []).append(v)
            finally:
                stop(proc)
                shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'operation':<42} {'mlp':>12} {'mlflow':>12} {'ratio':>8}   (median of {a.repeat})")
    for k in results["mlp"]:
        m, f = statistics.median(results["mlp"][k]), statistics.median(results["mlflow"][k])
        higher_better = "/s" in k
        ratio = (m / f) if higher_better else (f / m)
        print(f"{k:<42} {m:>12.2f} {f:>12.2f} {ratio:>7.1f}x")
    print("\nratio = how many times faster mlp is (throughput ratio, or latency ratio inverted)")


if __name__ == "__main__":
    main()
