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

TEST(BuildSideConfig, AppliesBothSidesFilesBeforeEachSidesOwn) {
  const std::string both = ::testing::TempDir() + "/lifeline_both.properties";
  const std::string mine = ::testing::TempDir() + "/lifeline_source.properties";
  std::ofstream(both) << "security.protocol=SASL_SSL\nsasl.username=shared\n";
  std::ofstream(mine) << "sasl.username=alice\n";
  TwoClusterInputs in;
  in.source = "s:9092";
  in.target = "t:9092";
  in.config_files = {both};
  in.source_files = {mine};
  in.x_options = {"into.client.id=never", "target.client.id=t"};
  auto source = BuildSideConfig(in, "source");
  auto target = BuildSideConfig(in, "target");
  ASSERT_TRUE(source.ok() && target.ok());
  EXPECT_EQ(source->Get("sasl.username"), "alice");
  EXPECT_EQ(target->Get("sasl.username"), "shared");
  EXPECT_EQ(target->Get("security.protocol"), "SASL_SSL");
  EXPECT_EQ(source->bootstrap(), "s:9092");
  EXPECT_EQ(target->Get("client.id"), "t");
  EXPECT_EQ(source->Get("client.id"), std::nullopt);  // into. is another side's
  std::remove(both.c_str());
  std::remove(mine.c_str());
}

// A Java client.properties as a Kafka user has it.
Result<ClientConfig> FromJava(const std::string& text) {
  const std::string path = ::testing::TempDir() + "/lifeline_java_client.properties";
  std::ofstream(path) << text;
  ClientConfigInputs in;
  in.config_files = {path};
  auto c = BuildClientConfig(in);
  std::remove(path.c_str());
  return c;
}

TEST(JavaClientSettings, MapsAScramJaasConfigToUsernameAndPassword) {
  auto c = FromJava(
      "security.protocol=SASL_SSL\n"
      "sasl.mechanism=SCRAM-SHA-512\n"
      "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
      "    username=\"mirror\" password=\"p@ss \\\\\"word\";\n"  // \\" in the file
      "ssl.truststore.location=/etc/kafka/truststore.jks\n"
      "ssl.truststore.password=changeit\n"
      "ssl.ca.location=/etc/kafka/ca.pem\n"
      "ssl.endpoint.identification.algorithm=\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("sasl.username"), "mirror");
  EXPECT_EQ(c->Get("sasl.password"), "p@ss \"word");
  EXPECT_EQ(c->Get("sasl.jaas.config"), std::nullopt);
  EXPECT_EQ(c->Get("sasl.mechanism"), "SCRAM-SHA-512");  // librdkafka's alias of sasl.mechanisms
  EXPECT_EQ(c->Get("ssl.endpoint.identification.algorithm"), "none");  // Java's empty is off
  // ssl.ca.location is given, so the Java truststore settings are dropped.
  EXPECT_EQ(c->Get("ssl.truststore.location"), std::nullopt);
  EXPECT_EQ(c->Get("ssl.truststore.password"), std::nullopt);
  EXPECT_EQ(c->Get("ssl.ca.location"), "/etc/kafka/ca.pem");
}

TEST(JavaClientSettings, MapsAPlainJaasConfigWithBareWords) {
  auto c = FromJava(
      "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
      "username=reader password=s3cret;\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("sasl.username"), "reader");
  EXPECT_EQ(c->Get("sasl.password"), "s3cret");
}

TEST(JavaClientSettings, RefusesAnotherLoginModuleNamingTheSupportedOnes) {
  auto c = FromJava(
      "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule "
      "required clientSecret=\"hush\";\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ExitCode::kUsage);
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("OAuthBearerLoginModule is not supported"), std::string::npos) << m;
  EXPECT_NE(m.find("ScramLoginModule"), std::string::npos) << m;
  EXPECT_NE(m.find("PlainLoginModule"), std::string::npos) << m;
  EXPECT_EQ(m.find("hush"), std::string::npos) << m;
}

TEST(JavaClientSettings, RefusesMalformedJaasWithoutQuotingTheSecret) {
  for (const char* jaas : {
           "org.apache.kafka.common.security.scram.ScramLoginModule required "
           "username=\"a\" password=\"hush\"",  // no ';'
           "org.apache.kafka.common.security.scram.ScramLoginModule always "
           "username=\"a\" password=\"hush\";",  // not a flag
           "org.apache.kafka.common.security.scram.ScramLoginModule required "
           "username=\"a\" password=\"hush;",  // unclosed quote
           "org.apache.kafka.common.security.scram.ScramLoginModule required "
           "password=\"hush\";",  // no username
       }) {
    auto c = FromJava(std::string("sasl.jaas.config=") + jaas + "\n");
    ASSERT_FALSE(c.ok()) << jaas;
    EXPECT_EQ(c.status().code(), ExitCode::kUsage) << jaas;
    EXPECT_NE(c.status().message().find("sasl.jaas.config"), std::string::npos);
    EXPECT_EQ(c.status().message().find("hush"), std::string::npos) << c.status().message();
  }
}

TEST(JavaClientSettings, RefusesAJavaTruststoreNamingSslCaLocation) {
  auto c = FromJava(
      "ssl.truststore.location=/etc/kafka/truststore.jks\nssl.truststore.password=changeit\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ExitCode::kUsage);
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("ssl.truststore.location=/etc/kafka/truststore.jks"), std::string::npos) << m;
  EXPECT_NE(m.find("set ssl.ca.location="), std::string::npos) << m;
  EXPECT_EQ(m.find("changeit"), std::string::npos) << m;
}

TEST(JavaClientSettings, TakesAPemTruststoreAsSslCaLocation) {
  auto typed = FromJava("ssl.truststore.type=PEM\nssl.truststore.location=/etc/kafka/ca.pem\n");
  ASSERT_TRUE(typed.ok()) << typed.status().message();
  EXPECT_EQ(typed->Get("ssl.ca.location"), "/etc/kafka/ca.pem");
  EXPECT_EQ(typed->Get("ssl.truststore.location"), std::nullopt);
  EXPECT_EQ(typed->Get("ssl.truststore.type"), std::nullopt);
  // Untyped, the file's first bytes say it is PEM.
  const std::string pem = ::testing::TempDir() + "/lifeline_ca.pem";
  std::ofstream(pem) << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  auto sniffed = FromJava("ssl.truststore.location=" + pem + "\n");
  ASSERT_TRUE(sniffed.ok()) << sniffed.status().message();
  EXPECT_EQ(sniffed->Get("ssl.ca.location"), pem);
  std::remove(pem.c_str());
}

TEST(JavaClientSettings, KeepsAPkcs12KeystoreAndRefusesAJksOne) {
  auto p12 = FromJava(
      "ssl.keystore.type=PKCS12\nssl.keystore.location=/etc/kafka/client.p12\n"
      "ssl.keystore.password=x\n");
  ASSERT_TRUE(p12.ok()) << p12.status().message();
  EXPECT_EQ(p12->Get("ssl.keystore.type"), std::nullopt);
  EXPECT_EQ(p12->Get("ssl.keystore.location"), "/etc/kafka/client.p12");

  auto jks = FromJava("ssl.keystore.type=JKS\nssl.keystore.location=/etc/kafka/client.jks\n");
  ASSERT_FALSE(jks.ok());
  EXPECT_NE(jks.status().message().find("JKS keystore"), std::string::npos);
  EXPECT_NE(jks.status().message().find("ssl.keystore.location=client.p12"), std::string::npos);

  // Java's default keystore type is found by the file's magic number.
  const std::string store = ::testing::TempDir() + "/lifeline_client.jks";
  const char magic[] = {'\xFE', '\xED', '\xFE', '\xED', '\x00', '\x00', '\x00', '\x02'};
  std::ofstream(store, std::ios::binary).write(magic, sizeof magic);
  auto by_magic = FromJava("ssl.keystore.location=" + store + "\n");
  EXPECT_FALSE(by_magic.ok());
  std::remove(store.c_str());
}

}  // namespace
}  // namespace lifeline
