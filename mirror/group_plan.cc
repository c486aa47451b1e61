// The deciding half of a group move (mirror/internal/groups.h): translation and the
// rules of Plan. Nothing here talks to a cluster.
#include <fmt/format.h>

#include <regex>

#include "mirror/internal/groups.h"
#include "mirror/mirror.h"

namespace lifeline::mirror {
namespace {

const char* KindText(Translation::Kind kind) {
  switch (kind) {
    case Translation::Kind::kExact:
      return "exact";
    case Translation::Kind::kNotYetMirrored:
      return "not yet mirrored";
    case Translation::Kind::kBeforeMirrorStart:
      return "before the mirror's first offset";
  }
  return "?";
}

std::string NameMembers(const std::vector<GroupMember>& members) {
  std::string clients;
  for (const GroupMember& m : members) {
    clients += (clients.empty() ? "" : ", ") + m.client_id + " (" + m.host + ")";
  }
  return clients;
}

// Rules 2-4: reasons to refuse a group before looking at its partitions.
std::string GroupRefusal(const GroupFacts& g) {
  if (!g.target.members.empty()) {
    return fmt::format(
        "group {} has {} active member(s) on the target: {}; stop them before moving the group",
        g.group, g.target.members.size(), NameMembers(g.target.members));
  }
  if (!g.source.members.empty()) {
    return fmt::format(
        "group {} still has {} active member(s) on the source; stop its consumers there "
        "first, or the moved offsets are stale at once",
        g.group, g.source.members.size());
  }
  if (g.source.committed.empty()) {
    return fmt::format("group {} has no committed offsets on the source", g.group);
  }
  return "";
}

// The number of records from `offset` to the high watermark, or -1 when
// the watermark is unknown.
int64_t Lag(const std::map<TopicPartition, WatermarkOffsets>& watermarks, const TopicPartition& tp,
            Offset offset) {
  auto wm = watermarks.find(tp);
  return wm == watermarks.end() ? -1 : wm->second.high.value() - offset.value();
}

// Rules 5-7 for one committed partition.
PartitionSyncPlan PlanPartition(const GroupFacts& g, const TranslatedOffset& t,
                                const PlanOptions& options) {
  PartitionSyncPlan p;
  p.where = t.where;
  p.source_offset = t.source_offset;
  p.translated = t;
  if (auto cur = g.target.committed.find(t.where); cur != g.target.committed.end()) {
    p.current_target = cur->second;
  }
  if (!t.exact()) {
    p.problem = Describe(t);
    return p;
  }
  p.target_offset = t.translation.target_offset;
  // Offset lags as Kafka's tools show them, each from its own cluster.
  // They are equal when neither side has gaps or transaction markers after
  // the group's position and the mirror has caught up.
  p.source_lag = Lag(g.source.watermarks, t.where, p.source_offset);
  p.target_lag = Lag(g.target.watermarks, t.where, p.target_offset);
  if (p.current_target && *p.current_target > p.target_offset && !options.allow_rewind) {
    p.problem = fmt::format(
        "the target group is already at {}, ahead of {}: not moved back (pass --allow-rewind)",
        p.current_target->value(), p.target_offset.value());
  }
  return p;
}

GroupSyncPlan PlanGroup(const MapSet& maps, const GroupFacts& g, const PlanOptions& options) {
  GroupSyncPlan plan;
  plan.group = g.group;
  plan.refusal = GroupRefusal(g);
  bool all_exact = true;
  for (const TranslatedOffset& t : TranslateAll(maps, g.source.committed)) {
    plan.partitions.push_back(PlanPartition(g, t, options));
    all_exact = all_exact && plan.partitions.back().problem.empty();
  }
  if (plan.refusal.empty() && !all_exact) {
    plan.refusal = fmt::format("group {}: not every partition can be moved exactly", g.group);
  }
  if (plan.refusal.empty() && !options.dry_run) {
    for (const PartitionSyncPlan& p : plan.partitions) plan.commit[p.where] = p.target_offset;
  }
  return plan;
}

}  // namespace

TranslatedOffset TranslateOne(const MapSet& maps, const TopicPartition& where, Offset offset) {
  TranslatedOffset t;
  t.where = where;
  t.source_offset = offset;
  auto it = maps.find(where);
  if (it == maps.end()) {
    t.mapped = false;
    return t;
  }
  t.translation = it->second.Translate(offset);
  t.progress = Offset(it->second.progress());
  return t;
}

std::vector<TranslatedOffset> TranslateAll(const MapSet& maps,
                                           const std::map<TopicPartition, Offset>& committed) {
  std::vector<TranslatedOffset> out;
  out.reserve(committed.size());
  for (const auto& [tp, offset] : committed) out.push_back(TranslateOne(maps, tp, offset));
  return out;
}

std::string Describe(const TranslatedOffset& t) {
  const std::string where = fmt::format("{} [{}] {}", t.where.topic.value(),
                                        t.where.partition.value(), t.source_offset.value());
  if (!t.mapped) return where + ": not mirrored (no offset map for this partition)";
  if (t.translation.kind == Translation::Kind::kExact) {
    return fmt::format("{} -> {}", where, t.translation.target_offset.value());
  }
  return fmt::format("{}: {} (mirror progress {})", where, KindText(t.translation.kind),
                     t.progress.value());
}

MoveRoute RouteFor(const GroupSyncOptions& options) {
  MoveRoute route;
  route.reverse = options.reverse;
  if (options.reverse) {
    // Groups move from the target back to the source, translated by the
    // reverse mirror's map.
    route.from = options.target;
    route.to = options.source;
    route.map_name = ReverseName(options.name);
  } else {
    route.from = options.source;
    route.to = options.target;
    route.map_name = options.name;
  }
  return route;
}

PlanOptions PlanOptionsFor(const GroupSyncOptions& options) {
  PlanOptions p;
  p.name = options.name;
  p.dry_run = options.dry_run;
  p.allow_rewind = options.allow_rewind;
  p.reverse = options.reverse;
  return p;
}

Result<std::vector<std::string>> SelectGroups(const std::vector<std::string>& explicit_groups,
                                              const std::string& regex,
                                              const std::vector<std::string>& all) {
  std::vector<std::string> groups = explicit_groups;
  if (!regex.empty()) {
    std::regex re;
    try {
      re = std::regex(regex);
    } catch (const std::regex_error& e) {
      return Status::Usage(
          fmt::format("--groups '{}' is not a valid regular expression: {}", regex, e.what()));
    }
    for (const std::string& g : all) {
      if (!g.starts_with("_lifeline.") && std::regex_match(g, re)) groups.push_back(g);
    }
  }
  if (groups.empty()) {
    return Status::Usage("no consumer group to sync: pass --group G or --groups REGEX");
  }
  return groups;
}

Result<std::vector<GroupSyncPlan>> Plan(const Facts& facts, const PlanOptions& options) {
  if (facts.maps.empty()) {
    return Status::Usage(
        fmt::format("mirror {} has no reverse offset map on the source: run `lifeline "
                    "mirror --reverse --name {}` first",
                    options.name, options.name));
  }
  std::vector<GroupSyncPlan> plans;
  plans.reserve(facts.groups.size());
  for (const GroupFacts& g : facts.groups) plans.push_back(PlanGroup(facts.maps, g, options));
  return plans;
}

std::string DescribePlans(const std::vector<GroupSyncPlan>& plans, bool dry_run) {
  std::string out;
  for (const GroupSyncPlan& g : plans) {
    out += fmt::format("group {}: {}\n", g.group,
                       !g.refusal.empty() ? "REFUSED - " + g.refusal
                       : g.applied        ? std::string("moved")
                       : dry_run          ? std::string("plan (dry run)")
                                          : std::string("unchanged"));
    for (const PartitionSyncPlan& p : g.partitions) {
      const std::string where = fmt::format("{} [{}] source {}", p.where.topic.value(),
                                            p.where.partition.value(), p.source_offset.value());
      if (!p.problem.empty()) {
        out += fmt::format("  {}: {}\n", where, p.problem);
        continue;
      }
      out += fmt::format(
          "  {} (lag {}) -> target {} (lag {}){}\n", where, p.source_lag, p.target_offset.value(),
          p.target_lag, p.current_target ? fmt::format(", was {}", p.current_target->value()) : "");
    }
  }
  return out;
}

}  // namespace lifeline::mirror
