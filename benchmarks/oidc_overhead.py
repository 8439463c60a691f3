"""OIDC bearer JWTs: the cost of authentication per request with the same token each time (cached
after the first verification) against a fresh token each time (signature verified, the user row
looked up), on get-run, 1000 sequential calls each after a warm-up; Basic as the reference.
The identity provider's key (RS256, 2048 bits) is made here and handed over as a JWKS file.

    .venv/bin/python benchmarks/oidc_overhead.py target/release/mlp
"""
import base64, json, os, socket, statistics, subprocess, sys, tempfile, time, uuid

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BIN = sys.argv[1]
N = 1000
ISS, AUD = "https://idp.bench", "mlp"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


key = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(user):
    now = int(time.time())
    h = b64u(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
    p = b64u(json.dumps({"iss": ISS, "aud": AUD, "exp": now + 3600, "iat": now, "preferred_username": user,
                         "groups": ["writers"], "jti": uuid.uuid4().hex}).encode())
    sig = key.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{h}.{p}.{b64u(sig)}"


d = tempfile.mkdtemp()
nums = key.public_key().public_numbers()
with open(f"{d}/jwks.json", "w") as f:
    json.dump({"keys": [{"kty": "RSA", "kid": "k1", "n": b64u(uint(nums.n)), "e": b64u(uint(nums.e))}]}, f)
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = {k: v for k, v in os.environ.items() if not k.startswith("MLP__")}
env.update({"MLP__SERVER__PORT": str(port), "MLP__METRICS__PORT": "0", "MLP__DATA_DIR": d, "MLP__LOG__LEVEL": "warn",
            "MLP__AUTH__ENABLED": "true", "MLP__AUTH__ADMIN_PASSWORD": "bench-password-1",
            "MLP__AUTH__OIDC__ISSUER": ISS, "MLP__AUTH__OIDC__AUDIENCE": AUD,
            "MLP__AUTH__OIDC__JWKS_FILE": f"{d}/jwks.json"})
proc = subprocess.Popen([BIN, "server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True)
base = f"http://127.0.0.1:{port}"
try:
    for _ in range(300):
        try:
            if requests.get(base + "/health", timeout=1).ok:
                break
        except Exception:
            time.sleep(0.1)
    admin = requests.Session(); admin.auth = ("admin", "bench-password-1")
    eid = admin.post(base + "/api/2.0/mlflow/experiments/create", json={"name": "b"}).json()["experiment_id"]
    rid = admin.post(base + "/api/2.0/mlflow/runs/create", json={"experiment_id": eid}).json()["run"]["info"]["run_id"]
    admin.post(base + "/api/2.0/mlflow/users/create", json={"username": "u", "password": "user-password-1"}).raise_for_status()
    sess = requests.Session()
    url = base + "/api/2.0/mlflow/runs/get"

    def measure(headers_for, auth=None):
        for i in range(50):
            sess.get(url, params={"run_id": rid}, headers=headers_for(N + i), auth=auth).raise_for_status()
        ts = []
        for i in range(N):
            h = headers_for(i)
            t = time.perf_counter()
            sess.get(url, params={"run_id": rid}, headers=h, auth=auth).raise_for_status()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts) * 1000, statistics.mean(ts) * 1000

    same = {"Authorization": f"Bearer {token('alice')}"}
    fresh = [{"Authorization": f"Bearer {token('alice')}"} for _ in range(N + 50)]
    rows = [
        ("Basic (cached)", measure(lambda i: {}, auth=("u", "user-password-1"))),
        ("JWT, same token (cached)", measure(lambda i: same)),
        ("JWT, fresh token each call (verified)", measure(lambda i: fresh[i])),
    ]
    for name, (p50, mean) in rows:
        print(f"get-run, {name}: p50 {p50:.3f} ms, mean {mean:.3f} ms")
finally:
    os.killpg(proc.pid, 15)
    proc.wait()
