// pitstore-example: the quickstart done through the C++ library instead of the tool. Loads the
// bundled sample (tools/sample/user_stats.csv) into a store and shows the three reads: latest,
// as-of (with and without a knowledge horizon), and history. Then checks, for every user, that
// latest equals as-of at +inf. Exit status 0 when all agree.
//
//   pitstore-example [SAMPLE_CSV] [STORE_PATH]
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pitstore/io/timestamps.h"
#include "pitstore/store.h"

using namespace pitstore;

namespace {

bool ParseUtc(const std::string& s, Timestamp* out) { return pitstore::io::ParseTimestamp(s, out); }

std::string FormatUtc(Timestamp t) {
  std::time_t secs = static_cast<std::time_t>(t / kMicrosPerSecond);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "pitstore-example: %s\n", what.c_str());
  return 1;
}

void PrintLookup(const char* label, const Lookup& r) {
  std::printf("  %-44s ", label);
  if (!r.found) {
    std::printf("(no row)\n");
    return;
  }
  if (r.status[0] == ValueStatus::kExpired) {
    std::printf("expired: event %s is older than the view's TTL [known %s]\n", FormatUtc(r.event_ts).c_str(),
                FormatUtc(r.system_ts).c_str());
    return;
  }
  std::printf("sessions_7d=%-4s avg_session_s=%-7s country=%-5s  [event %s, known %s]\n",
              r.values[0].ToString().c_str(), r.values[1].ToString().c_str(), r.values[2].ToString().c_str(),
              FormatUtc(r.event_ts).c_str(), FormatUtc(r.system_ts).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string csv = argc > 1 ? argv[1] : "tools/sample/user_stats.csv";
  std::string path = argc > 2 ? argv[2] : "quickstart.pit";
  for (const char* suffix : {"", "-index", "-index-lock"}) std::filesystem::remove(path + suffix);

  auto opened = Store::Open(path);
  if (!opened.ok()) return Fail(opened.status().ToString());
  Store& store = **opened;
  Status st = store.DefineEntity({"user", {{"user_id", KeyType::kInt64}}, "A signed-up user"});
  FeatureViewDef view;
  view.name = "user_stats";
  view.entities = {"user"};
  view.features = {{"sessions_7d", FeatureType::kInt64, 0, "sessions in the last 7 days"},
                   {"avg_session_s", FeatureType::kFloat64, 0, "mean session length, seconds"},
                   {"country", FeatureType::kString, 0, "last country seen"}};
  view.ttl_us = int64_t{30} * 86400 * kMicrosPerSecond;
  view.event_ts_column = "event_ts";
  view.created_ts_column = "created_ts";
  if (st.ok()) st = store.DefineView(view);
  if (!st.ok()) return Fail(st.ToString());

  // Load in arrival order, 500 rows a commit; created_ts is the system time.
  std::ifstream in(csv);
  if (!in) return Fail("cannot open " + csv);
  std::string line;
  std::getline(in, line);
  WriteBatch batch;
  size_t rows = 0, line_no = 1, commits = 0;
  std::vector<int64_t> users;
  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    auto r = store.Append("user_stats", batch);
    if (!r.ok()) {
      Fail(r.status().ToString());
      return false;
    }
    ++commits;
    batch.Clear();
    return true;
  };
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<std::string> f = Split(line);
    Timestamp ev, created;
    if (f.size() != 6 || !ParseUtc(f[1], &ev) || !ParseUtc(f[2], &created))
      return Fail(csv + ":" + std::to_string(line_no) + ": malformed line");
    int64_t user = std::stoll(f[0]);
    users.push_back(user);
    batch.Add({user}, ev,
              {f[3].empty() ? Value::Null() : Value::Int64(std::stoll(f[3])),
               f[4].empty() ? Value::Null() : Value::Float64(std::stod(f[4])),
               f[5].empty() ? Value::Null() : Value::String(f[5])},
              created);
    ++rows;
    if (batch.size() == 500 && !flush()) return 1;
  }
  if (!flush()) return 1;
  st = store.Compact();
  if (!st.ok()) return Fail(st.ToString());
  auto stats = store.Stats();
  if (!stats.ok()) return Fail(stats.status().ToString());
  std::printf("Loaded %zu rows from %s into %s in %zu commits (%llu bytes, %llu segments).\n\n", rows, csv.c_str(),
              path.c_str(), commits, static_cast<unsigned long long>(stats->file_bytes),
              static_cast<unsigned long long>(stats->views[0].segments));

  Timestamp mar6, mar4, mar9_1030, mar8_noon;
  ParseUtc("2025-03-06T00:00:00Z", &mar6);
  ParseUtc("2025-03-04T00:00:00Z", &mar4);
  ParseUtc("2025-03-09T10:30:00Z", &mar9_1030);
  ParseUtc("2025-03-08T12:00:00Z", &mar8_noon);
  EntityKey u42 = {int64_t{42}};
  std::printf("user 42 (a late arrival for Mar 5 landed Mar 9 10:00; Mar 3 was corrected Mar 9 11:00):\n");
  auto show = [&](const char* label, Result<Lookup> r) {
    if (!r.ok()) return Fail(r.status().ToString());
    PrintLookup(label, *r);
    return 0;
  };
  Timestamp mar10;
  ParseUtc("2025-03-10T00:00:00Z", &mar10);
  ReadOptions on_mar10;
  on_mar10.now = mar10;
  if (show("latest (reader's clock: now; TTL 30 days)", store.Latest("user_stats", u42))) return 1;
  if (show("latest (reader's clock: Mar 10)", store.Latest("user_stats", u42, {}, on_mar10))) return 1;
  if (show("as of Mar 6", store.AsOf("user_stats", u42, mar6))) return 1;
  if (show("as of Mar 6, as known on Mar 8 12:00", store.AsOf("user_stats", u42, mar6, mar8_noon))) return 1;
  if (show("as of Mar 4", store.AsOf("user_stats", u42, mar4))) return 1;
  if (show("as of Mar 4, as known on Mar 9 10:30", store.AsOf("user_stats", u42, mar4, mar9_1030))) return 1;

  auto hist = store.History("user_stats", u42);
  if (!hist.ok()) return Fail(hist.status().ToString());
  std::printf("\nhistory of user 42 (every version, by event time then knowledge time):\n");
  std::printf("  %-17s %-17s %-11s %-13s %s\n", "event_ts", "system_ts", "sessions_7d", "avg_session_s", "country");
  for (const VersionedRow& r : *hist)
    std::printf("  %-17s %-17s %-11s %-13s %s\n", FormatUtc(r.event_ts).c_str(), FormatUtc(r.system_ts).c_str(),
                r.values[0].ToString().c_str(), r.values[1].ToString().c_str(), r.values[2].ToString().c_str());

  // The promise: the online answer equals the offline one.
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  size_t mismatches = 0;
  for (int64_t u : users) {
    auto latest = store.Latest("user_stats", {u});
    auto asof = store.AsOf("user_stats", {u}, kMaxTimestamp);
    if (!latest.ok() || !asof.ok() || latest->event_ts != asof->event_ts || latest->system_ts != asof->system_ts)
      ++mismatches;
    else
      for (size_t i = 0; i < 3; ++i)
        if (!(latest->values[i] == asof->values[i]) && latest->status[i] != ValueStatus::kExpired) ++mismatches;
  }
  auto report = store.Verify();
  std::printf("\ncheck: latest == as_of(+inf) for %zu users: %s; verify: %s\n", users.size(),
              mismatches ? "MISMATCH" : "ok", report.ok() && report->ok() ? "ok" : "PROBLEMS");
  return mismatches == 0 && report.ok() && report->ok() ? 0 : 1;
}
