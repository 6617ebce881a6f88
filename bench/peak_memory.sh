#!/bin/bash
# Runs a command and reports its peak memory: resident in all (VmHWM, what /usr/bin/time -v calls
# its maximum resident set: it counts the pages of memory-mapped files read, such as the LMDB
# index) and anonymous (RssAnon, the process's own memory, beyond the page cache), sampled every
# 20 ms.
#   bench/peak_memory.sh COMMAND [ARGS...]
set -u
"$@" &
pid=$!
peak_anon=0 peak_rss=0
while kill -0 "$pid" 2>/dev/null; do
  if status=$(cat "/proc/$pid/status" 2>/dev/null); then
    anon=$(awk '/^RssAnon:/ {print $2}' <<<"$status")
    hwm=$(awk '/^VmHWM:/ {print $2}' <<<"$status")
    [ -n "$anon" ] && [ "$anon" -gt "$peak_anon" ] && peak_anon=$anon
    [ -n "$hwm" ] && [ "$hwm" -gt "$peak_rss" ] && peak_rss=$hwm
  fi
  sleep 0.02
done
wait "$pid"
rc=$?
echo "peak memory: anonymous $((peak_anon / 1024)) MiB, resident $((peak_rss / 1024)) MiB (exit $rc)" >&2
exit $rc
