# Shared by the black-box suites' run.sh (jobs, security, auth): the MLP_BIN check and the test
# venv (mlflow 3.17.2 + scikit-learn, the compat suite's requirements), installed once and
# re-installed only when the requirements change. Source it after setting HERE and REPO.

VENV="${COMPAT_VENV:-$REPO/.venv}"
PYTHON="${COMPAT_PYTHON:-python3}"

# Makes MLP_BIN absolute and checks it is executable; exits 2 otherwise.
require_mlp_bin() {
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
}

# Creates the venv if missing and installs the compat requirements when they changed.
ensure_test_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "run.sh: creating venv at $VENV" >&2
    "$PYTHON" -m venv "$VENV"
  fi
  local compat="$REPO/tests/compat" stamp="$VENV/.compat-requirements.sha256" want
  want="$(cat "$compat/requirements.txt" "$compat/constraints.txt" | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "run.sh: installing test requirements into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
      -r "$compat/requirements.txt" -c "$compat/constraints.txt"
    echo "$want" > "$stamp"
  fi
}

# Runs pytest on the suite's directory, or on the paths among the arguments; quiet unless asked.
run_suite() {
  cd "$REPO"
  local targets=("$HERE") quiet=(-q) a
  for a in "$@"; do
    if [[ "$a" != -* && -e "${a%%::*}" ]]; then targets=(); fi
    case "$a" in -q|-qq|--quiet|-v|-vv|--verbose) quiet=() ;; esac
  done
  exec "$VENV/bin/python" -m pytest "${targets[@]}" "${quiet[@]}" -p no:cacheprovider "$@"
}
