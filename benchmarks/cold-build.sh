#!/usr/bin/env bash
# The newcomer's first build, measured: a cold `cargo build --release -p mlp` in an empty target
# directory, with wall time, CPU time and the binary's size.
#
#   benchmarks/cold-build.sh            # as is
#   sudo benchmarks/cold-build.sh --top # the build's whole session at top CPU priority
#
# `--top` is for a shared machine: the kernel schedules each session (autogroup) fairly, so
# `nice` alone does not beat other sessions' builds; raising the session's autogroup nice to -20
# (root only) lets this build take the cores as on an idle machine.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ "${1:-}" == "--top" && -z "${COLD_BUILD_INNER:-}" ]]; then
  COLD_BUILD_INNER=1 exec setsid --wait "$0" --top
fi
if [[ "${1:-}" == "--top" ]]; then
  echo -20 > /proc/self/autogroup
  renice -n -20 -p $$ >/dev/null
fi
target="$(mktemp -d)"
trap 'rm -rf "$target"' EXIT
cd "$REPO"
start=$(date +%s.%N)
CARGO_TARGET_DIR="$target" /usr/bin/time -f 'cpu_user_s=%U cpu_sys_s=%S max_rss_kb=%M' \
  cargo build --release -p mlp --locked --quiet
end=$(date +%s.%N)
bytes=$(stat -c %s "$target/release/mlp")
awk -v s="$start" -v e="$end" -v b="$bytes" 'BEGIN {
  w = e - s; printf "wall=%dm%04.1fs binary=%.1fMB (%.1fMiB)\n", int(w / 60), w - 60 * int(w / 60), b / 1e6, b / 1048576 }'
