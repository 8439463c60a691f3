#!/usr/bin/env bash
# Thin wrapper: the one local path is `mlp infra up local` (local registry on localhost:5001,
# the Kind cluster of kind/cluster.yaml, the F5 NGINX Ingress Controller, the images, the
# generated secrets, Velero into MinIO, the Prometheus operator, Argo CD, then overlays/local,
# rollouts and smoke tests). `--dry-run` prints the steps.
#   MLP_BIN=/path/to/mlp  the binary to use (default: mlp on PATH, else target/debug/mlp)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
mlp="${MLP_BIN:-}"
if [[ -z "$mlp" ]]; then
  if command -v mlp >/dev/null 2>&1; then mlp=mlp
  elif [[ -x "$repo/target/debug/mlp" ]]; then mlp="$repo/target/debug/mlp"
  else echo "create-cluster.sh: the mlp binary is required (cargo build -p mlp, or set MLP_BIN)" >&2; exit 127
  fi
fi
exec "$mlp" infra up local --root "$repo" "$@"
