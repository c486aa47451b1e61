// lifeline verify records | state | groups.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "cli/command.h"
#include "core/envelope.h"
#include "verify/verify.h"

namespace lifeline::cli {
namespace {

std::vector<std::string> SplitCommas(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    size_t start = 0;
    while (start <= item.size()) {
      size_t comma = item.find(',', start);
      if (comma == std::string::npos) comma = item.size();
      if (comma > start) out.push_back(item.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}

// Prints `text` and writes `json` to `evidence` (if given); a failed check
// is exit 1.
Status Finish(bool pass, const std::string& text, const std::string& json, bool print_json,
              const std::string& evidence, const char* what) {
  std::fputs(print_json ? json.c_str() : text.c_str(), stdout);
  if (!evidence.empty()) {
    std::ofstream out(evidence);
    out << json;
    if (!out) return Status::Infra("cannot write evidence to " + evidence);
  }
  if (!pass) return Status::CheckFailed(std::string(what) + ": divergence found");
  return Status::Ok();
}

Status RunVerifyRecords(const std::vector<std::string>& args) {
  TwoClusterInputs clusters;
  verify::RecordsOptions o;
  std::string align = "map", reader = "auto", from_offset, from_time, until_offset, until_time,
              evidence;
  bool json = false;
  po::options_description desc("verify records options");
  AddTwoClusterOptions(&desc, &clusters);
  desc.add_options()("topics", po::value(&o.topics)->value_name("REGEX"),
                     "source topics to verify (whole-name match)")(
      "name", po::value(&o.name)->default_value(o.name), "the mirror whose offset map aligns")(
      "state-dir", po::value(&o.state_dir)->default_value(o.state_dir)->value_name("DIR"),
      "the mirror's local map cache, used when the target has no offset-map topic")(
      "align", po::value(&align)->default_value(align),
      "map (the mirror's offset map), identity (same offsets), or content (by order and digest)")(
      "reader", po::value(&reader)->default_value(reader),
      "auto (raw where a side's configuration is plaintext), raw (lifeline's own Fetch reader, "
      "plaintext only) or librdkafka")(
      "from-offset", po::value(&from_offset)->value_name("O|P:O,..."), "start of the source range")(
      "from-time", po::value(&from_time)->value_name("T"),
      "start at the first record at or after T")("until-offset",
                                                 po::value(&until_offset)->value_name("O|P:O,..."),
                                                 "end of the source range (exclusive)")(
      "until-time", po::value(&until_time)->value_name("T"), "stop before the first record at T")(
      "chunk", po::value(&o.chunk_records)->value_name("N"),
      "records per chunk digest in the evidence (default 100000; with --against, the "
      "evidence's)")("limit", po::value(&o.report_limit)->default_value(o.report_limit),
                     "divergences listed per partition (all are counted)")(
      "allow-duplicates", po::bool_switch(&o.allow_duplicates),
      "at-least-once mirrors: target copies of a source record the map does not describe "
      "(re-sends) are counted, not divergences")(
      "evidence", po::value(&evidence)->value_name("FILE"), "write the JSON evidence here")(
      "against", po::value(&o.against)->value_name("FILE"),
      "compare the side(s) given with stored evidence instead of with each other")(
      "json", po::bool_switch(&json), "print JSON (the evidence)");
  po::variables_map vm;
  auto parsed =
      ParseArgs(args, desc,
                "lifeline verify records --source HOST:PORT --target HOST:PORT --topics "
                "REGEX [--name NAME] [--align map|identity|content] [--reader auto|raw|librdkafka]",
                &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (o.topics.empty()) return MissingOption("--topics", "e.g. --topics 'prompt\\..*'");
  o.align_given = !vm["align"].defaulted();
  if (align == "map") {
    o.align = verify::Align::kMap;
  } else if (align == "identity") {
    o.align = verify::Align::kIdentity;
  } else if (align == "content") {
    o.align = verify::Align::kContent;
  } else {
    return Status::Usage("--align " + align + ": expected map, identity or content");
  }
  if (reader == "auto") {
    o.reader = verify::Reader::kAuto;
  } else if (reader == "raw") {
    o.reader = verify::Reader::kRaw;
  } else if (reader == "librdkafka") {
    o.reader = verify::Reader::kLibrdkafka;
  } else {
    return Status::Usage("--reader " + reader + ": expected auto, raw or librdkafka");
  }
  LIFELINE_RETURN_IF_ERROR(ParseRangeEnd("--from", from_offset, from_time, &o.from.offset,
                                         &o.from.partition_offsets, &o.from.time));
  LIFELINE_RETURN_IF_ERROR(ParseRangeEnd("--until", until_offset, until_time, &o.until.offset,
                                         &o.until.partition_offsets, &o.until.time));
  const bool has_source = !clusters.source.empty() || !clusters.source_files.empty();
  const bool has_target = !clusters.target.empty() || !clusters.target_files.empty();
  if (o.against.empty() || has_source) {
    LIFELINE_ASSIGN_OR_RETURN(auto s, SideConfig(clusters, "source"));
    o.source = s;
  }
  if (o.against.empty() || has_target) {
    LIFELINE_ASSIGN_OR_RETURN(auto t, SideConfig(clusters, "target"));
    o.target = t;
  }
  LIFELINE_ASSIGN_OR_RETURN(auto report, verify::VerifyRecords(o));
  return Finish(report.pass, verify::FormatRecordsText(report), verify::FormatRecordsJson(report),
                json, evidence, "verify records");
}

Status RunVerifyState(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  bool json = false;
  size_t rows = 5;
  std::string evidence;
  po::options_description desc("verify state options");
  desc.add_options()("sandbox", po::value(&files)->value_name("FILE.db")->composing(),
                     "two sandboxes A.db B.db")("rows", po::value(&rows)->default_value(rows),
                                                "differing rows shown per table")(
      "evidence", po::value(&evidence)->value_name("FILE"), "write the JSON result here")(
      "json", po::bool_switch(&json), "print JSON");
  po::positional_options_description pos;
  pos.add("sandbox", 2);
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc, "lifeline verify state A.db B.db [--json]", &vm, &pos);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (files.size() != 2) return Status::Usage("verify state needs two sandboxes: A.db B.db");
  LIFELINE_ASSIGN_OR_RETURN(auto report, verify::VerifyState(files[0], files[1], rows));
  return Finish(report.pass, verify::FormatStateText(report), verify::FormatStateJson(report), json,
                evidence, "verify state");
}

Status RunVerifyGroups(const std::vector<std::string>& args) {
  TwoClusterInputs clusters;
  verify::GroupsOptions o;
  std::vector<std::string> groups;
  bool json = false;
  std::string evidence;
  po::options_description desc("verify groups options");
  AddTwoClusterOptions(&desc, &clusters);
  desc.add_options()("groups", po::value(&groups)->composing()->value_name("G,..."),
                     "consumer groups to check; repeatable")(
      "name", po::value(&o.name)->default_value(o.name), "the mirror whose offset map translates")(
      "state-dir", po::value(&o.state_dir)->default_value(o.state_dir)->value_name("DIR"),
      "the mirror's local map cache")("evidence", po::value(&evidence)->value_name("FILE"),
                                      "write the JSON result here")("json", po::bool_switch(&json),
                                                                    "print JSON");
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc,
                          "lifeline verify groups --source HOST:PORT --target HOST:PORT --groups "
                          "G[,G...] [--name NAME]",
                          &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  o.groups = SplitCommas(groups);
  LIFELINE_RETURN_IF_ERROR(BothSides(clusters, &o.source, &o.target));
  LIFELINE_ASSIGN_OR_RETURN(auto report, verify::VerifyGroups(o));
  return Finish(report.pass, verify::FormatGroupsText(report), verify::FormatGroupsJson(report),
                json, evidence, "verify groups");
}

}  // namespace

Status RunVerify(const std::vector<std::string>& args) {
  const char* usage =
      "usage: lifeline verify records --source HOST:PORT --target HOST:PORT --topics REGEX\n"
      "       lifeline verify state A.db B.db\n"
      "       lifeline verify groups --source HOST:PORT --target HOST:PORT --groups G,...\n"
      "(lifeline verify CHECK --help for options)\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage, args.empty() ? stderr : stdout);
    return args.empty()
               ? Status::Usage("expected `verify records`, `verify state` or `verify groups`")
               : Status::Ok();
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "records") return RunVerifyRecords(rest);
  if (args[0] == "state") return RunVerifyState(rest);
  if (args[0] == "groups") return RunVerifyGroups(rest);
  return Status::Usage("unknown `verify " + args[0] + "`; expected records, state or groups");
}

}  // namespace lifeline::cli
