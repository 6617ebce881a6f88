// What the CSV and JSON Lines sources share: the stream, the file's name for messages, and the
// binding of column names to slots.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "byte_stream.h"
#include "pitstore/io/record_source.h"
#include "pitstore/io/suggest.h"

namespace pitstore::io {

class SourceBase : public RecordSource {
 public:
  SourceBase(std::unique_ptr<ByteStream> in, std::string name) : in_(std::move(in)), name_(std::move(name)) {}

  uint64_t bytes_read() const override { return in_->offset(); }
  std::string Where(uint64_t line, uint64_t column) const override {
    return name_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  }

 protected:
  void SetSlots(const std::vector<std::string>& names, bool ignore_extra) {
    for (size_t i = 0; i < names.size(); ++i) slot_of_[names[i]] = static_cast<int>(i);
    names_ = names;
    ignore_extra_ = ignore_extra;
  }
  // The slot of column `name`, -1 for an ignored extra column, or an error naming it.
  Result<int> SlotOf(const std::string& name, uint64_t line, uint64_t column) const {
    auto it = slot_of_.find(name);
    if (it != slot_of_.end()) return it->second;
    if (ignore_extra_) return -1;
    return Status::InvalidArgument(Where(line, column) + UnknownColumn(name, names_));
  }
  Status ReadError() const {
    return Status::IOError(name_ + ": read failed at byte " + std::to_string(in_->offset()) + ": " + in_->error());
  }

  std::unique_ptr<ByteStream> in_;
  std::string name_;
  std::vector<std::string> names_;

 private:
  std::map<std::string, int> slot_of_;
  bool ignore_extra_ = false;
};

std::unique_ptr<RecordSource> NewCsvSource(std::unique_ptr<ByteStream> in, std::string name);
std::unique_ptr<RecordSource> NewJsonLinesSource(std::unique_ptr<ByteStream> in, std::string name);
Result<std::unique_ptr<RecordSource>> OpenParquetSource(const std::string& path);

}  // namespace pitstore::io
