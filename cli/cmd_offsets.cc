#include <cstdio>

#include "cli/command.h"
#include "mirror/mirror.h"

namespace lifeline::cli {

namespace {

// lifeline offsets repair: cut a map that no longer loads back to its
// longest consistent prefix (mirror/internal/map_repair.h).
Status RunRepair(const std::vector<std::string>& args) {
  TwoClusterInputs clusters;
  mirror::RepairOptions o;
  po::options_description desc("offsets repair options");
  AddTwoClusterOptions(&desc, &clusters);
  desc.add_options()("name", po::value(&o.name)->default_value(o.name), "the mirror's name")(
      "dry-run", po::bool_switch(&o.dry_run), "say what would change, write nothing");
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc,
                          "lifeline offsets repair --name NAME --source HOST:PORT --target "
                          "HOST:PORT [--dry-run]",
                          &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  LIFELINE_ASSIGN_OR_RETURN(o.source, SideConfig(clusters, "source"));
  LIFELINE_ASSIGN_OR_RETURN(o.target, SideConfig(clusters, "target"));
  LIFELINE_ASSIGN_OR_RETURN(mirror::RepairReport report, mirror::RepairMaps(o));
  for (const std::string& line : report.lines) std::printf("%s\n", line.c_str());
  std::printf("mirror %s: %zu of %d partition map(s) %s\n", o.name.c_str(), report.lines.size(),
              report.partitions,
              o.dry_run ? "would be repaired (dry run: nothing written)" : "repaired");
  return Status::Ok();
}

// lifeline offsets translate: exact target offsets from a mirror's map.
Status RunTranslate(const std::vector<std::string>& args) {
  TwoClusterInputs clusters;
  mirror::MapSource from;
  std::string name = "default";
  std::string topic, group;
  int32_t partition = -1;
  int64_t offset = -1;
  po::options_description desc("offsets translate options");
  AddTwoClusterOptions(&desc, &clusters);
  desc.add_options()("name", po::value(&name)->default_value(name), "the mirror's name")(
      "state-dir", po::value(&from.state_dir)->default_value(from.state_dir)->value_name("DIR"),
      "read the map from the local cache here when --target is not given")(
      "topic", po::value(&topic), "source topic")("partition", po::value(&partition),
                                                  "source partition")(
      "offset", po::value(&offset), "source offset (a committed position: the next record)")(
      "group", po::value(&group), "translate every committed offset of this source group");
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc,
                          "lifeline offsets translate --name NAME --target HOST:PORT --topic T "
                          "--partition P --offset O",
                          &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (group.empty() && (topic.empty() || partition < 0 || offset < 0)) {
    return Status::Usage("give --topic, --partition and --offset, or --group G with --source");
  }
  if (!clusters.target.empty() || !clusters.target_files.empty()) {
    LIFELINE_ASSIGN_OR_RETURN(from.target, SideConfig(clusters, "target"));
  }
  LIFELINE_ASSIGN_OR_RETURN(mirror::MapSet maps, mirror::LoadRequiredMaps(from, name));

  std::vector<mirror::TranslatedOffset> results;
  if (!group.empty()) {
    LIFELINE_ASSIGN_OR_RETURN(ClientConfig source, SideConfig(clusters, "source"));
    LIFELINE_ASSIGN_OR_RETURN(results, mirror::TranslateGroup(maps, source, group));
  } else {
    results.push_back(
        mirror::TranslateOne(maps, {Topic(topic), Partition(partition)}, Offset(offset)));
  }
  int inexact = 0;
  for (const auto& r : results) {
    std::printf("%s\n", mirror::Describe(r).c_str());
    if (!r.exact()) ++inexact;
  }
  if (inexact > 0) {
    return Status::CheckFailed(std::to_string(inexact) + " offset(s) cannot be translated exactly");
  }
  return Status::Ok();
}

}  // namespace

// lifeline offsets translate|repair.
Status RunOffsets(const std::vector<std::string>& args) {
  const std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (!args.empty() && args[0] == "translate") return RunTranslate(rest);
  if (!args.empty() && args[0] == "repair") return RunRepair(rest);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf(
        "usage: lifeline offsets translate --name NAME (--target HOST:PORT | --state-dir DIR) "
        "(--topic T --partition P --offset O | --group G --source HOST:PORT)\n"
        "       lifeline offsets repair --name NAME --source HOST:PORT --target HOST:PORT "
        "[--dry-run]\n");
    return Status::Ok();
  }
  return Status::Usage(
      "expected `lifeline offsets translate ...` or `lifeline offsets repair ...` (see --help)");
}

}  // namespace lifeline::cli
