#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "cli/command.h"
#include "core/sandbox.h"
#include "core/signals.h"

namespace lifeline::cli {
namespace {

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

Status RunSandbox(const std::vector<std::string>& args) {
  std::string clusters = "source,target";
  std::string topics = "prompt.lifecycle";
  int partitions = 6;
  po::options_description desc("sandbox options");
  desc.add_options()("clusters", po::value(&clusters)->default_value(clusters),
                     "comma-separated cluster names")(
      "topics", po::value(&topics)->default_value(topics),
      "comma-separated topics to create in every cluster ('' for none)")(
      "partitions", po::value(&partitions)->default_value(partitions),
      "partitions of each created topic (topics that are only auto-created get 4)");
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc, "lifeline sandbox [--clusters a,b] [--partitions N]", &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();

  auto names = SplitCommas(clusters);
  if (names.empty()) return Status::Usage("--clusters: give at least one name");
  LIFELINE_ASSIGN_OR_RETURN(auto sandbox, EmbeddedSandbox::Start(names));
  for (const auto& c : sandbox.clusters()) {
    for (const std::string& t : SplitCommas(topics)) {
      LIFELINE_RETURN_IF_ERROR(c->CreateTopic(t, partitions));
    }
    std::printf("%s=%s\n", c->name().c_str(), c->bootstrap().c_str());
  }
  std::fflush(stdout);
  std::fprintf(stderr, "embedded sandbox serving; Ctrl-C (SIGINT) or SIGTERM stops it\n");
  while (!Interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "embedded sandbox stopped\n");
  return Status::Ok();
}

}  // namespace lifeline::cli
