#!/usr/bin/env bash
# Offline tests of infrastructure/kubernetes (+ infrastructure/policy and the
# Dockerfiles): kustomize builds, strict schema validation, Pod Security,
# NetworkPolicies vs connectivity.yaml, secrets, images, Argo CD, backups
# (real pg_dump/pg_restore between two local PostgreSQL servers) and Checkov.
#
#   tests/infra/kubernetes/run.sh [pytest args...]
#
# Env: INFRA_VENV (default $REPO/.venv-infra), CRD_SCHEMA_DIR (default
# $REPO/../shared/schemas/crds), K8S_VERSION (default 1.32.0).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${INFRA_VENV:-$repo/.venv-infra}"

die() { echo "run.sh: error: $*" >&2; exit 2; }

command -v kubectl >/dev/null 2>&1 || die "kubectl is required (its built-in 'kubectl kustomize' renders the overlays) and was not found on PATH; it is not installable from the reachable registries"
kubectl kustomize --help >/dev/null 2>&1 || die "this kubectl has no 'kustomize' subcommand"
command -v python3 >/dev/null 2>&1 || die "python3 is required"
command -v git >/dev/null 2>&1 || die "git is required (secret files must be git-ignored)"

# PostgreSQL client + server binaries for the backup dump/restore test.
have_pg_server() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; }
if ! command -v pg_dump >/dev/null || ! command -v psql >/dev/null || ! have_pg_server; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "run.sh: installing PostgreSQL (Debian package) for the backup test" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null) \
      || die "could not install PostgreSQL"
  else
    die "PostgreSQL (pg_dump, psql, initdb) is required for the backup test: apt-get install postgresql"
  fi
fi

# Virtualenv with pinned tools; reinstalled only when requirements change.
stamp="$venv/.requirements-k8s.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || die "could not create virtualenv $venv"
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
    || die "pip install -r $here/requirements.txt failed"
  echo "$want" > "$stamp"
fi

# The CRD schemas are the workplace's shared reference (../shared beside the checkout); a
# clone elsewhere on the same machine finds them at the workplace's absolute path.
if [ -z "${CRD_SCHEMA_DIR:-}" ]; then
  for d in "$repo/../shared/schemas/crds" /work/shared/schemas/crds; do
    [ -d "$d" ] && { CRD_SCHEMA_DIR="$d"; break; }
  done
fi
export CRD_SCHEMA_DIR="${CRD_SCHEMA_DIR:-$repo/../shared/schemas/crds}"
[ -d "$CRD_SCHEMA_DIR" ] || die "CRD JSON schemas not found at $CRD_SCHEMA_DIR (set CRD_SCHEMA_DIR)"
export PATH="$venv/bin:$PATH"
# Private pytest temp dir: other pytest sessions on the machine must not
# rotate it away while the PostgreSQL servers of the backup test use it.
basetemp="$(mktemp -d "${TMPDIR:-/tmp}/mlp-k8s-tests.XXXXXX")"
trap 'rm -rf "$basetemp"' EXIT
cd "$here"
"$venv/bin/python" -m pytest -p no:cacheprovider -q --basetemp="$basetemp/pytest" "$@" .
