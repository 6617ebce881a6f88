// Writing an output file whole or not at all (libpitstore_io).
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "pitstore/status.h"

namespace pitstore::io {

// Runs write(file) on PATH.tmp and renames it to PATH when all went well, else removes it: a
// failed write leaves no partial file (and no PATH.tmp). PATH "-" writes to standard output.
Status WriteFileAtomically(const std::string& path, const std::function<Status(FILE*)>& write);

}  // namespace pitstore::io
