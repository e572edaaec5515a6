#!/usr/bin/env bash
# The case that made a check say PASS on nothing: a user records a baseline from 5 seeds of WGAN-GP
# (ring8, quick protocol) and checks 5 seeds of the same variant with its gradient penalty removed.
# Expected: exit 1 (FAIL); the reference itself on 5 other seeds: exit 0 (PASS); 2 seeds against a
# 2-seed baseline: exit 3 (INCONCLUSIVE, with the seeds needed). Prints one line per case and
# writes each check's table under $OUT (default reports/check-detection/penalty-none).
#
#   bash benchmarks/check_penalty_none.sh            # about 8 minutes on 2 cores (15 runs of 2,500 G steps)
set -u
RUNS=${RUNS:-runs/penalty-none}
OUT=${OUT:-reports/check-detection/penalty-none}
mkdir -p "$RUNS" "$OUT"
common=(--variant wgan-gp --against wgan-gp --suite quick --datasets ring8 --quiet)

gan-harness run --suite quick --variants wgan-gp --datasets ring8 --seeds 0-4 --out "$RUNS/base" --no-report --quiet
gan-harness record "$RUNS/base" --out "$RUNS/base.json"
gan-harness run --suite quick --variants wgan-gp --datasets ring8 --seeds 0-1 --out "$RUNS/base2" --no-report --quiet
gan-harness record "$RUNS/base2" --out "$RUNS/base2.json" 2> "$OUT/record-base2.txt"

run_case() {  # name expected-exit args...
    local name=$1 expected=$2
    shift 2
    gan-harness check "${common[@]}" "$@" > "$OUT/$name.txt" 2>&1
    local code=$?
    echo "$name: exit $code (expected $expected): $(tail -n 1 "$OUT/$name.txt")"
}
run_case penalty-none-5v5 1 --seeds 5-9 --set penalty=none --baseline "$RUNS/base.json" --runs-out "$RUNS/none"
run_case reference-5v5 0 --seeds 10-14 --baseline "$RUNS/base.json" --runs-out "$RUNS/ref"
run_case penalty-none-2v2 3 --seeds 5-6 --set penalty=none --baseline "$RUNS/base2.json" --runs-out "$RUNS/none"
