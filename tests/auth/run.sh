#!/usr/bin/env bash
# The auth suite (issue 14): users, grants, permission denied, search filtering, artifacts and
# registry permissions and tokens, driven through MLflow's own AuthServiceClient and MlflowClient.
# AUTH_SERVER=mlflow runs the same suite against `mlflow server --app-name basic-auth` (the
# tests of what MLflow lacks, tokens, are skipped there), which is how the suite is validated.
#
#   MLP_BIN=target/debug/mlp tests/auth/run.sh            # everything
#   MLP_BIN=target/debug/mlp tests/auth/run.sh -k tokens    # extra args go to pytest
#
# Env: MLP_BIN (required unless AUTH_SERVER=mlflow), AUTH_SERVER (mlp | mlflow), COMPAT_VENV (default $REPO/.venv, shared with tests/compat).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${COMPAT_VENV:-$REPO/.venv}"
PYTHON="${COMPAT_PYTHON:-python3}"

if [[ "${AUTH_SERVER:-mlp}" == "mlflow" ]]; then
  MLP_BIN="${MLP_BIN:-/bin/true}"
fi
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

auth_stamp="$VENV/.auth-requirements.sha256"
auth_want="$(sha256sum < "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$auth_stamp" || "$(cat "$auth_stamp")" != "$auth_want" ]]; then
  echo "run.sh: installing mlflow[auth]'s extra into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$auth_want" > "$auth_stamp"
fi

cd "$REPO"
targets=("$HERE")
quiet=(-q)
for a in "$@"; do
  if [[ "$a" != -* && -e "${a%%::*}" ]]; then targets=(); fi
  case "$a" in -q|-qq|--quiet|-v|-vv|--verbose) quiet=() ;; esac
done
exec "$VENV/bin/python" -m pytest "${targets[@]}" "${quiet[@]}" -p no:cacheprovider "$@"
