// Publishes a generated lifecycle stream to a topic: creates the topic if it
// is missing, produces every record idempotently, and records where each
// malformed record landed (the manifest tests check quarantine against).
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "synth/generate.h"
#include "synth/manifest.h"

namespace lifeline::synth {

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

}  // namespace lifeline::synth
