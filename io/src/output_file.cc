#include "pitstore/io/output_file.h"

#include <cerrno>
#include <cstring>

namespace pitstore::io {

Status WriteFileAtomically(const std::string& path, const std::function<Status(FILE*)>& write) {
  if (path == "-") return write(stdout);
  std::string tmp = path + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (!out) return Status::IOError(tmp + ": cannot create: " + std::strerror(errno));
  Status st = write(out);
  if (std::fclose(out) != 0 && st.ok()) st = Status::IOError(tmp + ": write failed");
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0)
    st = Status::IOError(path + ": cannot rename into place: " + std::strerror(errno));
  if (!st.ok()) std::remove(tmp.c_str());
  return st;
}

}  // namespace pitstore::io
