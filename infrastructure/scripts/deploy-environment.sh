#!/usr/bin/env bash
# Deploy one environment of the ML platform: Terraform, then the Kubernetes
# overlay of the same name.
#
# Usage: deploy-environment.sh [options] <local|dev|staging|prod> [plan|apply|destroy]
#
#   plan     (default) terraform init + plan, writes tfplan
#   apply    plan, then apply that plan, then kubectl apply -k the overlay
#   destroy  terraform destroy (never for prod)
#
# Options:
#   --dry-run          print every command instead of running it (needs no tools)
#   --yes              do not ask for confirmation (required to apply prod non-interactively)
#   --skip-kubernetes  stop after Terraform
#   -h, --help         this help
#
# Remote state: dev/staging/prod init with environments/<env>/backend.hcl
# (S3, lock file, encryption); local keeps local state.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "error: $1" >&2; exit "${2:-1}"; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

DRY_RUN=0
ASSUME_YES=0
SKIP_K8S=0
positional=()

while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --yes | -y) ASSUME_YES=1 ;;
    --skip-kubernetes) SKIP_K8S=1 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; positional+=("$@"); break ;;
    -*) usage >&2; die "unknown option: $1" 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done

((${#positional[@]} >= 1)) || { usage >&2; die "missing environment" 2; }
((${#positional[@]} <= 2)) || { usage >&2; die "too many arguments: ${positional[*]}" 2; }

ENVIRONMENT="${positional[0]}"
ACTION="${positional[1]:-plan}"

case "$ENVIRONMENT" in
  local | dev | staging | prod) ;;
  *) die "invalid environment: '$ENVIRONMENT' (expected local, dev, staging or prod)" 2 ;;
esac
case "$ACTION" in
  plan | apply | destroy) ;;
  *) die "invalid action: '$ACTION' (expected plan, apply or destroy)" 2 ;;
esac

TF_ENV_DIR="$REPO_ROOT/infrastructure/terraform/environments/$ENVIRONMENT"
OVERLAY_DIR="$REPO_ROOT/infrastructure/kubernetes/overlays/$ENVIRONMENT"
[[ -d "$TF_ENV_DIR" ]] || die "missing Terraform root module: $TF_ENV_DIR"

if [[ "$ENVIRONMENT" == "prod" && "$ACTION" == "destroy" ]]; then
  die "refusing to destroy prod: deletion protection is on by design; remove it in a reviewed change first" 3
fi

run() {
  if ((DRY_RUN)); then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

require() {
  ((DRY_RUN)) && return 0
  command -v "$1" >/dev/null 2>&1 || die "$1 is required but not on PATH" 127
}

confirm() {
  ((ASSUME_YES || DRY_RUN)) && return 0
  [[ -t 0 ]] || die "$1 needs confirmation: re-run with --yes" 3
  local answer
  read -r -p "$1 — type the environment name to continue: " answer
  [[ "$answer" == "$ENVIRONMENT" ]] || die "aborted" 3
}

cluster_name() {
  if ((DRY_RUN)); then
    echo '<cluster_name>'
  else
    "${TF[@]}" output -raw cluster_name
  fi
}

require terraform
export TF_IN_AUTOMATION=1
TF=(terraform "-chdir=$TF_ENV_DIR")
VAR_FILES=("-var-file=../_shared/common.tfvars" "-var-file=terraform.tfvars")

echo "# environment=$ENVIRONMENT action=$ACTION dry_run=$DRY_RUN"

# 1. init
if [[ "$ENVIRONMENT" == "local" ]]; then
  run "${TF[@]}" init -input=false
else
  [[ -f "$TF_ENV_DIR/backend.hcl" ]] || die "missing $TF_ENV_DIR/backend.hcl"
  run "${TF[@]}" init -input=false "-backend-config=backend.hcl"
fi

# 2. destroy is its own path
if [[ "$ACTION" == "destroy" ]]; then
  confirm "destroy $ENVIRONMENT"
  approve=()
  ((ASSUME_YES)) && approve=(-auto-approve)
  run "${TF[@]}" destroy -input=false "${VAR_FILES[@]}" "${approve[@]}"
  exit 0
fi

# 3. plan
run "${TF[@]}" plan -input=false "${VAR_FILES[@]}" -out=tfplan
[[ "$ACTION" == "plan" ]] && exit 0

# 4. apply the reviewed plan
if [[ "$ENVIRONMENT" == "prod" ]] && ((!ASSUME_YES)) && ((!DRY_RUN)); then
  confirm "apply to prod"
fi
run "${TF[@]}" apply -input=false tfplan

# 5. point kubectl at the cluster
if [[ "$ENVIRONMENT" == "local" ]]; then
  require kind
  require docker
  CLUSTER_NAME="$(cluster_name)"
  run kind export kubeconfig --name "$CLUSTER_NAME"
  # kind's local-registry pattern: map localhost:5001 to the registry container on every node.
  if ((DRY_RUN)); then
    echo "+ for node in \$(kind get nodes --name $CLUSTER_NAME): write /etc/containerd/certs.d/localhost:5001/hosts.toml -> http://kind-registry:5000"
  else
    for node in $(kind get nodes --name "$CLUSTER_NAME"); do
      docker exec "$node" mkdir -p /etc/containerd/certs.d/localhost:5001
      printf '[host."http://kind-registry:5000"]\n' |
        docker exec -i "$node" cp /dev/stdin /etc/containerd/certs.d/localhost:5001/hosts.toml
    done
  fi
else
  require aws
  CLUSTER_NAME="$(cluster_name)"
  REGION="$(sed -n 's/^aws_region *= *"\(.*\)"/\1/p' "$TF_ENV_DIR/terraform.tfvars")"
  run aws eks update-kubeconfig --name "$CLUSTER_NAME" --region "$REGION"
fi

# 6. Kubernetes resources
if ((SKIP_K8S)); then
  echo "# --skip-kubernetes: not applying $OVERLAY_DIR"
  exit 0
fi
require kubectl
if [[ ! -d "$OVERLAY_DIR" ]] && ((!DRY_RUN)); then
  die "missing Kubernetes overlay: $OVERLAY_DIR"
fi
run kubectl apply -k "$OVERLAY_DIR"

# 7. post-deployment checks, when the project provides them
SMOKE="$REPO_ROOT/tests/integration/deploy-test.sh"
if [[ -x "$SMOKE" ]]; then
  run "$SMOKE" "$ENVIRONMENT"
else
  echo "# no post-deployment test at tests/integration/deploy-test.sh; skipped"
fi
