#include "segment_writer.h"

#include <algorithm>
#include <vector>

#include "block.h"
#include "xxh3.h"

namespace pitstore {
namespace {

// Pages compressed per pass: enough that two threads share the work, each a whole group of 16
// pages with its zstd probe page (CompressPages), few enough that the rows waiting stay small
// (32 pages of 1,024 rows).
constexpr size_t kPagesPerPass = 32;
// Placed bytes gathered before a write.
constexpr size_t kWriteBytes = size_t{1} << 20;

// The block header at `at`, once its payload of `payload_size` bytes is in the file. Its
// checksum covers the header's first 16 bytes (which hold the payload's length) and then the
// payload: it is read back, in pieces, from the file (the page cache).
Status WriteSegmentHeader(DataFile& file, uint64_t at, uint64_t payload_size) {
  std::string header = BlockHeaderPrefix(BlockType::kSegment, Codec::kNone, payload_size, payload_size);
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_64bits_reset_withSeed(&state, at);
  XXH3_64bits_update(&state, header.data(), header.size());
  std::string piece;
  for (uint64_t done = 0; done < payload_size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kWriteBytes, payload_size - done));
    piece.resize(n);
    PITSTORE_RETURN_IF_ERROR(file.ReadExact(at + kBlockHeaderSize + done, n, piece.data()));
    XXH3_64bits_update(&state, piece.data(), n);
    done += n;
  }
  PutFixed64(&header, XXH3_64bits_digest(&state));
  return file.WriteAt(at, header);
}

}  // namespace

Result<uint64_t> WriteCompressedSegment(DataFile& file, uint64_t at, const Run& run, CompressedSegment&& seg) {
  auto too_large = [&](uint64_t bytes) {
    return Status::InvalidArgument("a merge made a segment of " + std::to_string(run.size()) + " rows and over " +
                                   std::to_string(bytes) + " bytes, over the " + std::to_string(kMaxBlockBytes) +
                                   " a block may hold (one key's rows in one merge are that large)");
  };
  // Its pages alone too large: refused before anything is written. (A footer that takes it
  // over the limit is refused after, and the caller's transaction cuts the file back.)
  if (const uint64_t pages_bytes = PlacedPagesBytes(seg); pages_bytes > kMaxBlockBytes) return too_large(pages_bytes);
  std::string out;
  out.reserve(2 * kWriteBytes);
  uint64_t out_at = at + kBlockHeaderSize;
  auto flush = [&](std::string* bytes) -> Status {
    PITSTORE_RETURN_IF_ERROR(file.WriteAt(out_at, *bytes));
    out_at += bytes->size();
    bytes->clear();
    return Status::OK();
  };
  PITSTORE_ASSIGN_OR_RETURN(const uint64_t payload_size,
                            PlaceSegmentInto(run, std::move(seg), at + kBlockHeaderSize, &out, [&](std::string* bytes) {
                              return bytes->size() >= kWriteBytes ? flush(bytes) : Status::OK();
                            }));
  if (payload_size > kMaxBlockBytes) return too_large(payload_size);
  PITSTORE_RETURN_IF_ERROR(flush(&out));
  PITSTORE_RETURN_IF_ERROR(WriteSegmentHeader(file, at, payload_size));
  return payload_size;
}

SegmentWriter::SegmentWriter(DataFile& file, uint64_t at, uint32_t view_id, const ColumnTypes& types,
                             const PageFormat& format, unsigned threads)
    : file_(file),
      at_(at),
      format_{format.page_rows ? format.page_rows : kDefaultPageRows, format.zstd_level, format.delta_restarts,
              format.int64_key_runs, format.time_frames},
      threads_(threads),
      assembler_(view_id, types.types.size(), format_.page_rows, at + kBlockHeaderSize),
      out_at_(at + kBlockHeaderSize) {
  pending_.view_id = view_id;
  for (size_t c = 0; c < types.types.size(); ++c) pending_.columns.push_back(Column::Of(types.types[c], types.dims[c]));
  assembler_.Begin(&out_);
}

Status SegmentWriter::WriteFullPages() {
  const size_t full = pending_.size() / format_.page_rows;
  if (full < kPagesPerPass) return Status::OK();
  // Whole probe groups (CompressPages), so the next pass starts at a probe page.
  return WritePages(full / kZstdProbePages * kZstdProbePages * format_.page_rows);
}

Status SegmentWriter::WritePages(size_t rows) {
  std::vector<std::vector<CompressedChunk>> compressed = CompressPages(pending_, rows, format_, threads_);
  const size_t pages = compressed.size();
  for (size_t p = 0; p < pages; ++p) {
    const size_t begin = p * format_.page_rows, end = std::min(rows, (p + 1) * format_.page_rows);
    assembler_.AddPage(pending_, begin, end, std::move(compressed[p]), true, &out_);
  }
  raw_bytes_ += pending_.LogicalBytes(0, rows);
  written_rows_ += rows;
  // The rows of a partly filled page move to the front.
  Run rest = pending_.EmptyLike();
  rest.Reserve(std::max<size_t>(pending_.size() - rows, kPagesPerPass * format_.page_rows));
  for (size_t i = rows; i < pending_.size(); ++i) rest.AppendRow(pending_, i);
  pending_ = std::move(rest);
  return out_.size() >= kWriteBytes ? Flush() : Status::OK();
}

Status SegmentWriter::Flush() {
  if (out_.empty()) return Status::OK();
  PITSTORE_RETURN_IF_ERROR(file_.WriteAt(out_at_, out_));
  out_at_ += out_.size();
  out_.clear();
  return Status::OK();
}

Result<BlockEntry> SegmentWriter::Finish() {
  if (rows() == 0) return Status::InvalidArgument("a segment needs at least one row");
  if (pending_.size()) PITSTORE_RETURN_IF_ERROR(WritePages(pending_.size()));
  assembler_.Finish(&out_);
  PITSTORE_RETURN_IF_ERROR(Flush());
  const uint64_t payload_size = assembler_.payload_size();
  if (payload_size > kMaxBlockBytes) return Status::InvalidArgument("segment larger than a block may be");
  PITSTORE_RETURN_IF_ERROR(WriteSegmentHeader(file_, at_, payload_size));
  BlockEntry e;
  e.offset = at_;
  e.type = BlockType::kSegment;
  e.view_id = pending_.view_id;
  e.rows = assembler_.rows();
  e.stored_bytes = kBlockHeaderSize + payload_size;
  e.raw_bytes = raw_bytes_;
  e.min_event_ts = assembler_.min_event_ts();
  e.max_event_ts = assembler_.max_event_ts();
  return e;
}

}  // namespace pitstore
