// ShardedJoiner (libpitstore_workflow): the point-in-time join of labels with a sharded store
// on one machine, as TrainingSetJoiner joins them with one store (joiner.h).
//
// Each label goes to the shard of its shard key values (ShardOfKey over the manifest's shard
// keys, sharded_store.h); each shard's labels are joined by that shard's TrainingSetJoiner (its
// own snapshot, taken at Open); the answers come back in the labels' order, duplicates kept. A
// label with a null key or time (null_labels) keeps its row with every feature null, as in
// one store. Since a key's rows are all in its shard, the answer equals one store's holding
// every shard's rows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pitstore/column.h"
#include "pitstore/join.h"
#include "pitstore/status.h"
#include "pitstore/workflow/joiner.h"
#include "pitstore/workflow/sharded_store.h"

namespace pitstore::workflow {

class ShardedJoiner {
 public:
  // Resolves the features in every shard (shards share their definitions) and takes each
  // shard's snapshot. The requested views' join keys must include the store's shard keys.
  static Result<std::unique_ptr<ShardedJoiner>> Open(ShardedStore& store, const FeatureRequest& request,
                                                     const JoinOptions& join);

  // As TrainingSetJoiner's, from shard 0.
  const std::vector<FeatureRef>& features() const { return joiners_[0]->features(); }
  const std::vector<FeatureDef>& feature_defs() const { return joiners_[0]->feature_defs(); }
  const std::vector<JoinKeyDef>& key_columns() const { return joiners_[0]->key_columns(); }
  const std::vector<RequestInputDef>& request_inputs() const { return joiners_[0]->request_inputs(); }
  Result<std::string> LabelTimeColumn(const std::string& given, const std::vector<std::string>& label_columns) const {
    return joiners_[0]->LabelTimeColumn(given, label_columns);
  }

  // TrainingSetJoiner::Join over the shards: the same arguments, the same answer.
  Result<std::vector<Column>> Join(const std::vector<Column>& keys, const std::vector<Timestamp>& times,
                                   const std::vector<uint8_t>* null_labels = nullptr,
                                   const std::vector<Column>* request = nullptr);

 private:
  ShardedJoiner() = default;
  std::vector<std::unique_ptr<TrainingSetJoiner>> joiners_;  // one per shard
  std::vector<size_t> shard_key_index_;                      // per shard key: its index in key_columns()
};

}  // namespace pitstore::workflow
