#include <cstdio>

#include "cli/command.h"
#include "mirror/mirror.h"

namespace lifeline::cli {

// lifeline groups sync: move consumer groups to the target exactly.
Status RunGroups(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "sync") {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::printf(
          "usage: lifeline groups sync --source HOST:PORT --target HOST:PORT --name NAME "
          "(--group G ... | --groups REGEX) [--dry-run] [--allow-rewind]\n");
      return Status::Ok();
    }
    return Status::Usage("expected `lifeline groups sync ...` (see --help)");
  }
  TwoClusterInputs clusters;
  mirror::GroupSyncOptions options;
  po::options_description desc("groups sync options");
  AddTwoClusterOptions(&desc, &clusters);
  desc.add_options()("name", po::value(&options.name)->default_value(options.name),
                     "the mirror whose offset map translates")(
      "group", po::value(&options.groups)->composing(), "a group id; repeatable")(
      "groups", po::value(&options.groups_regex)->value_name("REGEX"),
      "every source group whose id matches")("dry-run", po::bool_switch(&options.dry_run),
                                             "print the plan, change nothing")(
      "reverse", po::bool_switch(&options.reverse),
      "failback: move the groups from the target back to the source with NAME.reverse")(
      "allow-rewind", po::bool_switch(&options.allow_rewind),
      "allow moving a target group to an earlier offset");
  po::variables_map vm;
  std::vector<std::string> rest(args.begin() + 1, args.end());
  auto parsed = ParseArgs(rest, desc,
                          "lifeline groups sync --source HOST:PORT --target HOST:PORT --name NAME "
                          "--group G [--dry-run]",
                          &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  LIFELINE_RETURN_IF_ERROR(BothSides(clusters, &options.source, &options.target));
  LIFELINE_ASSIGN_OR_RETURN(auto plans, mirror::SyncGroups(options));
  std::fputs(mirror::DescribePlans(plans, options.dry_run).c_str(), stdout);
  int refused = 0;
  for (const auto& p : plans) refused += !p.refusal.empty();
  if (refused > 0) {
    return Status::CheckFailed(std::to_string(refused) + " group(s) were not moved");
  }
  return Status::Ok();
}

}  // namespace lifeline::cli
