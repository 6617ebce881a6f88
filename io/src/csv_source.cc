// CSV (RFC 4180) as a RecordSource; see record_source.h for the dialect.
#include <set>

#include "record_source_internal.h"

namespace pitstore::io {
namespace {

constexpr size_t kMaxFieldBytes = 64 << 20;  // bounds memory on a file that never closes a quote

// Where an unquoted field ends (or goes wrong).
constexpr auto kUnquotedStopTable = [] {
  struct Table {
    bool stop[256] = {};
  } t;
  t.stop[static_cast<unsigned char>(',')] = t.stop[static_cast<unsigned char>('\n')] = true;
  t.stop[static_cast<unsigned char>('\r')] = t.stop[static_cast<unsigned char>('"')] = true;
  return t;
}();
constexpr const bool (&kUnquotedStop)[256] = kUnquotedStopTable.stop;

class CsvSource : public SourceBase {
 public:
  using SourceBase::SourceBase;

  Result<std::vector<std::string>> ColumnNames() override {
    PITSTORE_RETURN_IF_ERROR(ReadHeader());
    std::vector<std::string> names;
    for (const RawField& f : header_) names.push_back(f.text);
    return names;
  }

  Status Bind(const std::vector<std::string>& names, const std::vector<std::string>& required,
              bool ignore_extra) override {
    SetSlots(names, ignore_extra);
    PITSTORE_RETURN_IF_ERROR(ReadHeader());
    if (header_.empty()) return Status::InvalidArgument(Where(1, 1) + "empty input: a CSV file needs a header row");
    std::set<std::string> seen;
    for (const RawField& f : header_) {
      seen.insert(f.text);
      PITSTORE_ASSIGN_OR_RETURN(int slot, SlotOf(f.text, f.line, f.column));
      slot_of_column_.push_back(slot);
    }
    for (const std::string& r : required)
      if (!seen.count(r)) return Status::InvalidArgument(Where(1, 1) + "the header has no column '" + r + "'");
    slots_ = names.size();
    return Status::OK();
  }

  Result<bool> Next(std::vector<Field>* fields, uint64_t* line) override {
    PITSTORE_ASSIGN_OR_RETURN(bool any, ReadRecord(line));
    if (!any) return false;
    if (raw_.size() != slot_of_column_.size()) {
      const RawField& at = raw_.size() > slot_of_column_.size() ? raw_[slot_of_column_.size()] : raw_.back();
      return Status::InvalidArgument(Where(at.line, at.column) + "expected " + std::to_string(slot_of_column_.size()) +
                                     " fields (as the header), found " + std::to_string(raw_.size()));
    }
    fields->assign(slots_, Field{});
    for (size_t i = 0; i < raw_.size(); ++i) {
      int slot = slot_of_column_[i];
      if (slot < 0) continue;
      Field& f = (*fields)[slot];
      RawField& r = raw_[i];
      f.kind = r.text.empty() && !r.quoted ? Field::kNull : Field::kText;
      f.text.swap(r.text);
      f.line = r.line;
      f.column = r.column;
    }
    return true;
  }

 private:
  struct RawField {
    std::string text;
    bool quoted = false;
    uint64_t line = 0, column = 0;
  };

  // Reads the header row once (an empty input has none).
  Status ReadHeader() {
    if (header_read_) return Status::OK();
    header_read_ = true;
    // A UTF-8 byte order mark (Excel writes one) is not part of the first column's name.
    if (in_->Peek() == 0xEF) {
      in_->Get();
      if (in_->Get() != 0xBB || in_->Get() != 0xBF)
        return Status::InvalidArgument(Where(1, 1) + "the file starts with a broken byte order mark");
    }
    uint64_t line;
    PITSTORE_ASSIGN_OR_RETURN(bool any, ReadRecord(&line));
    if (!any) return Status::OK();
    std::set<std::string> seen;
    for (const RawField& f : raw_)
      if (!seen.insert(f.text).second)
        return Status::InvalidArgument(Where(f.line, f.column) + "column '" + f.text + "' appears twice in the header");
    header_ = raw_;
    return Status::OK();
  }

  // Reads one record into raw_ (blank lines are skipped); false at the end of the input.
  Result<bool> ReadRecord(uint64_t* line) {
    while (in_->Peek() == '\n' || in_->Peek() == '\r') in_->Get();
    if (in_->Peek() < 0) {
      if (!in_->error().empty()) return ReadError();
      return false;
    }
    *line = in_->line();
    size_t n = 0;
    for (;;) {
      if (raw_.size() <= n) raw_.emplace_back();
      RawField& f = raw_[n++];
      f.text.clear();
      f.line = in_->line();
      f.column = in_->column();
      f.quoted = in_->Peek() == '"';
      if (f.quoted) {
        in_->Get();
        for (;;) {
          int c = in_->Get();
          if (c < 0) {
            if (!in_->error().empty()) return ReadError();
            return Status::InvalidArgument(Where(f.line, f.column) + "quoted field never closed");
          }
          if (c == '"') {
            if (in_->Peek() != '"') break;
            in_->Get();
          }
          if (f.text.size() == kMaxFieldBytes)
            return Status::InvalidArgument(Where(f.line, f.column) + "field longer than 64 MiB");
          f.text.push_back(static_cast<char>(c));
        }
        int c = in_->Peek();
        if (c != ',' && c != '\n' && c != '\r' && c >= 0)
          return Status::InvalidArgument(Where(in_->line(), in_->column()) + "unexpected '" + std::string(1, char(c)) +
                                         "' after a closing quote");
      } else {
        in_->TakeUntil(kUnquotedStop, kMaxFieldBytes, &f.text);
        if (in_->Peek() == '"')
          return Status::InvalidArgument(Where(in_->line(), in_->column()) +
                                         "a quote inside an unquoted field (quote the whole field)");
        if (f.text.size() > kMaxFieldBytes)
          return Status::InvalidArgument(Where(f.line, f.column) + "field longer than 64 MiB");
      }
      int c = in_->Get();
      if (c == ',') continue;
      if (c == '\r') {
        if (in_->Peek() != '\n')
          return Status::InvalidArgument(Where(in_->line(), in_->column()) + "carriage return without line feed");
        in_->Get();
      }
      if (c < 0 && !in_->error().empty()) return ReadError();
      break;  // end of line or of input
    }
    raw_.resize(n);
    return true;
  }

  std::vector<RawField> raw_, header_;
  bool header_read_ = false;
  std::vector<int> slot_of_column_;  // -1: ignored
  size_t slots_ = 0;
};

}  // namespace

std::unique_ptr<RecordSource> NewCsvSource(std::unique_ptr<ByteStream> in, std::string name) {
  return std::make_unique<CsvSource>(std::move(in), std::move(name));
}

}  // namespace pitstore::io
