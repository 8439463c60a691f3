"""Every finding of issue 13, replayed as an attacker would against the built `mlp server`.

Each test names the finding it guards. They send what a hostile caller or a hostile web page
would send, and assert both the answer and that nothing happened (no file written, no job, no
experiment created, no secret printed).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import MLP_BIN, clean_env, free_port, spawn

API = "/api/2.0/mlflow"
JSON = {"Content-Type": "application/json"}


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_experiment(server, name: str | None = None) -> str:
    r = requests.post(server.url(f"{API}/experiments/create"), json={"name": name or uniq("exp")})
    assert r.status_code == 200, r.text
    return r.json()["experiment_id"]


def create_run(server, exp: str) -> dict:
    r = requests.post(server.url(f"{API}/runs/create"), json={"experiment_id": exp, "start_time": 1})
    assert r.status_code == 200, r.text
    return r.json()["run"]["info"]


def experiment_exists(server, name: str) -> bool:
    r = requests.get(server.url(f"{API}/experiments/get-by-name"), params={"experiment_name": name})
    return r.status_code == 200


def non_loopback_ip() -> str | None:
    """An address of this machine that is not loopback (the route to a documentation address)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # UDP connect sends nothing
            ip = s.getsockname()[0]
            return None if ip.startswith("127.") else ip
    except OSError:
        return None


# ----------------------------------------------------------------------------- 1. exposure


def test_1_default_listens_on_loopback_only(start_server):
    srv = start_server()
    ip = non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback address to try")
    with pytest.raises(OSError):
        socket.create_connection((ip, srv.port), timeout=2).close()


def test_1_network_bind_without_auth_is_refused(tmp_path):
    port = free_port()
    env = clean_env({"MLP__DATA_DIR": str(tmp_path), "MLP__METRICS__PORT": "0"})
    p = subprocess.run([MLP_BIN, "server", "--host", "0.0.0.0", "--port", str(port)], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "refusing to listen on 0.0.0.0" in p.stderr
    assert "--unsafe-allow-unauthenticated-network" in p.stderr
    # Nothing was created either: the refusal comes before any store is opened.
    assert not (tmp_path / "mlp.db").exists()


def test_1_network_bind_with_the_loud_flag_starts_and_warns(start_server):
    srv = start_server(["--host", "0.0.0.0", "--unsafe-allow-unauthenticated-network"])
    assert requests.get(srv.url("/health"), timeout=5).status_code == 200
    assert "WITHOUT AUTHENTICATION" in srv.log_text()


def test_1_ui_frontend_refuses_network_bind_too(tmp_path):
    env = clean_env({"MLP__DATA_DIR": str(tmp_path)})
    p = subprocess.run([MLP_BIN, "ui", "--host", "0.0.0.0", "--port", str(free_port())], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "refusing to listen" in p.stderr


def test_1_metrics_listen_on_loopback_by_default(start_server):
    mport = free_port()
    srv = start_server(env={"MLP__METRICS__PORT": str(mport)})
    deadline = time.monotonic() + 10
    while True:
        try:
            assert requests.get(f"http://127.0.0.1:{mport}/metrics", timeout=2).status_code == 200
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, srv.log_text()[-2000:]
            time.sleep(0.2)
    ip = non_loopback_ip()
    if ip is not None:
        with pytest.raises(OSError):
            socket.create_connection((ip, mport), timeout=2).close()


# ----------------------------------------------------------------------------- 2. browsers


def test_2_cross_site_text_plain_post_is_refused(server):
    name = uniq("csrf")
    r = requests.post(server.url(f"{API}/experiments/create"), data=json.dumps({"name": name}),
                      headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert not experiment_exists(server, name)


def test_2_same_origin_text_plain_post_is_refused_with_415(server):
    name = uniq("ctype")
    r = requests.post(server.url(f"{API}/experiments/create"), data=json.dumps({"name": name}),
                      headers={"Content-Type": "text/plain"})
    assert r.status_code == 415, r.text
    assert not experiment_exists(server, name)


def test_2_form_post_with_fields_in_the_query_string_runs_nothing(server, tmp_path):
    marker = tmp_path / "pwned"
    # What an HTML form on any page can send: no JSON, fields in the URL.
    r = requests.post(server.url(f"/api/v1/jobs?name=x&kind=training&command=touch&command={marker}"),
                      data="a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415, r.text
    # Even declared as JSON, a POST never reads its fields from the query string.
    r = requests.post(server.url(f"/api/v1/jobs?name=x&kind=training&command=touch&command={marker}"),
                      headers=JSON, data="{}")
    assert r.status_code == 400, r.text
    time.sleep(1.5)
    assert not marker.exists()
    jobs = requests.get(server.url("/api/v1/jobs")).json().get("jobs", [])
    assert not any(j.get("spec", {}).get("command", [None])[-1] == str(marker) for j in jobs)


def test_2_foreign_host_header_is_refused(server):
    # DNS rebinding: evil.example resolves to 127.0.0.1 and the browser sends its own name.
    for path in ["/api/2.0/mlflow/experiments/search", "/", "/api/v1/jobs"]:
        r = requests.get(server.url(path), headers={"Host": f"evil.example:{server.port}"})
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
    r = requests.post(server.url(f"{API}/experiments/create"), json={"name": uniq("rebind")},
                      headers={"Host": "evil.example"})
    assert r.status_code == 403
    # Probes address the pod by IP and stay reachable.
    assert requests.get(server.url("/health"), headers={"Host": "10.1.2.3:8000"}).status_code == 200
    # The names this server is reached by work.
    for host in [f"localhost:{server.port}", f"127.0.0.1:{server.port}"]:
        assert requests.get(server.url(f"{API}/experiments/get?experiment_id=0"),
                            headers={"Host": host}).status_code == 200


def test_2_cors_is_closed_by_default(server):
    r = requests.options(server.url(f"{API}/experiments/create"),
                         headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
    r = requests.get(server.url(f"{API}/experiments/get?experiment_id=0"), headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
    r = requests.post(server.url(f"{API}/experiments/create"), json={"name": uniq("cors")},
                      headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def test_2_cors_allow_list_opens_exactly_the_listed_origin(start_server):
    srv = start_server(env={"MLP__SERVER__CORS_ALLOWED_ORIGINS": "https://notebooks.example.com"})
    ok = {"Origin": "https://notebooks.example.com"}
    r = requests.options(srv.url(f"{API}/experiments/create"),
                         headers={**ok, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://notebooks.example.com"
    r = requests.post(srv.url(f"{API}/experiments/create"), json={"name": uniq("cors-ok")}, headers=ok)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "https://notebooks.example.com"
    r = requests.post(srv.url(f"{API}/experiments/create"), json={"name": uniq("cors-no")},
                      headers={"Origin": "https://notebooks.example.com.evil.example"})
    assert r.status_code == 403


def test_2_ui_has_csp_and_frame_protection(server):
    r = requests.get(server.url("/"))
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


# ----------------------------------------------------------------------------- 3. job isolation


def wait_job(server, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(server.url(f"/api/v1/jobs/{job_id}")).json()["job"]
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


def test_3_jobs_do_not_inherit_the_servers_environment(server):
    r = requests.post(server.url("/api/v1/jobs"), json={
        "name": "env-dump", "kind": "training", "command": ["env"], "env": {"JOB_OWN": "mine"}})
    assert r.status_code == 200, r.text
    job = wait_job(server, r.json()["job"]["job_id"])
    assert job["state"] == "SUCCEEDED", job
    out = requests.get(server.url(f"/api/v1/jobs/{job['job_id']}/logs")).text
    assert "MLFLOW_RUN_ID=" in out and "JOB_OWN=mine" in out, out
    for secret in ["attack-suite-s3-secret", "attack-suite-aws-secret", "MLP__"]:
        assert secret not in out, f"{secret} leaked into the job's environment:\n{out}"


# ----------------------------------------------------------------------------- 4. storage URIs

BAD_LOCATIONS = [
    "mlflow-artifacts://evil.example:5000/x",
    "http://169.254.169.254/latest/meta-data/",
    "https://evil.example/artifacts",
    "file:///etc",
    "/etc",
    "mlflow-artifacts:/1?x=y",
    "mlflow-artifacts:/1#frag",
    "mlflow-artifacts:/../../etc",
    "s3://someone-elses-bucket/x",
]


@pytest.mark.parametrize("location", BAD_LOCATIONS)
def test_4_experiment_artifact_location_is_validated(server, location):
    name = uniq("loc")
    r = requests.post(server.url(f"{API}/experiments/create"), json={"name": name, "artifact_location": location})
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Allowed:" in r.json()["message"]
    assert not experiment_exists(server, name)


def test_4_own_locations_are_accepted(server):
    r = requests.post(server.url(f"{API}/experiments/create"),
                      json={"name": uniq("own"), "artifact_location": "mlflow-artifacts:/team-a/x"})
    assert r.status_code == 200, r.text
    inside = server.data_dir / "artifacts" / "elsewhere"
    r = requests.post(server.url(f"{API}/experiments/create"),
                      json={"name": uniq("own"), "artifact_location": str(inside)})
    assert r.status_code == 200, r.text


BAD_SOURCES = [
    "mlflow-artifacts://evil.example:5000/1/run/artifacts/model",
    "http://evil.example/model.pkl",
    "file:///etc",
    "/etc/passwd",
    "models://profile@databricks/m/1",
    "runs://evil/abc/model",
    "runs:/abc/model?x=1",
]


@pytest.mark.parametrize("source", BAD_SOURCES)
def test_4_model_version_source_is_validated(server, source):
    model = uniq("model")
    assert requests.post(server.url(f"{API}/registered-models/create"), json={"name": model}).status_code == 200
    run = create_run(server, create_experiment(server))
    r = requests.post(server.url(f"{API}/model-versions/create"),
                      json={"name": model, "source": source, "run_id": run["run_id"]})
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.get(server.url(f"{API}/registered-models/get"), params={"name": model})
    assert "latest_versions" not in r.json()["registered_model"]


def test_4_source_of_another_run_is_refused_and_own_run_accepted(server):
    model = uniq("model")
    requests.post(server.url(f"{API}/registered-models/create"), json={"name": model})
    exp = create_experiment(server)
    mine, other = create_run(server, exp), create_run(server, exp)
    r = requests.post(server.url(f"{API}/model-versions/create"),
                      json={"name": model, "source": other["artifact_uri"] + "/model", "run_id": mine["run_id"]})
    assert r.status_code == 400, r.text
    for source in [mine["artifact_uri"] + "/model", f"runs:/{mine['run_id']}/model"]:
        r = requests.post(server.url(f"{API}/model-versions/create"),
                          json={"name": model, "source": source, "run_id": mine["run_id"]})
        assert r.status_code == 200, r.text


def test_4_mlflow_client_cannot_point_an_experiment_elsewhere(server):
    import mlflow
    from mlflow.exceptions import MlflowException
    client = mlflow.MlflowClient(tracking_uri=server.base)
    with pytest.raises(MlflowException) as e:
        client.create_experiment(uniq("exfil"), artifact_location="mlflow-artifacts://evil.example:5000/loot")
    assert "INVALID_PARAMETER_VALUE" in str(e.value) or "Invalid artifact location" in str(e.value)


# ----------------------------------------------------------------------------- 5. bounded search


def search_runs(server, exp, **body):
    return requests.post(server.url(f"{API}/runs/search"), json={"experiment_ids": [exp], **body}, timeout=30)


def test_5_oversized_filters_are_refused_before_any_sql(server):
    exp = create_experiment(server)
    create_run(server, exp)
    cases = {
        "clauses": " AND ".join(f"metrics.m{i} > {i}" for i in range(1001)),
        "like": "params.p LIKE '%" + "a" * 60000 + "%'",
        "in_list": "params.p IN (" + ",".join(f"'{i}'" for i in range(5000)) + ")",
    }
    for what, filt in cases.items():
        t0 = time.monotonic()
        r = search_runs(server, exp, filter=filt)
        assert r.status_code == 400, (what, r.status_code, r.text[:300])
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE", what
        assert time.monotonic() - t0 < 10, what
    r = search_runs(server, exp, order_by=[f"metrics.m{i} DESC" for i in range(2000)])
    assert r.status_code == 400, r.text[:300]


def test_5_a_long_but_legal_filter_answers(server):
    exp = create_experiment(server)
    run = create_run(server, exp)
    requests.post(server.url(f"{API}/runs/log-batch"), json={
        "run_id": run["run_id"], "metrics": [{"key": f"m{i}", "value": i, "timestamp": 1, "step": 0} for i in range(50)]})
    filt = " AND ".join(f"metrics.m{i} >= {i}" for i in range(50))
    r = search_runs(server, exp, filter=filt)
    assert r.status_code == 200, r.text[:300]
    assert [x["info"]["run_id"] for x in r.json()["runs"]] == [run["run_id"]]


# ----------------------------------------------------------------------------- 6. memory


def test_6_oversized_bodies_are_refused_without_growing_memory(server):
    before = server.rss_kb("VmHWM")
    blob = b'{"run_id": "x", "params": [' + b'{"key":"k","value":"' + b"a" * (64 * 1024 * 1024) + b'"}]}'
    try:
        r = requests.post(server.url(f"{API}/runs/log-batch"), data=blob, headers=JSON, timeout=60)
        assert r.status_code == 413, r.text[:200]
        assert r.json()["error_code"] == "BAD_REQUEST"
    except requests.ConnectionError:
        pass  # the server may close the connection once the limit is passed: also a refusal
    grown_mb = (server.rss_kb("VmHWM") - before) / 1024
    assert grown_mb < 64, f"peak RSS grew by {grown_mb:.0f} MB for a refused 64 MB body"


def test_6_a_maximal_log_batch_costs_a_small_multiple_of_its_body(server):
    exp = create_experiment(server)
    run = create_run(server, exp)
    body = json.dumps({
        "run_id": run["run_id"],
        "params": [{"key": f"p{i:03d}" + "k" * 240, "value": "v" * 6000} for i in range(100)],
        "tags": [{"key": f"t{i:03d}" + "k" * 240, "value": "w" * 8000} for i in range(100)],
        "metrics": [{"key": f"m{i:03d}" + "k" * 240, "value": i / 7, "timestamp": 1, "step": i} for i in range(800)],
    }).encode()
    before = server.rss_kb("VmHWM")
    r = requests.post(server.url(f"{API}/runs/log-batch"), data=body, headers=JSON, timeout=60)
    assert r.status_code == 200, r.text[:300]
    grown_mb = (server.rss_kb("VmHWM") - before) / 1024
    print(f"\nmaximal log-batch: body {len(body) / 1e6:.2f} MB, peak RSS growth {grown_mb:.1f} MB")
    assert grown_mb < 20 * len(body) / 1e6 + 8, f"{grown_mb:.0f} MB for a {len(body) / 1e6:.1f} MB body"


# ----------------------------------------------------------------------------- 7. slow clients


def test_7_slow_clients_are_cut_off_and_do_not_starve_health(start_server):
    srv = start_server(env={"MLP__SERVER__HEADER_READ_TIMEOUT_SECS": "2", "MLP__SERVER__MAX_CONNECTIONS": "16"})
    slow = []
    try:
        for _ in range(40):  # more than the connection limit
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")  # headers never end
            slow.append(s)
        t0 = time.monotonic()
        assert requests.get(srv.url("/health"), timeout=15).status_code == 200
        waited = time.monotonic() - t0
        assert waited < 12, f"/health took {waited:.1f} s behind slow clients"
        # The first slow connections were closed by the server (EOF), not left hanging.
        slow[0].settimeout(5)
        data = slow[0].recv(1024)
        assert data == b"" or b"408" in data, data
    finally:
        for s in slow:
            s.close()


# ----------------------------------------------------------------------------- 8. artifacts


@pytest.mark.parametrize("name,body", [
    ("x.html", b"<script>alert(document.domain)</script>"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("x.xml", b"<x/>"),
    ("x.js", b"alert(1)"),
])
def test_8_active_content_is_served_as_an_attachment(server, name, body):
    path = f"/api/2.0/mlflow-artifacts/artifacts/attack/{uuid.uuid4().hex}/{name}"
    assert requests.put(server.url(path), data=body).status_code == 200
    r = requests.get(server.url(path))
    assert r.status_code == 200 and r.content == body
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers.get("content-disposition", "").startswith("attachment"), r.headers
    assert "sandbox" in r.headers.get("content-security-policy", "")


def test_8_uploads_over_the_limit_are_refused_and_leave_nothing(server):
    path = f"/api/2.0/mlflow-artifacts/artifacts/attack/{uuid.uuid4().hex}/big.bin"
    r = requests.put(server.url(path), data=b"0" * (1024 * 1024 + 1))
    assert r.status_code == 413, r.text[:200]
    assert requests.get(server.url(path)).status_code == 404


# ----------------------------------------------------------------------------- 9. redaction


@pytest.mark.parametrize("url", [
    "postgresql://mlp:super/secret@127.0.0.1:1/mlp",
    "postgresql://mlp@127.0.0.1:1/mlp?password=super/secret",
    "postgresql://mlp:p@ss?w#rd-super/secret@127.0.0.1:1/mlp",
])
def test_9_database_passwords_never_reach_logs_or_errors(tmp_path, url):
    env = clean_env({"MLP__DATA_DIR": str(tmp_path), "MLP__DATABASE__URL": url, "MLP__LOG__LEVEL": "debug",
                     "MLP__DATABASE__ACQUIRE_TIMEOUT_MS": "500", "MLP__METRICS__PORT": "0",
                     "MLP__SERVER__PORT": str(free_port())})
    p = subprocess.run([MLP_BIN, "server"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0, "the database at port 1 cannot be reached"
    out = p.stdout + p.stderr
    assert "super/secret" not in out and "secret@" not in out, out
    assert "127.0.0.1" in out or "metadata store" in out, out


# ----------------------------------------------------------------------------- 10. symlinks


def test_10_local_artifact_store_never_follows_symlinks(server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the root")
    root = server.data_dir / "artifacts"
    root.mkdir(exist_ok=True)
    link_dir = root / f"linkdir-{uuid.uuid4().hex[:6]}"
    link_dir.symlink_to(outside, target_is_directory=True)
    link_file = root / f"linkfile-{uuid.uuid4().hex[:6]}"
    link_file.symlink_to(outside / "secret.txt")
    base = "/api/2.0/mlflow-artifacts/artifacts"
    for path in [f"{link_dir.name}/secret.txt", link_file.name]:
        r = requests.get(server.url(f"{base}/{path}"))
        assert r.status_code in (400, 404), (path, r.status_code)
        assert b"outside the root" not in r.content
    r = requests.put(server.url(f"{base}/{link_dir.name}/planted.txt"), data=b"x")
    assert r.status_code in (400, 404), r.text
    assert not (outside / "planted.txt").exists()
    r = requests.delete(server.url(f"{base}/{link_dir.name}/secret.txt"))
    assert r.status_code in (400, 404), r.text
    assert (outside / "secret.txt").read_text() == "outside the root"
    r = requests.get(server.url("/api/2.0/mlflow-artifacts/artifacts"), params={"path": link_dir.name})
    assert "secret.txt" not in r.text


# ----------------------------------------------------------------------------- 11. minor


def test_11_nul_and_oversized_names_are_refused(server):
    r = requests.post(server.url(f"{API}/experiments/create"), json={"name": "a\u0000b"})
    assert r.status_code == 400, r.text
    r = requests.post(server.url(f"{API}/registered-models/create"), json={"name": "m" * (1024 * 1024)})
    assert r.status_code in (400, 413), r.status_code
    r = requests.post(server.url(f"{API}/registered-models/create"), json={"name": "m" * 100_000})
    assert r.status_code == 400, r.status_code


def test_no_client_mistake_is_ever_a_5xx(server):
    """The mlflow client retries 5xx seven times: a sweep of hostile inputs must stay 4xx."""
    exp = create_experiment(server)
    cases = [
        ("POST", f"{API}/runs/search", {"experiment_ids": [exp], "filter": "metrics.m > " * 500}),
        ("POST", f"{API}/runs/search", {"experiment_ids": [exp], "filter": "params.p LIKE '" + "%" * 70000 + "'"}),
        ("POST", f"{API}/runs/search", {"experiment_ids": [exp], "max_results": 10**12}),
        ("POST", f"{API}/experiments/search", {"filter": " AND ".join(["name LIKE 'a%'"] * 3000)}),
        ("GET", f"{API}/registered-models/search", {"filter": "name = '" + "x" * 100000 + "'"}),
        ("POST", f"{API}/experiments/create", {"name": "\u0000"}),
        ("POST", f"{API}/runs/log-batch", {"run_id": "0" * 32, "metrics": [{"key": "k", "value": "x"}]}),
    ]
    for method, path, body in cases:
        if method == "GET":
            r = requests.get(server.url(path), params=body, timeout=30)
        else:
            r = requests.post(server.url(path), json=body, timeout=30)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
