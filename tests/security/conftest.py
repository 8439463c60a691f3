"""Attack suite: fixtures that start the built `mlp` binary the way an operator would.

`start_server(args, env)` starts `$MLP_BIN server` on a free 127.0.0.1 port with its own data
directory and returns a handle; `server` is one shared instance on the embedded default. Every
process started here is stopped at the end of its test (or session).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
            "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
    os.environ.pop(var, None)

import pytest  # noqa: E402
import requests  # noqa: E402

MLP_BIN = os.environ.get("MLP_BIN", "")
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any MLP__ setting of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLP__") and k != "DATABASE_URL"}
    env["MLP__LOG__FORMAT"] = "json"
    env.update(extra or {})
    return env


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, data_dir: Path, log: Path):
        self.proc, self.port, self.data_dir, self.log = proc, port, data_dir, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def rss_kb(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} for pid {self.proc.pid}")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def spawn(args: list[str], env: dict[str, str], data_dir: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([MLP_BIN, *args], env=env, cwd=data_dir, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"mlp exited with {server.proc.returncode}:\n{server.log_text()[-3000:]}")
        try:
            if requests.get(server.url("/health"), timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"mlp did not start:\n{server.log_text()[-3000:]}")


@pytest.fixture
def start_server(tmp_path_factory):
    """Starts servers for one test, stopped when it ends."""
    started: list[Server] = []

    def start(args: list[str] | None = None, env: dict[str, str] | None = None,
              port: int | None = None, wait: bool = True) -> Server:
        if not MLP_BIN or not os.access(MLP_BIN, os.X_OK):
            pytest.exit(f"MLP_BIN={MLP_BIN!r} is not an executable file", returncode=4)
        data_dir = tmp_path_factory.mktemp("mlp")
        port = port or free_port()
        full_env = clean_env({"MLP__SERVER__PORT": str(port), "MLP__METRICS__PORT": "0",
                              "MLP__DATA_DIR": str(data_dir), **(env or {})})
        srv = Server(spawn(["server", *(args or [])], full_env, data_dir, data_dir / "server.log"),
                     port, data_dir, data_dir / "server.log")
        started.append(srv)
        if wait:
            wait_ready(srv)
        return srv

    yield start
    for s in started:
        s.stop()


_SHARED: Server | None = None


@pytest.fixture(scope="session")
def server():
    """One server on the embedded default (plus a small artifact limit), shared by the tests
    that only send requests."""
    global _SHARED
    data_dir = Path(tempfile.mkdtemp(prefix="mlp-attack-"))
    port = free_port()
    env = clean_env({
        "MLP__SERVER__PORT": str(port),
        "MLP__METRICS__PORT": "0",
        "MLP__DATA_DIR": str(data_dir),
        "MLP__ARTIFACTS__MAX_UPLOAD_BYTES": str(1024 * 1024),
        # Secrets a job must never see: the server's own settings and cloud credentials.
        "MLP__ARTIFACTS__S3__SECRET_ACCESS_KEY": "attack-suite-s3-secret",
        "AWS_SECRET_ACCESS_KEY": "attack-suite-aws-secret",
        "MLP__REDIS__URL": "",
    })
    _SHARED = Server(spawn(["server"], env, data_dir, data_dir / "server.log"), port, data_dir,
                     data_dir / "server.log")
    try:
        wait_ready(_SHARED)
        yield _SHARED
    finally:
        _SHARED.stop()


def pytest_runtest_makereport(item, call):
    # A failing test shows the shared server's last log lines.
    if call.when == "call" and call.excinfo is not None and _SHARED is not None:
        item.add_report_section("call", "server log", _SHARED.log_text()[-4000:])
