#!/usr/bin/env bash
# Formats annal's C++ with clang-format 16 and .clang-format (16, not Debian's default 14, which
# breaks concepts built from requires-expressions), then copies the regions docs quote again
# (scripts/sync-doc-snippets.py). `--check [files]` changes nothing: it names each file (of annal's,
# or of those given) clang-format would change and exits 1 if there is one (the `format` test runs
# it). Env: CLANG_FORMAT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cf=${CLANG_FORMAT:-clang-format-16}
cd "$root"
# annal's own sources; tests/format/fixtures holds a file left unformatted on purpose.
mapfile -t files < <(find include tests examples bench packaging test_package tool -type f \
  \( -name '*.hpp' -o -name '*.cpp' \) -not -path 'tests/format/fixtures/*' | sort)
if [[ ${1:-} == --check ]]; then
  shift
  [[ $# -gt 0 ]] && files=("$@")
  bad=0
  for f in "${files[@]}"; do
    if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "not formatted: $f (run scripts/format.sh)"
      bad=1
    fi
  done
  echo "${#files[@]} files checked with $("$cf" --version | head -n 1)"
  exit "$bad"
fi
"$cf" -i "${files[@]}"
python3 scripts/sync-doc-snippets.py
