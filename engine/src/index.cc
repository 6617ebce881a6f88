// The LMDB index (index.h): its four tables, their keys and checksummed values. One file, over
// 400 lines: each table's encode, check and decode belong with its puts, gets and deletes.
#include "index.h"

#include <cerrno>
#include <cstring>

#include "coding.h"
#include "key_codec.h"
#include "xxh3.h"

namespace pitstore {

Status MdbStatus(const std::string& what, int rc) {
  std::string msg = what + ": " + mdb_strerror(rc);
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
    return Status::Corruption("index " + msg);
  if (rc == ENOENT) return Status::NotFound("index " + msg);
  return Status::IOError("index " + msg);
}

namespace {
MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }
// Every database's comparison: LMDB's own order, computed inline (key_codec.h says why).
int CompareIndexKeys(const MDB_val* a, const MDB_val* b) { return CompareKeyBytes(View(*a), View(*b)); }
void PutBE64(std::string* dst, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) dst->push_back(static_cast<char>(v >> s));
}
uint64_t LoadBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
// The low 32 bits of XXH3 over the value seeded by the key's hash: a flipped byte in either is
// caught on read (LMDB checksums nothing, and a wrong zone map would silently skip rows).
uint32_t EntryChecksum(std::string_view key, std::string_view value) {
  return static_cast<uint32_t>(XXH3_64bits_withSeed(value.data(), value.size(), XXH3_64bits(key.data(), key.size())));
}
void SealEntry(std::string_view key, std::string* value) { PutFixed32(value, EntryChecksum(key, *value)); }
// Checks the trailing checksum of a sealed value of `size` bytes (checksum included).
bool SealIntact(std::string_view key, std::string_view value, size_t size) {
  return value.size() == size && LoadFixed32(value.data() + size - 4) == EntryChecksum(key, value.substr(0, size - 4));
}
std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes.substr(0, 24)) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return bytes.size() > 24 ? out + "..." : out;
}
}  // namespace

std::string LatestKey(uint32_t view_id, std::string_view encoded_key) {
  std::string k;
  k.reserve(4 + encoded_key.size() + 8);
  AssignLatestKey(view_id, encoded_key, &k);
  return k;
}

void AssignLatestKey(uint32_t view_id, std::string_view encoded_key, std::string* out) {
  out->clear();
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>(view_id >> s));
  out->append(encoded_key);
}

IndexTxn::~IndexTxn() {
  if (!txn_) return;
  if (write_)
    mdb_txn_abort(txn_);
  else
    index_->ReleaseRead(txn_);
}

Status IndexTxn::Commit() {
  MDB_txn* t = txn_;
  txn_ = nullptr;
  if (!write_) {
    index_->ReleaseRead(t);
    return Status::OK();
  }
  int rc = mdb_txn_commit(t);
  return rc == 0 ? Status::OK() : MdbStatus("commit", rc);
}

Result<std::unique_ptr<Index>> Index::Open(const std::string& path, bool read_only, size_t map_size, bool sync) {
  std::unique_ptr<Index> idx(new Index());
  idx->read_only_ = read_only;
  // One attempt; `size` 0 keeps the map size the writer recorded (read-only).
  auto attempt = [&](unsigned flags, size_t size) {
    int rc = mdb_env_create(&idx->env_);
    if (rc) return rc;
    mdb_env_set_maxdbs(idx->env_, 16);
    mdb_env_set_maxreaders(idx->env_, 1024);
    if (size) mdb_env_set_mapsize(idx->env_, size);
    rc = mdb_env_open(idx->env_, path.c_str(), flags, 0644);
    if (rc) {
      mdb_env_close(idx->env_);
      idx->env_ = nullptr;
    }
    return rc;
  };
  // Data pages are synced at commit; the meta page is not (MDB_NOMETASYNC): a crash can lose
  // the last index commit, never its integrity, and the data file replays it.
  unsigned flags =
      MDB_NOSUBDIR | MDB_NOTLS | MDB_NORDAHEAD | (read_only ? MDB_RDONLY : MDB_NOMETASYNC | (sync ? 0 : MDB_NOSYNC));
  size_t size = read_only ? 0 : map_size;
  int rc;
  for (;;) {
    rc = attempt(flags, size);
    if (read_only && !(flags & MDB_NOLOCK) && (rc == EACCES || rc == EROFS || rc == EPERM)) {
      // No writable lock file: a read-only file system, where no writer can run either.
      flags |= MDB_NOLOCK;
      continue;
    }
    // The address space cannot reserve the map (a 39-bit ARM64 kernel, an emulator, an
    // overcommit limit): ask for less. LMDB never maps less than the index already holds.
    size_t less = (size ? size : map_size) / 8;
    if (rc != ENOMEM || less < (size_t{64} << 20)) break;
    size = less;
  }
  if (rc) return MdbStatus("open " + path, rc);
  MDB_txn* txn;
  rc = mdb_txn_begin(idx->env_, nullptr, read_only ? MDB_RDONLY : 0, &txn);
  if (rc) return MdbStatus("begin", rc);
  unsigned dbflags = read_only ? 0 : MDB_CREATE;
  // latest_int has integer keys and LMDB's own comparison.
  const char* names[4] = {"meta", "latest", "blocks", "latest_int"};
  MDB_dbi* dbis[4] = {&idx->meta_, &idx->latest_, &idx->blocks_, &idx->latest_int_};
  for (int i = 0; i < 4; ++i) {
    const bool integer = i == 3;
    rc = mdb_dbi_open(txn, names[i], integer ? MDB_INTEGERKEY : dbflags, dbis[i]);
    if (integer && rc == MDB_NOTFOUND) {
      // An index of format 6 or older lacks it (or a damaged one). Read-only, the store refuses
      // the index (by its meta record's format, or for the missing table). Read-write, it is
      // made here, and the meta record goes in the same transaction: an index without a meta
      // record is rebuilt at every open until a rebuild commits one, so one stopped halfway
      // cannot leave int64 keys' entries silently missing under a record that vouches for them.
      if (read_only) break;
      rc = mdb_dbi_open(txn, names[i], MDB_CREATE | MDB_INTEGERKEY, dbis[i]);
      if (!rc) {
        MDB_val meta_key = Val("meta");
        rc = mdb_del(txn, idx->meta_, &meta_key, nullptr);
        if (rc == MDB_NOTFOUND) rc = 0;
      }
    }
    if (!rc && !integer) rc = mdb_set_compare(txn, *dbis[i], CompareIndexKeys);
    if (rc) {
      mdb_txn_abort(txn);
      // Read-only, a database not there yet: the writer that created the environment was
      // stopped before its first commit. Nothing to read; a read-write open builds it.
      if (rc == MDB_NOTFOUND)
        return Status::NotFound("index " + path + " is incomplete (no '" + names[i] + "' database)");
      return MdbStatus(std::string("open database ") + names[i], rc);
    }
    if (integer) idx->has_latest_int_ = true;
  }
  rc = mdb_txn_commit(txn);
  if (rc) return MdbStatus("commit", rc);
  return idx;
}

Index::~Index() {
  for (MDB_txn* t : read_pool_) mdb_txn_abort(t);
  if (env_) mdb_env_close(env_);
}

void Index::SetSync(bool sync) { mdb_env_set_flags(env_, MDB_NOSYNC, sync ? 0 : 1); }
Status Index::ForceSync() {
  int rc = mdb_env_sync(env_, 1);
  return rc == 0 ? Status::OK() : MdbStatus("sync", rc);
}

Result<IndexTxn> Index::BeginRead() {
  MDB_txn* txn = nullptr;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!read_pool_.empty()) {
      txn = read_pool_.back();
      read_pool_.pop_back();
    }
  }
  if (txn) {
    int rc = mdb_txn_renew(txn);
    if (rc) {
      mdb_txn_abort(txn);
      return MdbStatus("renew read txn", rc);
    }
  } else {
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc) return MdbStatus("begin read txn", rc);
  }
  return IndexTxn(this, txn, false);
}

void Index::ReleaseRead(MDB_txn* txn) {
  mdb_txn_reset(txn);
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (read_pool_.size() < 64)
    read_pool_.push_back(txn);
  else
    mdb_txn_abort(txn);
}

Result<IndexTxn> Index::BeginWrite() {
  if (read_only_) return Status::InvalidArgument("store is open read-only");
  MDB_txn* txn;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc) return MdbStatus("begin write txn", rc);
  return IndexTxn(this, txn, true);
}

// meta is one record: u32 format | u32 reserved | u64 applied_offset | u64 commit_seq |
// i64 commit_ts | u64 registry_offset | 16 bytes file_id | u64 live_blocks | u64 live_digest |
// u64 synced_offset | u32 checksum. One read per snapshot.
static constexpr size_t kMetaBytes = 84;

uint64_t BlockDigest(uint64_t offset, BlockType type, uint32_t view_id) {
  std::string bytes;
  PutBE64(&bytes, offset);
  bytes.push_back(static_cast<char>(type));
  PutFixed32(&bytes, view_id);
  return XXH3_64bits(bytes.data(), bytes.size());
}

Result<IndexMeta> Index::GetMeta(MDB_txn* txn) {
  MDB_val k = Val("meta"), v;
  int rc = mdb_get(txn, meta_, &k, &v);
  if (rc == MDB_NOTFOUND) return IndexMeta{};  // a new index
  if (rc) return MdbStatus("get meta", rc);
  return ParseMeta(v);
}

Result<IndexMeta> Index::ParseMeta(const MDB_val& v) {
  IndexMeta m;
  const char* p = static_cast<const char*>(v.mv_data);
  uint32_t format = v.mv_size >= 4 ? LoadFixed32(p) : 0;
  bool intact = SealIntact("meta", View(v), kMetaBytes);
  // Another format (an older index, to be rebuilt) is only believed from an intact record.
  if (format != kIndexFormat && (intact || v.mv_size != kMetaBytes))
    return Status::NotSupported("index format " + std::to_string(format));
  if (!intact) return Status::Corruption("index meta record: checksum mismatch (the index is damaged; rebuild it)");
  m.applied_offset = LoadFixed64(p + 8);
  m.commit_seq = LoadFixed64(p + 16);
  m.commit_ts = static_cast<int64_t>(LoadFixed64(p + 24));
  m.registry_offset = LoadFixed64(p + 32);
  m.file_id.assign(p + 40, 16);
  m.live_blocks = LoadFixed64(p + 56);
  m.live_digest = LoadFixed64(p + 64);
  m.synced_offset = LoadFixed64(p + 72);
  return m;
}

Result<IndexMeta> Index::GetMetaOfRead(MDB_txn* txn) {
  // Keyed by the record's bytes, not by mdb_txn_id(): a read transaction that began while the
  // writer committed twice reads the newer state under the older id (mdb_txn_renew0 picks the
  // meta page by the id it read first), so an id names no one state.
  MDB_val k = Val("meta"), v;
  int rc = mdb_get(txn, meta_, &k, &v);
  if (rc == MDB_NOTFOUND) return IndexMeta{};
  if (rc) return MdbStatus("get meta", rc);
  const std::string_view raw(static_cast<const char*>(v.mv_data), v.mv_size);
  {
    std::lock_guard<std::mutex> lock(meta_mu_);
    if (!meta_raw_.empty() && raw == meta_raw_) return meta_of_read_;
  }
  PITSTORE_ASSIGN_OR_RETURN(IndexMeta m, ParseMeta(v));
  std::lock_guard<std::mutex> lock(meta_mu_);
  meta_raw_.assign(raw);
  meta_of_read_ = m;
  return m;
}

Status Index::PutMeta(MDB_txn* txn, const IndexMeta& m) {
  std::string value;
  PutFixed32(&value, kIndexFormat);
  PutFixed32(&value, 0);
  PutFixed64(&value, m.applied_offset);
  PutFixed64(&value, m.commit_seq);
  PutFixed64(&value, static_cast<uint64_t>(m.commit_ts));
  PutFixed64(&value, m.registry_offset);
  std::string id = m.file_id;
  id.resize(16, '\0');
  value += id;
  PutFixed64(&value, m.live_blocks);
  PutFixed64(&value, m.live_digest);
  PutFixed64(&value, m.synced_offset);
  SealEntry("meta", &value);
  MDB_val k = Val("meta"), v = Val(value);
  int rc = mdb_put(txn, meta_, &k, &v, 0);
  return rc ? MdbStatus("put meta", rc) : Status::OK();
}

Result<MergeCounters> Index::GetMergeCounters(MDB_txn* txn) {
  MergeCounters c;
  MDB_val k = Val("merges"), v;
  int rc = mdb_get(txn, meta_, &k, &v);
  if (rc == MDB_NOTFOUND) return c;
  if (rc) return MdbStatus("get merge counters", rc);
  std::string_view value = View(v);
  if (value.size() != 11 * 8 + 4 || !SealIntact("merges", value, value.size()))
    return Status::Corruption("index merge counters: checksum mismatch (the index is damaged; rebuild it)");
  uint64_t* fields[] = {&c.merges,
                        &c.rows_in,
                        &c.rows_out,
                        &c.bytes_in,
                        &c.bytes_out,
                        &c.micros,
                        reinterpret_cast<uint64_t*>(&c.last_at),
                        &c.last_rows_in,
                        &c.last_bytes_in,
                        &c.last_bytes_out,
                        &c.last_micros};
  for (size_t i = 0; i < 11; ++i) *fields[i] = LoadFixed64(value.data() + i * 8);
  return c;
}

Status Index::PutMergeCounters(MDB_txn* txn, const MergeCounters& c) {
  std::string value;
  for (uint64_t f :
       {c.merges, c.rows_in, c.rows_out, c.bytes_in, c.bytes_out, c.micros, static_cast<uint64_t>(c.last_at),
        c.last_rows_in, c.last_bytes_in, c.last_bytes_out, c.last_micros})
    PutFixed64(&value, f);
  SealEntry("merges", &value);
  MDB_val k = Val("merges"), v = Val(value);
  int rc = mdb_put(txn, meta_, &k, &v, 0);
  return rc ? MdbStatus("put merge counters", rc) : Status::OK();
}

// view id << 48 | (value + 2^47): the value's encoding is its bits with the sign flipped, so
// the bias is a subtraction from those bits.
static constexpr uint64_t kSignFlippedLow = (uint64_t{1} << 63) - (uint64_t{1} << 47);
static constexpr uint64_t kIntValueSpan = uint64_t{1} << 48;
static_assert(sizeof(size_t) == 8, "MDB_INTEGERKEY keys of 8 bytes need a 64-bit size_t");

bool LatestIntKey(std::string_view lkey, uint64_t* out) {
  if (lkey.size() != 13 || lkey[4] != '\x01') return false;  // u32 view id, int64 tag, 8 bytes
  const uint64_t view = LoadBE64(lkey.data()) >> 32;
  const uint64_t bits = LoadBE64(lkey.data() + 5) - kSignFlippedLow;  // wraps when out of range
  if (view >= (uint64_t{1} << 16) || bits >= kIntValueSpan) return false;
  *out = view << 48 | bits;
  return true;
}

std::string LkeyOfLatestInt(uint64_t key) {
  std::string lkey;
  lkey.reserve(13);
  for (int s = 24; s >= 0; s -= 8) lkey.push_back(static_cast<char>((key >> 48) >> s));
  lkey.push_back('\x01');
  PutBE64(&lkey, (key & (kIntValueSpan - 1)) + kSignFlippedLow);
  return lkey;
}

static uint64_t IntKeyOf(const MDB_val& k) {
  uint64_t key;
  std::memcpy(&key, k.mv_data, 8);
  return key;
}

// lkey's key in its table: an integer in `*storage` (true: the table is latest_int), or lkey.
static bool LatestTableKey(std::string_view lkey, uint64_t* storage, MDB_val* key) {
  if (LatestIntKey(lkey, storage)) {
    *key = MDB_val{8, storage};
    return true;
  }
  *key = Val(lkey);
  return false;
}

Result<std::optional<std::string_view>> Index::GetLatest(MDB_txn* txn, std::string_view lkey) {
  uint64_t storage;
  MDB_val k, v;
  const bool integer = LatestTableKey(lkey, &storage, &k);
  if (integer && !has_latest_int_) return Status::NotSupported("index without latest_int: rebuild it");
  int rc = mdb_get(txn, integer ? latest_int_ : latest_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc) return MdbStatus("get latest", rc);
  return std::optional<std::string_view>(View(v));
}

static constexpr size_t kBlockEntryBytes = 45;

IndexCursors::IndexCursors(MDB_txn* txn, MDB_dbi latest, MDB_dbi latest_int) {
  if (!latest_int) {  // Index::Cursors on an index without the table (read-only: never written)
    status_ = Status::Corruption("index without latest_int: rebuild it");
    return;
  }
  int rc = mdb_cursor_open(txn, latest, &latest_.cursor);
  if (!rc) rc = mdb_cursor_open(txn, latest_int, &latest_int_.cursor);
  if (rc) status_ = MdbStatus("cursor", rc);
}

IndexCursors::~IndexCursors() {
  if (latest_.cursor) mdb_cursor_close(latest_.cursor);
  if (latest_int_.cursor) mdb_cursor_close(latest_int_.cursor);
}

IndexCursors::Cursor& IndexCursors::Route(std::string_view lkey, uint64_t* storage, MDB_val* key) {
  return LatestTableKey(lkey, storage, key) ? latest_int_ : latest_;
}

Result<std::optional<std::string_view>> IndexCursors::GetLatest(std::string_view lkey) {
  uint64_t storage;
  MDB_val k, v;
  Cursor& c = Route(lkey, &storage, &k);
  int rc = mdb_cursor_get(c.cursor, &k, &v, MDB_SET_KEY);
  c.positioned = rc == 0;
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc) return MdbStatus("get latest", rc);
  return std::optional<std::string_view>(View(v));
}

Result<std::optional<std::string_view>> IndexCursors::GetLatestInOrder(std::string_view lkey) {
  constexpr int kMaxSteps = 8;  // a merge updates most keys: the next is one or two entries on
  uint64_t storage;
  MDB_val want;
  Cursor& c = Route(lkey, &storage, &want);
  const bool integer = &c == &latest_int_;
  if (c.positioned) {
    MDB_val k, v;
    int rc = mdb_cursor_get(c.cursor, &k, &v, MDB_GET_CURRENT);
    for (int steps = 0; rc == 0 && steps < kMaxSteps; ++steps) {
      if (integer && k.mv_size != 8) break;  // damage: not stepped over; a search instead
      const int order = integer ? (IntKeyOf(k) < storage   ? -1
                                   : IntKeyOf(k) > storage ? 1
                                                           : 0)
                                : CompareKeyBytes(View(k), lkey);
      if (order == 0) return std::optional<std::string_view>(View(v));
      if (order > 0) {
        // Stepped past it from a smaller key: absent. Already past it before a step: lkey may
        // lie before the entry the cursor is on, so it is searched for.
        if (steps > 0) return std::optional<std::string_view>();
        break;
      }
      rc = mdb_cursor_get(c.cursor, &k, &v, MDB_NEXT);
    }
  }
  // Far ahead, behind, past the last entry, or a cursor that cannot step (any error: the
  // search reports a real one): a search.
  return GetLatest(lkey);
}

Status IndexCursors::PutLatest(std::string_view lkey, std::string_view value) {
  uint64_t storage;
  MDB_val k, v = Val(value);
  Cursor& c = Route(lkey, &storage, &k);
  int rc = mdb_cursor_put(c.cursor, &k, &v, 0);
  c.positioned = rc == 0;  // on the new entry
  return rc ? MdbStatus("put latest", rc) : Status::OK();
}

Status IndexCursors::ReplaceFound(std::string_view lkey, std::string_view value) {
  uint64_t storage;
  MDB_val k, v = Val(value);
  Cursor& c = Route(lkey, &storage, &k);
  int rc = mdb_cursor_put(c.cursor, &k, &v, MDB_CURRENT);
  return rc ? MdbStatus("replace latest", rc) : Status::OK();
}

Status IndexCursors::DelLatest(std::string_view lkey) {
  uint64_t storage;
  MDB_val k, v;
  Cursor& c = Route(lkey, &storage, &k);
  int rc = mdb_cursor_get(c.cursor, &k, &v, MDB_SET);
  c.positioned = false;  // (after a delete the cursor is between entries)
  if (rc == MDB_NOTFOUND) return Status::OK();
  if (!rc) rc = mdb_cursor_del(c.cursor, 0);
  return rc ? MdbStatus("del latest", rc) : Status::OK();
}

Status Index::PutBlock(MDB_txn* txn, const BlockEntry& e) {
  std::string key, value;
  PutBE64(&key, e.offset);
  value.push_back(static_cast<char>(e.type));
  PutFixed32(&value, e.view_id);
  PutFixed32(&value, e.rows);
  PutFixed64(&value, e.stored_bytes);
  PutFixed64(&value, e.raw_bytes);
  PutFixed64(&value, static_cast<uint64_t>(e.min_event_ts));
  PutFixed64(&value, static_cast<uint64_t>(e.max_event_ts));
  SealEntry(key, &value);
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn, blocks_, &k, &v, 0);
  return rc ? MdbStatus("put block", rc) : Status::OK();
}

Status Index::DelBlock(MDB_txn* txn, uint64_t offset) {
  std::string key;
  PutBE64(&key, offset);
  MDB_val k = Val(key);
  int rc = mdb_del(txn, blocks_, &k, nullptr);
  return rc && rc != MDB_NOTFOUND ? MdbStatus("del block", rc) : Status::OK();
}

static Status DecodeBlockEntry(const MDB_val& k, const MDB_val& v, BlockEntry* e) {
  if (k.mv_size != 8 || !SealIntact(View(k), View(v), kBlockEntryBytes))
    return Status::Corruption("index block entry " + Hex(View(k)) +
                              ": checksum mismatch (the index is damaged; rebuild it)");
  const char* p = static_cast<const char*>(v.mv_data);
  e->offset = LoadBE64(static_cast<const char*>(k.mv_data));
  e->type = static_cast<BlockType>(p[0]);
  e->view_id = LoadFixed32(p + 1);
  e->rows = LoadFixed32(p + 5);
  e->stored_bytes = LoadFixed64(p + 9);
  e->raw_bytes = LoadFixed64(p + 17);
  e->min_event_ts = static_cast<int64_t>(LoadFixed64(p + 25));
  e->max_event_ts = static_cast<int64_t>(LoadFixed64(p + 33));
  return Status::OK();
}

Result<std::optional<BlockEntry>> Index::GetBlock(MDB_txn* txn, uint64_t offset) {
  std::string key;
  PutBE64(&key, offset);
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, blocks_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<BlockEntry>();
  if (rc) return MdbStatus("get block", rc);
  BlockEntry e;
  PITSTORE_RETURN_IF_ERROR(DecodeBlockEntry(k, v, &e));
  return std::optional<BlockEntry>(e);
}

Status Index::ListBlocks(MDB_txn* txn, std::vector<BlockEntry>* out) {
  const size_t first = out->size();
  MDB_cursor* cur;
  int rc = mdb_cursor_open(txn, blocks_, &cur);
  if (rc) return MdbStatus("cursor", rc);
  MDB_val k, v;
  Status st;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    BlockEntry e;
    st = DecodeBlockEntry(k, v, &e);
    if (!st.ok()) break;
    out->push_back(e);
  }
  mdb_cursor_close(cur);
  if (!st.ok()) return st;
  if (rc != MDB_NOTFOUND) return MdbStatus("list blocks", rc);
  // The meta record says how many entries the table holds and what they digest to: a lost
  // entry would otherwise hide its rows from every read without an error.
  PITSTORE_ASSIGN_OR_RETURN(IndexMeta meta, GetMeta(txn));
  uint64_t digest = 0;
  for (size_t i = first; i < out->size(); ++i)
    digest ^= BlockDigest((*out)[i].offset, (*out)[i].type, (*out)[i].view_id);
  if (out->size() - first != meta.live_blocks || digest != meta.live_digest)
    return Status::Corruption("index block table: its " + std::to_string(out->size() - first) +
                              " entries do not match the " + std::to_string(meta.live_blocks) +
                              " its meta record lists (the index is damaged; run pitstore repair)");
  return Status::OK();
}

Status Index::ForEachLatest(MDB_txn* txn, const std::function<Status(std::string_view, std::string_view)>& fn) {
  // Both databases at once, in lkey order: an int-keyed view's keys out of latest_int's range
  // sit in `latest` between other views' keys.
  MDB_cursor* cur;
  int rc = mdb_cursor_open(txn, latest_, &cur);
  if (rc) return MdbStatus("cursor", rc);
  MDB_cursor* icur = nullptr;
  if (has_latest_int_ && (rc = mdb_cursor_open(txn, latest_int_, &icur)) != 0) {
    mdb_cursor_close(cur);
    return MdbStatus("cursor", rc);
  }
  MDB_val k, v, ik, iv;
  Status st;
  std::string ilkey;
  // The next entry of latest_int, as an lkey; false at its end, on an error or on damage.
  int irc = MDB_NOTFOUND;
  auto next_int = [&](MDB_cursor_op op) {
    irc = icur ? mdb_cursor_get(icur, &ik, &iv, op) : MDB_NOTFOUND;
    if (irc != 0) return false;
    if (ik.mv_size != 8) {
      st = Status::Corruption("index latest_int entry of " + std::to_string(ik.mv_size) + " key bytes");
      return false;
    }
    ilkey = LkeyOfLatestInt(IntKeyOf(ik));
    return true;
  };
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  bool more_int = next_int(MDB_FIRST);
  // Until both end; an error in either stops both.
  while (st.ok() && (rc == 0 || more_int) && (rc == 0 || rc == MDB_NOTFOUND) && (irc == 0 || irc == MDB_NOTFOUND)) {
    if (more_int && (rc != 0 || CompareKeyBytes(ilkey, View(k)) < 0)) {
      st = fn(ilkey, View(iv));
      if (st.ok()) more_int = next_int(MDB_NEXT);
    } else {
      st = fn(View(k), View(v));
      if (st.ok()) rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
  }
  mdb_cursor_close(cur);
  if (icur) mdb_cursor_close(icur);
  if (!st.ok()) return st;
  if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus("scan latest", rc);
  if (irc != 0 && irc != MDB_NOTFOUND) return MdbStatus("scan latest_int", irc);
  return Status::OK();
}

Status Index::RepackLatest(MDB_txn* txn) {
  if (!has_latest_int_) return Status::Corruption("index without latest_int: rebuild it");
  // Each database through a scratch one of its kind, and back.
  auto repack = [&](MDB_dbi dbi, const char* scratch, unsigned flags, MDB_cmp_func* cmp) -> Status {
    MDB_dbi tmp;
    int rc = mdb_dbi_open(txn, scratch, MDB_CREATE | flags, &tmp);
    if (!rc && cmp) rc = mdb_set_compare(txn, tmp, cmp);
    if (rc) return MdbStatus("open repack db", rc);
    auto copy = [&](MDB_dbi from, MDB_dbi to) -> Status {
      MDB_cursor* cur;
      int rc = mdb_cursor_open(txn, from, &cur);
      if (rc) return MdbStatus("cursor", rc);
      MDB_val k, v;
      std::string key, value;  // copies: a put may move pages the cursor's pointers refer to
      for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        key.assign(static_cast<const char*>(k.mv_data), k.mv_size);
        value.assign(static_cast<const char*>(v.mv_data), v.mv_size);
        MDB_val kk = Val(key), vv = Val(value);
        int prc = mdb_put(txn, to, &kk, &vv, MDB_APPEND);
        if (prc) {
          mdb_cursor_close(cur);
          return MdbStatus("repack put", prc);
        }
      }
      mdb_cursor_close(cur);
      return rc == MDB_NOTFOUND ? Status::OK() : MdbStatus("repack scan", rc);
    };
    PITSTORE_RETURN_IF_ERROR(copy(dbi, tmp));
    rc = mdb_drop(txn, dbi, 0);
    if (rc) return MdbStatus("drop latest", rc);
    PITSTORE_RETURN_IF_ERROR(copy(tmp, dbi));
    rc = mdb_drop(txn, tmp, 1);
    return rc ? MdbStatus("drop repack db", rc) : Status::OK();
  };
  PITSTORE_RETURN_IF_ERROR(repack(latest_, "latest_repack", 0, CompareIndexKeys));
  return repack(latest_int_, "latest_int_repack", MDB_INTEGERKEY, nullptr);
}

Status Index::DropAll(MDB_txn* txn) {
  if (!has_latest_int_) return Status::Corruption("index without latest_int: rebuild it");
  for (MDB_dbi dbi : {meta_, latest_, blocks_, latest_int_}) {
    int rc = mdb_drop(txn, dbi, 0);
    if (rc) return MdbStatus("drop", rc);
  }
  // Index format 5 kept each key's location per segment in `loc`; its pages are freed here.
  MDB_dbi legacy_loc;
  int rc = mdb_dbi_open(txn, "loc", 0, &legacy_loc);
  if (rc == MDB_NOTFOUND) return Status::OK();
  if (!rc) rc = mdb_drop(txn, legacy_loc, 1);
  return rc ? MdbStatus("drop loc", rc) : Status::OK();
}

// ---- latest values ----

static constexpr char kLatestVersion = 2;
static constexpr size_t kLatestHeaderBytes = 13;  // hash, version, segment count

static void SealLatest(std::string_view lkey, std::string* value) {
  XXH64_hash_t h = XXH3_64bits_withSeed(lkey.data(), lkey.size(), 0);
  h = XXH3_64bits_withSeed(value->data() + 8, value->size() - 8, h);
  std::memcpy(value->data(), &h, 8);
}

void EncodeLatestInto(std::string_view lkey, const Run& run, size_t row, uint32_t segments, std::string* out) {
  out->assign(8, '\0');
  out->push_back(kLatestVersion);
  PutFixed32(out, segments);
  PutVarint64(out, run.columns.size());
  PutSigned(out, run.event_ts[row]);
  PutSigned(out, run.system_ts[row]);
  PutVarint64(out, run.seq[row]);
  EncodeRowValues(run, row, out);
  SealLatest(lkey, out);
}

static Status CheckLatest(std::string_view lkey, std::string_view value) {
  if (value.size() < kLatestHeaderBytes) return Status::Corruption("latest value too short");
  XXH64_hash_t h = XXH3_64bits_withSeed(lkey.data(), lkey.size(), 0);
  h = XXH3_64bits_withSeed(value.data() + 8, value.size() - 8, h);
  if (h != LoadFixed64(value.data())) return Status::Corruption("latest value checksum mismatch");
  if (value[8] != kLatestVersion) return Status::Corruption("latest value has an unknown version");
  return Status::OK();
}

Result<uint32_t> LatestSegments(std::string_view lkey, std::string_view value) {
  PITSTORE_RETURN_IF_ERROR(CheckLatest(lkey, value));
  return LoadFixed32(value.data() + 9);
}

std::string WithLatestSegments(std::string_view lkey, std::string_view value, uint32_t segments) {
  std::string out;
  WithLatestSegmentsInto(lkey, value, segments, &out);
  return out;
}

void WithLatestSegmentsInto(std::string_view lkey, std::string_view value, uint32_t segments, std::string* out) {
  out->assign(value);
  std::string count;
  PutFixed32(&count, segments);
  out->replace(9, 4, count);
  SealLatest(lkey, out);
}

Status DecodeLatestValues(std::string_view lkey, std::string_view value, const ColumnTypes& types, bool verify,
                          const std::vector<int>& proj, Version* version, std::vector<Value>* values) {
  if (verify) PITSTORE_RETURN_IF_ERROR(CheckLatest(lkey, value));
  if (value.size() < kLatestHeaderBytes) return Status::Corruption("latest value too short");
  ByteReader in(value.data() + kLatestHeaderBytes, value.size() - kLatestHeaderBytes);
  uint64_t nfeat = in.Varint();
  version->event_ts = in.Signed();
  version->system_ts = in.Signed();
  version->seq = in.Varint();
  if (!in.ok() || nfeat > types.types.size()) return Status::Corruption("latest value header is malformed");
  std::string_view bitmap = in.Take((nfeat + 7) / 8);
  values->resize(proj.size());
  // Values are variable-length, so every present one is read; only projected ones are kept.
  bool identity = proj.size() == types.types.size();
  for (size_t i = 0; identity && i < proj.size(); ++i) identity = proj[i] == static_cast<int>(i);
  if (identity) {  // each value is written below: null where the bitmap says so
    for (size_t c = nfeat; c < values->size(); ++c) ValueAccess::SetNull(&(*values)[c]);
  } else {
    for (Value& v : *values) ValueAccess::SetNull(&v);
  }
  Value scratch;
  for (size_t c = 0; c < nfeat && in.ok(); ++c) {
    if (!((static_cast<uint8_t>(bitmap[c / 8]) >> (c % 8)) & 1)) {
      if (identity) ValueAccess::SetNull(&(*values)[c]);
      continue;
    }
    Value* dst = identity ? &(*values)[c] : &scratch;
    // The common numeric types here, without a call per value; the rest by ReadValue.
    if (types.types[c] == FeatureType::kFloat64) {
      const uint64_t bits = in.U64();
      double d;
      std::memcpy(&d, &bits, 8);
      ValueAccess::SetScalar(dst, FeatureType::kFloat64, 0, d);
    } else if (types.types[c] == FeatureType::kInt64) {
      ValueAccess::SetScalar(dst, FeatureType::kInt64, in.Signed(), 0);
    } else if (!ReadValue(&in, types.types[c], types.dims[c], dst)) {
      return Status::Corruption("latest value is malformed");
    }
    if (!identity)
      for (size_t i = 0; i < proj.size(); ++i)
        if (proj[i] == static_cast<int>(c)) (*values)[i] = scratch;
  }
  if (!in.ok() || in.remaining() != 0) return Status::Corruption("latest value is malformed");
  return Status::OK();
}

Result<Version> DecodeLatestVersion(std::string_view lkey, std::string_view value, uint32_t* segments) {
  PITSTORE_RETURN_IF_ERROR(CheckLatest(lkey, value));
  if (segments) *segments = LoadFixed32(value.data() + 9);
  ByteReader in(value.data() + kLatestHeaderBytes, value.size() - kLatestHeaderBytes);
  in.Varint();
  Version v;
  v.event_ts = in.Signed();
  v.system_ts = in.Signed();
  v.seq = in.Varint();
  if (!in.ok()) return Status::Corruption("latest value header is malformed");
  return v;
}

}  // namespace pitstore
