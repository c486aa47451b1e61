// Scan: read a lifecycle topic end to end, validate every event, and
// summarize what is there. The honest end-to-end check the demo runs before
// the drill exists, and a quick look at any stream.
//
// Scan lives in synth/ rather than in a module of its own because its one
// contract beyond "validate every event" is the generator's manifest: with
// ScanOptions::expected it checks a stream against what `lifeline generate`
// says it wrote, so the manifest format and its only reader stay together.
#pragma once

#include <array>
#include <map>
#include <string>

#include "core/config.h"
#include "core/envelope.h"
#include "core/record.h"
#include "core/status.h"
#include "core/types.h"
#include "synth/manifest.h"

namespace lifeline::synth {

struct ScanOptions {
  std::string topic = "prompt.lifecycle";
  bool read_committed = true;
  // When set, the topic must hold exactly what that generate run wrote:
  // every record the manifest names is rejected with its reason, no other
  // record is rejected, and the record counts agree.
  const Manifest* expected = nullptr;
};

struct PartitionScan {
  Offset first{-1};
  Offset last{-1};
  int64_t records = 0;
  int64_t bytes = 0;         // key + value + headers
  std::string chain_digest;  // DigestChain over the records' digests, hex
};

struct ScanReport {
  std::string topic;
  int64_t records = 0;
  int64_t valid = 0;
  int64_t bytes = 0;
  std::map<std::string, int64_t> by_kind;    // valid events per kind
  std::map<std::string, int64_t> by_reason;  // rejected records per reason code
  int64_t prompts = 0;                       // distinct prompt ids among valid events
  std::map<int32_t, PartitionScan> partitions;
  double seconds = 0;
  // Against ScanOptions::expected: entries confirmed, and every disagreement.
  int64_t manifest_confirmed = 0;
  std::vector<std::string> manifest_mismatches;
};

Result<ScanReport> Scan(const ClientConfig& config, const ScanOptions& options);

std::string FormatScanText(const ScanReport& report);
std::string FormatScanJson(const ScanReport& report);

}  // namespace lifeline::synth
