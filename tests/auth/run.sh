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
# shellcheck source=../lib/suite.sh
source "$REPO/tests/lib/suite.sh"

if [[ "${AUTH_SERVER:-mlp}" == "mlflow" ]]; then
  MLP_BIN="${MLP_BIN:-/bin/true}"
fi
require_mlp_bin
ensure_test_venv
auth_stamp="$VENV/.auth-requirements.sha256"
auth_want="$(sha256sum < "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$auth_stamp" || "$(cat "$auth_stamp")" != "$auth_want" ]]; then
  echo "run.sh: installing mlflow[auth]'s extra into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$auth_want" > "$auth_stamp"
fi

run_suite "$@"
