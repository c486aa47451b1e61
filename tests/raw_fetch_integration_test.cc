// verify's raw Fetch reader against real Apache Kafka: for the same ranges
// it must hand verify exactly what the librdkafka reader does (offsets and
// every digest, bit for bit) — headers with null values, null and empty keys
// and values, every codec written by librdkafka and by the broker's Java
// code, LogAppendTime, transactions aborted and committed between plain
// records, ranges starting and ending inside batches, a compacted log whose
// ranges start and end inside the cleaner's gaps, records larger than the
// fetch limits — and fail with errors that say where.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "core/reader.h"
#include "core/signals.h"
#include "tests/test_support.h"
#include "verify/internal/summary.h"
#include "verify/verify.h"

namespace lifeline {
namespace {

using testing::UniqueName;
using verify::FetchRange;

using verify::Reader;
using verify::RecordSummary;
constexpr Millis kTimeout{20000};
using Summaries = std::vector<std::vector<RecordSummary>>;

class RawFetchIntegration : public testing::RealKafkaTest {
 protected:
  std::string NewTopic(const std::string& stem,
                       std::vector<std::pair<std::string, std::string>> configs = {}) {
    std::string topic = UniqueName(stem);
    auto admin = Admin::Create(source_);
    EXPECT_TRUE(admin.ok());
    if (!admin.ok()) return topic;
    configs.emplace_back("retention.ms", "-1");
    Status st = (*admin)->CreateTopic({topic, 1, -1, configs}, kTimeout);
    EXPECT_TRUE(st.ok()) << st.message();
    return topic;
  }

  // Sends `records` to partition 0 of `topic` in batches of up to `linger`
  // worth of records, with extra producer properties.
  void Produce(const std::string& topic, const std::vector<Record>& records,
               const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    ClientConfig c = source_;
    for (const auto& [k, v] : extra) c.Set(k, v);
    ProducerOptions opts;
    opts.linger_ms = 100;
    auto p = Producer::Create(c, opts);
    ASSERT_TRUE(p.ok()) << p.status().message();
    for (Record r : records) {
      r.topic = Topic(topic);
      r.partition = Partition(0);
      ASSERT_TRUE((*p)->Send(r).ok());
    }
    Status st = (*p)->Flush(kTimeout);
    ASSERT_TRUE(st.ok()) << st.message();
  }

  int64_t End(const std::string& topic) {
    auto admin = Admin::Create(source_);
    EXPECT_TRUE(admin.ok());
    auto wm = (*admin)->Watermarks({Topic(topic), Partition(0)}, kTimeout);
    EXPECT_TRUE(wm.ok()) << wm.status().message();
    return wm.ok() ? wm->high.value() : -1;
  }

  static FetchRange Range(const std::string& topic, int64_t start, int64_t end) {
    return {{Topic(topic), Partition(0)}, start, end};
  }

  // Reads `ranges` with both readers, expects them to agree record for
  // record, and returns what they read.
  Summaries ReadBoth(const std::vector<FetchRange>& ranges, const ReaderOptions& raw = {}) {
    auto reference = verify::SummarizeRanges(source_, ranges, Reader::kLibrdkafka);
    EXPECT_TRUE(reference.ok()) << reference.status().message();
    auto ours = verify::SummarizeRanges(source_, ranges, Reader::kRaw, raw);
    EXPECT_TRUE(ours.ok()) << ours.status().message();
    if (!reference.ok() || !ours.ok()) return {};
    EXPECT_EQ(reference->size(), ours->size());
    for (size_t i = 0; i < ranges.size() && i < ours->size(); ++i) {
      const auto& a = (*reference)[i];
      const auto& b = (*ours)[i];
      EXPECT_EQ(a.size(), b.size())
          << "range " << i << " [" << ranges[i].start << ", " << ranges[i].end << ")";
      for (size_t j = 0; j < a.size() && j < b.size(); ++j) {
        if (a[j] == b[j]) continue;
        ADD_FAILURE() << fmt::format(
            "range {} record {}: librdkafka offset {} digest {}, raw offset {} digest {} "
            "(key {}, value {}, headers {}, timestamp {})",
            i, j, a[j].offset, a[j].digest.Hex(), b[j].offset, b[j].digest.Hex(),
            a[j].key == b[j].key ? "same" : "differs",
            a[j].value == b[j].value ? "same" : "differs",
            a[j].headers == b[j].headers ? "same" : "differs",
            a[j].timestamp == b[j].timestamp ? "same" : "differs");
        break;
      }
    }
    return std::move(ours).value();
  }
};

std::vector<int64_t> Offsets(const std::vector<RecordSummary>& s) {
  std::vector<int64_t> out;
  out.reserve(s.size());
  for (const RecordSummary& r : s) out.push_back(r.offset);
  return out;
}

std::vector<int64_t> Iota(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

// Records with 0-7 headers (null and empty values, repeated names, a name
// with a NUL byte), null and empty keys and values, explicit timestamps.
std::vector<Record> Varied(int n, size_t value_size = 120) {
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) {
    Record r;
    if (i % 5 == 0) {
      r.key.reset();
    } else if (i % 5 == 1) {
      r.key = "";
    } else {
      r.key = fmt::format("prompt-{}", i % 9);
    }
    if (i % 7 == 0) {
      r.value.reset();
    } else if (i % 7 == 1) {
      r.value = "";
    } else {
      r.value = fmt::format("{{\"event\":{},\"body\":\"{}\"}}", i,
                            std::string(value_size, static_cast<char>('a' + i % 26)));
    }
    const std::vector<Header> all = {{"ce_id", fmt::format("id-{}", i)},
                                     {"ce_source", "/registry/test"},
                                     {"null", std::nullopt},
                                     {"empty", ""},
                                     {"ce_id", "repeated"},
                                     {std::string("nul\0name", 8), "x"},
                                     {"trace", std::string(40, 't')}};
    r.headers.assign(all.begin(), all.begin() + i % 8);
    r.timestamp = TimestampMs(1700000000000 + int64_t{i} * 37);
    out.push_back(std::move(r));
  }
  return out;
}

TEST_F(RawFetchIntegration, AgreesOnHeadersNullsAndEmpties) {
  const std::string topic = NewTopic("raw.varied");
  Produce(topic, Varied(200));
  const int64_t end = End(topic);
  ASSERT_EQ(end, 200);
  Summaries s = ReadBoth({Range(topic, 0, end)});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(Offsets(s[0]), Iota(0, 200));
}

// (compression.codec of a librdkafka producer, or the topic's
// compression.type so the broker's Java code recompresses)
struct CodecCase {
  std::string codec;
  bool by_broker;
};

class RawFetchCodec : public RawFetchIntegration,
                      public ::testing::WithParamInterface<CodecCase> {};

TEST_P(RawFetchCodec, AgreesOnCompressedBatches) {
  const CodecCase& c = GetParam();
  std::vector<std::pair<std::string, std::string>> topic_configs, producer;
  if (c.by_broker) {
    topic_configs.emplace_back("compression.type", c.codec);
  } else {
    producer.emplace_back("compression.codec", c.codec);
  }
  const std::string topic = NewTopic("raw.codec." + c.codec, topic_configs);
  // Several batches, one big enough to outgrow the first decompression buffer.
  Produce(topic, Varied(1500, 600), producer);
  Produce(topic, Varied(30), producer);
  const int64_t end = End(topic);
  ASSERT_EQ(end, 1530);
  Summaries s = ReadBoth({Range(topic, 0, end), Range(topic, 777, 1501)});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(Offsets(s[0]), Iota(0, 1530));
  EXPECT_EQ(Offsets(s[1]), Iota(777, 1501));
}

INSTANTIATE_TEST_SUITE_P(EveryCodec, RawFetchCodec,
                         ::testing::Values(CodecCase{"gzip", false}, CodecCase{"snappy", false},
                                           CodecCase{"lz4", false}, CodecCase{"zstd", false},
                                           CodecCase{"gzip", true}, CodecCase{"snappy", true},
                                           CodecCase{"lz4", true}, CodecCase{"zstd", true}),
                         [](const ::testing::TestParamInfo<CodecCase>& info) {
                           return info.param.codec +
                                  (info.param.by_broker ? "ByBroker" : "ByProducer");
                         });

TEST_F(RawFetchIntegration, AgreesOnLogAppendTime) {
  const std::string topic =
      NewTopic("raw.logappend", {{"message.timestamp.type", "LogAppendTime"}});
  Produce(topic, Varied(100));
  Produce(topic, Varied(20));
  const int64_t end = End(topic);
  Summaries s = ReadBoth({Range(topic, 0, end)});
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].size(), 120u);
  // The broker's time, not the producer's distinct ones: repeated within a batch.
  EXPECT_EQ(s[0][0].timestamp, s[0][1].timestamp);
}

TEST_F(RawFetchIntegration, AgreesOnTransactionsAbortedAndCommittedAmongPlainRecords) {
  const std::string topic = NewTopic("raw.txn");
  ClientConfig c = source_;
  auto plain = Producer::Create(c, {});
  ProducerOptions ta, tb;
  ta.transactional_id = UniqueName("raw-txn-a");
  tb.transactional_id = UniqueName("raw-txn-b");
  auto a = Producer::Create(c, ta);
  auto b = Producer::Create(c, tb);
  ASSERT_TRUE(plain.ok() && a.ok() && b.ok());
  ASSERT_TRUE((*a)->InitTransactions(kTimeout).ok());
  ASSERT_TRUE((*b)->InitTransactions(kTimeout).ok());
  int n = 0;
  std::vector<std::string> visible;
  // Each send is flushed so the log interleaves in exactly this order.
  auto send = [&](Producer* p, bool shown) {
    Record r;
    r.topic = Topic(topic);
    r.partition = Partition(0);
    r.key = fmt::format("k{}", n);
    r.value = fmt::format("record {} ({})", n, shown ? "visible" : "aborted");
    r.headers = {{"n", std::to_string(n)}, {"null", std::nullopt}};
    r.timestamp = TimestampMs(1700000000000 + n);
    ++n;
    ASSERT_TRUE(p->Send(r).ok());
    ASSERT_TRUE(p->Flush(kTimeout).ok());
    if (shown) visible.push_back(*r.value);
  };
  Producer *A = a->get(), *B = b->get(), *P = plain->get();
  send(P, true);
  ASSERT_TRUE(A->BeginTransaction().ok());
  send(A, false);
  send(A, false);
  ASSERT_TRUE(B->BeginTransaction().ok());
  send(B, true);
  send(P, true);
  send(A, false);
  ASSERT_TRUE(A->AbortTransaction(kTimeout).ok());
  send(B, true);
  send(P, true);
  ASSERT_TRUE(B->CommitTransaction(kTimeout).ok());
  ASSERT_TRUE(A->BeginTransaction().ok());
  send(A, true);
  ASSERT_TRUE(B->BeginTransaction().ok());
  send(B, false);
  send(A, true);
  ASSERT_TRUE(A->CommitTransaction(kTimeout).ok());
  send(B, false);
  ASSERT_TRUE(B->AbortTransaction(kTimeout).ok());
  send(P, true);
  ASSERT_TRUE(A->BeginTransaction().ok());
  send(A, false);
  ASSERT_TRUE(A->AbortTransaction(kTimeout).ok());

  const int64_t end = End(topic);
  ASSERT_GT(end, n);  // the markers take offsets too
  // The whole log, and a range starting at every offset (inside aborted
  // transactions, on markers) and ending at every offset.
  std::vector<FetchRange> ranges = {Range(topic, 0, end)};
  for (int64_t s = 1; s < end; ++s) ranges.push_back(Range(topic, s, end));
  for (int64_t e = 1; e < end; ++e) ranges.push_back(Range(topic, 0, e));
  Summaries s = ReadBoth(ranges);
  ASSERT_EQ(s.size(), ranges.size());
  EXPECT_EQ(s[0].size(), visible.size());
  // What a read_committed reader shows, and nothing else.
  auto shown = testing::ReadBack(source_, topic, 0, visible.size(), /*read_committed=*/true);
  ASSERT_EQ(shown.size(), visible.size());
  for (size_t i = 0; i < shown.size(); ++i) EXPECT_EQ(shown[i].value, visible[i]);
  for (size_t i = 0; i < s[0].size(); ++i) EXPECT_EQ(s[0][i].offset, shown[i].offset.value());
}

TEST_F(RawFetchIntegration, RangesStartAndEndInsideBatchesAndSurviveCutBatches) {
  const std::string topic = NewTopic("raw.mid");
  Produce(topic, Varied(1000, 300), {{"batch.num.messages", "400"}});
  const int64_t end = End(topic);
  ASSERT_EQ(end, 1000);
  const std::vector<FetchRange> ranges = {Range(topic, 137, 733), Range(topic, 0, 1),
                                          Range(topic, 999, 1000), Range(topic, 500, 500),
                                          Range(topic, 733, 1000)};
  // Default limits, then limits far below a batch (~170 KB): every response
  // holds one whole batch (KIP-74) and the start of the next.
  ReaderOptions tight;
  tight.partition_max_bytes = 10000;
  tight.max_bytes = 10000;
  for (const ReaderOptions& o : {ReaderOptions{}, tight}) {
    Summaries s = ReadBoth(ranges, o);
    ASSERT_EQ(s.size(), ranges.size());
    EXPECT_EQ(Offsets(s[0]), Iota(137, 733));
    EXPECT_EQ(Offsets(s[1]), Iota(0, 1));
    EXPECT_EQ(Offsets(s[2]), Iota(999, 1000));
    EXPECT_TRUE(s[3].empty());
    EXPECT_EQ(Offsets(s[4]), Iota(733, 1000));
  }
}

// The log cleaner leaves offsets with no record. A range that ends inside
// such a gap has no record at end - 1: both readers must finish there (not
// wait for it), and agree on every record, also for ranges that start in a
// gap or lie wholly inside one.
TEST_F(RawFetchIntegration, AgreesOnACompactedLogAndEndsInsideItsGaps) {
  const std::string topic = NewTopic("raw.compacted", {{"cleanup.policy", "compact"},
                                                       {"segment.ms", "100"},
                                                       {"min.cleanable.dirty.ratio", "0.01"},
                                                       {"min.compaction.lag.ms", "0"},
                                                       {"delete.retention.ms", "86400000"}});
  // Rounds of one key written once and four keys overwritten; each round in
  // a segment of its own (segment.ms), so the cleaner can drop old copies.
  auto round = [&](int n) {
    std::vector<Record> records;
    for (int k = 0; k < 5; ++k) {
      Record r;
      r.key = k == 0 ? fmt::format("once-{}", n) : fmt::format("hot-{}", k);
      r.value = fmt::format("v{}", n);
      records.push_back(std::move(r));
    }
    Produce(topic, records);
    std::this_thread::sleep_for(Millis(250));
  };
  for (int n = 0; n < 6; ++n) round(n);
  // Wait for gaps (the cleaner looks every 15 s when idle; the active
  // segment is never cleaned: keep rolling).
  std::vector<int64_t> offsets;
  int64_t end = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    end = End(topic);
    Summaries s = ReadBoth({Range(topic, 0, end)});
    ASSERT_EQ(s.size(), 1u);
    offsets = Offsets(s[0]);
    if (static_cast<int64_t>(offsets.size()) < end) break;
    round(6 + i);
  }
  ASSERT_LT(static_cast<int64_t>(offsets.size()), end) << "the cleaner left no gap in time";
  // The cleaner may still be at work: wait until two reads a while apart
  // agree, or the two readers below could see different logs.
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(Millis(1500));
    Summaries s = ReadBoth({Range(topic, 0, end)});
    ASSERT_EQ(s.size(), 1u);
    std::vector<int64_t> again = Offsets(s[0]);
    if (again == offsets) break;
    offsets = std::move(again);
  }
  // The first gap, [gap_from, gap_to): offsets 0..gap_from-1 all hold a
  // record, gap_to is the next one that does.
  size_t after = 0;
  while (after < offsets.size() && offsets[after] == static_cast<int64_t>(after)) ++after;
  ASSERT_LT(after, offsets.size()) << "no record after the first gap";
  const auto gap_from = static_cast<int64_t>(after);
  const int64_t gap_to = offsets[after];
  const std::vector<int64_t> before_gap(offsets.begin(), offsets.begin() + after);
  const std::vector<int64_t> from_gap(offsets.begin() + after, offsets.end());
  const std::vector<FetchRange> ranges = {Range(topic, 0, gap_from + 1),   // ends inside the gap
                                          Range(topic, gap_from, end),     // starts inside it
                                          Range(topic, gap_from, gap_to),  // wholly inside it
                                          Range(topic, 0, end)};           // the whole log
  Summaries s = ReadBoth(ranges);
  ASSERT_EQ(s.size(), ranges.size());
  EXPECT_EQ(Offsets(s[0]), before_gap);
  EXPECT_EQ(Offsets(s[1]), from_gap);
  EXPECT_TRUE(s[2].empty());
  EXPECT_EQ(Offsets(s[3]), offsets);
}

TEST_F(RawFetchIntegration, RecordsLargerThanTheFetchLimitsComeWhole) {
  const std::string topic = NewTopic("raw.large");
  std::vector<Record> records = Varied(12, size_t{200} * 1000);
  Produce(topic, records);
  const int64_t end = End(topic);
  ReaderOptions tiny;
  tiny.partition_max_bytes = 64 * 1024;
  tiny.max_bytes = 64 * 1024;
  Summaries s = ReadBoth({Range(topic, 0, end), Range(topic, 3, 9)}, tiny);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(Offsets(s[0]), Iota(0, 12));
  EXPECT_EQ(Offsets(s[1]), Iota(3, 9));
}

TEST_F(RawFetchIntegration, OffsetOutOfRangeNamesTopicPartitionOffsetAndTheError) {
  const std::string topic = NewTopic("raw.oor");
  Produce(topic, Varied(10));
  auto admin = Admin::Create(source_);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->DeleteRecords({Topic(topic), Partition(0)}, Offset(5), kTimeout).ok());
  const auto started = std::chrono::steady_clock::now();
  auto s = verify::SummarizeRanges(source_, {Range(topic, 2, 10)}, Reader::kRaw);
  // At once: not retried until the no-progress limit.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ExitCode::kInfrastructure);
  const std::string& m = s.status().message();
  EXPECT_NE(m.find(topic + " [0] at offset 2"), std::string::npos) << m;
  EXPECT_NE(m.find("OFFSET_OUT_OF_RANGE"), std::string::npos) << m;
  EXPECT_NE(m.find("broker 1 at "), std::string::npos) << m;
}

TEST_F(RawFetchIntegration, AnOpenTransactionStopsProgressAndFailsAfterTheLimit) {
  const std::string topic = NewTopic("raw.open");
  Produce(topic, Varied(5));
  ProducerOptions t;
  t.transactional_id = UniqueName("raw-open");
  auto p = Producer::Create(source_, t);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->InitTransactions(kTimeout).ok());
  ASSERT_TRUE((*p)->BeginTransaction().ok());
  for (Record r : Varied(3)) {
    r.topic = Topic(topic);
    r.partition = Partition(0);
    ASSERT_TRUE((*p)->Send(r).ok());
  }
  ASSERT_TRUE((*p)->Flush(kTimeout).ok());
  // The end verify would read to is the last stable offset (librdkafka's
  // watermark query is read_committed); a range past it waits for the
  // transaction to end.
  ASSERT_EQ(End(topic), 5);
  const int64_t end = 8;
  ReaderOptions o;
  o.no_progress = std::chrono::seconds(2);
  const auto started = std::chrono::steady_clock::now();
  auto s = verify::SummarizeRanges(source_, {Range(topic, 0, end)}, Reader::kRaw, o);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(topic + " [0]: no progress for 2 s reading up to offset 8"),
            std::string::npos)
      << s.status().message();
  EXPECT_LT(took, std::chrono::seconds(10));
  // The records before the open transaction are readable.
  auto before = verify::SummarizeRanges(source_, {Range(topic, 0, 5)}, Reader::kRaw, o);
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(Offsets((*before)[0]), Iota(0, 5));
  ASSERT_TRUE((*p)->AbortTransaction(kTimeout).ok());
}

TEST_F(RawFetchIntegration, StopsWhenInterrupted) {
  const std::string topic = NewTopic("raw.interrupt");
  Produce(topic, Varied(10));
  RequestInterrupt();
  auto s = verify::SummarizeRanges(source_, {Range(topic, 0, 10)}, Reader::kRaw);
  ClearInterrupted();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ExitCode::kInterrupted);
}

TEST_F(RawFetchIntegration, VerifySaysWhichReaderRan) {
  const std::string topic = UniqueName("raw.verify");
  for (const ClientConfig* c : {&source_, &target_}) {
    auto admin = Admin::Create(*c);
    ASSERT_TRUE(admin.ok());
    // Kept forever: the records' 2023 timestamps are past the default retention.
    ASSERT_TRUE((*admin)->CreateTopic({topic, 1, -1, {{"retention.ms", "-1"}}}, kTimeout).ok());
    auto p = Producer::Create(*c, {});
    ASSERT_TRUE(p.ok());
    for (Record r : Varied(50)) {
      r.topic = Topic(topic);
      r.partition = Partition(0);
      ASSERT_TRUE((*p)->Send(r).ok());
    }
    ASSERT_TRUE((*p)->Flush(kTimeout).ok());
  }
  for (auto [reader, name] : {std::pair{Reader::kAuto, "raw"},
                              {Reader::kRaw, "raw"},
                              {Reader::kLibrdkafka, "librdkafka"}}) {
    verify::RecordsOptions o;
    o.source = source_;
    o.target = target_;
    o.topics = topic;
    o.align = verify::Align::kIdentity;
    o.reader = reader;
    auto r = verify::VerifyRecords(o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->pass) << verify::FormatRecordsText(*r);
    EXPECT_EQ(r->partitions[0].matched, 50) << name << ": " << verify::FormatRecordsText(*r);
    EXPECT_EQ(r->source_reader, name);
    EXPECT_EQ(r->target_reader, name);
    EXPECT_NE(verify::FormatRecordsText(*r).find(fmt::format("reader: {})", name)),
              std::string::npos);
    auto j = nlohmann::json::parse(verify::FormatRecordsJson(*r));
    EXPECT_EQ(j["reader"]["source"], name);
  }
}

}  // namespace
}  // namespace lifeline
