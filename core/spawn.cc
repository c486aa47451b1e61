#include "core/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>

#include <cstring>

extern char** environ;

namespace lifeline {

Result<pid_t> SpawnWithLog(std::vector<std::string> argv, const std::string& log) {
  if (argv.empty()) return Status::Usage("nothing to start");
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status::Infra(
        fmt::format("cannot start {} with output to {}: {}", argv[0], log, std::strerror(rc)));
  }
  return pid;
}

}  // namespace lifeline
