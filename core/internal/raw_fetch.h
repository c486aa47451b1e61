// The raw reader backend (reader.h): a minimal Kafka Fetch client for reading
// whole ranges of partitions from their leaders over plain TCP, parsing
// record batches straight from the response bytes (record_batch.h). It exists
// for speed: librdkafka 2.0.2 parses every record's headers into a list of
// small allocations, which dominated verify's and replay's CPU.
//
// Only Fetch is spoken (v11, non-flexible, no fetch sessions); brokers and
// leaders come from librdkafka's metadata. Connections are plain TCP, TLS
// and/or SASL as the configuration says (broker_link.h; RawReaderUnsupported
// in reader.h says when it cannot serve a config).
#pragma once

#include <vector>

#include "core/config.h"
#include "core/kafka.h"
#include "core/reader.h"
#include "core/status.h"

namespace lifeline::internal {

// ReadRanges (reader.h) through the raw backend. `admin` (optional, borrowed)
// answers the metadata requests; without one, the read opens its own.
Status RawReadRanges(const ClientConfig& config, const std::vector<ReadRange>& ranges,
                     RecordSink* sink, const ReaderOptions& options, Admin* admin);

}  // namespace lifeline::internal
