// The reader seam against real Apache Kafka, for both backends: where a
// range ends when transactions, aborted records and markers are in the log
// (range_end.h), and one-record reads (ReadOne).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/reader.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

using testing::UniqueName;
using Clock = std::chrono::steady_clock;

constexpr Millis kTimeout{30000};
// Short, so a range that only ends by timing out fails the test quickly
// instead of passing late.
constexpr Millis kNoProgress{5000};

Record Value(const std::string& topic, int32_t partition, const std::string& v) {
  Record r;
  r.topic = Topic(topic);
  r.partition = Partition(partition);
  r.key = "k";
  r.value = v;
  return r;
}

// Every record as "range:value", and each range end as "end:range".
class Collect : public RecordSink {
 public:
  Status OnRecord(size_t range, const RecordView& r) override {
    seen.push_back(std::to_string(range) + ":" + std::string(r.value, r.value_size));
    offsets.push_back(r.offset);
    return Status::Ok();
  }
  Status OnRangeEnd(size_t range) override {
    seen.push_back("end:" + std::to_string(range));
    return Status::Ok();
  }
  std::vector<std::string> seen;
  std::vector<int64_t> offsets;
};

class ReaderIntegration : public testing::RealKafkaTest,
                          public ::testing::WithParamInterface<ReaderBackend> {
 protected:
  // A one-partition topic whose log is, by offset: 0 c1, 1 c2, 2 commit
  // marker, 3 aborted, 4 abort marker, 5 c3, 6 c4, 7 commit marker (the
  // last offset; the high watermark is 8). A second partition stays empty.
  std::string TransactionalTopic() {
    std::string topic = UniqueName("reader-txn");
    auto admin = Admin::Create(source_);
    EXPECT_TRUE(admin.ok());
    EXPECT_TRUE((*admin)->CreateTopic({topic, 2, -1, {}}, kTimeout).ok());
    ProducerOptions popts;
    popts.transactional_id = UniqueName("reader-txn-producer");
    auto producer = Producer::Create(source_, popts);
    EXPECT_TRUE(producer.ok()) << producer.status().message();
    Producer& p = **producer;
    EXPECT_TRUE(p.InitTransactions(kTimeout).ok());
    auto transaction = [&](const std::vector<std::string>& values, bool commit) {
      EXPECT_TRUE(p.BeginTransaction().ok());
      for (const std::string& v : values) EXPECT_TRUE(p.Send(Value(topic, 0, v)).ok());
      EXPECT_TRUE(p.Flush(kTimeout).ok());
      EXPECT_TRUE((commit ? p.CommitTransaction(kTimeout) : p.AbortTransaction(kTimeout)).ok());
    };
    transaction({"c1", "c2"}, true);
    transaction({"aborted"}, false);
    transaction({"c3", "c4"}, true);
    // The commit returns before the marker is written; wait until it is.
    for (auto deadline = Clock::now() + kTimeout; Clock::now() < deadline;) {
      auto wm = (*admin)->Watermarks({Topic(topic), Partition(0)}, kTimeout);
      if (wm.ok() && wm->high.value() >= 8) break;
      std::this_thread::sleep_for(Millis(50));
    }
    return topic;
  }

  // Reads `ranges` with the backend under test; the time it took in `*took`.
  Status Read(const std::vector<ReadRange>& ranges, Collect* sink, Millis* took = nullptr) {
    ReaderOptions o;
    o.backend = GetParam();
    o.no_progress = kNoProgress;
    const auto started = Clock::now();
    Status st = ReadRanges(source_, ranges, sink, o);
    if (took) *took = std::chrono::duration_cast<Millis>(Clock::now() - started);
    return st;
  }

  static ReadRange Range(const std::string& topic, int32_t p, int64_t start, int64_t end) {
    return {{Topic(topic), Partition(p)}, start, end};
  }
};

TEST_P(ReaderIntegration, ARangeEndingInACommitMarkerEndsWithoutWaiting) {
  const std::string topic = TransactionalTopic();
  Collect sink;
  Millis took{0};
  Status st = Read({Range(topic, 0, 0, 8)}, &sink, &took);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(sink.seen, (std::vector<std::string>{"0:c1", "0:c2", "0:c3", "0:c4", "end:0"}));
  EXPECT_EQ(sink.offsets, (std::vector<int64_t>{0, 1, 5, 6}));
  EXPECT_LT(took, kNoProgress);
}

TEST_P(ReaderIntegration, ARangeEndingPastAMarkerOrInsideAbortedRecordsEnds) {
  const std::string topic = TransactionalTopic();
  Collect sink;
  Millis took{0};
  // [0, 3): its last offset is the first commit marker; [0, 4): it ends
  // inside the aborted transaction; [3, 5): only aborted records and a
  // marker; [2, 6): from a marker to the middle of a transaction.
  Status st = Read(
      {Range(topic, 0, 0, 3), Range(topic, 0, 0, 4), Range(topic, 0, 3, 5), Range(topic, 0, 2, 6)},
      &sink, &took);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(sink.seen, (std::vector<std::string>{"0:c1", "0:c2", "end:0", "1:c1", "1:c2", "end:1",
                                                 "end:2", "3:c3", "end:3"}));
  EXPECT_LT(took, kNoProgress);
}

TEST_P(ReaderIntegration, AnEmptyPartitionAndAnEmptyRangeEndAtOnce) {
  const std::string topic = TransactionalTopic();
  Collect sink;
  Millis took{0};
  Status st =
      Read({Range(topic, 1, 0, 0), Range(topic, 0, 5, 5), Range(topic, 0, 6, 7)}, &sink, &took);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(sink.seen, (std::vector<std::string>{"end:0", "end:1", "2:c4", "end:2"}));
  EXPECT_LT(took, kNoProgress);
}

TEST_P(ReaderIntegration, ReadOneFindsCommittedRecordsAndNothingElse) {
  const std::string topic = TransactionalTopic();
  ReaderOptions o;
  o.backend = GetParam();
  o.no_progress = kNoProgress;
  const TopicPartition tp{Topic(topic), Partition(0)};
  auto c3 = ReadOne(source_, tp, 5, o);
  ASSERT_TRUE(c3.ok()) << c3.status().message();
  ASSERT_TRUE(c3->has_value());
  EXPECT_EQ((*c3)->value, "c3");
  EXPECT_EQ((*c3)->offset.value(), 5);
  EXPECT_EQ((*c3)->topic.value(), topic);
  // A marker, an aborted record, the high watermark, far past it, and an
  // empty partition.
  for (auto [partition, offset] :
       {std::pair{0, 2}, {0, 3}, {0, 4}, {0, 7}, {0, 8}, {0, 1000}, {1, 0}}) {
    auto none = ReadOne(source_, {Topic(topic), Partition(partition)}, offset, o);
    ASSERT_TRUE(none.ok()) << none.status().message();
    EXPECT_FALSE(none->has_value()) << partition << "/" << offset;
  }
}

TEST_P(ReaderIntegration, ReadOneBelowTheLogStartFindsNothing) {
  const std::string topic = UniqueName("reader-deleted");
  auto admin = Admin::Create(source_);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->CreateTopic({topic, 1, -1, {}}, kTimeout).ok());
  auto producer = Producer::Create(source_, {});
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*producer)->Send(Value(topic, 0, std::to_string(i))).ok());
  }
  ASSERT_TRUE((*producer)->Flush(kTimeout).ok());
  const TopicPartition tp{Topic(topic), Partition(0)};
  ASSERT_TRUE((*admin)->DeleteRecords(tp, Offset(3), kTimeout).ok());
  ReaderOptions o;
  o.backend = GetParam();
  o.no_progress = kNoProgress;
  auto gone = ReadOne(source_, tp, 1, o);
  ASSERT_TRUE(gone.ok()) << gone.status().message();
  EXPECT_FALSE(gone->has_value());
  auto kept = ReadOne(source_, tp, 3, o);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->value, "3");
}

INSTANTIATE_TEST_SUITE_P(Backends, ReaderIntegration,
                         ::testing::Values(ReaderBackend::kRaw, ReaderBackend::kLibrdkafka),
                         [](const auto& info) {
                           return std::string(ReaderBackendName(info.param));
                         });

// Not parameterized: no backend is reached when the metadata is not.
TEST(ReaderUnreachable, ReadOneOfAClusterThatDoesNotAnswerIsAnError) {
  ClientConfig config;
  config.Set("bootstrap.servers", "127.0.0.1:1");
  auto r = ReadOne(config, {Topic("t"), Partition(0)}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().code(), ExitCode::kOk);
}

}  // namespace
}  // namespace lifeline
