#!/usr/bin/env bash
# Checks annal's Conan recipe and vcpkg port with the real tools, where they are found:
#   CONAN       a Conan 2 command (default: conan on PATH)
#   VCPKG_ROOT  a vcpkg root (the registry's scripts/, triplets/, ports/) holding a vcpkg binary
# Conan: `conan create` with test_package for the default and the all-on option sets, then the
# conanfile.txt and conanfile.py projects of docs/consuming.md. vcpkg: the overlay port installed
# with no feature, each feature alone and all of them, a consumer built against each, then the
# manifest project of docs/consuming.md. A tool not found is skipped, and said so.
# Both run offline: the system libraries come from Debian through stand-ins in packaging/test/.
# Their state (a Conan home, a vcpkg install tree) lives in ANNAL_PACKAGING_WORK (default
# build/packaging in the checkout); the given CONAN_HOME and VCPKG_ROOT are left as they were.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${ANNAL_PACKAGING_WORK:-$root/build/packaging}
backends=(sqlite postgres kafka privacy)
ran=()
skipped=()
started=$SECONDS

say() { printf '\n==== %s (%ds)\n' "$*" $((SECONDS - started)); }

# fresh_consumer DIR MANIFEST...: the docs' project (packaging/test/consumer) copied to DIR with
# the given manifest files beside it.
fresh_consumer() {
  local dir=$1
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$root/packaging/test/consumer/CMakeLists.txt" "$root/packaging/test/consumer/main.cpp" "$@" "$dir/"
}

check_conan() {
  export CONAN_HOME="$work/conan-home"
  rm -rf "$CONAN_HOME"
  conan() { "$CONAN" "$@"; }
  say "Conan $(conan --version | sed 's/.* //'), home $CONAN_HOME"
  conan profile detect --name detected >/dev/null 2>&1
  cp "$root/packaging/test/conan/profile" "$CONAN_HOME/profiles/default"
  conan remote disable conancenter >/dev/null  # unreachable here: everything is local
  # Debian's libraries under ConanCenter's names (test scaffolding).
  local library
  for library in boost/1.81.0 sqlite3/3.40.1 libpq/15.18 librdkafka/2.0.2 libsodium/1.0.18; do
    conan create "$root/packaging/test/conan/system" --name "${library%/*}" \
      --version "${library#*/}" >"$work/conan-system.log" 2>&1 ||
      { cat "$work/conan-system.log"; return 1; }
  done

  cd "$root"
  say "conan create: default options"
  conan create . -s compiler.cppstd=20
  say "conan create: every option on"
  # [conan-create]
  conan create . -s compiler.cppstd=20 -o "annal/*:with_sqlite=True" -o "annal/*:with_postgres=True" \
    -o "annal/*:with_kafka=True" -o "annal/*:with_privacy=True"
  # [conan-create]

  say "docs/consuming.md: a project with conanfile.txt"
  fresh_consumer "$work/conan-txt" "$root/packaging/test/consumer/conan-txt/conanfile.txt"
  cd "$work/conan-txt"
  # [conan-txt-build]
  conan install . --output-folder=build --build=missing -s compiler.cppstd=20
  cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=build/conan_toolchain.cmake -DCMAKE_BUILD_TYPE=Release
  cmake --build build
  # [conan-txt-build]
  ./build/my_service

  say "docs/consuming.md: a project with conanfile.py"
  fresh_consumer "$work/conan-py" "$root/packaging/test/consumer/conan-py/conanfile.py"
  cd "$work/conan-py"
  # [conan-py-build]
  conan build . --build=missing -s compiler.cppstd=20
  # [conan-py-build]
  ./build/Release/my_service
  cd "$root"
}

check_vcpkg() {
  # A vcpkg root of its own, sharing the given one's files (scripts, triplets, helper ports).
  local given=$VCPKG_ROOT
  export VCPKG_ROOT="$work/vcpkg-root"
  rm -rf "$VCPKG_ROOT"
  mkdir -p "$VCPKG_ROOT"
  local entry
  for entry in "$given"/* "$given/.vcpkg-root"; do
    case ${entry##*/} in
      installed | packages | buildtrees | downloads | vcpkg) ;;
      *) ln -s "$entry" "$VCPKG_ROOT/" ;;
    esac
  done
  cp "$given/vcpkg" "$VCPKG_ROOT/"  # a copy: vcpkg takes the folder of its binary as its root
  # Offline: tools from the system, no binary cache (the port's sources are outside it, so a cached
  # build could be stale), Debian's libraries as overlay ports (test scaffolding).
  export VCPKG_FORCE_SYSTEM_BINARIES=1 VCPKG_DISABLE_METRICS=1 VCPKG_BINARY_SOURCES=clear
  export VCPKG_OVERLAY_PORTS="$root/packaging/test/vcpkg-ports"
  vcpkg() { "$VCPKG_ROOT/vcpkg" "$@"; }
  say "vcpkg $(vcpkg version | head -1 | sed 's/.* version //'), root $VCPKG_ROOT"
  local ANNAL=$root
  local installed="$VCPKG_ROOT/installed/x64-linux"

  # The port's manifest is in `vcpkg format-manifest` form.
  cp "$root/packaging/vcpkg/vcpkg.json" "$work/vcpkg.json"
  vcpkg format-manifest "$work/vcpkg.json" >/dev/null
  diff -u "$root/packaging/vcpkg/vcpkg.json" "$work/vcpkg.json"

  local feature
  for feature in "" "${backends[@]}"; do
    say "vcpkg install annal[${feature:-core}], and a consumer of it"
    vcpkg remove annal >/dev/null 2>&1 || true
    vcpkg install "annal${feature:+[$feature]}" --overlay-ports="$ANNAL/packaging/vcpkg"
    # The feature alone decides which backend is built, whatever else this machine has.
    local built
    built=$(cd "$installed/share/annal" && ls annal-*-targets.cmake 2>/dev/null | tr "\n" " " || true)
    if [ "$built" != "${feature:+annal-$feature-targets.cmake }" ]; then
      echo "check.sh: annal[${feature:-core}] installed the backends '$built'" >&2
      return 1
    fi
    cmake -S "$root/test_package" -B "$work/vcpkg-${feature:-core}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_TOOLCHAIN_FILE="$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" \
      -DANNAL_TEST_COMPONENTS="$feature" >/dev/null
    cmake --build "$work/vcpkg-${feature:-core}"
    "$work/vcpkg-${feature:-core}/test_annal"
    if [ -n "$feature" ]; then "$work/vcpkg-$feature/test_$feature"; fi
  done

  say "docs/consuming.md: vcpkg install with every feature"
  vcpkg remove annal >/dev/null 2>&1 || true
  # [vcpkg-classic]
  vcpkg install "annal[sqlite,postgres,kafka,privacy]" --overlay-ports="$ANNAL/packaging/vcpkg"
  # [vcpkg-classic]
  cmake -S "$root/test_package" -B "$work/vcpkg-all" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" \
    -DANNAL_TEST_COMPONENTS="sqlite;postgres;kafka;privacy" >/dev/null
  cmake --build "$work/vcpkg-all"
  for feature in annal "${backends[@]}"; do "$work/vcpkg-all/test_$feature"; done

  say "docs/consuming.md: a project with vcpkg.json (manifest mode)"
  fresh_consumer "$work/vcpkg-manifest" "$root/packaging/test/consumer/vcpkg/vcpkg.json"
  cd "$work/vcpkg-manifest"
  # [vcpkg-manifest-build]
  cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE="$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" \
    -DVCPKG_OVERLAY_PORTS="$ANNAL/packaging/vcpkg"
  cmake --build build
  # [vcpkg-manifest-build]
  ./build/my_service
  cd "$root"
}

mkdir -p "$work"
CONAN=${CONAN:-$(command -v conan || true)}
if [ -z "$CONAN" ]; then
  skipped+=("Conan (no conan on PATH; set CONAN to a Conan 2 command)")
else
  check_conan
  ran+=("Conan: conan create (default, every option), conanfile.txt and conanfile.py projects")
fi
if [ -z "${VCPKG_ROOT:-}" ] || [ ! -x "$VCPKG_ROOT/vcpkg" ] || [ ! -d "$VCPKG_ROOT/scripts" ]; then
  skipped+=("vcpkg (set VCPKG_ROOT to a vcpkg root with scripts/ and a vcpkg binary)")
else
  check_vcpkg
  ran+=("vcpkg: annal with no feature, each feature, every feature; the vcpkg.json project")
fi

printf '\n==== packaging/check.sh (%ds)\n' $((SECONDS - started))
for r in "${ran[@]}"; do echo "passed: $r"; done
for s in "${skipped[@]}"; do echo "SKIPPED: $s"; done
