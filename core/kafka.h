// RAII wrappers over librdkafka's C API: a producer, a consumer and an admin
// client. Each owns its rd_kafka_t and closes it on destruction. Errors come
// back as Status with the librdkafka error name and a message a user can act
// on. Objects are not thread-safe unless a method says so; create one per
// thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"
#include "core/types.h"

namespace lifeline {

using Millis = std::chrono::milliseconds;

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
// A consumed message, owned.
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// A queue dies before the rd_kafka_t it came from (declare it after the
// handle's owner).
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

// A topic handle, too, dies before its rd_kafka_t.
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

// "context: <message> (<ERR_NAME>)", with exit code 3 (infrastructure) except
// for errors that mean the request itself was wrong (exit code 2).
Status KafkaError(std::string_view context, rd_kafka_resp_err_t err, std::string_view detail = "");

// The broker refused for lack of an ACL (topic, group, cluster,
// transactional id or delegation token authorization failed).
bool IsAuthorizationError(rd_kafka_resp_err_t err);

// The ACL a request needs: an operation (Read, Write, Create, Describe,
// DescribeConfigs, ...) on a resource (topic, group, transactional-id,
// cluster) named `name`.
struct AclNeed {
  std::string operation;
  std::string resource_type;
  std::string name;
};

// KafkaError, except that an authorization failure names the principal of
// `rk` (User:<sasl.username>), the ACL it lacks and the kafka-acls command
// that grants it; exit code 3.
Status KafkaError(const rd_kafka_t* rk, std::string_view context, rd_kafka_resp_err_t err,
                  std::string_view detail, const AclNeed& need);

struct TopicPartition {
  Topic topic;
  Partition partition;
  // clang-tidy 14 reports the defaulted comparison as a literal 0 for nullptr.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// Special offsets for Assign and queries.
inline constexpr Offset kOffsetBeginning{RD_KAFKA_OFFSET_BEGINNING};
inline constexpr Offset kOffsetEnd{RD_KAFKA_OFFSET_END};
inline constexpr Offset kOffsetStored{RD_KAFKA_OFFSET_STORED};

// ---------------------------------------------------------------- producer

struct ProducerOptions {
  bool idempotent = true;        // enable.idempotence
  std::string transactional_id;  // non-empty: transactional producer
  std::optional<int> linger_ms;  // librdkafka default when unset
  std::string client_id = "lifeline";
  // DeliveryReport::where.topic is filled in; a caller that knows the topic
  // from its tag can spare the string.
  bool report_topic = true;
};

struct DeliveryReport {
  uint64_t tag = 0;  // what the caller passed to Send
  TopicPartition where;
  Offset offset{-1};
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

class Producer {
 public:
  // `on_delivery` (optional) runs on the thread that calls Send, Poll or
  // Flush, once per record, in delivery order.
  static Result<std::unique_ptr<Producer>> Create(
      const ClientConfig& config, const ProducerOptions& options,
      std::function<void(const DeliveryReport&)> on_delivery = nullptr);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues a copy of the record (topic, key, value, headers, timestamp).
  // A record partition of -1 lets the partitioner pick by key. Blocks, serving
  // delivery reports, while the local queue is full.
  Status Send(const Record& record, uint64_t tag = 0);

  // A handle for `topic` on this producer, for Forward; borrowed: the
  // producer owns it until it is destroyed.
  rd_kafka_topic_t* TopicHandle(const std::string& topic);

  // Sends a consumed message as it is (key, value, headers in order, the
  // timestamp as CreateTime) to `topic` (from TopicHandle) and `partition`,
  // without building a Record: key and value are copied, the headers are
  // taken from `msg`. Blocks like Send while the local queue is full.
  Status Forward(rd_kafka_message_t* msg, rd_kafka_topic_t* topic, int32_t partition, uint64_t tag);

  // Serves delivery reports without blocking longer than `timeout`.
  void Poll(Millis timeout);

  // Waits for every enqueued record; any record that was not delivered makes
  // this an error naming the first failure and the count.
  Status Flush(Millis timeout);

  // Transactions (only with a transactional_id).
  Status InitTransactions(Millis timeout);
  Status BeginTransaction();
  Status CommitTransaction(Millis timeout);
  Status AbortTransaction(Millis timeout);
  // Commits `next_offsets` for `group_id` as part of the open transaction
  // (on this producer's cluster).
  Status SendOffsetsToTransaction(const std::map<TopicPartition, Offset>& next_offsets,
                                  const std::string& group_id, Millis timeout);

  // A newer producer with this transactional id took it over (its
  // InitProducerId bumped the epoch): every later transaction of this one
  // fails, and it can never write again.
  bool Fenced() const;
  // The last commit or offsets send failed and said the transaction must be
  // aborted (a failed delivery in it, a sequence the broker lost), or a
  // record was refused because the transaction had failed: after
  // AbortTransaction the producer can begin another.
  bool AbortRequired() const { return abort_required_; }
  // The code of the last failed commit, offsets send or abort.
  rd_kafka_resp_err_t LastTxnError() const { return last_txn_error_; }

  int64_t delivered() const { return delivered_; }
  int64_t failed() const { return failed_; }
  rd_kafka_t* handle() { return rk_.get(); }

  // A failed delivery to `topic` as a Status (KafkaError); a refusal names
  // this producer's principal and the Write it lacks.
  Status DeliveryError(std::string_view context, rd_kafka_resp_err_t err,
                       const std::string& topic) const;

 private:
  Producer() = default;
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t*, void*);

  // Waits while the local queue is full (true), or gives up (false, with
  // *status set) on another error.
  bool RetryProduce(rd_kafka_resp_err_t err, const std::string& topic, int* unknown_partition,
                    Status* status);

  KafkaHandle rk_;
  std::map<std::string, KafkaTopic> topics_;  // TopicHandle's; after rk_, so they die first
  bool report_topic_ = true;
  // acks=0 gives no offsets; otherwise a success without one is a failure.
  bool acks_give_offsets_ = true;
  bool transactional_ = false;  // a transactional.id is set
  std::function<void(const DeliveryReport&)> on_delivery_;
  int64_t delivered_ = 0;
  int64_t failed_ = 0;
  std::atomic<bool> abort_required_{false};
  std::atomic<rd_kafka_resp_err_t> last_txn_error_{RD_KAFKA_RESP_ERR_NO_ERROR};
  std::string first_failure_;
  // The first failure's error and topic; a purge (what librdkafka does to
  // the queue after a fatal error) gives way to the error behind it.
  rd_kafka_resp_err_t first_failure_err_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string first_failure_topic_;
};

// ---------------------------------------------------------------- consumer

struct ConsumerOptions {
  std::string group_id;  // empty: assign-only consumer with a throwaway group id
  bool read_committed = false;
  bool partition_eof = true;  // report end of partition in PollBatch
  std::string auto_offset_reset = "earliest";
  std::string client_id = "lifeline";
  // Subscribed consumers: use the cooperative-sticky assignor and call this
  // (from Poll) when partitions are assigned (`assigned` true) or revoked.
  // The callback must call IncrementalAssign / IncrementalUnassign.
  std::function<void(bool assigned, const std::vector<TopicPartition>&)> on_rebalance;
  // For bulk readers. librdkafka 2.0.2 stops fetching once its prefetch
  // queue holds queued.max.messages.kbytes (or queued.min.messages), and
  // only looks again when the broker's thread next wakes up: up to a second
  // later, with the queue long drained. With this set, a helper thread sees
  // the queue shrink and wakes the partitions' brokers with a cheap request
  // (the latest offsets of the assignment), so fetching resumes at once.
  bool keep_fetching = false;
};

// A partition whose consumer caught up with the end of its log; `offset` is
// the position there (the high watermark, or the last stable offset under
// read_committed), past any trailing control or aborted records.
struct PartitionEnd {
  TopicPartition where;
  Offset offset;
};

struct PollBatch {
  std::vector<Record> records;
  std::vector<PartitionEnd> reached_end;
};

class Consumer;
class FetchWaker;  // ConsumerOptions::keep_fetching's thread (kafka.cc)

// Reads the committed offsets of one group through a consumer handle that
// never joins it (so inspecting an external group cannot disturb it). Works
// on the embedded sandbox, which lacks DescribeGroups. Keep one to read the
// same group again and again (a timeline) without a new handle each time.
class GroupOffsetsReader {
 public:
  static Result<std::unique_ptr<GroupOffsetsReader>> Create(const ClientConfig& config,
                                                            const std::string& group);
  // Partitions without a commit are absent.
  Result<std::map<TopicPartition, Offset>> Read(const std::vector<TopicPartition>& partitions,
                                                Millis timeout);

 private:
  GroupOffsetsReader() = default;
  std::string group_;
  std::unique_ptr<Consumer> consumer_;
};

// One read with a reader of its own.
Result<std::map<TopicPartition, Offset>> CommittedOffsets(
    const ClientConfig& config, const std::string& group,
    const std::vector<TopicPartition>& partitions, Millis timeout);

// Commits `offsets` for `group` without joining it (a simple-consumer
// commit, accepted while the group has no members). For moving a group on
// clusters without the admin group APIs (the embedded sandbox).
Status CommitGroupOffsets(const ClientConfig& config, const std::string& group,
                          const std::map<TopicPartition, Offset>& offsets, Millis timeout);

// PollBatch without copies: the records as librdkafka returned them.
struct MessageBatch {
  std::vector<Message> messages;
  std::vector<PartitionEnd> reached_end;
  // Subscribed topics the cluster does not know (yet): a topic created a
  // moment ago is missing from metadata for a while. Poll() turns these into
  // an error; PollMessages() leaves the decision to the caller.
  std::vector<std::string> unavailable_topics;
};

// Bytes of a record's key, value, header names and header values.
int64_t MessageBytes(const rd_kafka_message_t* msg);

// A consumed record's timestamp and its type.
std::pair<TimestampType, int64_t> MessageTimestamp(const rd_kafka_message_t* msg);

// A consumed record's headers, in order: their count, and fn(name, value,
// size) for each (value null for a header without one). librdkafka parses
// them on first use and keeps the result with the message.
size_t HeaderCount(const rd_kafka_message_t* msg);
template <typename Fn>
void ForEachHeader(const rd_kafka_message_t* msg, Fn&& fn) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) return;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    fn(name, static_cast<const char*>(value), size);
  }
}

class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> Create(const ClientConfig& config,
                                                  const ConsumerOptions& options);
  ~Consumer();  // closes (leaves the group) if not closed yet
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Reads the given partitions from the given offsets (or kOffsetBeginning,
  // kOffsetEnd, kOffsetStored). Replaces any previous assignment.
  Status Assign(const std::vector<std::pair<TopicPartition, Offset>>& start);

  // Joins the group (needs a group_id). Topics starting with '^' are regexes.
  Status Subscribe(const std::vector<std::string>& topics);

  Status Seek(const TopicPartition& tp, Offset offset, Millis timeout);

  // For on_rebalance callbacks of cooperative consumers.
  Status IncrementalAssign(const std::vector<std::pair<TopicPartition, Offset>>& start);
  Status IncrementalUnassign(const std::vector<TopicPartition>& partitions);

  // Waits up to `timeout` for the first message, then returns what is
  // already buffered, up to `max_records`. An empty batch is not an error.
  Result<PollBatch> Poll(size_t max_records, Millis timeout);
  // The same, keeping librdkafka's messages (no copy).
  Result<MessageBatch> PollMessages(size_t max_records, Millis timeout);

  // Commits next-offsets (the offset of the next record to read); `async`
  // returns at once and drops the outcome.
  Status Commit(const std::map<TopicPartition, Offset>& next_offsets, bool async = false);

  // The current assignment.
  Result<std::vector<TopicPartition>> Assignment();

  Status Close();
  rd_kafka_t* handle() { return rk_.get(); }

 private:
  Consumer() = default;
  static void OnRebalance(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*,
                          void*);
  std::function<void(bool, const std::vector<TopicPartition>&)> on_rebalance_;
  KafkaHandle rk_;
  KafkaQueue queue_;  // the consumer queue
  bool closed_ = false;
  // keep_fetching; reads rk_ and queue_, so it is stopped (reset) before
  // they go.
  std::unique_ptr<FetchWaker> waker_;
};

// ------------------------------------------------------------------- admin

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = -1;  // broker default
  std::vector<std::pair<std::string, std::string>> configs;
};

struct ConfigEntry {
  std::string value;
  bool is_default = false;
  bool is_sensitive = false;
};

struct WatermarkOffsets {
  Offset low{-1};   // log start offset
  Offset high{-1};  // high watermark (next offset to be written)
};

// Where partitions are led, from a metadata request: for clients that talk
// to the leaders themselves (verify's raw Fetch reader).
struct BrokerAddress {
  std::string host;
  int port = 0;
};
struct PartitionLeaders {
  std::map<int32_t, BrokerAddress> brokers;   // by node id
  std::map<TopicPartition, int32_t> leaders;  // node id; -1: no leader now
};

struct GroupMember {
  std::string member_id;
  std::string client_id;
  std::string host;
  std::vector<TopicPartition> assignment;
};

struct GroupDescription {
  std::string group_id;
  std::string state;  // "Empty", "Stable", "Dead", ...
  std::vector<GroupMember> members;
};

namespace internal {
class OffsetLister;
}

class Admin {
 public:
  static Result<std::unique_ptr<Admin>> Create(const ClientConfig& config);
  ~Admin();
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // Fails if the topic exists, unless `exists_ok`.
  Status CreateTopic(const TopicSpec& spec, Millis timeout, bool exists_ok = false);
  Status DeleteTopic(const std::string& topic, Millis timeout);
  // Waits until metadata shows `topic` with at least `partitions` partitions,
  // each with a leader, and each leader answers for its partition (so a
  // produce is not refused). CreateTopic and CreatePartitions do this already.
  Status WaitForTopic(const std::string& topic, int partitions, Millis timeout);
  // Deletes every record before `before` (moves the log start offset).
  Status DeleteRecords(const TopicPartition& tp, Offset before, Millis timeout);
  // Grows a topic to `total` partitions.
  Status CreatePartitions(const std::string& topic, int total, Millis timeout);
  Result<std::map<std::string, ConfigEntry>> DescribeTopicConfigs(const std::string& topic,
                                                                  Millis timeout);
  // Names of all topics (internal ones included) and their partition counts.
  Result<std::map<std::string, int>> ListTopics(Millis timeout);
  Result<int> PartitionCount(const std::string& topic, Millis timeout);
  // A fresh metadata request (not librdkafka's cache): the brokers and the
  // leader of every partition of `topics`. A topic missing from the cluster
  // is an error.
  Result<PartitionLeaders> Leaders(const std::vector<std::string>& topics, Millis timeout);

  // The log start offset and the last stable offset, within `timeout`
  // (asked with requests of lifeline's own where its links serve the
  // configuration's security: internal/list_offsets.h says why).
  Result<WatermarkOffsets> Watermarks(const TopicPartition& tp, Millis timeout);
  // The earliest offset whose timestamp is >= `ts`, or the high watermark
  // when there is none.
  Result<std::map<TopicPartition, Offset>> OffsetsForTime(
      const std::vector<TopicPartition>& partitions, TimestampMs ts, Millis timeout);

  // Committed next-offsets of a group; partitions without a commit are absent.
  // With `partitions` empty, every partition the group has committed.
  Result<std::map<TopicPartition, Offset>> ListGroupOffsets(
      const std::string& group, const std::vector<TopicPartition>& partitions, Millis timeout);
  // kWait first describes the group (as ListGroupOffsets does); kKnown, for
  // a group whose coordinator has just answered, sends the commit at once,
  // so a principal without Describe on the group is refused the commit
  // itself (the access drill step).
  enum class GroupReady { kWait, kKnown };
  Status AlterGroupOffsets(const std::string& group,
                           const std::map<TopicPartition, Offset>& offsets, Millis timeout,
                           GroupReady ready = GroupReady::kWait);
  Result<std::vector<std::string>> ListGroups(Millis timeout);
  // A refusal names `need` (default: Describe on the group): what the
  // caller's next request on the group takes.
  Result<GroupDescription> DescribeGroup(const std::string& group, Millis timeout,
                                         std::string_view need = "Describe");
  // How many ACL bindings the cluster holds (every resource, principal and
  // operation). A cluster without an authorizer answers SECURITY_DISABLED.
  Result<int64_t> CountAcls(Millis timeout);

  rd_kafka_t* handle() { return rk_.get(); }

 private:
  Admin();
  Result<WatermarkOffsets> LibrdkafkaWatermarks(const TopicPartition& tp, Millis timeout);
  // WaitForTopic's second half: every partition's leader serves it.
  Status WaitForLeaders(const std::string& topic, int partitions,
                        std::chrono::steady_clock::time_point deadline);
  std::string bootstrap_;  // for messages
  KafkaHandle rk_;
  KafkaQueue queue_;                                // admin results arrive here
  std::unique_ptr<internal::OffsetLister> lister_;  // null: librdkafka asks for watermarks
};

// Creates a librdkafka handle of the given type from a ClientConfig plus
// overrides; `customize` may install callbacks on the configuration first.
// Exposed for modules that need raw handles.
Result<KafkaHandle> NewKafkaHandle(rd_kafka_type_t type, const ClientConfig& config,
                                   const std::vector<std::pair<std::string, std::string>>& extra,
                                   const std::function<void(rd_kafka_conf_t*)>& customize = {});

// librdkafka's version string, e.g. "2.0.2".
std::string LibrdkafkaVersion();

}  // namespace lifeline
