#!/usr/bin/env bash
# Jobs end to end: the example workloads of issue 5 submitted through `mlp job submit` to a
# server on the embedded default (its worker runs them as local processes), checked with the
# real mlflow client.
#
#   MLP_BIN=target/debug/mlp tests/jobs/run.sh            # everything
#   MLP_BIN=target/debug/mlp tests/jobs/run.sh -k cancel  # extra args go to pytest
#
# Env: MLP_BIN (required), DATA_PROFILE_BIN (default: data-profile next to MLP_BIN),
#      COMPAT_VENV (default $REPO/.venv, shared with tests/compat), JOBS_KEEP_TMP=1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${COMPAT_VENV:-$REPO/.venv}"
PYTHON="${COMPAT_PYTHON:-python3}"

if [[ -z "${MLP_BIN:-}" ]]; then
  echo "run.sh: set MLP_BIN to the built mlp binary (e.g. MLP_BIN=target/debug/mlp)" >&2
  exit 2
fi
case "$MLP_BIN" in /*) ;; *) MLP_BIN="$PWD/$MLP_BIN" ;; esac
if [[ ! -x "$MLP_BIN" ]]; then
  echo "run.sh: MLP_BIN=$MLP_BIN is not an executable file" >&2
  exit 2
fi
export MLP_BIN
DATA_PROFILE_BIN="${DATA_PROFILE_BIN:-$(dirname "$MLP_BIN")/data-profile}"
case "$DATA_PROFILE_BIN" in /*) ;; *) DATA_PROFILE_BIN="$PWD/$DATA_PROFILE_BIN" ;; esac
if [[ ! -x "$DATA_PROFILE_BIN" ]]; then
  echo "run.sh: $DATA_PROFILE_BIN is not built (cargo build --workspace, or set DATA_PROFILE_BIN)" >&2
  exit 2
fi
export DATA_PROFILE_BIN

# The same venv (mlflow 3.17.2 + scikit-learn) as the compat suite, installed the same way.
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "run.sh: creating venv at $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
COMPAT="$REPO/tests/compat"
stamp="$VENV/.compat-requirements.sha256"
want="$(cat "$COMPAT/requirements.txt" "$COMPAT/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "run.sh: installing test requirements into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$COMPAT/requirements.txt" -c "$COMPAT/constraints.txt"
  echo "$want" > "$stamp"
fi

cd "$REPO"
targets=("$HERE")
quiet=(-q)
for a in "$@"; do
  if [[ "$a" != -* && -e "${a%%::*}" ]]; then targets=(); fi
  case "$a" in -q|-qq|--quiet|-v|-vv|--verbose) quiet=() ;; esac
done
exec "$VENV/bin/python" -m pytest "${targets[@]}" "${quiet[@]}" -p no:cacheprovider "$@"
