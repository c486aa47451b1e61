// verify state on two sandboxes built from the hand-built stream.
#include "verify/verify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/lifecycle_stream.h"
#include "tests/sandbox_support.h"
#include "tests/test_support.h"

namespace lifeline::verify {
namespace {

namespace fs = std::filesystem;

class VerifyState : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / testing::UniqueName("lifeline-verify-state");
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Sandbox(const std::string& name, const std::vector<Record>& records, int partitions) {
    std::string path = (dir_ / name).string();
    testing::Build(testing::Place(records, partitions, 0), path);
    return path;
  }
  fs::path dir_;
};

TEST_F(VerifyState, SameStreamFromDifferentLayoutsPasses) {
  const auto a = Sandbox("a.db", testing::KnownAnswerStream(), 3);
  const auto b = Sandbox("b.db", testing::KnownAnswerStream(), 1);
  auto r = verify::VerifyState(a, b);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->pass) << FormatStateText(*r);
  EXPECT_EQ(r->hash_a, r->hash_b);
}

TEST_F(VerifyState, OneDifferingRowIsShownSideBySideWithItsTableAndPrompt) {
  std::vector<Record> stream = testing::KnownAnswerStream();
  // Event 8 deploys summarizer 2.0.0 globally: another percent.
  auto e = std::get<envelope::Event>(envelope::Parse(stream[7]));
  e.rollout->percent = 40;
  stream[7] = envelope::EncodeBinary(e);
  const auto a = Sandbox("a.db", testing::KnownAnswerStream(), 3);
  const auto b = Sandbox("b.db", stream, 3);
  auto r = verify::VerifyState(a, b);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->pass);
  EXPECT_EQ(r->prompts, std::vector<std::string>{"summarizer"});
  std::vector<std::string> tables;
  for (const auto& t : r->tables) tables.push_back(t.name);
  EXPECT_EQ(tables, (std::vector<std::string>{"deployments", "deployment_history", "event_log"}));
  const auto& history = r->tables[1];
  ASSERT_EQ(history.only_a.size(), 1u);
  ASSERT_EQ(history.only_b.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(history.only_a[0])["percent"], 100);
  EXPECT_EQ(nlohmann::json::parse(history.only_b[0])["percent"], 40);
  EXPECT_EQ(nlohmann::json::parse(history.only_b[0])["event_id"], "summarizer-8");
  const std::string text = FormatStateText(*r);
  EXPECT_NE(text.find("table deployment_history"), std::string::npos) << text;
}

TEST_F(VerifyState, CliExitsOneOnADivergenceAndZeroOnEquality) {
  std::vector<Record> changed = testing::KnownAnswerStream();
  changed.pop_back();  // without the malformed record: one quarantine row fewer
  const auto a = Sandbox("a.db", testing::KnownAnswerStream(), 3);
  const auto b = Sandbox("b.db", testing::KnownAnswerStream(), 2);
  const auto c = Sandbox("c.db", changed, 3);
  const std::string log = (dir_ / "cli.log").string();
  EXPECT_EQ(testing::WaitExit(testing::Spawn({"verify", "state", a, b}, log)), 0);
  EXPECT_EQ(testing::WaitExit(testing::Spawn({"verify", "state", a, c, "--json"}, log)), 1);
  const std::string out = testing::ReadFile(log);
  EXPECT_NE(out.find("\"table\": \"quarantine\""), std::string::npos) << out;
}

TEST_F(VerifyState, RefusesAFileThatIsNotACompleteSandbox) {
  const auto a = Sandbox("a.db", testing::KnownAnswerStream(), 3);
  auto r = verify::VerifyState(a, (dir_ / "missing.db").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ExitCode::kUsage);
}

}  // namespace
}  // namespace lifeline::verify
