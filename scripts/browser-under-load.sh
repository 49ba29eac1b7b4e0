#!/bin/bash
# Runs the browser tests N times in a row (default 20) while two CPU-bound processes keep
# the machine's cores busy, as issue 14 asks of them; one line per run in $OUT/summary.txt,
# screenshots of every run under $OUT/artifacts-<run>/browser/. Arguments after N go to pytest
# (scripts/browser-under-load.sh 20 -k code_editor).
set -u
N=${1:-20}
shift || true
OUT=${OUT:-/tmp/byoi-browser-under-load}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
python3 -c "while True: pass" & H1=$!
python3 -c "while True: pass" & H2=$!
trap 'kill $H1 $H2' EXIT
for i in $(seq 1 "$N"); do
  start=$(date +%s)
  BYOI_TEST_ARTIFACTS="$OUT/artifacts-$i" timeout 1500 .venv/bin/python -m pytest -q -p no:cacheprovider tests/api/test_browser.py "$@" > "$OUT/run-$i.log" 2>&1
  echo "run $i rc=$? $(( $(date +%s) - start ))s $(tail -1 "$OUT/run-$i.log")" | tee -a "$OUT/summary.txt"
done
