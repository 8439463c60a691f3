#!/usr/bin/env python3
"""Soak run: a bounded stretch of mixed traffic against one `mlp server`, watching its memory.

Starts the built binary on the embedded default (SQLite and artifacts in a temp data dir,
127.0.0.1, free ports), drives it with a few client threads doing what training jobs and the UI
do, and prints every --interval seconds the server's RSS (VmRSS, and VmHWM, the peak) and the
request counts. At the end: p50/p95/p99/max latency per operation, errors (any 5xx is a failure;
exit code 1), and RSS at start, end and peak. It measures and flags 5xx; it asserts nothing else.

    python3 benchmarks/soak.py                          # 600 s, 4 threads, target/release/mlp
    python3 benchmarks/soak.py --duration 60 --mlp /tmp/mlp
    python3 benchmarks/soak.py --max-body --repeat 20   # peak memory of a maximum log-batch

--max-body sends one maximum-size runs/log-batch (--body-metrics metrics, 100 params of 6,000
characters, 100 tags of 8,000 characters, keys of 250 characters) --repeat times, and prints VmHWM
before and after: the growth of the peak is the memory one maximum request costs the server. The
default, 800 metrics, is the largest batch the server accepts (at most 1000 entries in all, as in
MLflow); --body-metrics 1000 sends 1200 entries, which the server decodes in full and then refuses
with a 400, so it measures the decoding cost of an oversized batch.

Needs Python 3.11 and `requests` (the project's .venv has it). The server's own log goes to
<data dir>/server.log; --keep leaves the data dir behind to read it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict

import requests

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"

# Bounds that keep a long soak from measuring a growing database instead of the server: each
# thread reuses a fixed pool of runs, and histories stop growing past this many points per key.
RUNS_PER_THREAD = 20
MAX_POINTS_PER_KEY = 20_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(explicit: str | None) -> str:
    if explicit:
        return explicit
    for candidate in ("target/release/mlp", "target/debug/mlp"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("no mlp binary: build one (cargo build -p mlp) or pass --mlp PATH")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM and RssAnon (heap, SQLite page caches; not mapped files) of the server, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                out[key] = int(rest.split()[0])
    return out


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


class Server:
    def __init__(self, binary: str, data_dir: str):
        self.port = free_port()
        self.metrics_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(data_dir, "server.log"), "w")
        env = dict(
            os.environ,
            MLP__METRICS__PORT=str(self.metrics_port),
            MLP__LOG__LEVEL="warn",
            # Jobs are not part of this traffic; a worker polling the table would only add noise.
            MLP__WORKER__EMBEDDED="false",
        )
        cmd = [binary, "server", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", data_dir]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"mlp server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("mlp server did not come up within 60 s")

    def status(self) -> dict[str, int]:
        return proc_status(self.proc.pid)

    def server_counts(self) -> tuple[int, int] | None:
        """(requests, 5xx) as the server counted them on its /metrics port, when it answers."""
        try:
            text = requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except requests.RequestException:
            return None
        total = errors = 0
        for line in text.splitlines():
            if line.startswith("mlp_http_requests_total{"):
                value = float(line.rsplit(" ", 1)[1])
                total += value
                if 'status="5' in line:
                    errors += value
        return int(total), int(errors)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except Exception:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


class Stats:
    """Latencies and outcomes per operation, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.client_errors: dict[str, int] = defaultdict(int)
        self.server_errors: dict[str, int] = defaultdict(int)
        self.transport_errors: dict[str, int] = defaultdict(int)
        self.samples_5xx: list[str] = []

    def record(self, op: str, seconds: float, status: int | None, detail: str = "") -> None:
        with self.lock:
            self.latencies[op].append(seconds)
            if status is None:
                self.transport_errors[op] += 1
            elif status >= 500:
                self.server_errors[op] += 1
                if len(self.samples_5xx) < 10:
                    self.samples_5xx.append(f"{op}: {status} {detail[:300]}")
            elif status >= 400:
                self.client_errors[op] += 1

    def total(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.latencies.values())


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


class Client:
    """One thread's worth of traffic: its own session, experiment and pool of runs."""

    def __init__(self, url: str, stats: Stats, index: int, seed: int, batch_max: int):
        self.url = url
        self.stats = stats
        self.index = index
        self.rng = random.Random(seed + index)
        self.batch_max = batch_max
        self.session = requests.Session()
        self.runs: list[str] = []
        self.points: dict[tuple[str, str], int] = defaultdict(int)
        self.params_logged: dict[str, int] = defaultdict(int)
        self.artifacts: list[str] = []
        self.model = f"soak-model-{index}-{seed}"
        self.versions = 0
        self.experiment_id = ""

    def call(self, op: str, method: str, path: str, **kw) -> requests.Response | None:
        t = time.perf_counter()
        try:
            r = self.session.request(method, self.url + path, timeout=60, **kw)
        except requests.RequestException as e:
            self.stats.record(op, time.perf_counter() - t, None, str(e))
            return None
        self.stats.record(op, time.perf_counter() - t, r.status_code, r.text if r.status_code >= 500 else "")
        return r

    def post(self, op: str, endpoint: str, body: dict) -> dict | None:
        r = self.call(op, "POST", API + endpoint, json=body)
        return r.json() if r is not None and r.ok else None

    def get(self, op: str, endpoint: str, params: dict) -> dict | None:
        r = self.call(op, "GET", API + endpoint, params=params)
        return r.json() if r is not None and r.ok else None

    # -- operations ---------------------------------------------------------------------------

    def setup(self) -> None:
        name = f"soak-{self.index}-{uuid.uuid4().hex[:8]}"
        out = self.post("create-experiment", "/experiments/create", {"name": name})
        if out is None:
            raise SystemExit(f"thread {self.index}: cannot create an experiment")
        self.experiment_id = out["experiment_id"]
        self.post("registry-create-model", "/registered-models/create", {"name": self.model})
        for _ in range(3):
            self.create_run()

    def create_run(self) -> None:
        if len(self.runs) >= RUNS_PER_THREAD:
            return
        out = self.post(
            "create-run",
            "/runs/create",
            {
                "experiment_id": self.experiment_id,
                "start_time": int(time.time() * 1000),
                "run_name": f"run-{len(self.runs)}",
                "tags": [{"key": "mlflow.user", "value": "soak"}],
            },
        )
        if out:
            self.runs.append(out["run"]["info"]["run_id"])

    def run_id(self) -> str:
        return self.rng.choice(self.runs)

    def log_metric(self) -> None:
        run, key = self.run_id(), f"m{self.rng.randrange(5)}"
        if self.points[(run, key)] >= MAX_POINTS_PER_KEY:
            return
        step = self.points[(run, key)]
        self.points[(run, key)] += 1
        self.post(
            "log-metric",
            "/runs/log-metric",
            {"run_id": run, "key": key, "value": self.rng.random(), "timestamp": int(time.time() * 1000), "step": step},
        )

    def log_batch(self) -> None:
        run, key = self.run_id(), f"batch{self.rng.randrange(3)}"
        n = self.rng.randint(1, self.batch_max)
        if self.points[(run, key)] + n > MAX_POINTS_PER_KEY:
            return
        start = self.points[(run, key)]
        self.points[(run, key)] += n
        now = int(time.time() * 1000)
        metrics = [{"key": key, "value": self.rng.random(), "timestamp": now, "step": start + i} for i in range(n)]
        self.post("log-batch", "/runs/log-batch", {"run_id": run, "metrics": metrics})

    def log_param(self) -> None:
        # A param may be logged once per run: new keys only, a bounded number of them.
        run = self.run_id()
        i = self.params_logged[run]
        if i >= 50:
            return
        self.params_logged[run] += 1
        self.post("log-param", "/runs/log-parameter", {"run_id": run, "key": f"p{i}", "value": str(self.rng.random())})

    def set_tag(self) -> None:
        run = self.run_id()
        self.post("set-tag", "/runs/set-tag", {"run_id": run, "key": f"t{self.rng.randrange(10)}", "value": "x" * 100})

    def get_run(self) -> None:
        self.get("get-run", "/runs/get", {"run_id": self.run_id()})

    def search_runs(self) -> None:
        filters = [
            "",
            "metrics.m0 > 0.5",
            "params.p0 != '' AND tags.mlflow.user = 'soak'",
            "attributes.run_name LIKE 'run-1%'",
            "metrics.batch0 >= 0 AND attributes.status = 'RUNNING'",
        ]
        orders = [[], ["metrics.m0 DESC"], ["attributes.start_time ASC"], ["params.p0 ASC", "metrics.m1 DESC"]]
        self.post(
            "search-runs",
            "/runs/search",
            {
                "experiment_ids": [self.experiment_id],
                "filter": self.rng.choice(filters),
                "order_by": self.rng.choice(orders),
                "max_results": 100,
            },
        )

    def get_history(self) -> None:
        run, key = self.run_id(), self.rng.choice(["m0", "m1", "batch0"])
        self.get("get-history", "/metrics/get-history", {"run_id": run, "metric_key": key, "max_results": 25000})

    def upload_artifact(self) -> None:
        run = self.run_id()
        # mlflow-artifacts paths of a run: <experiment>/<run>/artifacts/<file>.
        path = f"{self.experiment_id}/{run}/artifacts/soak/f{self.rng.randrange(20)}.txt"
        body = os.urandom(self.rng.randint(100, 64 * 1024))
        r = self.call("artifact-upload", "PUT", f"{ARTIFACTS}/{path}", data=body)
        if r is not None and r.ok and path not in self.artifacts:
            self.artifacts.append(path)

    def download_artifact(self) -> None:
        if not self.artifacts:
            return self.upload_artifact()
        self.call("artifact-download", "GET", f"{ARTIFACTS}/{self.rng.choice(self.artifacts)}")

    def registry(self) -> None:
        if self.versions >= 200:
            self.get("registry-get-alias", "/registered-models/alias", {"name": self.model, "alias": "champion"})
            return
        out = self.post(
            "registry-create-version",
            "/model-versions/create",
            {"name": self.model, "source": f"runs:/{self.run_id()}/model", "run_id": self.run_id()},
        )
        if out:
            self.versions += 1
            version = out["model_version"]["version"]
            self.post("registry-set-alias", "/registered-models/alias", {"name": self.model, "alias": "champion", "version": version})
            self.get("registry-get-alias", "/registered-models/alias", {"name": self.model, "alias": "champion"})

    def step(self) -> None:
        # Weights: mostly writes of metrics, as training jobs produce, then the UI's reads.
        ops = [
            (self.log_metric, 30),
            (self.log_batch, 8),
            (self.log_param, 5),
            (self.set_tag, 5),
            (self.get_run, 15),
            (self.search_runs, 10),
            (self.get_history, 8),
            (self.upload_artifact, 4),
            (self.download_artifact, 6),
            (self.registry, 2),
            (self.create_run, 1),
        ]
        fn = self.rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
        fn()


def soak(server: Server, args: argparse.Namespace) -> int:
    stats = Stats()
    clients = [Client(server.url, stats, i, args.seed, args.batch_max) for i in range(args.threads)]
    for c in clients:
        c.setup()
    start_status = server.status()
    deadline = time.time() + args.duration
    stop = threading.Event()

    def worker(c: Client) -> None:
        while not stop.is_set() and time.time() < deadline:
            c.step()

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    t0 = time.time()
    for t in threads:
        t.start()
    print(f"soak: {args.threads} threads for {args.duration}s against {server.url} (pid {server.proc.pid})")
    print(
        f"{'t':>6} {'VmRSS':>11} {'VmHWM':>11} {'RssAnon':>11} {'requests':>9} {'req/s':>7} {'5xx':>5}"
        "  server: requests, 5xx"
    )
    last_n, last_t = 0, t0
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(min(args.interval, max(0.1, deadline - time.time())))
            if server.proc.poll() is not None:
                print(f"soak: the server exited with {server.proc.returncode}", file=sys.stderr)
                stop.set()
                break
            now, n = time.time(), stats.total()
            st = server.status()
            counted = server.server_counts()
            print(
                f"{now - t0:6.0f} {mib(st['VmRSS']):>11} {mib(st['VmHWM']):>11} {mib(st['RssAnon']):>11} {n:>9} "
                f"{(n - last_n) / max(now - last_t, 1e-9):7.0f} {sum(stats.server_errors.values()):>5}  "
                f"{'%d, %d' % counted if counted else '-'}",
                flush=True,
            )
            last_n, last_t = n, now
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join(timeout=70)
    elapsed = time.time() - t0
    crashed = server.proc.poll() is not None
    end_status = server.status() if not crashed else {"VmRSS": 0, "VmHWM": 0, "RssAnon": 0}

    print(f"\nper operation ({stats.total()} requests in {elapsed:.0f}s, {stats.total() / elapsed:.0f}/s):")
    print(f"{'operation':<24} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'4xx':>5} {'5xx':>5}")
    for op in sorted(stats.latencies):
        v = sorted(stats.latencies[op])
        ms = [percentile(v, p) * 1000 for p in (50, 95, 99)] + [v[-1] * 1000]
        print(
            f"{op:<24} {len(v):>7} {ms[0]:>8.1f} {ms[1]:>8.1f} {ms[2]:>8.1f} {ms[3]:>8.1f} "
            f"{stats.client_errors[op]:>5} {stats.server_errors[op]:>5}"
        )
    n5xx = sum(stats.server_errors.values())
    n_transport = sum(stats.transport_errors.values())
    print(
        f"\nRSS start {mib(start_status['VmRSS'])}, end {mib(end_status['VmRSS'])}, "
        f"peak (VmHWM) {mib(end_status['VmHWM'])}"
    )
    print(f"5xx: {n5xx}; transport errors: {n_transport}; 4xx: {sum(stats.client_errors.values())}")
    for s in stats.samples_5xx:
        print(f"  {s}")
    if crashed:
        print("FAILED: the server exited during the soak", file=sys.stderr)
        return 1
    if n5xx or n_transport:
        print("FAILED: server errors during the soak", file=sys.stderr)
        return 1
    return 0


def max_body(server: Server, args: argparse.Namespace) -> int:
    session = requests.Session()
    exp = session.post(server.url + API + "/experiments/create", json={"name": f"max-body-{uuid.uuid4().hex[:8]}"})
    exp.raise_for_status()
    experiment_id = exp.json()["experiment_id"]

    def key(prefix: str, i: int) -> str:
        # The longest key the server accepts (250 characters), distinct per entry.
        return f"{prefix}{i:04d}".ljust(250, "k")

    def batch(run_id: str) -> dict:
        now = int(time.time() * 1000)
        return {
            "run_id": run_id,
            "metrics": [
                {"key": key("m", i), "value": i * 0.5, "timestamp": now, "step": 0} for i in range(args.body_metrics)
            ],
            "params": [{"key": key("p", i), "value": "p" * 6000} for i in range(100)],
            "tags": [{"key": key("t", i), "value": "t" * 8000} for i in range(100)],
        }

    # A fresh run per request: params cannot be logged twice with another value, and the same value
    # twice would let the store skip work.
    before = server.status()
    size = 0
    refused = False
    latencies = []
    for i in range(args.repeat):
        run = session.post(server.url + API + "/runs/create", json={"experiment_id": experiment_id}).json()
        body = batch(run["run"]["info"]["run_id"])
        data = json.dumps(body).encode()
        size = len(data)
        t = time.perf_counter()
        r = session.post(
            server.url + API + "/runs/log-batch", data=data, headers={"Content-Type": "application/json"}
        )
        latencies.append(time.perf_counter() - t)
        refused = r.status_code == 400 and "at most 1000 total" in r.text
        if r.status_code != 200 and not (refused and args.body_metrics > 800):
            print(f"max-body: request {i} answered {r.status_code}: {r.text[:300]}", file=sys.stderr)
            return 1
    after = server.status()
    latencies.sort()
    outcome = "refused with 400 after decoding" if refused else "accepted"
    print(
        f"max-body: {args.repeat} x runs/log-batch of {size / 1e6:.2f} MB ({args.body_metrics} metrics, "
        f"100 params x 6000, 100 tags x 8000, 250-character keys), {outcome}"
    )
    print(f"  latency p50 {percentile(latencies, 50) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print(f"  VmHWM before {mib(before['VmHWM'])}, after {mib(after['VmHWM'])}: +{mib(after['VmHWM'] - before['VmHWM'])}")
    print(f"  VmRSS before {mib(before['VmRSS'])}, after {mib(after['VmRSS'])}")
    return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mlp", help="the mlp binary (default target/release/mlp, else target/debug/mlp)")
    p.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    p.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    p.add_argument("--interval", type=float, default=10, help="seconds between progress lines (default 10)")
    p.add_argument("--batch-max", type=int, default=1000, help="largest log-batch, in metrics (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the traffic mix")
    p.add_argument("--max-body", action="store_true", help="measure the peak memory of maximum log-batches instead")
    p.add_argument("--repeat", type=int, default=10, help="--max-body: requests to send (default 10)")
    p.add_argument("--body-metrics", type=int, default=800, help="--max-body: metrics per batch (default 800)")
    p.add_argument("--keep", action="store_true", help="keep the data dir (and server.log) afterwards")
    args = p.parse_args()

    binary = find_binary(args.mlp)
    data_dir = tempfile.mkdtemp(prefix="mlp-soak-")
    server = Server(binary, data_dir)
    print(f"mlp server: {binary}, data dir {data_dir}")
    try:
        rc = max_body(server, args) if args.max_body else soak(server, args)
    finally:
        server.stop()
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
