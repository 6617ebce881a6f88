#include "key_codec.h"

namespace pitstore {

void EncodeKeyPart(const KeyPart& part, std::string* dst) {
  if (const int64_t* v = std::get_if<int64_t>(&part)) {
    uint64_t u = static_cast<uint64_t>(*v) ^ (uint64_t{1} << 63);
    dst->push_back('\x01');
    for (int shift = 56; shift >= 0; shift -= 8) dst->push_back(static_cast<char>(u >> shift));
    return;
  }
  const std::string& s = std::get<std::string>(part);
  dst->push_back('\x02');
  for (char c : s) {
    dst->push_back(c);
    if (c == '\0') dst->push_back('\xff');
  }
  dst->push_back('\0');
  dst->push_back('\0');
}

std::string EncodeEntityKey(const EntityKey& key) {
  std::string out;
  for (const KeyPart& part : key) EncodeKeyPart(part, &out);
  return out;
}

Result<EntityKey> DecodeEntityKey(std::string_view bytes) {
  EntityKey key;
  size_t i = 0;
  while (i < bytes.size()) {
    char tag = bytes[i++];
    if (tag == '\x01') {
      if (bytes.size() - i < 8) return Status::Corruption("entity key: truncated int64 part");
      uint64_t u = 0;
      for (int k = 0; k < 8; ++k) u = (u << 8) | static_cast<uint8_t>(bytes[i + k]);
      i += 8;
      key.emplace_back(static_cast<int64_t>(u ^ (uint64_t{1} << 63)));
    } else if (tag == '\x02') {
      std::string s;
      bool closed = false;
      while (i < bytes.size()) {
        char c = bytes[i++];
        if (c != '\0') {
          s.push_back(c);
          continue;
        }
        if (i >= bytes.size()) break;
        char next = bytes[i++];
        if (next == '\0') {
          closed = true;
          break;
        }
        if (next != '\xff') return Status::Corruption("entity key: bad escape in string part");
        s.push_back('\0');
      }
      if (!closed) return Status::Corruption("entity key: unterminated string part");
      key.emplace_back(std::move(s));
    } else {
      return Status::Corruption("entity key: unknown part tag");
    }
  }
  return key;
}

}  // namespace pitstore
