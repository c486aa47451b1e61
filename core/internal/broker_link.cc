#include "core/internal/broker_link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/internal/scram.h"
#include "core/signals.h"

namespace lifeline::internal {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int16_t kApiVersionsKey = 18;
constexpr int16_t kSaslHandshakeKey = 17;
constexpr int16_t kSaslAuthenticateKey = 36;
constexpr Millis kConnectTimeout{10000};
constexpr Millis kRequestTimeout{30000};
constexpr int kPollSliceMs = 200;  // how often socket waits look at Interrupted()

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// The newest OpenSSL error of this thread, for messages; clears the queue.
std::string TlsErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    out = reason ? reason : buf;
  }
  return out;
}

// A socket BIO that never raises SIGPIPE: OpenSSL's own writes with
// write(2), which kills the process when the broker has closed the
// connection; this one uses send(MSG_NOSIGNAL), as the plain path does.
int BioWrite(BIO* bio, const char* data, int size) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
  BIO_clear_retry_flags(bio);
  const ssize_t n = send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int BioRead(BIO* bio, char* data, int size) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
  BIO_clear_retry_flags(bio);
  const ssize_t n = recv(fd, data, static_cast<size_t>(size), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long BioCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* NoSigpipeSocket() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lifeline socket");
    BIO_meth_set_write(m, BioWrite);
    BIO_meth_set_read(m, BioRead);
    BIO_meth_set_ctrl(m, BioCtrl);
    BIO_meth_set_create(m, BioCreate);
    return m;
  }();
  return method;
}

Status Unsupported(std::string why) { return Status::Usage(std::move(why)); }

bool IsIpLiteral(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

// ---------------------------------------------------------------------------
// What the raw reader speaks.

Result<LinkSecurity> LinkSecurityFor(const ClientConfig& config) {
  LinkSecurity s;
  std::string protocol = "plaintext";
  for (const auto& [key, value] : config.properties()) {
    const std::string k = Lower(key);
    if (k == "security.protocol") {
      protocol = Lower(value);
      if (protocol != "plaintext" && protocol != "ssl" && protocol != "sasl_plaintext" &&
          protocol != "sasl_ssl") {
        return Unsupported("security.protocol=" + value);
      }
    } else if (k == "sasl.mechanism" || k == "sasl.mechanisms") {
      s.mechanism = Upper(value);
    } else if (k == "sasl.username") {
      s.username = value;
    } else if (k == "sasl.password") {
      s.password = value;
    } else if (k == "ssl.ca.location") {
      s.ca_location = value;
    } else if (k == "enable.ssl.certificate.verification") {
      const std::string v = Lower(value);
      if (v != "true" && v != "false") return Unsupported(fmt::format("{}={}", key, value));
      s.verify_certificate = v == "true";
    } else if (k == "ssl.endpoint.identification.algorithm") {
      const std::string v = Lower(value);
      if (v != "https" && v != "none") return Unsupported(fmt::format("{}={}", key, value));
      s.verify_hostname = v == "https";
    } else if (k.rfind("sasl.", 0) == 0 || k.rfind("ssl.", 0) == 0) {
      return Unsupported(key + " is set (the raw reader does not speak it)");
    }
  }
  s.tls = protocol == "ssl" || protocol == "sasl_ssl";
  if (protocol.rfind("sasl_", 0) == 0) {
    if (s.mechanism.empty()) return Unsupported("sasl.mechanism GSSAPI (librdkafka's default)");
    if (s.mechanism != "PLAIN" && s.mechanism != "SCRAM-SHA-256" &&
        s.mechanism != "SCRAM-SHA-512") {
      return Unsupported("sasl.mechanism " + s.mechanism);
    }
  } else {
    s.mechanism.clear();  // librdkafka ignores SASL settings without a SASL protocol
  }
  // librdkafka accepts "PROTOCOL://host:port" in the bootstrap list; the
  // raw reader serves it when it names the configured protocol.
  const std::string bootstrap = Lower(config.bootstrap());
  for (size_t at = bootstrap.find("://"); at != std::string::npos;
       at = bootstrap.find("://", at + 3)) {
    const size_t sep = bootstrap.find_last_of(", ", at);
    const size_t start = sep == std::string::npos ? 0 : sep + 1;
    const std::string proto = bootstrap.substr(start, at - start);
    if (proto != protocol) return Unsupported("bootstrap.servers names " + proto + "://");
  }
  return s;
}

// ---------------------------------------------------------------------------
// Framing.

RequestWriter::RequestWriter(int16_t key, int16_t version, int32_t correlation,
                             std::string_view client_id) {
  I32(0);  // the size, patched by Frame()
  I16(key);
  I16(version);
  I32(correlation);
  String(client_id);
}

void RequestWriter::String(std::string_view s) {
  I16(static_cast<int16_t>(s.size()));
  out_.append(s);
}

void RequestWriter::Bytes(std::string_view b) {
  I32(static_cast<int32_t>(b.size()));
  out_.append(b);
}

const std::string& RequestWriter::Frame() {
  const auto size = static_cast<uint32_t>(out_.size() - 4);
  for (int i = 0; i < 4; ++i) out_[i] = static_cast<char>(size >> (24 - 8 * i));
  return out_;
}

uint64_t ResponseReader::Get(size_t n) {
  if (!ok_ || b_.size() < n) {
    ok_ = false;
    return 0;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b_[i]);
  b_.remove_prefix(n);
  // Sign-extend to 64 bits so the casts in the header keep negative values.
  const int shift = static_cast<int>(64 - 8 * n);
  return shift ? static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift) : v;
}

std::string_view ResponseReader::Take(int64_t n) {
  if (n < 0) return {};  // null
  if (!ok_ || b_.size() < static_cast<size_t>(n)) {
    ok_ = false;
    return {};
  }
  std::string_view v = b_.substr(0, static_cast<size_t>(n));
  b_.remove_prefix(static_cast<size_t>(n));
  return v;
}

// ---------------------------------------------------------------------------
// Bytes over a non-blocking socket, in the clear or through TLS.

class Transport {
 public:
  explicit Transport(std::string name) : name_(std::move(name)) {}
  ~Transport() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Connects to one of `addr`'s addresses, each within kConnectTimeout and
  // all by `deadline`.
  Status Connect(const BrokerAddress& addr, Clock::time_point deadline);
  // The TLS handshake, checking the broker's certificate as `security` says.
  Status StartTls(SSL_CTX* ctx, const LinkSecurity& security, const std::string& host,
                  Clock::time_point deadline);
  Status WriteAll(std::string_view bytes, Clock::time_point deadline);
  Status ReadAll(char* out, size_t n, Clock::time_point deadline);

 private:
  Status IoError(std::string_view what) const {
    return Status::Transient(fmt::format("{}: {}", name_, what));
  }
  Status Wait(short events, Clock::time_point deadline, const char* doing) const;
  // After SSL_* returned `rc` <= 0: waits for what OpenSSL wants, or fails.
  Status TlsWait(int rc, Clock::time_point deadline, const char* doing);

  std::string name_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

Status Transport::Wait(short events, Clock::time_point deadline, const char* doing) const {
  for (;;) {
    if (Interrupted()) return Status::Interrupted("interrupted");
    pollfd p{fd_, events, 0};
    const int rc = poll(&p, 1, kPollSliceMs);
    if (rc > 0) return Status::Ok();
    if (rc < 0 && errno != EINTR)
      return IoError(fmt::format("{}: poll: {}", doing, std::strerror(errno)));
    if (Clock::now() > deadline) return IoError(fmt::format("{}: timed out", doing));
  }
}

Status Transport::Connect(const BrokerAddress& addr, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(addr.port);
  if (int rc = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status::Infra(fmt::format("{}: cannot resolve the host: {}", name_, gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    Status st = Wait(POLLOUT, std::min(deadline, Clock::now() + kConnectTimeout), "connect");
    if (st.code() == ExitCode::kInterrupted) return st;
    int err = 0;
    socklen_t len = sizeof err;
    if (st.ok()) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (!st.ok() || err != 0) {
      last_error = st.ok() ? std::strerror(err) : "timed out";
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return Status::Ok();
  }
  return IoError(fmt::format("cannot connect: {}", last_error));
}

Status Transport::TlsWait(int rc, Clock::time_point deadline, const char* doing) {
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
      return Wait(POLLIN, deadline, doing);
    case SSL_ERROR_WANT_WRITE:
      return Wait(POLLOUT, deadline, doing);
    case SSL_ERROR_ZERO_RETURN:
      return IoError(fmt::format("{}: the broker closed the TLS session", doing));
    case SSL_ERROR_SYSCALL: {
      const std::string detail = TlsErrors();
      if (!detail.empty()) return IoError(fmt::format("{}: {}", doing, detail));
      return IoError(fmt::format(
          "{}: {}", doing, errno ? std::strerror(errno) : "the broker closed the connection"));
    }
    default:
      return Status::Infra(fmt::format("{}: {}: TLS: {}", name_, doing, TlsErrors()));
  }
}

Status Transport::StartTls(SSL_CTX* ctx, const LinkSecurity& security, const std::string& host,
                           Clock::time_point deadline) {
  ssl_ = SSL_new(ctx);
  BIO* bio = ssl_ ? BIO_new(NoSigpipeSocket()) : nullptr;
  if (!bio) return Status::Infra(fmt::format("{}: TLS: {}", name_, TlsErrors()));
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd_)));
  SSL_set_bio(ssl_, bio, bio);  // the session owns the BIO from here
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE);
  const bool ip = IsIpLiteral(host);
  if (!ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
  if (security.verify_certificate && security.verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (ok != 1) return Status::Infra(fmt::format("{}: TLS: cannot check host '{}'", name_, host));
  }
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl_);
    if (rc == 1) return Status::Ok();
    const int kind = SSL_get_error(ssl_, rc);
    if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) {
      LIFELINE_RETURN_IF_ERROR(TlsWait(rc, deadline, "TLS handshake"));
      continue;
    }
    if (const long verify = SSL_get_verify_result(ssl_); verify != X509_V_OK) {
      const std::string why = X509_verify_cert_error_string(verify);
      if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        return Status::Infra(fmt::format(
            "{}: TLS handshake failed: the broker's certificate is not for '{}' ({}); connect "
            "by a name the certificate holds, or set ssl.endpoint.identification.algorithm=none",
            name_, host, why));
      }
      return Status::Infra(fmt::format(
          "{}: TLS handshake failed: the broker's certificate was not accepted ({}); set "
          "ssl.ca.location to the CA that signed it",
          name_, why));
    }
    // A plaintext listener reads a ClientHello as an oversized request and
    // closes the connection. A broker going away looks the same, so it is
    // retried (within the reader's bound) with the likely cause named.
    const unsigned long first = ERR_peek_error();
    const bool eof = (kind == SSL_ERROR_SYSCALL && first == 0) ||
                     ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    const std::string detail = TlsErrors();
    constexpr const char* kHint =
        "is the listener plaintext? security.protocol=SSL or SASL_SSL needs a TLS listener";
    if (eof)
      return IoError(fmt::format("TLS handshake: the broker closed the connection ({})", kHint));
    return Status::Infra(fmt::format("{}: TLS handshake failed ({}; {})", name_,
                                     detail.empty() ? "no detail" : detail, kHint));
  }
}

Status Transport::WriteAll(std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
      } else {
        LIFELINE_RETURN_IF_ERROR(TlsWait(n, deadline, "send"));
      }
      continue;
    }
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      LIFELINE_RETURN_IF_ERROR(Wait(POLLOUT, deadline, "send"));
    } else {
      return IoError(fmt::format("send: {}", std::strerror(errno)));
    }
  }
  return Status::Ok();
}

Status Transport::ReadAll(char* out, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    if (ssl_) {
      ERR_clear_error();
      const int got = SSL_read(ssl_, out, static_cast<int>(std::min<size_t>(n, 1 << 30)));
      if (got > 0) {
        out += got;
        n -= static_cast<size_t>(got);
      } else {
        LIFELINE_RETURN_IF_ERROR(TlsWait(got, deadline, "receive"));
      }
      continue;
    }
    const ssize_t got = recv(fd_, out, n, 0);
    if (got > 0) {
      out += got;
      n -= static_cast<size_t>(got);
    } else if (got == 0) {
      return IoError("the broker closed the connection");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      LIFELINE_RETURN_IF_ERROR(Wait(POLLIN, deadline, "receive"));
    } else {
      return IoError(fmt::format("receive: {}", std::strerror(errno)));
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The dialer: one TLS context for every link of a read.

Result<std::unique_ptr<LinkDialer>> LinkDialer::Create(LinkSecurity security) {
  std::unique_ptr<LinkDialer> d(new LinkDialer());
  d->security_ = std::move(security);
  if (!d->security_.tls) return d;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return Status::Infra("TLS: cannot make a context: " + TlsErrors());
  d->tls_context_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  const std::string& ca = d->security_.ca_location;
  if (d->security_.verify_certificate) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int ok = 0;
    if (ca.empty() || ca == "probe") {
      ok = SSL_CTX_set_default_verify_paths(ctx);
    } else {
      struct stat st {};
      const bool dir = ::stat(ca.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      ok = SSL_CTX_load_verify_locations(ctx, dir ? nullptr : ca.c_str(),
                                         dir ? ca.c_str() : nullptr);
    }
    if (ok != 1) {
      return Status::Usage(fmt::format(
          "ssl.ca.location={}: cannot load CA certificates from it ({}); name a PEM file or a "
          "directory of them",
          ca.empty() ? "(unset)" : ca, TlsErrors()));
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return d;
}

LinkDialer::~LinkDialer() {
  if (tls_context_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_context_));
}

// ---------------------------------------------------------------------------
// The link.

BrokerLink::~BrokerLink() = default;

Status BrokerLink::Error(std::string_view what) const {
  return Status::Infra(fmt::format("{}: {}", name_, what));
}

// A broker that went away, restarts or is not reachable: the partition gets
// a new leader (or this one comes back), so the reader retries.
Status BrokerLink::IoError(std::string_view what) const {
  return Status::Transient(fmt::format("{}: {}", name_, what));
}

Status BrokerLink::WriteAll(std::string_view bytes) {
  return transport_->WriteAll(bytes, Clock::now() + kRequestTimeout);
}

Result<std::string_view> BrokerLink::Receive(int32_t correlation, Millis timeout, Buffer* buf) {
  const auto deadline = Clock::now() + timeout;
  char size_bytes[4];
  LIFELINE_RETURN_IF_ERROR(transport_->ReadAll(size_bytes, 4, deadline));
  uint32_t size = 0;
  for (char c : size_bytes) size = (size << 8) | static_cast<uint8_t>(c);
  if (size < 4 || size > (1u << 30)) return Error(fmt::format("a response of {} bytes", size));
  buf->Reserve(size);
  LIFELINE_RETURN_IF_ERROR(transport_->ReadAll(buf->data.get(), size, deadline));
  ResponseReader header(std::string_view(buf->data.get(), 4));
  if (const int32_t got = header.I32(); got != correlation) {
    return Error(fmt::format("a response to request {} where {} was due", got, correlation));
  }
  return std::string_view(buf->data.get() + 4, size - 4);
}

Result<std::unique_ptr<BrokerLink>> BrokerLink::Open(const LinkDialer& dialer, int32_t node,
                                                     const BrokerAddress& addr,
                                                     std::string client_id, const ApiNeed& need,
                                                     Millis within) {
  std::unique_ptr<BrokerLink> link(new BrokerLink());
  link->name_ = fmt::format("broker {} at {}:{}", node, addr.host, addr.port);
  link->address_ = addr;
  link->client_id_ = std::move(client_id);
  link->setup_deadline_ = Clock::now() + within;
  link->transport_ = std::make_unique<Transport>(link->name_);
  LIFELINE_RETURN_IF_ERROR(link->transport_->Connect(addr, link->setup_deadline_));
  if (dialer.security().tls) {
    LIFELINE_RETURN_IF_ERROR(link->transport_->StartTls(static_cast<SSL_CTX*>(dialer.tls_context()),
                                                        dialer.security(), addr.host,
                                                        link->setup_deadline_));
  }
  LIFELINE_RETURN_IF_ERROR(link->CheckApiVersion(need));
  if (!dialer.security().mechanism.empty()) {
    LIFELINE_RETURN_IF_ERROR(link->Authenticate(dialer.security()));
  }
  return link;
}

Millis BrokerLink::SetupTimeLeft() const {
  return std::max(Millis(0), std::chrono::duration_cast<Millis>(setup_deadline_ - Clock::now()));
}

// ApiVersions v0: every broker serves it, also before authentication.
Result<std::map<int16_t, ApiRange>> BrokerLink::ServedApis(Millis timeout) {
  LIFELINE_ASSIGN_OR_RETURN(auto correlation, Send(kApiVersionsKey, 0, [](RequestWriter&) {}));
  Buffer buf;
  LIFELINE_ASSIGN_OR_RETURN(auto body, Receive(correlation, timeout, &buf));
  ResponseReader r(body);
  const int16_t error = r.I16();
  const int32_t n = r.I32();
  std::map<int16_t, ApiRange> out;
  for (int32_t i = 0; r.ok() && i < n; ++i) {
    const int16_t key = r.I16(), min = r.I16(), max = r.I16();
    out[key] = {min, max};
  }
  if (!r.ok()) return Error("a malformed ApiVersions response");
  if (error != 0 && out.empty()) return Error(fmt::format("ApiVersions failed (error {})", error));
  return out;
}

// Does the broker serve what the link is for?
Status BrokerLink::CheckApiVersion(const ApiNeed& need) {
  LIFELINE_ASSIGN_OR_RETURN(auto served, ServedApis(SetupTimeLeft()));
  auto it = served.find(need.key);
  if (it == served.end()) return Error(fmt::format("ApiVersions answer without {}", need.name));
  const auto [min, max] = it->second;
  if (min <= need.version && need.version <= max) return Status::Ok();
  return Error(fmt::format("serves {} v{}-v{}; lifeline speaks v{}{}{}", need.name, min, max,
                           need.version, need.otherwise.empty() ? "" : " (",
                           need.otherwise.empty() ? "" : fmt::format("{})", need.otherwise)));
}

// One SaslAuthenticate v1 round: our bytes out, the broker's back.
Result<std::string> BrokerLink::SaslExchange(std::string_view auth_bytes) {
  LIFELINE_ASSIGN_OR_RETURN(auto correlation, Send(kSaslAuthenticateKey, 1,
                                                   [&](RequestWriter& w) { w.Bytes(auth_bytes); }));
  Buffer buf;
  LIFELINE_ASSIGN_OR_RETURN(auto body, Receive(correlation, SetupTimeLeft(), &buf));
  ResponseReader r(body);
  const int16_t error = r.I16();
  const std::string_view message = r.String();
  const std::string_view answer = r.Bytes();
  r.I64();  // session lifetime: a link outliving it is closed by the broker and reopened
  if (!r.ok()) return Error("a malformed SaslAuthenticate response");
  if (error != 0) {
    const auto err = static_cast<rd_kafka_resp_err_t>(error);
    return Error(fmt::format(
        "authentication failed ({}{}{}): check sasl.username and sasl.password, and that the "
        "user exists for sasl.mechanism on this cluster",
        rd_kafka_err2name(err), message.empty() ? "" : ": ", message));
  }
  return std::string(answer);
}

Status BrokerLink::Authenticate(const LinkSecurity& security) {
  LIFELINE_ASSIGN_OR_RETURN(auto correlation, Send(kSaslHandshakeKey, 1, [&](RequestWriter& w) {
                              w.String(security.mechanism);
                            }));
  {
    Buffer buf;
    LIFELINE_ASSIGN_OR_RETURN(auto body, Receive(correlation, SetupTimeLeft(), &buf));
    ResponseReader r(body);
    const int16_t error = r.I16();
    std::vector<std::string> offered;
    const int32_t n = r.I32();
    for (int32_t i = 0; r.ok() && i < n; ++i) offered.emplace_back(r.String());
    if (!r.ok()) return Error("a malformed SaslHandshake response");
    if (error != 0) {
      const auto err = static_cast<rd_kafka_resp_err_t>(error);
      if (offered.empty()) {
        return Error(fmt::format(
            "SASL handshake refused ({}): the listener speaks no SASL; is it PLAINTEXT or SSL? "
            "set security.protocol to match it",
            rd_kafka_err2name(err)));
      }
      return Error(fmt::format(
          "SASL handshake refused ({}): the listener offers [{}], not {}; set sasl.mechanism to "
          "one it offers",
          rd_kafka_err2name(err), fmt::join(offered, ", "), security.mechanism));
    }
  }
  if (security.mechanism == "PLAIN") {
    std::string token;
    token.push_back('\0');
    token += security.username;
    token.push_back('\0');
    token += security.password;
    return SaslExchange(token).status();
  }
  LIFELINE_ASSIGN_OR_RETURN(
      auto scram, ScramClient::Create(security.mechanism, security.username, security.password));
  LIFELINE_ASSIGN_OR_RETURN(auto server_first, SaslExchange(scram.ClientFirst()));
  LIFELINE_ASSIGN_OR_RETURN_CTX(auto client_final, scram.ClientFinal(server_first), name_);
  LIFELINE_ASSIGN_OR_RETURN(auto server_final, SaslExchange(client_final));
  if (Status st = scram.CheckServerFinal(server_final); !st.ok()) return st.WithContext(name_);
  return Status::Ok();
}

bool LeaderMoved(int16_t error) {
  switch (error) {
    case 5:   // LEADER_NOT_AVAILABLE
    case 6:   // NOT_LEADER_OR_FOLLOWER
    case 9:   // REPLICA_NOT_AVAILABLE
    case 56:  // KAFKA_STORAGE_ERROR
    case 74:  // FENCED_LEADER_EPOCH
    case 75:  // UNKNOWN_LEADER_EPOCH
    case 78:  // OFFSET_NOT_AVAILABLE
      return true;
    default:
      return false;
  }
}

Result<BrokerLink*> LinkPool::Get(const LinkDialer& dialer, int32_t node, const BrokerAddress& addr,
                                  const std::string& client_id, const ApiNeed& need,
                                  Millis within) {
  auto& link = links_[node];
  if (link && (link->address().host != addr.host || link->address().port != addr.port)) {
    link.reset();
  }
  if (!link) {
    auto opened = BrokerLink::Open(dialer, node, addr, client_id, need, within);
    if (!opened.ok()) {
      links_.erase(node);
      return opened.status();
    }
    link = std::move(opened).value();
  }
  return link.get();
}

}  // namespace lifeline::internal
