// Process exit codes, the contract of docs/architecture.md. Every subcommand maps
// its result to exactly one of these; only cli/main.cc calls exit.
#pragma once

namespace lifeline {

enum class ExitCode : int {
  kOk = 0,              // all checks passed
  kCheckFailed = 1,     // a verification or drill expectation failed
  kUsage = 2,           // usage or configuration error
  kInfrastructure = 3,  // cluster unreachable, authorization refused, disk
  kInterrupted = 130,   // SIGINT / SIGTERM
};

}  // namespace lifeline
