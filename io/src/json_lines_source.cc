// JSON Lines as a RecordSource: one flat JSON object per line (RFC 8259 values). Members are
// scalars, or arrays for vectors; a nested object is refused unless its column is ignored.
#include <algorithm>
#include <set>

#include "record_source_internal.h"

namespace pitstore::io {
namespace {

constexpr size_t kMaxLineBytes = 64 << 20;
constexpr int kMaxDepth = 64;  // nesting allowed inside an ignored member

class JsonLinesSource : public SourceBase {
 public:
  using SourceBase::SourceBase;

  Status Bind(const std::vector<std::string>& names, const std::vector<std::string>&, bool ignore_extra) override {
    SetSlots(names, ignore_extra);
    return Status::OK();
  }

  Result<std::vector<std::string>> ColumnNames() override {
    std::vector<std::string> names;
    if (!pending_) {
      PITSTORE_ASSIGN_OR_RETURN(bool any, ReadLine());
      if (!any) return names;
      pending_ = true;
    }
    // Member names only; values are checked when the record is read.
    pos_ = 0;
    SkipSpace();
    if (!Eat('{')) return Fail("expected a JSON object ('{')");
    SkipSpace();
    if (Eat('}')) return names;
    for (;;) {
      SkipSpace();
      std::string name;
      if (Peek() != '"') return Fail("expected a member name in double quotes");
      PITSTORE_RETURN_IF_ERROR(ParseString(&name));
      SkipSpace();
      if (!Eat(':')) return Fail("expected ':' after a member name");
      SkipSpace();
      Field value;
      PITSTORE_RETURN_IF_ERROR(ParseValue(&value, true, 0));
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      SkipSpace();
      if (Eat(',')) continue;
      if (Eat('}')) return names;
      return Fail("expected ',' or '}'");
    }
  }

  Result<bool> Next(std::vector<Field>* fields, uint64_t* line) override {
    if (pending_) {
      pending_ = false;
    } else {
      PITSTORE_ASSIGN_OR_RETURN(bool any, ReadLine());
      if (!any) return false;
    }
    *line = line_no_;
    fields->assign(names_.size(), Field{});
    pos_ = 0;
    SkipSpace();
    if (!Eat('{')) return Fail("expected a JSON object ('{')");
    SkipSpace();
    std::set<int> seen;
    if (!Eat('}')) {
      for (;;) {
        SkipSpace();
        size_t name_at = pos_;
        std::string name;
        if (Peek() != '"') return Fail("expected a member name in double quotes");
        PITSTORE_RETURN_IF_ERROR(ParseString(&name));
        SkipSpace();
        if (!Eat(':')) return Fail("expected ':' after a member name");
        SkipSpace();
        PITSTORE_ASSIGN_OR_RETURN(int slot, SlotOf(name, line_no_, name_at + 1));
        if (slot >= 0 && !seen.insert(slot).second)
          return Status::InvalidArgument(Where(line_no_, name_at + 1) + "member '" + name + "' appears twice");
        Field scratch;
        Field& f = slot >= 0 ? (*fields)[slot] : scratch;
        f.line = line_no_;
        f.column = pos_ + 1;
        PITSTORE_RETURN_IF_ERROR(ParseValue(&f, slot < 0, 0));
        SkipSpace();
        if (Eat(',')) continue;
        if (Eat('}')) break;
        return Fail("expected ',' or '}'");
      }
    }
    SkipSpace();
    if (pos_ != line_.size()) return Fail("unexpected text after the object (one object per line)");
    return true;
  }

 private:
  // The next non-blank line into line_; false at the end of the input.
  Result<bool> ReadLine() {
    for (;;) {
      line_.clear();
      line_no_ = in_->line();
      int c;
      while ((c = in_->Get()) >= 0 && c != '\n') {
        if (line_.size() == kMaxLineBytes)
          return Status::InvalidArgument(Where(line_no_, 1) + "line longer than 64 MiB");
        line_.push_back(static_cast<char>(c));
      }
      if (c < 0 && !in_->error().empty()) return ReadError();
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (line_.find_first_not_of(" \t") != std::string::npos) return true;
      if (c < 0) return false;
    }
  }

  int Peek() const { return pos_ < line_.size() ? static_cast<unsigned char>(line_[pos_]) : -1; }
  bool Eat(char c) {
    if (Peek() != static_cast<unsigned char>(c)) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (pos_ < line_.size() && (line_[pos_] == ' ' || line_[pos_] == '\t')) ++pos_;
  }
  Status Fail(const std::string& what) const { return Status::InvalidArgument(Where(line_no_, pos_ + 1) + what); }

  // A value into `f`. Arrays keep their text; nested objects only inside ignored members.
  Status ParseValue(Field* f, bool ignored, int depth) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    int c = Peek();
    size_t start = pos_;
    if (c == '"') {
      f->kind = Field::kString;
      return ParseString(&f->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      PITSTORE_RETURN_IF_ERROR(ParseNumber());
      f->kind = Field::kNumber;
      f->text.assign(line_, start, pos_ - start);
      return Status::OK();
    }
    if (line_.compare(pos_, 4, "true") == 0 || line_.compare(pos_, 5, "false") == 0) {
      f->kind = Field::kBool;
      f->text = c == 't' ? "true" : "false";
      pos_ += c == 't' ? 4 : 5;
      return Status::OK();
    }
    if (line_.compare(pos_, 4, "null") == 0) {
      f->kind = Field::kNull;
      pos_ += 4;
      return Status::OK();
    }
    if (c == '[' || (c == '{' && ignored)) {
      char close = c == '[' ? ']' : '}';
      ++pos_;
      SkipSpace();
      if (!Eat(close)) {
        for (;;) {
          SkipSpace();
          if (close == '}') {
            std::string name;
            if (Peek() != '"') return Fail("expected a member name in double quotes");
            PITSTORE_RETURN_IF_ERROR(ParseString(&name));
            SkipSpace();
            if (!Eat(':')) return Fail("expected ':' after a member name");
            SkipSpace();
          }
          Field element;
          PITSTORE_RETURN_IF_ERROR(ParseValue(&element, ignored, depth + 1));
          SkipSpace();
          if (Eat(',')) continue;
          if (Eat(close)) break;
          return Fail(std::string("expected ',' or '") + close + "'");
        }
      }
      f->kind = Field::kArray;
      f->text.assign(line_, start, pos_ - start);
      return Status::OK();
    }
    if (c == '{') return Fail("nested objects are not supported (--ignore-extra-columns skips unknown members)");
    return Fail("expected a JSON value");
  }

  Status ParseNumber() {
    auto digits = [&] {
      size_t from = pos_;
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
      return pos_ > from;
    };
    Eat('-');
    if (Peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return Fail("malformed number");
    }
    if (Eat('.') && !digits()) return Fail("malformed number");
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (!Eat('+')) Eat('-');
      if (!digits()) return Fail("malformed number");
    }
    return Status::OK();
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  Status Hex4(uint32_t* out) {
    *out = 0;
    for (int i = 0; i < 4; ++i) {
      int c = Peek();
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (v < 0) return Fail("\\u needs four hex digits");
      *out = *out * 16 + static_cast<uint32_t>(v);
      ++pos_;
    }
    return Status::OK();
  }

  Status ParseString(std::string* out) {
    out->clear();
    ++pos_;  // the opening quote
    for (;;) {
      int c = Peek();
      if (c < 0) return Fail("string never closed");
      ++pos_;
      if (c == '"') return Status::OK();
      if (c < 0x20) {
        --pos_;
        return Fail("control character in a string (escape it)");
      }
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      int e = Peek();
      ++pos_;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(static_cast<char>(e));
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          PITSTORE_RETURN_IF_ERROR(Hex4(&cp));
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            uint32_t low;
            if (!Eat('\\') || !Eat('u')) return Fail("unpaired surrogate in \\u escape");
            PITSTORE_RETURN_IF_ERROR(Hex4(&low));
            if (low < 0xDC00 || low > 0xDFFF) return Fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("unpaired surrogate in \\u escape");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Fail("unknown escape in a string");
      }
    }
  }

  std::string line_;
  bool pending_ = false;  // line_ holds a record ColumnNames looked at
  uint64_t line_no_ = 0;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<RecordSource> NewJsonLinesSource(std::unique_ptr<ByteStream> in, std::string name) {
  return std::make_unique<JsonLinesSource>(std::move(in), std::move(name));
}

}  // namespace pitstore::io
