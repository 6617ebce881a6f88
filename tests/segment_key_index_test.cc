// Segments find their own keys: each carries its pages' first and last keys and a Bloom filter
// over its keys (FORMAT.md 1.10), so the index holds nothing per key and segment. The filter has
// no false negatives and about the false positives it is sized for; page keys match the rows;
// and segments written before either existed (the committed golden store) still answer point
// reads exactly as a scan of them does, before and after a compaction rewrites them.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "block.h"
#include "coding.h"
#include "data_file.h"
#include "key_codec.h"
#include "key_filter.h"
#include "key_table.h"
#include "run.h"
#include "store_format.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

std::string EncodedKey(int64_t k) {
  std::string out;
  EncodeKeyPart(KeyPart{k}, &out);
  return out;
}

// The 8 bytes after an int64 key's tag, big-endian: keys in order have these in order.
uint64_t Int64KeyBitsOf(std::string_view key) {
  uint64_t bits = 0;
  for (size_t i = 1; i < 9; ++i) bits = (bits << 8) | static_cast<uint8_t>(key[i]);
  return bits;
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

// A row batch's key table finds every key's rows exactly (keys of one row, of a few, of
// thousands: the gallop's every step), and nothing for absent keys, against a binary search;
// without a table (never built), the same by a binary search.
TEST(KeyTable, FindsEachKeysRowsAndNothingForAbsentKeys) {
  std::mt19937_64 rng(11);
  std::vector<std::string> keys;
  for (int64_t k = 0; k < 3000; k += 2) {  // odd keys absent
    const size_t rows = k == 1000 ? 5000 : k % 7 == 0 ? 1 + rng() % 40 : 1 + rng() % 3;
    for (size_t r = 0; r < rows; ++r) keys.push_back(EncodedKey(k));
  }
  const KeyTable table = KeyTable::Build(keys);
  const KeyTable none;
  EXPECT_GE(table.MemoryBytes(), 2 * 1500 * 8u);
  for (int64_t k = -3; k < 3003; ++k) {
    const std::string key = EncodedKey(k);
    auto [lo, hi] = std::equal_range(keys.begin(), keys.end(), key);
    const std::pair<size_t, size_t> want{static_cast<size_t>(lo - keys.begin()),
                                         static_cast<size_t>(hi - keys.begin())};
    auto got = table.Find(keys, key, KeyFilterHash(key));
    if (want.first == want.second) {
      EXPECT_EQ(got.first, got.second) << k;
    } else {
      EXPECT_EQ(got, want) << k;
    }
    auto searched = none.Find(keys, key, KeyFilterHash(key));
    EXPECT_EQ(searched.second - searched.first, want.second - want.first) << k;
  }
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
  const std::string payload = EncodeSegment(run, 1000, PageFormat{4, 3, true});
  SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 1000, true));
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

// An empty run of view 2 with one int64 feature, and a row added to it.
pitstore::Run OneFeatureRun() {
  pitstore::Run run;
  run.view_id = 2;
  run.columns.push_back(Column::Of(FeatureType::kInt64));
  return run;
}
void AddRow(pitstore::Run* run, std::string key, int64_t event_ts, int64_t system_ts, uint64_t seq, int64_t value = 1) {
  run->keys.push_back(std::move(key));
  run->event_ts.push_back(event_ts);
  run->system_ts.push_back(system_ts);
  run->seq.push_back(seq);
  run->columns[0].Append(Value::Int64(value));
}

// The rows of `keys` in order, a few (1 to 4) or many (120 to 299) for each key.
pitstore::Run RunOfKeys(const std::set<std::string>& keys, std::mt19937_64& rng) {
  pitstore::Run run = OneFeatureRun();
  for (const std::string& key : keys) {
    const uint64_t rows = rng() % 8 ? 1 + rng() % 4 : 120 + rng() % 180;
    for (uint64_t v = 0; v < rows; ++v)
      AddRow(&run, key, static_cast<int64_t>(v), static_cast<int64_t>(v), v, static_cast<int64_t>(v));
  }
  return run;
}

// The encoding byte of each page's key chunk in a segment's payload.
std::vector<int> KeyChunkEncodings(const std::string& payload, const SegmentLayout& l) {
  std::vector<int> out;
  for (size_t p = 0; p < l.pages(); ++p) out.push_back(payload[l.chunks[p * (4 + l.features)].first + 1]);
  return out;
}

// Each page of `run` written in `format` and decoded as a join decodes it (DecodeSegmentPage with
// KeyRuns) gives the runs of the whole page's keys, and so does its key chunk damaged (checksums
// off) where it does not fail both ways.
void ExpectKeyRunsOfEveryPage(const pitstore::Run& run, const PageFormat& format, std::mt19937_64& rng) {
  const ColumnTypes types = TypesOf(run);
  {
    const std::string payload = EncodeSegment(run, 4096, format);
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    for (size_t p = 0; p < l.pages(); ++p) {
      auto [off, len] = l.PageRange(p);
      const std::string_view bytes = std::string_view(payload).substr(off, len);
      const pitstore::Run page = UNWRAP(DecodeSegmentPage(l, p, bytes, types, true));
      ASSERT_EQ(page.keys, std::vector<std::string>(
                               run.keys.begin() + static_cast<std::ptrdiff_t>(p * l.page_rows),
                               run.keys.begin() + static_cast<std::ptrdiff_t>(p * l.page_rows + page.size())));
      pitstore::KeyRuns runs;
      UNWRAP(DecodeSegmentPage(l, p, bytes, types, true, nullptr, &runs));
      const pitstore::KeyRuns of_page = KeyRunsOf(page);
      ASSERT_EQ(runs.bytes, of_page.bytes) << "page " << p;
      ASSERT_EQ(runs.offsets, of_page.offsets) << "page " << p;
      ASSERT_EQ(runs.ends, of_page.ends) << "page " << p;
      if (format.zstd_level != 0) continue;
      // Damage, unchecked (no checksums): one byte changed in the page's first 2 KiB, where its
      // key chunk lies, often to a varint's edge value. Read as runs or a key a row, the page gives the same keys or
      // fails: the runs read 16 bytes at a time agree with the reader's checks, and read nothing outside the page
      // (sanitizer builds).
      for (int trial = 0; trial < 300; ++trial) {
        std::string damaged(bytes);
        char& byte = damaged[rng() % std::min<size_t>(damaged.size(), 2048)];
        constexpr char kEdges[] = {0, 1, 0x7f, static_cast<char>(0x80), static_cast<char>(0xff)};  // of varints
        const char was = byte;
        byte = rng() % 2 ? kEdges[rng() % 5] : static_cast<char>(byte ^ static_cast<char>(1 + rng() % 255));
        if (byte == was) continue;
        auto whole = DecodeSegmentPage(l, p, damaged, types, false);
        pitstore::KeyRuns damaged_runs;
        auto as_runs = DecodeSegmentPage(l, p, damaged, types, false, nullptr, &damaged_runs);
        ASSERT_EQ(whole.ok(), as_runs.ok()) << "page " << p << " trial " << trial;
        if (!whole.ok()) continue;
        const pitstore::KeyRuns of_damaged = KeyRunsOf(*whole);
        ASSERT_EQ(damaged_runs.bytes, of_damaged.bytes) << "page " << p << " trial " << trial;
        ASSERT_EQ(damaged_runs.ends, of_damaged.ends) << "page " << p << " trial " << trial;
      }
    }
  }
}

// A join decodes a page's keys as runs (DecodeSegmentPage with KeyRuns): keys of 0 to 40
// bytes and runs of 1 to 300 rows, so that runs of short keys and few rows (taken 16 bytes at a
// time), long keys, long runs and a chunk's last bytes all come in one page, give the runs of
// the whole page's keys. Keys of other sizes than an int64's stay KEY_RUNS in any file.
TEST(SegmentKeyIndex, KeyRunsOfEveryKeySizeAndRunLengthAreThoseOfThePage) {
  std::mt19937_64 rng(23);
  std::set<std::string> keys;
  while (keys.size() < 400) {
    std::string key(rng() % 41, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    keys.insert(std::move(key));
  }
  const pitstore::Run run = RunOfKeys(keys, rng);
  for (const PageFormat format :
       {PageFormat{1024, 0, true, true}, PageFormat{1024, 3, true}, PageFormat{37, 0, false}}) {
    SCOPED_TRACE(std::to_string(format.page_rows) + "-row pages, zstd " + std::to_string(format.zstd_level));
    ExpectKeyRunsOfEveryPage(run, format, rng);
    const std::string payload = EncodeSegment(run, 4096, format);
    for (int encoding : KeyChunkEncodings(payload, UNWRAP(DecodeSegmentLayout(payload, 4096, true))))
      EXPECT_EQ(encoding, 1);  // KEY_RUNS
  }
}

// Keys of one int64 each as differences (KEY_INT64_RUNS, in files that allow them): keys near
// each other, far apart (the least and greatest int64, -1 and 0 beside each other) and runs of
// 1 to 300 rows (lengths over 3 take a second varint) give the runs and keys of the page, and
// damaged ones fail or agree. A page with two consecutive keys 2^62 or more apart is written as
// KEY_RUNS, and the probe page's int64 chunk does not keep zstd from the KEY_RUNS ones.
TEST(SegmentKeyIndex, Int64KeyRunsAreThoseOfThePage) {
  std::mt19937_64 rng(29);
  std::set<std::string> keys;
  for (int64_t k : {INT64_MIN, INT64_MIN + 1, int64_t{-1}, int64_t{0}, int64_t{1}, INT64_MAX - 1, INT64_MAX})
    keys.insert(EncodedKey(k));
  while (keys.size() < 600) keys.insert(EncodedKey(static_cast<int64_t>(rng() % 5000) - 2500));
  const pitstore::Run run = RunOfKeys(keys, rng);
  for (const PageFormat format : {PageFormat{1024, 0, true, true}, PageFormat{1024, 3, true, true},
                                  PageFormat{37, 0, false, true}, PageFormat{3, 0, false, true}}) {
    SCOPED_TRACE(std::to_string(format.page_rows) + "-row pages, zstd " + std::to_string(format.zstd_level));
    ExpectKeyRunsOfEveryPage(run, format, rng);
    const std::string payload = EncodeSegment(run, 4096, format);
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    const std::vector<int> encodings = KeyChunkEncodings(payload, l);
    std::set<int> seen;
    for (size_t p = 0; p < l.pages(); ++p) {
      uint64_t widest = 0;  // the greatest difference of consecutive keys in the page
      for (size_t i = p * l.page_rows + 1; i < std::min<size_t>((p + 1) * l.page_rows, run.keys.size()); ++i)
        widest = std::max(widest, Int64KeyBitsOf(run.keys[i]) - Int64KeyBitsOf(run.keys[i - 1]));
      EXPECT_EQ(encodings[p], widest >= (uint64_t{1} << 62) ? 1 : 6) << "page " << p;  // KEY_RUNS, KEY_INT64_RUNS
      seen.insert(encodings[p]);
    }
    EXPECT_EQ(seen, (std::set<int>{1, 6}));
    EXPECT_EQ(UNWRAP(DecodeSegment(payload, 4096, TypesOf(run), true)).keys, run.keys);
  }
  // At the bound: consecutive keys 2^62 - 1 apart, 2^62 apart, and 2^62 crossed in steps of 2^61.
  const int64_t bound = int64_t{1} << 62;
  for (const auto& [page_keys, encoding] : std::vector<std::pair<std::vector<int64_t>, int>>{
           {{0, bound - 1}, 6}, {{0, bound}, 1}, {{-bound, -bound / 2, 0, bound / 2, bound}, 6}}) {
    std::set<std::string> few;
    for (int64_t k : page_keys) few.insert(EncodedKey(k));
    const pitstore::Run rows = RunOfKeys(few, rng);
    const std::string payload = EncodeSegment(rows, 4096, PageFormat{4096, 3, true, true});
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    EXPECT_EQ(KeyChunkEncodings(payload, l), std::vector<int>{encoding}) << page_keys.back();
    EXPECT_EQ(UNWRAP(DecodeSegment(payload, 4096, TypesOf(rows), true)).keys, rows.keys);
  }
  // A probe page (every 16th) of int64 differences, then pages that fall back to KEY_RUNS (a first
  // key 2^62 below the other 39 of the page): zstd is still tried on those, and kept.
  {
    pitstore::Run rows = OneFeatureRun();
    auto add = [&](int64_t key) { AddRow(&rows, EncodedKey(key), 0, 0, 0); };
    for (int64_t k = 0; k < 40; ++k) add(INT64_MIN + k);
    for (int64_t first : {-3 * (bound / 2), -(bound / 2) + 1000, bound / 2 + 2000}) {
      add(first);
      for (int64_t k = 0; k < 39; ++k) add(first + bound + k);
    }
    const std::string payload = EncodeSegment(rows, 4096, PageFormat{40, 3, true, true});
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    EXPECT_EQ(KeyChunkEncodings(payload, l), (std::vector<int>{6, 1, 1, 1}));
    for (size_t p = 0; p < l.pages(); ++p)  // the codec byte: zstd on the KEY_RUNS chunks
      EXPECT_EQ(payload[l.chunks[p * (4 + l.features)].first], p == 0 ? 0 : 1) << "page " << p;
    EXPECT_EQ(UNWRAP(DecodeSegment(payload, 4096, TypesOf(rows), true)).keys, rows.keys);
  }
}

// FORMAT.md's example of KEY_INT64_RUNS, byte for byte: keys 5 (3 rows), 6 (1) and 9 (10).
// Changed bytes (checksums off) are refused: a first run with a difference, a later one
// without, a key past 2^64 - 1, a length past the page, and one run more than the bytes hold.
TEST(SegmentKeyIndex, Int64KeyRunsAsFormatMdSaysAndDamagedOnesRefused) {
  pitstore::Run run = OneFeatureRun();
  for (const auto& [key, rows] : std::vector<std::pair<int64_t, int>>{{5, 3}, {6, 1}, {9, 10}})
    for (int i = 0; i < rows; ++i) AddRow(&run, EncodedKey(key), i, i, 0);
  const std::string payload = EncodeSegment(run, 4096, PageFormat{1024, 3, true, true});
  const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
  const size_t at = l.chunks[0].first, size = l.chunks[0].second;  // (no structured bindings: lambdas take them)
  const std::string body = payload.substr(at + 20, size - 20);     // after the 20-byte chunk header
  EXPECT_EQ(body, std::string("\x03\x05\x00\x00\x00\x00\x00\x00\x80\x02\x04\x0F\x06", 13));
  EXPECT_EQ(payload.substr(at, 2), std::string("\x00\x06", 2));  // no zstd, KEY_INT64_RUNS
  const ColumnTypes types = TypesOf(run);
  const size_t off = l.PageRange(0).first, len = l.PageRange(0).second;
  // Whether the page decodes with the body's bytes at `patches` changed, the same way for a whole
  // decode, one as runs and a point read.
  auto decoded = [&](std::vector<std::pair<size_t, char>> patches) {
    std::string page = payload.substr(off, len);
    for (const auto& [byte, value] : patches) page[at + 20 + byte - off] = value;
    pitstore::KeyRuns runs;
    const bool whole = DecodeSegmentPage(l, 0, page, types, false).ok();
    const bool as_runs = DecodeSegmentPage(l, 0, page, types, false, nullptr, &runs).ok();
    size_t first_row = 0;
    const bool one_key = DecodeSegmentPageKey(l, 0, page, types, false, nullptr, EncodedKey(9), &first_row).ok();
    EXPECT_EQ(whole, as_runs);
    EXPECT_EQ(whole, one_key);
    return whole;
  };
  EXPECT_TRUE(decoded({}));
  EXPECT_TRUE(decoded({{8, '\xFF'}}));    // b0 0xFF00...05: other keys, still rising
  EXPECT_FALSE(decoded({{9, '\x06'}}));   // the first run: difference 1
  EXPECT_FALSE(decoded({{10, '\x00'}}));  // the second: difference 0
  EXPECT_FALSE(decoded({{1, '\xFE'},
                        {2, '\xFF'},
                        {3, '\xFF'},
                        {4, '\xFF'},
                        {5, '\xFF'},
                        {6, '\xFF'},
                        {7, '\xFF'},
                        {8, '\xFF'}}));   // b0 2^64 - 2: the third key passes 2^64 - 1
  EXPECT_FALSE(decoded({{12, '\x7F'}}));  // the third run: 131 rows, past the page's 14
  EXPECT_FALSE(decoded({{0, '\x04'}}));   // four runs in bytes that hold three
  EXPECT_FALSE(decoded({{0, '\x0E'}}));   // fourteen runs: more than the bytes after the count
}

// Time chunks as frames (FRAMES, in files that allow them): groups of a year's times, of one
// value (width 0), of the least and greatest int64 (width 64, read byte by byte), of any 64-bit
// values, and a short last group, read back whole, a page at a time (with seq and without) and a
// key's rows at a time. A width past 64, and one that leaves the chunk longer or shorter than its
// groups, are refused (checksums off).
TEST(SegmentKeyIndex, TimeFramesAreThePagesTimes) {
  {
    // FORMAT.md's example: event_ts 1000, 1003, 1001 in one group.
    pitstore::Run three = OneFeatureRun();
    for (int64_t i = 0; i < 3; ++i) AddRow(&three, EncodedKey(i), std::vector<int64_t>{1000, 1003, 1001}[i], 0, 0);
    const std::string payload = EncodeSegment(three, 4096, PageFormat{1024, 3, false, true, true});
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    const auto [at, size] = l.chunks[1];
    EXPECT_EQ(payload.substr(at, 2), std::string("\x00\x07", 2));  // no zstd, FRAMES
    EXPECT_EQ(payload.substr(at + 20, size - 20), std::string("\xE8\x03\x00\x00\x00\x00\x00\x00\x02\x1C", 10));
  }
  // The least value compared as int64 for times, as u64 for seq: event_ts -1, 1 and seq 2^63, 1.
  {
    pitstore::Run two = OneFeatureRun();
    AddRow(&two, EncodedKey(0), -1, 0, uint64_t{1} << 63);
    AddRow(&two, EncodedKey(1), 1, 0, 1);
    const std::string payload = EncodeSegment(two, 4096, PageFormat{1024, 0, false, true, true});
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    auto body = [&](size_t chunk) {
      const auto [at, size] = l.chunks[chunk];
      return payload.substr(at + 20, size - 20);
    };
    EXPECT_EQ(body(1), std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x02\x08", 10));  // least -1, w 2: 0, 2
    // least 1, w 63: differences 2^63 - 1 and 0 (eight bytes of ones but the top bit, then 0s)
    EXPECT_EQ(body(3).substr(0, 9), std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x3F", 9));
    EXPECT_EQ(UNWRAP(DecodeSegment(payload, 4096, TypesOf(two), true)).seq, two.seq);
  }
  std::mt19937_64 rng(31);
  {
    // Every width from 0 to 64 (57 to 63 read byte by byte), in full groups and a short last one.
    pitstore::Run widths = OneFeatureRun();
    for (unsigned w = 0; w <= 64; ++w)
      for (size_t j = 0; j < 64; ++j) {
        const uint64_t difference = w == 0 ? 0 : rng() >> (64 - w);
        AddRow(&widths, EncodedKey(static_cast<int64_t>(widths.keys.size())),
               static_cast<int64_t>(uint64_t{0x8000'0000'0000'0000} + difference),  // least INT64_MIN
               static_cast<int64_t>(difference), difference);
      }
    for (const PageFormat format : {PageFormat{4160, 0, false, true, true}, PageFormat{100, 0, false, true, true}}) {
      const std::string payload = EncodeSegment(widths, 4096, format);
      const pitstore::Run back = UNWRAP(DecodeSegment(payload, 4096, TypesOf(widths), true));
      EXPECT_EQ(back.event_ts, widths.event_ts) << format.page_rows;
      EXPECT_EQ(back.system_ts, widths.system_ts) << format.page_rows;
      EXPECT_EQ(back.seq, widths.seq) << format.page_rows;
    }
  }
  pitstore::Run run = OneFeatureRun();
  for (int64_t i = 0; i < 1000; ++i) {
    const int64_t t0 = 1'735'689'600'000'000;
    int64_t t = 0;
    switch (i / 64 % 4) {
      case 0:
        t = t0 + static_cast<int64_t>(rng() % 31'536'000'000'000);
        break;
      case 1:
        t = t0;
        break;
      case 2:
        t = i % 2 ? INT64_MAX : INT64_MIN;
        break;
      default:
        t = static_cast<int64_t>(rng());
    }
    const int64_t system_ts = i % 3 ? static_cast<int64_t>(rng()) : t;  // drawn before seq
    AddRow(&run, EncodedKey(i), t, system_ts, i % 5 ? rng() : UINT64_MAX, i);
  }
  const ColumnTypes types = TypesOf(run);
  for (const PageFormat format : {PageFormat{200, 0, false, true, true}, PageFormat{200, 3, true, true, true},
                                  PageFormat{1024, 0, false, false, true}, PageFormat{7, 0, false, false, true}}) {
    SCOPED_TRACE(std::to_string(format.page_rows) + "-row pages, zstd " + std::to_string(format.zstd_level));
    const std::string payload = EncodeSegment(run, 4096, format);
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    const pitstore::Run back = UNWRAP(DecodeSegment(payload, 4096, types, true));
    EXPECT_EQ(back.event_ts, run.event_ts);
    EXPECT_EQ(back.system_ts, run.system_ts);
    EXPECT_EQ(back.seq, run.seq);
    for (size_t p = 0; p < l.pages(); ++p) {
      for (size_t k = 1; k <= 3; ++k) EXPECT_EQ(payload[l.chunks[p * (4 + l.features) + k].first + 1], 7);
      auto [off, len] = l.PageRange(p);
      const std::string_view bytes = std::string_view(payload).substr(off, len);
      pitstore::KeyRuns runs;
      const pitstore::Run without_seq = UNWRAP(DecodeSegmentPage(l, p, bytes, types, true, nullptr, &runs, false));
      const size_t first = p * l.page_rows;
      for (size_t i = 0; i < without_seq.event_ts.size(); ++i) {
        ASSERT_EQ(without_seq.event_ts[i], run.event_ts[first + i]) << "page " << p << " row " << i;
        ASSERT_EQ(without_seq.system_ts[i], run.system_ts[first + i]) << "page " << p << " row " << i;
      }
      for (size_t i = first; i < first + without_seq.event_ts.size(); i += 1 + i % 5) {
        size_t first_row = 0;
        const pitstore::Run one =
            UNWRAP(DecodeSegmentPageKey(l, p, bytes, types, true, nullptr, run.keys[i], &first_row));
        ASSERT_EQ(one.size(), 1u);
        EXPECT_EQ(first_row, i - first);
        EXPECT_EQ(one.event_ts[0], run.event_ts[i]);
        EXPECT_EQ(one.system_ts[0], run.system_ts[i]);
        EXPECT_EQ(one.seq[0], run.seq[i]);
      }
    }
    if (format.zstd_level != 0 || format.page_rows != 200) continue;
    {
      // A page whose time chunks mix frames and deltas (an encoding byte changed, checksums off):
      // refused where the mixed chunk is read; without seq, its seq chunk is not.
      auto [off, len] = l.PageRange(1);
      for (size_t chunk : {2, 3}) {
        std::string mixed(std::string_view(payload).substr(off, len));
        mixed[l.chunks[1 * (4 + l.features) + chunk].first + 1 - off] = 5;  // DELTA_RESTARTS
        EXPECT_TRUE(DecodeSegmentPage(l, 1, mixed, types, false).status().IsCorruption()) << chunk;
        pitstore::KeyRuns runs;
        EXPECT_EQ(DecodeSegmentPage(l, 1, mixed, types, false, nullptr, &runs, false).ok(), chunk == 3) << chunk;
      }
    }
    // Page 1's event_ts chunk: the width of its first group (64 rows) changed, checksums off.
    auto [off, len] = l.PageRange(1);
    const size_t width_at = l.chunks[1 * (4 + l.features) + 1].first + 20 + 8 - off;
    const uint8_t width = static_cast<uint8_t>(payload[off + width_at]);
    for (const uint8_t changed :
         {uint8_t{65}, uint8_t{255}, static_cast<uint8_t>(width + 1), static_cast<uint8_t>(width - 1), uint8_t{0}}) {
      if (changed == width) continue;
      std::string damaged(std::string_view(payload).substr(off, len));
      damaged[width_at] = static_cast<char>(changed);
      EXPECT_TRUE(DecodeSegmentPage(l, 1, damaged, types, false).status().IsCorruption()) << int(changed);
      size_t first_row = 0;
      EXPECT_TRUE(DecodeSegmentPageKey(l, 1, damaged, types, false, nullptr, run.keys[l.page_rows + 70], &first_row)
                      .status()
                      .IsCorruption())
          << int(changed);
    }
  }
}

// A point read decodes a key's rows alone (DecodeSegmentPageKey): they must be exactly the rows
// of that key in the whole page's decode, for every page, key and projection, with feature
// chunks of every encoding (dense and nullable doubles, int deltas, plain and dictionary
// strings), zstd and raw, time chunks with restarts every 64 rows, without, and as frames, and
// keys as KEY_RUNS and as KEY_INT64_RUNS.
TEST(SegmentKeyIndex, RowsOfOneKeyAreThoseOfTheWholePage) {
  std::mt19937_64 rng(11);
  pitstore::Run run;
  run.view_id = 2;
  run.columns.push_back(Column::Of(FeatureType::kFloat64));  // dense
  run.columns.push_back(Column::Of(FeatureType::kFloat64));  // with nulls
  run.columns.push_back(Column::Of(FeatureType::kInt64));    // with nulls
  run.columns.push_back(Column::Of(FeatureType::kString));   // few distinct: a dictionary
  run.columns.push_back(Column::Of(FeatureType::kString));   // all distinct: plain
  for (int64_t k = 0; k < 300; ++k)
    for (int64_t v = 0; v <= static_cast<int64_t>(rng() % 11); ++v) {
      run.keys.push_back(EncodedKey(k * 3));  // gaps: keys between two present ones are absent
      run.event_ts.push_back(1'700'000'000'000'000 + v * 1'000'003 + static_cast<int64_t>(rng() % 999));
      run.system_ts.push_back(1'700'000'000'000'000 + v * 2'000'000);
      run.seq.push_back(rng() % 100'000);
      run.columns[0].Append(Value::Float64(static_cast<double>(rng() % 1000) / 7));
      if (rng() % 3)
        run.columns[1].Append(Value::Float64(static_cast<double>(v) / 3));
      else
        run.columns[1].AppendNull();
      if (rng() % 4)
        run.columns[2].Append(Value::Int64(static_cast<int64_t>(rng() % 100'000) - 50'000));
      else
        run.columns[2].AppendNull();
      run.columns[3].Append(Value::String(rng() % 2 ? "red" : "green"));
      run.columns[4].Append(Value::String("row " + std::to_string(run.keys.size())));
    }
  const ColumnTypes types = TypesOf(run);
  for (const PageFormat format :
       {PageFormat{16, 0, false}, PageFormat{16, 3, true}, PageFormat{200, 0, true}, PageFormat{200, 3, true},
        PageFormat{200, 3, false}, PageFormat{16, 0, false, true}, PageFormat{200, 0, true, true},
        PageFormat{200, 3, true, true}, PageFormat{16, 0, false, true, true}, PageFormat{200, 0, false, true, true},
        PageFormat{200, 3, false, false, true}}) {
    SCOPED_TRACE(std::to_string(format.page_rows) + "-row pages, zstd " + std::to_string(format.zstd_level) +
                 (format.delta_restarts ? ", restarts" : "") + (format.int64_key_runs ? ", int64 key runs" : "") +
                 (format.time_frames ? ", time frames" : ""));
    const std::string payload = EncodeSegment(run, 4096, format);
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, 4096, true));
    const std::vector<int> first_and_last = {0, 4}, nullable = {1, 2, 3};
    for (const std::vector<int>* only : {static_cast<const std::vector<int>*>(nullptr), &first_and_last, &nullable}) {
      for (size_t p = 0; p < l.pages(); ++p) {
        auto [off, len] = l.PageRange(p);
        const std::string_view bytes = std::string_view(payload).substr(off, len);
        const pitstore::Run page = UNWRAP(DecodeSegmentPage(l, p, bytes, types, true, only));
        // As a join decodes it: the same rows, their keys as runs.
        pitstore::KeyRuns runs;
        const pitstore::Run joined = UNWRAP(DecodeSegmentPage(l, p, bytes, types, true, only, &runs));
        ASSERT_TRUE(joined.keys.empty());
        ASSERT_EQ(runs.rows(), page.size());
        for (size_t r = 0; r < runs.runs(); ++r) {
          ASSERT_LT(runs.begin(r), runs.ends[r]) << "page " << p << " run " << r;
          if (r > 0) {
            ASSERT_LT(runs.key(r - 1), runs.key(r));
          }
          for (size_t i = runs.begin(r); i < runs.ends[r]; ++i) ASSERT_EQ(runs.key(r), page.keys[i]);
        }
        const pitstore::KeyRuns of_page = KeyRunsOf(page);
        EXPECT_EQ(of_page.bytes, runs.bytes);
        EXPECT_EQ(of_page.offsets, runs.offsets);
        EXPECT_EQ(of_page.ends, runs.ends);
        EXPECT_EQ(joined.event_ts, page.event_ts);
        EXPECT_EQ(joined.system_ts, page.system_ts);
        EXPECT_EQ(joined.seq, page.seq);
        // Without seq (a join whose keys are each in one block): the times, and seq all 0.
        const pitstore::Run unordered = UNWRAP(DecodeSegmentPage(l, p, bytes, types, true, only, &runs, false));
        EXPECT_EQ(unordered.event_ts, page.event_ts);
        EXPECT_EQ(unordered.system_ts, page.system_ts);
        EXPECT_EQ(unordered.seq, std::vector<uint64_t>(page.size(), 0));
        for (size_t c = 0; c < types.types.size(); ++c)
          for (size_t i = 0; i < page.columns[c].size(); ++i)
            ASSERT_EQ(joined.columns[c].Get(i), page.columns[c].Get(i)) << "feature " << c << " row " << i;
        // Every key of the page, the absent ones between them, and one on each side.
        for (int64_t k = -1; k < 901; ++k) {
          if (EncodedKey(k) < page.keys.front() && EncodedKey(k + 1) < page.keys.front()) continue;
          if (EncodedKey(k) > page.keys.back() && EncodedKey(k - 1) > page.keys.back()) break;
          const std::string key = EncodedKey(k);
          size_t first_row = 99;
          const pitstore::Run rows = UNWRAP(DecodeSegmentPageKey(l, p, bytes, types, true, only, key, &first_row));
          auto [b, e] = std::equal_range(page.keys.begin(), page.keys.end(), key);
          ASSERT_EQ(rows.size(), static_cast<size_t>(e - b)) << "page " << p << " key " << k;
          if (b == e) continue;
          const size_t begin = static_cast<size_t>(b - page.keys.begin());
          ASSERT_EQ(first_row, begin);
          for (size_t i = 0; i < rows.size(); ++i) {
            EXPECT_EQ(rows.keys[i], key);
            EXPECT_EQ(rows.event_ts[i], page.event_ts[begin + i]) << "page " << p << " key " << k << " row " << i;
            EXPECT_EQ(rows.system_ts[i], page.system_ts[begin + i]);
            EXPECT_EQ(rows.seq[i], page.seq[begin + i]);
            for (size_t c = 0; c < types.types.size(); ++c) {
              ASSERT_EQ(rows.columns[c].size(),
                        only && std::find(only->begin(), only->end(), int(c)) == only->end() ? size_t{0} : rows.size());
              if (rows.columns[c].size() == 0) continue;
              EXPECT_EQ(rows.columns[c].Get(i), page.columns[c].Get(begin + i)) << "feature " << c;
            }
          }
        }
      }
    }
    // A damaged byte of a chunk the key decode reads is caught by its checksum, as in the page's.
    auto [off, len] = l.PageRange(2);
    std::string damaged(std::string_view(payload).substr(off, len));
    damaged[l.chunks[2 * (4 + types.types.size()) + 4].first - off + 25] ^= 0x10;  // feature 0
    size_t first_row = 0;
    EXPECT_TRUE(DecodeSegmentPage(l, 2, damaged, types, true).status().IsCorruption());
    {
      // The seq chunk damaged: caught when decoded, neither read nor checked without seq.
      std::string seq_damaged(std::string_view(payload).substr(off, len));
      seq_damaged[l.chunks[2 * (4 + types.types.size()) + 3].first - off + 20] ^= 0x10;
      pitstore::KeyRuns runs;
      EXPECT_TRUE(DecodeSegmentPage(l, 2, seq_damaged, types, true, nullptr, &runs).status().IsCorruption());
      EXPECT_TRUE(DecodeSegmentPage(l, 2, seq_damaged, types, true, nullptr, &runs, false).ok());
      // Damaged times are caught either way.
      for (size_t chunk : {1, 2}) {
        std::string time_damaged(std::string_view(payload).substr(off, len));
        time_damaged[l.chunks[2 * (4 + types.types.size()) + chunk].first - off + 20] ^= 0x10;
        EXPECT_TRUE(DecodeSegmentPage(l, 2, time_damaged, types, true, nullptr, &runs, false).status().IsCorruption())
            << "chunk " << chunk;
      }
    }
    EXPECT_TRUE(DecodeSegmentPageKey(l, 2, damaged, types, true, nullptr, l.page_first_keys[2], &first_row)
                    .status()
                    .IsCorruption());
    if (format.delta_restarts && format.zstd_level == 0 && format.page_rows == 200) {
      // A restart offset that does not point at its row (unchecked bytes: checksums off) is
      // caught by a page's decode, and one past the chunk by a key's.
      std::string moved(std::string_view(payload).substr(off, len));
      const auto [ets_at, ets_len] = l.chunks[2 * (4 + types.types.size()) + 1];
      moved[ets_at - off + ets_len - 1] ^= 0x40;  // the high byte of the last restart's offset
      EXPECT_TRUE(DecodeSegmentPage(l, 2, moved, types, false).status().IsCorruption());
      const pitstore::Run page =
          UNWRAP(DecodeSegmentPage(l, 2, std::string_view(payload).substr(off, len), types, true));
      EXPECT_TRUE(DecodeSegmentPageKey(l, 2, moved, types, false, nullptr, page.keys.back(), &first_row)
                      .status()
                      .IsCorruption());
    }
  }
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

// The time chunks' encodings (FORMAT.md 1.10) in every segment of the data file at `path`.
// The encodings of chunks [first, last] of each page (0 keys, 1-3 times) of every segment.
std::set<int> ChunkEncodings(const std::string& path, size_t first, size_t last) {
  std::set<int> out;
  auto file = UNWRAP(DataFile::Open(Env::Default(), path, true, false));
  const uint64_t size = UNWRAP(file->FileSize());
  for (uint64_t at = 0; at < size;) {
    const RawBlock b = UNWRAP(file->ReadBlock(at, size, true));
    at = b.end();
    if (b.header.type != BlockType::kSegment) continue;
    const std::string_view payload(b.payload);
    const SegmentLayout l = UNWRAP(DecodeSegmentLayout(payload, b.offset + kBlockHeaderSize, true));
    for (size_t p = 0; p < l.pages(); ++p)
      for (size_t k = first; k <= last; ++k) out.insert(payload[l.chunks[p * (4 + l.features) + k].first + 1]);
  }
  return out;
}

// Time chunks get restarts (DELTA_RESTARTS), and int64 keys differences (KEY_INT64_RUNS), only
// in files whose header requires them: every file made now, copy or vacuum. A store made before
// keeps writing plain deltas and KEY_RUNS, which a build without either still reads; both
// answer the same.
TEST(SegmentKeyIndex, TimeChunksHaveRestartsOnlyInFilesThatRequireThem) {
  TempDir dir;
  const std::string path = dir.path("golden.pit"), copied = dir.path("copied.pit");
  std::filesystem::copy_file(PITSTORE_SOURCE_DIR "/tests/fixtures/golden/golden.pit", path);
  std::vector<EntityKey> keys, user_keys;
  {
    auto store = UNWRAP(Store::Open(path));
    WriteBatch batch;  // 300 rows: pages of more than 64 rows
    const Timestamp t0 = 1'740'000'000'000'000;
    for (int i = 0; i < 300; ++i)
      batch.Add({std::string("m") + std::to_string(i % 7)}, t0 + i * 1'000'003,
                {Value::Float64(i / 3.0), Value::Bool(i % 2), Value::Int32(i), Value::String("n")}, t0 + i * 2'000'000);
    ASSERT_OK(store->Append("merchant_risk", batch).status());
    CompactOptions full;
    full.full = true;
    ASSERT_OK(store->Compact(full));
    ASSERT_OK(store->Scan("merchant_risk", [&](const EntityKey& key, const VersionedRow&) {
      if (keys.empty() || keys.back() != key) keys.push_back(key);
      return true;
    }));
    ExpectPointReadsMatchTheScan(*store, "merchant_risk", keys);
    ASSERT_OK(store->Scan("user_stats", [&](const EntityKey& key, const VersionedRow&) {
      if (user_keys.empty() || user_keys.back() != key) user_keys.push_back(key);
      return true;
    }));
    ExpectPointReadsMatchTheScan(*store, "user_stats", user_keys);
    EXPECT_TRUE(UNWRAP(store->Verify()).problems.empty());
    EXPECT_EQ(UNWRAP(store->Stats()).required_features, 0u);
    ASSERT_OK(store->CopyTo(copied));
  }
  EXPECT_EQ(ChunkEncodings(path, 1, 3), std::set<int>{2});    // DELTA
  EXPECT_EQ(ChunkEncodings(copied, 1, 3), std::set<int>{7});  // FRAMES
  // Keys likewise: user_stats's int64 keys as differences only in the copy (KEY_INT64_RUNS),
  // merchant_risk's strings as KEY_RUNS in both.
  EXPECT_EQ(ChunkEncodings(path, 0, 0), std::set<int>{1});
  EXPECT_EQ(ChunkEncodings(copied, 0, 0), (std::set<int>{1, 6}));
  auto copy = UNWRAP(Store::Open(copied));
  EXPECT_EQ(UNWRAP(copy->Stats()).required_features, kFeatureInt64KeyRuns | kFeatureTimeFrames);
  ExpectPointReadsMatchTheScan(*copy, "user_stats", user_keys);
  ExpectPointReadsMatchTheScan(*copy, "merchant_risk", keys);
  EXPECT_TRUE(UNWRAP(copy->Verify()).problems.empty());
}

// Makes the segment block at `offset` of the data file at `path` look as segments written before
// page keys and key filters did: the two footer fields are marked absent in the footer table's
// vtable (same bytes otherwise), and the footer's and the block's checksums are renewed.
void StripKeyIndex(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good());
  std::string header(kBlockHeaderSize, '\0');
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(header.data(), static_cast<std::streamsize>(header.size()));
  BlockHeader h = UNWRAP(ParseBlockHeader(header.data(), offset));
  ASSERT_EQ(h.type, BlockType::kSegment);
  std::string payload(h.stored_len, '\0');
  f.read(payload.data(), static_cast<std::streamsize>(payload.size()));
  const uint64_t payload_offset = offset + kBlockHeaderSize;
  const size_t tail = payload.size() - kSegmentTailBytes;
  const size_t footer_len = UNWRAP(SegmentFooterLength(std::string_view(payload).substr(tail)));
  const size_t footer_at = tail - footer_len;
  char* footer = payload.data() + footer_at;
  const uint32_t table = LoadFixed32(footer);
  const int32_t to_vtable = static_cast<int32_t>(LoadFixed32(footer + table));
  char* vtable = footer + table - to_vtable;
  const uint16_t vtable_bytes = LoadFixed16(vtable);
  for (int field : {12, 13}) {  // page_keys, key_filter (format/pitstore.fbs)
    ASSERT_LT(size_t{4} + 2 * field, vtable_bytes) << "the footer has no field " << field;
    std::memset(vtable + 4 + 2 * field, 0, 2);
  }
  std::string sum;
  PutFixed64(&sum, Xxh3(std::string_view(footer, footer_len), payload_offset + footer_at));
  std::memcpy(payload.data() + tail + 4, sum.data(), 8);
  sum.clear();
  PutFixed64(&sum, BlockChecksum(header.data(), payload, offset));
  std::memcpy(header.data() + 16, sum.data(), 8);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  ASSERT_TRUE(f.good());
}

TEST(SegmentKeyIndex, SegmentsOfManyPagesWithoutPageKeysAnswerAsWithThem) {
  TempDir dir;
  const std::string path = dir.path("s.pit");
  Options o;
  o.segment_page_rows = 4;  // keys of 1 to 9 versions begin and end inside pages and at their edges
  o.auto_flush_rows = 0;
  o.auto_flush_row_blocks = 0;
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
  for (int pass = 0; pass < 2; ++pass) {  // the second pass corrects some versions
    WriteBatch batch;
    for (int64_t k = 0; k < 120; k += 2)
      for (int64_t v = 0; v <= k % 9; ++v)
        if (pass == 0 || v % 3 == 0) batch.Add({k}, 10 * v + k % 7, {Value::Int64(1000 * pass + 10 * k + v)});
    UNWRAP(store->Append("v", batch));
  }
  // One segment of many 4-row pages.
  CompactOptions full;
  full.full = true;
  ASSERT_OK(store->Compact(full));
  // Every key, present (even) or absent between present ones (odd), at every time, through the
  // segments' page keys and filters.
  struct Answer {
    bool found;
    Timestamp event_ts;
    std::vector<Value> values;
  };
  auto answers = [&](Store& s) {
    std::vector<Answer> out;
    for (int64_t k = -1; k <= 121; ++k) {
      for (Timestamp t = -1; t <= 90; t += 3) {
        auto a = UNWRAP(s.AsOf("v", {k}, t, kMaxTimestamp));
        out.push_back({a.found, a.event_ts, a.values});
      }
      auto h = UNWRAP(s.History("v", {k}, 15, 55, kMaxTimestamp));
      for (const VersionedRow& r : h) out.push_back({true, r.event_ts, r.values});
    }
    return out;
  };
  const std::vector<Answer> want = answers(*store);
  auto blocks = UNWRAP(store->ListBlocks("v"));
  store.reset();
  size_t stripped = 0;
  for (const BlockInfo& b : blocks)
    if (b.segment) {
      ASSERT_GT(b.pages, 2u);
      StripKeyIndex(path, b.offset);
      ++stripped;
    }
  ASSERT_EQ(stripped, 1u);
  std::filesystem::remove(path + "-index");
  store = UNWRAP(Store::Open(path, o));
  EXPECT_TRUE(UNWRAP(store->Verify()).problems.empty());
  const std::vector<Answer> got = answers(*store);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].found, want[i].found) << i;
    EXPECT_EQ(got[i].event_ts, want[i].event_ts) << i;
    EXPECT_EQ(got[i].values, want[i].values) << i;
  }
}

}  // namespace
}  // namespace pitstore
