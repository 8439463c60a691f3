"""Backups: present per environment, and the backup CronJob's real scripts
(taken from the rendered ConfigMap) dump one PostgreSQL server and restore
into another with the same data."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import k8slib
from conftest import docs_for

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_backups_present(rendered, env):
    v = k8slib.check_backups(docs_for(rendered, env), env)
    assert not v, "\n".join(v)


def test_cronjob_runs_the_tested_script(rendered):
    for env in k8slib.ENVS:
        docs = docs_for(rendered, env)
        cj = k8slib.find(docs, "CronJob", "mlp-pg-backup")[0]
        spec = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        c = spec["containers"][0]
        assert c["command"] == ["/bin/sh", "/scripts/backup.sh"]
        mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/scripts")
        vol = next(v for v in spec["volumes"] if v["name"] == mount["name"])
        assert vol["configMap"]["name"].startswith("pg-backup-scripts-")


# --------------------------------------------------------------------------
# real PostgreSQL
# --------------------------------------------------------------------------

def _pg_bindir() -> Path:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(cand, "initdb").exists() and Path(cand, "pg_ctl").exists():
            return Path(cand)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql package "
                "(run.sh does this when run as root)")


class PgServer:
    def __init__(self, base: Path, port: int, bindir: Path):
        self.dir, self.port, self.bindir = base, port, bindir
        self.data, self.sock = base / "data", base / "sock"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            pwd.getpwnam("postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql:///mlp?host={self.sock}&port={self.port}&user=postgres"

    def run(self, *cmd, **kw):
        proc = subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, **kw)
        if proc.returncode != 0:
            log = self.dir / "log"
            pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
                        f"{log.read_text()[-2000:] if log.exists() else ''}")
        return proc

    def start(self):
        self.sock.mkdir(parents=True)
        if self.as_user:
            shutil.chown(self.dir, "postgres")
            shutil.chown(self.sock, "postgres")
        self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-l", str(self.dir / "log"),
                 "-o", f"-k {self.sock} -p {self.port} -c listen_addresses='' -c fsync=off", "start")
        self.psql("postgres", "CREATE DATABASE mlp")

    def stop(self):
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "stop"], capture_output=True)

    def psql(self, db: str, sql: str) -> str:
        proc = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                               "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.fail(f"psql {db}: {proc.stderr}")
        return proc.stdout


@pytest.fixture(scope="module")
def pg_pair(tmp_path_factory):
    bindir = _pg_bindir()
    base = tmp_path_factory.mktemp("pg")
    os.chmod(base, 0o755)
    for parent in base.parents:  # the postgres user must reach its dirs
        if str(parent).startswith(("/tmp", "/var/tmp")) and parent != Path("/tmp"):
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    port = 54000 + os.getpid() % 1000
    servers = [PgServer(base / name, port + i, bindir) for i, name in enumerate(("source", "target"))]
    for s in servers:
        s.dir.mkdir()
        os.chmod(s.dir, 0o755)
        s.start()
    yield servers
    for s in servers:
        s.stop()


SEED = """
CREATE TABLE experiments (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, created timestamptz DEFAULT now());
CREATE TABLE runs (id uuid PRIMARY KEY, experiment_id bigint REFERENCES experiments(id), status text,
                   params jsonb, metric double precision);
CREATE INDEX runs_experiment ON runs(experiment_id);
INSERT INTO experiments(name) SELECT 'exp-' || g FROM generate_series(1, 50) g;
INSERT INTO runs SELECT md5(g::text)::uuid, 1 + g % 50, CASE WHEN g % 3 = 0 THEN 'FAILED' ELSE 'FINISHED' END,
                        jsonb_build_object('lr', g / 1000.0, 'name', 'ünïcode-' || g), g * 0.5
                   FROM generate_series(1, 2000) g;
CREATE VIEW finished AS SELECT * FROM runs WHERE status = 'FINISHED';
"""
FINGERPRINT = """
SELECT (SELECT count(*) FROM experiments) || ':' || (SELECT count(*) FROM runs) || ':' ||
       (SELECT md5(string_agg(id::text || status || params::text || metric::text, ',' ORDER BY id)) FROM runs) || ':' ||
       (SELECT count(*) FROM finished) || ':' || (SELECT last_value FROM experiments_id_seq)
"""


def _scripts(rendered, workdir: Path) -> tuple[Path, Path]:
    cm = k8slib.find(docs_for(rendered, "local"), "ConfigMap", "pg-backup-scripts", prefix=True)[0]
    out = []
    for name in ("backup.sh", "restore.sh"):
        p = workdir / name
        p.write_text(cm["data"][name])
        out.append(p)
    return out[0], out[1]


def _env(tmp: Path, s3: Path, **extra) -> dict:
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    aws = bindir / "aws"
    if not aws.exists():
        aws.symlink_to(HERE / "fake_aws.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_", "AWS_"))}
    env.update(PATH=f"{bindir}:{os.environ['PATH']}", FAKE_S3_ROOT=str(s3), BACKUP_S3_URI="s3://mlp-backups/postgresql",
               S3_ENDPOINT_URL="http://minio.ml-platform.svc.cluster.local:9000", BACKUP_WORKDIR=str(tmp),
               RETENTION_DAYS="7")
    env.update(extra)
    return env


def test_dump_and_restore_between_two_servers(rendered, pg_pair, tmp_path):
    source, target = pg_pair
    source.psql("mlp", SEED)
    backup, restore = _scripts(rendered, tmp_path)
    s3 = tmp_path / "s3"
    bucket = s3 / "mlp-backups" / "postgresql"
    bucket.mkdir(parents=True)
    # Retention: one dump older than RETENTION_DAYS, one recent.
    old = bucket / "mlp-20000101T000000Z.dump"
    recent_ts = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")
    recent = bucket / f"mlp-{recent_ts}.dump"
    old.write_bytes(b"old")
    recent.write_bytes(b"recent")
    pw = tmp_path / "password"
    pw.write_text("unused-with-trust-auth")

    r = subprocess.run(["sh", str(backup)], env=_env(tmp_path, s3, DATABASE_URL=source.url,
                                                      DATABASE_PASSWORD_FILE=str(pw)),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    dumps = sorted(p.name for p in bucket.iterdir())
    assert old.name not in dumps, "retention did not prune the old dump"
    assert recent.name in dumps, "retention pruned a dump younger than RETENTION_DAYS"
    new = [d for d in dumps if d != recent.name]
    assert len(new) == 1 and (bucket / new[0]).stat().st_size > 1000
    recent.unlink()  # so that "newest" is the real dump

    # Restore into the second server, twice (idempotent: --clean --if-exists).
    for _ in range(2):
        r = subprocess.run(["sh", str(restore)], env=_env(tmp_path, s3, RESTORE_DATABASE_URL=target.url),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    assert source.psql("mlp", FINGERPRINT) == target.psql("mlp", FINGERPRINT)
    assert target.psql("mlp", "SELECT count(*) FROM runs").strip() == "2000"
    schema = ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", "--no-comments"]
    a = subprocess.run(schema + ["-d", source.url], capture_output=True, text=True, check=True).stdout
    b = subprocess.run(schema + ["-d", target.url], capture_output=True, text=True, check=True).stdout
    strip = lambda s: [ln for ln in s.splitlines() if not ln.startswith(("--", "\\restrict", "\\unrestrict"))]  # noqa: E731
    assert strip(a) == strip(b)


def test_backup_fails_loudly(rendered, pg_pair, tmp_path):
    """Unreachable database: non-zero exit and nothing uploaded. Corrupt
    dump: restore fails and the target is left as it was."""
    source, target = pg_pair
    backup, restore = _scripts(rendered, tmp_path)
    s3 = tmp_path / "s3"
    r = subprocess.run(["sh", str(backup)],
                       env=_env(tmp_path, s3, DATABASE_URL=f"postgresql:///mlp?host={tmp_path}&port=1&user=postgres"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert not list(s3.rglob("*.dump"))
    bucket = s3 / "mlp-backups" / "postgresql"
    bucket.mkdir(parents=True)
    (bucket / "mlp-20990101T000000Z.dump").write_bytes(b"PGDMP not really a dump")
    target.psql("postgres", "DROP DATABASE IF EXISTS mlp_corrupt")
    target.psql("postgres", "CREATE DATABASE mlp_corrupt")
    target.psql("mlp_corrupt", "CREATE TABLE keep(x int); INSERT INTO keep VALUES (1)")
    url = target.url.replace("/mlp?", "/mlp_corrupt?")
    r = subprocess.run(["sh", str(restore)], env=_env(tmp_path, s3, RESTORE_DATABASE_URL=url),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert target.psql("mlp_corrupt", "SELECT count(*) FROM keep").strip() == "1"
