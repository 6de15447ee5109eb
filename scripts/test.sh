#!/usr/bin/env bash
# The second README command: builds annal and runs every test — unit, conformance, crash and
# compile-fail tests with g++, again under AddressSanitizer + UndefinedBehaviorSanitizer,
# concurrency tests under ThreadSanitizer, and each decoder's fuzzer for a bounded time.
# ANNAL_FUZZ_SECONDS (default 45; the fuzzers run one per core) bounds each
# fuzzer; ANNAL_TEST_STAGES picks stages
# (default: "main opt asan tsan fuzz"). Every stage builds with warnings as errors (ANNAL_WERROR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"

jobs=$(nproc)
stages=${ANNAL_TEST_STAGES:-main opt asan tsan fuzz}
fuzz_seconds=${ANNAL_FUZZ_SECONDS:-45}
build="$root/build"
# ccache keys on paths relative to the checkout, so any clone of annal reuses the same cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
export CTEST_OUTPUT_ON_FAILURE=1
started=$SECONDS
failed=0
passed=0

stage() { printf '\n==== %s (%ds elapsed)\n' "$*" $((SECONDS - started)); }
record() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

# configure_and_test NAME "TARGETS" CTEST-ARGS... -- CMAKE-ARGS...   (TARGETS "" = everything;
# "label:L" = the executables of the tests labelled L, whose names are their targets' names)
configure_and_test() {
  local name=$1 targets=$2; shift 2
  local ctest_args=()
  while [ "$1" != "--" ]; do ctest_args+=("$1"); shift; done
  shift
  # Called inside `if`, where set -e is off: each step fails the stage explicitly.
  cmake -S "$root" -B "$build/$name" -DCMAKE_BUILD_TYPE=Debug -DANNAL_WERROR=ON "$@" >/dev/null || return 1
  if [[ $targets == label:* ]]; then
    targets=$(cd "$build/$name" && ctest -N -L "${targets#label:}" |
      sed -n 's/^ *Test *#[0-9]*: //p' | tr '\n' ' ')
    echo "targets: $targets"
  fi
  # shellcheck disable=SC2086 # targets is a list
  cmake --build "$build/$name" -j "$jobs" ${targets:+--target $targets} || return 1
  (cd "$build/$name" && ctest -j "$jobs" "${ctest_args[@]}")
}

for s in $stages; do
  case $s in
    main)
      stage "g++: unit, conformance, crash, compile-fail, packaging tests; examples; benchmarks built"
      record configure_and_test main "" -- -DANNAL_BUILD_BENCH=ON
      ;;
    opt)
      # Optimizers see more (and warn about more): the whole suite again at -O2, without -g, and
      # in the separately compiled mode (annal_add_compiled_library), so both modes are tested.
      # Compile-fail, package and header checks do not depend on the build type.
      stage "g++ -O2, separately compiled: unit, conformance, crash tests and examples, optimized"
      record configure_and_test opt "" -E 'compile_fail|package' -- -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DANNAL_BUILD_BENCH=OFF -DANNAL_CHECK_HEADERS=OFF \
        -DANNAL_SEPARATE_COMPILATION=ON
      ;;
    asan)
      # clang here, so annal also builds warning-free with the second compiler.
      stage "clang++ with AddressSanitizer + UndefinedBehaviorSanitizer"
      record configure_and_test asan "" -E 'compile_fail|package' -- -DCMAKE_CXX_COMPILER=clang++ \
        -DANNAL_SANITIZE=address,undefined \
        -DANNAL_BUILD_BENCH=OFF -DANNAL_CHECK_HEADERS=OFF -DCMAKE_CXX_FLAGS=-O1
      ;;
    tsan)
      stage "g++ with ThreadSanitizer: concurrency tests"
      # Threads sharing stores, pools and projections: every test labelled `concurrency`.
      record configure_and_test tsan label:concurrency -L concurrency -- -DANNAL_SANITIZE=thread \
        -DANNAL_BUILD_BENCH=OFF -DANNAL_CHECK_HEADERS=OFF -DANNAL_BUILD_EXAMPLES=OFF -DCMAKE_CXX_FLAGS=-O1
      ;;
    fuzz)
      stage "clang libFuzzer: each decoder for ${fuzz_seconds}s"
      fuzz_build="$build/fuzz"
      cmake -S "$root" -B "$fuzz_build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DANNAL_BUILD_FUZZERS=ON -DANNAL_BUILD_EXAMPLES=OFF -DANNAL_BUILD_BENCH=OFF >/dev/null
      cmake --build "$fuzz_build" -j "$jobs" \
        --target annal_fuzz_binary annal_fuzz_json annal_fuzz_registry annal_fuzz_file_log \
        annal_fuzz_kafka annal_fuzz_privacy annal_fuzz_postgres annal_fuzz_snapshot_file annal_fuzz_checkpoint_file annal_fuzz_key_file annal_fuzz_read_model_file
      # A fuzzer uses one core: $jobs of them run at a time, each writing its own log.
      fuzzers=(binary json registry file_log kafka privacy postgres snapshot_file checkpoint_file key_file read_model_file)
      for ((i = 0; i < ${#fuzzers[@]}; i += jobs)); do
        batch=("${fuzzers[@]:i:jobs}")
        pids=()
        for t in "${batch[@]}"; do
          corpus="$fuzz_build/corpus/$t"
          mkdir -p "$corpus"
          # The golden files seed the codecs' corpora with real encoded events; the file log's
          # seeds are real records and a real index file, the Kafka decoder's real messages.
          seeds="$root/tests/codec/golden"
          [ -d "$root/tests/fuzz/seeds/$t" ] && seeds="$root/tests/fuzz/seeds/$t"
          "$fuzz_build/tests/fuzz/annal_fuzz_$t" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
            -print_final_stats=1 "$corpus" "$seeds" >"$fuzz_build/fuzz-$t.log" 2>&1 &
          pids+=("$!")
        done
        for k in "${!batch[@]}"; do
          log="$fuzz_build/fuzz-${batch[k]}.log"
          if wait "${pids[k]}"; then
            passed=$((passed + 1))
            printf -- '--- fuzzer %s: clean\n' "${batch[k]}"
            grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
          else
            failed=$((failed + 1))
            printf -- '--- fuzzer %s: FAILED\n' "${batch[k]}"
            cat "$log"
          fi
        done
      done
      ;;
    *) echo "unknown stage $s" >&2; exit 2 ;;
  esac
done

printf '\nall stages took %ds\n' $((SECONDS - started))
printf 'stages: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
