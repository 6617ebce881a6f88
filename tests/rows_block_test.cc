// A row batch's bytes (format/FORMAT.md, ROWS) as the encoder writes them through a pointer are
// the bytes the format spells out value by value: checked against a reference written with the
// plain append primitives, for every feature type, nulls, extreme integers, empty and long
// strings and vectors; and they decode back to the rows.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "coding.h"
#include "key_codec.h"
#include "run.h"
#include "test_util.h"

namespace pitstore {
namespace {

std::string ReferenceValue(const Column& c, size_t i) {
  std::string out;
  switch (c.type) {
    case FeatureType::kBool:
      out.push_back(c.ints[i] ? 1 : 0);
      break;
    case FeatureType::kInt32:
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      PutSigned(&out, c.ints[i]);
      break;
    case FeatureType::kFloat32: {
      const float f = static_cast<float>(c.doubles[i]);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      PutFixed32(&out, bits);
      break;
    }
    case FeatureType::kFloat64: {
      uint64_t bits;
      std::memcpy(&bits, &c.doubles[i], 8);
      PutFixed64(&out, bits);
      break;
    }
    case FeatureType::kString:
    case FeatureType::kBytes:
      PutBytes(&out, c.strings[i]);
      break;
    case FeatureType::kFloat32Vector:
      out.append(reinterpret_cast<const char*>(c.floats.data() + i * c.dim), c.dim * 4);
      break;
  }
  return out;
}

std::string ReferenceRowsBlock(const Run& run) {
  std::string out;
  PutFixed32(&out, run.view_id);
  PutFixed32(&out, static_cast<uint32_t>(run.size()));
  PutFixed32(&out, static_cast<uint32_t>(run.columns.size()));
  for (size_t i = 0; i < run.size(); ++i) {
    PutBytes(&out, run.keys[i]);
    PutSigned(&out, run.event_ts[i]);
    PutSigned(&out, run.system_ts[i]);
    PutVarint64(&out, run.seq[i]);
    std::string bitmap((run.columns.size() + 7) / 8, '\0'), values;
    for (size_t c = 0; c < run.columns.size(); ++c) {
      if (run.columns[c].is_null(i)) continue;
      bitmap[c / 8] = static_cast<char>(bitmap[c / 8] | (1 << (c % 8)));
      values += ReferenceValue(run.columns[c], i);
    }
    out += bitmap + values;
  }
  return out;
}

TEST(RowsBlock, BytesAreTheFormatsValueByValue) {
  std::mt19937_64 rng(17);
  const std::vector<FeatureType> types = {FeatureType::kBool,    FeatureType::kInt32,     FeatureType::kInt64,
                                          FeatureType::kFloat32, FeatureType::kFloat64,   FeatureType::kString,
                                          FeatureType::kBytes,   FeatureType::kTimestamp, FeatureType::kFloat32Vector};
  const int64_t ints[] = {
      0, 1, -1, 63, -64, 64, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()};
  for (int round = 0; round < 50; ++round) {
    pitstore::Run run;
    run.view_id = static_cast<uint32_t>(rng());
    ColumnTypes col_types;
    for (size_t c = 0; c < 11; ++c) {  // 11 columns: a bitmap of two bytes
      const FeatureType t = types[c % types.size()];
      const uint32_t dim = t == FeatureType::kFloat32Vector ? 1 + rng() % 5 : 0;
      run.columns.push_back(Column::Of(t, dim));
      col_types.types.push_back(t);
      col_types.dims.push_back(dim);
    }
    const size_t rows = rng() % 200;
    for (size_t i = 0; i < rows; ++i) {
      std::string key;
      EncodeKeyPart(ints[rng() % 8], &key);
      run.keys.push_back(key);
      run.event_ts.push_back(ints[rng() % 8]);
      run.system_ts.push_back(static_cast<int64_t>(rng()));
      run.seq.push_back(rng());
      for (Column& c : run.columns) {
        if (rng() % 5 == 0) {
          c.AppendNull();
          continue;
        }
        Value v;
        switch (c.type) {
          case FeatureType::kBool:
            v = Value::Bool(rng() % 2);
            break;
          case FeatureType::kInt32:
            v = Value::Int32(static_cast<int32_t>(ints[rng() % 8]));
            break;
          case FeatureType::kInt64:
            v = Value::Int64(ints[rng() % 8]);
            break;
          case FeatureType::kTimestamp:
            v = Value::Time(ints[rng() % 8]);
            break;
          case FeatureType::kFloat32:
            v = Value::Float32(static_cast<float>(rng() % 1000) / 7);
            break;
          case FeatureType::kFloat64:
            v = Value::Float64(rng() % 3 ? std::ldexp(double(rng()), -40) : -0.0);
            break;
          case FeatureType::kString:
            v = Value::String(std::string(rng() % 3 ? rng() % 20 : 300, 'x'));
            break;
          case FeatureType::kBytes:
            v = Value::Bytes(std::string(rng() % 40, '\xff'));
            break;
          case FeatureType::kFloat32Vector:
            v = Value::Vector(std::vector<float>(c.dim, 0.25f * (rng() % 9)));
            break;
        }
        c.Append(v);
      }
    }
    const std::string bytes = EncodeRowsBlock(run);
    ASSERT_EQ(bytes, ReferenceRowsBlock(run)) << "round " << round;
    pitstore::Run back = UNWRAP(DecodeRowsBlock(bytes, col_types));
    ASSERT_EQ(EncodeRowsBlock(back), bytes) << "round " << round;
    for (size_t i = 0; i < rows; ++i) {
      std::string one, reference;
      EncodeRowValues(run, i, &one);
      EncodeRowValues(back, i, &reference);
      ASSERT_EQ(one, reference);
    }
  }
}

}  // namespace
}  // namespace pitstore
