#include "codecs.h"

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "metadata.h"

namespace pitstore::io::parquet {

std::string CodecName(int32_t codec) {
  static const char* const kNames[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  if (codec >= 0 && codec < 8) return kNames[codec];
  return "codec " + std::to_string(codec);
}

namespace {

Status Inflate(const uint8_t* data, size_t size, size_t expected, std::string* out) {
  z_stream z{};
  // 15 + 32: a gzip or zlib header, detected.
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Status::IOError("gzip: inflateInit failed");
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(expected);
  int rc = inflate(&z, Z_FINISH);
  size_t got = expected - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || got != expected)
    return Status::Corruption("gzip: the page does not inflate to its " + std::to_string(expected) + " bytes");
  return Status::OK();
}

}  // namespace

Status Decompress(int32_t codec, const uint8_t* data, size_t size, size_t expected, std::string* out) {
  switch (codec) {
    case kUncompressed:
      if (size != expected)
        return Status::Corruption("an uncompressed page of " + std::to_string(size) + " bytes says it has " +
                                  std::to_string(expected));
      out->assign(reinterpret_cast<const char*>(data), size);
      return Status::OK();
    case kZstd: {
      // A size the frame contradicts is refused before it is allocated.
      unsigned long long framed = ZSTD_getFrameContentSize(data, size);
      if (framed == ZSTD_CONTENTSIZE_ERROR || (framed != ZSTD_CONTENTSIZE_UNKNOWN && framed != expected))
        return Status::Corruption("zstd: the page's frame does not hold its " + std::to_string(expected) + " bytes");
      if (framed == ZSTD_CONTENTSIZE_UNKNOWN && expected / 32768 > size + 1024)
        return Status::Corruption("zstd: a page of " + std::to_string(size) + " bytes cannot hold " +
                                  std::to_string(expected));
      out->resize(expected);
      size_t n = ZSTD_decompress(out->data(), expected, data, size);
      if (ZSTD_isError(n) || n != expected)
        return Status::Corruption(std::string("zstd: ") +
                                  (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "the page has another size"));
      return Status::OK();
    }
    case kSnappy: {
      size_t n = 0;
      if (snappy_uncompressed_length(reinterpret_cast<const char*>(data), size, &n) != SNAPPY_OK || n != expected)
        return Status::Corruption("snappy: the page does not say it holds its " + std::to_string(expected) + " bytes");
      out->resize(expected);
      if (snappy_uncompress(reinterpret_cast<const char*>(data), size, out->data(), &n) != SNAPPY_OK || n != expected)
        return Status::Corruption("snappy: the page does not decompress");
      return Status::OK();
    }
    case kGzip:
      // Deflate expands at most about 1032 to 1.
      if (size > UINT32_MAX || expected > UINT32_MAX || expected / 1032 > size + 64)
        return Status::Corruption("gzip: a page of " + std::to_string(size) + " bytes cannot hold " +
                                  std::to_string(expected));
      out->resize(expected);
      return Inflate(data, size, expected, out);
    default:
      return Status::NotSupported("compression " + CodecName(codec) +
                                  " (pitstore reads UNCOMPRESSED, ZSTD, SNAPPY, GZIP)");
  }
}

uint32_t PageCrc(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {  // zlib takes uInt lengths
    uInt n = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, data, n);
    data += n;
    size -= n;
  }
  return static_cast<uint32_t>(crc);
}

Status CompressZstd(const std::string& in, int level, std::string* out) {
  // Frames carry zstd's content checksum, which any zstd decoder (pitstore's too) verifies.
  struct CCtxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) return Status::IOError("zstd: out of memory");
  ZSTD_CCtx_reset(cctx.get(), ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  out->resize(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress2(cctx.get(), out->data(), out->size(), in.data(), in.size());
  if (ZSTD_isError(n)) return Status::IOError(std::string("zstd: ") + ZSTD_getErrorName(n));
  out->resize(n);
  return Status::OK();
}

}  // namespace pitstore::io::parquet
