#!/bin/sh
# Installs what pitstore needs to build and test on Debian 12 (run as root).
# Installs only the packages that are missing; safe to run again.
set -eu
# With arguments, installs those packages instead (tools/cross_arm64.sh uses it).
if [ $# -gt 0 ]; then
  pkgs="$*"
else
  pkgs="build-essential cmake pkg-config liblmdb-dev libzstd-dev libxxhash-dev libflatbuffers-dev
flatbuffers-compiler libgtest-dev libbenchmark-dev libcli11-dev libyaml-cpp-dev libsnappy-dev zlib1g-dev
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
