#include "store_format.h"

#include "coding.h"

namespace pitstore {

static constexpr char kFileMagic[8] = {'P', 'I', 'T', 'S', 'T', 'O', 'R', 'E'};

std::string EncodeFileHeader(const FileHeader& h) {
  std::string out(kFileMagic, 8);
  PutFixed32(&out, h.format_version);
  PutFixed64(&out, h.required_features);
  PutFixed64(&out, h.optional_features);
  out.append(h.file_id);
  PutFixed64(&out, static_cast<uint64_t>(h.created_ts));
  return out;
}

Result<FileHeader> DecodeFileHeader(std::string_view p) {
  if (p.size() != 8 + 4 + 8 + 8 + 16 + 8 || p.substr(0, 8) != std::string_view(kFileMagic, 8))
    return Status::Corruption("not a pitstore file (bad header)");
  FileHeader h;
  ByteReader in(p.substr(8));
  h.format_version = in.U32();
  h.required_features = in.U64();
  h.optional_features = in.U64();
  h.file_id = std::string(in.Take(16));
  h.created_ts = static_cast<int64_t>(in.U64());
  if (h.format_version != kFormatVersion)
    return Status::NotSupported("file format version " + std::to_string(h.format_version) + " (this build reads 1)");
  if (h.required_features & ~kKnownRequiredFeatures)
    return Status::NotSupported("file needs format features this build does not know (required bits " +
                                std::to_string(h.required_features) + "): open it with a newer pitstore");
  return h;
}

std::string EncodeCommit(const CommitRecord& c) {
  std::string out;
  PutFixed64(&out, c.commit_seq);
  PutFixed64(&out, static_cast<uint64_t>(c.commit_ts));
  PutFixed64(&out, c.txn_start);
  PutFixed32(&out, c.flags);
  PutFixed32(&out, static_cast<uint32_t>(c.obsolete.size()));
  for (uint64_t o : c.obsolete) PutFixed64(&out, o);
  return out;
}

Result<CommitRecord> DecodeCommit(std::string_view p) {
  ByteReader in(p);
  CommitRecord c;
  c.commit_seq = in.U64();
  c.commit_ts = static_cast<int64_t>(in.U64());
  c.txn_start = in.U64();
  c.flags = in.U32();
  uint32_t n = in.U32();
  if (!in.ok() || in.remaining() != size_t{n} * 8) return Status::Corruption("commit record is malformed");
  for (uint32_t i = 0; i < n; ++i) c.obsolete.push_back(in.U64());
  return c;
}

}  // namespace pitstore
