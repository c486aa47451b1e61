#include "core/internal/client_errors.h"

#include <fmt/format.h>

#include <charconv>

namespace lifeline::internal {
namespace {

bool Has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// "sasl_ssl://127.0.0.1:17092/bootstrap: SSL handshake failed: ..." -> the
// broker's name as librdkafka gives it, before the first ": ".
std::string BrokerOf(std::string_view reason) {
  const size_t colon = reason.find(": ");
  if (colon == std::string_view::npos) return "the broker";
  std::string_view name = reason.substr(0, colon);
  if (name.ends_with("/bootstrap")) name.remove_suffix(10);
  return std::string(name);
}

// The text after `marker` up to the next " (" (librdkafka's "(after 3ms in
// state ...)" suffix), trimmed.
std::string After(std::string_view reason, std::string_view marker) {
  const size_t at = reason.find(marker);
  if (at == std::string_view::npos) return "";
  std::string_view rest = reason.substr(at + marker.size());
  rest = rest.substr(0, rest.find(" (after"));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  return std::string(rest);
}

}  // namespace

// Whether librdkafka `version` ("2.0.2") is older than major.minor.patch.
bool OlderThan(std::string_view version, int major, int minor, int patch) {
  int parts[3] = {0, 0, 0};
  const char* p = version.data();
  const char* end = version.data() + version.size();
  for (int& part : parts) {
    auto [next, ec] = std::from_chars(p, end, part);
    if (ec != std::errc()) break;
    p = next;
    if (p == end || *p != '.') break;
    ++p;
  }
  if (parts[0] != major) return parts[0] < major;
  if (parts[1] != minor) return parts[1] < minor;
  return parts[2] < patch;
}

bool HasScramNonceBug(std::string_view version) { return OlderThan(version, 2, 6, 1); }

bool HasApiVersionsTagBug(std::string_view version) { return OlderThan(version, 2, 2, 0); }

std::optional<std::string> DiagnoseClientError(std::string_view reason,
                                               const ClientSecurity& client) {
  const std::string broker = BrokerOf(reason);
  if (Has(reason, "SASL authentication error")) {
    std::string msg =
        fmt::format("{} refused the SASL login of user '{}' ({}): {}", broker, client.username,
                    client.mechanism, After(reason, "SASL authentication error:"));
    msg +=
        "; check sasl.username and sasl.password, and that the user has credentials for "
        "that mechanism";
    if (client.mechanism.starts_with("SCRAM") && HasScramNonceBug(client.librdkafka)) {
      msg += fmt::format(
          ". Also: librdkafka {} speaks a SCRAM that Kafka 4.x brokers refuse even with the "
          "right password (librdkafka#4895, fixed in 2.6.1); against such brokers use "
          "sasl.mechanism=PLAIN inside TLS",
          client.librdkafka);
    }
    return msg;
  }
  if (Has(reason, "mechanism handshake failed")) {
    const std::string offered = After(reason, "broker's supported mechanisms:");
    if (offered.empty()) {
      return fmt::format(
          "{} does not take SASL on this listener (it offers no mechanism): it is a plaintext "
          "or TLS-only listener; set security.protocol=PLAINTEXT or SSL, or use the cluster's "
          "SASL port",
          broker);
    }
    return fmt::format(
        "{} does not enable SASL mechanism {} on this listener; it offers {}: set "
        "sasl.mechanism to one of them",
        broker, client.mechanism, offered);
  }
  // librdkafka words a handshake's first failure without "SSL handshake
  // failed" ("NAME: error:0A000126:SSL routines::unexpected eof while
  // reading (after 2ms in state SSL_HANDSHAKE)"), and a request may fail
  // before the retry that says it.
  if (Has(reason, "SSL handshake failed") || Has(reason, "in state SSL_HANDSHAKE")) {
    if (Has(reason, "certificate verify failed")) {
      if (Has(reason, "mismatch")) {
        return fmt::format(
            "the TLS certificate of {} does not name the host or address connected to: use the "
            "name in its certificate in bootstrap.servers, or (tests only) set "
            "ssl.endpoint.identification.algorithm=none",
            broker);
      }
      return fmt::format(
          "the TLS certificate of {} could not be verified against {}: set ssl.ca.location to "
          "the CA certificate (PEM) that signed the broker's certificate",
          broker,
          client.ca_location.empty() ? std::string("the system's CA certificates (no "
                                                   "ssl.ca.location is set)")
                                     : "ssl.ca.location=" + client.ca_location);
    }
    if (Has(reason, "unexpected eof") || Has(reason, "wrong version number") ||
        Has(reason, "Disconnected") || Has(reason, "packet length too long") ||
        Has(reason, "record layer failure")) {
      return fmt::format(
          "{} did not answer the TLS handshake: the port is most likely a plaintext listener; "
          "set security.protocol=PLAINTEXT (or SASL_PLAINTEXT), or use the cluster's TLS port",
          broker);
    }
    return fmt::format("the TLS handshake with {} failed: {}", broker,
                       After(reason, "SSL handshake failed:"));
  }
  if (Has(reason, "ApiVersionRequest failed: Local: Read underflow") &&
      HasApiVersionsTagBug(client.librdkafka)) {
    return fmt::format(
        "{} answered ApiVersions in a form librdkafka {} cannot parse: the reply carries tagged "
        "fields, which librdkafka before 2.2 skips wrongly (confluentinc/librdkafka#4278; Tansu "
        "0.6 answers so). No client setting gets past it (api.version.request=false with any "
        "broker.version.fallback was measured not to, docs/compat.md): this platform cannot "
        "be reached with this librdkafka",
        broker, client.librdkafka);
  }
  if (Has(reason, "Disconnected while requesting ApiVersion") &&
      (client.protocol.empty() || client.protocol == "plaintext" ||
       client.protocol == "sasl_plaintext")) {
    return fmt::format(
        "{} closed the connection at the first request, as a TLS listener does to a "
        "plaintext client (security.protocol={}): set security.protocol=SSL or SASL_SSL and "
        "ssl.ca.location",
        broker, client.protocol.empty() ? "PLAINTEXT" : client.protocol);
  }
  return std::nullopt;
}

}  // namespace lifeline::internal
