#!/usr/bin/env bash
# The install commands of docs/consuming.md, run as written: annal (the checkout, argument 1) is
# installed with every backend into a folder under argument 2, and the consumer project is
# configured against it there. package.consumer (check.cmake) builds and runs the result.
set -euo pipefail
source=$1 work=$2
cd "$work"
ln -sfn "$source" annal
rm -rf my_service
cp -r "$source/tests/package/consumer" my_service
# [install]
cmake -S annal -B annal-build -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_EXAMPLES=OFF -DANNAL_BUILD_BENCH=OFF \
  -DANNAL_WITH_SQLITE=ON -DANNAL_WITH_POSTGRES=ON -DANNAL_WITH_KAFKA=ON -DANNAL_WITH_PRIVACY=ON
cmake --install annal-build --prefix "$PWD/annal-install"
# [install]
# [configure]
cmake -S my_service -B my_service/build -DCMAKE_PREFIX_PATH="$PWD/annal-install"
cmake --build my_service/build
# [configure]
