// Replay against real Apache Kafka: the malformed corpus, hash invariance
// across clusters with different offset layouts, crash safety, the kafka://
// sandbox, and point-in-time and audit answers on the hand-built stream.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/sqlite.h"
#include "core/topic_reader.h"
#include "replay/replay.h"
#include "synth/synth.h"
#include "tests/lifecycle_stream.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

namespace fs = std::filesystem;
using testing::KnownAnswerStream;
using testing::kStreamStart;
using testing::Spawn;
using testing::UniqueName;
using testing::WaitExit;
constexpr Millis kTimeout{20000};

class ReplayIntegration : public testing::RealKafkaTest {
 protected:
  void SetUp() override {
    RealKafkaTest::SetUp();
    dir_ = fs::temp_directory_path() / UniqueName("lifeline-replay");
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Creates `topic` with `partitions` and writes `records`; a record's
  // partition is its prompt's (a stable hash of the key) unless set.
  void Produce(const ClientConfig& config, const std::string& topic, int partitions,
               std::vector<Record> records, bool aborted_noise = false) {
    auto admin = Admin::Create(config);
    ASSERT_TRUE(admin.ok());
    // Kept forever: the events are from 2023, and the test brokers check
    // retention every second.
    ASSERT_TRUE(
        (*admin)->CreateTopic({topic, partitions, -1, {{"retention.ms", "-1"}}}, kTimeout).ok());
    ASSERT_TRUE((*admin)->WaitForTopic(topic, partitions, kTimeout).ok());
    ProducerOptions popts;
    if (aborted_noise) popts.transactional_id = UniqueName("replay-noise");
    auto producer = Producer::Create(config, popts);
    ASSERT_TRUE(producer.ok()) << producer.status().message();
    Producer& p = **producer;
    if (aborted_noise) {
      ASSERT_TRUE(p.InitTransactions(kTimeout).ok());
    }
    int n = 0;
    for (Record& r : records) {
      r.topic = Topic(topic);
      if (r.partition.value() < 0) {
        r.partition = Partition(static_cast<int32_t>(std::hash<std::string>()(r.key.value_or("")) %
                                                     static_cast<size_t>(partitions)));
      }
      if (aborted_noise) {
        // Every other record follows an aborted transaction in its partition
        // (records plus an abort marker: the offsets shift, nothing is read).
        if (n++ % 2 == 0) {
          ASSERT_TRUE(p.BeginTransaction().ok());
          Record junk = r;
          junk.value = std::string("aborted");
          ASSERT_TRUE(p.Send(junk).ok());
          ASSERT_TRUE(p.Flush(kTimeout).ok());  // written to the log, then aborted
          ASSERT_TRUE(p.AbortTransaction(kTimeout).ok());
        }
        ASSERT_TRUE(p.BeginTransaction().ok());
        ASSERT_TRUE(p.Send(r).ok());
        ASSERT_TRUE(p.CommitTransaction(kTimeout).ok());
      } else {
        ASSERT_TRUE(p.Send(r).ok());
      }
    }
    Status flushed = p.Flush(kTimeout);
    ASSERT_TRUE(flushed.ok()) << flushed.message();
  }

  Result<replay::ReplaySummary> Replay(const ClientConfig& from, const std::string& topic,
                                       const std::string& into, bool force = false) {
    replay::ReplayOptions o;
    o.source = from;
    o.topic = topic;
    o.into = into;
    o.force = force;
    return replay::Run(o);
  }

  std::string Db(const std::string& name) { return (dir_ / name).string(); }

  fs::path dir_;
};

std::vector<std::string> Query(const std::string& path, const std::string& sql) {
  auto db = sqlite::Db::Open(path, sqlite::Db::Mode::kReadOnly);
  EXPECT_TRUE(db.ok()) << db.status().message();
  std::vector<std::string> rows;
  if (!db.ok()) return rows;
  auto s = db->Prepare(sql);
  EXPECT_TRUE(s.ok()) << s.status().message();
  while (s.ok() && *s->Step()) {
    std::string row;
    for (int c = 0; c < s->columns(); ++c) row += (c ? "|" : "") + s->Text(c);
    rows.push_back(row);
  }
  return rows;
}

TEST_F(ReplayIntegration, MalformedCorpusLandsInQuarantineWhereAndWhyTheManifestSays) {
  synth::PublishOptions options;
  options.topic = UniqueName("replay.corpus");
  options.partitions = 4;
  options.generate.prompts = 30;
  options.generate.versions = 4;
  options.generate.malformed_rate = 0.08;
  auto published = synth::Publish(source_, options);
  ASSERT_TRUE(published.ok()) << published.status().message();
  ASSERT_GT(published->manifest.entries.size(), 19u) << "too few to cover every reason";

  auto summary = Replay(source_, options.topic, Db("corpus.db"));
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->read, published->records);
  EXPECT_EQ(summary->read, summary->applied + summary->duplicates + summary->quarantined);
  EXPECT_EQ(summary->quarantined, static_cast<int64_t>(published->manifest.entries.size()));
  EXPECT_EQ(summary->violations, 0) << "the generator's valid events obey every rule";

  std::set<std::string> want, got;
  for (const auto& e : published->manifest.entries) {
    want.insert(fmt::format("{}|{}|{}", e.partition, e.offset, e.reason));
  }
  for (const std::string& row :
       Query(Db("corpus.db"), "SELECT partition, \"offset\", reason FROM quarantine_at")) {
    got.insert(row);
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(Query(Db("corpus.db"), "SELECT value FROM replay_meta WHERE key = 'read'"),
            std::vector<std::string>{std::to_string(published->records)});
}

TEST_F(ReplayIntegration, SameEventsOnTwoClustersWithDifferentOffsetsGiveTheSameHash) {
  const std::string a = UniqueName("replay.same.a"), b = UniqueName("replay.same.b");
  Produce(source_, a, 3, KnownAnswerStream());
  Produce(target_, b, 3, KnownAnswerStream(), /*aborted_noise=*/true);
  auto ha = Replay(source_, a, Db("a.db"));
  auto hb = Replay(target_, b, Db("b.db"));
  ASSERT_TRUE(ha.ok()) << ha.status().message();
  ASSERT_TRUE(hb.ok()) << hb.status().message();
  EXPECT_EQ(ha->read, hb->read);
  EXPECT_NE(ha->ranges, hb->ranges) << "the aborted transactions should shift the offsets";
  EXPECT_NE(ha->cluster_id, hb->cluster_id);
  EXPECT_EQ(ha->state.total, hb->state.total);
  auto again = replay::HashSandbox(Db("b.db"), false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total, ha->state.total) << "state hash FILE.db must agree with the replay";

  // One field of one event changed: another hash, and the breakdown names it.
  std::vector<Record> changed = KnownAnswerStream();
  auto e = std::get<envelope::Event>(envelope::Parse(changed[12]));  // triage rollout 50%
  e.rollout->percent = 60;
  changed[12] = envelope::EncodeBinary(e);
  const std::string c = UniqueName("replay.same.c");
  Produce(target_, c, 3, changed);
  auto hc = Replay(target_, c, Db("c.db"));
  ASSERT_TRUE(hc.ok()) << hc.status().message();
  EXPECT_NE(hc->state.total, ha->state.total);
  auto pa = replay::HashSandbox(Db("a.db"), true), pc = replay::HashSandbox(Db("c.db"), true);
  ASSERT_TRUE(pa.ok() && pc.ok());
  EXPECT_EQ(pa->prompts.at("summarizer"), pc->prompts.at("summarizer"));
  EXPECT_NE(pa->prompts.at("triage"), pc->prompts.at("triage"));
}

TEST_F(ReplayIntegration, KilledReplayLeavesNoFileAtTheIntoPath) {
  synth::PublishOptions options;
  options.topic = UniqueName("replay.kill");
  // Large enough (about 100k events) that the replay is still reading when
  // the signal lands; 28k events once finished within the old 200 ms.
  options.generate.prompts = 1500;
  options.generate.versions = 10;
  ASSERT_TRUE(synth::Publish(source_, options).ok());
  const std::string into = Db("killed.db");
  const std::string log = Db("killed.log");
  for (int signal : {SIGKILL, SIGINT}) {
    pid_t pid = Spawn(
        {"replay", "--from", source_.bootstrap(), "--topic", options.topic, "--into", into}, log);
    const std::string partial = fmt::format("{}.partial.{}", into, pid);
    bool seen = false;
    for (int i = 0; i < 2000 && !seen; ++i) {
      seen = fs::exists(partial);
      if (!seen) std::this_thread::sleep_for(Millis(5));
    }
    ASSERT_TRUE(seen) << "the replay never started writing; see " << log;
    std::this_thread::sleep_for(Millis(20));  // mid-read
    kill(pid, signal);
    const int code = WaitExit(pid);
    ASSERT_NE(code, 0) << "the replay finished before signal " << signal
                       << " reached it: the test needs a longer stream";
    EXPECT_FALSE(fs::exists(into)) << "signal " << signal << " left a sandbox at the --into path";
    if (signal == SIGINT) {
      EXPECT_EQ(code, 130) << "see " << log;
      EXPECT_FALSE(fs::exists(partial)) << "an interrupted replay must clean up";
    }
  }
  // The next replay completes and sweeps the killed one's partial file.
  auto done = Replay(source_, options.topic, into);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(fs::exists(into));
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".partial."), std::string::npos)
        << entry.path();
  }
}

TEST_F(ReplayIntegration, RefusesAnExistingSandboxUnlessForced) {
  const std::string topic = UniqueName("replay.exists");
  Produce(source_, topic, 2, KnownAnswerStream());
  const std::string into = Db("exists.db");
  ASSERT_TRUE(Replay(source_, topic, into).ok());
  const auto before = fs::last_write_time(into);
  auto again = Replay(source_, topic, into);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ExitCode::kUsage);
  EXPECT_NE(again.status().message().find("--force"), std::string::npos)
      << again.status().message();
  EXPECT_EQ(fs::last_write_time(into), before);
  auto forced = Replay(source_, topic, into, /*force=*/true);
  ASSERT_TRUE(forced.ok()) << forced.status().message();
}

TEST_F(ReplayIntegration, ReplaysARangeOfOffsetsOrTimes) {
  const std::string topic = UniqueName("replay.range");
  std::vector<Record> stream = KnownAnswerStream();
  for (Record& r : stream) r.partition = Partition(0);
  Produce(source_, topic, 1, stream);
  replay::ReplayOptions o;
  o.source = source_;
  o.topic = topic;
  o.into = Db("range.db");
  o.until.offset = 13;  // events 1..13: triage rollout at 50% is the last
  auto first = replay::Run(o);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->read, 13);
  EXPECT_EQ(Query(o.into,
                  "SELECT version, percent FROM deployments WHERE prompt_id = 'triage' "
                  "AND scope = 'global'"),
            std::vector<std::string>{"1.1.0|50"});
  o.into = Db("range-time.db");
  o.until = {};
  o.from.time = TimestampMs(kStreamStart + 15000);  // from the first rollback on
  auto second = replay::Run(o);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->ranges.at(0).first, 14);
  EXPECT_EQ(second->read, static_cast<int64_t>(stream.size()) - 14);
}

TEST_F(ReplayIntegration, StateAtAndAuditAnswerFromTheHandBuiltStream) {
  const std::string topic = UniqueName("replay.audit");
  Produce(source_, topic, 3, KnownAnswerStream());
  const std::string db = Db("audit.db");
  ASSERT_TRUE(Replay(source_, topic, db).ok());

  auto at = replay::StateAt(db, "triage", TimestampMs(kStreamStart + 13500));
  ASSERT_TRUE(at.ok()) << at.status().message();
  ASSERT_EQ(at->size(), 2u);
  EXPECT_EQ((*at)[0].scope, "global");
  EXPECT_EQ((*at)[0].version, "1.1.0");
  EXPECT_EQ((*at)[0].percent, 50);
  EXPECT_EQ((*at)[0].activated_event_id, "triage-12");
  EXPECT_EQ((*at)[0].since_ms, kStreamStart + 12000);
  EXPECT_EQ((*at)[1].scope, "tenant:acme");
  EXPECT_EQ((*at)[1].version, "1.0.0");
  EXPECT_EQ((*at)[1].activated_event_id, "triage-5");
  auto after = replay::StateAt(db, "triage", TimestampMs(kStreamStart + 15500));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[0].version, "1.0.0");
  EXPECT_EQ((*after)[0].via, "rolled_back");
  EXPECT_EQ((*after)[0].activated_actor, "oncall@acme");
  auto before = replay::StateAt(db, "triage", TimestampMs(kStreamStart + 3000));
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  EXPECT_EQ(replay::StateAt(db, "nope", TimestampMs(kStreamStart)).status().code(),
            ExitCode::kUsage);

  // A group that processed triage's events up to the 50% rollout (event 13)
  // but none of the rollbacks.
  auto offsets = Query(db,
                       "SELECT partition, \"offset\" FROM provenance p JOIN event_log l ON "
                       "l.prompt_id = p.prompt_id AND l.seq = p.seq WHERE l.event_id = "
                       "'triage-13'");
  ASSERT_EQ(offsets.size(), 1u);
  const int32_t partition = std::stoi(offsets[0].substr(0, offsets[0].find('|')));
  const int64_t offset = std::stoll(offsets[0].substr(offsets[0].find('|') + 1));
  const std::string group = UniqueName("replay.audit.controller");
  auto admin = Admin::Create(source_);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)
                  ->AlterGroupOffsets(
                      group, {{{Topic(topic), Partition(partition)}, Offset(offset + 1)}}, kTimeout)
                  .ok());

  replay::AuditOptions ao;
  ao.sandbox = db;
  ao.prompt = "triage";
  ao.version = "1.1.0";
  ao.live = source_;
  ao.groups = {group};
  auto text = replay::Audit(ao, /*json=*/true);
  ASSERT_TRUE(text.ok()) << text.status().message();
  const auto j = nlohmann::json::parse(*text);
  const auto& v = j["versions"][0];
  EXPECT_EQ(v["proposed"]["by"], "alice@acme");
  EXPECT_EQ(v["decisions"][0]["decision"], "approved");
  EXPECT_EQ(v["decisions"][0]["approver"], "lead@acme");
  EXPECT_EQ(v["envelope"]["model"], "model-x@2026-10-01");
  EXPECT_EQ(v["envelope"]["template_sha256"], std::string(64, 'b'));
  EXPECT_EQ(v["evaluation_before_rollout"]["event_id"], "triage-11");
  ASSERT_EQ(v["deployments"].size(), 3u);
  EXPECT_EQ(v["deployments"][0]["processed_by"], nlohmann::json::array({group}));
  EXPECT_EQ(v["deployments"][1]["processed_by"], nlohmann::json::array({group}));
  EXPECT_EQ(v["deployments"][2]["not_processed_by"], nlohmann::json::array({group}));
  ASSERT_EQ(v["rollbacks"].size(), 2u);
  for (const auto& rb : v["rollbacks"]) {
    EXPECT_EQ(rb["to_version"], "1.0.0");
    EXPECT_EQ(rb["not_processed_by"], nlohmann::json::array({group}));
    EXPECT_EQ(rb["expected_consumers"], nlohmann::json::array({"release-controller", "audit"}));
  }
  EXPECT_EQ(j["state_hash"], replay::HashSandbox(db, false)->total.Hex());

  // The groups of another cluster say nothing about this sandbox's offsets.
  ao.live = target_;
  auto wrong = replay::Audit(ao, false);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("replayed from cluster"), std::string::npos);
}

TEST_F(ReplayIntegration, ReplayIntoATopicKeepsValidEventsAndQuarantinesTheRest) {
  const std::string topic = UniqueName("replay.totopic");
  Produce(source_, topic, 3, KnownAnswerStream());
  const std::string sandbox = UniqueName("replay.sandbox");
  replay::ReplayOptions o;
  o.source = source_;
  o.topic = topic;
  o.into = "kafka://" + target_.bootstrap() + "/" + sandbox;
  auto summary = replay::Run(o);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->written, 24);  // 23 applied + 1 duplicate delivery

  // Same partitions, keys, headers, values and order, valid events only.
  std::map<int32_t, std::vector<Digest128>> want, got;
  for (const Record& r : KnownAnswerStream()) {
    if (std::holds_alternative<envelope::Rejection>(envelope::Parse(r))) continue;
    want[static_cast<int32_t>(std::hash<std::string>()(*r.key) % 3)].push_back(RecordDigest(r));
  }
  TopicReadOptions read;
  read.topic = sandbox;
  ASSERT_TRUE(ReadTopic(target_, read, [&](const Record& r) {
                got[r.partition.value()].push_back(RecordDigest(r));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(got, want);
  std::vector<Record> quarantined;
  read.topic = sandbox + ".quarantine";
  ASSERT_TRUE(ReadTopic(target_, read, [&](const Record& r) {
                quarantined.push_back(r);
                return Status::Ok();
              }).ok());
  ASSERT_EQ(quarantined.size(), 1u);
  std::string reason;
  for (const Header& h : quarantined[0].headers) {
    if (h.name == "lifeline.quarantine.reason") reason = h.value.value_or("");
  }
  EXPECT_EQ(reason, "invalid_json");

  // A fresh consumer rebuilds the same registry from the sandbox topic: every
  // table but the quarantine agrees with a replay of the original.
  ASSERT_TRUE(Replay(source_, topic, Db("orig.db")).ok());
  ASSERT_TRUE(Replay(target_, sandbox, Db("rebuilt.db")).ok());
  auto a = replay::HashSandbox(Db("orig.db"), false),
       b = replay::HashSandbox(Db("rebuilt.db"), false);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a->tables.size(); ++i) {
    if (a->tables[i].table == "quarantine") continue;
    EXPECT_EQ(a->tables[i].digest, b->tables[i].digest) << a->tables[i].table;
  }

  // A sandbox must be new.
  auto again = replay::Run(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ExitCode::kUsage);
}

}  // namespace
}  // namespace lifeline
