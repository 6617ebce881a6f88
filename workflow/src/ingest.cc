#include "pitstore/workflow/ingest.h"

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <limits>
#include <mutex>
#include <thread>

#include "ingest_driver.h"
#include "pitstore/column.h"
#include "pitstore/io/text.h"
#include "pitstore/io/timestamps.h"

namespace pitstore::workflow {

using namespace ::pitstore::io;  // sources, text forms, timestamps, the Parquet writer

static bool EpochToMicros(int64_t v, EpochUnit unit, Timestamp* out) { return EpochToMicrosWhy(v, unit, out).empty(); }

bool ParseTimestampField(const std::string& text, bool integer_only, EpochUnit unit, Timestamp* out) {
  const char *b = text.data(), *e = b + text.size();
  int64_t v;
  auto [end, ec] = std::from_chars(b, e, v);
  if (ec == std::errc() && end == e) return EpochToMicros(v, unit, out);
  if (integer_only || ec == std::errc::result_out_of_range) return false;
  if (text.find_first_of("-:") == std::string::npos) return false;
  return ParseTimestamp(text, out);
}

std::string ShownField(const Field& f) {
  if (f.typed == Field::kIntValue) {
    if (f.kind == Field::kBool) return f.int_value ? "true" : "false";
    if (f.kind == Field::kTimestamp) return "the timestamp " + FormatTimestamp(f.int_value);
    return std::to_string(f.int_value);
  }
  if (f.typed == Field::kDoubleValue) {
    std::string t;
    AppendFloat(f.double_value, &t);
    return t;
  }
  std::string t = f.text.size() > 40 ? f.text.substr(0, 40) + "..." : f.text;
  return f.kind == Field::kString ? "the string \"" + t + "\"" : "'" + t + "'";
}

Result<KeyPart> KeyPartFromField(const Field& f, KeyType type, const std::string& name) {
  if (f.kind == Field::kMissing || f.kind == Field::kNull)
    return Status::InvalidArgument("join key '" + name + "' is missing or null");
  if (type == KeyType::kString) {
    if (f.kind != Field::kText && f.kind != Field::kString)
      return Status::InvalidArgument("join key '" + name + "' must be a string");
    return KeyPart(f.text);
  }
  if (f.kind == Field::kNumber && f.typed == Field::kIntValue) return KeyPart(f.int_value);
  int64_t v;
  auto [end, ec] = std::from_chars(f.text.data(), f.text.data() + f.text.size(), v);
  if ((f.kind != Field::kText && f.kind != Field::kNumber) || ec != std::errc() ||
      end != f.text.data() + f.text.size() || f.text.empty())
    return Status::InvalidArgument("join key '" + name + "' must be an int64, got " + ShownField(f));
  return KeyPart(v);
}

Result<Timestamp> TimestampFromField(const Field& f, EpochUnit unit, const std::string& what,
                                     const std::string& naive_suffix) {
  Timestamp t;
  if (f.kind == Field::kTimestamp && f.typed == Field::kIntValue) return f.int_value;
  if (f.kind == Field::kTimestamp && ParseTimestampField(f.text, true, EpochUnit::kMicros, &t)) return t;
  // An integer (JSON number, or text of digits): a count of `unit`.
  int64_t count = 0;
  bool integer = false;
  if (f.kind == Field::kNumber && f.typed == Field::kIntValue) {
    count = f.int_value;
    integer = true;
  } else if ((f.kind == Field::kText || f.kind == Field::kString || f.kind == Field::kNumber) &&
             f.typed == Field::kNoValue) {
    auto [end, ec] = std::from_chars(f.text.data(), f.text.data() + f.text.size(), count);
    integer = ec == std::errc() && end == f.text.data() + f.text.size() && !f.text.empty();
  }
  if (integer) {
    std::string why = EpochToMicrosWhy(count, unit, &t);
    if (!why.empty()) return Status::InvalidArgument(what + ": " + ShownField(f) + ": " + why);
    return t;
  }
  bool ok = (f.kind == Field::kText || f.kind == Field::kString) && f.text.find_first_of("-:") != std::string::npos &&
            ParseTimestamp(f.text, &t);
  if (!ok && !naive_suffix.empty() && (f.kind == Field::kText || f.kind == Field::kString) &&
      ParseTimestampWhy(f.text, &t).rfind("an offset (Z or +hh:mm) is required", 0) == 0)
    ok = ParseTimestamp(f.text + naive_suffix, &t);
  if (!ok) {
    std::string why;
    if (f.text.find_first_of("-:") != std::string::npos) why = ": " + ParseTimestampWhy(f.text, &t);
    return Status::InvalidArgument(what + ": " + ShownField(f) +
                                   " is not a timestamp (RFC 3339 with an offset, or an integer epoch)" +
                                   (why == ": " ? "" : why));
  }
  return t;
}

namespace {

class Converter {
 public:
  Converter(RecordSource& source, std::vector<Slot> slots, EpochUnit unit, std::string naive_suffix)
      : source_(source), slots_(std::move(slots)), unit_(unit), naive_suffix_(std::move(naive_suffix)) {
    for (const Slot& s : slots_) {
      if (s.role == SlotRole::kFeature) feature_slots_.push_back(&s);
      if (s.role == SlotRole::kKey) key_types_.push_back(s.key_type);
    }
    Reset();
  }

  void Reset() {
    keys_.clear();
    for (KeyType t : key_types_)
      keys_.push_back(Column::Of(t == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString));
    event_ts_.clear();
    system_ts_.clear();
    lines_.clear();
    columns_.clear();
    for (const Slot* s : feature_slots_) columns_.emplace_back(s->name, Column::Of(s->type, s->dim));
  }
  size_t rows() const { return event_ts_.size(); }
  const std::vector<uint64_t>& lines() const { return lines_; }

  // Converts one record and appends it; an error names the field. On error the batch holds a
  // partial row: the caller discards the batch.
  Status Add(std::vector<Field>& fields, uint64_t line) {
    Timestamp event_ts = 0, system_ts = kCommitTime;
    size_t feature = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      const Slot& s = slots_[i];
      Field& f = fields[i];
      bool null = f.kind == Field::kMissing || f.kind == Field::kNull;
      switch (s.role) {
        case SlotRole::kKey: {
          Result<KeyPart> part = KeyPartFromField(f, s.key_type, s.name);
          if (!part.ok()) return Error(f, line, part.status().message());
          Column& c = keys_[s.index];
          if (auto* v = std::get_if<int64_t>(&*part))
            c.ints.push_back(*v);
          else
            c.strings.push_back(std::move(std::get<std::string>(*part)));
          break;
        }
        case SlotRole::kEventTs:
          if (null) return Error(f, line, "event timestamp '" + s.name + "' is missing or null");
          PITSTORE_RETURN_IF_ERROR(Time(f, line, s.name, &event_ts));
          if (event_ts == kMinTimestamp || event_ts == kMaxTimestamp) return Error(f, line, "timestamp out of range");
          break;
        case SlotRole::kCreatedTs:
          if (!null) {
            PITSTORE_RETURN_IF_ERROR(Time(f, line, s.name, &system_ts));
            if (system_ts == kMinTimestamp || system_ts == kMaxTimestamp)
              return Error(f, line, "timestamp out of range");
          }
          break;
        case SlotRole::kFeature:
          PITSTORE_RETURN_IF_ERROR(AddValue(s, f, line, null, &columns_[feature++].second));
          break;
      }
    }
    event_ts_.push_back(event_ts);
    system_ts_.push_back(system_ts);
    lines_.push_back(line);
    return Status::OK();
  }

  WriteBatch TakeBatch() {
    WriteBatch batch;
    batch.SetColumns(std::move(keys_), std::move(event_ts_), std::move(system_ts_), std::move(columns_));
    Reset();
    return batch;
  }

 private:
  Status Error(const Field& f, uint64_t line, const std::string& what) const {
    uint64_t l = f.line ? f.line : line, c = f.line ? f.column : 1;
    return Status::InvalidArgument(source_.Where(l, c) + what);
  }
  static bool ParseInt(const std::string& s, int64_t* v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  }
  static bool ParseDouble(const std::string& s, double* v) {
    const char* b = s.data();
    if (!s.empty() && s[0] == '+') ++b;
    auto [end, ec] = std::from_chars(b, s.data() + s.size(), *v);
    return ec == std::errc() && end == s.data() + s.size() && b != s.data() + s.size();
  }

  Status Time(const Field& f, uint64_t line, const std::string& name, Timestamp* out) const {
    Result<Timestamp> t = TimestampFromField(f, unit_, "'" + name + "'", naive_suffix_);
    if (!t.ok()) return Error(f, line, t.status().message());
    *out = *t;
    return Status::OK();
  }

  Status AddValue(const Slot& s, Field& f, uint64_t line, bool null, Column* col) {
    col->valid.push_back(null ? 0 : 1);
    auto wrong = [&](const std::string& want) {
      return Error(
          f, line,
          "feature '" + s.name + "' (" + FeatureTypeName(s.type) + "): expected " + want + ", got " + ShownField(f));
    };
    auto kind_ok = [&](Field::Kind json_kind) { return f.kind == Field::kText || f.kind == json_kind; };
    switch (s.type) {
      case FeatureType::kBool: {
        int64_t v = 0;
        if (!null && f.kind == Field::kBool && f.typed == Field::kIntValue) {
          v = f.int_value ? 1 : 0;
        } else if (!null) {
          if (!kind_ok(Field::kBool)) return wrong("true or false");
          const std::string& t = f.text;
          if (t == "true" || t == "True" || t == "TRUE" || t == "1")
            v = 1;
          else if (!(t == "false" || t == "False" || t == "FALSE" || t == "0"))
            return wrong("true or false");
        }
        col->ints.push_back(v);
        return Status::OK();
      }
      case FeatureType::kInt32:
      case FeatureType::kInt64: {
        int64_t v = 0;
        if (!null) {
          if (f.kind == Field::kNumber && f.typed == Field::kIntValue)
            v = f.int_value;
          else if (f.typed == Field::kDoubleValue || !kind_ok(Field::kNumber) || !ParseInt(f.text, &v))
            return wrong("an integer");
          if (s.type == FeatureType::kInt32 && (v < INT32_MIN || v > INT32_MAX)) return wrong("an int32");
        }
        col->ints.push_back(v);
        return Status::OK();
      }
      case FeatureType::kTimestamp: {
        Timestamp v = 0;
        if (!null) PITSTORE_RETURN_IF_ERROR(Time(f, line, s.name, &v));
        col->ints.push_back(v);
        return Status::OK();
      }
      case FeatureType::kFloat32:
      case FeatureType::kFloat64: {
        double v = 0;
        if (!null && f.kind == Field::kNumber && f.typed == Field::kDoubleValue)
          v = f.double_value;
        else if (!null && f.kind == Field::kNumber && f.typed == Field::kIntValue)
          v = static_cast<double>(f.int_value);
        else if (!null && f.kind == Field::kString && NonFinite(f.text, &v))
          ;  // JSON has no NaN or infinity: the tools write them as these strings
        else if (!null && (!kind_ok(Field::kNumber) || !ParseDouble(f.text, &v)))
          return wrong("a number");
        if (s.type == FeatureType::kFloat32) v = static_cast<float>(v);
        col->doubles.push_back(v);
        return Status::OK();
      }
      case FeatureType::kString:
        if (!null && !kind_ok(Field::kString)) return wrong("a string");
        col->strings.push_back(null ? std::string() : std::move(f.text));
        return Status::OK();
      case FeatureType::kBytes: {
        std::string bytes;
        if (!null && (!kind_ok(Field::kString) || !ParseHex(f.text, &bytes))) return wrong("hex bytes like 0x0a0b");
        col->strings.push_back(std::move(bytes));
        return Status::OK();
      }
      case FeatureType::kFloat32Vector: {
        size_t before = col->floats.size();
        if (null) {
          col->floats.resize(before + s.dim, 0.0f);
          return Status::OK();
        }
        if (!kind_ok(Field::kArray) || !ParseVector(f.text, &col->floats))
          return wrong("a list of numbers like [1, 2.5]");
        size_t got = col->floats.size() - before;
        if (got != s.dim) return wrong(std::to_string(s.dim) + " numbers (got " + std::to_string(got) + ")");
        return Status::OK();
      }
    }
    return wrong("a known type");
  }

  // "nan", "inf", "-inf" (as pitstore writes them), or "NaN", "Infinity", "-Infinity".
  static bool NonFinite(const std::string& s, double* v) {
    if (s == "nan" || s == "NaN")
      *v = std::numeric_limits<double>::quiet_NaN();
    else if (s == "inf" || s == "Infinity" || s == "+inf")
      *v = std::numeric_limits<double>::infinity();
    else if (s == "-inf" || s == "-Infinity")
      *v = -std::numeric_limits<double>::infinity();
    else
      return false;
    return true;
  }

  static bool ParseHex(const std::string& s, std::string* out) {
    size_t i = s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 2 : 0;
    if ((s.size() - i) % 2) return false;
    auto nibble = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    for (; i < s.size(); i += 2) {
      int hi = nibble(s[i]), lo = nibble(s[i + 1]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
    }
    return true;
  }

  static bool ParseVector(const std::string& s, std::vector<float>* out) {
    size_t i = 0, n = s.size();
    auto space = [&] {
      while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
    };
    space();
    if (i == n || s[i] != '[') return false;
    ++i;
    space();
    if (i < n && s[i] == ']') return ++i, space(), i == n;
    for (;;) {
      space();
      size_t start = i;
      while (i < n && s[i] != ',' && s[i] != ']' && s[i] != ' ' && s[i] != '\t') ++i;
      double v;
      std::string token = s.substr(start, i - start);
      const bool quoted = token.size() >= 2 && token.front() == '"' && token.back() == '"';
      if (quoted ? !NonFinite(token.substr(1, token.size() - 2), &v) : !ParseDouble(token, &v)) return false;
      out->push_back(static_cast<float>(v));
      space();
      if (i < n && s[i] == ',') {
        ++i;
        continue;
      }
      if (i < n && s[i] == ']') {
        ++i;
        space();
        return i == n;
      }
      return false;
    }
  }

  RecordSource& source_;
  std::vector<Slot> slots_;
  std::vector<const Slot*> feature_slots_;
  EpochUnit unit_;
  std::string naive_suffix_;  // for text times without an offset; empty: refused
  std::vector<KeyType> key_types_;
  std::vector<Column> keys_;  // one per join key
  std::vector<Timestamp> event_ts_, system_ts_;
  std::vector<uint64_t> lines_;
  std::vector<std::pair<std::string, Column>> columns_;
};

}  // namespace

Status Ingest(Store& store, const std::string& view_name, RecordSource& source, const IngestOptions& options,
              IngestReport* report) {
  *report = {};
  if (options.batch_rows == 0) return Status::InvalidArgument("batch size must be at least 1");
  PITSTORE_ASSIGN_OR_RETURN(ViewSlots view_slots, SlotsOf(store, view_name, options));
  std::string naive_suffix;
  if (!options.timezone.empty()) PITSTORE_RETURN_IF_ERROR(ReadNaiveTimesIn(options.timezone, source, &naive_suffix));
  const std::vector<Slot>& slots = view_slots.slots;
  const std::vector<std::string>& names = view_slots.names;
  const std::vector<std::string>& required = view_slots.required;
  source.PreferTypedValues();
  // A bad first JSON record is reported where it is read, with the ingest's counts.
  Result<std::vector<std::string>> input_columns = source.ColumnNames();
  PITSTORE_RETURN_IF_ERROR(source.Bind(names, required, options.ignore_extra_columns));
  if (input_columns.ok() && !input_columns->empty()) ReportColumns(*input_columns, view_slots, report);

  return RunIngest(
      store, view_name, options, report,
      [&](const HandOver& hand_over, std::atomic<uint64_t>& records_read, std::atomic<uint64_t>& bytes_read) -> Status {
        Converter conv(source, slots, options.epoch_unit, naive_suffix);
        std::vector<Field> fields;
        uint64_t line = 0, read = 0;
        auto take = [&] {
          ParsedBatch p;
          p.rows = conv.rows();
          p.positions = conv.lines();
          if (options.dry_run)
            conv.Reset();
          else
            p.batch = conv.TakeBatch();
          return p;
        };
        Status st;
        for (;;) {
          Result<bool> more = source.Next(&fields, &line);
          if (!more.ok()) {
            st = more.status();
            break;
          }
          if (!*more) break;
          records_read.store(++read, std::memory_order_relaxed);
          if ((read & 0x3FF) == 0) bytes_read.store(source.bytes_read(), std::memory_order_relaxed);
          if (read <= options.skip_records) continue;
          st = conv.Add(fields, line);
          if (!st.ok()) break;
          if (conv.rows() >= options.batch_rows && !hand_over(take())) return Status::OK();
        }
        // The records before a bad one in its batch are not handed over: the batch commits nothing.
        if (st.ok() && conv.rows() > 0 && !hand_over(take())) return Status::OK();
        bytes_read.store(source.bytes_read());
        return st;
      },
      [&](uint64_t line) { return source.Where(line, 1); });
}

}  // namespace pitstore::workflow
