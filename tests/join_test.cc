// Store::AsOfJoin at a size where every part runs on several threads (label sort, array fills,
// scatter, page decoding), against AsOf for every label; and the join's refusals.
#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "as_of_join.h"
#include "key_codec.h"
#include "pitstore/env.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

// Every label's join answer (status, times, each column) against AsOf of its key (one int64 or
// string key column) at its time; *matched counts the labels AsOf finds. `what` names the case.
void ExpectJoinAgreesWithAsOf(Store& store, const std::string& view, const JoinLabels& labels, const JoinResult& got,
                              const std::string& what, size_t* matched) {
  *matched = 0;
  const Column& keys = labels.keys[0];
  for (size_t i = 0; i < labels.times.size(); ++i) {
    const EntityKey key{keys.type == FeatureType::kInt64 ? KeyPart(keys.ints[i]) : KeyPart(keys.strings[i])};
    Lookup want = UNWRAP(store.AsOf(view, key, labels.times[i]));
    ASSERT_EQ(got.status[i] == uint8_t(ValueStatus::kPresent), want.found) << "label " << i << " " << what;
    if (!want.found) continue;
    ++*matched;
    ASSERT_EQ(got.event_ts[i], want.event_ts) << "label " << i << " " << what;
    ASSERT_EQ(got.system_ts[i], want.system_ts) << "label " << i << " " << what;
    ASSERT_EQ(got.columns.size(), want.values.size()) << what;
    for (size_t c = 0; c < got.columns.size(); ++c)
      ASSERT_EQ(got.columns[c].Get(i), want.values[c]) << "label " << i << ", column " << c << " " << what;
  }
}

// A join of `labels` with view v on two threads, over a store of at least `min_segments`
// segments, against AsOf for every label; more than half of them match.
void ExpectTwoThreadJoinAgreesWithAsOf(Store& store, const JoinLabels& labels, size_t min_segments) {
  size_t segments = 0;
  for (const BlockInfo& b : UNWRAP(store.ListBlocks("v"))) segments += b.segment;
  ASSERT_GE(segments, min_segments);
  JoinOptions jo;
  jo.threads = 2;
  JoinResult got = UNWRAP(store.AsOfJoin("v", labels, {}, jo));
  size_t matched = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectJoinAgreesWithAsOf(store, "v", labels, got, "", &matched));
  EXPECT_GT(matched, labels.times.size() / 2);
}

// The POSIX Env, but four threads allowed whatever the machine's cores: a join on four threads
// splits in two key ranges with a page-decoding worker each (on two threads, none).
class FourThreadEnv : public Env {
 public:
  Result<std::unique_ptr<EnvFile>> Open(const std::string& path, bool writable, bool create) override {
    return posix_->Open(path, writable, create);
  }
  bool Exists(const std::string& path) override { return posix_->Exists(path); }
  Status Rename(const std::string& from, const std::string& to) override { return posix_->Rename(from, to); }
  Status Link(const std::string& from, const std::string& to) override { return posix_->Link(from, to); }
  Status Remove(const std::string& path) override { return posix_->Remove(path); }
  Status SyncDir(const std::string& path) override { return posix_->SyncDir(path); }
  int64_t NowMicros() override { return posix_->NowMicros(); }
  unsigned MaxThreads() override { return 4; }

 private:
  Env* posix_ = Env::Default();
};

// A store at `path` with 64-row pages (keys span page ends) and the view most tests join:
// v, keyed by user_id, with an int64 `n` and a string `s`.
std::unique_ptr<Store> OpenUserStore(const std::string& path, Options o) {
  o.segment_page_rows = 64;
  auto store = UNWRAP(Store::Open(path, o));
  EXPECT_TRUE(store->DefineEntity(testing::IntEntity("user", "user_id")).ok());
  EXPECT_TRUE(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}, {"s", FeatureType::kString}}}).ok());
  return store;
}

// A store of one view "v" (n: int64) keyed by one string, in 16-row pages and segments of at
// most `segment_max_rows`.
std::unique_ptr<Store> OpenStringKeyStore(const std::string& path, uint32_t segment_max_rows) {
  Options o;
  o.segment_page_rows = 16;
  o.segment_max_rows = segment_max_rows;
  auto store = UNWRAP(Store::Open(path, o));
  EXPECT_TRUE(store->DefineEntity(EntityDef{"item", {{"item_id", KeyType::kString}}, ""}).ok());
  EXPECT_TRUE(store->DefineView({"v", {"item"}, {{"n", FeatureType::kInt64}}}).ok());
  return store;
}

// n labels of string keys made by `key_of`, at times in [0, 1100).
JoinLabels StringLabels(size_t n, std::mt19937_64& rng, const std::function<std::string()>& key_of) {
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kString));
  for (size_t i = 0; i < n; ++i) {
    labels.keys[0].strings.push_back(key_of());
    labels.keys[0].valid.push_back(1);
    labels.times.push_back(static_cast<int64_t>(rng() % 1100));
  }
  return labels;
}

class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.env = &env_;
    o.segment_max_rows = 2000;  // several segments: a full compaction leaves disjoint ones
    store_ = OpenUserStore(dir_.path("j.pit"), o);
  }
  FourThreadEnv env_;
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// The label sort (a radix sort by key prefix, then each prefix's labels by key, time and input
// order) against a comparison sort: int64 keys (the prefix is the whole key), packed with the
// label's index into one word when they fit and, with keys as far apart as int64 allows, not;
// and keys of an int64 and a string (prefix ties decided by the whole key); keys of one label,
// of a few, and of hundreds (the long-run path), negative keys, times tied; on two threads
// from 100,000 labels.
TEST(JoinLabelSort, OrdersAsAComparisonSortDoes) {
  std::mt19937_64 rng(11);
  // Variants 3 and 4: keys spanning 2^46 - 1 and 2^46. With 150,000 labels (18 bits of index)
  // the first packs in exactly 64 bits, the second takes the entry path.
  for (int variant = 0; variant < 5; ++variant) {
    const bool two_part = variant == 1, far_apart = variant == 2;
    const int64_t edge_span = variant == 3 ? (int64_t{1} << 46) - 1 : variant == 4 ? int64_t{1} << 46 : 0;
    for (size_t n : {size_t{1}, size_t{7}, size_t{5000}, size_t{150'000}}) {
      JoinLabels labels;
      labels.keys.push_back(Column::Of(FeatureType::kInt64));
      if (two_part) labels.keys.push_back(Column::Of(FeatureType::kString));
      for (size_t i = 0; i < n; ++i) {
        int64_t key = rng() % 4 == 0 ? static_cast<int64_t>(rng() % 5) - 2  // hot keys: long runs
                                     : static_cast<int64_t>(rng() % 100'000) - 50'000;
        if (far_apart && rng() % 8 == 0)
          key = rng() % 2 ? INT64_MIN + static_cast<int64_t>(rng() % 3) : INT64_MAX - static_cast<int64_t>(rng() % 3);
        if (edge_span != 0) {  // keys in [0, 40] and [span - 40, span]; label 0 at 0, label 1 at span
          key = static_cast<int64_t>(rng() % 41);
          if (rng() % 2) key = edge_span - key;
          if (i < 2) key = i == 0 ? 0 : edge_span;
        }
        labels.keys[0].ints.push_back(key);
        labels.keys[0].valid.push_back(1);
        if (two_part) {
          labels.keys[1].strings.push_back(std::string(rng() % 3, 'a' + static_cast<char>(rng() % 3)));
          labels.keys[1].valid.push_back(1);
        }
        labels.times.push_back(static_cast<Timestamp>(rng() % 50));
      }
      JoinOptions options;
      options.threads = 2;
      SortedLabels sorted = SortLabels(labels, options);
      std::vector<uint32_t> want(n);
      for (uint32_t i = 0; i < n; ++i) want[i] = i;
      std::sort(want.begin(), want.end(), [&](uint32_t a, uint32_t b) {
        const std::string ka = LabelKey(labels, a), kb = LabelKey(labels, b);
        if (ka != kb) return ka < kb;
        if (labels.times[a] != labels.times[b]) return labels.times[a] < labels.times[b];
        return a < b;
      });
      ASSERT_EQ(sorted.size(), n);
      for (size_t j = 0; j < n; ++j)
        ASSERT_EQ(sorted.indexes[j], want[j]) << "position " << j << " of " << n << ", variant " << variant;
    }
  }
}

TEST_F(JoinTest, LargeLabelSetMatchesAsOfOnEveryRow) {
  std::mt19937_64 rng(7);
  const int64_t kKeys = 3000;
  // Three batches (corrections, late arrivals, nulls); the first two merged into segments,
  // the last left as a row batch, so the join merges overlapping blocks.
  for (int batch = 0; batch < 3; ++batch) {
    WriteBatch b;
    for (int64_t k = 0; k < kKeys; ++k) {
      int64_t ev = static_cast<int64_t>(rng() % 1000);
      b.Add({k}, ev, {rng() % 7 ? Value::Int64(batch * 10000 + k) : Value(), Value::String(std::to_string(ev))});
    }
    ASSERT_TRUE(store_->Append("v", b).ok());
    if (batch == 1) ASSERT_OK(store_->Compact(CompactOptions{true}));
  }
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  const size_t n = 150'000;
  for (size_t i = 0; i < n; ++i) {
    labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % (kKeys + 100)));  // some unknown keys
    labels.times.push_back(static_cast<int64_t>(rng() % 1100));
  }
  // Overlapping segments and a row batch; then disjoint segments only (merged in two halves).
  // On two threads each half decodes its own pages; on four, a worker each decodes ahead.
  for (bool compacted : {false, true}) {
    if (compacted) ASSERT_OK(store_->Compact(CompactOptions{true}));
    auto blocks = UNWRAP(store_->ListBlocks("v"));
    ASSERT_GE(blocks.size(), 3u);
    for (int threads : {2, 4}) {
      JoinOptions jo;
      jo.threads = threads;
      JoinResult got = UNWRAP(store_->AsOfJoin("v", labels, {}, jo));
      ASSERT_EQ(got.columns.size(), 2u);
      ASSERT_EQ(got.columns[0].size(), n);
      size_t matched = 0;
      const std::string what =
          std::string(compacted ? "compacted" : "as ingested") + ", " + std::to_string(threads) + " threads";
      ASSERT_NO_FATAL_FAILURE(ExpectJoinAgreesWithAsOf(*store_, "v", labels, got, what, &matched));
      EXPECT_GT(matched, n / 2);
    }
  }
}

TEST_F(JoinTest, OverlappingSegmentsMergedInTwoKeyRangesMatchAsOf) {
  // Four loads, each over every key and merged into segments of its own (a partial
  // compaction): the segments overlap, as ingestion leaves them, so the join splits them in two
  // key ranges at a page's first key. Keys of 1 to 9 versions cross the 64-row pages.
  std::mt19937_64 rng(13);
  const int64_t kKeys = 1500;
  for (int load = 0; load < 4; ++load) {
    WriteBatch b;
    for (int64_t k = 0; k < kKeys; ++k)
      for (uint64_t v = 0, versions = 1 + rng() % 9; v < versions; ++v) {
        int64_t ev = static_cast<int64_t>(rng() % 1000);
        b.Add({k}, ev, {rng() % 7 ? Value::Int64(load * 100000 + k) : Value(), Value::String(std::to_string(ev))});
      }
    ASSERT_TRUE(store_->Append("v", b).ok());
    ASSERT_OK(store_->Compact(CompactOptions{false}));
  }
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  const size_t n = 120'000;
  for (size_t i = 0; i < n; ++i) {
    labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % (kKeys + 50)) - 20);  // some unknown keys
    labels.times.push_back(static_cast<int64_t>(rng() % 1100));
  }
  ExpectTwoThreadJoinAgreesWithAsOf(*store_, labels, 8);
}

// More blocks than the merge scans (kJoinScanBlocks) go through the loser tree: a segment of
// several pages, then 40 row batches over the same keys left unmerged. On two threads and
// 120,000 labels the join also splits into two key ranges at a page of the segment (the upper
// one starting at that page); on one thread it does not.
TEST(JoinManyBlocks, MoreBlocksThanTheScanTakesMatchAsOf) {
  TempDir dir;
  Options o;
  o.auto_flush_row_blocks = 0;  // only Compact() merges: every later batch stays a block
  o.auto_flush_rows = 0;
  auto store = OpenUserStore(dir.path("m.pit"), o);
  std::mt19937_64 rng(19);
  const int64_t kKeys = 400;
  for (int batch = 0; batch < 41; ++batch) {
    WriteBatch b;
    for (int64_t k = 0; k < kKeys; ++k) {
      if (batch > 0 && rng() % 4 == 0) continue;  // later batches lack some keys
      const int64_t ev = static_cast<int64_t>(rng() % 1000);
      b.Add({k}, ev, {rng() % 7 ? Value::Int64(batch * 1000 + k) : Value(), Value::String(std::to_string(ev))});
    }
    ASSERT_TRUE(store->Append("v", b).ok());
    if (batch == 0) ASSERT_OK(store->Compact(CompactOptions{true}));  // a segment of 7 pages
  }
  const std::vector<BlockInfo> blocks = UNWRAP(store->ListBlocks("v"));
  ASSERT_GT(blocks.size(), kJoinScanBlocks);
  ASSERT_TRUE(std::any_of(blocks.begin(), blocks.end(), [](const BlockInfo& b) { return b.segment && b.pages >= 2; }));
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  const size_t n = 120'000;  // past the 100,000 from which a join uses its threads
  for (size_t i = 0; i < n; ++i) {
    labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % (kKeys + 10)) - 5);  // some unknown keys
    labels.times.push_back(static_cast<int64_t>(rng() % 1100));
  }
  for (int threads : {1, 2}) {
    JoinOptions jo;
    jo.threads = threads;
    jo.plan = JoinPlan::kScan;
    JoinResult got = UNWRAP(store->AsOfJoin("v", labels, {}, jo));
    size_t matched = 0;
    ASSERT_NO_FATAL_FAILURE(
        ExpectJoinAgreesWithAsOf(*store, "v", labels, got, std::to_string(threads) + " threads", &matched));
    EXPECT_GT(matched, n / 2);
  }
}

// Blocks of one page each, of rows (key, event time, seq, value) at system time 1000: the
// join's core over real Runs.
class OnePageBlocks : public JoinPageSource {
 public:
  struct Row {
    int64_t key, event_ts;
    uint64_t seq;
    int64_t value;
  };
  void AddBlock(const std::vector<Row>& rows) {
    pitstore::Run run;
    run.columns.push_back(Column::Of(FeatureType::kInt64));
    for (const Row& r : rows) {
      std::string key;
      EncodeKeyPart(KeyPart(r.key), &key);
      run.keys.push_back(key);
      run.event_ts.push_back(r.event_ts);
      run.system_ts.push_back(1000);
      run.seq.push_back(r.seq);
      run.columns[0].Append(Value::Int64(r.value));
    }
    blocks_.push_back(std::move(run));
  }
  size_t blocks() const override { return blocks_.size(); }
  size_t pages(size_t) const override { return 1; }
  std::string min_key(size_t b) const override { return blocks_[b].keys.front(); }
  std::string max_key(size_t b) const override { return blocks_[b].keys.back(); }

 protected:
  std::vector<pitstore::Run> blocks_;
};

// The core join of one int64 feature, a label for each of `keys` at time 500.
JoinResult JoinAt500(JoinPageSource& source, const std::vector<int64_t>& keys, int threads) {
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (int64_t key : keys) {
    labels.keys[0].ints.push_back(key);
    labels.times.push_back(500);
  }
  JoinSpec spec;
  spec.projection = {0};
  spec.types.types = {FeatureType::kInt64};
  spec.types.dims = {0};
  spec.options.threads = threads;
  JoinResult got;
  const Status st = RunAsOfJoin(source, labels, spec, &got);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return got;
}

// The join's core over two blocks whose key ranges touch: key 5 is the last of one and the
// first of the other, with two versions equal in both times, told apart by ingest order alone.
// The source drops seq (every row 0) when told each key is in one block; the join must not
// tell it so here, or the newer version loses.
TEST(JoinCore, BlocksSharingABoundaryKeyKeepIngestOrder) {
  class TwoBlocks : public OnePageBlocks {
   public:
    TwoBlocks() {
      // Block 0 (listed first, the older by its greatest event time): keys 5..9, and the newer
      // of key 5's tied versions (seq 20). Block 1: keys 1..5, the older one (seq 10).
      AddBlock({{5, 100, 20, 555}, {7, 100, 21, 7}, {9, 100, 22, 9}});
      AddBlock({{1, 200, 1, 1}, {3, 200, 2, 3}, {5, 100, 10, 5}});
    }
    Timestamp max_event_ts(size_t b) const override { return b == 0 ? 100 : 200; }
    void SetOneBlockPerKey() override { told_one_block_per_key = true; }
    Result<std::shared_ptr<const JoinPage>> LoadPage(size_t b, size_t) override {
      pitstore::Run run = blocks_[b];
      if (told_one_block_per_key) std::fill(run.seq.begin(), run.seq.end(), 0);
      return JoinPage::OfRun(std::make_shared<const pitstore::Run>(std::move(run)));
    }
    bool told_one_block_per_key = false;
  };
  for (int threads : {1, 2}) {
    TwoBlocks source;
    const JoinResult got = JoinAt500(source, {5, 1, 9}, threads);
    EXPECT_FALSE(source.told_one_block_per_key) << threads << " threads";
    ASSERT_EQ(got.columns[0].size(), 3u);
    EXPECT_EQ(got.columns[0].Get(0), Value::Int64(555)) << threads << " threads";  // the newer tied version
    EXPECT_EQ(got.columns[0].Get(1), Value::Int64(1));
    EXPECT_EQ(got.columns[0].Get(2), Value::Int64(9));
  }
}

// Pages read without their rows' ingest order (as segment pages are): the join loads it
// (LoadSeq) only for the pages whose rows tie in both times with rows of another page. Key 5
// has a version in blocks 0 and 1 equal in both times, told apart by ingest order; key 9 has
// versions in blocks 0 and 2 at different times, and block 2's order is never loaded.
TEST(JoinCore, IngestOrderIsLoadedOnlyForPagesWithTies) {
  class ThreeBlocks : public OnePageBlocks {
   public:
    ThreeBlocks() {
      AddBlock({{5, 100, 20, 555}, {7, 100, 21, 7}, {9, 100, 22, 9}});
      AddBlock({{1, 200, 1, 1}, {3, 200, 2, 3}, {5, 100, 10, 5}});
      AddBlock({{9, 300, 30, 99}, {21, 300, 31, 21}});
    }
    Timestamp max_event_ts(size_t b) const override { return 100 * static_cast<Timestamp>(b + 1); }
    Result<std::shared_ptr<const JoinPage>> LoadPage(size_t b, size_t p) override {
      pitstore::Run run = blocks_[b];
      std::fill(run.seq.begin(), run.seq.end(), 0);
      auto rows = std::make_shared<const pitstore::Run>(std::move(run));
      std::shared_ptr<JoinPage> page = JoinPage::Of(rows, KeyRunsOf(*rows));
      page->seq_read = false;
      page->block = b;
      page->page = p;
      return std::shared_ptr<const JoinPage>(std::move(page));
    }
    Result<std::vector<uint64_t>> LoadSeq(size_t b, size_t) override {
      std::lock_guard<std::mutex> lock(mu);
      ++seq_loads[b];
      std::vector<uint64_t> seq = blocks_[b].seq;
      if (short_seq) seq.pop_back();
      return seq;
    }
    std::mutex mu;
    std::map<size_t, int> seq_loads;  // by block
    bool short_seq = false;           // LoadSeq gives one row fewer than the page holds
  };
  for (int threads : {1, 2}) {
    ThreeBlocks source;
    const JoinResult got = JoinAt500(source, {5, 1, 9, 21}, threads);
    ASSERT_EQ(got.columns[0].size(), 4u);
    EXPECT_EQ(got.columns[0].Get(0), Value::Int64(555)) << threads << " threads";  // the later of the tie
    EXPECT_EQ(got.columns[0].Get(1), Value::Int64(1));
    EXPECT_EQ(got.columns[0].Get(2), Value::Int64(99));
    EXPECT_EQ(got.columns[0].Get(3), Value::Int64(21));
    EXPECT_EQ(source.seq_loads, (std::map<size_t, int>{{0, 1}, {1, 1}})) << threads << " threads";
  }
  // An ingest order that does not fit its page fails the join; it is not used.
  ThreeBlocks damaged;
  damaged.short_seq = true;
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  labels.keys[0].ints.push_back(5);
  labels.times.push_back(500);
  JoinSpec spec;
  spec.projection = {0};
  spec.types.types = {FeatureType::kInt64};
  spec.types.dims = {0};
  JoinResult got;
  const Status st = RunAsOfJoin(damaged, labels, spec, &got);
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("ingest order"), std::string::npos) << st.ToString();
}

// Two segments over the same keys (500 of them in both) whose versions are equal in both
// times, the source having given the system time: the later load wins each tie, in the join
// (whose pages are read without ingest order, loaded for the tied ones) as in AsOf.
TEST(JoinStoreTies, VersionsEqualInBothTimesAcrossSegmentsGoToTheLaterLoad) {
  TempDir dir;
  Options o;
  o.segment_max_rows = 1000;  // each load's segment too large to be merged again
  auto store = OpenUserStore(dir.path("t.pit"), o);
  for (int load = 0; load < 2; ++load) {
    WriteBatch b;
    for (int64_t k = load * 500; k < load * 500 + 1000; ++k)
      b.Add({k}, 100, {Value::Int64(load + 1), Value::String("x")}, 5000);
    ASSERT_TRUE(store->Append("v", b).ok());
    ASSERT_OK(store->Compact(CompactOptions{false}));
  }
  size_t segments = 0;
  for (const BlockInfo& b : UNWRAP(store->ListBlocks("v"))) segments += b.segment;
  ASSERT_EQ(segments, 2u);
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (int64_t k = 0; k < 1500; ++k)
    for (int copy = 0; copy < 80; ++copy) {  // 120,000 labels: a join on two threads
      labels.keys[0].ints.push_back(k);
      labels.times.push_back(200);
    }
  JoinOptions jo;
  jo.threads = 2;
  const JoinResult got = UNWRAP(store->AsOfJoin("v", labels, {}, jo));
  size_t matched = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectJoinAgreesWithAsOf(*store, "v", labels, got, "", &matched));
  ASSERT_EQ(matched, labels.times.size());
  for (size_t i = 0; i < labels.times.size(); ++i)
    ASSERT_EQ(got.columns[0].Get(i), Value::Int64(labels.keys[0].ints[i] < 500 ? 1 : 2)) << "label " << i;
}

// A view whose blocks' key ranges are disjoint is merged in two key ranges split at the first
// key of the middle page of them all: inside one segment when it is the only block (3,000 keys
// of 9 versions in 64-row pages: the middle page, 211, starts at row 13,504, inside key 1,500,
// whose rows begin on the page before), on two threads and on four.
TEST(JoinOneSegment, SplitAtItsMiddlePageMatchesAsOf) {
  TempDir dir;
  FourThreadEnv env;
  Options o;
  o.env = &env;
  auto store = OpenUserStore(dir.path("one.pit"), o);
  std::mt19937_64 rng(31);
  const int64_t kKeys = 3000;
  WriteBatch b;
  for (int64_t k = 0; k < kKeys; ++k)
    for (int v = 0; v < 9; ++v) {
      const int64_t ev = static_cast<int64_t>(rng() % 1000);
      b.Add({k}, ev, {rng() % 7 ? Value::Int64(k * 1000 + ev) : Value(), Value::String(std::to_string(ev))});
    }
  ASSERT_TRUE(store->Append("v", b).ok());
  ASSERT_OK(store->Compact(CompactOptions{true}));
  ASSERT_EQ(UNWRAP(store->ListBlocks("v")).size(), 1u);
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (size_t i = 0; i < 120'000; ++i) {
    labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % (kKeys + 50)) - 20);
    labels.times.push_back(static_cast<int64_t>(rng() % 1100));
  }
  for (int threads : {2, 4}) {
    JoinOptions jo;
    jo.threads = threads;
    JoinResult got = UNWRAP(store->AsOfJoin("v", labels, {}, jo));
    size_t matched = 0;
    ASSERT_NO_FATAL_FAILURE(
        ExpectJoinAgreesWithAsOf(*store, "v", labels, got, std::to_string(threads) + " threads", &matched));
    EXPECT_GT(matched, labels.times.size() / 2);
  }
}

// Disjoint blocks of one page each whose page keys are unknown: the split falls back to the
// least key of the block after the one holding the middle page. Three blocks of 1,000 keys,
// each key's versions at times 10, 20 and 30; 120,000 labels on two threads, each checked
// against the answer worked out by hand.
TEST(JoinCore, DisjointBlocksOfUnknownPageKeysSplitAtABlockBoundary) {
  class ThreeBlocks : public JoinPageSource {
   public:
    ThreeBlocks() {
      for (int64_t block = 0; block < 3; ++block) {
        pitstore::Run run;
        run.columns.push_back(Column::Of(FeatureType::kInt64));
        for (int64_t key = block * 1000; key < (block + 1) * 1000; ++key)
          for (int64_t t : {10, 20, 30}) {
            std::string encoded;
            EncodeKeyPart(KeyPart(key), &encoded);
            run.keys.push_back(encoded);
            run.event_ts.push_back(t);
            run.system_ts.push_back(t);
            run.seq.push_back(0);
            run.columns[0].Append(Value::Int64(key * 100 + t));
          }
        blocks_.push_back(std::make_shared<const pitstore::Run>(std::move(run)));
      }
    }
    size_t blocks() const override { return blocks_.size(); }
    size_t pages(size_t) const override { return 1; }
    std::string min_key(size_t b) const override { return blocks_[b]->keys.front(); }
    std::string max_key(size_t b) const override { return blocks_[b]->keys.back(); }
    void SetOneBlockPerKey() override { told_one_block_per_key = true; }
    Result<std::shared_ptr<const JoinPage>> LoadPage(size_t b, size_t) override {
      std::lock_guard<std::mutex> lock(mu);
      loaded_by.emplace_back(b, std::this_thread::get_id());
      return JoinPage::OfRun(blocks_[b]);
    }
    bool told_one_block_per_key = false;
    std::mutex mu;
    std::vector<std::pair<size_t, std::thread::id>> loaded_by;  // each load: block, thread

   private:
    std::vector<std::shared_ptr<const pitstore::Run>> blocks_;
  };
  ThreeBlocks source;
  std::mt19937_64 rng(37);
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (int i = 0; i < 120'000; ++i) {
    labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % 3010) - 5);
    labels.times.push_back(static_cast<int64_t>(rng() % 40));
  }
  JoinSpec spec;
  spec.projection = {0};
  spec.types.types = {FeatureType::kInt64};
  spec.types.dims = {0};
  spec.options.threads = 2;
  JoinResult got;
  ASSERT_OK(RunAsOfJoin(source, labels, spec, &got));
  EXPECT_TRUE(source.told_one_block_per_key);
  // The middle page is block 1's, whose keys are unknown: split after it. Each block is read
  // once, blocks 0 and 1 by the lower range's thread, block 2 by the upper one's.
  ASSERT_EQ(source.loaded_by.size(), 3u);
  std::map<size_t, std::thread::id> thread_of(source.loaded_by.begin(), source.loaded_by.end());
  ASSERT_EQ(thread_of.size(), 3u);
  EXPECT_EQ(thread_of[0], thread_of[1]);
  EXPECT_NE(thread_of[1], thread_of[2]);
  for (size_t i = 0; i < labels.times.size(); ++i) {
    const int64_t key = labels.keys[0].ints[i], t = labels.times[i];
    const int64_t version = t >= 30 ? 30 : t >= 20 ? 20 : t >= 10 ? 10 : 0;
    if (key < 0 || key >= 3000 || version == 0) {
      ASSERT_EQ(got.status[i], uint8_t(ValueStatus::kNotFound)) << "label " << i;
      continue;
    }
    ASSERT_EQ(got.status[i], uint8_t(ValueStatus::kPresent)) << "label " << i;
    ASSERT_EQ(got.event_ts[i], version) << "label " << i;
    ASSERT_EQ(got.columns[0].Get(i), Value::Int64(key * 100 + version)) << "label " << i;
  }
}

// Keys of one string of 0 to 3 characters ('\0' among them: encoded in 3 to 9 bytes, which
// the merge orders by length when their first eight bytes after the tag agree) over overlapping
// segments and a row batch; and one key with 150 versions in every load, so that its rows from
// several blocks (over 64) are sorted as a whole. Against AsOf for every label.
TEST(JoinStringKeys, ShortKeysAndAHotKeyAcrossOverlappingBlocksMatchAsOf) {
  TempDir dir;
  auto store = OpenStringKeyStore(dir.path("s.pit"), 400);
  std::vector<std::string> keys = {""};
  for (size_t from = 0; from < keys.size() && keys.size() < 40; ++from)
    for (char c : {'a', 'b', '\0'}) keys.push_back(keys[from] + c);
  keys.resize(40);  // every string of up to 3 of the three characters
  const std::string hot = "h";
  std::mt19937_64 rng(17);
  for (int load = 0; load < 4; ++load) {
    WriteBatch b;
    for (const std::string& k : keys)
      for (uint64_t v = 0, versions = 1 + rng() % 3; v < versions; ++v)
        b.Add({k}, static_cast<int64_t>(rng() % 1000), {Value::Int64(load * 1000 + static_cast<int64_t>(v))});
    for (int v = 0; v < 150; ++v) b.Add({hot}, static_cast<int64_t>(rng() % 1000), {Value::Int64(load * 1000 + v)});
    ASSERT_TRUE(store->Append("v", b).ok());
    if (load < 3) ASSERT_OK(store->Compact(CompactOptions{false}));  // the last stays a row batch
  }
  const JoinLabels labels = StringLabels(20'000, rng, [&] {
    const uint64_t pick = rng() % (keys.size() + 8);
    return pick < keys.size() ? keys[pick] : pick % 2 ? hot : std::string("zz");
  });
  ExpectTwoThreadJoinAgreesWithAsOf(*store, labels, 3);
}

// Keys of one string whose first eight bytes agree ("customer/" and a number of 1 to 4
// digits): every key has the same prefix, so each step of the merge finds the least key among
// the blocks by comparing whole keys. Over overlapping segments and a row batch, against AsOf
// for every label.
TEST(JoinStringKeys, LongKeysOfOnePrefixAcrossOverlappingBlocksMatchAsOf) {
  TempDir dir;
  auto store = OpenStringKeyStore(dir.path("s.pit"), 300);
  std::mt19937_64 rng(29);
  std::vector<std::string> keys;
  for (int i = 0; i < 120; ++i) keys.push_back("customer/" + std::to_string(rng() % 10'000));
  for (int load = 0; load < 5; ++load) {
    WriteBatch b;
    for (const std::string& k : keys)
      if (rng() % 3 != 0)  // each load holds about two keys in three
        for (uint64_t v = 0, versions = 1 + rng() % 3; v < versions; ++v)
          b.Add({k}, static_cast<int64_t>(rng() % 1000), {Value::Int64(load * 1000 + static_cast<int64_t>(v))});
    ASSERT_TRUE(store->Append("v", b).ok());
    if (load < 4) ASSERT_OK(store->Compact(CompactOptions{false}));  // the last stays a row batch
  }
  const JoinLabels labels = StringLabels(5'000, rng, [&] {
    const uint64_t pick = rng() % (keys.size() + 4);
    return pick < keys.size() ? keys[pick] : "customer/x" + std::to_string(pick);
  });
  ExpectTwoThreadJoinAgreesWithAsOf(*store, labels, 3);
}

TEST_F(JoinTest, SeekAndScanPlansGiveTheSameRowsAndAutoSeeksForFewLabels) {
  std::mt19937_64 rng(11);
  const int64_t kKeys = 4000;
  Timestamp second_commit = 0;  // a knowledge horizon between commits
  for (int batch = 0; batch < 4; ++batch) {
    WriteBatch b;
    for (int64_t k = 0; k < kKeys; ++k) {
      int64_t ev = static_cast<int64_t>(rng() % 1000);
      b.Add({k}, ev, {rng() % 5 ? Value::Int64(batch * 10000 + k) : Value(), Value::String(std::to_string(ev))});
    }
    CommitInfo info = UNWRAP(store_->Append("v", b));
    if (batch == 1) second_commit = info.commit_ts;
    if (batch == 2) ASSERT_OK(store_->Compact(CompactOptions{false}));
  }
  for (size_t n : {size_t{1}, size_t{7}, size_t{300}, size_t{5000}}) {
    JoinLabels labels;
    labels.keys.push_back(Column::Of(FeatureType::kInt64));
    for (size_t i = 0; i < n; ++i) {
      labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % (kKeys + 50)));
      labels.times.push_back(i % 9 == 0 ? kMaxTimestamp : static_cast<int64_t>(rng() % 1100));
    }
    for (KnownAt mode : {KnownAt::kNow, KnownAt::kFixed, KnownAt::kLabelTime}) {
      JoinOptions scan, seek;
      scan.known_at = seek.known_at = mode;
      scan.fixed_known_at = seek.fixed_known_at = second_commit;
      scan.plan = JoinPlan::kScan;
      seek.plan = JoinPlan::kSeek;
      JoinResult a = UNWRAP(store_->AsOfJoin("v", labels, {}, scan));
      JoinResult b = UNWRAP(store_->AsOfJoin("v", labels, {}, seek));
      EXPECT_EQ(a.plan, JoinPlan::kScan);
      EXPECT_EQ(b.plan, JoinPlan::kSeek);
      // 16,000 rows in 64-row pages: one label costs a page or two, 5,000 labels more than a pass.
      JoinOptions autoplan = scan;
      autoplan.plan = JoinPlan::kAuto;
      EXPECT_EQ(UNWRAP(store_->AsOfJoin("v", labels, {}, autoplan)).plan, n <= 7 ? JoinPlan::kSeek : JoinPlan::kScan)
          << n << " labels";
      ASSERT_EQ(a.status, b.status) << n << " labels";
      ASSERT_EQ(a.event_ts, b.event_ts);
      ASSERT_EQ(a.system_ts, b.system_ts);
      for (size_t c = 0; c < a.columns.size(); ++c)
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(a.columns[c].Get(i), b.columns[c].Get(i)) << "label " << i;
    }
  }
}

// The plan counts each segment's own page size, not the reader's options: a copy written in
// 8-row pages is read by seeks for 300 labels, the same rows in 64-row pages by a pass, though
// both are opened with the default options.
TEST_F(JoinTest, AutoPlanCountsEachSegmentsOwnPageSize) {
  std::mt19937_64 rng(12);
  for (int batch = 0; batch < 4; ++batch) {
    WriteBatch b;
    for (int64_t k = 0; k < 4000; ++k) b.Add({k}, static_cast<int64_t>(rng() % 1000), {Value::Int64(k), Value()});
    UNWRAP(store_->Append("v", b));
  }
  ASSERT_OK(store_->Compact(CompactOptions{true}));
  store_.reset();
  {
    Options small;
    small.read_only = true;
    small.segment_page_rows = 8;
    auto source = UNWRAP(Store::Open(dir_.path("j.pit"), small));
    ASSERT_OK(source->CopyTo(dir_.path("small.pit")));
  }
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (size_t i = 0; i < 300; ++i) {
    labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % 4000));
    labels.times.push_back(static_cast<int64_t>(rng() % 1100));
  }
  Options defaults;
  defaults.read_only = true;
  auto small = UNWRAP(Store::Open(dir_.path("small.pit"), defaults));
  auto large = UNWRAP(Store::Open(dir_.path("j.pit"), defaults));
  JoinResult from_small = UNWRAP(small->AsOfJoin("v", labels));
  JoinResult from_large = UNWRAP(large->AsOfJoin("v", labels));
  EXPECT_EQ(from_small.plan, JoinPlan::kSeek);
  EXPECT_EQ(from_large.plan, JoinPlan::kScan);
  EXPECT_EQ(from_small.status, from_large.status);
  EXPECT_EQ(from_small.event_ts, from_large.event_ts);
}

// A projection reads the chunks it decodes, each where it lies in the page, passing over the
// others (pages of 1024 random doubles, a ninth of them null: each feature chunk about 7 KiB,
// past the 4 KiB gap read through; the string chunk between f5 and n is read through). Joins,
// as-of and latest reads of a few features, in any order, give the full read's values; a read
// of every feature reads the page whole. No block cache: every page read goes to the file.
TEST(JoinProjection, FeaturesReadApartGiveTheFullReadsValues) {
  TempDir dir;
  Options o;
  o.segment_page_rows = 1024;
  o.block_cache_bytes = 0;
  auto store = UNWRAP(Store::Open(dir.path("p.pit"), o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  std::vector<FeatureDef> features;
  for (int f = 0; f < 6; ++f) features.push_back({"f" + std::to_string(f), FeatureType::kFloat64});
  features.push_back({"s", FeatureType::kString});
  features.push_back({"n", FeatureType::kInt64});
  ASSERT_OK(store->DefineView({"v", {"user"}, features}));
  std::mt19937_64 rng(29);
  std::uniform_real_distribution<double> real(-1e6, 1e6);
  const int64_t kKeys = 2000;
  for (int batch = 0; batch < 2; ++batch) {  // merged into a segment of 20 pages
    WriteBatch b;
    for (int i = 0; i < 10000; ++i) {
      std::vector<Value> values;
      for (int f = 0; f < 6; ++f) values.push_back(rng() % 9 ? Value::Float64(real(rng)) : Value());
      values.push_back(Value::String(std::to_string(rng() % 50)));
      values.push_back(Value::Int64(static_cast<int64_t>(rng() % 1000)));
      b.Add({static_cast<int64_t>(rng() % kKeys)}, static_cast<int64_t>(rng() % 100000), values);
    }
    ASSERT_TRUE(store->Append("v", b).ok());
    ASSERT_OK(store->Compact(CompactOptions{batch == 0}));
  }
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (int i = 0; i < 5000; ++i) {
    labels.keys[0].ints.push_back(static_cast<int64_t>(rng() % (kKeys + 10)));
    labels.times.push_back(static_cast<int64_t>(rng() % 110000));
  }
  const JoinResult whole = UNWRAP(store->AsOfJoin("v", labels));
  ASSERT_EQ(whole.columns.size(), 8u);
  const std::vector<std::vector<int>> projections = {{7, 0}, {3}, {0, 5, 7}, {6, 1}, {0, 1, 2, 3, 4, 5, 6, 7}};
  for (const std::vector<int>& projection : projections) {
    std::vector<std::string> names;
    std::string what = "features";
    for (int f : projection) {
      names.push_back(features[static_cast<size_t>(f)].name);
      what += " " + names.back();
    }
    const JoinResult got = UNWRAP(store->AsOfJoin("v", labels, names));
    ASSERT_EQ(got.columns.size(), projection.size()) << what;
    for (size_t i = 0; i < labels.times.size(); ++i) {
      ASSERT_EQ(got.status[i], whole.status[i]) << "label " << i << ", " << what;
      ASSERT_EQ(got.event_ts[i], whole.event_ts[i]) << "label " << i << ", " << what;
      for (size_t c = 0; c < projection.size(); ++c)
        ASSERT_EQ(got.columns[c].Get(i), whole.columns[static_cast<size_t>(projection[c])].Get(i))
            << "label " << i << ", " << what;
    }
    for (size_t i = 0; i < 300; ++i) {  // point reads of a projection: the key's page alone
      const EntityKey key{KeyPart(labels.keys[0].ints[i])};
      Lookup as_of = UNWRAP(store->AsOf("v", key, labels.times[i], kMaxTimestamp, names));
      Lookup all = UNWRAP(store->AsOf("v", key, labels.times[i]));
      ASSERT_EQ(as_of.found, all.found) << "label " << i << ", " << what;
      Lookup latest = UNWRAP(store->Latest("v", key, names));
      Lookup latest_all = UNWRAP(store->Latest("v", key));
      ASSERT_EQ(latest.found, latest_all.found) << "label " << i << ", " << what;
      for (size_t c = 0; c < projection.size(); ++c) {
        if (as_of.found) {
          ASSERT_EQ(as_of.values[c], all.values[static_cast<size_t>(projection[c])]) << what;
        }
        if (latest.found) {
          ASSERT_EQ(latest.values[c], latest_all.values[static_cast<size_t>(projection[c])]) << what;
        }
      }
    }
  }
}

TEST_F(JoinTest, RefusesKeysThatDoNotFitTheView) {
  JoinLabels labels;
  labels.times = {1};
  EXPECT_TRUE(store_->AsOfJoin("v", labels).status().IsInvalidArgument());  // no key column
  labels.keys.push_back(Column::Of(FeatureType::kString));
  labels.keys[0].strings = {"1"};
  EXPECT_TRUE(store_->AsOfJoin("v", labels).status().IsInvalidArgument());  // a string for an int64 key
  labels.keys[0] = Column::Of(FeatureType::kInt64);
  labels.keys[0].ints = {1, 2};
  EXPECT_TRUE(store_->AsOfJoin("v", labels).status().IsInvalidArgument());  // sizes differ
  labels.keys[0].ints = {1};
  labels.keys[0].valid = {0};
  EXPECT_TRUE(store_->AsOfJoin("v", labels).status().IsInvalidArgument());  // a null key
  labels.keys[0].valid.clear();
  EXPECT_TRUE(store_->AsOfJoin("nope", labels).status().IsNotFound());
  EXPECT_TRUE(store_->AsOfJoin("v", labels, {"nope"}).status().IsNotFound());  // as an unknown view
  JoinResult empty = UNWRAP(store_->AsOfJoin("v", JoinLabels{{Column::Of(FeatureType::kInt64)}, {}}));
  EXPECT_EQ(empty.status.size(), 0u);
}

}  // namespace
}  // namespace pitstore
