#include "drill/internal/background_mirror.h"

#include <csignal>

namespace lifeline::drill {

BackgroundMirror::~BackgroundMirror() {
  if (running()) (void)Stop(SIGKILL);
}

Result<pid_t> BackgroundMirror::Start(mirror::MirrorOptions options,
                                      const TwoClusterInputs& clusters, const std::string& log) {
  if (running()) return Status::CheckFailed("a background mirror is already running");
  LIFELINE_ASSIGN_OR_RETURN(auto self, SelfExecutable());
  options.follow = true;
  std::vector<std::string> argv = {self, "mirror"};
  for (std::string& a : mirror::MirrorArgs(options, clusters)) argv.push_back(std::move(a));
  LIFELINE_ASSIGN_OR_RETURN(auto pid, SpawnWithLog(std::move(argv), log));
  pid_ = pid;
  return pid_;
}

Result<ExitStatus> BackgroundMirror::Stop(int sig) {
  const pid_t pid = pid_;
  pid_ = -1;
  return SignalAndWait(pid, sig);
}

}  // namespace lifeline::drill
