// Reads single records back by coordinates (for diffs and group checks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/record.h"

namespace lifeline::verify {

// The record at `offset` of topic/partition, read_committed; nullopt when
// there is none (compacted away, aborted, out of range) or the read failed.
std::optional<Record> FetchOne(const ClientConfig& config, const std::string& topic,
                               int32_t partition, int64_t offset);

}  // namespace lifeline::verify
