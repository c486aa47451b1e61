// The background mirror's command line is spelled by mirror::MirrorArgs;
// it must parse back through `lifeline mirror`'s own option parser to the
// same options.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "cli/mirror_command.h"
#include "mirror/mirror.h"

namespace lifeline::mirror {
namespace {

void ExpectSameOptions(const MirrorOptions& a, const MirrorOptions& b) {
  EXPECT_EQ(a.topics, b.topics);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.create_topics, b.create_topics);
  EXPECT_EQ(a.exactly_once, b.exactly_once);
  EXPECT_EQ(a.follow, b.follow);
  EXPECT_EQ(a.allow_gaps, b.allow_gaps);
  EXPECT_EQ(a.state_dir, b.state_dir);
  EXPECT_EQ(a.batch_records, b.batch_records);
  EXPECT_EQ(a.rescan_seconds, b.rescan_seconds);
  EXPECT_EQ(a.max_records_per_second, b.max_records_per_second);
  EXPECT_EQ(a.reverse, b.reverse);
  EXPECT_EQ(a.read_configs, b.read_configs);
}

TwoClusterInputs Clusters() {
  TwoClusterInputs c;
  c.source = "127.0.0.1:19092";
  c.target = "127.0.0.1:29092";
  c.x_options = {"client.id=drill", "source.socket.timeout.ms=5000"};
  return c;
}

cli::MirrorCommand ParseBack(const MirrorOptions& o, const TwoClusterInputs& c) {
  auto parsed = cli::ParseMirrorCommand(MirrorArgs(o, c));
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  if (!parsed.ok() || !*parsed) return {};
  return **parsed;
}

TEST(MirrorArgs, DefaultsParseBackToDefaults) {
  MirrorOptions o;
  o.topics = "prompt\\..*";
  const cli::MirrorCommand back = ParseBack(o, Clusters());
  ExpectSameOptions(back.options, o);
}

TEST(MirrorArgs, EveryFlagParsesBackToTheSameOptions) {
  MirrorOptions o;
  o.topics = R"(prompt\.lifecycle\.1(\.traces)?)";
  o.name = "drill-1";
  o.create_topics = true;
  o.exactly_once = true;
  o.follow = true;
  o.allow_gaps = true;
  o.state_dir = "/tmp/x/mirror-state";
  o.batch_records = 500;
  o.max_records_per_second = 1000;
  o.read_configs = false;
  const cli::MirrorCommand back = ParseBack(o, Clusters());
  ExpectSameOptions(back.options, o);
  o.reverse = true;
  o.exactly_once = false;
  ExpectSameOptions(ParseBack(o, Clusters()).options, o);
}

TEST(MirrorArgs, ClustersParseBackAsGivenWithPerSideProperties) {
  MirrorOptions o;
  o.topics = "t";
  const cli::MirrorCommand back = ParseBack(o, Clusters());
  EXPECT_EQ(back.clusters.source, "127.0.0.1:19092");
  EXPECT_EQ(back.clusters.target, "127.0.0.1:29092");
  EXPECT_EQ(back.clusters.x_options, Clusters().x_options);
  EXPECT_EQ(back.options.source.bootstrap(), "127.0.0.1:19092");
  EXPECT_EQ(back.options.source.Get("socket.timeout.ms"), "5000");
  EXPECT_EQ(back.options.target.Get("socket.timeout.ms"), std::nullopt);
  EXPECT_EQ(back.options.target.Get("client.id"), "drill");
}

TEST(MirrorArgs, PropertyFilesParseBackByPathForBothSidesAndEach) {
  const std::string dir = ::testing::TempDir();
  const std::string both = dir + "/lifeline_args_both.properties";
  const std::string src = dir + "/lifeline_args_source.properties";
  const std::string dst = dir + "/lifeline_args_target.properties";
  std::ofstream(both) << "security.protocol=SASL_SSL\nsasl.username=shared\n";
  std::ofstream(src) << "sasl.username=alice\n";
  std::ofstream(dst) << "sasl.username=bob\n";
  TwoClusterInputs c = Clusters();
  c.config_files = {both};
  c.source_files = {src};
  c.target_files = {dst};
  MirrorOptions o;
  o.topics = "t";
  const std::vector<std::string> args = MirrorArgs(o, c);
  const cli::MirrorCommand back = ParseBack(o, c);
  EXPECT_EQ(back.clusters.config_files, c.config_files);
  EXPECT_EQ(back.clusters.source_files, c.source_files);
  EXPECT_EQ(back.clusters.target_files, c.target_files);
  EXPECT_EQ(back.options.source.Get("sasl.username"), "alice");
  EXPECT_EQ(back.options.target.Get("sasl.username"), "bob");
  EXPECT_EQ(back.options.target.Get("security.protocol"), "SASL_SSL");
  for (const std::string& a : args) EXPECT_EQ(a.find("alice"), std::string::npos) << a;
  for (const std::string& f : {both, src, dst}) std::remove(f.c_str());
}

}  // namespace
}  // namespace lifeline::mirror
