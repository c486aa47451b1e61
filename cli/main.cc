// lifeline's entry point: dispatch to a subcommand, print its error once,
// exit with its code. Everything else lives in the module libraries.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "core/signals.h"

namespace lifeline::cli {
namespace {

Status RunHelp(const std::vector<std::string>& args);

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

Status RunHelp(const std::vector<std::string>&) {
  std::printf(
      "lifeline: rehearse prompt-lifecycle stream migrations and rollbacks, and prove the "
      "result.\n\nusage: lifeline COMMAND [options]   (lifeline COMMAND --help for "
      "details)\n\ncommands:\n");
  for (const Command& c : Commands()) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf(
      "\nexit codes: 0 pass, 1 check failed, 2 usage, 3 infrastructure, 130 "
      "interrupted\n");
  return Status::Ok();
}

// Runs a command so that nothing it throws reaches the user as an abort: an
// escaped exception is a bug, reported in one line naming the command (exit 3).
Status RunGuarded(const Command& command, const std::vector<std::string>& args) {
  try {
    return command.run(args);
  } catch (const std::exception& e) {
    return Status::Infra(
        fmt::format("internal error: {} (please report it with the command line)", e.what()));
  } catch (...) {
    return Status::Infra(
        "internal error: an unknown exception (please report it with the command "
        "line)");
  }
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"help", "list the commands", &RunHelp},
      {"version", "print lifeline's and librdkafka's versions", &RunVersion},
      {"sandbox", "serve embedded Kafka clusters in this process until Ctrl-C", &RunSandbox},
      {"generate", "write a realistic synthetic lifecycle stream to a topic", &RunGenerate},
      {"scan", "read a lifecycle topic, validate every event, summarize it", &RunScan},
      {"mirror", "copy topics to another cluster with an exact offset map", &RunMirror},
      {"offsets", "translate source offsets to target offsets with a mirror's map, or repair a map",
       &RunOffsets},
      {"groups", "move consumer groups to the target at exactly translated offsets", &RunGroups},
      {"replay", "rebuild the prompt registry from a topic in a clean sandbox", &RunReplay},
      {"state", "hash a sandbox's state, or show what was live at a time", &RunState},
      {"audit", "answer who, what, which evaluation, which rollback, which consumers", &RunAudit},
      {"verify", "prove two topics, sandboxes or group positions equal, or show where not",
       &RunVerify},
      {"drill", "run a rollback or migration drill against real consumer groups; write reports",
       &RunDrill},
  };
  return kCommands;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    (void)RunHelp({});
    return static_cast<int>(ExitCode::kUsage);
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h") name = "help";
  if (name == "--version") name = "version";
  std::vector<std::string> args(argv + 2, argv + argc);
  const auto& commands = Commands();
  auto it = std::find_if(commands.begin(), commands.end(),
                         [&](const Command& c) { return name == c.name; });
  if (it == commands.end()) {
    const Command* best = nullptr;
    size_t best_distance = 3;  // suggest only close matches
    for (const Command& c : commands) {
      size_t d = EditDistance(name, c.name);
      if (d < best_distance) best_distance = d, best = &c;
    }
    std::fprintf(stderr, "lifeline: unknown command '%s'", name.c_str());
    if (best) std::fprintf(stderr, "; did you mean '%s'?", best->name);
    std::fprintf(stderr, " (lifeline help lists them)\n");
    return static_cast<int>(ExitCode::kUsage);
  }
  InstallSignalHandlers();
  Status st = RunGuarded(*it, args);
  if (!st.ok() && !st.message().empty()) {
    std::fprintf(stderr, "lifeline %s: %s\n", it->name, st.message().c_str());
  }
  return static_cast<int>(st.code());
}

}  // namespace lifeline::cli

int main(int argc, char** argv) { return lifeline::cli::Main(argc, argv); }
