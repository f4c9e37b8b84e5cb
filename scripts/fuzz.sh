#!/usr/bin/env bash
# Runs every Fuzz* target in the module for the given time each.
set -euo pipefail
t=${1:-60s}
cd "$(dirname "$0")/.."
found=0
while read -r file; do
  pkg=./$(dirname "$file")
  for f in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    found=1
    echo "fuzz $pkg $f for $t"
    # A short run must end on time: minimizing a new interesting input may
    # take up to a minute by default, and a 10 s run whose worker was still
    # minimizing at its deadline failed with "context deadline exceeded".
    go test -run '^$' -fuzz "^${f}\$" -fuzztime "$t" -fuzzminimizetime 2s "$pkg"
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' || true)
[ "$found" = 1 ] || echo "no fuzz targets yet"
