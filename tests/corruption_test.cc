// Damaged files: a flipped byte inside a segment is reported as corruption and never read as
// a value; a torn tail is ignored on open; damage followed by intact commits is refused, not
// truncated away.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "block.h"
#include "coding.h"
#include "run.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

struct BlockAt {
  uint64_t offset;
  BlockType type;
  uint64_t end;
};

std::vector<BlockAt> ListBlocks(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<BlockAt> out;
  uint64_t pos = 0;
  while (pos + kBlockHeaderSize <= bytes.size()) {
    auto h = ParseBlockHeader(bytes.data() + pos, pos);
    if (!h.ok()) break;
    uint64_t end = pos + kBlockHeaderSize + h->stored_len;
    out.push_back({pos, h->type, end});
    pos = end;
  }
  return out;
}

void FlipByte(const std::string& path, uint64_t offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
  c = static_cast<char>(c ^ 0x5a);
  ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

void Fill(Store& store, int batches, int first_ev = 0) {
  for (int b = 0; b < batches; ++b) {
    WriteBatch batch;
    for (int k = 0; k < 50; ++k) batch.Add({int64_t{k}}, first_ev + b, {Value::Int64(b * 1000 + k)});
    UNWRAP(store.Append("v", batch));
  }
}

TEST(Corruption, FlippedByteInSegmentIsReportedNeverRead) {
  TempDir dir;
  std::string path = dir.path("c.pit");
  {
    auto store = testing::NewUserStore(path);
    Fill(*store, 5);
    ASSERT_OK(store->Compact(CompactOptions{true}));
  }
  std::vector<BlockAt> segs;
  for (const BlockAt& b : ListBlocks(path))
    if (b.type == BlockType::kSegment) segs.push_back(b);
  ASSERT_EQ(segs.size(), 1u);
  // Every position of the segment block: header, chunks, footer.
  int failed_reads = 0;
  for (uint64_t at = segs[0].offset; at < segs[0].end; at += 1 + (segs[0].end - segs[0].offset) / 97) {
    FlipByte(path, at);
    {
      auto store = UNWRAP(Store::Open(path));
      // Each read returns the right value or a corruption error naming the place; a point read
      // need not touch every byte (the block-level checksum field, say), Verify does.
      for (int k = 0; k < 50; k += 7) {
        auto r = store->AsOf("v", {int64_t{k}}, 2);
        if (r.ok()) {
          EXPECT_EQ(r->values[0], Value::Int64(2000 + k)) << "offset " << at << " gave a wrong value";
        } else {
          EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
          EXPECT_NE(r.status().message().find("offset"), std::string::npos) << r.status().message();
          ++failed_reads;
        }
      }
      auto report = UNWRAP(store->Verify());
      EXPECT_FALSE(report.ok()) << "verify missed a flipped byte at " << at;
    }
    FlipByte(path, at);  // restore
  }
  EXPECT_GT(failed_reads, 100) << "reads should notice most flips";
  auto store = UNWRAP(Store::Open(path));
  EXPECT_EQ(UNWRAP(store->AsOf("v", {int64_t{3}}, 2)).values[0], Value::Int64(2003));
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

TEST(Corruption, TornTailIsIgnoredAndCommittedDataKept) {
  TempDir dir;
  std::string path = dir.path("t.pit");
  {
    auto store = testing::NewUserStore(path);
    Fill(*store, 3);
  }
  auto blocks = ListBlocks(path);
  uint64_t committed = blocks.back().end;
  // A crash mid-write: half of a copy of the last transaction, and then garbage.
  {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << all.substr(blocks[blocks.size() - 2].offset, 40) << "garbage";
  }
  auto store = UNWRAP(Store::Open(path));
  EXPECT_EQ(std::filesystem::file_size(path), committed);
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{4}})).values[0], Value::Int64(2004));
  Fill(*store, 1, 10);
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{4}})).values[0], Value::Int64(4));
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

// Every row of the store, as `key@event_ts=value` in scan order.
std::vector<std::string> AllRows(Store& store) {
  std::vector<std::string> rows;
  Status st = store.Scan("v", [&](const EntityKey& key, const VersionedRow& r) {
    rows.push_back(std::to_string(std::get<int64_t>(key[0])) + "@" + std::to_string(r.event_ts) + "=" +
                   r.values[0].ToString());
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return rows;
}

// A merge is written in parts (each segment as it is made, its commit last): cut short after
// some of its segments, it is a torn tail. Whether the index had published it (recovery from
// the index's applied offset) or is lost (a rebuild from offset 0), the store opens with the
// rows from before the merge, and the blocks already indexed from the torn part are not kept.
TEST(Corruption, AMergeCutShortBetweenItsSegmentsIsATornTail) {
  for (bool index_lost : {false, true}) {
    SCOPED_TRACE(index_lost ? "index lost: rebuilt" : "index before the merge: recovered");
    TempDir dir;
    std::string path = dir.path("m.pit");
    Options o;
    o.segment_max_rows = 64;  // the merge below writes 8 segments
    o.auto_flush_rows = 0;
    o.auto_flush_row_blocks = 0;
    std::vector<std::string> before;
    {
      auto store = UNWRAP(Store::Open(path, o));
      ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
      ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
      Fill(*store, 10);
      before = AllRows(*store);
    }
    const uint64_t merge_start = std::filesystem::file_size(path);
    const std::string saved_index = dir.path("saved-index");
    std::filesystem::copy_file(path + "-index", saved_index);
    {
      auto store = UNWRAP(Store::Open(path, o));
      ASSERT_OK(store->Compact(CompactOptions{true}));
    }
    std::vector<BlockAt> merge;
    for (const BlockAt& b : ListBlocks(path))
      if (b.offset >= merge_start) merge.push_back(b);
    ASSERT_GE(merge.size(), 4u);
    ASSERT_EQ(merge.back().type, BlockType::kCommit);
    ASSERT_EQ(merge[2].type, BlockType::kSegment);
    // The crash: three segments written whole, the fourth in part, no commit.
    std::filesystem::resize_file(path, merge[3].offset + 100);
    std::filesystem::remove(path + "-index");
    if (!index_lost) std::filesystem::copy_file(saved_index, path + "-index");
    auto store = UNWRAP(Store::Open(path, o));
    EXPECT_EQ(std::filesystem::file_size(path), merge_start);
    EXPECT_EQ(AllRows(*store), before);
    auto report = UNWRAP(store->Verify());
    EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems.front());
    EXPECT_EQ(UNWRAP(store->Stats()).views[0].segments, 0u);  // none of the torn merge's
    ASSERT_OK(store->Compact(CompactOptions{true}));          // and the merge can be made again
    EXPECT_EQ(AllRows(*store), before);
  }
}

TEST(Corruption, DamageBeforeLaterCommitsIsRefusedNotTruncated) {
  TempDir dir;
  std::string path = dir.path("d.pit");
  {
    auto store = testing::NewUserStore(path);
    Fill(*store, 3);
  }
  uint64_t size = std::filesystem::file_size(path);
  BlockAt first_rows{};
  for (const BlockAt& b : ListBlocks(path))
    if (b.type == BlockType::kRows) {
      first_rows = b;
      break;
    }
  FlipByte(path, first_rows.offset + 30);
  std::filesystem::remove(path + "-index");
  auto r = Store::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(std::to_string(first_rows.offset)), std::string::npos) << r.status().message();
  EXPECT_EQ(std::filesystem::file_size(path), size);  // nothing was cut away
}

// A data file cut short (below what its index says was committed) is refused, read-write and
// read-only, naming both lengths and the remedy, and left as it is: the commits beyond the cut
// are never dropped silently. A file cut to nothing beside its index is not a new store.
TEST(Corruption, DataFileCutShortIsRefusedNotDropped) {
  TempDir dir;
  std::string path = dir.path("cut.pit");
  uint64_t after_two = 0, full = 0;
  {
    auto store = testing::NewUserStore(path);
    Fill(*store, 2);
    after_two = UNWRAP(store->Stats()).file_bytes;
    Fill(*store, 2, 10);
    full = UNWRAP(store->Stats()).file_bytes;
  }
  Options ro;
  ro.read_only = true;
  for (uint64_t cut : {after_two, after_two + (full - after_two) / 2, uint64_t{0}}) {
    ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(cut)), 0);
    for (bool read_only : {false, true}) {
      auto store = Store::Open(path, read_only ? ro : Options{});
      ASSERT_FALSE(store.ok()) << "cut at " << cut << (read_only ? " (read-only)" : "");
      EXPECT_TRUE(store.status().IsCorruption()) << store.status().ToString();
      std::string want = cut ? "is " + std::to_string(cut) + " bytes, but its index says " + std::to_string(full)
                         : read_only ? "empty file"
                                     : "is empty, but its index";
      EXPECT_NE(store.status().message().find(want), std::string::npos) << store.status().ToString();
    }
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), cut) << "the failed open changed the file";
  }
}

TEST(Corruption, DecodersRejectRandomBytes) {
  // Row batches and segments decode only what they encode: mutated payloads fail cleanly.
  std::mt19937_64 rng(7);
  pitstore::Run run;
  run.view_id = 1;
  run.columns.push_back(Column::Of(FeatureType::kString));
  for (int i = 0; i < 20; ++i) {
    run.keys.push_back(std::string(1, static_cast<char>(i)));
    run.event_ts.push_back(i);
    run.system_ts.push_back(i);
    run.seq.push_back(static_cast<uint64_t>(i));
    run.columns[0].Append(Value::String(std::string(i % 5, 'x')));
  }
  ColumnTypes types = TypesOf(run);
  std::string rows = EncodeRowsBlock(run), seg = EncodeSegment(run, 1000, PageFormat{6, 3, true});
  for (int i = 0; i < 3000; ++i) {
    std::string r = rows, s = seg;
    r[rng() % r.size()] ^= static_cast<char>(1 + rng() % 255);
    s[rng() % s.size()] ^= static_cast<char>(1 + rng() % 255);
    (void)DecodeRowsBlock(r, types);                         // may decode to other values: blocks carry checksums
    EXPECT_FALSE(DecodeSegment(s, 1000, types, true).ok());  // chunk and footer checksums catch it
    (void)DecodeSegment(r.substr(0, rng() % r.size()), 1000, types, false);
  }
}

}  // namespace
}  // namespace pitstore
