#include "pitstore/io/suggest.h"

#include <algorithm>
#include <cctype>

namespace pitstore::io {
namespace {

// Levenshtein distance, case ignored, with one row of the table.
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same =
          std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      const size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(1, name.size() / 3);
  const std::string* best = nullptr;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    const size_t d = Distance(name, c);
    if (d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  // A prefix of a longer name ("float" for "float32") is a likely slip too.
  if (!best && name.size() >= 3)
    for (const std::string& c : candidates)
      if (c.size() > name.size() && Distance(name, c.substr(0, name.size())) == 0) {
        best = &c;
        break;
      }
  return best ? " (did you mean '" + *best + "'?)" : "";
}

std::string UnknownColumn(const std::string& name, const std::vector<std::string>& expected) {
  std::string known;
  for (const std::string& n : expected) known += (known.empty() ? "" : ", ") + n;
  return "unknown column '" + name + "'" + DidYouMean(name, expected) + " (expected " + known +
         "; --ignore-extra-columns skips it)";
}

}  // namespace pitstore::io
