// The lifeline binary's dispatch: help from the table, did-you-mean,
// per-command help, and exit codes for usage errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace lifeline {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CliRun Lifeline(const std::string& args) {
  CliRun run;
  std::string cmd = std::string(LIFELINE_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) run.output.append(buf.data(), n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(Cli, HelpListsEveryCommandFromTheTable) {
  CliRun run = Lifeline("help");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* name : {"help", "version", "sandbox", "generate", "scan", "mirror", "offsets",
                           "groups", "replay", "state", "audit", "verify"}) {
    EXPECT_NE(run.output.find(std::string("  ") + name + " "), std::string::npos) << name;
  }
}

TEST(Cli, UnknownCommandSuggestsTheClosestOne) {
  CliRun run = Lifeline("genrate");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("did you mean 'generate'?"), std::string::npos) << run.output;
}

TEST(Cli, VersionNamesLifelineAndLibrdkafka) {
  CliRun run = Lifeline("version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("lifeline 0."), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("librdkafka 2."), std::string::npos) << run.output;
}

TEST(Cli, EveryCommandHasHelp) {
  for (const char* name :
       {"version", "sandbox", "generate", "scan", "mirror", "replay", "state", "audit"}) {
    CliRun run = Lifeline(std::string(name) + " --help");
    EXPECT_EQ(run.exit_code, 0) << name;
    EXPECT_NE(run.output.find("usage: lifeline "), std::string::npos) << name << run.output;
  }
}

TEST(Cli, MissingBootstrapIsAUsageErrorWithTheFix) {
  CliRun run = Lifeline("scan --topic t");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("missing --bootstrap"), std::string::npos) << run.output;
}

TEST(Cli, UnknownOptionIsAUsageError) {
  CliRun run = Lifeline("generate --no-such-flag");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("no-such-flag"), std::string::npos) << run.output;
}

TEST(Cli, BadClientPropertyNamesTheKeyAndHidesSecrets) {
  CliRun run = Lifeline("scan -b 127.0.0.1:1 -X sasl.password=hunter2 -X no.such.property=1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("no.such.property"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("hunter2"), std::string::npos) << run.output;
}

TEST(Cli, UnreachableClusterExitsWithInfrastructureCode) {
  CliRun run = Lifeline("scan -b 127.0.0.1:1 -X socket.connection.setup.timeout.ms=1000");
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("reachable"), std::string::npos) << run.output;
}

TEST(Cli, VerifyUsageErrorsAreExitTwo) {
  EXPECT_EQ(Lifeline("verify").exit_code, 2);
  EXPECT_EQ(Lifeline("verify nonsense").exit_code, 2);
  CliRun no_topics = Lifeline("verify records --source 127.0.0.1:1 --target 127.0.0.1:2");
  EXPECT_EQ(no_topics.exit_code, 2);
  EXPECT_NE(no_topics.output.find("--topics"), std::string::npos) << no_topics.output;
  EXPECT_EQ(Lifeline("verify records --source a:1 --target b:2 --topics x --align magic").exit_code,
            2);
  CliRun reader = Lifeline("verify records --source a:1 --target b:2 --topics x --reader fast");
  EXPECT_EQ(reader.exit_code, 2);
  EXPECT_NE(reader.output.find("--reader fast"), std::string::npos) << reader.output;
  CliRun raw_tls = Lifeline(
      "verify records --source 127.0.0.1:1 --target 127.0.0.1:2 --topics x --reader raw "
      "-X security.protocol=sasl_ssl -X sasl.mechanism=GSSAPI");
  EXPECT_EQ(raw_tls.exit_code, 2) << raw_tls.output;
  EXPECT_NE(raw_tls.output.find("--reader raw"), std::string::npos) << raw_tls.output;
  EXPECT_EQ(Lifeline("verify state only-one.db").exit_code, 2);
  EXPECT_EQ(Lifeline("verify groups --source a:1 --target b:2").exit_code, 2);
  for (const char* check : {"records", "state", "groups"}) {
    CliRun help = Lifeline(std::string("verify ") + check + " --help");
    EXPECT_EQ(help.exit_code, 0) << check;
    EXPECT_NE(help.output.find("usage: lifeline verify"), std::string::npos) << help.output;
  }
}

TEST(Cli, ReplayAndStateUsageErrorsNameTheFix) {
  CliRun no_into = Lifeline("replay --from 127.0.0.1:1");
  EXPECT_EQ(no_into.exit_code, 2);
  EXPECT_NE(no_into.output.find("--into"), std::string::npos) << no_into.output;
  CliRun both = Lifeline("replay --from 127.0.0.1:1 --into x.db --from-offset 1 --from-time 5");
  EXPECT_EQ(both.exit_code, 2);
  CliRun bad_offsets = Lifeline("replay --from 127.0.0.1:1 --into x.db --from-offset 0:x");
  EXPECT_EQ(bad_offsets.exit_code, 2);
  EXPECT_NE(bad_offsets.output.find("PARTITION:OFFSET"), std::string::npos) << bad_offsets.output;
  CliRun missing = Lifeline("state hash /nonexistent/lifeline.db");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("no such sandbox"), std::string::npos) << missing.output;
  CliRun not_sandbox = Lifeline("audit " + std::string(LIFELINE_BINARY) + " --prompt p");
  EXPECT_EQ(not_sandbox.exit_code, 2) << not_sandbox.output;
  EXPECT_NE(not_sandbox.output.find("is not a lifeline sandbox"), std::string::npos)
      << not_sandbox.output;
  CliRun bad_time = Lifeline("state at x.db --prompt p --time yesterday");
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_NE(bad_time.output.find("RFC 3339"), std::string::npos) << bad_time.output;
}

// A directory where a file is expected (or a file where a directory is) is
// exit 2 naming the option and the path, before any work: the clusters
// named here do not exist, so a command that started work would exit 3.
TEST(Cli, ADirectoryWhereAFileIsExpectedIsAUsageErrorBeforeAnyWork) {
  const std::string dir = ::testing::TempDir() + "cli-dir-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/plain-file";
  std::ofstream(file) << "x\n";
  const std::string down = "127.0.0.1:1";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"drill " + dir, dir},
      {"scan -b " + down + " --config " + dir, "--config " + dir},
      {"generate -b " + down + " --topic t --malformed-rate 0.1 --manifest " + dir,
       "--manifest " + dir},
      {"replay --from " + down + " --topic t --into " + dir + " --force", "--into " + dir},
      {"state hash " + dir, dir},
      {"audit " + dir + " --prompt p", dir},
      {"verify state " + dir + " " + file, dir},
      {"verify records --source " + down + " --target " + down + " --topics x --evidence " + dir,
       "--evidence " + dir},
      {"verify records --target " + down + " --topics x --against " + dir, "--against " + dir},
      {"mirror --source " + down + " --target " + down + " --topics x --summary-json " + dir,
       "--summary-json " + dir},
      {"mirror --source " + down + " --target " + down + " --topics x --state-dir " + file,
       "--state-dir " + file},
      {"scan -b " + down + " --expect-manifest " + dir, "--expect-manifest " + dir},
      {"drill " + file + " --out " + file, "--out " + file},
  };
  for (const auto& [args, named] : cases) {
    CliRun run = Lifeline(args);
    EXPECT_EQ(run.exit_code, 2) << args << "\n" << run.output;
    EXPECT_NE(run.output.find(named), std::string::npos) << args << "\n" << run.output;
    EXPECT_EQ(run.output.find("terminate called"), std::string::npos) << run.output;
  }
  std::filesystem::remove_all(dir);
}

// Bad input of every kind to every command: each ends with an error of its
// own (exit 1, 2 or 3) and one line, never an abort or an uncaught exception.
TEST(Cli, NoCommandAbortsOnBadInput) {
  const std::string dir = ::testing::TempDir() + "cli-bad-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string garbage = dir + "/garbage";
  std::ofstream(garbage) << "\x01\x02 not yaml: [ nor json {\n";
  const std::string down = "127.0.0.1:1 -X socket.connection.setup.timeout.ms=1000";
  const std::vector<std::string> cases = {
      "sandbox --clusters ''",
      "sandbox --partitions -3",
      "generate -b " + down + " --topic t --prompts -1",
      "generate -b " + down + " --topic t --malformed-rate 7",
      "scan -b " + down + " --expect-manifest " + garbage,
      "scan -b " + down + " --expect-manifest " + dir + "/none.json",
      "mirror --source " + down + " --target 127.0.0.1:2 --topics '('",
      "mirror --source a --target b --topics x --batch-records 0",
      "offsets translate --name 'a/b' --target 127.0.0.1:1 --topic t --partition 0 --offset 1",
      "offsets translate --state-dir " + dir + " --topic t --partition 0 --offset 1",
      "groups sync --source a --target b --name x --groups '('",
      "replay --from " + down + " --into " + dir + "/x.db --until-offset 9:x",
      "state hash " + garbage,
      "state at " + garbage + " --prompt p --time 2024-01-01T00:00:00Z",
      "audit " + garbage + " --prompt p",
      "verify records --source a --target b --topics '(' ",
      "verify records --target " + down + " --topics x --against " + garbage,
      "verify state " + garbage + " " + garbage,
      "verify groups --source a --target b --groups g --name ''",
      "drill " + garbage,
      "drill " + dir,
      "drill " + dir + "/missing.yaml",
  };
  for (const std::string& args : cases) {
    CliRun run = Lifeline(args);
    EXPECT_TRUE(run.exit_code == 1 || run.exit_code == 2 || run.exit_code == 3)
        << args << " -> " << run.exit_code << "\n"
        << run.output;
    EXPECT_EQ(run.output.find("terminate called"), std::string::npos) << args << run.output;
    EXPECT_NE(run.output.find("lifeline"), std::string::npos) << args << run.output;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeline
