// The client side of SCRAM (RFC 5802, RFC 7677): SCRAM-SHA-256 and
// SCRAM-SHA-512 as Kafka uses them (no channel binding, "n,,"). Pure: it
// knows no socket, so the exchange is unit-tested against the RFC's vectors;
// the raw reader (broker_link.h) carries the messages in SaslAuthenticate.
//
// Kafka checks the nonce strictly: the client-final message carries the
// combined nonce exactly once (librdkafka before 2.6.1 repeated the client
// nonce, which Kafka 4.x rejects; docs/kafka.md).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace lifeline::internal {

class ScramClient {
 public:
  // `mechanism` is "SCRAM-SHA-256" or "SCRAM-SHA-512" (a Usage error
  // otherwise). `nonce` empty: 24 random bytes, base64.
  static Result<ScramClient> Create(std::string_view mechanism, std::string user,
                                    std::string password, std::string nonce = "");

  // "n,,n=USER,r=NONCE", the user's '=' and ',' escaped.
  std::string ClientFirst() const;
  // The client-final message for the server-first one; an error when the
  // server's nonce does not extend ours, or its salt or iteration count is
  // unusable (the message says which).
  Result<std::string> ClientFinal(std::string_view server_first);
  // Checks the server's signature ("v=..."), or reports its "e=..." error.
  Status CheckServerFinal(std::string_view server_final) const;

 private:
  ScramClient() = default;
  std::string ClientFirstBare() const;

  bool sha512_ = false;
  std::string user_, password_, nonce_;
  std::string server_signature_;  // expected, raw bytes; set by ClientFinal
};

// Base64 (standard alphabet, padded) as SCRAM writes it.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace lifeline::internal
