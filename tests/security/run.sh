#!/usr/bin/env bash
# The attack suite (issue 13): every door found by attacking `mlp server` with its defaults,
# replayed against the built binary. A test here fails if its door reopens.
#
#   MLP_BIN=target/debug/mlp tests/security/run.sh            # everything
#   MLP_BIN=target/debug/mlp tests/security/run.sh -k cors    # extra args go to pytest
#
# Env: MLP_BIN (required), COMPAT_VENV (default $REPO/.venv, shared with tests/compat).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${COMPAT_VENV:-$REPO/.venv}"
PYTHON="${COMPAT_PYTHON:-python3}"

if [[ -z "${MLP_BIN:-}" ]]; then
  echo "run.sh: set MLP_BIN to the built mlp binary (e.g. MLP_BIN=target/debug/mlp)" >&2
  exit 2
fi
case "$MLP_BIN" in /*) ;; *) MLP_BIN="$PWD/$MLP_BIN" ;; esac
if [[ ! -x "$MLP_BIN" ]]; then
  echo "run.sh: MLP_BIN=$MLP_BIN is not an executable file" >&2
  exit 2
fi
export MLP_BIN

# The same venv (mlflow 3.17.2 + scikit-learn) as the compat suite, installed the same way.
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "run.sh: creating venv at $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
COMPAT="$REPO/tests/compat"
stamp="$VENV/.compat-requirements.sha256"
want="$(cat "$COMPAT/requirements.txt" "$COMPAT/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "run.sh: installing test requirements into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$COMPAT/requirements.txt" -c "$COMPAT/constraints.txt"
  echo "$want" > "$stamp"
fi

cd "$REPO"
targets=("$HERE")
quiet=(-q)
for a in "$@"; do
  if [[ "$a" != -* && -e "${a%%::*}" ]]; then targets=(); fi
  case "$a" in -q|-qq|--quiet|-v|-vv|--verbose) quiet=() ;; esac
done
exec "$VENV/bin/python" -m pytest "${targets[@]}" "${quiet[@]}" -p no:cacheprovider "$@"
