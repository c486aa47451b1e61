// The talking halves of a group move (mirror/internal/groups.h): gathering facts
// from clusters and committing plans. The rules are in group_plan.cc.
#include "mirror/internal/groups.h"

#include <fmt/format.h>

#include "mirror/mirror.h"

namespace lifeline::mirror {
namespace {

constexpr Millis kTimeout(15000);

std::vector<TopicPartition> MappedPartitions(const MapSet& maps) {
  std::vector<TopicPartition> out;
  out.reserve(maps.size());
  for (const auto& [tp, map] : maps) out.push_back(tp);
  return out;
}

// The order of requests (and so which error is reported first) is the
// one SyncGroups always had: committed offsets, members, watermarks.
Result<GroupFacts> GatherGroup(const std::string& group, const std::vector<TopicPartition>& mapped,
                               GroupCluster& source, GroupCluster& target) {
  GroupFacts g;
  g.group = group;
  LIFELINE_ASSIGN_OR_RETURN_CTX(g.source.committed, source.Committed(group, mapped), "source");
  LIFELINE_ASSIGN_OR_RETURN_CTX(g.target.committed, target.Committed(group, mapped), "target");
  LIFELINE_ASSIGN_OR_RETURN_CTX(g.target.members, target.Members(group), "target");
  LIFELINE_ASSIGN_OR_RETURN_CTX(g.source.members, source.Members(group), "source");
  for (const auto& [tp, offset] : g.source.committed) {
    LIFELINE_ASSIGN_OR_RETURN_CTX(g.source.watermarks[tp], source.Watermarks(tp), "source");
    LIFELINE_ASSIGN_OR_RETURN_CTX(g.target.watermarks[tp], target.Watermarks(tp), "target");
  }
  return g;
}

}  // namespace

// ------------------------------------------------------------ AdminGroupCluster

Result<std::vector<std::string>> AdminGroupCluster::ListGroups() {
  return admin_.ListGroups(kTimeout);
}

Result<std::map<TopicPartition, Offset>> AdminGroupCluster::Committed(
    const std::string& group, const std::vector<TopicPartition>& /*mapped*/) {
  // Every partition the group committed on, mapped or not: an unmapped one
  // must refuse the move, not be left behind.
  return admin_.ListGroupOffsets(group, {}, kTimeout);
}

Result<std::vector<GroupMember>> AdminGroupCluster::Members(const std::string& group) {
  LIFELINE_ASSIGN_OR_RETURN(GroupDescription desc, admin_.DescribeGroup(group, kTimeout));
  return std::move(desc.members);
}

Result<WatermarkOffsets> AdminGroupCluster::Watermarks(const TopicPartition& tp) {
  return admin_.Watermarks(tp, kTimeout);
}

// -------------------------------------------------------- NonMemberGroupCluster

Result<std::vector<std::string>> NonMemberGroupCluster::ListGroups() {
  return Status::Usage("this cluster cannot list consumer groups: name them with --group");
}

Result<std::map<TopicPartition, Offset>> NonMemberGroupCluster::Committed(
    const std::string& group, const std::vector<TopicPartition>& mapped) {
  return CommittedOffsets(config_, group, mapped, kTimeout);
}

Result<std::vector<GroupMember>> NonMemberGroupCluster::Members(const std::string& group) {
  auto it = members_.find(group);
  return it == members_.end() ? std::vector<GroupMember>{} : it->second;
}

Result<WatermarkOffsets> NonMemberGroupCluster::Watermarks(const TopicPartition& tp) {
  if (!admin_) {
    LIFELINE_ASSIGN_OR_RETURN(admin_, Admin::Create(config_));
  }
  return admin_->Watermarks(tp, kTimeout);
}

// ------------------------------------------------------------------ gather

Result<MapSet> LoadMoveMaps(const MoveRoute& route) {
  if (!route.reverse) return LoadRequiredMaps({route.to, ""}, route.map_name);
  // The reverse mirror writes to the source, so its map lives there.
  LIFELINE_ASSIGN_OR_RETURN_CTX(MapSet maps, LoadMapsFromTopic(route.to, route.map_name), "source");
  return maps;
}

Result<Facts> GatherFacts(const std::vector<std::string>& groups, MapSet maps, GroupCluster& source,
                          GroupCluster& target) {
  Facts facts;
  facts.maps = std::move(maps);
  const std::vector<TopicPartition> mapped = MappedPartitions(facts.maps);
  for (const std::string& group : groups) {
    LIFELINE_ASSIGN_OR_RETURN(GroupFacts g, GatherGroup(group, mapped, source, target));
    facts.groups.push_back(std::move(g));
  }
  return facts;
}

// ------------------------------------------------------------------- apply

Status AdminGroupCommitter::Commit(const std::string& group,
                                   const std::map<TopicPartition, Offset>& offsets) {
  return admin_.AlterGroupOffsets(group, offsets, kTimeout);
}

Status NonMemberGroupCommitter::Commit(const std::string& group,
                                       const std::map<TopicPartition, Offset>& offsets) {
  return CommitGroupOffsets(config_, group, offsets, kTimeout);
}

Status Apply(std::vector<GroupSyncPlan>& plans, GroupCommitter& committer) {
  for (GroupSyncPlan& plan : plans) {
    if (!plan.refusal.empty() || plan.commit.empty()) continue;
    LIFELINE_RETURN_IF_ERROR(committer.Commit(plan.group, plan.commit).WithContext("target"));
    plan.applied = true;
  }
  return Status::Ok();
}

// -------------------------------------------------------------- SyncGroups

Result<std::vector<GroupSyncPlan>> SyncGroups(const GroupSyncOptions& options) {
  LIFELINE_RETURN_IF_ERROR(ValidateMirrorName(options.name));
  const MoveRoute route = RouteFor(options);
  LIFELINE_ASSIGN_OR_RETURN_CTX(std::unique_ptr<Admin> from_admin, Admin::Create(route.from),
                                "source");
  LIFELINE_ASSIGN_OR_RETURN_CTX(std::unique_ptr<Admin> to_admin, Admin::Create(route.to), "target");
  AdminGroupCluster source(*from_admin), target(*to_admin);
  std::vector<std::string> all;
  if (!options.groups_regex.empty()) {
    LIFELINE_ASSIGN_OR_RETURN_CTX(all, source.ListGroups(), "source");
  }
  LIFELINE_ASSIGN_OR_RETURN(auto groups, SelectGroups(options.groups, options.groups_regex, all));
  LIFELINE_ASSIGN_OR_RETURN(MapSet maps, LoadMoveMaps(route));
  const PlanOptions plan_options = PlanOptionsFor(options);
  if (maps.empty()) return Plan({}, plan_options).status();  // says which mirror to run
  LIFELINE_ASSIGN_OR_RETURN(Facts facts, GatherFacts(groups, std::move(maps), source, target));
  LIFELINE_ASSIGN_OR_RETURN(auto plans, Plan(facts, plan_options));
  AdminGroupCommitter committer(*to_admin);
  LIFELINE_RETURN_IF_ERROR(Apply(plans, committer));
  return plans;
}

Result<std::vector<GroupSyncPlan>> SyncGroupsAsNonMember(const GroupSyncOptions& options) {
  const MoveRoute route = RouteFor(options);
  LIFELINE_ASSIGN_OR_RETURN(MapSet maps, LoadMoveMaps(route));
  NonMemberGroupCluster from(route.from), to(route.to);
  LIFELINE_ASSIGN_OR_RETURN(Facts facts, GatherFacts(options.groups, std::move(maps), from, to));
  LIFELINE_ASSIGN_OR_RETURN(std::vector<GroupSyncPlan> plans, Plan(facts, PlanOptionsFor(options)));
  NonMemberGroupCommitter committer(route.to);
  LIFELINE_RETURN_IF_ERROR(Apply(plans, committer));
  return plans;
}

// -------------------------------------------------------------- translation

Result<std::vector<TranslatedOffset>> TranslateGroup(const MapSet& maps, const ClientConfig& source,
                                                     const std::string& group) {
  LIFELINE_ASSIGN_OR_RETURN(std::unique_ptr<Admin> admin, Admin::Create(source));
  AdminGroupCluster cluster(*admin);
  LIFELINE_ASSIGN_OR_RETURN_CTX(auto committed, cluster.Committed(group, {}), "source");
  if (committed.empty()) return Status::Usage("group " + group + " has no committed offsets");
  return TranslateAll(maps, committed);
}

}  // namespace lifeline::mirror
