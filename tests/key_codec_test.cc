#include "key_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "coding.h"

namespace pitstore {
namespace {

TEST(KeyCodec, RoundTripsAndPreservesOrder) {
  std::vector<EntityKey> keys = {{int64_t{-5}},
                                 {int64_t{0}},
                                 {int64_t{7}},
                                 {INT64_MIN},
                                 {INT64_MAX},
                                 {std::string("")},
                                 {std::string("a")},
                                 {std::string("a\0b", 3)},
                                 {std::string("ab")},
                                 {int64_t{1}, std::string("x")},
                                 {int64_t{1}, std::string("")},
                                 {std::string("\xff\x00", 2)}};
  for (const EntityKey& k : keys) {
    auto back = DecodeEntityKey(EncodeEntityKey(k));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, k);
  }
  // Encoded order equals the natural order of same-shaped keys.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    int64_t a = static_cast<int64_t>(rng()), b = static_cast<int64_t>(rng());
    EXPECT_EQ(a < b, EncodeEntityKey({a}) < EncodeEntityKey({b}));
    std::string s(rng() % 4, 'a'), t(rng() % 4, 'a');
    for (char& c : s) c = static_cast<char>(rng() % 3);
    for (char& c : t) c = static_cast<char>(rng() % 3);
    EXPECT_EQ(s < t, EncodeEntityKey({s}) < EncodeEntityKey({t})) << i;
  }
}

TEST(KeyCodec, NoKeyIsAPrefixOfAnother) {
  std::vector<std::string> enc;
  for (const char* s : {"", "a", "ab", "abc", "a\0"}) enc.push_back(EncodeEntityKey({std::string(s)}));
  enc.push_back(EncodeEntityKey({std::string("a\0", 2)}));
  for (size_t i = 0; i < enc.size(); ++i)
    for (size_t j = 0; j < enc.size(); ++j)
      if (i != j && enc[i] != enc[j]) {
        EXPECT_FALSE(enc[j].rfind(enc[i], 0) == 0) << i << " prefix of " << j;
      }
}

// The index's comparison must be LMDB's default order exactly: files are shared with LMDB's own
// tools and with builds before it, and a different order would misplace keys in their B-trees.
TEST(KeyCodec, CompareKeyBytesIsMemcmpOrder) {
  auto reference = [](const std::string& a, const std::string& b) {
    int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    if (c != 0) return c < 0 ? -1 : 1;
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
  };
  std::mt19937_64 rng(7);
  const char alphabet[] = {'\x00', '\x01', '\x7f', '\x80', '\xfe', '\xff'};
  for (int i = 0; i < 200000; ++i) {
    // Long shared prefixes, so the differing byte falls in every position of a word and past it.
    std::string a(rng() % 24, '\0'), b;
    for (char& c : a) c = alphabet[rng() % sizeof alphabet];
    b = a.substr(0, rng() % (a.size() + 1));
    for (size_t n = rng() % 12; n > 0; --n) b.push_back(alphabet[rng() % sizeof alphabet]);
    if (rng() % 4 == 0 && !b.empty()) b[rng() % b.size()] ^= static_cast<char>(1 << (rng() % 8));
    ASSERT_EQ(CompareKeyBytes(a, b), reference(a, b)) << i;
    ASSERT_EQ(CompareKeyBytes(b, a), reference(b, a)) << i;
    ASSERT_EQ(CompareKeyBytes(a, a), 0);
  }
}

TEST(KeyCodec, RejectsGarbage) {
  EXPECT_FALSE(DecodeEntityKey("\x03").ok());
  EXPECT_FALSE(DecodeEntityKey("\x01\x00").ok());
  EXPECT_FALSE(DecodeEntityKey("\x02"
                               "abc")
                   .ok());
  EXPECT_FALSE(DecodeEntityKey(std::string("\x02\x00\x07", 3)).ok());
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// Varints of every length (1 to 10 bytes) read back, by the eight-byte fast path and, near the
// end of the buffer, by the byte loop; truncated and overlong ones fail.
TEST(Varint, EveryLengthAtEveryDistanceFromTheEnd) {
  std::mt19937_64 rng(5);
  std::vector<uint64_t> values = {
      0, 1, 127, 128, 16383, 16384, UINT64_MAX, uint64_t{1} << 63, (uint64_t{1} << 56) - 1, uint64_t{1} << 56};
  for (int bits = 1; bits <= 64; ++bits)
    for (int k = 0; k < 4; ++k) values.push_back(rng() >> (64 - bits));
  std::string buf;
  for (uint64_t v : values) PutVarint64(&buf, v);
  for (size_t pad = 0; pad < 10; ++pad) {  // a tail after them moves where the fast path stops
    std::string padded = buf + std::string(pad, '\x01');
    ByteReader in(padded);
    for (uint64_t v : values) ASSERT_EQ(in.Varint(), v) << "pad " << pad;
    for (size_t i = 0; i < pad; ++i) ASSERT_EQ(in.Varint(), 1u);
    EXPECT_TRUE(in.ok());
    EXPECT_EQ(in.remaining(), 0u);
  }
  std::string truncated;
  PutVarint64(&truncated, UINT64_MAX);
  truncated.pop_back();
  ByteReader cut(truncated);
  cut.Varint();
  EXPECT_FALSE(cut.ok());
  std::string overlong(11, '\x80');
  overlong += '\x01';
  ByteReader too_long(overlong);
  too_long.Varint();
  EXPECT_FALSE(too_long.ok());
}

// Zigzag deltas of every length (short runs, so several end in one eight-byte load, and long
// ones, which go one at a time) summed by DeltaVarints as a loop of Signed() sums them, at every
// distance from the buffer's end; then truncated and overlong ones fail.
TEST(Varint, DeltaVarintsSumAsSignedDoes) {
  std::mt19937_64 rng(9);
  std::vector<int64_t> deltas = {0, 1, -1, 63, -64, 64, 8191, -8192, INT64_MAX, INT64_MIN};
  for (int bits = 1; bits <= 64; ++bits)
    for (int k = 0; k < 6; ++k) {
      const int64_t d = static_cast<int64_t>(rng() >> (64 - bits));
      deltas.push_back(k % 2 ? d : -d);
    }
  for (int k = 0; k < 200; ++k) deltas.push_back(static_cast<int64_t>(rng() % 300) - 150);  // 1-2 bytes
  std::shuffle(deltas.begin(), deltas.end(), rng);
  // Runs of short ones, as small ints give: eight one-byte varints to a word, then four or
  // more of one or two bytes.
  for (int k = 0; k < 64; ++k) deltas.push_back(static_cast<int64_t>(rng() % 100) - 50);
  for (int k = 0; k < 64; ++k) deltas.push_back(static_cast<int64_t>(rng() % 8000) - 4000);
  for (int k = 0; k < 64; ++k) deltas.push_back(static_cast<int64_t>(rng() % 300) - 150);
  std::string buf;
  for (int64_t d : deltas) PutSigned(&buf, d);
  for (size_t pad = 0; pad < 10; ++pad) {
    std::string padded = buf + std::string(pad, '\x02');
    ByteReader want(padded), got(padded);
    std::vector<int64_t> sums(deltas.size() + pad);
    uint64_t sum = 7;
    ASSERT_TRUE(got.DeltaVarints(sums.size(), sums.data(), &sum));
    uint64_t expect = 7;
    for (size_t i = 0; i < sums.size(); ++i) {
      expect += static_cast<uint64_t>(want.Signed());
      ASSERT_EQ(sums[i], static_cast<int64_t>(expect)) << "value " << i << ", pad " << pad;
    }
    EXPECT_EQ(sum, expect);
    EXPECT_TRUE(got.ok());
    EXPECT_EQ(got.remaining(), 0u);
  }
  // Fewer values asked than the bytes hold: exactly those are read, the reader left at the
  // next one.
  for (size_t k = 0; k <= deltas.size(); k += 7) {
    ByteReader in(buf);
    std::vector<int64_t> first(k + 1, -1);
    uint64_t sum = 0, expect = 0;
    ASSERT_TRUE(in.DeltaVarints(k, first.data(), &sum));
    for (size_t i = 0; i < k; ++i) expect += static_cast<uint64_t>(deltas[i]);
    EXPECT_EQ(sum, expect) << k << " values";
    EXPECT_EQ(first[k], -1) << k << " values";  // nothing written past them
    std::string rest;
    for (size_t i = k; i < deltas.size(); ++i) PutSigned(&rest, deltas[i]);
    EXPECT_EQ(in.remaining(), rest.size()) << k << " values";
    if (k < deltas.size()) {
      EXPECT_EQ(in.Signed(), deltas[k]) << k << " values";
    }
  }
  std::vector<int64_t> out(deltas.size() + 1);
  uint64_t sum = 0;
  ByteReader short_of_one(buf);  // one value more than the bytes hold
  EXPECT_FALSE(short_of_one.DeltaVarints(out.size(), out.data(), &sum));
  std::string overlong = std::string(11, '\x80') + '\x01' + std::string(16, '\x02');
  ByteReader too_long(overlong);
  EXPECT_FALSE(too_long.DeltaVarints(3, out.data(), &sum));
  EXPECT_FALSE(too_long.ok());
  // A tenth byte above 1 (bit 63 is all it can hold) and a varint cut off mid-way are damage.
  std::string tenth = std::string(9, '\x80') + '\x02' + std::string(16, '\x02');
  ByteReader big_tenth(tenth);
  EXPECT_FALSE(big_tenth.DeltaVarints(2, out.data(), &sum));
  ByteReader big_tenth_alone(tenth);
  big_tenth_alone.Varint();
  EXPECT_FALSE(big_tenth_alone.ok());
  std::string cut = buf + '\x81';
  ByteReader cut_off(cut);
  EXPECT_FALSE(cut_off.DeltaVarints(deltas.size() + 1, out.data(), &sum));
  EXPECT_EQ(cut_off.remaining(), 0u);
}

}  // namespace
}  // namespace pitstore
