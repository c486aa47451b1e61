// The drill's background mirror: `lifeline mirror --follow` as a child
// process (through core/spawn.h), so a fault can kill it for real (SIGKILL)
// and a restart must recover from its durable state. Not thread-safe: the
// drill's thread starts and stops it.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/spawn.h"
#include "core/status.h"
#include "mirror/mirror.h"

namespace lifeline::drill {

class BackgroundMirror {
 public:
  BackgroundMirror() = default;
  BackgroundMirror(const BackgroundMirror&) = delete;
  BackgroundMirror& operator=(const BackgroundMirror&) = delete;
  ~BackgroundMirror();  // kills a mirror still running

  // Starts this binary's `mirror` subcommand with `options` (follow is
  // forced on), its output appended to `log`. Returns the child's pid.
  Result<pid_t> Start(mirror::MirrorOptions options, const TwoClusterInputs& clusters,
                      const std::string& log);
  // Sends `sig` and waits for the child to end.
  Result<ExitStatus> Stop(int sig);
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

}  // namespace lifeline::drill
