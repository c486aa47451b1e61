// The one way lifeline reads ranges of topic partitions: partition ranges in,
// borrowed record views out, with one rule for where a range ends.
//
// Two backends serve it. kRaw is lifeline's own Fetch client
// (core/internal/raw_fetch.h): several times cheaper per record, because it
// decodes record batches straight from the response bytes; it speaks plain
// TCP, TLS and SASL PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512
// (core/internal/broker_link.h). kLibrdkafka is a librdkafka consumer, for
// every configuration.
// kAuto takes kRaw wherever RawReaderUnsupported() has no objection.
//
// The end of a range, for both backends (core/internal/range_end.h): a range
// [start, end) is finished once the next offset to read reaches `end`. That
// offset moves past every delivered record, and also past what is read but
// never delivered: aborted records, transaction markers, compacted-away
// offsets. So a range whose last offsets are a commit marker, or whose end
// lies past one, still finishes without waiting; records at or past `end`
// are never delivered.
//
// Not thread-safe: one read per thread; the sink is called on the thread
// that called ReadRanges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/kafka.h"
#include "core/record.h"
#include "core/status.h"

namespace lifeline {

// Offsets [start, end) of one partition.
struct ReadRange {
  TopicPartition tp;
  int64_t start = 0, end = 0;
};

// A header as a record carries it. `value` null: a header with a null value.
// A name ends at its first NUL byte (librdkafka hands names over as C
// strings; the raw backend cuts them the same way so both read alike).
struct HeaderView {
  std::string_view name;
  const char* value = nullptr;
  size_t value_size = 0;
};

// One record as a read_committed consumer sees it: the offset, key and value
// (null when absent, which differs from empty), headers in wire order, and
// the timestamp. Borrows the reader's buffers: valid only during the
// callback that receives it.
struct RecordView {
  int64_t offset = -1;
  const char* key = nullptr;
  size_t key_size = 0;
  const char* value = nullptr;
  size_t value_size = 0;
  std::span<const HeaderView> headers;
  TimestampType timestamp_type = TimestampType::kCreateTime;
  int64_t timestamp = 0;
};

// Copies `view` of a record of `tp` into `*out`, reusing its buffers.
void CopyRecord(const TopicPartition& tp, const RecordView& view, Record* out);

// Receives what ReadRanges reads. A non-ok status from either call stops the
// read and is returned by it.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Every delivered record of range `range`, in offset order.
  virtual Status OnRecord(size_t range, const RecordView& record) = 0;
  // After the last record of range `range` (also for an empty range).
  virtual Status OnRangeEnd(size_t /*range*/) { return Status::Ok(); }
};

enum class ReaderBackend { kAuto, kRaw, kLibrdkafka };

const char* ReaderBackendName(ReaderBackend backend);

// Why the raw backend cannot serve `config` (a SASL mechanism other than
// PLAIN and SCRAM, client certificates, an ssl.* or sasl.* setting it does
// not speak, a bootstrap address naming another protocol), or nullopt when
// it can.
std::optional<std::string> RawReaderUnsupported(const ClientConfig& config);

// The backend a read of `config` gets: kRaw where it can serve it, unless
// `wanted` says otherwise. Never kAuto; a Usage error when `wanted` is kRaw
// and RawReaderUnsupported objects.
Result<ReaderBackend> ChooseBackend(ReaderBackend wanted, const ClientConfig& config);

struct ReaderOptions {
  ReaderBackend backend = ReaderBackend::kAuto;
  // false: aborted records are delivered too (markers never are).
  bool read_committed = true;
  std::string client_id = "lifeline-reader";  // unless the config sets client.id
  Millis no_progress{30000};                  // a range that stops advancing this long fails
  // The raw backend's fetch limits.
  int32_t max_wait_ms = 20;  // a fetch at the end of the readable log waits this long
  int32_t max_bytes = 32 << 20;
  int32_t partition_max_bytes = 8 << 20;  // a bigger batch still comes whole (KIP-74)
};

// Reads the ranges one after another, each in offset order. Errors are
// Status::Infra naming the topic, partition and offset (or the broker a
// connection failed with); Status::Interrupted once Interrupted() is set.
Status ReadRanges(const ClientConfig& config, const std::vector<ReadRange>& ranges,
                  RecordSink* sink, const ReaderOptions& options = {});

// The record at `offset` of `tp`, read_committed; nullopt when there is none
// (compacted away, aborted, a marker, outside the log). An error when the
// cluster cannot be asked.
Result<std::optional<Record>> ReadOne(const ClientConfig& config, const TopicPartition& tp,
                                      int64_t offset, const ReaderOptions& options = {});

}  // namespace lifeline
