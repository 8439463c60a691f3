"""Live: a real Prometheus (Debian's binary, loopback, temporary storage,
1 s scrape and rule interval) scrapes a running `mlp server` (embedded worker
off) and a separate `mlp worker` sharing its data directory and a Redis job
queue (the deployed topology: backend and worker pods, Redis Streams), and evaluates
prometheus-rules.yaml; traffic and jobs are driven through the server; then,
through Prometheus' query API, every metric name used by a rule or a
dashboard has series (except the documented cluster-only allowlist), every
dashboard query returns data, and key queries return the expected values.

The scrape jobs are named mlp-backend and mlp-worker, like the job labels
the ServiceMonitors produce in the cluster."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

import monlib

MLP_BIN = os.environ.get("MLP_BIN") or str(monlib.REPO / "target" / "debug" / "mlp")
ROWS, BYTES = 1234, 56789
ARTIFACT = b"x" * 4096
LIVE_VARS = {"$__rate_interval": "1m", "$__interval": "1s", "$__range": "10m"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, raw: bytes | None = None, ok_statuses=(200,)):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    assert status in ok_statuses, f"{method} {url}: {status} {payload[:300]!r}"
    return status, payload


def wait_for(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001
            last = e
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Live:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.api_port, self.metrics_port, self.prom_port = free_port(), free_port(), free_port()
        self.worker_metrics_port, self.redis_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.prom = f"http://127.0.0.1:{self.prom_port}"
        self.procs: list[subprocess.Popen] = []
        self.sent: dict[str, int] = {}

    def start(self):
        if not Path(MLP_BIN).is_file():
            pytest.fail(f"mlp binary not found at {MLP_BIN} (cargo build -p mlp, or set MLP_BIN)")
        if not shutil.which("prometheus"):
            pytest.fail("prometheus not found (Debian package prometheus)")
        if not shutil.which("redis-server"):
            pytest.fail("redis-server not found (Debian package redis-server)")
        self.procs.append(subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=open(self.tmp / "redis.log", "wb"), stderr=subprocess.STDOUT))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLP__") and k != "MLP_CONFIG"}
        env.update(MLP__METRICS__HOST="127.0.0.1", MLP__WORKER__EMBEDDED="false",
                   MLP__REDIS__URL=f"redis://127.0.0.1:{self.redis_port}/0")
        data = self.tmp / "data"
        data.mkdir()
        self.procs.append(subprocess.Popen(
            [MLP_BIN, "server", "--host", "127.0.0.1", "--port", str(self.api_port), "--data-dir", str(data)],
            env=dict(env, MLP__METRICS__PORT=str(self.metrics_port)),
            stdout=open(self.tmp / "mlp.log", "wb"), stderr=subprocess.STDOUT))
        wait_for(lambda: http("GET", f"{self.api}/health")[0] == 200, 30, "mlp server /health")
        self.procs.append(subprocess.Popen(
            [MLP_BIN, "worker", "--data-dir", str(data)],
            env=dict(env, MLP__METRICS__PORT=str(self.worker_metrics_port), MLP__WORKER__TRACKING_URI=self.api),
            stdout=open(self.tmp / "worker.log", "wb"), stderr=subprocess.STDOUT))
        monlib.write_rules_file(self.tmp / "rules.yaml", interval="1s")
        cfg = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(self.tmp / "rules.yaml")],
            "scrape_configs": [{
                "job_name": job,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": {"namespace": "ml-platform"}}],
            } for job, port in (("mlp-backend", self.metrics_port), ("mlp-worker", self.worker_metrics_port))],
        }
        (self.tmp / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        self.procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={self.tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.prom_port}",
             "--storage.tsdb.retention.time=1h", "--log.level=warn"],
            stdout=open(self.tmp / "prometheus.log", "wb"), stderr=subprocess.STDOUT, cwd=self.tmp))
        wait_for(lambda: http("GET", f"http://127.0.0.1:{self.worker_metrics_port}/metrics")[0] == 200, 30,
                 "mlp worker /metrics")
        wait_for(lambda: http("GET", f"{self.prom}/-/ready")[0] == 200, 30, "prometheus /-/ready")

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    def call(self, method: str, route: str, body=None, raw=None, ok_statuses=(200,), path=None):
        self.sent[route] = self.sent.get(route, 0) + 1
        return http(method, self.api + (path or route), body, raw, ok_statuses)

    def drive(self):
        m = "/api/2.0/mlflow"
        _, b = self.call("POST", f"{m}/experiments/create", {"name": "monitoring-live"})
        exp = json.loads(b)["experiment_id"]
        run_ids = []
        for i in range(3):
            _, b = self.call("POST", f"{m}/runs/create", {"experiment_id": exp, "run_name": f"r{i}",
                                                          "start_time": int(time.time() * 1000)})
            run_ids.append(json.loads(b)["run"]["info"]["run_id"])
        ts = int(time.time() * 1000)
        for i in range(5):
            self.call("POST", f"{m}/runs/log-metric",
                      {"run_id": run_ids[0], "key": "loss", "value": 1.0 / (i + 1), "timestamp": ts, "step": i})
        self.call("POST", f"{m}/runs/log-batch", {"run_id": run_ids[1], "metrics": [
            {"key": "acc", "value": 0.5 + i / 10, "timestamp": ts, "step": i} for i in range(4)]})
        self.call("POST", f"{m}/registered-models/create", {"name": "monitoring-model"})
        self.call("POST", f"{m}/model-versions/create",
                  {"name": "monitoring-model", "source": f"runs:/{run_ids[0]}/model", "run_id": run_ids[0]})
        art = f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run_ids[0]}/artifacts/blob.bin"
        self.call("PUT", "artifact-put", raw=ARTIFACT, path=art)
        _, got = self.call("GET", "artifact-get", path=art)
        assert got == ARTIFACT
        self.call("GET", f"{m}/experiments/get", path=f"{m}/experiments/get?experiment_id=424242", ok_statuses=(404,))
        # Jobs through the CLI (the embedded worker runs them as local processes).
        logger = (
            "import json,os,time,urllib.request as u\n"
            "for k,v in (('rows_processed',%d),('bytes_processed',%d)):\n"
            "  r=u.Request(os.environ['MLFLOW_TRACKING_URI'].rstrip('/')+'/api/2.0/mlflow/runs/log-metric',"
            "data=json.dumps({'run_id':os.environ['MLFLOW_RUN_ID'],'key':k,'value':v,"
            "'timestamp':int(time.time()*1000),'step':0}).encode(),headers={'Content-Type':'application/json'})\n"
            "  u.urlopen(r).read()\n" % (ROWS, BYTES))
        jobs = [("train-ok", "training", ["sh", "-c", "echo training"], 0),
                ("train-fail", "training", ["sh", "-c", "exit 3"], 1),
                ("data-ok", "data-processing", [sys.executable, "-c", logger], 0),
                ("data-fail", "data-processing", ["sh", "-c", "exit 2"], 1)]
        for name, kind, cmd, rc in jobs:
            proc = subprocess.run([MLP_BIN, "job", "submit", "--server", self.api, "--name", name, "--kind", kind,
                                   "--wait", "--", *cmd], capture_output=True, text=True, timeout=60)
            assert (proc.returncode == 0) == (rc == 0), f"job {name}: rc {proc.returncode}\n{proc.stdout}{proc.stderr}"

    def query(self, q: str) -> list[dict]:
        url = f"{self.prom}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        _, b = http("GET", url)
        out = json.loads(b)
        assert out["status"] == "success", out
        return out["data"]["result"]

    def value(self, q: str) -> float | None:
        r = self.query(q)
        return float(r[0]["value"][1]) if r else None


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    lv = Live(tmp_path_factory.mktemp("live"))
    try:
        lv.start()
        lv.drive()
        # Until Prometheus has scraped the final state and evaluated the rules.
        wait_for(lambda: lv.value('sum(mlp_jobs_finished_total)') == 4
                 and lv.value('sum(mlp_data_rows_processed_total)') == ROWS
                 and lv.query("mlp:data_rows_processed:rate5m")
                 and lv.query("mlp:job_failures:ratio_rate1h"), 40, "Prometheus to see all jobs and rules")
        # Traffic after Prometheus knows the series, so rate() sees increases
        # (a counter's first sample is not an increase).
        get = "/api/2.0/mlflow/experiments/get"
        lv.call("GET", get, path=f"{get}?experiment_id=0")
        wait_for(lambda: lv.query(f'mlp_http_requests_total{{route="{get}",status="200"}}'), 10, "a scrape")
        for _ in range(10):
            lv.call("GET", get, path=f"{get}?experiment_id=0")
        wait_for(lambda: lv.value("mlp:http_errors:ratio_rate5m") == 0, 20, "the error ratio to be computed")
        time.sleep(2)  # a couple more scrapes and rule evaluations for rate() windows
        yield lv
    except BaseException:
        for f in ("mlp.log", "worker.log", "redis.log", "prometheus.log"):
            p = lv.tmp / f
            if p.exists():
                sys.stderr.write(f"--- {f} (tail)\n" + p.read_text(errors="replace")[-3000:] + "\n")
        raise
    finally:
        lv.stop()


def used_metric_names() -> dict[str, set[str]]:
    """metric name -> where it is used."""
    used: dict[str, set[str]] = {}
    for r in monlib.recording_rules() + monlib.alerts():
        for n in monlib.metric_names(r["expr"]):
            used.setdefault(n, set()).add(f"rule {r.get('record') or r.get('alert')}")
    for uid, title, q in monlib.dashboard_queries():
        for n in monlib.metric_names(q):
            used.setdefault(n, set()).add(f"dashboard {uid}: {title}")
    return used


def test_allowlist_is_minimal():
    used = used_metric_names()
    for name in monlib.CLUSTER_ONLY_METRICS:
        assert name in used, f"allowlisted {name} is not used anywhere: remove it"
        assert not name.startswith(("mlp_", "mlp:")) and name != "up", name


def test_every_used_metric_has_series(live):
    missing = []
    for name, where in sorted(used_metric_names().items()):
        if name in monlib.CLUSTER_ONLY_METRICS:
            continue
        if not live.query(f'count({{__name__="{name}"}})'):
            missing.append(f"{name} (used by {', '.join(sorted(where))})")
    assert not missing, "metrics without any series in Prometheus:\n" + "\n".join(missing)


def test_every_dashboard_query_returns_data(live):
    empty = []
    for uid, title, q in monlib.dashboard_queries(LIVE_VARS):
        if not live.query(q):
            empty.append(f"{uid} / {title}: {q}")
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)


def test_request_counts_by_route(live):
    got = {r["metric"].get("route"): float(r["value"][1])
           for r in live.query("sum by (route) (mlp_http_requests_total)")}
    for route, n in live.sent.items():
        if route.startswith("artifact-"):
            continue
        assert got.get(route, 0) >= n, f"{route}: Prometheus counts {got.get(route)}, sent {n}"
    art = sum(v for k, v in got.items() if k and k.startswith("/api/2.0/mlflow-artifacts/"))
    assert art >= 2
    assert live.value('sum(mlp_http_requests_total{status="404"})') >= 1
    assert live.value("sum(mlp_http_request_duration_seconds_count)") >= sum(live.sent.values())


def test_key_values(live):
    v = live.value
    assert v('up{job="mlp-backend"}') == 1
    assert v('up{job="mlp-worker"}') == 1
    assert v("min(mlp_store_up)") == 1
    assert v('mlp_up{component="server"}') == 1
    assert v('mlp_up{component="worker"}') == 1
    assert v('sum(mlp_jobs_finished_total{kind="training",state="SUCCEEDED"})') == 1
    assert v('sum(mlp_jobs_finished_total{kind="training",state="FAILED",reason="exit_code"})') == 1
    assert v('sum(mlp_jobs_finished_total{kind="data-processing",state="SUCCEEDED"})') == 1
    # mlp_jobs is the store's view, exported by every process: max, not sum.
    assert v('max(mlp_jobs{kind="training",state="SUCCEEDED"})') == 1
    assert v('max(mlp_jobs{kind="data-processing",state="FAILED"})') == 1
    assert v('sum(mlp_jobs_submitted_total)') == 4
    # Should be 0 once every job ended; with the Redis queue some entries stay
    # in the stream (acks time out while the worker's blocking read holds the
    # connection; reported), so only bound it by what was submitted.
    assert 0 <= v("max(mlp_job_queue_depth)") <= 4
    assert v('sum(mlp_data_rows_processed_total{kind="data-processing"})') == ROWS
    assert v('sum(mlp_data_bytes_processed_total{kind="data-processing"})') == BYTES
    assert v('sum(mlp_artifact_bytes_total{direction="in"})') == len(ARTIFACT)
    assert v('sum(mlp_artifact_bytes_total{direction="out"})') == len(ARTIFACT)
    assert v("sum(mlp_runs_created_total)") >= 3
    assert v("sum(mlp_metrics_logged_total)") >= 9
    assert v("sum(mlp_registered_models_created_total)") == 1
    assert v("sum(mlp_model_versions_created_total)") == 1
    assert v('count(mlp_build_info{version!=""})') == 2  # server and worker
    assert v("count(count by (version, mlflow_compat) (mlp_build_info))") == 1
    # Recording rules: no 5xx was sent (the ratio is 0, not "no data"); the
    # job failure ratio exists per kind (its value needs increases after the
    # first scrape, so it is checked by the promtool unit tests instead).
    assert v("mlp:http_errors:ratio_rate5m") == 0
    kinds = {r["metric"].get("kind") for r in live.query("mlp:job_failures:ratio_rate1h")}
    assert kinds == {"training", "data-processing"}
    assert v('sum(mlp:jobs_finished:rate1h{state="FAILED"}) >= 0') is not None


def test_no_availability_alert_while_healthy(live):
    # Pending counts too: the absent()-based down alerts go pending at once.
    firing = live.query('ALERTS{alertname=~"MlpBackendDown|MlpWorkerDown|MlpInstanceDown|MlpDatabaseUnreachable|MlpApi.*"}')
    assert not firing, firing
    # The rules are loaded and evaluated by this Prometheus.
    _, b = http("GET", f"{live.prom}/api/v1/rules")
    groups = json.loads(b)["data"]["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"]}
    expected = {r.get("record") or r.get("alert") for r in monlib.recording_rules() + monlib.alerts()}
    assert expected <= loaded
    assert all(r.get("health") == "ok" for g in groups for r in g["rules"]), \
        [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r.get("health") != "ok"]
