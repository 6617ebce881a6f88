// WriteBatch: rows to append to one feature view, committed atomically by Store::Append.
//
// Two forms, never mixed in one batch:
//  - row-wise: Add(key, event_ts, values) with one Value per feature of the view, in the view's
//    feature order (a null Value for a missing feature);
//  - columnar: SetColumns(...) with whole columns named by feature; features not named read
//    null. The fastest way to load many rows. The keys come as one column per join key
//    (kInt64 or kString, in the view's key order, no nulls), or as one EntityKey per row.
// system_ts is the commit time unless a row supplies its own (the source's created timestamp).
// Rows are validated only when appended to a view: a batch holding any bad row commits nothing,
// and the error names the row (0-based, in the order added) and the column.
//
// Thread safety: a WriteBatch is a plain value; do not modify it while Append is reading it.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "pitstore/column.h"
#include "pitstore/export.h"
#include "pitstore/types.h"

namespace pitstore {

// system_ts value meaning "use the commit time".
inline constexpr Timestamp kCommitTime = kMinTimestamp;

class PITSTORE_EXPORT WriteBatch {
 public:
  // Row-wise form.
  void Add(EntityKey key, Timestamp event_ts, std::vector<Value> values, Timestamp system_ts = kCommitTime);

  // Columnar form: keys.size() == event_ts.size() == each column's size(); system_ts is
  // empty (commit time for every row) or of the same size (kCommitTime allowed per row).
  void SetColumns(std::vector<Column> key_columns, std::vector<Timestamp> event_ts, std::vector<Timestamp> system_ts,
                  std::vector<std::pair<std::string, Column>> columns);
  void SetColumns(std::vector<EntityKey> keys, std::vector<Timestamp> event_ts, std::vector<Timestamp> system_ts,
                  std::vector<std::pair<std::string, Column>> columns);

  size_t size() const { return event_ts_.size(); }
  bool empty() const { return event_ts_.empty(); }
  bool columnar() const { return columnar_; }
  void Clear();

  // Read access for the engine and tools.
  const std::vector<EntityKey>& keys() const { return keys_; }             // row-wise, or columnar by EntityKey
  const std::vector<Column>& key_columns() const { return key_columns_; }  // columnar by key columns
  const std::vector<Timestamp>& event_ts() const { return event_ts_; }
  const std::vector<Timestamp>& system_ts() const { return system_ts_; }
  const std::vector<std::vector<Value>>& row_values() const { return row_values_; }
  const std::vector<std::pair<std::string, Column>>& columns() const { return columns_; }

 private:
  bool columnar_ = false;
  std::vector<EntityKey> keys_;
  std::vector<Column> key_columns_;
  std::vector<Timestamp> event_ts_;
  std::vector<Timestamp> system_ts_;
  std::vector<std::vector<Value>> row_values_;           // row-wise form
  std::vector<std::pair<std::string, Column>> columns_;  // columnar form
};

}  // namespace pitstore
