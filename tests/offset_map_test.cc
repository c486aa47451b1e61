#include "mirror/internal/offset_map.h"

#include <gtest/gtest.h>

namespace lifeline::mirror {
namespace {

// Source offsets 0..4 contiguous, 5..6 compacted away, 7..9 contiguous;
// target written from 100 with a transaction marker after the 5th record.
PartitionMap Example() {
  PartitionMap m(0, 100);
  for (int64_t s = 0; s < 5; ++s) m.Add(s, 100 + s);
  m.Add(7, 106);  // 105 is a marker on the target
  m.Add(8, 107);
  m.Add(9, 108);
  m.Advance(12);  // 10, 11 were aborted records on the source
  return m;
}

TEST(PartitionMap, StoresRunsProportionalToGapsNotRecords) {
  PartitionMap m = Example();
  ASSERT_EQ(m.runs().size(), 2u);
  EXPECT_EQ(m.runs()[0], (OffsetRun{0, 100, 5}));
  EXPECT_EQ(m.runs()[1], (OffsetRun{7, 106, 3}));
  EXPECT_EQ(m.records(), 8);
  EXPECT_EQ(m.progress(), 12);
  EXPECT_EQ(m.target_next(), 109);
}

TEST(PartitionMap, TranslatesOffsetInsideARun) {
  EXPECT_EQ(Example().Translate(Offset(0)).target_offset, Offset(100));
  EXPECT_EQ(Example().Translate(Offset(3)).target_offset, Offset(103));
  EXPECT_EQ(Example().Translate(Offset(8)).target_offset, Offset(107));
}

TEST(PartitionMap, TranslatesOffsetInsideCompactionGapToTheNextMirroredRecord) {
  EXPECT_EQ(Example().Translate(Offset(5)).target_offset, Offset(106));
  EXPECT_EQ(Example().Translate(Offset(6)).target_offset, Offset(106));
  EXPECT_EQ(Example().Translate(Offset(7)).target_offset, Offset(106));
}

TEST(PartitionMap, TranslatesPastTheLastRecordToTheTargetEnd) {
  EXPECT_EQ(Example().Translate(Offset(10)).target_offset, Offset(109));
  EXPECT_EQ(Example().Translate(Offset(12)).target_offset, Offset(109));
}

// The first copy the target must still hold, given where the source's log
// now starts: inside a run, in a gap between runs, past the last run.
TEST(PartitionMap, FindsTheFirstCopyWhoseOriginalTheSourceStillHolds) {
  EXPECT_EQ(Example().FirstTargetKept(Offset(0)), Offset(100));
  EXPECT_EQ(Example().FirstTargetKept(Offset(3)), Offset(103));
  EXPECT_EQ(Example().FirstTargetKept(Offset(5)), Offset(106));  // 5, 6 compacted away
  EXPECT_EQ(Example().FirstTargetKept(Offset(9)), Offset(108));
  EXPECT_EQ(Example().FirstTargetKept(Offset(10)), std::nullopt);
  EXPECT_EQ(PartitionMap(40, 7).FirstTargetKept(Offset(0)), std::nullopt);
}

TEST(PartitionMap, RefusesToTranslatePastProgress) {
  EXPECT_EQ(Example().Translate(Offset(13)).kind, Translation::Kind::kNotYetMirrored);
  EXPECT_EQ(Example().Translate(Offset(12)).kind, Translation::Kind::kExact);
}

TEST(PartitionMap, EmptyMapTranslatesItsStartToTheTargetStart) {
  PartitionMap m(40, 7);
  EXPECT_EQ(m.Translate(Offset(40)).target_offset, Offset(7));
  EXPECT_EQ(m.Translate(Offset(41)).kind, Translation::Kind::kNotYetMirrored);
}

TEST(PartitionMap, RefusesOffsetsBeforeTheMirrorsStartRatherThanSkipping) {
  PartitionMap m(40, 7);
  m.Add(40, 7);
  EXPECT_EQ(m.Translate(Offset(3)).kind, Translation::Kind::kBeforeMirrorStart);
}

TEST(PartitionMap, ReverseTranslationFindsTheSourcePosition) {
  PartitionMap m = Example();
  EXPECT_EQ(m.ReverseTranslate(Offset(100)), Offset(0));
  EXPECT_EQ(m.ReverseTranslate(Offset(104)), Offset(4));
  EXPECT_EQ(m.ReverseTranslate(Offset(105)), Offset(7));  // the marker: next record is source 7
  EXPECT_EQ(m.ReverseTranslate(Offset(109)), Offset(12));
  EXPECT_EQ(m.ReverseTranslate(Offset(110)), std::nullopt);
}

TEST(PartitionMap, KnowsWhichTargetOffsetsCameFromTheSource) {
  PartitionMap m = Example();
  EXPECT_TRUE(m.IsMirroredTarget(Offset(100)));
  EXPECT_TRUE(m.IsMirroredTarget(Offset(104)));
  EXPECT_FALSE(m.IsMirroredTarget(Offset(105)));
  EXPECT_TRUE(m.IsMirroredTarget(Offset(108)));
  EXPECT_FALSE(m.IsMirroredTarget(Offset(109)));
  EXPECT_FALSE(m.IsMirroredTarget(Offset(99)));
}

TEST(PartitionMap, RewindForgetsMappingsAtAndAfterTheResumePoint) {
  PartitionMap m = Example();
  m.RewindTo(3, 120);
  ASSERT_EQ(m.runs().size(), 1u);
  EXPECT_EQ(m.runs()[0], (OffsetRun{0, 100, 3}));
  EXPECT_EQ(m.progress(), 3);
  EXPECT_EQ(m.target_next(), 120);
  m.Add(3, 120);
  EXPECT_EQ(m.runs().size(), 2u);
  EXPECT_EQ(m.Translate(Offset(3)).target_offset, Offset(120));
}

TEST(PartitionMap, GapsAdvanceProgressAndAreKept) {
  PartitionMap m(0, 0);
  m.Add(0, 0);
  m.AddGap({1, 50});
  m.Add(50, 1);
  EXPECT_EQ(m.gaps().size(), 1u);
  EXPECT_EQ(m.Translate(Offset(20)).target_offset, Offset(1));
  EXPECT_EQ(m.progress(), 51);
}

TEST(PartitionMap, RebuildsFromPartsAndRejectsOverlaps) {
  std::string error;
  auto ok = PartitionMap::FromParts({{7, 106, 3}, {0, 100, 5}}, {}, 0, 12, 109, &error);
  ASSERT_TRUE(ok.has_value()) << error;
  EXPECT_EQ(ok->Translate(Offset(5)).target_offset, Offset(106));
  auto bad = PartitionMap::FromParts({{0, 100, 5}, {3, 200, 2}}, {}, 0, 12, 300, &error);
  EXPECT_FALSE(bad.has_value());
  EXPECT_NE(error.find("overlapping"), std::string::npos);
  auto past = PartitionMap::FromParts({{0, 100, 5}}, {}, 0, 4, 105, &error);
  EXPECT_FALSE(past.has_value());
}

}  // namespace
}  // namespace lifeline::mirror
