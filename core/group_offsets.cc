// Group offsets without group membership: read (CommittedOffsets) and
// commit (CommitGroupOffsets) through consumer handles that never join.
#include <fmt/format.h>

#include "core/kafka.h"

namespace lifeline {

Result<std::unique_ptr<GroupOffsetsReader>> GroupOffsetsReader::Create(const ClientConfig& config,
                                                                       const std::string& group) {
  ConsumerOptions opts;
  opts.group_id = group;
  opts.client_id = "lifeline-inspect";
  LIFELINE_ASSIGN_OR_RETURN(auto consumer, Consumer::Create(config, opts));
  std::unique_ptr<GroupOffsetsReader> reader(new GroupOffsetsReader());
  reader->group_ = group;
  reader->consumer_ = std::move(consumer);
  return reader;
}

Result<std::map<TopicPartition, Offset>> GroupOffsetsReader::Read(
    const std::vector<TopicPartition>& partitions, Millis timeout) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.value().c_str(), tp.partition.value());
  }
  rd_kafka_resp_err_t err =
      rd_kafka_committed(consumer_->handle(), list.get(), static_cast<int>(timeout.count()));
  // A group the broker does not know has no offsets (Apache Kafka says so
  // with none; kfake with GROUP_ID_NOT_FOUND).
  if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) return std::map<TopicPartition, Offset>{};
  if (err) return KafkaError("committed offsets of group " + group_, err);
  std::map<TopicPartition, Offset> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) continue;
    if (e.err) {
      // OffsetFetch answers a topic the principal may not describe with a
      // per-partition TOPIC_AUTHORIZATION_FAILED.
      return KafkaError(
          consumer_->handle(),
          fmt::format("committed offset of group {} on {} [{}]", group_, e.topic, e.partition),
          e.err, "", {"Describe", "topic", e.topic});
    }
    if (e.offset >= 0) out[{Topic(e.topic), Partition(e.partition)}] = Offset(e.offset);
  }
  return out;
}

Result<std::map<TopicPartition, Offset>> CommittedOffsets(
    const ClientConfig& config, const std::string& group,
    const std::vector<TopicPartition>& partitions, Millis timeout) {
  LIFELINE_ASSIGN_OR_RETURN(auto reader, GroupOffsetsReader::Create(config, group));
  return reader->Read(partitions, timeout);
}

Status CommitGroupOffsets(const ClientConfig& config, const std::string& group,
                          const std::map<TopicPartition, Offset>& offsets, Millis timeout) {
  (void)timeout;  // rd_kafka_commit (sync) waits for the coordinator's answer
  ConsumerOptions opts;
  opts.group_id = group;
  opts.client_id = "lifeline-commit";
  LIFELINE_ASSIGN_OR_RETURN(auto consumer, Consumer::Create(config, opts));
  return consumer->Commit(offsets, /*async=*/false).WithContext("group " + group);
}

}  // namespace lifeline
