#!/usr/bin/env bash
# Fixed compile cost every annal program pays: each public header alone, the umbrella, each
# example's main TU and a reference TU (Boost.Hana plus common std headers), as ratios to the latter.
# Usage: bench/compile_time/fixed_cost.sh [runs] [regex]   (runs: best of, default 2; regex: only
# the rows whose name matches). Env: CXX (default g++), ANNAL_OPT (default -O1), ANNAL_CXXFLAGS
# (added to every compile, e.g. to measure a mode switched by a macro),
# ANNAL_COMPILE_COMMANDS (a compile_commands.json with the examples; by default the script
# configures one), ANNAL_COMPILE_TIME_DIR (sources and objects; default a temporary directory).
# Compiles run one at a time, so the figures are user CPU seconds and peak RSS of one compiler.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cxx="${CXX:-g++}"
opt="${ANNAL_OPT:--O1}"
read -r -a extra <<<"${ANNAL_CXXFLAGS:-}"
runs="${1:-2}"
only="${2:-.}"
work="${ANNAL_COMPILE_TIME_DIR:-$(mktemp -d -t annal-fixed-cost.XXXXXX)}"
mkdir -p "$work"

# The examples' flags are CMake's own: read from compile_commands.json, configured if not given.
commands="${ANNAL_COMPILE_COMMANDS:-}"
if [[ -z $commands ]]; then
  cmake -S "$repo" -B "$work/cmake" -DCMAKE_CXX_COMPILER="$(command -v "$cxx")" \
    -DCMAKE_CXX_COMPILER_LAUNCHER= -DCMAKE_BUILD_TYPE= -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DANNAL_BUILD_EXAMPLES=ON -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_BENCH=OFF >"$work/cmake.log"
  commands="$work/cmake/compile_commands.json"
fi

# The command CMake uses for $1, as lines of arguments, without the compiler, output, source,
# debug information and optimisation level (replaced by $opt, the same for every row).
flags_of() {
  jq -r --arg f "$1" '.[] | select(.file == $f) | .command' "$commands" | head -n 1 |
    tr ' ' '\n' | awk -v src="$1" '
      NR == 1 || $0 == "" || $0 == "-c" || $0 == src { next }
      skip { skip = 0; next }
      $0 == "-o" { skip = 1; next }
      /^-g/ || /^-O/ || /^-fsanitize/ || /^-fno-sanitize/ || /^-fno-omit-frame-pointer$/ { next }
      { print }'
}

# Headers alone get the bank example's flags (Boost's defines, annal's include directory) and the
# backends' client include directories.
mapfile -t base < <(flags_of "$repo/examples/bank/main.cpp")
if [[ ${#base[@]} -eq 0 ]]; then
  echo "no command for examples/bank/main.cpp in $commands" >&2
  exit 1
fi
mapfile -t clients < <(pkg-config --cflags libpq sqlite3 rdkafka libsodium 2>/dev/null | tr ' ' '\n' | grep .)
header_flags=("${base[@]}" "${clients[@]}")

# Prints "best_user_s best_peak_kb" over `runs` compiles of $1 with the flags after it.
measure() {
  local src=$1 obj="$work/out.o" x u k best_u="" best_k=""
  shift
  for ((r = 0; r < runs; ++r)); do
    read -r x u k < <(/usr/bin/time -f '%x %U %M' "$cxx" "$@" "${extra[@]}" "$opt" -c "$src" -o "$obj" 2>&1 >/dev/null | tail -n 1)
    if [[ $x != 0 ]]; then
      echo "compile failed: $cxx $* ${extra[*]} $opt -c $src" >&2
      return 1
    fi
    best_u=$(awk -v a="$u" -v b="$best_u" 'BEGIN { print ((b == "" || a < b) ? a : b) }')
    best_k=$(awk -v a="$k" -v b="$best_k" 'BEGIN { print ((b == "" || a < b) ? a : b) }')
  done
  echo "$best_u $best_k"
}

# The reference: what a small modern C++ program with Boost.Hana costs anyway.
cat >"$work/reference.cpp" <<'EOF'
// Reference TU of bench/compile_time/fixed_cost.sh: Boost.Hana and common std headers, a few used.
#include <boost/hana.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

namespace hana = boost::hana;

struct account {
  BOOST_HANA_DEFINE_STRUCT(account, (std::string, owner), (long, cents));
};

int main(int argc, char** argv) {
  std::vector<account> accounts{{"ada", 100}, {"bob", 250}};
  std::sort(accounts.begin(), accounts.end(),
            [](const account& a, const account& b) { return a.cents > b.cents; });
  std::variant<long, std::string> choice = 1L;
  if (argc > 1) choice = std::string(argv[1]);
  auto start = std::chrono::steady_clock::now();
  for (const account& a : accounts) {
    hana::for_each(hana::keys(a), [&](auto key) { std::cout << key.c_str() << '=' << hana::at_key(a, key) << ' '; });
    std::visit([](const auto& v) { std::cout << v << '\n'; }, choice);
  }
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    std::cout << entry.path().filename().string() << ' ' << entry.is_directory() << '\n';
  std::cout << std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()
            << '\n';
}
EOF

echo "compiler: $("$cxx" --version | head -n 1)"
echo "command:  /usr/bin/time -f '%U %M' $cxx <CMake's flags for the example> ${extra[*]} $opt -c <file>.cpp   (best of $runs)"
echo "headers:  $cxx ${header_flags[*]} ${extra[*]} $opt -c <file>.cpp, <file>.cpp = #include <annal/...> + int main() {}"
echo "sources:  $work"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-44s | %6s | %7s | %6s |\n' 'translation unit' 'CPU s' 'peak MB' 'x ref'
printf '|%s|%s|%s|%s|\n' ---------------------------------------------- -------: --------: -------:

read -r ref_u ref_k < <(measure "$work/reference.cpp" "${base[@]}")
row() {  # $1 = name, $2 = user s, $3 = peak kB
  printf '| %-44s | %6.2f | %7.0f | %5.2fx |\n' "$1" "$2" "$(awk -v k="$3" 'BEGIN { print k / 1024 }')" \
    "$(awk -v u="$2" -v r="$ref_u" 'BEGIN { print (r > 0 ? u / r : 0) }')"
}
row 'reference (Hana + 7 std headers)' "$ref_u" "$ref_k"

# CLI11, which three examples use to parse options: a part of their cost that is not annal's.
cat >"$work/cli11.cpp" <<'EOF'
// CLI11 alone with one option, as the examples use it (bench/compile_time/fixed_cost.sh).
#include <CLI/CLI.hpp>

#include <string>

int main(int argc, char** argv) {
  CLI::App app{"cli11"};
  std::string name;
  app.add_option("--name", name);
  CLI11_PARSE(app, argc, argv);
  return static_cast<int>(name.size());
}
EOF
if [[ "CLI11 alone" =~ $only ]] && read -r u k < <(measure "$work/cli11.cpp" "${base[@]}" 2>/dev/null); then
  row "CLI11 alone (the examples' option parser)" "$u" "$k"
fi

for src in "$repo"/examples/*/main.cpp; do
  name="examples/${src#"$repo/examples/"}"
  [[ $name =~ $only ]] || continue
  mapfile -t f < <(flags_of "$src")
  read -r u k < <(measure "$src" "${f[@]}")
  row "$name" "$u" "$k"
done

# The umbrella first, then each public header (detail/ is internal) alone with an empty main.
headers=(annal/annal.hpp)
while IFS= read -r h; do
  [[ $h == annal/annal.hpp ]] || headers+=("$h")
done < <(cd "$repo/include" && find annal -name '*.hpp' -not -path '*/detail/*' | sort)
for h in "${headers[@]}"; do
  [[ "<$h>" =~ $only ]] || continue
  tu="$work/header_$(echo "$h" | tr '/.' '__').cpp"
  printf '#include <%s>\nint main() {}\n' "$h" >"$tu"
  read -r u k < <(measure "$tu" "${header_flags[@]}")
  row "<$h>" "$u" "$k"
done
