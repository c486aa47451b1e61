#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "cli/command.h"
#include "cli/mirror_command.h"
#include "mirror/mirror.h"

namespace lifeline::cli {
namespace {

// A live line on a terminal; a plain line every ten seconds otherwise.
mirror::ProgressFn MakeProgressPrinter() {
  const bool tty = isatty(STDERR_FILENO);
  return [tty, last = -10.0](const mirror::MirrorProgress& p) mutable {
    if (!tty && p.seconds - last < 10) return;
    last = p.seconds;
    const double rate = p.seconds > 0 ? p.records / p.seconds : 0;
    const double mbs = p.seconds > 0 ? p.bytes / p.seconds / 1e6 : 0;
    std::string remaining =
        p.remaining >= 0 ? std::to_string(p.remaining) + " offsets to go" : "following";
    std::fprintf(stderr, "%smirror: %lld records, %.0f records/s, %.1f MB/s, %s%s",
                 tty ? "\r\033[K" : "", static_cast<long long>(p.records), rate, mbs,
                 remaining.c_str(), tty ? "" : "\n");
  };
}

}  // namespace

Result<std::optional<MirrorCommand>> ParseMirrorCommand(const std::vector<std::string>& args) {
  MirrorCommand command;
  TwoClusterInputs& clusters = command.clusters;
  mirror::MirrorOptions& options = command.options;
  std::string& summary_json = command.summary_json;
  bool until_caught_up = false;
  po::options_description desc("mirror options");
  bool skip_configs = false;
  AddTwoClusterOptions(&desc, &clusters);
  desc.add_options()("topics", po::value(&options.topics)->value_name("REGEX"),
                     "source topics to mirror (whole-name regex; __* and _lifeline.* never)")(
      "name", po::value(&options.name)->default_value(options.name),
      "mirror name: keys its offset map, state file and group ids")(
      "create-topics", po::bool_switch(&options.create_topics),
      "create missing target topics with the source's partitions and configs")(
      "exactly-once", po::bool_switch(&options.exactly_once),
      "write records, offset map and progress in one transaction per batch")(
      "follow", po::bool_switch(&options.follow),
      "keep mirroring new records, partitions and topics until SIGINT/SIGTERM")(
      "until-caught-up", po::bool_switch(&until_caught_up),
      "stop once every partition reached the high watermark seen at start (the default)")(
      "reverse", po::bool_switch(&options.reverse),
      "failback: copy target -> source only the records that did not come from the source, "
      "keeping the map NAME.reverse on the source")(
      "skip-configs", po::bool_switch(&skip_configs),
      "do not read topic configs (for clusters without DescribeConfigs, such as the embedded "
      "sandbox): nothing is copied and cleanup policies are not compared")(
      "allow-gaps", po::bool_switch(&options.allow_gaps),
      "continue past records deleted before they were mirrored, recording the gap")(
      "state-dir",
      po::value(&options.state_dir)->default_value(options.state_dir)->value_name("DIR"),
      "where the local cache of the offset map (NAME.db) lives")(
      "batch", po::value(&options.batch_records)->default_value(options.batch_records),
      "records per flush / transaction")(
      "max-records-per-second",
      po::value(&options.max_records_per_second)->default_value(0)->value_name("N"),
      "limit the copy rate to spare busy clusters (0: unlimited)")(
      "summary-json", po::value(&summary_json)->value_name("FILE"),
      "write the per-partition summary here at the end");
  po::variables_map vm;
  LIFELINE_ASSIGN_OR_RETURN(
      auto parsed, ParseArgs(args, desc,
                             "lifeline mirror --source HOST:PORT --target HOST:PORT --topics REGEX "
                             "[--name NAME] [--create-topics] [--exactly-once] [--follow | "
                             "--until-caught-up]",
                             &vm));
  if (!parsed) return std::optional<MirrorCommand>();
  options.read_configs = !skip_configs;
  if (options.follow && until_caught_up) {
    return Status::Usage("--follow and --until-caught-up exclude each other");
  }
  if (options.topics.empty()) {
    return MissingOption("--topics", "name the source topics, e.g. --topics 'prompt\\..*'");
  }
  if (options.batch_records == 0) return Status::Usage("--batch must be at least 1");
  LIFELINE_RETURN_IF_ERROR(BothSides(clusters, &options.source, &options.target));
  return std::optional<MirrorCommand>(std::move(command));
}

Status RunMirror(const std::vector<std::string>& args) {
  auto command = ParseMirrorCommand(args);
  if (!command.ok() || !*command) return command.status();
  const mirror::MirrorOptions& options = (*command)->options;
  const std::string& summary_json = (*command)->summary_json;

  auto summary = mirror::Run(options, MakeProgressPrinter());
  std::fputs(isatty(STDERR_FILENO) ? "\n" : "", stderr);
  if (!summary.ok()) return summary.status();
  for (const std::string& w : summary->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  int64_t duplicates = 0;
  for (const auto& p : summary->partitions) duplicates += p.possible_duplicates;
  std::printf(
      "mirror %s: %lld records (%.1f MB) from %zu topic(s) in %.1f s (%.0f records/s)%s\n",
      summary->name.c_str(), static_cast<long long>(summary->records), summary->bytes / 1e6,
      summary->topics.size(), summary->seconds,
      summary->seconds > 0 ? summary->records / summary->seconds : 0.0,
      duplicates
          ? (", " + std::to_string(duplicates) +
             " target record(s) the map does not describe (possible duplicates; see the warnings)")
                .c_str()
          : "");
  if (!summary_json.empty()) {
    std::ofstream out(summary_json);
    out << mirror::SummaryJson(*summary);
    if (!out.flush()) return Status::Infra(summary_json + ": cannot write the summary");
  }
  return Status::Ok();
}

}  // namespace lifeline::cli
