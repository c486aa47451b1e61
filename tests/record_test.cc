#include "core/record.h"

#include <gtest/gtest.h>

namespace lifeline {
namespace {

Record Base() {
  Record r;
  r.key = "support-triage";
  r.value = "{}";
  r.headers = {{"ce_id", "1"}, {"ce_type", "t"}};
  r.timestamp = TimestampMs(1700000000000);
  return r;
}

TEST(RecordDigest, NullKeyDiffersFromEmptyKey) {
  Record a = Base(), b = Base();
  a.key.reset();
  b.key = "";
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, TombstoneDiffersFromEmptyValue) {
  Record a = Base(), b = Base();
  a.value.reset();
  b.value = "";
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, HeaderOrderMatters) {
  Record a = Base(), b = Base();
  std::swap(b.headers[0], b.headers[1]);
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, RepeatedHeaderMatters) {
  Record a = Base(), b = Base();
  b.headers.push_back(b.headers.back());
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, NullHeaderValueDiffersFromEmpty) {
  Record a = Base(), b = Base();
  a.headers[0].value.reset();
  b.headers[0].value = "";
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, BytesCannotSlideBetweenKeyAndValue) {
  Record a = Base(), b = Base();
  a.key = "ab";
  a.value = "c";
  b.key = "a";
  b.value = "bc";
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, TimestampMatters) {
  Record a = Base(), b = Base();
  b.timestamp = TimestampMs(a.timestamp.value() + 1);
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, IgnoresCoordinates) {
  Record a = Base(), b = Base();
  b.topic = Topic("other");
  b.partition = Partition(3);
  b.offset = Offset(42);
  EXPECT_EQ(RecordDigest(a), RecordDigest(b));
}

TEST(RecordDigest, IsStableAcrossRunsAndMachines) {
  // A fixed vector: changing the canonical encoding breaks stored evidence,
  // so it must be a deliberate, visible change.
  Record r = Base();
  EXPECT_EQ(CanonicalEncoding(r).size(), 106u);
  EXPECT_EQ(RecordDigest(r).Hex(), "99dbc9170503852ea0c39116c4fc6f0a");
}

}  // namespace
}  // namespace lifeline
