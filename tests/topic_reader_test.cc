// ReadTopic against real Apache Kafka, through each backend of the reader
// seam: it must terminate on partitions whose last offsets are transaction
// markers, and read_committed must hide aborted records.
#include "core/topic_reader.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace lifeline {
namespace {

using testing::UniqueName;

class TopicReaderIntegration : public testing::RealKafkaTest,
                               public ::testing::WithParamInterface<ReaderBackend> {};

Record Value(const std::string& topic, const std::string& v) {
  Record r;
  r.topic = Topic(topic);
  r.partition = Partition(0);
  r.key = "k";
  r.value = v;
  return r;
}

TEST_P(TopicReaderIntegration, SkipsAbortedRecordsAndStopsAtTrailingMarkers) {
  const std::string topic = UniqueName("txn");
  auto admin = Admin::Create(source_);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  ProducerOptions popts;
  popts.transactional_id = UniqueName("txn-producer");
  auto producer = Producer::Create(source_, popts);
  ASSERT_TRUE(producer.ok()) << producer.status().message();
  auto& p = **producer;
  ASSERT_TRUE(p.InitTransactions(Millis(30000)).ok());
  ASSERT_TRUE(p.BeginTransaction().ok());
  ASSERT_TRUE(p.Send(Value(topic, "committed-1")).ok());
  ASSERT_TRUE(p.Send(Value(topic, "committed-2")).ok());
  ASSERT_TRUE(p.CommitTransaction(Millis(30000)).ok());
  ASSERT_TRUE(p.BeginTransaction().ok());
  ASSERT_TRUE(p.Send(Value(topic, "aborted")).ok());
  ASSERT_TRUE(p.Flush(Millis(10000)).ok());
  ASSERT_TRUE(p.AbortTransaction(Millis(30000)).ok());

  auto read = [&](bool committed) {
    std::vector<std::string> values;
    TopicReadOptions options;
    options.topic = topic;
    options.read_committed = committed;
    options.backend = GetParam();
    options.idle_timeout = Millis(10000);
    Status st = ReadTopic(source_, options, [&](const Record& r) {
      values.push_back(*r.value);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return values;
  };
  // Offsets: 0,1 committed, 2 commit marker, 3 aborted, 4 abort marker.
  EXPECT_EQ(read(true), (std::vector<std::string>{"committed-1", "committed-2"}));
  EXPECT_EQ(read(false), (std::vector<std::string>{"committed-1", "committed-2", "aborted"}));
}

// A read started right after records were written returns every one of
// them: a partition is finished only at the end planned when the read began,
// whatever offset an end-of-partition event reports (in CI a replay once read
// 963 of 967 records just written, each partition ended by such an event).
TEST_P(TopicReaderIntegration, ReadRightAfterWritingReturnsEveryRecord) {
  auto admin = Admin::Create(source_);
  ASSERT_TRUE(admin.ok());
  auto producer = Producer::Create(source_, {});
  ASSERT_TRUE(producer.ok());
  for (int round = 0; round < 5; ++round) {
    const std::string topic = UniqueName("fresh-read");
    ASSERT_TRUE((*admin)->CreateTopic({topic, 8, -1, {}}, Millis(15000)).ok());
    for (int i = 0; i < 2000; ++i) {
      Record r = Value(topic, std::to_string(i));
      r.partition = Partition(i % 8);
      ASSERT_TRUE((*producer)->Send(r).ok());
    }
    ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
    TopicReadOptions options;
    options.topic = topic;
    options.backend = GetParam();
    std::map<Partition, PartitionExtent> extents;
    int64_t read = 0;
    Status st = ReadTopic(
        source_, options,
        [&](const Record&) {
          ++read;
          return Status::Ok();
        },
        &extents);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(read, 2000) << "round " << round;
    for (const auto& [p, e] : extents) EXPECT_EQ(e.records, e.end.value() - e.start.value());
  }
}

TEST_P(TopicReaderIntegration, HonoursPerPartitionStartAndEnd) {
  const std::string topic = UniqueName("range");
  auto admin = Admin::Create(source_);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->CreateTopic({topic, 1, -1, {}}, Millis(15000)).ok());
  auto producer = Producer::Create(source_, {});
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*producer)->Send(Value(topic, std::to_string(i))).ok());
  ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
  TopicReadOptions options;
  options.topic = topic;
  options.backend = GetParam();
  options.start[Partition(0)] = Offset(3);
  options.end[Partition(0)] = Offset(6);
  std::vector<int64_t> offsets;
  std::map<Partition, PartitionExtent> extents;
  ASSERT_TRUE(ReadTopic(
                  source_, options,
                  [&](const Record& r) {
                    offsets.push_back(r.offset.value());
                    return Status::Ok();
                  },
                  &extents)
                  .ok());
  EXPECT_EQ(offsets, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(extents[Partition(0)].records, 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, TopicReaderIntegration,
                         ::testing::Values(ReaderBackend::kRaw, ReaderBackend::kLibrdkafka),
                         [](const auto& info) {
                           return std::string(ReaderBackendName(info.param));
                         });

}  // namespace
}  // namespace lifeline
