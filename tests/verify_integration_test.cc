// verify against real Apache Kafka: a target damaged in each way is reported
// with exactly that damage at exactly that coordinate; an undamaged copy
// passes; stored evidence catches a change without the other cluster; a
// group moved with a wrong offset is caught.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "mirror/internal/map_store.h"
#include "mirror/internal/offset_map.h"
#include "tests/test_support.h"
#include "verify/verify.h"

namespace lifeline {
namespace {

namespace fs = std::filesystem;
using testing::Spawn;
using testing::UniqueName;
using testing::WaitExit;
constexpr Millis kTimeout{20000};
constexpr int kRecords = 30;

Record SourceRecord(int i) {
  Record r;
  r.key = fmt::format("prompt-{}", i % 4);
  r.value = fmt::format("{{\"event\":{},\"body\":\"{}\"}}", i, std::string(40, 'a' + i % 26));
  r.headers = {{"ce_id", fmt::format("id-{}", i)}, {"ce_source", std::string("/registry/test")}};
  r.timestamp = TimestampMs(1700000000000 + int64_t{i} * 1000);
  return r;
}

// What the damaged target gets: a record, and the source offset the mirror's
// map claims it is (-1: the map does not know it). `aborted`: written in an
// aborted transaction, so the offset exists but no read_committed reader sees it.
struct Write {
  Record record;
  int64_t declared = -1;
  bool aborted = false;
};

class VerifyIntegration : public testing::RealKafkaTest {
 protected:
  void SetUp() override {
    RealKafkaTest::SetUp();
    dir_ = fs::temp_directory_path() / UniqueName("lifeline-verify");
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void CreateTopic(const ClientConfig& c, const std::string& topic) {
    auto admin = Admin::Create(c);
    ASSERT_TRUE(admin.ok());
    ASSERT_TRUE((*admin)->CreateTopic({topic, 1, -1, {{"retention.ms", "-1"}}}, kTimeout).ok());
    ASSERT_TRUE((*admin)->WaitForTopic(topic, 1, kTimeout).ok());
  }

  void ProduceSource(const std::string& topic, int n = kRecords) {
    CreateTopic(source_, topic);
    auto p = Producer::Create(source_, {});
    ASSERT_TRUE(p.ok());
    for (int i = 0; i < n; ++i) {
      Record r = SourceRecord(i);
      r.topic = Topic(topic);
      r.partition = Partition(0);
      ASSERT_TRUE((*p)->Send(r).ok());
    }
    ASSERT_TRUE((*p)->Flush(kTimeout).ok());
  }

  // Writes the target as `writes` say and publishes the map the mirror
  // `name` would have written for it, with progress `progress`.
  void BuildTarget(const std::string& topic, const std::string& name,
                   const std::vector<Write>& writes, int64_t progress) {
    CreateTopic(target_, topic);
    std::vector<int64_t> offsets;
    auto plain = Producer::Create(target_, {}, [&](const DeliveryReport& dr) {
      if (!dr.err) offsets.push_back(dr.offset.value());
    });
    ASSERT_TRUE(plain.ok());
    ProducerOptions txn_opts;
    txn_opts.transactional_id = UniqueName("verify-damage");
    int64_t aborted_offset = -1;
    auto txn = Producer::Create(
        target_, txn_opts, [&](const DeliveryReport& dr) { aborted_offset = dr.offset.value(); });
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->InitTransactions(kTimeout).ok());
    mirror::PartitionMap map(0, 0);
    for (const Write& w : writes) {
      Record r = w.record;
      r.topic = Topic(topic);
      r.partition = Partition(0);
      int64_t at = -1;
      if (w.aborted) {
        ASSERT_TRUE((*txn)->BeginTransaction().ok());
        ASSERT_TRUE((*txn)->Send(r).ok());
        ASSERT_TRUE((*txn)->Flush(kTimeout).ok());
        ASSERT_TRUE((*txn)->AbortTransaction(kTimeout).ok());
        at = aborted_offset;
      } else {
        ASSERT_TRUE((*plain)->Send(r).ok());
        ASSERT_TRUE((*plain)->Flush(kTimeout).ok());
        at = offsets.back();
      }
      if (w.declared >= 0) map.Add(w.declared, at);
    }
    map.Advance(progress);
    ASSERT_TRUE(mirror::EnsureOffsetMapTopic(target_).ok());
    mirror::MapEncoder encoder(name);
    std::vector<Record> records;
    encoder.Encode({Topic(topic), Partition(0)}, map, &records);
    for (Record& r : records) ASSERT_TRUE((*plain)->Send(r).ok());
    ASSERT_TRUE((*plain)->Flush(kTimeout).ok());
  }

  // An undamaged copy, as a list of writes.
  static std::vector<Write> Faithful(int n = kRecords) {
    std::vector<Write> w;
    w.reserve(n);
    for (int i = 0; i < n; ++i) w.push_back({SourceRecord(i), i, false});
    return w;
  }

  verify::RecordsReport Verify(const std::string& topic, const std::string& name,
                               verify::Align align = verify::Align::kMap,
                               bool allow_duplicates = false) {
    verify::RecordsOptions o;
    o.source = source_;
    o.target = target_;
    o.topics = topic;
    o.name = name;
    o.align = align;
    o.allow_duplicates = allow_duplicates;
    o.chunk_records = 10;
    auto r = verify::VerifyRecords(o);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : verify::RecordsReport{};
  }

  // Runs a damage case and returns the report of its one partition.
  verify::PartitionResult Damage(const std::vector<Write>& writes, int64_t progress = kRecords,
                                 verify::Align align = verify::Align::kMap) {
    const std::string topic = UniqueName("verify.damage");
    const std::string name = UniqueName("vd").substr(0, 60);
    ProduceSource(topic);
    BuildTarget(topic, name, writes, progress);
    verify::RecordsReport r = Verify(topic, name, align);
    EXPECT_FALSE(r.pass);
    EXPECT_EQ(r.partitions.size(), 1u);
    return r.partitions.empty() ? verify::PartitionResult{} : r.partitions[0];
  }

  // `lifeline groups sync` of one group with mirror `name`'s map.
  void SyncGroup(const std::string& name, const std::string& group, const std::string& log) {
    ASSERT_EQ(WaitExit(Spawn({"groups", "sync", "--source", source_.bootstrap(), "--target",
                              target_.bootstrap(), "--name", name, "--group", group},
                             log)),
              0)
        << testing::ReadFile(log);
  }

  verify::GroupsOptions GroupsOf(const std::string& name, const std::string& group) {
    verify::GroupsOptions g;
    g.source = source_;
    g.target = target_;
    g.name = name;
    g.groups = {group};
    return g;
  }

  fs::path dir_;
};

std::map<std::string, int64_t> Counts(
    std::initializer_list<std::pair<const std::string, int64_t>> l) {
  return std::map<std::string, int64_t>(l);
}

TEST_F(VerifyIntegration, UndamagedCopyPasses) {
  const std::string topic = UniqueName("verify.clean"), name = "clean";
  ProduceSource(topic);
  BuildTarget(topic, name, Faithful(), kRecords);
  for (auto align : {verify::Align::kMap, verify::Align::kIdentity, verify::Align::kContent}) {
    verify::RecordsReport r = Verify(topic, name, align);
    EXPECT_TRUE(r.pass) << verify::FormatRecordsText(r);
    ASSERT_EQ(r.partitions.size(), 1u);
    EXPECT_EQ(r.partitions[0].matched, kRecords);
    EXPECT_EQ(r.partitions[0].source.rolling, r.partitions[0].target.rolling);
    EXPECT_EQ(r.partitions[0].source.chunks.size(), 3u);  // 10 records per chunk
  }
}

TEST_F(VerifyIntegration, AlteredHeaderIsReportedAtItsCoordinateWithADiff) {
  std::vector<Write> w = Faithful();
  w[5].record.headers[1].value = "/registry/elsewhere";
  auto p = Damage(w);
  EXPECT_EQ(p.counts, Counts({{"altered", 1}}));
  ASSERT_EQ(p.divergences.size(), 1u);
  EXPECT_EQ(p.divergences[0].source_offset, 5);
  EXPECT_EQ(p.divergences[0].target_offset, 5);
  EXPECT_EQ(p.divergences[0].detail, "headers differs");
  EXPECT_NE(p.divergences[0].diff.find("header #1: source ce_source=\"/registry/test\" / target "
                                       "ce_source=\"/registry/elsewhere\""),
            std::string::npos)
      << p.divergences[0].diff;
}

TEST_F(VerifyIntegration, ChangedTimestampIsReported) {
  std::vector<Write> w = Faithful();
  w[7].record.timestamp = TimestampMs(w[7].record.timestamp.value() + 1);
  auto p = Damage(w);
  EXPECT_EQ(p.counts, Counts({{"altered", 1}}));
  ASSERT_EQ(p.divergences.size(), 1u);
  EXPECT_EQ(p.divergences[0].source_offset, 7);
  EXPECT_EQ(p.divergences[0].detail, "timestamp differs");
  EXPECT_NE(p.divergences[0].diff.find("timestamp: source 1700000007000 (CreateTime) / target "
                                       "1700000007001"),
            std::string::npos)
      << p.divergences[0].diff;
}

TEST_F(VerifyIntegration, OneChangedValueByteIsReportedWithItsPosition) {
  std::vector<Write> w = Faithful();
  (*w[9].record.value)[20] = 'Z';
  auto p = Damage(w);
  EXPECT_EQ(p.counts, Counts({{"altered", 1}}));
  ASSERT_EQ(p.divergences.size(), 1u);
  EXPECT_EQ(p.divergences[0].source_offset, 9);
  EXPECT_EQ(p.divergences[0].detail, "value differs");
  EXPECT_NE(p.divergences[0].diff.find("value differs at byte 20"), std::string::npos)
      << p.divergences[0].diff;
}

TEST_F(VerifyIntegration, DroppedRecordIsMissingWhereTheMapPutsIt) {
  std::vector<Write> w = Faithful();
  w[11].aborted = true;  // the offset exists, the record is gone for every reader
  auto p = Damage(w);
  EXPECT_EQ(p.counts, Counts({{"missing", 1}}));
  ASSERT_EQ(p.divergences.size(), 1u);
  EXPECT_EQ(p.divergences[0].source_offset, 11);
  EXPECT_EQ(p.divergences[0].target_offset, 11);
}

TEST_F(VerifyIntegration, DuplicatedRecordNamesTheSourceRecordItCopies) {
  std::vector<Write> w = Faithful();
  w.insert(w.begin() + 14, Write{SourceRecord(13), -1, false});  // re-sent, not in the map
  auto p = Damage(w);
  EXPECT_EQ(p.counts, Counts({{"duplicated", 1}}));
  ASSERT_EQ(p.divergences.size(), 1u);
  EXPECT_EQ(p.divergences[0].source_offset, 13);
  EXPECT_EQ(p.divergences[0].target_offset, 14);
  EXPECT_EQ(p.matched, kRecords);
}

// A process fenced out of a partition may leave its copies before the ones
// its successor copied again and mapped: a copy ahead of its original is a
// duplicate too. --allow-duplicates counts it without failing, and still
// fails on a record no source record explains.
TEST_F(VerifyIntegration, ACopyBeforeTheMappedOriginalIsDuplicatedAndMayBeAllowed) {
  std::vector<Write> w = Faithful();
  w.insert(w.begin() + 5, Write{SourceRecord(9), -1, false});  // ahead of source 9's copy
  auto p = Damage(w);
  EXPECT_EQ(p.counts, Counts({{"duplicated", 1}}));
  ASSERT_EQ(p.divergences.size(), 1u);
  EXPECT_EQ(p.divergences[0].source_offset, 9);
  EXPECT_EQ(p.divergences[0].target_offset, 5);
  EXPECT_EQ(p.matched, kRecords);

  // The same target, and one with a record born on it, with duplicates allowed.
  auto allowing = [&](const std::vector<Write>& writes) {
    const std::string topic = UniqueName("verify.allow");
    const std::string name = UniqueName("va").substr(0, 60);
    ProduceSource(topic);
    BuildTarget(topic, name, writes, kRecords);
    return Verify(topic, name, verify::Align::kMap, /*allow_duplicates=*/true);
  };
  verify::RecordsReport allowed = allowing(w);
  EXPECT_TRUE(allowed.pass);
  EXPECT_EQ(allowed.duplicates, 1);
  EXPECT_EQ(allowed.divergences, 0);
  EXPECT_NE(verify::FormatRecordsText(allowed).find("1 duplicate(s) allowed"), std::string::npos);

  std::vector<Write> extra = w;
  extra.push_back(Write{SourceRecord(kRecords + 50), -1, false});  // born on the target
  verify::RecordsReport refused = allowing(extra);
  EXPECT_FALSE(refused.pass);
  EXPECT_EQ(refused.divergences, 1);
}

TEST_F(VerifyIntegration, SwappedRecordsAreReportedAsReorderedOnce) {
  std::vector<Write> w = Faithful();
  std::swap(w[15].record, w[16].record);
  auto p = Damage(w);
  EXPECT_EQ(p.counts, Counts({{"reordered", 1}}));
  ASSERT_EQ(p.divergences.size(), 1u);
  EXPECT_EQ(p.divergences[0].source_offset, 15);
  EXPECT_EQ(p.divergences[0].target_offset, 15);
}

TEST_F(VerifyIntegration, UnmirroredTailIsReportedFromTheMirrorsProgress) {
  auto p = Damage(Faithful(25), 25);
  EXPECT_EQ(p.counts, Counts({{"unmirrored", 5}}));
  ASSERT_EQ(p.divergences.size(), 5u);
  EXPECT_EQ(p.divergences[0].source_offset, 25);
  EXPECT_EQ(p.divergences[4].source_offset, 29);
}

TEST_F(VerifyIntegration, ContentAlignmentFindsDropsAndDuplicatesWithoutAMap) {
  std::vector<Write> w = Faithful();
  w.erase(w.begin() + 8);                                        // drop source 8
  w.insert(w.begin() + 20, Write{SourceRecord(20), -1, false});  // a second copy of source 20
  auto p = Damage(w, kRecords, verify::Align::kContent);
  EXPECT_EQ(p.counts, Counts({{"duplicated", 1}, {"missing", 1}}));
  ASSERT_EQ(p.divergences.size(), 2u);
  EXPECT_EQ(p.divergences[0].kind, "missing");
  EXPECT_EQ(p.divergences[0].source_offset, 8);
  EXPECT_EQ(p.divergences[1].kind, "duplicated");
}

TEST_F(VerifyIntegration, StoredEvidenceCatchesAChangeWithoutTheOtherCluster) {
  const std::string topic = UniqueName("verify.evidence"), name = "evidence";
  ProduceSource(topic);
  BuildTarget(topic, name, Faithful(), kRecords);
  verify::RecordsReport first = Verify(topic, name);
  ASSERT_TRUE(first.pass);
  const std::string path = (dir_ / "evidence.json").string();
  {
    std::ofstream out(path);
    out << verify::FormatRecordsJson(first);
  }
  verify::RecordsOptions o;
  o.target = target_;
  o.topics = topic;
  o.chunk_records = 10;
  o.against = path;
  auto same = verify::VerifyRecords(o);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_TRUE(same->pass) << verify::FormatRecordsText(*same);

  // The target changes after the evidence was taken: a record more.
  auto p = Producer::Create(target_, {});
  ASSERT_TRUE(p.ok());
  Record extra = SourceRecord(99);
  extra.topic = Topic(topic);
  extra.partition = Partition(0);
  ASSERT_TRUE((*p)->Send(extra).ok());
  ASSERT_TRUE((*p)->Flush(kTimeout).ok());
  // The evidence bounds the range, so the extra record is outside it...
  auto bounded = verify::VerifyRecords(o);
  ASSERT_TRUE(bounded.ok());
  EXPECT_TRUE(bounded->pass);
  // ...but a source whose history differs is caught chunk by chunk.
  const std::string other = UniqueName("verify.evidence.other");
  ProduceSource(other);
  nlohmann::json ev = nlohmann::json::parse(verify::FormatRecordsJson(first));
  ev["partitions"][0]["topic"] = other;
  ev["partitions"][0]["source"]["chunks"][1]["digest"] = std::string(32, '0');
  {
    std::ofstream out(path);
    out << ev.dump();
  }
  verify::RecordsOptions s;
  s.source = source_;
  s.topics = other;
  s.chunk_records = 10;
  s.against = path;
  auto changed = verify::VerifyRecords(s);
  ASSERT_TRUE(changed.ok()) << changed.status().message();
  EXPECT_FALSE(changed->pass);
  ASSERT_FALSE(changed->partitions[0].divergences.empty());
  EXPECT_EQ(changed->partitions[0].divergences[0].kind, "chunk");
  EXPECT_EQ(changed->partitions[0].divergences[0].source_offset, 10);
}

TEST_F(VerifyIntegration, RealMirrorPassesThenShowsTheUnmirroredTailAndGroupChecks) {
  const std::string topic = UniqueName("verify.mirror");
  const std::string name = "vm" + std::to_string(getpid());
  const std::string log = (dir_ / "cli.log").string();
  ProduceSource(topic);
  const std::vector<std::string> mirror = {"mirror",
                                           "--source",
                                           source_.bootstrap(),
                                           "--target",
                                           target_.bootstrap(),
                                           "--topics",
                                           topic,
                                           "--name",
                                           name,
                                           "--create-topics",
                                           "--state-dir",
                                           dir_.string()};
  ASSERT_EQ(WaitExit(Spawn(mirror, log)), 0) << testing::ReadFile(log);
  verify::RecordsReport clean = Verify(topic, name);
  EXPECT_TRUE(clean.pass) << verify::FormatRecordsText(clean);

  // A group on the source at offset 12, moved with groups sync: passes.
  const std::string group = UniqueName("verify.group");
  auto src = Admin::Create(source_);
  ASSERT_TRUE(src.ok());
  const TopicPartition tp{Topic(topic), Partition(0)};
  ASSERT_TRUE((*src)->AlterGroupOffsets(group, {{tp, Offset(12)}}, kTimeout).ok());
  ASSERT_NO_FATAL_FAILURE(SyncGroup(name, group, log));
  verify::GroupsOptions g = GroupsOf(name, group);
  auto ok = verify::VerifyGroups(g);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->pass) << verify::FormatGroupsText(*ok);

  // Moved with a wrong offset: one record too far.
  auto dst = Admin::Create(target_);
  ASSERT_TRUE(dst.ok());
  ASSERT_TRUE((*dst)->AlterGroupOffsets(group, {{tp, Offset(13)}}, kTimeout).ok());
  auto wrong = verify::VerifyGroups(g);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->pass);
  ASSERT_EQ(wrong->checks.size(), 1u);
  EXPECT_EQ(wrong->checks[0].status, "wrong_offset");
  EXPECT_EQ(wrong->checks[0].expected_target, 12);
  EXPECT_NE(wrong->checks[0].detail.find("skip 1 record"), std::string::npos)
      << wrong->checks[0].detail;

  // New source records the mirror has not copied yet: an unmirrored tail,
  // and a group that read them is ahead of the mirror.
  auto p = Producer::Create(source_, {});
  ASSERT_TRUE(p.ok());
  for (int i = kRecords; i < kRecords + 3; ++i) {
    Record r = SourceRecord(i);
    r.topic = Topic(topic);
    r.partition = Partition(0);
    ASSERT_TRUE((*p)->Send(r).ok());
  }
  ASSERT_TRUE((*p)->Flush(kTimeout).ok());
  verify::RecordsReport tail = Verify(topic, name);
  EXPECT_FALSE(tail.pass);
  EXPECT_EQ(tail.partitions[0].counts, Counts({{"unmirrored", 3}}));
  ASSERT_TRUE((*src)->AlterGroupOffsets(group, {{tp, Offset(kRecords + 2)}}, kTimeout).ok());
  auto ahead = verify::VerifyGroups(g);
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(ahead->checks[0].status, "ahead_of_mirror");
}

// A PASS covers each side's whole log: a record produced on the target after
// the mirror ran is extra, whatever the alignment.
TEST_F(VerifyIntegration, TargetRecordPastTheMapsEndIsExtra) {
  std::vector<Write> w = Faithful();
  w.push_back(Write{SourceRecord(77), -1, false});  // produced on the target only
  for (auto align : {verify::Align::kMap, verify::Align::kIdentity, verify::Align::kContent}) {
    SCOPED_TRACE(static_cast<int>(align));
    auto p = Damage(w, kRecords, align);
    EXPECT_EQ(p.counts, Counts({{"extra", 1}}));
    ASSERT_EQ(p.divergences.size(), 1u);
    EXPECT_EQ(p.divergences[0].target_offset, kRecords);
    EXPECT_EQ(p.target.start, 0);
    EXPECT_EQ(p.target.end, kRecords + 1) << "the whole target log is read";
  }
}

// Without a mirror there is no progress: a record the copy lacks at its end
// is missing, not unmirrored.
TEST_F(VerifyIntegration, DroppedLastRecordIsMissingWithoutAMap) {
  for (auto align : {verify::Align::kIdentity, verify::Align::kContent}) {
    SCOPED_TRACE(static_cast<int>(align));
    auto p = Damage(Faithful(kRecords - 1), kRecords - 1, align);
    EXPECT_EQ(p.counts, Counts({{"missing", 1}}));
    ASSERT_EQ(p.divergences.size(), 1u);
    EXPECT_EQ(p.divergences[0].source_offset, kRecords - 1);
  }
}

// --against compares with the chunk size and alignment the evidence was
// made with; a conflicting explicit --chunk or --align is refused.
TEST_F(VerifyIntegration, AgainstUsesTheEvidencesChunkSizeAndAlignment) {
  const std::string topic = UniqueName("verify.chunks"), name = "chunks";
  ProduceSource(topic);
  BuildTarget(topic, name, Faithful(), kRecords);
  verify::RecordsOptions made;
  made.source = source_;
  made.target = target_;
  made.topics = topic;
  made.name = name;
  made.align = verify::Align::kContent;
  made.chunk_records = 7;
  auto first = verify::VerifyRecords(made);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(first->pass) << verify::FormatRecordsText(*first);
  nlohmann::json ev = nlohmann::json::parse(verify::FormatRecordsJson(*first));
  EXPECT_EQ(ev["chunk_records"], 7);
  const std::string path = (dir_ / "evidence.json").string();
  auto write = [&](const nlohmann::json& j) {
    std::ofstream out(path);
    out << j.dump();
  };
  write(ev);

  verify::RecordsOptions o;
  o.target = target_;
  o.topics = topic;
  o.against = path;
  auto same = verify::VerifyRecords(o);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_TRUE(same->pass) << verify::FormatRecordsText(*same);
  EXPECT_EQ(same->align, "content");
  EXPECT_EQ(same->chunk_records, 7);
  EXPECT_NE(verify::FormatRecordsText(*same).find("made with align content and chunks of 7"),
            std::string::npos)
      << verify::FormatRecordsText(*same);

  // Evidence from before the chunk size was recorded: inferred from its chunks.
  ev.erase("chunk_records");
  write(ev);
  auto inferred = verify::VerifyRecords(o);
  ASSERT_TRUE(inferred.ok()) << inferred.status().message();
  EXPECT_TRUE(inferred->pass) << verify::FormatRecordsText(*inferred);

  o.chunk_records = 8;
  auto chunk = verify::VerifyRecords(o);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.status().code(), ExitCode::kUsage);
  EXPECT_NE(chunk.status().message().find("chunks of 7"), std::string::npos)
      << chunk.status().message();
  o.chunk_records = 7;  // the same value is fine
  EXPECT_TRUE(verify::VerifyRecords(o).ok());
  o.align = verify::Align::kMap;
  o.align_given = true;
  auto align = verify::VerifyRecords(o);
  ASSERT_FALSE(align.ok());
  EXPECT_EQ(align.status().code(), ExitCode::kUsage);
  EXPECT_NE(align.status().message().find("--align content"), std::string::npos)
      << align.status().message();

  // A partition the evidence holds and the cluster does not (a topic
  // recreated with fewer partitions) fails instead of passing unseen.
  o.align_given = false;
  nlohmann::json gone = ev["partitions"][0];
  gone["partition"] = 1;
  ev["partitions"].push_back(gone);
  write(ev);
  auto vanished = verify::VerifyRecords(o);
  ASSERT_TRUE(vanished.ok()) << vanished.status().message();
  EXPECT_FALSE(vanished->pass) << verify::FormatRecordsText(*vanished);
  ASSERT_EQ(vanished->partitions.size(), 2u);
  EXPECT_EQ(vanished->partitions[1].partition, 1);
  EXPECT_EQ(vanished->partitions[1].counts.at("chunk"), 1);
}

// A forgotten or misspelt --name is a usage error that lists the maps the
// target holds, not a report of every record diverging.
TEST_F(VerifyIntegration, AMirrorNameWithoutAMapIsAUsageErrorListingTheNames) {
  const std::string topic = UniqueName("verify.noname");
  const std::string name = UniqueName("realname").substr(0, 60);
  ProduceSource(topic);
  BuildTarget(topic, name, Faithful(), kRecords);
  auto records = verify::VerifyRecords([&] {
    verify::RecordsOptions o;
    o.source = source_;
    o.target = target_;
    o.topics = topic;
    o.name = "no-such-mirror";
    return o;
  }());
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().code(), ExitCode::kUsage);
  EXPECT_NE(records.status().message().find(name), std::string::npos) << records.status().message();
  verify::GroupsOptions g;
  g.source = source_;
  g.target = target_;
  g.name = "no-such-mirror";
  g.groups = {"any"};
  auto groups = verify::VerifyGroups(g);
  ASSERT_FALSE(groups.ok());
  EXPECT_EQ(groups.status().code(), ExitCode::kUsage);
  EXPECT_NE(groups.status().message().find(name), std::string::npos) << groups.status().message();
  // The command line says the same with exit 2.
  const std::string log = (dir_ / "noname.log").string();
  EXPECT_EQ(WaitExit(Spawn({"verify", "records", "--source", source_.bootstrap(), "--target",
                            target_.bootstrap(), "--topics", topic, "--name", "no-such-mirror"},
                           log)),
            2);
  EXPECT_NE(testing::ReadFile(log).find(name), std::string::npos) << testing::ReadFile(log);
  // So do the commands that move or translate with a map.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"groups", "sync", "--source", source_.bootstrap(), "--target", target_.bootstrap(),
            "--name", "no-such-mirror", "--group", "any"},
           {"offsets", "translate", "--target", target_.bootstrap(), "--name", "no-such-mirror",
            "--topic", topic, "--partition", "0", "--offset", "1"}}) {
    const std::string out = (dir_ / (args[0] + ".log")).string();
    EXPECT_EQ(WaitExit(Spawn(args, out)), 2) << args[0] << ": " << testing::ReadFile(out);
    EXPECT_NE(testing::ReadFile(out).find(name), std::string::npos) << testing::ReadFile(out);
  }
}

// Markers and aborted records after a group's position make the offset lags
// differ on a faithful mirror; verify groups compares what the group would
// read instead, and still catches records produced on the target only.
TEST_F(VerifyIntegration, GroupsAreComparedByWhatTheyWouldReadNotByOffsetLags) {
  const std::string topic = UniqueName("verify.txngroups");
  const std::string name = "vg" + std::to_string(getpid());
  CreateTopic(source_, topic);
  ProducerOptions popts;
  popts.transactional_id = UniqueName("verify-txn");
  auto txn = Producer::Create(source_, popts);
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->InitTransactions(kTimeout).ok());
  for (int round = 0; round < 3; ++round) {
    for (const bool commit : {true, false}) {
      ASSERT_TRUE((*txn)->BeginTransaction().ok());
      for (int i = 0; i < 4; ++i) {
        Record r = SourceRecord(round * 10 + i + (commit ? 0 : 5));
        r.topic = Topic(topic);
        r.partition = Partition(0);
        ASSERT_TRUE((*txn)->Send(r).ok());
      }
      ASSERT_TRUE((*txn)->Flush(kTimeout).ok());
      ASSERT_TRUE(commit ? (*txn)->CommitTransaction(kTimeout).ok()
                         : (*txn)->AbortTransaction(kTimeout).ok());
    }
  }
  const std::string log = (dir_ / "txngroups.log").string();
  ASSERT_EQ(WaitExit(Spawn({"mirror", "--source", source_.bootstrap(), "--target",
                            target_.bootstrap(), "--topics", topic, "--name", name,
                            "--create-topics", "--state-dir", dir_.string()},
                           log)),
            0)
      << testing::ReadFile(log);
  // Committed right after the first committed transaction's records: its
  // marker and an aborted transaction follow on the source, not the target.
  const std::string group = UniqueName("verify.txngroup");
  auto src = Admin::Create(source_);
  ASSERT_TRUE(src.ok());
  const TopicPartition tp{Topic(topic), Partition(0)};
  ASSERT_TRUE((*src)->AlterGroupOffsets(group, {{tp, Offset(4)}}, kTimeout).ok());
  ASSERT_NO_FATAL_FAILURE(SyncGroup(name, group, log));
  verify::GroupsOptions g = GroupsOf(name, group);
  auto ok = verify::VerifyGroups(g);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->checks.size(), 1u);
  EXPECT_NE(ok->checks[0].source_lag, ok->checks[0].target_lag) << "the case this test is about";
  EXPECT_TRUE(ok->pass) << verify::FormatGroupsText(*ok);
  EXPECT_EQ(ok->checks[0].source_pending, 8);
  EXPECT_EQ(ok->checks[0].target_pending, 8);

  // A record produced on the target only: the group would read one more there.
  auto plain = Producer::Create(target_, {});
  ASSERT_TRUE(plain.ok());
  Record extra = SourceRecord(99);
  extra.topic = Topic(topic);
  extra.partition = Partition(0);
  ASSERT_TRUE((*plain)->Send(extra).ok());
  ASSERT_TRUE((*plain)->Flush(kTimeout).ok());
  auto differs = verify::VerifyGroups(g);
  ASSERT_TRUE(differs.ok()) << differs.status().message();
  EXPECT_FALSE(differs->pass);
  EXPECT_EQ(differs->checks[0].status, "lag_differs") << verify::FormatGroupsText(*differs);
  EXPECT_EQ(differs->checks[0].target_pending, 9);

  // A group that also committed on a topic the mirror never covered cannot
  // have moved whole: that partition is unmapped, not unseen.
  const std::string elsewhere = UniqueName("verify.unmirrored");
  CreateTopic(source_, elsewhere);
  const std::string wider = UniqueName("verify.widergroup");
  ASSERT_TRUE(
      (*src)
          ->AlterGroupOffsets(
              wider, {{tp, Offset(4)}, {{Topic(elsewhere), Partition(0)}, Offset(0)}}, kTimeout)
          .ok());
  g.groups = {wider};
  auto partial = verify::VerifyGroups(g);
  ASSERT_TRUE(partial.ok()) << partial.status().message();
  EXPECT_FALSE(partial->pass) << verify::FormatGroupsText(*partial);
  bool unmapped = false;
  for (const auto& c : partial->checks) unmapped |= c.topic == elsewhere && c.status == "unmapped";
  EXPECT_TRUE(unmapped) << verify::FormatGroupsText(*partial);
}

}  // namespace
}  // namespace lifeline
