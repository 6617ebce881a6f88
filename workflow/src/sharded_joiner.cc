#include "pitstore/workflow/sharded_joiner.h"

namespace pitstore::workflow {

namespace {

// Rows `picked` of `column`, in that order.
Column Gather(const Column& column, const std::vector<size_t>& picked) {
  Column out = Column::Of(column.type, column.dim);
  out.Reserve(picked.size());
  for (size_t i : picked) out.AppendFrom(column, i);
  return out;
}

}  // namespace

Result<std::unique_ptr<ShardedJoiner>> ShardedJoiner::Open(ShardedStore& store, const FeatureRequest& request,
                                                           const JoinOptions& join) {
  std::unique_ptr<ShardedJoiner> joiner(new ShardedJoiner());
  for (uint32_t s = 0; s < store.shard_count(); ++s) {
    PITSTORE_ASSIGN_OR_RETURN(std::unique_ptr<TrainingSetJoiner> one,
                              TrainingSetJoiner::Open(store.shard(s), request, join));
    joiner->joiners_.push_back(std::move(one));
  }
  const std::vector<JoinKeyDef>& keys = joiner->key_columns();
  for (const std::string& name : store.manifest().shard_keys) {
    size_t found = keys.size();
    for (size_t k = 0; k < keys.size(); ++k)
      if (keys[k].name == name) found = k;
    if (found == keys.size())
      return Status::InvalidArgument("the requested features' views do not have the store's shard key '" + name +
                                     "' as a join key: a label could not be routed to its shard");
    joiner->shard_key_index_.push_back(found);
  }
  return joiner;
}

Result<std::vector<Column>> ShardedJoiner::Join(const std::vector<Column>& keys, const std::vector<Timestamp>& times,
                                                const std::vector<uint8_t>* null_labels,
                                                const std::vector<Column>* request) {
  const size_t n = times.size();
  if (keys.size() != key_columns().size())
    return Status::InvalidArgument("the join needs " + std::to_string(key_columns().size()) + " key columns, got " +
                                   std::to_string(keys.size()));
  for (const Column& k : keys)
    if (k.size() != n) return Status::InvalidArgument("key and time columns differ in length");
  if (null_labels && null_labels->size() != n)
    return Status::InvalidArgument("null_labels and time columns differ in length");
  if (request)
    for (const Column& r : *request)
      if (r.size() != n) return Status::InvalidArgument("request and time columns differ in length");

  // The shard of each label; a null label's key is a placeholder, so shard 0 answers it (nulls).
  const uint32_t shards = static_cast<uint32_t>(joiners_.size());
  std::vector<std::vector<size_t>> picked(shards);
  std::vector<uint32_t> shard_of(n, 0);
  std::vector<size_t> position(n, 0);  // the label's row in its shard's answer
  std::vector<KeyPart> parts(shard_key_index_.size());
  for (size_t i = 0; i < n; ++i) {
    if (!null_labels || !(*null_labels)[i]) {
      for (size_t p = 0; p < shard_key_index_.size(); ++p) {
        const Column& k = keys[shard_key_index_[p]];
        if (k.type == FeatureType::kString)
          parts[p] = k.strings[i];
        else
          parts[p] = k.ints[i];
      }
      shard_of[i] = ShardOfKey(parts, shards);
    }
    position[i] = picked[shard_of[i]].size();
    picked[shard_of[i]].push_back(i);
  }

  std::vector<std::vector<Column>> answers(shards);
  for (uint32_t s = 0; s < shards; ++s) {
    if (picked[s].empty()) continue;
    std::vector<Column> shard_keys;
    for (const Column& k : keys) shard_keys.push_back(Gather(k, picked[s]));
    std::vector<Timestamp> shard_times;
    shard_times.reserve(picked[s].size());
    for (size_t i : picked[s]) shard_times.push_back(times[i]);
    std::vector<uint8_t> shard_nulls;
    if (null_labels)
      for (size_t i : picked[s]) shard_nulls.push_back((*null_labels)[i]);
    std::vector<Column> shard_request;
    if (request)
      for (const Column& r : *request) shard_request.push_back(Gather(r, picked[s]));
    PITSTORE_ASSIGN_OR_RETURN(answers[s],
                              joiners_[s]->Join(shard_keys, shard_times, null_labels ? &shard_nulls : nullptr,
                                                request ? &shard_request : nullptr));
  }

  // Back in the labels' order.
  const std::vector<FeatureDef>& defs = feature_defs();
  std::vector<Column> out;
  out.reserve(defs.size());
  for (size_t f = 0; f < defs.size(); ++f) {
    Column column = Column::Of(defs[f].type, defs[f].dim);
    column.Reserve(n);
    for (size_t i = 0; i < n; ++i) column.AppendFrom(answers[shard_of[i]][f], position[i]);
    out.push_back(std::move(column));
  }
  return out;
}

}  // namespace pitstore::workflow
