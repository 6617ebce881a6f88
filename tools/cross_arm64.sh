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
# shellcheck disable=SC2086
tools/setup.sh $pkgs
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=tools/arm64-toolchain.cmake -DCMAKE_BUILD_TYPE=Release \
  -DPITSTORE_BUILD_BENCH=OFF -DPITSTORE_BUILD_TOOLS=OFF -DPITSTORE_WERROR=ON >/dev/null
cmake --build "$build" -j2
file -L "$build/engine/libpitstore.so" | grep -q "ARM aarch64"
# c_api runs through sh, which cannot start an arm64 binary without binfmt_misc; run it here.
dir=$(mktemp -d)
qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/tests/c_api_test" "$dir" >/dev/null
rm -rf "$dir"
# Under Debian 12's qemu-user (7.2) here, a program that starts a thread hangs at full CPU (a
# ten-line std::thread + join program does too). A probe tells; where threads hang, the tests
# that start threads (joins, concurrent readers, segment encoding, reader processes) and the crash
# harness are left out, and the script says so. They need real arm64 hardware or a newer qemu.
probe=$(mktemp -d)
printf '#include <thread>\nint main() { int x = 0; std::thread t([&] { x = 1; }); t.join(); return x - 1; }\n' \
  >"$probe/probe.cc"
aarch64-linux-gnu-g++ -pthread -o "$probe/probe" "$probe/probe.cc"
skip='^c_api$'
if ! timeout 20 qemu-aarch64 -L /usr/aarch64-linux-gnu "$probe/probe"; then
  skip="$skip|OneWriterManyReaderProcesses|ConcurrentReadersSeeWholeBatches|Concurrency\\.|Serving\\.ShippedStoreOnARead"
  skip="$skip|DiskFull\\.F|JoinTest\\.|PropertyTest|crash_harness"
  echo "cross_arm64: threads hang under this qemu-aarch64; leaving out: $skip" >&2
fi
rm -rf "$probe"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 300 -E "$skip"
echo "cross_arm64: the aarch64 build passed its tests under qemu-aarch64 (left out: $skip)"
