// Repairing an offset map that no longer loads (two writers saved one
// partition's map, or an older lifeline wrote it): `lifeline offsets repair`.
//
// The rule, decided here without a cluster (PlanRepair), then applied by
// RepairMaps (mirror.h):
//   1. Keep the longest prefix of the stored runs, in source order, that is
//      consistent: positive lengths, at or after the map's start, disjoint
//      and increasing on both sides. Every later run is dropped, with the
//      gaps that reach past the prefix.
//   2. Progress moves back to the end of that prefix (the map's start if it
//      keeps no run): the next mirror run copies again from there. Nothing
//      the source holds is skipped.
//   3. The map's target end moves to the target partition's current end, so
//      the copies the map no longer describes (the dropped runs, and any
//      copy after them) lie behind every position at or after the cut: a
//      group moved there reads none of them. A group positioned before them
//      reads them as duplicates, as after an at-least-once crash; the repair
//      reports the target offsets they span.
//   4. A target partition that ends before the kept prefix does (records
//      vanished) cannot be repaired this way: an error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "core/types.h"
#include "mirror/internal/map_store.h"
#include "mirror/internal/offset_map.h"

namespace lifeline::mirror {

struct MapRepair {
  TopicPartition key;
  std::string problem;  // why the stored map does not load
  PartitionMap repaired;
  std::vector<OffsetRun> dropped_runs;
  std::vector<Gap> dropped_gaps;
  int64_t old_progress = 0;
  // Target offsets [undescribed_from, repaired.target_next()) that no
  // translated position points into: copies the map no longer describes.
  int64_t undescribed_from = 0;
};

// nullopt: the stored map loads as it is (nothing to repair).
// `target_end`: the target partition's high watermark now.
Result<std::optional<MapRepair>> PlanRepair(const TopicPartition& key, const StoredParts& parts,
                                            int64_t target_end);

// The offset-map records that turn `parts` into `repair.repaired`: the
// dropped runs and gaps removed, shortened runs rewritten, progress last.
std::vector<Record> RepairRecords(const std::string& name, const StoredParts& parts,
                                  const MapRepair& repair);

// One line for people, e.g. "prompt.lifecycle [0]: overlapping runs ...;
// progress 900 -> 400, 2 run(s) dropped, target [420, 1310) undescribed ...".
std::string Describe(const MapRepair& repair);

}  // namespace lifeline::mirror
