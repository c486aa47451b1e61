// The fold, the sandbox tables and the state hash on a hand-built stream with
// a known answer for every table (tests/lifecycle_stream.h), in memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/sqlite.h"
#include "replay/internal/registry.h"
#include "replay/internal/state_hash.h"
#include "replay/internal/store.h"
#include "tests/lifecycle_stream.h"
#include "tests/sandbox_support.h"

namespace lifeline::replay {
namespace {

using testing::Build;
using testing::Built;
using testing::KnownAnswerStream;
using testing::Place;

// Every row of `sql` as "a|b|c" strings (NULL as "-").
std::vector<std::string> Query(sqlite::Db& db, const std::string& sql) {
  auto s = db.Prepare(sql);
  EXPECT_TRUE(s.ok()) << s.status().message();
  std::vector<std::string> rows;
  if (!s.ok()) return rows;
  while (*s->Step()) {
    std::string row;
    for (int c = 0; c < s->columns(); ++c) {
      if (c) row += "|";
      row += s->IsNull(c) ? "-" : s->Text(c);
    }
    rows.push_back(row);
  }
  return rows;
}

std::string HashOf(const std::vector<Record>& records) {
  auto built = Build(records);
  auto digest = HashState(built->db, false);
  EXPECT_TRUE(digest.ok()) << digest.status().message();
  return digest.ok() ? digest->total.Hex() : "";
}

class KnownAnswer : public ::testing::Test {
 protected:
  void SetUp() override { built_ = Build(Place(KnownAnswerStream(), 3, 0)); }
  std::vector<std::string> Q(const std::string& sql) { return Query(built_->db, sql); }
  std::unique_ptr<Built> built_;
};

TEST_F(KnownAnswer, EveryRecordIsAccountedFor) {
  const Registry& r = built_->registry;
  EXPECT_EQ(r.read(), 25);
  EXPECT_EQ(r.applied(), 23);
  EXPECT_EQ(r.duplicates(), 1);
  EXPECT_EQ(r.quarantined(), 1);
  EXPECT_EQ(r.read(), r.applied() + r.duplicates() + r.quarantined());
  EXPECT_EQ(Q("SELECT count(*) FROM provenance"), std::vector<std::string>{"25"});
}

TEST_F(KnownAnswer, PromptsAndVersions) {
  EXPECT_EQ(Q("SELECT prompt_id, events, versions, first_event_id, last_event_id FROM prompts "
              "ORDER BY 1"),
            (std::vector<std::string>{"summarizer|4|1|summarizer-6|summarizer-22",
                                      "triage|20|4|triage-1|triage-3"}));
  EXPECT_EQ(
      Q("SELECT prompt_id, version, status, substr(template_sha256, 1, 2), proposer, decision, "
        "evaluations, last_evaluation_score FROM versions ORDER BY 1, 2"),
      (std::vector<std::string>{
          "summarizer|2.0.0|retired|ee|alice@acme|approved|0|-",
          // The conflicting duplicate of event 3 was applied: its score is the latest.
          "triage|1.0.0|deployed|aa|alice@acme|approved|2|0.1",
          "triage|1.1.0|approved|bb|alice@acme|approved|1|0.95",
          "triage|1.2.0|rejected|cc|alice@acme|rejected|0|-",
          "triage|1.3.0|deployed|dd|alice@acme|-|0|-",
      }));
  EXPECT_EQ(Q("SELECT model, retrieval_policy, tool_schema, safety_policy, template_variables "
              "FROM versions WHERE version = '1.1.0'"),
            std::vector<std::string>{"model-x@2026-10-01|rp-17|tools@3|sp-2|[\"customer\","
                                     "\"ticket\"]"});
}

TEST_F(KnownAnswer, ApprovalsAndEvaluations) {
  EXPECT_EQ(Q("SELECT prompt_id, seq, version, decision, approver, event_id FROM approvals "
              "ORDER BY 1, 2"),
            (std::vector<std::string>{"summarizer|2|2.0.0|approved|lead@acme|summarizer-7",
                                      "triage|2|1.0.0|approved|lead@acme|triage-2",
                                      "triage|7|1.1.0|approved|lead@acme|triage-10",
                                      "triage|15|1.2.0|rejected|lead@acme|triage-18"}));
  EXPECT_EQ(Q("SELECT seq, version, passed, score, event_id FROM evaluations ORDER BY seq"),
            (std::vector<std::string>{"3|1.0.0|1|0.9|triage-3", "8|1.1.0|1|0.95|triage-11",
                                      "20|1.0.0|1|0.1|triage-3"}));
}

TEST_F(KnownAnswer, DeploymentsAfterRollbacksAcrossScopes) {
  EXPECT_EQ(Q("SELECT prompt_id, scope, version, percent, via, since_event_id FROM deployments "
              "ORDER BY 1, 2"),
            (std::vector<std::string>{
                "summarizer|global|2.0.0|100|deployed|summarizer-8",
                "triage|global|0.9.0|100|rolled_back|triage-21",
                "triage|tenant:acme|1.0.0|100|rolled_back|triage-16",
                "triage|tenant:beta|1.3.0|100|deployed|triage-20",
            }));
  EXPECT_EQ(Q("SELECT scope, version, percent, via, event_id, activated_seq, to_event_id FROM "
              "deployment_history WHERE prompt_id = 'triage' ORDER BY seq"),
            (std::vector<std::string>{
                "global|1.0.0|100|deployed|triage-4|4|triage-12",
                "tenant:acme|1.0.0|100|deployed|triage-5|5|triage-14",
                "global|1.1.0|10|deployed|triage-12|9|triage-13",
                "global|1.1.0|50|rollout_changed|triage-13|9|triage-15",
                "tenant:acme|1.1.0|100|deployed|triage-14|11|triage-16",
                "global|1.0.0|100|rolled_back|triage-15|12|triage-21",
                "tenant:acme|1.0.0|100|rolled_back|triage-16|13|-",
                "tenant:beta|1.3.0|100|deployed|triage-20|17|-",
                "global|0.9.0|100|rolled_back|triage-21|18|-",
            }));
}

TEST_F(KnownAnswer, RollbacksRecordFromToAndWhatTheyReplaced) {
  EXPECT_EQ(Q("SELECT scope, from_version, to_version, replaced_version, initiator, reason, "
              "expected_consumers, target_deployed_before FROM rollbacks ORDER BY seq"),
            (std::vector<std::string>{
                "global|1.1.0|1.0.0|1.1.0|oncall@acme|refusals up 4x|[\"release-controller\","
                "\"audit\"]|1",
                "tenant:acme|1.1.0|1.0.0|1.1.0|oncall@acme|refusals up 4x|[\"release-"
                "controller\",\"audit\"]|1",
                "global|1.3.0|0.9.0|1.0.0|oncall@acme|refusals up 4x|[\"release-controller\","
                "\"audit\"]|0",
            }));
}

TEST_F(KnownAnswer, ViolationsAreRecordedNotFixed) {
  EXPECT_EQ(Q("SELECT prompt_id, seq, code, event_id, version FROM violations ORDER BY 1, 2"),
            (std::vector<std::string>{
                "triage|17|deploy_unapproved|triage-20|1.3.0",
                "triage|18|rollback_target_never_deployed|triage-21|1.3.0",
                "triage|20|conflicting_duplicate|triage-3|1.0.0",
            }));
  // Details read as sentences: "deployment of version ...", not "deployed of".
  EXPECT_EQ(
      Q("SELECT detail FROM violations WHERE code = 'deploy_unapproved'"),
      (std::vector<std::string>{"deployment of version 1.3.0 in tenant:beta without approval"}));
}

TEST_F(KnownAnswer, DuplicateDeliveryIsLoggedOnceAsDuplicate) {
  EXPECT_EQ(Q("SELECT seq, event_id, outcome FROM event_log WHERE event_id = 'triage-11' ORDER "
              "BY seq"),
            (std::vector<std::string>{"8|triage-11|applied", "19|triage-11|duplicate"}));
  EXPECT_EQ(Q("SELECT count(*) FROM event_log"), std::vector<std::string>{"24"});
}

TEST_F(KnownAnswer, MalformedRecordIsQuarantinedWithRawBytesAndCoordinates) {
  EXPECT_EQ(Q("SELECT reason, event_id, key, value, copies FROM quarantine"),
            std::vector<std::string>{"invalid_json|triage-23|triage|{not json|1"});
  const auto at = Q("SELECT partition, \"offset\" FROM quarantine_at");
  ASSERT_EQ(at.size(), 1u);
  EXPECT_EQ(Q("SELECT partition || '|' || \"offset\" FROM provenance WHERE outcome = "
              "'quarantined'"),
            at);
}

TEST(StateHash, IgnoresOffsetsPartitionsAndHowPromptsInterleave) {
  const std::vector<Record> stream = KnownAnswerStream();
  const std::string base = HashOf(Place(stream, 3, 0));
  EXPECT_EQ(base, HashOf(Place(stream, 1, 1000)));
  // Same per-prompt order, prompts interleaved differently.
  std::vector<Record> regrouped = stream;
  std::stable_partition(regrouped.begin(), regrouped.end(),
                        [](const Record& r) { return r.key == "summarizer"; });
  EXPECT_EQ(base, HashOf(Place(regrouped, 5, 42)));
}

TEST(StateHash, ChangingAnyEventChangesIt) {
  const std::vector<Record> stream = KnownAnswerStream();
  const std::string base = HashOf(Place(stream, 3, 0));
  std::set<std::string> seen = {base};
  for (size_t i = 0; i < stream.size(); ++i) {
    std::vector<Record> changed = stream;
    // A field no table shows as a column: ce_source. Only the content digest
    // in event_log (or the raw quarantined bytes) carries it.
    for (Header& h : changed[i].headers) {
      if (h.name == "ce_source") h.value = "/registry/elsewhere";
    }
    const std::string hash = HashOf(Place(changed, 3, 0));
    EXPECT_TRUE(seen.insert(hash).second) << "record " << i << " changed, hash did not";
  }
}

TEST(StateHash, ChangingOneFieldPointsAtItsPromptAndTables) {
  std::vector<Record> stream = KnownAnswerStream();
  auto a = Build(Place(stream, 3, 0));
  // Event 10 approves triage 1.1.0: change its ticket.
  auto e = std::get<envelope::Event>(envelope::Parse(stream[9]));
  e.approval->ticket = "CHG-other";
  stream[9] = envelope::EncodeBinary(e);
  auto b = Build(Place(stream, 3, 0));
  auto da = HashState(a->db, true);
  auto db = HashState(b->db, true);
  ASSERT_TRUE(da.ok() && db.ok());
  EXPECT_NE(da->total, db->total);
  EXPECT_EQ(da->prompts.at("summarizer"), db->prompts.at("summarizer"));
  EXPECT_NE(da->prompts.at("triage"), db->prompts.at("triage"));
  std::vector<std::string> differing;
  for (size_t i = 0; i < da->tables.size(); ++i) {
    if (da->tables[i].digest != db->tables[i].digest) differing.push_back(da->tables[i].table);
  }
  EXPECT_EQ(differing, (std::vector<std::string>{"versions", "approvals", "event_log"}));
}

TEST(StateHash, IsPinnedForTheKnownAnswerStream) {
  // The encoding is a contract (two lifeline versions must agree on a
  // sandbox's hash); this value changes only with a deliberate format change.
  // Changed on 2026-12-01 (was 22d5ecae482fdfb44640168c3bb1d7ab): violation
  // details name the act ("deployment of version"), not the event kind.
  EXPECT_EQ(HashOf(Place(KnownAnswerStream(), 3, 0)), "fd082acad48e01fe05452e64cb900e2f");
}

TEST(Registry, ReproposalsAndFailedEvaluationsAreViolations) {
  using K = envelope::Kind;
  testing::StreamBuilder b;
  b.Proposed("p", "1", 'a');
  b.Proposed("p", "1", 'a');  // proposed twice, same content
  b.Proposed("p", "1", 'b');  // versions are immutable
  b.Decision(K::kApproved, "p", "1");
  b.Evaluated("p", "1", true, 0.9);
  b.Evaluated("p", "1", false, 0.2);
  b.Deployed(K::kDeployed, "p", "1", "global", 100);  // latest evaluation failed
  b.Deployed(K::kDeployed, "p", "2", "global", 100);  // never proposed or approved
  auto built = Build(Place(b.records(), 1, 0));
  EXPECT_EQ(Query(built->db, "SELECT seq, code FROM violations ORDER BY seq, code"),
            (std::vector<std::string>{"2|proposed_twice", "3|version_changed",
                                      "7|deploy_evaluation_failed", "8|deploy_unapproved",
                                      "8|not_proposed"}));
  // Applied as the stream says: the re-proposal's template is the version's now.
  EXPECT_EQ(
      Query(built->db, "SELECT substr(template_sha256, 1, 1) FROM versions WHERE version='1'"),
      std::vector<std::string>{"b"});
}

TEST(Registry, EventIdReusedAcrossPromptsIsAViolationInEveryPromptWhateverTheOrder) {
  testing::StreamBuilder b;
  envelope::Event first = b.Base(envelope::Kind::kProposed, "x", "1", "a@acme");
  first.tmpl = envelope::Template{std::string(64, 'a'), {}, ""};
  first.dependencies = envelope::Dependencies{"m", "r", "t", "s"};
  envelope::Event second = first;
  second.prompt_id = "y";  // same ce_id, another prompt
  const Record rx = envelope::EncodeBinary(first), ry = envelope::EncodeBinary(second);
  // The version is the reused event's own (the fold no longer holds it when
  // the reuse is found, at the end).
  const std::string q = "SELECT prompt_id, seq, code, version FROM violations ORDER BY 1, 2";
  const std::vector<std::string> want = {"x|1|event_id_reused_across_prompts|1",
                                         "y|1|event_id_reused_across_prompts|1"};
  auto xy = Build(Place({rx, ry}, 2, 0));
  auto yx = Build(Place({ry, rx}, 2, 0));
  EXPECT_EQ(Query(xy->db, q), want);
  EXPECT_EQ(Query(yx->db, q), want);
  EXPECT_EQ(xy->registry.duplicates(), 0);
  auto hx = HashState(xy->db, false), hy = HashState(yx->db, false);
  ASSERT_TRUE(hx.ok() && hy.ok());
  EXPECT_EQ(hx->total, hy->total);
}

}  // namespace
}  // namespace lifeline::replay
