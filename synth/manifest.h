// The malformed-record manifest `lifeline generate --manifest` writes: where
// each deliberately malformed record landed and which rejection it must get.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace lifeline::synth {

struct ManifestEntry {
  int32_t partition = -1;
  int64_t offset = -1;
  std::string reason;  // envelope reason code
  std::string event_id;
};

struct Manifest {
  std::string topic;
  int64_t records = 0;  // everything generate wrote, valid and malformed
  std::vector<ManifestEntry> entries;
};

// JSON: {"topic", "records", "malformed", "entries": [{partition, offset, reason, event_id}]}.
Status WriteManifest(const Manifest& manifest, const std::string& path);
Result<Manifest> LoadManifest(const std::string& path);

}  // namespace lifeline::synth
