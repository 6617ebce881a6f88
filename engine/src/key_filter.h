// A segment's key filter: a blocked Bloom filter over its distinct encoded keys, kept in the
// segment's footer, so a point read passes over the segments that lack a key without reading
// them. Layout and hashing are part of the file format (FORMAT.md 1.10).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pitstore {

inline constexpr size_t kKeyFilterBlockBytes = 64;  // one cache line: every probe of a key lands in one
inline constexpr int kKeyFilterProbes = 7;
inline constexpr size_t kKeyFilterBitsPerKey = 10;  // about 1% false positives

// XXH3-64 of the encoded key, seed 0: computed once per read, probed against every segment.
uint64_t KeyFilterHash(std::string_view encoded_key);

// The filter of `keys` (sorted; repeats count once): ceil(distinct * 10 / 512) blocks, at least one.
std::string BuildKeyFilter(const std::vector<std::string>& keys);
// The same filter from the KeyFilterHash of each distinct key, for writers that see the keys a
// page at a time.
std::string BuildKeyFilterOfHashes(const std::vector<uint64_t>& hashes);

// False only if the key is certainly not among the filter's keys. An empty filter (segments
// written before filters) may contain every key.
bool KeyFilterMayContain(std::string_view filter, uint64_t hash);

}  // namespace pitstore
