"""End-to-end jobs suite: session fixtures.

Starts `$MLP_BIN server` (the embedded default: SQLite, local artifacts, a worker inside the
server) on a free 127.0.0.1 port with the repository root as its working directory, so the
relative example paths in job commands resolve, and drives it with the `mlp job` CLI and the
real mlflow client. Same approach as tests/compat/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

# Fail fast instead of retrying server errors with backoff; keep the client local and quiet.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
            "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID",
            "MLP_SERVER", "MLP_SHARD_INDEX", "MLP_SHARD_COUNT"):
    os.environ.pop(var, None)

import pytest  # noqa: E402
import requests  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Server:
    def __init__(self, uri: str, proc: subprocess.Popen, log_path: Path, data_dir: Path):
        self.uri, self.proc, self.log_path, self.data_dir = uri, proc, log_path, data_dir

    def log_tail(self, n: int = 80) -> str:
        if not self.log_path.exists():
            return "(no server log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        # Its own session: the group holds the server and any job process still running.
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


_SERVER: Server | None = None


@pytest.fixture(scope="session")
def server():
    global _SERVER
    mlp_bin = os.environ.get("MLP_BIN")
    if not mlp_bin or not os.access(mlp_bin, os.X_OK):
        pytest.exit(f"MLP_BIN={mlp_bin!r} is not an executable file (the built `mlp`)", returncode=4)
    tmp = Path(tempfile.mkdtemp(prefix="mlp-jobs-e2e-"))
    port = _free_port()
    data_dir = tmp / "data"
    log_path = tmp / "server.log"
    cmd = [mlp_bin, "server", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "info")
    # A short lease makes the worker notice a cancel within a couple of seconds.
    env["MLP__WORKER__LEASE_SECONDS"] = "6"
    env["MLP__WORKER__GRACE_SECONDS"] = "3"
    with open(log_path, "wb") as logf:
        logf.write(("$ " + " ".join(cmd) + "\n").encode())
        logf.flush()
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(REPO), env=env, start_new_session=True)
    srv = Server(f"http://127.0.0.1:{port}", proc, log_path, data_dir)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.exit(f"the server exited with {proc.returncode}\n{srv.log_tail()}", returncode=3)
        try:
            if requests.get(srv.uri + "/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            srv.stop()
            pytest.exit(f"the server did not become healthy\n{srv.log_tail()}", returncode=3)
        time.sleep(0.2)
    _SERVER = srv
    import mlflow

    os.environ["MLFLOW_TRACKING_URI"] = srv.uri
    mlflow.set_tracking_uri(srv.uri)
    mlflow.set_registry_uri(srv.uri)
    try:
        yield srv
    finally:
        srv.stop()
        _SERVER = None
        if os.environ.get("JOBS_KEEP_TMP"):
            print(f"\n[jobs] server tmpdir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def client(server):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)


class Cli:
    """`$MLP_BIN job …` against the test server."""

    def __init__(self, uri: str):
        self.uri = uri
        self.bin = os.environ["MLP_BIN"]

    def __call__(self, *args: str, timeout: float = 240, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.bin, "job", *args[:1], "--server", self.uri, *args[1:]]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(REPO))
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def get(self, job_id: str) -> dict:
        return json.loads(self("get", job_id).stdout)

    def submit(self, *args: str, wait: bool = True) -> tuple[str, float]:
        """Submits (with --wait by default); returns the job id and the seconds it took."""
        t0 = time.monotonic()
        p = self("submit", *(["--wait"] if wait else []), *args)
        return p.stdout.strip().splitlines()[0], time.monotonic() - t0

    def wait_state(self, job_id: str, states: set[str], timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["state"] in states:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} is {job['state']}, not {states}, after {timeout}s: {job}")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def mlp(server) -> Cli:
    return Cli(server.uri)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and _SERVER is not None:
        rep.sections.append(("server log (tail)", _SERVER.log_tail(60)))


# Seconds each job took from `mlp job submit --wait` to its end, printed after the run.
DURATIONS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter):
    if DURATIONS:
        terminalreporter.write_sep("-", "job durations (submit --wait, seconds)")
        for name, secs in DURATIONS.items():
            terminalreporter.write_line(f"{secs:7.1f}  {name}")
