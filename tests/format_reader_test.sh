#!/bin/bash
# The format, executable: format/pitread.py, a reader of the data file written from
# format/FORMAT.md alone (Python standard library; no code shared with the engine), must read
# what the engine writes exactly as `pitstore dump --format csv` prints it.
#   tests/format_reader_test.sh BUILD_DIR SOURCE_DIR
#   (self) pitread.py --self-test: XXH3 vectors (and libxxhash, where installed), number spellings;
#   (a) the committed golden store (tests/fixtures/golden): pitread's CSV of every view equals the
#       committed expected_VIEW.csv, and so does the tool's dump of a copy (the engine still
#       reads the committed bytes);
#   (b) a fresh golden store, made by make_golden.sh with BUILD_DIR's pitstore: pitread's CSV
#       equals the dump of every view;
#   (c) a flipped byte in a copy of golden.pit (in every block, and in block header fields):
#       pitread exits 1 and names the offset of the damaged block;
#   (d) without the zstandard module: the zstd payloads are skipped and said so (exit 4), the
#       block map still reads.
# Needs Python 3.11+. The comparisons need its `zstandard` module (the registry and some segment
# chunks are zstd): without it they are skipped, the rest runs, and the exit status is 77
# (skipped) when nothing failed.
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build=$1 src=$2
reader=$src/format/pitread.py
golden=$src/tests/fixtures/golden
tool=
for t in "$build/bin/pitstore"; do
  if [ -x "$t" ]; then
    tool=$t
    break
  fi
done

# A Python 3.11+, preferably one with zstandard.
py= py_plain=
for p in python3 /usr/bin/python3 python3.13 python3.12 python3.11; do
  command -v "$p" >/dev/null 2>&1 || continue
  "$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || continue
  if "$p" -c 'import zstandard' 2>/dev/null; then
    py=$p
    break
  fi
  [ -n "$py_plain" ] || py_plain=$p
done
have_zstd=1
if [ -z "$py" ]; then
  have_zstd=0
  py=$py_plain
fi
if [ -z "$py" ]; then
  echo "SKIP: no Python 3.11 or later"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0 skipped=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
skip() {
  echo "SKIP $*"
  skipped=$((skipped + 1))
}
# same NAME FILE_A FILE_B: the two files are byte-identical.
same() {
  if cmp -s "$2" "$3"; then
    pass
  else
    fail "$1: $2 and $3 differ:"
    diff "$2" "$3" | head -20
  fi
}

echo "python: $py ($("$py" --version 2>&1)), zstandard: $([ $have_zstd = 1 ] && echo yes || echo no), pitstore: ${tool:-none}"

# (self)
if out=$("$py" "$reader" --self-test 2>&1); then pass; else fail "self-test: $out"; fi
echo "$out"

# (a) the committed golden store.
views=()
for f in "$golden"/expected_*.csv; do
  v=${f##*/expected_}
  views+=("${v%.csv}")
done
if [ ${#views[@]} -lt 2 ]; then fail "golden: expected_VIEW.csv files missing"; fi
if [ $have_zstd = 1 ]; then
  "$py" "$reader" "$golden/golden.pit" --list-views | sort >"$work/views.txt"
  printf '%s\n' "${views[@]}" | sort >"$work/views.want"
  same "golden: the views" "$work/views.want" "$work/views.txt"
  for v in "${views[@]}"; do
    if "$py" "$reader" "$golden/golden.pit" --view "$v" --format csv >"$work/golden_$v.csv"; then
      same "golden: pitread of $v" "$golden/expected_$v.csv" "$work/golden_$v.csv"
    else
      fail "golden: pitread of $v exited $?"
    fi
  done
else
  skip "golden: pitread's CSV (no zstandard module)"
fi
if [ -n "$tool" ]; then
  mkdir "$work/committed"
  cp "$golden/golden.pit" "$work/committed/"
  # The index is derived and not committed: the documented remedy rebuilds it from the file.
  "$tool" repair "$work/committed/golden.pit" >/dev/null || fail "golden: pitstore repair (index rebuild) exited $?"
  for v in "${views[@]}"; do
    if "$tool" dump "$work/committed/golden.pit" "$v" --format csv >"$work/committed_$v.csv"; then
      same "golden: the tool's dump of $v" "$golden/expected_$v.csv" "$work/committed_$v.csv"
    else
      fail "golden: pitstore dump of $v exited $?"
    fi
  done
else
  fail "no pitstore binary in $build/bin"
fi

# (b) a fresh golden store.
if [ -n "$tool" ]; then
  if "$golden/make_golden.sh" "$tool" "$work/fresh" >"$work/make.out" 2>&1 &&
    "$tool" repair "$work/fresh/golden.pit" >>"$work/make.out" 2>&1; then
    pass
    if [ $have_zstd = 1 ]; then
      mapfile -t fresh_views < <("$py" "$reader" "$work/fresh/golden.pit" --list-views)
      [ ${#fresh_views[@]} -ge 2 ] && pass || fail "fresh: ${#fresh_views[@]} view(s) listed"
      for v in "${fresh_views[@]}"; do
        "$tool" dump "$work/fresh/golden.pit" "$v" --format csv >"$work/fresh_dump_$v.csv" || fail "fresh: dump $v"
        if "$py" "$reader" "$work/fresh/golden.pit" --view "$v" >"$work/fresh_read_$v.csv"; then
          same "fresh: pitread of $v against the dump" "$work/fresh_dump_$v.csv" "$work/fresh_read_$v.csv"
        else
          fail "fresh: pitread of $v exited $?"
        fi
      done
      # Only the file id, the creation and commit times (and checksums) differ from the committed file.
      for v in "${views[@]}"; do
        same "fresh: rows of $v as committed" "$golden/expected_$v.csv" "$work/fresh_dump_$v.csv"
      done
    else
      skip "fresh: pitread's CSV (no zstandard module)"
    fi
  else
    fail "make_golden.sh:"
    cat "$work/make.out"
  fi
fi

# (c) damage: a flipped byte anywhere is reported with the offset of its block.
if ! "$py" "$reader" "$golden/golden.pit" --summary >"$work/summary.txt" 2>"$work/summary.err"; then
  fail "golden: --summary exited non-zero"
  cat "$work/summary.txt" "$work/summary.err"
fi
# offset kind codec stored raw checksum ...
mapfile -t blocks < <(awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[A-Z]+$/ { print $1, $4 }' "$work/summary.txt")
[ ${#blocks[@]} -ge 20 ] && pass || fail "golden: --summary lists ${#blocks[@]} blocks"
flip() {  # flip FILE POSITION: xor the byte there with 0x5a
  "$py" - "$1" "$2" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x5A]))
EOF
}
damaged() {  # damaged WHAT BLOCK_OFFSET POSITION: pitread must fail, naming the block's offset
  cp "$golden/golden.pit" "$work/damaged.pit"
  flip "$work/damaged.pit" "$3"
  local out rc
  out=$("$py" "$reader" "$work/damaged.pit" --format csv 2>&1 >/dev/null)
  rc=$?
  if [ $rc = 1 ] && grep -q "offset $2\b" <<<"$out"; then
    pass
  else
    fail "damage ($1 at byte $3 of the block at offset $2): exit $rc, want 1 naming offset $2: $out"
  fi
}
i=0
for entry in "${blocks[@]}"; do
  read -r off stored <<<"$entry"
  damaged "payload" "$off" $((off + 24 + stored / 2))
  case $i in  # header fields too: magic, type, codec, stored_len, raw_len, checksum
    0 | 5 | 11) for field in 0 4 5 8 12 16; do damaged "header byte $field" "$off" $((off + field)); done ;;
  esac
  i=$((i + 1))
done
# The summary keeps going past a bad checksum, marks it, and exits 1.
cp "$golden/golden.pit" "$work/damaged.pit"
read -r off stored <<<"${blocks[5]}"
flip "$work/damaged.pit" $((off + 30))
if out=$("$py" "$reader" "$work/damaged.pit" --summary 2>&1); then
  fail "summary of a damaged file exited 0"
elif grep -qE "^$off +[A-Z]+ .* MISMATCH" <<<"$out"; then
  pass
else
  fail "summary of a damaged file does not mark block $off: $out"
fi

# (d) without zstandard (hidden from the reader): zstd payloads are skipped and said so.
nozstd() { "$py" -c 'import runpy, sys; sys.modules["zstandard"] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")' "$reader" "$@"; }
out=$(nozstd "$golden/golden.pit" --view user_stats 2>&1 >/dev/null)
rc=$?
if [ $rc = 4 ] && grep -q "zstandard module is not installed: skipped" <<<"$out"; then pass; else fail "no zstandard: exit $rc: $out"; fi
if nozstd "$golden/golden.pit" --summary >"$work/nozstd_summary.txt" 2>/dev/null && grep -q "not decoded (no zstandard module)" "$work/nozstd_summary.txt"; then
  pass
else
  fail "no zstandard: --summary"
fi

# (e) pages of more than 64 rows, in both time encodings of FORMAT.md 1.10: a store whose header
# says what files of 2026-12-06 said (required bits 3: restarts, int64 key differences) writes
# DELTA_RESTARTS, read from the page's start by pitread and checked against the offsets the
# chunk ends with; its copy, a file of this build (bits 6), FRAMES.
if [ -n "$tool" ] && [ $have_zstd = 1 ]; then
  big=$work/restarts
  mkdir "$big"
  "$tool" init "$big/r.pit" >/dev/null && "$tool" apply "$big/r.pit" "$golden/golden.yaml" >/dev/null ||
    fail "restarts: init/apply"
  # The HEADER block's required bits (file offset 36) set to 3, its checksum (offset 16) renewed.
  "$py" - "$reader" "$big/r.pit" <<'EOF' || fail "restarts: header bits"
import importlib.util, struct, sys
spec = importlib.util.spec_from_file_location("pitread", sys.argv[1])
pitread = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pitread)
with open(sys.argv[2], "r+b") as f:
    data = bytearray(f.read())
    stored = struct.unpack_from("<I", data, 8)[0]
    struct.pack_into("<Q", data, 36, 3)
    struct.pack_into("<Q", data, 16, pitread.xxh3_64(bytes(data[0:16]) + bytes(data[24:24 + stored]), 0))
    f.seek(0)
    f.write(data)
EOF
  "$tool" info "$big/r.pit" | grep -q '^layout: segment time chunks with restart points, int64 keys as differences (required features 3): ' &&
    pass || fail "restarts: info of a file with required bits 3"
  "$py" - "$big/users.csv" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("user_id,event_ts,created_ts,sessions,avg_session_s,country,active,token,last_login,embedding,score\n")
    for i in range(700):  # 53 keys of 13 or 14 rows; event times near and far apart
        key, t = i % 53, (1735689600 + i * 7919 * (1 + i % 3)) * 1000000 + i  # microseconds
        f.write("%d,%d,%d,%d,%s,c%d,%s,0x%02x,%d,\"[%d, 0.5, 1]\",%s\n" % (
            key, t, t + i % 5, i * 37 - 900, "" if i % 9 == 0 else i / 7, i % 4, "true" if i % 2 else "false",
            i % 256, t - 86400000000, i, i / 3))
EOF
  "$tool" ingest "$big/r.pit" user_stats "$big/users.csv" --progress never >/dev/null || fail "restarts: ingest"
  "$tool" compact "$big/r.pit" >/dev/null || fail "restarts: compact"
  "$tool" copy "$big/r.pit" "$big/r100.pit" --page-rows 100 >/dev/null || fail "restarts: copy --page-rows 100"
  for s in r r100; do
    "$tool" dump "$big/$s.pit" user_stats --format csv >"$big/$s.dump.csv" || fail "restarts: dump $s"
    if "$py" "$reader" "$big/$s.pit" --view user_stats >"$big/$s.read.csv"; then
      same "restarts: pitread of $s against the dump" "$big/$s.dump.csv" "$big/$s.read.csv"
    else
      fail "restarts: pitread of $s exited $?"
    fi
  done
  [ "$(wc -l <"$big/r.dump.csv")" = 701 ] && pass || fail "restarts: $(wc -l <"$big/r.dump.csv") lines dumped"
  # Their int64 keys are KEY_INT64_RUNS (encoding 6), and their times DELTA_RESTARTS (5) in r.pit
  # and FRAMES (7) in its copy, which the reader above read.
  for expect in "r 5 6" "r100 6 7"; do
    read -r name times keys <<<"$expect"
    if "$py" - "$reader" "$big/$name.pit" "$times" "$keys" <<'EOF'; then pass; else fail "restarts: $name.pit's chunks are not encodings $times and $keys"; fi
import importlib.util, struct, sys
spec = importlib.util.spec_from_file_location("pitread", sys.argv[1])
pitread = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pitread)
data = open(sys.argv[2], "rb").read()
encodings, at = set(), 0
while at < len(data):
    kind, stored = data[at + 4], struct.unpack_from("<I", data, at + 8)[0]
    if kind == 4:  # SEGMENT: the first chunk of each page holds its keys
        payload = data[at + 24:at + 24 + stored]
        lay = pitread.segment_layout(payload, at + 24, "segment at %d" % at)
        per_page = 4 + lay["features"]
        for p in range(lay["pages"]):
            encodings.update(payload[lay["chunks"][p * per_page + k][0] + 1] for k in range(4))
    at += 24 + stored
sys.exit(0 if encodings == {int(sys.argv[3]), int(sys.argv[4])} else 1)
EOF
  done
else
  skip "restarts: pitread's CSV (no zstandard module or no tool)"
fi

echo "$passed passed, $failures failed, $skipped skipped"
[ "$failures" = 0 ] || exit 1
[ "$skipped" = 0 ] || exit 77
exit 0
