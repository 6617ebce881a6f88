// pitstore_crash_harness: kill -9 a writer at random moments, again and again, and check the
// store after every kill.
//
//   pitstore_crash_harness [--kills N] [--seed S] [--dir DIR] [--max-ms M]
//
// The writer (a child process) appends numbered batches (row and columnar, synced and not,
// corrections, late arrivals, nulls), merges the tail (auto flush), compacts (partly and fully),
// commits registry changes and vacuums, and writes each batch number to a pipe once Append has
// returned OK. The parent kills it with SIGKILL after 5..M ms (a longer window after a kill in which
// the writer acknowledged nothing, up to 20 M), sometimes also damages the store
// the way a power cut could (a torn write at the end of the data file, or a lost index), then
// reopens and checks:
//   - the store opens read-only and read-write, and Verify() finds no problem;
//   - every acknowledged batch is wholly present; every other batch is wholly present or absent;
//   - latest equals as-of at +inf for every key, and the join at +inf agrees with both.
// Exit 0 when every check passed, 1 at the first failure (with the seed and kill number).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "pitstore/store.h"

namespace pitstore {
namespace {

constexpr int kKeySpace = 300;
constexpr const char* kView = "events";

#define CHECK(cond, ...)                                                                              \
  do {                                                                                                \
    if (!(cond)) {                                                                                    \
      std::fprintf(stderr, "crash harness: check failed: %s (%s:%d)\n  ", #cond, __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                                                              \
      std::fprintf(stderr, "\n");                                                                     \
      std::exit(1);                                                                                   \
    }                                                                                                 \
  } while (0)

// Batch b is a pure function of b, so the checker knows exactly what it holds.
struct BatchShape {
  int rows;
  Timestamp event_ts;
};
BatchShape ShapeOf(int b) {
  // Every seventh batch arrives late: older than what its keys already have.
  return {1 + (b * 37) % 60, b % 7 == 3 ? Timestamp{b} * 1000 - 500'000 : Timestamp{b} * 1000};
}
int64_t KeyOf(int b, int j) { return (b * 53 + j * 7) % kKeySpace; }

WriteBatch MakeBatch(int b) {
  BatchShape s = ShapeOf(b);
  WriteBatch batch;
  if (b % 3 == 0) {  // columnar
    std::vector<EntityKey> keys;
    std::vector<Timestamp> ev;
    Column n = Column::Of(FeatureType::kInt64), pad = Column::Of(FeatureType::kString);
    for (int j = 0; j < s.rows; ++j) {
      keys.push_back({KeyOf(b, j)});
      ev.push_back(s.event_ts);
      n.Append(Value::Int64(b));
      if (j % 5 == 4)
        pad.AppendNull();
      else
        pad.Append(Value::String(std::string(j * 3, static_cast<char>('a' + b % 26))));
    }
    batch.SetColumns(std::move(keys), std::move(ev), {}, {{"batch", std::move(n)}, {"pad", std::move(pad)}});
  } else {
    for (int j = 0; j < s.rows; ++j)
      batch.Add({KeyOf(b, j)}, s.event_ts,
                {Value::Int64(b), j % 5 == 4 ? Value::Null() : Value::String(std::string(j * 3, 'x'))});
  }
  return batch;
}

[[noreturn]] void Writer(const std::string& path, int first, uint64_t seed, int ack_fd) {
  Options o;
  o.auto_flush_row_blocks = 4;
  o.segment_page_rows = 128;
  o.segment_max_rows = 512;  // merges write several segments, each as made, then their commit
  auto opened = Store::Open(path, o);
  if (!opened.ok()) {
    std::fprintf(stderr, "writer: open: %s\n", opened.status().ToString().c_str());
    _exit(2);
  }
  Store& store = **opened;
  auto must = [](const Status& st, const char* what) {
    if (!st.ok()) {
      std::fprintf(stderr, "writer: %s: %s\n", what, st.ToString().c_str());
      _exit(3);
    }
  };
  auto views = store.ListViews();
  must(views.status(), "list views");
  if (views->empty())
    must(store.Apply(Definitions{{{"user", {{"user_id", KeyType::kInt64}}, ""}},
                                 {{kView, {"user"}, {{"batch", FeatureType::kInt64}, {"pad", FeatureType::kString}}}},
                                 {}}),
         "define");
  std::mt19937_64 rng(seed);
  for (int b = first;; ++b) {
    WriteOptions w;
    w.sync = rng() % 4 != 0;  // unsynced commits survive kill -9 too (the page cache does)
    auto r = store.Append(kView, MakeBatch(b), w);
    must(r.status(), "append");
    if (::write(ack_fd, &b, sizeof b) != sizeof b) _exit(4);
    uint64_t dice = rng() % 1000;
    if (dice < 40)
      must(store.Compact(CompactOptions{false}), "compact");
    else if (dice < 55)
      must(store.Compact(CompactOptions{true}), "compact --full");
    else if (dice < 70)
      must(store.Apply(Definitions{{}, {}, {{"svc" + std::to_string(b), {std::string(kView) + ":batch"}, "", {}, ""}}}),
           "apply");
    else if (dice < 77)
      must(store.Vacuum(), "vacuum");
  }
}

struct Tally {
  int kills = 0, torn_tails = 0, lost_indexes = 0, batches_acked = 0, batches_landed_unacked = 0;
  uint64_t rows = 0;
};

// Appends a torn write at the end of the data file: a prefix of its last transaction's bytes
// (or of random bytes), as a power cut in the middle of the next commit's write could leave.
void TearTail(const std::string& path, std::mt19937_64& rng) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t take = 1 + rng() % std::min<size_t>(all.size(), 4096);
  std::string tail = rng() % 2 ? all.substr(all.size() - take) : std::string(take, '\0');
  if (!(rng() % 3))
    for (char& c : tail) c = static_cast<char>(rng());
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << tail;
}

// Checks the store after a kill. `acked` is the highest acknowledged batch, `next` the first
// batch of the killed writer. Returns the highest batch present.
int CheckStore(const std::string& path, int acked, int next, int kill, Tally* tally) {
  {
    Options ro;
    ro.read_only = true;
    auto store = Store::Open(path, ro);
    // Read-only needs an index; the harness may have removed it on purpose.
    CHECK(store.ok() || store.status().IsNotFound(), "kill %d: read-only open: %s", kill,
          store.status().ToString().c_str());
  }
  auto opened = Store::Open(path);
  CHECK(opened.ok(), "kill %d: open: %s", kill, opened.status().ToString().c_str());
  Store& store = **opened;
  auto report = store.Verify();
  CHECK(report.ok() && report->ok(), "kill %d: verify: %s", kill,
        report.ok() ? report->problems.front().c_str() : report.status().ToString().c_str());
  auto views = store.ListViews();
  CHECK(views.ok(), "kill %d: list views: %s", kill, views.status().ToString().c_str());
  if (views->empty()) {
    CHECK(acked < 0, "kill %d: the view vanished after batch %d was acknowledged", kill, acked);
    return -1;
  }
  // Count each batch's rows in one scan of every stored version.
  std::map<int, int> rows_of;
  std::map<int, bool> wrong_time;
  Status st = store.Scan(kView, [&](const EntityKey&, const VersionedRow& row) {
    int b = static_cast<int>(row.values[0].as_int64());
    rows_of[b]++;
    if (row.event_ts != ShapeOf(b).event_ts) wrong_time[b] = true;
    return true;
  });
  CHECK(st.ok(), "kill %d: scan: %s", kill, st.ToString().c_str());
  int highest = acked;
  for (const auto& [b, n] : rows_of) {
    CHECK(!wrong_time[b], "kill %d: batch %d has a row at the wrong time", kill, b);
    CHECK(n == ShapeOf(b).rows, "kill %d: batch %d is partly present: %d of %d rows", kill, b, n, ShapeOf(b).rows);
    // The killed writer began at `next`; at most one batch past its last acknowledgement landed.
    CHECK(b <= std::max(acked, next - 1) + 1, "kill %d: batch %d present, but the writer was killed before writing it",
          kill, b);
    highest = std::max(highest, b);
  }
  for (int b = 0; b <= acked; ++b)
    CHECK(rows_of.count(b), "kill %d: acknowledged batch %d is missing (acked up to %d)", kill, b, acked);
  // A batch of the killed writer that committed before its acknowledgement was written.
  tally->batches_landed_unacked += highest > acked && highest >= next;
  tally->rows = 0;
  for (const auto& [b, n] : rows_of) tally->rows += n;
  // The three read paths agree at +inf for every key.
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (int k = 0; k < kKeySpace; ++k) {
    labels.keys[0].Append(Value::Int64(k));
    labels.times.push_back(kMaxTimestamp);
  }
  auto join = store.AsOfJoin(kView, labels);
  CHECK(join.ok(), "kill %d: join: %s", kill, join.status().ToString().c_str());
  for (int k = 0; k < kKeySpace; ++k) {
    auto latest = store.Latest(kView, {int64_t{k}});
    auto asof = store.AsOf(kView, {int64_t{k}}, kMaxTimestamp);
    CHECK(latest.ok() && asof.ok(), "kill %d: key %d: read failed", kill, k);
    CHECK(latest->found == asof->found && latest->values == asof->values, "kill %d: key %d: latest != as-of at +inf",
          kill, k);
    CHECK((join->status[k] == static_cast<uint8_t>(ValueStatus::kPresent)) == asof->found,
          "kill %d: key %d: join and as-of disagree on presence", kill, k);
    if (asof->found)
      for (size_t c = 0; c < asof->values.size(); ++c)
        CHECK(join->columns[c].Get(k) == asof->values[c], "kill %d: key %d: join and as-of disagree", kill, k);
  }
  return highest;
}

int Run(int kills, uint64_t seed, const std::string& dir, int max_ms) {
  std::filesystem::create_directories(dir);
  std::string path = dir + "/crash.pit";
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-index");
  std::filesystem::remove(path + "-index-lock");
  std::mt19937_64 rng(seed);
  Tally tally;
  int next = 0, acked = -1, window_ms = max_ms;
  auto start = std::chrono::steady_clock::now();
  for (int kill = 0; kill < kills; ++kill) {
    int fds[2];
    CHECK(::pipe(fds) == 0, "pipe");
    uint64_t writer_seed = rng();
    pid_t pid = ::fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
      ::close(fds[0]);
      Writer(path, next, writer_seed, fds[1]);
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::microseconds(5000 + rng() % (window_ms * 1000 - 5000)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    int b;
    int acked_before = acked;
    while (::read(fds[0], &b, sizeof b) == sizeof b) acked = std::max(acked, b);
    ::close(fds[0]);
    // A writer that acknowledged nothing gets a longer life next time (a slow machine or an
    // emulator), so the run makes progress; one that did goes back to the short window.
    window_ms = acked > acked_before ? max_ms : std::min(window_ms * 2, 20 * max_ms);
    CHECK(WIFSIGNALED(status), "kill %d: the writer exited by itself with status %d", kill, WEXITSTATUS(status));
    tally.kills++;
    // What a power cut could add: a torn write at the end, or an index that lost its commits.
    if (rng() % 5 == 0) {
      TearTail(path, rng);
      tally.torn_tails++;
    }
    if (rng() % 12 == 0) {
      std::filesystem::remove(path + "-index");
      tally.lost_indexes++;
    }
    int highest = CheckStore(path, acked, next, kill, &tally);
    next = highest + 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tally.batches_acked = acked + 1;
  std::printf(
      "crash harness: %d kills in %.1f s (seed %llu): %d batches acknowledged, all present; %d kills landed a batch "
      "before its acknowledgement; %d torn tails and %d lost indexes recovered; %llu rows; every check passed\n",
      tally.kills, seconds, static_cast<unsigned long long>(seed), tally.batches_acked, tally.batches_landed_unacked,
      tally.torn_tails, tally.lost_indexes, static_cast<unsigned long long>(tally.rows));
  CHECK(acked > kills, "the writer made too little progress (%d batches in %d kills) to test anything", acked + 1,
        kills);
  return 0;
}

}  // namespace
}  // namespace pitstore

int main(int argc, char** argv) {
  int kills = 200, max_ms = 150;
  uint64_t seed = 1;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--kills")
      kills = std::atoi(argv[i + 1]);
    else if (a == "--seed")
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--max-ms")
      max_ms = std::max(10, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: pitstore_crash_harness [--kills N] [--seed S] [--dir DIR] [--max-ms M]\n");
      return 2;
    }
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pitstore-crash-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return 1;
    dir = tmpl;
  }
  int rc = pitstore::Run(kills, seed, dir, max_ms);
  if (own_dir) std::filesystem::remove_all(dir);
  return rc;
}
