// One connection to one broker for the raw reader (raw_fetch.h): TCP, TLS
// when the configuration says so (OpenSSL), SASL when it says so
// (SaslHandshake v1 + SaslAuthenticate v1: PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512), then framed requests and responses, one at a time.
//
// The security settings the raw reader understands are a subset of
// librdkafka's (LinkSecurityFor below); a configuration outside it is read
// with librdkafka instead (reader.h, kAuto), or refused for --reader raw with
// the setting that is the reason.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/kafka.h"
#include "core/status.h"

namespace lifeline::internal {

// How connections are secured.
struct LinkSecurity {
  bool tls = false;
  std::string ca_location;         // file or directory; empty or "probe": the system's CAs
  bool verify_certificate = true;  // enable.ssl.certificate.verification
  bool verify_hostname = true;     // ssl.endpoint.identification.algorithm=https (the default)
  std::string mechanism;           // empty: no SASL; PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
  std::string username, password;
};

// The security `config` asks for, or a Usage error whose message is the
// reason the raw reader cannot serve it (a setting it does not speak:
// client certificates, GSSAPI, OAUTHBEARER, ssl.* and sasl.* settings other
// than those above). Reads no file.
Result<LinkSecurity> LinkSecurityFor(const ClientConfig& config);

// Big-endian encoding of a request: size prefix, header v1, body.
class RequestWriter {
 public:
  RequestWriter(int16_t key, int16_t version, int32_t correlation, std::string_view client_id);
  void I8(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void I16(int16_t v) { Put(static_cast<uint64_t>(static_cast<uint16_t>(v)), 2); }
  void I32(int32_t v) { Put(static_cast<uint64_t>(static_cast<uint32_t>(v)), 4); }
  void I64(int64_t v) { Put(static_cast<uint64_t>(v), 8); }
  void String(std::string_view s);
  void Bytes(std::string_view b);
  const std::string& Frame();

 private:
  void Put(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  std::string out_;
};

// Bounds-checked big-endian decoding of a response; once a read runs past
// the end, every later read returns zero and ok() is false.
class ResponseReader {
 public:
  explicit ResponseReader(std::string_view b) : b_(b) {}
  int16_t I16() { return static_cast<int16_t>(Get(2)); }
  int32_t I32() { return static_cast<int32_t>(Get(4)); }
  int64_t I64() { return static_cast<int64_t>(Get(8)); }
  std::string_view String() { return Take(I16()); }
  std::string_view Bytes() { return Take(I32()); }
  bool ok() const { return ok_; }

 private:
  uint64_t Get(size_t n);
  std::string_view Take(int64_t n);
  std::string_view b_;
  bool ok_ = true;
};

// A receive buffer that grows without zero-filling and is never shrunk.
struct Buffer {
  std::unique_ptr<char[]> data;
  size_t cap = 0;
  void Reserve(size_t n) {
    if (n <= cap) return;
    data = std::make_unique_for_overwrite<char[]>(n);
    cap = n;
  }
};

class Transport;  // plain or TLS bytes over one socket (broker_link.cc)

// Opens links with one configuration's security; holds the TLS context its
// links share. Not thread-safe.
class LinkDialer {
 public:
  // Loads the CA named by the configuration: an error names the setting and
  // the path when it cannot be read.
  static Result<std::unique_ptr<LinkDialer>> Create(LinkSecurity security);
  ~LinkDialer();
  LinkDialer(const LinkDialer&) = delete;
  LinkDialer& operator=(const LinkDialer&) = delete;

  const LinkSecurity& security() const { return security_; }
  void* tls_context() const { return tls_context_; }  // an SSL_CTX*, or null

 private:
  LinkDialer() = default;
  LinkSecurity security_;
  void* tls_context_ = nullptr;
};

// The request a link is opened for: the broker must serve `version` of API
// `key` (named `name` in the refusal, which also says what to do instead).
struct ApiNeed {
  int16_t key = 0;
  int16_t version = 0;
  std::string_view name;
  std::string_view otherwise;  // e.g. "use --reader librdkafka"; may be empty
};

// The versions of one API a broker serves.
struct ApiRange {
  int16_t min = 0, max = 0;
};

// A connected (and, as configured, encrypted and authenticated) broker.
class BrokerLink {
 public:
  // Connects, checks the broker serves `need` (ApiVersions), and
  // authenticates, all within `within`. Errors: Transient for what a retry
  // may cure (a refused or dropped connection, a timeout), Infra for what it
  // cannot (a TLS handshake refused, authentication failed), each naming the
  // broker, the cause and the setting to fix.
  static Result<std::unique_ptr<BrokerLink>> Open(const LinkDialer& dialer, int32_t node,
                                                  const BrokerAddress& addr, std::string client_id,
                                                  const ApiNeed& need,
                                                  Millis within = Millis(30000));
  ~BrokerLink();
  BrokerLink(const BrokerLink&) = delete;
  BrokerLink& operator=(const BrokerLink&) = delete;

  // Sends a request built by `fill` (body only); returns its correlation id.
  template <typename Fill>
  Result<int32_t> Send(int16_t key, int16_t version, Fill&& fill) {
    const int32_t correlation = next_correlation_++;
    RequestWriter w(key, version, correlation, client_id_);
    fill(w);
    LIFELINE_RETURN_IF_ERROR(WriteAll(w.Frame()));
    return correlation;
  }
  // The body of the response to `correlation` (the next one to arrive),
  // valid until the next Receive into `buf`.
  Result<std::string_view> Receive(int32_t correlation, Millis timeout, Buffer* buf);

  // Every API the broker serves, by key (ApiVersions v0).
  Result<std::map<int16_t, ApiRange>> ServedApis(Millis timeout);

  const std::string& name() const { return name_; }
  const BrokerAddress& address() const { return address_; }

 private:
  BrokerLink() = default;
  Status Error(std::string_view what) const;
  Status IoError(std::string_view what) const;
  Status WriteAll(std::string_view bytes);
  Millis SetupTimeLeft() const;
  Status CheckApiVersion(const ApiNeed& need);
  Status Authenticate(const LinkSecurity& security);
  Result<std::string> SaslExchange(std::string_view auth_bytes);

  std::unique_ptr<Transport> transport_;
  std::string name_;
  BrokerAddress address_;
  std::string client_id_;
  int32_t next_correlation_ = 1;
  std::chrono::steady_clock::time_point setup_deadline_;  // Open's
};

// Broker error codes that fresh metadata (a new leader) or a later try
// cures: LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, REPLICA_NOT_AVAILABLE,
// KAFKA_STORAGE_ERROR, FENCED/UNKNOWN_LEADER_EPOCH, OFFSET_NOT_AVAILABLE (a
// new leader before its high watermark is known).
bool LeaderMoved(int16_t error);

// Open links by broker node, each reused while its node keeps its address.
class LinkPool {
 public:
  // The link to `node` at `addr`: the open one, or one opened (BrokerLink::Open)
  // when there is none or the node has moved.
  Result<BrokerLink*> Get(const LinkDialer& dialer, int32_t node, const BrokerAddress& addr,
                          const std::string& client_id, const ApiNeed& need,
                          Millis within = Millis(30000));
  // Forgets the link to `node` (after it failed: it is not trusted again).
  void Drop(int32_t node) { links_.erase(node); }

 private:
  std::map<int32_t, std::unique_ptr<BrokerLink>> links_;
};

}  // namespace lifeline::internal
