// Parquet's file and page metadata (metadata.h) read and written with the Thrift compact
// protocol. Over 400 lines: one struct after another, each read beside its write.
#include "metadata.h"

#include <zlib.h>

#include "thrift_compact.h"

namespace pitstore::io::parquet {
namespace {

// Reads a list of i32 (enums) into `out`.
void ReadI32List(ThriftReader& r, uint8_t type, std::vector<int32_t>* out) {
  if (type != thrift::kList) return r.Skip(type);
  uint8_t elem;
  uint32_t n = r.ReadListHeader(&elem);
  if (elem != thrift::kI32) {
    for (uint32_t i = 0; i < n && r.ok(); ++i) r.Skip(elem);
    return;
  }
  for (uint32_t i = 0; i < n && r.ok(); ++i) out->push_back(r.ReadI32());
}

void ReadStringList(ThriftReader& r, uint8_t type, std::vector<std::string>* out) {
  if (type != thrift::kList) return r.Skip(type);
  uint8_t elem;
  uint32_t n = r.ReadListHeader(&elem);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    if (elem == thrift::kBinary)
      out->push_back(r.ReadString());
    else
      r.Skip(elem);
  }
}

// Calls `each` for every struct element of a list field.
template <typename Each>
void ReadStructList(ThriftReader& r, uint8_t type, Each each) {
  if (type != thrift::kList) return r.Skip(type);
  uint8_t elem;
  uint32_t n = r.ReadListHeader(&elem);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    if (elem != thrift::kStruct) {
      r.Skip(elem);
      continue;
    }
    r.BeginStruct();
    each();
    r.EndStruct();
  }
}

// Calls `field(id, type)` for each field of a struct-valued field.
template <typename Field>
void ReadStruct(ThriftReader& r, uint8_t type, Field field) {
  if (type != thrift::kStruct) return r.Skip(type);
  r.BeginStruct();
  int16_t id;
  uint8_t t;
  while (r.ReadField(&id, &t)) field(id, t);
  r.EndStruct();
}

int32_t I32(ThriftReader& r, uint8_t type) {
  if (type == thrift::kI32 || type == thrift::kI16) return r.ReadI32();
  r.Fail("expected an i32");
  return 0;
}
int64_t I64(ThriftReader& r, uint8_t type) {
  if (type == thrift::kI64 || type == thrift::kI32) return r.ReadI64();
  r.Fail("expected an i64");
  return 0;
}
std::string Str(ThriftReader& r, uint8_t type) {
  if (type == thrift::kBinary) return r.ReadString();
  r.Fail("expected a string");
  return {};
}

void ReadLogicalType(ThriftReader& r, uint8_t type, SchemaElement* e) {
  ReadStruct(r, type, [&](int16_t id, uint8_t t) {
    e->logical = id;
    if (id == kLogicalTimestamp || id == kLogicalTime) {
      ReadStruct(r, t, [&](int16_t fid, uint8_t ft) {
        if (fid == 1 && (ft == thrift::kTrue || ft == thrift::kFalse)) {
          e->utc = r.ReadBool(ft);
        } else if (fid == 2) {
          ReadStruct(r, ft, [&](int16_t unit, uint8_t ut) {
            e->unit = unit == 1 ? TimeUnit::kMillis : unit == 2 ? TimeUnit::kMicros : TimeUnit::kNanos;
            r.Skip(ut);
          });
        } else {
          r.Skip(ft);
        }
      });
    } else if (id == kLogicalInteger) {
      ReadStruct(r, t, [&](int16_t fid, uint8_t ft) {
        if (fid == 2 && (ft == thrift::kTrue || ft == thrift::kFalse)) {
          e->int_signed = r.ReadBool(ft);
        } else {
          r.Skip(ft);
        }
      });
    } else {
      r.Skip(t);
    }
  });
}

void ReadColumnMetaData(ThriftReader& r, uint8_t type, ColumnMetaData* c) {
  ReadStruct(r, type, [&](int16_t id, uint8_t t) {
    switch (id) {
      case 1:
        c->type = I32(r, t);
        break;
      case 2:
        ReadI32List(r, t, &c->encodings);
        break;
      case 3:
        ReadStringList(r, t, &c->path);
        break;
      case 4:
        c->codec = I32(r, t);
        break;
      case 5:
        c->num_values = I64(r, t);
        break;
      case 6:
        c->total_uncompressed_size = I64(r, t);
        break;
      case 7:
        c->total_compressed_size = I64(r, t);
        break;
      case 9:
        c->data_page_offset = I64(r, t);
        break;
      case 11:
        c->dictionary_page_offset = I64(r, t);
        break;
      default:
        r.Skip(t);
    }
  });
}

Status Done(ThriftReader& r, const char* what) {
  if (r.ok()) return Status::OK();
  return Status::Corruption(std::string(what) + ": " + r.error());
}

}  // namespace

Status ParseFileMetaData(const uint8_t* data, size_t size, FileMetaData* m) {
  *m = {};
  ThriftReader r(data, size);
  r.BeginStruct();
  int16_t id;
  uint8_t t;
  while (r.ReadField(&id, &t)) {
    switch (id) {
      case 1:
        m->version = I32(r, t);
        break;
      case 2:
        ReadStructList(r, t, [&] {
          SchemaElement e;
          int16_t fid;
          uint8_t ft;
          while (r.ReadField(&fid, &ft)) {
            switch (fid) {
              case 1:
                e.type = I32(r, ft);
                break;
              case 2:
                e.type_length = I32(r, ft);
                break;
              case 3:
                e.repetition = I32(r, ft);
                break;
              case 4:
                e.name = Str(r, ft);
                break;
              case 5:
                e.num_children = I32(r, ft);
                break;
              case 6:
                e.converted_type = I32(r, ft);
                break;
              case 10:
                ReadLogicalType(r, ft, &e);
                break;
              default:
                r.Skip(ft);
            }
          }
          m->schema.push_back(std::move(e));
        });
        break;
      case 3:
        m->num_rows = I64(r, t);
        break;
      case 4:
        ReadStructList(r, t, [&] {
          RowGroup g;
          int16_t fid;
          uint8_t ft;
          while (r.ReadField(&fid, &ft)) {
            if (fid == 1) {
              ReadStructList(r, ft, [&] {
                ColumnMetaData c;
                bool has_meta = false;
                int16_t cid;
                uint8_t ct;
                while (r.ReadField(&cid, &ct)) {
                  if (cid == 1) {
                    r.Fail("a column chunk in another file (file_path) is not supported");
                  } else if (cid == 3) {
                    ReadColumnMetaData(r, ct, &c);
                    has_meta = true;
                  } else {
                    r.Skip(ct);
                  }
                }
                if (!has_meta) r.Fail("a column chunk without metadata");
                g.columns.push_back(std::move(c));
              });
            } else if (fid == 2) {
              g.total_byte_size = I64(r, ft);
            } else if (fid == 3) {
              g.num_rows = I64(r, ft);
            } else {
              r.Skip(ft);
            }
          }
          m->row_groups.push_back(std::move(g));
        });
        break;
      case 5:
        ReadStructList(r, t, [&] {
          std::string k, v;
          int16_t fid;
          uint8_t ft;
          while (r.ReadField(&fid, &ft)) {
            if (fid == 1)
              k = Str(r, ft);
            else if (fid == 2)
              v = Str(r, ft);
            else
              r.Skip(ft);
          }
          m->key_value.emplace_back(std::move(k), std::move(v));
        });
        break;
      case 6:
        m->created_by = Str(r, t);
        break;
      default:
        r.Skip(t);
    }
  }
  r.EndStruct();
  return Done(r, "file metadata");
}

Status ParsePageHeader(const uint8_t* data, size_t size, PageHeader* h, size_t* header_size) {
  *h = {};
  ThriftReader r(data, size);
  r.BeginStruct();
  int16_t id;
  uint8_t t;
  while (r.ReadField(&id, &t)) {
    switch (id) {
      case 1:
        h->type = I32(r, t);
        break;
      case 2:
        h->uncompressed_size = I32(r, t);
        break;
      case 3:
        h->compressed_size = I32(r, t);
        break;
      case 4:
        h->crc = static_cast<uint32_t>(I32(r, t));
        h->has_crc = true;
        break;
      case 5:  // DataPageHeader
      case 7:  // DictionaryPageHeader
        ReadStruct(r, t, [&](int16_t fid, uint8_t ft) {
          if (fid == 1)
            h->num_values = I32(r, ft);
          else if (fid == 2)
            h->encoding = I32(r, ft);
          else
            r.Skip(ft);
        });
        break;
      case 8:  // DataPageHeaderV2
        ReadStruct(r, t, [&](int16_t fid, uint8_t ft) {
          switch (fid) {
            case 1:
              h->num_values = I32(r, ft);
              break;
            case 2:
              h->num_nulls = I32(r, ft);
              break;
            case 3:
              h->num_rows = I32(r, ft);
              break;
            case 4:
              h->encoding = I32(r, ft);
              break;
            case 5:
              h->def_levels_bytes = I32(r, ft);
              break;
            case 6:
              h->rep_levels_bytes = I32(r, ft);
              break;
            case 7:
              if (ft == thrift::kTrue || ft == thrift::kFalse)
                h->is_compressed = r.ReadBool(ft);
              else
                r.Skip(ft);
              break;
            default:
              r.Skip(ft);
          }
        });
        break;
      default:
        r.Skip(t);
    }
  }
  r.EndStruct();
  *header_size = r.offset();
  PITSTORE_RETURN_IF_ERROR(Done(r, "page header"));
  if (h->compressed_size < 0 || h->uncompressed_size < 0 || h->num_values < 0 || h->def_levels_bytes < 0 ||
      h->rep_levels_bytes < 0 || h->num_nulls < 0)
    return Status::Corruption("page header: a negative size or count");
  return Status::OK();
}

std::string MetadataCrc(const FileMetaData& m) {
  std::string canon;
  auto put = [&](int64_t v) { canon += std::to_string(v) + ","; };
  put(static_cast<int64_t>(m.schema.size()));
  for (const SchemaElement& e : m.schema) {
    put(e.type);
    put(e.type_length);
    put(e.repetition);
    put(static_cast<int64_t>(e.name.size()));
    canon += e.name;
    put(e.num_children);
    put(e.converted_type);
    put(e.logical);
    put(static_cast<int>(e.unit));
    put(e.utc);
    put(e.int_signed);
  }
  put(m.num_rows);
  put(static_cast<int64_t>(m.row_groups.size()));
  for (const RowGroup& g : m.row_groups) {
    put(g.num_rows);
    put(static_cast<int64_t>(g.columns.size()));
    for (const ColumnMetaData& c : g.columns) {
      put(c.type);
      put(static_cast<int64_t>(c.path.size()));
      for (const std::string& p : c.path) {
        put(static_cast<int64_t>(p.size()));
        canon += p;
      }
      put(c.codec);
      put(c.num_values);
      put(c.total_compressed_size);
      put(c.data_page_offset);
      put(c.dictionary_page_offset);
    }
  }
  uint32_t crc =
      static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(canon.data()), static_cast<uInt>(canon.size())));
  return std::to_string(crc);
}

std::string SerializePageHeader(const PageHeader& h) {
  ThriftWriter w;
  w.BeginStruct();
  w.FieldI32(1, h.type);
  w.FieldI32(2, h.uncompressed_size);
  w.FieldI32(3, h.compressed_size);
  if (h.has_crc) w.FieldI32(4, static_cast<int32_t>(h.crc));
  if (h.type == kDataPage) {
    w.FieldStruct(5);
    w.FieldI32(1, h.num_values);
    w.FieldI32(2, h.encoding);
    w.FieldI32(3, kRle);  // definition levels
    w.FieldI32(4, kRle);  // repetition levels
    w.EndStruct();
  } else if (h.type == kDictionaryPage) {
    w.FieldStruct(7);
    w.FieldI32(1, h.num_values);
    w.FieldI32(2, h.encoding);
    w.EndStruct();
  }
  w.EndStruct();
  return std::move(w.out());
}

std::string SerializeFileMetaData(const FileMetaData& m) {
  ThriftWriter w;
  w.BeginStruct();
  w.FieldI32(1, m.version);
  w.FieldList(2, thrift::kStruct, static_cast<uint32_t>(m.schema.size()));
  for (const SchemaElement& e : m.schema) {
    w.BeginStruct();
    if (e.type >= 0) w.FieldI32(1, e.type);
    if (e.type_length) w.FieldI32(2, e.type_length);
    if (&e != &m.schema[0]) w.FieldI32(3, e.repetition);
    w.FieldBinary(4, e.name);
    if (e.type < 0) w.FieldI32(5, e.num_children);
    if (e.converted_type >= 0) w.FieldI32(6, e.converted_type);
    if (e.logical != kNoLogical) {
      w.FieldStruct(10);
      w.FieldStruct(static_cast<int16_t>(e.logical));
      if (e.logical == kLogicalTimestamp) {
        w.FieldBool(1, e.utc);
        w.FieldStruct(2);
        w.FieldStruct(e.unit == TimeUnit::kMillis ? 1 : e.unit == TimeUnit::kMicros ? 2 : 3);
        w.EndStruct();
        w.EndStruct();
      }
      w.EndStruct();
      w.EndStruct();
    }
    w.EndStruct();
  }
  w.FieldI64(3, m.num_rows);
  w.FieldList(4, thrift::kStruct, static_cast<uint32_t>(m.row_groups.size()));
  for (const RowGroup& g : m.row_groups) {
    w.BeginStruct();
    w.FieldList(1, thrift::kStruct, static_cast<uint32_t>(g.columns.size()));
    for (const ColumnMetaData& c : g.columns) {
      w.BeginStruct();
      w.FieldI64(2, c.dictionary_page_offset >= 0 ? c.dictionary_page_offset : c.data_page_offset);
      w.FieldStruct(3);
      w.FieldI32(1, c.type);
      w.FieldList(2, thrift::kI32, static_cast<uint32_t>(c.encodings.size()));
      for (int32_t e : c.encodings) w.ElemI32(e);
      w.FieldList(3, thrift::kBinary, static_cast<uint32_t>(c.path.size()));
      for (const std::string& p : c.path) w.ElemBinary(p);
      w.FieldI32(4, c.codec);
      w.FieldI64(5, c.num_values);
      w.FieldI64(6, c.total_uncompressed_size);
      w.FieldI64(7, c.total_compressed_size);
      w.FieldI64(9, c.data_page_offset);
      if (c.dictionary_page_offset >= 0) w.FieldI64(11, c.dictionary_page_offset);
      w.EndStruct();
      w.EndStruct();
    }
    w.FieldI64(2, g.total_byte_size);
    w.FieldI64(3, g.num_rows);
    w.EndStruct();
  }
  if (!m.key_value.empty()) {
    w.FieldList(5, thrift::kStruct, static_cast<uint32_t>(m.key_value.size()));
    for (const auto& [k, v] : m.key_value) {
      w.BeginStruct();
      w.FieldBinary(1, k);
      w.FieldBinary(2, v);
      w.EndStruct();
    }
  }
  if (!m.created_by.empty()) w.FieldBinary(6, m.created_by);
  w.EndStruct();
  return std::move(w.out());
}

}  // namespace pitstore::io::parquet
