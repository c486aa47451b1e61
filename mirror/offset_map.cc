#include "mirror/internal/offset_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace lifeline::mirror {

void PartitionMap::Add(int64_t s, int64_t t) {
  assert(s >= progress_);
  assert(t >= target_next_);
  if (!runs_.empty()) {
    OffsetRun& last = runs_.back();
    if (last.source_end() == s && last.target_end() == t) {
      ++last.length;
      progress_ = s + 1;
      target_next_ = t + 1;
      return;
    }
  }
  runs_.push_back({s, t, 1});
  progress_ = s + 1;
  target_next_ = t + 1;
}

void PartitionMap::Advance(int64_t source_next) { progress_ = std::max(progress_, source_next); }

void PartitionMap::RewindTo(int64_t s, int64_t target_next) {
  while (!runs_.empty() && runs_.back().source_start >= s) runs_.pop_back();
  if (!runs_.empty() && runs_.back().source_end() > s) {
    runs_.back().length = s - runs_.back().source_start;
  }
  while (!gaps_.empty() && gaps_.back().from >= s) gaps_.pop_back();
  if (!gaps_.empty() && gaps_.back().to > s) gaps_.back().to = s;
  progress_ = s;
  target_next_ = target_next;
}

void PartitionMap::AddGap(Gap gap) {
  gaps_.push_back(gap);
  progress_ = std::max(progress_, gap.to);
}

Translation PartitionMap::Translate(Offset committed_offset) const {
  using Kind = Translation::Kind;
  const int64_t committed = committed_offset.value();
  if (committed > progress_) return {Kind::kNotYetMirrored, Offset(-1)};
  if (committed < source_start_) return {Kind::kBeforeMirrorStart, Offset(-1)};
  // The first run that still has a record at or after `committed`.
  auto it = std::upper_bound(runs_.begin(), runs_.end(), committed,
                             [](int64_t c, const OffsetRun& r) { return c < r.source_end(); });
  if (it == runs_.end()) return {Kind::kExact, Offset(target_next_)};
  if (it->source_start >= committed) return {Kind::kExact, Offset(it->target_start)};
  return {Kind::kExact, Offset(it->target_start + (committed - it->source_start))};
}

std::optional<Offset> PartitionMap::ReverseTranslate(Offset target_offset) const {
  const int64_t target = target_offset.value();
  if (target > target_next_) return std::nullopt;
  auto it = std::upper_bound(runs_.begin(), runs_.end(), target,
                             [](int64_t t, const OffsetRun& r) { return t < r.target_end(); });
  if (it == runs_.end()) return Offset(progress_);
  if (it->target_start >= target) return Offset(it->source_start);
  return Offset(it->source_start + (target - it->target_start));
}

bool PartitionMap::IsMirroredTarget(Offset target) const {
  const int64_t t = target.value();
  auto it = std::upper_bound(runs_.begin(), runs_.end(), t,
                             [](int64_t x, const OffsetRun& r) { return x < r.target_end(); });
  return it != runs_.end() && it->target_start <= t;
}

int64_t PartitionMap::records() const {
  int64_t n = 0;
  for (const OffsetRun& r : runs_) n += r.length;
  return n;
}

int64_t PartitionMap::RecordsFromTarget(Offset target) const {
  const int64_t t = target.value();
  int64_t n = 0;
  for (const OffsetRun& r : runs_)
    n += std::max<int64_t>(0, r.target_end() - std::max(t, r.target_start));
  return n;
}

std::optional<Offset> PartitionMap::FirstTargetKept(Offset source_low) const {
  const int64_t s = source_low.value();
  for (const OffsetRun& r : runs_) {
    if (r.source_end() > s)
      return Offset(r.target_start + std::max<int64_t>(0, s - r.source_start));
  }
  return std::nullopt;
}

std::optional<PartitionMap> PartitionMap::FromParts(std::vector<OffsetRun> runs,
                                                    std::vector<Gap> gaps, int64_t source_start,
                                                    int64_t progress, int64_t target_next,
                                                    std::string* error) {
  auto by_source = [](const OffsetRun& a, const OffsetRun& b) {
    return a.source_start < b.source_start;
  };
  std::sort(runs.begin(), runs.end(), by_source);
  std::sort(gaps.begin(), gaps.end(), [](const Gap& a, const Gap& b) { return a.from < b.from; });
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].length <= 0) {
      *error =
          "run of non-positive length at source offset " + std::to_string(runs[i].source_start);
      return std::nullopt;
    }
    if (i > 0 && (runs[i].source_start < runs[i - 1].source_end() ||
                  runs[i].target_start < runs[i - 1].target_end())) {
      const OffsetRun& a = runs[i - 1];
      const OffsetRun& b = runs[i];
      *error = fmt::format(
          "overlapping runs: source [{}, {}) at target [{}, {}) and source [{}, {}) at target "
          "[{}, {}) (two writers saved this partition's map)",
          a.source_start, a.source_end(), a.target_start, a.target_end(), b.source_start,
          b.source_end(), b.target_start, b.target_end());
      return std::nullopt;
    }
  }
  if (!runs.empty() &&
      (runs.back().source_end() > progress || runs.back().target_end() > target_next ||
       runs.front().source_start < source_start)) {
    *error = fmt::format(
        "runs cover source [{}, {}) at target up to {}, outside the recorded start {}, "
        "progress {} and target end {}",
        runs.front().source_start, runs.back().source_end(), runs.back().target_end(), source_start,
        progress, target_next);
    return std::nullopt;
  }
  PartitionMap map;
  map.runs_ = std::move(runs);
  map.gaps_ = std::move(gaps);
  map.source_start_ = source_start;
  map.progress_ = progress;
  map.target_next_ = target_next;
  return map;
}

}  // namespace lifeline::mirror
