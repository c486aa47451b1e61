#include "core/internal/list_offsets.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "core/internal/broker_link.h"
#include "core/signals.h"

namespace lifeline::internal {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int16_t kListOffsetsKey = 2;
constexpr int16_t kListOffsetsVersion = 2;  // the first with an isolation level; Kafka 4 serves v1+
constexpr int8_t kReadCommitted = 1;
constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr Millis kMetadataTimeout{15000};
// A topic created a moment ago may be unknown to the broker asked for a
// while: that many tries (as librdkafka's path allowed) before it counts.
constexpr int kUnknownTopicTries = 30;

constexpr int16_t kUnknownTopicOrPartition = 3;

Millis Left(Clock::time_point deadline) {
  return std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
}

}  // namespace

struct OffsetLister::Answer {
  int16_t error = 0;
  int64_t offset = -1;
};

OffsetLister::~OffsetLister() = default;

Result<std::unique_ptr<OffsetLister>> OffsetLister::Create(const ClientConfig& config,
                                                           Admin* admin) {
  LIFELINE_ASSIGN_OR_RETURN(auto security, LinkSecurityFor(config));
  std::unique_ptr<OffsetLister> lister(new OffsetLister());
  LIFELINE_ASSIGN_OR_RETURN(lister->dialer_, LinkDialer::Create(std::move(security)));
  lister->admin_ = admin;
  lister->client_id_ = config.Get("client.id").value_or("lifeline-admin");
  return lister;
}

Result<BrokerLink*> OffsetLister::LinkTo(int32_t node, Millis within) {
  auto broker = leaders_.brokers.find(node);
  if (broker == leaders_.brokers.end()) {
    return Status::Transient(fmt::format("broker {} is not in the metadata", node));
  }
  return links_.Get(*dialer_, node, broker->second, client_id_,
                    {kListOffsetsKey, kListOffsetsVersion, "ListOffsets", ""}, within);
}

Result<OffsetLister::Answer> OffsetLister::Ask(BrokerLink* link, const TopicPartition& tp,
                                               int64_t timestamp, Millis within) {
  LIFELINE_ASSIGN_OR_RETURN(auto correlation,
                            link->Send(kListOffsetsKey, kListOffsetsVersion, [&](RequestWriter& w) {
                              w.I32(-1);  // replica id: a client
                              w.I8(kReadCommitted);
                              w.I32(1);  // topics
                              w.String(tp.topic.value());
                              w.I32(1);  // partitions
                              w.I32(tp.partition.value());
                              w.I64(timestamp);
                            }));
  Buffer buf;
  LIFELINE_ASSIGN_OR_RETURN(auto body, link->Receive(correlation, within, &buf));
  ResponseReader r(body);
  r.I32();  // throttle time
  std::optional<Answer> found;
  const int32_t topics = r.I32();
  for (int32_t t = 0; r.ok() && t < topics; ++t) {
    const std::string_view topic = r.String();
    const int32_t partitions = r.I32();
    for (int32_t p = 0; r.ok() && p < partitions; ++p) {
      const int32_t index = r.I32();
      Answer a;
      a.error = r.I16();
      r.I64();  // timestamp
      a.offset = r.I64();
      if (topic == tp.topic.value() && index == tp.partition.value()) found = a;
    }
  }
  if (!r.ok()) return Status::Infra(link->name() + ": a malformed ListOffsets response");
  if (!found) {
    return Status::Infra(fmt::format("{}: the ListOffsets response lacks {} [{}]", link->name(),
                                     tp.topic.value(), tp.partition.value()));
  }
  return *found;
}

Result<WatermarkOffsets> OffsetLister::Watermarks(const TopicPartition& tp, Millis timeout) {
  std::lock_guard lock(mu_);
  const std::string context = fmt::format("watermarks of {} [{}] (asked for {} ms)",
                                          tp.topic.value(), tp.partition.value(), timeout.count());
  const auto deadline = Clock::now() + timeout;
  bool stale = !leaders_.leaders.contains(tp);
  Status last;  // why the latest try failed
  int16_t last_error = 0;
  int unknown_tries = 0;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (Clock::now() >= deadline) break;
      const auto pause =
          std::min(Millis(std::min(100, 10 << std::min(attempt, 4))), Left(deadline));
      std::this_thread::sleep_for(pause);
    }
    if (Interrupted()) return Status::Interrupted("interrupted");
    if (stale) {
      auto fresh = admin_->Leaders({tp.topic.value()},
                                   std::clamp(Left(deadline), Millis(100), kMetadataTimeout));
      if (!fresh.ok()) {
        const bool unknown =
            fresh.status().message().find("UNKNOWN_TOPIC_OR_PART") != std::string::npos;
        if (!fresh.status().transient() && !(unknown && ++unknown_tries < kUnknownTopicTries)) {
          return fresh.status().WithContext(context);
        }
        last = fresh.status();
        last_error = 0;
        continue;
      }
      leaders_.brokers = std::move(fresh->brokers);
      for (auto& [part, node] : fresh->leaders) leaders_.leaders[part] = node;
      stale = false;
    }
    auto it = leaders_.leaders.find(tp);
    if (it == leaders_.leaders.end()) {
      // Fresh metadata lists every partition of the topic: this one is not
      // there (yet, or at all).
      if (++unknown_tries >= kUnknownTopicTries) {
        return KafkaError(context, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION);
      }
      last = Status::Transient(fmt::format("{} has no partition {} in the metadata",
                                           tp.topic.value(), tp.partition.value()));
      last_error = 0;
      stale = true;
      continue;
    }
    if (it->second < 0) {
      last = Status::Transient(
          fmt::format("{} [{}] has no leader now", tp.topic.value(), tp.partition.value()));
      last_error = 0;
      stale = true;
      continue;
    }
    const int32_t node = it->second;
    auto link = LinkTo(node, std::max(Left(deadline), Millis(100)));
    Result<Answer> low = link.ok() ? Ask(*link, tp, kEarliest, Left(deadline)) : link.status();
    Result<Answer> high =
        low.ok() && low->error == 0 ? Ask(*link, tp, kLatest, Left(deadline)) : low;
    if (!high.ok()) {
      if (!high.status().transient()) return high.status().WithContext(context);
      links_.Drop(node);  // a link that failed is not trusted with a second request
      last = high.status();
      last_error = 0;
      stale = true;
      continue;
    }
    const int16_t error = high->error;
    if (error == 0) return WatermarkOffsets{Offset(low->offset), Offset(high->offset)};
    const bool unknown = error == kUnknownTopicOrPartition && ++unknown_tries < kUnknownTopicTries;
    if (!LeaderMoved(error) && !unknown) {
      return KafkaError(admin_->handle(), context, static_cast<rd_kafka_resp_err_t>(error), "",
                        {"Describe", "topic", tp.topic.value()});
    }
    last_error = error;
    stale = true;
  }
  if (last_error != 0) return KafkaError(context, static_cast<rd_kafka_resp_err_t>(last_error));
  return last.WithContext(context);
}

}  // namespace lifeline::internal
