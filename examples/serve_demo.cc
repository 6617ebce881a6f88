// pitstore-serve-demo: an on-device inference loop over a shipped store. Opens the store
// read-only (as a device would, after `pitstore copy` on a server), then for each incoming
// request fetches the entity's latest features, scores them with a small fixed model (logistic
// regression over the numeric features), and records the latency of fetch + score. Requests come
// one at a time (LatestInto, no allocation per call) or in batches (LatestBatch). Prints the time
// to open, the memory beyond the page cache, throughput and a latency histogram.
//
//   pitstore-serve-demo STORE VIEW [--requests N] [--batch B] [--threads T] [--keys LO:HI] [--seed S]
//                      [--opens N]
//
// --keys: the integer entity ids requests draw from, uniformly (default: the keys found in the
// first 100,000 rows of the view). Single-key int64 views only.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pitstore/store.h"

using namespace pitstore;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string store, view;
  size_t requests = 200000, batch = 1;
  int threads = 1, opens = 1;
  int64_t lo = 0, hi = -1;
  uint64_t seed = 1;
};

// Memory of this process from /proc/self/status, in KiB: all resident, anonymous (heap, stacks:
// what the process itself holds) and file-backed (the LMDB map and data file pages: page cache
// shared with every other reader).
struct Memory {
  long rss = 0, anon = 0, file = 0;
};
Memory ReadMemory() {
  Memory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    long* field = line.rfind("VmRSS:", 0) == 0     ? &m.rss
                  : line.rfind("RssAnon:", 0) == 0 ? &m.anon
                  : line.rfind("RssFile:", 0) == 0 ? &m.file
                                                   : nullptr;
    if (field) *field = std::strtol(line.c_str() + line.find(':') + 1, nullptr, 10);
  }
  return m;
}

// The model: a fixed logistic regression over the numeric features (nulls count as 0).
struct Model {
  std::vector<double> weights;
  double bias = -0.5;
  double Score(const Lookup& l) const {
    double z = bias;
    for (size_t i = 0; i < l.values.size() && i < weights.size(); ++i) {
      const Value& v = l.values[i];
      if (v.is_null()) continue;
      double x = 0;
      switch (v.type()) {
        case FeatureType::kBool:
          x = v.as_bool();
          break;
        case FeatureType::kInt32:
          x = v.as_int32();
          break;
        case FeatureType::kInt64:
          x = static_cast<double>(v.as_int64());
          break;
        case FeatureType::kFloat32:
          x = v.as_float32();
          break;
        case FeatureType::kFloat64:
          x = v.as_float64();
          break;
        default:
          continue;
      }
      z += weights[i] * x;
    }
    return 1 / (1 + std::exp(-z));
  }
};

int Usage() {
  std::fprintf(stderr,
               "usage: pitstore-serve-demo STORE VIEW [--requests N] [--batch B] [--threads T] [--keys LO:HI] "
               "[--seed S] [--opens N]\n");
  return 2;
}

bool ParseArgs(int argc, char** argv, Args* a) {
  if (argc < 3) return false;
  a->store = argv[1];
  a->view = argv[2];
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--requests")
      a->requests = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--batch")
      a->batch = std::max<size_t>(1, std::strtoull(v.c_str(), nullptr, 10));
    else if (k == "--threads")
      a->threads = std::max(1, std::atoi(v.c_str()));
    else if (k == "--opens")
      a->opens = std::max(1, std::atoi(v.c_str()));
    else if (k == "--seed")
      a->seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--keys" && v.find(':') != std::string::npos) {
      a->lo = std::strtoll(v.c_str(), nullptr, 10);
      a->hi = std::strtoll(v.c_str() + v.find(':') + 1, nullptr, 10);
    } else
      return false;
  }
  return (argc - 3) % 2 == 0;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p / 100 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) return Usage();
  Options o;
  o.read_only = true;
  // --opens N: open (and close) N times; the first open in a process pays for its first page
  // faults and allocations, the later ones show the store's own cost.
  std::vector<double> open_us;
  Result<std::unique_ptr<Store>> opened = Status::NotFound("not opened");
  for (int i = 0; i < a.opens; ++i) {
    opened = Status::NotFound("not opened");
    auto t0 = Clock::now();
    opened = Store::Open(a.store, o);
    open_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!opened.ok()) {
      std::fprintf(stderr, "pitstore-serve-demo: %s\n", opened.status().ToString().c_str());
      return 1;
    }
  }
  Store& store = **opened;
  auto view = store.GetView(a.view);
  if (!view.ok()) {
    std::fprintf(stderr, "pitstore-serve-demo: %s\n", view.status().ToString().c_str());
    return 1;
  }
  Memory opened_mem = ReadMemory();
  std::printf("opened %s read-only in %.0f us; resident %ld KiB (anonymous %ld KiB)\n", a.store.c_str(), open_us[0],
              opened_mem.rss, opened_mem.anon);
  if (a.opens > 1) {
    std::printf("later opens, us:");
    for (size_t i = 1; i < open_us.size(); ++i) std::printf(" %.0f", open_us[i]);
    std::printf("\n");
  }

  if (a.hi < a.lo) {  // the request population: keys seen in the first rows of the view
    a.lo = INT64_MAX;
    a.hi = INT64_MIN;
    size_t rows = 0;
    Status st = store.Scan(a.view, [&](const EntityKey& key, const VersionedRow&) {
      if (const int64_t* id = std::get_if<int64_t>(&key[0])) {
        a.lo = std::min(a.lo, *id);
        a.hi = std::max(a.hi, *id);
      }
      return ++rows < 100000;
    });
    if (!st.ok() || a.hi < a.lo) {
      std::fprintf(stderr, "pitstore-serve-demo: no int64 keys found in view '%s'; give --keys LO:HI\n",
                   a.view.c_str());
      return 1;
    }
  }
  Model model;
  for (size_t i = 0; i < view->features.size(); ++i) model.weights.push_back((i % 2 ? -0.1 : 0.1) * (1 + i % 4));

  // Each thread serves requests / threads requests, B keys at a time, and records each
  // request's latency (fetch + score) in microseconds.
  std::vector<std::vector<double>> latencies(a.threads);
  std::atomic<size_t> found{0}, expired{0}, failed{0};
  std::vector<double> score_sums(a.threads, 0);
  auto serve_start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < a.threads; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(a.seed * 1000 + t);
      std::uniform_int_distribution<int64_t> pick(a.lo, a.hi);
      size_t mine = a.requests / a.threads / a.batch;
      latencies[t].reserve(mine);
      Lookup one;
      std::vector<EntityKey> keys(a.batch, EntityKey{int64_t{0}});
      for (size_t r = 0; r < mine; ++r) {
        for (EntityKey& k : keys) k[0] = pick(rng);
        auto start = Clock::now();
        if (a.batch == 1) {
          Status st = store.LatestInto(a.view, keys[0], &one);
          if (!st.ok()) {
            failed++;
            continue;
          }
          if (one.found) {
            score_sums[t] += model.Score(one);
            found++;
            expired += !one.status.empty() && one.status[0] == ValueStatus::kExpired;
          }
        } else {
          auto many = store.LatestBatch(a.view, keys);
          if (!many.ok()) {
            failed++;
            continue;
          }
          for (const Lookup& l : *many)
            if (l.found) {
              score_sums[t] += model.Score(l);
              found++;
              expired += !l.status.empty() && l.status[0] == ValueStatus::kExpired;
            }
        }
        latencies[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      }
    });
  for (std::thread& th : threads) th.join();
  double seconds = std::chrono::duration<double>(Clock::now() - serve_start).count();

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  double score_sum = 0;
  for (double s : score_sums) score_sum += s;
  size_t keys_served = all.size() * a.batch;
  Memory after = ReadMemory();
  std::printf(
      "served %zu requests of %zu key(s) from %d thread(s) in %.2f s: %.0f keys/s; %zu found (%zu expired), "
      "%zu failed; mean score %.4f\n",
      all.size(), a.batch, a.threads, seconds, static_cast<double>(keys_served) / seconds, found.load(), expired.load(),
      failed.load(), found ? score_sum / static_cast<double>(found) : 0.0);
  std::printf("latency per request (fetch + score), us: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.1f\n",
              Percentile(all, 50), Percentile(all, 90), Percentile(all, 99), Percentile(all, 99.9),
              all.empty() ? 0.0 : all.back());
  std::printf(
      "memory: resident %ld KiB = anonymous %ld KiB (the process's own) + file-backed %ld KiB (page cache: "
      "the index map and data file)\n",
      after.rss, after.anon, after.file);
  // A log2 histogram of request latencies.
  std::printf("histogram:\n");
  double lo_us = 0.25;
  for (double edge = lo_us; !all.empty(); edge *= 2) {
    auto from = std::lower_bound(all.begin(), all.end(), edge / 2 == lo_us / 2 ? 0.0 : edge / 2);
    auto to = std::lower_bound(all.begin(), all.end(), edge);
    size_t n = static_cast<size_t>(to - from);
    if (n)
      std::printf(
          "  < %8.2f us %9zu %s\n", edge, n,
          std::string(static_cast<size_t>(60.0 * static_cast<double>(n) / static_cast<double>(all.size())) + 1, '#')
              .c_str());
    if (to == all.end()) break;
  }
  return failed ? 1 : 0;
}
