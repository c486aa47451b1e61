// Reads a topic's partitions from a start position up to the end that was
// visible when the read began, so a read of a live topic terminates: a thin
// function over the reader seam (core/reader.h) for callers that want whole
// Records of a whole topic (scan, the drill, mirror catch-up).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/kafka.h"
#include "core/reader.h"
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
  Millis idle_timeout{30000};  // no progress for this long is an error
  // kAuto: the raw backend where the configuration is plaintext.
  ReaderBackend backend = ReaderBackend::kAuto;
};

struct PartitionExtent {
  Offset start{0};  // first offset requested
  Offset end{0};    // exclusive end the read aimed for
  int64_t records = 0;
};

// Calls `on_record` for every record in range, in offset order within each
// partition, one partition after another (partition order). `on_record`'s
// Record is reused between calls. A non-ok status from the callback stops
// the read and is returned. Stops with Status::Interrupted on SIGINT/SIGTERM.
// On success, fills `extents` (if given) with what was read per partition.
Status ReadTopic(const ClientConfig& config, const TopicReadOptions& options,
                 const std::function<Status(const Record&)>& on_record,
                 std::map<Partition, PartitionExtent>* extents = nullptr);

}  // namespace lifeline
