// Block framing of the data file. Every byte of NAME.pit belongs to a block:
//
//   offset  size  field
//   0       4     magic 0x4B4C4250 ("PBLK" little-endian)
//   4       1     block type (BlockType)
//   5       1     codec of the payload (0 none, 1 zstd)
//   6       2     reserved, 0
//   8       4     stored_len: payload bytes as stored
//   12      4     raw_len: payload bytes after decompression
//   16      8     XXH3-64 of bytes [0,16) then the stored payload, seeded with the block's
//                 file offset (so a block read from the wrong place fails its checksum)
//   24      ...   payload
//
// The checksum is verified before anything in the payload is decoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pitstore/status.h"

namespace pitstore {

enum class BlockType : uint8_t {
  kHeader = 1,    // first block of every file
  kRegistry = 2,  // the whole registry (flatbuffers Registry)
  kRows = 3,      // a committed row batch, row-oriented
  kSegment = 4,   // a columnar segment
  kCommit = 5,    // ends a transaction
};
enum class Codec : uint8_t { kNone = 0, kZstd = 1 };

inline constexpr uint32_t kBlockMagic = 0x4B4C4250;
inline constexpr size_t kBlockHeaderSize = 24;
inline constexpr uint32_t kMaxBlockBytes = 0x7fffffff;

struct BlockHeader {
  BlockType type;
  Codec codec;
  uint32_t stored_len;
  uint32_t raw_len;
  uint64_t checksum;
};

// Appends a framed block (compressing with zstd at `zstd_level` when that is smaller; level 0
// stores raw) to *dst, which will be written at file offset `offset`.
void AppendBlock(std::string* dst, uint64_t offset, BlockType type, std::string_view raw, int zstd_level);
// The header alone of a block at `offset` whose payload is `stored` (raw_len bytes once decoded),
// for a writer that writes a large payload where it lies instead of copying it after the header.
void AppendBlockHeader(std::string* dst, uint64_t offset, BlockType type, Codec codec, std::string_view stored,
                       size_t raw_len);
// The header's first 16 bytes (magic, type, codec, lengths): what its checksum covers before the
// payload. AppendBlockHeader appends them and the checksum; a writer that checksums a payload as
// it streams uses them alone.
std::string BlockHeaderPrefix(BlockType type, Codec codec, size_t stored_len, size_t raw_len);
// Parses and sanity-checks the 24 header bytes at `offset` (no checksum yet).
Result<BlockHeader> ParseBlockHeader(const char* bytes, uint64_t offset);
// XXH3 of header bytes [0,16) and `stored`, seeded with offset.
uint64_t BlockChecksum(const char* header16, std::string_view stored, uint64_t offset);
// Checks the checksum (when verify) and returns the raw payload: `stored` itself when the block
// is uncompressed (a segment's payload can be tens of MB: it is not copied).
Result<std::string> DecodeBlockPayload(const BlockHeader& h, const char* header_bytes, std::string&& stored,
                                       uint64_t offset, bool verify);

// zstd helpers used by blocks and segment chunks.
std::string ZstdCompress(std::string_view raw, int level);
Result<std::string> ZstdDecompress(std::string_view stored, size_t raw_len);
// The same into a reused buffer.
Status ZstdDecompressInto(std::string_view stored, size_t raw_len, std::string* out);
uint64_t Xxh3(std::string_view bytes, uint64_t seed);
// XXH3 of a followed by b, seeded: the checksum of every framed unit (a block's or a chunk's
// header fields, then its stored bytes, seeded with its file offset).
uint64_t Xxh3Concat(std::string_view a, std::string_view b, uint64_t seed);

}  // namespace pitstore
