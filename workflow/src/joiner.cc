#include "pitstore/workflow/joiner.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "pitstore/workflow/entity_keys.h"
#include "pitstore/workflow/on_demand.h"

namespace pitstore::workflow {

// One view's part of the join: its features, where each goes, and which key columns it takes.
struct TrainingSetJoiner::ViewPlan {
  ViewFeatures group;
  std::vector<size_t> key_index;  // into key_columns(), in the view's key order
};

TrainingSetJoiner::~TrainingSetJoiner() = default;

Result<std::unique_ptr<TrainingSetJoiner>> TrainingSetJoiner::Open(Store& store, const FeatureRequest& request,
                                                                   const JoinOptions& join) {
  std::unique_ptr<TrainingSetJoiner> j(new TrainingSetJoiner);
  j->store_ = &store;
  j->join_ = join;
  PITSTORE_ASSIGN_OR_RETURN(j->refs_, ResolveFeatures(store, request));
  PITSTORE_ASSIGN_OR_RETURN(OnDemandPlan on_demand, OnDemandPlan::Make(store, j->refs_));
  j->on_demand_ = std::make_unique<OnDemandPlan>(std::move(on_demand));
  const std::vector<FeatureRef>& stored = j->on_demand_->stored();
  j->defs_.resize(j->refs_.size());
  std::vector<FeatureDef> stored_defs(stored.size());
  for (const ViewFeatures& group : GroupByView(stored)) {
    ViewPlan plan{group, {}};
    PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef def, store.GetView(group.view));
    for (size_t f = 0; f < group.features.size(); ++f)
      for (const FeatureDef& fd : def.features)
        if (fd.name == group.features[f]) stored_defs[group.positions[f]] = fd;
    PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> keys, ViewKeyColumns(store, def));
    for (const JoinKeyDef& k : keys) {
      auto it = std::find_if(j->key_columns_.begin(), j->key_columns_.end(),
                             [&](const JoinKeyDef& have) { return have.name == k.name; });
      if (it == j->key_columns_.end()) {
        j->key_columns_.push_back(k);
        it = j->key_columns_.end() - 1;
      } else if (it->type != k.type) {
        return Status::InvalidArgument("join key '" + k.name + "' is an int64 in one view and a string in another");
      }
      plan.key_index.push_back(static_cast<size_t>(it - j->key_columns_.begin()));
    }
    j->plans_.push_back(std::move(plan));
  }
  for (size_t p = 0; p < j->refs_.size(); ++p) {
    int at = j->on_demand_->stored_index()[p];
    j->defs_[p] = at >= 0 ? stored_defs[static_cast<size_t>(at)] : j->on_demand_->TypeOf(p);
  }
  PITSTORE_ASSIGN_OR_RETURN(j->snapshot_, store.GetSnapshot());
  return j;
}

const std::vector<RequestInputDef>& TrainingSetJoiner::request_inputs() const { return on_demand_->request_inputs(); }

size_t LabelsPerPass(const std::vector<FeatureDef>& defs, size_t chunk_labels) {
  constexpr size_t kListSlotBytes = size_t{1} << 30;
  size_t per_label = 0;
  for (const FeatureDef& d : defs)
    if (IsListType(d.type)) {
      const FeatureType e = ListElementType(d.type);
      per_label += size_t{d.dim} * (e == FeatureType::kString || e == FeatureType::kBytes ? sizeof(std::string) : 8);
    }
  if (per_label == 0) return chunk_labels;
  const size_t cap = std::max<size_t>(10'000, kListSlotBytes / per_label);
  return chunk_labels == 0 ? cap : std::min(chunk_labels, cap);
}

Result<std::vector<Column>> TrainingSetJoiner::Join(const std::vector<Column>& keys,
                                                    const std::vector<Timestamp>& label_times,
                                                    const std::vector<uint8_t>* null_labels,
                                                    const std::vector<Column>* request) {
  if (keys.size() != key_columns_.size())
    return Status::InvalidArgument(std::to_string(keys.size()) + " key columns for " +
                                   std::to_string(key_columns_.size()) + " join keys");
  const size_t inputs = on_demand_->request_inputs().size();
  if ((request ? request->size() : 0) != inputs)
    return Status::InvalidArgument(std::to_string(request ? request->size() : 0) + " request columns for " +
                                   std::to_string(inputs) + " request inputs");
  // A label with a null key or time matches nothing: it asks at the beginning of time, and its
  // features are nulled below whatever its placeholder key finds.
  std::vector<Timestamp> placed;
  const bool any_null = null_labels && std::find(null_labels->begin(), null_labels->end(), 1) != null_labels->end();
  if (any_null) {
    placed = label_times;
    for (size_t i = 0; i < placed.size(); ++i)
      if ((*null_labels)[i]) placed[i] = kMinTimestamp;
  }
  const std::vector<Timestamp>& times = any_null ? placed : label_times;
  ReadOptions read;
  read.snapshot = snapshot_.get();
  std::vector<Column> stored(on_demand_->stored().size());
  for (const ViewPlan& plan : plans_) {
    JoinLabels labels;
    for (size_t k : plan.key_index) labels.keys.push_back(keys[k]);
    labels.times = times;
    PITSTORE_ASSIGN_OR_RETURN(JoinResult r,
                              store_->AsOfJoin(plan.group.view, labels, plan.group.features, join_, read));
    for (size_t f = 0; f < plan.group.features.size(); ++f) stored[plan.group.positions[f]] = std::move(r.columns[f]);
  }
  std::vector<Column> out(refs_.size());
  // On-demand features first: they read the stored columns, which are then moved out.
  static const std::vector<Column> kNoRequest;
  for (size_t p = 0; p < refs_.size(); ++p) {
    if (on_demand_->stored_index()[p] >= 0) continue;
    PITSTORE_ASSIGN_OR_RETURN(out[p], on_demand_->ComputeColumns(p, label_times.size(), stored,
                                                                 request ? *request : kNoRequest, label_times));
  }
  for (size_t p = 0; p < refs_.size(); ++p)
    if (int at = on_demand_->stored_index()[p]; at >= 0) out[p] = std::move(stored[static_cast<size_t>(at)]);
  if (any_null)
    for (Column& c : out) {
      if (c.valid.empty()) c.valid.assign(times.size(), 1);
      for (size_t i = 0; i < times.size(); ++i)
        if ((*null_labels)[i]) c.valid[i] = 0;
    }
  return out;
}

Result<std::string> TrainingSetJoiner::LabelTimeColumn(const std::string& given,
                                                       const std::vector<std::string>& label_columns) const {
  if (!given.empty()) return given;
  std::vector<std::string> candidates;
  for (const FeatureRef& r : on_demand_->stored()) {
    PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef view, store_->GetView(r.view));
    if (!view.event_ts_column.empty()) candidates.push_back(view.event_ts_column);
  }
  candidates.push_back("event_ts");
  candidates.push_back("event_timestamp");
  std::string tried;
  for (const std::string& c : candidates) {
    if (std::find(label_columns.begin(), label_columns.end(), c) != label_columns.end()) return c;
    if (tried.find("'" + c + "'") == std::string::npos) tried += (tried.empty() ? "'" : ", '") + c + "'";
  }
  return Status::InvalidArgument("the labels have no time column (looked for " + tried +
                                 "; name it with --label-time-column)");
}

namespace {

class JoinedTables : public io::TableReader {
 public:
  JoinedTables(std::unique_ptr<TrainingSetJoiner> joiner, std::unique_ptr<io::TableReader> labels,
               const JoinTablesOptions& options, JoinTablesReport* report)
      : joiner_(std::move(joiner)), labels_(std::move(labels)), options_(options), report_(report) {}

  Status Init() {
    schema_ = labels_->schema();
    std::set<std::string> taken;
    for (const io::ColumnSchema& c : schema_) taken.insert(c.name);
    for (size_t k = 0; k < joiner_->features().size(); ++k) {
      const FeatureRef& r = joiner_->features()[k];
      if (!taken.insert(r.output_name).second)
        return Status::InvalidArgument("output column '" + r.output_name + "' (from " + r.Ref() +
                                       ") would appear twice; --full-feature-names names it view__feature");
      const FeatureDef& d = joiner_->feature_defs()[k];
      schema_.push_back({r.output_name, io::DataTypeOf(d.type), static_cast<int32_t>(d.dim), false,
                         IsListType(d.type) ? io::DataTypeOf(ListElementType(d.type)) : io::DataType::kInt64});
    }
    for (const JoinKeyDef& k : joiner_->key_columns()) {
      int at = FindLabel(k.name);
      if (at < 0)
        return Status::InvalidArgument("the labels have no column '" + k.name + "' (a join key of a requested view)");
      key_at_.push_back(at);
    }
    for (const RequestInputDef& in : joiner_->request_inputs()) {
      int at = FindLabel(in.name);
      if (at < 0)
        return Status::InvalidArgument("the labels have no column '" + in.name + "' (a request input, " +
                                       ExpressionTypeName(in.type, in.dim) + ", of a requested on-demand feature)");
      request_at_.push_back(at);
    }
    std::vector<std::string> label_columns;
    for (const io::ColumnSchema& c : labels_->schema()) label_columns.push_back(c.name);
    PITSTORE_ASSIGN_OR_RETURN(label_time_column_, joiner_->LabelTimeColumn(options_.label_time_column, label_columns));
    time_at_ = FindLabel(label_time_column_);
    if (time_at_ < 0)
      return Status::InvalidArgument("the labels have no column '" + label_time_column_ +
                                     "' (the label time; see --label-time-column)");
    retype_time_ = schema_[time_at_].type != io::DataType::kTimestamp;
    schema_[time_at_].type = io::DataType::kTimestamp;
    return Status::OK();
  }

  const std::vector<io::ColumnSchema>& schema() const override { return schema_; }

  Result<bool> Next(io::Table* out) override {
    // A failed chunk's labels are gone: the stream ends in that error, whatever is asked later.
    if (!error_.ok()) return error_;
    if (ready_.empty()) {
      error_ = JoinChunk();
      if (!error_.ok()) return error_;
    }
    if (ready_.empty()) return false;
    *out = std::move(ready_.front());
    ready_.pop_front();
    return true;
  }

 private:
  int FindLabel(const std::string& name) const {
    const auto& s = labels_->schema();
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i].name == name) return static_cast<int>(i);
    return -1;
  }

  // Reads label tables up to chunk_labels labels, joins them, and queues them with features.
  Status JoinChunk() {
    std::vector<io::Table> held;
    std::vector<Column> keys;
    for (const JoinKeyDef& k : joiner_->key_columns())
      keys.push_back(Column::Of(k.type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString));
    std::vector<Timestamp> times;
    std::vector<uint8_t> null_labels;  // a null key or time
    std::vector<Column> request;       // by joiner_->request_inputs()
    for (const RequestInputDef& in : joiner_->request_inputs()) request.push_back(Column::Of(in.type, in.dim));
    const size_t chunk_labels = LabelsPerPass(joiner_->feature_defs(), options_.chunk_labels);
    while (!done_ && (chunk_labels == 0 || times.size() < chunk_labels)) {
      io::Table t;
      PITSTORE_ASSIGN_OR_RETURN(bool more, labels_->Next(&t));
      if (!more) {
        done_ = true;
        break;
      }
      io::Rows rows{0, -1, static_cast<int64_t>(labels_read_) + 1};
      std::vector<uint8_t> nulls(static_cast<size_t>(t.rows), 0), column_nulls;
      for (size_t k = 0; k < key_at_.size(); ++k) {
        const JoinKeyDef& def = joiner_->key_columns()[k];
        column_nulls.clear();
        PITSTORE_ASSIGN_OR_RETURN(
            Column c, io::KeyColumnFromArray(t.columns[key_at_[k]], def.type, "labels: column '" + def.name + "'", rows,
                                             &column_nulls));
        for (size_t i = 0; i < nulls.size(); ++i) nulls[i] |= column_nulls[i];
        io::AppendColumn(std::move(c), &keys[k]);
      }
      const io::Array& time_column = t.columns[time_at_];
      PITSTORE_ASSIGN_OR_RETURN(
          std::vector<Timestamp> ts,
          io::TimesFromArray(time_column, options_.epoch_unit,
                             "labels: column '" + label_time_column_ + "' (the label time)", rows, &kMinTimestamp));
      for (size_t i = 0; i < nulls.size(); ++i)
        nulls[i] |= time_column.null_count > 0 && time_column.IsNull(static_cast<int64_t>(i));
      for (size_t r = 0; r < request_at_.size(); ++r) {
        const RequestInputDef& in = joiner_->request_inputs()[r];
        PITSTORE_ASSIGN_OR_RETURN(Column c,
                                  io::ColumnFromArray(t.columns[request_at_[r]], in.type, in.dim,
                                                      "labels: column '" + in.name + "' (a request input)", rows));
        io::AppendColumn(std::move(c), &request[r]);
      }
      times.insert(times.end(), ts.begin(), ts.end());
      null_labels.insert(null_labels.end(), nulls.begin(), nulls.end());
      labels_read_ += static_cast<uint64_t>(t.rows);
      held.push_back(std::move(t));
    }
    if (held.empty()) return Status::OK();
    PITSTORE_ASSIGN_OR_RETURN(std::vector<Column> features, joiner_->Join(keys, times, &null_labels, &request));
    if (report_) {
      report_->labels += times.size();
      ++report_->chunks;
      report_->null_labels += static_cast<uint64_t>(std::count(null_labels.begin(), null_labels.end(), 1));
    }
    size_t from = 0;
    for (io::Table& t : held) {
      io::Table joined;
      joined.schema = schema_;
      joined.rows = t.rows;
      joined.columns = std::move(t.columns);
      if (retype_time_) {  // integers in the epoch unit: the times the join used, as timestamps
        io::ArrayBuilder b(io::DataType::kTimestamp);
        for (int64_t i = 0; i < t.rows; ++i) {
          const io::Array& original = joined.columns[time_at_];
          if (original.null_count > 0 && original.IsNull(i))
            b.AppendNull();
          else
            b.AppendInt(times[from + static_cast<size_t>(i)]);
        }
        joined.columns[time_at_] = b.Finish();
      }
      for (const Column& f : features) joined.columns.push_back(io::ArrayFromColumn(f, from, t.rows));
      from += static_cast<size_t>(t.rows);
      ready_.push_back(std::move(joined));
    }
    return Status::OK();
  }

  std::unique_ptr<TrainingSetJoiner> joiner_;
  std::unique_ptr<io::TableReader> labels_;
  JoinTablesOptions options_;
  JoinTablesReport* report_;
  std::vector<io::ColumnSchema> schema_;
  std::vector<int> key_at_;
  std::vector<int> request_at_;  // by joiner_->request_inputs()
  int time_at_ = -1;
  std::string label_time_column_;
  bool retype_time_ = false;
  std::deque<io::Table> ready_;
  uint64_t labels_read_ = 0;
  bool done_ = false;
  Status error_;
};

}  // namespace

Result<std::unique_ptr<io::TableReader>> JoinTables(std::unique_ptr<TrainingSetJoiner> joiner,
                                                    std::unique_ptr<io::TableReader> labels,
                                                    const JoinTablesOptions& options, JoinTablesReport* report) {
  auto stream = std::make_unique<JoinedTables>(std::move(joiner), std::move(labels), options, report);
  PITSTORE_RETURN_IF_ERROR(stream->Init());
  return std::unique_ptr<io::TableReader>(std::move(stream));
}

}  // namespace pitstore::workflow
