// The reader seam without a cluster: when the raw backend may serve a
// configuration (plain, TLS, SASL PLAIN/SCRAM), which backend a read gets, and the one
// rule for the end of a range.
#include "core/reader.h"

#include <gtest/gtest.h>

#include "core/internal/broker_link.h"
#include "core/internal/range_end.h"
#include "verify/verify.h"

namespace lifeline {
namespace {

using verify::RecordsOptions;
using verify::VerifyRecords;

ClientConfig With(const std::vector<std::pair<std::string, std::string>>& props) {
  ClientConfig c;
  c.Set("bootstrap.servers", "127.0.0.1:9092");
  for (auto& [k, v] : props) c.Set(k, v);
  return c;
}

TEST(RawReader, ServesPlaintextConfigurations) {
  EXPECT_EQ(RawReaderUnsupported(With({})), std::nullopt);
  EXPECT_EQ(RawReaderUnsupported(With({{"security.protocol", "PLAINTEXT"}})), std::nullopt);
  EXPECT_EQ(RawReaderUnsupported(With({{"bootstrap.servers", "PLAINTEXT://h:1,h:2"}})),
            std::nullopt);
  EXPECT_EQ(RawReaderUnsupported(With({{"client.id", "x"}, {"fetch.wait.max.ms", "5"}})),
            std::nullopt);
}

TEST(RawReader, ServesTlsAndSaslWithPlainOrScram) {
  using internal::LinkSecurityFor;
  EXPECT_EQ(RawReaderUnsupported(With({{"security.protocol", "ssl"}})), std::nullopt);
  EXPECT_EQ(RawReaderUnsupported(With({{"security.protocol", "SASL_SSL"},
                                       {"sasl.mechanisms", "SCRAM-SHA-512"},
                                       {"sasl.username", "u"},
                                       {"sasl.password", "p"},
                                       {"ssl.ca.location", "/ca.pem"},
                                       {"ssl.endpoint.identification.algorithm", "none"}})),
            std::nullopt);
  EXPECT_EQ(RawReaderUnsupported(With({{"bootstrap.servers", "SASL_SSL://h:1"},
                                       {"security.protocol", "sasl_ssl"},
                                       {"sasl.mechanism", "plain"}})),
            std::nullopt);
  auto s = LinkSecurityFor(With({{"security.protocol", "SASL_PLAINTEXT"},
                                 {"sasl.mechanism", "scram-sha-256"},
                                 {"sasl.username", "u"},
                                 {"enable.ssl.certificate.verification", "false"}}));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->tls);
  EXPECT_EQ(s->mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(s->username, "u");
  EXPECT_FALSE(s->verify_certificate);
  // SASL settings without a SASL protocol are ignored, as librdkafka does.
  auto plain = LinkSecurityFor(With({{"sasl.mechanism", "PLAIN"}}));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->mechanism, "");
  EXPECT_FALSE(plain->tls);
}

TEST(RawReader, RefusesWhatItDoesNotSpeakNamingTheSetting) {
  EXPECT_EQ(RawReaderUnsupported(With({{"security.protocol", "SASL_SSL"}})),
            "sasl.mechanism GSSAPI (librdkafka's default)");
  EXPECT_EQ(RawReaderUnsupported(
                With({{"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "OAUTHBEARER"}})),
            "sasl.mechanism OAUTHBEARER");
  EXPECT_EQ(RawReaderUnsupported(With({{"security.protocol", "quic"}})), "security.protocol=quic");
  EXPECT_EQ(RawReaderUnsupported(With({{"ssl.certificate.location", "/c.pem"}})),
            "ssl.certificate.location is set (the raw reader does not speak it)");
  EXPECT_EQ(RawReaderUnsupported(With({{"sasl.oauthbearer.config", "x"}})),
            "sasl.oauthbearer.config is set (the raw reader does not speak it)");
  EXPECT_EQ(RawReaderUnsupported(With({{"ssl.endpoint.identification.algorithm", "dane"}})),
            "ssl.endpoint.identification.algorithm=dane");
  EXPECT_EQ(RawReaderUnsupported(With({{"bootstrap.servers", "h:1,SSL://h:2"}})),
            "bootstrap.servers names ssl://");
}

TEST(RawReader, AskingForItWithClientCertificatesIsAUsageErrorBeforeAnyConnection) {
  RecordsOptions o;
  o.source = With({{"security.protocol", "SSL"}, {"ssl.key.location", "/k.pem"}});
  o.target = With({});
  o.topics = "t";
  o.reader = ReaderBackend::kRaw;
  auto r = VerifyRecords(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ExitCode::kUsage);
  EXPECT_NE(r.status().message().find(
                "--reader raw, source: the raw reader cannot serve this configuration "
                "(ssl.key.location is set"),
            std::string::npos)
      << r.status().message();
}

TEST(ChooseBackend, AutoTakesRawWhereItCanAndLibrdkafkaOtherwise) {
  EXPECT_EQ(*ChooseBackend(ReaderBackend::kAuto, With({})), ReaderBackend::kRaw);
  EXPECT_EQ(*ChooseBackend(ReaderBackend::kAuto, With({{"security.protocol", "SSL"}})),
            ReaderBackend::kRaw);
  EXPECT_EQ(*ChooseBackend(ReaderBackend::kAuto,
                           With({{"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "GSSAPI"}})),
            ReaderBackend::kLibrdkafka);
  EXPECT_EQ(*ChooseBackend(ReaderBackend::kLibrdkafka, With({})), ReaderBackend::kLibrdkafka);
  auto refused = ChooseBackend(ReaderBackend::kRaw, With({{"ssl.ca.pem", "-----BEGIN"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ExitCode::kUsage);
}

// The listing is asked only when the fetches reported more than the range's
// end, once per partition while it agrees, and a listing that stays short
// is an infrastructure error naming the partition and both offsets.
TEST(ListedEndCheck, AsksOnlyWhenTheFetchesSawMoreAndFailsWhenTheListingStaysShort) {
  const TopicPartition tp{Topic("t"), Partition(3)};
  int asked = 0;
  auto honest = [&](const TopicPartition&) -> Result<int64_t> {
    ++asked;
    return int64_t{12};
  };
  internal::ListedEndCheck check(Millis(300));
  EXPECT_TRUE(check.Check(tp, 10, 10, honest).ok());  // fetches saw no more
  EXPECT_TRUE(check.Check(tp, 10, -1, honest).ok());  // not reported
  EXPECT_EQ(asked, 0);
  EXPECT_TRUE(check.Check(tp, 10, 12, honest).ok());  // the log grew: listed 12
  EXPECT_TRUE(check.Check(tp, 5, 11, honest).ok());   // agreed already
  EXPECT_EQ(asked, 1);

  auto short_by_one = [&](const TopicPartition&) -> Result<int64_t> { return int64_t{9}; };
  internal::ListedEndCheck strict(Millis(300));
  Status st = strict.Check(tp, 9, 10, short_by_one);
  EXPECT_EQ(st.code(), ExitCode::kInfrastructure);
  EXPECT_NE(st.message().find("t [3]: the broker misreports the end of the log: ListOffsets "
                              "lists it at offset 9, but its Fetch answers put it at offset 10"),
            std::string::npos)
      << st.message();
  auto unreachable = [&](const TopicPartition&) -> Result<int64_t> {
    return Status::Infra("no broker");
  };
  EXPECT_EQ(internal::ListedEndCheck().Check(tp, 0, 1, unreachable).message(), "no broker");
}

TEST(RangeEnd, FinishesOnceTheNextOffsetReachesTheEnd) {
  internal::RangeEnd r(10, 20);
  EXPECT_FALSE(r.finished());
  EXPECT_TRUE(r.Delivers(10));
  EXPECT_TRUE(r.Delivers(19));
  EXPECT_FALSE(r.Delivers(20));  // the end is exclusive
  r.Advance(19);                 // the records 10..18 were compacted away
  EXPECT_FALSE(r.finished());
  EXPECT_FALSE(r.Delivers(18));  // behind the position
  r.Advance(20);                 // the record at 19 was delivered
  EXPECT_TRUE(r.finished());
}

TEST(RangeEnd, AMarkerOrAbortedBatchPastTheEndFinishesIt) {
  internal::RangeEnd r(0, 5);
  r.Advance(3);  // the records 0..2 were delivered
  r.Advance(8);  // a batch up to 7 (aborted records, then a commit marker) was consumed
  EXPECT_TRUE(r.finished());
  EXPECT_EQ(r.next(), 8);
}

TEST(RangeEnd, NeverMovesBackAndAnEmptyRangeIsFinished) {
  internal::RangeEnd r(4, 9);
  r.Advance(7);
  r.Advance(5);  // an end-of-partition position short of what was read
  EXPECT_EQ(r.next(), 7);
  EXPECT_TRUE(internal::RangeEnd(3, 3).finished());
}

TEST(CopyRecord, KeepsNullsDistinctFromEmptiesAndReusesTheRecord) {
  const std::vector<HeaderView> headers = {{"a", "1", 1}, {"b", nullptr, 0}};
  RecordView v;
  v.offset = 42;
  v.key = "";
  v.key_size = 0;
  v.value = nullptr;
  v.headers = headers;
  v.timestamp_type = TimestampType::kLogAppendTime;
  v.timestamp = 1700000000000;
  Record r;
  r.headers.resize(5);
  CopyRecord({Topic("t"), Partition(3)}, v, &r);
  EXPECT_EQ(r.topic.value(), "t");
  EXPECT_EQ(r.partition.value(), 3);
  EXPECT_EQ(r.offset.value(), 42);
  ASSERT_TRUE(r.key.has_value());
  EXPECT_EQ(*r.key, "");
  EXPECT_FALSE(r.value.has_value());
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0], (Header{"a", "1"}));
  EXPECT_EQ(r.headers[1], (Header{"b", std::nullopt}));
  EXPECT_EQ(r.timestamp.value(), 1700000000000);
  EXPECT_EQ(r.timestamp_type, TimestampType::kLogAppendTime);
}

}  // namespace
}  // namespace lifeline
