#include "block.h"

#include <zstd.h>

#include "coding.h"
#include "xxh3.h"

namespace pitstore {

uint64_t Xxh3(std::string_view bytes, uint64_t seed) { return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed); }

namespace {
// One context per thread, reused: ZSTD_compress/ZSTD_decompress would build one per call,
// which costs more than compressing a small chunk.
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
ZstdContexts& Contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}
}  // namespace

std::string ZstdCompress(std::string_view raw, int level) {
  std::string out;
  out.resize(ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compressCCtx(Contexts().c, out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view stored, size_t raw_len) {
  std::string out;
  PITSTORE_RETURN_IF_ERROR(ZstdDecompressInto(stored, raw_len, &out));
  return out;
}

Status ZstdDecompressInto(std::string_view stored, size_t raw_len, std::string* out) {
  unsigned long long frame = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (frame == ZSTD_CONTENTSIZE_ERROR || frame == ZSTD_CONTENTSIZE_UNKNOWN || frame != raw_len)
    return Status::Corruption("zstd frame size does not match the recorded length");
  out->resize(raw_len);
  size_t n = ZSTD_decompressDCtx(Contexts().d, out->data(), out->size(), stored.data(), stored.size());
  if (ZSTD_isError(n) || n != raw_len)
    return Status::Corruption(std::string("zstd: ") + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output"));
  return Status::OK();
}

uint64_t Xxh3Concat(std::string_view a, std::string_view b, uint64_t seed) {
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_64bits_reset_withSeed(&state, seed);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  return XXH3_64bits_digest(&state);
}

uint64_t BlockChecksum(const char* header16, std::string_view stored, uint64_t offset) {
  return Xxh3Concat(std::string_view(header16, 16), stored, offset);
}

void AppendBlock(std::string* dst, uint64_t offset, BlockType type, std::string_view raw, int zstd_level) {
  std::string compressed;
  Codec codec = Codec::kNone;
  if (zstd_level > 0 && raw.size() > 64) {
    compressed = ZstdCompress(raw, zstd_level);
    if (!compressed.empty() && compressed.size() < raw.size()) codec = Codec::kZstd;
  }
  std::string_view stored = codec == Codec::kZstd ? std::string_view(compressed) : raw;
  AppendBlockHeader(dst, offset, type, codec, stored, raw.size());
  dst->append(stored.data(), stored.size());
}

std::string BlockHeaderPrefix(BlockType type, Codec codec, size_t stored_len, size_t raw_len) {
  std::string h;
  PutFixed32(&h, kBlockMagic);
  h.push_back(static_cast<char>(type));
  h.push_back(static_cast<char>(codec));
  PutFixed16(&h, 0);
  PutFixed32(&h, static_cast<uint32_t>(stored_len));
  PutFixed32(&h, static_cast<uint32_t>(raw_len));
  return h;
}

void AppendBlockHeader(std::string* dst, uint64_t offset, BlockType type, Codec codec, std::string_view stored,
                       size_t raw_len) {
  const std::string prefix = BlockHeaderPrefix(type, codec, stored.size(), raw_len);
  dst->append(prefix);
  PutFixed64(dst, BlockChecksum(prefix.data(), stored, offset));
}

Result<BlockHeader> ParseBlockHeader(const char* p, uint64_t offset) {
  auto where = [&] { return " at offset " + std::to_string(offset); };
  if (LoadFixed32(p) != kBlockMagic) return Status::Corruption("bad block magic" + where());
  BlockHeader h;
  uint8_t type = static_cast<uint8_t>(p[4]);
  uint8_t codec = static_cast<uint8_t>(p[5]);
  if (type < 1 || type > 5) return Status::Corruption("unknown block type " + std::to_string(type) + where());
  if (codec > 1) return Status::Corruption("unknown codec " + std::to_string(codec) + where());
  h.type = static_cast<BlockType>(type);
  h.codec = static_cast<Codec>(codec);
  h.stored_len = LoadFixed32(p + 8);
  h.raw_len = LoadFixed32(p + 12);
  h.checksum = LoadFixed64(p + 16);
  if (h.stored_len > kMaxBlockBytes || h.raw_len > kMaxBlockBytes)
    return Status::Corruption("block length out of range" + where());
  if (h.codec == Codec::kNone && h.stored_len != h.raw_len)
    return Status::Corruption("uncompressed block with mismatched lengths" + where());
  return h;
}

Result<std::string> DecodeBlockPayload(const BlockHeader& h, const char* header_bytes, std::string&& stored,
                                       uint64_t offset, bool verify) {
  if (verify && BlockChecksum(header_bytes, stored, offset) != h.checksum)
    return Status::Corruption("block checksum mismatch at offset " + std::to_string(offset));
  if (h.codec == Codec::kNone) return std::move(stored);
  auto raw = ZstdDecompress(stored, h.raw_len);
  if (!raw.ok()) return Status::Corruption(raw.status().message() + " in block at offset " + std::to_string(offset));
  return raw;
}

}  // namespace pitstore
