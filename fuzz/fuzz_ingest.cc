// CSV and JSON Lines ingestion on arbitrary input, into a real store whose view has every
// feature type and a composite key: every record must convert or fail with a located error,
// never crash, hang or leak. The first byte picks the format and the batch size; batches are
// dry runs (the write path is fuzzed by fuzz_open_store), so the store does not grow.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pitstore/io/record_source.h"
#include "pitstore/store.h"
#include "pitstore/workflow/ingest.h"

using namespace pitstore;

namespace {
std::string& Dir() {
  static std::string dir = "/tmp/pitstore-fuzz-ingest-" + std::to_string(::getpid());
  return dir;
}
void RemoveDir() {
  std::string cmd = "rm -rf " + Dir();
  (void)std::system(cmd.c_str());
}
Store* TheStore() {
  static Store* store = [] {
    const std::string& dir = Dir();
    std::string cmd = "rm -rf " + dir + " && mkdir -p " + dir;
    if (std::system(cmd.c_str()) != 0) std::abort();
    std::atexit(RemoveDir);
    auto s = Store::Open(dir + "/f.pit");
    if (!s.ok()) std::abort();
    Store* raw = s->release();
    Definitions d;
    d.entities = {{"user", {{"user_id", KeyType::kInt64}}, ""}, {"item", {{"item_id", KeyType::kString}}, ""}};
    FeatureViewDef v;
    v.name = "v";
    v.entities = {"user", "item"};
    v.created_ts_column = "created_ts";
    const std::pair<const char*, FeatureType> features[] = {
        {"b", FeatureType::kBool},    {"i", FeatureType::kInt32},    {"l", FeatureType::kInt64},
        {"f", FeatureType::kFloat32}, {"d", FeatureType::kFloat64},  {"s", FeatureType::kString},
        {"y", FeatureType::kBytes},   {"t", FeatureType::kTimestamp}};
    for (const auto& [name, type] : features) {
      FeatureDef f;
      f.name = name;
      f.type = type;
      v.features.push_back(f);
    }
    FeatureDef e;
    e.name = "e";
    e.type = FeatureType::kFloat32Vector;
    e.dim = 3;
    v.features.push_back(e);
    d.views = {v};
    if (!raw->Apply(d).ok() || !raw->GetView("v").ok()) std::abort();
    return raw;
  }();
  return store;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  io::SourceFormat format = data[0] & 1 ? io::SourceFormat::kJsonLines : io::SourceFormat::kCsv;
  auto source =
      io::RecordSourceFromString(std::string(reinterpret_cast<const char*>(data) + 1, size - 1), "in", format);
  workflow::IngestOptions o;
  o.dry_run = true;
  o.batch_rows = 1 + (data[0] >> 1) % 4;
  o.ignore_extra_columns = data[0] & 0x80;
  o.epoch_unit = static_cast<workflow::EpochUnit>((data[0] >> 3) % 5);
  workflow::IngestReport report;
  (void)workflow::Ingest(*TheStore(), "v", *source, o, &report);
  return 0;
}
