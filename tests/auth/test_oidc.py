"""OIDC single sign-on: bearer JWTs from an identity provider whose keys the test makes itself
(RSA and EC P-256 with the `cryptography` package), handed to the server as a JWKS file, and
sent by the unmodified mlflow client as MLFLOW_TRACKING_TOKEN. Also the refusal counters on
/metrics, which these tests produce. mlp only: MLflow's basic-auth app has no OIDC."""

from __future__ import annotations

import base64
import json
import re
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from mlflow import MlflowClient
from mlflow.server import get_app_client

from conftest import ADMIN, ADMIN_PW, AUTH_SERVER, as_user, free_port, start, with_token

ISSUER = "https://idp.test/realms/ml"
AUDIENCE = "mlp-api"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int, size: int | None = None) -> bytes:
    return n.to_bytes(size or (n.bit_length() + 7) // 8, "big")


class Idp:
    """An identity provider: its keys, its JWKS document, and tokens signed by it."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa_kid, self.ec_kid = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]

    def jwks(self) -> dict:
        rn = self.rsa.public_key().public_numbers()
        en = self.ec.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": self.rsa_kid, "use": "sig", "alg": "RS256", "n": b64u(uint(rn.n)), "e": b64u(uint(rn.e))},
            {"kty": "EC", "kid": self.ec_kid, "crv": "P-256", "x": b64u(uint(en.x, 32)), "y": b64u(uint(en.y, 32))},
        ]}

    def token(self, username: str | None, groups=(), alg="RS256", kid=None, key=None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, "sub": uuid.uuid4().hex,
                   "groups": list(groups)}
        if username is not None:
            payload["preferred_username"] = username
        payload.update(claims)
        header = {"alg": alg, "typ": "JWT", "kid": kid or (self.ec_kid if alg == "ES256" else self.rsa_kid)}
        signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(payload).encode())}".encode()
        if alg == "RS256":
            sig = (key or self.rsa).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            r, s = decode_dss_signature((key or self.ec).sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = uint(r, 32) + uint(s, 32)
        else:
            sig = b""
        return f"{signing_input.decode()}.{b64u(sig)}"


@pytest.fixture(scope="module")
def oidc():
    if AUTH_SERVER != "mlp":
        pytest.skip("mlp's own feature: MLflow's basic-auth app has no OIDC")
    idp = Idp()
    data_dir = Path(tempfile.mkdtemp(prefix="mlp-oidc-"))
    jwks = data_dir / "jwks.json"
    jwks.write_text(json.dumps(idp.jwks()))
    metrics_port = free_port()
    srv = start(data_dir, {
        "MLP__AUTH__OIDC__ISSUER": ISSUER, "MLP__AUTH__OIDC__AUDIENCE": AUDIENCE,
        "MLP__AUTH__OIDC__JWKS_FILE": str(jwks), "MLP__AUTH__OIDC__ADMIN_ROLE": "platform-admins",
        "MLP__METRICS__PORT": str(metrics_port),
    })
    if srv.proc.poll() is not None:
        raise AssertionError(f"server exited:\n{srv.log_text()[-3000:]}")
    srv.metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    srv.jwks_file = jwks
    try:
        yield srv, idp
    finally:
        srv.stop()


def status(srv, token: str, path="/api/2.0/mlflow/users/current", **params) -> int:
    return requests.get(srv.url(path), params=params, headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code


def create_user(srv, token: str) -> int:
    return requests.post(srv.url("/api/2.0/mlflow/users/create"), headers={"Authorization": f"Bearer {token}"},
                         json={"username": f"u-{uuid.uuid4().hex[:8]}", "password": "a-long-password-123"},
                         timeout=10).status_code


def test_a_role_from_the_groups_claim_lets_a_user_log_a_run_and_none_is_403(oidc):
    srv, idp = oidc
    exp_name = f"oidc-{uuid.uuid4().hex[:8]}"
    with as_user(ADMIN, ADMIN_PW):
        exp_id = MlflowClient(srv.base).create_experiment(exp_name)
        ac = get_app_client("basic-auth", tracking_uri=srv.base)
        role = ac.create_role("default", "ml-writers")
        ac.add_role_permission(role.id, "experiment", exp_id, "EDIT")

    # A group the platform has no role for is ignored, not an error.
    with with_token(idp.token("alice", groups=["ml-writers", "no-such-role"])):
        c = MlflowClient(srv.base)
        run = c.create_run(exp_id)
        c.log_metric(run.info.run_id, "loss", 0.5)
        c.set_terminated(run.info.run_id)
        assert c.get_run(run.info.run_id).data.metrics == {"loss": 0.5}
    # The same with an ES256 token (another key of the set).
    with with_token(idp.token("alice", groups=["ml-writers"], alg="ES256")):
        MlflowClient(srv.base).create_run(exp_id)

    with with_token(idp.token("bob", groups=["no-such-role"])):
        c = MlflowClient(srv.base)
        assert c.get_experiment(exp_id).name == exp_name  # the default READ
        with pytest.raises(Exception) as e:
            c.create_run(exp_id)
        assert getattr(e.value, "error_code", "") == "PERMISSION_DENIED", e.value
    with as_user(ADMIN, ADMIN_PW):
        runs = MlflowClient(srv.base).search_runs([exp_id])
        assert len(runs) == 2, "bob's refused run must not exist"
        # Each OIDC user has a row now (no password), which is what grants are given to.
        users = {u["username"]: u for u in requests.get(
            srv.url("/api/2.0/mlflow/users/list"), auth=(ADMIN, ADMIN_PW), timeout=10).json()["users"]}
        assert {"alice", "bob"} <= set(users)
        # An ordinary grant to the OIDC username applies to their next token.
        ac.grant_user_permission("bob", "experiment", exp_id, "EDIT")
    with with_token(idp.token("bob")):
        MlflowClient(srv.base).create_run(exp_id)
    # No Basic login for a user created by OIDC, whatever the password.
    r = requests.get(srv.url("/api/2.0/mlflow/users/current"), auth=("alice", ""), timeout=10)
    assert r.status_code == 401


def test_the_creator_gets_manage_and_the_admin_role_makes_an_admin(oidc):
    srv, idp = oidc
    with with_token(idp.token("carol")):
        c = MlflowClient(srv.base)
        exp_id = c.create_experiment(f"carol-{uuid.uuid4().hex[:8]}")
        me = requests.get(srv.url("/api/2.0/mlflow/users/current"),
                          headers={"Authorization": f"Bearer {idp.token('carol')}"}, timeout=10).json()
        assert me["user"]["username"] == "carol" and not me["user"]["is_admin"]
        # Not an admin: managing users is refused.
        assert create_user(srv, idp.token("carol")) == 403
    with as_user(ADMIN, ADMIN_PW):
        perm = get_app_client("basic-auth", tracking_uri=srv.base).get_user_permission("carol", "experiment", exp_id)
        assert perm.permission == "MANAGE"
    admin_token = idp.token("dave", groups=["platform-admins"])
    assert create_user(srv, admin_token) == 200


def test_bad_tokens_are_401(oidc):
    srv, idp = oidc
    now = int(time.time())
    other = Idp()
    assert status(srv, idp.token("erin")) == 200
    bad = {
        "expired": idp.token("erin", exp=now - 3600, iat=now - 7200),
        "foreign issuer": idp.token("erin", iss="https://evil.test"),
        "other audience": idp.token("erin", aud="someone-else"),
        "not yet valid": idp.token("erin", nbf=now + 3600),
        "other key, same kid": idp.token("erin", key=other.rsa),
        "unknown kid": other.token("erin"),
        "alg none": idp.token("erin", alg="none"),
        "HS256": idp.token("erin", alg="HS256"),
        "ES256 header on the RSA key": idp.token("erin", alg="ES256", kid=idp.rsa_kid),
        "no username claim": idp.token(None),
        # A local user's name: the identity provider must not sign in as the bootstrap admin.
        "local user": idp.token(ADMIN),
    }
    for what, token in bad.items():
        assert status(srv, token) == 401, what
    # The mlflow client sees it too.
    with with_token(bad["expired"]):
        with pytest.raises(Exception) as e:
            MlflowClient(srv.base).search_experiments()
        assert "401" in str(e.value) or "UNAUTHENTICATED" in str(e.value), e.value


def test_a_rotated_key_file_is_picked_up(oidc):
    srv, idp = oidc
    new = Idp()
    token = new.token("frank")
    assert status(srv, token) == 401
    doc = new.jwks()
    doc["keys"] += idp.jwks()["keys"]
    srv.jwks_file.write_text(json.dumps(doc))
    # An unknown kid re-reads a changed file at once.
    assert status(srv, token) == 200
    assert status(srv, idp.token("frank")) == 200


def metric_value(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        m = re.match(rf"^{name}{{(.*)}} (\S+)$", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            return float(m.group(2))
    return None


def test_refusals_are_counted_by_route(oidc):
    srv, idp = oidc
    text = requests.get(srv.metrics, timeout=10).text
    # Registered at start-up: a route nobody was refused on shows 0, not nothing.
    assert metric_value(text, "mlp_auth_denied_total", route="/api/2.0/mlflow/registered-models/delete",
                        status="401") == 0
    before = metric_value(text, "mlp_auth_denied_total", route="/api/2.0/mlflow/users/create", status="403") or 0
    before_401 = metric_value(text, "mlp_auth_denied_total", route="/api/2.0/mlflow/experiments/search",
                              status="401") or 0
    for _ in range(3):
        assert create_user(srv, idp.token("gina")) == 403
    assert status(srv, "not-a-token", "/api/2.0/mlflow/experiments/search", max_results=1) == 401
    text = requests.get(srv.metrics, timeout=10).text
    assert metric_value(text, "mlp_auth_denied_total", route="/api/2.0/mlflow/users/create",
                        status="403") == before + 3
    assert metric_value(text, "mlp_auth_denied_total", route="/api/2.0/mlflow/experiments/search",
                        status="401") == before_401 + 1


@pytest.mark.parametrize("env, setting", [
    ({"MLP__AUTH__OIDC__AUDIENCE": AUDIENCE}, "auth.oidc.jwks_url"),
    ({"MLP__AUTH__OIDC__AUDIENCE": AUDIENCE, "MLP__AUTH__OIDC__JWKS_URL": "https://idp.test/jwks",
      "MLP__AUTH__OIDC__JWKS_FILE": "/nonexistent"}, "auth.oidc.jwks_file"),
    ({"MLP__AUTH__OIDC__AUDIENCE": AUDIENCE, "MLP__AUTH__OIDC__JWKS_FILE": "BAD"}, "auth.oidc.jwks_file"),
    ({"MLP__AUTH__OIDC__JWKS_FILE": "/nonexistent"}, "auth.oidc.audience"),
    # Single sign-on on a server that checks no credentials: refused rather than run open.
    ({"MLP__AUTH__ENABLED": "false", "MLP__AUTH__OIDC__AUDIENCE": AUDIENCE,
      "MLP__AUTH__OIDC__JWKS_URL": "https://idp.test/jwks"}, "auth.enabled"),
])
def test_invalid_settings_refuse_to_start(env, setting):
    if AUTH_SERVER != "mlp":
        pytest.skip("mlp only")
    data_dir = Path(tempfile.mkdtemp(prefix="mlp-oidc-bad-"))
    if env.get("MLP__AUTH__OIDC__JWKS_FILE") == "BAD":
        bad = data_dir / "jwks.json"
        bad.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')
        env = {**env, "MLP__AUTH__OIDC__JWKS_FILE": str(bad)}
    srv = start(data_dir, {"MLP__AUTH__OIDC__ISSUER": ISSUER, **env})
    try:
        assert srv.proc.wait(timeout=30) != 0
        assert setting in srv.log_text(), srv.log_text()[-2000:]
    finally:
        srv.stop()


def test_keys_from_a_jwks_url():
    """The keys fetched from a URL (a loopback HTTP server standing in for the provider); a
    document over the size bound is refused, and so are the tokens, without stopping the server."""
    if AUTH_SERVER != "mlp":
        pytest.skip("mlp only")
    import http.server
    import threading

    idp = Idp()
    docs = {"/jwks": json.dumps(idp.jwks()).encode(), "/huge": b'{"keys": [' + b" " * (2 << 20) + b"]}"}
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = docs.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        for path, ok in (("/jwks", True), ("/huge", False)):
            data_dir = Path(tempfile.mkdtemp(prefix="mlp-oidc-url-"))
            srv = start(data_dir, {
                "MLP__AUTH__OIDC__ISSUER": ISSUER, "MLP__AUTH__OIDC__AUDIENCE": AUDIENCE,
                "MLP__AUTH__OIDC__JWKS_URL": f"http://127.0.0.1:{httpd.server_port}{path}",
            })
            try:
                assert srv.proc.poll() is None, srv.log_text()[-2000:]
                assert status(srv, idp.token("hana")) == (200 if ok else 401)
                if not ok:
                    assert "auth.oidc.jwks_url" in srv.log_text()
                # An unknown kid right after start does not refetch (at most once a minute).
                before = hits.count(path)
                assert status(srv, Idp().token("hana")) == 401
                assert hits.count(path) == before
            finally:
                srv.stop()
    finally:
        httpd.shutdown()
