#!/usr/bin/env bash
# Offline test runner for infrastructure/terraform.
#
#   tests/infra/terraform/run.sh            # everything
#   INFRA_VENV=/path/venv tests/infra/terraform/run.sh
#   INFRA_SKIP_CHECKOV=1 tests/infra/terraform/run.sh   # quick local loop
#
# Steps: terraform fmt -check; init/validate/test of the provider-free
# modules; pytest over the parsed HCL (interface parity, module calls,
# references, versions, backends, per-environment policy, security,
# secrets, deploy script); checkov with the reviewed skip list.
# Needs: terraform (>= 1.10) and python3 on PATH; installs the pinned
# Python tools from requirements.txt into a venv. Exits non-zero on any
# failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
TF_DIR="$REPO/infrastructure/terraform"
VENV="${INFRA_VENV:-$REPO/.venv-infra}"

# Pure-HCL modules: no provider, so init/validate/test work offline.
PURE_MODULES=(modules/common modules/env-config)

export TF_CLI_CONFIG_FILE=/dev/null   # no ~/.terraformrc warnings, no mirrors
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1
export TF_INPUT=0

failures=()
step() { printf '\n=== %s\n' "$*"; }
fail() { failures+=("$1"); printf 'FAILED: %s\n' "$1"; }

if ! command -v terraform >/dev/null 2>&1; then
  echo "ERROR: terraform is not on PATH. It cannot be installed from the package" >&2
  echo "registries reachable here; install Terraform >= 1.10 (1.11.4 is known good)." >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "ERROR: python3 is not on PATH." >&2
  exit 2
fi
tf_version="$(terraform version)"
tf_version="${tf_version%%$'\n'*}"
echo "$tf_version"
if [[ ! "$tf_version" =~ v1\.(1[0-9]|[2-9][0-9])\. ]]; then
  echo "ERROR: Terraform >= 1.10 is required (S3 lock files, cross-variable validation); found: $tf_version" >&2
  exit 2
fi

step "python venv ($VENV)"
# The venv may be shared with other infra test suites: never recreate it,
# only (re)install our pinned requirements when they changed.
stamp="$VENV/.terraform-tests-requirements.sha256"
req_hash="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$req_hash" ]] || ! "$VENV/bin/python" -c "import hcl2, pytest" 2>/dev/null || [[ ! -x "$VENV/bin/checkov" ]]; then
  started=$SECONDS
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$req_hash" >"$stamp"
  echo "installed requirements.txt in $((SECONDS - started))s"
else
  echo "reusing venv"
fi

step "provider schemas (npm: CDK for Terraform bindings, see provider-schemas.txt)"
SCHEMA_DIR="$VENV/provider-schemas"
schema_hash="$(sha256sum "$HERE/provider-schemas.txt" | cut -d' ' -f1)"
if ! command -v npm >/dev/null 2>&1; then
  echo "WARNING: npm is not on PATH: the provider-schema tests will be SKIPPED"
elif [[ "$(cat "$SCHEMA_DIR/.complete" 2>/dev/null)" == "$schema_hash" ]]; then
  echo "reusing $SCHEMA_DIR"
  export INFRA_PROVIDER_SCHEMAS="$SCHEMA_DIR"
else
  rm -rf "$SCHEMA_DIR" && mkdir -p "$SCHEMA_DIR"
  mapfile -t pkgs < <(grep -v '^\s*\(#\|$\)' "$HERE/provider-schemas.txt")
  if (cd "$SCHEMA_DIR" && npm pack --silent "${pkgs[@]}" >/dev/null &&
    for f in *.tgz; do
      mkdir "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}" --wildcards 'package/package.json' '*.d.ts' && rm "$f"
    done); then
    echo "$schema_hash" >"$SCHEMA_DIR/.complete"
    echo "unpacked ${#pkgs[@]} schema packages"
    export INFRA_PROVIDER_SCHEMAS="$SCHEMA_DIR"
  else
    fail "fetch provider schemas"
  fi
fi

step "terraform fmt -check -recursive"
terraform -chdir="$TF_DIR" fmt -check -recursive -diff || fail "terraform fmt"
terraform -chdir="$HERE/cloud-aws" fmt -check -recursive -diff || fail "terraform fmt cloud-aws"

for m in "${PURE_MODULES[@]}"; do
  step "terraform init/validate/test: $m"
  d="$TF_DIR/$m"
  if terraform -chdir="$d" init -backend=false -input=false >/dev/null; then
    terraform -chdir="$d" validate -no-color || fail "validate $m"
    terraform -chdir="$d" test -no-color || fail "terraform test $m"
  else
    fail "init $m"
  fi
done

# The real hashicorp/aws provider from the machine's filesystem mirror (nothing is downloaded):
# every module that needs no other provider is validated against its schema, and its
# tests/*.tftest.hcl (mock_provider: plan and apply offline) run.
step "terraform validate/test against hashicorp/aws (filesystem mirror)"
MIRROR="${TF_PROVIDER_MIRROR:-}"
if [[ -z "$MIRROR" ]]; then
  for d in /opt/tf-plugins /usr/share/terraform/plugins "$HOME/.terraform.d/plugins"; do
    if compgen -G "$d/registry.terraform.io/hashicorp/aws/*/linux_amd64/terraform-provider-aws*" >/dev/null; then
      MIRROR="$d"; break
    fi
  done
fi
if [[ -z "$MIRROR" ]]; then
  fail "no filesystem mirror of hashicorp/aws (set TF_PROVIDER_MIRROR; find / -name 'terraform-provider-aws*')"
else
  echo "mirror: $MIRROR ($(ls "$MIRROR/registry.terraform.io/hashicorp/aws"))"
  mirror_rc="$(mktemp)"
  printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' "$MIRROR" >"$mirror_rc"
  aws_only=0
  while IFS= read -r versions; do
    d="$(dirname "$versions")"
    m="${d#"$TF_DIR"/}"
    sources="$({ grep -o 'source *= *"[^"]*"' "$versions" || true; } | sed 's/.*"\(.*\)"/\1/' | sort -u | tr '\n' ' ')"
    [[ "$sources" == "hashicorp/aws " ]] || continue
    aws_only=$((aws_only + 1))
    if TF_CLI_CONFIG_FILE="$mirror_rc" terraform -chdir="$d" init -backend=false -input=false -no-color >/dev/null; then
      TF_CLI_CONFIG_FILE="$mirror_rc" terraform -chdir="$d" validate -no-color >/dev/null || fail "validate (aws schema) $m"
      if compgen -G "$d/tests/*.tftest.hcl" >/dev/null; then
        TF_CLI_CONFIG_FILE="$mirror_rc" terraform -chdir="$d" test -no-color | tail -1 || fail "terraform test (mock aws) $m"
      fi
      echo "ok: $m"
    else
      fail "init from the mirror: $m"
    fi
  done < <(find "$TF_DIR/modules" -name versions.tf | sort)
  echo "$aws_only module(s) use only hashicorp/aws"

  # The AWS side of environments/cloud composed as the root composes it
  # (cloud-aws/main.tf), planned and applied per environment with that
  # environment's own tfvars (issue 17).
  step "terraform test: AWS side of environments/cloud, per environment (mock aws)"
  cloud_aws="$HERE/cloud-aws"
  if TF_CLI_CONFIG_FILE="$mirror_rc" terraform -chdir="$cloud_aws" init -backend=false -input=false -no-color >/dev/null; then
    TF_CLI_CONFIG_FILE="$mirror_rc" terraform -chdir="$cloud_aws" validate -no-color >/dev/null || fail "validate cloud-aws"
    for env in dev staging prod; do
      if out="$(TF_CLI_CONFIG_FILE="$mirror_rc" terraform -chdir="$cloud_aws" test -no-color \
        -var-file="$TF_DIR/environments/_shared/common.tfvars" \
        -var-file="$TF_DIR/environments/$env/terraform.tfvars" 2>&1)"; then
        echo "ok: $env: ${out##*$'\n'}"
      else
        printf '%s\n' "$out" | grep -v '^  - ' >&2
        fail "terraform test cloud-aws ($env)"
      fi
    done
  else
    fail "init from the mirror: cloud-aws"
  fi
  rm -f "$mirror_rc"
fi

step "shellcheck (optional)"
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck "$REPO/infrastructure/scripts/deploy-environment.sh" "$HERE/run.sh" || fail "shellcheck"
else
  echo "shellcheck not on PATH (apt-get install shellcheck); skipped"
fi

step "pytest"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$HERE" || fail "pytest"

if [[ "${INFRA_SKIP_CHECKOV:-0}" == "1" ]]; then
  step "checkov skipped (INFRA_SKIP_CHECKOV=1)"
else
  step "checkov"
  (cd "$REPO" && "$VENV/bin/checkov" -d infrastructure/terraform \
      --config-file infrastructure/terraform/.checkov.yaml) || fail "checkov"
fi

step "summary"
if ((${#failures[@]})); then
  printf 'infra/terraform: %d step(s) failed: %s\n' "${#failures[@]}" "${failures[*]}"
  exit 1
fi
echo "infra/terraform: all steps passed"
