#!/usr/bin/env bash
# Acceptance tests of terraform-provider-mlp (issue 16): the real `terraform` binary drives the
# built provider, installed through a CLI config `dev_overrides` (nothing is downloaded, no
# `terraform init`), against a real `mlp server` with authentication on, started per session.
#
#   MLP_BIN=target/debug/mlp tests/provider/run.sh             # everything
#   MLP_BIN=target/debug/mlp tests/provider/run.sh -k drift    # extra args go to pytest
#
# Env: MLP_BIN (required), MLP_PROVIDER_BIN (default: terraform-provider-mlp beside MLP_BIN),
# COMPAT_VENV (default $REPO/.venv, shared with tests/compat).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../lib/suite.sh
source "$REPO/tests/lib/suite.sh"

require_mlp_bin
MLP_PROVIDER_BIN="${MLP_PROVIDER_BIN:-$(dirname "$MLP_BIN")/terraform-provider-mlp}"
case "$MLP_PROVIDER_BIN" in /*) ;; *) MLP_PROVIDER_BIN="$PWD/$MLP_PROVIDER_BIN" ;; esac
if [[ ! -x "$MLP_PROVIDER_BIN" ]]; then
  echo "run.sh: $MLP_PROVIDER_BIN is not an executable file (cargo build -p terraform-provider-mlp)" >&2
  exit 2
fi
export MLP_PROVIDER_BIN
command -v terraform >/dev/null || { echo "run.sh: terraform is not on PATH" >&2; exit 2; }
ensure_test_venv
run_suite "$@"
