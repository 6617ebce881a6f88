#!/bin/bash
# The shared library exports its public API and nothing else: the C functions of pitstore.h and
# the C++ classes and functions of pitstore/*.h marked PITSTORE_EXPORT. Internal code (the data
# file, the index, codecs, caches) and the libraries it links (LMDB, zstd, xxHash) stay hidden.
#   tests/exported_symbols_test.sh BUILD_DIR
set -euo pipefail
lib=$1/engine/libpitstore.so
symbols=$(nm -DC --defined-only "$lib" | awk '{ $1 = ""; $2 = ""; print substr($0, 3) }')
fail=0
for want in 'pitstore_open' 'pitstore_errmsg' 'pitstore::Store::Open(' 'pitstore::Status::ToString' 'pitstore::Value::String(' \
  'pitstore::WriteBatch::' 'pitstore::Column::Of('; do
  grep -qF -- "$want" <<<"$symbols" || { echo "not exported: $want"; fail=1; }
done
# Anything of pitstore's that is not one of the public names is a leak.
leaks=$(grep -vE '^pitstore_|^(typeinfo|typeinfo name|vtable) for pitstore::(Store|Snapshot|Status|Value|WriteBatch|Column|Env|EnvFile|ValueSketch|FeatureSummary)$' <<<"$symbols" |
  grep -vE '^(pitstore::)(Store|Snapshot|Status|Value|WriteBatch|Column|Env|EnvFile|ValueSketch|FeatureSummary|Expression)::|^pitstore::(ValueStatusName|FeatureTypeName|EntityKeyToString|ParseFeatureRef|NewMemEnv|MeasureName|MeasureOf|PopulationStabilityIndex|AggregateFunctionName|ParseAggregateFunction|DefaultAggregateName|WindowText|AggregateResultType|ExpressionTypeName)(\[abi:cxx11\])?\(' |
  grep -vE '^([a-z_ ]+ )?(std::|__gnu_cxx::)' |
  grep -vE '^(operator |_init$|_fini$|_edata$|_end$|__bss_start$|guard variable for std::|typeinfo|vtable for std::|VTT for std::)' || true)
if [ -n "$leaks" ]; then
  echo "exported but not public ($(wc -l <<<"$leaks") symbols):"
  head -20 <<<"$leaks"
  fail=1
fi
total=$(wc -l <<<"$symbols")
[ "$fail" = 0 ] && echo "exported symbols: $total, all public"
exit $fail
