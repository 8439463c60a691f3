"""Black-box MLflow compatibility suite: session fixtures.

Starts the server under test on a free 127.0.0.1 port and drives it with the
real `mlflow` Python client.

Modes:
  * default:            MLP_BIN=/path/to/mlp  ->  `$MLP_BIN server --host 127.0.0.1 --port P --data-dir D`
  * COMPAT_SERVER=mlflow -> the reference `mlflow server` from this venv (sqlite + proxied artifacts)
  * COMPAT_TRACKING_URI=http://127.0.0.1:P  -> use an already running server (debugging aid)
  * COMPAT_AUTH_USER=name:password with MLP__AUTH__ENABLED=true and MLP__AUTH__ADMIN_PASSWORD
    -> the suite runs as that user, created by the admin with EDIT on every experiment and
    registered model (how the suite checks that auth on changes no behaviour)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# Fail fast: the client retries 5xx/429 up to 7 times with exponential backoff by
# default, which would turn every server bug into minutes of waiting.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = os.environ.get("COMPAT_HTTP_RETRIES", "0")
os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = os.environ.get("COMPAT_HTTP_TIMEOUT", "20")
# Keep the client quiet and local.
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)
os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
os.environ.pop("MLFLOW_REGISTRY_URI", None)
os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)
os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
os.environ.pop("MLFLOW_RUN_ID", None)

import pytest  # noqa: E402
import requests  # noqa: E402

STARTUP_TIMEOUT_S = float(os.environ.get("COMPAT_STARTUP_TIMEOUT", "90"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _venv_bin(name: str) -> str:
    cand = Path(sys.executable).parent / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"cannot find {name!r} next to {sys.executable} or on PATH")
    return found


class ServerHandle:
    def __init__(self, uri: str, log_path: Path | None, proc: subprocess.Popen | None, mode: str):
        self.uri = uri
        self.log_path = log_path
        self.proc = proc
        self.mode = mode

    def log_tail(self, n: int = 200) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no server log)"
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        # The server was started in its own session/process group (ours alone), so
        # signalling that group also reaches workers it forked (uvicorn/gunicorn).
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)


def _start_server(tmp: Path) -> ServerHandle:
    external = os.environ.get("COMPAT_TRACKING_URI")
    if external:
        return ServerHandle(external.rstrip("/"), None, None, "external")

    mode = os.environ.get("COMPAT_SERVER", "mlp").strip().lower() or "mlp"
    port = _free_port()
    log_path = tmp / "server.log"
    if mode == "mlflow":
        (tmp / "artifacts").mkdir()
        cmd = [
            _venv_bin("mlflow"), "server",
            "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
            "--artifacts-destination", str(tmp / "artifacts"),
            "--workers", "1",
        ]
    elif mode == "mlp":
        mlp_bin = os.environ.get("MLP_BIN")
        if not mlp_bin:
            pytest.exit("MLP_BIN is not set (path to the built `mlp` binary); "
                        "or set COMPAT_SERVER=mlflow to run against the reference server", returncode=4)
        if not os.access(mlp_bin, os.X_OK):
            pytest.exit(f"MLP_BIN={mlp_bin} is not an executable file", returncode=4)
        data_dir = tmp / "data"
        data_dir.mkdir()
        cmd = [mlp_bin, "server", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    else:
        pytest.exit(f"unknown COMPAT_SERVER={mode!r} (expected 'mlp' or 'mlflow')", returncode=4)

    env = dict(os.environ)
    env.setdefault("RUST_LOG", "info")
    logf = open(log_path, "wb")
    logf.write(("$ " + " ".join(cmd) + "\n").encode())
    logf.flush()
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=str(tmp), env=env, start_new_session=True)
    logf.close()
    handle = ServerHandle(f"http://127.0.0.1:{port}", log_path, proc, mode)

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_err = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}\n--- server log ---\n"
                               + handle.log_tail())
        try:
            r = requests.get(handle.uri + "/health", timeout=2)
            if r.status_code == 200:
                return handle
            last_err = f"HTTP {r.status_code}"
        except requests.RequestException as e:  # not listening yet
            last_err = repr(e)
        time.sleep(0.2)
    handle.stop()
    raise RuntimeError(f"server did not answer GET /health with 200 within {STARTUP_TIMEOUT_S}s "
                       f"(last: {last_err})\n--- server log ---\n" + handle.log_tail())


_SERVER: ServerHandle | None = None


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    global _SERVER
    tmp = Path(tempfile.mkdtemp(prefix="mlp-compat-"))
    try:
        handle = _start_server(tmp)
    except RuntimeError as e:
        if not os.environ.get("COMPAT_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        # One clear message instead of an identical ERROR for every test.
        pytest.exit(f"compat: could not start the server under test: {e}", returncode=3)
    _SERVER = handle
    import mlflow

    os.environ["MLFLOW_TRACKING_URI"] = handle.uri
    if os.environ.get("COMPAT_AUTH_USER"):
        _as_auth_user(handle.uri, os.environ["COMPAT_AUTH_USER"])
    mlflow.set_tracking_uri(handle.uri)
    mlflow.set_registry_uri(handle.uri)
    try:
        yield handle
    finally:
        handle.stop()
        _SERVER = None
        if os.environ.get("COMPAT_KEEP_TMP"):
            print(f"\n[compat] server tmpdir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def tracking_uri(server) -> str:
    return server.uri


@pytest.fixture(scope="session")
def is_reference(server) -> bool:
    return server.mode == "mlflow"


@pytest.fixture
def client(tracking_uri):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def exp_name(request) -> str:
    base = request.node.name.replace("[", "-").replace("]", "")[:60]
    return unique(f"compat-{base}")


@pytest.fixture
def experiment_id(tracking_uri, exp_name) -> str:
    """A fresh experiment, made the active one for the fluent API."""
    import mlflow

    exp = mlflow.set_experiment(exp_name)
    return exp.experiment_id


@pytest.fixture
def model_name(request) -> str:
    base = request.node.name.replace("[", "-").replace("]", "")[:50]
    return unique(f"compat-model-{base}")


@pytest.fixture(autouse=True)
def _clean_fluent_state():
    yield
    try:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run()
    except Exception:
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and _SERVER is not None and _SERVER.log_path is not None:
        rep.sections.append(("server log (tail)", _SERVER.log_tail(60)))


def pytest_sessionfinish(session, exitstatus):
    if exitstatus not in (0, 5) and _SERVER is not None and _SERVER.log_path is not None:
        print("\n----- server log (tail) -----\n" + _SERVER.log_tail(200))


# ----------------------------------------------------------------------------------------
# Helpers shared by the test modules
# ----------------------------------------------------------------------------------------


_AUTH: tuple[str, str] | None = None


def _as_auth_user(uri: str, spec: str) -> None:
    global _AUTH
    name, password = spec.split(":", 1)
    admin = (os.environ.get("MLP__AUTH__ADMIN_USERNAME", "admin"), os.environ["MLP__AUTH__ADMIN_PASSWORD"])
    requests.post(uri + "/api/2.0/mlflow/users/create", json={"username": name, "password": password},
                  auth=admin, timeout=20).raise_for_status()
    for resource_type in ("experiment", "registered_model"):
        requests.post(uri + "/api/3.0/mlflow/users/permissions/grant",
                      json={"username": name, "resource_type": resource_type, "resource_id": "*",
                            "permission": "EDIT"}, auth=admin, timeout=20).raise_for_status()
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = name, password
    _AUTH = (name, password)


@pytest.fixture(scope="session")
def api(tracking_uri):
    """Raw HTTP helper for things the client cannot express."""

    class Api:
        base = tracking_uri

        def url(self, path: str) -> str:
            return tracking_uri + path

        def get(self, path, **kw):
            kw.setdefault("timeout", 20)
            kw.setdefault("auth", _AUTH)
            return requests.get(self.url(path), **kw)

        def post(self, path, **kw):
            kw.setdefault("timeout", 20)
            kw.setdefault("auth", _AUTH)
            return requests.post(self.url(path), **kw)

        def request(self, method, path, **kw):
            kw.setdefault("timeout", 20)
            kw.setdefault("auth", _AUTH)
            return requests.request(method, self.url(path), **kw)

    return Api()


@pytest.fixture(scope="session")
def iris():
    """A small deterministic classification data set and a fitted model."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris(as_frame=True)
    X = data.data
    y = data.target
    model = LogisticRegression(max_iter=500)
    model.fit(X, y)
    return X, y, model
