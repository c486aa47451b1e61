// What librdkafka logs about why a client cannot talk to a broker, turned
// into one sentence naming the cause and the fix. librdkafka reports a failed
// TLS handshake, a refused login or a listener of the wrong kind only in its
// logs; the request that then fails says no more than "broker transport
// failure", which reads like a cluster that is down. core/kafka.cc records
// the latest diagnosis and adds it to that error (KafkaError).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lifeline::internal {

// The client settings a diagnosis names (never the password).
struct ClientSecurity {
  std::string protocol;     // security.protocol, lower case
  std::string mechanism;    // sasl.mechanisms
  std::string username;     // sasl.username
  std::string ca_location;  // ssl.ca.location ("" for the system's CAs)
  std::string librdkafka;   // rd_kafka_version_str()
};

// The cause and fix for a connection failure librdkafka logged as `reason`
// ("NAME: SSL handshake failed: ..."), or nullopt when it is not a security or listener problem
// (a refused connection, a broker that is down: the usual hint applies).
std::optional<std::string> DiagnoseClientError(std::string_view reason,
                                               const ClientSecurity& client);

// True when librdkafka `version` ("2.0.2") has the SCRAM bug that Kafka 4.x
// brokers refuse (librdkafka#4895, fixed in 2.6.1).
bool HasScramNonceBug(std::string_view version);

// True when librdkafka `version` cannot parse an ApiVersions reply that
// carries tagged fields (librdkafka#4278, fixed in 2.2.0).
bool HasApiVersionsTagBug(std::string_view version);

}  // namespace lifeline::internal
