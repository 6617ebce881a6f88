// Status and Result<T>: how every public pitstore call reports success or failure.
//
// Errors are values; no exception crosses the public API. A Status is either OK or carries a
// code and a message that names where the problem is (file, offset, row, column). Corruption
// (stored bytes failed a checksum or do not decode) is kept apart from IOError (the operating
// system refused a read or write) so callers can tell "the disk said no" from "the data is bad".
//
// Thread safety: Status and Result are plain values; distinct objects may be used concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "pitstore/export.h"

namespace pitstore {

class [[nodiscard]] PITSTORE_EXPORT Status {
 public:
  enum class Code : uint8_t {
    kOk = 0,
    kNotFound = 1,         // a named view, entity or file does not exist
    kCorruption = 2,       // stored bytes failed a checksum or did not decode
    kIOError = 3,          // the operating system failed a file or LMDB operation
    kInvalidArgument = 4,  // the caller passed something malformed (bad row, wrong type, ...)
    kNotSupported = 5,     // a file needs a format feature this build does not know
    kBusy = 6,             // another writer holds the store, or snapshots are still open
    kAlreadyExists = 7,    // a definition with that name exists and differs
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotSupported(std::string msg) { return Status(Code::kNotSupported, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status AlreadyExists(std::string msg) { return Status(Code::kAlreadyExists, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  const std::string& message() const { return message_; }
  // The same code with another message (to add context: where, what was done before).
  Status WithMessage(std::string msg) const { return Status(code_, std::move(msg)); }
  // "Corruption: <message>", or "OK".
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. Accessing value() of a failed Result is a programming error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT; must not be OK

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace pitstore

// Internal helpers for propagating errors; kept in the public header so tools can use them.
#define PITSTORE_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::pitstore::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

#define PITSTORE_CONCAT_INNER(a, b) a##b
#define PITSTORE_CONCAT(a, b) PITSTORE_CONCAT_INNER(a, b)
#define PITSTORE_ASSIGN_OR_RETURN(lhs, expr)                                                    \
  auto PITSTORE_CONCAT(_res_, __LINE__) = (expr);                                               \
  if (!PITSTORE_CONCAT(_res_, __LINE__).ok()) return PITSTORE_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(PITSTORE_CONCAT(_res_, __LINE__)).value()
