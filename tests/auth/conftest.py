"""Auth suite: one server with authentication on, started the way an operator would.

`AUTH_SERVER=mlp` (the default) starts `$MLP_BIN server` with `MLP__AUTH__ENABLED=true` and the
admin password from a file; `AUTH_SERVER=mlflow` starts `mlflow server --app-name basic-auth`
with the same admin, so the suite can be checked against MLflow itself. `as_user(name, pw)`
switches the credentials the mlflow client sends (it reads them from the environment on every
request).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
            "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI"):
    os.environ.pop(var, None)

import pytest  # noqa: E402
import requests  # noqa: E402

MLP_BIN = os.environ.get("MLP_BIN", "")
AUTH_SERVER = os.environ.get("AUTH_SERVER", "mlp")
ADMIN, ADMIN_PW = "admin", "admin-password-for-tests"
STARTUP_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, data_dir: Path, log: Path):
        self.proc, self.port, self.data_dir, self.log = proc, port, data_dir, log
        self.base = f"http://127.0.0.1:{port}"
        self.kind = AUTH_SERVER

    def url(self, path: str) -> str:
        return self.base + path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

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


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLP__", "MLFLOW_AUTH")) and k != "DATABASE_URL"}
    env.update(extra)
    return env


def start(data_dir: Path, extra_env: dict[str, str] | None = None, admin_password: str | None = ADMIN_PW) -> Server:
    port = free_port()
    log = data_dir / "server.log"
    if AUTH_SERVER == "mlflow":
        ini = data_dir / "basic_auth.ini"
        ini.write_text(
            "[mlflow]\ndefault_permission = READ\n"
            f"database_uri = sqlite:///{data_dir}/basic_auth.db\n"
            f"admin_username = {ADMIN}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
        env = clean_env({"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PW,
                         "MLFLOW_FLASK_SERVER_SECRET_KEY": "auth-suite", **(extra_env or {})})
        cmd = [str(Path(sys.executable).parent / "mlflow"), "server", "--app-name", "basic-auth",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{data_dir}/mlflow.db",
               "--artifacts-destination", str(data_dir / "artifacts")]
    else:
        pw_env = {}
        if admin_password is not None:
            pw_file = data_dir / "admin-password"
            pw_file.write_text(admin_password + "\n")
            pw_env = {"MLP__AUTH__ADMIN_PASSWORD_FILE": str(pw_file)}
        env = clean_env({**pw_env,
            "MLP__SERVER__PORT": str(port), "MLP__METRICS__PORT": "0", "MLP__DATA_DIR": str(data_dir),
            "MLP__LOG__FORMAT": "json", "MLP__AUTH__ENABLED": "true",
            "MLP__AUTH__ADMIN_USERNAME": ADMIN,
            "MLP__REDIS__URL": "", **(extra_env or {}),
        })
        cmd = [MLP_BIN, "server"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=data_dir, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    srv = Server(proc, port, data_dir, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return srv  # the caller decides whether exiting was expected
        try:
            if requests.get(srv.url("/health"), timeout=1).status_code == 200:
                return srv
        except requests.RequestException:
            pass
        time.sleep(0.2)
    srv.stop()
    raise AssertionError(f"server did not start:\n{srv.log_text()[-3000:]}")


_SHARED: Server | None = None


@pytest.fixture(scope="session")
def server():
    global _SHARED
    if AUTH_SERVER == "mlp" and (not MLP_BIN or not os.access(MLP_BIN, os.X_OK)):
        pytest.exit(f"MLP_BIN={MLP_BIN!r} is not an executable file", returncode=4)
    data_dir = Path(tempfile.mkdtemp(prefix="mlp-auth-"))
    _SHARED = start(data_dir)
    if _SHARED.proc.poll() is not None:
        raise AssertionError(f"server exited:\n{_SHARED.log_text()[-3000:]}")
    try:
        yield _SHARED
    finally:
        _SHARED.stop()


@pytest.fixture
def mlp_only(server):
    if server.kind != "mlp":
        pytest.skip("mlp's own feature: MLflow's basic-auth app has no equivalent")


@contextlib.contextmanager
def as_user(username: str, password: str):
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                                            "MLFLOW_TRACKING_TOKEN")}
    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    os.environ["MLFLOW_TRACKING_USERNAME"] = username
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def with_token(token: str):
    saved = {k: os.environ.pop(k, None) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                                                  "MLFLOW_TRACKING_TOKEN")}
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    try:
        yield
    finally:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


def pytest_runtest_makereport(item, call):
    if call.when == "call" and call.excinfo is not None and _SHARED is not None:
        item.add_report_section("call", "server log", _SHARED.log_text()[-4000:])
