#!/usr/bin/env bash
# Generate the dev-only credentials of the local (Kind) overlay into
# overlays/local/secrets/ (git-ignored). Existing files are kept, so re-running
# does not rotate passwords under a running cluster. Usage:
#   generate-local-secrets.sh [OVERLAY_DIR]   (default: ../overlays/local)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-$here/../overlays/local}/secrets"
mkdir -p "$dir"
umask 077
rand() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
gen() { [ -s "$dir/$1" ] || printf '%s' "$2" > "$dir/$1"; }
gen postgres-password "$(rand 32)"
gen redis-password "$(rand 32)"
gen admin-password "$(rand 32)"
gen minio-root-user "mlp-$(rand 8)"
gen minio-root-password "$(rand 40)"
if [ ! -s "$dir/aws-credentials" ]; then
  printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$(cat "$dir/minio-root-user")" "$(cat "$dir/minio-root-password")" > "$dir/aws-credentials"
fi
echo "local secrets in $dir"
