// lifeline drill FILE.yaml: run a drill and write its reports.
#include <cstdio>

#include "cli/command.h"
#include "drill/drill.h"

namespace lifeline::cli {

Status RunDrill(const std::vector<std::string>& args) {
  drill::DrillOptions o;
  std::string format = "text";
  po::options_description desc("drill options");
  desc.add_options()("file", po::value(&o.file)->value_name("FILE.yaml"), "the drill file")(
      "source", po::value(&o.clusters.source)->value_name("HOST:PORT"),
      "source cluster (overrides the file; `embedded` for the in-process sandbox)")(
      "target", po::value(&o.clusters.target)->value_name("HOST:PORT"),
      "target cluster (likewise)")(
      "config", po::value(&o.clusters.config_files)->value_name("FILE")->composing(),
      "librdkafka properties file for both clusters; repeatable")(
      "source-config", po::value(&o.clusters.source_files)->value_name("FILE")->composing(),
      "librdkafka properties file for the source (after --config); repeatable")(
      "target-config", po::value(&o.clusters.target_files)->value_name("FILE")->composing(),
      "librdkafka properties file for the target (after --config); repeatable")(
      "property,X", po::value(&o.clusters.x_options)->value_name("KEY=VALUE")->composing(),
      "librdkafka property for both clusters, or one with a source. / target. prefix; "
      "repeatable")("out", po::value(&o.out_dir)->value_name("DIR"),
                    "report directory (default reports/NAME-RUNID); refused if not empty")(
      "force", po::bool_switch(&o.force), "empty a non-empty --out directory first")(
      "format", po::value(&format)->default_value(format), "text or json");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc,
                          "lifeline drill FILE.yaml [--source HOST:PORT --target HOST:PORT] [--out "
                          "DIR [--force]] [--format text|json]",
                          &vm, &pos);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (o.file.empty())
    return MissingOption("FILE.yaml", "e.g. lifeline drill drills/n-n1-rollback.yaml");
  if (format != "text" && format != "json") return Status::Usage("--format: text or json");
  LIFELINE_ASSIGN_OR_RETURN(auto outcome, drill::RunDrill(o));
  std::fputs(format == "json" ? drill::FormatDrillJson(outcome).c_str()
                              : drill::FormatDrillText(outcome).c_str(),
             stdout);
  if (!outcome.report.pass) {
    return Status::CheckFailed("drill " + outcome.report.name + " failed; see " +
                               outcome.written.dir + "/summary.md");
  }
  return Status::Ok();
}

}  // namespace lifeline::cli
