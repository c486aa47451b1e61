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
// options, then the bootstrap flag. With a non-empty `side` ("source" or
// "target"), -X options prefixed "source." or "target." apply only to their
// side (prefix stripped) and unprefixed ones to both sides.
Result<ClientConfig> BuildClientConfig(const ClientConfigInputs& inputs,
                                       std::string_view side = "");

}  // namespace lifeline
