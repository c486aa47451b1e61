// Drills end to end through the CLI: every shipped drill on the real local
// clusters, n-n1-rollback on the embedded sandbox, a wrong expectation, the
// report files (manifest, no secrets).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace lifeline {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::Spawn;
using testing::UniqueName;
using testing::WaitExit;

const std::string kSource = LIFELINE_SOURCE_DIR;

class DrillIntegration : public testing::RealKafkaTest {
 protected:
  void SetUp() override {
    RealKafkaTest::SetUp();
    dir_ = fs::temp_directory_path() / UniqueName("lifeline-drill");
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  // Runs a drill through the CLI; returns its exit code. Reports in dir_/out.
  int Drill(const std::string& file, bool real, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"drill", file, "--out", (dir_ / "out").string()};
    if (real) {
      args.insert(args.end(), {"--source", source_.bootstrap(), "--target", target_.bootstrap()});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return WaitExit(Spawn(args, (dir_ / "drill.log").string()));
  }
  std::string Log() { return ReadFile((dir_ / "drill.log").string()); }
  nlohmann::json Evidence() {
    return nlohmann::json::parse(ReadFile((dir_ / "out/evidence.json").string()));
  }
  fs::path dir_;
};

TEST_F(DrillIntegration, NN1RollbackPassesOnRealKafka) {
  ASSERT_EQ(Drill(kSource + "/scenarios/n-n1-rollback.yaml", true), 0) << Log();
  const auto ev = Evidence();
  EXPECT_TRUE(ev["pass"].get<bool>());
  // Every consumer processed the rollback, from committed offsets.
  int rollback_acks = 0;
  for (const auto& a : ev["acknowledgements"]) {
    EXPECT_TRUE(a["processed"].get<bool>()) << a.dump();
    EXPECT_GT(a["committed"].get<int64_t>(), a["offset"].get<int64_t>());
    if (a["event"].get<std::string>().rfind("rollback", 0) == 0) ++rollback_acks;
  }
  EXPECT_EQ(rollback_acks, 4);
  // The same state on both sides of the mirror.
  std::set<std::string> hashes;
  for (const auto& [what, h] : ev["hashes"].items()) {
    if (what.rfind("state of", 0) == 0) hashes.insert(h.get<std::string>());
  }
  EXPECT_EQ(hashes.size(), 1u) << ev["hashes"].dump();
  EXPECT_EQ(ev["topic"]["configs"]["retention.ms"], "-1");
  // The timeline plots the committed positions sampled while the drill ran.
  const std::string html = ReadFile((dir_ / "out/report.html").string());
  EXPECT_NE(html.find("<polyline"), std::string::npos) << "no group positions were sampled";
}

TEST_F(DrillIntegration, NN1RollbackPassesOnTheEmbeddedSandbox) {
  ASSERT_EQ(Drill(kSource + "/scenarios/n-n1-rollback.yaml", false), 0) << Log();
  EXPECT_TRUE(Evidence()["pass"].get<bool>());
}

TEST_F(DrillIntegration, MigrationRehearsalLosesAndRereadsNothing) {
  ASSERT_EQ(Drill(kSource + "/scenarios/migration-rehearsal.yaml", true), 0) << Log();
  const auto ev = Evidence();
  for (const auto& s : ev["steps"]) {
    EXPECT_EQ(s["result"], "passed") << s.dump();
  }
}

TEST_F(DrillIntegration, LaggingAnalyticalConsumerWarnsButDoesNotFail) {
  ASSERT_EQ(Drill(kSource + "/scenarios/lagging-consumer.yaml", true), 0) << Log();
  const auto ev = Evidence();
  const auto& during = ev["steps"][5];  // processed, with observability stopped
  EXPECT_EQ(during["kind"], "processed");
  EXPECT_EQ(during["result"], "passed (warning)") << during.dump();
  bool saw_unprocessed = false;
  for (const auto& a : ev["acknowledgements"]) {
    if (a["consumer"] == "observability" && !a["processed"].get<bool>()) {
      saw_unprocessed = true;
      EXPECT_GT(a["lag"].get<int64_t>(), 0);
    }
    if (a["consumer"] == "release-controller") {
      EXPECT_TRUE(a["processed"].get<bool>());
    }
  }
  EXPECT_TRUE(saw_unprocessed);
}

TEST_F(DrillIntegration, WrongExpectationExitsOneAndJUnitNamesTheStep) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/wrong-expectation.yaml", true), 1) << Log();
  const std::string junit = ReadFile((dir_ / "out/junit.xml").string());
  const size_t failure = junit.find("<failure");
  ASSERT_NE(failure, std::string::npos) << junit;
  const size_t testcase = junit.rfind("<testcase", failure);
  EXPECT_NE(junit.substr(testcase, failure - testcase).find("05 p active in global is 1.1.0"),
            std::string::npos)
      << junit;
  EXPECT_NE(junit.find("expected p 1.1.0 in global"), std::string::npos) << junit;
  // The later, independent step still ran and passed.
  EXPECT_EQ(Evidence()["steps"][5]["result"], "passed");
}

TEST_F(DrillIntegration, ReportsCheckWithSha256sumAndHoldNoSecrets) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/wrong-expectation.yaml", true,
                  {"-X", "sasl.password=hunter2-secret", "-X", "ssl.key.password=other-secret"}),
            1)
      << Log();
  const std::string out = (dir_ / "out").string();
  EXPECT_EQ(std::system(("cd " + out + " && sha256sum -c --quiet MANIFEST.sha256").c_str()), 0);
  for (const char* f : {"junit.xml", "summary.md", "report.html", "evidence.json"}) {
    const std::string text = ReadFile(out + "/" + f);
    EXPECT_EQ(text.find("hunter2-secret"), std::string::npos) << f;
    EXPECT_EQ(text.find("other-secret"), std::string::npos) << f;
  }
  EXPECT_NE(ReadFile(out + "/evidence.json").find("sasl.password=*****"), std::string::npos);
}

TEST_F(DrillIntegration, KilledBackgroundMirrorAndPausedConsumerAreSurvived) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/faults.yaml", true), 0) << Log();
  const auto ev = Evidence();
  const auto& paused = ev["steps"][4];  // processed while audit is paused
  EXPECT_EQ(paused["result"], "passed (warning)") << paused.dump();
  const auto& kill = ev["steps"][5];
  EXPECT_NE(kill["message"].get<std::string>().find("killed by signal 9"), std::string::npos)
      << kill.dump();
  const auto& verify = ev["steps"][10];
  EXPECT_EQ(verify["result"], "passed") << verify.dump();
  EXPECT_EQ(verify["evidence"]["records"]["divergences"], 0);
}

TEST_F(DrillIntegration, TargetBrokerOutageThroughScriptsKafka) {
  // Stops and starts the real `target` test cluster with scripts/kafka.
  ASSERT_EQ(Drill(kSource + "/tests/drills/broker.yaml", true), 0) << Log();
  const auto ev = Evidence();
  EXPECT_EQ(ev["steps"][1]["evidence"]["broker"][0]["action"], "down");
  EXPECT_EQ(ev["steps"][4]["evidence"]["broker"][0]["action"], "up");
  EXPECT_EQ(ev["steps"][6]["result"], "passed") << ev["steps"][6].dump();
}

TEST_F(DrillIntegration, BrokerOutageOnTheEmbeddedSandbox) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/broker.yaml", false), 0) << Log();
}

// Renders report.html in Debian's chromium, headless and offline, and reads
// the DOM it built.
std::string RenderedDom(const std::string& html) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
    ADD_FAILURE() << "chromium is missing: `scripts/setup kafka` installs it";
    return "";
  }
  const std::string out = html + ".dom";
  const std::string cmd =
      "timeout 120 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
      "--no-first-run --disable-background-networking --dump-dom 'file://" +
      html + "' >'" + out + "' 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return ReadFile(out);
}

TEST_F(DrillIntegration, HtmlReportRendersInHeadlessChromium) {
  ASSERT_EQ(Drill(kSource + "/scenarios/n-n1-rollback.yaml", true), 0) << Log();
  const std::string dom = RenderedDom((dir_ / "out/report.html").string());
  EXPECT_NE(dom.find("id=\"verdict\" class=\"pass\">PASS</p>"), std::string::npos) << dom;
  // The acknowledgement matrix: the four consumers processed the rollback.
  const size_t acks = dom.find("id=\"acks\"");
  ASSERT_NE(acks, std::string::npos);
  const std::string matrix = dom.substr(acks, dom.find("</table>", acks) - acks);
  for (const char* consumer : {"release-controller", "audit", "evaluation", "observability"}) {
    EXPECT_NE(matrix.find(consumer), std::string::npos) << consumer;
  }
  EXPECT_EQ(matrix.find(">no<"), std::string::npos) << matrix;
  // The scorecard: seven items.
  const size_t card = dom.find("id=\"scorecard\"");
  ASSERT_NE(card, std::string::npos);
  const std::string scorecard = dom.substr(card, dom.find("</table>", card) - card);
  size_t rows = 0;
  for (size_t at = scorecard.find("<tr>"); at != std::string::npos;
       at = scorecard.find("<tr>", at + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 8u) << scorecard;  // a header row and seven items
  EXPECT_NE(dom.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace lifeline
