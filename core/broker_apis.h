// What a cluster's brokers serve, asked with ApiVersions over lifeline's own
// broker links (core/internal/broker_link.h), so that a command refuses up
// front, naming the API, instead of failing halfway: a broker without EndTxn
// took a whole exactly-once copy into a transaction it could never commit
// (Tansu 0.6, issue 14).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/config.h"
#include "core/kafka.h"
#include "core/status.h"

namespace lifeline {

struct ApiUse {
  int16_t key = 0;
  std::string_view name;  // e.g. "EndTxn"
};

// The APIs of a Kafka transaction that commits offsets with its records
// (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// TxnOffsetCommit).
std::span<const ApiUse> TransactionApis();
// Reading and creating topic configs (DescribeConfigs, CreateTopics).
std::span<const ApiUse> TopicConfigApis();

// Fails naming the first API of `needed` that a broker of the cluster does
// not serve, what needs it (`what`, e.g. "--exactly-once on the target") and
// `otherwise` (the way out, e.g. "mirror without --exactly-once"): an
// infrastructure error (exit 3), before any work. Ok when every broker
// serves them all, and also when the links cannot speak the configuration's
// security (a SASL mechanism they lack) or a broker cannot be reached: then
// librdkafka's own errors say so later.
Status RequireApis(const ClientConfig& config, Admin* admin, std::span<const ApiUse> needed,
                   std::string_view what, std::string_view otherwise);

}  // namespace lifeline
