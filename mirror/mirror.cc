#include "mirror/mirror.h"

#include <fmt/format.h>

#include <cassert>
#include <chrono>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "core/broker_apis.h"
#include "core/kafka.h"
#include "core/signals.h"
#include "mirror/internal/map_store.h"
#include "mirror/internal/topic_configs.h"

namespace lifeline::mirror {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Millis kAdminTimeout(15000);
constexpr Millis kTxnTimeout(60000);
constexpr Millis kTopicVanishedAfter(60000);
// How long a partition's leader may be missing or wrong in the metadata: a
// broker that died is fenced and its partitions get new leaders within
// about 10 s (broker.session.timeout.ms is 9 s), and one that restarted
// answers NOT_LEADER_OR_FOLLOWER until the client's metadata catches up.
constexpr Millis kLeaderFailover(60000);

// The watermarks of `tp` across a leader change: while the answer is a
// transient one (not leader, no leader), the metadata is asked afresh
// (that refreshes the handle's leaders) and the query repeated.
Result<WatermarkOffsets> WatermarksAcrossFailover(Admin& admin, const TopicPartition& tp) {
  const auto deadline = Clock::now() + kLeaderFailover;
  for (;;) {
    auto wm = admin.Watermarks(tp, kAdminTimeout);
    if (wm.ok() || !wm.status().transient() || Clock::now() > deadline || Interrupted()) {
      return wm;
    }
    (void)admin.Leaders({tp.topic.value()}, kAdminTimeout);
    std::this_thread::sleep_for(Millis(200));
  }
}

// A request of a running mirror to a cluster that answered it before: while
// the cluster does not answer (a broker restarting takes 10 to 20 s here),
// the request is repeated, for up to kLeaderFailover; any other error, or a
// longer silence, is the answer.
template <typename T, typename Fn>
Result<T> AcrossOutage(Fn request) {
  const auto deadline = Clock::now() + kLeaderFailover;
  for (;;) {
    Result<T> result = request();
    if (result.ok() || !result.status().unreachable() || Clock::now() > deadline || Interrupted()) {
      return result;
    }
    std::this_thread::sleep_for(Millis(500));
  }
}

// Topic configs that decide how the target keeps the records; copied when
// lifeline creates a target topic, if the source sets them.
bool IsInternalTopic(const std::string& topic) {
  return topic.starts_with("__") || topic.starts_with("_lifeline.");
}

// A record sent and not yet acknowledged.
struct InFlight {
  int64_t source_offset;
  int64_t bytes;
};

// One source partition being mirrored.
struct Part {
  TopicPartition key;
  PartitionMap map;
  int64_t stop_at = 0;       // until-caught-up: the source high watermark at start
  int64_t pending_end = -1;  // end-of-partition position not yet applied
  int64_t in_flight = 0;     // records sent and not yet acknowledged
  // Those records in the order they were sent; the idempotent producer
  // acknowledges a partition's records in that order.
  std::deque<InFlight> sent;
  rd_kafka_topic_t* target_topic = nullptr;  // the record producer's handle
  bool touched = false;                      // changed since the last persist
  // The partition's map writer (MirrorWriterId; map_store.h says how it
  // fences). Exactly-once, it also writes the partition's records and
  // progress, in the same transactions as its map.
  std::unique_ptr<Producer> writer;
  bool txn_open = false;
  // Fenced: another process took the partition over. Nothing this process
  // still has in flight for it counts.
  bool lost = false;
  bool closing = false;  // its writer is being destroyed (Mirror::CloseWriter)
  // Exactly-once: its transaction failed (a delivery in it, or its commit);
  // why, and what it held that the summary counted. RedoFailedTransactions
  // aborts it and takes the partition again from the committed progress.
  bool redo = false;
  Status txn_error;
  int64_t uncommitted_records = 0;
  int64_t uncommitted_bytes = 0;
  // At-least-once: the save of this partition's map still running (the
  // copy goes on meanwhile), and the progress it saves.
  std::future<Status> saving;
  int64_t saving_progress = -1;
  // The map's possible-duplicates count as taken over, and in the save
  // running: the summary counts what this process saved (a fenced save,
  // whose jumps were the new owner's records, counts nothing).
  int64_t dups_base = 0;
  int64_t saving_dups = 0;
  Status map_error;  // the first failed map record of the save running
  PartitionSummary summary;
};

// Delivery tags: a mirrored record's is its Part's address, a map record's
// that address + 1 (Parts are aligned).
uint64_t RecordTag(const Part& part) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&part));
}
uint64_t MapTag(const Part& part) { return RecordTag(part) + 1; }

class Mirror {
 public:
  // `forward`: for a reverse mirror, the forward mirror's maps (on the
  // cluster this mirror reads), telling which records came from the cluster
  // it writes to.
  Mirror(const MirrorOptions& options, const ProgressFn& progress,
         std::optional<MapSet> forward = std::nullopt)
      : options_(options),
        progress_fn_(progress),
        encoder_(options.name),
        forward_(std::move(forward)) {}

  // Leaves the source group before the members its callbacks use are gone.
  // Leaves the source group and drains the producer while the state their
  // callbacks touch is still alive; an open transaction is aborted so the
  // target's last stable offset does not wait for its timeout.
  ~Mirror() {
    AwaitFirstRebalance();
    shutting_down_ = true;
    if (consumer_) (void)consumer_->Close();
    AwaitSaves();
    for (auto& [key, part] : parts_) {
      if (part.writer && part.txn_open) (void)part.writer->AbortTransaction(Millis(10000));
      CloseWriter(part);
    }
    opened_writers_.clear();
    producer_.reset();
  }

  Result<MirrorSummary> Execute();

 private:
  Status Connect();
  Status OpenState();
  Result<std::vector<std::string>> MatchingTopics();
  Status PrepareTopic(const std::string& topic);
  Status RequireBrokerApis();
  Status CheckCreatedConfigs(const std::string& topic,
                             const std::map<std::string, std::string>& asked);
  Status AddPartitions(const std::string& topic, int from, int to, const MapSet& stored,
                       const std::map<TopicPartition, Offset>& group_progress);
  Status Discover();
  Status Assign();
  // Group mode: processes with the same name share the source partitions
  // through the consumer group _lifeline.mirror.NAME on the source. A
  // reverse mirror runs as one process.
  bool group_mode() const { return !forward_; }
  // Fences the earlier writers of `partitions` and reads their maps afresh,
  // in that order (map_store.h says why).
  Status OpenWriters(const std::vector<TopicPartition>& partitions);
  Producer& RecordProducer(Part& part) { return options_.exactly_once ? *part.writer : *producer_; }
  // Runs on a thread of its own (Persist); touches only the part's writer
  // and txn_open.
  Status SavePart(Part& part, const std::vector<Record>& records, int64_t progress);
  // Waits for the part's save still running; false if it was fenced.
  Status AwaitSave(Part& part);
  void AwaitSaves();
  void DropLostParts();
  // Destroys the part's writer (which flushes, serving its last reports).
  void CloseWriter(Part& part) {
    part.closing = true;
    part.writer.reset();
  }
  Status RetakeOrphans();
  Status RedoFailedTransactions();
  void OnRebalance(bool assigned, const std::vector<TopicPartition>& partitions);
  void AwaitFirstRebalance();
  Status TakePartitions(const std::vector<TopicPartition>& partitions);
  // TakePartitions' work: the start position of each partition taken.
  Status TakeInto(const std::vector<TopicPartition>& partitions,
                  std::vector<std::pair<TopicPartition, Offset>>* start);
  Status ReleasePartitions(const std::vector<TopicPartition>& partitions);
  Status MirrorBatch(bool* idle);
  Status MapFromForward(Part& part, int64_t offset, bool* from_target);
  Status Persist(bool flush);
  // The shared maps, and exactly-once the progress group's offsets, read
  // from the target across a short outage (AcrossOutage).
  Result<MapSet> LoadMaps() {
    return AcrossOutage<MapSet>([&] { return LoadMapsFromTopic(options_.target, options_.name); });
  }
  Result<std::map<TopicPartition, Offset>> ListMirrorGroupOffsets() {
    return AcrossOutage<std::map<TopicPartition, Offset>>([&] {
      return target_admin_->ListGroupOffsets(MirrorGroupId(options_.name), {}, kAdminTimeout);
    });
  }
  bool CountForeignTail();
  Result<bool> CaughtUp();
  void ReportProgress(bool force);
  void OnDelivery(const DeliveryReport& dr);

  const MirrorOptions options_;
  const ProgressFn& progress_fn_;
  std::regex topics_re_;
  std::unique_ptr<Admin> source_admin_;
  std::unique_ptr<Admin> target_admin_;
  std::unique_ptr<Producer> producer_;  // at-least-once: the records
  ClientConfig writer_config_;          // the partitions' writers
  bool fenced_ = true;                  // false: the target has no transactions
  ProducerOptions writer_options_;
  std::unique_ptr<Consumer> consumer_;
  std::optional<MapCache> cache_;
  std::future<Status> map_topic_;  // the offset-map topic exists on the target
  MapEncoder encoder_;
  std::optional<MapSet> forward_;
  std::map<TopicPartition, Part> parts_;
  std::vector<PartitionSummary> released_;  // partitions handed to another process
  std::vector<std::string> subscribed_;
  std::map<std::string, int> target_partitions_;  // group mode: partitions prepared per topic
  // Group mode, until caught up: every partition's high watermark at start;
  // done when the shared map shows all of them reached, whoever copied them.
  std::map<TopicPartition, int64_t> global_stop_at_;
  Clock::time_point last_global_check_;
  bool assigned_once_ = false;
  bool shutting_down_ = false;  // on an error path: hand partitions back, save nothing
  bool rebalanced_ = false;     // any rebalance callback seen (see AwaitFirstRebalance)
  Status rebalance_error_;
  // Subscribed topics the source said it did not know, and since when.
  struct Unavailable {
    Clock::time_point first, last;  // the first and latest report of this streak
  };
  std::map<std::string, Unavailable> unavailable_;
  std::set<std::string> topics_;
  // Writers opened for partitions not yet added (AddPartitions takes them).
  std::map<TopicPartition, std::unique_ptr<Producer>> opened_writers_;
  // Partitions this process was fenced out of, and when: if the group still
  // assigns one to it long after, no other process took it (the broker
  // aborted a transaction that outlived its timeout) and it is taken back.
  std::map<TopicPartition, Clock::time_point> orphans_;
  // Exactly-once: failed transactions redone per partition since its last
  // commit; past kMaxRedos the failure is not one that goes away.
  std::map<TopicPartition, int> redos_;

  int64_t sent_ = 0;  // records sent in this run
  int64_t sent_since_persist_ = 0;
  Status delivery_error_;
  Part* failed_part_ = nullptr;  // whose record delivery_error_ is about
  rd_kafka_resp_err_t delivery_err_ = RD_KAFKA_RESP_ERR_NO_ERROR;  // the first failed delivery's
  Status DeliveryFailure();
  void PollProducers();
  Status FlushRecords();
  Status CheckTargetKeptCopies();

  MirrorSummary summary_;
  Clock::time_point started_;
  Clock::time_point last_report_;
};

void Mirror::OnDelivery(const DeliveryReport& dr) {
  const bool map_record = (dr.tag & 1) != 0;
  Part* part = reinterpret_cast<Part*>(static_cast<uintptr_t>(dr.tag & ~uint64_t{1}));
  // A writer being destroyed (CloseWriter) flushes, and what it reports
  // then counts for nothing.
  if (part->closing) {
    if (!map_record && !part->sent.empty()) {
      part->sent.pop_front();
      --part->in_flight;
    }
    return;
  }
  if (map_record) {
    // Served on the thread that saves the partition (SavePart), which alone
    // touches map_error; a fenced writer's failures say nothing new.
    if (dr.err && !part->writer->Fenced() && part->map_error.ok()) {
      part->map_error =
          part->writer->DeliveryError("write the offset map", dr.err, kOffsetMapTopic);
    }
    return;
  }
  if ((part->lost || part->redo) && !part->sent.empty()) {
    // Copies of a partition another process took over: that process's map
    // does not describe them (possible duplicates, counted there). Or of a
    // transaction that failed: aborted, they are copied again.
    part->sent.pop_front();
    --part->in_flight;
    return;
  }
  if (part->sent.empty() || dr.where.partition != part->key.partition) {
    if (delivery_error_.ok()) {
      delivery_error_ = Status::Infra(fmt::format(
          "{} [{}]: delivery report for a record not in flight (partition {}); the offset map "
          "would be wrong, so the mirror stops",
          part->key.topic.value(), part->key.partition.value(), dr.where.partition.value()));
    }
    return;
  }
  const InFlight f = part->sent.front();
  part->sent.pop_front();
  --part->in_flight;
  part->touched = true;
  if (dr.err) {
    if (options_.exactly_once && group_mode() && part->writer->Fenced()) {
      part->lost = true;  // its transaction can never commit
      return;
    }
    if (options_.exactly_once && group_mode()) {
      // The transaction holding the record failed; nothing in it is mapped
      // (RedoFailedTransactions).
      part->redo = true;
      part->txn_error = RecordProducer(*part).DeliveryError(
          fmt::format("deliver {} [{}] offset {}", part->key.topic.value(),
                      part->key.partition.value(), f.source_offset),
          dr.err, part->key.topic.value());
      return;
    }
    // Nothing after this record may be mapped: the map would skip it.
    if (delivery_error_.ok()) {
      delivery_err_ = dr.err;
      failed_part_ = part;
      delivery_error_ = RecordProducer(*part).DeliveryError(
          fmt::format("deliver {} [{}] offset {}", part->key.topic.value(),
                      part->key.partition.value(), f.source_offset),
          dr.err, part->key.topic.value());
    }
    return;
  }
  if (!delivery_error_.ok()) return;
  PartitionMap& map = part->map;
  const int64_t t = dr.offset.value();
  if (f.source_offset < map.progress() || t < map.target_next()) {
    if (delivery_error_.ok()) {
      delivery_error_ = Status::Infra(fmt::format(
          "{} [{}]: delivery out of order (source {} → target {} after progress {} → {}); "
          "the offset map would be wrong, so the mirror stops",
          part->key.topic.value(), part->key.partition.value(), f.source_offset, t, map.progress(),
          map.target_next()));
    }
    return;
  }
  if (!options_.exactly_once && !forward_ && t > map.target_next()) {
    // Another writer's records landed between two of ours: a process fenced
    // out of this partition still delivering, counted here once.
    map.CountPossibleDuplicates(t - map.target_next());
  }
  map.Add(f.source_offset, t);
  PartitionSummary& s = part->summary;
  if (s.records++ == 0) {
    s.source_first = f.source_offset;
    s.target_first = t;
  }
  s.source_last = f.source_offset;
  s.target_last = t;
  s.bytes += f.bytes;
  summary_.records++;
  summary_.bytes += f.bytes;
  part->uncommitted_records++;
  part->uncommitted_bytes += f.bytes;
}

// Before any work, what the options need of each side's brokers: a run that
// found out halfway would leave a transaction open, or topics created with
// defaults.
Status Mirror::RequireBrokerApis() {
  if (!options_.exactly_once) {
    // The map writers fence with transactions; a target without them gets
    // unfenced writers, which is safe with one process per name only.
    Status txns = RequireApis(options_.target, target_admin_.get(), TransactionApis(),
                              "fencing mirror processes", "");
    if (!txns.ok()) {
      fenced_ = false;
      summary_.warnings.push_back(
          "the target does not serve transactions, so the map writers cannot fence: run one "
          "process of mirror " +
          options_.name + " at a time (" + txns.message() + ")");
    }
  }
  if (options_.exactly_once) {
    LIFELINE_RETURN_IF_ERROR(
        RequireApis(
            options_.target, target_admin_.get(), TransactionApis(), "mirror --exactly-once",
            "mirror without --exactly-once (at-least-once delivery; the offset map stays exact)")
            .WithContext("target"));
  }
  if (options_.create_topics && options_.read_configs) {
    constexpr std::string_view kWhy = "--create-topics (to copy retention and cleanup settings)";
    constexpr std::string_view kSkip =
        "pass --skip-configs to create target topics with the target broker's defaults, or "
        "create them yourself";
    const ApiUse describe[] = {TopicConfigApis()[0]};
    LIFELINE_RETURN_IF_ERROR(
        RequireApis(options_.source, source_admin_.get(), describe, kWhy, kSkip)
            .WithContext("source"));
    LIFELINE_RETURN_IF_ERROR(
        RequireApis(options_.target, target_admin_.get(), TopicConfigApis(), kWhy, kSkip)
            .WithContext("target"));
  }
  return Status::Ok();
}

Status Mirror::Connect() {
  LIFELINE_RETURN_IF_ERROR(ValidateMirrorName(options_.name));
  try {
    topics_re_ = std::regex(options_.topics, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Status::Usage(fmt::format("--topics '{}' is not a valid regular expression: {}",
                                     options_.topics, e.what()));
  }
  LIFELINE_ASSIGN_OR_RETURN_CTX(source_admin_, Admin::Create(options_.source), "source");
  LIFELINE_ASSIGN_OR_RETURN_CTX(target_admin_, Admin::Create(options_.target), "target");
  LIFELINE_RETURN_IF_ERROR(RequireBrokerApis());

  ProducerOptions popts;
  popts.client_id = "lifeline-mirror-" + options_.name;
  popts.linger_ms = 5;
  popts.report_topic = false;  // a delivery tag names the partition
  ClientConfig pconfig = options_.target;
  // A failed record must never be followed by a delivered one: the map (and
  // the offset-map topic) may not have holes.
  if (!options_.exactly_once && !pconfig.Get("enable.gapless.guarantee")) {
    pconfig.Set("enable.gapless.guarantee", "true");
  }
  // Lifeline's defaults for a bulk copy; the user's -X settings win. Queues
  // are bounded so memory stays flat whatever the topic size.
  for (auto [k, v] : {std::pair{"batch.size", "1000000"},
                      {"message.max.bytes", "10000000"},
                      {"queue.buffering.max.kbytes", "16384"}}) {
    if (!pconfig.Get(k)) pconfig.Set(k, v);
  }
  // Exactly-once, each partition's writer carries its records; otherwise
  // one idempotent producer does, and the writers only the maps.
  writer_options_ = popts;
  writer_config_ = options_.exactly_once ? pconfig : options_.target;
  if (!options_.exactly_once) {
    auto producer =
        Producer::Create(pconfig, popts, [this](const DeliveryReport& dr) { OnDelivery(dr); });
    if (!producer.ok()) return producer.status().WithContext("target");
    producer_ = std::move(producer).value();
  }

  ConsumerOptions copts;
  copts.read_committed = true;  // aborted transactions are never mirrored
  copts.partition_eof = true;
  copts.client_id = "lifeline-mirror-" + options_.name;
  // Never jump over records retention deleted under a running mirror.
  copts.auto_offset_reset = "error";
  // The copy reads far faster than it writes: its prefetch queue is full
  // most of the time, and librdkafka 2.0.2 would leave it drained for up
  // to a second each time (measured: 0.85 s).
  copts.keep_fetching = true;
  if (group_mode()) {
    copts.group_id = MirrorGroupId(options_.name);
    copts.on_rebalance = [this](bool assigned, const std::vector<TopicPartition>& partitions) {
      OnRebalance(assigned, partitions);
    };
  }
  ClientConfig cconfig = options_.source;
  // Group mode: notice new partitions at the rescan pace, and let a crashed
  // process's partitions move to the others within seconds, not 45 s. The
  // prefetch is 16 MB: with keep_fetching it is topped up within
  // milliseconds, so a larger one only costs memory.
  const std::string refresh = std::to_string(std::max(1, options_.rescan_seconds) * 1000);
  for (auto [k, v] : {std::pair<const char*, std::string>{"queued.max.messages.kbytes", "16384"},
                      {"fetch.max.bytes", "8388608"},
                      {"session.timeout.ms", "10000"},
                      {"topic.metadata.refresh.interval.ms", refresh}}) {
    if (!cconfig.Get(k)) cconfig.Set(k, v);
  }
  LIFELINE_ASSIGN_OR_RETURN_CTX(consumer_, Consumer::Create(cconfig, copts), "source");

  return Status::Ok();
}

// Only once both clusters answered: a mirror that cannot start leaves
// nothing behind (no state directory, no offset-map topic on the target).
Status Mirror::OpenState() {
  LIFELINE_ASSIGN_OR_RETURN(auto topics, MatchingTopics());
  if (topics.empty() && !options_.follow) {
    return Status::Usage(fmt::format(
        "no source topic matches --topics '{}' (internal topics __* and _lifeline.* are never "
        "mirrored{})",
        options_.topics,
        options_.source.Get("sasl.username")
            ? fmt::format("; the source lists only the topics User:{} may Describe: grant Read "
                          "on them, see docs/security.md",
                          *options_.source.Get("sasl.username"))
            : ""));
  }
  auto target_topics = target_admin_->ListTopics(kAdminTimeout);
  if (!target_topics.ok()) return target_topics.status().WithContext("target");
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  if (ec) {
    return Status::Infra(fmt::format("state directory {}: {}", options_.state_dir, ec.message()));
  }
  LIFELINE_ASSIGN_OR_RETURN(auto cache,
                            MapCache::Open(options_.state_dir + "/" + options_.name + ".db", true));
  cache_.emplace(std::move(cache));
  // Created while the source topics are looked at and the target topics
  // created; the first save waits for it. Reading maps meanwhile is safe: a
  // topic being created holds none.
  map_topic_ = std::async(std::launch::async, [target = options_.target] {
    return EnsureOffsetMapTopic(target).WithContext("target");
  });
  return Status::Ok();
}

Result<std::vector<std::string>> Mirror::MatchingTopics() {
  auto topics = source_admin_->ListTopics(kAdminTimeout);
  if (!topics.ok()) return topics.status().WithContext("source");
  std::vector<std::string> out;
  for (const auto& [name, partitions] : *topics) {
    if (!IsInternalTopic(name) && std::regex_match(name, topics_re_)) out.push_back(name);
  }
  return out;
}

Status Mirror::PrepareTopic(const std::string& topic) {
  LIFELINE_ASSIGN_OR_RETURN(auto src_partitions,
                            source_admin_->PartitionCount(topic, kAdminTimeout));
  std::map<std::string, std::string> src_configs;
  using Configs = std::map<std::string, ConfigEntry>;
  const Status no_configs = Status::Usage("this cluster cannot describe configs");
  Result<Configs> described = options_.read_configs
                                  ? source_admin_->DescribeTopicConfigs(topic, kAdminTimeout)
                                  : Result<Configs>(no_configs);
  if (described.ok()) {
    // What decides which records are kept is copied even where it is the
    // source broker's default: the target broker's default may be shorter.
    for (const char* name : CopiedConfigs()) {
      auto it = described->find(name);
      if (it == described->end()) continue;
      if (!it->second.is_default || DecidesWhatIsKept(name)) src_configs[name] = it->second.value;
    }
  } else {
    summary_.warnings.push_back(
        fmt::format("source topic {}: cannot read its configs ({}); nothing copied", topic,
                    described.status().message()));
  }
  const bool log_append_time = described.ok() && described->count("message.timestamp.type") &&
                               described->at("message.timestamp.type").value == "LogAppendTime";
  if (log_append_time) {
    summary_.warnings.push_back(fmt::format(
        "source topic {} uses LogAppendTime: the mirror copies the broker-assigned times as "
        "CreateTime, and the target topic is created with CreateTime so they survive",
        topic));
    src_configs["message.timestamp.type"] = "CreateTime";
  }

  auto dst_topics = target_admin_->ListTopics(kAdminTimeout);
  if (!dst_topics.ok()) return dst_topics.status().WithContext("target");
  auto existing = dst_topics->find(topic);
  if (existing == dst_topics->end()) {
    if (!options_.create_topics) {
      return Status::Usage(
          fmt::format("target topic {} does not exist: pass --create-topics, or create it with {} "
                      "partitions",
                      topic, src_partitions));
    }
    if (!described.ok() && options_.read_configs) {
      // A topic created with the broker's defaults may keep the records for
      // less time than the source does (retention.ms of 7 days deletes old
      // lifecycle events at once) or compact what the source keeps.
      return described.status().WithContext(fmt::format(
          "source topic {}: its retention and cleanup settings cannot be read, so the target "
          "topic is not created with defaults that could delete what it copies (grant "
          "DescribeConfigs, or create it yourself, or pass --skip-configs to accept the "
          "broker's defaults)",
          topic));
    }
    std::vector<std::pair<std::string, std::string>> configs(src_configs.begin(),
                                                             src_configs.end());
    // exists_ok: another process of the same mirror may create it first.
    LIFELINE_RETURN_IF_ERROR(
        target_admin_->CreateTopic({topic, src_partitions, -1, configs}, kAdminTimeout, true)
            .WithContext("target"));
    summary_.created_topics.push_back(topic);
    summary_.copied_configs[topic] = src_configs;
    if (!described.ok()) return Status::Ok();  // --skip-configs: nothing to hold it to
    return CheckCreatedConfigs(topic, src_configs);
  }
  if (existing->second < src_partitions) {
    return Status::Usage(fmt::format(
        "target topic {} has {} partitions, source has {}: grow it to {} (kafka-topics --alter "
        "--partitions {}) so every record keeps its partition",
        topic, existing->second, src_partitions, src_partitions, src_partitions));
  }
  Result<Configs> dst_configs = options_.read_configs
                                    ? target_admin_->DescribeTopicConfigs(topic, kAdminTimeout)
                                    : Result<Configs>(no_configs);
  if (dst_configs.ok() && described.ok()) {
    const std::string src_policy =
        described->count("cleanup.policy") ? described->at("cleanup.policy").value : "delete";
    const std::string dst_policy =
        dst_configs->count("cleanup.policy") ? dst_configs->at("cleanup.policy").value : "delete";
    if (src_policy != dst_policy) {
      return Status::Usage(fmt::format(
          "target topic {} has cleanup.policy={}, source has cleanup.policy={}: set the "
          "target's to {} (kafka-configs --alter) or mirror into a new topic",
          topic, dst_policy, src_policy, src_policy));
    }
  }
  return Status::Ok();
}

// A broker may accept a topic's configs and keep others, or report every
// config as its default: the created topic is described and held to what it
// was created with (the source's effective values of what decides which
// records are kept). A difference in what decides which records are
// kept fails the run (the target could delete copies the map vouches for);
// the others, and configs the target does not report, are warnings.
Status Mirror::CheckCreatedConfigs(const std::string& topic,
                                   const std::map<std::string, std::string>& asked) {
  auto described = target_admin_->DescribeTopicConfigs(topic, kAdminTimeout);
  if (!described.ok()) {
    return described.status().WithContext(fmt::format(
        "target topic {} was created, but its configs cannot be read back to check that it "
        "keeps what the source keeps (grant DescribeConfigs on the target, or pass "
        "--skip-configs to accept the broker's word)",
        topic));
  }
  std::map<std::string, std::string> reported;
  for (const auto& [name, entry] : *described) reported[name] = entry.value;
  std::string refused;
  for (const ConfigDifference& d : CompareTopicConfigs(asked, reported)) {
    if (!d.reported_at_all) {
      summary_.warnings.push_back(fmt::format(
          "target topic {}: the target does not report {} (wanted {}); it cannot be checked", topic,
          d.name, d.wanted));
    } else if (!d.decides_what_is_kept) {
      summary_.warnings.push_back(
          fmt::format("target topic {}: {}={} on the target, {} wanted (harmless to what is kept)",
                      topic, d.name, d.reported, d.wanted));
    } else {
      refused += fmt::format("{}{}={} (wanted {})", refused.empty() ? "" : ", ", d.name, d.reported,
                             d.wanted);
    }
  }
  if (refused.empty()) return Status::Ok();
  return Status::Infra(fmt::format(
      "target topic {} was created with the source's retention and cleanup settings, but the "
      "target reports {}: it ignored them or misreports them, and could delete or compact "
      "copies the offset map vouches for; set them on the target (kafka-configs --alter) and "
      "run again, or create the topic yourself",
      topic, refused));
}

Status Mirror::AddPartitions(const std::string& topic, int from, int to, const MapSet& stored,
                             const std::map<TopicPartition, Offset>& group_progress) {
  for (int p = from; p < to; ++p) {
    const TopicPartition key{Topic(topic), Partition(p)};
    auto src_wm = WatermarksAcrossFailover(*source_admin_, key);
    if (!src_wm.ok()) return src_wm.status().WithContext("source");
    auto dst_wm = WatermarksAcrossFailover(*target_admin_, key);
    if (!dst_wm.ok()) return dst_wm.status().WithContext("target");
    const int64_t low = src_wm->low.value(), high = src_wm->high.value();
    const int64_t target_high = dst_wm->high.value();

    Part part;
    part.key = key;
    part.summary.topic = topic;
    part.summary.partition = p;
    part.stop_at = high;
    auto it = stored.find(key);
    const PartitionMap* forward = nullptr;
    if (forward_) {
      auto f = forward_->find(key);
      if (f != forward_->end()) forward = &f->second;
    }
    if (it == stored.end()) {
      // A reverse mirror maps the records that came from its target onto
      // their original offsets there, so it starts at the forward mirror's
      // first offset; copies land after everything the target holds.
      part.map = PartitionMap(low, forward ? forward->source_start() : target_high);
      // Saved at the first persist even if nothing is ever copied (an empty
      // partition, or one holding only aborted records and markers, is
      // caught up at once and never assigned): a group committed anywhere
      // in [log start, end] must translate.
      part.touched = true;
      if (!forward && target_high > dst_wm->low.value()) {
        // Records the map does not describe: an earlier run that stopped
        // before it saved any progress, or another writer. (A reverse
        // mirror's target holds the original records; they are expected.)
        part.map.CountPossibleDuplicates(target_high - dst_wm->low.value());
        summary_.warnings.push_back(fmt::format(
            "target {} [{}] already holds {} record(s) that mirror {} has no map for; they are "
            "counted as possible duplicates",
            topic, p, target_high - dst_wm->low.value(), options_.name));
      }
    } else {
      part.map = it->second;
      part.dups_base = part.map.possible_duplicates();
      encoder_.Reset(key, it->second);
      if (options_.exactly_once) {
        // The map and the group offsets are committed in one transaction.
        auto g = group_progress.find(key);
        if (g != group_progress.end() && g->second.value() != part.map.progress()) {
          return Status::Infra(fmt::format(
              "{} [{}]: offset map progress {} disagrees with group {} offset {}", topic, p,
              part.map.progress(), MirrorGroupId(options_.name), g->second.value()));
        }
      } else if (!forward && target_high > part.map.target_next()) {
        // Delivered after the last saved progress: those records are sent again.
        part.map.CountPossibleDuplicates(target_high - part.map.target_next());
        part.touched = true;  // the count is saved even if nothing follows
      }
      // Whatever sits on the target past the saved map (duplicates, aborted
      // records, markers) is not part of it; new records land after it.
      const bool in_forward_region =
          forward && forward->RecordsFromTarget(Offset(part.map.progress())) > 0;
      if (!in_forward_region) {
        part.map.RewindTo(part.map.progress(), std::max(target_high, part.map.target_next()));
      }
      if (low > part.map.progress()) {
        const Gap gap{part.map.progress(), low};
        if (!options_.allow_gaps) {
          return Status::CheckFailed(fmt::format(
              "{} [{}]: source offsets {}..{} were deleted (retention) before they were "
              "mirrored: {} record(s) lost; pass --allow-gaps to continue and record the gap",
              topic, p, gap.from, gap.to - 1, gap.to - gap.from));
        }
        part.map.AddGap(gap);
        part.summary.gaps.push_back(gap);
        part.touched = true;
        summary_.warnings.push_back(fmt::format("{} [{}]: gap recorded, source offsets {}..{} lost",
                                                topic, p, gap.from, gap.to - 1));
      }
    }
    auto w = opened_writers_.find(key);
    if (w == opened_writers_.end()) {
      return Status::Infra(
          fmt::format("{} [{}]: added without its writer (a lifeline bug)", topic, p));
    }
    part.writer = std::move(w->second);
    opened_writers_.erase(w);
    parts_.emplace(key, std::move(part));
  }
  return Status::Ok();
}

Status Mirror::OpenWriters(const std::vector<TopicPartition>& partitions) {
  std::vector<TopicPartition> missing;
  for (const TopicPartition& tp : partitions) {
    if (!opened_writers_.count(tp)) missing.push_back(tp);
  }
  if (missing.empty()) return Status::Ok();
  LIFELINE_ASSIGN_OR_RETURN_CTX(auto writers,
                                OpenMapWriters(
                                    writer_config_, writer_options_, options_.name, missing,
                                    [this](const DeliveryReport& dr) { OnDelivery(dr); }, fenced_),
                                "target");
  for (auto& [tp, w] : writers) opened_writers_[tp] = std::move(w);
  return Status::Ok();
}

Status Mirror::Discover() {
  LIFELINE_ASSIGN_OR_RETURN(auto topics, MatchingTopics());
  MapSet stored;
  std::map<TopicPartition, Offset> group_progress;
  bool loaded = false;
  for (const std::string& topic : topics) {
    LIFELINE_ASSIGN_OR_RETURN(auto src_partitions,
                              source_admin_->PartitionCount(topic, kAdminTimeout));
    int known = 0;
    for (const auto& [key, part] : parts_) {
      if (key.topic.value() == topic) known = std::max(known, key.partition.value() + 1);
    }
    if (group_mode()) known = target_partitions_[topic];
    if (topics_.count(topic) && known >= src_partitions) continue;
    if (!topics_.count(topic)) {
      LIFELINE_RETURN_IF_ERROR(PrepareTopic(topic));
      topics_.insert(topic);
      summary_.topics.push_back(topic);
    } else {
      // New source partitions: the target must have them too.
      auto dst_partitions = target_admin_->PartitionCount(topic, kAdminTimeout);
      if (!dst_partitions.ok()) return dst_partitions.status().WithContext("target");
      if (*dst_partitions < src_partitions) {
        if (!options_.create_topics) {
          return Status::Usage(fmt::format(
              "source topic {} grew to {} partitions, target has {}: grow the target or pass "
              "--create-topics",
              topic, src_partitions, *dst_partitions));
        }
        LIFELINE_RETURN_IF_ERROR(
            target_admin_->CreatePartitions(topic, src_partitions, kAdminTimeout));
      }
    }
    if (group_mode()) {
      for (int p = known; p < src_partitions; ++p) {
        const TopicPartition tp{Topic(topic), Partition(p)};
        auto wm = WatermarksAcrossFailover(*source_admin_, tp);
        if (!wm.ok()) return wm.status().WithContext("source");
        global_stop_at_[tp] = wm->high.value();
      }
      target_partitions_[topic] = src_partitions;
      continue;  // partitions arrive through the group
    }
    std::vector<TopicPartition> adding;
    for (int p = known; p < src_partitions; ++p) adding.push_back({Topic(topic), Partition(p)});
    LIFELINE_RETURN_IF_ERROR(OpenWriters(adding));
    if (!loaded) {
      // Fenced first, then read (map_store.h); a later topic of this scan
      // is fenced after the read, which only a second process of a reverse
      // mirror (not supported) could tell.
      auto maps = LoadMaps();
      if (!maps.ok()) return maps.status().WithContext("target");
      stored = std::move(maps).value();
      if (options_.exactly_once) {
        LIFELINE_ASSIGN_OR_RETURN_CTX(group_progress, ListMirrorGroupOffsets(), "target");
      }
      loaded = true;
    }
    LIFELINE_RETURN_IF_ERROR(AddPartitions(topic, known, src_partitions, stored, group_progress));
  }
  return Status::Ok();
}

Status Mirror::Assign() {
  if (group_mode()) {
    std::vector<std::string> topics(topics_.begin(), topics_.end());
    if (topics == subscribed_ || topics.empty()) return Status::Ok();
    subscribed_ = topics;
    return consumer_->Subscribe(topics).WithContext("source");
  }
  std::vector<std::pair<TopicPartition, Offset>> assignment;
  for (const auto& [key, part] : parts_) {
    if (!options_.follow && part.map.progress() >= part.stop_at) continue;
    assignment.emplace_back(key, Offset(part.map.progress()));
  }
  return consumer_->Assign(assignment);
}

void Mirror::OnRebalance(bool assigned, const std::vector<TopicPartition>& partitions) {
  rebalanced_ = true;
  // Interrupted: the run is ending, and takes no new partitions (reading
  // their maps would stop at the signal, and fail the run).
  if (shutting_down_ || (assigned && Interrupted())) {
    (void)(assigned ? consumer_->IncrementalAssign({})
                    : consumer_->IncrementalUnassign(partitions));
    return;
  }
  Status st = assigned ? TakePartitions(partitions) : ReleasePartitions(partitions);
  if (!st.ok() && rebalance_error_.ok()) rebalance_error_ = st;
}

// Partitions assigned to this process: their maps may have moved on in
// another process, so read them afresh from the offset-map topic.
// librdkafka 2.0.2 aborts the process (an assert) when a cooperative-sticky
// consumer is destroyed before its first rebalance (confluentinc/librdkafka
// #4312, fixed in 2.3.0). A group-mode mirror with nothing to copy can get
// there; wait for that rebalance, bounded, acknowledging it without taking
// partitions. Whatever the polls return is dropped: progress lives in the
// map, so nothing is lost or skipped.
void Mirror::AwaitFirstRebalance() {
  if (!group_mode() || rebalanced_ || !consumer_ || subscribed_.empty()) return;
  shutting_down_ = true;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!rebalanced_ && Clock::now() < deadline) (void)consumer_->Poll(100, Millis(100));
}

Status Mirror::TakePartitions(const std::vector<TopicPartition>& partitions) {
  assigned_once_ = true;
  std::vector<std::pair<TopicPartition, Offset>> start;
  Status taken = TakeInto(partitions, &start);
  // The assignment must be completed whatever happened (librdkafka waits
  // for it, and a consumer left waiting never closes): on an error, with
  // nothing; the error ends the run.
  if (!taken.ok()) start.clear();
  Status assigned = consumer_->IncrementalAssign(start).WithContext("source");
  return taken.ok() ? assigned : taken;
}

Status Mirror::TakeInto(const std::vector<TopicPartition>& partitions,
                        std::vector<std::pair<TopicPartition, Offset>>* start) {
  if (partitions.empty()) return Status::Ok();
  // Fence every earlier writer of these partitions, then read their maps.
  LIFELINE_RETURN_IF_ERROR(OpenWriters(partitions));
  LIFELINE_ASSIGN_OR_RETURN_CTX(MapSet stored, LoadMaps(), "target");
  std::map<TopicPartition, Offset> group_progress;
  if (options_.exactly_once) {
    LIFELINE_ASSIGN_OR_RETURN_CTX(group_progress, ListMirrorGroupOffsets(), "target");
  }
  for (const TopicPartition& tp : partitions) {
    const std::string& topic = tp.topic.value();
    if (!topics_.count(topic)) {
      LIFELINE_RETURN_IF_ERROR(PrepareTopic(topic));
      topics_.insert(topic);
      summary_.topics.push_back(topic);
    }
    if (tp.partition.value() >= target_partitions_[topic]) {
      LIFELINE_RETURN_IF_ERROR(Discover());
    }
    LIFELINE_RETURN_IF_ERROR(AddPartitions(topic, tp.partition.value(), tp.partition.value() + 1,
                                           stored, group_progress));
    start->emplace_back(tp, Offset(parts_.at(tp).map.progress()));
  }
  return Status::Ok();
}

// Partitions taken away: make everything delivered durable first, so the
// next owner resumes exactly where this one stopped.
Status Mirror::ReleasePartitions(const std::vector<TopicPartition>& partitions) {
  // librdkafka 2.0.2 flags ordinary cooperative revocations as "lost"
  // (rd_kafka_assignment_lost), so a lost assignment cannot be told from a
  // handover; persist in both cases.
  Status st = Persist(/*flush=*/true);
  if (!st.ok()) {
    // Keep the parts: records still in flight point at them. The error
    // ends the run.
    (void)consumer_->IncrementalUnassign(partitions);
    return st;
  }
  for (const TopicPartition& tp : partitions) {
    auto it = parts_.find(tp);
    if (it == parts_.end()) continue;
    it->second.summary.runs = static_cast<int64_t>(it->second.map.runs().size());
    released_.push_back(it->second.summary);
    CloseWriter(it->second);
    if (failed_part_ == &it->second) failed_part_ = nullptr;
    parts_.erase(it);
  }
  Status unassigned = consumer_->IncrementalUnassign(partitions).WithContext("source");
  return st.ok() ? unassigned : st;
}

// Caught up with the end seen at start. That end is the last stable offset
// (librdkafka's default isolation.level, read_committed, applies to offset
// queries too), so an open source transaction never holds the mirror back;
// its records are copied by a later run once it commits.
Result<bool> Mirror::CaughtUp() {
  for (const auto& [key, part] : parts_) {
    if (part.map.progress() < part.stop_at) return false;
  }
  if (!group_mode()) return true;
  // Partitions this process does not hold may still be in flight elsewhere
  // (or between owners): ask the shared map, twice a second at most.
  if (Clock::now() - last_global_check_ < Millis(500)) return false;
  last_global_check_ = Clock::now();
  auto maps = LoadMaps();
  if (!maps.ok()) return maps.status().WithContext("target");
  for (const auto& [key, stop_at] : global_stop_at_) {
    auto it = maps->find(key);
    if (stop_at > 0 && (it == maps->end() || it->second.progress() < stop_at)) return false;
  }
  return true;
}

// Reverse mirror: a record the forward mirror copied from our target is
// already there; map it onto its original offset instead of copying it.
Status Mirror::MapFromForward(Part& part, int64_t offset, bool* from_target) {
  auto f = forward_->find(part.key);
  if (f == forward_->end()) {
    *from_target = false;
    return Status::Ok();
  }
  const PartitionMap& forward = f->second;
  *from_target = forward.IsMirroredTarget(Offset(offset));
  if (!*from_target) {
    if (offset < forward.target_next()) {
      // Inside the span the forward mirror wrote but not in its map: a copy
      // resent after an at-least-once restart, or a record that was here
      // before the forward mirror began. Neither was born after the cutover.
      *from_target = true;
      ++part.summary.skipped;
      part.touched = true;
    }
    return Status::Ok();
  }
  const int64_t original = forward.ReverseTranslate(Offset(offset))->value();
  if (part.in_flight > 0 || original < part.map.target_next()) {
    return Status::CheckFailed(fmt::format(
        "{} [{}]: record {} came from the other cluster but follows records written here "
        "after the cutover; stop the forward mirror {} before failing back",
        part.key.topic.value(), part.key.partition.value(), offset, options_.name));
  }
  part.map.Add(offset, original);
  part.touched = true;
  ++part.summary.already_present;
  return Status::Ok();
}

Status Mirror::MirrorBatch(bool* idle) {
  // A rate-limited mirror reads a tenth of a second's worth at a time, so it
  // never sleeps long between polls (rebalances wait for polls).
  size_t max_records = std::min<size_t>(options_.batch_records, 10000);
  if (options_.max_records_per_second > 0) {
    max_records = std::clamp<size_t>(options_.max_records_per_second / 10, 1, max_records);
  }
  auto batch = consumer_->PollMessages(max_records, Millis(100));
  if (!batch.ok()) {
    if (batch.status().message().find("(_AUTO_OFFSET_RESET)") != std::string::npos) {
      // Retention deleted records at our position while we ran.
      return Status::CheckFailed(
          batch.status().message() +
          ": source records were deleted before they were mirrored; run again to see the lost "
          "range, and pass --allow-gaps to record it and go on");
    }
    return batch.status().WithContext("source");
  }
  // A topic created a moment ago is missing from the consumer's metadata for
  // a while; only one that stays missing (deleted under the mirror) fails.
  // librdkafka repeats the report at every metadata refresh (the rescan
  // pace), so a longer silence ends the streak.
  const auto now = Clock::now();
  const auto silence = std::chrono::seconds(2 * std::max(1, options_.rescan_seconds) + 5);
  for (const std::string& topic : batch->unavailable_topics) {
    auto [it, fresh] = unavailable_.try_emplace(topic, Unavailable{now, now});
    if (!fresh && now - it->second.last > silence) it->second.first = now;
    it->second.last = now;
    if (now - it->second.first > kTopicVanishedAfter) {
      return Status::Infra(fmt::format(
          "source: topic {} has been unknown to the source for {} s (deleted while being "
          "mirrored?); its map is saved up to the last copied record",
          topic, std::chrono::duration_cast<std::chrono::seconds>(kTopicVanishedAfter).count()));
    }
  }
  *idle = batch->messages.empty() && batch->reached_end.empty();
  // Records come in runs from one partition: look its Part up once per run.
  Part* part = nullptr;
  const rd_kafka_topic_t* run_topic = nullptr;
  int32_t run_partition = -1;
  for (Message& m : batch->messages) {
    if (m->rkt != run_topic || m->partition != run_partition) {
      run_topic = m->rkt;
      run_partition = m->partition;
      auto it = parts_.find({Topic(rd_kafka_topic_name(m->rkt)), Partition(m->partition)});
      part = it == parts_.end() ? nullptr : &it->second;
    }
    if (!part || part->lost || part->redo || m->offset < part->map.progress()) continue;
    if (forward_) {
      bool from_target = false;
      LIFELINE_RETURN_IF_ERROR(MapFromForward(*part, m->offset, &from_target));
      if (from_target) continue;
    }
    // Exactly-once, a writer fenced by a new owner refuses to begin or to
    // take records: this process lost the partition (DropLostParts).
    auto fenced = [&] { return options_.exactly_once && group_mode() && part->writer->Fenced(); };
    if (options_.exactly_once && !part->txn_open) {
      Status begun = part->writer->BeginTransaction().WithContext("target");
      if (!begun.ok() && fenced()) {
        part->lost = true;
        continue;
      }
      LIFELINE_RETURN_IF_ERROR(begun);
      part->txn_open = true;
    }
    Producer& out = RecordProducer(*part);
    if (!part->target_topic) part->target_topic = out.TopicHandle(part->key.topic.value());
    part->sent.push_back({m->offset, MessageBytes(m.get())});
    ++part->in_flight;
    // Same topic, partition, key, value, headers and timestamp, written as
    // CreateTime so a LogAppendTime source keeps its times.
    Status forwarded =
        out.Forward(m.get(), part->target_topic, part->key.partition.value(), RecordTag(*part))
            .WithContext("target");
    if (!forwarded.ok()) {
      part->sent.pop_back();  // never enqueued
      --part->in_flight;
      if (fenced()) {
        part->lost = true;
        continue;
      }
      if (options_.exactly_once && group_mode() && part->writer->AbortRequired()) {
        // A transaction that already failed (a record's delivery did, its
        // report not served yet) refuses more records: RedoFailedTransactions
        // commits to learn why.
        part->redo = true;
        if (part->txn_error.ok()) part->txn_error = forwarded;
        continue;
      }
      return forwarded;
    }
    ++sent_;
    ++sent_since_persist_;
  }
  PollProducers();  // serve delivery reports
  LIFELINE_RETURN_IF_ERROR(DeliveryFailure());
  if (options_.max_records_per_second > 0) {
    // Sleep until the records sent so far fit the rate.
    const auto due =
        started_ +
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
            static_cast<double>(sent_) / static_cast<double>(options_.max_records_per_second)));
    if (due > Clock::now()) std::this_thread::sleep_until(due);
  }
  for (const PartitionEnd& end : batch->reached_end) {
    auto it = parts_.find(end.where);
    if (it == parts_.end()) continue;
    it->second.pending_end = std::max(it->second.pending_end, end.offset.value());
    it->second.touched = true;
  }
  return Status::Ok();
}

// The first failed delivery. A transaction that failed (a partition it
// may not add) purges what it held: its own error, which committing it
// returns, says why.
Status Mirror::DeliveryFailure() {
  if (delivery_error_.ok()) return Status::Ok();
  const bool purged = delivery_err_ == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                      delivery_err_ == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
  // Only the failed partition's transaction: committing another would
  // publish records without the map and progress that describe them.
  Part* part = failed_part_;
  if (options_.exactly_once && purged && part && part->txn_open && !part->lost) {
    Status why = part->writer->CommitTransaction(Millis(5000));
    part->txn_open = false;
    if (!why.ok()) return why.WithContext("target: the transaction failed");
  }
  return delivery_error_;
}

void Mirror::PollProducers() {
  if (producer_) producer_->Poll(Millis(0));
  if (!options_.exactly_once) return;
  for (auto& [key, part] : parts_) part.writer->Poll(Millis(0));
}

Status Mirror::FlushRecords() {
  if (producer_) return producer_->Flush(kTxnTimeout).WithContext("target");
  for (auto& [key, part] : parts_) {
    if (part.lost || part.redo || part.in_flight == 0) continue;
    Status st = part.writer->Flush(kTxnTimeout);
    if (!st.ok() && !part.lost) return st.WithContext("target");
  }
  return Status::Ok();
}

// One partition's map update in its writer's transaction: exactly-once,
// with the records it describes (already in the transaction) and the
// progress as an offset of the group _lifeline.mirror.NAME on the target.
Status Mirror::SavePart(Part& part, const std::vector<Record>& records, int64_t progress) {
  Producer& w = *part.writer;
  part.map_error = Status::Ok();
  if (!fenced_) {
    for (const Record& r : records) {
      LIFELINE_RETURN_IF_ERROR(w.Send(r, MapTag(part)).WithContext("target offset map"));
    }
    Status flushed = w.Flush(kTxnTimeout).WithContext("target offset map");
    return flushed.ok() || part.map_error.ok() ? flushed : part.map_error;
  }
  if (!part.txn_open) {
    LIFELINE_RETURN_IF_ERROR(w.BeginTransaction());
    part.txn_open = true;
  }
  for (const Record& r : records) {
    LIFELINE_RETURN_IF_ERROR(w.Send(r, MapTag(part)).WithContext("target offset map"));
  }
  if (options_.exactly_once) {
    LIFELINE_RETURN_IF_ERROR(w.SendOffsetsToTransaction({{part.key, Offset(progress)}},
                                                        MirrorGroupId(options_.name), kTxnTimeout));
  }
  part.txn_open = false;
  Status committed = w.CommitTransaction(kTxnTimeout).WithContext("target offset map");
  if (!committed.ok() && !part.map_error.ok() && !w.Fenced()) return part.map_error;
  return committed;
}

Status Mirror::AwaitSave(Part& part) {
  if (!part.saving.valid()) return Status::Ok();
  Status st = part.saving.get();
  part.saving_progress = -1;
  if (!st.ok() && group_mode() && part.writer->Fenced()) {
    part.lost = true;  // DropLostParts says so
    return Status::Ok();
  }
  if (!st.ok() && options_.exactly_once && group_mode() && part.writer->AbortRequired()) {
    part.redo = true;  // RedoFailedTransactions
    part.txn_error = st;
    return Status::Ok();
  }
  if (st.ok()) {
    part.uncommitted_records = part.uncommitted_bytes = 0;
    redos_.erase(part.key);
  }
  return st;
}

void Mirror::AwaitSaves() {
  for (auto& [key, part] : parts_) (void)AwaitSave(part);
}

// Parts this process was fenced out of: wait for what it still has in
// flight for them (the deliveries point at the Part), then forget them.
void Mirror::DropLostParts() {
  for (auto it = parts_.begin(); it != parts_.end();) {
    Part& part = it->second;
    if (!part.lost) {
      ++it;
      continue;
    }
    if (part.in_flight > 0) {
      // A fenced writer purges its queue; the idempotent one delivers.
      (void)RecordProducer(part).Flush(kTxnTimeout);
    }
    part.writer->Poll(Millis(0));
    if (part.in_flight > 0) {
      ++it;  // still in flight: try again at the next save
      continue;
    }
    summary_.warnings.push_back(fmt::format(
        "{} [{}]: another process of mirror {} took this partition over and fenced this one "
        "out; it stopped copying it",
        part.key.topic.value(), part.key.partition.value(), options_.name));
    part.summary.runs = static_cast<int64_t>(part.map.runs().size());
    released_.push_back(part.summary);
    orphans_[part.key] = Clock::now();
    CloseWriter(part);
    if (failed_part_ == &part) failed_part_ = nullptr;
    it = parts_.erase(it);
  }
}

// A partition this process was fenced out of but that the group still
// assigns to it, long after a new owner would have taken it: the fence was
// the broker aborting a transaction that outlived its timeout, not another
// process. Take it back (which fences whoever else might hold it).
Status Mirror::RetakeOrphans() {
  if (orphans_.empty() || !group_mode()) return Status::Ok();
  const auto grace = std::chrono::seconds(30);  // 3 session timeouts
  std::vector<TopicPartition> due;
  for (const auto& [tp, since] : orphans_) {
    if (Clock::now() - since > grace) due.push_back(tp);
  }
  if (due.empty()) return Status::Ok();
  for (const TopicPartition& tp : due) orphans_.erase(tp);
  LIFELINE_ASSIGN_OR_RETURN_CTX(auto assigned, consumer_->Assignment(), "source");
  std::vector<TopicPartition> retake;
  for (const TopicPartition& tp : due) {
    if (std::find(assigned.begin(), assigned.end(), tp) != assigned.end() && !parts_.count(tp)) {
      retake.push_back(tp);
    }
  }
  if (retake.empty()) return Status::Ok();
  LIFELINE_RETURN_IF_ERROR(consumer_->IncrementalUnassign(retake).WithContext("source"));
  return TakePartitions(retake);
}

// Exactly-once: a partition whose transaction failed in a way an abort
// clears (a broker restarting lost a sequence, a delivery timed out) is
// aborted, forgotten and taken again like a partition that arrives from the
// group: its writer fenced and opened afresh, its map read from the target,
// its copy resumed from the committed progress. Nothing it held was
// visible, so nothing is copied twice. The same partition failing
// kMaxRedos times without a commit in between ends the run with the error.
Status Mirror::RedoFailedTransactions() {
  constexpr int kMaxRedos = 5;
  std::vector<TopicPartition> redo;
  for (auto& [key, part] : parts_) {
    if (!part.redo || part.lost || part.saving.valid()) continue;
    Producer& w = *part.writer;
    Status why = part.txn_error;
    if (part.txn_open) {
      // Its commit says why the transaction failed, and whether an abort
      // clears it.
      Status committed = w.CommitTransaction(Millis(5000));
      part.txn_open = false;
      if (committed.ok()) return why;  // a failed record, yet committed: stop
      why = committed;
    }
    if (w.Fenced()) {
      part.lost = true;  // DropLostParts
      continue;
    }
    const std::string failed = fmt::format("target: {} [{}]: the transaction failed",
                                           key.topic.value(), key.partition.value());
    // A refusal does not go away by trying again.
    if (!w.AbortRequired() || IsAuthorizationError(w.LastTxnError()))
      return why.WithContext(failed);
    if (++redos_[key] > kMaxRedos) {
      return why.WithContext(fmt::format(
          "target: {} [{}]: its transaction failed {} times in a row, each aborted and copied "
          "again",
          key.topic.value(), key.partition.value(), redos_[key]));
    }
    if (Status aborted = w.AbortTransaction(kTxnTimeout); !aborted.ok()) {
      return why.WithContext(failed + " (and then its abort: " + aborted.message() + ")");
    }
    (void)w.Flush(kTxnTimeout);  // the purged records' reports: nothing in flight
    summary_.records -= part.uncommitted_records;
    summary_.bytes -= part.uncommitted_bytes;
    part.summary.records -= part.uncommitted_records;
    part.summary.bytes -= part.uncommitted_bytes;
    summary_.warnings.push_back(fmt::format(
        "{} [{}]: a transaction failed ({}); it was aborted, and the partition is copied again "
        "from its last committed progress",
        key.topic.value(), key.partition.value(), why.message()));
    redo.push_back(key);
  }
  DropLostParts();
  if (redo.empty()) return Status::Ok();
  for (const TopicPartition& tp : redo) {
    Part& part = parts_.at(tp);
    part.summary.runs = static_cast<int64_t>(part.map.runs().size());
    released_.push_back(part.summary);
    CloseWriter(part);
    if (failed_part_ == &part) failed_part_ = nullptr;
    parts_.erase(tp);
  }
  LIFELINE_RETURN_IF_ERROR(consumer_->IncrementalUnassign(redo).WithContext("source"));
  return TakePartitions(redo);
}

// Makes what was delivered durable: maps extended by delivery reports (and
// ends of partitions with nothing in flight) are written to the offset-map
// topic, each partition's through its writer, and to the local cache.
// At-least-once does not wait for records in flight: the map only ever
// describes acknowledged records. Exactly-once waits for them and commits
// each partition's records, map and group offset together.
Status Mirror::Persist(bool flush) {
  if (options_.exactly_once) {
    for (const auto& [key, part] : parts_) flush = flush || part.txn_open;
  }
  if (flush) {
    LIFELINE_RETURN_IF_ERROR(DeliveryFailure());
    LIFELINE_RETURN_IF_ERROR(FlushRecords());
  }
  LIFELINE_RETURN_IF_ERROR(DeliveryFailure());
  std::map<TopicPartition, Offset> progress;
  // Each partition's save is its own transaction, on its own writer: they
  // run side by side (a commit is a few round trips; one after another,
  // many partitions would stall the copy). At-least-once, the copy does not
  // wait for them either: a save still running is collected at a later
  // persist, and its partition saved again only then.
  Status failed;
  auto collect = [&](Part& part) {
    const int64_t saved_progress = part.saving_progress;
    Status st = AwaitSave(part);
    if (!st.ok() && failed.ok()) failed = st;
    if (st.ok() && !part.lost && !part.redo && saved_progress >= 0) {
      progress[part.key] = Offset(saved_progress);
      part.summary.possible_duplicates = part.saving_dups - part.dups_base;
    }
  };
  const bool wait = flush || options_.exactly_once;
  for (auto& [key, part] : parts_) {
    if (part.lost || part.redo) continue;
    if (part.saving.valid()) {
      if (!wait && part.saving.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        continue;  // still saving: this partition's changes go in the next save
      }
      collect(part);
      if (part.lost) continue;
    }
    if (part.pending_end >= 0 && part.in_flight == 0) {
      part.map.Advance(part.pending_end);
      part.pending_end = -1;
      part.touched = true;
    }
    if (!part.touched && !part.txn_open) continue;
    part.touched = false;
    std::vector<Record> records;
    encoder_.Encode(key, part.map, &records);
    if (records.empty() && !part.txn_open) continue;
    part.saving_progress = part.map.progress();
    part.saving_dups = part.map.possible_duplicates();
    // A structured binding: not capturable for clang 14 (scripts/lint).
    Part* saving = &part;
    part.saving = std::async(
        std::launch::async, [this, saving, records = std::move(records), p = part.saving_progress] {
          return SavePart(*saving, records, p);
        });
  }
  if (wait) {
    for (auto& [key, part] : parts_) {
      if (part.saving.valid()) collect(part);
    }
  }
  LIFELINE_RETURN_IF_ERROR(failed);
  sent_since_persist_ = 0;
  DropLostParts();
  if (progress.empty()) return Status::Ok();
  if (group_mode()) {
    // Also on the source group, where lag monitoring looks; the map on the
    // target stays the authority.
    (void)consumer_->Commit(progress, /*async=*/true);
  }
  MapSet snapshot;
  for (const auto& [key, part] : parts_) snapshot.emplace(key, part.map);
  return cache_->Save(snapshot);
}

// At-least-once, with everything this process sent acknowledged and saved:
// target records past the last copy its map describes are another writer's
// (a process fenced out of the partition whose copies landed after ours, an
// earlier run's). They are counted as possible duplicates and put behind the
// map's target end, so a group moved to the end of the source does not read
// them. The next owner counts what lands later, when it takes over, so a
// partition whose end cannot be read now is only warned about. True if any
// partition changed (it needs saving). Stopping on SIGINT / SIGTERM, each
// end is asked for once, within 5 s, the interrupt held back meanwhile (the
// readers give up at once when interrupted).
bool Mirror::CountForeignTail() {
  if (options_.exactly_once || forward_) return false;  // markers lie there
  const bool stopping = Interrupted();
  if (stopping) ClearInterrupted();
  bool changed = false;
  for (auto& [key, part] : parts_) {
    if (part.lost || part.in_flight > 0 || part.saving.valid()) continue;
    const TopicPartition& tp = key;  // a structured binding: not capturable for clang 14
    auto wm = stopping ? target_admin_->Watermarks(tp, Millis(5000))
                       : AcrossOutage<WatermarkOffsets>(
                             [&] { return WatermarksAcrossFailover(*target_admin_, tp); });
    if (!wm.ok()) {
      summary_.warnings.push_back(fmt::format(
          "target {} [{}]: could not look past the last copy ({}); the next owner counts what "
          "lies there; the other partitions are looked at next time",
          key.topic.value(), key.partition.value(), wm.status().message()));
      break;  // one outage: no 60 s wait per partition
    }
    const int64_t high = wm->high.value();
    if (high <= part.map.target_next()) continue;
    summary_.warnings.push_back(fmt::format(
        "target {} [{}] holds {} record(s) after the last copy mirror {} describes (another "
        "writer's: a fenced process still delivering?); they are counted as possible duplicates",
        key.topic.value(), key.partition.value(), high - part.map.target_next(), options_.name));
    part.map.CountPossibleDuplicates(high - part.map.target_next());
    part.map.RewindTo(part.map.progress(), high);
    part.touched = true;
    changed = true;
  }
  if (stopping) RequestInterrupt();
  return changed;
}

void Mirror::ReportProgress(bool force) {
  if (!progress_fn_) return;
  auto now = Clock::now();
  if (!force && now - last_report_ < std::chrono::seconds(1)) return;
  last_report_ = now;
  MirrorProgress p;
  p.records = summary_.records;
  p.bytes = summary_.bytes;
  p.seconds = std::chrono::duration<double>(now - started_).count();
  if (!options_.follow) {
    p.remaining = 0;
    for (const auto& [key, part] : parts_) {
      p.remaining += std::max<int64_t>(0, part.stop_at - part.map.progress());
    }
  }
  progress_fn_(p);
}

// A broker may report success and still not keep what it was given: a
// target topic whose retention deletes the copied (old-timestamped) records,
// or storage that loses them. The map is only true while the target holds
// every copy whose source record still exists, so the mirror looks once more
// before it reports success.
Status Mirror::CheckTargetKeptCopies() {
  // The saved maps, not parts_: a caught-up partition is never assigned,
  // and in a group only this process's partitions are in parts_.
  auto stored = LoadMaps();
  if (!stored.ok()) return stored.status().WithContext("target");
  for (const auto& [key, map] : *stored) {
    if (map.runs().empty() || !topics_.count(key.topic.value())) continue;
    LIFELINE_ASSIGN_OR_RETURN(auto src, WatermarksAcrossFailover(*source_admin_, key));
    const std::optional<Offset> first = map.FirstTargetKept(src.low);
    const std::string where =
        fmt::format("target {} [{}]", key.topic.value(), key.partition.value());
    LIFELINE_ASSIGN_OR_RETURN(auto dst, WatermarksAcrossFailover(*target_admin_, key));
    if (first && dst.low > *first) {
      return Status::Infra(fmt::format(
          "{}: the log now starts at offset {}, but the offset map puts {} copied record(s) "
          "before it, from offset {}, whose source records still exist from offset {}: the "
          "target deleted them (check the target topic's retention.ms, retention.bytes and "
          "cleanup.policy against the source's)",
          where, dst.low.value(), map.RecordsFromTarget(*first) - map.RecordsFromTarget(dst.low),
          first->value(), src.low.value()));
    }
    // Read committed, the end lags a commit until its markers are written.
    const auto deadline = Clock::now() + Millis(10000);
    while (dst.high.value() < map.target_next() && Clock::now() < deadline && !Interrupted()) {
      std::this_thread::sleep_for(Millis(200));
      LIFELINE_ASSIGN_OR_RETURN(dst, WatermarksAcrossFailover(*target_admin_, key));
    }
    if (dst.high.value() < map.target_next()) {
      return Status::Infra(fmt::format(
          "{}: the target lists the log's end at offset {}, but the offset map has copies up "
          "to offset {}: the target lost records it acknowledged, or misreports the end of "
          "its log (ListOffsets)",
          where, dst.high.value(), map.target_next()));
    }
  }
  return Status::Ok();
}

Result<MirrorSummary> Mirror::Execute() {
  started_ = last_report_ = Clock::now();
  summary_.name = options_.name;
  summary_.exactly_once = options_.exactly_once;
  LIFELINE_RETURN_IF_ERROR(Connect());
  LIFELINE_RETURN_IF_ERROR(OpenState());
  LIFELINE_RETURN_IF_ERROR(Discover());
  LIFELINE_RETURN_IF_ERROR(map_topic_.get());
  // Gaps found at start are recorded before anything else is copied.
  LIFELINE_RETURN_IF_ERROR(Persist(/*flush=*/true));
  LIFELINE_RETURN_IF_ERROR(Assign());

  auto batch_started = Clock::now();
  auto last_rescan = Clock::now();
  for (;;) {
    if (!options_.follow) {
      LIFELINE_ASSIGN_OR_RETURN(auto done, CaughtUp());
      if (done) break;
    }
    if (Interrupted()) break;
    bool idle = false;
    LIFELINE_RETURN_IF_ERROR(MirrorBatch(&idle));
    LIFELINE_RETURN_IF_ERROR(rebalance_error_);
    LIFELINE_RETURN_IF_ERROR(RedoFailedTransactions());
    LIFELINE_RETURN_IF_ERROR(RetakeOrphans());
    const bool full = sent_since_persist_ >= static_cast<int64_t>(options_.batch_records);
    if (full || idle || Clock::now() - batch_started > Millis(500)) {
      LIFELINE_RETURN_IF_ERROR(Persist(/*flush=*/idle));
      batch_started = Clock::now();
    }
    if (options_.follow &&
        Clock::now() - last_rescan > std::chrono::seconds(options_.rescan_seconds)) {
      last_rescan = Clock::now();
      const size_t before = parts_.size();
      LIFELINE_RETURN_IF_ERROR(Persist(/*flush=*/true));
      if (CountForeignTail()) LIFELINE_RETURN_IF_ERROR(Persist(/*flush=*/true));
      LIFELINE_RETURN_IF_ERROR(Discover());
      if (group_mode() || parts_.size() != before) LIFELINE_RETURN_IF_ERROR(Assign());
    }
    ReportProgress(false);
  }
  // Interrupted or caught up: make everything read so far durable, then
  // leave the group (which revokes, and so persists, once more).
  LIFELINE_RETURN_IF_ERROR(Persist(/*flush=*/true));
  if (CountForeignTail()) LIFELINE_RETURN_IF_ERROR(Persist(/*flush=*/true));
  AwaitFirstRebalance();
  (void)consumer_->Close();
  LIFELINE_RETURN_IF_ERROR(rebalance_error_);
  // An interrupted run stops short on purpose; the next run checks.
  if (!Interrupted()) LIFELINE_RETURN_IF_ERROR(CheckTargetKeptCopies());
  ReportProgress(true);

  summary_.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  summary_.partitions = released_;
  for (auto& [key, part] : parts_) {
    part.summary.runs = static_cast<int64_t>(part.map.runs().size());
    summary_.partitions.push_back(part.summary);
  }
  return summary_;
}

}  // namespace

std::string ReverseName(const std::string& name) { return name + ".reverse"; }

Result<MirrorSummary> Run(const MirrorOptions& options, const ProgressFn& progress) {
  if (!options.reverse) return Mirror(options, progress).Execute();
  LIFELINE_RETURN_IF_ERROR(ValidateMirrorName(options.name));
  auto forward = LoadMapsFromTopic(options.target, options.name);
  if (!forward.ok()) return forward.status().WithContext("target");
  if (forward->empty()) {
    return Status::Usage(fmt::format(
        "mirror {} has no offset map on the target, so nothing tells which records came from "
        "the source: run `lifeline mirror --name {}` before failing back",
        options.name, options.name));
  }
  MirrorOptions reversed = options;
  std::swap(reversed.source, reversed.target);
  reversed.name = ReverseName(options.name);
  reversed.reverse = false;
  return Mirror(reversed, progress, std::move(forward).value()).Execute();
}

nlohmann::ordered_json SummaryToJson(const MirrorSummary& s) {
  nlohmann::ordered_json j;
  j["name"] = s.name;
  j["exactly_once"] = s.exactly_once;
  j["topics"] = s.topics;
  j["created_topics"] = s.created_topics;
  j["copied_configs"] = s.copied_configs;
  j["warnings"] = s.warnings;
  j["records"] = s.records;
  j["bytes"] = s.bytes;
  j["seconds"] = s.seconds;
  j["records_per_second"] = s.seconds > 0 ? s.records / s.seconds : 0.0;
  auto& parts = j["partitions"];
  parts = nlohmann::ordered_json::array();
  for (const PartitionSummary& p : s.partitions) {
    nlohmann::ordered_json gaps = nlohmann::ordered_json::array();
    for (const Gap& g : p.gaps) gaps.push_back({{"from", g.from}, {"to", g.to}});
    parts.push_back({{"topic", p.topic},
                     {"partition", p.partition},
                     {"records", p.records},
                     {"bytes", p.bytes},
                     {"source_first", p.source_first},
                     {"source_last", p.source_last},
                     {"target_first", p.target_first},
                     {"target_last", p.target_last},
                     {"runs", p.runs},
                     {"gaps", gaps},
                     {"possible_duplicates", p.possible_duplicates},
                     {"already_present", p.already_present},
                     {"skipped", p.skipped}});
  }
  return j;
}

std::string SummaryJson(const MirrorSummary& s) { return SummaryToJson(s).dump(2) + "\n"; }

Result<MapSet> LoadMaps(const MapSource& from, const std::string& name) {
  LIFELINE_RETURN_IF_ERROR(ValidateMirrorName(name));
  if (!from.target.bootstrap().empty()) return LoadMapsFromTopic(from.target, name);
  const std::string path = from.state_dir + "/" + name + ".db";
  if (!std::filesystem::exists(path)) {
    return Status::Usage(fmt::format(
        "no local state for mirror {} at {}: pass --target HOST:PORT to read the offset map "
        "from the target cluster, or --state-dir where the mirror ran",
        name, path));
  }
  LIFELINE_ASSIGN_OR_RETURN(auto cache, MapCache::Open(path, false));
  return cache.Load();
}

Result<MapSet> LoadRequiredMaps(const MapSource& from, const std::string& name) {
  auto maps = LoadMaps(from, name);
  if (!maps.ok() || !maps->empty()) return maps;
  if (from.target.bootstrap().empty()) {
    return Status::Usage(fmt::format(
        "no offset map of mirror {} in {}/{}.db: check --name, or pass --target HOST:PORT to "
        "read the maps from the target cluster",
        name, from.state_dir, name));
  }
  auto names = MapNamesOnTopic(from.target);
  if (!names.ok()) return names.status().WithContext("target");
  if (names->empty()) {
    return Status::Usage(fmt::format(
        "no offset map of mirror {} on the target ({} holds none): run `lifeline mirror --name "
        "{}` first, or check --target",
        name, kOffsetMapTopic, name));
  }
  return Status::Usage(fmt::format(
      "no offset map of mirror {} on the target; {} holds maps of: {} (pass one with --name)", name,
      kOffsetMapTopic, fmt::join(*names, ", ")));
}

std::vector<std::string> MirrorArgs(const MirrorOptions& o, const TwoClusterInputs& clusters) {
  assert(o.rescan_seconds == MirrorOptions().rescan_seconds);
  const MirrorOptions defaults;
  std::vector<std::string> args = {"--source", clusters.source, "--target", clusters.target};
  for (const std::string& f : clusters.config_files) args.insert(args.end(), {"--config", f});
  for (const std::string& f : clusters.source_files)
    args.insert(args.end(), {"--source-config", f});
  for (const std::string& f : clusters.target_files)
    args.insert(args.end(), {"--target-config", f});
  for (const std::string& x : clusters.x_options) args.insert(args.end(), {"-X", x});
  args.insert(args.end(), {"--topics", o.topics, "--name", o.name, "--state-dir", o.state_dir});
  auto flag = [&](bool on, const char* name) {
    if (on) args.emplace_back(name);
  };
  flag(o.create_topics, "--create-topics");
  flag(o.exactly_once, "--exactly-once");
  flag(o.follow, "--follow");
  flag(o.allow_gaps, "--allow-gaps");
  flag(o.reverse, "--reverse");
  flag(!o.read_configs, "--skip-configs");
  if (o.batch_records != defaults.batch_records) {
    args.insert(args.end(), {"--batch", std::to_string(o.batch_records)});
  }
  if (o.max_records_per_second != defaults.max_records_per_second) {
    args.insert(args.end(), {"--max-records-per-second", std::to_string(o.max_records_per_second)});
  }
  return args;
}

}  // namespace lifeline::mirror
