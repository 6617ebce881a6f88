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
# The man page, made from --help: every subcommand with its examples.
man_page=$prefix/share/man/man1/pitstore.1
test -f "$man_page" && grep -q '^\.SS join' "$man_page" && grep -q 'pitstore join features.pit labels.csv' "$man_page"
if command -v man >/dev/null 2>&1; then
  man -l "$man_page" >"$work/man.txt" 2>&1 && grep -q 'Usage: pitstore delete' "$work/man.txt"
fi

# 1. pkg-config, shared library: the README's line as written (the .pc file carries the rpath,
# so the program finds libpitstore.so.0 wherever the package was installed).
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c99 -Wall -Werror -o "$work/by_pkg_config" "$src/tests/c_api_test.c" $(pkg-config --cflags --libs pitstore)
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

# 2b. find_package from a C-only project (no C++ enabled): the config names the C++ runtime.
mkdir "$work/consumer_c"
cat >"$work/consumer_c/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(consumer_c C)
find_package(pitstore 0.1 REQUIRED)
add_executable(by_c_project $src/tests/c_api_test.c)
target_link_libraries(by_c_project PRIVATE pitstore::pitstore)
CMAKE
cmake -S "$work/consumer_c" -B "$work/consumer_c/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer_c/build" >/dev/null
mkdir "$work/c" && "$work/consumer_c/build/by_c_project" "$work/c" >/dev/null

# 3. The installed tool.
"$prefix/bin/pitstore" --help >"$work/help" && grep -q "Exit status" "$work/help"

# 4. The workflow library: a two-view training set from Parquet labels into an Arrow C stream,
# built with find_package (static libraries) and with pkg-config (the shared engine), each
# agreeing with the installed tool's CSV join of the same labels.
tool=$prefix/bin/pitstore
d=$work/flow
mkdir "$d"
cat >"$d/defs.yaml" <<YAML
entities:
  - {name: user, join_keys: [{name: user_id, type: int64}]}
feature_views:
  - name: activity
    entities: [user]
    features: [{name: clicks, type: int64}, {name: score, type: float64}]
  - name: profile
    entities: [user]
    features: [{name: plan, type: string}, {name: age, type: int64}]
YAML
{
  echo "user_id,event_ts,clicks,score"
  for u in 1 2 3 4 5 6; do for day in 01 03 05; do echo "$u,2025-03-${day}T00:00:00Z,$((u * 10 + ${day#0})),0.$u"; done; done
  echo "2,2025-03-04T00:00:00Z,,"
} >"$d/activity.csv"
{
  echo "user_id,event_ts,plan,age"
  for u in 1 2 3 4; do echo "$u,2025-03-02T00:00:00Z,p$u,$((20 + u))"; done
} >"$d/profile.csv"
{
  echo "user_id,event_ts,label"
  for u in 1 2 3 4 5 6 7; do for day in 01 02 04 06; do echo "$u,2025-03-${day}T12:00:00Z,$((u % 2))"; done; done
} >"$d/labels.csv"
"$tool" init "$d/s.pit" >/dev/null
"$tool" apply "$d/s.pit" "$d/defs.yaml" >/dev/null
"$tool" ingest "$d/s.pit" activity "$d/activity.csv" >/dev/null
"$tool" ingest "$d/s.pit" profile "$d/profile.csv" >/dev/null
"$tool" join "$d/s.pit" "$d/labels.csv" --features profile:age --out "$d/labels.parquet" 2>/dev/null
features="activity:clicks activity:score profile:plan"
"$tool" join "$d/s.pit" "$d/labels.parquet" --features "$(tr ' ' , <<<"$features")" --output-format csv 2>/dev/null >"$d/want.csv"
# The CSV's columns: user_id,event_ts,label,age,clicks,score,plan.
want=$(awk -F, 'NR > 1 { rows++; if ($5 != "") { c++; s += $5 } if ($6 != "") sc++; if ($7 != "") p++ }
  END { printf "rows %d\nclicks %d %d\nscore %d\nplan %d\n", rows, c, s, sc, p }' "$d/want.csv")
summary() {  # the consumer's output in the same form
  awk '/^rows/ { print "rows", $2 } $1 == "clicks" { print "clicks", $4, $6 } $1 == "score" { print "score", $4 }
    $1 == "plan" { print "plan", $4 }' "$1"
}
mkdir "$work/stream"
cat >"$work/stream/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(stream CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(pitstore 0.1 REQUIRED)
add_executable(stream_by_find_package $src/examples/training_set_stream.cc)
target_link_libraries(stream_by_find_package PRIVATE pitstore::pitstore_workflow)
CMAKE
cmake -S "$work/stream" -B "$work/stream/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/stream/build" >/dev/null
"$work/stream/build/stream_by_find_package" "$d/s.pit" "$d/labels.parquet" $features >"$d/got1.txt"
c++ -std=c++20 -o "$work/stream_by_pkg_config" "$src/examples/training_set_stream.cc" \
  $(pkg-config --cflags --libs pitstore_workflow) $(pkg-config --static --libs-only-l pitstore_workflow | sed 's/-lpitstore //') \
  -Wl,-rpath,"$libdir"
"$work/stream_by_pkg_config" "$d/s.pit" "$d/labels.parquet" $features >"$d/got2.txt"
ldd "$work/stream_by_pkg_config" >"$work/ldd3" && grep -q "libpitstore.so" "$work/ldd3"
for got in "$d/got1.txt" "$d/got2.txt"; do
  if [ "$(summary "$got")" != "$want" ]; then
    echo "training set stream ($got) disagrees with the tool's join:"
    echo "want:"; echo "$want"; echo "got:"; cat "$got"
    exit 1
  fi
done
echo "install: headers, static and shared libraries, pkg-config files, CMake package and the CLI work from $prefix;"
echo "  (want: $(tr "\n" " " <<<"$want"))"
echo "  a consumer of the installed workflow library streamed $(head -n 1 "$d/got1.txt") through the Arrow C interface"
