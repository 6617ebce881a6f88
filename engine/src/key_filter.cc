#include "key_filter.h"

#include <algorithm>

#include "block.h"

namespace pitstore {
namespace {

// The block a hash falls in: its high 32 bits scaled to the block count.
size_t BlockOf(uint64_t hash, size_t blocks) { return static_cast<size_t>(((hash >> 32) * blocks) >> 32); }

// Bit `i` of the key's probes within its 512-bit block: 9 bits each of the hash times an odd
// constant, so the probes do not reuse the bits that chose the block.
unsigned ProbeBit(uint64_t mixed, int i) { return static_cast<unsigned>((mixed >> (9 * i)) & 511); }

constexpr uint64_t kProbeMix = 0x9E3779B97F4A7C15ull;

}  // namespace

uint64_t KeyFilterHash(std::string_view encoded_key) { return Xxh3(encoded_key, 0); }

std::string BuildKeyFilter(const std::vector<std::string>& keys) {
  std::vector<uint64_t> hashes;
  for (size_t i = 0; i < keys.size(); ++i)
    if (i == 0 || keys[i] != keys[i - 1]) hashes.push_back(KeyFilterHash(keys[i]));
  return BuildKeyFilterOfHashes(hashes);
}

std::string BuildKeyFilterOfHashes(const std::vector<uint64_t>& hashes) {
  const size_t blocks = std::max<size_t>(1, (hashes.size() * kKeyFilterBitsPerKey + 511) / 512);
  std::string filter(blocks * kKeyFilterBlockBytes, '\0');
  for (const uint64_t hash : hashes) {
    char* block = filter.data() + BlockOf(hash, blocks) * kKeyFilterBlockBytes;
    const uint64_t mixed = hash * kProbeMix;
    for (int p = 0; p < kKeyFilterProbes; ++p) {
      const unsigned bit = ProbeBit(mixed, p);
      block[bit / 8] = static_cast<char>(static_cast<uint8_t>(block[bit / 8]) | (1u << (bit % 8)));
    }
  }
  return filter;
}

bool KeyFilterMayContain(std::string_view filter, uint64_t hash) {
  const size_t blocks = filter.size() / kKeyFilterBlockBytes;
  if (blocks == 0) return true;
  const char* block = filter.data() + BlockOf(hash, blocks) * kKeyFilterBlockBytes;
  const uint64_t mixed = hash * kProbeMix;
  for (int p = 0; p < kKeyFilterProbes; ++p) {
    const unsigned bit = ProbeBit(mixed, p);
    if (!(static_cast<uint8_t>(block[bit / 8]) & (1u << (bit % 8)))) return false;
  }
  return true;
}

}  // namespace pitstore
