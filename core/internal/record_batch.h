// RecordBatch v2 (the record format of Kafka 0.11 and later) read straight
// from Fetch response bytes, for the raw reader backend (raw_fetch.h): batch
// framing, the records inside (decompressed when the batch is compressed),
// and the read_committed rule that hides aborted transactions. Nothing here
// allocates per record: a BatchDecoder reuses its buffers, and every
// RecordView (reader.h) borrows from them or from the response.
//
// Not thread-safe: one BatchDecoder per reader thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/reader.h"
#include "core/record.h"
#include "core/status.h"

namespace lifeline::internal {

// The fixed part of a v2 batch (61 bytes on the wire, big endian).
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t length = 0;  // bytes after this field
  int32_t leader_epoch = -1;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t first_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  static constexpr size_t kSize = 61;

  int64_t last_offset() const { return base_offset + last_offset_delta; }
  // Where the next fetch starts once this batch is consumed (also for a batch
  // whose records were all compacted away).
  int64_t next_offset() const { return last_offset() + 1; }
  // 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
  int codec() const { return attributes & 0x07; }
  bool log_append_time() const { return (attributes & 0x08) != 0; }
  bool transactional() const { return (attributes & 0x10) != 0; }
  bool control() const { return (attributes & 0x20) != 0; }
};

// One whole batch of a record set: its header and its records section
// (compressed as codec() says), borrowing the record set's bytes.
struct Batch {
  BatchHeader header;
  std::string_view records;
};

// Takes the batch at the front of `*set` off it. nullopt when no whole batch
// is left: the set is empty, or holds only the start of a batch (a Fetch
// response cuts its last batch off at max_bytes; it is fetched again from
// its offset). An error for a batch of an older format (magic 0 or 1) or one
// whose length cannot be right.
Result<std::optional<Batch>> NextBatch(std::string_view* set);

// What a control batch marks.
enum class ControlType { kAbort, kCommit, kUnknown };

class BatchDecoder {
 public:
  BatchDecoder();
  ~BatchDecoder();
  BatchDecoder(const BatchDecoder&) = delete;
  BatchDecoder& operator=(const BatchDecoder&) = delete;

  // Calls `fn` for each record of `batch` whose offset is at least `from`
  // (a fetch may start inside a batch), in order, until `fn` returns false.
  // An error names what is malformed (a record running past its batch, a
  // decompression failure).
  Status Records(const Batch& batch, int64_t from,
                 const std::function<bool(const RecordView&)>& fn);

  // The marker a control batch holds (its first record's key).
  Result<ControlType> Control(const Batch& batch);

 private:
  // The records section, decompressed if need be.
  Result<std::string_view> Plain(const Batch& batch);
  struct Codecs;
  std::unique_ptr<Codecs> codecs_;
  std::vector<HeaderView> headers_;
};

// An aborted transaction as a Fetch response lists it.
struct AbortedTransaction {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
};

// read_committed over the batches of one partition of one Fetch response, in
// order: a producer's transactional batches from the first offset of one of
// its aborted transactions up to its abort marker are hidden, and so are
// control batches (the markers themselves) — what Kafka's Java consumer and
// librdkafka deliver.
class TransactionFilter {
 public:
  explicit TransactionFilter(std::vector<AbortedTransaction> aborted);
  // Whether the records of a batch are delivered. `control` is the marker of
  // a control batch (ignored for others).
  bool Deliver(const BatchHeader& batch, ControlType control);

 private:
  std::vector<AbortedTransaction> aborted_;  // by first offset
  size_t next_ = 0;                          // aborted_[next_..] not yet reached
  std::vector<int64_t> open_aborted_;        // producers inside an aborted transaction
};

// Varints of the record format (zigzag, little-endian base 128), exposed for
// tests. They advance `*p` and return nullopt when the bytes end first or the
// encoding is longer than the type allows.
std::optional<int32_t> ReadVarint(const char** p, const char* end);
std::optional<int64_t> ReadVarlong(const char** p, const char* end);

}  // namespace lifeline::internal
