#!/usr/bin/env bash
# Regenerate overlays/<env>/infra-outputs.env from the Terraform outputs of
# the cloud root infrastructure/terraform/environments/cloud, initialised with
# environments/<env>/backend.hcl (`mlp infra deploy <env>` runs it right after
# its apply; the outputs' ENVIRONMENT must be <env>).
#
# Contract with the Terraform side: the environment's root module exposes one
# output, `kubernetes_infra_outputs`, a map(string) whose keys are exactly the
# keys of infra-outputs.env (AWS_REGION, VPC_CIDR, DATABASE_SUBNETS_CIDR,
# CACHE_SUBNETS_CIDR, DATABASE_URL, DATABASE_SECRET_ARN, DATABASE_ADMIN_SECRET_ARN, REDIS_URL,
# REDIS_SECRET_NAME, ARTIFACTS_ROOT, BACKUP_S3_URI, INGRESS_HOST,
# ACM_CERTIFICATE_ARN, IMAGE_REGISTRY, ENVIRONMENT). None of them is secret.
#
# Usage: infra-outputs-from-terraform.sh dev|staging|prod
set -euo pipefail
env="${1:?usage: $0 dev|staging|prod}"
case "$env" in dev|staging|prod) ;; *) echo "unknown environment $env" >&2; exit 2 ;; esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="$here/../overlays/$env/infra-outputs.env"
command -v terraform >/dev/null || { echo "terraform is required" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

json="$(terraform -chdir="$repo/infrastructure/terraform/environments/cloud" output -json kubernetes_infra_outputs)"
# The cloud root is shared: refuse another environment's state.
got="$(jq -r '.ENVIRONMENT' <<<"$json")"
[[ "$got" == "$env" ]] || { echo "the initialised state is $got's, not $env's (terraform -chdir=.../environments/cloud init -reconfigure -backend-config=../$env/backend.hcl)" >&2; exit 1; }
required=(ENVIRONMENT AWS_REGION VPC_CIDR DATABASE_SUBNETS_CIDR CACHE_SUBNETS_CIDR DATABASE_URL DATABASE_SECRET_ARN DATABASE_ADMIN_SECRET_ARN
          REDIS_URL REDIS_SECRET_NAME ARTIFACTS_ROOT BACKUP_S3_URI INGRESS_HOST ACM_CERTIFICATE_ARN IMAGE_REGISTRY)
for k in "${required[@]}"; do
  jq -e --arg k "$k" 'has($k) and (.[$k] | type == "string") and (.[$k] | length > 0)' <<<"$json" >/dev/null \
    || { echo "terraform output kubernetes_infra_outputs lacks $k" >&2; exit 1; }
done
{
  echo "# Connection settings for $env, from the Terraform outputs of"
  echo "# infrastructure/terraform/environments/cloud with $env's backend (regenerate with"
  echo "# infrastructure/kubernetes/scripts/infra-outputs-from-terraform.sh $env)."
  echo "# Not secret: passwords stay in Secrets Manager and arrive via ExternalSecrets."
  for k in "${required[@]}"; do
    printf '%s=%s\n' "$k" "$(jq -r --arg k "$k" '.[$k]' <<<"$json")"
  done
} > "$out"
echo "wrote $out"
