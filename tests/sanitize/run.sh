#!/bin/sh
# Builds Stepwell with sanitizers in a build directory of its own and runs the C++ tests
# and the e2e suite (the sanitized `stepwell` binary) under them; the browser tests are
# left out. Every process writes its sanitizer reports to BUILD/sanitizer-logs/ (the
# e2e servers' stderr goes to their own logs, and a leak found when a server exits on
# SIGTERM changes no test's outcome), so the run fails when any report was written,
# whatever the tests said. See docs/reliability.md, "Sanitizers".
#
# Usage: tests/sanitize/run.sh address|thread BUILD_DIR [ctest arguments for the e2e suite...]
#   address: AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer
#   thread:  ThreadSanitizer
# SANITIZE_TARGETS: the ninja targets to build (default: all); the GoogleTest binaries
# that were built run. SANITIZE_E2E=0 leaves the e2e suite out. The tests on PostgreSQL
# (ctest label pg, *_pgtest) are left out: they need the throw-away cluster.
set -u
kind=$1
build=$2
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
jobs=${JOBS:-2}
case "$kind" in
  address) sanitizers=address,undefined; scale=3 ;;
  thread) sanitizers=thread; scale=10 ;;
  *) echo "usage: $0 address|thread BUILD_DIR [ctest arguments...]" >&2; exit 2 ;;
esac

if [ ! -f "$build/build.ninja" ]; then
  # -O1 as the sanitizers' documentation advises (and a shorter build); asserts on, and
  # libstdc++'s bounds checks.
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1 -D_GLIBCXX_ASSERTIONS" \
    -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" \
    -DSTEPWELL_SANITIZE="$sanitizers" || exit 1
fi
ninja -C "$build" -j "$jobs" ${SANITIZE_TARGETS:-} || exit 1

logs=$(cd "$build" && pwd)/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# A finding stops the process (halt_on_error, and -fno-sanitize-recover=all at build
# time); log_path gives each process its own file, logs/<tool>.<pid>.
common="halt_on_error=1:print_stacktrace=1:log_exe_name=1"
export ASAN_OPTIONS="$common:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$logs/asan"
export UBSAN_OPTIONS="$common:log_path=$logs/ubsan"
export LSAN_OPTIONS="log_path=$logs/lsan"
export TSAN_OPTIONS="$common:second_deadlock_stack=1:suppressions=$src/tests/sanitize/tsan.supp:log_path=$logs/tsan"
# Sanitized code runs several times slower; the e2e suite's waits scale with this.
export STEPWELL_E2E_TIMEOUT_SCALE=$scale

# The GoogleTest binaries run whole, one process each ($jobs at a time): ctest would
# start a process per test case, and a sanitized binary takes a second or two to start.
start=$(date +%s)
status=0
results=$(cd "$build" && pwd)/sanitizer-tests
rm -rf "$results"
mkdir -p "$results"
find "$build/tests" -maxdepth 1 -type f -perm -u+x -name '*test' ! -name '*pgtest' | sort |
  xargs -P "$jobs" -I{} sh -c '
    bin=$1 results=$2
    name=$(basename "$bin")
    (cd "$(dirname "$bin")" && "./$name") >"$results/$name.log" 2>&1
    code=$?
    ran=$(sed -n "s/^\[==========\] \([0-9]*\) tests\{0,1\} from .* ran\..*/\1/p" "$results/$name.log")
    if [ $code -eq 0 ]; then
      echo "$name: ${ran:-?} tests passed"
    else
      echo "$name: FAILED (exit $code), log: $results/$name.log"
      grep -E "^\[  FAILED  \]" "$results/$name.log" | head -20
      touch "$results/failed"
    fi' sh {} "$results"
[ -e "$results/failed" ] && status=1
total=$(cat "$results"/*.log | sed -n 's/^\[==========\] \([0-9]*\) tests\{0,1\} from .* ran\..*/\1/p' |
  awk '{s += $1} END {print s + 0}')
echo "$kind: $total GoogleTest tests in $(( $(date +%s) - start )) s"

if [ "${SANITIZE_E2E:-1}" != 0 ]; then
  start=$(date +%s)
  (cd "$build" && ctest -L e2e -LE pg --output-on-failure --timeout 1800 -j "$jobs" "$@") || status=1
  echo "$kind: e2e suite took $(( $(date +%s) - start )) s"
fi

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  for report in $reports; do
    echo "===== $report"
    cat "$report"
  done
  echo "$kind: $(echo "$reports" | wc -l) sanitizer report(s) in $logs" >&2
  status=1
else
  echo "$kind: no sanitizer reports"
fi
exit $status
