#!/usr/bin/env bash
# End-to-end tests of the embedded web UI in headless Chromium (Debian's `chromium`, driven by
# playwright-core from npm) against a real `mlp server` seeded through the mlflow client.
#
#   MLP_BIN=target/debug/mlp tests/ui/run.sh          # the e2e suite (exit 1 on any failure; jobs tests skip with a message when /api/v1/jobs is 404 or 501),
#                                                     # then auth.mjs against a second server with auth on (login, permissions, admin, tokens)
#   MLP_BIN=target/debug/mlp tests/ui/run.sh bench    # the time-to-first-render benchmark
#
# Env: UI_ONLY=<substring> (run matching tests), UI_SCREENSHOTS (default docs/screenshots),
#      UI_KEEP_TMP=1 (keep the server's data dir and log), BENCH_* (see bench.mjs),
#      COMPAT_VENV (the mlflow venv, default $REPO/.venv, shared with tests/compat).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${COMPAT_VENV:-$REPO/.venv}"
CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
mode="${1:-e2e}"
case "$mode" in e2e|bench) ;; *) echo "run.sh: unknown mode '$mode' (e2e | bench)" >&2; exit 2 ;; esac

die() { echo "tests/ui/run.sh: $*" >&2; exit 2; }

[[ -n "${MLP_BIN:-}" ]] || die "set MLP_BIN to the built mlp binary (e.g. MLP_BIN=target/debug/mlp)"
case "$MLP_BIN" in /*) ;; *) MLP_BIN="$PWD/$MLP_BIN" ;; esac
[[ -x "$MLP_BIN" ]] || die "MLP_BIN=$MLP_BIN is not an executable file"
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are required (Node.js 20+)"

# 1. Chromium from Debian (test tools' own browser downloads do not work here).
if [[ ! -x "$CHROMIUM_BIN" ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    die "$CHROMIUM_BIN is missing and installing it needs root: run 'apt-get update && apt-get install -y chromium' as root"
  fi
  echo "run.sh: installing Debian's chromium" >&2
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
  [[ -x "$CHROMIUM_BIN" ]] || die "chromium installed but $CHROMIUM_BIN is missing"
fi
export CHROMIUM_BIN

# 2. playwright-core (pinned in package.json / package-lock.json) into tests/ui/node_modules.
stamp="$HERE/node_modules/.lock.sha256"
want="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "run.sh: npm ci (tests/ui)" >&2
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  echo "$want" > "$stamp"
fi

# 3. The mlflow client: the venv tests/compat/run.sh creates (same requirements and stamp).
if [[ "$mode" == e2e ]]; then
  [[ -x "$VENV/bin/python" ]] || { echo "run.sh: creating venv at $VENV" >&2; "${COMPAT_PYTHON:-python3}" -m venv "$VENV"; }
  pystamp="$VENV/.compat-requirements.sha256"
  pywant="$(cat "$REPO/tests/compat/requirements.txt" "$REPO/tests/compat/constraints.txt" | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$pystamp" || "$(cat "$pystamp")" != "$pywant" ]]; then
    echo "run.sh: installing the mlflow client into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
      -r "$REPO/tests/compat/requirements.txt" -c "$REPO/tests/compat/constraints.txt"
    echo "$pywant" > "$pystamp"
  fi
fi

# 4. A server on a free port with an empty data dir.
tmp="$(mktemp -d -t mlp-ui.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$MLP_BIN" server --host 127.0.0.1 --port "$port" --data-dir "$tmp/data" >"$tmp/server.log" 2>&1 &
server_pid=$!
auth_pid=""
cleanup() {
  kill "$server_pid" $auth_pid 2>/dev/null || true
  wait "$server_pid" $auth_pid 2>/dev/null || true
  if [[ -n "${UI_KEEP_TMP:-}" ]]; then echo "run.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -fsS "$base/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { tail -50 "$tmp/server.log" >&2; die "the server exited at start"; }
  sleep 0.1
done
curl -fsS "$base/health" >/dev/null || { tail -50 "$tmp/server.log" >&2; die "the server did not become healthy"; }
export UI_BASE="$base"

cd "$HERE"
status=0
if [[ "$mode" == bench ]]; then
  node bench.mjs || status=$?
else
  # 5. Seed through the real mlflow client, then the browser tests.
  echo "run.sh: seeding $base through the mlflow client" >&2
  seed_json="$(MLFLOW_TRACKING_URI="$base" "$VENV/bin/python" "$HERE/seed.py" 2>"$tmp/seed.log" | tail -1)" \
    || { cat "$tmp/seed.log" >&2; die "seeding failed"; }
  export UI_SEED="$seed_json"
  export UI_SCREENSHOTS="${UI_SCREENSHOTS:-$REPO/docs/screenshots}"
  export UI_OUT="$tmp/screens"
  mkdir -p "$UI_OUT"
  node unit.mjs || status=$?
  [[ $status == 0 ]] && { node e2e.mjs || status=$?; }
  # 6. Login, permissions, admin and tokens pages: a second server, with auth on.
  if [[ $status == 0 ]]; then
    auth_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    admin_pw="ui-admin-$RANDOM-$RANDOM-password"
    MLP__AUTH__ENABLED=true MLP__AUTH__ADMIN_PASSWORD="$admin_pw" \
      "$MLP_BIN" server --host 127.0.0.1 --port "$auth_port" --data-dir "$tmp/auth-data" >"$tmp/auth-server.log" 2>&1 &
    auth_pid=$!
    auth_base="http://127.0.0.1:$auth_port"
    for _ in $(seq 1 300); do
      curl -fsS "$auth_base/health" >/dev/null 2>&1 && break
      kill -0 "$auth_pid" 2>/dev/null || { tail -50 "$tmp/auth-server.log" >&2; die "the server with auth on exited at start"; }
      sleep 0.1
    done
    UI_AUTH_BASE="$auth_base" UI_ADMIN_PASSWORD="$admin_pw" node auth.mjs || status=$?
    [[ $status == 0 ]] || { echo "--- server with auth on, log (last 40 lines)" >&2; tail -40 "$tmp/auth-server.log" >&2; }
  fi
  if [[ $status != 0 ]]; then
    echo "--- server log (last 40 lines)" >&2; tail -40 "$tmp/server.log" >&2
    cp -r "$UI_OUT" "${TMPDIR:-/tmp}/mlp-ui-failed-screens" 2>/dev/null && echo "run.sh: screenshots in ${TMPDIR:-/tmp}/mlp-ui-failed-screens" >&2
  fi
fi
exit $status
