#include "core/sandbox.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/kafka.h"
#include "core/topic_reader.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

TEST(EmbeddedSandbox, ServesAnExternalClientOnLoopback) {
  auto sandbox = EmbeddedSandbox::Start({"source", "target"});
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().message();
  EmbeddedCluster* source = sandbox->Find("source");
  ASSERT_NE(source, nullptr);
  ASSERT_NE(sandbox->Find("target"), nullptr);
  EXPECT_NE(source->bootstrap(), sandbox->Find("target")->bootstrap());
  EXPECT_EQ(source->bootstrap().rfind("127.0.0.1:", 0), 0u) << source->bootstrap();
  ASSERT_TRUE(source->CreateTopic("prompt.lifecycle", 6).ok());

  // A second, independent librdkafka handle talks to the mock over TCP.
  ClientConfig client = testing::ConfigFor(source->bootstrap());
  auto admin = Admin::Create(client);
  ASSERT_TRUE(admin.ok());
  auto partitions = (*admin)->PartitionCount("prompt.lifecycle", Millis(5000));
  ASSERT_TRUE(partitions.ok()) << partitions.status().message();
  EXPECT_EQ(*partitions, 6);

  auto producer = Producer::Create(client, {});
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 20; ++i) {
    Record r;
    r.topic = Topic("prompt.lifecycle");
    r.partition = Partition(2);
    r.key = "k" + std::to_string(i);
    r.value = "v" + std::to_string(i);
    r.headers = {{"ce_id", std::to_string(i)}};
    r.timestamp = TimestampMs(1700000000000 + i);
    ASSERT_TRUE((*producer)->Send(r).ok());
  }
  ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
  std::vector<Record> got = testing::ReadBack(client, "prompt.lifecycle", 2, 20);
  ASSERT_EQ(got.size(), 20u);
  EXPECT_EQ(got[7].key, "k7");
  EXPECT_EQ(got[7].value, "v7");
  EXPECT_EQ(got[7].headers, (std::vector<Header>{{"ce_id", "7"}}));
  EXPECT_EQ(got[19].offset, Offset(19));
}

// Admin::Watermarks against a one-broker mock with a topic
// prompt.lifecycle: its faults are the mock's (FailRequests, SetBrokersUp).
class EmbeddedWatermarks : public ::testing::Test {
 protected:
  static constexpr int kListOffsets = 2, kNotLeader = 6;
  void Start(int partitions) {
    auto started = EmbeddedSandbox::Start({"source"});
    ASSERT_TRUE(started.ok()) << started.status().message();
    sandbox_ = std::move(started).value();
    source_ = sandbox_.Find("source");
    ASSERT_TRUE(source_->CreateTopic("prompt.lifecycle", partitions).ok());
    auto admin = Admin::Create(testing::ConfigFor(source_->bootstrap()));
    ASSERT_TRUE(admin.ok()) << admin.status().message();
    admin_ = std::move(admin).value();
  }
  static TopicPartition Tp(int partition) {
    return {Topic("prompt.lifecycle"), Partition(partition)};
  }
  EmbeddedSandbox sandbox_;
  EmbeddedCluster* source_ = nullptr;
  std::unique_ptr<Admin> admin_;
};

// A leader that keeps answering NOT_LEADER costs one timeout, not a retry
// of the whole timeout per transient error (25 of them, once: a replay
// after a broker's SIGKILL waited more than 5 minutes).
TEST_F(EmbeddedWatermarks, GiveUpOnAMissingLeaderWithinTheirTimeout) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  const TopicPartition tp = Tp(0);
  ASSERT_TRUE(admin_->Watermarks(tp, Millis(5000)).ok());
  source_->FailRequests(kListOffsets, kNotLeader, 100000);
  const auto start = std::chrono::steady_clock::now();
  auto wm = admin_->Watermarks(tp, Millis(1000));
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(wm.ok());
  EXPECT_EQ(wm.status().code(), ExitCode::kInfrastructure);
  EXPECT_NE(wm.status().message().find("watermarks of prompt.lifecycle [0]"), std::string::npos)
      << wm.status().message();
  // Not a speed claim: the old nesting waited 25 s or more here.
  EXPECT_LT(waited, std::chrono::seconds(15));
}

// A leader that answers NOT_LEADER a few times (a leader move) costs a
// metadata refresh and another try, not the answer.
TEST_F(EmbeddedWatermarks, AskAgainAfterANotLeaderAnswer) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  source_->FailRequests(kListOffsets, kNotLeader, 3);
  auto wm = admin_->Watermarks(Tp(0), Millis(10000));
  ASSERT_TRUE(wm.ok()) << wm.status().message();
  EXPECT_EQ(wm->low, Offset(0));
  EXPECT_EQ(wm->high, Offset(0));
}

// Every broker gone (connections dropped, new ones refused): the answer is
// an infrastructure error within the timeout, and once the brokers are back
// the same Admin answers again over a new connection.
TEST_F(EmbeddedWatermarks, FailWithinTheirTimeoutWhileTheBrokersAreDown) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  const TopicPartition tp = Tp(0);
  ASSERT_TRUE(admin_->Watermarks(tp, Millis(5000)).ok());
  ASSERT_TRUE(source_->SetBrokersUp(false).ok());
  const auto start = std::chrono::steady_clock::now();
  auto wm = admin_->Watermarks(tp, Millis(1500));
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(wm.ok());
  EXPECT_EQ(wm.status().code(), ExitCode::kInfrastructure);
  EXPECT_NE(wm.status().message().find("watermarks of prompt.lifecycle [0]"), std::string::npos)
      << wm.status().message();
  // Not a speed claim: bounded by the timeout plus one metadata request's.
  EXPECT_LT(waited, std::chrono::seconds(20));
  ASSERT_TRUE(source_->SetBrokersUp(true).ok());
  auto again = admin_->Watermarks(tp, Millis(10000));
  EXPECT_TRUE(again.ok()) << again.status().message();
}

// A partition the topic does not have is a usage error naming it, not a
// partition waiting for its leader.
TEST_F(EmbeddedWatermarks, OfAPartitionTheTopicLacksAreAUsageError) {
  ASSERT_NO_FATAL_FAILURE(Start(2));
  auto wm = admin_->Watermarks(Tp(2), Millis(20000));
  ASSERT_FALSE(wm.ok());
  EXPECT_EQ(wm.status().code(), ExitCode::kUsage) << wm.status().message();
  EXPECT_NE(wm.status().message().find("watermarks of prompt.lifecycle [2]"), std::string::npos)
      << wm.status().message();
  EXPECT_TRUE(admin_->Watermarks(Tp(1), Millis(5000)).ok());
}

// An idempotent batch refused with NOT_LEADER while the next batch of the
// partition lands: librdkafka 2.0.2 takes the first as written and reports
// its records delivered with no offset. They may be lost, so Flush fails
// and names the partition instead of counting them delivered.
TEST_F(EmbeddedWatermarks, ABatchAckedWithoutAnOffsetIsNotDelivered) {
  constexpr int kProduce = 0;
  ASSERT_NO_FATAL_FAILURE(Start(1));
  std::vector<DeliveryReport> reports;
  ProducerOptions options;
  options.linger_ms = 0;
  ClientConfig config = testing::ConfigFor(source_->bootstrap());
  config.Set("batch.num.messages", "1");  // each record its own request, pipelined
  auto producer =
      Producer::Create(config, options, [&](const DeliveryReport& dr) { reports.push_back(dr); });
  ASSERT_TRUE(producer.ok()) << producer.status().message();
  // Queued before the producer has its id, the records leave back to back
  // once it has one: the second request is on the wire before the first's
  // refusal comes back.
  source_->FailRequests(kProduce, kNotLeader, 1);
  for (int i = 0; i < 4; ++i) {
    Record r;
    r.topic = Topic("prompt.lifecycle");
    r.partition = Partition(0);
    r.value = std::string("v") + std::to_string(i);
    ASSERT_TRUE((*producer)->Send(r).ok());
  }
  Status flushed = (*producer)->Flush(Millis(10000));
  int64_t without_offset = 0;
  for (const DeliveryReport& dr : reports) without_offset += dr.err && dr.offset.value() < 0;
  for (const DeliveryReport& dr : reports) {
    EXPECT_TRUE(dr.err || dr.offset.value() >= 0) << "a success without an offset";
  }
  ASSERT_GT(without_offset, 0) << "no batch was acked implicitly: the case is not exercised";
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.code(), ExitCode::kInfrastructure);
  EXPECT_NE(flushed.message().find("prompt.lifecycle [0]: acknowledged without an offset"),
            std::string::npos)
      << flushed.message();
}

// A broker that answers OffsetFetch for a group it does not know with
// GROUP_ID_NOT_FOUND (kfake; Apache Kafka answers with no offsets) gives no
// committed offsets, not a failure.
TEST_F(EmbeddedWatermarks, AnUnknownGroupHasNoCommittedOffsets) {
  constexpr int kOffsetFetch = 9, kGroupIdNotFound = 69;
  ASSERT_NO_FATAL_FAILURE(Start(1));
  source_->FailRequests(kOffsetFetch, kGroupIdNotFound, 1);
  auto offsets = CommittedOffsets(testing::ConfigFor(source_->bootstrap()), "app.unknown", {Tp(0)},
                                  Millis(10000));
  ASSERT_TRUE(offsets.ok()) << offsets.status().message();
  EXPECT_TRUE(offsets->empty());
}

// lifeline's own Fetch reader (ReaderBackend::kRaw) against the mock, whose
// Fetch answers carry the errors of a leader move: each costs a metadata
// refresh and another try, and no record is lost or read twice.
class EmbeddedRawReader : public EmbeddedWatermarks {
 protected:
  static constexpr int kFetch = 1, kPartitions = 3, kPerPartition = 20;
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Start(kPartitions));
    auto producer = Producer::Create(testing::ConfigFor(source_->bootstrap()), {});
    ASSERT_TRUE(producer.ok()) << producer.status().message();
    for (int i = 0; i < kPartitions * kPerPartition; ++i) {
      Record r;
      r.topic = Topic("prompt.lifecycle");
      r.partition = Partition(i % kPartitions);
      r.value = std::to_string(i);
      ASSERT_TRUE((*producer)->Send(r).ok());
    }
    ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
  }
  // Every record read, as "partition/offset", and the read's status.
  Status Read(std::vector<std::string>* seen, Millis idle = Millis(10000)) {
    TopicReadOptions options;
    options.topic = "prompt.lifecycle";
    options.read_committed = false;  // the mock writes no transaction markers
    options.backend = ReaderBackend::kRaw;
    options.idle_timeout = idle;
    return ReadTopic(testing::ConfigFor(source_->bootstrap()), options, [&](const Record& r) {
      seen->push_back(fmt::format("{}/{}", r.partition.value(), r.offset.value()));
      return Status::Ok();
    });
  }
  static std::vector<std::string> Everything() {
    std::vector<std::string> all;
    for (int p = 0; p < kPartitions; ++p) {
      for (int o = 0; o < kPerPartition; ++o) all.push_back(fmt::format("{}/{}", p, o));
    }
    return all;
  }
};

TEST_F(EmbeddedRawReader, RetriesTheFetchErrorsOfALeaderMoveAndLosesNothing) {
  // NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
  // OFFSET_NOT_AVAILABLE.
  for (int error : {6, 74, 75, 78}) {
    source_->FailRequests(kFetch, error, 3);
    std::vector<std::string> seen;
    Status st = Read(&seen);
    ASSERT_TRUE(st.ok()) << "error " << error << ": " << st.message();
    EXPECT_EQ(seen, Everything()) << "error " << error;
  }
}

// A leader that never comes back ends the read once nothing moved for the
// idle timeout, naming the partition, the offset and the broker's answer.
TEST_F(EmbeddedRawReader, GivesUpOnALeaderThatNeverComesBackNamingTheError) {
  source_->FailRequests(kFetch, kNotLeader, 100000);
  std::vector<std::string> seen;
  Status st = Read(&seen, Millis(2000));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ExitCode::kInfrastructure) << st.message();
  EXPECT_NE(st.message().find("prompt.lifecycle [0] at offset 0"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("Not leader for partition"), std::string::npos) << st.message();
  EXPECT_TRUE(seen.empty());
}

// An error no retry cures (CORRUPT_MESSAGE, librdkafka's INVALID_MSG) ends
// the read at once, naming where.
TEST_F(EmbeddedRawReader, EndsAtAnErrorNoRetryCures) {
  source_->FailRequests(kFetch, 2, 1);
  std::vector<std::string> seen;
  Status st = Read(&seen);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ExitCode::kInfrastructure) << st.message();
  EXPECT_NE(st.message().find("prompt.lifecycle [0] at offset 0"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("INVALID_MSG"), std::string::npos) << st.message();
}

TEST(EmbeddedSandbox, RefusesADuplicateClusterName) {
  auto sandbox = EmbeddedSandbox::Start({"a", "a"});
  ASSERT_FALSE(sandbox.ok());
  EXPECT_EQ(sandbox.status().code(), ExitCode::kUsage);
}

}  // namespace
}  // namespace lifeline
