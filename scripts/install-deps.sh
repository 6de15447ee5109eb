#!/usr/bin/env bash
# Installs, with apt-get on Debian 12, whatever annal's build, tests, examples and benchmarks need.
set -euo pipefail

packages=(
  g++ clang libclang-rt-14-dev cmake make ccache git
  clang-format-16                           # the format check (scripts/format.sh)
  libboost1.81-dev libboost-json1.81-dev    # Hana, UUID, CRC; JSON codec
  catch2 libbenchmark-dev                   # tests and bench/
  libsqlite3-dev sqlite3                    # annal::sqlite
  libpq-dev postgresql                      # annal::postgres; tests start a throwaway server
  librdkafka-dev                            # annal::kafka (publishing and replay)
  libsodium-dev                             # annal::privacy (sealing personal data)
  libcli11-dev                              # command lines of the examples
  util-linux procps                         # setpriv/runuser for the test server, kill
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
