// Child processes: every program lifeline runs (the drill's background
// mirror, scripts/kafka for broker faults, tests that run the CLI) starts,
// is signalled and is waited for here, without a shell in between.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace lifeline {

// Starts argv[0] (a path) with `argv`, stdout and stderr appended to `log`
// (created if missing), in the caller's environment. Returns the child's pid.
Result<pid_t> SpawnWithLog(std::vector<std::string> argv, const std::string& log);

// How a child ended.
struct ExitStatus {
  bool exited = false;  // false: killed by `signal`
  int code = 0;
  int signal = 0;
  bool success() const { return exited && code == 0; }
  // "exited with 0", "killed by signal 9"
  std::string Describe() const;
};

// Waits for `pid` (a child of this process) to end.
Result<ExitStatus> WaitChild(pid_t pid);

// Sends `sig` to `pid` and waits for it to end.
Result<ExitStatus> SignalAndWait(pid_t pid, int sig);

// Runs argv to its end, output appended to `log`.
Result<ExitStatus> RunWithLog(std::vector<std::string> argv, const std::string& log);

// Runs argv to its end: how it ended and what it wrote to stdout (its
// stderr is discarded). Only a child that cannot be run is an error; the
// caller judges its exit status.
struct Captured {
  ExitStatus status;
  std::string out;
};
Result<Captured> RunAndCapture(std::vector<std::string> argv);

// The path of the running executable (/proc/self/exe): how the drill starts
// lifeline subcommands and finds the scripts/ folder next to the build.
Result<std::string> SelfExecutable();

}  // namespace lifeline
