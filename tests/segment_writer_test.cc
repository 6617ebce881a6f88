// The streaming SegmentWriter writes, a few pages at a time, exactly the block EncodeSegment makes
// of the same rows (so every reader and the format description hold for it unchanged), and the
// index entry it returns is the one the whole segment gives.
#include "segment_writer.h"

#include <random>

#include "block.h"
#include "coding.h"
#include "data_file.h"
#include "key_codec.h"
#include "pitstore/env.h"
#include "run.h"
#include "store_impl.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

// Rows of every storage type, nulls and empty strings among them, keys of 1 to 40 versions (so
// keys cross page and pass boundaries), a key's versions in order.
Run RandomRows(std::mt19937_64& rng, size_t keys) {
  Run run;
  run.view_id = 7;
  run.columns.push_back(Column::Of(FeatureType::kInt64));
  run.columns.push_back(Column::Of(FeatureType::kFloat64));
  run.columns.push_back(Column::Of(FeatureType::kString));
  run.columns.push_back(Column::Of(FeatureType::kBool));
  run.columns.push_back(Column::Of(FeatureType::kFloat32Vector, 3));
  std::vector<int64_t> ids;
  for (size_t k = 0; k < keys; ++k) ids.push_back(static_cast<int64_t>(rng() % 1000000));
  std::vector<std::string> encoded;
  for (int64_t id : ids) {
    std::string e;
    EncodeKeyPart(KeyPart{id}, &e);
    encoded.push_back(e);
  }
  std::sort(encoded.begin(), encoded.end());
  encoded.erase(std::unique(encoded.begin(), encoded.end()), encoded.end());
  for (const std::string& key : encoded) {
    const int versions = 1 + static_cast<int>(rng() % 40);
    int64_t t = 1700000000000000 + static_cast<int64_t>(rng() % 1000000);
    for (int v = 0; v < versions; ++v) {
      t += static_cast<int64_t>(rng() % 5);  // repeats: corrections at the same event time
      run.keys.push_back(key);
      run.event_ts.push_back(t);
      run.system_ts.push_back(t + v);  // versions in order: equal event times, later system times
      run.seq.push_back(run.keys.size());
      auto null = [&] { return rng() % 7 == 0; };
      run.columns[0].Append(null() ? Value() : Value::Int64(static_cast<int64_t>(rng() % 100000) - 50000));
      run.columns[1].Append(null() ? Value() : Value::Float64(static_cast<double>(rng() % 1000) / 7.0));
      run.columns[2].Append(null() ? Value()
                                   : Value::String(std::string(rng() % 12, static_cast<char>('a' + rng() % 5))));
      run.columns[3].Append(null() ? Value() : Value::Bool(rng() % 2 == 0));
      run.columns[4].Append(
          null() ? Value() : Value::Vector({static_cast<float>(rng() % 9), 0.5f, static_cast<float>(rng() % 3)}));
    }
  }
  return run;
}

std::string ReadBytes(DataFile& file, uint64_t at, uint64_t n) {
  std::string bytes(n, '\0');
  EXPECT_TRUE(file.ReadExact(at, n, bytes.data()).ok());
  return bytes;
}

TEST(SegmentWriter, WritesTheBytesEncodeSegmentMakesAndTheSameIndexEntry) {
  TempDir dir;
  std::mt19937_64 rng(20261204);
  for (uint32_t page_rows : {1u, 7u, 64u, 1024u}) {
    for (size_t keys : {1, 3, 500, 3000}) {
      SCOPED_TRACE("page_rows " + std::to_string(page_rows) + ", keys " + std::to_string(keys));
      const pitstore::Run run = RandomRows(rng, keys);
      const std::string path = dir.path("seg" + std::to_string(page_rows) + "-" + std::to_string(keys));
      auto file = UNWRAP(DataFile::Open(Env::Default(), path, false, true));
      const uint64_t at = 4096 + rng() % 100;  // any offset: chunk checksums are seeded with theirs
      // Restarts or frames for the times, int64 key differences or not, by page size.
      const PageFormat format{page_rows, 3, page_rows != 7, page_rows != 64, page_rows == 64 || page_rows == 1024};
      SegmentWriter writer(*file, at, run.view_id, TypesOf(run), format, 2);
      // Rows come as a merge gives them: a key at a time, pages written when enough wait.
      for (size_t i = 0; i < run.size();) {
        const size_t j = run.KeyEnd(i);
        for (; i < j; ++i) writer.pending().AppendRow(run, i);
        ASSERT_EQ(writer.rows(), j);
        ASSERT_OK(writer.WriteFullPages());
        ASSERT_LT(writer.pending().size(), 33 * size_t{page_rows} + 40);  // a few pages, not the segment
      }
      const BlockEntry entry = UNWRAP(writer.Finish());

      std::string expected;
      const std::string payload = EncodeSegment(run, at + kBlockHeaderSize, format);
      AppendBlockHeader(&expected, at, BlockType::kSegment, Codec::kNone, payload, payload.size());
      expected += payload;
      ASSERT_EQ(entry.stored_bytes, expected.size());
      ASSERT_TRUE(ReadBytes(*file, at, expected.size()) == expected) << "the streamed block differs";

      TxnBlock whole;
      whole.offset = at;
      whole.end = at + expected.size();
      whole.type = BlockType::kSegment;
      whole.run = std::make_shared<pitstore::Run>(run);
      const BlockEntry want = BlockEntryOf(whole);
      EXPECT_EQ(entry.offset, want.offset);
      EXPECT_EQ(entry.type, want.type);
      EXPECT_EQ(entry.view_id, want.view_id);
      EXPECT_EQ(entry.rows, want.rows);
      EXPECT_EQ(entry.raw_bytes, want.raw_bytes);
      EXPECT_EQ(entry.min_event_ts, want.min_event_ts);
      EXPECT_EQ(entry.max_event_ts, want.max_event_ts);
      // And it reads back, verified, as the rows.
      RawBlock block = UNWRAP(file->ReadBlock(at, at + expected.size(), true));
      pitstore::Run back = UNWRAP(DecodeSegment(block.payload, at + kBlockHeaderSize, TypesOf(run), true));
      EXPECT_EQ(back.keys, run.keys);
      EXPECT_EQ(back.seq, run.seq);
    }
  }
}

// A segment compressed beforehand (a background merge's) is written a few pages at a time too,
// and the bytes are again EncodeSegment's; the largest case spans several writes.
TEST(SegmentWriter, ACompressedSegmentIsWrittenAsEncodeSegmentMakesIt) {
  TempDir dir;
  std::mt19937_64 rng(20261207);
  for (uint32_t page_rows : {1u, 64u, 1024u}) {
    for (size_t keys : {1, 500, 30000}) {
      if (page_rows == 1 && keys == 30000) continue;  // a page a row: slow, and no new case
      SCOPED_TRACE("page_rows " + std::to_string(page_rows) + ", keys " + std::to_string(keys));
      const pitstore::Run run = RandomRows(rng, keys);
      const std::string path = dir.path("c" + std::to_string(page_rows) + "-" + std::to_string(keys));
      auto file = UNWRAP(DataFile::Open(Env::Default(), path, false, true));
      const uint64_t at = 4096 + rng() % 100;
      const PageFormat format{page_rows, 3, false, true, true};
      const uint64_t payload_size = UNWRAP(WriteCompressedSegment(*file, at, run, CompressSegment(run, format, 2)));

      std::string expected;
      const std::string payload = EncodeSegment(run, at + kBlockHeaderSize, format);
      AppendBlockHeader(&expected, at, BlockType::kSegment, Codec::kNone, payload, payload.size());
      expected += payload;
      ASSERT_EQ(payload_size, payload.size());
      if (keys == 30000) {
        EXPECT_GT(payload_size, uint64_t{3} << 20);  // several writes of 1 MiB
      }
      ASSERT_EQ(UNWRAP(file->FileSize()), at + expected.size());
      ASSERT_TRUE(ReadBytes(*file, at, expected.size()) == expected) << "the written block differs";
      RawBlock block = UNWRAP(file->ReadBlock(at, at + expected.size(), true));
      pitstore::Run back = UNWRAP(DecodeSegment(block.payload, at + kBlockHeaderSize, TypesOf(run), true));
      EXPECT_EQ(back.keys, run.keys);
      EXPECT_EQ(back.event_ts, run.event_ts);
    }
  }
}

TEST(SegmentWriter, ADamagedByteOfTheWrittenBlockIsCaught) {
  TempDir dir;
  std::mt19937_64 rng(7);
  const pitstore::Run run = RandomRows(rng, 200);
  auto file = UNWRAP(DataFile::Open(Env::Default(), dir.path("seg"), false, true));
  SegmentWriter writer(*file, 0, run.view_id, TypesOf(run), PageFormat{16, 3, true}, 1);
  for (size_t i = 0; i < run.size(); ++i) writer.pending().AppendRow(run, i);
  ASSERT_OK(writer.WriteFullPages());
  const BlockEntry entry = UNWRAP(writer.Finish());
  ASSERT_OK(file->ReadBlock(0, entry.stored_bytes, true).status());
  const uint64_t at = kBlockHeaderSize + rng() % (entry.stored_bytes - kBlockHeaderSize);
  std::string byte = ReadBytes(*file, at, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x20);
  ASSERT_OK(file->WriteAt(at, byte));
  EXPECT_TRUE(file->ReadBlock(0, entry.stored_bytes, true).status().IsCorruption());
}

}  // namespace
}  // namespace pitstore
