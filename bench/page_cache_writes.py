#!/usr/bin/env python3
"""What a write into fresh page-cache pages costs on this machine (bench/README.md, 2026-12-07).

Writes 3.36 GB to PATH in 10 MB pwrites, each followed by fdatasync, once keeping the written
pages in the page cache and once releasing them after each sync (posix_fadvise DONTNEED, as a
pitstore commit does), alternately, with a pause before each pass so that freed memory settles.

    python3 bench/page_cache_writes.py /tmp/pagecache.bin [keep drop keep drop]
"""

import os
import sys
import time


def one_pass(path: str, mode: str, chunk: bytes, count: int) -> str:
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
    start, offset, in_pwrite = time.time(), 0, 0.0
    try:
        for _ in range(count):
            before = time.time()
            os.pwrite(fd, chunk, offset)
            in_pwrite += time.time() - before
            os.fdatasync(fd)
            if mode == "drop":
                os.posix_fadvise(fd, offset, len(chunk), os.POSIX_FADV_DONTNEED)
            offset += len(chunk)
    finally:
        os.close(fd)
        os.unlink(path)
    return f"{mode}: {offset / 1e9:.2f} GB, pwrite {in_pwrite:.2f} s, all {time.time() - start:.2f} s"


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    modes = sys.argv[2:] or ["keep", "drop", "keep", "drop"]
    chunk = os.urandom(10 << 20)
    for mode in modes:
        if mode not in ("keep", "drop"):
            sys.exit(f"unknown mode {mode!r}: keep or drop")
        time.sleep(8)
        print(one_pass(sys.argv[1], mode, chunk, 320), flush=True)


if __name__ == "__main__":
    main()
