// When verify may use its raw reader: plaintext configurations only.
#include "verify/raw_fetch.h"

#include <gtest/gtest.h>

#include "verify/verify.h"

namespace lifeline::verify {
namespace {

ClientConfig With(std::vector<std::pair<std::string, std::string>> props) {
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

TEST(RawReader, RefusesTlsAndSasl) {
  EXPECT_EQ(RawReaderUnsupported(With({{"security.protocol", "SASL_SSL"}})),
            "security.protocol=SASL_SSL");
  EXPECT_EQ(RawReaderUnsupported(With({{"security.protocol", "ssl"}})), "security.protocol=ssl");
  EXPECT_EQ(RawReaderUnsupported(With({{"sasl.mechanism", "PLAIN"}})), "sasl.mechanism is set");
  EXPECT_EQ(RawReaderUnsupported(With({{"ssl.ca.location", "/ca.pem"}})), "ssl.ca.location is set");
  EXPECT_EQ(RawReaderUnsupported(With({{"bootstrap.servers", "h:1,SSL://h:2"}})),
            "bootstrap.servers names ssl://");
}

TEST(RawReader, AskingForItWithTlsIsAUsageErrorBeforeAnyConnection) {
  RecordsOptions o;
  o.source = With({{"security.protocol", "SSL"}});
  o.target = With({});
  o.topics = "t";
  o.reader = Reader::kRaw;
  auto r = VerifyRecords(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ExitCode::kUsage);
  EXPECT_NE(r.status().message().find("--reader raw: the source configuration is not plaintext"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace lifeline::verify
