// verify groups: a group moved to the target resumes exactly where it stopped.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/kafka.h"
#include "mirror/mirror.h"
#include "verify/internal/fetch.h"
#include "verify/internal/summary.h"
#include "verify/verify.h"

namespace lifeline::verify {
namespace {

constexpr Millis kAdminTimeout{15000};

// The last mirrored source record before committed position `c`, and where
// the mirror put it; nullopt when the group has read nothing the map knows.
std::optional<std::pair<int64_t, int64_t>> LastBefore(const mirror::PartitionMap& map, int64_t c) {
  std::optional<std::pair<int64_t, int64_t>> found;
  for (const mirror::OffsetRun& run : map.runs()) {
    if (run.source_start >= c) break;
    const int64_t s = std::min(c, run.source_end()) - 1;
    found = std::pair{s, run.target_start + (s - run.source_start)};
  }
  return found;
}

// A check whose offsets are right: what the group would read from its
// position on each side, to compare.
struct Tail {
  size_t check;
  FetchRange source, target;
};

// A read_committed consumer at each side's position reads the same records
// to the end: same count, same digests in order. Otherwise the mirror is
// behind, or records were produced on the target (or the target differs).
Status CompareTails(const GroupsOptions& o, const std::vector<Tail>& tails, GroupsReport* report) {
  if (tails.empty()) return Status::Ok();
  std::vector<FetchRange> source_ranges, target_ranges;
  for (const Tail& t : tails) {
    source_ranges.push_back(t.source);
    target_ranges.push_back(t.target);
  }
  auto s = DigestRanges(o.source, source_ranges);
  if (!s.ok()) return s.status().WithContext("source");
  auto d = DigestRanges(o.target, target_ranges);
  if (!d.ok()) return d.status().WithContext("target");
  for (size_t i = 0; i < tails.size(); ++i) {
    GroupCheck& c = report->checks[tails[i].check];
    c.source_pending = (*s)[i].records;
    c.target_pending = (*d)[i].records;
    if (c.source_pending != c.target_pending) {
      c.status = "lag_differs";
      c.detail = fmt::format(
          "from its position the group would read {} record(s) on the source but {} on the "
          "target (is the mirror behind, or were records produced on the target?)",
          c.source_pending, c.target_pending);
    } else if (!((*s)[i].rolling == (*d)[i].rolling)) {
      c.status = "lag_differs";
      c.detail = fmt::format(
          "from its position the group would read {} record(s) on each side, but not the same "
          "ones (run verify records to see where they differ)",
          c.source_pending);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<GroupsReport> VerifyGroups(const GroupsOptions& o) {
  if (o.groups.empty()) return Status::Usage("verify groups needs --groups G[,G...]");
  auto maps = mirror::LoadRequiredMaps({o.target, o.state_dir}, o.name);
  if (!maps.ok()) return maps.status().WithContext("offset map of mirror " + o.name);
  auto src = Admin::Create(o.source);
  if (!src.ok()) return src.status().WithContext("source");
  auto dst = Admin::Create(o.target);
  if (!dst.ok()) return dst.status().WithContext("target");
  // The partitions the mirror maps are the ones a moved group can have.
  std::vector<TopicPartition> mapped;
  for (const auto& [key, map] : *maps) mapped.push_back(key);
  GroupsReport report;
  std::vector<Tail> tails;
  for (const std::string& group : o.groups) {
    // Every partition the group committed on; or, where the cluster cannot
    // describe groups, the mapped ones through consumer handles that never
    // join (the embedded sandbox).
    auto committed = o.list_group_partitions
                         ? (*src)->ListGroupOffsets(group, {}, kAdminTimeout)
                         : CommittedOffsets(o.source, group, mapped, kAdminTimeout);
    if (!committed.ok()) return committed.status().WithContext("source group " + group);
    // On the target only the partitions the group has on the source: the
    // map may name topics this principal may not describe there.
    std::vector<TopicPartition> asked;
    for (const auto& entry : *committed) asked.push_back(entry.first);
    auto moved = asked.empty()
                     ? Result<std::map<TopicPartition, Offset>>(std::map<TopicPartition, Offset>())
                     : CommittedOffsets(o.target, group, asked, kAdminTimeout);
    if (!moved.ok()) return moved.status().WithContext("target group " + group);
    if (committed->empty()) {
      report.checks.push_back({group, "", -1, -1, -1, -1, -1, -1, -1, -1, "not_synced",
                               "the group has no committed offsets on the source"});
      continue;
    }
    for (const auto& [tp, offset] : *committed) {
      GroupCheck c;
      c.group = group;
      c.topic = tp.topic.value();
      c.partition = tp.partition.value();
      c.source_committed = offset.value();
      const mirror::TranslatedOffset t = mirror::TranslateOne(*maps, tp, offset);
      auto there = moved->find(tp);
      if (there != moved->end()) c.target_committed = there->second.value();
      auto swm = (*src)->Watermarks(tp, kAdminTimeout);
      if (!swm.ok()) return swm.status().WithContext("source");
      c.source_lag = swm->high.value() - c.source_committed;
      if (!t.mapped) {
        c.status = "unmapped";
        c.detail = fmt::format("mirror {} has no map for this partition", o.name);
      } else if (t.translation.kind == mirror::Translation::Kind::kNotYetMirrored) {
        c.status = "ahead_of_mirror";
        c.detail = fmt::format("committed {} is past the mirror's progress {}", c.source_committed,
                               t.progress.value());
      } else if (t.translation.kind == mirror::Translation::Kind::kBeforeMirrorStart) {
        c.status = "unmapped";
        c.detail = "committed before the first record the mirror read";
      } else {
        c.expected_target = t.translation.target_offset.value();
        const auto& map = maps->at(tp);
        auto twm = (*dst)->Watermarks(tp, kAdminTimeout);
        if (!twm.ok()) return twm.status().WithContext("target");
        if (c.target_committed >= 0) c.target_lag = twm->high.value() - c.target_committed;
        if (c.target_committed < 0) {
          c.status = "not_synced";
          c.detail =
              fmt::format("no committed offset on the target; it should be {}", c.expected_target);
        } else if (c.target_committed != c.expected_target) {
          const int64_t n =
              map.RecordsFromTarget(Offset(std::min(c.target_committed, c.expected_target))) -
              map.RecordsFromTarget(Offset(std::max(c.target_committed, c.expected_target)));
          c.status = "wrong_offset";
          c.detail = fmt::format(
              "target committed {} but the exact translation is {}: the group "
              "would {} {} record(s)",
              c.target_committed, c.expected_target,
              c.target_committed < c.expected_target ? "re-read" : "skip", n);
        } else {
          c.status = "ok";
          if (auto before = LastBefore(map, c.source_committed)) {
            // A read that fails is an infrastructure error, not a differing
            // record; one that finds nothing (compacted, aborted) differs.
            auto fs = FetchOne(o.source, c.topic, c.partition, before->first);
            if (!fs.ok()) return fs.status().WithContext("source");
            auto fd = FetchOne(o.target, c.topic, c.partition, before->second);
            if (!fd.ok()) return fd.status().WithContext("target");
            const std::optional<Record>& s = *fs;
            const std::optional<Record>& d = *fd;
            if (!s || !d || !(RecordDigest(*s) == RecordDigest(*d))) {
              c.status = "record_differs";
              c.detail = fmt::format(
                  "the record before the committed offset differs: source {} is {}, target {} "
                  "is {}",
                  before->first, s ? RecordDigest(*s).Hex() : "unreadable", before->second,
                  d ? RecordDigest(*d).Hex() : "unreadable");
            } else {
              c.detail = fmt::format("last record read: source {} = target {} (digest {})",
                                     before->first, before->second, RecordDigest(*s).Hex());
            }
          }
          if (c.status == "ok") {
            // What the group has left to read, compared record by record
            // below (offset lags differ wherever markers, aborted or
            // compacted offsets follow the position).
            tails.push_back({report.checks.size(),
                             {tp, c.source_committed, swm->high.value()},
                             {tp, c.target_committed, twm->high.value()}});
          }
        }
      }
      report.checks.push_back(std::move(c));
    }
  }
  LIFELINE_RETURN_IF_ERROR(CompareTails(o, tails, &report));
  report.pass = std::all_of(report.checks.begin(), report.checks.end(),
                            [](const GroupCheck& c) { return c.status == "ok"; });
  return report;
}

std::string FormatGroupsText(const GroupsReport& r) {
  std::string out;
  for (const GroupCheck& c : r.checks) {
    const std::string pending =
        c.source_pending < 0
            ? ""
            : fmt::format(", records left {} / {}", c.source_pending, c.target_pending);
    out += fmt::format(
        "{} {} [{}]: {} — source {} (lag {}) -> target {} (lag {}), expected {}{}{}\n", c.group,
        c.topic, c.partition, c.status, c.source_committed, c.source_lag, c.target_committed,
        c.target_lag, c.expected_target, pending, c.detail.empty() ? "" : "; " + c.detail);
  }
  out +=
      fmt::format("{}: {} group partition(s) checked\n", r.pass ? "PASS" : "FAIL", r.checks.size());
  return out;
}

nlohmann::ordered_json GroupsToJson(const GroupsReport& r) {
  nlohmann::ordered_json j;
  j["check"] = "groups";
  j["pass"] = r.pass;
  j["checks"] = nlohmann::ordered_json::array();
  for (const GroupCheck& c : r.checks) {
    j["checks"].push_back({{"group", c.group},
                           {"topic", c.topic},
                           {"partition", c.partition},
                           {"status", c.status},
                           {"source_committed", c.source_committed},
                           {"target_committed", c.target_committed},
                           {"expected_target", c.expected_target},
                           {"source_lag", c.source_lag},
                           {"target_lag", c.target_lag},
                           {"source_pending", c.source_pending},
                           {"target_pending", c.target_pending},
                           {"detail", c.detail}});
  }
  return j;
}

std::string FormatGroupsJson(const GroupsReport& r) { return GroupsToJson(r).dump(2) + "\n"; }

}  // namespace lifeline::verify
