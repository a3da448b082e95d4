#!/bin/sh
# Runs every fuzz target of a fuzz build until it has made RUNS executions or SECONDS
# have passed, whichever comes first, JOBS targets at a time, and prints per target the
# executions, the seconds it took and the crashes (inputs libFuzzer saved under
# BUILD/fuzz/artifacts/). Fails when any target saved a crash.
# Usage: fuzz/run.sh BUILD_DIR SECONDS [RUNS [JOBS]]
# FUZZ_TIMEOUT: seconds one input may take before it counts as a hang (default 10; raise
# it on a machine shared with other work, where a starved target waits for a core).
set -u
build=$1
seconds=$2
runs=${3:-10000000}
jobs=${4:-1}
src=$(cd "$(dirname "$0")" && pwd)

# One target; its figures go to BUILD/fuzz/TARGET.result.
run_one() {
  bin=$1
  target=$(basename "$bin" _fuzz)
  work="$build/fuzz/corpus/$target"
  artifacts="$build/fuzz/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  log="$build/fuzz/$target.log"
  start=$(date +%s)
  "$bin" -runs="$runs" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$src/corpus/$target" \
    >"$log" 2>&1
  took=$(($(date +%s) - start))
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  # libFuzzer's findings; a slow-unit- file is an input slower than usual, not a failure
  # (on a shared machine, mostly a starved process).
  crashes=$(find "$artifacts" -type f ! -name 'slow-unit-*' | wc -l)
  printf '%-28s %14s %8s %8s\n' "$target" "${executed:-?}" "$took" "$crashes" \
    >"$build/fuzz/$target.result"
}

if [ "${FUZZ_RUN_ONE:-}" ]; then
  run_one "$FUZZ_RUN_ONE"
  exit 0
fi

printf '%-28s %14s %8s %8s\n' target executions seconds crashes
ls "$build"/fuzz/*_fuzz | FUZZ_RUN_ONE= xargs -P "$jobs" -I{} \
  env FUZZ_RUN_ONE={} "$0" "$build" "$seconds" "$runs" "$jobs"
status=0
for bin in "$build"/fuzz/*_fuzz; do
  result="$build/fuzz/$(basename "$bin" _fuzz).result"
  cat "$result"
  [ "$(awk '{print $4}' "$result")" -eq 0 ] || status=1
done
exit $status
