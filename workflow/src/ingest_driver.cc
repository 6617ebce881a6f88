#include "ingest_driver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include "pitstore/workflow/entity_keys.h"

namespace pitstore::workflow {

Result<ViewSlots> SlotsOf(Store& store, const std::string& view_name, const IngestOptions& options) {
  ViewSlots out;
  std::vector<Slot>& slots = out.slots;
  std::vector<std::string>& names = out.names;
  std::vector<std::string>& required = out.required;
  if (auto aggregation = store.GetAggregationView(view_name); aggregation.ok())
    return Status::InvalidArgument("'" + view_name + "' is an aggregation view: its values are computed from view '" +
                                   aggregation->source + "'; ingest the events into that view");
  PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef view, store.GetView(view_name));
  size_t key_parts = 0;
  PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> key_defs, ViewKeyColumns(store, view));
  for (const JoinKeyDef& k : key_defs) {
    Slot s{SlotRole::kKey, k.name, key_parts++};
    s.key_type = k.type;
    slots.push_back(s);
  }
  std::string event_col = !options.event_ts_column.empty() ? options.event_ts_column
                          : !view.event_ts_column.empty()  ? view.event_ts_column
                                                           : "event_ts";
  std::string created_col = !options.created_ts_column.empty() ? options.created_ts_column : view.created_ts_column;
  // A view without a created timestamp column reads one named system_ts (what `dump` writes
  // for it) as the system time, so that an export ingests back to the same rows.
  if (created_col.empty() && event_col != "system_ts" &&
      std::none_of(view.features.begin(), view.features.end(),
                   [](const FeatureDef& f) { return f.name == "system_ts"; }))
    created_col = "system_ts";
  slots.push_back(Slot{SlotRole::kEventTs, event_col, 0});
  if (!created_col.empty()) slots.push_back(Slot{SlotRole::kCreatedTs, created_col, 0});
  for (size_t i = 0; i < view.features.size(); ++i) {
    Slot s{SlotRole::kFeature, view.features[i].name, i};
    s.type = view.features[i].type;
    s.dim = view.features[i].dim;
    slots.push_back(s);
  }
  for (const Slot& s : slots) {
    for (const std::string& n : names)
      if (n == s.name)
        return Status::InvalidArgument("view '" + view_name + "': column '" + s.name +
                                       "' is both a key or timestamp and a feature; rename one");
    names.push_back(s.name);
    if (s.role == SlotRole::kKey || s.role == SlotRole::kEventTs) required.push_back(s.name);
  }
  return out;
}

void ReportColumns(const std::vector<std::string>& input_columns, const ViewSlots& slots, IngestReport* report) {
  for (const std::string& c : input_columns)
    if (std::find(slots.names.begin(), slots.names.end(), c) == slots.names.end()) report->ignored_columns.push_back(c);
  for (const Slot& s : slots.slots)
    if (s.role == SlotRole::kFeature &&
        std::find(input_columns.begin(), input_columns.end(), s.name) == input_columns.end())
      report->features_without_column.push_back(s.name);
}

Status RunIngest(Store& store, const std::string& view_name, const IngestOptions& options, IngestReport* report,
                 const Producer& produce, const std::function<std::string(uint64_t)>& where) {
  // Two threads: this one commits batch n while a reader parses batch n + 1 (parsing and
  // committing cost about the same, and the machine has two cores). At most one parsed batch
  // waits, so memory stays at about two batches.
  std::mutex mu;
  std::condition_variable changed;
  std::deque<ParsedBatch> ready;
  bool parse_done = false, stop = false;
  Status parse_status;
  std::atomic<uint64_t> records_read{0}, bytes_read{0};

  std::thread reader([&] {
    HandOver hand_over = [&](ParsedBatch&& p) -> bool {  // false when the committer has stopped
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return ready.empty() || stop; });
      if (stop) return false;
      ready.push_back(std::move(p));
      changed.notify_all();
      return true;
    };
    Status st;
    try {  // nothing may escape a thread: an exception (out of memory) is the input's error
      st = produce(hand_over, records_read, bytes_read);
    } catch (const std::exception& e) {
      st = Status::IOError(std::string("reading the input failed: ") + e.what());
    }
    std::lock_guard<std::mutex> lock(mu);
    parse_status = st;
    parse_done = true;
    changed.notify_all();
  });

  auto resume_hint = [&] {
    std::string s = std::to_string(report->records_committed) + " record(s) in " +
                    std::to_string(report->batches_committed) + " batch(es) " +
                    (options.dry_run ? "checked" : "committed") + " before this batch";
    if (report->records_committed && !options.dry_run)
      s += "; to resume after fixing it, rerun with --skip-records " +
           std::to_string(report->records_committed + options.skip_records);
    return s;
  };
  auto fail = [&](const Status& st) { return st.WithMessage(st.message() + " [" + resume_hint() + "]"); };
  auto progress = [&](bool done) {
    if (!options.progress) return;
    IngestProgress p;
    p.records = records_read.load(std::memory_order_relaxed);
    p.committed = report->records_committed;
    p.bytes = bytes_read.load(std::memory_order_relaxed);
    p.done = done;
    options.progress(p);
  };
  bool merge_warned = false;
  auto commit = [&](ParsedBatch& p) -> Status {
    if (!options.dry_run) {
      Result<CommitInfo> c = store.Append(view_name, p.batch, options.write);
      if (!c.ok()) {
        // The engine names the batch's row ("row 12"): translate it to the input's line.
        std::string msg = c.status().message();
        uint64_t line_of_row = p.positions.front();
        size_t at = msg.find(", row ");
        if (at != std::string::npos) {
          uint64_t row = std::strtoull(msg.c_str() + at + 6, nullptr, 10);
          if (row < p.positions.size()) line_of_row = p.positions[row];
        }
        return fail(c.status().WithMessage(where(line_of_row) + msg));
      }
      if (!c->merge.ok() && !merge_warned) {  // the batch is in; only the tail's merge waits
        std::cerr << "pitstore: warning: the merge after a commit failed (the commit stands; it is retried): "
                  << c->merge.ToString() << "\n";
        merge_warned = true;
      }
    }
    report->records_committed += p.rows;
    ++report->batches_committed;
    return Status::OK();
  };

  Status result;
  for (;;) {
    ParsedBatch p;
    {
      std::unique_lock<std::mutex> lock(mu);
      // Wake now and then to report progress while a long batch is parsed.
      while (!changed.wait_for(lock, std::chrono::milliseconds(200), [&] { return !ready.empty() || parse_done; }))
        if (options.progress) {
          lock.unlock();
          progress(false);
          lock.lock();
        }
      if (ready.empty()) {
        result = parse_status.ok() ? Status::OK() : fail(parse_status);
        break;
      }
      p = std::move(ready.front());
      ready.pop_front();
      changed.notify_all();
    }
    result = commit(p);
    if (!result.ok()) break;
    progress(false);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    changed.notify_all();
  }
  reader.join();
  // The merges the commits made due run on the store's thread: the ingest ends when they are
  // done, so the store is left merged as its limits say (a failure only warns: the rows are in).
  if (result.ok() && !options.dry_run)
    if (Status merged = store.WaitForMerges(); !merged.ok() && !merge_warned)
      std::cerr << "pitstore: warning: a merge after the commits failed (the commits stand; it is retried): "
                << merged.ToString() << "\n";
  report->records_read = records_read.load();
  report->bytes_read = bytes_read.load();
  if (result.ok()) progress(true);
  return result;
}

}  // namespace pitstore::workflow
