"""Provider suite: one `mlp server` with authentication on for the session, and a fresh Terraform
working directory per test whose CLI config points `ml-platform/mlp` at the built provider
(`dev_overrides`), so `terraform plan/apply/import` run without `terraform init` or any download.

`api` talks to the same server as the admin, to set up objects and to make changes behind
Terraform's back (drift).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

MLP_BIN = os.environ.get("MLP_BIN", "")
PROVIDER_BIN = os.environ.get("MLP_PROVIDER_BIN", "")
ADMIN, ADMIN_PW = "admin", "admin-password-for-provider-tests"
TF_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc, port, data_dir: Path):
        self.proc, self.port, self.data_dir = proc, port, data_dir
        self.base = f"http://127.0.0.1:{port}"
        self.log = data_dir / "server.log"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@pytest.fixture(scope="session")
def server():
    if not MLP_BIN or not os.access(MLP_BIN, os.X_OK):
        pytest.exit(f"MLP_BIN={MLP_BIN!r} is not an executable file", returncode=4)
    if not PROVIDER_BIN or not os.access(PROVIDER_BIN, os.X_OK):
        pytest.exit(f"MLP_PROVIDER_BIN={PROVIDER_BIN!r} is not an executable file", returncode=4)
    data_dir = Path(tempfile.mkdtemp(prefix="mlp-provider-"))
    port = free_port()
    pw_file = data_dir / "admin-password"
    pw_file.write_text(ADMIN_PW + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLP__", "MLFLOW_"))}
    env.update({
        "MLP__SERVER__PORT": str(port), "MLP__METRICS__PORT": "0", "MLP__DATA_DIR": str(data_dir),
        "MLP__AUTH__ENABLED": "true", "MLP__AUTH__ADMIN_USERNAME": ADMIN,
        "MLP__AUTH__ADMIN_PASSWORD_FILE": str(pw_file), "MLP__REDIS__URL": "",
    })
    with open(data_dir / "server.log", "wb") as out:
        proc = subprocess.Popen([MLP_BIN, "server"], env=env, cwd=data_dir, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    srv = Server(proc, port, data_dir)
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"server exited:\n{srv.log_text()[-3000:]}")
        try:
            if requests.get(srv.base + "/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            srv.stop()
            raise AssertionError(f"server did not start:\n{srv.log_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield srv
    finally:
        srv.stop()


class Api:
    """The server's REST API as the admin."""

    def __init__(self, base: str):
        self.base = base
        self.s = requests.Session()
        self.s.auth = (ADMIN, ADMIN_PW)

    def call(self, method: str, path: str, body: dict | None = None, **params) -> dict:
        prefix = "" if path.startswith("/api/") else "/api/2.0/mlflow/"
        url = self.base + prefix + path.lstrip("/") if prefix else self.base + path
        if method == "GET":
            r = self.s.get(url, params=params, timeout=30)
        else:
            r = self.s.request(method, url, json=body or {}, timeout=30)
        if r.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {r.status_code} {r.text}")
        return r.json() if r.text.strip() else {}

    def experiment(self, name: str) -> dict:
        return self.call("GET", "experiments/get-by-name", experiment_name=name)["experiment"]


@pytest.fixture(scope="session")
def api(server) -> Api:
    return Api(server.base)


class Tf:
    """One Terraform working directory using the built provider."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env

    def write(self, hcl: str, name: str = "main.tf"):
        (self.root / name).write_text(
            'terraform {\n  required_providers {\n    mlp = { source = "ml-platform/mlp" }\n  }\n}\n'
            'provider "mlp" {}\n' + hcl
            if name == "main.tf" else hcl)

    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        # Options go before positional arguments (terraform import ADDR ID).
        opts = []
        if args[0] in ("apply", "destroy"):
            opts.append("-auto-approve")
        if args[0] in ("plan", "apply", "destroy", "import", "refresh"):
            opts += ["-input=false", "-no-color"]
        cmd = ["terraform", args[0], *opts, *args[1:]]
        p = subprocess.run(cmd, cwd=self.root, env={**self.env, **(env or {})}, capture_output=True,
                           text=True, timeout=TF_TIMEOUT_S)
        # Terraform wraps diagnostics at 78 columns: assertions read them as one line.
        p.diag = " ".join(p.stderr.split())
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
        return p

    def plan_exit(self) -> tuple[int, str]:
        """`terraform plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error."""
        p = self.run("plan", "-detailed-exitcode", check=False)
        return p.returncode, p.stdout + p.stderr

    def state(self) -> dict:
        return json.loads(self.run("show", "-json").stdout)

    def resource(self, address: str) -> dict:
        def walk(module):
            yield from module.get("resources", [])
            for child in module.get("child_modules", []):
                yield from walk(child)
        for r in walk(self.state().get("values", {}).get("root_module", {})):
            if r["address"] == address:
                return r["values"]
        raise AssertionError(f"{address} not in state")

    def output(self, name: str):
        return json.loads(self.run("output", "-json", name).stdout)


@pytest.fixture
def tf(server, tmp_path) -> Tf:
    cli = tmp_path / "terraformrc"
    cli.write_text(
        'provider_installation {\n'
        f'  dev_overrides {{ "registry.terraform.io/ml-platform/mlp" = "{Path(PROVIDER_BIN).parent}" }}\n'
        '  direct {}\n}\n')
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLP_", "MLFLOW_", "TF_"))}
    env.update({
        "TF_CLI_CONFIG_FILE": str(cli), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
        "TF_DATA_DIR": str(tmp_path / ".terraform"),
        # The provider block stays short: the host and credentials come from the environment.
        "MLP_SERVER": server.base, "MLFLOW_TRACKING_USERNAME": ADMIN, "MLFLOW_TRACKING_PASSWORD": ADMIN_PW,
    })
    if os.environ.get("TF_PLUGIN_LOG"):
        env["PLUGIN_LOG_FILE"] = str(tmp_path / "provider.log")
    return Tf(work, env)
