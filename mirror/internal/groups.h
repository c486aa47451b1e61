// How consumer groups move with a mirror's exact offset map (the options,
// plans and entry points are in mirror/mirror.h): a group moved to the
// target resumes at exactly the first record it had not read on the source.
//
// A move is three steps, so the rules can be tested without Kafka and the
// same rules serve every kind of cluster:
//   gather  GatherFacts reads committed offsets, members and watermarks of
//           both sides through a GroupCluster (admin APIs on real clusters,
//           consumer handles that never join on the embedded mock);
//   plan    Plan(Facts, PlanOptions) decides everything and talks to no one;
//   apply   Apply commits each planned group through a GroupCommitter (admin
//           AlterConsumerGroupOffsets, or a commit as a non-member).
// SyncGroups does all three for real clusters, SyncGroupsAsNonMember for
// the embedded sandbox.
//
// The rules Plan holds, in the order it applies them to each group (the
// first refusal wins; every partition is still planned so it can be shown):
//   1. No offset map of the mirror at all: a usage error for the whole
//      request (with --reverse: run `lifeline mirror --reverse` first).
//   2. Members on the target: the group is refused, each member named by
//      client id and host (two sets of consumers would share it).
//   3. Members on the source: refused; the offsets would be stale at once.
//   4. No committed offsets on the source: refused.
//   5. A partition with no map, or whose committed offset the map cannot
//      translate exactly (not yet mirrored, before the mirror's first
//      offset): that partition has a problem.
//   6. Exact: the target offset is T(C). Lags are shown per side, each from
//      its own cluster's high watermark, when the watermark is known.
//   7. Rewind: a group already further on the target is not moved back
//      (a problem) unless allow_rewind; an equal offset is fine.
//   8. All or nothing: any partition with a problem refuses the whole group
//      (a half-moved group would start the rest from its reset policy).
//   9. Dry run: nothing is committed; otherwise every partition of each
//      group that is not refused is committed in one request.
// And RouteFor, for --reverse (failback): groups move target → source, with
// the reverse mirror's map NAME.reverse, which lives on the source cluster.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/kafka.h"
#include "core/status.h"
#include "mirror/internal/map_store.h"
#include "mirror/internal/offset_map.h"
#include "mirror/mirror.h"

namespace lifeline::mirror {

// ----------------------------------------------------------------- routes

// Which way a move goes. `from` is the side the groups leave and `to` the
// side they join; below, "source" and "target" always mean those.
struct MoveRoute {
  ClientConfig from;
  ClientConfig to;
  std::string map_name;  // NAME, or NAME.reverse for a failback
  bool reverse = false;
};
MoveRoute RouteFor(const GroupSyncOptions& options);

// The explicit groups, then every group in `all` that matches `regex` (when
// given), never lifeline's own `_lifeline.` groups. None is a usage error.
Result<std::vector<std::string>> SelectGroups(const std::vector<std::string>& explicit_groups,
                                              const std::string& regex,
                                              const std::vector<std::string>& all);

// ------------------------------------------------------------------ facts

// What one cluster says about one group.
struct GroupSide {
  std::map<TopicPartition, Offset> committed;  // partitions without a commit are absent
  std::vector<GroupMember> members;            // active members now
  // Of the partitions the group committed on the source; absent: unknown
  // (the lag is then not shown).
  std::map<TopicPartition, WatermarkOffsets> watermarks;
};

struct GroupFacts {
  std::string group;
  GroupSide source;
  GroupSide target;
};

struct Facts {
  MapSet maps;  // the route's map
  std::vector<GroupFacts> groups;
};

struct PlanOptions {
  std::string name = "default";  // the mirror as the user named it (for messages)
  bool dry_run = false;
  bool allow_rewind = false;
  bool reverse = false;
};
PlanOptions PlanOptionsFor(const GroupSyncOptions& options);

// ------------------------------------------------------------------- plan

// Pure: the rules listed at the top of this file. Fails only for rule 1.
Result<std::vector<GroupSyncPlan>> Plan(const Facts& facts, const PlanOptions& options);

// ----------------------------------------------------------------- gather

// The read side of one cluster for a move. Not thread-safe.
class GroupCluster {
 public:
  virtual ~GroupCluster() = default;
  virtual Result<std::vector<std::string>> ListGroups() = 0;
  // `mapped`: the partitions the map covers, for a cluster that cannot list
  // the partitions a group committed on (it reads these instead).
  virtual Result<std::map<TopicPartition, Offset>> Committed(
      const std::string& group, const std::vector<TopicPartition>& mapped) = 0;
  virtual Result<std::vector<GroupMember>> Members(const std::string& group) = 0;
  virtual Result<WatermarkOffsets> Watermarks(const TopicPartition& tp) = 0;
};

// A real cluster through its admin APIs (ListConsumerGroupOffsets of every
// partition the group committed on, DescribeGroups). Borrows `admin`.
class AdminGroupCluster : public GroupCluster {
 public:
  explicit AdminGroupCluster(Admin& admin) : admin_(admin) {}
  Result<std::vector<std::string>> ListGroups() override;
  Result<std::map<TopicPartition, Offset>> Committed(
      const std::string& group, const std::vector<TopicPartition>& mapped) override;
  Result<std::vector<GroupMember>> Members(const std::string& group) override;
  Result<WatermarkOffsets> Watermarks(const TopicPartition& tp) override;

 private:
  Admin& admin_;
};

// A cluster without the admin group APIs (the embedded mock: no
// ListGroups, DescribeGroups or ListConsumerGroupOffsets). Committed
// offsets of the mapped partitions are read through a consumer handle that
// never joins. The cluster cannot say who is a member, so the caller says:
// `members` by group, none for a group it does not name. Only correct when
// the caller knows (the drill stops every consumer it started first).
class NonMemberGroupCluster : public GroupCluster {
 public:
  explicit NonMemberGroupCluster(ClientConfig config,
                                 std::map<std::string, std::vector<GroupMember>> members = {})
      : config_(std::move(config)), members_(std::move(members)) {}
  Result<std::vector<std::string>> ListGroups() override;
  Result<std::map<TopicPartition, Offset>> Committed(
      const std::string& group, const std::vector<TopicPartition>& mapped) override;
  Result<std::vector<GroupMember>> Members(const std::string& group) override;
  Result<WatermarkOffsets> Watermarks(const TopicPartition& tp) override;

 private:
  ClientConfig config_;
  std::map<std::string, std::vector<GroupMember>> members_;
  std::unique_ptr<Admin> admin_;  // for watermarks, made on first use
};

// The route's map: forward maps are required (no map of NAME is a usage
// error listing the names there are); a reverse map is read from the
// source cluster, and may be missing (Plan says what to run).
Result<MapSet> LoadMoveMaps(const MoveRoute& route);

// Facts of `groups` from both sides (`source`: the side they leave).
Result<Facts> GatherFacts(const std::vector<std::string>& groups, MapSet maps, GroupCluster& source,
                          GroupCluster& target);

// ------------------------------------------------------------------ apply

// Where a planned move is committed. Not thread-safe.
class GroupCommitter {
 public:
  virtual ~GroupCommitter() = default;
  virtual Status Commit(const std::string& group,
                        const std::map<TopicPartition, Offset>& offsets) = 0;
};

// AlterConsumerGroupOffsets (real clusters). Borrows `admin`.
class AdminGroupCommitter : public GroupCommitter {
 public:
  explicit AdminGroupCommitter(Admin& admin) : admin_(admin) {}
  Status Commit(const std::string& group, const std::map<TopicPartition, Offset>& offsets) override;

 private:
  Admin& admin_;
};

// A commit with the group's id from a consumer that never subscribes: what
// a cluster without the offset admin API (the embedded mock) accepts while
// the group has no members.
class NonMemberGroupCommitter : public GroupCommitter {
 public:
  explicit NonMemberGroupCommitter(ClientConfig config) : config_(std::move(config)) {}
  Status Commit(const std::string& group, const std::map<TopicPartition, Offset>& offsets) override;

 private:
  ClientConfig config_;
};

// Commits each plan's `commit` (skipping refused groups and dry runs) and
// marks it applied. Stops at the first error; the groups before it stay
// moved and say so.
Status Apply(std::vector<GroupSyncPlan>& plans, GroupCommitter& committer);

}  // namespace lifeline::mirror
