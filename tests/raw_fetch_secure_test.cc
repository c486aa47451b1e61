// The raw reader on the secured pair scripts/test starts (SASL_SSL, ACLs
// on): TLS checked against the cluster's CA, SASL PLAIN, and SCRAM-SHA-512
// and -256 with lifeline's own SCRAM client — which librdkafka 2.0.2 cannot
// do against Kafka 4.x (docs/kafka.md), so the metadata for the SCRAM reads
// comes from an Admin logged in with PLAIN. Each misconfiguration fails
// with its own cause and fix, and no message quotes a password.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/internal/raw_fetch.h"
#include "core/reader.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

using testing::UniqueName;
constexpr Millis kTimeout{20000};

struct Collect : RecordSink {
  std::vector<std::string> values;
  Status OnRecord(size_t, const RecordView& r) override {
    values.emplace_back(r.value, r.value_size);
    return Status::Ok();
  }
};

class SecuredRawFetch : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* src = std::getenv("LIFELINE_SECURE_SOURCE");
    const char* dst = std::getenv("LIFELINE_SECURE_TARGET");
    const char* plain = std::getenv("LIFELINE_SOURCE_BOOTSTRAP");
    if (!src || !*src || !dst || !*dst || !plain || !*plain) {
      FAIL() << "no secured Kafka configured: run scripts/test, or start them with "
                "`scripts/kafka up --secure secsource sectarget && scripts/kafka up source` and "
                "export LIFELINE_SECURE_SOURCE=secsource LIFELINE_SECURE_TARGET=sectarget "
                "LIFELINE_SOURCE_BOOTSTRAP=$(scripts/kafka bootstrap source)";
    }
    const char* script = std::getenv("LIFELINE_KAFKA_SCRIPT");
    script_ = script && *script ? script : std::string(LIFELINE_SOURCE_DIR) + "/scripts/kafka";
    source_ = ClientConfigOf(src, "admin");
    other_ = ClientConfigOf(dst, "admin");
    plaintext_ = testing::ConfigFor(plain);
    if (HasFatalFailure()) return;
    auto admin = Admin::Create(source_);
    ASSERT_TRUE(admin.ok()) << admin.status().message();
    admin_ = std::move(admin).value();
    topic_ = UniqueName("raw.secure");
    ASSERT_TRUE(admin_->CreateTopic({topic_, 1, -1, {}}, kTimeout).ok());
    auto p = Producer::Create(source_, {});
    ASSERT_TRUE(p.ok()) << p.status().message();
    for (int i = 0; i < kRecords; ++i) {
      Record r;
      r.topic = Topic(topic_);
      r.partition = Partition(0);
      r.value = "v" + std::to_string(i);
      ASSERT_TRUE((*p)->Send(r).ok());
    }
    ASSERT_TRUE((*p)->Flush(kTimeout).ok());
  }

  // USER's librdkafka settings for the scripts/kafka cluster NAME.
  ClientConfig ClientConfigOf(const std::string& name, const std::string& user) {
    std::string path;
    if (FILE* p = popen(("'" + script_ + "' client-config " + name + " " + user).c_str(), "r")) {
      char buf[4096];
      while (fgets(buf, sizeof buf, p)) path += buf;
      pclose(p);
    }
    while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
    auto c = BuildClientConfig({"", {path}, {}});
    EXPECT_TRUE(c.ok()) << "scripts/kafka client-config " << name << " " << user << ": "
                        << c.status().message();
    return c.ok() ? *c : ClientConfig();
  }

  // Reads the whole test topic with the raw backend and `config`, asking
  // `admin` for the metadata.
  Status Read(const ClientConfig& config, Admin* admin, Collect* out) {
    ReaderOptions o;
    o.backend = ReaderBackend::kRaw;
    o.no_progress = Millis(5000);
    return internal::RawReadRanges(config, {{{Topic(topic_), Partition(0)}, 0, kRecords}}, out, o,
                                   admin);
  }

  static constexpr int kRecords = 500;
  std::string script_, topic_;
  ClientConfig source_, other_, plaintext_;
  std::unique_ptr<Admin> admin_;
};

TEST_F(SecuredRawFetch, ReadsOverTlsWithSaslPlain) {
  ASSERT_EQ(source_.Get("sasl.mechanisms"), "PLAIN");  // what client-config writes for 2.0.2
  EXPECT_EQ(*ChooseBackend(ReaderBackend::kAuto, source_), ReaderBackend::kRaw);
  Collect got;
  Status st = Read(source_, nullptr, &got);  // its own Admin, the same settings
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(got.values.size(), static_cast<size_t>(kRecords));
  EXPECT_EQ(got.values.front(), "v0");
  EXPECT_EQ(got.values.back(), "v499");
}

TEST_F(SecuredRawFetch, ReadsWithScramSha512AndSha256) {
  for (const char* mechanism : {"SCRAM-SHA-512", "SCRAM-SHA-256"}) {
    ClientConfig scram = source_;
    scram.Set("sasl.mechanisms", mechanism);
    Collect got;
    Status st = Read(scram, admin_.get(), &got);
    ASSERT_TRUE(st.ok()) << mechanism << ": " << st.message();
    EXPECT_EQ(got.values.size(), static_cast<size_t>(kRecords)) << mechanism;
  }
}

TEST_F(SecuredRawFetch, AWrongPasswordIsAnAuthenticationFailureThatQuotesNoPassword) {
  for (const char* mechanism : {"PLAIN", "SCRAM-SHA-512"}) {
    ClientConfig wrong = source_;
    wrong.Set("sasl.mechanisms", mechanism);
    wrong.Set("sasl.password", "not-the-password-x9");
    Collect got;
    Status st = Read(wrong, admin_.get(), &got);
    ASSERT_FALSE(st.ok()) << mechanism;
    EXPECT_EQ(st.code(), ExitCode::kInfrastructure) << st.message();
    EXPECT_NE(st.message().find("authentication failed"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("sasl.password"), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find("not-the-password-x9"), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find(*source_.Get("sasl.password")), std::string::npos);
    EXPECT_TRUE(got.values.empty());
  }
}

TEST_F(SecuredRawFetch, AnotherClustersCaIsRefusedNamingSslCaLocation) {
  ClientConfig wrong_ca = source_;
  wrong_ca.Set("ssl.ca.location", *other_.Get("ssl.ca.location"));
  Collect got;
  Status st = Read(wrong_ca, admin_.get(), &got);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ExitCode::kInfrastructure) << st.message();
  EXPECT_NE(st.message().find("certificate was not accepted"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("ssl.ca.location"), std::string::npos) << st.message();

  // With verification off (as the user asked), the same CA is not checked.
  wrong_ca.Set("enable.ssl.certificate.verification", "false");
  st = Read(wrong_ca, admin_.get(), &got);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(got.values.size(), static_cast<size_t>(kRecords));
}

TEST_F(SecuredRawFetch, AMissingCaFileIsAUsageErrorNamingIt) {
  ClientConfig missing = source_;
  missing.Set("ssl.ca.location", "/nonexistent/ca.pem");
  Collect got;
  Status st = Read(missing, admin_.get(), &got);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ExitCode::kUsage) << st.message();
  EXPECT_NE(st.message().find("ssl.ca.location=/nonexistent/ca.pem"), std::string::npos)
      << st.message();
}

TEST_F(SecuredRawFetch, TlsAgainstAPlaintextListenerSaysSo) {
  auto plain_admin = Admin::Create(plaintext_);
  ASSERT_TRUE(plain_admin.ok());
  auto plain_topic = UniqueName("raw.plain");
  ASSERT_TRUE((*plain_admin)->CreateTopic({plain_topic, 1, -1, {}}, kTimeout).ok());
  ClientConfig tls = plaintext_;
  tls.Set("security.protocol", "SSL");
  tls.Set("ssl.ca.location", *source_.Get("ssl.ca.location"));
  ReaderOptions o;
  o.backend = ReaderBackend::kRaw;
  o.no_progress = Millis(3000);
  Collect got;
  Status st = internal::RawReadRanges(tls, {{{Topic(plain_topic), Partition(0)}, 0, 1}}, &got, o,
                                      plain_admin->get());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("is the listener plaintext?"), std::string::npos) << st.message();
}

TEST_F(SecuredRawFetch, SaslAgainstAPlaintextListenerSaysSo) {
  auto plain_admin = Admin::Create(plaintext_);
  ASSERT_TRUE(plain_admin.ok());
  auto plain_topic = UniqueName("raw.plain");
  ASSERT_TRUE((*plain_admin)->CreateTopic({plain_topic, 1, -1, {}}, kTimeout).ok());
  ClientConfig sasl = plaintext_;
  sasl.Set("security.protocol", "SASL_PLAINTEXT");
  sasl.Set("sasl.mechanisms", "PLAIN");
  sasl.Set("sasl.username", "admin");
  sasl.Set("sasl.password", "x");
  ReaderOptions o;
  o.backend = ReaderBackend::kRaw;
  o.no_progress = Millis(3000);
  Collect got;
  Status st = internal::RawReadRanges(sasl, {{{Topic(plain_topic), Partition(0)}, 0, 1}}, &got, o,
                                      plain_admin->get());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("SASL"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("security.protocol"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace lifeline
