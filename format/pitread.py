#!/usr/bin/env python3
"""pitread: an independent reader of pitstore's data file (NAME.pit), written from FORMAT.md.

Python 3.11 and its standard library only (zstd-compressed blocks and segment chunks need the
`zstandard` module; without it they are skipped, and said so). It shares no code with the C++
engine: it is the proof that format/FORMAT.md is enough to read a store.

  pitread.py STORE.pit [--view V ...] [--format csv]   every stored row of the view(s), byte for byte
                                                       as `pitstore dump STORE V --format csv` prints it
  pitread.py STORE.pit --summary                       the block map, for people
  pitread.py STORE.pit --list-views                    view names, one a line (registry order)
  pitread.py --self-test                               XXH3 test vectors and number spellings (and a
                                                       cross-check with libxxhash through ctypes where it
                                                       is installed: the reader itself never uses it)

With several views (none named, or --view given more than once) each view's CSV is preceded by
a line `# view NAME`; with one view the output is exactly the dump's.

Exit status: 0 ok; 1 damage or malformed structure (the message names the file offset);
2 usage; 4 incomplete: zstd-compressed data was skipped (no `zstandard` module).
"""

import argparse
import math
import mmap
import os
import struct
import sys

try:  # optional: only zstd-compressed payloads need it
    import zstandard
except ImportError:  # pragma: no cover - depends on the machine
    zstandard = None

EXIT_OK, EXIT_DAMAGE, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 4


class FormatError(Exception):
    """Damage or a malformed structure; the message names the offset."""


class Skipped(Exception):
    """A zstd payload that cannot be decoded here (no zstandard module)."""


class NoRegistry(Exception):
    """The current registry is zstd-compressed and cannot be decoded here: no view is known."""


# ============================================================================================
# XXH3-64 with seed (xxHash 0.8), pure Python.
# ============================================================================================

M64 = (1 << 64) - 1
P32_1, P32_2, P32_3 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D
P64_1, P64_2, P64_3, P64_4, P64_5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                                     0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
PRIME_MX1, PRIME_MX2 = 0x165667919E3779F9, 0x9FB21C651E98DF25
K_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e")
assert len(K_SECRET) == 192

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_8U64 = struct.Struct("<8Q")


def _r64(b, i):
    return _U64.unpack_from(b, i)[0]


def _r32(b, i):
    return _U32.unpack_from(b, i)[0]


def _xxh64_avalanche(h):
    h ^= h >> 33
    h = (h * P64_2) & M64
    h ^= h >> 29
    h = (h * P64_3) & M64
    return h ^ (h >> 32)


def _xxh3_avalanche(h):
    h ^= h >> 37
    h = (h * PRIME_MX1) & M64
    return h ^ (h >> 32)


def _rotl64(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _rrmxmx(h, length):
    h ^= _rotl64(h, 49) ^ _rotl64(h, 24)
    h = (h * PRIME_MX2) & M64
    h ^= (h >> 35) + length
    h = (h * PRIME_MX2) & M64
    return h ^ (h >> 28)


def _mul128_fold64(a, b):
    p = a * b
    return (p ^ (p >> 64)) & M64


def _swap32(x):
    return int.from_bytes(x.to_bytes(4, "little"), "big")


def _swap64(x):
    return int.from_bytes(x.to_bytes(8, "little"), "big")


def _mix16(data, i, secret, s, seed):
    lo = _r64(data, i)
    hi = _r64(data, i + 8)
    return _mul128_fold64(lo ^ ((_r64(secret, s) + seed) & M64), hi ^ ((_r64(secret, s + 8) - seed) & M64))


def _hash_long(data, secret):
    n = len(data)
    acc = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1]
    stripes_per_block = (len(secret) - 64) // 8
    block_len = 64 * stripes_per_block
    nb_blocks = (n - 1) // block_len
    keys = [[_r64(secret, 8 * s + 8 * i) for i in range(8)] for s in range(stripes_per_block)]
    last_keys = [_r64(secret, len(secret) - 64 - 7 + 8 * i) for i in range(8)]
    scramble = [_r64(secret, len(secret) - 64 + 8 * i) for i in range(8)]

    def accumulate(stripe_at, key):
        vals = _8U64.unpack_from(data, stripe_at)
        for i in range(8):
            v = vals[i]
            dk = v ^ key[i]
            acc[i ^ 1] = (acc[i ^ 1] + v) & M64
            acc[i] = (acc[i] + (dk & 0xFFFFFFFF) * (dk >> 32)) & M64

    for b in range(nb_blocks):
        base = b * block_len
        for s in range(stripes_per_block):
            accumulate(base + 64 * s, keys[s])
        for i in range(8):
            a = acc[i]
            a ^= a >> 47
            a ^= scramble[i]
            acc[i] = (a * P32_1) & M64
    base = nb_blocks * block_len
    for s in range(((n - 1) - base) // 64):
        accumulate(base + 64 * s, keys[s])
    accumulate(n - 64, last_keys)
    result = (n * P64_1) & M64
    for i in range(4):
        result += _mul128_fold64(acc[2 * i] ^ _r64(secret, 11 + 16 * i), acc[2 * i + 1] ^ _r64(secret, 11 + 16 * i + 8))
    return _xxh3_avalanche(result & M64)


def xxh3_64(data, seed=0):
    """XXH3_64bits_withSeed(data, len(data), seed) of xxHash 0.8."""
    data = bytes(data)
    seed &= M64
    n = len(data)
    sec = K_SECRET
    if n <= 16:
        if n > 8:
            bf1 = ((_r64(sec, 24) ^ _r64(sec, 32)) + seed) & M64
            bf2 = ((_r64(sec, 40) ^ _r64(sec, 48)) - seed) & M64
            lo = _r64(data, 0) ^ bf1
            hi = _r64(data, n - 8) ^ bf2
            acc = (n + _swap64(lo) + hi + _mul128_fold64(lo, hi)) & M64
            return _xxh3_avalanche(acc)
        if n >= 4:
            s = seed ^ ((_swap32(seed & 0xFFFFFFFF) << 32) & M64)
            in1 = _r32(data, 0)
            in2 = _r32(data, n - 4)
            bitflip = ((_r64(sec, 8) ^ _r64(sec, 16)) - s) & M64
            return _rrmxmx(((in2 + (in1 << 32)) & M64) ^ bitflip, n)
        if n:
            c1, c2, c3 = data[0], data[n >> 1], data[n - 1]
            combined = (c1 << 16) | (c2 << 24) | c3 | (n << 8)
            bitflip = ((_r32(sec, 0) ^ _r32(sec, 4)) + seed) & M64
            return _xxh64_avalanche(combined ^ bitflip)
        return _xxh64_avalanche(seed ^ _r64(sec, 56) ^ _r64(sec, 64))
    if n <= 128:
        acc = (n * P64_1) & M64
        if n > 32:
            if n > 64:
                if n > 96:
                    acc += _mix16(data, 48, sec, 96, seed) + _mix16(data, n - 64, sec, 112, seed)
                acc += _mix16(data, 32, sec, 64, seed) + _mix16(data, n - 48, sec, 80, seed)
            acc += _mix16(data, 16, sec, 32, seed) + _mix16(data, n - 32, sec, 48, seed)
        acc += _mix16(data, 0, sec, 0, seed) + _mix16(data, n - 16, sec, 16, seed)
        return _xxh3_avalanche(acc & M64)
    if n <= 240:
        acc = (n * P64_1) & M64
        for i in range(8):
            acc += _mix16(data, 16 * i, sec, 16 * i, seed)
        acc = _xxh3_avalanche(acc & M64)
        for i in range(8, n // 16):
            acc += _mix16(data, 16 * i, sec, 16 * (i - 8) + 3, seed)
        acc += _mix16(data, n - 16, sec, 136 - 17, seed)
        return _xxh3_avalanche(acc & M64)
    if seed:
        custom = bytearray(192)
        for i in range(12):
            _U64.pack_into(custom, 16 * i, (_r64(K_SECRET, 16 * i) + seed) & M64)
            _U64.pack_into(custom, 16 * i + 8, (_r64(K_SECRET, 16 * i + 8) - seed) & M64)
        sec = bytes(custom)
    return _hash_long(data, sec)


# ============================================================================================
# Numbers and timestamps spelled as the pitstore tool spells them.
# ============================================================================================

_POW10 = {}


def _pow10(k):
    p = _POW10.get(k)
    if p is None:
        p = _POW10[k] = 10 ** k
    return p


def _shortest_digits(m, e2, lower_closer):
    """The shortest decimal d * 10**q inside x's rounding interval (x = m * 2**e2 > 0); among
    several of that length the nearest to x, ties to an even d: what Ryu (std::to_chars) gives.
    The interval's ends belong to it when m is even (they read back as x by round-half-even)."""
    # All in units of 2**s: x = X, upper end H, lower end L.
    s = e2 - 2
    X = 4 * m
    H = X + 2
    L = X - (1 if lower_closer else 2)
    inclusive = m % 2 == 0

    def cmp(d, q, Y):  # sign of d * 10**q - Y * 2**s
        a, b = d, Y
        if q >= 0:
            a *= _pow10(q)
        else:
            b *= _pow10(-q)
        if s >= 0:
            b <<= s
        else:
            a <<= -s
        return (a > b) - (a < b)

    # E: 10**E <= x < 10**(E+1)
    E = math.floor((e2 + m.bit_length() - 1) * 0.30102999566398120)
    while cmp(1, E, X) > 0:
        E -= 1
    while cmp(1, E + 1, X) <= 0:
        E += 1

    def inside(d, q):
        lo = cmp(d, q, L)
        hi = cmp(d, q, H)
        return (lo > 0 or (lo == 0 and inclusive)) and (hi < 0 or (hi == 0 and inclusive))

    for p in range(1, 40):
        q = E - p + 1
        num, den = X, 1  # x / 10**q = num / den
        if s >= 0:
            num <<= s
        else:
            den <<= -s
        if q >= 0:
            den *= _pow10(q)
        else:
            num *= _pow10(-q)
        d0, rem = divmod(num, den)
        cands = [d0] if rem == 0 else [d0, d0 + 1]
        ok = [d for d in cands if d > 0 and inside(d, q)]
        if not ok:
            continue
        if len(ok) == 2:
            twice = 2 * rem
            if twice < den:
                d = d0
            elif twice > den:
                d = d0 + 1
            else:
                d = d0 if d0 % 2 == 0 else d0 + 1
        else:
            d = ok[0]
        while d % 10 == 0:
            d //= 10
            q += 1
        return str(d), q
    raise AssertionError("no shortest representation")  # unreachable


def _to_chars(bits, mbits, ebits):
    """std::to_chars(value) (shortest round trip, fixed or scientific, whichever is shorter,
    fixed on a tie), as libstdc++ writes it, for an IEEE value given by its bits."""
    sign = bits >> (mbits + ebits)
    emask = (1 << ebits) - 1
    f = bits & ((1 << mbits) - 1)
    e = (bits >> mbits) & emask
    neg = "-" if sign else ""
    if e == emask:
        return neg + ("nan" if f else "inf")
    if e == 0 and f == 0:
        return neg + "0"
    bias = (1 << (ebits - 1)) - 1
    if e == 0:
        m, e2 = f, 1 - bias - mbits
    else:
        m, e2 = f | (1 << mbits), e - bias - mbits
    digits, q = _shortest_digits(m, e2, f == 0 and e > 1)
    olen = len(digits)
    sci_exp = q + olen - 1
    sci = digits[0] + ("." + digits[1:] if olen > 1 else "") + "e" + ("-" if sci_exp < 0 else "+") + "%02d" % abs(sci_exp)
    if q >= 0:
        fixed_len = olen + q
    elif -q < olen:
        fixed_len = olen + 1
    else:
        fixed_len = 2 - q
    if fixed_len > len(sci):
        return neg + sci
    if q >= 0:
        # An integer, printed "as if by printf": its exact value, which can have more
        # significant digits than the shortest form (123456789012345678000 -> ...667584).
        exact = m << e2 if e2 >= 0 else m >> -e2
        return neg + str(exact)
    if -q < olen:
        return neg + digits[:olen + q] + "." + digits[olen + q:]
    return neg + "0." + "0" * (-q - olen) + digits


def format_float64(bits):
    return _to_chars(bits, 52, 11)


def format_float32(bits):
    return _to_chars(bits, 23, 8)


def _civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    mo = mp + 3 if mp < 10 else mp - 9
    return y + (mo <= 2), mo, d


INT64_MAX, INT64_MIN = (1 << 63) - 1, -(1 << 63)


def format_timestamp(t):
    """RFC 3339 in UTC, microseconds only when not zero; outside the years 0001 to 9999 (which
    RFC 3339 cannot write) the integer of microseconds, as `pitstore dump` prints it."""
    if t == INT64_MAX:
        return "+inf"
    if t == INT64_MIN:
        return "-inf"
    if t < -62135596800000000 or t >= 253402300800000000:
        return str(t)
    secs, micros = divmod(t, 1000000)
    days, sod = divmod(secs, 86400)
    y, mo, d = _civil_from_days(days)
    out = "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, d, sod // 3600, sod % 3600 // 60, sod % 60)
    if micros:
        out += ".%06d" % micros
    return out + "Z"


# ============================================================================================
# Byte-level reading.
# ============================================================================================

class Reader:
    """Sequential reader over a bytes object; every failure raises FormatError(where)."""

    __slots__ = ("b", "i", "end", "where")

    def __init__(self, b, where, start=0, end=None):
        self.b = b
        self.i = start
        self.end = len(b) if end is None else end
        self.where = where

    def fail(self, what):
        raise FormatError("%s: %s" % (self.where, what))

    def remaining(self):
        return self.end - self.i

    def take(self, n):
        if n < 0 or self.end - self.i < n:
            self.fail("truncated (wanted %d bytes, %d left)" % (n, self.end - self.i))
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u8(self):
        if self.i >= self.end:
            self.fail("truncated")
        v = self.b[self.i]
        self.i += 1
        return v

    def u32(self):
        return _U32.unpack(self.take(4))[0]

    def u64(self):
        return _U64.unpack(self.take(8))[0]

    def varint(self):
        result = 0
        for shift in range(0, 64, 7):
            if self.i >= self.end:
                self.fail("truncated varint")
            byte = self.b[self.i]
            self.i += 1
            if shift == 63 and byte > 1:
                self.fail("varint above 64 bits")
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result & M64
        self.fail("varint longer than 10 bytes")

    def svarint(self):
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def bytes_(self):
        n = self.varint()
        return self.take(n)


def signed64(u):
    u &= M64
    return u - (1 << 64) if u >> 63 else u


def decompress(stored, raw_len, where):
    if zstandard is None:
        raise Skipped(where)
    # One zstd frame that records its content size, which must be raw_len.
    try:
        params = zstandard.get_frame_parameters(stored)
    except zstandard.ZstdError as e:
        raise FormatError("%s: not a zstd frame (%s)" % (where, e))
    if params.content_size != raw_len:
        raise FormatError("%s: zstd frame size %s does not match the recorded length %d"
                          % (where, params.content_size, raw_len))
    try:
        raw = zstandard.ZstdDecompressor().decompress(stored, max_output_size=raw_len)
    except zstandard.ZstdError as e:
        raise FormatError("%s: zstd: %s" % (where, e))
    if len(raw) != raw_len:
        raise FormatError("%s: zstd: short output" % where)
    return raw


# ============================================================================================
# Flatbuffers, decoded by hand (only the tables of pitstore.fbs this reader needs).
# ============================================================================================

class FlatBuffer:
    def __init__(self, buf, where):
        self.b = buf
        self.where = where

    def fail(self, what):
        raise FormatError("%s: flatbuffers: %s" % (self.where, what))

    def _get(self, st, pos):
        if pos < 0 or pos + st.size > len(self.b):
            self.fail("read out of bounds at %d" % pos)
        return st.unpack_from(self.b, pos)[0]

    def u32(self, pos):
        return self._get(_U32, pos)

    def root(self):
        return self.table(self.u32(0))

    def table(self, pos):
        vt = pos - self._get(_I32, pos)
        vsize = self._get(_U16, vt)
        tsize = self._get(_U16, vt + 2)
        if vsize < 4 or vsize % 2 or pos + tsize > len(self.b) or tsize < 4:
            self.fail("bad vtable at %d" % vt)
        return FbTable(self, pos, vt, vsize, tsize)


_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")
_SCALARS = {"u8": struct.Struct("<B"), "u32": _U32, "i32": _I32, "u64": _U64, "i64": struct.Struct("<q")}


class FbTable:
    def __init__(self, fb, pos, vt, vsize, tsize):
        self.fb, self.pos, self.vt, self.vsize, self.tsize = fb, pos, vt, vsize, tsize

    def _field(self, index):
        o = 4 + 2 * index
        if o + 2 > self.vsize:
            return 0
        off = self.fb._get(_U16, self.vt + o)
        if off and off >= self.tsize:
            self.fb.fail("field %d outside its table" % index)
        return off

    def scalar(self, index, kind, default=0):
        off = self._field(index)
        return self.fb._get(_SCALARS[kind], self.pos + off) if off else default

    def _ref(self, index):
        off = self._field(index)
        if not off:
            return None
        at = self.pos + off
        return at + self.fb.u32(at)

    def string(self, index):
        at = self._ref(index)
        if at is None:
            return b""
        n = self.fb.u32(at)
        if at + 4 + n + 1 > len(self.fb.b):
            self.fb.fail("string out of bounds at %d" % at)
        return bytes(self.fb.b[at + 4:at + 4 + n])

    def _vector(self, index, elem):
        at = self._ref(index)
        if at is None:
            return None, 0
        n = self.fb.u32(at)
        if at + 4 + n * elem > len(self.fb.b):
            self.fb.fail("vector out of bounds at %d" % at)
        return at + 4, n

    def bytes_vector(self, index):
        at, n = self._vector(index, 1)
        return b"" if at is None else bytes(self.fb.b[at:at + n])

    def tables(self, index):
        at, n = self._vector(index, 4)
        return [] if at is None else [self.fb.table(at + 4 * k + self.fb.u32(at + 4 * k)) for k in range(n)]

    def strings(self, index):
        at, n = self._vector(index, 4)
        out = []
        for k in range(n if at is not None else 0):
            s = at + 4 * k + self.fb.u32(at + 4 * k)
            ln = self.fb.u32(s)
            if s + 4 + ln > len(self.fb.b):
                self.fb.fail("string out of bounds at %d" % s)
            out.append(bytes(self.fb.b[s + 4:s + 4 + ln]))
        return out


# Feature types (FORMAT.md 1.5): never renumbered.
BOOL, INT32, INT64, FLOAT32, FLOAT64, STRING, BYTES, TIMESTAMP, VECTOR = range(1, 10)
TYPE_NAMES = {BOOL: "bool", INT32: "int32", INT64: "int64", FLOAT32: "float32", FLOAT64: "float64",
              STRING: "string", BYTES: "bytes", TIMESTAMP: "timestamp", VECTOR: "float32_vector"}
KEY_INT64, KEY_STRING = 1, 2


class View:
    def __init__(self, vid, name, entities, features, ttl_us, event_ts_column=b"", created_ts_column=b""):
        self.id, self.name, self.entities, self.features, self.ttl_us = vid, name, entities, features, ttl_us
        self.key_columns = []  # (name, key type)
        # The names a dump gives the time columns: the view's, else event_ts and system_ts.
        self.event_column = event_ts_column or b"event_ts"
        self.system_column = created_ts_column or b"system_ts"


def decode_registry(raw, where):
    fb = FlatBuffer(raw, where)
    root = fb.root()
    entities = {}
    for e in root.tables(0):
        keys = [(k.string(0), k.scalar(1, "u8", KEY_INT64)) for k in e.tables(1)]
        for name, kt in keys:
            if kt not in (KEY_INT64, KEY_STRING):
                raise FormatError("%s: entity %r: unknown key type %d" % (where, e.string(0), kt))
        if not keys:
            raise FormatError("%s: entity %r has no join key" % (where, e.string(0)))
        entities[e.string(0)] = keys
    views = []
    for v in root.tables(1):
        feats = []
        for f in v.tables(3):
            t = f.scalar(1, "u8", INT64)
            dim = f.scalar(2, "u32", 0)
            if t not in TYPE_NAMES or (t == VECTOR) != (dim != 0) or dim > 65536:
                raise FormatError("%s: view %r: feature %r has type %d, dim %d" % (where, v.string(1), f.string(0), t, dim))
            feats.append((f.string(0), t, dim))
        view = View(v.scalar(0, "u32"), v.string(1), v.strings(2), feats, v.scalar(4, "i64"), v.string(8), v.string(9))
        for ename in view.entities:
            if ename not in entities:
                raise FormatError("%s: view %r uses unknown entity %r" % (where, view.name, ename))
            view.key_columns.extend(entities[ename])
        if not view.key_columns or not feats:
            raise FormatError("%s: view %r has no key or no feature" % (where, view.name))
        views.append(view)
    ids = [v.id for v in views]
    if len(set(ids)) != len(ids):
        raise FormatError("%s: two views share an id" % where)
    return {"entities": entities, "views": views, "next_view_id": root.scalar(2, "u32"),
            "services": len(root.tables(3))}


# ============================================================================================
# Values (FORMAT.md 1.8) and keys (1.6).
# ============================================================================================

def read_value(r, t, dim):
    """One present value, kept in a form that prints exactly: ints, raw float bits, bytes."""
    if t == BOOL:
        b = r.u8()
        if b > 1:
            r.fail("bool byte %d" % b)
        return b
    if t in (INT32, INT64, TIMESTAMP):
        v = r.svarint()
        if t == INT32 and not -(1 << 31) <= v < (1 << 31):
            r.fail("int32 out of range")
        return v
    if t == FLOAT32:
        return r.u32()
    if t == FLOAT64:
        return r.u64()
    if t in (STRING, BYTES):
        return r.bytes_()
    if t == VECTOR:
        return struct.unpack("<%dI" % dim, r.take(4 * dim))
    r.fail("unknown feature type %d" % t)


def decode_key(key, view, where):
    parts = []
    i, n = 0, len(key)
    while i < n:
        tag = key[i]
        i += 1
        if tag == 1:
            if n - i < 8:
                raise FormatError("%s: entity key: truncated int64 part" % where)
            parts.append(int.from_bytes(key[i:i + 8], "big") ^ (1 << 63))
            parts[-1] = signed64(parts[-1])
            i += 8
        elif tag == 2:
            s = bytearray()
            closed = False
            while i < n:
                c = key[i]
                i += 1
                if c:
                    s.append(c)
                    continue
                if i >= n:
                    break
                nxt = key[i]
                i += 1
                if nxt == 0:
                    closed = True
                    break
                if nxt != 0xFF:
                    raise FormatError("%s: entity key: bad escape in a string part" % where)
                s.append(0)
            if not closed:
                raise FormatError("%s: entity key: unterminated string part" % where)
            parts.append(bytes(s))
        else:
            raise FormatError("%s: entity key: unknown part tag %d" % (where, tag))
    kinds = [KEY_INT64 if isinstance(p, int) else KEY_STRING for p in parts]
    if kinds != [kt for _, kt in view.key_columns]:
        raise FormatError("%s: entity key does not match the join keys of view %r" % (where, view.name))
    return parts


# ============================================================================================
# ROWS and SEGMENT payloads (FORMAT.md 1.9, 1.10).
# ============================================================================================

class Rows:
    """Decoded rows of one block: parallel lists; values[c][i] is None for null."""

    def __init__(self, nfeat):
        self.keys, self.event_ts, self.system_ts, self.seq = [], [], [], []
        self.values = [[] for _ in range(nfeat)]


def check_sorted(rows, where):
    prev = None
    for i in range(len(rows.keys)):
        cur = (rows.keys[i], rows.event_ts[i], rows.system_ts[i], rows.seq[i])
        if prev is not None and not prev < cur:
            raise FormatError("%s: rows out of order at row %d" % (where, i))
        prev = cur


def decode_rows(payload, view, where):
    r = Reader(payload, where)
    r.u32()  # view id, checked by the caller
    count = r.u32()
    n = r.u32()
    feats = view.features
    if n > len(feats) or count > len(payload):
        r.fail("row batch header is malformed (%d rows, %d features; the view has %d)" % (count, n, len(feats)))
    out = Rows(len(feats))
    nbitmap = (n + 7) // 8
    for i in range(count):
        out.keys.append(bytes(r.bytes_()))
        out.event_ts.append(r.svarint())
        out.system_ts.append(r.svarint())
        out.seq.append(r.varint())
        bitmap = r.take(nbitmap)
        for c, (_, t, dim) in enumerate(feats):
            present = c < n and (bitmap[c >> 3] >> (c & 7)) & 1
            out.values[c].append(read_value(r, t, dim) if present else None)
    if r.remaining():
        r.fail("row batch has %d trailing bytes" % r.remaining())
    return out


KEY_RUNS, DELTA, PLAIN, DICTIONARY, DELTA_RESTARTS, KEY_INT64_RUNS, FRAMES = 1, 2, 3, 4, 5, 6, 7
DELTA_RESTART_ROWS = 64
FEATURE_DELTA_RESTARTS = 1  # header required bit: segment time chunks may be DELTA_RESTARTS
FEATURE_INT64_KEY_RUNS = 2  # header required bit: segment key chunks may be KEY_INT64_RUNS
FEATURE_TIME_FRAMES = 4  # header required bit: segment time chunks may be FRAMES
KNOWN_REQUIRED = FEATURE_DELTA_RESTARTS | FEATURE_INT64_KEY_RUNS | FEATURE_TIME_FRAMES
SEGMENT_MAGIC = 0x47455350  # "PSEG"
CHUNK_HEADER = 20


def segment_layout(payload, payload_off, where):
    """Checks the footer (checksum, flatbuffer, chunk list) and returns it."""
    if len(payload) < 4 + 16:
        raise FormatError("%s: segment too short" % where)
    tail = len(payload) - 16
    footer_len, footer_sum, magic = struct.unpack_from("<IQI", payload, tail)
    if magic != SEGMENT_MAGIC:
        raise FormatError("%s: segment has no footer magic" % where)
    if footer_len > len(payload) - 4 - 16:
        raise FormatError("%s: segment footer length out of range" % where)
    footer_at = tail - footer_len
    footer = bytes(payload[footer_at:tail])
    if xxh3_64(footer, payload_off + footer_at) != footer_sum:
        raise FormatError("%s: segment footer checksum mismatch (footer at offset %d)" % (where, payload_off + footer_at))
    fb = FlatBuffer(footer, "%s: segment footer" % where)
    f = fb.root()
    lay = {
        "view_id": f.scalar(0, "u32"), "rows": f.scalar(1, "u32"), "features": f.scalar(2, "u32"),
        "min_key": f.bytes_vector(3), "max_key": f.bytes_vector(4),
        "min_event_ts": f.scalar(5, "i64"), "max_event_ts": f.scalar(6, "i64"),
        "min_system_ts": f.scalar(7, "i64"), "max_system_ts": f.scalar(8, "i64"),
        "page_rows": f.scalar(10, "u32"), "footer_at": footer_at,
    }
    if _U32.unpack_from(payload, 0)[0] != lay["view_id"]:
        raise FormatError("%s: segment view id differs from its footer's" % where)
    if lay["page_rows"] == 0 or lay["features"] > 65536:
        raise FormatError("%s: segment footer: bad page size or feature count" % where)
    per_page = 4 + lay["features"]
    pages = (lay["rows"] + lay["page_rows"] - 1) // lay["page_rows"]
    refs = f.tables(9)
    if len(refs) != pages * per_page:
        raise FormatError("%s: segment chunk list is incomplete" % where)
    chunks = []
    expect = 4
    for i, ref in enumerate(refs):
        want = i % per_page - 4
        want = -1 - (want + 4) if want < 0 else want  # keys -1, event_ts -2, system_ts -3, seq -4
        col, off, length = ref.scalar(0, "i32"), ref.scalar(1, "u64"), ref.scalar(2, "u64")
        if col != want:
            raise FormatError("%s: segment chunk %d is of column %d, expected %d" % (where, i, col, want))
        if off != expect or length < CHUNK_HEADER or length > footer_at - expect:
            raise FormatError("%s: segment chunk %d out of bounds" % (where, i))
        chunks.append((off, length))
        expect += length
    if expect != footer_at:
        raise FormatError("%s: segment chunks do not fill the payload" % where)
    lay["pages"] = pages
    lay["chunks"] = chunks
    # Format 6 writers add each page's first and last key and a filter over the keys (1.10).
    lay["page_keys"] = [(pk.bytes_vector(0), pk.bytes_vector(1)) for pk in f.tables(12)]
    if lay["page_keys"] and len(lay["page_keys"]) != pages:
        raise FormatError("%s: segment page keys do not match its pages" % where)
    lay["key_filter"] = f.bytes_vector(13)
    if len(lay["key_filter"]) % 64:
        raise FormatError("%s: segment key filter has a bad size" % where)
    return lay


def key_filter_may_contain(key_filter, key):
    """FORMAT.md 1.10: False only if the key is certainly not among the filter's keys."""
    blocks = len(key_filter) // 64
    if blocks == 0:
        return True
    h = xxh3_64(key, 0)
    block = ((h >> 32) * blocks) >> 32
    m = (h * 0x9E3779B97F4A7C15) & M64
    for i in range(7):
        bit = (m >> (9 * i)) & 511
        if not (key_filter[block * 64 + bit // 8] >> (bit % 8)) & 1:
            return False
    return True


def chunk_bytes(payload, payload_off, off, length, where, skipped, decode=True):
    """Verifies one chunk's header and checksum; returns (encoding, raw bytes), raw None when
    not decoded (decode False, or zstd without the zstandard module: its offset goes to
    `skipped`)."""
    at = payload_off + off
    codec, encoding, _reserved, stored_len, raw_len, checksum = struct.unpack_from("<BBHIIQ", payload, off)
    if stored_len != length - CHUNK_HEADER or codec > 1 or (codec == 0 and stored_len != raw_len):
        raise FormatError("%s: segment chunk at offset %d: inconsistent header" % (where, at))
    stored = bytes(payload[off + CHUNK_HEADER:off + length])
    if xxh3_64(bytes(payload[off:off + 12]) + stored, at) != checksum:
        raise FormatError("%s: segment chunk checksum mismatch at offset %d" % (where, at))
    if not decode:
        return encoding, None
    if codec == 0:
        return encoding, stored
    try:
        return encoding, decompress(stored, raw_len, "segment chunk at offset %d" % at)
    except Skipped:
        skipped.append(at)
        return encoding, None


def _deltas(raw, n, where, restarts=False):
    """DELTA, or DELTA_RESTARTS (restarts True): the differences start over from 0 every
    DELTA_RESTART_ROWS rows, and a u32 byte offset of each such row after row 0 ends the chunk."""
    offsets = []
    if restarts and n > 0:
        k = (n - 1) // DELTA_RESTART_ROWS
        if len(raw) < 4 * k:
            raise FormatError("%s: delta chunk has the wrong length" % where)
        offsets = list(struct.unpack_from("<%dI" % k, raw, len(raw) - 4 * k))
        raw = raw[:len(raw) - 4 * k]
    r = Reader(raw, where)
    prev, out = 0, []
    for i in range(n):
        if restarts and i > 0 and i % DELTA_RESTART_ROWS == 0:
            if r.i != offsets[i // DELTA_RESTART_ROWS - 1]:
                r.fail("delta chunk restart offset does not match its rows")
            prev = 0
        prev = (prev + r.svarint()) & M64
        out.append(prev)
    if r.remaining():
        r.fail("delta chunk has the wrong length")
    return out


def _frames(raw, n, where):
    """FRAMES: groups of DELTA_RESTART_ROWS rows, each a u64 least value, a u8 width w and every
    row's difference from that value in w bits, least significant first; values as u64."""
    out, at = [], 0
    for first in range(0, n, DELTA_RESTART_ROWS):
        m = min(DELTA_RESTART_ROWS, n - first)
        if len(raw) - at < 9:
            raise FormatError("%s: time frame chunk is truncated" % where)
        least, w = struct.unpack_from("<QB", raw, at)
        if w > 64:
            raise FormatError("%s: time frame width out of range" % where)
        at += 9
        size = (m * w + 7) // 8
        if len(raw) - at < size:
            raise FormatError("%s: time frame chunk is truncated" % where)
        bits = int.from_bytes(raw[at:at + size], "little")
        out.extend((least + ((bits >> (j * w)) & ((1 << w) - 1))) & M64 for j in range(m))
        at += size
    if at != len(raw):
        raise FormatError("%s: time frame chunk has the wrong length" % where)
    return out


def _feature_chunk(raw, encoding, n, t, dim, where):
    r = Reader(raw, where)
    flag = r.u8()
    if flag > 1:
        r.fail("bad null flag %d" % flag)
    if flag:
        bitmap = r.take((n + 7) // 8)
        present = [(bitmap[i >> 3] >> (i & 7)) & 1 for i in range(n)]
    else:
        present = [1] * n
    out = []
    if encoding == DICTIONARY:
        if t not in (STRING, BYTES):
            r.fail("dictionary encoding on a %s column" % TYPE_NAMES[t])
        count = r.varint()
        if count > len(raw):
            r.fail("bad dictionary size")
        entries = [r.bytes_() for _ in range(count)]
        for i in range(n):
            if not present[i]:
                out.append(None)
                continue
            idx = r.varint()
            if idx >= count:
                r.fail("dictionary index out of range")
            out.append(entries[idx])
    elif encoding == PLAIN:
        ints = t in (INT32, INT64, TIMESTAMP)
        prev = 0
        for i in range(n):
            if not present[i]:
                out.append(None)
            elif ints:
                prev = (prev + r.svarint()) & M64
                v = signed64(prev)
                if t == INT32 and not -(1 << 31) <= v < (1 << 31):
                    r.fail("int32 value out of range")
                out.append(v)
            else:
                out.append(read_value(r, t, dim))
    else:
        r.fail("unknown chunk encoding %d" % encoding)
    if r.remaining():
        r.fail("feature chunk has the wrong length")
    return out


def decode_segment(payload, payload_off, view, lay, where, skipped):
    """The segment's rows; Skipped (after adding the zstd chunks' offsets to `skipped`, a set)
    when some chunk is zstd and the zstandard module is missing."""
    feats = view.features
    if lay["features"] > len(feats):
        raise FormatError("%s: segment has more features than its view" % where)
    out = Rows(len(feats))
    per_page = 4 + lay["features"]
    missed = []
    for p in range(lay["pages"]):
        n = min(lay["page_rows"], lay["rows"] - p * lay["page_rows"])
        raws = []
        for k in range(per_page):
            off, length = lay["chunks"][p * per_page + k]
            raws.append(chunk_bytes(payload, payload_off, off, length, where, missed))
        if missed:
            continue  # checksums verified; nothing decodable without zstd
        cw = lambda k: "%s: chunk at offset %d" % (where, payload_off + lay["chunks"][p * per_page + k][0])
        enc, raw = raws[0]
        if enc not in (KEY_RUNS, KEY_INT64_RUNS):
            raise FormatError("%s: key chunk has encoding %d" % (cw(0), enc))
        r = Reader(raw, cw(0))
        runs = r.varint()
        if runs > n:
            r.fail("more key runs than rows")
        keys = []
        bits = r.u64() if enc == KEY_INT64_RUNS and runs else 0
        for i in range(runs):
            if enc == KEY_RUNS:
                key = bytes(r.bytes_())
                ln = r.varint()
            else:  # a difference from the run before above two bits of the length
                word = r.varint()
                ln = (word & 3) + 1
                if ln == 4:
                    ln = r.varint() + 4
                if ((word >> 2) == 0) != (i == 0) or bits + (word >> 2) > M64:
                    r.fail("key runs are out of order")
                bits += word >> 2
                key = b"\x01" + bits.to_bytes(8, "big")
            if ln == 0 or ln > n - len(keys):
                r.fail("key run length out of range")
            keys.extend([key] * ln)
        if r.remaining() or len(keys) != n:
            r.fail("key chunk is malformed")
        if lay["page_keys"] and (keys[0], keys[-1]) != lay["page_keys"][p]:
            raise FormatError("%s: page %d: its first and last keys differ from the footer's page keys" % (where, p))
        for i, key in enumerate(keys):
            if (i == 0 or key != keys[i - 1]) and not key_filter_may_contain(lay["key_filter"], key):
                raise FormatError("%s: page %d: a key is missing from the segment's key filter" % (where, p))
        cols = []
        frames = raws[1][0] == FRAMES  # a page's three time chunks are all FRAMES or none
        for k in (1, 2, 3):
            enc, raw = raws[k]
            if enc not in ((FRAMES,) if frames else (DELTA, DELTA_RESTARTS)):
                raise FormatError("%s: time chunk has encoding %d" % (cw(k), enc))
            cols.append(_frames(raw, n, cw(k)) if frames else _deltas(raw, n, cw(k), enc == DELTA_RESTARTS))
        out.keys.extend(keys)
        out.event_ts.extend(signed64(v) for v in cols[0])
        out.system_ts.extend(signed64(v) for v in cols[1])
        out.seq.extend(cols[2])
        for c, (_, t, dim) in enumerate(feats):
            if c >= lay["features"]:
                out.values[c].extend([None] * n)
            else:
                enc, raw = raws[4 + c]
                out.values[c].extend(_feature_chunk(raw, enc, n, t, dim, cw(4 + c)))
    if missed:
        skipped.update(missed)
        raise Skipped(where)
    # Readers skip segments by the footer's bounds (1.10): they must be the rows' own.
    if out.keys and (out.keys[0] != lay["min_key"] or out.keys[-1] != lay["max_key"]
                     or (min(out.event_ts), max(out.event_ts), min(out.system_ts), max(out.system_ts))
                     != (lay["min_event_ts"], lay["max_event_ts"], lay["min_system_ts"], lay["max_system_ts"])):
        raise FormatError("%s: the footer's key and time bounds differ from the segment's rows" % where)
    return out


# ============================================================================================
# The file: blocks (1.1), transactions (1.2), header (1.3), commits (1.4).
# ============================================================================================

BLOCK_MAGIC = 0x4B4C4250  # "PBLK"
HEADER, REGISTRY, ROWS, SEGMENT, COMMIT = range(1, 6)
KIND = {HEADER: "HEADER", REGISTRY: "REGISTRY", ROWS: "ROWS", SEGMENT: "SEGMENT", COMMIT: "COMMIT"}
MAX_LEN = 0x7FFFFFFF


class Block:
    __slots__ = ("offset", "type", "codec", "stored_len", "raw_len", "checksum", "ok", "end", "info", "view_id")

    def __init__(self, offset, type_, codec, stored_len, raw_len, checksum):
        self.offset, self.type, self.codec = offset, type_, codec
        self.stored_len, self.raw_len, self.checksum = stored_len, raw_len, checksum
        self.end = offset + 24 + stored_len
        self.ok = None
        self.info = ""
        self.view_id = None  # data blocks: from the payload's first 4 bytes (None: zstd, not decoded)


class Store:
    def __init__(self, path, keep_going=False):
        self.path = path
        self.keep_going = keep_going  # --summary: note every bad checksum instead of stopping
        self.bad = []                 # messages of bad blocks, when keep_going
        self.blocks = []              # every block read, in file order
        self.commits = []             # decoded commit records, in order
        self.registry = None          # the newest committed registry, decoded (None: not decodable here)
        self.registry_offset = None
        self.header = None
        self.live = {}                # offset -> Block: committed ROWS and SEGMENT blocks no commit made obsolete
        self.skipped = set()          # offsets of zstd payloads (blocks, chunks) not decoded: no zstandard
        self.tail = None              # offset of blocks after the last commit, if any
        self.layouts = {}             # segment offset -> footer
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    def fail(self, offset, what):
        raise FormatError("%s: %s at offset %d" % (self.path, what, offset))

    def payload(self, b):
        return self.data[b.offset + 24:b.end]

    def raw_payload(self, b):
        """The payload after decompression; Skipped when it is zstd and zstandard is missing."""
        stored = self.payload(b)
        if b.codec == 0:
            return stored
        return decompress(stored, b.raw_len, "%s: block at offset %d" % (self.path, b.offset))

    def read_block(self, pos):
        """Parses and checks the framing of the block at pos and verifies its checksum."""
        size = len(self.data)
        if pos + 24 > size:
            self.fail(pos, "block header past the end of the file")
        magic, type_, codec, _reserved, stored_len, raw_len, checksum = struct.unpack_from("<IBBHIIQ", self.data, pos)
        if magic != BLOCK_MAGIC:
            self.fail(pos, "bad block magic")
        if type_ not in KIND:
            self.fail(pos, "unknown block type %d" % type_)
        if codec > 1:
            self.fail(pos, "unknown codec %d" % codec)
        if stored_len > MAX_LEN or raw_len > MAX_LEN:
            self.fail(pos, "block length out of range")
        if codec == 0 and stored_len != raw_len:
            self.fail(pos, "uncompressed block with mismatched lengths")
        b = Block(pos, type_, codec, stored_len, raw_len, checksum)
        if b.end > size:
            self.fail(pos, "block runs past the end of the file")
        b.ok = xxh3_64(bytes(self.data[pos:pos + 16]) + bytes(self.data[pos + 24:b.end]), pos) == checksum
        if not b.ok:
            msg = "%s: block checksum mismatch at offset %d" % (self.path, pos)
            if not self.keep_going:
                raise FormatError(msg)
            self.bad.append(msg)
        return b

    def scan(self):
        """Reads and checks every block, transaction and commit; keeps the live data blocks."""
        size = len(self.data)
        if size == 0:
            raise FormatError("%s: empty file" % self.path)
        pos = 0
        txn = []            # blocks of the open transaction
        txn_start = 0
        prev = None         # the previous commit
        while pos < size:
            try:
                b = self.read_block(pos)
            except FormatError as e:
                if prev is not None and not self._commit_after(pos):
                    raise FormatError("%s (no intact commit follows: the transaction from offset %d is a torn "
                                      "write, which a read-write open truncates)" % (e, txn_start))
                raise
            self.blocks.append(b)
            pos = b.end
            if b.ok is False:  # --summary goes on; nothing in this block is used
                continue
            if b.type == HEADER:
                if b.offset != 0:
                    self.fail(b.offset, "header block not at the start of the file")
                self._header(b)
            elif b.offset == 0:
                self.fail(b.offset, "first block is not a header")
            if b.type != COMMIT:
                txn.append(b)
                continue
            c = self._commit(b, txn_start, prev)
            if prev is None and [x.type for x in txn] != [HEADER, REGISTRY]:
                self.fail(b.offset, "the first transaction is not HEADER, REGISTRY, COMMIT")
            for off in c["obsolete"]:
                if off not in self.live:
                    self.fail(b.offset, "commit supersedes block %d, which is not a live data block" % off)
                del self.live[off]
            for x in txn:
                if x.type == REGISTRY:
                    self._registry(x)
                elif x.type in (ROWS, SEGMENT):
                    self._data_block(x)
                    self.live[x.offset] = x
            self.commits.append(c)
            prev = c
            txn = []
            txn_start = b.end
        if txn:
            self.tail = txn_start
            for x in txn:
                x.info = "no commit record: a torn write, ignored"
        if prev is None:
            raise FormatError("%s: no complete transaction in the file" % self.path)
        if self.registry is None and self.registry_offset is not None:
            self.skipped.add(self.registry_offset)

    def _commit_after(self, pos):
        """True when an intact COMMIT block starts anywhere after pos (then a bad block is
        damage, not a torn write)."""
        needle = struct.pack("<I", BLOCK_MAGIC)
        i = pos + 1
        saved = self.keep_going
        self.keep_going = False
        try:
            while True:
                i = self.data.find(needle, i)
                if i < 0 or i + 24 > len(self.data):
                    return False
                if self.data[i + 4] == COMMIT:
                    try:
                        self.read_block(i)
                        return True
                    except FormatError:
                        pass
                i += 1
        finally:
            self.keep_going = saved

    def _header(self, b):
        if b.codec != 0 or b.stored_len != 52:
            self.fail(b.offset, "header block must be 52 bytes, codec 0")
        p = self.payload(b)
        if p[:8] != b"PITSTORE":
            self.fail(b.offset, "not a pitstore file (bad header)")
        version, required, optional = struct.unpack_from("<IQQ", p, 8)
        file_id = bytes(p[28:44])
        created = signed64(_r64(p, 44))
        if version != 1:
            self.fail(b.offset, "file format version %d (this reader reads 1)" % version)
        if required & ~KNOWN_REQUIRED:
            self.fail(b.offset, "file needs format features this reader does not know (bits %#x)" % required)
        self.header = {"version": version, "required": required, "optional": optional,
                       "file_id": file_id.hex(), "created": created}
        b.info = "format %d, file id %s, created %s" % (version, file_id.hex(), format_timestamp(created))

    def _commit(self, b, txn_start, prev):
        if b.codec != 0:
            self.fail(b.offset, "commit block must be codec 0")
        p = self.payload(b)
        if len(p) < 32:
            self.fail(b.offset, "commit record is malformed (%d bytes)" % len(p))
        seq, ts, start, flags, n = struct.unpack_from("<QqQII", p, 0)
        if len(p) != 32 + 8 * n:
            self.fail(b.offset, "commit record is malformed (%d bytes for %d obsolete offsets)" % (len(p), n))
        if start != txn_start:
            self.fail(b.offset, "commit record names txn_start %d, its transaction starts at %d" % (start, txn_start))
        if prev is None and seq < 1:
            self.fail(b.offset, "commit sequence number 0")
        if prev is not None and seq != prev["seq"] + 1:
            self.fail(b.offset, "commit sequence number %d does not follow %d" % (seq, prev["seq"]))
        if prev is not None and ts <= prev["ts"]:
            self.fail(b.offset, "commit time does not increase")
        obsolete = list(struct.unpack_from("<%dQ" % n, p, 32))
        b.info = "seq %d, time %s, txn_start %d, flags %d%s, obsolete [%s]" % (
            seq, format_timestamp(ts), start, flags, " (REWRITE)" if flags & 1 else "", ", ".join(map(str, obsolete)))
        return {"offset": b.offset, "seq": seq, "ts": ts, "txn_start": start, "flags": flags, "obsolete": obsolete}

    def _registry(self, b):
        self.registry_offset = b.offset
        try:
            raw = self.raw_payload(b)
        except Skipped:
            b.info = "zstd: not decoded (no zstandard module)"
            self.registry = None
            return
        self.registry = decode_registry(bytes(raw), "%s: registry at offset %d" % (self.path, b.offset))
        b.info = "%d entities, %d views (%s), next view id %d, %d services" % (
            len(self.registry["entities"]), len(self.registry["views"]),
            ", ".join("%d %s" % (v.id, v.name.decode("utf-8", "replace")) for v in self.registry["views"]),
            self.registry["next_view_id"], self.registry["services"])

    def _data_block(self, b):
        """A committed ROWS or SEGMENT block: its view id (checked against the registry then in
        force) and, for a segment, its footer and every chunk's checksum."""
        where = "%s: %s block at offset %d" % (self.path, KIND[b.type].lower(), b.offset)
        if b.type == SEGMENT:
            if b.codec != 0:
                self.fail(b.offset, "segment block with codec %d (segments compress chunk by chunk)" % b.codec)
            payload = self.payload(b)
            lay = segment_layout(payload, b.offset + 24, where)
            for off, length in lay["chunks"]:
                chunk_bytes(payload, b.offset + 24, off, length, where, [], decode=False)
            self.layouts[b.offset] = lay
            b.view_id = lay["view_id"]
            b.info = "view %d, %d rows, %d features, %d page(s) of %d rows, %d chunks (%d zstd)" % (
                lay["view_id"], lay["rows"], lay["features"], lay["pages"], lay["page_rows"], len(lay["chunks"]),
                sum(1 for off, _ in lay["chunks"] if payload[off] == 1))
        else:
            try:
                raw = self.raw_payload(b)
            except Skipped:
                b.info = "zstd: not decoded (no zstandard module)"
                return
            if len(raw) < 12:
                self.fail(b.offset, "row batch too short")
            b.view_id, rows, n = struct.unpack_from("<III", raw, 0)
            b.info = "view %d, %d rows, %d features" % (b.view_id, rows, n)
        if self.registry is not None and not any(v.id == b.view_id for v in self.registry["views"]):
            self.fail(b.offset, "block names unknown view id %d" % b.view_id)

    def views(self):
        if self.registry is None:
            raise NoRegistry("%s: the registry at offset %s is zstd-compressed and the zstandard module is "
                             "missing: no view can be decoded" % (self.path, self.registry_offset))
        return self.registry["views"]

    def rows_of(self, view):
        """Every live row of the view, merged in (key, event_ts, system_ts, seq) order."""
        merged = []
        for off in sorted(self.live):
            b = self.live[off]
            where = "%s: %s block at offset %d" % (self.path, KIND[b.type].lower(), off)
            if b.view_id is None:  # a zstd row batch, not decodable here: its view is unknown
                self.skipped.add(off)
                continue
            if b.view_id != view.id:
                continue
            if b.type == SEGMENT:
                try:
                    rows = decode_segment(self.payload(b), off + 24, view, self.layouts[off], where, self.skipped)
                except Skipped:
                    continue
            else:
                rows = decode_rows(self.raw_payload(b), view, where)
            check_sorted(rows, where)
            for i in range(len(rows.keys)):
                merged.append((rows.keys[i], rows.event_ts[i], rows.system_ts[i], rows.seq[i],
                               [col[i] for col in rows.values], where))
        merged.sort(key=lambda r: r[:4])
        for i in range(1, len(merged)):
            if merged[i][:4] == merged[i - 1][:4]:
                raise FormatError("%s: one row (sequence number %d) is live twice (%s; %s)"
                                  % (self.path, merged[i][3], merged[i - 1][5], merged[i][5]))
        return merged


# ============================================================================================
# Output.
# ============================================================================================

def csv_field(s):
    """RFC 4180: quoted when it holds a comma, quote or line break, or is an empty string (null,
    None here, is the unquoted empty field)."""
    if s is None:
        return b""
    if not s or any(c in s for c in b',"\n\r'):
        return b'"' + s.replace(b'"', b'""') + b'"'
    return s


def cell(value, t):
    if value is None:
        return None
    if t == STRING:
        return value
    if t == BYTES:
        return b"0x" + value.hex().encode()
    if t == TIMESTAMP:
        return format_timestamp(value).encode()
    if t == BOOL:
        return b"true" if value else b"false"
    if t in (INT32, INT64):
        return str(value).encode()
    if t == FLOAT64:
        return format_float64(value).encode()
    if t == FLOAT32:
        return format_float32(value).encode()
    if t == VECTOR:
        return ("[" + ",".join(format_float32(x) for x in value) + "]").encode()
    raise AssertionError(t)


def write_view_csv(store, view, out):
    header = [name for name, _ in view.key_columns] + [view.event_column, view.system_column]
    header += [f[0] for f in view.features]
    out.write(b",".join(csv_field(h) for h in header) + b"\n")
    types = [f[1] for f in view.features]
    last_key, parts = None, None
    for key, ev, sys_ts, _seq, values, where in store.rows_of(view):
        if key != last_key:
            parts = decode_key(key, view, where)
            last_key = key
        fields = [str(p).encode() if isinstance(p, int) else p for p in parts]
        fields.append(format_timestamp(ev).encode())
        fields.append(format_timestamp(sys_ts).encode())
        fields.extend(cell(v, t) for v, t in zip(values, types))
        out.write(b",".join(csv_field(f) for f in fields) + b"\n")


def summary(store, out, error=None):
    w = lambda s: out.write(s.encode() + b"\n")
    if store.header:
        h = store.header
        w("%s: %d bytes, format %d, file id %s, created %s" % (
            store.path, len(store.data), h["version"], h["file_id"], format_timestamp(h["created"])))
    w("%-10s %-8s %-5s %8s %8s %-8s %s" % ("offset", "kind", "codec", "stored", "raw", "checksum", "what"))
    for b in store.blocks:
        state = ""
        if b.type in (ROWS, SEGMENT) and b.ok:
            if b.offset in store.live:
                state = "live: "
            elif store.tail is None or b.offset < store.tail:
                state = "obsolete: " if any(b.offset in c["obsolete"] for c in store.commits) else ""
        w("%-10d %-8s %-5s %8d %8d %-8s %s%s" % (
            b.offset, KIND[b.type], "zstd" if b.codec else "none", b.stored_len, b.raw_len,
            "ok" if b.ok else "MISMATCH", state, b.info))
    if store.commits:
        w("%d blocks in %d transactions (commit sequence %d..%d), %d live data blocks%s" % (
            len(store.blocks), len(store.commits), store.commits[0]["seq"], store.commits[-1]["seq"],
            len(store.live), "; no commit after offset %d" % store.tail if store.tail is not None else ""))
    if error:
        w("stopped: %s" % error)


def report_skipped(store):
    if store.skipped:
        sys.stderr.write("pitread: the zstandard module is not installed: skipped %d zstd-compressed payload(s) "
                         "(block or segment chunk offsets: %s); install it (pip install zstandard, or Debian's "
                         "python3-zstandard) to read them\n" % (len(store.skipped), ", ".join(map(str, sorted(store.skipped)))))


# ============================================================================================
# Self-test.
# ============================================================================================

XXH3_VECTORS = [  # (length of the pattern (i * 131 + 7) & 0xff, seed, XXH3_64bits_withSeed)
    (0, 0, 0x2D06800538D394C2), (0, 1, 5604079703740606211), (1, 0, 5502495245947142431),
    (3, 11400714819323198485, 13579585555891902944), (4, 1, 1646409532093702765),
    (8, 11400714819323198485, 13579144881704939583), (9, 0, 8944394699905593055), (16, 1, 2409395883025036543),
    (17, 0, 13081819869213806705), (33, 11400714819323198485, 6505066416491808428),
    (64, 1, 8759055110117568201), (97, 0, 17385482648986237405), (128, 11400714819323198485, 5312027019435545349),
    (129, 0, 1605741916052902306), (200, 1, 2176618756355827868), (240, 11400714819323198485, 8549871422211881004),
    (241, 0, 10767172507156293534), (256, 1, 6326500617769467807), (1024, 11400714819323198485, 15622823581925372466),
    (1031, 0, 258779287290360226), (2047, 1, 9202827227431618580), (2941, 11400714819323198485, 9290016457457707747),
]

FLOAT_SPELLINGS = [  # (float64 text, how std::to_chars spells it), checked against the pitstore tool
    ("0.1", "0.1"), ("1e300", "1e+300"), ("-0.0", "-0"), ("100000", "1e+05"), ("1234567", "1234567"),
    ("0.0001", "1e-04"), ("5e-324", "5e-324"), ("1.7976931348623157e308", "1.7976931348623157e+308"),
    ("1.2345678901234567e20", "123456789012345667584"), ("9007199254740993", "9007199254740992"),
    ("123456.7", "123456.7"), ("1e22", "1e+22"), ("0.3", "0.3"), ("2.5", "2.5"), ("123.456", "123.456"),
]
FLOAT32_SPELLINGS = [("0.1", "0.1"), ("123456789", "123456792"), ("1e-45", "1e-45"), ("3.4028235e38", "3.4028235e+38"),
                     ("123456.79", "123456.79"), ("1e10", "1e+10"), ("16777216", "16777216"), ("1234567.9", "1234567.9")]


def self_test():
    failures = 0
    pattern = bytes((i * 131 + 7) & 0xFF for i in range(3000))
    for n, seed, want in XXH3_VECTORS:
        got = xxh3_64(pattern[:n], seed)
        if got != want:
            print("FAIL xxh3 len %d seed %d: %#x, want %#x" % (n, seed, got, want))
            failures += 1
    # Cross-check with the C library where it is installed (here only: the reader never uses it).
    lib = None
    try:
        import ctypes
        for name in ("libxxhash.so.0", "/usr/lib/x86_64-linux-gnu/libxxhash.so.0", "libxxhash.so"):
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
    except ImportError:
        pass
    checked = 0
    if lib is not None:
        fn = lib.XXH3_64bits_withSeed
        fn.restype = ctypes.c_uint64
        fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
        import random
        rnd = random.Random(7)
        for _ in range(400):
            n = rnd.choice([rnd.randrange(0, 300), rnd.randrange(0, 5000)])
            data = bytes(rnd.randrange(256) for _ in range(n))
            seed = rnd.choice([0, rnd.randrange(1 << 64), rnd.randrange(1 << 20)])
            want, got = fn(data, n, seed), xxh3_64(data, seed)
            checked += 1
            if want != got:
                print("FAIL xxh3 vs libxxhash: len %d seed %d: %#x, want %#x" % (n, seed, got, want))
                failures += 1
    for text, want in FLOAT_SPELLINGS:
        got = format_float64(_U64.unpack(struct.pack("<d", float(text)))[0])
        if got != want:
            print("FAIL float64 %s: %s, want %s" % (text, got, want))
            failures += 1
    for text, want in FLOAT32_SPELLINGS:
        got = format_float32(_U32.unpack(struct.pack("<f", float(text)))[0])
        if got != want:
            print("FAIL float32 %s: %s, want %s" % (text, got, want))
            failures += 1
    # Shortest round trip: every spelling must read back as the same value.
    import random
    rnd = random.Random(11)
    for _ in range(3000):
        bits = rnd.getrandbits(64)
        if (bits >> 52) & 0x7FF == 0x7FF:
            continue
        s = format_float64(bits)
        if _U64.unpack(struct.pack("<d", float(s)))[0] != bits or (len(s.replace("-", "")) > 24):
            print("FAIL float64 round trip %#x: %s" % (bits, s))
            failures += 1
        if "e" not in s and "." not in s:
            continue
        mant = s.split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        r = repr(struct.unpack("<d", struct.pack("<Q", bits))[0])
        rmant = r.split("e")[0].replace("-", "").replace(".", "").strip("0")
        if len(mant.rstrip("0")) != len(rmant):
            print("FAIL float64 not shortest %#x: %s vs repr %s" % (bits, s, r))
            failures += 1
    for _ in range(3000):
        bits = rnd.getrandbits(32)
        if (bits >> 23) & 0xFF == 0xFF:
            continue
        s = format_float32(bits)
        if _U32.unpack(struct.pack("<f", float(s)))[0] != bits:
            print("FAIL float32 round trip %#x: %s" % (bits, s))
            failures += 1
    for t, want in [(0, "1970-01-01T00:00:00Z"), (-1, "1969-12-31T23:59:59.999999Z"), (INT64_MAX, "+inf"),
                    (-62135596800000001, "-62135596800000001"), (-62135596800000000, "0001-01-01T00:00:00Z"),
                    (1700000000123000, "2023-11-14T22:13:20.123000Z"),
                    (253402300799999999, "9999-12-31T23:59:59.999999Z"), (253402300800000000, "253402300800000000"),
                    (9223372036854775806, "9223372036854775806")]:
        if format_timestamp(t) != want:
            print("FAIL timestamp %d: %s, want %s" % (t, format_timestamp(t), want))
            failures += 1
    print("self-test: %d XXH3 vectors, %d compared with libxxhash%s; %d failure(s)" % (
        len(XXH3_VECTORS), checked, "" if lib else " (not found)", failures))
    return EXIT_OK if failures == 0 else EXIT_DAMAGE


# ============================================================================================

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Exit status: 0 ok, 1 damage or malformed (names the offset), 2 usage, "
                                        "4 incomplete (zstd data skipped: no zstandard module).")
    ap.add_argument("store", nargs="?", help="the data file, NAME.pit")
    ap.add_argument("--view", action="append", default=[], help="a view to print (repeatable; default: all)")
    ap.add_argument("--format", default="csv", choices=["csv"], help="output format (csv, as `pitstore dump`)")
    ap.add_argument("--summary", action="store_true", help="print the block map instead of rows")
    ap.add_argument("--list-views", action="store_true", help="print the view names, one a line")
    ap.add_argument("--self-test", action="store_true", help="check XXH3 and number spellings, then exit")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.store:
        ap.print_usage(sys.stderr)
        sys.stderr.write("pitread: a store is required\n")
        return EXIT_USAGE
    out = sys.stdout.buffer
    try:
        store = Store(args.store, keep_going=args.summary)
    except OSError as e:
        sys.stderr.write("pitread: %s\n" % e)
        return EXIT_DAMAGE
    if args.summary:
        error = None
        try:
            store.scan()
        except FormatError as e:
            error = str(e)
        summary(store, out, error)
        out.flush()
        report_skipped(store)
        for msg in store.bad + ([error] if error else []):
            sys.stderr.write("pitread: %s\n" % msg)
        return EXIT_DAMAGE if store.bad or error else EXIT_OK
    try:
        store.scan()
        if store.tail is not None:
            sys.stderr.write("pitread: %s: the blocks from offset %d have no commit record; ignored (a torn write)\n"
                             % (args.store, store.tail))
        views = store.views()
        if args.list_views:
            for v in views:
                out.write(v.name + b"\n")
            out.flush()
            return EXIT_OK
        chosen = views
        if args.view:
            by_name = {v.name.decode("utf-8", "surrogateescape"): v for v in views}
            missing = [n for n in args.view if n not in by_name]
            if missing:
                sys.stderr.write("pitread: %s: no feature view %s\n" % (args.store, ", ".join(repr(m) for m in missing)))
                return EXIT_DAMAGE
            chosen = [by_name[n] for n in args.view]
        for v in chosen:
            if len(chosen) > 1:
                out.write(b"# view " + v.name + b"\n")
            write_view_csv(store, v, out)
        out.flush()
    except FormatError as e:
        out.flush()
        sys.stderr.write("pitread: %s\n" % e)
        report_skipped(store)
        return EXIT_DAMAGE
    except NoRegistry as e:
        sys.stderr.write("pitread: %s\n" % e)
        report_skipped(store)
        return EXIT_INCOMPLETE
    report_skipped(store)
    return EXIT_INCOMPLETE if store.skipped else EXIT_OK


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        sys.exit(EXIT_OK)
