// The feature server (feature_server.h): Feast's JSON over pitstore's workflow library.
#include "pitstore/server/feature_server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "pitstore/io/record_source.h"
#include "pitstore/io/text.h"
#include "pitstore/io/timestamps.h"
#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/ingest.h"
#include "pitstore/workflow/on_demand.h"
#include "pitstore/workflow/online_features.h"
#include "pitstore/workflow/sharded_store.h"

namespace pitstore::server {
namespace {

using json = nlohmann::json;

int HttpStatusOf(const Status& st) {
  switch (st.code()) {
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kInvalidArgument:
    case Status::Code::kAlreadyExists:
      return 422;
    case Status::Code::kBusy:
      return 503;
    default:
      return 500;
  }
}

FeatureServer::Reply Error(int status, const std::string& message) {
  return {status, json{{"message", message}}.dump()};
}
FeatureServer::Reply Error(const Status& st) { return Error(HttpStatusOf(st), st.message()); }

// Feast's event timestamps: RFC 3339 with Z, fractional digits only as needed (ms, µs).
std::string FeastTime(Timestamp t) {
  if (t == 0) return "1970-01-01T00:00:00Z";
  std::string s = io::FormatTimestamp(t);  // ...SS[.ffffff]Z
  size_t dot = s.find('.');
  if (dot != std::string::npos && s.size() == dot + 8 && s.compare(dot + 4, 3, "000") == 0)
    s = s.substr(0, dot + 4) + "Z";
  return s;
}

std::string Base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(table[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? table[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// A value as Feast's JSON has it: bytes in base64, timestamps as Unix seconds, non-finite floats
// as protobuf's strings ("NaN", "Infinity", "-Infinity").
template <typename Float>
void AppendFeastFloat(Float f, std::string* out) {
  if (std::isnan(f))
    *out += "\"NaN\"";
  else if (std::isinf(f))
    *out += f > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  else
    io::AppendFloat(f, out);
}

void AppendValue(const Value& v, std::string* out) {
  if (v.is_null()) {
    *out += "null";
    return;
  }
  if (IsListType(v.type())) {  // last_k: a JSON array of its items
    out->push_back('[');
    for (size_t i = 0; i < v.as_list().size(); ++i) {
      if (i) out->push_back(',');
      AppendValue(v.as_list()[i], out);
    }
    out->push_back(']');
    return;
  }
  switch (v.type()) {
    case FeatureType::kBool:
      *out += v.as_bool() ? "true" : "false";
      return;
    case FeatureType::kInt32:
    case FeatureType::kInt64:
      io::AppendInt(v.as_int64(), out);
      return;
    case FeatureType::kTimestamp:
      io::AppendInt(static_cast<int64_t>(std::floor(static_cast<double>(v.as_int64()) / 1e6)), out);
      return;
    case FeatureType::kFloat32:
      AppendFeastFloat(v.as_float32(), out);
      return;
    case FeatureType::kFloat64:
      AppendFeastFloat(v.as_float64(), out);
      return;
    case FeatureType::kString:
      io::AppendJsonString(v.as_string(), out);
      return;
    case FeatureType::kBytes:
      io::AppendJsonString(Base64(v.as_string()), out);
      return;
    case FeatureType::kFloat32Vector: {
      out->push_back('[');
      bool first = true;
      for (float f : v.as_vector()) {
        if (!first) out->push_back(',');
        first = false;
        AppendFeastFloat(f, out);
      }
      out->push_back(']');
      return;
    }
  }
  *out += "null";
}

const char* FeastStatus(ValueStatus s) {
  switch (s) {
    case ValueStatus::kPresent:
      return "PRESENT";
    case ValueStatus::kNull:
      return "NULL_VALUE";
    case ValueStatus::kNotFound:
      return "NOT_FOUND";
    case ValueStatus::kExpired:
      return "OUTSIDE_MAX_AGE";
  }
  return "INVALID";
}

Result<Timestamp> TimeField(const json& j, const std::string& field) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_string()) {
    Timestamp t;
    std::string why = io::ParseTimestampWhy(j.get<std::string>(), &t);
    if (why.empty()) return t;
    return Status::InvalidArgument("'" + field + "': " + why);
  }
  return Status::InvalidArgument("'" + field + "' must be an RFC 3339 time or microseconds since the epoch");
}

// A bounded queue of connections for the pool: when it is full, the listener waits, and the
// kernel's backlog holds new connections (no unbounded growth under overload).
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [&] { return queue_.size() < max_queued_ || shutdown_; });
    if (shutdown_) return;
    queue_.push_back(std::move(fn));
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [&] { return !queue_.empty() || shutdown_; });
        if (queue_.empty()) return;  // shut down, and everything queued has run
        fn = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_one();
      }
      fn();
    }
  }
  size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
  bool shutdown_ = false;
};

}  // namespace

// What requests read: one store, or a generation of a sharded store with its caches. A request
// holds the one current when it started; ReplaceShards swaps in another for later requests.
struct Serving {
  std::shared_ptr<workflow::ShardedStore> sharded;  // set: every entity row is answered by its shard
  Store* store = nullptr;                           // the store, or shard 0: definitions
  workflow::FeatureRefCache refs{1024};
  workflow::OnDemandPlanCache plans{1024};

  // The stores a request may read: the one store, or every shard.
  uint32_t store_count() const { return sharded ? sharded->shard_count() : 1; }
  Store& store_at(uint32_t i) const { return sharded ? sharded->shard(i) : *store; }
};

struct FeatureServer::Impl {
  ServerOptions options;
  httplib::Server http;
  std::atomic<int> bound_port{0};

  std::mutex serving_mu;
  std::shared_ptr<Serving> serving;
  std::shared_ptr<Serving> Current() {
    std::lock_guard<std::mutex> lock(serving_mu);
    return serving;
  }

  // Metrics.
  static constexpr int kBuckets = 12;  // latency upper bounds in µs: 50 * 2^i
  std::mutex metrics_mu;
  std::map<std::pair<std::string, int>, uint64_t> requests;  // (path, status) -> count
  std::map<std::string, std::array<uint64_t, kBuckets + 1>> latency;
  std::map<std::string, double> latency_sum;
  uint64_t keys_total = 0;
  std::map<std::string, uint64_t> statuses;
  uint64_t commits = 0, rows_pushed = 0;

  explicit Impl(ServerOptions o) : options(std::move(o)) {}

  void Record(const std::string& path, int status, double micros) {
    std::lock_guard<std::mutex> lock(metrics_mu);
    requests[{path, status}]++;
    auto& h = latency[path];
    int b = 0;
    while (b < kBuckets && micros > 50.0 * (1 << b)) ++b;
    h[b]++;
    latency_sum[path] += micros;
  }
};

FeatureServer::FeatureServer(Store& store, ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->serving = std::make_shared<Serving>();
  impl_->serving->store = &store;
}
FeatureServer::FeatureServer(workflow::ShardedStore& sharded, ServerOptions options)
    : FeatureServer(std::shared_ptr<workflow::ShardedStore>(&sharded, [](workflow::ShardedStore*) {}),
                    std::move(options)) {}
FeatureServer::FeatureServer(std::shared_ptr<workflow::ShardedStore> sharded, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  ReplaceShards(std::move(sharded));
}

void FeatureServer::ReplaceShards(std::shared_ptr<workflow::ShardedStore> next) {
  auto serving = std::make_shared<Serving>();
  serving->store = &next->any();
  serving->sharded = std::move(next);
  {
    std::lock_guard<std::mutex> lock(impl_->serving_mu);
    impl_->serving.swap(serving);
  }
  serving.reset();  // outside the lock: the old generation closes here if no request holds it
}
FeatureServer::~FeatureServer() = default;

FeatureServer::Reply FeatureServer::GetOnlineFeatures(const std::string& body) {
  const std::shared_ptr<Serving> cur = impl_->Current();
  json req = json::parse(body, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return Error(400, "the request body is not a JSON object");
  workflow::FeatureRequest request;
  if (req.contains("features")) {
    if (!req["features"].is_array()) return Error(422, "'features' must be a list of \"view:feature\" strings");
    for (const json& f : req["features"]) {
      if (!f.is_string()) return Error(422, "'features' must be a list of \"view:feature\" strings");
      request.features.push_back(f.get<std::string>());
    }
  }
  if (req.contains("feature_service") && !req["feature_service"].is_null()) {
    if (!req["feature_service"].is_string()) return Error(422, "'feature_service' must be a name");
    request.service = req["feature_service"].get<std::string>();
  }
  if (req.contains("full_feature_names")) {
    if (!req["full_feature_names"].is_boolean()) return Error(422, "'full_feature_names' must be true or false");
    request.full_feature_names = req["full_feature_names"].get<bool>();
  }
  if (!req.contains("entities") || !req["entities"].is_object())
    return Error(422, "'entities' must be an object: join key name -> list of values");
  auto refs = cur->refs.Resolve(*cur->store, request);
  if (!refs.ok()) return Error(refs.status());
  // Request inputs of on-demand features come in `entities` too, as Feast passes request data.
  auto plan = cur->plans.Get(*cur->store, **refs);
  if (!plan.ok()) return Error(plan.status());
  std::map<std::string, RequestInputDef> request_inputs;
  if (*plan)
    for (const RequestInputDef& in : (*plan)->request_inputs()) request_inputs.emplace(in.name, in);
  workflow::EntityRows rows;
  json keys_json = json::array();
  for (auto& [name, values] : req["entities"].items()) {
    if (!values.is_array()) return Error(422, "'entities." + name + "' must be a list");
    if (auto in = request_inputs.find(name); in != request_inputs.end()) {
      std::vector<Value> typed;
      for (size_t i = 0; i < values.size(); ++i) {
        const json& v = values[i];
        Result<Value> value = v.is_null()     ? Result<Value>(Value::Null())
                              : v.is_string() ? workflow::RequestValueFromText(in->second, v.get<std::string>())
                                              : workflow::RequestValueFromText(in->second, v.dump());
        if (!value.ok())
          return Error(422, "'entities." + name + "[" + std::to_string(i) + "]': " + value.status().message());
        typed.push_back(std::move(value).value());
      }
      rows.request.emplace_back(name, std::move(typed));
      // A request input may share its name with a join key: then it is the key too.
      bool key_like = true;
      for (const json& v : values) key_like = key_like && (v.is_number_integer() || v.is_string());
      if (!key_like) continue;
    }
    std::vector<KeyPart> parts;
    for (size_t i = 0; i < values.size(); ++i) {
      const json& v = values[i];
      if (v.is_number_integer())
        parts.emplace_back(std::in_place_type<int64_t>, v.get<int64_t>());
      else if (v.is_string())
        parts.emplace_back(std::in_place_type<std::string>, v.get<std::string>());
      else
        return Error(422, "'entities." + name + "[" + std::to_string(i) + "]': a join key is an integer or a string");
    }
    rows.columns.emplace_back(name, std::move(parts));
  }
  workflow::OnlineOptions o;
  for (const char* field : {"as_of", "known_at"}) {
    if (!req.contains(field) || req[field].is_null()) continue;
    auto t = TimeField(req[field], field);
    if (!t.ok()) return Error(t.status());
    (std::string(field) == "as_of" ? o.as_of : o.known_at) = *t;
  }
  o.plan = *plan;
  auto result = cur->sharded ? cur->sharded->GetOnlineFeatures(**refs, rows, o)
                             : workflow::GetOnlineFeatures(*cur->store, **refs, rows, o);
  if (!result.ok()) return Error(result.status());
  // Feast's shape: the join keys first, as features, then each feature; column-major. Written
  // straight into the answer: a 100-entity answer has 1,000 values.
  std::string out = "{\"metadata\":{\"feature_names\":[";
  auto comma = [&](bool& first) {
    if (!first) out.push_back(',');
    first = false;
  };
  bool first_name = true;
  for (const auto& [name, parts] : rows.columns) {
    comma(first_name);
    io::AppendJsonString(name, &out);
  }
  for (const workflow::OnlineFeatureColumn& c : result->features) {
    comma(first_name);
    io::AppendJsonString(c.ref.output_name, &out);
  }
  out += "]},\"results\":[";
  bool first_result = true;
  for (const auto& [name, parts] : rows.columns) {
    comma(first_result);
    out += "{\"values\":[";
    bool first = true;
    for (const KeyPart& p : parts) {
      comma(first);
      if (std::holds_alternative<int64_t>(p))
        io::AppendInt(std::get<int64_t>(p), &out);
      else
        io::AppendJsonString(std::get<std::string>(p), &out);
    }
    out += "],\"statuses\":[";
    for (size_t i = 0; i < parts.size(); ++i) out += i ? ",\"PRESENT\"" : "\"PRESENT\"";
    out += "],\"event_timestamps\":[";
    for (size_t i = 0; i < parts.size(); ++i) out += i ? ",\"1970-01-01T00:00:00Z\"" : "\"1970-01-01T00:00:00Z\"";
    out += "]}";
  }
  uint64_t counts[4] = {0, 0, 0, 0};
  for (const workflow::OnlineFeatureColumn& c : result->features) {
    comma(first_result);
    out += "{\"values\":[";
    for (size_t i = 0; i < c.values.size(); ++i) {
      if (i) out.push_back(',');
      AppendValue(c.values[i], &out);
    }
    out += "],\"statuses\":[";
    for (size_t i = 0; i < c.statuses.size(); ++i) {
      if (i) out.push_back(',');
      out.push_back('"');
      out += FeastStatus(c.statuses[i]);
      out.push_back('"');
      counts[static_cast<int>(c.statuses[i])]++;
    }
    out += "],\"event_timestamps\":[";
    for (size_t i = 0; i < c.event_ts.size(); ++i) {
      if (i) out.push_back(',');
      out.push_back('"');
      out += c.statuses[i] == ValueStatus::kNotFound ? "1970-01-01T00:00:00Z" : FeastTime(c.event_ts[i]);
      out.push_back('"');
    }
    out += "]}";
  }
  out += "]}";
  {
    std::lock_guard<std::mutex> lock(impl_->metrics_mu);
    impl_->keys_total += result->rows;
    for (int k = 0; k < 4; ++k)
      if (counts[k]) impl_->statuses[FeastStatus(static_cast<ValueStatus>(k))] += counts[k];
  }
  return {200, std::move(out)};
}

FeatureServer::Reply FeatureServer::Push(const std::string& body, bool write_to_online_store) {
  const std::shared_ptr<Serving> cur = impl_->Current();
  json req = json::parse(body, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return Error(400, "the request body is not a JSON object");
  const char* view_field = write_to_online_store ? "feature_view_name" : "push_source_name";
  if (!req.contains(view_field) || !req[view_field].is_string())
    return Error(422, std::string("'") + view_field + "' must name a feature view");
  std::string view = req[view_field].get<std::string>();
  if (cur->sharded)
    return Error(405, "a sharded store is served read-only: its shards change by builds (pitstore.spark.build)");
  if (req.contains("to")) {
    std::string to = req["to"].is_string() ? req["to"].get<std::string>() : "";
    if (to != "online" && to != "offline" && to != "online_and_offline")
      return Error(422, "'to' must be online, offline or online_and_offline");
  }
  if (!req.contains("df") || !req["df"].is_object()) return Error(422, "'df' must be an object: column -> list");
  const json& df = req["df"];
  size_t n = 0;
  bool first = true;
  for (auto& [name, values] : df.items()) {
    if (!values.is_array()) return Error(422, "'df." + name + "' must be a list");
    if (!first && values.size() != n)
      return Error(422, "'df." + name + "' has " + std::to_string(values.size()) + " values, the other columns " +
                            std::to_string(n));
    n = values.size();
    first = false;
  }
  // The rows as JSON Lines, read by the ingest path (its checks, its messages): one batch,
  // committed whole or not at all.
  std::string lines;
  for (size_t i = 0; i < n; ++i) {
    json row = json::object();
    for (auto& [name, values] : df.items()) row[name] = values[i];
    lines += row.dump() + "\n";
  }
  auto source =
      io::RecordSourceFromString(std::move(lines), "push to '" + view + "', df row", io::SourceFormat::kJsonLines);
  workflow::IngestOptions options;
  options.batch_rows = std::max<size_t>(n, 1);
  if (auto v = cur->store->GetView(view); v.ok()) {
    // Feast's pushes name the event time event_timestamp; the view may say otherwise.
    if (v->event_ts_column.empty() && df.contains("event_timestamp")) options.event_ts_column = "event_timestamp";
  } else {
    return Error(v.status());
  }
  workflow::IngestReport report;
  Status st = workflow::Ingest(*cur->store, view, *source, options, &report);
  if (!st.ok()) return Error(st);
  {
    std::lock_guard<std::mutex> lock(impl_->metrics_mu);
    impl_->commits += report.batches_committed;
    impl_->rows_pushed += report.records_committed;
  }
  return {200, "null"};
}

FeatureServer::Reply FeatureServer::Health() {
  const std::shared_ptr<Serving> cur = impl_->Current();
  // Every shard must answer: a request may be routed to any of them.
  for (uint32_t i = 0; i < cur->store_count(); ++i) {
    auto snapshot = cur->store_at(i).GetSnapshot();
    if (!snapshot.ok())
      return Error(503,
                   (cur->sharded ? "shard " + std::to_string(i) + ": " : std::string()) + snapshot.status().message());
  }
  return {200, "null"};
}

FeatureServer::Reply FeatureServer::Views() {
  const std::shared_ptr<Serving> cur = impl_->Current();
  json views = json::array();
  auto names = cur->store->ListViews();
  if (!names.ok()) return Error(names.status());
  for (const std::string& name : *names) {
    auto v = cur->store->GetView(name);
    if (!v.ok()) return Error(v.status());
    json features = json::array();
    for (const FeatureDef& f : v->features)
      features.push_back({{"name", f.name}, {"type", FeatureTypeName(f.type)}, {"dim", f.dim}});
    views.push_back({{"name", v->name},
                     {"entities", v->entities},
                     {"ttl_seconds", v->ttl_us / 1'000'000},
                     {"event_timestamp", v->event_ts_column},
                     {"created_timestamp", v->created_ts_column},
                     {"features", features}});
  }
  json services = json::array();
  if (auto s = cur->store->ListServices(); s.ok())
    for (const std::string& name : *s)
      if (auto sv = cur->store->GetService(name); sv.ok())
        services.push_back({{"name", sv->name}, {"features", sv->features}});
  return {200, json{{"feature_views", views}, {"feature_services", services}}.dump()};
}

FeatureServer::Reply FeatureServer::Metrics() {
  const std::shared_ptr<Serving> cur = impl_->Current();
  // The stores' figures first, outside the metrics lock (every request takes it). A sharded
  // store: each shard's commit sequence; rows summed and freshness of the newest event
  // over the shards.
  const uint32_t stores = cur->store_count();
  std::vector<std::string> view_order;
  std::map<std::string, std::pair<uint64_t, Timestamp>> views;  // rows, newest event time
  std::string commit_lines;
  bool any = false;
  for (uint32_t i = 0; i < stores; ++i) {
    auto stats = cur->store_at(i).Stats();
    if (!stats.ok()) continue;
    any = true;
    commit_lines += "pitstore_commit_seq" + (cur->sharded ? "{shard=\"" + std::to_string(i) + "\"}" : std::string()) +
                    " " + std::to_string(stats->commit_seq) + "\n";
    for (const StoreStats::View& v : stats->views) {
      auto [at, added] = views.try_emplace(v.name, 0, kMinTimestamp);
      if (added) view_order.push_back(v.name);
      at->second.first += v.rows;
      if (v.rows) at->second.second = std::max(at->second.second, v.max_event_ts);
    }
  }
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  std::lock_guard<std::mutex> lock(impl_->metrics_mu);
  line("# HELP pitstore_requests_total HTTP requests by path and status code.");
  line("# TYPE pitstore_requests_total counter");
  for (const auto& [key, n] : impl_->requests)
    line("pitstore_requests_total{path=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
         std::to_string(n));
  line("# HELP pitstore_request_seconds Request latency, from the request read to the answer written.");
  line("# TYPE pitstore_request_seconds histogram");
  for (const auto& [path, h] : impl_->latency) {
    uint64_t cumulative = 0;
    for (int b = 0; b < Impl::kBuckets; ++b) {
      cumulative += h[b];
      char le[32];
      std::snprintf(le, sizeof le, "%g", 50e-6 * (1 << b));
      line("pitstore_request_seconds_bucket{path=\"" + path + "\",le=\"" + le + "\"} " + std::to_string(cumulative));
    }
    cumulative += h[Impl::kBuckets];
    line("pitstore_request_seconds_bucket{path=\"" + path + "\",le=\"+Inf\"} " + std::to_string(cumulative));
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", impl_->latency_sum[path] / 1e6);
    line("pitstore_request_seconds_sum{path=\"" + path + "\"} " + sum);
    line("pitstore_request_seconds_count{path=\"" + path + "\"} " + std::to_string(cumulative));
  }
  line("# HELP pitstore_online_keys_total Entity rows asked for by get-online-features.");
  line("# TYPE pitstore_online_keys_total counter");
  line("pitstore_online_keys_total " + std::to_string(impl_->keys_total));
  line("# HELP pitstore_online_values_total Feature values answered, by status.");
  line("# TYPE pitstore_online_values_total counter");
  for (const auto& [s, n] : impl_->statuses)
    line("pitstore_online_values_total{status=\"" + s + "\"} " + std::to_string(n));
  line("# HELP pitstore_push_commits_total Batches committed by /push and /write-to-online-store.");
  line("# TYPE pitstore_push_commits_total counter");
  line("pitstore_push_commits_total " + std::to_string(impl_->commits));
  line("pitstore_push_rows_total " + std::to_string(impl_->rows_pushed));
  if (cur->sharded) {
    line("# HELP pitstore_shards Shards of the served store.");
    line("# TYPE pitstore_shards gauge");
    line("pitstore_shards " + std::to_string(stores));
    line("# HELP pitstore_manifest_generation The served manifest's generation (SIGHUP serves the newest).");
    line("# TYPE pitstore_manifest_generation gauge");
    line("pitstore_manifest_generation " + std::to_string(cur->sharded->manifest().generation));
  }
  if (any) {
    line("# HELP pitstore_commit_seq The store's commit sequence number" +
         std::string(cur->sharded ? ", per shard." : "."));
    line("# TYPE pitstore_commit_seq gauge");
    out += commit_lines;
    line("# HELP pitstore_view_freshness_seconds Seconds since each view's newest event time.");
    line("# TYPE pitstore_view_freshness_seconds gauge");
    const int64_t now =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (const std::string& name : view_order) {
      const auto& [rows, newest] = views[name];
      if (!rows) continue;
      char value[64];
      std::snprintf(value, sizeof value, "%.3f", static_cast<double>(now - newest) / 1e6);
      line("pitstore_view_freshness_seconds{view=\"" + name + "\"} " + value);
      line("pitstore_view_rows{view=\"" + name + "\"} " + std::to_string(rows));
    }
  }
  return {200, out, "text/plain; version=0.0.4"};
}

Status FeatureServer::Run() {
  Impl& im = *impl_;
  // cpp-httplib serves a keep-alive connection on one thread from its first request to its
  // last: more threads than cores, so that connections waiting their turn stay rare.
  size_t threads = im.options.threads > 0 ? static_cast<size_t>(im.options.threads)
                                          : std::max(16u, 8 * std::thread::hardware_concurrency());
  im.http.new_task_queue = [threads] { return new BoundedPool(threads, threads * 64); };
  im.http.set_payload_max_length(im.options.max_body_bytes);
  im.http.set_read_timeout(im.options.timeout_seconds, 0);
  im.http.set_write_timeout(im.options.timeout_seconds, 0);
  im.http.set_keep_alive_max_count(1000);
  im.http.set_keep_alive_timeout(2);  // an idle connection gives its thread back soon
  im.http.set_tcp_nodelay(true);      // else small answers wait for delayed ACKs (40 ms each)
  auto handle = [this](const std::string& path, auto&& fn) {
    return [this, path, fn](const httplib::Request& req, httplib::Response& res) {
      auto start = std::chrono::steady_clock::now();
      Reply r = fn(req);
      res.status = r.status;
      res.set_content(r.body, r.content_type);
      double micros = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
      impl_->Record(path, r.status, micros);
    };
  };
  im.http.Post("/get-online-features", handle("/get-online-features", [this](const httplib::Request& req) {
                 return GetOnlineFeatures(req.body);
               }));
  im.http.Post("/push", handle("/push", [this](const httplib::Request& req) { return Push(req.body, false); }));
  im.http.Post("/write-to-online-store",
               handle("/write-to-online-store", [this](const httplib::Request& req) { return Push(req.body, true); }));
  im.http.Get("/health", handle("/health", [this](const httplib::Request&) { return Health(); }));
  im.http.Get("/metrics", handle("/metrics", [this](const httplib::Request&) { return Metrics(); }));
  im.http.Get("/views", handle("/views", [this](const httplib::Request&) { return Views(); }));
  im.http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413)
      res.set_content(json{{"message", "the request body is larger than the server accepts"}}.dump(),
                      "application/json");
    else if (res.body.empty())
      res.set_content(json{{"message", "no such endpoint"}}.dump(), "application/json");
  });
  int port = im.options.port == 0 ? im.http.bind_to_any_port(im.options.host)
                                  : (im.http.bind_to_port(im.options.host, im.options.port) ? im.options.port : -1);
  if (port < 0) return Status::IOError("cannot listen on " + im.options.host + ":" + std::to_string(im.options.port));
  im.bound_port = port;
  if (!im.http.listen_after_bind()) return Status::IOError("the server stopped listening");
  return Status::OK();
}

void FeatureServer::Stop() { impl_->http.stop(); }
int FeatureServer::port() const { return impl_->bound_port; }

}  // namespace pitstore::server
