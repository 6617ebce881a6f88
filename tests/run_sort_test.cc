// Run::Sort orders rows by (key bytes, version) and moves every column with its row, whichever
// way it sorts: by radix over the key's first two words (keys that differ in few bytes) or by
// comparison (keys that differ in many).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "key_codec.h"
#include "run.h"

namespace pitstore {
namespace {

Run RunOfKeys(const std::vector<std::string>& keys, std::mt19937_64& rng) {
  Run run;
  run.columns.push_back(Column::Of(FeatureType::kInt64, 0));
  for (size_t i = 0; i < keys.size(); ++i) {
    run.keys.push_back(keys[i]);
    run.event_ts.push_back(static_cast<int64_t>(rng() % 4));  // ties in event time...
    run.system_ts.push_back(static_cast<int64_t>(rng() % 2));  // ...and in system time
    run.seq.push_back(rng() % 3);
    run.columns[0].ints.push_back(static_cast<int64_t>(i));  // the row's input position
    run.columns[0].valid.push_back(1);
  }
  return run;
}

void ExpectSorted(const std::vector<std::string>& keys, std::mt19937_64& rng, const std::string& what) {
  Run run = RunOfKeys(keys, rng);
  const Run before = run;
  run.Sort();
  ASSERT_EQ(run.size(), before.size()) << what;
  std::vector<size_t> want(before.size());
  std::iota(want.begin(), want.end(), 0);
  auto as_tuple = [&](size_t i) {
    return std::make_tuple(before.keys[i], before.event_ts[i], before.system_ts[i], before.seq[i]);
  };
  std::stable_sort(want.begin(), want.end(), [&](size_t a, size_t b) { return as_tuple(a) < as_tuple(b); });
  for (size_t i = 0; i < want.size(); ++i) {
    // Rows equal in key and version may come in either order; each row's columns move with it.
    ASSERT_EQ(std::make_tuple(run.keys[i], run.event_ts[i], run.system_ts[i], run.seq[i]), as_tuple(want[i]))
        << what << " row " << i;
    const size_t from = static_cast<size_t>(run.columns[0].ints[i]);
    ASSERT_EQ(as_tuple(from), as_tuple(want[i])) << what << " row " << i;
  }
}

TEST(RunSort, OrdersRowsByKeyBytesThenVersion) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 60; ++round) {
    const size_t n = 1 + rng() % 3000;
    std::vector<std::string> ints, strings, shared_prefix, padded;
    for (size_t i = 0; i < n; ++i) {
      std::string k;
      EncodeKeyPart(int64_t(rng() % (round % 2 ? 200 : 2'000'000)) - 50, &k);  // negatives too
      ints.push_back(k);
      std::string s;
      for (size_t len = rng() % 24; s.size() < len;) s.push_back(static_cast<char>(rng() % 256));
      strings.push_back(s);
      // 16 bytes alike, then a difference: the two words tie and the whole key decides.
      std::string shared(16, 'p');
      shared.append(std::to_string(rng() % 50));
      shared_prefix.push_back(shared);
      // Trailing zero bytes the words' padding imitates: "a" < "a\0" < "a\0\0".
      std::string a = "a";
      a.append(rng() % 3, '\0');
      padded.push_back(a);
    }
    ExpectSorted(ints, rng, "int64 keys");
    ExpectSorted(strings, rng, "random byte strings");
    ExpectSorted(shared_prefix, rng, "a shared 16-byte prefix");
    ExpectSorted(padded, rng, "zero-padded keys");
  }
}

}  // namespace
}  // namespace pitstore
