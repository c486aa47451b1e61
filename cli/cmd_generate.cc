#include <cstdio>

#include "cli/command.h"
#include "synth/synth.h"

namespace lifeline::cli {

Status RunGenerate(const std::vector<std::string>& args) {
  ClientConfigInputs inputs;
  synth::PublishOptions options;
  std::string manifest;
  int64_t start_time = options.generate.start_time.value();
  po::options_description desc("generate options");
  AddClusterOptions(&desc, &inputs);
  desc.add_options()("topic,t", po::value(&options.topic)->default_value(options.topic),
                     "topic to write (created if missing)")(
      "partitions", po::value(&options.partitions)->default_value(options.partitions),
      "partitions when the topic is created")(
      "prompts", po::value(&options.generate.prompts)->default_value(options.generate.prompts),
      "number of prompts")(
      "versions", po::value(&options.generate.versions)->default_value(options.generate.versions),
      "versions per prompt")(
      "seed", po::value(&options.generate.seed)->default_value(options.generate.seed),
      "random seed; the same options and seed give the same records")(
      "malformed-rate",
      po::value(&options.generate.malformed_rate)->default_value(options.generate.malformed_rate),
      "probability of a malformed record after each valid one (cycles through every "
      "quarantine reason)")("manifest", po::value(&manifest)->value_name("FILE"),
                            "write the coordinates and reasons of malformed records here")(
      "start-time", po::value(&start_time)->default_value(start_time),
      "event time of the first event, ms since the epoch");
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc,
                          "lifeline generate --bootstrap HOST:PORT [--topic T] [--prompts N] "
                          "[--versions N] [--seed S] [--malformed-rate R --manifest FILE]",
                          &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (inputs.bootstrap.empty() && inputs.config_files.empty()) {
    return MissingOption("--bootstrap",
                         "name the cluster to write to (for a throwaway cluster, run `lifeline "
                         "sandbox` and use the address it prints)");
  }
  if (options.generate.malformed_rate < 0 || options.generate.malformed_rate > 1) {
    return Status::Usage("--malformed-rate must be between 0 and 1");
  }
  if (options.generate.malformed_rate > 0 && manifest.empty()) {
    std::fprintf(stderr,
                 "note: malformed records are mixed in; pass --manifest FILE to record "
                 "where they landed\n");
  }
  options.generate.start_time = TimestampMs(start_time);
  LIFELINE_ASSIGN_OR_RETURN(auto config, BuildClientConfig(inputs));
  LIFELINE_ASSIGN_OR_RETURN(auto report, synth::Publish(config, options));
  if (!manifest.empty()) LIFELINE_RETURN_IF_ERROR(synth::WriteManifest(report.manifest, manifest));
  if (options.generate.malformed_rate > 0 && !report.oversized_values) {
    std::fprintf(stderr,
                 "note: %s refuses values over 1 MiB (max.message.bytes), so the malformed mix "
                 "leaves out value_too_large\n",
                 report.topic.c_str());
  }
  std::printf(
      "generated %lld records (%lld malformed, %.1f MB) to %s (%d partitions%s) in %.2f s: "
      "%.0f records/s\n",
      static_cast<long long>(report.records), static_cast<long long>(report.malformed),
      report.bytes / 1e6, report.topic.c_str(), report.partitions,
      report.created_topic ? ", created" : "", report.seconds,
      report.seconds > 0 ? report.records / report.seconds : 0.0);
  return Status::Ok();
}

}  // namespace lifeline::cli
