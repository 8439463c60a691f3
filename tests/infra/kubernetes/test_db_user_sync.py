"""The application's own database role (cloud): the mlp-db-user-sync CronJob's
real script (from the rendered ConfigMap) against a real PostgreSQL whose
application role logs in with a password: it creates the role, leaves it alone
while its login works, and sets the new password after a rotation; the role
can then create its tables (what the server's migrations do)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import k8slib
from conftest import docs_for
from test_backups import PgServer, _pg_bindir


def test_cronjob_mounts_both_logins(rendered):
    for env in ("dev", "staging", "prod"):
        cj = k8slib.find(docs_for(rendered, env), "CronJob", "mlp-db-user-sync")[0]
        spec = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        secrets = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
        assert secrets == {"mlp-database", "mlp-database-admin"}
    assert not k8slib.find(docs_for(rendered, "local"), "CronJob", "mlp-db-user-sync")


def test_sync_runs_before_the_application_rolls_out(rendered):
    """A new environment's backend must not start before its database role exists: under Argo CD
    the on-deploy Job is a Sync hook in a wave after the ExternalSecrets and before the backend
    and worker, and it runs exactly the CronJob's pod."""
    wave = lambda d: int(d["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))
    for env in ("dev", "staging", "prod"):
        docs = docs_for(rendered, env)
        job = k8slib.find(docs, "Job", "mlp-db-user-sync-on-deploy")[0]
        ann = job["metadata"]["annotations"]
        assert ann["argocd.argoproj.io/hook"] == "Sync"
        assert "BeforeHookCreation" in ann["argocd.argoproj.io/hook-delete-policy"]
        cj = k8slib.find(docs, "CronJob", "mlp-db-user-sync")[0]
        assert job["spec"]["template"] == cj["spec"]["jobTemplate"]["spec"]["template"]
        for kind in ("ExternalSecret", "ConfigMap", "ServiceAccount", "NetworkPolicy"):
            assert all(wave(d) < wave(job) for d in docs if d["kind"] == kind), kind
        for name in ("mlp-backend", "mlp-worker"):
            assert wave(k8slib.find(docs, "Deployment", name)[0]) > wave(job), name
    assert not k8slib.find(docs_for(rendered, "local"), "Job", "mlp-db-user-sync-on-deploy")


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    base = tmp_path_factory.mktemp("pg-user")
    os.chmod(base, 0o755)
    for parent in base.parents:
        if str(parent).startswith(("/tmp", "/var/tmp")) and parent != Path("/tmp"):
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    s = PgServer(base / "server", 55000 + os.getpid() % 1000, _pg_bindir())
    s.dir.mkdir()
    os.chmod(s.dir, 0o755)
    s.start()
    # The application role authenticates with its password; the admin stays trusted.
    hba = s.data / "pg_hba.conf"
    s.run("sh", "-c", f"sed -i '1i local all mlp scram-sha-256' {hba}")
    s.psql("postgres", "SELECT pg_reload_conf()")
    yield s
    s.stop()


def _sync(rendered, pg, tmp: Path, password: str) -> str:
    cm = k8slib.find(docs_for(rendered, "dev"), "ConfigMap", "db-user-sync-script", prefix=True)[0]
    secrets = tmp / "secrets"
    for d, files in {"database": {"password": password},
                     "database-admin": {"username": "postgres", "password": "unused-with-trust"}}.items():
        (secrets / d).mkdir(parents=True, exist_ok=True)
        for k, v in files.items():
            (secrets / d / k).write_text(v)
    script = tmp / "db-user-sync.sh"
    script.write_text(cm["data"]["db-user-sync.sh"].replace("/var/run/secrets/mlp", str(secrets)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_"))}
    env["DATABASE_URL"] = f"postgresql://mlp@/mlp?host={pg.sock}&port={pg.port}"
    r = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _login(pg, password: str, sql: str = "SELECT 1") -> subprocess.CompletedProcess:
    env = {**os.environ, "PGPASSWORD": password}
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(pg.sock), "-p", str(pg.port),
                           "-U", "mlp", "-d", "mlp", "-c", sql], env=env, capture_output=True, text=True)


def test_creates_keeps_and_rotates_the_application_role(rendered, pg, tmp_path):
    assert _login(pg, "first-pw").returncode != 0
    assert "creating it" in _sync(rendered, pg, tmp_path, "first-pw")
    assert _login(pg, "first-pw", "CREATE TABLE experiments (id int)").returncode == 0
    assert "nothing to do" in _sync(rendered, pg, tmp_path, "first-pw")
    # Rotation: the secret changed, the role still has the old password.
    assert _login(pg, "second-pw").returncode != 0
    assert "setting its password" in _sync(rendered, pg, tmp_path, "second-pw")
    assert _login(pg, "second-pw", "INSERT INTO experiments VALUES (1)").returncode == 0
    assert _login(pg, "first-pw").returncode != 0
    assert pg.psql("mlp", "SELECT rolsuper FROM pg_roles WHERE rolname = 'mlp'").strip() == "f"
