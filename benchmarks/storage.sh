#!/usr/bin/env bash
# Storage benchmark (issue 15): the same scenarios, driven by mlp-loadgen (Rust, keep-alive
# connections, pre-serialised bodies), against `mlp server` on SQLite and on PostgreSQL and, when
# the venv has it, MLflow's own server on SQLite, and FastTrackML on SQLite and PostgreSQL when
# its `fml` binary is found; one line per scenario and server. FastTrackML goes in a venv of its
# own: its wheel requires mlflow<3 and would downgrade the client of the test venv.
#   python3 -m venv /tmp/fml && /tmp/fml/bin/pip install fasttrackml==0.6.0 && FML=/tmp/fml/bin/fml benchmarks/storage.sh
#
#   benchmarks/storage.sh                      # release binaries (cargo build --release -p mlp -p mlp-loadgen)
#   MLP_BIN=target/debug/mlp LOADGEN=target/debug/mlp-loadgen SCALE=0.1 benchmarks/storage.sh
#
# Env: MLP_BIN, LOADGEN, SCALE (multiplies request counts and sizes, default 1), SERVERS
# (default "mlp-sqlite mlp-postgres mlflow fasttrackml-sqlite fasttrackml-postgres"), VENV
# (default .venv, for MLflow), FML (FastTrackML's binary, default `fml` on PATH), BENCH_PORT
# (first port, default 18700).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
MLP_BIN="${MLP_BIN:-target/release/mlp}"
LOADGEN="${LOADGEN:-target/release/mlp-loadgen}"
SCALE="${SCALE:-1}"
SERVERS="${SERVERS:-mlp-sqlite mlp-postgres mlflow fasttrackml-sqlite fasttrackml-postgres}"
VENV="${VENV:-$REPO/.venv}"
FML="${FML:-$(command -v fml || true)}"
TMP="$(mktemp -d /tmp/mlp-bench.XXXXXX)"
# scripts/pg-tmp runs PostgreSQL as an unprivileged user when root: its directory lives in target/.
PG_DIR="$REPO/target/pg-bench"
PORT="${BENCH_PORT:-18700}"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/pg-tmp stop "$PG_DIR" >/dev/null 2>&1 || true
  scripts/pg-tmp stop "$PG_DIR-fml" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

n() { python3 -c "print(max(1, int($1 * $SCALE)))"; }

wait_up() {
  for _ in $(seq 1 900); do
    curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "server on $PORT did not start" >&2
  return 1
}

# Each scenario prints its line and appends its figures to results.jsonl for the table at the end.
scenarios() {
  local url="http://127.0.0.1:$PORT" name="$1" label args out
  for entry in \
    "log-batch, 1 client|log-batch --clients 1 --requests $(n 200)" \
    "log-batch, 8 clients|log-batch --clients 8 --requests $(n 200)" \
    "log-metric, 64 connections|log-metric --clients 64 --seconds $(n 10)" \
    "get-history, $(n 100000) points|get-history --points $(n 100000) --requests $(n 10)" \
    "search, $(n 10000) runs|search --runs $(n 10000) --requests $(n 50)"; do
    label="${entry%%|*}" args="${entry#*|}"
    printf '%-20s ' "$name"
    if out="$("$LOADGEN" --url "$url" --json $args)"; then
      python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%-12s %10.0f %s/s  p50 %8.2f ms  p99 %8.2f ms  errors %d  (%s)" % (r["scenario"], r["rate"], r["unit"], r["p50_ms"], r["p99_ms"], r["errors"], r["note"]))' "$out"
      python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(server=sys.argv[2], label=sys.argv[3]); print(json.dumps(r))' \
        "$out" "$name" "$label" >>"$TMP/results.jsonl"
    else
      echo "(failed)"
    fi
  done
}

# The side-by-side table: writes by rate, reads by p50, and how many times faster mlp on SQLite is.
table() {
  [[ -s "$TMP/results.jsonl" ]] || return 0
  python3 - "$TMP/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
servers = list(dict.fromkeys(r["server"] for r in rows))
labels = list(dict.fromkeys(r["label"] for r in rows))
get = {(r["server"], r["label"]): r for r in rows}
def figure(r):
    if r is None: return None, "-"
    if r["scenario"] in ("get-history", "search"):
        return 1.0 / max(r["p50_ms"], 1e-9), f'{r["p50_ms"]:.1f} ms'
    return r["rate"], f'{r["rate"]:,.0f}/s'
base = servers[0]
print()
print("| | " + " | ".join(servers) + " |")
print("|---" * (len(servers) + 1) + "|")
for label in labels:
    b, _ = figure(get.get((base, label)))
    cells = []
    for s in servers:
        v, text = figure(get.get((s, label)))
        if s != base and v and b:
            text += f" ({b / v:.1f}x)"
        cells.append(text)
    print(f"| {label} | " + " | ".join(cells) + " |")
print(f"\n(writes: rate; reads: p50; in brackets: how many times {base} is faster)")
PY
}

for server in $SERVERS; do
  PORT=$((PORT + 1))
  case "$server" in
    mlp-sqlite)
      mkdir -p "$TMP/sqlite"
      MLP__DATA_DIR="$TMP/sqlite" MLP__SERVER__PORT=$PORT MLP__METRICS__PORT=0 MLP__LOG__LEVEL=warn \
        MLP__WORKER__EMBEDDED=false "$MLP_BIN" server >"$TMP/sqlite.log" 2>&1 &
      ;;
    mlp-postgres)
      url="$(scripts/pg-tmp start "$PG_DIR" $((PORT + 1000)))"
      mkdir -p "$TMP/pgdata"
      MLP__DATABASE__URL="$url" MLP__DATA_DIR="$TMP/pgdata" MLP__SERVER__PORT=$PORT MLP__METRICS__PORT=0 \
        MLP__LOG__LEVEL=warn MLP__WORKER__EMBEDDED=false "$MLP_BIN" server >"$TMP/pg.log" 2>&1 &
      ;;
    mlflow)
      if [[ ! -x "$VENV/bin/mlflow" ]]; then echo "mlflow: not in $VENV, skipped"; continue; fi
      mkdir -p "$TMP/mlflow"
      "$VENV/bin/mlflow" server --host 127.0.0.1 --port $PORT --workers 2 \
        --backend-store-uri "sqlite:///$TMP/mlflow/mlflow.db" --artifacts-destination "$TMP/mlflow/artifacts" \
        >"$TMP/mlflow.log" 2>&1 &
      ;;
    fasttrackml-sqlite)
      if [[ ! -x "$FML" ]]; then echo "fasttrackml: no fml binary (set FML), skipped"; continue; fi
      mkdir -p "$TMP/fml"
      "$FML" server --listen-address "127.0.0.1:$PORT" --log-level warn \
        --database-uri "sqlite://$TMP/fml/fml.db" --default-artifact-root "$TMP/fml/artifacts" \
        >"$TMP/fml.log" 2>&1 &
      ;;
    fasttrackml-postgres)
      if [[ ! -x "$FML" ]]; then echo "fasttrackml: no fml binary (set FML), skipped"; continue; fi
      url="$(scripts/pg-tmp start "$PG_DIR-fml" $((PORT + 1000)))"
      mkdir -p "$TMP/fmlpg"
      "$FML" server --listen-address "127.0.0.1:$PORT" --log-level warn \
        --database-uri "${url/postgresql:/postgres:}?sslmode=disable" --default-artifact-root "$TMP/fmlpg/artifacts" \
        >"$TMP/fmlpg.log" 2>&1 &
      ;;
    *) echo "unknown server $server" >&2; exit 2 ;;
  esac
  pids+=($!)
  wait_up
  scenarios "$server"
  kill "${pids[-1]}" 2>/dev/null || true
done
table
