#!/usr/bin/env bash
# Checks annal's Conan recipe and vcpkg port with the real tools, where they are found:
#   CONAN       a Conan 2 command (default: conan on PATH)
#   VCPKG_ROOT  a vcpkg root (the registry's scripts/, triplets/, ports/) holding a vcpkg binary
# Conan: `conan create` with test_package for the default and the all-on option sets, then the
# conanfile.txt and conanfile.py projects of docs/consuming.md. vcpkg: the overlay port installed
# with no feature, each feature alone and all of them, a consumer built against each, then the
# manifest project of docs/consuming.md. A tool not found is skipped, and said so.
# Both run offline: the system libraries come from Debian through stand-ins in packaging/test/.
# Their state (a Conan home, a vcpkg root) and one log per step live in ANNAL_PACKAGING_WORK
# (default build/packaging in the checkout); the given CONAN_HOME and VCPKG_ROOT are left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${ANNAL_PACKAGING_WORK:-$root/build/packaging}
backends=(sqlite postgres kafka privacy)
started=$SECONDS
steps=0
skipped=()

# step NAME FUNCTION [ARGS...]: runs the function with `set -e` in a subshell, its output in a log;
# prints one line, or the log's end when it fails (and then stops).
step() {
  local name=$1
  shift
  steps=$((steps + 1))
  local log
  log="$work/logs/$(printf '%02d' "$steps")-$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-').log"
  local at=$SECONDS rc=0
  set +e
  (
    set -e
    "$@"
  ) >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    printf 'FAILED (%ds): %s\n' $((SECONDS - at)) "$name"
    tail -n 60 "$log"
    printf 'check.sh: the whole log is %s\n' "$log"
    exit 1
  fi
  printf 'ok (%3ds): %s\n' $((SECONDS - at)) "$name"
}

# fresh_consumer DIR MANIFEST...: the docs' project (packaging/test/consumer) copied to DIR with
# the given manifest files beside it.
fresh_consumer() {
  local dir=$1
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$root/packaging/test/consumer/CMakeLists.txt" "$root/packaging/test/consumer/main.cpp" "$@" "$dir/"
}

conan() { "$CONAN" "$@"; }

conan_home() {
  rm -rf "$CONAN_HOME"
  conan profile detect --name detected
  cp "$root/packaging/test/conan/profile" "$CONAN_HOME/profiles/default"
  conan remote disable conancenter  # unreachable here: everything is local
  # Debian's libraries under ConanCenter's names (test scaffolding).
  local library
  for library in boost/1.81.0 sqlite3/3.40.1 libpq/15.18 librdkafka/2.0.2 libsodium/1.0.18; do
    conan create "$root/packaging/test/conan/system" --name "${library%/*}" --version "${library#*/}"
  done
}

conan_create_default() {
  cd "$root"
  conan create . -s compiler.cppstd=20
}

conan_create_all() {
  cd "$root"
  # [conan-create]
  conan create . -s compiler.cppstd=20 -o "annal/*:with_sqlite=True" -o "annal/*:with_postgres=True" \
    -o "annal/*:with_kafka=True" -o "annal/*:with_privacy=True"
  # [conan-create]
}

conan_txt_project() {
  fresh_consumer "$work/conan-txt" "$root/packaging/test/consumer/conan-txt/conanfile.txt"
  cd "$work/conan-txt"
  # [conan-txt-build]
  conan install . --output-folder=build --build=missing -s compiler.cppstd=20
  cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=build/conan_toolchain.cmake -DCMAKE_BUILD_TYPE=Release
  cmake --build build
  # [conan-txt-build]
  ./build/my_service
}

conan_py_project() {
  fresh_consumer "$work/conan-py" "$root/packaging/test/consumer/conan-py/conanfile.py"
  cd "$work/conan-py"
  # [conan-py-build]
  conan build . --build=missing -s compiler.cppstd=20
  # [conan-py-build]
  ./build/Release/my_service
}

check_conan() {
  export CONAN_HOME="$work/conan-home"
  echo "Conan: $(conan --version) from $CONAN, home $CONAN_HOME"
  step "conan: a fresh home with Debian's libraries as packages" conan_home
  step "conan create, default options, test_package" conan_create_default
  step "conan create, every option on, test_package" conan_create_all
  step "conan: docs/consuming.md's conanfile.txt project" conan_txt_project
  step "conan: docs/consuming.md's conanfile.py project" conan_py_project
}

vcpkg() { "$VCPKG_ROOT/vcpkg" "$@"; }

# A vcpkg root of its own, sharing the given one's files (scripts, triplets, helper ports).
vcpkg_root() {
  local given=$1 entry
  rm -rf "$VCPKG_ROOT"
  mkdir -p "$VCPKG_ROOT"
  for entry in "$given"/* "$given/.vcpkg-root"; do
    case ${entry##*/} in
      installed | packages | buildtrees | downloads | vcpkg) ;;
      *) ln -s "$entry" "$VCPKG_ROOT/" ;;
    esac
  done
  cp "$given/vcpkg" "$VCPKG_ROOT/"  # a copy: vcpkg takes the folder of its binary as its root
  # The port's manifest is in `vcpkg format-manifest` form.
  cp "$root/packaging/vcpkg/vcpkg.json" "$work/vcpkg.json"
  vcpkg format-manifest "$work/vcpkg.json"
  diff -u "$root/packaging/vcpkg/vcpkg.json" "$work/vcpkg.json"
}

# vcpkg_consumer NAME COMPONENTS...: test_package's consumers of the given components, built
# against annal in the classic install tree, and run.
vcpkg_consumer() {
  local dir="$work/vcpkg-$1" component
  shift
  local IFS=';'
  cmake -S "$root/test_package" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" -DANNAL_TEST_COMPONENTS="$*"
  cmake --build "$dir"
  for component in annal "$@"; do "$dir/test_$component"; done
}

# vcpkg_feature [FEATURE]: annal with that feature alone (or none), and a consumer of it.
vcpkg_feature() {
  local feature=${1:-} ANNAL=$root built expected="annal-*-targets.cmake"
  vcpkg remove annal || true
  vcpkg install "annal${feature:+[$feature]}" --overlay-ports="$ANNAL/packaging/vcpkg"
  # The feature alone decides which backend is built, whatever else this machine has. (With none,
  # the pattern matches nothing and stays as it is.)
  built=$(cd "$VCPKG_ROOT/installed/x64-linux/share/annal" && echo annal-*-targets.cmake)
  if [ -n "$feature" ]; then expected="annal-$feature-targets.cmake"; fi
  if [ "$built" != "$expected" ]; then
    echo "check.sh: annal[${feature:-core}] installed the backends' files $built" >&2
    return 1
  fi
  vcpkg_consumer "${feature:-core}" ${feature:+"$feature"}
}

vcpkg_all_features() {
  local ANNAL=$root
  vcpkg remove annal || true
  # [vcpkg-classic]
  vcpkg install "annal[sqlite,postgres,kafka,privacy]" --overlay-ports="$ANNAL/packaging/vcpkg"
  # [vcpkg-classic]
  vcpkg_consumer all "${backends[@]}"
}

vcpkg_manifest_project() {
  local ANNAL=$root
  fresh_consumer "$work/vcpkg-manifest" "$root/packaging/test/consumer/vcpkg/vcpkg.json"
  cd "$work/vcpkg-manifest"
  # [vcpkg-manifest-build]
  cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE="$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" \
    -DVCPKG_OVERLAY_PORTS="$ANNAL/packaging/vcpkg"
  cmake --build build
  # [vcpkg-manifest-build]
  ./build/my_service
}

check_vcpkg() {
  local given=$VCPKG_ROOT feature
  export VCPKG_ROOT="$work/vcpkg-root"
  # Offline: tools from the system, no binary cache (the port's sources are outside it, so a cached
  # build could be stale), Debian's libraries as overlay ports (test scaffolding).
  export VCPKG_FORCE_SYSTEM_BINARIES=1 VCPKG_DISABLE_METRICS=1 VCPKG_BINARY_SOURCES=clear
  export VCPKG_OVERLAY_PORTS="$root/packaging/test/vcpkg-ports"
  echo "vcpkg: $("$given/vcpkg" version | head -1) from $given, root $VCPKG_ROOT"
  step "vcpkg: a fresh root; the port's manifest is formatted" vcpkg_root "$given"
  step "vcpkg install annal (no feature), a consumer of annal::annal" vcpkg_feature
  for feature in "${backends[@]}"; do
    step "vcpkg install annal[$feature] alone, consumers of annal::annal and annal::$feature" \
      vcpkg_feature "$feature"
  done
  step "vcpkg install annal[sqlite,postgres,kafka,privacy], consumers of every component" \
    vcpkg_all_features
  step "vcpkg: docs/consuming.md's vcpkg.json project (manifest mode)" vcpkg_manifest_project
}

rm -rf "$work/logs"
mkdir -p "$work/logs"
CONAN=${CONAN:-$(type -P conan || true)}  # type -P: not the conan function above
if [ -n "$CONAN" ]; then
  check_conan
else
  skipped+=("Conan: no conan on PATH and CONAN not set (a Conan 2 command)")
fi
if [ -n "${VCPKG_ROOT:-}" ] && [ -x "$VCPKG_ROOT/vcpkg" ] && [ -d "$VCPKG_ROOT/scripts" ]; then
  check_vcpkg
else
  skipped+=("vcpkg: VCPKG_ROOT is not set to a vcpkg root with scripts/ and a vcpkg binary")
fi

for s in "${skipped[@]}"; do echo "SKIPPED $s"; done
printf 'packaging/check.sh: %d steps passed, %d tools skipped, %ds\n' "$steps" "${#skipped[@]}" \
  $((SECONDS - started))
