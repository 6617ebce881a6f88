#include "transaction.h"

#include "coding.h"

namespace pitstore {

const ViewInfo* ViewOfDataBlock(const RawBlock& b, const Registry& reg) {
  return b.payload.size() >= 4 ? reg.FindViewById(LoadFixed32(b.payload.data())) : nullptr;
}

Result<Run> DecodeDataBlock(const RawBlock& b, const Registry& reg, bool verify) {
  if (b.payload.size() < 4) return Status::Corruption("data block too short at offset " + std::to_string(b.offset));
  const uint32_t view_id = LoadFixed32(b.payload.data());
  const ViewInfo* v = ViewOfDataBlock(b, reg);
  if (!v)
    return Status::Corruption("block at offset " + std::to_string(b.offset) + " names unknown view id " +
                              std::to_string(view_id));
  Result<Run> run = b.header.type == BlockType::kRows
                        ? DecodeRowsBlock(b.payload, v->types)
                        : DecodeSegment(b.payload, b.offset + kBlockHeaderSize, v->types, verify);
  if (!run.ok())
    return Status::Corruption(run.status().message() + " (block at offset " + std::to_string(b.offset) + ")");
  PITSTORE_RETURN_IF_ERROR(run->Validate("block at offset " + std::to_string(b.offset)));
  return run;
}

}  // namespace pitstore
