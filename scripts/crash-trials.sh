#!/usr/bin/env bash
# The nightly-style run of the kill -9 trials: every crash test of the file log, SQLite,
# backups, restores, replication, promotion, archiving and process managers (their names carry
# [crash]) with many more trials than CI's default. ANNAL_CRASH_TRIALS (default 2000) sets the
# trials per test and ANNAL_CRASH_SEED a seed to replay; each test prints the seed it used when it
# fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/crash"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
export ANNAL_CRASH_TRIALS=${ANNAL_CRASH_TRIALS:-2000}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DANNAL_BUILD_BENCH=OFF \
  -DANNAL_BUILD_EXAMPLES=OFF -DANNAL_CHECK_HEADERS=OFF >/dev/null
targets=(annal_recovery_tests annal_replication_tests annal_file_log_crash_tests
  annal_file_log_follow_crash_tests annal_sqlite_tests annal_process_tests)
for t in "${targets[@]}"; do
  cmake --build "$build" -j "$(nproc)" --target "$t" 2>/dev/null || echo "no target $t here; skipped"
done
failed=0
for t in "${targets[@]}"; do
  exe=$(find "$build/tests" -type f -name "$t" | head -n 1)
  [ -n "$exe" ] || continue
  echo "==== $t [crash], $ANNAL_CRASH_TRIALS trials each"
  "$exe" "[crash]" || failed=1
done
exit $failed
