// The end of a range, the one rule both reader backends follow (reader.h).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <thread>

#include "core/kafka.h"
#include "core/signals.h"
#include "core/status.h"

namespace lifeline::internal {

// Where a read of [start, end) stands: the next offset it would read.
// Offsets are not contiguous (compaction, transaction markers, aborted
// records), so "the record at end - 1 was delivered" cannot be the test:
// whatever a backend learns about the log moves `next` — a delivered record
// (its offset + 1), a batch consumed whole whether delivered, hidden or a
// marker (its last offset + 1), an end-of-partition position, or a record
// seen at or past the end (its offset).
class RangeEnd {
 public:
  RangeEnd(int64_t start, int64_t end) : next_(start), end_(end) {}
  // Whether a record at `offset` belongs to the range.
  bool Delivers(int64_t offset) const { return offset >= next_ && offset < end_; }
  void Advance(int64_t next) { next_ = std::max(next_, next); }
  bool finished() const { return next_ >= end_; }
  int64_t next() const { return next_; }
  int64_t end() const { return end_; }

 private:
  int64_t next_;
  int64_t end_;
};

// A range's end usually comes from a listing (ListOffsets), and a read that
// stops there trusts it. Each fetch answer carries the broker's own view of
// the end (its last stable offset, or high watermark read uncommitted), so
// the two can be held against each other: once the fetches have put the end
// past a range's end, a listing asked afterwards must list at least as much
// (the end only grows). A broker that lists less misreports the end (Tansu
// 0.6 lists the newest batch's first offset + 1, issue 14), and every read
// stopping at its listed end would miss records while reporting success.
//
// `list(tp)` asks the listed end now (a Result<int64_t>); a leader that just
// moved may list a little behind for a moment, so a short listing is asked
// again until `within` runs out. Listings that agreed are remembered per
// partition, so a read of many ranges asks once per partition.
class ListedEndCheck {
 public:
  explicit ListedEndCheck(std::chrono::milliseconds within = std::chrono::milliseconds(5000))
      : within_(within) {}

  // After range [start, end) of `tp` finished with the fetches having
  // reported `fetched` (-1: not known).
  template <typename List>
  Status Check(const TopicPartition& tp, int64_t end, int64_t fetched, List&& list) {
    if (fetched <= end) return Status::Ok();
    if (auto it = agreed_.find(tp); it != agreed_.end() && it->second >= fetched) {
      return Status::Ok();
    }
    const auto deadline = std::chrono::steady_clock::now() + within_;
    for (;;) {
      auto listed = list(tp);
      if (!listed.ok()) return listed.status();
      if (*listed >= fetched) {
        agreed_[tp] = *listed;
        return Status::Ok();
      }
      if (std::chrono::steady_clock::now() >= deadline || Interrupted()) {
        return Status::Infra(fmt::format(
            "{} [{}]: the broker misreports the end of the log: ListOffsets lists it at offset "
            "{}, but its Fetch answers put it at offset {}; a read that stops at the listed end "
            "would miss what lies between, so lifeline stops here (see docs/COMPATIBILITY.md)",
            tp.topic.value(), tp.partition.value(), *listed, fetched));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

 private:
  std::chrono::milliseconds within_;
  std::map<TopicPartition, int64_t> agreed_;
};

}  // namespace lifeline::internal
