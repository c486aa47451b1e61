// A deterministic synthetic lifecycle stream: prompts of a registry going
// through proposals, approvals, evaluations, staged rollouts, rollbacks and
// retirements, as binary-mode CloudEvents records (docs/events.md).
// Pure: no Kafka; the caller publishes the records.
//
// The valid events obey the lifecycle rules (replaying them yields no
// violation). With a malformed rate, malformed records are mixed in, cycling
// through every rejection reason; each parses to exactly the reason it
// declares and never takes part in the lifecycle.
//
// Same options, same records, byte for byte, on every platform: all
// randomness comes from a seeded xoshiro256** and plain arithmetic, never
// from <random> distributions.
//
// Thread-safety: a Generator is not thread-safe; distinct generators are
// independent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/envelope.h"
#include "core/record.h"
#include "core/types.h"
#include "synth/synth.h"

namespace lifeline::synth {

struct GeneratedRecord {
  Record record;  // key, value, headers, timestamp; topic and partition unset
  std::optional<envelope::Reason> malformed;  // nullopt: a valid event
  std::string event_id;  // the ce_id written; empty when the record carries none
};

class Generator {
 public:
  explicit Generator(GenerateOptions options);
  ~Generator();
  Generator(Generator&&) noexcept;
  Generator& operator=(Generator&&) noexcept;

  // Fills `out` with the next record; false once the stream is complete.
  bool Next(GeneratedRecord* out);

  // The exact number of records the stream holds (valid and malformed). The
  // first call replays the plan without rendering: O(records), cheap.
  int64_t total() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeline::synth
