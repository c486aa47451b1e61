// Offset translation and consumer-group sync with a mirror's exact offset
// map: a group moved to the target resumes at exactly the first record it
// had not read on the source.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "mirror/map_store.h"
#include "mirror/offset_map.h"

namespace lifeline::mirror {

struct TranslatedOffset {
  PartitionKey key;
  int64_t source_offset = -1;
  Translation translation;  // kind and, when exact, the target offset
  bool mapped = true;       // false: the mirror has no map for this partition
  int64_t progress = -1;    // the mirror's progress on this partition
};

TranslatedOffset TranslateOne(const MapSet& maps, const PartitionKey& key, int64_t offset);

// One line per translation, e.g.
// "prompt.lifecycle [3] 1200 -> 1187" or "... 1200: not yet mirrored (progress 1100)".
std::string Describe(const TranslatedOffset& t);

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
  PartitionKey key;
  int64_t source_offset = -1;
  int64_t source_lag = -1;  // source high watermark - committed offset
  TranslatedOffset translated;
  int64_t target_offset = -1;   // the target offset to commit, when exact
  int64_t target_lag = -1;      // target high watermark - target offset
  int64_t current_target = -1;  // the group's committed offset on the target now, or -1
  std::string problem;          // why this partition is not synced ("" when fine)
};

struct GroupSyncPlan {
  std::string group;
  std::vector<PartitionSyncPlan> partitions;
  std::string refusal;  // the whole group was refused (e.g. active members on the target)
  bool applied = false;
};

// Plans (and unless dry_run, applies) the move of each group's committed
// offsets from the source to the target. A group is moved whole or not at
// all: it is refused when a partition cannot be translated exactly, when it
// still has members on the source, or when it has members on the target
// (named).
Result<std::vector<GroupSyncPlan>> SyncGroups(const GroupSyncOptions& options);

std::string DescribePlans(const std::vector<GroupSyncPlan>& plans, bool dry_run);

}  // namespace lifeline::mirror
