#!/usr/bin/env bash
# Thin wrapper: the one deploy path is `mlp infra deploy` (Terraform plan/apply of the saved
# plan, overlay inputs from the Terraform outputs, Argo CD sync or kubectl apply, rollouts,
# smoke tests). This script only finds the mlp binary and passes the arguments on.
#
# Usage: deploy-environment.sh [--dry-run] [--yes] [--skip-kubernetes] <local|dev|staging|prod> [plan|apply|destroy]
#   MLP_BIN=/path/to/mlp  the binary to use (default: mlp on PATH, else target/debug/mlp of this checkout)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
mlp="${MLP_BIN:-}"
if [[ -z "$mlp" ]]; then
  if command -v mlp >/dev/null 2>&1; then
    mlp=mlp
  elif [[ -x "$repo/target/debug/mlp" ]]; then
    mlp="$repo/target/debug/mlp"
  else
    echo "deploy-environment.sh: the mlp binary is required (cargo build -p mlp, or set MLP_BIN)" >&2
    exit 127
  fi
fi
flags=()
args=()
for a in "$@"; do
  case "$a" in
    --*) flags+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
exec "$mlp" infra deploy --root "$repo" "${args[@]}" "${flags[@]}"
