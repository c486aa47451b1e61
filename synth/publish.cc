#include <fmt/format.h>

#include <chrono>

#include "core/kafka.h"
#include "core/signals.h"
#include "synth/internal/generate.h"
#include "synth/synth.h"

namespace lifeline::synth {
namespace {

constexpr int64_t kLargeMessageBytes = int64_t{2} * 1024 * 1024;

// A lifecycle stream is an audit log: keep it forever, and let it carry the
// oversized records of the malformed corpus.
const std::vector<std::pair<std::string, std::string>> kTopicConfigs = {
    {"retention.ms", "-1"},
    {"max.message.bytes", std::to_string(kLargeMessageBytes)},
};

// Whether the topic accepts a value over envelope::kMaxValueBytes. Clusters
// without DescribeConfigs (the embedded sandbox) do not limit sizes.
bool AcceptsOversizedValues(Admin& admin, const std::string& topic) {
  auto configs = admin.DescribeTopicConfigs(topic, Millis(10000));
  if (!configs.ok()) return true;
  auto it = configs->find("max.message.bytes");
  return it == configs->end() ||
         std::stoll(it->second.value) > static_cast<int64_t>(envelope::kMaxValueBytes) + 65536;
}

// Finds the topic, or creates it. The embedded sandbox cannot create topics
// (no CreateTopics); there the topic must already exist.
Result<std::pair<int, bool>> EnsureTopic(Admin& admin, const PublishOptions& options) {
  const Millis kTimeout(15000);
  // A topic the principal may not Describe is a refusal, not a topic to create.
  auto count = admin.PartitionCount(options.topic, kTimeout);
  if (count.ok()) return std::make_pair(*count, false);
  if (count.status().code() != ExitCode::kUsage) return count.status();
  Status created = admin.CreateTopic({options.topic, options.partitions, -1, kTopicConfigs},
                                     kTimeout, /*exists_ok=*/true);
  if (!created.ok()) {
    return created.WithContext(fmt::format(
        "topic {} does not exist and could not be created (on the embedded sandbox, start it "
        "with `lifeline sandbox --topics {}`)",
        options.topic, options.topic));
  }
  return std::make_pair(options.partitions, true);
}

}  // namespace

Result<PublishReport> Publish(const ClientConfig& config, const PublishOptions& options) {
  PublishReport report;
  report.topic = options.topic;
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(config));
  LIFELINE_ASSIGN_OR_RETURN(auto topic, EnsureTopic(*admin, options));
  report.partitions = topic.first;
  report.created_topic = topic.second;

  // Tags index into `pending`: the reason and id of each malformed record,
  // resolved to coordinates when its delivery report arrives.
  std::vector<ManifestEntry> pending;
  report.manifest.topic = options.topic;
  auto on_delivery = [&](const DeliveryReport& dr) {
    if (dr.tag == 0 || dr.err) return;
    ManifestEntry& e = pending[dr.tag - 1];
    e.partition = dr.where.partition.value();
    e.offset = dr.offset.value();
  };
  ProducerOptions popts;
  popts.linger_ms = 20;
  popts.client_id = "lifeline-generate";
  GenerateOptions gen_options = options.generate;
  report.oversized_values = gen_options.oversized_values =
      gen_options.oversized_values && AcceptsOversizedValues(*admin, options.topic);
  ClientConfig pconfig = config;
  if (!pconfig.Get("message.max.bytes")) {
    pconfig.Set("message.max.bytes", std::to_string(kLargeMessageBytes + 65536));
  }
  LIFELINE_ASSIGN_OR_RETURN(auto producer, Producer::Create(pconfig, popts, on_delivery));

  auto started = std::chrono::steady_clock::now();
  Generator gen(gen_options);
  GeneratedRecord g;
  while (gen.Next(&g)) {
    if (Interrupted()) {
      (void)producer->Flush(Millis(10000));
      return Status::Interrupted(
          fmt::format("generate interrupted after {} records", report.records));
    }
    g.record.topic = Topic(options.topic);
    g.record.partition = Partition(-1);
    uint64_t tag = 0;
    if (g.malformed) {
      pending.push_back({-1, -1, std::string(envelope::ReasonCode(*g.malformed)), g.event_id});
      tag = pending.size();
      ++report.malformed;
    }
    report.bytes +=
        (g.record.key ? g.record.key->size() : 0) + (g.record.value ? g.record.value->size() : 0);
    LIFELINE_RETURN_IF_ERROR(producer->Send(g.record, tag));
    ++report.records;
    if ((report.records & 1023) == 0) producer->Poll(Millis(0));
  }
  LIFELINE_RETURN_IF_ERROR(producer->Flush(Millis(120000)));
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.manifest.records = report.records;
  report.manifest.entries = std::move(pending);
  return report;
}

}  // namespace lifeline::synth
