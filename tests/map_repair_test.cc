#include "mirror/internal/map_repair.h"

#include <gtest/gtest.h>

namespace lifeline::mirror {
namespace {

const TopicPartition kKey{Topic("prompt.lifecycle"), Partition(0)};

StoredParts Parts(int64_t source_start, int64_t progress, int64_t target_next,
                  const std::vector<OffsetRun>& runs, const std::vector<Gap>& gaps = {}) {
  StoredParts p;
  p.has_meta = true;
  p.source_start = source_start;
  p.progress = progress;
  p.target_next = target_next;
  for (const OffsetRun& r : runs) p.runs[r.source_start] = r;
  for (const Gap& g : gaps) p.gaps[g.from] = g;
  return p;
}

// Two writers: the first copied source [0, 100) to target [0, 100); a
// zombie copied [50, 120) again to target [100, 170), and its progress won.
StoredParts TwoWriters() { return Parts(0, 120, 170, {{0, 0, 100}, {50, 100, 70}}); }

TEST(MapRepair, AConsistentMapNeedsNoRepair) {
  auto plan = PlanRepair(kKey, Parts(0, 100, 100, {{0, 0, 60}, {62, 60, 38}}), 100);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_FALSE(plan->has_value());
}

TEST(MapRepair, OverlappingRunsAreCutBackToTheConsistentPrefix) {
  auto plan = PlanRepair(kKey, TwoWriters(), 170);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_TRUE(plan->has_value());
  const MapRepair& r = **plan;
  EXPECT_NE(r.problem.find("overlapping runs: source [0, 100) at target [0, 100) and source "
                           "[50, 120) at target [100, 170)"),
            std::string::npos)
      << r.problem;
  ASSERT_EQ(r.repaired.runs().size(), 1u);
  EXPECT_EQ(r.repaired.runs()[0], (OffsetRun{0, 0, 100}));
  EXPECT_EQ(r.repaired.progress(), 100);  // the next run copies again from 100
  ASSERT_EQ(r.dropped_runs.size(), 1u);
  EXPECT_EQ(r.old_progress, 120);
  // The zombie's copies stay on the target, behind the cut.
  EXPECT_EQ(r.undescribed_from, 100);
  EXPECT_EQ(r.repaired.target_next(), 170);
}

// The edge: a group that committed exactly at the cut resumes after every
// copy the map no longer describes (it re-reads none of them) and reads the
// next mirror run's copies (it skips none).
TEST(MapRepair, AGroupAtTheCutResumesPastTheUndescribedCopies) {
  auto plan = PlanRepair(kKey, TwoWriters(), 175);  // 5 more copies after the map's end
  ASSERT_TRUE(plan.ok() && plan->has_value());
  const PartitionMap& m = (*plan)->repaired;
  EXPECT_EQ(m.target_next(), 175);
  Translation at_cut = m.Translate(Offset(100));
  ASSERT_EQ(at_cut.kind, Translation::Kind::kExact);
  EXPECT_EQ(at_cut.target_offset.value(), 175);
  Translation inside = m.Translate(Offset(40));
  ASSERT_EQ(inside.kind, Translation::Kind::kExact);
  EXPECT_EQ(inside.target_offset.value(), 40);
  EXPECT_EQ(m.Translate(Offset(101)).kind, Translation::Kind::kNotYetMirrored);
}

TEST(MapRepair, GapsPastTheCutAreDroppedAndEarlierOnesKept) {
  auto plan = PlanRepair(
      kKey, Parts(0, 200, 170, {{0, 0, 40}, {60, 40, 60}, {100, 90, 50}}, {{40, 60}, {150, 160}}),
      170);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  const MapRepair& r = **plan;
  EXPECT_EQ(r.repaired.progress(), 120);
  ASSERT_EQ(r.repaired.gaps().size(), 1u);
  EXPECT_EQ(r.repaired.gaps()[0], (Gap{40, 60}));
  ASSERT_EQ(r.dropped_gaps.size(), 1u);
  EXPECT_EQ(r.dropped_gaps[0], (Gap{150, 160}));
}

TEST(MapRepair, RunsWithoutAProgressRecordAreAllDropped) {
  StoredParts p;
  p.runs[10] = {10, 0, 5};
  auto plan = PlanRepair(kKey, p, 5);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  EXPECT_EQ((*plan)->problem, "runs but no progress record");
  EXPECT_TRUE((*plan)->repaired.runs().empty());
  EXPECT_EQ((*plan)->repaired.progress(), 10);
  EXPECT_EQ((*plan)->repaired.target_next(), 5);
  EXPECT_EQ((*plan)->undescribed_from, 0);
}

TEST(MapRepair, ATargetThatLostKeptCopiesIsNotRepairedByCutting) {
  auto plan = PlanRepair(kKey, TwoWriters(), 80);  // the target ends inside the first run
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ExitCode::kInfrastructure);
  EXPECT_NE(plan.status().message().find("ends at 80"), std::string::npos)
      << plan.status().message();
}

TEST(MapRepair, RecordsRemoveDroppedRunsAndWriteProgressLast) {
  StoredParts p = TwoWriters();
  auto plan = PlanRepair(kKey, p, 170);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  std::vector<Record> records = RepairRecords("eu", p, **plan);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(*records[0].key, "eu/prompt.lifecycle/0/run/50");
  EXPECT_FALSE(records[0].value.has_value());
  EXPECT_EQ(*records[1].key, "eu/prompt.lifecycle/0/meta");
  EXPECT_EQ(*records[1].value, R"({"source_start":0,"progress":100,"target_next":170})");
}

TEST(MapRepair, ARunCutAtTheProgressIsRewrittenAtItsVouchedLength) {
  // The stored run reaches past the progress that vouched for it (a later
  // update in flight when the writers clashed).
  StoredParts p = Parts(0, 120, 170, {{0, 0, 100}, {50, 100, 90}});
  auto plan = PlanRepair(kKey, p, 190);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  EXPECT_EQ((*plan)->dropped_runs[0].length, 70);
  std::vector<Record> records = RepairRecords("eu", p, **plan);
  EXPECT_EQ(*records[0].key, "eu/prompt.lifecycle/0/run/50");
  EXPECT_FALSE(records[0].value.has_value());
}

TEST(MapRepair, DescribeNamesTheProblemTheMoveAndTheUndescribedRange) {
  auto plan = PlanRepair(kKey, TwoWriters(), 170);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  std::string line = Describe(**plan);
  EXPECT_NE(line.find("prompt.lifecycle [0]: overlapping runs"), std::string::npos) << line;
  EXPECT_NE(line.find("progress 120 -> 100, 1 run(s) dropped"), std::string::npos) << line;
  EXPECT_NE(line.find("target [100, 170) undescribed"), std::string::npos) << line;
}

// The possible-duplicates count travels with the map: the encoder writes
// it into the meta record (and writes the meta again when only the count
// moved), and a repair keeps it.
TEST(MapStore, ThePossibleDuplicatesCountIsSavedInTheMetaAndKeptByARepair) {
  MapEncoder encoder("eu");
  PartitionMap map(0, 0);
  map.Add(0, 0);
  std::vector<Record> first;
  encoder.Encode(kKey, map, &first);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(*first.back().key, "eu/prompt.lifecycle/0/meta");
  EXPECT_EQ(first.back().value->find("possible_duplicates"), std::string::npos)
      << "no count, no field: " << *first.back().value;

  map.CountPossibleDuplicates(7);
  std::vector<Record> second;
  encoder.Encode(kKey, map, &second);
  ASSERT_EQ(second.size(), 1u) << "only the meta changed";
  EXPECT_EQ(*second[0].value,
            R"({"source_start":0,"progress":1,"target_next":1,"possible_duplicates":7})");

  StoredParts p = TwoWriters();
  p.possible_duplicates = 7;
  auto plan = PlanRepair(kKey, p, 170);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  std::vector<Record> repaired = RepairRecords("eu", p, **plan);
  EXPECT_EQ(*repaired.back().value,
            R"({"source_start":0,"progress":100,"target_next":170,"possible_duplicates":7})");
}

}  // namespace
}  // namespace lifeline::mirror
