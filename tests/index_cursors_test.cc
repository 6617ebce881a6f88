// The index's latest cursor (engine/src/index.h): GetLatestInOrder, which steps forward through
// the `latest` tables instead of searching them, answers exactly as a search does, for keys in
// order or not, present or absent, with entries added and replaced between the questions; and
// the split of lkeys between `latest` and `latest_int`.
#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "index.h"
#include "key_codec.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

// Entries in both tables, interleaved in lkey order: in view 3, ids below -2^50 and past 2^50
// (in `latest`) around small ids (in `latest_int`); then small ids of view 4 (in `latest_int`).
std::string Key(int64_t id) {
  constexpr int64_t kFar = int64_t{1} << 50;
  if (id % 3 == 2) return LatestKey(3, EncodeEntityKey({id + kFar}));
  if (id % 7 == 3) return LatestKey(3, EncodeEntityKey({-kFar - id}));
  if (id % 11 == 5) return LatestKey(4, EncodeEntityKey({id}));
  return LatestKey(3, EncodeEntityKey({id}));
}

class IndexCursorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto index = Index::Open(dir_.path("x.pit-index"), false, size_t{1} << 30, false);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(index).value();
    auto wt = index_->BeginWrite();
    ASSERT_TRUE(wt.ok());
    auto cursors = index_->Cursors(wt->get());
    std::mt19937_64 rng(5);
    for (int64_t id = 0; id < 20'000; id += 1 + static_cast<int64_t>(rng() % 3)) {  // two in three ids, about
      model_[Key(id)] = std::to_string(id);
      ASSERT_TRUE(cursors->PutLatest(Key(id), model_[Key(id)]).ok());
    }
    cursors.reset();
    ASSERT_TRUE(wt->Commit().ok());
  }

  // Asks for each id in turn on one cursor, replacing some entries found and adding some
  // missing ones as a merge does, and checks each answer and then the whole table. With
  // `deletes`, another cursor of the transaction deletes entries meanwhile, as an erasure's
  // merge does (DepartKey): now and then the one just asked for, or one a few ids on.
  void Ask(const std::vector<int64_t>& ids, uint64_t seed, bool deletes = false) {
    std::mt19937_64 rng(seed);
    auto wt = index_->BeginWrite();
    ASSERT_TRUE(wt.ok());
    auto cursors = index_->Cursors(wt->get());
    auto other = index_->Cursors(wt->get());
    for (int64_t id : ids) {
      const std::string k = Key(id);
      auto got = cursors->GetLatestInOrder(k);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      auto it = model_.find(k);
      ASSERT_EQ(got->has_value(), it != model_.end()) << "id " << id;
      if (it != model_.end()) {
        ASSERT_EQ(**got, it->second) << "id " << id;
      }
      const std::string value = std::to_string(rng());
      if (it != model_.end() && rng() % 2) {
        ASSERT_TRUE(cursors->ReplaceFound(k, value).ok());
        it->second = value;
      } else if (it == model_.end() && rng() % 2) {
        ASSERT_TRUE(cursors->PutLatest(k, value).ok());
        model_[k] = value;
      }
      if (deletes && rng() % 4 == 0) {
        const std::string gone = Key(id + static_cast<int64_t>(rng() % 3));  // this one or the next ids
        ASSERT_TRUE(other->DelLatest(gone).ok());
        model_.erase(gone);
      }
    }
    other.reset();
    cursors.reset();
    ASSERT_TRUE(wt->Commit().ok());
    auto rt = index_->BeginRead();
    ASSERT_TRUE(rt.ok());
    size_t entries = 0;
    std::string previous;
    ASSERT_TRUE(index_
                    ->ForEachLatest(rt->get(),
                                    [&](std::string_view lkey, std::string_view value) {
                                      // Both tables, merged in lkey order.
                                      EXPECT_TRUE(entries == 0 || CompareKeyBytes(previous, lkey) < 0);
                                      previous.assign(lkey);
                                      ++entries;
                                      auto it = model_.find(std::string(lkey));
                                      EXPECT_TRUE(it != model_.end() && it->second == value);
                                      return Status::OK();
                                    })
                    .ok());
    EXPECT_EQ(entries, model_.size());
  }

  TempDir dir_;
  std::unique_ptr<Index> index_;
  std::map<std::string, std::string> model_;
};

TEST_F(IndexCursorsTest, InOrderAnswersAsASearchDoes) {
  std::vector<int64_t> every, sparse, past_the_end, shuffled;
  for (int64_t id = -5; id < 20'010; ++id) every.push_back(id);  // before the first, after the last
  std::vector<int64_t> near;                                     // one to eight entries apart: the steps
  for (int64_t id = 0, gap = 1; id < 20'000; id += gap, gap = gap % 12 + 1) near.push_back(id);
  for (int64_t id = 3; id < 20'000; id += 37) sparse.push_back(id);  // farther apart than the steps taken
  for (int64_t id = 19'990; id < 20'500; ++id) past_the_end.push_back(id);
  for (int64_t id = 0; id < 20'000; id += 7) shuffled.push_back(id);
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(9));
  Ask(every, 1);
  Ask(near, 6);
  Ask(sparse, 2);
  Ask(past_the_end, 3);
  Ask(shuffled, 4);  // any order: answered by searching
  Ask(every, 5);
  Ask(every, 7, true);
  Ask(near, 8, true);
  Ask(shuffled, 10, true);
}

TEST(LatestIntKey, CoversKeysOfOneInt64BelowTwoToThe47AndKeepsTheirOrder) {
  constexpr int64_t kEdge = int64_t{1} << 47;
  const std::vector<int64_t> in = {-kEdge, -kEdge + 1, -1, 0, 1, kEdge - 2, kEdge - 1};
  const std::vector<int64_t> out = {INT64_MIN, -kEdge - 1, kEdge, INT64_MAX};
  std::vector<std::string> lkeys;
  std::vector<uint64_t> ints;
  for (uint32_t view : {1u, 2u, 65535u})
    for (int64_t v : in) {
      const std::string lkey = LatestKey(view, EncodeEntityKey({v}));
      uint64_t k = 0;
      ASSERT_TRUE(LatestIntKey(lkey, &k)) << view << " " << v;
      EXPECT_EQ(LkeyOfLatestInt(k), lkey) << view << " " << v;
      lkeys.push_back(lkey);
      ints.push_back(k);
    }
  // Integer order is lkey order, across views too.
  for (size_t i = 0; i < lkeys.size(); ++i)
    for (size_t j = 0; j < lkeys.size(); ++j)
      EXPECT_EQ(ints[i] < ints[j], CompareKeyBytes(lkeys[i], lkeys[j]) < 0) << i << " " << j;
  uint64_t k;
  for (int64_t v : out) EXPECT_FALSE(LatestIntKey(LatestKey(1, EncodeEntityKey({v})), &k)) << v;
  EXPECT_FALSE(LatestIntKey(LatestKey(65536, EncodeEntityKey({int64_t{5}})), &k));         // view id too large
  EXPECT_FALSE(LatestIntKey(LatestKey(1, EncodeEntityKey({std::string("abcdef")})), &k));  // 13 bytes too
  EXPECT_FALSE(LatestIntKey(LatestKey(1, EncodeEntityKey({std::string("abcdefgh")})), &k));
  EXPECT_FALSE(LatestIntKey(LatestKey(1, EncodeEntityKey({int64_t{5}, int64_t{6}})), &k));
}

}  // namespace
}  // namespace pitstore
