#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace lifeline {
namespace {

TEST(ClientConfig, RedactsPasswordsAndSecretsWhenDescribed) {
  ClientConfig c;
  c.Set("bootstrap.servers", "127.0.0.1:9092");
  c.Set("sasl.password", "hunter2");
  c.Set("ssl.key.password", "k3y");
  c.Set("ssl.keystore.password", "st0re");
  c.Set("sasl.oauthbearer.client.secret", "s3cret");
  c.Set("My.Custom.PASSWORD.thing", "x1");
  const std::string d = c.Describe();
  for (const char* secret : {"hunter2", "k3y", "st0re", "s3cret", "x1"}) {
    EXPECT_EQ(d.find(secret), std::string::npos) << secret << " leaked in: " << d;
  }
  EXPECT_NE(d.find("bootstrap.servers=127.0.0.1:9092"), std::string::npos);
  EXPECT_NE(d.find("sasl.password=*****"), std::string::npos);
}

TEST(ClientConfig, KeepsOrdinaryValuesVisible) {
  EXPECT_FALSE(IsSecretKey("security.protocol"));
  EXPECT_EQ(RedactedValue("sasl.mechanism", "PLAIN"), "PLAIN");
  EXPECT_TRUE(IsSecretKey("sasl.password"));
}

TEST(ClientConfig, SettingAKeyAgainReplacesItInPlace) {
  ClientConfig c;
  c.Set("a", "1");
  c.Set("b", "2");
  c.Set("a", "3");
  ASSERT_EQ(c.properties().size(), 2u);
  EXPECT_EQ(c.properties()[0].second, "3");
}

TEST(ParseKeyValue, SplitsAtTheFirstEquals) {
  auto kv = ParseKeyValue("sasl.jaas.config=a=b");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->first, "sasl.jaas.config");
  EXPECT_EQ(kv->second, "a=b");
}

TEST(ParseKeyValue, RejectsMissingKeyOrEquals) {
  EXPECT_EQ(ParseKeyValue("novalue").status().code(), ExitCode::kUsage);
  EXPECT_EQ(ParseKeyValue("=x").status().code(), ExitCode::kUsage);
}

TEST(ParseProperties, ReadsJavaPropertiesSyntax) {
  auto props = ParseProperties(
      "# comment\n"
      "! also a comment\n"
      "bootstrap.servers = broker:9092\n"
      "security.protocol:SASL_SSL\n"
      "sasl.mechanism PLAIN\n"
      "  indented.key=  value with spaces\n"
      "multi.line=first,\\\n"
      "    second\n"
      "escaped\\=key=tab\\there\n"
      "unicode=caf\\u00e9\n"
      "empty.value=\n");
  ASSERT_TRUE(props.ok()) << props.status().message();
  std::vector<std::pair<std::string, std::string>> want = {
      {"bootstrap.servers", "broker:9092"}, {"security.protocol", "SASL_SSL"},
      {"sasl.mechanism", "PLAIN"},          {"indented.key", "value with spaces"},
      {"multi.line", "first,second"},       {"escaped=key", "tab\there"},
      {"unicode", "caf\xc3\xa9"},           {"empty.value", ""},
  };
  EXPECT_EQ(*props, want);
}

TEST(ParseProperties, RejectsABrokenUnicodeEscape) {
  auto props = ParseProperties("a=\\u12\n");
  EXPECT_FALSE(props.ok());
  EXPECT_NE(props.status().message().find("line 1"), std::string::npos);
}

TEST(BuildClientConfig, AppliesFilesThenXOptionsThenBootstrap) {
  const std::string path = ::testing::TempDir() + "/lifeline_config_test.properties";
  {
    std::ofstream f(path);
    f << "bootstrap.servers=from-file:9092\nclient.id=file\nlinger.ms=5\n";
  }
  ClientConfigInputs in;
  in.config_files = {path};
  in.x_options = {"client.id=flag"};
  in.bootstrap = "flag:9092";
  auto c = BuildClientConfig(in);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->bootstrap(), "flag:9092");
  EXPECT_EQ(c->Get("client.id"), "flag");
  EXPECT_EQ(c->Get("linger.ms"), "5");
  std::remove(path.c_str());
}

TEST(BuildClientConfig, RoutesSidePrefixedOptionsToTheirSide) {
  ClientConfigInputs in;
  in.x_options = {"source.sasl.username=alice", "target.sasl.username=bob", "acks=all"};
  auto source = BuildClientConfig(in, "source");
  auto target = BuildClientConfig(in, "target");
  ASSERT_TRUE(source.ok() && target.ok());
  EXPECT_EQ(source->Get("sasl.username"), "alice");
  EXPECT_EQ(target->Get("sasl.username"), "bob");
  EXPECT_EQ(source->Get("acks"), "all");
  EXPECT_EQ(target->Get("acks"), "all");
  EXPECT_FALSE(source->Get("target.sasl.username").has_value());
}

TEST(BuildClientConfig, NamesAMissingFileAndTheFix) {
  ClientConfigInputs in;
  in.config_files = {"/nonexistent/client.properties"};
  auto c = BuildClientConfig(in);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ExitCode::kUsage);
  EXPECT_NE(c.status().message().find("/nonexistent/client.properties"), std::string::npos);
}

}  // namespace
}  // namespace lifeline
