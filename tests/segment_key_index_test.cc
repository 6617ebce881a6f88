// Segments find their own keys: each carries its pages' first and last keys and a Bloom filter
// over its keys (FORMAT.md 1.10), so the index holds nothing per key and segment. The filter has
// no false negatives and about the false positives it is sized for; page keys match the rows;
// and segments written before either existed (the committed golden store) still answer point
// reads exactly as a scan of them does, before and after a compaction rewrites them.
#include <filesystem>
#include <map>
#include <random>

#include "key_codec.h"
#include "key_filter.h"
#include "run.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

std::string EncodedKey(int64_t k) {
  std::string out;
  EncodeKeyPart(KeyPart{k}, &out);
  return out;
}

TEST(KeyFilter, NoFalseNegativesAndAboutOnePercentFalsePositives) {
  std::vector<std::string> keys;
  for (int64_t k = 0; k < 200000; k += 2) keys.push_back(EncodedKey(k));
  std::sort(keys.begin(), keys.end());
  keys.insert(keys.begin() + 10, keys[10]);  // a repeated key counts once
  const std::string filter = BuildKeyFilter(keys);
  EXPECT_EQ(filter.size(), (100000 * kKeyFilterBitsPerKey + 511) / 512 * kKeyFilterBlockBytes);
  for (const std::string& k : keys) ASSERT_TRUE(KeyFilterMayContain(filter, KeyFilterHash(k)));
  int false_positives = 0;
  for (int64_t k = 1; k < 200000; k += 2) false_positives += KeyFilterMayContain(filter, KeyFilterHash(EncodedKey(k)));
  const double rate = false_positives / 100000.0;
  std::printf("key filter: %.3f%% false positives at %zu bits a key\n", 100 * rate, kKeyFilterBitsPerKey);
  EXPECT_LT(rate, 0.02);
  EXPECT_GT(rate, 0.0);  // a filter that says no to everything would pass the first check alone
  EXPECT_TRUE(KeyFilterMayContain("", KeyFilterHash(keys[0])));  // no filter: every key may be there
}

TEST(SegmentKeyIndex, FooterHoldsEachPagesFirstAndLastKeyAndFiltersEveryKey) {
  pitstore::Run run;
  run.view_id = 3;
  run.columns.push_back(Column::Of(FeatureType::kInt64));
  // Keys of 1 to 9 rows, so pages of 4 rows begin and end inside keys and at their edges.
  for (int64_t k = 0; k < 40; ++k)
    for (int64_t v = 0; v <= k % 9; ++v) {
      run.keys.push_back(EncodedKey(k));
      run.event_ts.push_back(v);
      run.system_ts.push_back(v);
      run.seq.push_back(static_cast<uint64_t>(run.keys.size()));
      run.columns[0].Append(Value::Int64(v));
    }
  const std::string payload = EncodeSegment(run, 1000, 3, 4);
  const std::string_view tail = std::string_view(payload).substr(payload.size() - kSegmentTailBytes);
  const size_t footer_len = UNWRAP(SegmentFooterLength(tail));
  const uint64_t footer_at = payload.size() - kSegmentTailBytes - footer_len;
  SegmentLayout l =
      UNWRAP(DecodeSegmentFooter(std::string_view(payload).substr(footer_at, footer_len), tail, 1000, footer_at, true));
  ASSERT_EQ(l.page_first_keys.size(), l.pages());
  ASSERT_EQ(l.page_last_keys.size(), l.pages());
  for (size_t p = 0; p < l.pages(); ++p) {
    EXPECT_EQ(l.page_first_keys[p], run.keys[p * 4]);
    EXPECT_EQ(l.page_last_keys[p], run.keys[std::min(run.size(), (p + 1) * 4) - 1]);
  }
  for (const std::string& k : run.keys) EXPECT_TRUE(KeyFilterMayContain(l.key_filter, KeyFilterHash(k)));
  EXPECT_EQ(l.min_system_ts, 0);
  // A whole decode with verification checks both against the rows.
  ColumnTypes types = TypesOf(run);
  pitstore::Run back = UNWRAP(DecodeSegment(payload, 1000, types, true));
  EXPECT_EQ(back.keys, run.keys);
  // Wrong page keys are caught when the rows are at hand.
  l.page_last_keys[1] = l.page_first_keys[1];
  auto [off, len] = l.PageRange(1);
  pitstore::Run page = UNWRAP(DecodeSegmentPage(l, 1, std::string_view(payload).substr(off, len), types, true));
  ASSERT_NE(page.keys.front(), page.keys.back());  // rows 4-7: two keys
  EXPECT_TRUE(CheckPageKeys(l, 1, page).IsCorruption());
}

// Every version of every key, as a scan of the view reports them.
std::map<std::string, std::vector<VersionedRow>> ScanByKey(Store& store, const std::string& view) {
  std::map<std::string, std::vector<VersionedRow>> out;
  EXPECT_TRUE(store
                  .Scan(view,
                        [&](const EntityKey& key, const VersionedRow& row) {
                          out[EntityKeyToString(key)].push_back(row);
                          return true;
                        })
                  .ok());
  return out;
}

void ExpectPointReadsMatchTheScan(Store& store, const std::string& view, const std::vector<EntityKey>& keys) {
  auto scanned = ScanByKey(store, view);
  ASSERT_EQ(scanned.size(), keys.size()) << view;
  for (const EntityKey& key : keys) {
    const std::vector<VersionedRow>& want = scanned[EntityKeyToString(key)];
    auto history = UNWRAP(store.History(view, key, kMinTimestamp, kMaxTimestamp, kMaxTimestamp));
    ASSERT_EQ(history.size(), want.size()) << view << " " << EntityKeyToString(key);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(history[i].event_ts, want[i].event_ts);
      EXPECT_EQ(history[i].system_ts, want[i].system_ts);
      EXPECT_EQ(history[i].values, want[i].values);
    }
    // As of each version's event time, that time's last version (rows are in version order).
    for (size_t i = 0; i < want.size(); ++i) {
      if (i + 1 < want.size() && want[i + 1].event_ts == want[i].event_ts) continue;
      auto got = UNWRAP(store.AsOf(view, key, want[i].event_ts, kMaxTimestamp));
      EXPECT_TRUE(got.found);
      EXPECT_EQ(got.event_ts, want[i].event_ts);
      EXPECT_EQ(got.system_ts, want[i].system_ts);
    }
  }
}

TEST(SegmentKeyIndex, SegmentsWrittenWithoutPageKeysOrFilterStillAnswerPointReads) {
  // golden.pit was written before segments carried page keys and a filter (FORMAT.md 5.5).
  TempDir dir;
  const std::string path = dir.path("golden.pit");
  std::filesystem::copy_file(PITSTORE_SOURCE_DIR "/tests/fixtures/golden/golden.pit", path);
  auto store = UNWRAP(Store::Open(path));
  std::map<std::string, std::vector<EntityKey>> keys;
  for (const std::string view : {"user_stats", "merchant_risk"}) {
    ASSERT_OK(store->Scan(view, [&](const EntityKey& key, const VersionedRow&) {
      if (keys[view].empty() || keys[view].back() != key) keys[view].push_back(key);
      return true;
    }));
    ASSERT_FALSE(keys[view].empty());
    ExpectPointReadsMatchTheScan(*store, view, keys[view]);
  }
  EXPECT_TRUE(UNWRAP(store->Verify()).problems.empty());
  // A full compaction rewrites the segments with both; the answers do not change.
  CompactOptions full;
  full.full = true;
  ASSERT_OK(store->Compact(full));
  for (const std::string view : {"user_stats", "merchant_risk"}) ExpectPointReadsMatchTheScan(*store, view, keys[view]);
  EXPECT_TRUE(UNWRAP(store->Verify()).problems.empty());
}

}  // namespace
}  // namespace pitstore
