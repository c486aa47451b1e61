// mirror against real Apache Kafka: records kept exactly, the offset map
// exact on contiguous, compacted and transactional sources and on targets
// with transaction markers, refusals, gaps, and crash recovery.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/signals.h"
#include "core/topic_reader.h"
#include "mirror/internal/groups.h"
#include "mirror/mirror.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

using mirror::MapSet;
using testing::ReadFile;
using testing::Spawn;
using testing::UniqueName;
using testing::WaitExit;

struct Copy {
  int64_t offset;
  Digest128 digest;
};

// Every readable record of one partition, in offset order.
std::vector<Copy> ReadPartition(const ClientConfig& config, const std::string& topic,
                                int32_t partition, bool read_committed = true) {
  std::vector<Copy> out;
  TopicReadOptions options;
  options.topic = topic;
  options.read_committed = read_committed;
  options.idle_timeout = Millis(15000);
  Status st = ReadTopic(config, options, [&](const Record& r) {
    if (r.partition.value() == partition) out.push_back({r.offset.value(), RecordDigest(r)});
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

std::vector<Digest128> DigestsFrom(const std::vector<Copy>& records, int64_t offset) {
  std::vector<Digest128> out;
  for (const Copy& c : records) {
    if (c.offset >= offset) out.push_back(c.digest);
  }
  return out;
}

// Waits up to `seconds` for a process told to stop; one that has not
// exited by then is SIGKILLed (-2): a stuck process fails the test, it does
// not hang it.
int WaitExitWithin(pid_t pid, int seconds) {
  if (pid <= 0) return -1;
  for (int i = 0; i < seconds * 10; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFSIGNALED(status)) {
        std::cout << "pid " << pid << " ended by signal " << WTERMSIG(status) << std::endl;
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -2;
}

// A `--summary-json` file, or null when it is missing or unreadable.
nlohmann::json ReadSummary(const std::string& path) {
  return nlohmann::json::parse(ReadFile(path), nullptr, /*allow_exceptions=*/false);
}

// A live member of `options.group_id`, subscribed to `topic` and holding
// an assignment (or nullptr when it never got one).
std::unique_ptr<Consumer> JoinGroup(const ClientConfig& config, const ConsumerOptions& options,
                                    const std::string& topic) {
  auto consumer = Consumer::Create(config, options);
  if (!consumer.ok() || !(*consumer)->Subscribe({topic}).ok()) return nullptr;
  for (int i = 0; i < 50; ++i) {
    if (!(*consumer)->Poll(10, Millis(100)).ok()) return nullptr;
    auto a = (*consumer)->Assignment();
    if (a.ok() && !a->empty()) return std::move(consumer).value();
  }
  return nullptr;
}

class MirrorIntegration : public testing::RealKafkaTest {
 protected:
  void SetUp() override {
    RealKafkaTest::SetUp();
    if (HasFatalFailure()) return;
    state_dir_ = ::testing::TempDir() + "/" + UniqueName("mirror-state");
    auto s = Admin::Create(source_);
    auto t = Admin::Create(target_);
    ASSERT_TRUE(s.ok() && t.ok());
    source_admin_ = std::move(s).value();
    target_admin_ = std::move(t).value();
  }

  mirror::MirrorOptions Options(const std::string& topic, const std::string& name) {
    mirror::MirrorOptions o;
    o.source = source_;
    o.target = target_;
    o.topics = topic;
    o.name = name;
    o.create_topics = true;
    o.state_dir = state_dir_;
    return o;
  }

  void Produce(const std::string& topic, int32_t partition, int n, const std::string& stem,
               std::optional<std::string> fixed_key = std::nullopt) {
    auto producer = Producer::Create(source_, {});
    ASSERT_TRUE(producer.ok());
    for (int i = 0; i < n; ++i) {
      Record r;
      r.topic = Topic(topic);
      r.partition = Partition(partition);
      r.key = fixed_key ? *fixed_key : stem + "-key-" + std::to_string(i % 7);
      r.value = stem + "-" + std::to_string(i);
      r.headers = {{"h", std::to_string(i)}, {"h", "repeat"}};
      ASSERT_TRUE((*producer)->Send(r).ok());
    }
    ASSERT_TRUE((*producer)->Flush(Millis(15000)).ok());
  }

  // `lifeline mirror` arguments for one topic, creating target topics.
  std::vector<std::string> MirrorArgs(const std::string& topic, const std::string& name,
                                      const std::string& state_dir) {
    return {"mirror",
            "--source",
            source_.bootstrap(),
            "--target",
            target_.bootstrap(),
            "--topics",
            topic,
            "--name",
            name,
            "--create-topics",
            "--state-dir",
            state_dir};
  }

  // Waits up to 30 s for the map `name` on the target to show each listed
  // partition of `topic` at its progress; false if it never did.
  bool AwaitMapProgress(const std::string& name, const std::string& topic,
                        const std::map<int32_t, int64_t>& progress) {
    for (int i = 0; i < 300; ++i) {
      std::this_thread::sleep_for(Millis(100));
      auto maps = mirror::LoadMapsFromTopic(target_, name);
      if (!maps.ok()) continue;
      bool all = true;
      for (const auto& [p, want] : progress) {
        auto it = maps->find({Topic(topic), Partition(p)});
        all = all && it != maps->end() && it->second.progress() == want;
      }
      if (all) return true;
    }
    return false;
  }

  mirror::GroupSyncOptions SyncOptions(const std::string& name, const std::string& group) {
    mirror::GroupSyncOptions o;
    o.source = source_;
    o.target = target_;
    o.name = name;
    o.groups = {group};
    return o;
  }

  // For every committed position C from the log start to the end, a group
  // moved to T(C) reads exactly the source records at offsets >= C.
  void ExpectExhaustiveTranslation(const std::string& topic, int32_t partition,
                                   const std::string& name) {
    auto maps = mirror::LoadMapsFromTopic(target_, name);
    ASSERT_TRUE(maps.ok()) << maps.status().message();
    const TopicPartition key{Topic(topic), Partition(partition)};
    ASSERT_TRUE(maps->count(key));
    const mirror::PartitionMap& map = maps->at(key);
    std::vector<Copy> src = ReadPartition(source_, topic, partition);
    std::vector<Copy> dst = ReadPartition(target_, topic, partition);
    auto wm = source_admin_->Watermarks({Topic(topic), Partition(partition)}, Millis(10000));
    ASSERT_TRUE(wm.ok());
    ASSERT_EQ(map.progress(), wm->high.value());
    for (int64_t c = wm->low.value(); c <= wm->high.value(); ++c) {
      mirror::Translation t = map.Translate(Offset(c));
      ASSERT_EQ(t.kind, mirror::Translation::Kind::kExact) << "C=" << c;
      ASSERT_EQ(DigestsFrom(dst, t.target_offset.value()), DigestsFrom(src, c))
          << "C=" << c << " T(C)=" << t.target_offset;
    }
    EXPECT_EQ(map.Translate(Offset(wm->high.value() + 1)).kind,
              mirror::Translation::Kind::kNotYetMirrored);
  }

  // Replaces a source topic's configs (AlterConfigs: every config not
  // given returns to its default).
  void SetTopicConfigs(const std::string& topic,
                       const std::vector<std::pair<std::string, std::string>>& configs) {
    rd_kafka_t* rk = source_admin_->handle();
    rd_kafka_ConfigResource_t* res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    for (const auto& [k, v] : configs) {
      ASSERT_EQ(rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str()),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    KafkaQueue q(rd_kafka_queue_new(rk));
    rd_kafka_AlterConfigs(rk, &res, 1, nullptr, q.get());
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q.get(), 15000);
    rd_kafka_ConfigResource_destroy(res);
    ASSERT_NE(ev, nullptr) << "AlterConfigs timed out";
    std::string error = rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev) : "";
    size_t n = 0;
    const rd_kafka_ConfigResource_t** out =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    for (size_t i = 0; i < n && error.empty(); ++i) {
      if (rd_kafka_ConfigResource_error(out[i]))
        error = rd_kafka_ConfigResource_error_string(out[i]);
    }
    rd_kafka_event_destroy(ev);
    ASSERT_EQ(error, "") << "AlterConfigs " << topic;
  }

  std::string state_dir_;
  std::unique_ptr<Admin> source_admin_;
  std::unique_ptr<Admin> target_admin_;
};

// librdkafka 2.0.2 aborts when a cooperative-sticky consumer is destroyed
// before its first rebalance (confluentinc/librdkafka#4312); a mirror run
// with nothing new to copy used to get there and die with SIGABRT.
TEST_F(MirrorIntegration, RunsWithNothingToCopyExitCleanly) {
  const std::string topic = UniqueName("mirror.idle");
  const std::string name = UniqueName("idle").substr(0, 40);
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 5, "idle");
  std::filesystem::create_directories(state_dir_);
  const std::string log = state_dir_ + "/idle.log";
  for (int run = 0; run < 3; ++run) {
    EXPECT_EQ(WaitExit(Spawn(MirrorArgs(topic, name, state_dir_), log)), 0)
        << "run " << run << ": " << ReadFile(log);
  }
}

// A target that deletes what it acknowledged (here: a pre-made target topic
// whose 1-s retention drops the copied 2023-dated records) makes the map
// untrue while the source still holds the originals. The mirror must say
// so instead of exiting 0 (Tansu's defaults did this, issue 14).
TEST_F(MirrorIntegration, FailsWhenTheTargetDeletedCopiesTheSourceStillHolds) {
  const std::string topic = UniqueName("mirror.vanish");
  ASSERT_TRUE(
      source_admin_->CreateTopic({topic, 1, -1, {{"retention.ms", "-1"}}}, Millis(15000)).ok());
  ASSERT_TRUE(
      target_admin_->CreateTopic({topic, 1, -1, {{"retention.ms", "1000"}}}, Millis(15000)).ok());
  {
    auto producer = Producer::Create(source_, {});
    ASSERT_TRUE(producer.ok());
    for (int i = 0; i < 20; ++i) {
      Record r;
      r.topic = Topic(topic);
      r.partition = Partition(0);
      r.value = "old-" + std::to_string(i);
      r.timestamp = TimestampMs(1700000000000 + i);
      ASSERT_TRUE((*producer)->Send(r).ok());
    }
    ASSERT_TRUE((*producer)->Flush(Millis(15000)).ok());
  }
  const std::string name = UniqueName("vanish").substr(0, 40);
  const TopicPartition tp{Topic(topic), Partition(0)};
  // The first run may already see the deletion, or finish before it.
  auto first = mirror::Run(Options(topic, name));
  if (!first.ok()) {
    EXPECT_NE(first.status().message().find("the target deleted them"), std::string::npos)
        << first.status().message();
  }
  for (int i = 0; i < 300; ++i) {
    auto wm = target_admin_->Watermarks(tp, Millis(5000));
    ASSERT_TRUE(wm.ok()) << wm.status().message();
    if (wm->low == Offset(20)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(target_admin_->Watermarks(tp, Millis(5000))->low, Offset(20))
      << "the target's retention did not delete the copies within 30 s";
  auto again = mirror::Run(Options(topic, name));
  ASSERT_FALSE(again.ok()) << "a mirror whose copies are gone exited 0";
  EXPECT_EQ(again.status().code(), ExitCode::kInfrastructure);
  EXPECT_NE(
      again.status().message().find("target " + topic +
                                    " [0]: the log now starts at offset 20, but the offset map "
                                    "puts 20 copied record(s) before it, from offset 0"),
      std::string::npos)
      << again.status().message();
}

TEST_F(MirrorIntegration, CopiesAContiguousTopicExactlyWithOneRunPerPartition) {
  const std::string topic = UniqueName("contiguous");
  ASSERT_TRUE(
      source_admin_
          ->CreateTopic({topic, 3, -1, {{"retention.ms", "-1"}, {"segment.bytes", "1048576"}}},
                        Millis(15000))
          .ok());
  for (int p = 0; p < 3; ++p) Produce(topic, p, 50 + p, "c");
  auto summary = mirror::Run(Options(topic, UniqueName("m")));
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->records, 50 + 51 + 52);
  ASSERT_EQ(summary->created_topics, std::vector<std::string>{topic});
  EXPECT_EQ(summary->copied_configs[topic]["retention.ms"], "-1");
  EXPECT_EQ(summary->copied_configs[topic]["segment.bytes"], "1048576");
  for (int p = 0; p < 3; ++p) {
    std::vector<Copy> src = ReadPartition(source_, topic, p);
    std::vector<Copy> dst = ReadPartition(target_, topic, p);
    EXPECT_EQ(DigestsFrom(dst, 0), DigestsFrom(src, 0)) << "partition " << p;
  }
  for (const auto& part : summary->partitions) EXPECT_EQ(part.runs, 1) << part.partition;
  ExpectExhaustiveTranslation(topic, 1, summary->name);
  // The source group of the mirror shows its progress, for lag monitoring.
  auto progress =
      source_admin_->ListGroupOffsets("_lifeline.mirror." + summary->name, {}, Millis(15000));
  ASSERT_TRUE(progress.ok()) << progress.status().message();
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(progress->at({Topic(topic), Partition(p)}), Offset(50 + p)) << "partition " << p;
  }

  auto configs = target_admin_->DescribeTopicConfigs(topic, Millis(10000));
  ASSERT_TRUE(configs.ok());
  EXPECT_EQ(configs->at("segment.bytes").value, "1048576");
}

TEST_F(MirrorIntegration, SkipsAbortedTransactionsAndTranslatesAcrossTheirGaps) {
  const std::string topic = UniqueName("txn-source");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  ProducerOptions popts;
  popts.transactional_id = UniqueName("txn");
  auto producer = Producer::Create(source_, popts);
  ASSERT_TRUE(producer.ok());
  auto& p = **producer;
  ASSERT_TRUE(p.InitTransactions(Millis(30000)).ok());
  auto send = [&](const std::string& v) {
    Record r;
    r.topic = Topic(topic);
    r.partition = Partition(0);
    r.key = "k";
    r.value = v;
    ASSERT_TRUE(p.Send(r).ok());
  };
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(p.BeginTransaction().ok());
    send("committed-" + std::to_string(round) + "a");
    send("committed-" + std::to_string(round) + "b");
    ASSERT_TRUE(p.CommitTransaction(Millis(30000)).ok());
    ASSERT_TRUE(p.BeginTransaction().ok());
    send("aborted-" + std::to_string(round));
    ASSERT_TRUE(p.Flush(Millis(10000)).ok());
    ASSERT_TRUE(p.AbortTransaction(Millis(30000)).ok());
  }
  const std::string name = UniqueName("m");
  auto summary = mirror::Run(Options(topic, name));
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->records, 6);
  std::vector<Copy> dst = ReadPartition(target_, topic, 0, /*read_committed=*/false);
  EXPECT_EQ(dst.size(), 6u) << "aborted records must never reach the target";
  EXPECT_EQ(summary->partitions[0].runs, 3);
  ExpectExhaustiveTranslation(topic, 0, name);
}

TEST_F(MirrorIntegration, TranslatesExactlyWhenTheTargetHoldsTransactionMarkers) {
  const std::string topic = UniqueName("eos");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 40, "e");
  Produce(topic, 1, 25, "e");
  const std::string name = UniqueName("m");
  mirror::MirrorOptions options = Options(topic, name);
  options.exactly_once = true;
  options.batch_records = 7;  // many transactions: a marker after every batch
  auto summary = mirror::Run(options);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->records, 65);
  for (const auto& part : summary->partitions) {
    EXPECT_GT(part.runs, 1) << "markers split the target side into runs";
  }
  ExpectExhaustiveTranslation(topic, 0, name);
  ExpectExhaustiveTranslation(topic, 1, name);
  // The mirror's progress is also the transactional offset of its group.
  auto progress = target_admin_->ListGroupOffsets("_lifeline.mirror." + name, {}, Millis(15000));
  ASSERT_TRUE(progress.ok()) << progress.status().message();
  EXPECT_EQ(progress->at({Topic(topic), Partition(0)}), Offset(40));
}

// A partition with nothing to copy — empty, or holding only an aborted
// transaction and its marker — is mapped by both delivery modes, so a group
// committed anywhere in [log start, end] on it can be moved.
TEST_F(MirrorIntegration, BothDeliveryModesMapPartitionsWithNothingToCopy) {
  for (const bool exactly_once : {true, false}) {
    SCOPED_TRACE(exactly_once ? "exactly-once" : "at-least-once");
    const std::string topic = UniqueName("nothing");
    ASSERT_TRUE(source_admin_->CreateTopic({topic, 3, -1, {}}, Millis(15000)).ok());
    Produce(topic, 0, 5, "n");  // partition 1 stays empty
    ProducerOptions popts;
    popts.transactional_id = UniqueName("aborter");
    auto producer = Producer::Create(source_, popts);
    ASSERT_TRUE(producer.ok());
    ASSERT_TRUE((*producer)->InitTransactions(Millis(30000)).ok());
    ASSERT_TRUE((*producer)->BeginTransaction().ok());
    for (int i = 0; i < 3; ++i) {
      Record r;
      r.topic = Topic(topic);
      r.partition = Partition(2);
      r.value = "aborted-" + std::to_string(i);
      ASSERT_TRUE((*producer)->Send(r).ok());
    }
    ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
    ASSERT_TRUE((*producer)->AbortTransaction(Millis(30000)).ok());
    producer->reset();

    const std::string name = UniqueName("m");
    mirror::MirrorOptions options = Options(topic, name);
    options.exactly_once = exactly_once;
    auto summary = mirror::Run(options);
    ASSERT_TRUE(summary.ok()) << summary.status().message();
    EXPECT_EQ(summary->records, 5);
    for (int p = 0; p < 3; ++p) ExpectExhaustiveTranslation(topic, p, name);

    // A group committed at the start of the empty partition and at both
    // ends of the aborted-only one moves.
    const std::string group = UniqueName("app");
    const TopicPartition p1{Topic(topic), Partition(1)}, p2{Topic(topic), Partition(2)};
    auto wm2 = source_admin_->Watermarks(p2, Millis(10000));
    ASSERT_TRUE(wm2.ok());
    ASSERT_EQ(wm2->high.value(), 4) << "three aborted records and the abort marker";
    for (int64_t at : {int64_t{0}, wm2->high.value()}) {
      ASSERT_TRUE(source_admin_
                      ->AlterGroupOffsets(group, {{p1, Offset(0)}, {p2, Offset(at)}}, Millis(15000))
                      .ok());
      mirror::GroupSyncOptions sync = SyncOptions(name, group);
      sync.allow_rewind = true;
      auto plan = mirror::SyncGroups(sync);
      ASSERT_TRUE(plan.ok()) << plan.status().message();
      ASSERT_EQ(plan->size(), 1u);
      EXPECT_TRUE((*plan)[0].refusal.empty())
          << "committed at " << at << ": " << (*plan)[0].refusal;
      EXPECT_TRUE((*plan)[0].applied);
    }
  }
}

TEST_F(MirrorIntegration, CopiesACompactedTopicWithRealGapsAndTombstones) {
  const std::string topic = UniqueName("compacted");
  ASSERT_TRUE(source_admin_
                  ->CreateTopic({topic,
                                 1,
                                 -1,
                                 {{"cleanup.policy", "compact"},
                                  {"segment.ms", "100"},
                                  {"min.cleanable.dirty.ratio", "0.01"},
                                  {"min.compaction.lag.ms", "0"},
                                  {"delete.retention.ms", "86400000"}}},
                                Millis(15000))
                  .ok());
  auto producer = Producer::Create(source_, {});
  ASSERT_TRUE(producer.ok());
  for (int round = 0; round < 6; ++round) {
    // Each round: one key written once (it survives), four keys overwritten
    // (only their newest copy survives), so the cleaner leaves gaps.
    for (int k = 0; k < 5; ++k) {
      Record r;
      r.topic = Topic(topic);
      r.partition = Partition(0);
      r.key = k == 0 ? "once-" + std::to_string(round) : "hot-" + std::to_string(k);
      r.value = "v" + std::to_string(round);
      if (round == 4 && k == 0) {
        r.key = "once-1";
        r.value.reset();  // a tombstone for an earlier key
      }
      ASSERT_TRUE((*producer)->Send(r).ok());
    }
    ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
    std::this_thread::sleep_for(Millis(250));  // segment.ms: the next write rolls a segment
  }
  // Wait for the cleaner to leave gaps in the offsets.
  std::vector<Copy> src;
  for (int i = 0; i < 60; ++i) {
    src = ReadPartition(source_, topic, 0);
    if (src.size() < 30) break;
    std::this_thread::sleep_for(Millis(500));
    Record poke;  // the active segment is never cleaned; keep rolling
    poke.topic = Topic(topic);
    poke.partition = Partition(0);
    poke.key = "hot-1";
    poke.value = "poke";
    ASSERT_TRUE((*producer)->Send(poke).ok());
    ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
  }
  ASSERT_LT(src.size(), 30u) << "the log cleaner did not compact the topic in time";
  // Freeze the log: with a day's compaction lag no record here is cleanable
  // any more, on the source nor on the target (which gets the configs), so
  // a cleaner pass between the copy and the comparison cannot change one
  // side only (seen once in a clean-clone run).
  ASSERT_NO_FATAL_FAILURE(SetTopicConfigs(topic, {{"cleanup.policy", "compact"},
                                                  {"segment.ms", "100"},
                                                  {"min.cleanable.dirty.ratio", "0.01"},
                                                  {"min.compaction.lag.ms", "86400000"},
                                                  {"delete.retention.ms", "86400000"}}));
  for (int i = 0; i < 40; ++i) {  // a cleaner pass already under way ends
    std::this_thread::sleep_for(Millis(500));
    std::vector<Copy> again = ReadPartition(source_, topic, 0);
    if (DigestsFrom(again, 0) == DigestsFrom(src, 0)) break;
    src = std::move(again);
  }

  const std::string name = UniqueName("m");
  auto summary = mirror::Run(Options(topic, name));
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_GT(summary->partitions[0].runs, 1);
  EXPECT_EQ(summary->copied_configs[topic]["cleanup.policy"], "compact");
  std::vector<Copy> dst = ReadPartition(target_, topic, 0);
  src = ReadPartition(source_, topic, 0);
  EXPECT_EQ(DigestsFrom(dst, 0), DigestsFrom(src, 0));
  bool tombstone = false;
  TopicReadOptions read;
  read.topic = topic;
  ASSERT_TRUE(ReadTopic(target_, read, [&](const Record& r) {
                tombstone = tombstone || (!r.value && r.key == "once-1");
                return Status::Ok();
              }).ok());
  EXPECT_TRUE(tombstone) << "the tombstone must be mirrored as a tombstone";
  ExpectExhaustiveTranslation(topic, 0, name);
}

TEST_F(MirrorIntegration, StopsAtTheLastStableOffsetAndCopiesAnOpenTransactionOnceItCommits) {
  const std::string topic = UniqueName("open-txn");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 5, "committed");
  ProducerOptions popts;
  popts.transactional_id = UniqueName("slow");
  auto producer = Producer::Create(source_, popts);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->InitTransactions(Millis(30000)).ok());
  ASSERT_TRUE((*producer)->BeginTransaction().ok());
  Record r;
  r.topic = Topic(topic);
  r.partition = Partition(0);
  r.value = "in an open transaction";
  ASSERT_TRUE((*producer)->Send(r).ok());
  ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());  // written, not yet committed

  const std::string name = UniqueName("m");
  auto start = std::chrono::steady_clock::now();
  auto first = mirror::Run(Options(topic, name));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->records, 5) << "nothing of the open transaction is copied";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20))
      << "an open transaction must not hold --until-caught-up";

  ASSERT_TRUE((*producer)->CommitTransaction(Millis(30000)).ok());
  auto second = mirror::Run(Options(topic, name));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->records, 1) << "the committed transaction is copied by the next run";
  EXPECT_EQ(DigestsFrom(ReadPartition(target_, topic, 0), 0),
            DigestsFrom(ReadPartition(source_, topic, 0), 0));
  ExpectExhaustiveTranslation(topic, 0, name);
}

TEST_F(MirrorIntegration, StopsAtRecordsDeletedBeforeTheyWereMirroredUnlessAllowed) {
  const std::string topic = UniqueName("gap");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 10, "g");
  const std::string name = UniqueName("m");
  ASSERT_TRUE(mirror::Run(Options(topic, name)).ok());
  Produce(topic, 0, 10, "g2");
  const TopicPartition tp{Topic(topic), Partition(0)};
  ASSERT_TRUE(source_admin_->DeleteRecords(tp, Offset(15), Millis(15000)).ok());

  auto refused = mirror::Run(Options(topic, name));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ExitCode::kCheckFailed);
  EXPECT_NE(refused.status().message().find("10..14"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find(topic), std::string::npos);

  mirror::MirrorOptions allow = Options(topic, name);
  allow.allow_gaps = true;
  auto summary = mirror::Run(allow);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->records, 5);
  ASSERT_EQ(summary->partitions[0].gaps.size(), 1u);
  EXPECT_EQ(summary->partitions[0].gaps[0], (mirror::Gap{10, 15}));
  auto maps = mirror::LoadMapsFromTopic(target_, name);
  ASSERT_TRUE(maps.ok());
  EXPECT_EQ(maps->at({Topic(topic), Partition(0)}).gaps().size(), 1u);
}

TEST_F(MirrorIntegration, RefusesATargetTopicWithFewerPartitions) {
  const std::string topic = UniqueName("narrow");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 4, -1, {}}, Millis(15000)).ok());
  ASSERT_TRUE(target_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  auto result = mirror::Run(Options(topic, UniqueName("m")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ExitCode::kUsage);
  EXPECT_NE(result.status().message().find("has 2 partitions, source has 4"), std::string::npos)
      << result.status().message();
}

TEST_F(MirrorIntegration, RefusesABadRegexAndAnUnmatchedPattern) {
  auto bad = mirror::Run(Options("(unclosed", UniqueName("m")));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ExitCode::kUsage);
  EXPECT_NE(bad.status().message().find("not a valid regular expression"), std::string::npos);
  auto none = mirror::Run(Options("no\\.such\\.topic\\..*", UniqueName("m")));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no source topic matches"), std::string::npos);
}

TEST_F(MirrorIntegration, NeverMirrorsInternalTopics) {
  mirror::MirrorOptions options = Options("_lifeline\\..*|__.*", UniqueName("m"));
  auto result = mirror::Run(options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("no source topic matches"), std::string::npos);
}

TEST_F(MirrorIntegration, UnreachableSourceIsAnInfrastructureErrorWithinABound) {
  mirror::MirrorOptions options = Options("x", UniqueName("m"));
  options.source = testing::ConfigFor("127.0.0.1:1");
  auto start = std::chrono::steady_clock::now();
  auto result = mirror::Run(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ExitCode::kInfrastructure);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // Nothing is left behind: no local state (the offset-map topic on the
  // target is created only after both clusters answered, like the state).
  EXPECT_FALSE(std::filesystem::exists(state_dir_)) << state_dir_;
  // Nor when no source topic matches.
  auto unmatched = mirror::Run(Options(UniqueName("no-such-topic"), UniqueName("m")));
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.status().code(), ExitCode::kUsage);
  EXPECT_FALSE(std::filesystem::exists(state_dir_)) << state_dir_;
}

TEST_F(MirrorIntegration, GroupSyncMovesAGroupExactlyAndRefusesActiveMembers) {
  const std::string topic = UniqueName("groups");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 30, "s");
  Produce(topic, 1, 30, "s");
  const std::string name = UniqueName("m");
  ASSERT_TRUE(mirror::Run(Options(topic, name)).ok());

  const std::string group = UniqueName("app");
  const TopicPartition p0{Topic(topic), Partition(0)}, p1{Topic(topic), Partition(1)};
  ASSERT_TRUE(
      source_admin_->AlterGroupOffsets(group, {{p0, Offset(12)}, {p1, Offset(30)}}, Millis(15000))
          .ok());
  mirror::GroupSyncOptions sync = SyncOptions(name, group);
  sync.dry_run = true;
  auto plan = mirror::SyncGroups(sync);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_TRUE((*plan)[0].refusal.empty()) << (*plan)[0].refusal;
  EXPECT_FALSE((*plan)[0].applied);
  for (const auto& p : (*plan)[0].partitions) EXPECT_EQ(p.source_lag, p.target_lag);
  auto untouched = target_admin_->ListGroupOffsets(group, {}, Millis(15000));
  ASSERT_TRUE(untouched.ok());
  EXPECT_TRUE(untouched->empty()) << "a dry run changes nothing";

  sync.dry_run = false;
  auto applied = mirror::SyncGroups(sync);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_TRUE((*applied)[0].applied);
  // The moved group reads exactly what it had left on the source.
  auto moved = target_admin_->ListGroupOffsets(group, {}, Millis(15000));
  ASSERT_TRUE(moved.ok());
  std::vector<Copy> src0 = ReadPartition(source_, topic, 0);
  std::vector<Copy> dst0 = ReadPartition(target_, topic, 0);
  EXPECT_EQ(DigestsFrom(dst0, moved->at(p0).value()), DigestsFrom(src0, 12));
  std::vector<Copy> dst1 = ReadPartition(target_, topic, 1);
  EXPECT_TRUE(DigestsFrom(dst1, moved->at(p1).value()).empty());

  // A member on the target blocks the move, and is named.
  ConsumerOptions copts;
  copts.group_id = group;
  copts.client_id = "still-running-app";
  std::unique_ptr<Consumer> consumer = JoinGroup(target_, copts, topic);
  ASSERT_TRUE(consumer);
  auto refused = mirror::SyncGroups(sync);
  ASSERT_TRUE(refused.ok()) << refused.status().message();
  EXPECT_NE((*refused)[0].refusal.find("still-running-app"), std::string::npos)
      << (*refused)[0].refusal;
  EXPECT_FALSE((*refused)[0].applied);

  // So does a member still consuming on the source: its offsets are stale.
  ASSERT_TRUE(consumer->Close().ok());
  std::unique_ptr<Consumer> source_consumer = JoinGroup(source_, copts, topic);
  ASSERT_TRUE(source_consumer);
  auto stale = mirror::SyncGroups(sync);
  ASSERT_TRUE(stale.ok()) << stale.status().message();
  EXPECT_NE((*stale)[0].refusal.find("active member(s) on the source"), std::string::npos)
      << (*stale)[0].refusal;
}

TEST_F(MirrorIntegration, FollowPicksUpNewRecordsPartitionsAndTopicsUntilInterrupted) {
  const std::string stem = UniqueName("follow");
  const std::string first = stem + ".a", second = stem + ".b";
  ASSERT_TRUE(source_admin_->CreateTopic({first, 1, -1, {}}, Millis(15000)).ok());
  Produce(first, 0, 10, "before");
  mirror::MirrorOptions options = Options(stem + "\\..*", UniqueName("m"));
  options.follow = true;
  options.rescan_seconds = 1;
  Result<mirror::MirrorSummary> result = Status::Infra("not run");
  std::thread runner([&] { result = mirror::Run(options); });

  auto target_count = [&](const std::string& topic, int32_t partition) -> int64_t {
    auto wm = target_admin_->Watermarks({Topic(topic), Partition(partition)}, Millis(5000));
    return wm.ok() ? wm->high.value() : -1;
  };
  auto wait_for = [&](const std::string& topic, int32_t partition, int64_t n) {
    for (int i = 0; i < 600 && target_count(topic, partition) < n; ++i) {
      std::this_thread::sleep_for(Millis(100));
    }
    return target_count(topic, partition) >= n;
  };
  EXPECT_TRUE(wait_for(first, 0, 10));
  Produce(first, 0, 5, "after");
  EXPECT_TRUE(wait_for(first, 0, 15));
  ASSERT_TRUE(source_admin_->CreatePartitions(first, 2, Millis(15000)).ok());
  Produce(first, 1, 7, "new-partition");
  EXPECT_TRUE(wait_for(first, 1, 7));
  ASSERT_TRUE(source_admin_->CreateTopic({second, 1, -1, {}}, Millis(15000)).ok());
  Produce(second, 0, 3, "new-topic");
  EXPECT_TRUE(wait_for(second, 0, 3));

  RequestInterrupt();
  runner.join();
  ClearInterrupted();
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->records, 25);
  EXPECT_EQ(DigestsFrom(ReadPartition(target_, first, 1), 0),
            DigestsFrom(ReadPartition(source_, first, 1), 0));
  EXPECT_EQ(DigestsFrom(ReadPartition(target_, second, 0), 0),
            DigestsFrom(ReadPartition(source_, second, 0), 0));
}

TEST_F(MirrorIntegration, FailsBackAToBToAWithoutLosingOrRereadingAnyRecord) {
  const std::string topic = UniqueName("failback");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 30, "a");
  Produce(topic, 1, 30, "a");
  const std::string name = UniqueName("m");
  mirror::MirrorOptions forward = Options(topic, name);
  forward.exactly_once = true;  // markers on B make the offsets differ
  forward.batch_records = 8;
  ASSERT_TRUE(mirror::Run(forward).ok());

  // The application's group moves A -> B.
  const std::string group = UniqueName("app");
  const TopicPartition p0{Topic(topic), Partition(0)}, p1{Topic(topic), Partition(1)};
  ASSERT_TRUE(
      source_admin_->AlterGroupOffsets(group, {{p0, Offset(12)}, {p1, Offset(30)}}, Millis(15000))
          .ok());
  mirror::GroupSyncOptions sync = SyncOptions(name, group);
  auto moved = mirror::SyncGroups(sync);
  ASSERT_TRUE(moved.ok() && (*moved)[0].applied) << (moved.ok() ? (*moved)[0].refusal : "");

  // After the cutover, producers write to B and the group reads some of it.
  auto b_producer = Producer::Create(target_, {});
  ASSERT_TRUE(b_producer.ok());
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 20; ++i) {
      Record r;
      r.topic = Topic(topic);
      r.partition = Partition(p);
      r.key = "new";
      r.value = "b-" + std::to_string(p) + "-" + std::to_string(i);
      ASSERT_TRUE((*b_producer)->Send(r).ok());
    }
  }
  ASSERT_TRUE((*b_producer)->Flush(Millis(15000)).ok());
  std::vector<Copy> b0 = ReadPartition(target_, topic, 0);
  std::vector<Copy> b1 = ReadPartition(target_, topic, 1);
  ASSERT_EQ(b0.size(), 50u);
  ASSERT_EQ(b1.size(), 50u);
  // On B the group has read up to the 5th new record on p0 and 10th on p1.
  const int64_t c0 = b0[30 + 5].offset, c1 = b1[30 + 10].offset;
  ASSERT_TRUE(
      target_admin_->AlterGroupOffsets(group, {{p0, Offset(c0)}, {p1, Offset(c1)}}, Millis(15000))
          .ok());

  // Failback: B -> A copies only the new records, then the group moves back.
  mirror::MirrorOptions back = Options(topic, name);
  back.reverse = true;
  auto reversed = mirror::Run(back);
  ASSERT_TRUE(reversed.ok()) << reversed.status().message();
  EXPECT_EQ(reversed->records, 40);
  for (const auto& part : reversed->partitions) EXPECT_EQ(part.already_present, 30);
  std::vector<Copy> a0 = ReadPartition(source_, topic, 0);
  std::vector<Copy> a1 = ReadPartition(source_, topic, 1);
  EXPECT_EQ(DigestsFrom(a0, 0), DigestsFrom(b0, 0)) << "A and B tell the same story";
  EXPECT_EQ(DigestsFrom(a1, 0), DigestsFrom(b1, 0));

  sync.reverse = true;
  auto back_sync = mirror::SyncGroups(sync);
  ASSERT_TRUE(back_sync.ok()) << back_sync.status().message();
  ASSERT_TRUE((*back_sync)[0].applied) << (*back_sync)[0].refusal;
  auto on_a = source_admin_->ListGroupOffsets(group, {}, Millis(15000));
  ASSERT_TRUE(on_a.ok());
  EXPECT_EQ(DigestsFrom(a0, on_a->at(p0).value()), DigestsFrom(b0, c0))
      << "the group reads on A exactly what it had left on B";
  EXPECT_EQ(DigestsFrom(a1, on_a->at(p1).value()), DigestsFrom(b1, c1));
  EXPECT_EQ(DigestsFrom(a0, on_a->at(p0).value()).size(), 15u);
}

TEST_F(MirrorIntegration, TwoProcessesWithOneNameShareThePartitionsAndCopyEachRecordOnce) {
  const std::string topic = UniqueName("shared");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 4, -1, {}}, Millis(15000)).ok());
  // 20 s of work at the rate below: long enough for the second process to
  // join and take partitions (a cooperative rebalance takes a few seconds).
  for (int p = 0; p < 4; ++p) Produce(topic, p, 5000, "s" + std::to_string(p));
  const std::string name = UniqueName("m");
  auto args = [&](int i) {
    std::vector<std::string> a = MirrorArgs(topic, name, state_dir_ + "-" + std::to_string(i));
    a.insert(a.end(), {"--max-records-per-second", "1000", "--summary-json",
                       state_dir_ + "-" + std::to_string(i) + ".json"});
    return a;
  };
  const std::string log = state_dir_ + ".log";
  pid_t first = Spawn(args(1), log);
  std::this_thread::sleep_for(Millis(1500));
  pid_t second = Spawn(args(2), log);
  ASSERT_EQ(WaitExit(first), 0) << "see " << log;
  ASSERT_EQ(WaitExit(second), 0) << "see " << log;

  // Each process held some partitions (whether or not they still had work
  // left when they arrived), and together they copied each record once.
  int64_t copied[3] = {0, 0, 0};
  std::set<int> held[3];
  for (int i = 1; i <= 2; ++i) {
    nlohmann::json summary = ReadSummary(state_dir_ + "-" + std::to_string(i) + ".json");
    ASSERT_TRUE(summary.is_object()) << "process " << i << " wrote no summary";
    copied[i] = summary["records"].get<int64_t>();
    for (const auto& part : summary["partitions"]) held[i].insert(part["partition"].get<int>());
  }
  EXPECT_FALSE(held[1].empty()) << "the first process held no partition";
  EXPECT_FALSE(held[2].empty()) << "the second process held no partition";
  EXPECT_EQ(copied[1] + copied[2], 20000) << "each record copied exactly once";
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(DigestsFrom(ReadPartition(target_, topic, p), 0),
              DigestsFrom(ReadPartition(source_, topic, p), 0))
        << "partition " << p;
  }
  ExpectExhaustiveTranslation(topic, 2, name);
}

TEST_F(MirrorIntegration, WarnsAboutLogAppendTimeAndKeepsTheSourceTimesOnTheTarget) {
  const std::string topic = UniqueName("appendtime");
  ASSERT_TRUE(source_admin_
                  ->CreateTopic({topic, 1, -1, {{"message.timestamp.type", "LogAppendTime"}}},
                                Millis(15000))
                  .ok());
  Produce(topic, 0, 5, "t");
  auto summary = mirror::Run(Options(topic, UniqueName("m")));
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  ASSERT_EQ(summary->warnings.size(), 1u);
  EXPECT_NE(summary->warnings[0].find("LogAppendTime"), std::string::npos);
  EXPECT_EQ(summary->copied_configs[topic]["message.timestamp.type"], "CreateTime");
  std::vector<int64_t> source_times, target_times;
  TopicReadOptions read;
  read.topic = topic;
  ASSERT_TRUE(ReadTopic(source_, read, [&](const Record& r) {
                EXPECT_EQ(r.timestamp_type, TimestampType::kLogAppendTime);
                source_times.push_back(r.timestamp.value());
                return Status::Ok();
              }).ok());
  ASSERT_TRUE(ReadTopic(target_, read, [&](const Record& r) {
                EXPECT_EQ(r.timestamp_type, TimestampType::kCreateTime);
                target_times.push_back(r.timestamp.value());
                return Status::Ok();
              }).ok());
  EXPECT_EQ(source_times, target_times);
}

TEST_F(MirrorIntegration, CliTranslatesExactlyOrSaysNotYetMirroredWithExitOne) {
  const std::string topic = UniqueName("cli");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 10, "c");
  const std::string name = UniqueName("m");
  const std::string log = state_dir_ + ".cli.log";
  ASSERT_EQ(WaitExit(Spawn(MirrorArgs(topic, name, state_dir_), log)), 0);
  auto translate = [&](const std::string& offset, const std::vector<std::string>& where) {
    std::vector<std::string> args = {"offsets", "translate",   "--name", name,       "--topic",
                                     topic,     "--partition", "0",      "--offset", offset};
    args.insert(args.end(), where.begin(), where.end());
    return WaitExit(Spawn(args, log));
  };
  EXPECT_EQ(translate("4", {"--target", target_.bootstrap()}), 0);
  EXPECT_EQ(translate("4", {"--state-dir", state_dir_}), 0);  // the local cache agrees
  EXPECT_EQ(translate("11", {"--target", target_.bootstrap()}), 1);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find(topic + " [0] 4 -> 4"), std::string::npos) << text;
  EXPECT_NE(text.find("11: not yet mirrored (mirror progress 10)"), std::string::npos) << text;
}

// A second writer saved a run over records the first had mapped (what a
// zombie mirror process did before fencing): every reader refuses the map,
// naming both runs and the way out; `offsets repair` cuts it back so groups
// move exactly again, and reports the copies left undescribed.
TEST_F(MirrorIntegration, RepairCutsAMapTwoWritersSavedAndGroupsMoveExactlyAgain) {
  const std::string topic = UniqueName("repair");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 20, "r");
  const std::string name = UniqueName("m");
  ASSERT_TRUE(mirror::Run(Options(topic, name)).ok());

  // The second writer: copies of source 10..19 again at target 20..29, and
  // its run and progress on the map topic.
  std::vector<Record> again = testing::ReadBack(source_, topic, 0, 20);
  ASSERT_EQ(again.size(), 20u);
  auto producer = Producer::Create(target_, {});
  ASSERT_TRUE(producer.ok());
  for (size_t i = 10; i < 20; ++i) {
    Record r = again[i];
    r.partition = Partition(0);
    ASSERT_TRUE((*producer)->Send(r).ok());
  }
  const std::string prefix = name + "/" + topic + "/0/";
  for (auto [key, value] :
       {std::pair<std::string, std::string>{prefix + "run/10",
                                            R"({"target_start":20,"length":10})"},
        {prefix + "meta", R"({"source_start":0,"progress":20,"target_next":30})"}}) {
    Record r;
    r.topic = Topic(mirror::kOffsetMapTopic);
    r.key = key;
    r.value = value;
    ASSERT_TRUE((*producer)->Send(r).ok());
  }
  ASSERT_TRUE((*producer)->Flush(Millis(15000)).ok());

  const std::string log = state_dir_ + ".repair.log";
  auto lifeline = [&](const std::vector<std::string>& args) { return WaitExit(Spawn(args, log)); };
  const std::vector<std::string> translate5 = {
      "offsets", "translate", "--name",      name, "--target", target_.bootstrap(),
      "--topic", topic,       "--partition", "0",  "--offset", "5"};
  const std::vector<std::string> repair = {"offsets",  "repair",           "--name",
                                           name,       "--source",         source_.bootstrap(),
                                           "--target", target_.bootstrap()};
  EXPECT_EQ(lifeline(translate5), 3);
  std::string text = ReadFile(log);
  EXPECT_NE(text.find("map of " + topic +
                      " [0] is inconsistent: overlapping runs: source [0, 20) "
                      "at target [0, 20) and source [10, 20) at target [20, 30)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lifeline offsets repair --name " + name), std::string::npos) << text;

  std::vector<std::string> dry = repair;
  dry.emplace_back("--dry-run");
  EXPECT_EQ(lifeline(dry), 0);
  EXPECT_EQ(lifeline(translate5), 3) << "a dry run wrote the map";
  EXPECT_EQ(lifeline(repair), 0);
  text = ReadFile(log);
  EXPECT_NE(text.find(topic + " [0]: overlapping runs"), std::string::npos) << text;
  EXPECT_NE(text.find("progress 20 -> 20, 1 run(s) dropped, target [20, 30) undescribed"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 of 1 partition map(s) would be repaired (dry run"), std::string::npos)
      << text;
  EXPECT_NE(text.find("1 of 1 partition map(s) repaired"), std::string::npos) << text;
  EXPECT_EQ(lifeline(translate5), 0);
  EXPECT_EQ(lifeline(repair), 0) << "a repaired map needs no repair";
  EXPECT_NE(ReadFile(log).find("0 of 1 partition map(s) repaired"), std::string::npos);

  // The mirror resumes from the cut; a group moved to any position at or
  // after it reads exactly its unread records, and one before it reads the
  // ten undescribed copies once more, as the repair said.
  Produce(topic, 0, 5, "s");
  ASSERT_TRUE(mirror::Run(Options(topic, name)).ok());
  auto maps = mirror::LoadMapsFromTopic(target_, name);
  ASSERT_TRUE(maps.ok()) << maps.status().message();
  const mirror::PartitionMap& map = maps->at({Topic(topic), Partition(0)});
  std::vector<Copy> src = ReadPartition(source_, topic, 0);
  std::vector<Copy> dst = ReadPartition(target_, topic, 0);
  ASSERT_EQ(src.size(), 25u);
  ASSERT_EQ(dst.size(), 35u);
  for (int64_t c = 0; c <= 25; ++c) {
    mirror::Translation t = map.Translate(Offset(c));
    ASSERT_EQ(t.kind, mirror::Translation::Kind::kExact) << "C=" << c;
    std::vector<Digest128> want = DigestsFrom(src, c);
    if (c < 20) {
      std::vector<Digest128> copies = DigestsFrom(src, 10);
      want.insert(want.begin() + (20 - c), copies.begin(), copies.begin() + 10);
    }
    ASSERT_EQ(DigestsFrom(dst, t.target_offset.value()), want) << "C=" << c;
  }
}

TEST_F(MirrorIntegration, CliFollowExitsZeroOnSigtermAfterSavingAndTranslatesAGroup) {
  const std::string topic = UniqueName("sigterm");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 20, "a");
  Produce(topic, 1, 20, "b");
  const std::string name = UniqueName("m");
  const std::string log = state_dir_ + ".follow.log";
  const std::string summary = state_dir_ + ".follow.json";
  std::vector<std::string> args = MirrorArgs(topic, name, state_dir_);
  args.insert(args.end(), {"--follow", "--summary-json", summary});
  pid_t pid = Spawn(args, log);
  const bool copied = AwaitMapProgress(name, topic, {{0, 20}, {1, 20}});
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid), 0) << "see " << log;
  ASSERT_TRUE(copied) << "see " << log;
  nlohmann::json saved = ReadSummary(summary);
  ASSERT_TRUE(saved.is_object()) << "no summary after SIGTERM; see " << log;
  EXPECT_EQ(saved["records"], 40);

  const std::string group = UniqueName("app");
  ASSERT_TRUE(source_admin_
                  ->AlterGroupOffsets(group,
                                      {{{Topic(topic), Partition(0)}, Offset(7)},
                                       {{Topic(topic), Partition(1)}, Offset(20)}},
                                      Millis(15000))
                  .ok());
  const std::string out = state_dir_ + ".translate.log";
  EXPECT_EQ(WaitExit(Spawn({"offsets", "translate", "--name", name, "--target", target_.bootstrap(),
                            "--source", source_.bootstrap(), "--group", group},
                           out)),
            0);
  const std::string text = ReadFile(out);
  EXPECT_NE(text.find(topic + " [0] 7 -> 7"), std::string::npos) << text;
  EXPECT_NE(text.find(topic + " [1] 20 -> 20"), std::string::npos) << text;
}

// A fenced process's copies can land after the new owner's last one: past
// the end its map describes, where nobody taking the partition over would
// ever count them. The owner counts them when it stops, and moves its map's
// target end past them, so a group caught up at the source's end does not
// read them on the target.
TEST_F(MirrorIntegration, CountsForeignCopiesPastItsLastOneAndMovesCaughtUpGroupsPastThem) {
  const std::string topic = UniqueName("tail");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 20, "a");
  const std::string name = UniqueName("m");
  const std::string log = state_dir_ + ".tail.log";
  const std::string summary = state_dir_ + ".tail.json";
  std::vector<std::string> args = MirrorArgs(topic, name, state_dir_);
  args.insert(args.end(), {"--follow", "--summary-json", summary});
  pid_t pid = Spawn(args, log);
  const bool copied = AwaitMapProgress(name, topic, {{0, 20}});
  // Source records 17 to 19 copied again by "another writer", after the
  // owner's twenty: what a fenced process still delivering leaves.
  {
    std::vector<Record> src = testing::ReadBack(source_, topic, 0, 20);
    ASSERT_EQ(src.size(), 20u);
    auto foreign = Producer::Create(target_, {});
    ASSERT_TRUE(foreign.ok());
    for (int i = 17; i < 20; ++i) {
      Record r = src[i];
      r.offset = Offset(-1);
      ASSERT_TRUE((*foreign)->Send(r).ok());
    }
    ASSERT_TRUE((*foreign)->Flush(Millis(15000)).ok());
  }
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid), 0) << "see " << log;
  ASSERT_TRUE(copied) << "see " << log;

  nlohmann::json saved = ReadSummary(summary);
  ASSERT_TRUE(saved.is_object()) << "no summary after SIGTERM; see " << log;
  EXPECT_EQ(saved["partitions"][0]["possible_duplicates"], 3) << saved.dump();
  auto maps = mirror::LoadMapsFromTopic(target_, name);
  ASSERT_TRUE(maps.ok()) << maps.status().message();
  const mirror::PartitionMap& map = maps->at({Topic(topic), Partition(0)});
  EXPECT_EQ(map.possible_duplicates(), 3);
  EXPECT_EQ(map.target_next(), 23);
  // A group at the source's end lands past the three; one inside the copy
  // is where it was.
  mirror::Translation end = map.Translate(Offset(20));
  EXPECT_EQ(end.kind, mirror::Translation::Kind::kExact);
  EXPECT_EQ(end.target_offset, Offset(23));
  EXPECT_EQ(map.Translate(Offset(7)).target_offset, Offset(7));
  // And verify counts the same three on its own.
  const std::string vlog = state_dir_ + ".tail.verify.log";
  EXPECT_EQ(
      WaitExit(Spawn({"verify", "records", "--source", source_.bootstrap(), "--target",
                      target_.bootstrap(), "--topics", topic, "--name", name, "--allow-duplicates"},
                     vlog)),
      0)
      << ReadFile(vlog);
}

// Exactly-once, a transaction that fails (here: a record the target topic
// refuses as too large) is aborted and its partition taken again from the
// committed progress; one that keeps failing ends the run after a bounded
// number of tries, with nothing of it visible and the other partitions
// copied exactly once.
TEST_F(MirrorIntegration, ExactlyOnceAbortsAFailedTransactionRedoesItAndGivesUpBoundedly) {
  const std::string topic = UniqueName("redo");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  ASSERT_TRUE(
      target_admin_->CreateTopic({topic, 2, -1, {{"max.message.bytes", "50000"}}}, Millis(15000))
          .ok());
  Produce(topic, 0, 10, "a");
  Produce(topic, 1, 10, "b");
  {
    auto producer = Producer::Create(source_, {});
    ASSERT_TRUE(producer.ok());
    Record big;
    big.topic = Topic(topic);
    big.partition = Partition(1);
    big.value = std::string(100000, 'x');
    ASSERT_TRUE((*producer)->Send(big).ok());
    ASSERT_TRUE((*producer)->Flush(Millis(15000)).ok());
  }
  const std::string name = UniqueName("m");
  const std::string log = state_dir_ + ".redo.log";
  std::vector<std::string> args = MirrorArgs(topic, name, state_dir_);
  args.emplace_back("--exactly-once");
  EXPECT_EQ(WaitExitWithin(Spawn(args, log), 120), 3) << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find(topic + " [1]: its transaction failed 6 times in a row"), std::string::npos)
      << text;
  // Partition 0 exactly once; nothing of partition 1's aborted tries.
  EXPECT_EQ(DigestsFrom(ReadPartition(target_, topic, 0), 0),
            DigestsFrom(ReadPartition(source_, topic, 0), 0));
  EXPECT_TRUE(ReadPartition(target_, topic, 1).empty());
  auto maps = mirror::LoadMapsFromTopic(target_, name);
  ASSERT_TRUE(maps.ok()) << maps.status().message();
  EXPECT_EQ(maps->at({Topic(topic), Partition(0)}).progress(), 10);
  EXPECT_EQ(maps->at({Topic(topic), Partition(1)}).progress(), 0);
}

class MirrorCrash : public MirrorIntegration,
                    public ::testing::WithParamInterface<bool /*exactly_once*/> {};

TEST_P(MirrorCrash, KillNineMidRunThenRestartLosesNothing) {
  const bool eos = GetParam();
  const std::string topic = UniqueName(eos ? "crash-eos" : "crash-alo");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, 20000, "x");
  Produce(topic, 1, 20000, "y");
  const std::string name = UniqueName("m");
  std::vector<std::string> args = MirrorArgs(topic, name, state_dir_);
  args.insert(args.end(), {"--batch", "500", "--max-records-per-second", "4000"});
  if (eos) args.emplace_back("--exactly-once");
  const std::string log = state_dir_ + ".log";
  pid_t pid = Spawn(args, log);
  ASSERT_GT(pid, 0);
  // Kill it once it has saved some progress, so the restart resumes.
  bool saved = false;
  for (int i = 0; i < 300 && !saved; ++i) {
    std::this_thread::sleep_for(Millis(50));
    auto maps = mirror::LoadMapsFromTopic(target_, name);
    saved = maps.ok() && maps->count({Topic(topic), Partition(0)}) &&
            maps->at({Topic(topic), Partition(0)}).progress() >= 2000;
  }
  kill(pid, SIGKILL);
  WaitExit(pid);
  ASSERT_TRUE(saved) << "the mirror never saved progress; log: " << log;
  auto before = mirror::LoadMapsFromTopic(target_, name);
  ASSERT_TRUE(before.ok());
  const int64_t resumed_at = before->at({Topic(topic), Partition(0)}).progress();

  std::vector<std::string> rerun = args;
  rerun.emplace_back("--summary-json");
  rerun.push_back(state_dir_ + ".summary.json");
  ASSERT_EQ(WaitExit(Spawn(rerun, log)), 0) << "see " << log;

  int64_t duplicates = 0;
  auto maps = mirror::LoadMapsFromTopic(target_, name);
  ASSERT_TRUE(maps.ok());
  for (int p = 0; p < 2; ++p) {
    std::vector<Copy> src = ReadPartition(source_, topic, p);
    std::vector<Copy> dst = ReadPartition(target_, topic, p);
    ASSERT_EQ(src.size(), 20000u);
    if (eos) {
      EXPECT_EQ(DigestsFrom(dst, 0), DigestsFrom(src, 0)) << "partition " << p;
    } else {
      // Every source record is there, in order; extra copies are counted.
      size_t i = 0;
      for (const Copy& c : dst) {
        if (i < src.size() && c.digest == src[i].digest) ++i;
      }
      EXPECT_EQ(i, src.size()) << "a record was lost in partition " << p;
      duplicates += static_cast<int64_t>(dst.size() - src.size());
    }
    // After the restart, the newest copy of each record is in the map.
    EXPECT_EQ(maps->at({Topic(topic), Partition(p)}).records(), 20000) << "partition " << p;
  }
  EXPECT_LT(resumed_at, 20000) << "killed too late to test a resume";
  if (!eos) {
    nlohmann::json summary = ReadSummary(state_dir_ + ".summary.json");
    ASSERT_TRUE(summary.is_object());
    int64_t counted = 0;
    for (const auto& part : summary["partitions"])
      counted += part["possible_duplicates"].get<int64_t>();
    EXPECT_EQ(counted, duplicates) << summary.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(Delivery, MirrorCrash, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "ExactlyOnce" : "AtLeastOnce";
                         });

// The zombie case: a process paused past its session timeout while copying
// (SIGSTOP) loses its partitions to another process of the same name, then
// comes back (SIGCONT) and goes on writing what it had. Its partitions'
// writers were fenced by the new owner, so nothing it writes reaches the
// map: the map loads, maps every source record onto its copy, and (exactly
// once) the target holds each record once for read_committed readers.
class MirrorZombie : public MirrorIntegration,
                     public ::testing::WithParamInterface<bool /*exactly_once*/> {};

TEST_P(MirrorZombie, APausedProcessThatLostItsPartitionsCannotDamageTheMap) {
  const bool eos = GetParam();
  const std::string topic = UniqueName(eos ? "zombie-eos" : "zombie-alo");
  constexpr int kPerPartition = 15000;
  ASSERT_TRUE(source_admin_->CreateTopic({topic, 2, -1, {}}, Millis(15000)).ok());
  Produce(topic, 0, kPerPartition, "z");
  Produce(topic, 1, kPerPartition, "w");
  const std::string name = UniqueName("m");
  auto args = [&](int i) {
    std::vector<std::string> a = MirrorArgs(topic, name, state_dir_ + "-" + std::to_string(i));
    a.insert(a.end(), {"--follow", "--batch", "500", "--max-records-per-second", "1200",
                       "--summary-json", state_dir_ + "-" + std::to_string(i) + ".json"});
    if (eos) a.emplace_back("--exactly-once");
    return a;
  };
  auto progress = [&](int p) -> int64_t {
    auto maps = mirror::LoadMapsFromTopic(target_, name);
    if (!maps.ok()) return -1;
    auto it = maps->find({Topic(topic), Partition(p)});
    return it == maps->end() ? 0 : it->second.progress();
  };
  auto wait_for = [&](const std::function<bool()>& done, int seconds) {
    for (int i = 0; i < seconds * 5; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(Millis(200));
    }
    return done();
  };
  const std::string log = state_dir_ + ".log";
  pid_t zombie = Spawn(args(1), log);
  ASSERT_TRUE(wait_for([&] { return progress(0) >= 1000 && progress(1) >= 1000; }, 60))
      << "the first process saved no progress; see " << log;
  kill(zombie, SIGSTOP);
  const int64_t paused_at = std::min(progress(0), progress(1));
  pid_t owner = Spawn(args(2), log);
  // The new owner takes both partitions once the paused one's session (10 s)
  // expires, and copies on from the saved progress.
  const bool took_over = wait_for(
      [&] { return progress(0) > paused_at + 2000 && progress(1) > paused_at + 2000; }, 90);
  kill(zombie, SIGCONT);
  ASSERT_TRUE(took_over) << "the second process never took over; see " << log;
  ASSERT_TRUE(
      wait_for([&] { return progress(0) == kPerPartition && progress(1) == kPerPartition; }, 180))
      << "not caught up: " << progress(0) << ", " << progress(1) << "; see " << log;
  kill(zombie, SIGTERM);
  kill(owner, SIGTERM);
  EXPECT_EQ(WaitExitWithin(zombie, 90), 0) << "-2: still running 90 s after SIGTERM; see " << log;
  EXPECT_EQ(WaitExitWithin(owner, 90), 0) << "-2: still running 90 s after SIGTERM; see " << log;

  auto maps = mirror::LoadMapsFromTopic(target_, name);
  ASSERT_TRUE(maps.ok()) << maps.status().message();
  int64_t duplicates = 0;
  for (int p = 0; p < 2; ++p) {
    const mirror::PartitionMap& map = maps->at({Topic(topic), Partition(p)});
    std::vector<Copy> src = ReadPartition(source_, topic, p);
    std::vector<Copy> dst = ReadPartition(target_, topic, p);
    ASSERT_EQ(src.size(), static_cast<size_t>(kPerPartition));
    EXPECT_EQ(map.records(), kPerPartition) << "partition " << p;
    std::map<int64_t, Digest128> at;
    for (const Copy& c : dst) at[c.offset] = c.digest;
    // Every mapping is true: a group moved anywhere reads the right record.
    for (const mirror::OffsetRun& run : map.runs()) {
      for (int64_t i = 0; i < run.length; ++i) {
        auto it = at.find(run.target_start + i);
        ASSERT_TRUE(it != at.end() && it->second == src[run.source_start + i].digest)
            << "partition " << p << ": source " << run.source_start + i << " mapped onto "
            << run.target_start + i << ", which holds another record";
      }
    }
    if (eos) {
      EXPECT_EQ(DigestsFrom(dst, 0), DigestsFrom(src, 0)) << "partition " << p;
    } else {
      duplicates += static_cast<int64_t>(dst.size() - src.size());
    }
  }
  int64_t counted = 0;
  std::string warnings;
  for (int i = 1; i <= 2; ++i) {
    nlohmann::json summary = ReadSummary(state_dir_ + "-" + std::to_string(i) + ".json");
    ASSERT_TRUE(summary.is_object()) << "process " << i << " wrote no summary; see " << log;
    for (const auto& part : summary["partitions"]) {
      counted += part["possible_duplicates"].get<int64_t>();
    }
    warnings += summary["warnings"].dump() + "\n";
  }
  if (!eos) {
    EXPECT_EQ(counted, duplicates) << warnings;
  }
  std::cout << "zombie test: " << duplicates << " duplicate(s) on the target, " << counted
            << " counted; warnings: " << warnings;
}

INSTANTIATE_TEST_SUITE_P(Delivery, MirrorZombie, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "ExactlyOnce" : "AtLeastOnce";
                         });
// ------------------------------------------------------------------ chaos
//
// Issue 15's chaos test: a source topic of 8 partitions receiving a
// continuous stream of transactions (some aborted) while three mirror
// processes of one name copy it to a target cluster of the test's own; at
// seeded moments one process is SIGKILLed, one paused past its session
// timeout and resumed (the zombie), a new one started, and the target broker
// restarted on its data. Then the stream stops, the processes catch up, and
// the result is checked record by record and group by group. The seed is
// printed; LIFELINE_CHAOS_SEED=N replays it.

using Clock = std::chrono::steady_clock;

// Runs a shell command; its exit code and output (stdout and stderr).
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* f = popen((command + " 2>&1").c_str(), "r");
  if (!f) return {-1, "popen failed"};
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  const int status = pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// `needle` in order within `hay` (every record of the source, in order,
// among the target's copies and duplicates).
bool IsSubsequence(const std::vector<Digest128>& needle, const std::vector<Digest128>& hay) {
  size_t i = 0;
  for (const Digest128& d : hay) {
    if (i < needle.size() && d == needle[i]) ++i;
  }
  return i == needle.size();
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// A process's peak resident set (VmHWM), in MB; 0 when it cannot be read.
int64_t PeakRssMb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::atoll(line.c_str() + 6) / 1024;
  }
  return 0;
}

class MirrorChaos : public MirrorIntegration,
                    public ::testing::WithParamInterface<bool /*exactly_once*/> {
 protected:
  static constexpr const char* kCluster = "chaos";

  void SetUp() override {
    MirrorIntegration::SetUp();
    if (HasFatalFailure()) return;
    kafka_ = std::string(LIFELINE_SOURCE_DIR) + "/scripts/kafka";
    (void)Shell(kafka_ + " down " + kCluster);
    auto [rc, out] = Shell(kafka_ + " up " + kCluster);
    ASSERT_EQ(rc, 0) << "scripts/kafka up " << kCluster << ":\n" << out;
    up_ = true;
    auto [brc, address] = Shell(kafka_ + " bootstrap " + kCluster);
    ASSERT_EQ(brc, 0) << address;
    while (!address.empty() && std::isspace(static_cast<unsigned char>(address.back()))) {
      address.pop_back();
    }
    chaos_ = testing::ConfigFor(address);
  }
  void TearDown() override {
    if (HasFailure() && !log_.empty()) {
      // The processes' errors and warnings, for a CI page that only keeps
      // the test's output (the log is on the machine that ran it).
      std::istringstream in(ReadFile(log_));
      std::deque<std::string> tail;
      for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("lifeline ") && !line.starts_with("warning:")) continue;
        tail.push_back(line);
        if (tail.size() > 30) tail.pop_front();
      }
      std::cout << "the last errors and warnings in " << log_ << ":\n";
      for (const std::string& line : tail) std::cout << "  " << line << "\n";
    }
    if (up_) (void)Shell(kafka_ + " down " + kCluster);
  }

  std::string log_;  // the processes' output, once the test names it
  std::string kafka_;
  bool up_ = false;
  ClientConfig chaos_;
};

TEST_P(MirrorChaos, KillPauseJoinAndABrokerRestartLoseNothingAndMoveGroupsExactly) {
  const bool eos = GetParam();
  uint32_t seed = std::random_device{}();
  if (const char* s = std::getenv("LIFELINE_CHAOS_SEED"); s && *s) seed = std::stoul(s);
  std::cout << "chaos seed: " << seed << " (replay with LIFELINE_CHAOS_SEED=" << seed << ")"
            << std::endl;
  RecordProperty("chaos_seed", std::to_string(seed));
  std::mt19937 rng(seed);
  constexpr int kPartitions = 8;
  const std::string topic = UniqueName(eos ? "chaos-eos" : "chaos-alo");
  ASSERT_TRUE(source_admin_->CreateTopic({topic, kPartitions, -1, {}}, Millis(15000)).ok());
  const std::string name = UniqueName("m");

  // The stream: transactions of 40 records over random partitions, one in
  // five aborted.
  std::atomic<bool> stop{false};
  std::mutex producer_mu;
  std::string producer_error;
  int64_t committed = 0, aborted = 0;
  std::thread stream([&, stream_seed = rng()] {
    std::mt19937 r(stream_seed);
    ProducerOptions po;
    po.transactional_id = UniqueName("chaos-stream");
    auto p = Producer::Create(source_, po);
    Status st = p.ok() ? (*p)->InitTransactions(Millis(30000)) : p.status();
    for (int64_t seq = 0; st.ok() && !stop;) {
      st = (*p)->BeginTransaction();
      for (int i = 0; st.ok() && i < 40; ++i, ++seq) {
        Record rec;
        rec.topic = Topic(topic);
        rec.partition = Partition(static_cast<int32_t>(r() % kPartitions));
        rec.key = "k" + std::to_string(seq % 13);
        rec.value = "chaos-" + std::to_string(seq);
        st = (*p)->Send(rec);
      }
      if (!st.ok()) break;
      const bool abort = r() % 5 == 0;
      st = abort ? (*p)->AbortTransaction(Millis(30000)) : (*p)->CommitTransaction(Millis(30000));
      (abort ? aborted : committed) += 40;
      std::this_thread::sleep_for(Millis(40));
    }
    std::lock_guard lock(producer_mu);
    if (!st.ok()) producer_error = st.message();
  });

  struct Proc {
    pid_t pid = -1;
    std::string summary;
    bool alive = false;
    std::optional<Clock::time_point> resume_at;  // paused until
  };
  std::vector<Proc> procs;
  const std::string log = state_dir_ + ".log";
  log_ = log;
  auto start_one = [&] {
    const int i = static_cast<int>(procs.size());
    Proc p;
    p.summary = state_dir_ + "-" + std::to_string(i) + ".json";
    std::vector<std::string> a = {"mirror",
                                  "--source",
                                  source_.bootstrap(),
                                  "--target",
                                  chaos_.bootstrap(),
                                  "--topics",
                                  topic,
                                  "--name",
                                  name,
                                  "--create-topics",
                                  "--follow",
                                  "--state-dir",
                                  state_dir_ + "-" + std::to_string(i),
                                  "--summary-json",
                                  p.summary};
    if (eos) a.emplace_back("--exactly-once");
    p.pid = Spawn(a, log);
    p.alive = p.pid > 0;
    procs.push_back(p);
  };
  auto pick = [&](bool running_only) -> Proc* {
    std::vector<Proc*> c;
    for (Proc& p : procs) {
      if (p.alive && (!running_only || !p.resume_at)) c.push_back(&p);
    }
    return c.empty() ? nullptr : c[rng() % c.size()];
  };
  // LIFELINE_CHAOS_MINUTES > 0 makes this the soak (scripts/bench soak):
  // rounds of the four faults until the time is up, with
  // LIFELINE_CHAOS_PROCESSES processes (default 3).
  const int minutes = EnvInt("LIFELINE_CHAOS_MINUTES", 0);
  const int processes = std::max(2, EnvInt("LIFELINE_CHAOS_PROCESSES", 3));
  for (int i = 0; i < processes; ++i) start_one();

  // Each fault, and how long until the map showed every partition past the
  // source's end at the moment of the fault (the time to recover).
  struct Fault {
    std::string kind;
    Clock::time_point at;
    std::map<int, int64_t> ends;
    double recovered_s = -1;
  };
  std::vector<Fault> done_faults;
  const auto began = Clock::now();
  auto source_ends = [&] {
    std::map<int, int64_t> e;
    for (int p = 0; p < kPartitions; ++p) {
      auto wm = source_admin_->Watermarks({Topic(topic), Partition(p)}, Millis(10000));
      e[p] = wm.ok() ? wm->high.value() : std::numeric_limits<int64_t>::max();
    }
    return e;
  };
  auto last_check = Clock::now();
  auto check_recoveries = [&] {
    if (Clock::now() - last_check < Millis(500)) return;
    last_check = Clock::now();
    if (std::none_of(done_faults.begin(), done_faults.end(),
                     [](const Fault& f) { return f.recovered_s < 0; })) {
      return;
    }
    auto maps = mirror::LoadMapsFromTopic(chaos_, name);
    if (!maps.ok()) return;
    for (Fault& f : done_faults) {
      if (f.recovered_s >= 0) continue;
      bool all = true;
      for (const auto& [p, end] : f.ends) {
        auto it = maps->find({Topic(topic), Partition(p)});
        all = all && it != maps->end() && it->second.progress() >= end;
      }
      if (all) f.recovered_s = std::chrono::duration<double>(Clock::now() - f.at).count();
    }
  };
  auto wait_until = [&](Clock::time_point when) {
    while (Clock::now() < when) {
      for (Proc& p : procs) {
        if (p.resume_at && Clock::now() >= *p.resume_at) {
          kill(p.pid, SIGCONT);
          p.resume_at.reset();
        }
      }
      check_recoveries();
      std::this_thread::sleep_for(Millis(100));
    }
  };
  int64_t peak_rss_mb = 0;
  auto note_rss = [&](pid_t pid) { peak_rss_mb = std::max(peak_rss_mb, PeakRssMb(pid)); };

  // The faults, in a seeded order, 12 to 16 s apart after a start-up of 8
  // to 12 s.
  auto at = Clock::now() + std::chrono::seconds(8 + rng() % 5);
  const auto soak_end = began + std::chrono::minutes(minutes);
  std::string happened;
  do {
    std::vector<std::string> faults = {"kill", "pause", "start", "restart"};
    std::shuffle(faults.begin(), faults.end(), rng);
    for (const std::string& fault : faults) {
      wait_until(at);
      Fault record{fault, Clock::now(), source_ends()};
      if (fault == "kill") {
        Proc* p = pick(/*running_only=*/true);
        if (p) {
          note_rss(p->pid);
          kill(p->pid, SIGKILL);
          WaitExit(p->pid);
          p->alive = false;
          happened += "kill -9 pid " + std::to_string(p->pid) + "; ";
        }
      } else if (fault == "pause") {
        Proc* p = pick(/*running_only=*/true);
        if (p) {
          kill(p->pid, SIGSTOP);
          p->resume_at = Clock::now() + std::chrono::seconds(14);  // past session.timeout.ms
          happened += "SIGSTOP pid " + std::to_string(p->pid) + " for 14 s; ";
        }
      } else if (fault == "start") {
        start_one();
        happened += "started pid " + std::to_string(procs.back().pid) + "; ";
      } else {
        auto [src, sout] = Shell(kafka_ + " stop " + kCluster);
        EXPECT_EQ(src, 0) << sout;
        std::this_thread::sleep_for(Millis(1000));
        auto [rrc, rout] = Shell(kafka_ + " start " + kCluster);
        ASSERT_EQ(rrc, 0) << "the target broker did not start again on its data:\n" << rout;
        happened += "target broker restarted; ";
      }
      done_faults.push_back(std::move(record));
      at = Clock::now() + std::chrono::seconds(12 + rng() % 5);
    }
  } while (Clock::now() < soak_end);
  // Every paused process resumes, and the stream runs on a little.
  for (Proc& p : procs) {
    if (p.resume_at) {
      std::this_thread::sleep_until(*p.resume_at);
      kill(p.pid, SIGCONT);
      p.resume_at.reset();
    }
  }
  std::this_thread::sleep_for(std::chrono::seconds(5));
  stop = true;
  stream.join();
  std::cout << "chaos faults: " << happened << committed << " records committed, " << aborted
            << " aborted" << std::endl;
  ASSERT_TRUE(producer_error.empty()) << producer_error;

  std::map<int, int64_t> ends;
  for (int p = 0; p < kPartitions; ++p) {
    auto wm = source_admin_->Watermarks({Topic(topic), Partition(p)}, Millis(10000));
    ASSERT_TRUE(wm.ok()) << wm.status().message();
    ends[p] = wm->high.value();
  }
  auto caught_up = [&] {
    auto maps = mirror::LoadMapsFromTopic(chaos_, name);
    if (!maps.ok()) return false;
    for (const auto& [p, end] : ends) {
      auto it = maps->find({Topic(topic), Partition(p)});
      if (it == maps->end() || it->second.progress() < end) return false;
    }
    return true;
  };
  bool done = false;
  for (int i = 0; i < 900 && !done; ++i) {
    done = caught_up();
    check_recoveries();
    if (!done) std::this_thread::sleep_for(Millis(200));
  }
  for (Proc& p : procs) {
    if (p.alive) {
      note_rss(p.pid);
      kill(p.pid, SIGTERM);
    }
  }
  for (Proc& p : procs) {
    if (p.alive) {
      EXPECT_EQ(WaitExitWithin(p.pid, 90), 0)
          << "pid " << p.pid << " (-2: still running 90 s after SIGTERM); see " << log;
    }
  }
  ASSERT_TRUE(done) << "the mirror never caught up (seed " << seed << "); see " << log;

  // Record by record.
  auto maps = mirror::LoadMapsFromTopic(chaos_, name);
  ASSERT_TRUE(maps.ok()) << maps.status().message();
  std::map<int, std::vector<Copy>> src, dst;
  int64_t duplicates = 0;
  for (int p = 0; p < kPartitions; ++p) {
    src[p] = ReadPartition(source_, topic, p);
    dst[p] = ReadPartition(chaos_, topic, p);
    const mirror::PartitionMap& map = maps->at({Topic(topic), Partition(p)});
    EXPECT_EQ(map.records(), static_cast<int64_t>(src[p].size())) << "partition " << p;
    std::map<int64_t, Digest128> on_target;
    for (const Copy& c : dst[p]) on_target[c.offset] = c.digest;
    std::map<int64_t, Digest128> on_source;
    for (const Copy& c : src[p]) on_source[c.offset] = c.digest;
    for (const mirror::OffsetRun& run : map.runs()) {
      for (int64_t i = 0; i < run.length; ++i) {
        auto t = on_target.find(run.target_start + i);
        auto s = on_source.find(run.source_start + i);
        ASSERT_TRUE(t != on_target.end() && s != on_source.end() && t->second == s->second)
            << "partition " << p << ": source " << run.source_start + i << " mapped onto "
            << run.target_start + i << " (seed " << seed << ")";
      }
    }
    if (eos) {
      EXPECT_EQ(DigestsFrom(dst[p], 0), DigestsFrom(src[p], 0))
          << "partition " << p << ": not each committed record exactly once, in order (seed "
          << seed << ")";
    } else {
      EXPECT_TRUE(IsSubsequence(DigestsFrom(src[p], 0), DigestsFrom(dst[p], 0)))
          << "partition " << p << ": a record was lost (seed " << seed << ")";
      duplicates += static_cast<int64_t>(dst[p].size()) - static_cast<int64_t>(src[p].size());
    }
  }
  int64_t counted = 0;
  for (const Proc& p : procs) {
    nlohmann::json summary = ReadSummary(p.summary);
    if (!summary.is_object()) continue;  // killed: its successor counted what it left
    for (const auto& part : summary["partitions"]) {
      counted += part["possible_duplicates"].get<int64_t>();
    }
  }
  std::cout << "chaos result: " << duplicates << " duplicate(s) on the target, " << counted
            << " counted" << std::endl;
  // The summaries of the processes that ended count what each found; a
  // killed one's count lives on in the map, which every owner adds to in
  // the same transaction as the target end it counted up to.
  int64_t in_map = 0;
  for (const auto& [key, map] : *maps) {
    if (key.topic.value() == topic) in_map += map.possible_duplicates();
  }
  std::cout << "chaos duplicates counted in the map: " << in_map << std::endl;
  nlohmann::ordered_json report = {
      {"seed", seed},
      {"delivery", eos ? "exactly-once" : "at-least-once"},
      {"minutes", std::chrono::duration<double>(Clock::now() - began).count() / 60},
      {"processes", processes},
      {"records_committed", committed},
      {"records_aborted", aborted},
      {"duplicates_on_target", duplicates},
      {"duplicates_in_map", in_map},
      {"peak_rss_mb", peak_rss_mb},
      {"faults", nlohmann::ordered_json::array()}};
  for (const Fault& f : done_faults) {
    report["faults"].push_back(
        {{"kind", f.kind},
         {"at_s", std::chrono::duration<double>(f.at - began).count()},
         {"recovered_s", f.recovered_s < 0 ? nlohmann::ordered_json(nullptr)
                                           : nlohmann::ordered_json(f.recovered_s)}});
  }
  std::cout << "chaos report: " << report.dump() << std::endl;
  if (const char* path = std::getenv("LIFELINE_CHAOS_REPORT"); path && *path) {
    std::ofstream(path) << report.dump(2) << "\n";
  }
  if (!eos) {
    EXPECT_EQ(in_map, duplicates) << "seed " << seed << "; see " << log;
    EXPECT_LE(counted, in_map) << "seed " << seed;
  }
  // At-least-once, the duplicates are copies the summaries counted.
  std::vector<std::string> verify = {"verify",   "records",
                                     "--source", source_.bootstrap(),
                                     "--target", chaos_.bootstrap(),
                                     "--topics", topic,
                                     "--name",   name};
  if (!eos) verify.emplace_back("--allow-duplicates");
  EXPECT_EQ(WaitExit(Spawn(verify, log)), 0) << "see " << log;

  // Group by group: 20 groups at random positions in [0, end] (markers and
  // aborted records included) move and read exactly what they had not read.
  const std::string prefix = UniqueName("chaos-g");
  std::map<std::string, std::map<TopicPartition, Offset>> positions;
  for (int g = 0; g < 20; ++g) {
    const std::string group = prefix + "-" + std::to_string(g);
    for (int p = 0; p < kPartitions; ++p) {
      positions[group][{Topic(topic), Partition(p)}] =
          Offset(static_cast<int64_t>(rng() % (ends[p] + 1)));
    }
    ASSERT_TRUE(source_admin_->AlterGroupOffsets(group, positions[group], Millis(15000)).ok());
  }
  ASSERT_EQ(WaitExit(Spawn({"groups", "sync", "--source", source_.bootstrap(), "--target",
                            chaos_.bootstrap(), "--name", name, "--groups", prefix + "-.*"},
                           log)),
            0)
      << "see " << log;
  auto made = Admin::Create(chaos_);
  ASSERT_TRUE(made.ok());
  std::unique_ptr<Admin> chaos_admin = std::move(made).value();
  for (const auto& [group, at_source] : positions) {
    auto offsets = chaos_admin->ListGroupOffsets(group, {}, Millis(15000));
    ASSERT_TRUE(offsets.ok()) << offsets.status().message();
    for (const auto& [tp, c] : at_source) {
      auto t = offsets->find(tp);
      ASSERT_TRUE(t != offsets->end()) << group << " " << tp.partition.value() << " not moved";
      const auto want = DigestsFrom(src[tp.partition.value()], c.value());
      const auto got = DigestsFrom(dst[tp.partition.value()], t->second.value());
      if (eos) {
        EXPECT_EQ(got, want) << group << " [" << tp.partition.value() << "] at " << c.value()
                             << " -> " << t->second.value() << " (seed " << seed << ")";
      } else {
        // At-least-once: the first record read is the first unread one (no
        // re-read, no skip), and every unread one follows.
        EXPECT_TRUE(want.empty()
                        ? got.size() <= static_cast<size_t>(duplicates)
                        : !got.empty() && got.front() == want.front() && IsSubsequence(want, got))
            << group << " [" << tp.partition.value() << "] at " << c.value() << " -> "
            << t->second.value() << " (seed " << seed << ")";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Delivery, MirrorChaos, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "ExactlyOnce" : "AtLeastOnce";
                         });

}  // namespace
}  // namespace lifeline
