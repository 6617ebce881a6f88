// The CSV and JSON Lines readers of `pitstore ingest`: RFC 4180 quoting, line endings, the byte
// order mark, JSON escapes, and the line and column of every field and error.
#include "pitstore/io/record_source.h"

#include <gtest/gtest.h>

#include <random>

#include "pitstore/io/timestamps.h"
#include "pitstore/workflow/ingest.h"

namespace pitstore::io {
using namespace ::pitstore::workflow;
namespace {

struct Parsed {
  std::vector<std::vector<Field>> records;
  std::vector<uint64_t> lines;
  Status status;
};

Parsed ReadAll(const std::string& data, SourceFormat format, std::vector<std::string> names,
               bool ignore_extra = false) {
  Parsed p;
  auto src = RecordSourceFromString(data, "in", format);
  p.status = src->Bind(names, {}, ignore_extra);
  if (!p.status.ok()) return p;
  for (;;) {
    std::vector<Field> fields;
    uint64_t line;
    Result<bool> more = src->Next(&fields, &line);
    if (!more.ok()) {
      p.status = more.status();
      return p;
    }
    if (!*more) return p;
    p.records.push_back(fields);
    p.lines.push_back(line);
  }
}

TEST(Csv, QuotesCommasNewlinesAndCrlf) {
  Parsed p = ReadAll(
      "\xEF\xBB\xBF"
      "a,b,c\r\n1,\"x, \"\"y\"\"\",\"two\r\nlines\"\r\n\r\n2,,\"\"\n3,z,w",
      SourceFormat::kCsv, {"a", "b", "c"});
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  ASSERT_EQ(p.records.size(), 3u);
  EXPECT_EQ(p.records[0][1].text, "x, \"y\"");
  EXPECT_EQ(p.records[0][2].text, "two\r\nlines");
  EXPECT_EQ(p.records[0][2].kind, Field::kText);
  EXPECT_EQ(p.lines, (std::vector<uint64_t>{2, 5, 6}));  // the blank line 4 is skipped
  EXPECT_EQ(p.records[1][1].kind, Field::kNull);         // unquoted empty: null
  EXPECT_EQ(p.records[1][2].kind, Field::kText);         // quoted empty: an empty string
  EXPECT_EQ(p.records[1][2].text, "");
  EXPECT_EQ(p.records[2][2].text, "w");  // no newline at the end
  EXPECT_EQ(p.records[2][1].column, 3u);
}

TEST(Csv, HeaderMapsByNameAndReportsUnknownColumns) {
  Parsed p = ReadAll("c,a\n1,2\n", SourceFormat::kCsv, {"a", "b", "c"});
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.records[0][0].text, "2");
  EXPECT_EQ(p.records[0][1].kind, Field::kMissing);
  EXPECT_EQ(p.records[0][2].text, "1");
  p = ReadAll("a,zz\n1,2\n", SourceFormat::kCsv, {"a"});
  EXPECT_NE(p.status.message().find("in:1:3: unknown column 'zz'"), std::string::npos) << p.status.ToString();
  EXPECT_TRUE(ReadAll("a,zz\n1,2\n", SourceFormat::kCsv, {"a"}, true).status.ok());
  p = ReadAll("a,a\n", SourceFormat::kCsv, {"a"});
  EXPECT_NE(p.status.message().find("appears twice"), std::string::npos);
}

TEST(Csv, MalformedInputNamesTheLineAndColumn) {
  struct Case {
    const char* data;
    const char* error;
  } cases[] = {
      {"a,b\n1,\"x\"y\n", "in:2:6: unexpected 'y' after a closing quote"},
      {"a,b\n1,x\"y\n", "in:2:4: a quote inside an unquoted field"},
      {"a,b\n1,\"open\n\n", "in:2:3: quoted field never closed"},
      {"a,b\n1,2,3\n", "in:2:5: expected 2 fields"},
      {"a,b\n1\n", "in:2:1: expected 2 fields"},
      {"a,b\n1,2\r3,4\n", "in:2:5: carriage return without line feed"},
      {"", "in:1:1: empty input"},
  };
  for (const Case& c : cases) {
    Parsed p = ReadAll(c.data, SourceFormat::kCsv, {"a", "b"});
    EXPECT_NE(p.status.message().find(c.error), std::string::npos) << c.data << " -> " << p.status.ToString();
  }
}

TEST(JsonLines, KindsEscapesAndColumns) {
  Parsed p = ReadAll(
      "{\"a\": 1.5e3, \"b\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\"\\n\", \"c\": [1, 2.5]}\r\n"
      "\n"
      "  {\"c\": null, \"a\": true, \"x\": {\"deep\": [1, {\"y\": 2}]}}\n",
      SourceFormat::kJsonLines, {"a", "b", "c"}, true);
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0][0].kind, Field::kNumber);
  EXPECT_EQ(p.records[0][0].text, "1.5e3");
  EXPECT_EQ(p.records[0][1].text, "caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\"\n");
  EXPECT_EQ(p.records[0][2].kind, Field::kArray);
  EXPECT_EQ(p.records[0][2].text, "[1, 2.5]");
  EXPECT_EQ(p.records[0][2].column, 58u);
  EXPECT_EQ(p.lines[1], 3u);
  EXPECT_EQ(p.records[1][0].kind, Field::kBool);
  EXPECT_EQ(p.records[1][1].kind, Field::kMissing);
  EXPECT_EQ(p.records[1][2].kind, Field::kNull);
}

TEST(JsonLines, MalformedInputNamesTheLineAndColumn) {
  struct Case {
    const char* data;
    const char* error;
  } cases[] = {
      {"{\"a\": 1,}", "in:1:9: expected a member name"},
      {"[1]", "in:1:1: expected a JSON object"},
      {"{\"a\": 01}", "in:1:8: expected ',' or '}'"},
      {"{\"a\": 1} x", "in:1:10: unexpected text after the object"},
      {"{\"a\": \"\\ud800\"}", "unpaired surrogate"},
      {"{\"a\": \"x", "in:1:9: string never closed"},
      {"{\"a\": 1, \"a\": 2}", "in:1:10: member 'a' appears twice"},
      {"{\"zz\": 1}", "in:1:2: unknown column 'zz'"},
      {"{\"a\": {\"b\": 1}}", "in:1:7: nested objects are not supported"},
      {"{\"a\": tru}", "in:1:7: expected a JSON value"},
      {"{}\n{\"a\": -}", "in:2:8: malformed number"},
  };
  for (const Case& c : cases) {
    Parsed p = ReadAll(c.data, SourceFormat::kJsonLines, {"a"});
    EXPECT_NE(p.status.message().find(c.error), std::string::npos) << c.data << " -> " << p.status.ToString();
  }
}

TEST(Timestamps, Rfc3339AndEpochUnits) {
  Timestamp t;
  ASSERT_TRUE(ParseTimestampField("2025-03-01T02:00:00.5+02:00", false, EpochUnit::kMicros, &t));
  EXPECT_EQ(t, 1740787200500000);
  ASSERT_TRUE(ParseTimestampField("2025-03-01T00:00:00.1234567Z", false, EpochUnit::kMicros, &t));
  EXPECT_EQ(t, 1740787200123456);  // digits beyond microseconds are cut
  ASSERT_TRUE(ParseTimestampField("1740787200", false, EpochUnit::kSeconds, &t));
  EXPECT_EQ(t, 1740787200000000);
  ASSERT_TRUE(ParseTimestampField("1740787200123", false, EpochUnit::kMillis, &t));
  EXPECT_EQ(t, 1740787200123000);
  ASSERT_TRUE(ParseTimestampField("-1500", false, EpochUnit::kNanos, &t));
  EXPECT_EQ(t, -2);                                                                         // floor
  EXPECT_FALSE(ParseTimestampField("2025-03-01T00:00:00", false, EpochUnit::kMicros, &t));  // no offset
  EXPECT_FALSE(ParseTimestampField("2025-03-01T00:00:00Z", true, EpochUnit::kMicros, &t));  // a JSON number expected
  EXPECT_FALSE(ParseTimestampField("99999999999999999999", false, EpochUnit::kMicros, &t));
  EXPECT_FALSE(ParseTimestampField("9999999999999999", false, EpochUnit::kSeconds, &t));  // overflows
  EXPECT_FALSE(ParseTimestampField("12abc", false, EpochUnit::kMicros, &t));
}

// Without a unit, an integer time is microseconds only where that is plausible (1990 to
// 2099): seconds, milliseconds and nanoseconds read as microseconds are refused, naming the
// unit that fits; with a unit any count is taken. The command line's times take a suffix.
TEST(Timestamps, IntegersWithoutAUnitMustBePlausibleMicroseconds) {
  Timestamp t = 0;
  EXPECT_EQ(io::EpochToMicrosWhy(1740787200000000, EpochUnit::kUnstated, &t), "");
  EXPECT_EQ(t, 1740787200000000);
  struct {
    int64_t count;
    const char* fits;
  } cases[] = {{1740787200, "in s it is 2025-03-01T00:00:00Z"},
               {1740787200123, "in ms it is 2025-03-01T00:00:00.123000Z"},
               {1740787200123456789, "in ns it is 2025-03-01T00:00:00.123456Z"},
               {0, "name the unit to store it anyway: us"},
               {io::kPlausibleFrom - 1, "1989-12-31T23:59:59.999999Z, outside the years 1990 to 2099"},
               {io::kPlausibleUntil, "2100-01-01T00:00:00Z, outside"}};
  for (const auto& c : cases) {
    std::string why = io::EpochToMicrosWhy(c.count, EpochUnit::kUnstated, &t);
    EXPECT_NE(why.find(c.fits), std::string::npos) << c.count << ": " << why;
    EXPECT_EQ(io::EpochToMicrosWhy(c.count, EpochUnit::kMicros, &t), "") << c.count;
    EXPECT_EQ(t, c.count);
  }
  EXPECT_EQ(io::EpochToMicrosWhy(io::kPlausibleFrom, EpochUnit::kUnstated, &t), "");
  EXPECT_EQ(io::EpochToMicrosWhy(io::kPlausibleUntil - 1, EpochUnit::kUnstated, &t), "");
  EXPECT_FALSE(ParseTimestampField("1740787200", false, EpochUnit::kUnstated, &t));

  EXPECT_EQ(io::ParseTimeArgumentWhy("1795000000s", &t), "");
  EXPECT_EQ(t, 1795000000000000);
  EXPECT_EQ(io::ParseTimeArgumentWhy("1795000000123ms", &t), "");
  EXPECT_EQ(t, 1795000000123000);
  EXPECT_EQ(io::ParseTimeArgumentWhy("5us", &t), "");
  EXPECT_EQ(t, 5);
  EXPECT_EQ(io::ParseTimeArgumentWhy("-1500ns", &t), "");
  EXPECT_EQ(t, -2);
  EXPECT_EQ(io::ParseTimeArgumentWhy("1795000000000000", &t), "");
  EXPECT_EQ(t, 1795000000000000);
  EXPECT_NE(io::ParseTimeArgumentWhy("1795000000", &t).find("in s it is 2026-11-18T11:06:40Z"), std::string::npos);
  EXPECT_NE(io::ParseTimeArgumentWhy("1795000000h", &t), "");
  EXPECT_NE(io::ParseTimeArgumentWhy("99999999999999999999s", &t), "");
  EXPECT_NE(io::ParseTimeArgumentWhy("9999999999999999s", &t).find("out of range"), std::string::npos);
  EXPECT_EQ(io::ParseTimeArgumentWhy("2025-03-01T00:00:00Z", &t), "");
  EXPECT_EQ(t, 1740787200000000);
}

// Days a month does not have are refused, not rolled into the next month (2025-02-30 was read
// as 2025-03-02); leap days are days.
TEST(Timestamps, ImpossibleCalendarDatesAreRefused) {
  Timestamp t;
  for (const char* bad : {"2025-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2025-04-31T00:00:00Z",
                          "1900-02-29T00:00:00Z", "2025-06-31T12:00:00+02:00", "2025-02-29 00:00:00Z"})
    EXPECT_FALSE(ParseTimestampField(bad, false, EpochUnit::kMicros, &t)) << bad;
  ASSERT_TRUE(ParseTimestampField("2024-02-29T00:00:00Z", false, EpochUnit::kMicros, &t));
  EXPECT_EQ(t, 1709164800000000);
  ASSERT_TRUE(ParseTimestampField("2000-02-29T00:00:00Z", false, EpochUnit::kMicros, &t));
  ASSERT_TRUE(ParseTimestampField("2025-12-31T23:59:59Z", false, EpochUnit::kMicros, &t));
  EXPECT_EQ(t, 1767225599000000);
}

// The rest of the grammar (io/timestamps.h): RFC 3339's lowercase t and z, a space, an offset
// of -00:00 are accepted; one-digit fields, leap seconds, year 0000, five-digit years, local
// times, stray text are refused with a reason; and every time prints in a form that parses
// back to itself (outside 0001 to 9999, as its integer of microseconds).
TEST(Timestamps, TheGrammarIsStrictAndEveryPrintedTimeParsesBack) {
  Timestamp t = 0, want = 1740787200000000;  // 2025-03-01T00:00:00Z
  for (const char* good :
       {"2025-03-01T00:00:00Z", "2025-03-01t00:00:00z", "2025-03-01 00:00:00Z", "2025-03-01T00:00:00-00:00",
        "2025-03-01T01:30:00+01:30", "2025-02-28T23:00:00.000-01:00", "1740787200000000"}) {
    EXPECT_EQ(io::ParseTimestampWhy(good, &t), "") << good;
    EXPECT_EQ(t, want) << good;
  }
  struct Bad {
    const char* text;
    const char* why;
  };
  for (const Bad& b : std::vector<Bad>{{"2025-3-01T00:00:00Z", "two-digit"},
                                       {"2025-03-01T0:00:00Z", "two-digit"},
                                       {" 2025-03-01T00:00:00Z", "two-digit"},
                                       {"2025-03-01T00:00: 0Z", "two-digit"},
                                       {"12025-03-01T00:00:00Z", "two-digit"},
                                       {"0000-03-01T00:00:00Z", "year 0000"},
                                       {"2016-12-31T23:59:60Z", "leap second"},
                                       {"2025-13-01T00:00:00Z", "month 13"},
                                       {"2025-02-29T00:00:00Z", "no day 29"},
                                       {"2025-03-01T24:00:00Z", "hour"},
                                       {"2025-03-01T00:00:00", "offset"},
                                       {"2025-03-01T00:00:00+0100", "offset"},
                                       {"2025-03-01T00:00:00.Z", "decimal point"},
                                       {"2025-03-01T00:00:00Zx", "after the time"},
                                       {"9223372036854775808", "out of range"},
                                       {"+5", "not an integer"},
                                       {"", "empty"}}) {
    std::string why = io::ParseTimestampWhy(b.text, &t);
    EXPECT_NE(why.find(b.why), std::string::npos) << "'" << b.text << "' -> '" << why << "'";
  }
  // Printing: the calendar from year 1 to 9999, integers beyond; each parses back exactly.
  std::mt19937_64 rng(6);
  std::vector<Timestamp> times = {0,
                                  -1,
                                  1,
                                  -62135596800000000,
                                  -62135596800000001,
                                  253402300799999999,
                                  253402300800000000,
                                  kMinTimestamp + 1,
                                  kMaxTimestamp - 1,
                                  951782400000000};
  for (int i = 0; i < 20000; ++i)
    times.push_back(static_cast<Timestamp>(rng()) / (1 + static_cast<int64_t>(rng() % 4096)));
  for (Timestamp x : times) {
    std::string text = io::FormatTimestamp(x);
    Timestamp back = 0;
    ASSERT_EQ(io::ParseTimestampWhy(text, &back), "") << x << " printed as " << text;
    ASSERT_EQ(back, x) << text;
  }
  EXPECT_EQ(io::FormatTimestamp(-62135596800000000), "0001-01-01T00:00:00Z");
  EXPECT_EQ(io::FormatTimestamp(-62135596800000001), "-62135596800000001");
  EXPECT_EQ(io::FormatTimestamp(253402300799999999), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(io::FormatTimestamp(253402300800000000), "253402300800000000");
  EXPECT_EQ(io::FormatTimestamp(951782400000000), "2000-02-29T00:00:00Z");
}

}  // namespace
}  // namespace pitstore::io
