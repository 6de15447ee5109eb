#!/usr/bin/env bash
# The first README command: installs what is missing, builds the flagship example and runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
build="$root/build/release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_BENCH=OFF
cmake --build "$build" --target bank -j "$(nproc)"
cd "$root"
"$build/examples/bank/bank" "$@"
