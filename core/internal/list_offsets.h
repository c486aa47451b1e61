// A partition's watermarks by ListOffsets requests of our own, over
// BrokerLink, with a deadline that holds.
//
// librdkafka 2.0.2's rd_kafka_query_watermark_offsets did not return for
// more than 3 minutes, past any timeout, when it was asked in the seconds
// between a leader's SIGKILL and the controller fencing it (docs/kafka.md).
// Here every connection, request and metadata refresh gets only the time
// left, a refused connection or a NOT_LEADER answer leads to fresh metadata
// and another try, and the deadline ends it with the last reason.
//
// The high watermark is the last stable offset (isolation level
// read_committed), as librdkafka's default isolation.level gave it: an open
// transaction's records lie past it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/config.h"
#include "core/internal/broker_link.h"
#include "core/kafka.h"
#include "core/status.h"

namespace lifeline::internal {

class OffsetLister {
 public:
  // A Usage error (LinkSecurityFor's reason) when the links cannot serve
  // `config`'s security; the caller then asks librdkafka. `admin` gives the
  // leaders and names the principal in a refusal; it outlives the lister.
  static Result<std::unique_ptr<OffsetLister>> Create(const ClientConfig& config, Admin* admin);
  ~OffsetLister();
  OffsetLister(const OffsetLister&) = delete;
  OffsetLister& operator=(const OffsetLister&) = delete;

  // Thread-safe: calls take turns on the links. Errors: the broker's error
  // code as KafkaError (a refusal names the Describe ACL on the topic);
  // Transient when the leader could not be reached or was wrong until
  // `timeout` ran out.
  Result<WatermarkOffsets> Watermarks(const TopicPartition& tp, Millis timeout);

 private:
  OffsetLister() = default;
  struct Answer;
  Result<BrokerLink*> LinkTo(int32_t node, Millis within);
  Result<Answer> Ask(BrokerLink* link, const TopicPartition& tp, int64_t timestamp, Millis within);

  std::mutex mu_;
  Admin* admin_ = nullptr;
  std::string client_id_;
  std::unique_ptr<LinkDialer> dialer_;
  PartitionLeaders leaders_;  // as last asked; refreshed per topic when wrong
  LinkPool links_;
};

}  // namespace lifeline::internal
