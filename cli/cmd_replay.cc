// lifeline replay, lifeline state (hash | at), lifeline audit.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/envelope.h"
#include "replay/replay.h"

namespace lifeline::cli {
namespace {

Status RunStateHash(const std::vector<std::string>& args) {
  std::string path, by;
  bool json = false;
  po::options_description desc("state hash options");
  desc.add_options()("sandbox", po::value(&path)->value_name("FILE.db"), "the sandbox to hash")(
      "by", po::value(&by)->value_name("table|prompt"),
      "also print the breakdown by table or by prompt")("json", po::bool_switch(&json),
                                                        "print JSON");
  po::positional_options_description pos;
  pos.add("sandbox", 1);
  po::variables_map vm;
  auto parsed =
      ParseArgs(args, desc, "lifeline state hash FILE.db [--by table|prompt] [--json]", &vm, &pos);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (path.empty()) return MissingOption("FILE.db", "name the sandbox a replay wrote");
  if (!by.empty() && by != "table" && by != "prompt") {
    return Status::Usage("--by " + by + ": expected table or prompt");
  }
  LIFELINE_ASSIGN_OR_RETURN(auto digest, replay::HashSandbox(path, by == "prompt"));
  if (json) {
    nlohmann::ordered_json j;
    j["sandbox"] = path;
    j["state_hash"] = digest.total.Hex();
    for (const auto& t : digest.tables) {
      j["tables"][t.table] = {{"rows", t.rows}, {"hash", t.digest.Hex()}};
    }
    if (by == "prompt") {
      j["prompts"] = nlohmann::ordered_json::object();
      for (const auto& [p, d] : digest.prompts) j["prompts"][p] = d.Hex();
    }
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }
  std::printf("%s  %s\n", digest.total.Hex().c_str(), path.c_str());
  if (by == "table") {
    for (const auto& t : digest.tables) {
      std::printf("  %-20s %10lld rows  %s\n", t.table.c_str(), static_cast<long long>(t.rows),
                  t.digest.Hex().c_str());
    }
  } else if (by == "prompt") {
    for (const auto& [p, d] : digest.prompts) {
      std::printf("  %s  %s\n", d.Hex().c_str(), p.c_str());
    }
  }
  return Status::Ok();
}

Status RunStateAt(const std::vector<std::string>& args) {
  std::string path, prompt, time;
  bool json = false;
  po::options_description desc("state at options");
  desc.add_options()("sandbox", po::value(&path)->value_name("FILE.db"), "the sandbox")(
      "prompt", po::value(&prompt)->value_name("ID"), "prompt id")(
      "time", po::value(&time)->value_name("T"), "RFC 3339 time or epoch milliseconds")(
      "json", po::bool_switch(&json), "print JSON");
  po::positional_options_description pos;
  pos.add("sandbox", 1);
  po::variables_map vm;
  auto parsed = ParseArgs(args, desc, "lifeline state at FILE.db --prompt ID --time T", &vm, &pos);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (path.empty()) return MissingOption("FILE.db", "name the sandbox a replay wrote");
  if (prompt.empty()) return MissingOption("--prompt", "name the prompt id");
  if (time.empty()) return MissingOption("--time", "e.g. --time 2026-11-26T10:15:00Z");
  LIFELINE_ASSIGN_OR_RETURN(auto at, ParseTimeOption("--time", time));
  LIFELINE_ASSIGN_OR_RETURN(auto live, replay::StateAt(path, prompt, at));
  if (json) {
    nlohmann::ordered_json j;
    j["prompt"] = prompt;
    j["time"] = envelope::FormatRfc3339(at);
    j["scopes"] = nlohmann::ordered_json::array();
    for (const auto& l : live) {
      j["scopes"].push_back({{"scope", l.scope},
                             {"version", l.version},
                             {"percent", l.percent},
                             {"activated_by",
                              {{"event_id", l.activated_event_id},
                               {"actor", l.activated_actor},
                               {"time", envelope::FormatRfc3339(TimestampMs(l.since_ms))}}},
                             {"last_change", {{"via", l.via}, {"event_id", l.event_id}}}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }
  std::printf("prompt %s at %s:\n", prompt.c_str(), envelope::FormatRfc3339(at).c_str());
  if (live.empty()) std::printf("  nothing was live in any scope\n");
  for (const auto& l : live) {
    std::printf("  %-20s version %s at %d%%, active since %s by %s (event %s)\n", l.scope.c_str(),
                l.version.c_str(), l.percent,
                envelope::FormatRfc3339(TimestampMs(l.since_ms)).c_str(), l.activated_actor.c_str(),
                l.activated_event_id.c_str());
  }
  return Status::Ok();
}

}  // namespace

Status RunReplay(const std::vector<std::string>& args) {
  ClientConfigInputs inputs;
  std::vector<std::string> into_files;
  replay::ReplayOptions options;
  std::string from_offset, until_offset, from_time, until_time;
  bool json = false;
  po::options_description desc("replay options");
  desc.add_options()("from", po::value(&inputs.bootstrap)->value_name("HOST:PORT"),
                     "the cluster to read")(
      "config", po::value(&inputs.config_files)->value_name("FILE")->composing(),
      "librdkafka properties file for both clusters (Java .properties syntax); repeatable")(
      "into-config", po::value(&into_files)->value_name("FILE")->composing(),
      "librdkafka properties file for a kafka:// sandbox's cluster (after --config); "
      "repeatable")(
      "property,X", po::value(&inputs.x_options)->value_name("KEY=VALUE")->composing(),
      "librdkafka property for both clusters, or one with a source. (--from) or into. (the "
      "sandbox's) prefix; repeatable")(
      "topic,t", po::value(&options.topic)->default_value(options.topic), "lifecycle topic")(
      "from-offset", po::value(&from_offset)->value_name("O|P:O,..."),
      "start at this offset (every partition) or these per-partition offsets")(
      "from-time", po::value(&from_time)->value_name("T"),
      "start at the first record at or after T (RFC 3339 or epoch ms)")(
      "until-offset", po::value(&until_offset)->value_name("O|P:O,..."),
      "stop before this offset (exclusive)")("until-time", po::value(&until_time)->value_name("T"),
                                             "stop before the first record at or after T")(
      "into", po::value(&options.into)->value_name("FILE.db|kafka://HOST:PORT/TOPIC"),
      "the new sandbox: a SQLite file, or a fresh topic")("force", po::bool_switch(&options.force),
                                                          "replace an existing sandbox")(
      "json", po::bool_switch(&json), "print the summary as JSON");
  po::variables_map vm;
  auto parsed = ParseArgs(
      args, desc,
      "lifeline replay --from HOST:PORT --topic T --into FILE.db|kafka://HOST:PORT/TOPIC", &vm);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (inputs.bootstrap.empty() && inputs.config_files.empty()) {
    return MissingOption("--from", "name the cluster to read, e.g. --from 127.0.0.1:19092");
  }
  if (options.into.empty()) {
    return MissingOption("--into", "a new FILE.db, or kafka://HOST:PORT/TOPIC");
  }
  LIFELINE_RETURN_IF_ERROR(ParseRangeEnd("--from", from_offset, from_time, &options.from.offset,
                                         &options.from.partition_offsets, &options.from.time));
  LIFELINE_RETURN_IF_ERROR(ParseRangeEnd("--until", until_offset, until_time, &options.until.offset,
                                         &options.until.partition_offsets, &options.until.time));
  if (!into_files.empty() && options.into.find("://") == std::string::npos) {
    return Status::Usage("--into-config is for a kafka:// sandbox; --into " + options.into +
                         " is a file");
  }
  LIFELINE_ASSIGN_OR_RETURN(auto config, BuildClientConfig(inputs, "source"));
  options.source = config;
  ClientConfigInputs into_inputs = inputs;
  into_inputs.bootstrap.clear();
  into_inputs.config_files.insert(into_inputs.config_files.end(), into_files.begin(),
                                  into_files.end());
  LIFELINE_ASSIGN_OR_RETURN(auto into_config, BuildClientConfig(into_inputs, "into"));
  options.into_config = into_config;
  const bool tty = isatty(STDERR_FILENO);
  auto summary = replay::Run(options, [tty](int64_t read) {
    if (tty) {
      std::fprintf(stderr, "\rreplay: %lld records read", static_cast<long long>(read));
    }
  });
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!summary.ok()) return summary.status();
  std::fputs(json ? replay::FormatSummaryJson(*summary).c_str()
                  : replay::FormatSummaryText(*summary).c_str(),
             stdout);
  return Status::Ok();
}

Status RunState(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: lifeline state hash FILE.db [--by table|prompt] [--json]\n"
      "       lifeline state at FILE.db --prompt ID --time T [--json]\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage.c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? Status::Usage("expected `state hash` or `state at`") : Status::Ok();
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "hash") return RunStateHash(rest);
  if (args[0] == "at") return RunStateAt(rest);
  return Status::Usage("unknown `state " + args[0] + "`; expected `state hash` or `state at`");
}

Status RunAudit(const std::vector<std::string>& args) {
  replay::AuditOptions options;
  ClientConfigInputs live;
  std::string groups;
  bool json = false;
  po::options_description desc("audit options");
  desc.add_options()("sandbox", po::value(&options.sandbox)->value_name("FILE.db"), "the sandbox")(
      "prompt", po::value(&options.prompt)->value_name("ID"), "prompt id")(
      "version", po::value(&options.version)->value_name("V"),
      "the version to audit (default: the versions live now, else the newest)")(
      "source", po::value(&live.bootstrap)->value_name("HOST:PORT"),
      "the live cluster whose consumer groups to check (the one the sandbox was replayed from)")(
      "config", po::value(&live.config_files)->value_name("FILE")->composing(),
      "librdkafka properties file for --source; repeatable")(
      "property,X", po::value(&live.x_options)->value_name("KEY=VALUE")->composing(),
      "librdkafka property for --source; repeatable")(
      "groups", po::value(&groups)->value_name("G,..."),
      "consumer groups that should have processed the release and rollback events")(
      "json", po::bool_switch(&json), "print JSON");
  po::positional_options_description pos;
  pos.add("sandbox", 1);
  po::variables_map vm;
  auto parsed = ParseArgs(
      args, desc,
      "lifeline audit FILE.db --prompt ID [--version V] [--source HOST:PORT --groups G,...]", &vm,
      &pos);
  if (!parsed.ok() || !*parsed) return parsed.status();
  if (options.sandbox.empty()) return MissingOption("FILE.db", "name the sandbox a replay wrote");
  if (options.prompt.empty()) return MissingOption("--prompt", "name the prompt id");
  for (size_t start = 0; start < groups.size();) {
    size_t comma = groups.find(',', start);
    if (comma == std::string::npos) comma = groups.size();
    if (comma > start) options.groups.push_back(groups.substr(start, comma - start));
    start = comma + 1;
  }
  if (!live.bootstrap.empty() || !live.config_files.empty()) {
    LIFELINE_ASSIGN_OR_RETURN(auto config, BuildClientConfig(live));
    options.live = config;
  }
  LIFELINE_ASSIGN_OR_RETURN(auto text, replay::Audit(options, json));
  std::fputs(text.c_str(), stdout);
  return Status::Ok();
}

}  // namespace lifeline::cli
