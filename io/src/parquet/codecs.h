// Page compression codecs: uncompressed, zstd, snappy and gzip (the ones Parquet writers use
// by default). Others (LZ4, Brotli, LZO) are refused by name.
#pragma once

#include <cstdint>
#include <string>

#include "pitstore/status.h"

namespace pitstore::io::parquet {

// The codec's name as parquet.thrift spells it ("ZSTD"), or "codec N".
std::string CodecName(int32_t codec);
// Decompresses `size` bytes into exactly `expected` bytes; a codec error or another size is
// Corruption, an unsupported codec NotSupported.
Status Decompress(int32_t codec, const uint8_t* data, size_t size, size_t expected, std::string* out);
// The CRC-32 of a page's stored bytes, as PageHeader.crc holds it (zlib's crc32).
uint32_t PageCrc(const uint8_t* data, size_t size);
// Compresses with zstd at `level` (the only codec pitstore writes besides none).
Status CompressZstd(const std::string& in, int level, std::string* out);

}  // namespace pitstore::io::parquet
