// A tournament tree of losers over k sorted sources: the merge of a view's blocks (ViewRows) and
// of a join's over more than kJoinScanBlocks blocks (RunAsOfJoin; fewer are scanned). After
// the leading source moves on, one pass from its leaf to the root finds the next leader:
// ceil(log2 k) comparisons, where a binary heap's pop and push take about twice that.
//
// Sources are numbered 0..k-1; `less(a, b)` says source a's current item sorts before b's and
// is asked only of sources that are not finished. Ties may go either way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace pitstore {

template <typename Less>
class LoserTree {
 public:
  explicit LoserTree(Less less) : less_(std::move(less)) {}

  // Starts over with sources 0..k-1, each at its first item (none finished).
  void Reset(size_t k) {
    k_ = k;
    finished_.assign(k, 0);
    losers_.assign(k == 0 ? 1 : k, 0);
    if (k == 0) return;
    // Matches bottom up: winners of the subtrees in `winners`, losers kept at the nodes. Leaf
    // i is node k + i.
    std::vector<size_t> winners(2 * k);
    for (size_t i = 0; i < k; ++i) winners[k + i] = i;
    for (size_t node = k - 1; node >= 1; --node) {
      size_t a = winners[2 * node], b = winners[2 * node + 1];
      if (Before(b, a)) std::swap(a, b);
      winners[node] = a;
      losers_[node] = b;
    }
    losers_[0] = winners[1];
  }

  bool empty() const { return k_ == 0 || finished_[losers_[0]]; }
  // The source whose item sorts first (when not empty).
  size_t top() const { return losers_[0]; }

  // After the top source moved to its next item (finished: it has none), finds the new top.
  void Replay(bool finished = false) {
    size_t winner = losers_[0];
    if (finished) finished_[winner] = 1;
    for (size_t node = (winner + k_) / 2; node >= 1; node /= 2)
      if (Before(losers_[node], winner)) std::swap(losers_[node], winner);
    losers_[0] = winner;
  }

 private:
  // Finished sources sort after every other.
  bool Before(size_t a, size_t b) const { return !finished_[a] && (finished_[b] || less_(a, b)); }

  Less less_;
  size_t k_ = 0;
  std::vector<uint8_t> finished_;  // bytes, not bits: read at every match of every replay
  std::vector<size_t> losers_;     // [0]: the winner; [1, k): the loser of each match
};

}  // namespace pitstore
