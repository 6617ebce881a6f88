#!/bin/bash
# Cross-builds pitstore for ARM64 (aarch64) with Debian 12's cross toolchain and arm64 -dev
# packages (multiarch), then runs the test suite under qemu-user. Run as root on Debian 12 amd64.
#   tools/cross_arm64.sh [BUILD_DIR]      (default build-arm64)
# Installs what is missing (crossbuild-essential-arm64, qemu-user, the arm64 libraries), builds
# the engine (static and shared), its tests and the C API test with tools/arm64-toolchain.cmake,
# and runs ctest with each test binary under qemu-aarch64 (-L /: the multiarch arm64 glibc; see
# tools/arm64-toolchain.cmake). The command-line tool is left out: it
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
# -L /: the multiarch arm64 glibc (see tools/arm64-toolchain.cmake).
dir=$(mktemp -d)
qemu-aarch64 -L / "$build/tests/c_api_test" "$dir" >/dev/null
rm -rf "$dir"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 900 -E '^c_api$'
echo "cross_arm64: the aarch64 build passed every test under qemu-aarch64"
