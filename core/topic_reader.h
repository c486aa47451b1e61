// Reads a topic's partitions from a start position up to the end that was
// visible when the read began, so a read of a live topic terminates. Shared by
// every command that scans a topic (scan, replay, verify, mirror catch-up).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/kafka.h"
#include "core/record.h"
#include "core/status.h"

namespace lifeline {

struct TopicReadOptions {
  std::string topic;
  bool read_committed = true;
  // Per partition start (inclusive); partitions not listed start at their
  // log start.
  std::map<Partition, Offset> start;
  // Per partition end (exclusive); partitions not listed end at the high
  // watermark observed when Read starts.
  std::map<Partition, Offset> end;
  size_t batch = 1000;
  Millis idle_timeout{30000};  // no progress for this long is an error
};

struct PartitionExtent {
  Offset start{0};  // first offset requested
  Offset end{0};    // exclusive end the read aimed for
  int64_t records = 0;
};

// Calls `on_record` for every record in range, in offset order within each
// partition (partitions interleave). A non-ok status from the callback stops
// the read and is returned. Stops with Status::Interrupted on SIGINT/SIGTERM.
// On success, fills `extents` (if given) with what was read per partition.
Status ReadTopic(const ClientConfig& config, const TopicReadOptions& options,
                 const std::function<Status(const Record&)>& on_record,
                 std::map<Partition, PartitionExtent>* extents = nullptr);

}  // namespace lifeline
