// Drill files: invalid ones are usage errors naming file and line; the
// report writers produce what CI and auditors read.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "drill/internal/drill_file.h"
#include "reports/reports.h"
#include "tests/test_support.h"

namespace lifeline::drill {
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

// A drill file around one step (line 8), written to a temporary file; the
// error must name that file and line and say what is wrong.
void ExpectStepInvalid(const std::string& step, const std::string& what, int line = 8) {
  const std::string text = fmt::format(
      "name: bad\n"
      "consumers:\n"
      "  - {{name: rc, kind: release-controller, critical: true}}\n"
      "  - {{name: obs, kind: observability}}\n"
      "  - {{name: billing, group: billing-sync, external: true}}\n"
      "steps:\n"
      "  - deploy: {{prompt: p, version: 1.0.0}}\n"
      "  {}\n",
      step);
  const auto path = std::filesystem::temp_directory_path() / testing::UniqueName("bad-arg.yaml");
  { std::ofstream(path) << text; }
  auto d = LoadDrill(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(d.ok()) << step;
  EXPECT_EQ(d.status().code(), ExitCode::kUsage) << step;
  EXPECT_NE(d.status().message().find(fmt::format("{}:{}: ", path.string(), line)),
            std::string::npos)
      << step << " -> " << d.status().message();
  EXPECT_NE(d.status().message().find(what), std::string::npos)
      << step << " -> " << d.status().message();
}

TEST(DrillFile, NumbersAreCheckedWhenTheFileIsRead) {
  ExpectStepInvalid("- expect_lag: {consumer: rc, max: lots}",
                    "expect_lag.max: 'lots' is not a whole number");
  ExpectStepInvalid("- expect_lag: {consumer: rc, max: -1}", "'-1' is not a whole number");
  ExpectStepInvalid("- expect_lag: {consumer: rc, max: 1.5}", "'1.5' is not a whole number");
  ExpectStepInvalid("- trace: {prompt: p, version: 1.0.0, count: ten}",
                    "trace.count: 'ten' is not a whole number 1..1000000");
  ExpectStepInvalid("- trace: {prompt: p, version: 1.0.0, count: 0}", "'0' is not a whole number");
  ExpectStepInvalid("- expect_traces: {consumer: obs, prompt: p, version: 1.0.0, count: many}",
                    "expect_traces.count: 'many' is not a whole number");
}

TEST(DrillFile, PercentagesAreCheckedWhenTheFileIsRead) {
  ExpectStepInvalid("- deploy: {prompt: p, version: 1.1.0, percent: 150}",
                    "deploy.percent: '150' is not a percentage (a whole number 0..100)");
  ExpectStepInvalid("- publish: {prompt: p, version: 1.1.0, kind: rollout_changed, percent: -5}",
                    "publish.percent: '-5' is not a percentage");
  ExpectStepInvalid("- deploy: {prompt: p, version: 1.1.0, percent: 50%}",
                    "'50%' is not a percentage");
}

TEST(DrillFile, DurationsAreCheckedWhenTheFileIsRead) {
  ExpectStepInvalid("- processed: {by: [rc], within: 1.2.3s}",
                    "processed.within: '1.2.3s' is not a duration");
  ExpectStepInvalid("- expect_state: {prompt: p, active: 1.0.0, timeout: 5 s}",
                    "expect_state.timeout: '5 s' is not a duration");
  ExpectStepInvalid("- sleep: forever", "sleep.for: 'forever' is not a duration");
  ExpectStepInvalid("- sleep: 100000m", "'100000m' is not a duration");
}

TEST(DrillFile, EnumsAreCheckedWhenTheFileIsRead) {
  ExpectStepInvalid("- publish: {prompt: p, version: 1.1.0, kind: launched}",
                    "publish.kind: 'launched' is not an event kind (proposed, approved");
  ExpectStepInvalid("- processed: {by: [rc], event: rollback}",
                    "processed.event: 'rollback' is not `last` or an event kind");
  ExpectStepInvalid("- replay: {into: a.db, from: elsewhere}",
                    "replay.from: 'elsewhere' is not source or target");
  ExpectStepInvalid("- mirror: {until: forever}", "mirror.until: 'forever' is not `caught-up`");
  ExpectStepInvalid("- mirror: {background: yes}", "mirror.background: 'yes' is not true or false");
  ExpectStepInvalid("- verify: {records: 1}", "verify.records: '1' is not true or false");
  ExpectStepInvalid("- publish: {prompt: p, version: 1.1.0, kind: evaluated, passed: ok}",
                    "publish.passed: 'ok' is not true or false");
  ExpectStepInvalid("- fault: {stop_broker: both}", "fault.stop_broker: 'both' is not source");
  ExpectStepInvalid("- fault: {kill: rc}", "fault.kill: 'rc' is not `mirror`");
}

TEST(DrillFile, VersionsAndNamesAreCheckedWhenTheFileIsRead) {
  ExpectStepInvalid("- deploy: {prompt: p, version: 1.0 beta}",
                    "deploy.version: '1.0 beta' is not a version");
  ExpectStepInvalid("- rollback: {prompt: p, to: \"\"}", "rollback.to: '' is not a version");
  ExpectStepInvalid("- rollback: {prompt: p, to: 1.0.0, from: 1.0.0}",
                    "rollback: from and to are both 1.0.0");
  ExpectStepInvalid("- expect_state: {prompt: \" p\", active: 1.0.0}",
                    "expect_state.prompt: ' p' is not a name");
  ExpectStepInvalid("- deploy: {prompt: p, version: }", "deploy.version has no value");
}

TEST(DrillFile, ConsumersAndFilesAreCheckedWhenTheFileIsRead) {
  ExpectStepInvalid("- expect_lag: {consumer: [rc, obs], max: 0}",
                    "expect_lag.consumer must be a single value");
  ExpectStepInvalid("- processed: {by: []}", "processed.by names no consumer");
  ExpectStepInvalid("- processed: {by: [{rc: 1}]}", "an item of processed.by must be a single");
  ExpectStepInvalid("- fault: {pause: billing}", "fault.pause: billing is external");
  ExpectStepInvalid("- expect_traces: {consumer: rc, prompt: p, version: 1.0.0, count: 1}",
                    "rc is a release-controller consumer");
  ExpectStepInvalid("- replay: {into: ../x.db}", "replay.into: '../x.db' is not a sandbox file");
  ExpectStepInvalid("- replay: {into: evidence.json}", "'evidence.json' is not a sandbox file");
  ExpectStepInvalid("- verify: {state: [a.db]}", "verify.state takes two sandbox files");
  ExpectStepInvalid("- verify: {state: [a.db, b.db]}", "no earlier replay step writes a.db");
}

TEST(DrillFile, StepsThatWouldCheckNothingAreRefused) {
  ExpectStepInvalid("- verify: {records: false}", "verify checks nothing");
  ExpectStepInvalid("- fault: {}", "fault does nothing");
  ExpectStepInvalid("- publish: {prompt: p, version: 1.1.0, kind: approved, percent: 50}",
                    "publish.percent applies to deployed and rollout_changed events, not approved");
  ExpectStepInvalid("- publish: {prompt: p, version: 1.1.0, kind: rolled_back}", "needs 'to'");
  ExpectStepInvalid("- fault: {start_broker: target}", "no earlier step stops the target broker");
  ExpectStepInvalid("- fault: {stop_broker: target}", "never started again");
}

TEST(DrillFile, ArgumentsThatClashOrRepeatAreRefused) {
  ExpectStepInvalid("- fault: {stop_broker: source, start_broker: source}",
                    "stop_broker and start_broker in one step");
  ExpectStepInvalid("- publish: {prompt: p, version: 1.1.0, kind: rolled_back, to: 1.1.0}",
                    "publish: rolls 1.1.0 back to itself");
  ExpectStepInvalid("- publish: {prompt: p, version: 1.1.0, kind: approved, reason: r}",
                    "publish.reason applies to rolled_back events, not approved");
  ExpectStepInvalid("- deploy: {prompt: p, version: 1.1.0, colour: red}",
                    "step deploy has no argument 'colour'");
  ExpectStepInvalid("- cutover: now", "step cutover takes a mapping of arguments");
  ExpectStepInvalid("- fault: {kill: mirror, timeout: soon}",
                    "fault.timeout: 'soon' is not a duration");
}

TEST(DrillFile, ABrokerStoppedTwiceIsRefusedAtTheSecondStop) {
  const std::string text =
      "name: twice\n"
      "steps:\n"
      "  - fault: {stop_broker: source}\n"
      "  - fault: {stop_broker: source}\n"
      "  - fault: {start_broker: source}\n";
  const auto path = std::filesystem::temp_directory_path() / testing::UniqueName("twice.yaml");
  { std::ofstream(path) << text; }
  auto d = LoadDrill(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(":4: fault.stop_broker: the source broker is already "
                                      "stopped (line 3)"),
            std::string::npos)
      << d.status().message();
}

// The file loads into typed steps: nothing is parsed again when it runs.
TEST(DrillFile, StepsHoldTypedArguments) {
  const std::string text =
      "name: typed\n"
      "consumers:\n"
      "  - {name: rc, kind: release-controller, critical: true}\n"
      "  - {name: obs, kind: observability}\n"
      "steps:\n"
      "  - deploy: {prompt: p, version: 1.1.0, percent: 25, scope: eu}\n"
      "  - processed: {by: [rc, obs], within: 1.5s, timeout: 2m}\n"
      "  - replay: {into: a.db, from: target}\n"
      "  - fault: {pause: [obs], stop_broker: target}\n"
      "  - fault: {start_broker: target}\n"
      "  - sleep: 500ms\n"
      "  - expect_lag: {consumer: rc, max: 7}\n"
      "  - publish: {prompt: p, version: 1.1.0, kind: evaluated, passed: false}\n";
  const auto path = std::filesystem::temp_directory_path() / testing::UniqueName("typed.yaml");
  { std::ofstream(path) << text; }
  auto d = LoadDrill(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->steps.size(), 8u);
  const auto& deploy = std::get<DeployArgs>(d->steps[0].args);
  EXPECT_EQ(deploy.percent, 25);
  EXPECT_EQ(deploy.scope, "eu");
  EXPECT_EQ(deploy.model, "model-x@drill");
  EXPECT_EQ(d->steps[0].kind->title(d->steps[0]), "deploy p 1.1.0 to eu");
  const auto& processed = std::get<ProcessedArgs>(d->steps[1].args);
  EXPECT_EQ(processed.by, (std::vector<std::string>{"rc", "obs"}));
  EXPECT_EQ(processed.within, Millis(1500));
  EXPECT_EQ(d->steps[1].timeout, Millis(120000));
  EXPECT_EQ(d->steps[1].kind->title(d->steps[1]), "last event processed by rc,obs within 1.5s");
  EXPECT_EQ(std::get<ReplayArgs>(d->steps[2].args).from, Side::kTarget);
  const auto& fault = std::get<FaultArgs>(d->steps[3].args);
  EXPECT_EQ(fault.pause, std::vector<std::string>{"obs"});
  EXPECT_EQ(fault.stop_broker, Side::kTarget);
  EXPECT_FALSE(fault.start_broker);
  EXPECT_EQ(d->steps[3].kind->title(d->steps[3]), "fault pause=obs stop_broker=target");
  EXPECT_EQ(std::get<SleepArgs>(d->steps[5].args).duration, Millis(500));
  EXPECT_EQ(std::get<ExpectLagArgs>(d->steps[6].args).max, 7);
  EXPECT_FALSE(std::get<PublishArgs>(d->steps[7].args).passed);
  EXPECT_EQ(std::get<PublishArgs>(d->steps[7].args).kind, envelope::Kind::kEvaluated);
}

// One table names every kind, once.
TEST(DrillFile, EveryStepKindHasOneRowInTheTable) {
  std::set<std::string> names;
  for (const StepKind& k : StepKinds()) {
    EXPECT_TRUE(names.insert(k.name).second) << k.name;
    EXPECT_EQ(FindStepKind(k.name), &k);
    EXPECT_TRUE(k.parse && k.title && k.run) << k.name;
  }
  EXPECT_EQ(names.size(), 17u);
  EXPECT_EQ(FindStepKind("teleport"), nullptr);
}

// The steps that change the clusters stop the drill when they fail; checks
// and events do not.
TEST(DrillFile, OnlyTheStepsThatMoveThingsStopTheDrill) {
  std::set<std::string> stopping;
  for (const StepKind& k : StepKinds()) {
    if (k.stops_the_drill) stopping.insert(k.name);
  }
  EXPECT_EQ(stopping,
            (std::set<std::string>{"cutover", "failback", "fault", "groups_sync", "mirror"}));
}

// Principals are declared with their client property files; the access step
// names them, and its readers default to the consumers' own principals.
TEST(DrillFile, AccessStepNamesDeclaredPrincipals) {
  auto load = [](const std::string& consumers, const std::string& step) {
    const std::string text = fmt::format(
        "name: acl\n"
        "principals: {{publisher: pub.properties, reader: \"${{READER_CONFIG}}\", auditor: "
        "a.props}}\n"
        "consumers:\n"
        "{}"
        "steps:\n"
        "  {}\n",
        consumers, step);
    const auto path = std::filesystem::temp_directory_path() / testing::UniqueName("acl.yaml");
    { std::ofstream(path) << text; }
    auto d = LoadDrill(path.string());
    std::filesystem::remove(path);
    return d;
  };
  const std::string two =
      "  - {name: rc, kind: release-controller, critical: true, principal: reader}\n"
      "  - {name: audit, kind: audit, principal: auditor}\n"
      "  - {name: obs, kind: observability, principal: reader}\n";
  auto d = load(two, "- access: {publisher: publisher}");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->principals.at("reader"), "${READER_CONFIG}");  // expanded when it runs
  EXPECT_EQ(d->consumers[1].principal, "auditor");
  const auto& a = std::get<AccessArgs>(d->steps[0].args);
  EXPECT_EQ(a.publisher, "publisher");
  EXPECT_EQ(a.readers, (std::vector<std::string>{"reader", "auditor"}));
  EXPECT_EQ(a.on, Side::kSource);
  EXPECT_EQ(d->steps[0].kind->title(d->steps[0]),
            "access: publisher may publish, reader, auditor may not");
  d = load(two, "- access: {publisher: auditor, readers: [reader], on: target}");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(std::get<AccessArgs>(d->steps[0].args).readers, std::vector<std::string>{"reader"});
  EXPECT_EQ(std::get<AccessArgs>(d->steps[0].args).on, Side::kTarget);

  for (const auto& [consumers, step, what] : std::vector<std::array<std::string, 3>>{
           {two, "- access: {publisher: root}", "access.publisher: unknown principal 'root'"},
           {two, "- access: {publisher: publisher, readers: [reader, nobody]}",
            "unknown principal 'nobody'"},
           {two, "- access: {publisher: [publisher, reader]}",
            "access.publisher must be a single value"},
           {two, "- access: {publisher: reader, readers: [reader]}",
            "reader is both the publisher and a reader"},
           {"  - {name: rc, kind: release-controller, principal: publisher}\n",
            "- access: {publisher: publisher}", "no read-only principal to try"},
           {"  - {name: rc, kind: release-controller, principal: ghost}\n",
            "- access: {publisher: publisher}",
            "consumer principal 'ghost' is not declared under principals"},
           {"  []\n", "- access: {publisher: publisher, readers: [reader]}",
            "access: reader would commit the offsets of another consumer's group"},
           {"  - {name: rc, kind: release-controller, principal: reader}\n",
            "- access: {publisher: publisher}", "no declared consumer is another's"},
       }) {
    d = load(consumers, step);
    ASSERT_FALSE(d.ok()) << step;
    EXPECT_EQ(d.status().code(), ExitCode::kUsage);
    EXPECT_NE(d.status().message().find(what), std::string::npos) << d.status().message();
  }
}

TEST(DrillFile, TopLevelFieldsAreChecked) {
  auto load = [](const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / testing::UniqueName("top.yaml");
    { std::ofstream(path) << text; }
    auto d = LoadDrill(path.string());
    std::filesystem::remove(path);
    return d;
  };
  const std::string steps = "steps:\n  - sleep: 1s\n";
  for (const auto& [text, what] : std::vector<std::pair<std::string, std::string>>{
           {"name: ../up\n" + steps, "names the report folder"},
           {"name: t\ntopic: {name: a/b}\n" + steps, "topic name 'a/b'"},
           {"name: t\ntopic: {name: t, partitions: six}\n" + steps,
            "topic.partitions: 'six' is not a whole number"},
           {"name: t\ntopic: {name: t, partitions: 0}\n" + steps, "'0' is not a whole number"},
           {"name: t\nconsumers:\n  - {name: rc, kind: release-controller, critical: yes}\n" +
                steps,
            "consumer critical: 'yes' is not true or false"},
           {"name: t\ndescription: {a: b}\n" + steps, "description must be a single value"},
       }) {
    auto d = load(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), ExitCode::kUsage);
    EXPECT_NE(d.status().message().find(what), std::string::npos) << d.status().message();
  }
}

TEST(DrillFile, ShippedDrillsParse) {
  for (const char* name :
       {"n-n1-rollback", "migration-rehearsal", "lagging-consumer", "secured-rollback"}) {
    auto d = LoadDrill(std::string(LIFELINE_SOURCE_DIR) + "/drills/" + name + ".yaml");
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

TEST(DrillFile, CliRefusesBadArgumentsBeforeAnyClusterWork) {
  const auto dir = std::filesystem::temp_directory_path() / testing::UniqueName("drill-args");
  const std::string log = (dir.string() + ".log");
  for (const auto& [file, where] : std::vector<std::pair<std::string, std::string>>{
           {"bad-lag.yaml", "bad-lag.yaml:6: expect_lag.max: 'lots' is not a whole number"},
           {"bad-percent.yaml", "bad-percent.yaml:5: deploy.percent: '150' is not a percentage"},
           {"unset-principal.yaml",
            "unset-principal.yaml: principals.reader: '${LIFELINE_TEST_UNSET_READER_CONFIG}' is "
            "empty (an unset ${VAR}?)"},
           {"missing-principal-file.yaml",
            "missing-principal-file.yaml: principals.reader: /nonexistent/reader.properties"},
       }) {
    EXPECT_EQ(
        testing::WaitExit(testing::Spawn({"drill", kDrills + file, "--out", dir.string()}, log)),
        2);
    EXPECT_NE(testing::ReadFile(log).find(where), std::string::npos) << testing::ReadFile(log);
    EXPECT_FALSE(std::filesystem::exists(dir)) << "nothing is written for an invalid file";
  }
  std::filesystem::remove(log);
}

TEST(DrillFile, DurationsParse) {
  EXPECT_EQ(ParseDuration("500ms")->count(), 500);
  EXPECT_EQ(ParseDuration("20s")->count(), 20000);
  EXPECT_EQ(ParseDuration("1.5s")->count(), 1500);
  EXPECT_EQ(ParseDuration("2m")->count(), 120000);
  EXPECT_EQ(ParseDuration("1440m")->count(), 86400000);
  EXPECT_FALSE(ParseDuration("2 h"));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("1.2.3s"));
  EXPECT_FALSE(ParseDuration("1.s"));
  EXPECT_FALSE(ParseDuration("1441m"));
  EXPECT_FALSE(ParseDuration("99999999999999999999999s"));
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
}  // namespace lifeline::drill
