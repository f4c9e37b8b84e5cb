#!/usr/bin/env bash
# Runs every fuzz target for the given time (scripts/fuzz.sh) while `make
# sim-ci` runs the 100-node simulated mesh beside it; fails if either does.
# The simulation's output is shown at the end, whole when it failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin/e2e-reports
log=bin/e2e-reports/sim-ci.log
start=$SECONDS
make --no-print-directory sim-ci >"$log" 2>&1 &
sim=$!
bash scripts/fuzz.sh "${1:-10s}"
fuzz=$?
wait "$sim"
rc=$?
if [[ $rc == 0 ]]; then
  echo "=== sim-ci ($((SECONDS - start)) s with the fuzzers):"
  grep -E '^(PASS|FAIL)' "$log" || tail -n 3 "$log"
else
  echo "=== sim-ci FAILED ($((SECONDS - start)) s):"
  cat "$log"
fi
[[ $fuzz == 0 && $rc == 0 ]]
