"""Auth overhead: the same calls against `mlp server` with auth off and with auth on (a non-admin
user over HTTP Basic), 1000 sequential calls each after a warm-up; prints p50 and mean.

    .venv/bin/python benchmarks/auth_overhead.py target/release/mlp

Verified credentials, grants and run -> experiment mappings are cached, so auth on should stay
within 10% of auth off (issue 14).
"""
import os, subprocess, sys, time, socket, statistics, tempfile, requests
BIN = sys.argv[1]
def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def run(auth):
    d = tempfile.mkdtemp(); p = port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLP__")}
    env.update({"MLP__SERVER__PORT": str(p), "MLP__METRICS__PORT": "0", "MLP__DATA_DIR": d, "MLP__LOG__LEVEL": "warn"})
    if auth:
        env.update({"MLP__AUTH__ENABLED": "true", "MLP__AUTH__ADMIN_PASSWORD": "bench-password-1"})
    proc = subprocess.Popen([BIN, "server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{p}"
    for _ in range(300):
        try:
            if requests.get(base + "/health", timeout=1).ok: break
        except Exception: time.sleep(0.1)
    s = requests.Session()
    if auth: s.auth = ("admin", "bench-password-1")
    if auth:
        s.post(base + "/api/2.0/mlflow/users/create", json={"username": "u", "password": "user-password-1"}).raise_for_status()
        s.auth = ("u", "user-password-1")
    eid = s.post(base + "/api/2.0/mlflow/experiments/create", json={"name": "b"}).json()["experiment_id"]
    rid = s.post(base + "/api/2.0/mlflow/runs/create", json={"experiment_id": eid}).json()["run"]["info"]["run_id"]
    out = {}
    for name, fn in [
        ("log-metric", lambda i: s.post(base + "/api/2.0/mlflow/runs/log-metric", json={"run_id": rid, "key": "m", "value": i, "timestamp": i, "step": i})),
        ("get-run", lambda i: s.get(base + "/api/2.0/mlflow/runs/get", params={"run_id": rid})),
    ]:
        for i in range(50): fn(i).raise_for_status()
        ts = []
        for i in range(1000):
            t = time.perf_counter(); fn(i).raise_for_status(); ts.append(time.perf_counter() - t)
        out[name] = (statistics.median(ts) * 1000, statistics.mean(ts) * 1000)
    os.killpg(proc.pid, 15); proc.wait()
    return out
off, on = run(False), run(True)
for k in off:
    print(f"{k}: auth off p50 {off[k][0]:.3f} ms mean {off[k][1]:.3f} ms | auth on (non-admin, Basic) p50 {on[k][0]:.3f} ms mean {on[k][1]:.3f} ms | {100*(on[k][0]/off[k][0]-1):+.1f}% p50")
