// The subcommand table's shape and the option helpers every subcommand
// shares. Only main.cc prints errors and picks exit codes.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "core/types.h"

namespace lifeline::cli {

namespace po = boost::program_options;

// Runs one subcommand. `args` excludes the program and subcommand names.
// Returns the status to map to an exit code; a command that printed its own
// verdict returns Status::CheckFailed for exit 1.
using CommandFn = Status (*)(const std::vector<std::string>& args);

struct Command {
  const char* name;
  const char* summary;
  CommandFn run;
};

// The table, in the order `lifeline help` prints it.
const std::vector<Command>& Commands();

// Parses `args` against `desc` (plus --help). Returns false after printing
// help when --help was given; usage errors come back as Status::Usage.
Result<bool> ParseArgs(const std::vector<std::string>& args, const po::options_description& desc,
                       const char* usage, po::variables_map* vm,
                       const po::positional_options_description* positional = nullptr);

// --bootstrap/-b, --config FILE..., -X key=value... for one-cluster commands.
void AddClusterOptions(po::options_description* desc, ClientConfigInputs* inputs);

// --source/--target HOST:PORT, --source-config/--target-config FILE and -X
// [source.|target.]key=value for two-cluster commands.
void AddTwoClusterOptions(po::options_description* desc, TwoClusterInputs* inputs);
// Builds one side's configuration ("source" or "target"); the bootstrap is
// required unless a config file provides it.
Result<ClientConfig> SideConfig(const TwoClusterInputs& inputs, std::string_view side);
// Both sides at once.
Status BothSides(const TwoClusterInputs& inputs, ClientConfig* source, ClientConfig* target);

// RFC 3339 ("2026-11-26T10:15:00Z") or milliseconds since the epoch.
Result<TimestampMs> ParseTimeOption(const std::string& option, const std::string& text);

// One end of a range given as --NAME-offset (an offset for every partition,
// or PARTITION:OFFSET pairs "0:100,3:7") or --NAME-time (at most one of the
// two); `name` is "--from" or "--until". Fills the matching output.
Status ParseRangeEnd(const std::string& name, const std::string& offsets, const std::string& time,
                     std::optional<int64_t>* offset, std::map<int32_t, int64_t>* partition_offsets,
                     std::optional<TimestampMs>* at);

// A Status::Usage naming the missing option and the fix.
Status MissingOption(const char* option, const char* fix);

Status RunVersion(const std::vector<std::string>& args);
Status RunSandbox(const std::vector<std::string>& args);
Status RunGenerate(const std::vector<std::string>& args);
Status RunScan(const std::vector<std::string>& args);
Status RunMirror(const std::vector<std::string>& args);
Status RunOffsets(const std::vector<std::string>& args);
Status RunGroups(const std::vector<std::string>& args);
Status RunReplay(const std::vector<std::string>& args);
Status RunState(const std::vector<std::string>& args);
Status RunAudit(const std::vector<std::string>& args);
Status RunVerify(const std::vector<std::string>& args);
Status RunDrill(const std::vector<std::string>& args);

}  // namespace lifeline::cli
