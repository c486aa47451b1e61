#include "core/internal/raw_fetch.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <thread>

#include "core/internal/broker_link.h"
#include "core/internal/range_end.h"
#include "core/internal/record_batch.h"
#include "core/signals.h"

namespace lifeline::internal {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int16_t kFetchKey = 1;
constexpr int16_t kFetchVersion = 11;  // the newest non-flexible Fetch; Kafka 4 serves v4-v17
constexpr int8_t kReadUncommitted = 0;
constexpr int8_t kReadCommitted = 1;
constexpr Millis kMetadataTimeout{15000};
constexpr Millis kRetryBackoff{100};

// One partition's part of a Fetch response.
struct PartitionData {
  int16_t error = 0;
  int64_t high_watermark = -1;
  int64_t last_stable = -1;  // -1: not reported
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
    // An error for the whole response is the partition's too (the one asked
    // for): the caller decides, as for a partition's own, whether a
    // refreshed leader and another try can cure it (librdkafka's mock
    // answers a leader move this way).
    PartitionData d;
    d.error = error;
    return d;
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
      d.high_watermark = r.I64();
      d.last_stable = r.I64();
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

// Broker errors a refreshed leader or a retry can cure; an unknown topic or
// partition too, as metadata is not yet everywhere (the no-progress limit
// bounds the wait).
bool Retriable(int16_t error) {
  constexpr int16_t kUnknownTopicOrPartition = 3;
  return error == kUnknownTopicOrPartition || LeaderMoved(error);
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
    if (i == ranges_.size()) {
      LIFELINE_RETURN_IF_ERROR(ProbeEmptyRanges());
      return EndRanges(0, i);
    }
    LIFELINE_RETURN_IF_ERROR(Connect());
    LIFELINE_RETURN_IF_ERROR(ProbeEmptyRanges());
    LIFELINE_RETURN_IF_ERROR(EndRanges(0, i));
    RangeEnd range(ranges_[i].start, ranges_[i].end);
    auto last_progress = Clock::now();
    Status why_stuck;          // the last retriable error, for the no-progress message
    int64_t fetched_end = -1;  // the range's fetches' end of the log
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
      // Listings ask for the last stable offset (list_offsets.h); a broker
      // that does not report it in fetches leaves the check out.
      fetched_end = std::max(fetched_end, data->last_stable);
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
            "{} [{}]: no progress for {} s reading up to offset {}{}{}", r.tp.topic.value(),
            r.tp.partition.value(),
            std::chrono::duration_cast<std::chrono::seconds>(options_.no_progress).count(), r.end,
            why_stuck.ok() ? "" : " (" + why_stuck.message() + ")",
            fetched_end >= 0 && fetched_end < r.end
                ? fmt::format("; the broker's fetches put the end of the log at offset {}, "
                              "short of the end it listed",
                              fetched_end)
                : ""));
      }
      if (ni != i) {
        LIFELINE_RETURN_IF_ERROR(listed_end_.Check(
            r.tp, r.end, fetched_end, [&](const TopicPartition& tp) { return ListedEnd(tp); }));
        fetched_end = -1;
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
  Status Connect() {
    LIFELINE_ASSIGN_OR_RETURN(auto security, LinkSecurityFor(config_));
    LIFELINE_ASSIGN_OR_RETURN(dialer_, LinkDialer::Create(std::move(security)));
    if (!admin_) {
      LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(config_));
      own_admin_ = std::move(admin);
      admin_ = own_admin_.get();
    }
    connected_ = true;
    return RefreshLeaders();
  }

  // An empty range [e, e) is never fetched, so its end would go unchecked,
  // and a partition whose only record a broker leaves out of its listing
  // would read as empty. One fetch at `e` each (before any other request is
  // in flight) asks the broker's own view of the end (ListedEndCheck). Best
  // effort: a probe that cannot be made (no leader, an offset out of range,
  // a topic missing on this side) checks nothing and fails nothing; only a
  // misreported end is an error.
  Status ProbeEmptyRanges() {
    for (size_t k = 0; k < ranges_.size(); ++k) {
      const ReadRange& r = ranges_[k];
      if (r.start != r.end || r.end < 0) continue;
      if (!connected_ && !Connect().ok()) return Status::Ok();
      auto sent = SendFetch(k, r.end);
      if (!sent.ok()) continue;
      auto data = Receive(*sent);
      if (!data.ok() || data->error != 0) continue;
      LIFELINE_RETURN_IF_ERROR(listed_end_.Check(
          r.tp, r.end, data->last_stable, [&](const TopicPartition& tp) { return ListedEnd(tp); }));
    }
    return Status::Ok();
  }

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

  Result<int64_t> ListedEnd(const TopicPartition& tp) {
    LIFELINE_ASSIGN_OR_RETURN(auto wm, admin_->Watermarks(tp, kMetadataTimeout));
    return wm.high.value();
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
    if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      // The principal is the metadata handle's: the same settings as ours.
      return KafkaError(admin_->handle(), Where(r, offset), err, "",
                        {"Read", "topic", r.tp.topic.value()});
    }
    std::string msg = fmt::format("{}: {} answered {} ({})", Where(r, offset), in_flight_broker_,
                                  rd_kafka_err2str(err), rd_kafka_err2name(err));
    return Retriable(error) ? Status::Transient(std::move(msg)) : Status::Infra(std::move(msg));
  }

  // The connection to the leader of `tp` (opened if need be); Transient when
  // the partition has no leader now.
  Result<BrokerLink*> LeaderOf(const TopicPartition& tp) {
    auto it = leaders_.leaders.find(tp);
    const int32_t node = it == leaders_.leaders.end() ? -1 : it->second;
    auto broker = leaders_.brokers.find(node);
    if (node < 0 || broker == leaders_.brokers.end()) {
      return Status::Transient(
          fmt::format("{} [{}]: no leader", tp.topic.value(), tp.partition.value()));
    }
    return connections_.Get(*dialer_, node, broker->second, client_id_,
                            {kFetchKey, kFetchVersion, "Fetch", "use --reader librdkafka"});
  }

  struct InFlight {
    size_t range = 0;
    int32_t node = -1;
    BrokerLink* conn = nullptr;
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
      connections_.Drop(LeaderNode(r.tp));
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
      connections_.Drop(f.node);
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
  LinkPool connections_;
  std::unique_ptr<LinkDialer> dialer_;
  std::string in_flight_broker_;
  Buffer buf_;
  std::vector<Batch> batches_;
  BatchDecoder decoder_;
  ListedEndCheck listed_end_;
  bool connected_ = false;
};

}  // namespace

Status RawReadRanges(const ClientConfig& config, const std::vector<ReadRange>& ranges,
                     RecordSink* sink, const ReaderOptions& options, Admin* admin) {
  return RangeReader(config, ranges, sink, options, admin).Run();
}

}  // namespace lifeline::internal
