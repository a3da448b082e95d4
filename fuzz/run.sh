#!/bin/sh
# Runs every fuzz target of a fuzz build for SECONDS each and prints, per target, the
# executions and the crashes (inputs libFuzzer saved under BUILD/fuzz/artifacts/).
# Usage: fuzz/run.sh BUILD_DIR SECONDS
set -u
build=$1
seconds=$2
src=$(cd "$(dirname "$0")" && pwd)
status=0
printf '%-28s %14s %8s\n' target executions crashes
for bin in "$build"/fuzz/*_fuzz; do
  target=$(basename "$bin" _fuzz)
  work="$build/fuzz/corpus/$target"
  artifacts="$build/fuzz/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  log="$build/fuzz/$target.log"
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "$src/corpus/$target" >"$log" 2>&1
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  crashes=$(find "$artifacts" -type f | wc -l)
  [ "$crashes" -eq 0 ] || status=1
  printf '%-28s %14s %8s\n' "$target" "${runs:-?}" "$crashes"
done
exit $status
