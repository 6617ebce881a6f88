// TrainingSetJoiner (libpitstore_workflow): the point-in-time join of labels with the features of
// several views, chunk after chunk, all from one snapshot of the store, so the chunks make one
// consistent training set. `pitstore join`, the Python package and Spark tasks build training
// sets with it; JoinTables runs it over a stream of label tables.
//
// Per label (keys, time t) and feature: Store::AsOf(key, t, K) of the feature's view, K by
// JoinOptions::known_at (pitstore/join.h); labels keep their order and duplicates. An
// on-demand feature is its expression over those values, the label's request columns and
// now() = t (on_demand.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pitstore/io/table.h"
#include "pitstore/store.h"
#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/ingest.h"

namespace pitstore::workflow {

class OnDemandPlan;

// How many labels one pass of a join of features `defs` takes, at most `chunk_labels` (0: no
// bound): fewer when lists (last_k) are among them, whose k slots per label are held whatever
// they hold, so those slots stay within about 1 GiB.
size_t LabelsPerPass(const std::vector<FeatureDef>& defs, size_t chunk_labels);

class TrainingSetJoiner {
 public:
  // Resolves the features and takes the snapshot every chunk is joined from.
  static Result<std::unique_ptr<TrainingSetJoiner>> Open(Store& store, const FeatureRequest& request,
                                                         const JoinOptions& join);
  ~TrainingSetJoiner();

  const std::vector<FeatureRef>& features() const { return refs_; }
  // The type (and dim) of each feature, in order.
  const std::vector<FeatureDef>& feature_defs() const { return defs_; }
  // The label columns the join needs: every requested view's join keys, each name once.
  const std::vector<JoinKeyDef>& key_columns() const { return key_columns_; }
  // The request inputs the requested on-demand features read (on_demand.h): label columns of
  // the same names, one value per label.
  const std::vector<RequestInputDef>& request_inputs() const;

  // The labels' time column: `given`, or when empty the first of these the labels have: the
  // requested views' event timestamp columns (in request order), event_ts, event_timestamp.
  Result<std::string> LabelTimeColumn(const std::string& given, const std::vector<std::string>& label_columns) const;

  // One column per feature, one row per label. `keys` holds one column per key_columns() entry
  // (kInt64 or kString, no nulls), `times` the label times. A label marked in `null_labels`
  // (a null key or time: its key and time are placeholders) keeps its row with every feature
  // null, as a SQL left join and Feast do. `request` holds one column per request_inputs()
  // entry (of its type and dim), one value per label; on-demand features are computed with
  // now() = the label time.
  Result<std::vector<Column>> Join(const std::vector<Column>& keys, const std::vector<Timestamp>& times,
                                   const std::vector<uint8_t>* null_labels = nullptr,
                                   const std::vector<Column>* request = nullptr);

 private:
  struct ViewPlan;
  TrainingSetJoiner() = default;
  Store* store_ = nullptr;
  std::unique_ptr<Snapshot> snapshot_;
  JoinOptions join_;
  std::vector<FeatureRef> refs_;
  std::vector<FeatureDef> defs_;
  std::vector<JoinKeyDef> key_columns_;
  std::vector<ViewPlan> plans_;
  std::unique_ptr<OnDemandPlan> on_demand_;
};

struct JoinTablesOptions {
  // A timestamp column, or integers in epoch_unit; empty: TrainingSetJoiner::LabelTimeColumn.
  std::string label_time_column;
  EpochUnit epoch_unit = EpochUnit::kMicros;
  size_t chunk_labels = 10'000'000;  // labels joined per pass over the views; 0: all at once
};

struct JoinTablesReport {
  uint64_t labels = 0;
  uint64_t chunks = 0;
  uint64_t null_labels = 0;  // labels with a null key or time (kept, features null)
};

// A training set as a stream of tables: each label table comes out with its columns as they
// were (shared, not copied; the label time column as a timestamp, as the join read it) and one
// column per feature after them, named by output name; a name that would appear twice is
// refused. Tables are read until `chunk_labels` labels are held, then
// joined in one pass. `report` (may be null) counts labels and chunks as the stream is read.
// The stream holds the joiner's snapshot of `store`: release it (and any ArrowArrayStream made
// of it) before the Store is closed. After an error every later Next returns that error.
Result<std::unique_ptr<io::TableReader>> JoinTables(std::unique_ptr<TrainingSetJoiner> joiner,
                                                    std::unique_ptr<io::TableReader> labels,
                                                    const JoinTablesOptions& options,
                                                    JoinTablesReport* report = nullptr);

}  // namespace pitstore::workflow
