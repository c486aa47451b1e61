#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "core/envelope.h"

namespace lifeline::cli {

namespace {

// The string values given for option `name` (one string or a list).
std::vector<std::string> StringValues(const po::variable_value& v) {
  if (const auto* one = boost::any_cast<std::string>(&v.value())) return {*one};
  if (const auto* many = boost::any_cast<std::vector<std::string>>(&v.value())) return *many;
  return {};
}

// Every option whose value name says FILE (FILE, FILE.db, FILE.yaml, ...)
// must not name a directory, and one that says DIR must not name anything
// but a directory: checked here, before any command does work, so a wrong
// path never costs a whole run (or reads as an empty file).
Status CheckPaths(const po::options_description& desc, const po::variables_map& vm) {
  for (const auto& option : desc.options()) {
    const std::string kind = option->semantic()->name();
    const bool file = kind.find("FILE") != std::string::npos;
    const bool dir = kind.rfind("DIR", 0) == 0;
    if (!file && !dir) continue;
    const std::string& name = option->long_name();
    if (!vm.count(name)) continue;
    for (const std::string& path : StringValues(vm[name])) {
      if (path.empty() || path == "-" || path.find("://") != std::string::npos) continue;
      std::error_code ec;
      const auto status = std::filesystem::status(path, ec);
      if (ec || !std::filesystem::exists(status)) continue;  // the command says what it needs
      const bool is_dir = std::filesystem::is_directory(status);
      const std::string shown = option->canonical_display_name(po::command_line_style::allow_long);
      if (file && is_dir) {
        return Status::Usage(
            fmt::format("{} {}: is a directory; a file is expected here", shown, path));
      }
      if (dir && !is_dir) {
        return Status::Usage(
            fmt::format("{} {}: is not a directory; a directory is expected here", shown, path));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<bool> ParseArgs(const std::vector<std::string>& args, const po::options_description& desc,
                       const char* usage, po::variables_map* vm,
                       const po::positional_options_description* positional) {
  po::options_description all(desc);
  all.add_options()("help,h", "show this help");
  try {
    po::command_line_parser parser(args);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), *vm);
    if (vm->count("help")) {
      std::cout << "usage: " << usage << "\n\n" << all << "\n";
      return false;
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    return Status::Usage(std::string(e.what()) + " (see --help)");
  }
  LIFELINE_RETURN_IF_ERROR(CheckPaths(desc, *vm));
  return true;
}

void AddClusterOptions(po::options_description* desc, ClientConfigInputs* inputs) {
  desc->add_options()("bootstrap,b", po::value(&inputs->bootstrap)->value_name("HOST:PORT"),
                      "cluster bootstrap servers")(
      "config", po::value(&inputs->config_files)->value_name("FILE")->composing(),
      "librdkafka properties file (Java .properties syntax); repeatable")(
      "property,X", po::value(&inputs->x_options)->value_name("KEY=VALUE")->composing(),
      "librdkafka property, e.g. -X security.protocol=SASL_SSL; repeatable");
}

void AddTwoClusterOptions(po::options_description* desc, TwoClusterInputs* inputs) {
  desc->add_options()("source", po::value(&inputs->source)->value_name("HOST:PORT"),
                      "source cluster bootstrap servers")(
      "target", po::value(&inputs->target)->value_name("HOST:PORT"),
      "target cluster bootstrap servers")(
      "config", po::value(&inputs->config_files)->value_name("FILE")->composing(),
      "librdkafka properties file for both sides (Java .properties syntax); repeatable")(
      "source-config", po::value(&inputs->source_files)->value_name("FILE")->composing(),
      "librdkafka properties file for the source (after --config); repeatable")(
      "target-config", po::value(&inputs->target_files)->value_name("FILE")->composing(),
      "librdkafka properties file for the target (after --config); repeatable")(
      "property,X", po::value(&inputs->x_options)->value_name("KEY=VALUE")->composing(),
      "librdkafka property for both sides, or one side with a source. / target. prefix; "
      "repeatable");
}

Result<ClientConfig> SideConfig(const TwoClusterInputs& inputs, std::string_view side) {
  auto config = BuildSideConfig(inputs, side);
  if (!config.ok()) return config.status();
  if (config->bootstrap().empty()) {
    return Status::Usage(std::string("missing --") + std::string(side) +
                         " HOST:PORT (or bootstrap.servers in --" + std::string(side) +
                         "-config); the embedded sandbox is only for drills and demos");
  }
  return config;
}

Status BothSides(const TwoClusterInputs& inputs, ClientConfig* source, ClientConfig* target) {
  LIFELINE_ASSIGN_OR_RETURN(auto s, SideConfig(inputs, "source"));
  LIFELINE_ASSIGN_OR_RETURN(auto t, SideConfig(inputs, "target"));
  *source = std::move(s);
  *target = std::move(t);
  return Status::Ok();
}

Status MissingOption(const char* option, const char* fix) {
  return Status::Usage(std::string("missing ") + option + ": " + fix);
}

namespace {
bool WholeNumber(std::string_view s, int64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out >= 0;
}
}  // namespace

Result<TimestampMs> ParseTimeOption(const std::string& option, const std::string& text) {
  int64_t ms = 0;
  if (WholeNumber(text, &ms)) return TimestampMs(ms);
  if (auto t = envelope::ParseRfc3339(text)) return *t;
  return Status::Usage(fmt::format(
      "{} {}: expected an RFC 3339 time (2026-11-26T10:15:00Z) or milliseconds since the epoch",
      option, text));
}

Status ParseRangeEnd(const std::string& name, const std::string& offsets, const std::string& time,
                     std::optional<int64_t>* offset, std::map<int32_t, int64_t>* partition_offsets,
                     std::optional<TimestampMs>* at) {
  if (!offsets.empty() && !time.empty()) {
    return Status::Usage(fmt::format("give {}-offset or {}-time, not both", name, name));
  }
  if (!time.empty()) {
    LIFELINE_ASSIGN_OR_RETURN(auto t, ParseTimeOption(name + "-time", time));
    *at = t;
  }
  if (offsets.empty()) return Status::Ok();
  int64_t all = 0;
  if (WholeNumber(offsets, &all)) {
    *offset = all;
    return Status::Ok();
  }
  std::string_view rest = offsets;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t colon = item.find(':');
    int64_t p = 0, o = 0;
    if (colon == std::string_view::npos || !WholeNumber(item.substr(0, colon), &p) ||
        !WholeNumber(item.substr(colon + 1), &o)) {
      return Status::Usage(
          fmt::format("{}-offset {}: expected an offset for every partition (100) or "
                      "PARTITION:OFFSET pairs (0:100,3:7)",
                      name, offsets));
    }
    (*partition_offsets)[static_cast<int32_t>(p)] = o;
  }
  return Status::Ok();
}

}  // namespace lifeline::cli
