#include <cstdio>

#include "cli/command.h"
#include "synth/synth.h"

namespace lifeline::cli {

Status RunScan(const std::vector<std::string>& args) {
  ClientConfigInputs inputs;
  synth::ScanOptions options;
  bool json = false;
  bool read_uncommitted = false;
  std::string manifest_path;
  po::options_description desc("scan options");
  AddClusterOptions(&desc, &inputs);
  desc.add_options()("topic,t", po::value(&options.topic)->default_value(options.topic),
                     "lifecycle topic")("json", po::bool_switch(&json), "print JSON")(
      "read-uncommitted", po::bool_switch(&read_uncommitted),
      "also read records of open and aborted transactions")(
      "expect-manifest", po::value(&manifest_path)->value_name("FILE"),
      "check that exactly the records a `generate --manifest` file names are rejected, each "
      "with its reason (exit 1 otherwise)");
  po::variables_map vm;
  auto parsed =
      ParseArgs(args, desc, "lifeline scan --bootstrap HOST:PORT [--topic T] [--json]", &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (inputs.bootstrap.empty() && inputs.config_files.empty()) {
    return MissingOption("--bootstrap", "name the cluster to read, e.g. -b 127.0.0.1:19092");
  }
  options.read_committed = !read_uncommitted;
  LIFELINE_ASSIGN_OR_RETURN(auto config, BuildClientConfig(inputs));
  synth::Manifest manifest;
  if (!manifest_path.empty()) {
    LIFELINE_ASSIGN_OR_RETURN(auto loaded, synth::LoadManifest(manifest_path));
    manifest = std::move(loaded);
    if (manifest.topic != options.topic) {
      return Status::Usage("manifest " + manifest_path + " is for topic " + manifest.topic +
                           ", not " + options.topic);
    }
    options.expected = &manifest;
  }
  LIFELINE_ASSIGN_OR_RETURN(auto report, synth::Scan(config, options));
  std::fputs(json ? synth::FormatScanJson(report).c_str() : synth::FormatScanText(report).c_str(),
             stdout);
  if (!report.manifest_mismatches.empty()) {
    return Status::CheckFailed(std::to_string(report.manifest_mismatches.size()) +
                               " record(s) disagree with the manifest " + manifest_path);
  }
  return Status::Ok();
}

}  // namespace lifeline::cli
