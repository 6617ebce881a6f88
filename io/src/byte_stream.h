// ByteStream: buffered reading of a file, standard input or memory one byte at a time, with the
// line and column of the next byte (for error messages).
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace pitstore::io {

class ByteStream {
 public:
  // Takes `file` (closed on destruction unless it is stdin).
  explicit ByteStream(FILE* file) : file_(file), buffer_(1 << 20, '\0') {}
  explicit ByteStream(std::string data) : buffer_(std::move(data)), end_(buffer_.size()) {}
  ~ByteStream() {
    if (file_ && file_ != stdin) std::fclose(file_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // The next byte, or -1 at the end (or on a read error: see error()).
  int Peek() {
    if (pos_ == end_ && !Fill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_]);
  }
  int Get() {
    int c = Peek();
    if (c < 0) return c;
    ++pos_;
    ++offset_;
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    return c;
  }
  // Appends bytes to `out` up to (not including) the first byte for which stop[byte] is true,
  // or the end, or until `out` holds more than `limit` bytes. `stop` must be true for '\n'
  // (columns are counted within one line).
  void TakeUntil(const bool (&stop)[256], size_t limit, std::string* out) {
    while (out->size() <= limit) {
      if (pos_ == end_ && !Fill()) return;
      size_t from = pos_;
      while (pos_ < end_ && !stop[static_cast<unsigned char>(buffer_[pos_])]) ++pos_;
      out->append(buffer_, from, pos_ - from);
      offset_ += pos_ - from;
      column_ += pos_ - from;
      if (pos_ < end_) return;
    }
  }
  uint64_t offset() const { return offset_; }
  uint64_t line() const { return line_; }
  uint64_t column() const { return column_; }
  // Non-empty after a failed read.
  const std::string& error() const { return error_; }

 private:
  bool Fill() {
    if (!file_ || !error_.empty()) return false;
    size_t n = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    if (n == 0 && std::ferror(file_)) error_ = std::strerror(errno);
    pos_ = 0;
    end_ = n;
    return n > 0;
  }

  FILE* file_ = nullptr;
  std::string buffer_;
  size_t pos_ = 0, end_ = 0;
  uint64_t offset_ = 0, line_ = 1, column_ = 1;
  std::string error_;
};

}  // namespace pitstore::io
