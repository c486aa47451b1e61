// synth: the deterministic synthetic lifecycle stream (docs/events.md) and
// the tools around it: publishing it to a topic, the manifest of its
// malformed records, and scan, which validates a topic and checks it against
// such a manifest. The generator itself is in synth/internal/generate.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"
#include "core/types.h"

namespace lifeline::synth {

// What to generate (synth/internal/generate.h describes the stream).
struct GenerateOptions {
  int prompts = 20;  // prompt ids; names repeat with a numeric suffix past the built-in list
  int versions = 5;  // versions proposed per prompt
  uint64_t seed = 1;
  // Probability of a malformed record after each valid one.
  double malformed_rate = 0.0;
  // The earliest event time; prompts start within six hours of it.
  // 2023-11-14: far enough back that a long stream (a million events spans
  // months) never runs past the broker's clock; brokers refuse timestamps
  // more than an hour ahead (message.timestamp.after.max.ms).
  TimestampMs start_time{1700000000000};
  std::string source = "/registry/eu-1";  // ce_source
  // Whether the malformed cycle includes value_too_large. Such a record's
  // value is just over envelope::kMaxValueBytes (1 MiB), which a broker with
  // the default max.message.bytes refuses: leave it out for default topics.
  bool oversized_values = true;
};

// The malformed-record manifest `lifeline generate --manifest` writes: where
// each deliberately malformed record landed and which rejection it must get.
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

// Publishes a generated lifecycle stream to a topic: creates the topic if it
// is missing, produces every record idempotently, and records where each
// malformed record landed (the manifest tests check quarantine against).
struct PublishOptions {
  std::string topic = "prompt.lifecycle";
  int partitions = 6;  // used only when the topic must be created
  GenerateOptions generate;
};

struct PublishReport {
  std::string topic;
  int partitions = 0;
  bool created_topic = false;
  int64_t records = 0;
  int64_t malformed = 0;
  int64_t bytes = 0;
  double seconds = 0;
  bool oversized_values = false;  // whether value_too_large records were included
  Manifest manifest;              // where the malformed records landed
};

Result<PublishReport> Publish(const ClientConfig& config, const PublishOptions& options);

// Scan: read a lifecycle topic end to end, validate every event, and
// summarize what is there. The honest end-to-end check the demo runs before
// the drill exists, and a quick look at any stream.
//
// Scan lives in synth/ rather than in a module of its own because its one
// contract beyond "validate every event" is the generator's manifest: with
// ScanOptions::expected it checks a stream against what `lifeline generate`
// says it wrote, so the manifest format and its only reader stay together.
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
