// Reads single records back by coordinates (for diffs and group checks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"

namespace lifeline::verify {

// The record at `offset` of topic/partition, read_committed through the
// reader seam (ReadOne, core/reader.h); nullopt when there is none
// (compacted away, aborted, a marker, out of range); an error when the
// cluster could not be asked.
Result<std::optional<Record>> FetchOne(const ClientConfig& config, const std::string& topic,
                                       int32_t partition, int64_t offset);

}  // namespace lifeline::verify
