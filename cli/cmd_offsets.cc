#include <cstdio>

#include "cli/command.h"
#include "mirror/mirror.h"

namespace lifeline::cli {

// lifeline offsets translate: exact target offsets from a mirror's map.
Status RunOffsets(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "translate") {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::printf(
          "usage: lifeline offsets translate --name NAME (--target HOST:PORT | "
          "--state-dir DIR) (--topic T --partition P --offset O | --group G --source "
          "HOST:PORT)\n");
      return Status::Ok();
    }
    return Status::Usage("expected `lifeline offsets translate ...` (see --help)");
  }
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
  std::vector<std::string> rest(args.begin() + 1, args.end());
  auto parsed = ParseArgs(rest, desc,
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

}  // namespace lifeline::cli
