#include <cstdio>

#include "cli/command.h"
#include "core/kafka.h"
#include "core/version.h"

namespace lifeline::cli {

Status RunVersion(const std::vector<std::string>& args) {
  po::options_description desc("version options");
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc, "lifeline version", &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  std::printf("lifeline %s\nlibrdkafka %s\n", kVersion, LibrdkafkaVersion().c_str());
  return Status::Ok();
}

}  // namespace lifeline::cli
