// Client configuration: a bootstrap plus librdkafka properties, built from
// command-line `-X key=value` options and Java-style .properties files, with
// per-side prefixes for two-cluster commands. Secrets are redacted whenever a
// configuration is described for printing or logging.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace lifeline {

class ClientConfig {
 public:
  // Properties are kept in the order they were set; setting a key again
  // replaces its value in place.
  void Set(std::string key, std::string value);
  std::optional<std::string> Get(std::string_view key) const;
  void Erase(std::string_view key);
  const std::vector<std::pair<std::string, std::string>>& properties() const { return props_; }

  // bootstrap.servers, or "" when unset.
  std::string bootstrap() const { return Get("bootstrap.servers").value_or(""); }

  // "bootstrap.servers=h:9092 sasl.password=***** ..." for messages and logs.
  std::string Describe() const;

 private:
  std::vector<std::pair<std::string, std::string>> props_;
};

// True for keys whose values must never be printed: sasl.password,
// ssl.key.password, ssl.keystore.password and anything containing
// "password" or "secret" (case-insensitive).
bool IsSecretKey(std::string_view key);
std::string RedactedValue(std::string_view key, std::string_view value);

// "key=value" (the first '=' splits; the key must be non-empty).
Result<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text);

// Java .properties syntax: '#' and '!' comments, '=', ':' or whitespace as
// separator, backslash line continuations and escapes (\t \n \r \f \uXXXX).
Result<std::vector<std::pair<std::string, std::string>>> ParseProperties(std::string_view text);
Result<std::vector<std::pair<std::string, std::string>>> LoadPropertiesFile(
    const std::string& path);

// What a command line says about one cluster.
struct ClientConfigInputs {
  std::string bootstrap;                  // --bootstrap / --source / --target
  std::vector<std::string> config_files;  // --config / --source-config / --target-config
  std::vector<std::string> x_options;     // -X key=value, possibly side-prefixed
};

// Builds one cluster's configuration. Files apply first (in order), then -X
// options, then the bootstrap flag. With a non-empty `side` (one of
// kClusterSides), -X options prefixed with a side and a dot ("source.",
// "target.", "into.") apply only to that side (prefix stripped) and
// unprefixed ones to every side.
//
// Java client settings, as a client.properties file holds them, are turned
// into librdkafka's (JavaClientSettings below) before the result is returned.
Result<ClientConfig> BuildClientConfig(const ClientConfigInputs& inputs,
                                       std::string_view side = "");

// The names a two-cluster command gives its sides in -X prefixes.
inline constexpr std::string_view kClusterSides[] = {"source", "target", "into"};

// What a command line says about a source and a target cluster.
struct TwoClusterInputs {
  std::string source, target;                           // --source / --target bootstrap
  std::vector<std::string> config_files;                // --config: both sides, first
  std::vector<std::string> source_files, target_files;  // --source-config / --target-config
  std::vector<std::string> x_options;                   // -X, unprefixed: both sides
};

// One side ("source" or "target") of `inputs`.
Result<ClientConfig> BuildSideConfig(const TwoClusterInputs& inputs, std::string_view side);

// Rewrites the Java client settings librdkafka does not know into the ones it
// does, in place:
//   sasl.jaas.config with ScramLoginModule or PlainLoginModule -> sasl.username
//     and sasl.password (another login module is a usage error naming these);
//   ssl.endpoint.identification.algorithm= (empty, Java's "off") -> none;
//   ssl.truststore.location of a PEM file (ssl.truststore.type=PEM) ->
//     ssl.ca.location; of a JKS or PKCS12 store -> refused with the
//     ssl.ca.location to set instead; the other ssl.truststore.* dropped;
//   ssl.keystore.type PKCS12 -> dropped (librdkafka's keystore is PKCS#12);
//     JKS -> refused with the PKCS#12 or PEM settings to use instead.
// Errors are usage errors and never quote a secret.
Status JavaClientSettings(ClientConfig* config);

}  // namespace lifeline
