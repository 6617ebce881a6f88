#!/bin/bash
# Writes the pitstore(1) man page to OUT from the built tool's own --help texts (every
# subcommand's options and examples), so the page never disagrees with the program.
#   tools/make_man.sh PITSTORE_BINARY OUT
set -euo pipefail
bin=$1 out=$2
roff() {  # plain text as roff: the program named as installed, backslashes escaped, lines
  # starting with . or ' protected
  sed -e 's|^Usage: [^ ]*pitstore|Usage: pitstore|' -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
}
{
  version=$("$bin" --version | awk '{print $2}')
  echo ".TH PITSTORE 1 \"\" \"pitstore $version\" \"User Commands\""
  echo ".SH NAME"
  echo "pitstore \\- inspect, query and maintain a pitstore feature store (NAME.pit)"
  echo ".SH SYNOPSIS"
  echo ".B pitstore"
  echo ".I command"
  echo "[\\fIoptions\\fR]"
  echo ".SH DESCRIPTION"
  echo "pitstore is an embedded, single-file, bitemporal feature store: one data file (NAME.pit, the"
  echo "truth) with a rebuildable LMDB index beside it. Latest values for serving, as-of reads,"
  echo "point-in-time joins for training sets, and the tools to inspect, verify and repair a store."
  echo ".PP"
  echo ".nf"
  "$bin" --help | roff
  echo ".fi"
  echo ".SH COMMANDS"
  for cmd in $("$bin" --help | awk '/^Subcommands:/ {on = 1; next} on && !NF {exit} on {print $1}'); do
    echo ".SS $cmd"
    echo ".nf"
    "$bin" "$cmd" --help | roff
    echo ".fi"
  done
  echo ".SH EXIT STATUS"
  echo "0 ok, 1 error, 2 usage, 3 corruption found."
  echo ".SH SEE ALSO"
  echo "The README (semantics, definitions, ingestion, joins, serving), format/FORMAT.md (the data"
  echo "file, byte by byte), and the library's headers (pitstore.h, pitstore/store.h)."
} >"$out.tmp"
mv "$out.tmp" "$out"
