#include "mirror/internal/map_repair.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/kafka.h"
#include "mirror/mirror.h"

namespace lifeline::mirror {
namespace {

std::vector<Gap> StoredGaps(const StoredParts& parts) {
  std::vector<Gap> gaps;
  for (const auto& [from, g] : parts.gaps) gaps.push_back(g);
  return gaps;
}

// Why the stored parts do not load, or "" when they do.
std::string Problem(const StoredParts& parts) {
  if (!parts.has_meta) {
    return parts.runs.empty() && parts.gaps.empty() ? "" : "runs but no progress record";
  }
  std::string error;
  if (PartitionMap::FromParts(VouchedRuns(parts), StoredGaps(parts), parts.source_start,
                              parts.progress, parts.target_next, &error)) {
    return "";
  }
  return error;
}

}  // namespace

Result<std::optional<MapRepair>> PlanRepair(const TopicPartition& key, const StoredParts& parts,
                                            int64_t target_end) {
  std::string problem = Problem(parts);
  if (problem.empty()) return std::optional<MapRepair>();

  // Without a progress record no run is vouched for: keep none, and start
  // where the earliest run did.
  std::vector<OffsetRun> runs;
  int64_t source_start = parts.source_start;
  if (parts.has_meta) {
    runs = VouchedRuns(parts);
  } else {
    for (const auto& [s, r] : parts.runs) runs.push_back(r);
    source_start = runs.empty() ? 0 : runs.front().source_start;
  }
  MapRepair repair;
  repair.key = key;
  repair.problem = problem;
  repair.old_progress = parts.has_meta ? parts.progress : source_start;

  std::vector<OffsetRun> kept;
  size_t i = 0;
  if (parts.has_meta) {
    for (; i < runs.size(); ++i) {
      const OffsetRun& r = runs[i];
      const bool fits = r.length > 0 && r.source_start >= source_start && r.target_start >= 0 &&
                        (kept.empty() || (r.source_start >= kept.back().source_end() &&
                                          r.target_start >= kept.back().target_end()));
      if (!fits) break;
      kept.push_back(r);
    }
  }
  repair.dropped_runs.assign(runs.begin() + static_cast<std::ptrdiff_t>(i), runs.end());
  const int64_t progress = kept.empty() ? source_start : kept.back().source_end();
  std::vector<Gap> gaps;
  for (const Gap& g : StoredGaps(parts)) {
    (g.to <= progress ? gaps : repair.dropped_gaps).push_back(g);
  }
  const int64_t kept_end = kept.empty() ? 0 : kept.back().target_end();
  if (target_end < kept_end) {
    return Status::Infra(fmt::format(
        "map of {} [{}]: the target partition ends at {}, before the copies the map's first "
        "{} run(s) describe (up to {}): records vanished from the target, so the map cannot be "
        "repaired by cutting it; mirror again under a new --name",
        key.topic.value(), key.partition.value(), target_end, kept.size(), kept_end));
  }
  repair.undescribed_from = kept_end;
  if (kept.empty()) {
    repair.undescribed_from = target_end;
    for (const OffsetRun& r : repair.dropped_runs) {
      repair.undescribed_from =
          std::min(repair.undescribed_from, std::max<int64_t>(0, r.target_start));
    }
    if (parts.has_meta)
      repair.undescribed_from = std::min(repair.undescribed_from, parts.target_next);
  }
  std::string error;
  auto map = PartitionMap::FromParts(std::move(kept), std::move(gaps), source_start, progress,
                                     target_end, &error);
  if (!map) {
    return Status::Infra(fmt::format("map of {} [{}]: the repaired map is still inconsistent: {}",
                                     key.topic.value(), key.partition.value(), error));
  }
  repair.repaired = std::move(*map);
  return std::optional<MapRepair>(std::move(repair));
}

std::vector<Record> RepairRecords(const std::string& name, const StoredParts& parts,
                                  const MapRepair& repair) {
  const std::string prefix = MapKeyPrefix(name, repair.key);
  std::vector<Record> out;
  std::map<int64_t, const OffsetRun*> kept;
  for (const OffsetRun& r : repair.repaired.runs()) kept[r.source_start] = &r;
  for (const auto& [s, stored] : parts.runs) {
    auto k = kept.find(s);
    if (k == kept.end()) {
      out.push_back(MapRecord(prefix + "run/" + std::to_string(s), std::nullopt));
    } else if (!(*k->second == stored)) {  // cut at the progress that vouched for it
      nlohmann::ordered_json v = {{"target_start", k->second->target_start},
                                  {"length", k->second->length}};
      out.push_back(MapRecord(prefix + "run/" + std::to_string(s), v.dump()));
    }
  }
  for (const Gap& g : repair.dropped_gaps) {
    out.push_back(MapRecord(prefix + "gap/" + std::to_string(g.from), std::nullopt));
  }
  nlohmann::ordered_json meta = {{"source_start", repair.repaired.source_start()},
                                 {"progress", repair.repaired.progress()},
                                 {"target_next", repair.repaired.target_next()}};
  if (parts.possible_duplicates > 0) meta["possible_duplicates"] = parts.possible_duplicates;
  out.push_back(MapRecord(prefix + "meta", meta.dump()));
  return out;
}

std::string Describe(const MapRepair& repair) {
  std::string line =
      fmt::format("{} [{}]: {}; progress {} -> {}, {} run(s) dropped", repair.key.topic.value(),
                  repair.key.partition.value(), repair.problem, repair.old_progress,
                  repair.repaired.progress(), repair.dropped_runs.size());
  if (!repair.dropped_gaps.empty()) {
    line += fmt::format(", {} gap(s) dropped", repair.dropped_gaps.size());
  }
  if (repair.undescribed_from < repair.repaired.target_next()) {
    line +=
        fmt::format(", target [{}, {}) undescribed (duplicates for a group positioned before them)",
                    repair.undescribed_from, repair.repaired.target_next());
  }
  return line;
}

Result<RepairReport> RepairMaps(const RepairOptions& options) {
  LIFELINE_RETURN_IF_ERROR(ValidateMirrorName(options.name));
  const Millis timeout(15000);
  LIFELINE_ASSIGN_OR_RETURN_CTX(auto source, Admin::Create(options.source), "source");
  const std::string group = MirrorGroupId(options.name);
  LIFELINE_ASSIGN_OR_RETURN_CTX(GroupDescription running, source->DescribeGroup(group, timeout),
                                "source");
  if (!running.members.empty()) {
    std::string who;
    for (const GroupMember& m : running.members) {
      who += fmt::format("{}{} on {}", who.empty() ? "" : ", ", m.client_id, m.host);
    }
    return Status::Usage(fmt::format(
        "mirror {} is running ({} member(s) of {} on the source: {}); stop every process of it "
        "before repairing its map",
        options.name, running.members.size(), group, who));
  }
  // Which partitions have maps; then their writers are taken, which fences
  // any process of the mirror still writing (one that left the group but
  // lives on) and ends what a dead one left open, and the maps are read
  // again, now final.
  LIFELINE_ASSIGN_OR_RETURN_CTX(StoredMaps stored, ReadStoredMaps(options.target, options.name),
                                "target");
  std::map<TopicPartition, std::unique_ptr<Producer>> writers;
  if (!options.dry_run) {
    std::vector<TopicPartition> partitions;
    for (const auto& [key, parts] : stored) partitions.push_back(key);
    ProducerOptions popts;
    popts.client_id = "lifeline-repair-" + options.name;
    LIFELINE_ASSIGN_OR_RETURN_CTX(
        writers, OpenMapWriters(options.target, popts, options.name, partitions), "target");
    LIFELINE_ASSIGN_OR_RETURN_CTX(stored, ReadStoredMaps(options.target, options.name), "target");
  }
  LIFELINE_ASSIGN_OR_RETURN_CTX(auto target, Admin::Create(options.target), "target");
  RepairReport report;
  report.partitions = static_cast<int>(stored.size());
  std::map<TopicPartition, std::vector<Record>> records;
  for (const auto& [key, parts] : stored) {
    LIFELINE_ASSIGN_OR_RETURN_CTX(auto wm, target->Watermarks(key, timeout), "target");
    LIFELINE_ASSIGN_OR_RETURN(auto repair, PlanRepair(key, parts, wm.high.value()));
    if (!repair) continue;
    report.lines.push_back(Describe(*repair));
    records[key] = RepairRecords(options.name, parts, *repair);
  }
  if (options.dry_run || records.empty()) return report;

  // Each partition's repair in one transaction of its writer.
  for (const auto& [key, writes] : records) {
    auto w = writers.find(key);
    if (w == writers.end()) {
      return Status::Infra(fmt::format("{} [{}]: a map appeared during the repair; run it again",
                                       key.topic.value(), key.partition.value()));
    }
    Producer& producer = *w->second;
    LIFELINE_RETURN_IF_ERROR(producer.BeginTransaction().WithContext("target"));
    for (const Record& r : writes) {
      LIFELINE_RETURN_IF_ERROR(producer.Send(r).WithContext("target offset map"));
    }
    LIFELINE_RETURN_IF_ERROR(producer.CommitTransaction(timeout).WithContext("target offset map"));
  }
  // The proof: every map of the mirror loads now.
  LIFELINE_ASSIGN_OR_RETURN_CTX(MapSet loaded, LoadMapsFromTopic(options.target, options.name),
                                "target, after the repair");
  (void)loaded;
  return report;
}

}  // namespace lifeline::mirror
