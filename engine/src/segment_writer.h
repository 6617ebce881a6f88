// SegmentWriter: one segment block written page by page as a merge makes its rows, so the merge
// holds a few pages of rows decoded and compressed, not the segment (up to segment_max_rows).
// The bytes are those EncodeSegment makes of the same rows (both use SegmentAssembler).
#pragma once

#include <cstdint>
#include <string>

#include "data_file.h"
#include "index.h"
#include "run.h"

namespace pitstore {

// A segment compressed beforehand (CompressSegment: a background merge compresses before it
// takes the writer's lock) written at offset `at` of `file` a few pages at a time, then its
// footer and block header: the bytes PlaceSegment makes, never held all at once (a merge's
// segment is ~100 MB, and a fresh buffer that size costs a page fault every 4 KB). The payload's
// size, or InvalidArgument for a segment larger than a block may be (before writing anything
// when its pages alone are; else after, and the caller's transaction cuts the file back).
// `seg`'s pages are let go as they are written.
Result<uint64_t> WriteCompressedSegment(DataFile& file, uint64_t at, const Run& run, CompressedSegment&& seg);

class SegmentWriter {
 public:
  // The block goes at offset `at` of `file` (its end: the file is written from there on).
  // Compression uses up to `threads` threads.
  SegmentWriter(DataFile& file, uint64_t at, uint32_t view_id, const ColumnTypes& types, const PageFormat& format,
                unsigned threads);

  // The rows not written yet: append rows here (sorted, after those appended before), then
  // call WriteFullPages. Rows may be changed until they are written.
  Run& pending() { return pending_; }
  // Rows appended so far, written or not.
  uint64_t rows() const { return written_rows_ + pending_.size(); }
  // Compresses and writes the full pages of pending() once enough wait to be worth a pass
  // (they compress on two threads), keeping the rows of a partly filled page.
  Status WriteFullPages();
  // Writes what is pending (the last page may be short), the footer, then the block header
  // (its checksum covers the payload, read back from the file). The block's index entry;
  // it ends at entry.offset + entry.stored_bytes. At least one row must have been appended.
  Result<BlockEntry> Finish();

 private:
  Status WritePages(size_t rows);  // the first `rows` of pending(), a multiple of page_rows or all
  Status Flush();                  // out_ to the file

  DataFile& file_;
  const uint64_t at_;
  const PageFormat format_;
  const unsigned threads_;
  SegmentAssembler assembler_;
  Run pending_;
  uint64_t written_rows_ = 0;
  uint64_t raw_bytes_ = 0;
  std::string out_;  // payload bytes placed, not written yet
  uint64_t out_at_;  // the file offset of out_'s first byte
};

}  // namespace pitstore
