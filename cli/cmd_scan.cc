#include <cstdio>

#include "cli/command.h"
#include "scenarios/scan.h"

namespace lifeline::cli {

Status RunScan(const std::vector<std::string>& args) {
  ClientConfigInputs inputs;
  scenarios::ScanOptions options;
  bool json = false;
  bool read_uncommitted = false;
  po::options_description desc("scan options");
  AddClusterOptions(&desc, &inputs);
  desc.add_options()("topic,t", po::value(&options.topic)->default_value(options.topic),
                     "lifecycle topic")("json", po::bool_switch(&json), "print JSON")(
      "read-uncommitted", po::bool_switch(&read_uncommitted),
      "also read records of open and aborted transactions");
  po::variables_map vm;
  auto parsed =
      ParseArgs(args, desc, "lifeline scan --bootstrap HOST:PORT [--topic T] [--json]", &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (inputs.bootstrap.empty() && inputs.config_files.empty()) {
    return MissingOption("--bootstrap", "name the cluster to read, e.g. -b 127.0.0.1:19092");
  }
  options.read_committed = !read_uncommitted;
  auto config = BuildClientConfig(inputs);
  if (!config.ok()) return config.status();
  auto report = scenarios::Scan(*config, options);
  if (!report.ok()) return report.status();
  std::fputs(json ? scenarios::FormatScanJson(*report).c_str()
                  : scenarios::FormatScanText(*report).c_str(),
             stdout);
  return Status::Ok();
}

}  // namespace lifeline::cli
