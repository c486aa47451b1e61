// What `verify records` keeps of each record, and its two ways of reading
// it: exposed so the readers can be held to bit-identical output (tests) and
// one checked against the other on a real cluster.
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "core/reader.h"
#include "core/record.h"
#include "core/status.h"
#include "verify/verify.h"

namespace lifeline::verify {

using FetchRange = ReadRange;  // [start, end) of one partition

// A record's digest (RecordDigest) and a 64-bit hash of each part of its
// canonical encoding, so an altered record can say which part differs.
struct RecordSummary {
  int64_t offset = -1;
  Digest128 digest;
  uint64_t key = 0, value = 0, headers = 0, timestamp = 0;
  friend bool operator==(const RecordSummary&, const RecordSummary&) = default;
};

// Reads each range as `verify records` does (read_committed) with `reader`
// (kRaw or kLibrdkafka; kAuto chooses as verify does) and returns one list
// per range. `raw` sets the raw reader's fetch limits (its backend is
// `reader`'s).
Result<std::vector<std::vector<RecordSummary>>> SummarizeRanges(
    const ClientConfig& config, const std::vector<FetchRange>& ranges, Reader reader,
    const ReaderOptions& raw = {});

// What a read_committed consumer reads in each range: how many records and
// the DigestChain over their digests in order. Streams: memory does not
// grow with the ranges' length.
struct RangeDigest {
  int64_t records = 0;
  Digest128 rolling;
};
Result<std::vector<RangeDigest>> DigestRanges(const ClientConfig& config,
                                              const std::vector<FetchRange>& ranges,
                                              Reader reader = Reader::kAuto);

}  // namespace lifeline::verify
