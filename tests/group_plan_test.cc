// The rules of a group move (mirror/internal/groups.h), one test per rule, on
// hand-built facts: no cluster. The last test runs gather and apply on the
// embedded mock, the way the drill moves groups there.
#include <gtest/gtest.h>

#include "core/sandbox.h"
#include "mirror/internal/groups.h"
#include "tests/test_support.h"

namespace lifeline::mirror {
namespace {

const TopicPartition kP0{Topic("t"), Partition(0)};
const TopicPartition kP1{Topic("t"), Partition(1)};
const TopicPartition kUnmapped{Topic("other"), Partition(0)};

// p0: source 0..9 -> target 100..109, progress 10.
// p1: source 0..4 -> target 0..4, 5..6 compacted away, 7 -> 5; progress 8.
MapSet Maps() {
  MapSet maps;
  PartitionMap p0(0, 100);
  for (int64_t s = 0; s < 10; ++s) p0.Add(s, 100 + s);
  maps.emplace(kP0, p0);
  PartitionMap p1(0, 0);
  for (int64_t s = 0; s < 5; ++s) p1.Add(s, s);
  p1.Add(7, 5);
  p1.Advance(8);
  maps.emplace(kP1, p1);
  return maps;
}

// A group nobody consumes, committed at `committed` on the source, with
// watermarks for every committed partition: source high 10, target high 110.
GroupFacts Idle(const std::string& group, std::map<TopicPartition, Offset> committed) {
  GroupFacts g;
  g.group = group;
  g.source.committed = std::move(committed);
  for (const auto& [tp, o] : g.source.committed) {
    g.source.watermarks[tp] = {Offset(0), Offset(10)};
    g.target.watermarks[tp] = {Offset(100), Offset(110)};
  }
  return g;
}

Facts FactsOf(std::vector<GroupFacts> groups) {
  Facts f;
  f.maps = Maps();
  f.groups = std::move(groups);
  return f;
}

GroupSyncPlan PlanOne(const GroupFacts& g, const PlanOptions& options = {}) {
  auto plans = Plan(FactsOf({g}), options);
  EXPECT_TRUE(plans.ok()) << plans.status().message();
  EXPECT_EQ(plans->size(), 1u);
  return plans->at(0);
}

GroupMember Member(std::string client_id, std::string host) {
  GroupMember m;
  m.member_id = client_id + "-1";
  m.client_id = std::move(client_id);
  m.host = std::move(host);
  return m;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Records what it was asked to commit; fails for one group if told to.
class RecordingCommitter : public GroupCommitter {
 public:
  Status Commit(const std::string& group,
                const std::map<TopicPartition, Offset>& offsets) override {
    if (group == fail_for) return Status::Infra("coordinator unavailable");
    commits[group] = offsets;
    return Status::Ok();
  }
  std::string fail_for;
  std::map<std::string, std::map<TopicPartition, Offset>> commits;
};

// Rule 1.
TEST(GroupPlan, RefusesTheWholeRequestWhenTheMirrorHasNoMap) {
  PlanOptions options;
  options.name = "eu";
  options.reverse = true;
  auto plans = Plan(Facts{}, options);
  ASSERT_FALSE(plans.ok());
  EXPECT_EQ(plans.status().code(), ExitCode::kUsage);
  EXPECT_TRUE(Contains(plans.status().message(), "lifeline mirror --reverse --name eu"))
      << plans.status().message();
}

// Rule 2.
TEST(GroupPlan, RefusesAGroupWithMembersOnTheTargetAndNamesEachOne) {
  GroupFacts g = Idle("app", {{kP0, Offset(4)}});
  g.target.members = {Member("still-running", "/10.0.0.7"), Member("other", "/10.0.0.8")};
  const GroupSyncPlan plan = PlanOne(g);
  EXPECT_TRUE(Contains(plan.refusal, "2 active member(s) on the target")) << plan.refusal;
  EXPECT_TRUE(Contains(plan.refusal, "still-running (/10.0.0.7), other (/10.0.0.8)"))
      << plan.refusal;
  EXPECT_TRUE(plan.commit.empty());
  ASSERT_EQ(plan.partitions.size(), 1u) << "partitions are still planned, to be shown";
  EXPECT_EQ(plan.partitions[0].target_offset, Offset(104));
}

// Rule 3.
TEST(GroupPlan, RefusesAGroupStillConsumingOnTheSource) {
  GroupFacts g = Idle("app", {{kP0, Offset(4)}});
  g.source.members = {Member("reader", "/10.0.0.9")};
  const GroupSyncPlan plan = PlanOne(g);
  EXPECT_TRUE(Contains(plan.refusal, "still has 1 active member(s) on the source")) << plan.refusal;
  EXPECT_TRUE(plan.commit.empty());
}

// Rules 2 and 3: the target's members are the ones to name.
TEST(GroupPlan, NamesTheTargetsMembersWhenBothSidesHaveSome) {
  GroupFacts g = Idle("app", {{kP0, Offset(4)}});
  g.source.members = {Member("reader", "/10.0.0.9")};
  g.target.members = {Member("writer", "/10.0.0.7")};
  EXPECT_TRUE(Contains(PlanOne(g).refusal, "writer (/10.0.0.7)"));
}

// Rule 4.
TEST(GroupPlan, RefusesAGroupWithoutCommittedOffsets) {
  const GroupSyncPlan plan = PlanOne(Idle("app", {}));
  EXPECT_EQ(plan.refusal, "group app has no committed offsets on the source");
  EXPECT_TRUE(plan.partitions.empty());
  EXPECT_TRUE(plan.commit.empty());
}

// Rules 5 and 8: one partition without a map refuses the group whole.
TEST(GroupPlan, RefusesTheWholeGroupWhenOnePartitionHasNoMap) {
  const GroupSyncPlan plan = PlanOne(Idle("app", {{kP0, Offset(4)}, {kUnmapped, Offset(3)}}));
  EXPECT_EQ(plan.refusal, "group app: not every partition can be moved exactly");
  ASSERT_EQ(plan.partitions.size(), 2u);
  const PartitionSyncPlan& unmapped = plan.partitions[0];  // "other" sorts first
  ASSERT_EQ(unmapped.where, kUnmapped);
  EXPECT_EQ(unmapped.problem, "other [0] 3: not mirrored (no offset map for this partition)");
  EXPECT_TRUE(plan.partitions[1].problem.empty());
  EXPECT_TRUE(plan.commit.empty()) << "not even the partition that could move";
}

// Rule 5: past the mirror's progress.
TEST(GroupPlan, RefusesACommitTheMirrorHasNotReachedYet) {
  const GroupSyncPlan plan = PlanOne(Idle("app", {{kP0, Offset(11)}}));
  ASSERT_EQ(plan.partitions.size(), 1u);
  EXPECT_EQ(plan.partitions[0].problem, "t [0] 11: not yet mirrored (mirror progress 10)");
  EXPECT_FALSE(plan.refusal.empty());
  EXPECT_TRUE(plan.commit.empty());
}

// Rule 5: before the first record the mirror read.
TEST(GroupPlan, RefusesACommitBeforeTheMirrorsFirstOffset) {
  Facts facts = FactsOf({Idle("app", {{kP0, Offset(2)}})});
  PartitionMap late(5, 200);
  late.Add(5, 200);
  facts.maps.insert_or_assign(kP0, late);
  auto plans = Plan(facts, {});
  ASSERT_TRUE(plans.ok());
  EXPECT_EQ((*plans)[0].partitions[0].problem,
            "t [0] 2: before the mirror's first offset (mirror progress 6)");
  EXPECT_FALSE((*plans)[0].refusal.empty());
}

// Rule 6.
TEST(GroupPlan, TranslatesEachPartitionExactlyAndShowsEachSidesLag) {
  const GroupSyncPlan plan = PlanOne(Idle("app", {{kP0, Offset(4)}, {kP1, Offset(6)}}));
  EXPECT_TRUE(plan.refusal.empty()) << plan.refusal;
  ASSERT_EQ(plan.partitions.size(), 2u);
  const PartitionSyncPlan& p0 = plan.partitions[0];
  EXPECT_EQ(p0.source_offset, Offset(4));
  EXPECT_EQ(p0.target_offset, Offset(104));
  EXPECT_EQ(p0.source_lag, 6);
  EXPECT_EQ(p0.target_lag, 6);
  // Inside the compaction gap: the next mirrored record, source 7 = target 5.
  EXPECT_EQ(plan.partitions[1].target_offset, Offset(5));
  EXPECT_EQ(plan.commit, (std::map<TopicPartition, Offset>{{kP0, Offset(104)}, {kP1, Offset(5)}}));
}

// Rule 6: watermarks the gatherer could not supply only hide the lag.
TEST(GroupPlan, MovesAGroupWhoseWatermarksAreUnknownWithoutALag) {
  GroupFacts g = Idle("app", {{kP0, Offset(4)}});
  g.source.watermarks.clear();
  g.target.watermarks.clear();
  const GroupSyncPlan plan = PlanOne(g);
  EXPECT_TRUE(plan.refusal.empty());
  EXPECT_EQ(plan.partitions[0].source_lag, -1);
  EXPECT_EQ(plan.partitions[0].target_lag, -1);
  EXPECT_EQ(plan.commit.at(kP0), Offset(104));
}

// Rule 7.
TEST(GroupPlan, DoesNotMoveATargetGroupBackwardsUnlessAllowed) {
  GroupFacts g = Idle("app", {{kP0, Offset(4)}});
  g.target.committed = {{kP0, Offset(108)}};
  const GroupSyncPlan refused = PlanOne(g);
  EXPECT_EQ(refused.partitions[0].problem,
            "the target group is already at 108, ahead of 104: not moved back (pass "
            "--allow-rewind)");
  EXPECT_EQ(refused.partitions[0].current_target, Offset(108));
  EXPECT_FALSE(refused.refusal.empty());
  EXPECT_TRUE(refused.commit.empty());

  PlanOptions rewind;
  rewind.allow_rewind = true;
  const GroupSyncPlan moved = PlanOne(g, rewind);
  EXPECT_TRUE(moved.refusal.empty()) << moved.refusal;
  EXPECT_EQ(moved.commit.at(kP0), Offset(104));
}

// Rule 7: only further on is a rewind.
TEST(GroupPlan, MovesAGroupAlreadyAtTheTranslatedOffsetOrBehindIt) {
  for (int64_t current : {104, 50}) {
    GroupFacts g = Idle("app", {{kP0, Offset(4)}});
    g.target.committed = {{kP0, Offset(current)}};
    const GroupSyncPlan plan = PlanOne(g);
    EXPECT_TRUE(plan.refusal.empty()) << current << ": " << plan.refusal;
    EXPECT_EQ(plan.commit.at(kP0), Offset(104));
  }
}

// Rule 9.
TEST(GroupPlan, DryRunPlansEveryPartitionAndCommitsNothing) {
  PlanOptions dry;
  dry.dry_run = true;
  auto plans = Plan(FactsOf({Idle("app", {{kP0, Offset(4)}})}), dry);
  ASSERT_TRUE(plans.ok());
  EXPECT_TRUE((*plans)[0].refusal.empty());
  EXPECT_EQ((*plans)[0].partitions[0].target_offset, Offset(104));
  EXPECT_TRUE((*plans)[0].commit.empty());
  RecordingCommitter committer;
  ASSERT_TRUE(Apply(*plans, committer).ok());
  EXPECT_TRUE(committer.commits.empty());
  EXPECT_FALSE((*plans)[0].applied);
  EXPECT_TRUE(Contains(DescribePlans(*plans, true), "group app: plan (dry run)"));
}

// Each group is decided alone.
TEST(GroupPlan, ARefusedGroupLeavesTheOthersToMove) {
  GroupFacts busy = Idle("busy", {{kP0, Offset(4)}});
  busy.target.members = {Member("app", "/h")};
  auto plans = Plan(FactsOf({busy, Idle("idle", {{kP1, Offset(2)}})}), {});
  ASSERT_TRUE(plans.ok());
  RecordingCommitter committer;
  ASSERT_TRUE(Apply(*plans, committer).ok());
  EXPECT_FALSE((*plans)[0].applied);
  EXPECT_TRUE((*plans)[1].applied);
  EXPECT_EQ(committer.commits.count("busy"), 0u);
  EXPECT_EQ(committer.commits.at("idle"), (std::map<TopicPartition, Offset>{{kP1, Offset(2)}}));
}

TEST(GroupPlan, ApplyStopsAtTheFirstFailedCommitAndKeepsWhatMoved) {
  auto plans = Plan(FactsOf({Idle("a", {{kP0, Offset(1)}}), Idle("b", {{kP0, Offset(2)}}),
                             Idle("c", {{kP0, Offset(3)}})}),
                    {});
  ASSERT_TRUE(plans.ok());
  RecordingCommitter committer;
  committer.fail_for = "b";
  Status st = Apply(*plans, committer);
  EXPECT_EQ(st.message(), "target: coordinator unavailable");
  EXPECT_TRUE((*plans)[0].applied);
  EXPECT_FALSE((*plans)[1].applied);
  EXPECT_FALSE((*plans)[2].applied);
  EXPECT_EQ(committer.commits.size(), 1u);
}

// Failback naming.
TEST(GroupPlan, AReverseMoveGoesTargetToSourceWithTheReverseMap) {
  GroupSyncOptions o;
  o.source = testing::ConfigFor("a:9092");
  o.target = testing::ConfigFor("b:9092");
  o.name = "eu";
  const MoveRoute forward = RouteFor(o);
  EXPECT_EQ(forward.from.bootstrap(), "a:9092");
  EXPECT_EQ(forward.to.bootstrap(), "b:9092");
  EXPECT_EQ(forward.map_name, "eu");
  EXPECT_FALSE(forward.reverse);
  o.reverse = true;
  const MoveRoute back = RouteFor(o);
  EXPECT_EQ(back.from.bootstrap(), "b:9092");
  EXPECT_EQ(back.to.bootstrap(), "a:9092");
  EXPECT_EQ(back.map_name, "eu.reverse");
  EXPECT_TRUE(back.reverse);
  EXPECT_TRUE(PlanOptionsFor(o).reverse);
  EXPECT_EQ(PlanOptionsFor(o).name, "eu") << "messages name the mirror as the user did";
}

TEST(GroupPlan, SelectsNamedGroupsAndMatchingOnesButNeverLifelinesOwn) {
  auto groups = SelectGroups({"named"}, "app.*", {"app-1", "_lifeline.mirror.eu", "billing"});
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, (std::vector<std::string>{"named", "app-1"}));
  auto lifeline_only = SelectGroups({}, ".*", {"_lifeline.mirror.eu"});
  EXPECT_EQ(lifeline_only.status().code(), ExitCode::kUsage);
  auto bad = SelectGroups({}, "(", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "is not a valid regular expression"));
}

// What `offsets translate` prints, from the same translation Plan uses.
TEST(GroupPlan, DescribesEachTranslationAsTheCliPrintsIt) {
  const MapSet maps = Maps();
  const auto all = TranslateAll(maps, {{kP0, Offset(4)}, {kP1, Offset(9)}, {kUnmapped, Offset(1)}});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(Describe(all[0]), "other [0] 1: not mirrored (no offset map for this partition)");
  EXPECT_FALSE(all[0].exact());
  EXPECT_EQ(Describe(all[1]), "t [0] 4 -> 104");
  EXPECT_TRUE(all[1].exact());
  EXPECT_EQ(Describe(all[2]), "t [1] 9: not yet mirrored (mirror progress 8)");
  EXPECT_EQ(TranslateOne(maps, kP0, Offset(4)).translation.target_offset, Offset(104));
}

TEST(GroupPlan, DescribesAMovedGroupWithBothLagsAndWhereItWas) {
  GroupFacts g = Idle("app", {{kP0, Offset(4)}});
  g.target.committed = {{kP0, Offset(101)}};
  auto plans = Plan(FactsOf({g}), {});
  ASSERT_TRUE(plans.ok());
  (*plans)[0].applied = true;
  EXPECT_EQ(DescribePlans(*plans, false),
            "group app: moved\n  t [0] source 4 (lag 6) -> target 104 (lag 6), was 101\n");
}

// The embedded mock has no DescribeGroups or offset admin API: the drill's
// way, through the same gather, plan and apply.
TEST(GroupMoveEmbedded, MovesAGroupAsANonMemberOnTheMock) {
  auto sandbox = EmbeddedSandbox::Start({"source", "target"});
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().message();
  for (const char* side : {"source", "target"}) {
    ASSERT_TRUE(sandbox->Find(side)->CreateTopic("t", 2).ok());
  }
  const ClientConfig source = testing::ConfigFor(sandbox->Find("source")->bootstrap());
  const ClientConfig target = testing::ConfigFor(sandbox->Find("target")->bootstrap());
  ASSERT_TRUE(
      CommitGroupOffsets(source, "app", {{kP0, Offset(4)}, {kP1, Offset(6)}}, Millis(10000)).ok());

  NonMemberGroupCluster from(source), to(target);
  auto facts = GatherFacts({"app"}, Maps(), from, to);
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  ASSERT_EQ(facts->groups.size(), 1u);
  EXPECT_EQ(facts->groups[0].source.committed.size(), 2u);
  auto plans = Plan(*facts, {});
  ASSERT_TRUE(plans.ok());
  ASSERT_TRUE((*plans)[0].refusal.empty()) << (*plans)[0].refusal;
  NonMemberGroupCommitter committer(target);
  ASSERT_TRUE(Apply(*plans, committer).ok());
  EXPECT_TRUE((*plans)[0].applied);

  auto moved = CommittedOffsets(target, "app", {kP0, kP1}, Millis(10000));
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  EXPECT_EQ(*moved, (std::map<TopicPartition, Offset>{{kP0, Offset(104)}, {kP1, Offset(5)}}));

  // Members the caller declares refuse the move, as on a real cluster.
  NonMemberGroupCluster busy(target, {{"app", {Member("drill-consumer", "/127.0.0.1")}}});
  auto again = GatherFacts({"app"}, Maps(), from, busy);
  ASSERT_TRUE(again.ok());
  auto refused = Plan(*again, {});
  ASSERT_TRUE(refused.ok());
  EXPECT_TRUE(Contains((*refused)[0].refusal, "drill-consumer (/127.0.0.1)"));
}

}  // namespace
}  // namespace lifeline::mirror
