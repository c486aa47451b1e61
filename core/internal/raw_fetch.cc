#include "core/internal/raw_fetch.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "core/internal/range_end.h"
#include "core/internal/record_batch.h"
#include "core/signals.h"

namespace lifeline::internal {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int16_t kFetchKey = 1;
constexpr int16_t kFetchVersion = 11;  // the newest non-flexible Fetch; Kafka 4 serves v4-v17
constexpr int16_t kApiVersionsKey = 18;
constexpr int8_t kReadUncommitted = 0;
constexpr int8_t kReadCommitted = 1;
constexpr Millis kMetadataTimeout{15000};
constexpr Millis kConnectTimeout{10000};
constexpr Millis kRetryBackoff{100};
constexpr int kPollSliceMs = 200;  // how often socket waits look at Interrupted()

// Big-endian encoding of a request: size prefix, header v1, body.
class RequestWriter {
 public:
  RequestWriter(int16_t key, int16_t version, int32_t correlation, std::string_view client_id) {
    I32(0);  // the size, patched by Frame()
    I16(key);
    I16(version);
    I32(correlation);
    String(client_id);
  }
  void I8(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void I16(int16_t v) { Put(static_cast<uint64_t>(static_cast<uint16_t>(v)), 2); }
  void I32(int32_t v) { Put(static_cast<uint64_t>(static_cast<uint32_t>(v)), 4); }
  void I64(int64_t v) { Put(static_cast<uint64_t>(v), 8); }
  void String(std::string_view s) {
    I16(static_cast<int16_t>(s.size()));
    out_.append(s);
  }
  const std::string& Frame() {
    const auto size = static_cast<uint32_t>(out_.size() - 4);
    for (int i = 0; i < 4; ++i) out_[i] = static_cast<char>(size >> (24 - 8 * i));
    return out_;
  }

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
  uint64_t Get(size_t n) {
    if (!ok_ || b_.size() < n) return Fail();
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b_[i]);
    b_.remove_prefix(n);
    // Sign-extend to 64 bits so the casts above keep negative values.
    const int shift = static_cast<int>(64 - 8 * n);
    return shift ? static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift) : v;
  }
  std::string_view Take(int64_t n) {
    if (n < 0) return {};  // null
    if (!ok_ || b_.size() < static_cast<size_t>(n)) {
      Fail();
      return {};
    }
    std::string_view v = b_.substr(0, static_cast<size_t>(n));
    b_.remove_prefix(static_cast<size_t>(n));
    return v;
  }
  uint64_t Fail() {
    ok_ = false;
    return 0;
  }
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

// One plaintext TCP connection to a broker; one request at a time.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(int32_t node, const BrokerAddress& addr,
                                                  std::string client_id);
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

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

  const std::string& name() const { return name_; }
  const BrokerAddress& address() const { return address_; }

 private:
  Connection() = default;
  Status Error(std::string_view what) const {
    return Status::Infra(fmt::format("{}: {}", name_, what));
  }
  // A broker that went away, restarts or is not reachable: the partition
  // gets a new leader (or this one comes back), so the reader retries.
  Status IoError(std::string_view what) const {
    return Status::Transient(fmt::format("{}: {}", name_, what));
  }
  Status Wait(short events, Clock::time_point deadline, const char* doing) const;
  Status WriteAll(std::string_view bytes);
  Status ReadAll(char* out, size_t n, Clock::time_point deadline);
  Status CheckFetchVersion();

  int fd_ = -1;
  std::string name_;
  BrokerAddress address_;
  std::string client_id_;
  int32_t next_correlation_ = 1;
};

Status Connection::Wait(short events, Clock::time_point deadline, const char* doing) const {
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

Status Connection::WriteAll(std::string_view bytes) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!bytes.empty()) {
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

Status Connection::ReadAll(char* out, size_t n, Clock::time_point deadline) {
  while (n > 0) {
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

Result<std::string_view> Connection::Receive(int32_t correlation, Millis timeout, Buffer* buf) {
  const auto deadline = Clock::now() + timeout;
  char size_bytes[4];
  LIFELINE_RETURN_IF_ERROR(ReadAll(size_bytes, 4, deadline));
  uint32_t size = 0;
  for (char c : size_bytes) size = (size << 8) | static_cast<uint8_t>(c);
  if (size < 4 || size > (1u << 30)) return Error(fmt::format("a response of {} bytes", size));
  buf->Reserve(size);
  LIFELINE_RETURN_IF_ERROR(ReadAll(buf->data.get(), size, deadline));
  ResponseReader header(std::string_view(buf->data.get(), 4));
  if (const int32_t got = header.I32(); got != correlation) {
    return Error(fmt::format("a response to request {} where {} was due", got, correlation));
  }
  return std::string_view(buf->data.get() + 4, size - 4);
}

Result<std::unique_ptr<Connection>> Connection::Open(int32_t node, const BrokerAddress& addr,
                                                     std::string client_id) {
  std::unique_ptr<Connection> c(new Connection());
  c->name_ = fmt::format("broker {} at {}:{}", node, addr.host, addr.port);
  c->address_ = addr;
  c->client_id_ = std::move(client_id);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(addr.port);
  if (int rc = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return c->Error(fmt::format("cannot resolve the host: {}", gai_strerror(rc)));
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
    if (c->fd_ >= 0) close(c->fd_);
    c->fd_ = fd;
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    Status st = c->Wait(POLLOUT, Clock::now() + kConnectTimeout, "connect");
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
    LIFELINE_RETURN_IF_ERROR(c->CheckFetchVersion());
    return c;
  }
  return c->IoError(fmt::format("cannot connect: {}", last_error));
}

// ApiVersions v0 (which every broker serves): does the broker serve our Fetch?
Status Connection::CheckFetchVersion() {
  auto correlation = Send(kApiVersionsKey, 0, [](RequestWriter&) {});
  if (!correlation.ok()) return correlation.status();
  Buffer buf;
  LIFELINE_ASSIGN_OR_RETURN(auto body, Receive(*correlation, std::chrono::seconds(30), &buf));
  ResponseReader r(body);
  const int16_t error = r.I16();
  const int32_t n = r.I32();
  for (int32_t i = 0; r.ok() && i < n; ++i) {
    const int16_t key = r.I16(), min = r.I16(), max = r.I16();
    if (key != kFetchKey) continue;
    if (min <= kFetchVersion && kFetchVersion <= max) return Status::Ok();
    return Error(
        fmt::format("serves Fetch v{}-v{}; the raw reader speaks v{} (use --reader librdkafka)",
                    min, max, kFetchVersion));
  }
  return Error(fmt::format("ApiVersions answer without Fetch (error {})", error));
}

// One partition's part of a Fetch response.
struct PartitionData {
  int16_t error = 0;
  std::vector<AbortedTransaction> aborted;
  std::string_view records;
};

Result<PartitionData> ParseFetch(std::string_view body, const TopicPartition& tp,
                                 const std::string& broker) {
  ResponseReader r(body);
  // A throttled connection is muted by the broker itself, and a fetch over
  // a quota is answered at once with no partitions at all (KIP-219).
  const int32_t throttle_ms = r.I32();
  const int16_t error = r.I16();
  r.I32();  // session_id: none, we send full fetches
  if (r.ok() && error != 0) {
    const auto err = static_cast<rd_kafka_resp_err_t>(error);
    return Status::Infra(fmt::format("{}: Fetch failed: {} ({})", broker, rd_kafka_err2str(err),
                                     rd_kafka_err2name(err)));
  }
  std::optional<PartitionData> found;
  const int32_t topics = r.I32();
  for (int32_t t = 0; r.ok() && t < topics; ++t) {
    const std::string_view topic = r.String();
    const int32_t partitions = r.I32();
    for (int32_t p = 0; r.ok() && p < partitions; ++p) {
      PartitionData d;
      const int32_t index = r.I32();
      d.error = r.I16();
      r.I64();                          // high watermark
      r.I64();                          // last stable offset
      r.I64();                          // log start offset
      const int32_t aborted = r.I32();  // -1: null
      for (int32_t a = 0; r.ok() && a < aborted; ++a) {
        AbortedTransaction at;
        at.producer_id = r.I64();
        at.first_offset = r.I64();
        d.aborted.push_back(at);
      }
      r.I32();  // preferred read replica
      d.records = r.Bytes();
      if (topic == tp.topic.value() && index == tp.partition.value()) found = std::move(d);
    }
  }
  if (!r.ok()) return Status::Infra(broker + ": a malformed Fetch response");
  if (!found && throttle_ms > 0) {
    // The next request waits on the broker's side until the mute ends.
    return Status::Transient(
        fmt::format("{}: throttled for {} ms (a fetch quota)", broker, throttle_ms));
  }
  if (!found) {
    return Status::Infra(fmt::format("{}: the Fetch response lacks {} [{}]", broker,
                                     tp.topic.value(), tp.partition.value()));
  }
  return std::move(*found);
}

// Broker errors a refreshed leader or a retry can cure.
bool Retriable(int16_t error) {
  switch (error) {
    case 3:   // UNKNOWN_TOPIC_OR_PARTITION (metadata not yet everywhere)
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

std::string Where(const ReadRange& r, int64_t offset) {
  return fmt::format("{} [{}] at offset {}", r.tp.topic.value(), r.tp.partition.value(), offset);
}

// Reads the ranges in order with at most one request in flight: a response
// is scanned for its whole batches, the next request (the same range further
// on, or the next range) is sent, and only then are the records decoded, so
// the broker prepares the next response while this one is digested.
class RangeReader {
 public:
  RangeReader(const ClientConfig& config, const std::vector<ReadRange>& ranges, RecordSink* sink,
              const ReaderOptions& options, Admin* admin)
      : config_(config), ranges_(ranges), sink_(sink), options_(options), admin_(admin) {
    client_id_ = config.Get("client.id").value_or(options.client_id);
  }

  Status Run() {
    size_t i = NextNonEmpty(0);
    LIFELINE_RETURN_IF_ERROR(EndRanges(0, i));
    if (i == ranges_.size()) return Status::Ok();
    if (!admin_) {
      LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(config_));
      own_admin_ = std::move(admin);
      admin_ = own_admin_.get();
    }
    LIFELINE_RETURN_IF_ERROR(RefreshLeaders());
    RangeEnd range(ranges_[i].start, ranges_[i].end);
    auto last_progress = Clock::now();
    Status why_stuck;  // the last retriable error, for the no-progress message
    auto sent = SendFetch(i, range.next());
    for (;;) {
      if (Interrupted()) return Status::Interrupted("interrupted");
      const ReadRange& r = ranges_[i];
      const int64_t pos = range.next();
      Result<PartitionData> data =
          sent.ok() ? Receive(*sent) : Result<PartitionData>(sent.status());
      if (!data.ok() && !data.status().transient()) return data.status();
      if (!data.ok() || data->error != 0) {
        why_stuck = data.ok() ? BrokerError(r, pos, data->error) : data.status();
        if (!why_stuck.transient() || Clock::now() - last_progress > options_.no_progress) {
          return why_stuck;
        }
        LIFELINE_RETURN_IF_ERROR(Backoff());
        (void)RefreshLeaders();  // a failure here shows up as the next send's error
        sent = SendFetch(i, pos);
        continue;
      }
      LIFELINE_RETURN_IF_ERROR(ScanBatches(r, pos, data->records));
      // Every whole batch moves the range on, delivered or not (aborted
      // records, markers): the one end rule (range_end.h).
      RangeEnd after = range;
      for (const Batch& b : batches_) after.Advance(b.header.next_offset());
      // Decide and send what comes next before decoding this response.
      size_t ni = i;
      int64_t npos = after.next();
      if (after.finished()) {
        ni = NextNonEmpty(i + 1);
        npos = ni < ranges_.size() ? ranges_[ni].start : -1;
      }
      if (ni < ranges_.size()) sent = SendFetch(ni, npos);
      LIFELINE_RETURN_IF_ERROR(Deliver(i, &range, std::move(data->aborted)));
      range.Advance(after.next());
      if (range.next() > pos) {
        last_progress = Clock::now();
      } else if (Clock::now() - last_progress > options_.no_progress) {
        return Status::Infra(fmt::format(
            "{} [{}]: no progress for {} s reading up to offset {}{}", r.tp.topic.value(),
            r.tp.partition.value(),
            std::chrono::duration_cast<std::chrono::seconds>(options_.no_progress).count(), r.end,
            why_stuck.ok() ? "" : " (" + why_stuck.message() + ")"));
      }
      if (ni != i) {
        LIFELINE_RETURN_IF_ERROR(EndRanges(i, ni));
        last_progress = Clock::now();
        why_stuck = Status::Ok();
        if (ni >= ranges_.size()) return Status::Ok();
        range = RangeEnd(ranges_[ni].start, ranges_[ni].end);
      }
      i = ni;
    }
  }

 private:
  // The first non-empty range from `i` on (the caller ends the ones skipped).
  size_t NextNonEmpty(size_t i) const {
    while (i < ranges_.size() && RangeEnd(ranges_[i].start, ranges_[i].end).finished()) ++i;
    return i;
  }

  Status EndRanges(size_t from, size_t to) {
    for (size_t k = from; k < to; ++k) LIFELINE_RETURN_IF_ERROR(sink_->OnRangeEnd(k));
    return Status::Ok();
  }

  // The whole batches of a response's record set into batches_.
  Status ScanBatches(const ReadRange& r, int64_t pos, std::string_view set) {
    batches_.clear();
    for (;;) {
      auto batch = NextBatch(&set);
      if (!batch.ok()) return batch.status().WithContext(Where(r, pos));
      if (!*batch) return Status::Ok();
      batches_.push_back(**batch);
    }
  }

  Status RefreshLeaders() {
    std::set<std::string> topics;
    for (const ReadRange& r : ranges_) topics.insert(r.tp.topic.value());
    auto leaders = admin_->Leaders({topics.begin(), topics.end()}, kMetadataTimeout);
    if (!leaders.ok()) return leaders.status();
    leaders_ = std::move(leaders).value();
    return Status::Ok();
  }

  Status Backoff() {
    const auto until = Clock::now() + kRetryBackoff;
    while (Clock::now() < until) {
      if (Interrupted()) return Status::Interrupted("interrupted");
      std::this_thread::sleep_for(Millis(10));
    }
    return Status::Ok();
  }

  Status BrokerError(const ReadRange& r, int64_t offset, int16_t error) const {
    const auto err = static_cast<rd_kafka_resp_err_t>(error);
    std::string msg = fmt::format("{}: {} answered {} ({})", Where(r, offset), in_flight_broker_,
                                  rd_kafka_err2str(err), rd_kafka_err2name(err));
    return Retriable(error) ? Status::Transient(std::move(msg)) : Status::Infra(std::move(msg));
  }

  // The connection to the leader of `tp` (opened if need be); Transient when
  // the partition has no leader now.
  Result<Connection*> LeaderOf(const TopicPartition& tp) {
    auto it = leaders_.leaders.find(tp);
    const int32_t node = it == leaders_.leaders.end() ? -1 : it->second;
    auto broker = leaders_.brokers.find(node);
    if (node < 0 || broker == leaders_.brokers.end()) {
      return Status::Transient(
          fmt::format("{} [{}]: no leader", tp.topic.value(), tp.partition.value()));
    }
    auto& conn = connections_[node];
    if (conn && (conn->address().host != broker->second.host ||
                 conn->address().port != broker->second.port)) {
      conn.reset();
    }
    if (!conn) {
      LIFELINE_ASSIGN_OR_RETURN(auto opened, Connection::Open(node, broker->second, client_id_));
      conn = std::move(opened);
    }
    return conn.get();
  }

  struct InFlight {
    size_t range = 0;
    int32_t node = -1;
    Connection* conn = nullptr;
    int32_t correlation = 0;
  };

  Result<InFlight> SendFetch(size_t i, int64_t offset) {
    const ReadRange& r = ranges_[i];
    LIFELINE_ASSIGN_OR_RETURN(auto conn, LeaderOf(r.tp));
    auto correlation = conn->Send(kFetchKey, kFetchVersion, [&](RequestWriter& w) {
      w.I32(-1);  // replica id: a consumer
      w.I32(options_.max_wait_ms);
      w.I32(1);  // min bytes
      w.I32(options_.max_bytes);
      w.I8(options_.read_committed ? kReadCommitted : kReadUncommitted);
      w.I32(0);   // session id: none
      w.I32(-1);  // session epoch: a full fetch that opens no session
      w.I32(1);   // topics
      w.String(r.tp.topic.value());
      w.I32(1);  // partitions
      w.I32(r.tp.partition.value());
      w.I32(-1);  // current leader epoch: unknown (librdkafka 2.0.2's metadata has none)
      w.I64(offset);
      w.I64(-1);  // log start offset: only followers send it
      w.I32(options_.partition_max_bytes);
      w.I32(0);      // forgotten topics
      w.String("");  // rack id
    });
    if (!correlation.ok()) {
      connections_.erase(LeaderNode(r.tp));
      return correlation.status();
    }
    return InFlight{i, LeaderNode(r.tp), conn, *correlation};
  }

  int32_t LeaderNode(const TopicPartition& tp) const {
    auto it = leaders_.leaders.find(tp);
    return it == leaders_.leaders.end() ? -1 : it->second;
  }

  Result<PartitionData> Receive(const InFlight& f) {
    in_flight_broker_ = f.conn->name();
    const Millis timeout = options_.no_progress + Millis(options_.max_wait_ms);
    auto body = f.conn->Receive(f.correlation, timeout, &buf_);
    if (!body.ok()) {
      // Whatever was half read, the stream is out of step: a retry opens a
      // new connection (the leader may have moved meanwhile).
      connections_.erase(f.node);
      return body.status();
    }
    return ParseFetch(*body, ranges_[f.range].tp, f.conn->name());
  }

  // Decodes the scanned batches of range `i` into the sink, moving `*range`
  // past each delivered record. Read uncommitted, the aborted list is
  // ignored (markers are still hidden).
  Status Deliver(size_t i, RangeEnd* range, std::vector<AbortedTransaction> aborted) {
    const ReadRange& r = ranges_[i];
    const int64_t pos = range->next();
    if (!options_.read_committed) aborted.clear();
    TransactionFilter filter(std::move(aborted));
    Status failed;
    for (const Batch& b : batches_) {
      ControlType control = ControlType::kUnknown;
      if (b.header.control()) {
        auto c = decoder_.Control(b);
        if (!c.ok()) return c.status().WithContext(Where(r, pos));
        control = *c;
      }
      if (!filter.Deliver(b.header, control) || b.header.next_offset() <= range->next()) continue;
      Status st = decoder_.Records(b, range->next(), [&](const RecordView& rec) {
        if (!range->Delivers(rec.offset)) {
          range->Advance(rec.offset);
          return false;
        }
        failed = sink_->OnRecord(i, rec);
        range->Advance(rec.offset + 1);
        return failed.ok();
      });
      if (!st.ok()) return st.WithContext(Where(r, pos));
      if (!failed.ok()) return failed;
      if (range->finished()) break;
    }
    return Status::Ok();
  }

  const ClientConfig& config_;
  const std::vector<ReadRange>& ranges_;
  RecordSink* sink_;
  const ReaderOptions& options_;
  std::string client_id_;
  Admin* admin_;  // borrowed, or own_admin_
  std::unique_ptr<Admin> own_admin_;
  PartitionLeaders leaders_;
  std::map<int32_t, std::unique_ptr<Connection>> connections_;
  std::string in_flight_broker_;
  Buffer buf_;
  std::vector<Batch> batches_;
  BatchDecoder decoder_;
};

}  // namespace

Status RawReadRanges(const ClientConfig& config, const std::vector<ReadRange>& ranges,
                     RecordSink* sink, const ReaderOptions& options, Admin* admin) {
  return RangeReader(config, ranges, sink, options, admin).Run();
}

}  // namespace lifeline::internal
