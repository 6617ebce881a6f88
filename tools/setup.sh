#!/bin/sh
# Installs what pitstore needs to build and test on Debian 12 (run as root).
# Installs only the packages that are missing; safe to run again.
set -eu
# With arguments, installs those packages instead (tools/cross_arm64.sh uses it).
if [ $# -gt 0 ]; then
  pkgs="$*"
else
  pkgs="build-essential cmake pkg-config liblmdb-dev libzstd-dev libxxhash-dev libflatbuffers-dev
flatbuffers-compiler libgtest-dev libbenchmark-dev librocksdb-dev libcli11-dev libyaml-cpp-dev libsnappy-dev zlib1g-dev
libcpp-httplib-dev nlohmann-json3-dev wrk
python3 python3-zstandard"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Python: a virtual environment beside the checkout (.venv) with what the Python package builds
# and is tested with. The build finds it (PITSTORE_BUILD_PYTHON). Feast is installed for the
# side-by-side tests and benchmarks; where it cannot be, those skip and say so.
if [ $# -eq 0 ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  venv=$root/.venv
  if [ ! -x "$venv/bin/python" ]; then
    py=$(command -v python3.11 || command -v python3)
    if ! "$py" -m venv "$venv" 2>/dev/null; then
      echo "setup: installing python3-venv" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      rm -rf "$venv"
      "$py" -m venv "$venv"
    fi
  fi
  pip="$venv/bin/python -m pip install -q --disable-pip-version-check"
  $pip nanobind scikit-build-core pyarrow pandas numpy pytest polars
  $pip duckdb || echo "setup: DuckDB could not be installed; the tests against its window functions will skip" >&2
  $pip feast || echo "setup: Feast could not be installed; the side-by-side tests will skip" >&2
  # Spark (its jars come with PySpark) needs a JVM: Debian's Java 17 where it is missing.
  command -v java >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openjdk-17-jre-headless >/dev/null || echo "setup: no Java; the Spark tests will skip" >&2
  $pip pyspark || echo "setup: PySpark could not be installed; the Spark tests will skip" >&2
  $pip "ray[data]" || echo "setup: Ray could not be installed; the Ray tests will skip" >&2
fi
