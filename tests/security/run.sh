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
# shellcheck source=../lib/suite.sh
source "$REPO/tests/lib/suite.sh"

require_mlp_bin
ensure_test_venv
run_suite "$@"
