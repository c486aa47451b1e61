// verify's raw reader: a minimal Kafka Fetch client for reading whole
// ranges of partitions, read_committed, from their leaders over plain TCP,
// parsing record batches straight from the response bytes (record_batch.h).
// It exists for speed: librdkafka 2.0.2 parses every record's headers into
// a list of small allocations, which dominated verify's CPU.
//
// Only Fetch is spoken (v11, non-flexible, no fetch sessions); brokers and
// leaders come from librdkafka's metadata. Plaintext only: no TLS, no SASL.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/kafka.h"
#include "core/status.h"
#include "verify/record_batch.h"

namespace lifeline::verify {

// Offsets [start, end) of one partition.
struct FetchRange {
  TopicPartition tp;
  int64_t start = 0, end = 0;
};

// Why the raw reader cannot serve `config` (a security.protocol other than
// PLAINTEXT, any sasl.* or ssl.* property), or nullopt when it can.
std::optional<std::string> RawReaderUnsupported(const ClientConfig& config);

struct RawFetchOptions {
  std::string client_id = "lifeline-verify";
  int32_t max_wait_ms = 20;  // a fetch at the end of the readable log waits this long
  int32_t max_bytes = 32 << 20;
  int32_t partition_max_bytes = 8 << 20;  // a bigger batch still comes whole (KIP-74)
  std::chrono::seconds no_progress{30};   // a range that stops advancing this long fails
};

// Receives what ReadRanges reads, on the thread that called it.
class RawRecordSink {
 public:
  virtual ~RawRecordSink() = default;
  // Every delivered record of range `range`, in offset order; `record`
  // borrows buffers that are reused after the call returns.
  virtual void OnRecord(size_t range, const RawRecord& record) = 0;
  // After the last record of range `range` (also for an empty range).
  virtual void OnRangeEnd(size_t range) = 0;
};

// Reads the ranges in order: a range ends once the next offset to read
// reaches its end (records past it are not delivered; aborted records and
// transaction markers are skipped). Errors are Status::Infra naming the
// topic, partition and offset with the broker's error, or the broker a
// connection failed with; Status::Interrupted once Interrupted() is set.
Status ReadRanges(const ClientConfig& config, const std::vector<FetchRange>& ranges,
                  RawRecordSink* sink, const RawFetchOptions& options = {});

}  // namespace lifeline::verify
