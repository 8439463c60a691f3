#!/usr/bin/env bash
# Jobs end to end: the example workloads of issues 5 and 19 submitted through `mlp job submit` to a
# server on the embedded default (its worker runs them as local processes), checked with the
# real mlflow client.
#
#   MLP_BIN=target/debug/mlp tests/jobs/run.sh            # everything
#   MLP_BIN=target/debug/mlp tests/jobs/run.sh -k cancel  # extra args go to pytest
#
# Env: MLP_BIN (required), DATA_PROFILE_BIN (default: data-profile next to MLP_BIN),
#      COMPAT_VENV (default $REPO/.venv, shared with tests/compat), JOBS_KEEP_TMP=1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../lib/suite.sh
source "$REPO/tests/lib/suite.sh"

require_mlp_bin
DATA_PROFILE_BIN="${DATA_PROFILE_BIN:-$(dirname "$MLP_BIN")/data-profile}"
case "$DATA_PROFILE_BIN" in /*) ;; *) DATA_PROFILE_BIN="$PWD/$DATA_PROFILE_BIN" ;; esac
if [[ ! -x "$DATA_PROFILE_BIN" ]]; then
  echo "run.sh: $DATA_PROFILE_BIN is not built (cargo build --workspace, or set DATA_PROFILE_BIN)" >&2
  exit 2
fi
export DATA_PROFILE_BIN

ensure_test_venv
# PyTorch for the distributed example, only when the venv cannot import it yet (a fresh
# machine: about a minute; see requirements-torch.txt for why the list is pinned).
if ! "$VENV/bin/python" -c "import torch, torch.distributed as d; assert d.is_gloo_available()" 2>/dev/null; then
  echo "run.sh: installing PyTorch (CPU use, gloo) into $VENV" >&2
  t0=$SECONDS
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$HERE/requirements-torch.txt"
  echo "run.sh: PyTorch installed in $((SECONDS - t0))s" >&2
fi
run_suite "$@"
