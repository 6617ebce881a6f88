#include "pitstore/workflow/training_set.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "pitstore/io/parquet_writer.h"
#include "pitstore/io/text.h"
#include "pitstore/io/timestamps.h"
#include "pitstore/workflow/joiner.h"
#include "pitstore/workflow/on_demand.h"
#include "pitstore/workflow/sharded_joiner.h"
#include "value_text.h"

namespace pitstore::workflow {

using namespace ::pitstore::io;  // sources, text forms, timestamps, the Parquet writer
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// One label column's cells as read: text in one arena, and each cell's JSON kind.
struct TextColumn {
  std::string arena;
  std::vector<uint64_t> ends;
  std::vector<uint8_t> kinds;  // Field::Kind

  void Add(const Field& f) {
    arena += f.text;
    ends.push_back(arena.size());
    kinds.push_back(f.kind);
  }
  std::string_view Cell(size_t i) const {
    uint64_t begin = i ? ends[i - 1] : 0;
    return std::string_view(arena).substr(begin, ends[i] - begin);
  }
};

// One view's part of the join: its features, their output columns, and its result.

// A label cell as it came in, in the output's format.
void AppendLabelCell(std::string_view text, uint8_t kind, bool json, std::string* out) {
  switch (kind) {
    case Field::kMissing:
    case Field::kNull:
      if (json) *out += "null";
      return;
    case Field::kText:  // from CSV: a number stays a number in JSON
      if (json && IsJsonNumber(text))
        out->append(text);
      else if (json)
        AppendJsonString(text, out);
      else
        AppendCsvField(text, true, out);
      return;
    case Field::kString:
      if (json)
        AppendJsonString(text, out);
      else
        AppendCsvField(text, true, out);
      return;
    case Field::kTimestamp: {  // from Parquet: microseconds, written as RFC 3339
      int64_t t = 0;
      std::from_chars(text.data(), text.data() + text.size(), t);
      if (json)
        AppendJsonString(FormatTimestamp(t), out);
      else
        *out += FormatTimestamp(t);
      return;
    }
    default:  // JSON number, bool or array: its text
      if (json)
        out->append(text);
      else
        AppendCsvField(text, false, out);
  }
}

// A label column as a typed column for Parquet (see training_set.h for the rules).
Column TypedLabelColumn(const TextColumn& cells, size_t n) {
  bool all_bool = true, all_time = true, all_int = true, all_number = true, any = false;
  for (size_t i = 0; i < n; ++i) {
    uint8_t kind = cells.kinds[i];
    if (kind == Field::kNull || kind == Field::kMissing) continue;
    any = true;
    std::string_view t = cells.Cell(i);
    all_bool &= kind == Field::kBool;
    all_time &= kind == Field::kTimestamp;
    bool numeric = kind == Field::kNumber || kind == Field::kText;
    int64_t iv;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), iv);
    all_int &= numeric && ec == std::errc() && end == t.data() + t.size() && !t.empty();
    all_number &= numeric && IsJsonNumber(t);
  }
  FeatureType type = !any         ? FeatureType::kString
                     : all_bool   ? FeatureType::kBool
                     : all_time   ? FeatureType::kTimestamp
                     : all_int    ? FeatureType::kInt64
                     : all_number ? FeatureType::kFloat64
                                  : FeatureType::kString;
  Column c = Column::Of(type);
  c.valid.assign(n, 1);
  for (size_t i = 0; i < n; ++i) {
    std::string_view t = cells.Cell(i);
    bool null = cells.kinds[i] == Field::kNull || cells.kinds[i] == Field::kMissing;
    if (null) c.valid[i] = 0;
    int64_t iv = 0;
    double dv = 0;
    switch (type) {
      case FeatureType::kBool:
        c.ints.push_back(!null && t == "true");
        break;
      case FeatureType::kTimestamp:
      case FeatureType::kInt64:
        if (!null) std::from_chars(t.data(), t.data() + t.size(), iv);
        c.ints.push_back(iv);
        break;
      case FeatureType::kFloat64:
        if (!null) std::from_chars(t.data(), t.data() + t.size(), dv);
        c.doubles.push_back(dv);
        break;
      default:
        c.strings.emplace_back(null ? std::string_view() : t);
    }
  }
  return c;
}

// The training set, joined by `joiner` (a TrainingSetJoiner or a ShardedJoiner: the same calls).
template <typename Joiner>
Status BuildWith(std::unique_ptr<Joiner> joiner, RecordSource& source, const TrainingSetOptions& options, FILE* out,
                 TrainingSetReport* report, std::chrono::steady_clock::time_point phase_start) {
  const std::vector<FeatureRef>& refs = joiner->features();
  std::vector<std::string> feature_names;  // output names
  for (const FeatureRef& r : refs) feature_names.push_back(r.output_name);
  std::map<std::string, KeyType> key_columns;
  for (const JoinKeyDef& k : joiner->key_columns()) key_columns[k.name] = k.type;

  // The label file's columns; output names must be unique.
  PITSTORE_ASSIGN_OR_RETURN(std::vector<std::string> label_names, source.ColumnNames());
  std::set<std::string> taken(label_names.begin(), label_names.end());
  for (size_t k = 0; k < feature_names.size(); ++k)
    if (!taken.insert(feature_names[k]).second)
      return Status::InvalidArgument(
          "output column '" + feature_names[k] + "' (from " + refs[k].Ref() + ") would appear twice" +
          (options.request.full_feature_names ? "" : "; --full-feature-names names it view__feature"));
  std::string naive_suffix;
  if (!options.timezone.empty()) PITSTORE_RETURN_IF_ERROR(ReadNaiveTimesIn(options.timezone, source, &naive_suffix));
  PITSTORE_ASSIGN_OR_RETURN(const std::string label_time_column,
                            joiner->LabelTimeColumn(options.label_time_column, label_names));
  std::vector<std::string> required = {label_time_column};
  for (const auto& [name, type] : key_columns) required.push_back(name);
  for (const std::string& r : required)
    if (std::find(label_names.begin(), label_names.end(), r) == label_names.end())
      return Status::InvalidArgument("the labels have no column '" + r + "'" +
                                     (r == label_time_column ? " (the label time; see --label-time-column)"
                                                             : " (a join key of a requested view)"));
  for (const RequestInputDef& in : joiner->request_inputs())
    if (std::find(label_names.begin(), label_names.end(), in.name) == label_names.end())
      return Status::InvalidArgument("the labels have no column '" + in.name + "' (a request input, " +
                                     ExpressionTypeName(in.type, in.dim) + ", of a requested on-demand feature)");
  PITSTORE_RETURN_IF_ERROR(source.Bind(label_names, required, false));

  report->matched.assign(feature_names.size(), 0);
  const size_t ncols = label_names.size();
  std::map<std::string, size_t> slot_of;
  for (size_t c = 0; c < ncols; ++c) slot_of[label_names[c]] = c;
  const size_t time_slot = slot_of[label_time_column];
  const std::string time_what = "label time '" + label_time_column + "'";
  std::vector<std::pair<std::string, size_t>> key_slots;  // join key column and its slot
  for (const auto& [name, type] : key_columns) key_slots.emplace_back(name, slot_of[name]);
  std::vector<std::string> names = label_names;
  names.insert(names.end(), feature_names.begin(), feature_names.end());
  std::vector<std::string> json_names;
  for (const std::string& name : names) json_names.push_back(JsonString(name) + ":");
  const bool json = options.output == TrainingSetOptions::Output::kJsonLines;
  const bool parquet = options.output == TrainingSetOptions::Output::kParquet;
  std::unique_ptr<ParquetWriter> writer;  // created with the first chunk's label types
  std::vector<OutputColumn> schema;
  std::string buf;
  if (!json && !parquet) {
    for (size_t c = 0; c < names.size(); ++c) {
      if (c) buf.push_back(',');
      AppendCsvField(names[c], false, &buf);
    }
    buf.push_back('\n');
  }
  auto flush = [&](bool always) -> Status {
    if (buf.size() < (1 << 20) && !always) return Status::OK();
    if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size()) return Status::IOError("writing the output failed");
    buf.clear();
    return Status::OK();
  };

  std::vector<Field> fields;
  uint64_t line = 0;
  bool more = true;
  for (size_t chunk = 0; more; ++chunk) {
    // Read up to chunk_labels labels: their cells as text, their keys and times parsed.
    phase_start = std::chrono::steady_clock::now();
    std::vector<TextColumn> cells(ncols);
    std::map<std::string, Column> keys;  // by label column name
    for (const auto& [name, type] : key_columns)
      keys[name] = Column::Of(type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString);
    std::vector<Timestamp> times;
    std::vector<Column> request;  // by joiner->request_inputs()
    for (const RequestInputDef& in : joiner->request_inputs()) request.push_back(Column::Of(in.type, in.dim));
    std::vector<uint8_t> null_labels;                       // a null key or time: the row is kept, its features null
    std::map<std::string, std::vector<uint8_t>> null_keys;  // per key column, for Parquet output
    std::vector<Column*> key_cols;                          // by key_slots
    for (const auto& [name, slot] : key_slots) key_cols.push_back(&keys[name]);
    const size_t chunk_labels = LabelsPerPass(joiner->feature_defs(), options.chunk_labels);
    while (chunk_labels == 0 || times.size() < chunk_labels) {
      PITSTORE_ASSIGN_OR_RETURN(more, source.Next(&fields, &line));
      if (!more) break;
      auto where = [&](const Field& f) { return source.Where(f.line ? f.line : line, f.line ? f.column : 1); };
      uint8_t null_label = 0;
      for (size_t k = 0; k < key_slots.size(); ++k) {
        const std::string& name = key_slots[k].first;
        Column& col = *key_cols[k];
        const Field& f = fields[key_slots[k].second];
        const bool null = f.kind == Field::kNull || f.kind == Field::kMissing;
        std::vector<uint8_t>& column_nulls = null_keys[name];
        column_nulls.resize(times.size(), 0);
        column_nulls.push_back(null ? 1 : 0);
        if (null) {  // a placeholder; Join nulls the features
          null_label = 1;
          if (col.type == FeatureType::kString)
            col.strings.emplace_back();
          else
            col.ints.push_back(0);
          continue;
        }
        Result<KeyPart> part =
            KeyPartFromField(f, col.type == FeatureType::kString ? KeyType::kString : KeyType::kInt64, name);
        if (!part.ok()) return part.status().WithMessage(where(f) + part.status().message());
        if (col.type == FeatureType::kString)
          col.strings.push_back(std::get<std::string>(std::move(part).value()));
        else
          col.ints.push_back(std::get<int64_t>(*part));
      }
      const Field& tf = fields[time_slot];
      if (tf.kind == Field::kNull || tf.kind == Field::kMissing) {
        null_label = 1;
        times.push_back(kMinTimestamp);
      } else {
        Result<Timestamp> t = TimestampFromField(tf, options.epoch_unit, time_what, naive_suffix);
        if (!t.ok()) return t.status().WithMessage(where(tf) + t.status().message());
        times.push_back(*t);
      }
      null_labels.push_back(null_label);
      for (size_t r = 0; r < request.size(); ++r) {
        const RequestInputDef& in = joiner->request_inputs()[r];
        const Field& f = fields[slot_of[in.name]];
        Result<Value> v = RequestValueFromField(in, f);
        if (!v.ok()) return v.status().WithMessage(where(f) + v.status().message());
        request[r].Append(*v);
      }
      for (size_t c = 0; c < ncols; ++c) cells[c].Add(fields[c]);
      if (options.progress && ((report->labels + times.size()) & 0xFFFFF) == 0)
        options.progress("read", report->labels + times.size());
    }
    const size_t n = times.size();
    if (n == 0 && chunk > 0) break;
    report->labels += n;
    ++report->chunks;
    report->read_secs += Since(phase_start);

    // One pass over each view.
    phase_start = std::chrono::steady_clock::now();
    if (options.progress) options.progress("join", report->labels);
    std::vector<Column> chunk_keys;
    for (const JoinKeyDef& k : joiner->key_columns()) chunk_keys.push_back(keys[k.name]);
    PITSTORE_ASSIGN_OR_RETURN(std::vector<Column> features, joiner->Join(chunk_keys, times, &null_labels, &request));
    report->null_labels += static_cast<uint64_t>(std::count(null_labels.begin(), null_labels.end(), 1));
    report->join_secs += Since(phase_start);

    // Write: each row in label order (the CSV header went first).
    phase_start = std::chrono::steady_clock::now();
    if (options.progress) options.progress("write", report->labels);
    std::vector<const Column*> outputs;
    for (const Column& f : features) outputs.push_back(&f);
    for (size_t k = 0; k < outputs.size(); ++k)
      for (size_t i = 0; i < n; ++i) report->matched[k] += !outputs[k]->is_null(i);
    if (parquet) {
      std::vector<Column> label_columns;
      std::vector<OutputColumn> chunk_schema;
      for (size_t c = 0; c < ncols; ++c) {
        // A null label key or time stays null in the output.
        auto with_nulls = [&](Column col, const std::vector<uint8_t>& nulls) {
          if (std::find(nulls.begin(), nulls.end(), 1) != nulls.end()) {
            col.valid.assign(n, 1);
            for (size_t i = 0; i < n; ++i) col.valid[i] = nulls[i] ? 0 : 1;
          }
          return col;
        };
        if (c == time_slot) {
          Column t = Column::Of(FeatureType::kTimestamp);
          t.ints = times;
          std::vector<uint8_t> null_times(n, 0);
          for (size_t i = 0; i < n; ++i)
            null_times[i] = cells[c].kinds[i] == Field::kNull || cells[c].kinds[i] == Field::kMissing;
          label_columns.push_back(with_nulls(std::move(t), null_times));
        } else if (keys.count(label_names[c])) {
          std::vector<uint8_t>& nulls = null_keys[label_names[c]];
          nulls.resize(n, 0);
          label_columns.push_back(with_nulls(std::move(keys[label_names[c]]), nulls));
        } else {
          label_columns.push_back(TypedLabelColumn(cells[c], n));
        }
        chunk_schema.push_back({label_names[c], label_columns.back().type, 0});
      }
      std::vector<const Column*> columns;
      for (const Column& c : label_columns) columns.push_back(&c);
      for (size_t k = 0; k < outputs.size(); ++k) {
        columns.push_back(outputs[k]);
        chunk_schema.push_back({feature_names[k], outputs[k]->type, outputs[k]->dim});
      }
      if (!writer) {
        schema = chunk_schema;
        writer = std::make_unique<ParquetWriter>(out, schema);
      }
      for (size_t c = 0; c < ncols; ++c)
        if (chunk_schema[c].type != schema[c].type && n > 0)
          return Status::InvalidArgument("label column '" + label_names[c] + "' holds " +
                                         FeatureTypeName(chunk_schema[c].type) + " values from label " +
                                         std::to_string(report->labels - n + 1) + " on, " +
                                         FeatureTypeName(schema[c].type) +
                                         " before; Parquet needs one type (a larger --chunk-labels reads "
                                         "them together)");
      constexpr size_t kRowGroupRows = 1'000'000;
      for (size_t from = 0; from < n; from += kRowGroupRows)
        PITSTORE_RETURN_IF_ERROR(writer->WriteRowGroup(columns, from, std::min(n, from + kRowGroupRows)));
    } else {
      for (size_t i = 0; i < n; ++i) {
        if (json) buf.push_back('{');
        for (size_t c = 0; c < ncols; ++c) {
          if (c) buf.push_back(',');
          if (json) buf += json_names[c];
          AppendLabelCell(cells[c].Cell(i), cells[c].kinds[i], json, &buf);
        }
        for (size_t k = 0; k < outputs.size(); ++k) {
          buf.push_back(',');
          if (json) buf += json_names[ncols + k];
          AppendValueText(*outputs[k], i, json, &buf);
        }
        buf += json ? "}\n" : "\n";
        PITSTORE_RETURN_IF_ERROR(flush(false));
      }
    }
    report->write_secs += Since(phase_start);
  }
  phase_start = std::chrono::steady_clock::now();
  if (parquet) {
    PITSTORE_RETURN_IF_ERROR(writer->Finish());
  } else {
    PITSTORE_RETURN_IF_ERROR(flush(true));
    if (std::fflush(out) != 0) return Status::IOError("writing the output failed");
  }
  report->write_secs += Since(phase_start);
  return Status::OK();
}

}  // namespace

Status BuildTrainingSet(Store& store, RecordSource& source, const TrainingSetOptions& options, FILE* out,
                        TrainingSetReport* report) {
  *report = {};
  auto start = std::chrono::steady_clock::now();
  // The views and features asked for, and every label column they need; the joiner holds the
  // snapshot every chunk is joined from, so all chunks and views see one state of the store.
  PITSTORE_ASSIGN_OR_RETURN(std::unique_ptr<TrainingSetJoiner> joiner,
                            TrainingSetJoiner::Open(store, options.request, options.join));
  return BuildWith(std::move(joiner), source, options, out, report, start);
}

Status BuildTrainingSet(ShardedStore& store, RecordSource& source, const TrainingSetOptions& options, FILE* out,
                        TrainingSetReport* report) {
  *report = {};
  auto start = std::chrono::steady_clock::now();
  PITSTORE_ASSIGN_OR_RETURN(std::unique_ptr<ShardedJoiner> joiner,
                            ShardedJoiner::Open(store, options.request, options.join));
  return BuildWith(std::move(joiner), source, options, out, report, start);
}

}  // namespace pitstore::workflow
