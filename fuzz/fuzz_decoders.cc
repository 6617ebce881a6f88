// Every decoder of untrusted bytes, on arbitrary input, with checksums off so the fuzzer
// reaches the parsers: it must return an error or a value, never crash, hang or leak.
// The first byte picks the decoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "block.h"
#include "index.h"
#include "key_codec.h"
#include "registry.h"
#include "run.h"
#include "store_format.h"

using namespace pitstore;

// As a point read decodes a segment's pages: each page's rows of its first and last keys alone
// (the last starts inside the page when it holds several keys: a seek to a restart). And as a
// join does: each page whole, its keys as runs, without seq.
static void DecodeKeysOfPages(std::string_view in, const ColumnTypes& types) {
  auto l = DecodeSegmentLayout(in, 0, false);
  if (!l.ok()) return;
  for (size_t p = 0; p < l->pages(); ++p) {
    auto [off, n] = l->PageRange(p);
    KeyRuns runs;
    (void)DecodeSegmentPage(*l, p, in.substr(off, n), types, false, nullptr, &runs, false);
  }
  for (size_t p = 0; p < l->pages() && p < l->page_first_keys.size(); ++p) {
    auto [off, n] = l->PageRange(p);
    size_t first_row = 0;
    for (const std::string* key : {&l->page_first_keys[p], &l->page_last_keys[p]})
      (void)DecodeSegmentPageKey(*l, p, in.substr(off, n), types, false, nullptr, *key, &first_row);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  ColumnTypes types;
  types.types = {FeatureType::kBool,    FeatureType::kInt32,     FeatureType::kInt64,
                 FeatureType::kFloat32, FeatureType::kFloat64,   FeatureType::kString,
                 FeatureType::kBytes,   FeatureType::kTimestamp, FeatureType::kFloat32Vector};
  types.dims = {0, 0, 0, 0, 0, 0, 0, 0, 3};
  switch (data[0] % 8) {
    case 0:
      (void)DecodeRowsBlock(in, types);
      break;
    case 1:
      (void)DecodeSegment(in, 0, types, false);
      DecodeKeysOfPages(in, types);
      break;
    case 2:
      (void)DecodeSegment(in, 0, types, true);
      break;
    case 3:
      (void)DecodeRegistry(in);
      break;
    case 4:
      (void)DecodeEntityKey(in);
      break;
    case 5: {
      Version v;
      std::vector<Value> values;
      std::vector<int> proj = {0, 1, 2, 3, 4, 5, 6, 7, 8};
      (void)DecodeLatestValues("k", in, types, false, proj, &v, &values);
      break;
    }
    case 6:
      (void)DecodeCommit(in);
      (void)DecodeFileHeader(in);
      break;
    case 7:
      if (in.size() >= kBlockHeaderSize) {
        auto h = ParseBlockHeader(in.data(), 0);
        if (h.ok() && h->stored_len <= in.size() - kBlockHeaderSize)
          (void)DecodeBlockPayload(*h, in.data(), std::string(in.substr(kBlockHeaderSize, h->stored_len)), 0, false);
      }
      break;
  }
  return 0;
}
