#!/bin/bash
# Installs the build into a temporary prefix and builds the C API test program against the
# installed package both ways a consumer would: pkg-config (the shared library) and CMake's
# find_package(pitstore) (the static library); runs both, and the installed CLI.
#   tests/install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(realpath "$(dirname "$(find "$prefix" -name pitstore.pc | head -n 1)")/..")
test -f "$prefix/include/pitstore.h" && test -f "$prefix/include/pitstore/store.h"
ls "$libdir"/libpitstore.a "$libdir"/libpitstore.so >/dev/null

# 1. pkg-config, shared library.
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c99 -Wall -Werror -o "$work/by_pkg_config" "$src/tests/c_api_test.c" $(pkg-config --cflags --libs pitstore) \
  -Wl,-rpath,"$libdir"
mkdir "$work/a" && "$work/by_pkg_config" "$work/a" >/dev/null
ldd "$work/by_pkg_config" >"$work/ldd1" && grep -q "libpitstore.so" "$work/ldd1"  # (no pipe: pipefail)

# 2. find_package, static library.
mkdir "$work/consumer"
cat >"$work/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(consumer C CXX)
find_package(pitstore 0.1 REQUIRED)
add_executable(by_find_package $src/tests/c_api_test.c)
target_link_libraries(by_find_package PRIVATE pitstore::pitstore)
set_target_properties(by_find_package PROPERTIES LINKER_LANGUAGE CXX)
CMAKE
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer/build" >/dev/null
mkdir "$work/b" && "$work/consumer/build/by_find_package" "$work/b" >/dev/null
ldd "$work/consumer/build/by_find_package" >"$work/ldd2" && ! grep -q "libpitstore.so" "$work/ldd2"

# 3. The installed tool.
"$prefix/bin/pitstore" --help >"$work/help" && grep -q "Exit status" "$work/help"
echo "install: headers, static and shared libraries, pitstore.pc, CMake package and the CLI work from $prefix"
