// Drill files: invalid ones are usage errors naming file and line; the
// report writers produce what CI and auditors read.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reports/reports.h"
#include "scenarios/drill_file.h"
#include "tests/test_support.h"

namespace lifeline::scenarios {
namespace {

const std::string kDrills = std::string(LIFELINE_SOURCE_DIR) + "/tests/drills/";

void ExpectInvalid(const std::string& file, int line, const std::string& what) {
  auto d = LoadDrill(kDrills + file);
  ASSERT_FALSE(d.ok()) << file;
  EXPECT_EQ(d.status().code(), ExitCode::kUsage);
  EXPECT_NE(d.status().message().find(fmt::format("{}:{}: ", file, line)), std::string::npos)
      << d.status().message();
  EXPECT_NE(d.status().message().find(what), std::string::npos) << d.status().message();
}

TEST(DrillFile, UnknownStepNamesFileLineAndTheStepsThereAre) {
  ExpectInvalid("unknown-step.yaml", 4, "unknown step 'teleport'");
}
TEST(DrillFile, MissingFieldIsNamed) { ExpectInvalid("missing-field.yaml", 5, "needs 'version'"); }
TEST(DrillFile, BadDurationIsNamed) {
  ExpectInvalid("bad-duration.yaml", 6, "'soon' is not a duration");
}
TEST(DrillFile, UnknownConsumerIsNamed) {
  ExpectInvalid("unknown-consumer.yaml", 6, "unknown consumer 'billing'");
}

TEST(DrillFile, ShippedDrillsParse) {
  for (const char* name : {"n-n1-rollback", "migration-rehearsal", "lagging-consumer"}) {
    auto d = LoadDrill(std::string(LIFELINE_SOURCE_DIR) + "/scenarios/" + name + ".yaml");
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(d->name, name);
    EXPECT_FALSE(d->steps.empty());
  }
}

TEST(DrillFile, CliExitsTwoWithFileAndLine) {
  const std::string log =
      (std::filesystem::temp_directory_path() / testing::UniqueName("drill-cli.log")).string();
  EXPECT_EQ(testing::WaitExit(testing::Spawn({"drill", kDrills + "unknown-step.yaml"}, log)), 2);
  EXPECT_NE(testing::ReadFile(log).find("unknown-step.yaml:4:"), std::string::npos)
      << testing::ReadFile(log);
  std::filesystem::remove(log);
}

TEST(DrillFile, DurationsParse) {
  EXPECT_EQ(ParseDuration("500ms")->count(), 500);
  EXPECT_EQ(ParseDuration("20s")->count(), 20000);
  EXPECT_EQ(ParseDuration("2m")->count(), 120000);
  EXPECT_FALSE(ParseDuration("2 h"));
  EXPECT_FALSE(ParseDuration("s"));
}

reports::DrillReport SampleReport() {
  reports::DrillReport r;
  r.name = "sample <drill>";
  r.pass = false;
  r.seconds = 3;
  r.steps.push_back({1, "deploy", "deploy p 1.0.0", true, false, false, "ok", "{}", 0, 1});
  r.steps.push_back({2, "expect_state", "p active is 1.1.0", false, false, false,
                     "expected 1.1.0 & got 1.0.0", "{\"stream\":\"1.0.0\"}", 1, 1});
  r.acks.push_back({"release-controller", "rc.1", "e1", "rollback p", "rolled_back", true, false, 0,
                    8, 9, true, 0});
  r.scores.push_back({"rollback tested with real consumers", 2, "committed offsets"});
  r.samples.push_back({0.5, "release-controller", 3});
  r.samples.push_back({1.5, "release-controller", 9});
  r.marks.push_back({1.0, "2 expect_state"});
  return r;
}

TEST(Reports, JUnitNamesTheFailingStepAndEscapes) {
  const std::string xml = reports::JUnitXml(SampleReport());
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"02 p active is 1.1.0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"expected 1.1.0 &amp; got 1.0.0\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("sample &lt;drill&gt;"), std::string::npos);
}

TEST(Reports, JUnitFailureBodySaysWhyAndHoldsTheEvidence) {
  const std::string xml = reports::JUnitXml(SampleReport());
  const size_t open = xml.find("<failure");
  ASSERT_NE(open, std::string::npos) << xml;
  const size_t body = xml.find('>', open) + 1;
  const std::string text = xml.substr(body, xml.find("</failure>", body) - body);
  EXPECT_NE(text.find("expected 1.1.0 &amp; got 1.0.0"), std::string::npos) << text;
  EXPECT_NE(text.find("step 02 p active is 1.1.0 (expect_state)"), std::string::npos) << text;
  EXPECT_NE(text.find("&quot;stream&quot;: &quot;1.0.0&quot;"), std::string::npos) << text;
  // A step that failed before recording anything says so instead of `{}`.
  reports::DrillReport r = SampleReport();
  r.steps[1].evidence = "{}";
  const std::string bare = reports::JUnitXml(r);
  EXPECT_EQ(bare.find(">{}</failure>"), std::string::npos) << bare;
  EXPECT_NE(bare.find("evidence: none recorded"), std::string::npos) << bare;
}

TEST(Reports, RollbackMatrixHoldsRollbacksOnlyAndDeploysHaveTheirOwnTable) {
  reports::DrillReport r = SampleReport();
  r.acks.push_back({"release-controller", "rc.1", "e0", "deploy p 1.1.0", "deployed", true, false,
                    0, 7, 9, true, 0});
  r.acks.push_back(
      {"audit", "audit.1", "e0", "deploy p 1.1.0", "deployed", false, false, 0, 7, 5, false, 4});
  const std::string md = reports::SummaryMarkdown(r);
  const size_t rollbacks = md.find("## Rollback acknowledgement matrix");
  const size_t deploys = md.find("## Deploy acknowledgements");
  ASSERT_NE(rollbacks, std::string::npos) << md;
  ASSERT_NE(deploys, std::string::npos) << md;
  const std::string matrix = md.substr(rollbacks, md.find("\n## ", rollbacks + 1) - rollbacks);
  EXPECT_NE(matrix.find("rollback p"), std::string::npos) << matrix;
  EXPECT_EQ(matrix.find("deploy p"), std::string::npos) << matrix;
  const std::string deploy_table = md.substr(deploys, md.find("\n## ", deploys + 1) - deploys);
  EXPECT_NE(deploy_table.find("| audit | audit.1 | deploy p 1.1.0"), std::string::npos)
      << deploy_table;
  EXPECT_EQ(deploy_table.find("rollback p"), std::string::npos) << deploy_table;

  const std::string html = reports::ReportHtml(r);
  const size_t acks = html.find("id=\"acks\"");
  ASSERT_NE(acks, std::string::npos);
  const std::string html_matrix = html.substr(acks, html.find("</table>", acks) - acks);
  EXPECT_EQ(html_matrix.find("deploy p"), std::string::npos) << html_matrix;
  const size_t deploy_acks = html.find("id=\"deploy-acks\"");
  ASSERT_NE(deploy_acks, std::string::npos) << html;
  EXPECT_NE(html.substr(deploy_acks, html.find("</table>", deploy_acks) - deploy_acks)
                .find("deploy p 1.1.0"),
            std::string::npos);

  // Only deploys processed: the rollback matrix says none was checked.
  r.acks.erase(r.acks.begin());
  EXPECT_NE(reports::SummaryMarkdown(r).find("No `processed` step checked a rollback event."),
            std::string::npos);
}

TEST(Reports, ManifestCoversEveryFileInTheFolder) {
  const auto dir = std::filesystem::temp_directory_path() / testing::UniqueName("report");
  std::filesystem::create_directories(dir / "mirror-state");
  std::ofstream(dir / "audit-audit.db") << "archive";
  std::ofstream(dir / "mirror-state" / "map.db") << "map";
  std::ofstream(dir / "drill.log") << "log";
  auto written = reports::WriteAll(SampleReport(), dir.string());
  ASSERT_TRUE(written.ok()) << written.status().message();
  const std::string manifest = testing::ReadFile((dir / "MANIFEST.sha256").string());
  for (const char* f : {"audit-audit.db", "mirror-state/map.db", "drill.log", "junit.xml",
                        "summary.md", "report.html", "evidence.json"}) {
    EXPECT_NE(manifest.find(std::string("  ") + f + "\n"), std::string::npos) << f << manifest;
  }
  EXPECT_EQ(
      std::system(("cd " + dir.string() + " && sha256sum -c --quiet MANIFEST.sha256").c_str()), 0);
  std::filesystem::remove_all(dir);
}

TEST(Reports, ManifestChecksWithSha256sum) {
  const auto dir = std::filesystem::temp_directory_path() / testing::UniqueName("report");
  auto written = reports::WriteAll(SampleReport(), dir.string());
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->files.back(), "MANIFEST.sha256");
  const std::string cmd = "cd " + dir.string() + " && sha256sum -c --quiet MANIFEST.sha256";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  const auto evidence = nlohmann::json::parse(testing::ReadFile((dir / "evidence.json").string()));
  EXPECT_EQ(evidence["steps"][1]["evidence"]["stream"], "1.0.0");
  const std::string html = testing::ReadFile((dir / "report.html").string());
  EXPECT_NE(html.find("id=\"verdict\""), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_EQ(html.find("http"), html.find("http://www.w3.org/2000/svg"))
      << "the page must not load anything from the network";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeline::scenarios
