#include "loser_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace pitstore {
namespace {

// Merging k sorted lists of random length (ties across and within lists) gives the sorted
// concatenation, for every k from 0 to 40; sources finish at different times.
TEST(LoserTree, MergesSortedSourcesInOrder) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 400; ++round) {
    const size_t k = round % 41;
    std::vector<std::vector<int>> lists(k);
    std::vector<int> expected;
    for (auto& list : lists) {
      list.resize(1 + rng() % 30);
      for (int& x : list) x = static_cast<int>(rng() % 50);
      std::sort(list.begin(), list.end());
      expected.insert(expected.end(), list.begin(), list.end());
    }
    std::sort(expected.begin(), expected.end());
    std::vector<size_t> at(k, 0);
    LoserTree tree([&](size_t a, size_t b) { return lists[a][at[a]] < lists[b][at[b]]; });
    tree.Reset(k);
    std::vector<int> merged;
    while (!tree.empty()) {
      const size_t s = tree.top();
      merged.push_back(lists[s][at[s]]);
      tree.Replay(++at[s] == lists[s].size());
    }
    ASSERT_EQ(merged, expected) << "k = " << k;
  }
}

// A source may change its item to a greater one without giving the last up (a join's block
// read only when it could hold the least key): the tree replays it like any move.
TEST(LoserTree, ASourceMayJumpAhead) {
  std::vector<int> item = {5, 1, 3};
  LoserTree tree([&](size_t a, size_t b) { return item[a] < item[b]; });
  tree.Reset(3);
  ASSERT_EQ(tree.top(), 1u);
  item[1] = 9;
  tree.Replay();
  EXPECT_EQ(tree.top(), 2u);
  tree.Replay(true);
  EXPECT_EQ(tree.top(), 0u);
  tree.Replay(true);
  EXPECT_EQ(tree.top(), 1u);
  tree.Replay(true);
  EXPECT_TRUE(tree.empty());
}

}  // namespace
}  // namespace pitstore
