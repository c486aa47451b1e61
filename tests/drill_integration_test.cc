// Drills end to end through the CLI: every shipped drill on the real local
// clusters, n-n1-rollback on the embedded sandbox, a wrong expectation, the
// report files (manifest, no secrets).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

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
  // MANIFEST.sha256 checks with sha256sum and lists every file in the report
  // folder (subfolders too), nothing more.
  void ExpectManifestCoversTheFolder() {
    const fs::path out = dir_ / "out";
    EXPECT_EQ(
        std::system(("cd '" + out.string() + "' && sha256sum -c --quiet MANIFEST.sha256").c_str()),
        0);
    std::set<std::string> listed, present;
    std::istringstream manifest(ReadFile((out / "MANIFEST.sha256").string()));
    for (std::string line; std::getline(manifest, line);) listed.insert(line.substr(66));
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      if (e.is_regular_file() && e.path().filename() != "MANIFEST.sha256") {
        present.insert(e.path().lexically_relative(out).generic_string());
      }
    }
    EXPECT_EQ(listed, present);
    EXPECT_TRUE(present.count("drill.log"));
  }
  nlohmann::json Evidence() {
    return nlohmann::json::parse(ReadFile((dir_ / "out/evidence.json").string()));
  }
  fs::path dir_;
};

TEST_F(DrillIntegration, NN1RollbackPassesOnRealKafka) {
  ASSERT_EQ(Drill(kSource + "/drills/n-n1-rollback.yaml", true), 0) << Log();
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
  ASSERT_EQ(Drill(kSource + "/drills/n-n1-rollback.yaml", false), 0) << Log();
  EXPECT_TRUE(Evidence()["pass"].get<bool>());
  // The audit archive, both replay sandboxes, the mirror's state and
  // drill.log are in the manifest with the reports.
  ExpectManifestCoversTheFolder();
  for (const char* f : {"audit-audit.db", "source.db", "target.db", "drill.log"}) {
    EXPECT_NE(ReadFile((dir_ / "out/MANIFEST.sha256").string()).find(std::string("  ") + f),
              std::string::npos)
        << f;
  }
}

TEST_F(DrillIntegration, QuarantinedEventFailsItsStepAndIsNotProduced) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/quarantine.yaml", true), 1) << Log();
  const auto ev = Evidence();
  const auto& rollback = ev["steps"][1];
  EXPECT_EQ(rollback["result"], "FAILED") << rollback.dump();
  EXPECT_NE(rollback["message"].get<std::string>().find(
                "would be quarantined (invalid_value: rollback.target_version is the rolled-back "
                "version \"1.0.0\")"),
            std::string::npos)
      << rollback.dump();
  for (const auto& e : ev["facts"]["events"]) EXPECT_NE(e["kind"], "rolled_back") << e.dump();
  // The stream holds only what passed the check: the replay quarantines nothing.
  const auto& replay = ev["steps"][4];
  EXPECT_EQ(replay["result"], "passed") << replay.dump();
  EXPECT_EQ(replay["evidence"]["replay"]["quarantined"], 0) << replay.dump();
}

TEST_F(DrillIntegration, OutFolderHoldingARunIsRefusedUnlessForced) {
  const std::string file = kSource + "/tests/drills/quarantine.yaml";
  ASSERT_EQ(Drill(file, true), 1) << Log();
  const std::string evidence = ReadFile((dir_ / "out/evidence.json").string());
  std::ofstream(dir_ / "out/audit-audit.db") << "an older run's archive";
  // Refused before anything runs: the folder is as it was.
  EXPECT_EQ(Drill(file, true), 2) << Log();
  EXPECT_NE(Log().find("--out " + (dir_ / "out").string() + ": the folder is not empty"),
            std::string::npos)
      << Log();
  EXPECT_EQ(ReadFile((dir_ / "out/evidence.json").string()), evidence);
  EXPECT_TRUE(fs::exists(dir_ / "out/audit-audit.db"));
  // --force empties it first: nothing of the older run is left.
  EXPECT_EQ(Drill(file, true, {"--force"}), 1) << Log();
  EXPECT_FALSE(fs::exists(dir_ / "out/audit-audit.db"));
  EXPECT_NE(ReadFile((dir_ / "out/evidence.json").string()), evidence);
  ExpectManifestCoversTheFolder();
}

TEST_F(DrillIntegration, MigrationRehearsalLosesAndRereadsNothing) {
  ASSERT_EQ(Drill(kSource + "/drills/migration-rehearsal.yaml", true), 0) << Log();
  const auto ev = Evidence();
  for (const auto& s : ev["steps"]) {
    EXPECT_EQ(s["result"], "passed") << s.dump();
  }
}

TEST_F(DrillIntegration, LaggingAnalyticalConsumerWarnsButDoesNotFail) {
  ASSERT_EQ(Drill(kSource + "/drills/lagging-consumer.yaml", true), 0) << Log();
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

// A failed step that moves the clusters (here a failback with nothing cut
// over) stops the drill: the later steps are not run and say why, JUnit
// counts them as skipped, and every report and the manifest are written.
TEST_F(DrillIntegration, AFailedCriticalStepSkipsTheRestAndStillWritesEveryReport) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/critical-failure.yaml", true), 1) << Log();
  const auto ev = Evidence();
  ASSERT_EQ(ev["steps"].size(), 5u) << ev["steps"].dump();
  EXPECT_EQ(ev["steps"][0]["result"], "passed");
  EXPECT_EQ(ev["steps"][1]["result"], "FAILED");
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(ev["steps"][i]["result"], "skipped") << ev["steps"][i].dump();
    EXPECT_EQ(ev["steps"][i]["message"], "not run: step 2 (failback) failed")
        << ev["steps"][i].dump();
  }
  EXPECT_FALSE(ev["pass"].get<bool>());
  const std::string junit = ReadFile((dir_ / "out/junit.xml").string());
  EXPECT_NE(junit.find("tests=\"5\" failures=\"1\" skipped=\"3\""), std::string::npos) << junit;
  for (const char* report : {"summary.md", "report.html", "junit.xml", "evidence.json"}) {
    EXPECT_TRUE(fs::exists(dir_ / "out" / report)) << report;
  }
  ExpectManifestCoversTheFolder();
  const std::string log = ReadFile((dir_ / "out/drill.log").string());
  EXPECT_NE(log.find("step 2 (failback) failed: the remaining steps are not run"),
            std::string::npos)
      << log;
  EXPECT_NE(Log().find("   3 skipped  deploy p 1.1.0 to global — not run"), std::string::npos)
      << Log();
}

// Parses junit.xml with Chromium's XML parser (DOMParser, headless and
// offline): [{testcase, message, type, text}] per <failure>, or
// {"error": ...} when the XML is not well formed.
nlohmann::json ParsedJUnitFailures(const fs::path& junit, const fs::path& page) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
    ADD_FAILURE() << "chromium is missing: `scripts/setup kafka` installs it";
    return nullptr;
  }
  const std::string xml = nlohmann::json(ReadFile(junit.string())).dump();
  std::ofstream(page) << "<!DOCTYPE html><html><body><pre id=\"out\"></pre><script>\n"
                         "const doc = new DOMParser().parseFromString("
                      << xml
                      << ", 'application/xml');\n"
                         "const err = doc.querySelector('parsererror');\n"
                         "const out = err ? {error: err.textContent} : "
                         "[...doc.querySelectorAll('failure')].map(f => ({testcase: "
                         "f.parentNode.getAttribute('name'), message: f.getAttribute('message'), "
                         "type: f.getAttribute('type'), text: f.textContent}));\n"
                         "document.getElementById('out').textContent = JSON.stringify(out);\n"
                         "</script></body></html>\n";
  const std::string dom = page.string() + ".dom";
  const std::string cmd =
      "timeout 120 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
      "--no-first-run --disable-background-networking --dump-dom 'file://" +
      page.string() + "' >'" + dom + "' 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string html = ReadFile(dom);
  const size_t at = html.find("<pre id=\"out\">");
  if (at == std::string::npos) {
    ADD_FAILURE() << html;
    return nullptr;
  }
  const size_t from = at + std::string("<pre id=\"out\">").size();
  const std::string text = html.substr(from, html.find("</pre>", from) - from);
  // Undo what the DOM serializer escapes in text: &amp; &lt; &gt; &nbsp;.
  std::string json;
  for (size_t i = 0; i < text.size(); ++i) {
    bool replaced = false;
    for (const auto& [entity, c] : {std::pair<std::string_view, std::string_view>{"&amp;", "&"},
                                    {"&lt;", "<"},
                                    {"&gt;", ">"},
                                    {"&nbsp;", "\u00a0"}}) {
      if (text.compare(i, entity.size(), entity) == 0) {
        json += c;
        i += entity.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) json += text[i];
  }
  return nlohmann::json::parse(json);
}

TEST_F(DrillIntegration, JUnitFailureCarriesTheMessageAndTheStepsDetail) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/wrong-expectation.yaml", true), 1) << Log();
  const auto failures = ParsedJUnitFailures(dir_ / "out/junit.xml", dir_ / "junit-parse.html");
  ASSERT_TRUE(failures.is_array()) << failures.dump();
  ASSERT_EQ(failures.size(), 1u) << failures.dump();
  const auto& f = failures[0];
  EXPECT_EQ(f["testcase"], "05 p active in global is 1.1.0");
  EXPECT_EQ(f["type"], "expect_state");
  const std::string message = f["message"];
  EXPECT_NE(message.find("expected p 1.1.0 in global, but the stream says 1.0.0"),
            std::string::npos)
      << message;
  const std::string text = f["text"];
  // What a CI page shows: why, then the step's evidence.
  EXPECT_EQ(text.rfind(message, 0), 0u) << text;
  EXPECT_NE(text.find("step 05 p active in global is 1.1.0 (expect_state)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\"stream\": \"1.0.0\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"release-controller\": \"1.0.0\""), std::string::npos) << text;
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
  ExpectManifestCoversTheFolder();
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
  EXPECT_TRUE(fs::exists(dir_ / "out/mirror-background.log"));
  ExpectManifestCoversTheFolder();
}

// A cluster of the test's own (scripts/kafka up NAME), down at the end: a
// broker outage never stops the shared source or target.
class OwnCluster {
 public:
  explicit OwnCluster(std::string name) : name_(std::move(name)) {
    const char* env = std::getenv("LIFELINE_KAFKA_SCRIPT");
    script_ = env && *env ? env : kSource + "/scripts/kafka";
    up_ = std::system(("'" + script_ + "' up " + name_ + " >/dev/null").c_str()) == 0;
    if (FILE* p = popen(("'" + script_ + "' bootstrap " + name_).c_str(), "r")) {
      char line[256] = {};
      if (fgets(line, sizeof line, p)) bootstrap_ = line;
      pclose(p);
    }
    while (!bootstrap_.empty() && std::isspace(static_cast<unsigned char>(bootstrap_.back()))) {
      bootstrap_.pop_back();
    }
  }
  ~OwnCluster() {
    if (std::system(("'" + script_ + "' down " + name_ + " >/dev/null").c_str()) != 0) {
      ADD_FAILURE() << "scripts/kafka down " << name_ << " failed";
    }
  }
  bool up() const { return up_ && !bootstrap_.empty(); }
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  std::string name_, script_, bootstrap_;
  bool up_ = false;
};

// Every partition of the drill's topics on the stopped side still holds at
// least what it held before the stop (and some of them held records).
void ExpectKept(const nlohmann::json& broker) {
  EXPECT_TRUE(broker["kept"].get<bool>()) << broker.dump();
  EXPECT_EQ(broker["cluster_id"], broker["cluster_id_before"]) << broker.dump();
  ASSERT_FALSE(broker["logs_before"].empty()) << broker.dump();
  int64_t records = 0;
  for (const auto& before : broker["logs_before"]) {
    bool found = false;
    for (const auto& after : broker["logs"]) {
      if (after["topic"] != before["topic"] || after["partition"] != before["partition"]) continue;
      found = true;
      EXPECT_LE(after["log_start"].get<int64_t>(), before["log_start"].get<int64_t>());
      EXPECT_GE(after["high_watermark"].get<int64_t>(), before["high_watermark"].get<int64_t>());
    }
    EXPECT_TRUE(found) << before.dump();
    records += before["high_watermark"].get<int64_t>() - before["log_start"].get<int64_t>();
  }
  EXPECT_GT(records, 0) << "the outage must hit a cluster that holds records";
}

TEST_F(DrillIntegration, BrokerOutageKeepsTheClusterIdAndItsData) {
  OwnCluster outage("drill-outage");
  ASSERT_TRUE(outage.up()) << "scripts/kafka up drill-outage failed";
  ASSERT_NE(outage.bootstrap(), target_.bootstrap());
  std::vector<std::string> args = {"drill",    kSource + "/tests/drills/broker.yaml",
                                   "--out",    (dir_ / "out").string(),
                                   "--source", source_.bootstrap(),
                                   "--target", outage.bootstrap()};
  ASSERT_EQ(WaitExit(Spawn(args, (dir_ / "drill.log").string())), 0)
      << Log() << ReadFile((dir_ / "out/kafka.log").string());
  const auto ev = Evidence();
  const auto& stop = ev["steps"][2]["evidence"]["broker"][0];
  EXPECT_EQ(stop["action"], "stop") << stop.dump();
  EXPECT_EQ(stop["cluster"], "drill-outage") << stop.dump();
  EXPECT_FALSE(stop["answers_while_stopped"].get<bool>()) << "no outage happened";
  const auto& start = ev["steps"][5];
  EXPECT_EQ(start["result"], "passed") << start.dump();
  EXPECT_EQ(start["evidence"]["broker"][0]["action"], "start");
  EXPECT_EQ(start["evidence"]["broker"][0]["cluster_id_before"], stop["cluster_id"]);
  ExpectKept(start["evidence"]["broker"][0]);
  EXPECT_EQ(ev["steps"][7]["result"], "passed") << ev["steps"][7].dump();
  ExpectManifestCoversTheFolder();
  EXPECT_NE(ReadFile((dir_ / "out/MANIFEST.sha256").string()).find("  kafka.log"),
            std::string::npos);
}

TEST_F(DrillIntegration, BrokerOutageOnTheEmbeddedSandbox) {
  ASSERT_EQ(Drill(kSource + "/tests/drills/broker.yaml", false), 0) << Log();
  const auto ev = Evidence();
  EXPECT_FALSE(ev["steps"][2]["evidence"]["broker"][0]["answers_while_stopped"].get<bool>());
  ExpectKept(ev["steps"][5]["evidence"]["broker"][0]);
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
  ASSERT_EQ(Drill(kSource + "/drills/n-n1-rollback.yaml", true), 0) << Log();
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
