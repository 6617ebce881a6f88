// On-demand expressions: evaluation per row, and the cost they add to an online read.
//
//   pitstore_expression_bench eval [ROWS] [RUNS]
//     Three expressions (arithmetic with nulls, a case over a string, cosine of two 16-float
//     vectors) evaluated by Expression::Evaluate row by row ("row") and by
//     Expression::EvaluateColumns on columns ("col", as joins do) over ROWS rows (default 5,000,000) of inputs
//     made by formulas (row i from i % 65,536) that bench/expression_peers.py gives DuckDB too; per expression the
//     median of RUNS (default 5) passes in ns per row, and a checksum (sum and nulls).
//   pitstore_expression_bench online DIR [READS]
//     A store in DIR (created) with a view, an aggregation view over it and an on-demand view
//     of three expressions over both and a request input; READS (default 100,000)
//     workflow::GetOnlineFeatures calls for one key (with the plan from OnDemandPlanCache, as
//     the server and Python call it): the three stored features alone, then the three
//     on-demand features; p50 and p99 in microseconds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "pitstore/expression.h"
#include "pitstore/store.h"
#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/on_demand.h"
#include "pitstore/workflow/online_features.h"

using namespace pitstore;

namespace {

constexpr int kDim = 16;
constexpr int64_t kDistinctRows = 65536;

// The inputs of row i, as expression_peers.py makes them.
void Inputs(int64_t i, Value* a, Value* b, Value* s, Value* u, Value* v) {
  *a = i % 17 == 0 ? Value::Null() : Value::Float64(static_cast<double>((i * 2654435761LL) % 100000) / 100.0 - 100);
  *b = i % 29 == 0 ? Value::Null() : Value::Float64(static_cast<double>((i * 40503) % 1000) / 10.0);
  static const char* kCountries[] = {"DE", "FR", "US", "GB"};
  *s = Value::String(kCountries[(i * 7) % 4]);
  std::vector<float> x(kDim), y(kDim);
  for (int k = 0; k < kDim; ++k) {
    x[k] = static_cast<float>(static_cast<double>((i + k * 31) % 97) / 97.0 - 0.5);
    y[k] = static_cast<float>(static_cast<double>((i * 3 + k * 17) % 89) / 89.0 - 0.5);
  }
  *u = Value::Vector(std::move(x));
  *v = Value::Vector(std::move(y));
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Eval(int64_t rows, int runs) {
  const std::vector<ExpressionInput> inputs = {{"a", FeatureType::kFloat64},
                                               {"b", FeatureType::kFloat64},
                                               {"s", FeatureType::kString},
                                               {"u", FeatureType::kFloat32Vector, kDim},
                                               {"v", FeatureType::kFloat32Vector, kDim}};
  auto resolve = [&](const std::string& name, ExpressionInput* out) {
    for (const ExpressionInput& in : inputs)
      if (in.name == name) {
        *out = in;
        return Status::OK();
      }
    return Status::NotFound("no input '" + name + "'");
  };
  const std::pair<const char*, const char*> kExpressions[] = {
      {"arithmetic", "coalesce(a / b, 0.0) + abs(a) * 2 - 1"},
      {"case", "case when s == 'DE' and a > 0 then 1 when a is null then 2 else 3 end"},
      {"cosine", "cosine(u, v)"},
  };
  // Inputs made once, outside the timing, for kDistinctRows rows that row i reuses as row
  // i % kDistinctRows (cache-resident, as a join's chunk of columns is): the expressions are what
  // is measured. expression_peers.py makes the same rows for DuckDB.
  std::vector<std::vector<Value>> table(kDistinctRows, std::vector<Value>(5));
  for (int64_t i = 0; i < kDistinctRows; ++i) {
    std::vector<Value>& r = table[static_cast<size_t>(i)];
    Inputs(i, &r[0], &r[1], &r[2], &r[3], &r[4]);
  }
  std::printf("expression      rows        ns/row (median of %d)  checksum\n", runs);
  for (const auto& [label, text] : kExpressions) {
    auto e = Expression::Compile(text, resolve);
    if (!e.ok()) {
      std::fprintf(stderr, "%s\n", e.status().ToString().c_str());
      return 1;
    }
    // Each row's inputs laid out in the expression's order, as the workflow passes them.
    std::vector<Value> rows_in_order;
    const size_t width = e->inputs().size();
    for (const std::vector<Value>& r : table)
      for (const ExpressionInput& in : e->inputs())
        for (size_t c = 0; c < inputs.size(); ++c)
          if (inputs[c].name == in.name) rows_in_order.push_back(r[c]);
    std::vector<double> times;
    double sum = 0;
    int64_t nulls = 0;
    for (int run = 0; run < runs; ++run) {
      sum = 0;
      nulls = 0;
      auto start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < rows; ++i) {
        Value out = e->Evaluate(&rows_in_order[static_cast<size_t>(i % kDistinctRows) * width], 0);
        if (out.is_null())
          ++nulls;
        else
          sum += out.type() == FeatureType::kFloat64 ? out.as_float64() : static_cast<double>(out.as_int64());
      }
      times.push_back(Seconds(start));
    }
    std::sort(times.begin(), times.end());
    std::printf("%-15s %-11lld %-23.1f sum %.9g, nulls %lld\n", (std::string(label) + " row").c_str(),
                static_cast<long long>(rows), times[times.size() / 2] * 1e9 / static_cast<double>(rows), sum,
                static_cast<long long>(nulls));
    // Column-wise (EvaluateColumns, as joins call it): the same rows as columns of the
    // expression's inputs, kDistinctRows at a time.
    std::vector<Column> columns;
    for (size_t k = 0; k < width; ++k) {
      columns.push_back(Column::Of(e->inputs()[k].type, e->inputs()[k].dim));
      for (int64_t i = 0; i < kDistinctRows; ++i)
        columns.back().Append(rows_in_order[static_cast<size_t>(i) * width + k]);
    }
    std::vector<const Column*> pointers;
    for (const Column& c : columns) pointers.push_back(&c);
    times.clear();
    for (int run = 0; run < runs; ++run) {
      sum = 0;
      nulls = 0;
      auto start = std::chrono::steady_clock::now();
      for (int64_t done = 0; done < rows; done += kDistinctRows) {
        const size_t n = static_cast<size_t>(std::min<int64_t>(kDistinctRows, rows - done));
        Column out = Column::Of(e->type(), e->dim());
        Status st = e->EvaluateColumns(pointers, n, {0}, &out);
        if (!st.ok()) {
          std::fprintf(stderr, "%s\n", st.ToString().c_str());
          return 1;
        }
        for (size_t r = 0; r < n; ++r) {
          if (out.is_null(r))
            ++nulls;
          else
            sum += out.type == FeatureType::kFloat64 ? out.doubles[r] : static_cast<double>(out.ints[r]);
        }
      }
      times.push_back(Seconds(start));
    }
    std::sort(times.begin(), times.end());
    std::printf("%-15s %-11lld %-23.1f sum %.9g, nulls %lld\n", (std::string(label) + " col").c_str(),
                static_cast<long long>(rows), times[times.size() / 2] * 1e9 / static_cast<double>(rows), sum,
                static_cast<long long>(nulls));
  }
  return 0;
}

int Online(const std::string& dir, int reads) {
  const std::string path = dir + "/expr.pit";
  std::remove(path.c_str());
  std::remove((path + "-index").c_str());
  auto opened = Store::Open(path);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    return 1;
  }
  Store& store = **opened;
  const int64_t hour = 3'600'000'000;
  Definitions defs;
  defs.entities = {{"user", {{"user_id", KeyType::kInt64}}, ""}};
  defs.views = {{"payments", {"user"}, {{"amount", FeatureType::kFloat64}, {"country", FeatureType::kString}}}};
  defs.aggregation_views = {{"spend", "payments", {{"amount", AggregateFunction::kMean, 24 * hour, "mean_1d"}}}};
  defs.on_demand_views = {{"signals",
                           {{"amount", FeatureType::kFloat64}},
                           {{"ratio", "amount / spend.mean_1d"},
                            {"big", "amount > 3 * coalesce(spend.mean_1d, 0)"},
                            {"domestic", "payments.country == 'DE' and payments.amount > 10"}}}};
  Status st = store.Apply(defs);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  // 1,000 users with 50 payments each over two days; user 7 is read.
  const Timestamp start = 1'790'000'000'000'000;
  WriteBatch batch;
  for (int64_t user = 0; user < 1000; ++user)
    for (int64_t k = 0; k < 50; ++k)
      batch.Add({user}, start + k * hour,
                {Value::Float64(static_cast<double>((user * 31 + k * 7) % 500)), Value::String(k % 3 ? "DE" : "FR")});
  if (auto r = store.Append("payments", batch); !r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    return 1;
  }
  workflow::EntityRows rows;
  rows.columns = {{"user_id", {KeyPart(int64_t{7})}}};
  rows.request = {{"amount", {Value::Float64(250)}}};
  workflow::OnlineOptions options;
  options.read.now = start + 50 * hour;
  std::printf("online read of one key (%d reads)  p50 us   p99 us   values\n", reads);
  for (const auto& [label, features] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"stored: amount, country, mean_1d", {"payments:amount", "payments:country", "spend:mean_1d"}},
           {"on-demand: ratio, big, domestic", {"signals:ratio", "signals:big", "signals:domestic"}}}) {
    workflow::FeatureRequest request;
    request.features = features;
    auto refs = workflow::ResolveFeatures(store, request);
    if (!refs.ok()) {
      std::fprintf(stderr, "%s\n", refs.status().ToString().c_str());
      return 1;
    }
    // As the server and Python read: the plan of these features made once (OnDemandPlanCache).
    workflow::OnDemandPlanCache plans(16);
    std::vector<double> micros;
    std::string shown;
    for (int i = 0; i < reads; ++i) {
      auto t = std::chrono::steady_clock::now();
      auto plan = plans.Get(store, *refs);
      if (!plan.ok()) {
        std::fprintf(stderr, "%s\n", plan.status().ToString().c_str());
        return 1;
      }
      options.plan = *plan;
      auto got = workflow::GetOnlineFeatures(store, *refs, rows, options);
      micros.push_back(Seconds(t) * 1e6);
      if (!got.ok()) {
        std::fprintf(stderr, "%s\n", got.status().ToString().c_str());
        return 1;
      }
      if (i == 0)
        for (const workflow::OnlineFeatureColumn& c : got->features) shown += c.values[0].ToString() + " ";
    }
    std::sort(micros.begin(), micros.end());
    std::printf("%-34s  %-7.2f  %-7.2f  %s\n", label.c_str(), micros[micros.size() / 2],
                micros[micros.size() * 99 / 100], shown.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "eval") return Eval(argc > 2 ? std::atoll(argv[2]) : 5'000'000, argc > 3 ? std::atoi(argv[3]) : 5);
  if (mode == "online" && argc > 2) return Online(argv[2], argc > 3 ? std::atoi(argv[3]) : 100'000);
  std::fprintf(stderr, "usage: pitstore_expression_bench eval [ROWS] [RUNS] | online DIR [READS]\n");
  return 2;
}
