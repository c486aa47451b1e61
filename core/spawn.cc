#include "core/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

extern char** environ;

namespace lifeline {
namespace {

// Owns a posix_spawn_file_actions_t for one spawn.
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

Result<pid_t> Spawn(std::vector<std::string>& argv, FileActions& actions, const std::string& what) {
  if (argv.empty()) return Status::Usage("nothing to start");
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], actions.get(), nullptr, args.data(), environ);
  if (rc != 0) {
    return Status::Infra(fmt::format("cannot start {}{}: {}", argv[0], what, std::strerror(rc)));
  }
  return pid;
}

}  // namespace

std::string ExitStatus::Describe() const {
  return exited ? fmt::format("exited with {}", code) : fmt::format("killed by signal {}", signal);
}

Result<pid_t> SpawnWithLog(std::vector<std::string> argv, const std::string& log) {
  FileActions actions;
  posix_spawn_file_actions_addopen(actions.get(), 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_addopen(actions.get(), 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  return Spawn(argv, actions, " with output to " + log);
}

Result<ExitStatus> WaitChild(pid_t pid) {
  int status = 0;
  pid_t got;
  while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (got < 0)
    return Status::Infra(fmt::format("waiting for process {}: {}", pid, std::strerror(errno)));
  ExitStatus out;
  out.exited = WIFEXITED(status);
  out.code = out.exited ? WEXITSTATUS(status) : 0;
  out.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return out;
}

Result<ExitStatus> SignalAndWait(pid_t pid, int sig) {
  // A child that already ended is still reaped below; only a pid that is
  // not ours is an error, and waitpid reports that.
  kill(pid, sig);
  return WaitChild(pid);
}

Result<ExitStatus> RunWithLog(std::vector<std::string> argv, const std::string& log) {
  LIFELINE_ASSIGN_OR_RETURN(auto pid, SpawnWithLog(std::move(argv), log));
  return WaitChild(pid);
}

Result<Captured> RunAndCapture(std::vector<std::string> argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Status::Infra(
        fmt::format("cannot run {}: pipe: {}", argv.empty() ? "" : argv[0], std::strerror(errno)));
  }
  FileActions actions;
  posix_spawn_file_actions_adddup2(actions.get(), fds[1], 1);
  posix_spawn_file_actions_addopen(actions.get(), 2, "/dev/null", O_WRONLY, 0);
  auto pid = Spawn(argv, actions, "");
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  Captured out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  LIFELINE_ASSIGN_OR_RETURN(auto ended, WaitChild(*pid));
  out.status = ended;
  return out;
}

Result<std::string> SelfExecutable() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return Status::Infra("cannot find the lifeline binary (/proc/self/exe)");
  return std::string(self, static_cast<size_t>(n));
}

}  // namespace lifeline
