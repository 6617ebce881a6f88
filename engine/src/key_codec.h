// Entity keys as bytes: an order-preserving, prefix-free encoding, so that encoded keys sort
// like the keys themselves and one key's encoding is never a prefix of another's (an LMDB
// prefix scan for key K can never stray into key K').
//
//   int64 part:  0x01, then the value with its sign bit flipped, 8 bytes big-endian
//   string part: 0x02, then the bytes with 0x00 written as 0x00 0xFF, then 0x00 0x00
#pragma once

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

}  // namespace pitstore
