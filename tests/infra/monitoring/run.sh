#!/usr/bin/env bash
# Monitoring tests: the PrometheusRule (promtool check rules + promtool test
# rules with a unit test for every alert, runbook sections), the three Grafana
# dashboards (JSON, uids, titles, queries parse via promtool) and the live
# test (a real Prometheus on loopback scraping `mlp server`, traffic and jobs
# driven through it, every metric used by a rule or panel has series).
#
#   tests/infra/monitoring/run.sh [pytest args...]
#
# Env: MLP_BIN (default $REPO/target/debug/mlp; built with cargo when it is
# missing and MLP_BIN is unset), INFRA_VENV (default $REPO/.venv-infra).
# Installs Debian's prometheus and redis-server packages when missing and
# running as root. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${INFRA_VENV:-$repo/.venv-infra}"

die() { echo "monitoring/run.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null 2>&1 || die "python3 is required"
# Debian packages: prometheus (promtool + the server), redis-server (the job
# queue between the live test's server and worker).
missing=()
for pair in promtool:prometheus prometheus:prometheus redis-server:redis-server; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "monitoring/run.sh: installing Debian packages ${missing[*]}" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null) \
      || die "could not install ${missing[*]}"
  else
    die "missing ${missing[*]}: apt-get install ${missing[*]}"
  fi
fi

if [ -z "${MLP_BIN:-}" ]; then
  MLP_BIN="$repo/target/debug/mlp"
  if [ ! -x "$MLP_BIN" ]; then
    command -v cargo >/dev/null 2>&1 || die "$MLP_BIN is missing and cargo is not installed"
    (cd "$repo" && cargo build -p mlp --locked) || die "cargo build -p mlp failed"
  fi
fi
[ -x "$MLP_BIN" ] || die "MLP_BIN=$MLP_BIN is not an executable"
export MLP_BIN

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || die "could not create virtualenv $venv"
fi
if ! "$venv/bin/python" -c "import yaml, pytest" >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
    || die "pip install -r $here/requirements.txt failed"
fi

basetemp="$(mktemp -d "${TMPDIR:-/tmp}/mlp-monitoring-tests.XXXXXX")"
trap 'rm -rf "$basetemp"' EXIT
cd "$here"
"$venv/bin/python" -m pytest -p no:cacheprovider -q --basetemp="$basetemp/pytest" "$@" .
