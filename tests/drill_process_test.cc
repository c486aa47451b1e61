// The process helper the drill runs its children through (core/spawn.h).
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "core/spawn.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

TEST(DrillProcess, RunAndCaptureReturnsStdoutAndTheExitStatus) {
  auto ran = RunAndCapture({"/bin/sh", "-c", "echo one; echo two >&2; exit 3"});
  ASSERT_TRUE(ran.ok()) << ran.status().message();
  EXPECT_EQ(ran->out, "one\n");
  EXPECT_FALSE(ran->status.success());
  EXPECT_EQ(ran->status.Describe(), "exited with 3");
}

TEST(DrillProcess, RunWithLogAppendsBothStreams) {
  const std::string log =
      (std::filesystem::temp_directory_path() / testing::UniqueName("spawn.log")).string();
  auto ran = RunWithLog({"/bin/sh", "-c", "echo out; echo err >&2"}, log);
  ASSERT_TRUE(ran.ok()) << ran.status().message();
  EXPECT_TRUE(ran->success());
  ASSERT_TRUE(RunWithLog({"/bin/sh", "-c", "echo again"}, log).ok());
  EXPECT_EQ(testing::ReadFile(log), "out\nerr\nagain\n");
  std::filesystem::remove(log);
}

TEST(DrillProcess, SignalAndWaitSaysWhichSignalEndedTheChild) {
  auto pid = SpawnWithLog({"/bin/sleep", "30"}, "/dev/null");
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  auto ended = SignalAndWait(*pid, SIGKILL);
  ASSERT_TRUE(ended.ok()) << ended.status().message();
  EXPECT_FALSE(ended->exited);
  EXPECT_EQ(ended->Describe(), "killed by signal 9");
}

TEST(DrillProcess, AMissingProgramIsAnInfraError) {
  auto ran = RunAndCapture({"/nonexistent/program"});
  ASSERT_FALSE(ran.ok());
  EXPECT_EQ(ran.status().code(), ExitCode::kInfrastructure);
  EXPECT_NE(ran.status().message().find("/nonexistent/program"), std::string::npos);
}

TEST(DrillProcess, SelfExecutableIsThisBinary) {
  auto self = SelfExecutable();
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(std::filesystem::path(*self).filename(), "lifeline_tests");
}

}  // namespace
}  // namespace lifeline
