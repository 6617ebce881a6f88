// Ingest from tables: the columns a view needs, taken from each table by name and converted by
// type (io/table.h), never through text; batches of options.batch_rows rows cut across tables.
#include <algorithm>

#include "ingest_driver.h"
#include "pitstore/io/parquet_tables.h"
#include "pitstore/io/suggest.h"

namespace pitstore::workflow {
namespace {

// Builds batches from slices of tables.
class TableBatcher {
 public:
  TableBatcher(const std::vector<Slot>& slots, const std::vector<int>& column_of, const std::string& name,
               EpochUnit unit)
      : slots_(slots), column_of_(column_of), name_(name), unit_(unit) {
    Reset();
  }
  size_t rows() const { return event_ts_.size(); }

  // Converts rows [begin, end) of `t`, whose first row is number `first_number` (1-based).
  Status Add(const io::Table& t, int64_t begin, int64_t end, int64_t first_number) {
    io::Rows rows{begin, end - begin, first_number};
    const int64_t n = end - begin;
    size_t feature = 0;
    std::vector<Timestamp> system_ts;
    for (size_t i = 0; i < slots_.size(); ++i) {
      const Slot& s = slots_[i];
      const int col = column_of_[i];
      const std::string what = name_ + ": column '" + s.name + "'";
      switch (s.role) {
        case SlotRole::kKey: {
          PITSTORE_ASSIGN_OR_RETURN(Column c, io::KeyColumnFromArray(t.columns[col], s.key_type, what, rows));
          io::AppendColumn(std::move(c), &keys_[s.index]);
          break;
        }
        case SlotRole::kEventTs: {
          PITSTORE_ASSIGN_OR_RETURN(std::vector<Timestamp> ts,
                                    io::TimesFromArray(t.columns[col], unit_, what + " (the event timestamp)", rows));
          event_ts_.insert(event_ts_.end(), ts.begin(), ts.end());
          break;
        }
        case SlotRole::kCreatedTs: {
          if (col < 0) break;
          const Timestamp commit_time = kCommitTime;  // a null created time: the commit's
          PITSTORE_ASSIGN_OR_RETURN(system_ts, io::TimesFromArray(t.columns[col], unit_, what, rows, &commit_time));
          break;
        }
        case SlotRole::kFeature: {
          Column& to = features_[feature++].second;
          if (col < 0) {  // absent: null
            for (int64_t r = 0; r < n; ++r) to.AppendNull();
            break;
          }
          PITSTORE_ASSIGN_OR_RETURN(
              Column c,
              io::ColumnFromArray(t.columns[col], s.type, s.dim,
                                  what + " (feature '" + s.name + "', " + FeatureTypeName(s.type) + ")", rows));
          io::AppendColumn(std::move(c), &to);
          break;
        }
      }
    }
    if (has_created_) system_ts_.insert(system_ts_.end(), system_ts.begin(), system_ts.end());
    for (int64_t r = 0; r < n; ++r) positions_.push_back(static_cast<uint64_t>(first_number + r));
    return Status::OK();
  }

  ParsedBatch Take(bool dry_run) {
    ParsedBatch p;
    p.rows = rows();
    p.positions = std::move(positions_);
    if (!dry_run)
      p.batch.SetColumns(std::move(keys_), std::move(event_ts_), std::move(system_ts_), std::move(features_));
    Reset();
    return p;
  }

 private:
  void Reset() {
    keys_.clear();
    features_.clear();
    event_ts_.clear();
    system_ts_.clear();
    positions_.clear();
    has_created_ = false;
    for (size_t i = 0; i < slots_.size(); ++i) {
      const Slot& s = slots_[i];
      if (s.role == SlotRole::kKey)
        keys_.push_back(Column::Of(s.key_type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString));
      if (s.role == SlotRole::kFeature) features_.emplace_back(s.name, Column::Of(s.type, s.dim));
      if (s.role == SlotRole::kCreatedTs && column_of_[i] >= 0) has_created_ = true;
    }
  }

  const std::vector<Slot>& slots_;
  const std::vector<int>& column_of_;
  std::string name_;
  EpochUnit unit_;
  std::vector<Column> keys_;
  std::vector<std::pair<std::string, Column>> features_;
  std::vector<Timestamp> event_ts_, system_ts_;
  std::vector<uint64_t> positions_;
  bool has_created_ = false;
};

}  // namespace

Status IngestTables(Store& store, const std::string& view_name, io::TableReader& tables, const std::string& source_name,
                    const IngestOptions& options, IngestReport* report) {
  *report = {};
  if (options.batch_rows == 0) return Status::InvalidArgument("batch size must be at least 1");
  PITSTORE_ASSIGN_OR_RETURN(ViewSlots view_slots, SlotsOf(store, view_name, options));
  const std::vector<Slot>& slots = view_slots.slots;
  // Match the columns by name: every required one present, no unknown one unless ignored.
  std::vector<std::string> present;
  for (const io::ColumnSchema& c : tables.schema()) {
    if (std::find(view_slots.names.begin(), view_slots.names.end(), c.name) != view_slots.names.end()) {
      present.push_back(c.name);
      continue;
    }
    if (!options.ignore_extra_columns)
      return Status::InvalidArgument(source_name + ": " + io::UnknownColumn(c.name, view_slots.names));
  }
  for (const std::string& r : view_slots.required)
    if (std::find(present.begin(), present.end(), r) == present.end())
      return Status::InvalidArgument(source_name + ": the input has no column '" + r + "'");
  std::vector<std::string> input_columns;
  for (const io::ColumnSchema& c : tables.schema()) input_columns.push_back(c.name);
  ReportColumns(input_columns, view_slots, report);
  // A Parquet file decodes the columns used, and no others.
  if (auto* parquet = dynamic_cast<io::ParquetTableReader*>(&tables)) {
    PITSTORE_RETURN_IF_ERROR(parquet->Select(present));
    if (!options.timezone.empty()) PITSTORE_RETURN_IF_ERROR(io::ReadNaiveTimesIn(options.timezone, *parquet));
  }
  auto where = [&](uint64_t row) { return source_name + ": row " + std::to_string(row) + ": "; };

  return RunIngest(
      store, view_name, options, report,
      [&](const HandOver& hand_over, std::atomic<uint64_t>& records_read, std::atomic<uint64_t>& bytes_read) -> Status {
        std::vector<int> column_of;  // per slot: the table's column, or -1
        io::Table t;
        int64_t number = 0;  // rows read before this table
        TableBatcher* batcher = nullptr;
        std::unique_ptr<TableBatcher> owned;
        auto* parquet = dynamic_cast<io::ParquetTableReader*>(&tables);
        for (;;) {
          Result<bool> more = tables.Next(&t);
          if (!more.ok()) return more.status();
          if (!*more) break;
          if (!batcher) {
            for (const Slot& s : slots) column_of.push_back(t.Find(s.name));
            owned = std::make_unique<TableBatcher>(slots, column_of, source_name, options.epoch_unit);
            batcher = owned.get();
          }
          int64_t begin = 0;
          if (static_cast<uint64_t>(number) < options.skip_records)
            begin = std::min<int64_t>(t.rows, static_cast<int64_t>(options.skip_records) - number);
          while (begin < t.rows) {
            int64_t room = static_cast<int64_t>(options.batch_rows - batcher->rows());
            int64_t end = std::min(t.rows, begin + room);
            PITSTORE_RETURN_IF_ERROR(batcher->Add(t, begin, end, number + begin + 1));
            begin = end;
            if (batcher->rows() >= options.batch_rows && !hand_over(batcher->Take(options.dry_run)))
              return Status::OK();
          }
          number += t.rows;
          records_read.store(static_cast<uint64_t>(number), std::memory_order_relaxed);
          if (parquet) bytes_read.store(parquet->bytes_read(), std::memory_order_relaxed);
        }
        if (batcher && batcher->rows() > 0 && !hand_over(batcher->Take(options.dry_run))) return Status::OK();
        return Status::OK();
      },
      where);
}

}  // namespace pitstore::workflow
