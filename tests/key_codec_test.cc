#include "key_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

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
