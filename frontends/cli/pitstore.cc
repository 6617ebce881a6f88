// pitstore: the command-line tool. Inspects, queries and maintains a store through the public
// API only. One file, over 400 lines: each subcommand is one function of argument handling and
// output (what it does lives in libpitstore_workflow and libpitstore_io), and main wires them.
//
//   pitstore init STORE                 create an empty store
//   pitstore apply STORE DEFS.yaml      create or evolve entities and views, in one commit
//   pitstore info STORE                 views, rows, blocks, bytes, compression, time ranges
//   pitstore verify STORE               every checksum and index entry; exit 3 on any problem
//   pitstore repair STORE               rebuild the index from the data file, then verify
//   pitstore ingest STORE VIEW FILE     CSV, JSON Lines or Parquet (CSV/JSON: - for stdin), in batches
//   pitstore join STORE LABELS          a training set: labels + features as of each label's time
//   pitstore dump STORE VIEW            every stored row (--out F.parquet: to Parquet), or --blocks
//   pitstore get STORE VIEW KEY...      latest [--now T], or --as-of T [--known-at K]
//   pitstore history STORE VIEW KEY     every version [--from T] [--to T] [--known-at K]
//   pitstore compact STORE [--full]     merge row batches (and segments) into segments
//   pitstore vacuum STORE               rewrite the file without superseded blocks
//   pitstore copy STORE DEST            a compacted copy with its index, to ship to a device
//
// Output: an aligned table, or --format csv|json (JSON Lines). Timestamps: RFC 3339 with an
// offset, or integer microseconds. A KEY is its join-key values joined by commas ("42,abc").
// Exit status: 0 ok, 1 error, 2 usage, 3 corruption found.
#include "pitstore.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pitstore/expression.h"
#include "pitstore/io/output_file.h"
#include "pitstore/io/parquet_tables.h"
#include "pitstore/io/parquet_writer.h"
#include "pitstore/io/record_source.h"
#include "pitstore/io/suggest.h"
#include "pitstore/io/text.h"
#include "pitstore/io/timestamps.h"
#include "pitstore/server/feature_server.h"
#include "pitstore/store.h"
#include "pitstore/workflow/definitions.h"
#include "pitstore/workflow/feature_report.h"
#include "pitstore/workflow/ingest.h"
#include "pitstore/workflow/joiner.h"
#include "pitstore/workflow/on_demand.h"
#include "pitstore/workflow/online_features.h"
#include "pitstore/workflow/sharded_store.h"
#include "pitstore/workflow/training_set.h"
#include "pitstore/workflow/view_export.h"

using namespace pitstore;
using pitstore::io::FormatTimestamp;
using pitstore::io::JsonString;

namespace {

constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitCorruption = 3, kExitStale = 4;

struct Cell {
  std::string text;   // for tables and CSV
  std::string json;   // a JSON value
  bool null = false;  // CSV: an unquoted empty field (an empty string is written "")
};

Cell Text(const std::string& s) { return {s, JsonString(s)}; }
Cell Number(const std::string& s) { return {s, s}; }
Cell Number(uint64_t v) { return Number(std::to_string(v)); }
Cell Time(Timestamp t) { return Text(FormatTimestamp(t)); }

// A join key's value: a number stays a number in JSON.
Cell KeyCell(const KeyPart& part) {
  return std::holds_alternative<int64_t>(part) ? Number(std::to_string(std::get<int64_t>(part)))
                                               : Text(std::get<std::string>(part));
}

Cell CellOf(const Value& v) {
  if (v.is_null()) return {"null", "null", true};
  if (IsListType(v.type())) {  // last_k: its items' JSON forms in a JSON array, as a join writes it
    std::string items = "[";
    for (size_t i = 0; i < v.as_list().size(); ++i) {
      if (i) items += ',';
      items += CellOf(v.as_list()[i]).json;
    }
    items += ']';
    return {items, items};
  }
  switch (v.type()) {
    case FeatureType::kString:
      return Text(v.as_string());
    case FeatureType::kBytes:
      return Text(v.ToString());  // 0x hex
    case FeatureType::kTimestamp:
      return Time(v.as_int64());
    case FeatureType::kBool:
      return {v.ToString(), v.ToString()};
    case FeatureType::kFloat32:
    case FeatureType::kFloat64: {
      std::string s = v.ToString();
      bool finite = s.find_first_of("ni") == std::string::npos;  // nan, inf
      return {s, finite ? s : JsonString(s)};
    }
    default:
      return Number(v.ToString());
  }
}

// Rows out as an aligned table (buffered: widths need every row), CSV or JSON Lines (streamed,
// so a dump of any size runs in bounded memory).
class Table {
 public:
  Table(std::vector<std::string> header, std::string format, std::ostream& out = std::cout)
      : header_(std::move(header)), format_(std::move(format)), out_(out) {
    if (format_ == "csv") WriteCsv(header_);
  }
  ~Table() { Finish(); }

  void Add(std::vector<Cell> row) {
    if (format_ == "json") {
      out_ << "{";
      for (size_t i = 0; i < row.size(); ++i) out_ << (i ? "," : "") << JsonString(header_[i]) << ":" << row[i].json;
      out_ << "}\n";
    } else if (format_ == "csv") {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) line.push_back(',');
        if (!row[i].null) io::AppendCsvField(row[i].text, true, &line);
      }
      out_ << line << "\n";
    } else {
      rows_.push_back(std::move(row));
    }
  }

  void Finish() {
    if (format_ != "table" || finished_) return;
    finished_ = true;
    std::vector<size_t> width(header_.size());
    for (size_t i = 0; i < header_.size(); ++i) width[i] = header_[i].size();
    for (const auto& row : rows_)
      for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].text.size());
    auto line = [&](auto get) {
      for (size_t i = 0; i < header_.size(); ++i) {
        std::string s = get(i);
        out_ << s << (i + 1 < header_.size() ? std::string(width[i] - s.size() + 2, ' ') : "");
      }
      out_ << "\n";
    };
    line([&](size_t i) { return header_[i]; });
    for (const auto& row : rows_) line([&](size_t i) { return row[i].text; });
  }

 private:
  void WriteCsv(const std::vector<std::string>& fields) {
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i) line.push_back(',');
      io::AppendCsvField(fields[i], false, &line);
    }
    out_ << line << "\n";
  }

  std::vector<std::string> header_;
  std::string format_;
  std::ostream& out_;
  std::vector<std::vector<Cell>> rows_;
  bool finished_ = false;
};

int Fail(const Status& st) {
  std::cerr << "pitstore: " << st.ToString() << "\n";
  return st.IsCorruption() ? kExitCorruption : kExitError;
}

// The shape of the segments this process writes (compact, copy); 0: the default.
struct SegmentShape {
  uint32_t page_rows = 0;
  uint32_t max_rows = 0;
  uint64_t max_bytes = 0;
};

Result<std::unique_ptr<Store>> OpenStore(const std::string& path, bool read_only, const SegmentShape& shape = {}) {
  Options o;
  o.create_if_missing = false;
  o.read_only = read_only;
  if (shape.page_rows) o.segment_page_rows = shape.page_rows;
  if (shape.max_rows) o.segment_max_rows = shape.max_rows;
  if (shape.max_bytes) o.segment_max_bytes = shape.max_bytes;
  return Store::Open(path, o);
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A time on the command line (already checked by TimestampValidator).
bool ParseTimeArgument(const std::string& s, Timestamp* t) { return pitstore::io::ParseTimeArgumentWhy(s, t).empty(); }

// A CLI11 validator for timestamps.
struct TimestampValidator : public CLI::Validator {
  TimestampValidator() {
    name_ = "TIME";
    func_ = [](const std::string& s) {
      Timestamp t;
      std::string why = pitstore::io::ParseTimeArgumentWhy(s, &t);
      return why.empty() ? std::string()
                         : "not a timestamp (RFC 3339 with an offset, or an integer count with its unit, "
                           "such as 1795000000s, ms, us or ns): " +
                               s + ": " + why;
    };
  }
};

// What get and history both start from: the store (read-only), the view, the features asked
// for (all when the list is empty).
struct ViewQuery {
  std::unique_ptr<Store> store;
  FeatureViewDef view;
  std::vector<std::string> features;
};

Result<ViewQuery> OpenView(const std::string& path, const std::string& view_name, const std::string& features) {
  ViewQuery q;
  PITSTORE_ASSIGN_OR_RETURN(q.store, OpenStore(path, true));
  PITSTORE_ASSIGN_OR_RETURN(q.view, q.store->GetView(view_name));
  q.features = SplitList(features);
  if (q.features.empty())
    for (const FeatureDef& f : q.view.features) q.features.push_back(f.name);
  return q;
}

int Init(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return Fail(Status::AlreadyExists(path + " exists"));
  auto store = Store::Open(path);
  if (!store.ok()) return Fail(store.status());
  std::cout << "created " << path << "\n";
  return kExitOk;
}

// `init --example DIR`: a working project, as `feast init` makes one: Feast's quickstart
// definitions (in Feast's vocabulary), a week of hourly driver statistics ending this hour,
// labels, and an empty store; it prints the commands that use them.
int InitExample(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return Fail(Status::AlreadyExists(dir + " exists"));
  if (::mkdir(dir.c_str(), 0755) != 0 || ::mkdir((dir + "/data").c_str(), 0755) != 0)
    return Fail(Status::IOError("cannot create " + dir + ": " + std::strerror(errno)));
  auto write = [&](const std::string& name, const std::string& text) -> Status {
    return io::WriteFileAtomically(dir + "/" + name, [&](FILE* f) {
      return std::fwrite(text.data(), 1, text.size(), f) == text.size() ? Status::OK()
                                                                        : Status::IOError("writing " + name);
    });
  };
  const std::string defs = R"(# Feast's quickstart definitions, in Feast's vocabulary (pitstore's own names work too).
entities:
  - name: driver
    join_keys: [driver_id]
    value_type: INT64
feature_views:
  - name: driver_hourly_stats
    entities: [driver]
    ttl: 1d
    schema:
      - {name: conv_rate, dtype: Float32}
      - {name: acc_rate, dtype: Float32}
      - {name: avg_daily_trips, dtype: Int64, description: Average daily trips}
    source:
      path: data/driver_stats.csv
      timestamp_field: event_timestamp
      created_timestamp_column: created
    tags: {team: driver_performance}
feature_services:
  - name: driver_activity_v1
    features: [driver_hourly_stats:conv_rate, driver_hourly_stats:avg_daily_trips]
)";
  const int64_t hour = 3600 * kMicrosPerSecond;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const int64_t last = now / hour * hour;
  std::string rows = "driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips\n";
  uint64_t state = 42;  // a fixed LCG: the same values in every project
  auto next = [&] { return (state = state * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; };
  size_t n = 0;
  for (int64_t t = last - 7 * 24 * hour; t <= last; t += hour)
    for (int driver = 1001; driver <= 1005; ++driver, ++n) {
      char line[160];
      std::snprintf(line, sizeof line, "%d,%s,%s,%.4f,%.4f,%llu\n", driver, FormatTimestamp(t).c_str(),
                    FormatTimestamp(t + 60 * kMicrosPerSecond).c_str(), (next() % 10000) / 10000.0,
                    (next() % 10000) / 10000.0, static_cast<unsigned long long>(next() % 1000));
      rows += line;
    }
  std::string labels = "driver_id,event_timestamp,trip_completed\n";
  for (int i = 0; i < 5; ++i)
    labels += std::to_string(1001 + i) + "," + FormatTimestamp(last - (i * 5 + 2) * hour - 30 * 60 * kMicrosPerSecond) +
              "," + std::to_string(i % 2) + "\n";
  const std::pair<const char*, const std::string*> files[] = {
      {"feature_repo.yaml", &defs}, {"data/driver_stats.csv", &rows}, {"labels.csv", &labels}};
  for (const auto& [name, text] : files)
    if (Status s = write(name, *text); !s.ok()) return Fail(s);
  const std::string store = dir + "/features.pit";
  auto opened = Store::Open(store);
  if (!opened.ok()) return Fail(opened.status());
  std::cout << "created " << dir << ": feature_repo.yaml, data/driver_stats.csv (" << n
            << " rows: 5 drivers, hourly, the last 7 days), labels.csv, features.pit\n"
            << "next:\n"
            << "  pitstore apply " << store << " " << dir << "/feature_repo.yaml\n"
            << "  pitstore ingest " << store << " driver_hourly_stats " << dir << "/data/driver_stats.csv\n"
            << "  pitstore get " << store << " driver_hourly_stats 1001 1002\n"
            << "  pitstore join " << store << " " << dir << "/labels.csv --service driver_activity_v1\n"
            << "  pitstore describe " << store << "\n";
  return kExitOk;
}

// `apply`, or with `plan` what apply would change, changing nothing (the store opens read-only).
int ApplyFile(const std::string& path, const std::string& file, bool plan) {
  pitstore::workflow::DefinitionPlaces places;
  auto defs = pitstore::workflow::LoadDefinitions(file, &places);
  if (!defs.ok()) return Fail(defs.status());
  auto store = OpenStore(path, plan);
  if (!store.ok()) return Fail(store.status());
  std::vector<std::string> changes;
  Status st = plan ? pitstore::workflow::PlanDefinitions(**store, *defs, places, &changes)
                   : pitstore::workflow::ApplyDefinitions(**store, *defs, places, &changes);
  if (!st.ok()) return Fail(st);
  for (const std::string& c : changes) std::cout << c << "\n";
  const std::string n = std::to_string(changes.size());
  std::cout << (changes.empty() ? "no changes"
                : plan          ? n + " change(s) to apply; nothing changed (run apply)"
                                : "applied " + n + " change(s)")
            << "\n";
  return kExitOk;
}

std::string WithCommas(uint64_t n);

std::string DurationText(int64_t micros) {
  if (micros == 0) return "none";
  static const std::pair<int64_t, const char*> kUnits[] = {{86400 * kMicrosPerSecond, "d"},
                                                           {3600 * kMicrosPerSecond, "h"},
                                                           {60 * kMicrosPerSecond, "m"},
                                                           {kMicrosPerSecond, "s"}};
  for (const auto& [unit, name] : kUnits)
    if (micros % unit == 0) return std::to_string(micros / unit) + name;
  return std::to_string(micros) + "us";
}

// A lag for people: "3d4h", "2h05m", "45s".
std::string LagText(int64_t micros) {
  if (micros < 0) return "-" + LagText(-micros);
  int64_t s = micros / kMicrosPerSecond;
  char buf[64];
  if (s >= 86400)
    std::snprintf(buf, sizeof buf, "%lldd%lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  else if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

// `freshness`: per view, the newest event and system times, the lag of the newest system time
// behind the clock, and the view's objective; exit 4 when a view with an objective is stale
// (or empty), for cron and monitoring.
int Freshness(const std::string& path, const std::string& now_text, const std::string& format) {
  auto store = OpenStore(path, true);
  if (!store.ok()) return Fail(store.status());
  auto stats = (*store)->Stats();
  if (!stats.ok()) return Fail(stats.status());
  Timestamp now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  if (!now_text.empty()) ParseTimeArgument(now_text, &now);
  bool any_stale = false;
  Table t({"view", "status", "lag", "objective", "newest_system_ts", "newest_event_ts", "rows"}, format);
  for (const StoreStats::View& v : stats->views) {
    auto view = (*store)->GetView(v.name);
    if (!view.ok()) return Fail(view.status());
    const bool empty = v.rows == 0;
    const int64_t lag = empty ? 0 : now - v.max_system_ts;
    const int64_t objective = view->freshness_us;
    const bool stale = objective > 0 && (empty || lag > objective);
    any_stale |= stale;
    const char* status = stale ? "stale" : objective == 0 ? "no_objective" : "fresh";
    t.Add({Text(v.name), Text(status), empty ? Cell{"-", "null", true} : Cell{LagText(lag), std::to_string(lag)},
           objective ? Cell{DurationText(objective), std::to_string(objective)} : Cell{"-", "null", true},
           empty ? Cell{"-", "null", true} : Time(v.max_system_ts),
           empty ? Cell{"-", "null", true} : Time(v.max_event_ts), Number(v.rows)});
  }
  t.Finish();
  return any_stale ? kExitStale : kExitOk;
}

// `describe`: what a view is (keys, time columns, TTL, features, services) and holds (rows,
// entities, event times); every view when none is named.
// An on-demand view: its request inputs, and each feature's result type and expression.
void DescribeOnDemand(const OnDemandViewDef& o, bool json) {
  if (json) {
    std::string out = "{\"on_demand_view\":" + JsonString(o.name) + ",\"request\":[";
    for (size_t i = 0; i < o.request.size(); ++i)
      out += std::string(i ? "," : "") + "{\"name\":" + JsonString(o.request[i].name) +
             ",\"type\":" + JsonString(ExpressionTypeName(o.request[i].type, o.request[i].dim)) + "}";
    out += "],\"features\":[";
    for (size_t i = 0; i < o.features.size(); ++i)
      out += std::string(i ? "," : "") + "{\"name\":" + JsonString(o.features[i].name) +
             ",\"type\":" + JsonString(ExpressionTypeName(o.features[i].type, o.features[i].dim)) +
             ",\"expression\":" + JsonString(o.features[i].expression) +
             ",\"description\":" + JsonString(o.features[i].description) + "}";
    std::cout << out << "],\"description\":" << JsonString(o.description) << "}\n";
    return;
  }
  std::cout << "on-demand view " << o.name << (o.description.empty() ? "" : ": " + o.description) << "\n";
  std::cout << "  request:   ";
  for (size_t i = 0; i < o.request.size(); ++i)
    std::cout << (i ? ", " : "") << o.request[i].name << " (" << ExpressionTypeName(o.request[i].type, o.request[i].dim)
              << ")";
  std::cout << (o.request.empty() ? "none" : "") << "\n  features:\n";
  size_t width = 0;
  for (const OnDemandFeatureDef& f : o.features) width = std::max(width, f.name.size());
  for (const OnDemandFeatureDef& f : o.features) {
    std::string t = ExpressionTypeName(f.type, f.dim);
    std::cout << "    " << f.name << std::string(width - f.name.size() + 2, ' ') << t
              << std::string(t.size() < 12 ? 12 - t.size() : 1, ' ') << "= " << f.expression << "\n";
  }
}

int Describe(const std::string& path, const std::string& only_view, const std::string& format) {
  auto store = OpenStore(path, true);
  if (!store.ok()) return Fail(store.status());
  Store& s = **store;
  auto stats = s.Stats();
  if (!stats.ok()) return Fail(stats.status());
  auto views = s.ListViews();
  if (!views.ok()) return Fail(views.status());
  auto on_demand = s.ListOnDemandViews();
  if (!on_demand.ok()) return Fail(on_demand.status());
  if (!only_view.empty()) {
    if (auto o = s.GetOnDemandView(only_view); o.ok()) {
      DescribeOnDemand(*o, format == "json");
      return kExitOk;
    }
    on_demand->clear();
    auto view = s.GetView(only_view);
    if (!view.ok()) return Fail(view.status());
    *views = {only_view};
  }
  auto services = s.ListServices();
  if (!services.ok()) return Fail(services.status());
  std::vector<FeatureServiceDef> service_defs;
  for (const std::string& name : *services) {
    auto sv = s.GetService(name);
    if (!sv.ok()) return Fail(sv.status());
    service_defs.push_back(*sv);
  }
  const bool json = format == "json";
  for (const std::string& name : *views) {
    auto view = s.GetView(name);
    if (!view.ok()) return Fail(view.status());
    auto keys = workflow::ViewKeyColumns(s, *view);
    if (!keys.ok()) return Fail(keys.status());
    StoreStats::View counts;
    for (const StoreStats::View& v : stats->views)
      if (v.name == name) counts = v;
    std::vector<std::string> used_by;
    for (const FeatureServiceDef& sv : service_defs)
      for (const std::string& f : sv.features)
        if (f.rfind(name + ":", 0) == 0) {
          used_by.push_back(sv.name);
          break;
        }
    const std::string event_col = workflow::ExportedEventColumn(*view);
    const std::string created_col = view->created_ts_column;
    auto type_name = [](const FeatureDef& f) {
      std::string t = FeatureTypeName(f.type);
      return f.dim ? t + "[" + std::to_string(f.dim) + "]" : t;
    };
    if (json) {
      std::string out = "{\"view\":" + JsonString(name) + ",\"entities\":[";
      for (size_t i = 0; i < view->entities.size(); ++i) out += (i ? "," : "") + JsonString(view->entities[i]);
      out += "],\"join_keys\":[";
      for (size_t i = 0; i < keys->size(); ++i)
        out += std::string(i ? "," : "") + "{\"name\":" + JsonString((*keys)[i].name) + ",\"type\":\"" +
               ((*keys)[i].type == KeyType::kInt64 ? "int64" : "string") + "\"}";
      out += "],\"event_timestamp\":" + JsonString(event_col) +
             ",\"created_timestamp\":" + (created_col.empty() ? "null" : JsonString(created_col)) +
             ",\"ttl_us\":" + std::to_string(view->ttl_us) + ",\"retention_us\":" + std::to_string(view->retention_us) +
             ",\"description\":" + JsonString(view->description) + ",\"owner\":" + JsonString(view->owner) +
             ",\"tags\":{";
      for (size_t i = 0; i < view->tags.size(); ++i)
        out += (i ? "," : "") + JsonString(view->tags[i].first) + ":" + JsonString(view->tags[i].second);
      out += "},\"features\":[";
      for (size_t i = 0; i < view->features.size(); ++i)
        out += std::string(i ? "," : "") + "{\"name\":" + JsonString(view->features[i].name) +
               ",\"type\":" + JsonString(type_name(view->features[i])) +
               ",\"description\":" + JsonString(view->features[i].description) + "}";
      out += "],\"services\":[";
      for (size_t i = 0; i < used_by.size(); ++i) out += (i ? "," : "") + JsonString(used_by[i]);
      out += "],\"rows\":" + std::to_string(counts.rows) + ",\"entity_count\":" + std::to_string(counts.entities) +
             ",\"min_event_ts\":" + (counts.rows ? JsonString(FormatTimestamp(counts.min_event_ts)) : "null") +
             ",\"max_event_ts\":" + (counts.rows ? JsonString(FormatTimestamp(counts.max_event_ts)) : "null") + "}";
      std::cout << out << "\n";
      continue;
    }
    std::cout << "view " << name << (view->description.empty() ? "" : ": " + view->description) << "\n";
    std::cout << "  key:       ";
    for (size_t i = 0; i < keys->size(); ++i)
      std::cout << (i ? ", " : "") << (*keys)[i].name << " ("
                << ((*keys)[i].type == KeyType::kInt64 ? "int64" : "string") << ")";
    std::cout << "   entities: ";
    for (size_t i = 0; i < view->entities.size(); ++i) std::cout << (i ? ", " : "") << view->entities[i];
    std::cout << "\n  times:     event " << event_col << ", system "
              << (created_col.empty() ? "the commit time (or a system_ts column)" : created_col) << "\n";
    std::cout << "  ttl:       " << DurationText(view->ttl_us) << "\n";
    std::cout << "  retention: " << (view->retention_us ? DurationText(view->retention_us) : "all history") << "\n";
    if (view->freshness_us) std::cout << "  freshness: " << DurationText(view->freshness_us) << " (objective)\n";
    if (!view->owner.empty()) std::cout << "  owner:     " << view->owner << "\n";
    if (!view->tags.empty()) {
      std::cout << "  tags:     ";
      for (const auto& [k, v] : view->tags) std::cout << " " << k << "=" << v;
      std::cout << "\n";
    }
    std::cout << "  rows:      " << WithCommas(counts.rows) << " (" << WithCommas(counts.entities) << " entities)";
    if (counts.rows)
      std::cout << ", event times " << FormatTimestamp(counts.min_event_ts) << " .. "
                << FormatTimestamp(counts.max_event_ts);
    std::cout << "\n  services:  ";
    for (size_t i = 0; i < used_by.size(); ++i) std::cout << (i ? ", " : "") << used_by[i];
    std::cout << (used_by.empty() ? "none" : "") << "\n  features:\n";
    size_t width = 0;
    for (const FeatureDef& f : view->features) width = std::max(width, f.name.size());
    for (const FeatureDef& f : view->features) {
      std::string t = type_name(f);
      std::cout << "    " << f.name << std::string(width - f.name.size() + 2, ' ') << t
                << (f.description.empty() ? "" : std::string(t.size() < 16 ? 16 - t.size() : 1, ' ') + f.description)
                << "\n";
    }
  }
  for (const std::string& name : *on_demand) {
    auto o = s.GetOnDemandView(name);
    if (!o.ok()) return Fail(o.status());
    DescribeOnDemand(*o, json);
  }
  return kExitOk;
}

// Writes text to `path` atomically (renamed into place when complete).
Status WriteTextFile(const std::string& path, const std::string& text) {
  return io::WriteFileAtomically(path, [&](FILE* f) {
    return std::fwrite(text.data(), 1, text.size(), f) == text.size() ? Status::OK()
                                                                      : Status::IOError(path + ": write failed");
  });
}

// A window of event times on the command line: FROM..TO, from FROM up to but not including TO
// (either side may be left out).
Status ParseWindow(const std::string& text, const std::string& option, SummarizeOptions* o) {
  const size_t dots = text.find("..");
  if (dots == std::string::npos)
    return Status::InvalidArgument(option + " '" + text + "': expected FROM..TO (event times; TO excluded)");
  const std::string from = text.substr(0, dots), to = text.substr(dots + 2);
  if (!from.empty()) {
    std::string why = io::ParseTimeArgumentWhy(from, &o->from);
    if (!why.empty()) return Status::InvalidArgument(option + ": " + why);
  }
  if (!to.empty()) {
    Timestamp t;
    std::string why = io::ParseTimeArgumentWhy(to, &t);
    if (!why.empty()) return Status::InvalidArgument(option + ": " + why);
    o->to = t - 1;
  }
  if (o->to < o->from) return Status::InvalidArgument(option + " '" + text + "': the window is empty");
  return Status::OK();
}

struct StatsArgs {
  std::string view, features, from, to, known_at, baseline, current, svg;
};

// `stats`: each feature's count, nulls, range, mean, spread and quantiles over a window of event
// times (from segment footers where a segment lies wholly inside it); with --baseline and
// --current, the drift between two windows (population stability index); --svg draws them.
int FeatureStatsCommand(const std::string& path, const StatsArgs& a, const std::string& format) {
  auto store = OpenStore(path, true);
  if (!store.ok()) return Fail(store.status());
  SummarizeOptions base;
  base.features = SplitList(a.features);
  if (!a.known_at.empty()) ParseTimeArgument(a.known_at, &base.known_at);
  auto fmt = [](double v) -> Cell {
    if (std::isnan(v)) return {"-", "null", true};
    char text[32], exact[32];  // tables and CSV round to 6 digits; JSON keeps every digit
    std::snprintf(text, sizeof text, "%.6g", v);
    std::snprintf(exact, sizeof exact, "%.17g", v);
    return Cell{text, exact};
  };
  if (a.baseline.empty() != a.current.empty())
    return Fail(Status::InvalidArgument("--baseline and --current go together (two windows to compare)"));
  if (!a.baseline.empty()) {
    if (!a.from.empty() || !a.to.empty())
      return Fail(
          Status::InvalidArgument("--from/--to select one window; with --baseline and --current leave them out"));
    SummarizeOptions b = base, c = base;
    Status st = ParseWindow(a.baseline, "--baseline", &b);
    if (st.ok()) st = ParseWindow(a.current, "--current", &c);
    if (!st.ok()) return Fail(st);
    auto first = (*store)->Summarize(a.view, b);
    if (!first.ok()) return Fail(first.status());
    auto second = (*store)->Summarize(a.view, c);
    if (!second.ok()) return Fail(second.status());
    Table t({"feature", "measure", "baseline_n", "current_n", "baseline_nulls", "current_nulls", "baseline_mean",
             "current_mean", "baseline_p50", "current_p50", "psi", "drift"},
            format);
    for (size_t i = 0; i < first->size(); ++i) {
      const FeatureSummary &x = (*first)[i], &y = (*second)[i];
      const double psi = PopulationStabilityIndex(x, y);
      t.Add({Text(x.feature), Text(MeasureName(x.measure)), Number(x.finite()), Number(y.finite()), Number(x.nulls),
             Number(y.nulls), fmt(x.mean), fmt(y.mean), fmt(x.Quantile(0.5)), fmt(y.Quantile(0.5)), fmt(psi),
             Text(workflow::DriftVerdict(psi))});
    }
    t.Finish();
    if (!a.svg.empty()) {
      workflow::HistogramOptions ho;
      ho.title = a.view + ": " + a.baseline + " against " + a.current;
      ho.first_label = "baseline " + a.baseline;
      ho.second_label = "current " + a.current;
      st = WriteTextFile(a.svg, workflow::HistogramSvg(*first, &*second, ho));
      if (!st.ok()) return Fail(st);
    }
    return kExitOk;
  }
  if (!a.from.empty()) ParseTimeArgument(a.from, &base.from);
  if (!a.to.empty()) ParseTimeArgument(a.to, &base.to);
  auto all = (*store)->Summarize(a.view, base);
  if (!all.ok()) return Fail(all.status());
  Table t({"feature", "type", "measure", "rows", "nulls", "non_finite", "min", "p01", "p25", "p50", "p75", "p99", "max",
           "mean", "stddev"},
          format);
  for (const FeatureSummary& f : *all) {
    // Timestamps read as times in tables and CSV (microseconds in JSON).
    const bool time = f.type == FeatureType::kTimestamp;
    auto at = [&](double v) {
      Cell c = fmt(v);
      if (time && !c.null) c.text = FormatTimestamp(static_cast<Timestamp>(std::llround(v)));
      return c;
    };
    t.Add({Text(f.feature), Text(FeatureTypeName(f.type)), Text(MeasureName(f.measure)), Number(f.rows),
           Number(f.nulls), Number(f.non_finite), at(f.min), at(f.Quantile(0.01)), at(f.Quantile(0.25)),
           at(f.Quantile(0.5)), at(f.Quantile(0.75)), at(f.Quantile(0.99)), at(f.max), at(f.mean), fmt(f.stddev())});
  }
  t.Finish();
  if (!a.svg.empty()) {
    workflow::HistogramOptions ho;
    ho.title = a.view + ": every stored version" +
               (a.from.empty() && a.to.empty() ? std::string() : ", event times " + a.from + " .. " + a.to);
    Status st = WriteTextFile(a.svg, workflow::HistogramSvg(*all, nullptr, ho));
    if (!st.ok()) return Fail(st);
  }
  return kExitOk;
}

int Info(const std::string& path, const std::string& format) {
  auto store = OpenStore(path, true);
  if (!store.ok()) return Fail(store.status());
  auto stats = (*store)->Stats();
  if (!stats.ok()) return Fail(stats.status());
  if (format == "table") {
    std::cout << path << ": " << stats->file_bytes << " bytes, " << stats->live_bytes << " live, commit "
              << stats->commit_seq << "\n";
    // What the file's required feature bits let its segments hold (FORMAT.md 1.3); a file
    // without them all keeps its layout until a copy or vacuum.
    const uint64_t bits = stats->required_features;
    std::string layout;
    auto add = [&](const char* what) { layout += std::string(layout.empty() ? "" : ", ") + what; };
    if (bits & 4)
      add("segment time chunks in frames of 64 rows");
    else if (bits & 1)
      add("segment time chunks with restart points");
    if (bits & 2) add("int64 keys as differences");
    if (layout.empty()) layout = "written before restart points";
    layout += " (required features " + std::to_string(bits) + ")";
    if ((bits & 6) != 6) layout += ": `pitstore copy` or `vacuum` makes point reads and joins of its segments faster";
    std::cout << "layout: " << layout << "\n";
    const StoreStats::Merges& m = stats->merges;
    if (m.count > 0) {
      char line[512];
      std::snprintf(line, sizeof line,
                    "merges: %s (rows %s -> %s, bytes %s -> %s, %.2f s); last at %s: %s rows, %s -> %s bytes, "
                    "%.2f s\n",
                    WithCommas(m.count).c_str(), WithCommas(m.rows_in).c_str(), WithCommas(m.rows_out).c_str(),
                    WithCommas(m.bytes_in).c_str(), WithCommas(m.bytes_out).c_str(), m.micros / 1e6,
                    FormatTimestamp(m.last_at).c_str(), WithCommas(m.last_rows_in).c_str(),
                    WithCommas(m.last_bytes_in).c_str(), WithCommas(m.last_bytes_out).c_str(), m.last_micros / 1e6);
      std::cout << line;
    }
  }
  Table t({"view", "rows", "entities", "row_batches", "segments", "stored_bytes", "raw_bytes", "ratio", "min_event_ts",
           "max_event_ts"},
          format);
  for (const StoreStats::View& v : stats->views) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2f", v.stored_bytes ? double(v.raw_bytes) / double(v.stored_bytes) : 0.0);
    bool any = v.rows > 0;
    t.Add({Text(v.name), Number(v.rows), Number(v.entities), Number(v.row_blocks), Number(v.segments),
           Number(v.stored_bytes), Number(v.raw_bytes), Number(ratio), any ? Time(v.min_event_ts) : Cell{"-", "null"},
           any ? Time(v.max_event_ts) : Cell{"-", "null"}});
  }
  t.Finish();
  if (format == "table") {
    auto services = (*store)->ListServices();
    if (!services.ok()) return Fail(services.status());
    for (const std::string& name : *services) {
      auto sv = (*store)->GetService(name);
      if (!sv.ok()) return Fail(sv.status());
      std::cout << "service " << name << ":";
      for (const std::string& f : sv->features) std::cout << " " << f;
      std::cout << "\n";
    }
  }
  return kExitOk;
}

int PrintReport(const VerifyReport& report) {
  for (const std::string& p : report.problems) std::cout << "problem: " << p << "\n";
  if (report.pending_transactions)
    std::cout << "pending: " << report.pending_transactions << " committed transaction(s), " << report.pending_bytes
              << " bytes, not yet in the index (a writer stopped, or is at work); readers see them, and the "
                 "next read-write open publishes them\n";
  if (!report.torn_tail.empty())
    std::cout << "torn tail: " << report.torn_tail
              << " (a write cut short; the next read-write open removes it, and nothing committed is lost)\n";
  std::cout << (report.ok() ? "ok: " : "FAILED: ") << report.blocks_checked << " blocks, " << report.rows_checked
            << " rows, " << report.index_entries_checked << " index entries checked\n";
  return report.ok() ? kExitOk : kExitCorruption;
}

int Verify(const std::string& path) {
  auto store = OpenStore(path, true);
  if (!store.ok()) return Fail(store.status());
  auto report = (*store)->Verify();
  if (!report.ok()) return Fail(report.status());
  return PrintReport(*report);
}

// The index is derived data: rebuilding it mends any damage to it. Damage inside the data file
// (a flipped byte before later commits) cannot be mended here and is reported, file untouched.
int Repair(const std::string& path) {
  std::string index_path = path + "-index";
  auto store = OpenStore(path, false);
  if (!store.ok() && store.status().IsCorruption()) {
    // A damaged index (or one that describes a longer file): move it aside and build a new one
    // from the data file. Anything else (Busy: a writer has the store) is not damage.
    std::string aside = index_path + ".damaged";
    if (::rename(index_path.c_str(), aside.c_str()) == 0) {
      std::cout << "moved the unreadable index to " << aside << "\n";
      ::unlink((index_path + "-lock").c_str());
      store = OpenStore(path, false);
    }
  }
  if (!store.ok()) return Fail(store.status());
  Status st = (*store)->RebuildIndex();
  if (!st.ok()) return Fail(st);
  std::cout << "rebuilt " << index_path << " from " << path << "\n";
  auto report = (*store)->Verify();
  if (!report.ok()) return Fail(report.status());
  return PrintReport(*report);
}

// Keys from the command line, then from --keys FILE ('-': standard input).
Result<std::vector<EntityKey>> KeysToGet(Store& store, const FeatureViewDef& view,
                                         const std::vector<std::string>& key_texts, const std::string& keys_file,
                                         const std::string& input_format) {
  std::vector<EntityKey> keys;
  for (const std::string& text : key_texts) {
    PITSTORE_ASSIGN_OR_RETURN(EntityKey key, workflow::KeyFromText(store, view, text));
    keys.push_back(std::move(key));
  }
  if (!keys_file.empty()) {
    io::SourceFormat format = io::SourceFormatOfPath(keys_file);
    if (!input_format.empty()) {
      PITSTORE_ASSIGN_OR_RETURN(format, io::SourceFormatNamed(input_format));
    }
    PITSTORE_ASSIGN_OR_RETURN(std::unique_ptr<io::RecordSource> source, io::OpenRecordSource(keys_file, format));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<EntityKey> more, workflow::KeysFromSource(store, view, *source));
    keys.insert(keys.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  if (keys.empty() && keys_file.empty()) return Status::InvalidArgument("no keys: give KEY... or --keys FILE");
  return keys;
}

// Whether `view` names an on-demand view of the store (read by GetFeatures, not Get).
bool IsOnDemandView(const std::string& path, const std::string& view) {
  if (view.empty()) return false;
  auto store = OpenStore(path, true);
  return store.ok() && (*store)->GetOnDemandView(view).ok();
}

// `get --service`: a feature service's features across its views (Feast's
// get_online_features), for entity rows keyed by the union of the views' join keys.
// Also an on-demand view's features (`get STORE ON_DEMAND_VIEW KEY... --request name=value`),
// for keys of the views its expressions read.
int GetFeatures(const std::string& path, const workflow::FeatureRequest& request,
                const std::vector<std::string>& key_texts, const std::string& keys_file,
                const std::string& input_format, const std::string& as_of, const std::string& known_at,
                const std::string& now, const std::vector<std::string>& request_values, const std::string& format) {
  auto store = OpenStore(path, true);
  if (!store.ok()) return Fail(store.status());
  Store& s = **store;
  auto refs = workflow::ResolveFeatures(s, request);
  if (!refs.ok()) return Fail(refs.status());
  auto plan = workflow::OnDemandPlan::Make(s, *refs);
  if (!plan.ok()) return Fail(plan.status());
  // --request name=value: typed by the request input it names.
  workflow::EntityRows rows;
  for (const std::string& nv : request_values) {
    size_t eq = nv.find('=');
    const std::string name = nv.substr(0, eq);
    const RequestInputDef* input = nullptr;
    std::string known;
    for (const RequestInputDef& in : plan->request_inputs()) {
      if (in.name == name) input = &in;
      known += (known.empty() ? "" : ", ") + in.name;
    }
    if (eq == std::string::npos || !input)
      return Fail(Status::InvalidArgument("--request '" + nv + "': " +
                                          (eq == std::string::npos
                                               ? std::string("expected name=value")
                                               : "no request input '" + name + "' (the requested features read: " +
                                                     (known.empty() ? std::string("none") : known) + ")")));
    auto value = workflow::RequestValueFromText(*input, nv.substr(eq + 1));
    if (!value.ok()) return Fail(value.status().WithMessage("--request: " + value.status().message()));
    rows.request.emplace_back(name, std::vector<Value>{std::move(value).value()});
  }
  // The entity rows' columns: every entity of the views read, once, in first-use order.
  FeatureViewDef keys_of;  // only its entities matter: its key columns are their join keys
  for (const workflow::FeatureRef& r : plan->stored()) {
    auto view = s.GetView(r.view);
    if (!view.ok()) return Fail(view.status());
    for (const std::string& e : view->entities)
      if (std::find(keys_of.entities.begin(), keys_of.entities.end(), e) == keys_of.entities.end())
        keys_of.entities.push_back(e);
  }
  keys_of.name = request.service.empty() ? "the requested features" : "service '" + request.service + "'";
  auto key_columns = workflow::ViewKeyColumns(s, keys_of);
  if (!key_columns.ok()) return Fail(key_columns.status());
  Result<std::vector<EntityKey>> keys = std::vector<EntityKey>{EntityKey{}};  // no views read: one row
  if (!keys_of.entities.empty()) keys = KeysToGet(s, keys_of, key_texts, keys_file, input_format);
  if (!keys.ok()) return Fail(keys.status());
  for (size_t c = 0; c < key_columns->size(); ++c) {
    std::vector<KeyPart> values;
    for (const EntityKey& k : *keys) values.push_back(k[c]);
    rows.columns.emplace_back((*key_columns)[c].name, std::move(values));
  }
  workflow::OnlineOptions o;
  if (!as_of.empty()) ParseTimeArgument(as_of, &o.as_of);
  if (!known_at.empty()) ParseTimeArgument(known_at, &o.known_at);
  if (!now.empty()) ParseTimeArgument(now, &o.read.now);
  auto online = workflow::GetOnlineFeatures(s, *refs, rows, o);
  if (!online.ok()) return Fail(online.status());
  // The keys, each feature's value (null unless present), and the features that were not
  // present with why (expired, not_found).
  std::vector<std::string> header;
  for (const JoinKeyDef& c : *key_columns) header.push_back(c.name);
  for (const workflow::OnlineFeatureColumn& f : online->features) header.push_back(f.ref.output_name);
  header.push_back("missing");
  Table table(header, format);
  for (size_t i = 0; i < online->rows; ++i) {
    std::vector<Cell> row;
    for (const KeyPart& part : (*keys)[i]) row.push_back(KeyCell(part));
    std::string missing;
    for (const workflow::OnlineFeatureColumn& f : online->features) {
      row.push_back(CellOf(f.values[i]));
      if (f.statuses[i] == ValueStatus::kExpired || f.statuses[i] == ValueStatus::kNotFound)
        missing += (missing.empty() ? "" : " ") + f.ref.output_name + ":" + ValueStatusName(f.statuses[i]);
    }
    row.push_back(missing.empty() ? Cell{"-", "null", true} : Text(missing));
    table.Add(std::move(row));
  }
  return kExitOk;
}

int Get(const std::string& path, const std::string& view_name, const std::vector<std::string>& key_texts,
        const std::string& keys_file, const std::string& input_format, const std::string& as_of,
        const std::string& known_at, const std::string& now, const std::string& features, const std::string& format) {
  auto q = OpenView(path, view_name, features);
  if (!q.ok()) return Fail(q.status());
  Store* store = q->store.get();
  const FeatureViewDef& view = q->view;
  const std::vector<std::string>& wanted = q->features;
  Timestamp t = kMaxTimestamp, k = kMaxTimestamp;
  if (!as_of.empty()) ParseTimeArgument(as_of, &t);
  if (!known_at.empty()) ParseTimeArgument(known_at, &k);
  ReadOptions ro;
  if (!now.empty()) ParseTimeArgument(now, &ro.now);
  auto keys = KeysToGet(*store, view, key_texts, keys_file, input_format);
  if (!keys.ok()) return Fail(keys.status());
  auto key_columns = workflow::ViewKeyColumns(*store, view);
  if (!key_columns.ok()) return Fail(key_columns.status());
  // Every key from one snapshot: a writer's batch is seen whole or not at all, for all of them.
  auto snapshot = store->GetSnapshot();
  if (!snapshot.ok()) return Fail(snapshot.status());
  ro.snapshot = snapshot->get();
  // The join keys by name (typed in JSON), then the row's status: present, expired or
  // not_found (the vocabulary of the per-value statuses, the C API and Python).
  std::vector<std::string> header;
  for (const JoinKeyDef& c : *key_columns) header.push_back(c.name);
  for (const char* name : {"status", "event_ts", "system_ts"}) header.push_back(name);
  header.insert(header.end(), wanted.begin(), wanted.end());
  Table table(header, format);
  for (const EntityKey& key : *keys) {
    Result<Lookup> r = as_of.empty() && known_at.empty() ? store->Latest(view_name, key, wanted, ro)
                                                         : store->AsOf(view_name, key, t, k, wanted, ro);
    if (!r.ok()) return Fail(r.status());
    const bool expired = r->found && std::any_of(r->status.begin(), r->status.end(),
                                                 [](ValueStatus s) { return s == ValueStatus::kExpired; });
    std::vector<Cell> row;
    for (const KeyPart& part : key) row.push_back(KeyCell(part));
    row.push_back(Text(!r->found ? "not_found" : expired ? "expired" : "present"));
    row.push_back(r->found ? Time(r->event_ts) : Cell{"-", "null", true});
    row.push_back(r->found ? Time(r->system_ts) : Cell{"-", "null", true});
    for (const Value& v : r->values) row.push_back(CellOf(v));
    table.Add(std::move(row));
  }
  return kExitOk;
}

int History(const std::string& path, const std::string& view_name, const std::string& key_text, const std::string& from,
            const std::string& to, const std::string& known_at, const std::string& features,
            const std::string& format) {
  auto q = OpenView(path, view_name, features);
  if (!q.ok()) return Fail(q.status());
  const std::vector<std::string>& wanted = q->features;
  auto key = workflow::KeyFromText(*q->store, q->view, key_text);
  if (!key.ok()) return Fail(key.status());
  Timestamp lo = kMinTimestamp, hi = kMaxTimestamp, k = kMaxTimestamp;
  if (!from.empty()) ParseTimeArgument(from, &lo);
  if (!to.empty()) ParseTimeArgument(to, &hi);
  if (!known_at.empty()) ParseTimeArgument(known_at, &k);
  auto rows = q->store->History(view_name, *key, lo, hi, k, wanted);
  if (!rows.ok()) return Fail(rows.status());
  std::vector<std::string> header = {"event_ts", "system_ts"};
  header.insert(header.end(), wanted.begin(), wanted.end());
  Table table(header, format);
  for (const VersionedRow& r : *rows) {
    std::vector<Cell> row = {Time(r.event_ts), Time(r.system_ts)};
    for (const Value& v : r.values) row.push_back(CellOf(v));
    table.Add(std::move(row));
  }
  return kExitOk;
}

std::string WithCommas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// What the user may not have meant: columns skipped, features left null (a misspelled
// feature column is both).
void WarnAboutColumns(const std::string& view, const workflow::IngestReport& report) {
  auto list = [](const std::vector<std::string>& names, const std::vector<std::string>& others) {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "'" : ", '") + n + "'" + io::DidYouMean(n, others);
    return s;
  };
  if (!report.ignored_columns.empty())
    std::cerr << "pitstore: warning: ignored " << report.ignored_columns.size() << " column(s) that view '" << view
              << "' does not have: " << list(report.ignored_columns, report.features_without_column) << "\n";
  if (!report.features_without_column.empty())
    std::cerr << "pitstore: warning: " << report.features_without_column.size() << " feature(s) of view '" << view
              << "' had no column and were stored as null: " << list(report.features_without_column, {}) << "\n";
}

void WarnAboutNullLabels(uint64_t null_labels) {
  if (null_labels)
    std::cerr << "pitstore: warning: " << WithCommas(null_labels)
              << " label(s) with a null key or time were kept with null features\n";
}

// No unit named: microseconds, refusing counts outside 1990-2099 (seconds read as microseconds
// would land in January 1970 without a word).
workflow::EpochUnit EpochUnitOf(const std::string& unit) {
  return unit == "s"    ? workflow::EpochUnit::kSeconds
         : unit == "ms" ? workflow::EpochUnit::kMillis
         : unit == "us" ? workflow::EpochUnit::kMicros
         : unit == "ns" ? workflow::EpochUnit::kNanos
                        : workflow::EpochUnit::kUnstated;
}

// Opens an input file as the format named by --input-format, else by its extension.
Result<std::unique_ptr<io::RecordSource>> OpenInput(const std::string& file, const std::string& format) {
  io::SourceFormat f = io::SourceFormatOfPath(file);
  if (!format.empty()) {
    PITSTORE_ASSIGN_OR_RETURN(f, io::SourceFormatNamed(format));
  }
  return io::OpenRecordSource(file, f);
}

struct IngestArgs {
  std::string format;  // csv, jsonl, or empty: by the file's extension
  size_t batch_rows = 100'000;
  bool ignore_extra = false, dry_run = false, no_sync = false;
  uint64_t skip_records = 0;
  std::string epoch_unit, event_ts_column, created_ts_column, progress = "auto", timezone;
};

int IngestFile(const std::string& path, const std::string& view, const std::string& file, const IngestArgs& a) {
  // A dry run writes nothing, so it opens the store read-only (and runs beside a writer).
  auto store = OpenStore(path, a.dry_run);
  if (!store.ok()) return Fail(store.status());
  // Parquet is read as tables (typed columns, only those the view uses); CSV and JSON Lines as
  // records.
  io::SourceFormat format = io::SourceFormatOfPath(file);
  if (!a.format.empty()) {
    auto named = io::SourceFormatNamed(a.format);
    if (!named.ok()) return Fail(named.status());
    format = *named;
  }
  std::unique_ptr<io::RecordSource> records;
  std::unique_ptr<io::ParquetTableReader> tables;
  if (format == io::SourceFormat::kParquet) {
    if (file == "-") return Fail(Status::InvalidArgument("Parquet cannot be read from standard input (name the file)"));
    auto opened = io::OpenParquetTables(file);
    if (!opened.ok()) return Fail(opened.status());
    tables = std::move(opened).value();
  } else {
    auto opened = io::OpenRecordSource(file, format);
    if (!opened.ok()) return Fail(opened.status());
    records = std::move(opened).value();
  }
  workflow::IngestOptions o;
  o.batch_rows = a.batch_rows;
  o.ignore_extra_columns = a.ignore_extra;
  o.dry_run = a.dry_run;
  o.skip_records = a.skip_records;
  o.event_ts_column = a.event_ts_column;
  o.created_ts_column = a.created_ts_column;
  o.write.sync = !a.no_sync;
  o.timezone = a.timezone;
  o.epoch_unit = EpochUnitOf(a.epoch_unit);
  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  bool bar = a.progress == "always" || (a.progress == "auto" && ::isatty(STDERR_FILENO));
  double last_draw = -1;
  if (bar) {
    o.progress = [&](const workflow::IngestProgress& p) {
      double t = seconds();
      if (!p.done && t - last_draw < 0.2) return;
      last_draw = t;
      char line[160];
      std::snprintf(line, sizeof line, "\r%s records, %s committed, %.0f records/s, %.1f MB read%s",
                    WithCommas(p.records).c_str(), WithCommas(p.committed).c_str(), t > 0 ? p.records / t : 0.0,
                    p.bytes / 1e6, p.done ? "\n" : "");
      std::cerr << line << std::flush;
    };
  }
  workflow::IngestReport report;
  Status st = tables ? workflow::IngestTables(**store, view, *tables, tables->name(), o, &report)
                     : workflow::Ingest(**store, view, *records, o, &report);
  if (bar && !st.ok()) std::cerr << "\n";
  if (!st.ok()) return Fail(st);
  WarnAboutColumns(view, report);
  double t = seconds();
  std::cout << (a.dry_run ? "dry run: " + WithCommas(report.records_committed) + " record(s) valid, nothing written"
                          : "ingested " + WithCommas(report.records_committed) + " record(s) in " +
                                WithCommas(report.batches_committed) + " batch(es)")
            << (a.skip_records ? " (" + WithCommas(std::min(a.skip_records, report.records_read)) + " skipped)" : "")
            << "; " << WithCommas(report.bytes_read) << " bytes in " << std::to_string(t).substr(0, 5) << " s\n";
  return kExitOk;
}

int Dump(const std::string& path, const std::string& view_name, bool blocks, const std::string& known_at,
         const std::string& features, uint64_t limit, const std::string& format, const std::string& out) {
  auto q = OpenView(path, view_name, features);
  if (!q.ok()) return Fail(q.status());
  if (!out.empty() && (blocks || format != "table"))
    return Fail(Status::InvalidArgument(
        "--out writes rows in the format its name says (.parquet, .csv, .jsonl); it goes without --blocks and "
        "--format"));
  if (blocks) {
    auto list = q->store->ListBlocks(view_name);
    if (!list.ok()) return Fail(list.status());
    Table t({"offset", "kind", "rows", "pages", "page_rows", "stored_bytes", "raw_bytes", "ratio", "min_event_ts",
             "max_event_ts"},
            format);
    for (const BlockInfo& b : *list) {
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2f", b.stored_bytes ? double(b.raw_bytes) / double(b.stored_bytes) : 0.0);
      t.Add({Number(b.offset), Text(b.segment ? "segment" : "row_batch"), Number(b.rows), Number(b.pages),
             Number(b.page_rows), Number(b.stored_bytes), Number(b.raw_bytes), Number(ratio), Time(b.min_event_ts),
             Time(b.max_event_ts)});
    }
    return kExitOk;
  }
  auto key_columns = workflow::ViewKeyColumns(*q->store, q->view);
  if (!key_columns.ok()) return Fail(key_columns.status());
  std::vector<std::string> header;
  for (const JoinKeyDef& k : *key_columns) header.push_back(k.name);
  header.push_back(workflow::ExportedEventColumn(q->view));
  header.push_back(workflow::ExportedSystemColumn(q->view));
  header.insert(header.end(), q->features.begin(), q->features.end());
  Timestamp k = kMaxTimestamp;
  if (!known_at.empty()) ParseTimeArgument(known_at, &k);
  // Files, CSV and JSON Lines: the export, which ingests back to the same rows; the aligned
  // table is for people.
  if (!out.empty() || format != "table") {
    workflow::ViewExportOptions eo;
    eo.features = q->features;
    eo.known_at = k;
    eo.limit = limit;
    const io::SourceFormat f = !out.empty()       ? io::SourceFormatOfPath(out)
                               : format == "json" ? io::SourceFormat::kJsonLines
                                                  : io::SourceFormat::kCsv;
    eo.format = f == io::SourceFormat::kParquet     ? workflow::ExportFormat::kParquet
                : f == io::SourceFormat::kJsonLines ? workflow::ExportFormat::kJsonLines
                                                    : workflow::ExportFormat::kCsv;
    if (!out.empty() && f == io::SourceFormat::kCsv && !EndsWith(out, ".csv"))
      return Fail(Status::InvalidArgument("--out " + out +
                                          ": the name must say the format: .parquet (or .pq), .csv, or .jsonl "
                                          "(.ndjson, .json)"));
    Status st = out.empty() ? workflow::ExportView(*q->store, view_name, eo, stdout)
                            : io::WriteFileAtomically(out, [&](FILE* file) {
                                return workflow::ExportView(*q->store, view_name, eo, file);
                              });
    if (!st.ok()) return Fail(st);
    return kExitOk;
  }
  Table table(header, format);
  uint64_t n = 0;
  Status st = q->store->Scan(
      view_name,
      [&](const EntityKey& key, const VersionedRow& r) {
        if (n >= limit) return false;
        std::vector<Cell> row;
        for (const KeyPart& part : key) row.push_back(KeyCell(part));
        row.push_back(Time(r.event_ts));
        row.push_back(Time(r.system_ts));
        for (const Value& v : r.values) row.push_back(CellOf(v));
        table.Add(std::move(row));
        return ++n < limit;
      },
      k, q->features);
  if (!st.ok()) return Fail(st);
  return kExitOk;
}

// `drop`: a view and all its rows (with --force when it holds rows).
int Drop(const std::string& path, const std::string& view_name, const std::string& feature, bool force) {
  auto store = OpenStore(path, false);
  if (!store.ok()) return Fail(store.status());
  if (!feature.empty()) {
    // Dropping a feature loses its values: always asked for explicitly.
    SummarizeOptions so;
    so.features = {feature};
    auto held = (*store)->Summarize(view_name, so);
    if (!held.ok()) return Fail(held.status());
    const uint64_t values = (*held)[0].rows - (*held)[0].nulls;
    if (!force)
      return Fail(Status::InvalidArgument("feature '" + feature + "' of view '" + view_name + "' holds " +
                                          WithCommas(values) + " value(s): add --force to drop it with them"));
    if (Status st = (*store)->DropFeature(view_name, feature); !st.ok()) return Fail(st);
    std::cout << "dropped feature '" << feature << "' of view '" << view_name << "' and its " << WithCommas(values)
              << " value(s); their bytes stay in the data file until `pitstore compact --full` and `pitstore "
                 "vacuum`\n";
    return kExitOk;
  }
  auto stats = (*store)->Stats();
  if (!stats.ok()) return Fail(stats.status());
  uint64_t rows = 0;
  for (const StoreStats::View& v : stats->views)
    if (v.name == view_name) rows = v.rows;
  if (auto view = (*store)->GetView(view_name); !view.ok()) return Fail(view.status());
  if (rows > 0 && !force)
    return Fail(Status::InvalidArgument("view '" + view_name + "' holds " + WithCommas(rows) +
                                        " row(s): add --force to drop them with it"));
  if (Status st = (*store)->DropView(view_name); !st.ok()) return Fail(st);
  std::cout << "dropped view '" << view_name << "' and its " << WithCommas(rows)
            << " row(s); their bytes stay in the data file until `pitstore vacuum`\n";
  return kExitOk;
}

// `delete`: erasure of every version of the given keys.
int Delete(const std::string& path, const std::string& view_name, const std::vector<std::string>& key_texts,
           const std::string& keys_file, const std::string& input_format) {
  auto store = OpenStore(path, false);
  if (!store.ok()) return Fail(store.status());
  auto view = (*store)->GetView(view_name);
  if (!view.ok()) return Fail(view.status());
  auto keys = KeysToGet(**store, *view, key_texts, keys_file, input_format);
  if (!keys.ok()) return Fail(keys.status());
  auto removed = (*store)->Delete(view_name, *keys);
  if (!removed.ok()) return Fail(removed.status());
  std::cout << "deleted " << WithCommas(*removed) << " row(s) of " << WithCommas(keys->size()) << " key(s) from view '"
            << view_name << "': no read returns them, whatever its known-at; their bytes "
            << "stay in the data file until `pitstore vacuum`\n";
  return kExitOk;
}

struct JoinArgs {
  std::string labels, out = "-", features, service, input_format, output_format, known_at = "now";
  std::string label_time_column, epoch_unit, progress = "auto", plan = "auto", timezone;
  bool full_names = false;
  int threads = 2;
  size_t chunk_labels = 10'000'000;
};

// Parquet labels to a Parquet training set: typed columns all the way (labels keep their
// Parquet types), through workflow::JoinTables.
int JoinParquetTables(Store& store, const JoinArgs& a, const workflow::TrainingSetOptions& o) {
  auto start = std::chrono::steady_clock::now();
  auto labels = io::OpenParquetTables(a.labels);
  if (!labels.ok()) return Fail(labels.status());
  auto joiner = workflow::TrainingSetJoiner::Open(store, o.request, o.join);
  if (!joiner.ok()) return Fail(joiner.status());
  const size_t features = (*joiner)->features().size();
  if (!o.timezone.empty())  // naive TIMESTAMP label columns are local times of that zone
    if (Status st = io::ReadNaiveTimesIn(o.timezone, **labels); !st.ok()) return Fail(st);
  workflow::JoinTablesOptions jo;
  jo.label_time_column = o.label_time_column;
  jo.epoch_unit = o.epoch_unit;
  jo.chunk_labels = o.chunk_labels;
  workflow::JoinTablesReport report;
  auto joined = workflow::JoinTables(std::move(joiner).value(), std::move(labels).value(), jo, &report);
  if (!joined.ok()) return Fail(joined.status());
  Status st = io::WriteFileAtomically(a.out, [&](FILE* out) { return io::WriteParquet(**joined, out); });
  if (!st.ok()) return Fail(st);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "joined %s labels with %zu feature(s)%s: %.2f s (Parquet in and out, as tables)\n",
               WithCommas(report.labels).c_str(), features,
               report.chunks > 1 ? (" in " + WithCommas(report.chunks) + " chunks").c_str() : "", secs);
  WarnAboutNullLabels(report.null_labels);
  return kExitOk;
}

// One store, or a sharded one: a directory, or a file named MANIFEST (format/SHARDS.md), opened
// read-only whatever `read_only` says (its shards change by builds). One of the two is set.
struct OpenedStore {
  std::unique_ptr<Store> single;
  std::shared_ptr<workflow::ShardedStore> shards;
};
Result<OpenedStore> OpenStoreOrShards(const std::string& path, bool read_only) {
  OpenedStore out;
  struct stat st_path;
  if ((::stat(path.c_str(), &st_path) == 0 && S_ISDIR(st_path.st_mode)) ||
      (path.size() >= 8 && path.compare(path.size() - 8, 8, "MANIFEST") == 0)) {
    PITSTORE_ASSIGN_OR_RETURN(out.shards, workflow::ShardedStore::Open(path));
  } else {
    PITSTORE_ASSIGN_OR_RETURN(out.single, OpenStore(path, read_only));
  }
  return out;
}

int JoinFile(const std::string& path, const JoinArgs& a) {
  // One store, or a sharded one (each label joined by its key's shard).
  auto opened = OpenStoreOrShards(path, true);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<Store> single = std::move(opened->single);
  std::shared_ptr<workflow::ShardedStore> shards = std::move(opened->shards);
  workflow::TrainingSetOptions o;
  o.request.service = a.service;
  o.request.features = SplitList(a.features);
  if (o.request.features.empty() && a.service.empty())
    return Fail(Status::InvalidArgument("name the features: --features view:f,... or --service"));
  o.label_time_column = a.label_time_column;
  o.timezone = a.timezone;
  o.epoch_unit = EpochUnitOf(a.epoch_unit);
  o.request.full_feature_names = a.full_names;
  o.join.threads = a.threads;
  o.join.plan = a.plan == "seek" ? JoinPlan::kSeek : a.plan == "scan" ? JoinPlan::kScan : JoinPlan::kAuto;
  o.chunk_labels = a.chunk_labels;
  if (a.known_at == "now") {
    o.join.known_at = KnownAt::kNow;
  } else if (a.known_at == "label") {
    o.join.known_at = KnownAt::kLabelTime;
  } else {
    o.join.known_at = KnownAt::kFixed;
    if (!ParseTimeArgument(a.known_at, &o.join.fixed_known_at))
      return Fail(Status::InvalidArgument("--known-at: '" + a.known_at + "' is not now, label or a timestamp"));
  }
  // The training set's format: --output-format, else by the name of --out (CSV for stdout).
  io::SourceFormat out_format = io::SourceFormatOfPath(a.out);
  if (!a.output_format.empty()) {
    auto named = io::SourceFormatNamed(a.output_format);
    if (!named.ok()) return Fail(named.status());
    out_format = *named;
  }
  o.output = out_format == io::SourceFormat::kJsonLines ? workflow::TrainingSetOptions::Output::kJsonLines
             : out_format == io::SourceFormat::kParquet ? workflow::TrainingSetOptions::Output::kParquet
                                                        : workflow::TrainingSetOptions::Output::kCsv;
  io::SourceFormat in_format = io::SourceFormatOfPath(a.labels);
  if (!a.input_format.empty()) {
    auto named = io::SourceFormatNamed(a.input_format);
    if (!named.ok()) return Fail(named.status());
    in_format = *named;
  }
  if (single && in_format == io::SourceFormat::kParquet && out_format == io::SourceFormat::kParquet && a.labels != "-")
    return JoinParquetTables(*single, a, o);
  auto source = OpenInput(a.labels, a.input_format);
  if (!source.ok()) return Fail(source.status());
  bool bar = a.progress == "always" || (a.progress == "auto" && ::isatty(STDERR_FILENO));
  auto start = std::chrono::steady_clock::now();
  if (bar)
    o.progress = [&](const std::string& phase, uint64_t labels) {
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\r%-24s %s labels, %.1f s", phase.c_str(), WithCommas(labels).c_str(), t);
    };
  workflow::TrainingSetReport report;
  Status st = io::WriteFileAtomically(a.out, [&](FILE* out) {
    return single ? workflow::BuildTrainingSet(*single, **source, o, out, &report)
                  : workflow::BuildTrainingSet(*shards, **source, o, out, &report);
  });
  if (bar) std::fprintf(stderr, "\n");
  if (!st.ok()) return Fail(st);
  std::fprintf(stderr, "joined %s labels with %zu feature(s)%s: read %.2f s, join %.2f s, write %.2f s\n",
               WithCommas(report.labels).c_str(), report.matched.size(),
               report.chunks > 1 ? (" in " + WithCommas(report.chunks) + " chunks").c_str() : "", report.read_secs,
               report.join_secs, report.write_secs);
  WarnAboutNullLabels(report.null_labels);
  return kExitOk;
}

int Copy(const std::string& path, const std::string& dest, const SegmentShape& shape) {
  auto store = OpenStore(path, true, shape);
  if (!store.ok()) return Fail(store.status());
  Status st = (*store)->CopyTo(dest);
  if (!st.ok()) return Fail(st);
  auto copy = OpenStore(dest, true);
  if (!copy.ok()) return Fail(copy.status());
  auto stats = (*copy)->Stats();
  if (stats.ok()) std::cout << "copied to " << dest << ": " << stats->file_bytes << " bytes\n";
  return kExitOk;
}

// `pitstore serve`: the feature server until SIGTERM or SIGINT, which finish the requests in
// flight. Signals are taken by one thread (sigwait), never in a handler.
int Serve(const std::string& path, const pitstore::server::ServerOptions& options, bool read_only) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);                    // a sharded store: serve its current manifest
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // inherited by every thread started below
  // A sharded store (pitstore.spark.build, pitstore.ray.build) is served read-only.
  auto opened = OpenStoreOrShards(path, read_only);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<Store> single = std::move(opened->single);
  std::shared_ptr<pitstore::workflow::ShardedStore> shards = std::move(opened->shards);
  const bool sharded = shards != nullptr;
  if (sharded) read_only = true;
  const std::string shard_note = shards ? " (" + std::to_string(shards->shard_count()) + " shards)" : "";
  // The server and the waiter share the generation: it closes once neither serves it.
  pitstore::server::FeatureServer server =
      shards ? pitstore::server::FeatureServer(shards, options) : pitstore::server::FeatureServer(*single, options);
  std::thread waiter([&, current = std::move(shards)]() mutable {
    for (;;) {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      if (sig != SIGHUP) {
        std::fprintf(stderr, "pitstore serve: signal %d: finishing the requests in flight\n", sig);
        server.Stop();
        return;
      }
      // SIGHUP: a sharded store's new generation (a build's increment) from its manifest, served
      // from the next request on; a manifest that does not open leaves the current one served.
      if (!sharded) {
        std::fprintf(stderr, "pitstore serve: SIGHUP: one store, nothing to reload\n");
        continue;
      }
      // Shards whose file both generations name stay open, shared.
      auto next = pitstore::workflow::ShardedStore::Open(path, {}, current.get());
      if (!next.ok()) {
        std::fprintf(stderr, "pitstore serve: SIGHUP: still serving generation %llu: %s\n",
                     static_cast<unsigned long long>(current->manifest().generation), next.status().ToString().c_str());
        continue;
      }
      current = std::move(*next);
      server.ReplaceShards(current);
      std::fprintf(stderr, "pitstore serve: SIGHUP: serving generation %llu (%u shards)\n",
                   static_cast<unsigned long long>(current->manifest().generation), current->shard_count());
    }
  });
  std::thread announce([&] {
    for (int i = 0; i < 500 && server.port() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (server.port())
      std::fprintf(stderr, "pitstore serve: %s%s on http://%s:%d%s\n", path.c_str(), shard_note.c_str(),
                   options.host.c_str(), server.port(), read_only ? " (read-only)" : "");
  });
  Status st = server.Run();
  announce.join();
  if (!st.ok()) {
    pthread_kill(waiter.native_handle(), SIGTERM);  // let the waiter return
    waiter.join();
    return Fail(st);
  }
  waiter.join();
  std::fprintf(stderr, "pitstore serve: stopped\n");
  return kExitOk;
}

int Maintain(const std::string& path, bool vacuum, bool full, const SegmentShape& shape = {}) {
  auto store = OpenStore(path, false, shape);
  if (!store.ok()) return Fail(store.status());
  auto before = (*store)->Stats();
  Status st = vacuum ? (*store)->Vacuum() : (*store)->Compact(CompactOptions{full});
  if (!st.ok()) return Fail(st);
  auto after = (*store)->Stats();
  if (before.ok() && after.ok())
    std::cout << (vacuum ? "vacuumed" : "compacted") << ": " << before->file_bytes << " -> " << after->file_bytes
              << " bytes (" << after->live_bytes << " live)\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pitstore: inspect, query and maintain a pitstore feature store (NAME.pit)"};
  app.set_version_flag("--version", std::string("pitstore ") + pitstore_version());
  app.require_subcommand(1);
  app.footer("Exit status: 0 ok, 1 error, 2 usage, 3 corruption found, 4 a view is stale (freshness).");
  std::string path, view, format = "table", as_of, known_at, now, from, to, features;
  std::vector<std::string> keys;
  bool full = false;
  TimestampValidator time_check;
  auto add_format = [&](CLI::App* cmd) {
    cmd->add_option("--format", format, "Output: table (default), csv, or json (JSON Lines)")
        ->check(CLI::IsMember({"table", "csv", "json"}));
  };

  std::string defs_file;
  CLI::App* init = app.add_subcommand("init", "Create an empty store (fails if the file exists)");
  std::string example_dir;
  init->add_option("store", path, "The store's data file to create (NAME.pit)");
  init->add_option("--example", example_dir,
                   "Instead, create this directory with a working example project (as feast init does): "
                   "definitions, data, labels, an empty store, and the commands to try");

  CLI::App* apply = app.add_subcommand(
      "apply", "Create or evolve entities and feature views from a YAML file, in one commit (see README)");
  apply->add_option("store", path, "The store's data file (NAME.pit)")->required();
  apply->add_option("definitions", defs_file, "YAML file of entities and feature_views")->required();

  CLI::App* plan = app.add_subcommand("plan", "Show what apply would change, changing nothing");
  plan->add_option("store", path, "The store's data file (NAME.pit)")->required();
  plan->add_option("definitions", defs_file, "YAML file of entities and feature_views")->required();

  std::string freshness_now;
  CLI::App* freshness = app.add_subcommand(
      "freshness", "Each view's newest data, its lag behind the clock, and its objective; exit 4 when stale");
  freshness->add_option("store", path, "The store's data file (NAME.pit)")->required();
  freshness->add_option("--now", freshness_now, "The clock to judge by (default: the system clock)")->check(time_check);
  add_format(freshness);

  std::string describe_view;
  CLI::App* describe = app.add_subcommand(
      "describe", "A view's keys, time columns, TTL, features and types, services, rows and time range");
  describe->add_option("store", path, "The store's data file (NAME.pit)")->required();
  describe->add_option("view", describe_view, "Feature view (default: every view)");
  add_format(describe);

  CLI::App* info = app.add_subcommand("info", "Views with rows, entities, blocks, bytes, compression, time ranges");
  info->add_option("store", path, "The store's data file (NAME.pit)")->required();
  add_format(info);

  CLI::App* verify = app.add_subcommand("verify", "Read every block and checksum and check every index entry");
  verify->add_option("store", path, "The store's data file (NAME.pit)")->required();

  CLI::App* repair = app.add_subcommand("repair", "Rebuild the index from the data file (the truth), then verify");
  repair->add_option("store", path, "The store's data file (NAME.pit)")->required();

  CLI::App* get = app.add_subcommand("get", "Latest values of one or more keys, or as of a time");
  get->add_option("store", path, "The store's data file (NAME.pit)")->required();
  std::string get_service;
  bool get_full_names = false;
  get->add_option("view", view, "Feature view (with --service: the first key)");
  std::string keys_file, keys_format;
  get->add_option("keys", keys,
                  "Entity keys: join-key values joined by commas (\"42\", \"42,abc\"), or JSON for any value "
                  "('{\"user_id\": 42, \"item_id\": \"a,b\"}')");
  get->add_option("--service", get_service,
                  "A feature service's features across its views, for keys of their join keys (as Feast's "
                  "get_online_features); no view argument");
  get->add_flag("--full-feature-names", get_full_names, "With --service: name columns view__feature");
  std::vector<std::string> get_requests;
  get->add_option("--request", get_requests,
                  "A request input of on-demand features, name=value (repeat for each; one value for every key)");
  get->add_option("--keys", keys_file,
                  "Also the keys in this CSV or JSON Lines file ('-': standard input), by join-key column name");
  get->add_option("--input-format", keys_format, "Format of --keys: csv or jsonl (default: by extension, else csv)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  get->add_option("--as-of", as_of, "Values as of this event time (default: latest)")->check(time_check);
  get->add_option("--known-at", known_at, "Only what the store knew at this system time")->check(time_check);
  get->add_option("--now", now, "The reader's clock for TTL expiry of latest values (default: the system clock)")
      ->check(time_check);
  get->add_option("--features", features, "Comma-separated features (default: all)");
  add_format(get);

  CLI::App* history = app.add_subcommand("history", "Every stored version of a key, in order");
  history->add_option("store", path, "The store's data file (NAME.pit)")->required();
  history->add_option("view", view, "Feature view")->required();
  std::string key;
  history->add_option("key", key, "Entity key: join-key values joined by commas, or a JSON object of them")->required();
  history->add_option("--from", from, "Earliest event time (inclusive)")->check(time_check);
  history->add_option("--to", to, "Latest event time (inclusive)")->check(time_check);
  history->add_option("--known-at", known_at, "Only what the store knew at this system time")->check(time_check);
  history->add_option("--features", features, "Comma-separated features (default: all)");
  add_format(history);

  StatsArgs sa;
  CLI::App* stats = app.add_subcommand(
      "stats", "Each feature's count, nulls, min, max, mean, quantiles; drift between two windows; SVG histograms");
  stats->add_option("store", path, "The store's data file (NAME.pit)")->required();
  stats->add_option("view", sa.view, "Feature view")->required();
  stats->add_option("--features", sa.features, "Comma-separated features (default: all)");
  stats->add_option("--from", sa.from, "Earliest event time (inclusive)")->check(time_check);
  stats->add_option("--to", sa.to, "Latest event time (inclusive)")->check(time_check);
  stats->add_option("--known-at", sa.known_at, "Only what the store knew at this system time")->check(time_check);
  stats->add_option("--baseline", sa.baseline, "Drift: the reference window of event times, FROM..TO (TO excluded)");
  stats->add_option("--current", sa.current, "Drift: the window compared with it, FROM..TO (TO excluded)");
  stats->add_option("--svg", sa.svg, "Also draw each feature's histogram (both windows with --baseline) to this file");
  add_format(stats);

  CLI::App* compact = app.add_subcommand("compact", "Merge row batches and small segments into segments");
  compact->add_option("store", path, "The store's data file (NAME.pit)")->required();
  compact->add_flag("--full", full, "Merge every segment too");
  // Rows per segment page: what a point read decodes. bench/README.md measures the trade.
  SegmentShape shape;
  const char* page_rows_help =
      "Rows per page of the segments written (default 1024): smaller pages make cold point reads and online "
      "aggregates faster, the file larger and merges slower. A copy keeps them; segments that later merges and "
      "compactions rewrite get the default again, and compact leaves a view of one segment as it is";
  const char* segment_rows_help =
      "Rows per segment written (default 1048576), cut at the end of an entity's rows; the last may hold up to half "
      "as many more. Compact leaves a view of one segment as it is (copy cuts any store); later merges, compactions "
      "and vacuums at the defaults write default sizes again, and merge segments under half of them with the tail";
  const char* segment_bytes_help =
      "Or a segment ends once its rows hold this many bytes, their plain size (default and most 1073741824), "
      "whichever limit comes first: for wide rows (embeddings, long strings). Kept as --segment-rows says";
  auto add_shape = [&](CLI::App* sub) {
    sub->add_option("--page-rows", shape.page_rows, page_rows_help)->check(CLI::Range(16u, 65536u));
    sub->add_option("--segment-rows", shape.max_rows, segment_rows_help)->check(CLI::Range(1u, UINT32_MAX));
    sub->add_option("--segment-bytes", shape.max_bytes, segment_bytes_help)
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
  };
  add_shape(compact);

  CLI::App* vacuum = app.add_subcommand("vacuum", "Rewrite the data file without superseded blocks (atomic)");
  vacuum->add_option("store", path, "The store's data file (NAME.pit)")->required();

  std::string file;
  IngestArgs ia;
  CLI::App* ingest = app.add_subcommand(
      "ingest", "Append a CSV or JSON Lines file (or - for standard input) to a view, in atomic batches");
  ingest->add_option("store", path, "The store's data file (NAME.pit)")->required();
  ingest->add_option("view", view, "Feature view")->required();
  ingest->add_option("file", file, "CSV (with a header row) or JSON Lines file; - reads standard input")->required();
  ingest
      ->add_option("--input-format", ia.format,
                   "csv, jsonl or parquet (default: by extension: .jsonl/.ndjson/.json, .parquet/.pq, else csv)")
      ->check(CLI::IsMember({"csv", "jsonl", "parquet"}));
  ingest->add_option("--batch-size", ia.batch_rows, "Records per atomic commit (default 100000)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 31));
  ingest->add_flag("--ignore-extra-columns", ia.ignore_extra, "Skip columns the view does not know (else an error)");
  ingest->add_flag("--dry-run", ia.dry_run, "Read and check every record; write nothing");
  ingest->add_option("--skip-records", ia.skip_records, "Pass over the first N records (to resume a failed run)");
  ingest->add_option("--timezone", ia.timezone,
                     "Read times written without an offset in this zone: UTC or +hh:mm (default: refuse them; "
                     "Feast reads them as UTC)");
  ingest
      ->add_option("--epoch-unit", ia.epoch_unit,
                   "Unit of integer timestamps: s, ms, us, ns (default: us, refusing counts outside the years "
                   "1990-2099, where seconds or milliseconds read as us would land)")
      ->check(CLI::IsMember({"s", "ms", "us", "ns"}));
  ingest->add_option("--event-ts-column", ia.event_ts_column, "Event time column (default: the view's, else event_ts)");
  ingest->add_option("--created-ts-column", ia.created_ts_column,
                     "System time column (default: the view's; none: the commit time)");
  ingest->add_flag("--no-sync", ia.no_sync, "Do not fdatasync each batch (faster; a crash may lose recent batches)");
  ingest->add_option("--progress", ia.progress, "Progress on stderr: auto (when a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  bool drop_force = false;
  std::string drop_feature;
  CLI::App* drop = app.add_subcommand(
      "drop",
      "Remove a feature view and all its rows (--force when it holds rows), or one feature (--feature, --force)");
  drop->add_option("store", path, "The store's data file (NAME.pit)")->required();
  drop->add_option("view", view, "Feature view")->required();
  drop->add_option("--feature", drop_feature, "Drop only this feature of the view, and its values");
  drop->add_flag("--force", drop_force, "Drop even though it holds rows (a feature: always needed)");

  CLI::App* del = app.add_subcommand(
      "delete", "Erase every version of the given keys from a view (for every reader; bytes gone at vacuum)");
  del->add_option("store", path, "The store's data file (NAME.pit)")->required();
  del->add_option("view", view, "Feature view")->required();
  del->add_option("keys", keys, "Entity keys, as for get (\"42\", '{\"user_id\": 42}')");
  del->add_option("--keys", keys_file, "Also the keys in this CSV or JSON Lines file ('-': standard input)");
  del->add_option("--input-format", keys_format, "Format of --keys: csv or jsonl (default: by extension, else csv)")
      ->check(CLI::IsMember({"csv", "jsonl"}));

  bool blocks = false;
  uint64_t limit = UINT64_MAX;
  CLI::App* dump = app.add_subcommand("dump", "Every stored row of a view in key order, or its blocks (--blocks)");
  dump->add_option("store", path, "The store's data file (NAME.pit)")->required();
  dump->add_option("view", view, "Feature view")->required();
  dump->add_flag("--blocks", blocks, "List the view's blocks: segments (pages, sizes, ratio) and row batches");
  dump->add_option("--known-at", known_at, "Only rows the store knew at this system time")->check(time_check);
  dump->add_option("--features", features, "Comma-separated features (default: all)");
  dump->add_option("--limit", limit, "At most N rows (default: all; 0 prints only the header)")
      ->check(CLI::Validator(
          [](const std::string& s) {
            return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos
                       ? std::string()
                       : "--limit must be a count of rows (0 or more), got " + s;
          },
          "N"));
  std::string dump_out;
  dump->add_option("--out", dump_out,
                   "Write the rows to this file instead of printing them, in the format its name says: .parquet "
                   "(zstd), .csv or .jsonl; written whole or not at all");
  add_format(dump);

  JoinArgs ja;
  CLI::App* join = app.add_subcommand(
      "join", "A training set: each label row with the features as of its time (point-in-time join)");
  join->add_option("store", path, "The store's data file (NAME.pit), or a sharded store's directory or MANIFEST")
      ->required();
  join->add_option("labels", ja.labels,
                   "Label rows: CSV or JSON Lines with the join keys and a label time; - for stdin")
      ->required();
  join->add_option("--features", ja.features, "Comma-separated view:feature references");
  join->add_option("--service", ja.service, "A feature service's features (before any --features)");
  join->add_option("--out", ja.out, "Output file (default -: standard output); written whole or not at all");
  join->add_option("--known-at", ja.known_at,
                   "Knowledge horizon: now (default), label (each row's own time: what serving saw), or a "
                   "timestamp (a reproducible training set)")
      ->check(CLI::IsMember({"now", "label"}) | time_check);
  join->add_option("--label-time-column", ja.label_time_column,
                   "The labels' time column (default: the first the labels have of the views' event timestamp "
                   "columns, event_ts, event_timestamp)");
  join->add_option("--timezone", ja.timezone,
                   "Read label times written without an offset in this zone: UTC or +hh:mm (default: refuse them)");
  join->add_option("--epoch-unit", ja.epoch_unit,
                   "Unit of integer label times: s, ms, us, ns (default: us, refusing counts outside the years "
                   "1990-2099)")
      ->check(CLI::IsMember({"s", "ms", "us", "ns"}));
  join->add_flag("--full-feature-names", ja.full_names, "Name output columns view__feature");
  join->add_option("--input-format", ja.input_format, "csv, jsonl or parquet (default: by extension)")
      ->check(CLI::IsMember({"csv", "jsonl", "parquet"}));
  join->add_option("--output-format", ja.output_format,
                   "csv, jsonl or parquet (default: by --out's extension: .jsonl/.ndjson, .parquet/.pq, else csv)")
      ->check(CLI::IsMember({"csv", "jsonl", "parquet"}));
  join->add_option("--threads", ja.threads, "Page decoding threads (default 2)")->check(CLI::Range(1, 64));
  join->add_option("--plan", ja.plan,
                   "How the view is read: scan (one pass over every block: many labels), seek (a point read "
                   "per label: few labels), auto (the cheaper by an estimate of pages read; default)")
      ->check(CLI::IsMember({"auto", "scan", "seek"}));
  join->add_option("--chunk-labels", ja.chunk_labels,
                   "Labels read, joined and written at a time, bounding memory; each chunk is a pass over the "
                   "views (default 10,000,000; 0: all at once)");
  join->add_option("--progress", ja.progress, "Progress on stderr: auto (when a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  std::string dest;
  CLI::App* copy = app.add_subcommand("copy", "Write a compacted copy with its index, to ship (read-only is fine)");
  copy->add_option("store", path, "The store's data file (NAME.pit)")->required();
  copy->add_option("dest", dest, "The copy's data file (must not exist)")->required();
  add_shape(copy);

  pitstore::server::ServerOptions so;
  bool serve_read_only = false;
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve features over HTTP in Feast's JSON (POST /get-online-features, /push; GET /health, /metrics)");
  serve
      ->add_option("store", path,
                   "The store's data file (NAME.pit), or a sharded store's directory or MANIFEST (read-only; "
                   "SIGHUP serves its manifest's current generation)")
      ->required();
  serve->add_option("--host", so.host, "Address to listen on (default 127.0.0.1; no TLS or auth: see README)");
  serve->add_option("--port", so.port, "Port (default 6566, Feast's; 0: any free port)")->check(CLI::Range(0, 65535));
  serve
      ->add_option("--threads", so.threads,
                   "Request threads (default: 8 per core, at least 16; a keep-alive connection holds one)")
      ->check(CLI::Range(0, 1024));
  serve->add_option("--max-body-bytes", so.max_body_bytes, "Largest request body accepted (default 8 MiB)");
  serve->add_flag("--read-only", serve_read_only, "Open the store read-only (beside a writer; /push is refused)");

  // Every subcommand's --help ends with examples (the man page, made from --help, has them too).
  static const std::map<std::string, std::vector<std::string>> kExamples = {
      {"init", {"pitstore init features.pit", "pitstore init --example my_project"}},
      {"apply", {"pitstore apply features.pit feature_repo.yaml"}},
      {"plan", {"pitstore plan features.pit feature_repo.yaml"}},
      {"freshness",
       {"pitstore freshness features.pit || alert 'a feature view is stale'",
        "pitstore freshness features.pit --format json"}},
      {"stats",
       {"pitstore stats features.pit user_stats",
        "pitstore stats features.pit user_stats --from 2025-03-01 --to 2025-03-31 --format json",
        "pitstore stats features.pit user_stats --baseline 2025-01-01..2025-02-01 --current 2025-02-01..2025-03-01 "
        "--svg drift.svg"}},
      {"describe", {"pitstore describe features.pit", "pitstore describe features.pit user_stats --format json"}},
      {"info", {"pitstore info features.pit", "pitstore info features.pit --format json"}},
      {"verify", {"pitstore verify features.pit"}},
      {"repair", {"pitstore repair features.pit"}},
      {"get",
       {"pitstore get features.pit user_stats 42 7",
        "pitstore get features.pit user_stats 42 --now 2025-03-10T00:00:00Z",
        "pitstore get features.pit user_stats 42 --as-of 2025-03-06T00:00:00Z --known-at 2025-03-08T12:00:00Z",
        "pitstore get features.pit items '{\"item_id\": \"a,b\"}' --format json",
        "cut -d, -f1 users.csv | pitstore get features.pit user_stats --keys - --format csv",
        "pitstore get features.pit --service churn_model 42 7"}},
      {"history",
       {"pitstore history features.pit user_stats 42",
        "pitstore history features.pit user_stats 42 "
        "--from 2025-03-01T00:00:00Z --known-at 1741500000s"}},
      {"compact", {"pitstore compact features.pit", "pitstore compact features.pit --full"}},
      {"vacuum", {"pitstore vacuum features.pit"}},
      {"ingest",
       {"pitstore ingest features.pit user_stats data.csv", "pitstore ingest features.pit user_stats data.parquet",
        "pitstore ingest features.pit user_stats events.jsonl --epoch-unit s",
        "producer | pitstore ingest features.pit user_stats - --input-format jsonl"}},
      {"delete",
       {"pitstore delete features.pit user_stats 42 && pitstore vacuum features.pit",
        "pitstore delete features.pit user_stats --keys erasure_requests.csv"}},
      {"dump",
       {"pitstore dump features.pit user_stats --format csv --limit 10",
        "pitstore dump features.pit user_stats --out rows.parquet", "pitstore dump features.pit user_stats --blocks"}},
      {"join",
       {"pitstore join features.pit labels.csv --service churn_model --out train.parquet",
        "pitstore join features.pit labels.csv --features user_stats:sessions_7d --known-at label",
        "pitstore join features.pit labels.parquet --features 'user_stats:*' --known-at 2025-03-08T00:00:00Z"}},
      {"copy", {"pitstore copy features.pit shipped.pit", "pitstore copy features.pit serving.pit --page-rows 128"}},
      {"drop",
       {"pitstore drop features.pit old_stats --force && pitstore vacuum features.pit",
        "pitstore drop features.pit user_stats --feature legacy_score --force"}},
      {"serve",
       {"pitstore serve features.pit --port 6566", "pitstore serve features.pit --read-only --host 127.0.0.1"}}};
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    auto it = kExamples.find(sub->get_name());
    if (it == kExamples.end()) continue;
    std::string footer = "Examples:";
    for (const std::string& e : it->second) footer += "\n  " + e;
    sub->footer(footer);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;  // --version exits 0
  }
  if (*init) {
    if (!example_dir.empty())
      return path.empty() ? InitExample(example_dir) : Fail(Status::InvalidArgument("give a store or --example DIR"));
    if (path.empty()) return Fail(Status::InvalidArgument("init needs a store (NAME.pit) or --example DIR"));
    return Init(path);
  }
  if (*apply) return ApplyFile(path, defs_file, false);
  if (*info) return Info(path, format);
  if (*plan) return ApplyFile(path, defs_file, true);
  if (*describe) return Describe(path, describe_view, format);
  if (*freshness) return Freshness(path, freshness_now, format);
  if (*del) return Delete(path, view, keys, keys_file, keys_format);
  if (*drop) return Drop(path, view, drop_feature, drop_force);
  if (*verify) return Verify(path);
  if (*repair) return Repair(path);
  if (*get && !get_service.empty()) {
    std::vector<std::string> service_keys = keys;
    if (!view.empty()) service_keys.insert(service_keys.begin(), view);  // no view: the first positional is a key
    workflow::FeatureRequest request;
    request.service = get_service;
    request.full_feature_names = get_full_names;
    return GetFeatures(path, request, service_keys, keys_file, keys_format, as_of, known_at, now, get_requests, format);
  }
  if (*get && IsOnDemandView(path, view)) {
    workflow::FeatureRequest request;
    request.full_feature_names = get_full_names;
    for (const std::string& f : SplitList(features.empty() ? "*" : features))
      request.features.push_back(view + ":" + f);
    return GetFeatures(path, request, keys, keys_file, keys_format, as_of, known_at, now, get_requests, format);
  }
  if (*get && !get_requests.empty()) {
    std::cerr << "--request gives values to on-demand features: name an on-demand view or a service\n";
    return kExitUsage;
  }
  if (*get && view.empty()) {
    std::cerr << "view is required (or --service NAME)\nRun with --help for more information.\n";
    return kExitUsage;
  }
  if (*get) return Get(path, view, keys, keys_file, keys_format, as_of, known_at, now, features, format);
  if (*stats) return FeatureStatsCommand(path, sa, format);
  if (*history) return History(path, view, key, from, to, known_at, features, format);
  if (*compact) return Maintain(path, false, full, shape);
  if (*vacuum) return Maintain(path, true, false);
  if (*copy) return Copy(path, dest, shape);
  if (*serve) return Serve(path, so, serve_read_only);
  if (*ingest) return IngestFile(path, view, file, ia);
  if (*join) return JoinFile(path, ja);
  if (*dump) return Dump(path, view, blocks, known_at, features, limit, format, dump_out);
  return kExitUsage;
}
