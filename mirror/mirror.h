// mirror: copy lifecycle topics from a source cluster to a target, keeping
// partition, key, value, headers and timestamp, while recording the exact
// offset map (mirror/internal/offset_map.h) so consumer groups can move
// without re-reading or skipping a record. Also offset translation and group
// sync. This is the module's public header; the rest is in internal/.
//
// Entry points run on the calling thread and return when done, on an error,
// or (follow mode) after SIGINT/SIGTERM; they never exit the process.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/kafka.h"
#include "core/status.h"
#include "core/types.h"
// The map's type is part of the API: verify aligns records with it.
#include "mirror/internal/offset_map.h"

namespace lifeline::mirror {

// The compacted topic on the target that holds every mirror's offset maps
// (mirror/internal/map_store.h describes its records).
inline constexpr const char* kOffsetMapTopic = "_lifeline.offset-map";

// Every partition map of one mirror.
using MapSet = std::map<TopicPartition, PartitionMap>;

struct MirrorOptions {
  ClientConfig source;
  ClientConfig target;
  std::string topics;  // ECMAScript regex, matched against the whole topic name
  std::string name = "default";
  bool create_topics = false;
  bool exactly_once = false;
  bool follow = false;  // otherwise stop when caught up with the start's high watermarks
  bool allow_gaps = false;
  std::string state_dir = ".lifeline";
  size_t batch_records = 20000;        // records per flush (or per transaction)
  int rescan_seconds = 10;             // follow mode: look for new topics and partitions
  int64_t max_records_per_second = 0;  // 0: unlimited; otherwise spare busy clusters
  // Failback: copy target → source only the records that did not come from
  // the source (mirror `name`'s map on the target says which). The reverse
  // mirror keeps its own map, named NAME.reverse, on the source cluster.
  bool reverse = false;
  // Read topic configs (to copy them and compare cleanup policies). Off for
  // the embedded sandbox, whose mock cluster never answers DescribeConfigs.
  bool read_configs = true;
};

struct PartitionSummary {
  std::string topic;
  int32_t partition = 0;
  int64_t records = 0;  // mirrored by this run
  int64_t bytes = 0;
  int64_t source_first = -1, source_last = -1;  // offsets mirrored by this run
  int64_t target_first = -1, target_last = -1;
  int64_t runs = 0;                 // runs in the whole map
  std::vector<Gap> gaps;            // gaps recorded by this run
  int64_t possible_duplicates = 0;  // target records written after the last saved progress
  int64_t already_present = 0;      // reverse: records that came from the other side, not copied
  int64_t skipped = 0;  // reverse: resent copies or pre-mirror records, not born after cutover
};

struct MirrorSummary {
  std::string name;
  bool exactly_once = false;
  std::vector<std::string> topics;
  std::map<std::string, std::map<std::string, std::string>> copied_configs;  // topic → configs
  std::vector<std::string> created_topics;
  std::vector<std::string> warnings;
  std::vector<PartitionSummary> partitions;
  int64_t records = 0;
  int64_t bytes = 0;
  double seconds = 0;
};

// Progress for people: called about once a second from the mirror's thread.
struct MirrorProgress {
  int64_t records = 0;
  int64_t bytes = 0;
  double seconds = 0;
  int64_t remaining = -1;  // records (offsets) left to the last known high watermarks
};
using ProgressFn = std::function<void(const MirrorProgress&)>;

// Mirrors until caught up (or, with `follow`, until interrupted). On an
// error the summary so far is lost; the durable state stays consistent.
Result<MirrorSummary> Run(const MirrorOptions& options, const ProgressFn& progress = nullptr);

// The summary as a JSON value (for callers that embed it, such as the
// drill's evidence) and as the text `--summary-json` writes.
nlohmann::ordered_json SummaryToJson(const MirrorSummary& summary);
std::string SummaryJson(const MirrorSummary& summary);

// `options` spelled as `lifeline mirror` arguments (those after the
// subcommand name): the one place a mirror run becomes a command line, kept
// to the CLI's parser by tests/drill_mirror_args_test.cc. options.source and
// .target are not spelled: `clusters` says where they come from, as the CLI
// takes them (kept as given, so a secret in a property file never reaches a
// child's argv). rescan_seconds, which has no flag, must be the default.
std::vector<std::string> MirrorArgs(const MirrorOptions& options, const TwoClusterInputs& clusters);

// The name under which the reverse (failback) mirror of `name` keeps its map.
std::string ReverseName(const std::string& name);

// Where the offset maps of a mirror are read from: the target's offset-map
// topic (when `target` has a bootstrap) or the local cache in `state_dir`.
struct MapSource {
  ClientConfig target;
  std::string state_dir = ".lifeline";
};
Result<MapSet> LoadMaps(const MapSource& from, const std::string& name);

// LoadMaps for a command that cannot work without them: no map of `name` is
// a usage error that lists the mirror names the target does hold maps for
// (a forgotten or misspelt --name must not read as a divergence).
Result<MapSet> LoadRequiredMaps(const MapSource& from, const std::string& name);

// ------------------------------------------------------------- map repair

// `lifeline offsets repair`: a map that no longer loads (two writers saved one
// partition's map) is cut back to its longest consistent prefix; the rule is
// in mirror/internal/map_repair.h. Refuses while a process of the mirror is
// a member of its source group; takes every partition's map writer (which
// fences any process still writing) before its final read, so nothing
// writes the map meanwhile.
struct RepairOptions {
  ClientConfig source;  // where the mirror's group shows running processes
  ClientConfig target;  // where the map lives
  std::string name = "default";
  bool dry_run = false;
};

struct RepairReport {
  int partitions = 0;              // partitions the mirror has maps of
  std::vector<std::string> lines;  // one per partition repaired (or, dry run, to repair)
};

Result<RepairReport> RepairMaps(const RepairOptions& options);

// ------------------------------------------------------ offset translation

struct TranslatedOffset {
  TopicPartition where;
  Offset source_offset{-1};
  Translation translation;  // kind and, when exact, the target offset
  bool mapped = true;       // false: the mirror has no map for this partition
  Offset progress{-1};      // the mirror's progress on this partition
  bool exact() const { return mapped && translation.kind == Translation::Kind::kExact; }
};

TranslatedOffset TranslateOne(const MapSet& maps, const TopicPartition& where, Offset offset);

// Every committed offset of a group, in partition order.
std::vector<TranslatedOffset> TranslateAll(const MapSet& maps,
                                           const std::map<TopicPartition, Offset>& committed);

// Every partition `group` committed on `source` (through its admin API),
// translated. A group without committed offsets is a usage error.
Result<std::vector<TranslatedOffset>> TranslateGroup(const MapSet& maps, const ClientConfig& source,
                                                     const std::string& group);

// One line per translation, e.g.
// "prompt.lifecycle [3] 1200 -> 1187" or "... 1200: not yet mirrored (progress 1100)".
std::string Describe(const TranslatedOffset& t);

// ------------------------------------------------------------- group moves

// A move of consumer groups with a mirror's map; the rules a move follows
// are listed in mirror/internal/groups.h.
struct GroupSyncOptions {
  ClientConfig source;
  ClientConfig target;
  std::string name = "default";     // the mirror whose map translates
  std::vector<std::string> groups;  // explicit group ids
  std::string groups_regex;         // or every source group matching this
  bool dry_run = false;
  bool allow_rewind = false;  // permit moving a target group backwards
  // Failback: move groups from the target back to the source with the
  // reverse mirror's map (NAME.reverse, kept on the source).
  bool reverse = false;
};

struct PartitionSyncPlan {
  TopicPartition where;
  Offset source_offset{-1};
  int64_t source_lag = -1;  // source high watermark - committed offset; -1: unknown
  TranslatedOffset translated;
  Offset target_offset{-1};              // the target offset to commit, when exact
  int64_t target_lag = -1;               // target high watermark - target offset; -1: unknown
  std::optional<Offset> current_target;  // the group's committed offset on the target now
  std::string problem;                   // why this partition is not synced ("" when fine)
};

struct GroupSyncPlan {
  std::string group;
  std::vector<PartitionSyncPlan> partitions;
  std::string refusal;  // the whole group was refused (e.g. active members on the target)
  // What Apply commits: every partition of a group that is not refused,
  // unless it is a dry run.
  std::map<TopicPartition, Offset> commit;
  bool applied = false;  // set by Apply
};

// Real clusters: resolves the groups, gathers, plans, and unless dry_run
// applies with AlterConsumerGroupOffsets. A group is moved whole or not at
// all.
Result<std::vector<GroupSyncPlan>> SyncGroups(const GroupSyncOptions& options);

// The same plan for a cluster without the admin group APIs (the embedded
// sandbox: no ListGroups, DescribeGroups or offset admin), for the explicit
// `options.groups` only: offsets are read and committed as a non-member.
// Such a cluster cannot say who is a member, so none is assumed: only
// correct when the caller knows (the drill stops every consumer first).
Result<std::vector<GroupSyncPlan>> SyncGroupsAsNonMember(const GroupSyncOptions& options);

std::string DescribePlans(const std::vector<GroupSyncPlan>& plans, bool dry_run);

}  // namespace lifeline::mirror
