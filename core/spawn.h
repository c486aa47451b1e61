// Starting a child process whose output goes to a log file (the drill's
// background mirror; tests that run the CLI).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace lifeline {

// Starts argv[0] (a path) with `argv`, stdout and stderr appended to `log`
// (created if missing), in the caller's environment. Returns the child's pid.
Result<pid_t> SpawnWithLog(std::vector<std::string> argv, const std::string& log);

}  // namespace lifeline
