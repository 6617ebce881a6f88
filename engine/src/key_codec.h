// Entity keys as bytes: an order-preserving, prefix-free encoding, so that encoded keys sort
// like the keys themselves and one key's encoding is never a prefix of another's (an LMDB
// prefix scan for key K can never stray into key K').
//
//   int64 part:  0x01, then the value with its sign bit flipped, 8 bytes big-endian
//   string part: 0x02, then the bytes with 0x00 written as 0x00 0xFF, then 0x00 0x00
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "pitstore/status.h"
#include "pitstore/types.h"

namespace pitstore {

// LMDB's key limit (511) less the view id (4), and 8 bytes index format 5 appended (a block
// offset): the limit stays, so every store's keys stay valid in every format.
inline constexpr size_t kMaxEncodedKeyBytes = 480;

void EncodeKeyPart(const KeyPart& part, std::string* dst);
std::string EncodeEntityKey(const EntityKey& key);
// Decodes a whole encoded key; Corruption if the bytes are not a valid encoding.
Result<EntityKey> DecodeEntityKey(std::string_view bytes);

// Orders byte strings exactly as LMDB's default comparison (memcmp over the shorter length, then
// the shorter first), eight bytes at a time and without a call: an index key is 13 bytes or
// so, and a `latest` lookup compares it about 20 times, where a call to memcmp per comparison
// was a sixth of the lookup. Being the same order, files stay readable by any LMDB program.
inline int CompareKeyBytes(std::string_view a, std::string_view b) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a byte swap puts the first byte high");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(a.data());
  const unsigned char* q = reinterpret_cast<const unsigned char*>(b.data());
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (; n >= 8; n -= 8, p += 8, q += 8) {
    uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, q, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
  }
  for (; n > 0; --n, ++p, ++q)
    if (*p != *q) return *p < *q ? -1 : 1;
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

}  // namespace pitstore
