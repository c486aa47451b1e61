// `generate` against real Apache Kafka: what it writes reads back, parses,
// and rejects exactly where its manifest says.
#include <gtest/gtest.h>

#include <set>

#include "core/envelope.h"
#include "core/topic_reader.h"
#include "synth/internal/generate.h"
#include "synth/synth.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

using testing::UniqueName;

class GenerateIntegration : public testing::RealKafkaTest {};

TEST_F(GenerateIntegration, PublishedStreamReadsBackValidAndInOrder) {
  synth::PublishOptions options;
  options.topic = UniqueName("generated");
  options.partitions = 4;
  options.generate.prompts = 12;
  options.generate.versions = 4;
  options.generate.seed = 42;
  auto report = synth::Publish(source_, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->created_topic);
  EXPECT_EQ(report->partitions, 4);
  EXPECT_EQ(report->records, synth::Generator(options.generate).total());
  EXPECT_EQ(report->malformed, 0);

  auto scan = synth::Scan(source_, {options.topic, true, nullptr});
  ASSERT_TRUE(scan.ok()) << scan.status().message();
  EXPECT_EQ(scan->records, report->records);
  EXPECT_EQ(scan->valid, report->records);
  EXPECT_EQ(scan->prompts, 12);
  EXPECT_GT(scan->by_kind["proposed"], 0);
  EXPECT_GT(scan->by_kind["deployed"], 0);
  EXPECT_TRUE(scan->by_reason.empty());
}

TEST_F(GenerateIntegration, EveryPromptLandsInOnePartitionInEventTimeOrder) {
  synth::PublishOptions options;
  options.topic = UniqueName("keyed");
  options.partitions = 3;
  options.generate.prompts = 8;
  options.generate.versions = 3;
  ASSERT_TRUE(synth::Publish(source_, options).ok());
  std::map<std::string, std::set<int32_t>> partitions_of;
  std::map<std::string, int64_t> last_time;
  TopicReadOptions read;
  read.topic = options.topic;
  Status st = ReadTopic(source_, read, [&](const Record& r) {
    auto parsed = envelope::Parse(r);
    const auto* event = std::get_if<envelope::Event>(&parsed);
    EXPECT_NE(event, nullptr);
    if (!event) return Status::Ok();
    partitions_of[event->prompt_id].insert(r.partition.value());
    EXPECT_GE(event->time_ms.value(), last_time[event->prompt_id]) << event->id;
    last_time[event->prompt_id] = event->time_ms.value();
    EXPECT_EQ(r.timestamp, event->time_ms);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(partitions_of.size(), 8u);
  for (const auto& [prompt, parts] : partitions_of) EXPECT_EQ(parts.size(), 1u) << prompt;
}

TEST_F(GenerateIntegration, MalformedRecordsAreRejectedExactlyWhereTheManifestSays) {
  synth::PublishOptions options;
  options.topic = UniqueName("malformed");
  options.partitions = 2;
  options.generate.prompts = 10;
  options.generate.versions = 4;
  options.generate.malformed_rate = 0.2;
  auto report = synth::Publish(source_, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  // The created topic accepts oversized values, so every reason is present.
  EXPECT_TRUE(report->oversized_values);
  std::set<std::string> reasons;
  for (const auto& e : report->manifest.entries) {
    EXPECT_GE(e.offset, 0) << e.event_id;
    reasons.insert(e.reason);
  }
  EXPECT_EQ(reasons.size(), static_cast<size_t>(envelope::kReasonCount));

  const std::string path = ::testing::TempDir() + "/" + options.topic + ".manifest.json";
  ASSERT_TRUE(synth::WriteManifest(report->manifest, path).ok());
  auto manifest = synth::LoadManifest(path);
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  EXPECT_EQ(manifest->entries.size(), report->manifest.entries.size());

  auto scan = synth::Scan(source_, {options.topic, true, &*manifest});
  ASSERT_TRUE(scan.ok()) << scan.status().message();
  EXPECT_TRUE(scan->manifest_mismatches.empty()) << scan->manifest_mismatches.front();
  EXPECT_EQ(scan->manifest_confirmed, static_cast<int64_t>(manifest->entries.size()));
  EXPECT_EQ(scan->records - scan->valid, report->malformed);
}

TEST_F(GenerateIntegration, ScanReportsAManifestThatDoesNotMatch) {
  synth::PublishOptions options;
  options.topic = UniqueName("mismatch");
  options.partitions = 1;
  options.generate.prompts = 3;
  options.generate.versions = 2;
  ASSERT_TRUE(synth::Publish(source_, options).ok());
  synth::Manifest wrong;
  wrong.topic = options.topic;
  wrong.records = synth::Generator(options.generate).total();
  wrong.entries.push_back({0, 0, "invalid_json", "x"});  // offset 0 is a valid event
  auto scan = synth::Scan(source_, {options.topic, true, &wrong});
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->manifest_mismatches.size(), 1u);
  EXPECT_NE(scan->manifest_mismatches[0].find("parsed as a valid event"), std::string::npos);
}

}  // namespace
}  // namespace lifeline
