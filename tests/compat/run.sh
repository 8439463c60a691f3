#!/usr/bin/env bash
# Black-box MLflow compatibility suite: drives a server with the real mlflow 3.17.2 client.
#
#   MLP_BIN=target/release/mlp tests/compat/run.sh            # against the Rust server
#   COMPAT_SERVER=mlflow tests/compat/run.sh                   # against the reference mlflow server
#   tests/compat/run.sh -k registry -x                         # extra args go to pytest
#
# Env: COMPAT_VENV (default $REPO/.venv), MLP_BIN, COMPAT_SERVER=mlp|mlflow,
#      COMPAT_TRACKING_URI (use an already running server), COMPAT_KEEP_TMP=1 (keep server data).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${COMPAT_VENV:-$REPO/.venv}"
PYTHON="${COMPAT_PYTHON:-python3}"

mode="${COMPAT_SERVER:-mlp}"
if [[ "$mode" != "mlflow" && -z "${COMPAT_TRACKING_URI:-}" ]]; then
  if [[ -z "${MLP_BIN:-}" ]]; then
    echo "run.sh: set MLP_BIN to the built mlp binary (e.g. MLP_BIN=target/release/mlp)," >&2
    echo "        or COMPAT_SERVER=mlflow to run the suite against the reference mlflow server" >&2
    exit 2
  fi
  case "$MLP_BIN" in /*) ;; *) MLP_BIN="$PWD/$MLP_BIN" ;; esac
  if [[ ! -x "$MLP_BIN" ]]; then
    echo "run.sh: MLP_BIN=$MLP_BIN is not an executable file" >&2
    exit 2
  fi
  export MLP_BIN
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "run.sh: creating venv at $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.compat-requirements.sha256"
want="$(cat "$HERE/requirements.txt" "$HERE/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "run.sh: installing test requirements into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$HERE/requirements.txt" -c "$HERE/constraints.txt"
  echo "$want" > "$stamp"
fi

cd "$REPO"
# Run the whole suite unless the caller named test files/dirs/node ids themselves.
targets=("$HERE")
quiet=(-q)
for a in "$@"; do
  if [[ "$a" != -* && -e "${a%%::*}" ]]; then targets=(); fi
  # -q twice (-qq) would drop pytest's closing "N passed" line: add ours only if none given
  case "$a" in -q|-qq|--quiet|-v|-vv|--verbose) quiet=() ;; esac
done
exec "$VENV/bin/python" -m pytest "${targets[@]}" "${quiet[@]}" -p no:cacheprovider "$@"
