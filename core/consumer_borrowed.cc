// Consumer::PollBorrowed: the copy-free read path of bulk readers. Kept apart
// from kafka.cc's Poll, which hands out owned Records.
#include <fmt/format.h>

#include "core/kafka.h"

namespace lifeline {

Result<size_t> Consumer::PollBorrowed(
    size_t max_records, Millis timeout,
    const std::function<void(const rd_kafka_message_t*)>& on_message,
    std::vector<PartitionEnd>* ends) {
  if (max_records == 0) return size_t{0};
  std::vector<rd_kafka_message_t*> raw(max_records);
  // Wait for the first message only, then take what is already buffered.
  raw[0] = rd_kafka_consume_queue(queue_, static_cast<int>(timeout.count()));
  if (!raw[0]) return size_t{0};
  ssize_t n = 1;
  if (max_records > 1) {
    ssize_t more = rd_kafka_consume_batch_queue(queue_, 0, raw.data() + 1, raw.size() - 1);
    if (more > 0) n += more;
  }
  size_t records = 0;
  Status first_error;
  for (ssize_t i = 0; i < n; ++i) {
    rd_kafka_message_t* msg = raw[i];
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (ends) {
        ends->push_back({{Topic(rd_kafka_topic_name(msg->rkt)), Partition(msg->partition)},
                         Offset(msg->offset)});
      }
    } else if (msg->err == RD_KAFKA_RESP_ERR__TRANSPORT) {
      // Transient: librdkafka reconnects on its own.
    } else if (msg->err) {
      if (first_error.ok()) {
        std::string where =
            msg->rkt ? fmt::format("consume {} [{}]", rd_kafka_topic_name(msg->rkt), msg->partition)
                     : std::string("consume");
        first_error = KafkaError(where, msg->err, rd_kafka_message_errstr(msg));
      }
    } else {
      on_message(msg);
      ++records;
    }
    rd_kafka_message_destroy(msg);
  }
  if (!first_error.ok()) return first_error;
  return records;
}

}  // namespace lifeline

namespace lifeline {

Result<std::map<TopicPartition, Offset>> CommittedOffsets(
    const ClientConfig& config, const std::string& group,
    const std::vector<TopicPartition>& partitions, Millis timeout) {
  ConsumerOptions opts;
  opts.group_id = group;
  opts.client_id = "lifeline-inspect";
  auto consumer = Consumer::Create(config, opts);
  if (!consumer.ok()) return consumer.status();
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.value().c_str(), tp.partition.value());
  }
  rd_kafka_resp_err_t err =
      rd_kafka_committed((*consumer)->handle(), list.get(), static_cast<int>(timeout.count()));
  if (err) return KafkaError("committed offsets of group " + group, err);
  std::map<TopicPartition, Offset> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err) {
      return KafkaError(
          fmt::format("committed offset of group {} on {} [{}]", group, e.topic, e.partition),
          e.err);
    }
    if (e.offset >= 0) out[{Topic(e.topic), Partition(e.partition)}] = Offset(e.offset);
  }
  return out;
}

}  // namespace lifeline

namespace lifeline {

Status CommitGroupOffsets(const ClientConfig& config, const std::string& group,
                          const std::map<TopicPartition, Offset>& offsets, Millis timeout) {
  (void)timeout;  // rd_kafka_commit (sync) waits for the coordinator's answer
  ConsumerOptions opts;
  opts.group_id = group;
  opts.client_id = "lifeline-commit";
  auto consumer = Consumer::Create(config, opts);
  if (!consumer.ok()) return consumer.status();
  return (*consumer)->Commit(offsets, /*async=*/false).WithContext("group " + group);
}

}  // namespace lifeline
