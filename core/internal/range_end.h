// The end of a range, the one rule both reader backends follow (reader.h).
#pragma once

#include <algorithm>
#include <cstdint>

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

}  // namespace lifeline::internal
