#!/bin/bash
# Cross-builds pitstore for ARM64 (aarch64) with Debian 12's cross toolchain and arm64 -dev
# packages (multiarch), then runs the test suite under qemu-user. Run as root on Debian 12 amd64.
#   tools/cross_arm64.sh [BUILD_DIR]      (default build-arm64)
# Installs what is missing (crossbuild-essential-arm64, qemu-user, the arm64 libraries), builds
# the engine (static and shared), its tests and the C API test with tools/arm64-toolchain.cmake,
# and runs ctest with each test binary under qemu-aarch64. The command-line tool is left out: it
# needs yaml-cpp for arm64, and Debian's libyaml-cpp-dev is not Multi-Arch: same (installing the
# arm64 one removes the amd64 one).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-arm64}
export DEBIAN_FRONTEND=noninteractive
dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64 && apt-get update -qq; }
pkgs="crossbuild-essential-arm64 qemu-user cmake pkg-config flatbuffers-compiler libflatbuffers-dev libcli11-dev
liblmdb-dev:arm64 libzstd-dev:arm64 libxxhash-dev:arm64 libgtest-dev:arm64"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "cross_arm64: installing$missing" >&2
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=tools/arm64-toolchain.cmake -DCMAKE_BUILD_TYPE=Release \
  -DPITSTORE_BUILD_BENCH=OFF -DPITSTORE_BUILD_TOOLS=OFF -DPITSTORE_WERROR=ON >/dev/null
cmake --build "$build" -j2
file -L "$build/engine/libpitstore.so" | grep -q "ARM aarch64"
# c_api runs through sh, which cannot start an arm64 binary without binfmt_misc; run it here.
dir=$(mktemp -d)
qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/tests/c_api_test" "$dir" >/dev/null
rm -rf "$dir"
# Under qemu-user (7.2) some tests spin at full CPU without progress and are left out: several
# processes sharing LMDB's lock file, threads reading while a writer commits, the full-disk tests
# and the tests that join (the join tests, the property test); the crash harness's writer does not
# get going within its kill window there. The same binaries' logic passes natively
# with -funsigned-char (ARM's char); these need real arm64 hardware to run.
skip='^c_api$|OneWriterManyReaderProcesses|ConcurrentReadersSeeWholeBatches|Concurrency\.|Serving\.ShippedStoreOnARead|DiskFull\.F|JoinTest\.|PropertyTest|crash_harness'
ctest --test-dir "$build" --output-on-failure -j2 --timeout 300 -E "$skip"
echo "cross_arm64: the aarch64 build passed its tests under qemu-aarch64 (left out: $skip)"
