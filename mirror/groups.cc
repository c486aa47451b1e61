#include "mirror/groups.h"

#include <fmt/format.h>

#include <regex>

#include "core/kafka.h"
#include "mirror/mirror.h"

namespace lifeline::mirror {
namespace {

constexpr Millis kTimeout(15000);

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

Result<std::vector<std::string>> ResolveGroups(Admin& source, const GroupSyncOptions& options) {
  std::vector<std::string> groups = options.groups;
  if (!options.groups_regex.empty()) {
    std::regex re;
    try {
      re = std::regex(options.groups_regex);
    } catch (const std::regex_error& e) {
      return Status::Usage(fmt::format("--groups '{}' is not a valid regular expression: {}",
                                       options.groups_regex, e.what()));
    }
    auto all = source.ListGroups(kTimeout);
    if (!all.ok()) return all.status().WithContext("source");
    for (const std::string& g : *all) {
      if (!g.starts_with("_lifeline.") && std::regex_match(g, re)) groups.push_back(g);
    }
  }
  if (groups.empty())
    return Status::Usage("no consumer group to sync: pass --group G or --groups REGEX");
  return groups;
}

}  // namespace

TranslatedOffset TranslateOne(const MapSet& maps, const PartitionKey& key, int64_t offset) {
  TranslatedOffset t;
  t.key = key;
  t.source_offset = offset;
  auto it = maps.find(key);
  if (it == maps.end()) {
    t.mapped = false;
    return t;
  }
  t.translation = it->second.Translate(offset);
  t.progress = it->second.progress();
  return t;
}

std::string Describe(const TranslatedOffset& t) {
  const std::string where =
      fmt::format("{} [{}] {}", t.key.topic, t.key.partition, t.source_offset);
  if (!t.mapped) return where + ": not mirrored (no offset map for this partition)";
  if (t.translation.kind == Translation::Kind::kExact) {
    return fmt::format("{} -> {}", where, t.translation.target_offset);
  }
  return fmt::format("{}: {} (mirror progress {})", where, KindText(t.translation.kind),
                     t.progress);
}

Result<std::vector<GroupSyncPlan>> SyncGroups(const GroupSyncOptions& requested) {
  LIFELINE_RETURN_IF_ERROR(ValidateMirrorName(requested.name));
  GroupSyncOptions options = requested;
  if (options.reverse) {
    // Groups move from the target back to the source, translated by the
    // reverse mirror's map.
    std::swap(options.source, options.target);
    options.name = ReverseName(options.name);
  }
  auto source = Admin::Create(options.source);
  if (!source.ok()) return source.status().WithContext("source");
  auto target = Admin::Create(options.target);
  if (!target.ok()) return target.status().WithContext("target");
  auto groups = ResolveGroups(**source, options);
  if (!groups.ok()) return groups.status();
  auto maps = requested.reverse ? LoadMapsFromTopic(options.target, options.name)
                                : LoadRequiredMaps({options.target, ""}, options.name);
  if (!maps.ok()) return requested.reverse ? maps.status().WithContext("source") : maps.status();
  if (maps->empty()) {
    return Status::Usage(
        fmt::format("mirror {} has no reverse offset map on the source: run `lifeline "
                    "mirror --reverse --name {}` first",
                    requested.name, requested.name));
  }

  std::vector<GroupSyncPlan> plans;
  for (const std::string& group : *groups) {
    GroupSyncPlan plan;
    plan.group = group;
    auto committed = (*source)->ListGroupOffsets(group, {}, kTimeout);
    if (!committed.ok()) return committed.status().WithContext("source");
    auto current = (*target)->ListGroupOffsets(group, {}, kTimeout);
    if (!current.ok()) return current.status().WithContext("target");
    auto desc = (*target)->DescribeGroup(group, kTimeout);
    if (!desc.ok()) return desc.status().WithContext("target");
    if (!desc->members.empty()) {
      std::string clients;
      for (const GroupMember& m : desc->members) {
        clients += (clients.empty() ? "" : ", ") + m.client_id + " (" + m.host + ")";
      }
      plan.refusal = fmt::format(
          "group {} has {} active member(s) on the target: {}; stop them before moving the "
          "group",
          group, desc->members.size(), clients);
    }
    // Offsets of a group still consuming on the source are already stale.
    auto src_desc = (*source)->DescribeGroup(group, kTimeout);
    if (!src_desc.ok()) return src_desc.status().WithContext("source");
    if (!src_desc->members.empty() && plan.refusal.empty()) {
      plan.refusal = fmt::format(
          "group {} still has {} active member(s) on the source; stop its consumers there "
          "first, or the moved offsets are stale at once",
          group, src_desc->members.size());
    }
    if (committed->empty() && plan.refusal.empty()) {
      plan.refusal = fmt::format("group {} has no committed offsets on the source", group);
    }

    std::map<TopicPartition, Offset> apply;
    for (const auto& [tp, offset] : *committed) {
      PartitionSyncPlan p;
      p.key = {tp.topic.value(), tp.partition.value()};
      p.source_offset = offset.value();
      p.translated = TranslateOne(*maps, p.key, offset.value());
      auto cur = current->find(tp);
      if (cur != current->end()) p.current_target = cur->second.value();
      auto src_wm = (*source)->Watermarks(tp, kTimeout);
      if (!src_wm.ok()) return src_wm.status().WithContext("source");
      auto dst_wm = (*target)->Watermarks(tp, kTimeout);
      if (!dst_wm.ok()) return dst_wm.status().WithContext("target");
      if (!p.translated.mapped || p.translated.translation.kind != Translation::Kind::kExact) {
        p.problem = Describe(p.translated);
      } else {
        p.target_offset = p.translated.translation.target_offset;
        // Offset lags as Kafka's tools show them, each from its own cluster.
        // They are equal when neither side has gaps or transaction markers
        // after the group's position and the mirror has caught up.
        p.source_lag = src_wm->high.value() - p.source_offset;
        p.target_lag = dst_wm->high.value() - p.target_offset;
        if (p.current_target > p.target_offset && !options.allow_rewind) {
          p.problem = fmt::format(
              "the target group is already at {}, ahead of {}: not moved back (pass "
              "--allow-rewind)",
              p.current_target, p.target_offset);
        } else {
          apply[tp] = Offset(p.target_offset);
        }
      }
      plan.partitions.push_back(std::move(p));
    }
    bool all_exact = true;
    for (const auto& p : plan.partitions) all_exact = all_exact && p.problem.empty();
    if (plan.refusal.empty() && !all_exact) {
      // All or nothing: a half-moved group would start some partitions from
      // its reset policy.
      plan.refusal = fmt::format("group {}: not every partition can be moved exactly", group);
    }
    if (plan.refusal.empty() && !options.dry_run) {
      LIFELINE_RETURN_IF_ERROR(
          (*target)->AlterGroupOffsets(group, apply, kTimeout).WithContext("target"));
      plan.applied = true;
    }
    plans.push_back(std::move(plan));
  }
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
      if (!p.problem.empty()) {
        out += fmt::format("  {} [{}] source {}: {}\n", p.key.topic, p.key.partition,
                           p.source_offset, p.problem);
        continue;
      }
      out +=
          fmt::format("  {} [{}] source {} (lag {}) -> target {} (lag {}){}\n", p.key.topic,
                      p.key.partition, p.source_offset, p.source_lag, p.target_offset, p.target_lag,
                      p.current_target >= 0 ? fmt::format(", was {}", p.current_target) : "");
    }
  }
  return out;
}

}  // namespace lifeline::mirror
