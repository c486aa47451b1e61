#include "synth/internal/generate.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/record.h"

namespace lifeline::synth {
namespace {

using envelope::Event;
using envelope::Kind;
using envelope::Reason;

std::vector<GeneratedRecord> All(const GenerateOptions& options) {
  Generator generator(options);
  std::vector<GeneratedRecord> out;
  GeneratedRecord r;
  while (generator.Next(&r)) out.push_back(r);
  return out;
}

// Everything that must be reproducible about one generated record.
std::string Fingerprint(const GeneratedRecord& r) {
  return RecordDigest(r.record).Hex() + "/" +
         (r.malformed ? std::string(envelope::ReasonCode(*r.malformed)) : "valid") + "/" +
         r.event_id;
}

std::vector<std::string> Fingerprints(const GenerateOptions& options) {
  std::vector<std::string> out;
  for (const GeneratedRecord& r : All(options)) out.push_back(Fingerprint(r));
  return out;
}

Event MustParse(const Record& record) {
  auto result = envelope::Parse(record);
  if (const auto* rej = std::get_if<envelope::Rejection>(&result)) {
    ADD_FAILURE() << "rejected: " << envelope::ReasonCode(rej->reason) << ": " << rej->detail;
    return Event{};
  }
  return std::get<Event>(std::move(result));
}

std::vector<Event> ValidEvents(const GenerateOptions& options) {
  std::vector<Event> events;
  for (const GeneratedRecord& r : All(options)) {
    if (!r.malformed) events.push_back(MustParse(r.record));
  }
  return events;
}

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

GenerateOptions WithMalformed(double rate) {
  GenerateOptions o;
  o.malformed_rate = rate;
  return o;
}

TEST(Generate, SameSeedGivesByteIdenticalRecords) {
  const GenerateOptions options = WithMalformed(0.2);
  const std::vector<std::string> a = Fingerprints(options);
  EXPECT_GT(a.size(), 500u);
  EXPECT_EQ(a, Fingerprints(options));
}

TEST(Generate, DifferentSeedGivesADifferentStream) {
  GenerateOptions other = WithMalformed(0.2);
  other.seed = 2;
  const std::vector<std::string> a = Fingerprints(WithMalformed(0.2));
  const std::vector<std::string> b = Fingerprints(other);
  EXPECT_NE(a, b);
  // Not just shifted: hardly any record is shared.
  const std::set<std::string> sa(a.begin(), a.end());
  size_t shared = 0;
  for (const std::string& f : b) shared += sa.count(f);
  EXPECT_LT(shared, b.size() / 100);
}

TEST(Generate, TotalIsTheExactRecordCount) {
  for (int prompts : {0, 1, 7, 45}) {
    for (int versions : {0, 1, 6}) {
      for (double rate : {0.0, 0.3, 1.0}) {
        GenerateOptions o;
        o.prompts = prompts;
        o.versions = versions;
        o.malformed_rate = rate;
        const Generator g(o);
        EXPECT_EQ(g.total(), static_cast<int64_t>(All(o).size()))
            << prompts << " prompts, " << versions << " versions, rate " << rate;
      }
    }
  }
}

TEST(Generate, EveryValidRecordParsesAndReencodesIdentically) {
  GenerateOptions o;
  o.prompts = 60;
  o.versions = 8;
  for (const GeneratedRecord& r : All(o)) {
    ASSERT_FALSE(r.malformed.has_value());
    const Event e = MustParse(r.record);
    EXPECT_EQ(e.id, r.event_id);
    EXPECT_EQ(e.source, "/registry/eu-1");
    EXPECT_EQ(r.record.timestamp, e.time_ms);
    EXPECT_EQ(r.record.value, envelope::DataJson(e));
  }
}

TEST(Generate, ValuesAverageBetweenHalfAndTwoKilobytes) {
  GenerateOptions o;
  o.prompts = 50;
  o.versions = 8;
  int64_t records = 0, value_bytes = 0, record_bytes = 0;
  size_t largest = 0;
  for (const GeneratedRecord& r : All(o)) {
    const size_t value = r.record.value->size();
    size_t total = r.record.key->size() + value;
    for (const Header& h : r.record.headers) total += h.name.size() + h.value->size();
    ++records;
    value_bytes += static_cast<int64_t>(value);
    record_bytes += static_cast<int64_t>(total);
    largest = std::max(largest, value);
  }
  ASSERT_GT(records, 0);
  EXPECT_GE(value_bytes / records, 500);
  EXPECT_LE(value_bytes / records, 2048);
  EXPECT_GE(record_bytes / records, 500);
  EXPECT_LE(record_bytes / records, 2048);
  EXPECT_LE(largest, 2560u);
}

TEST(Generate, MalformedRecordsCycleThroughEveryReasonBeforeRepeating) {
  std::vector<Reason> reasons;
  for (const GeneratedRecord& r : All(WithMalformed(0.5))) {
    if (r.malformed) reasons.push_back(*r.malformed);
  }
  ASSERT_GE(reasons.size(), 6u * envelope::kReasonCount);
  for (size_t i = 0; i < reasons.size(); ++i) {
    EXPECT_EQ(reasons[i], static_cast<Reason>(i % envelope::kReasonCount)) << i;
  }
}

TEST(Generate, EveryMalformedRecordParsesToItsDeclaredReason) {
  // Several rounds, so every flavour of every reason appears.
  std::map<Reason, int> seen;
  for (const GeneratedRecord& r : All(WithMalformed(0.5))) {
    if (!r.malformed) continue;
    auto result = envelope::Parse(r.record);
    ASSERT_TRUE(std::holds_alternative<envelope::Rejection>(result))
        << envelope::ReasonCode(*r.malformed) << " parsed";
    const auto& rej = std::get<envelope::Rejection>(result);
    EXPECT_EQ(rej.reason, *r.malformed)
        << "declared " << envelope::ReasonCode(*r.malformed) << ", got "
        << envelope::ReasonCode(rej.reason) << ": " << rej.detail;
    ++seen[*r.malformed];
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(envelope::kReasonCount));
}

TEST(Generate, LeavesOversizedValuesOutWhenAsked) {
  GenerateOptions o = WithMalformed(0.5);
  o.oversized_values = false;
  std::set<Reason> seen;
  for (const GeneratedRecord& r : All(o)) {
    if (!r.malformed) continue;
    seen.insert(*r.malformed);
    EXPECT_LE(r.record.value ? r.record.value->size() : 0, 128u * 1024);
    auto result = envelope::Parse(r.record);
    ASSERT_TRUE(std::holds_alternative<envelope::Rejection>(result));
    EXPECT_EQ(std::get<envelope::Rejection>(result).reason, *r.malformed);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(envelope::kReasonCount - 1));
  EXPECT_EQ(seen.count(Reason::kValueTooLarge), 0u);
}

TEST(Generate, MalformedRecordsLeaveTheValidStreamUntouched) {
  std::vector<std::string> clean = Fingerprints(GenerateOptions{});
  std::vector<std::string> mixed;
  for (const GeneratedRecord& r : All(WithMalformed(0.3))) {
    if (!r.malformed) mixed.push_back(Fingerprint(r));
  }
  EXPECT_EQ(mixed, clean);
}

TEST(Generate, MalformedRecordsKeepTheKeyOfTheEventBefore) {
  std::string last_key;
  for (const GeneratedRecord& r : All(WithMalformed(0.5))) {
    if (!r.malformed) {
      last_key = *r.record.key;
      continue;
    }
    if (*r.malformed == Reason::kMissingKey || *r.malformed == Reason::kKeyNotUtf8) continue;
    EXPECT_EQ(r.record.key, last_key) << envelope::ReasonCode(*r.malformed);
  }
}

TEST(Generate, EventIdsAreUniqueUuids) {
  std::set<std::string> ids;
  for (const GeneratedRecord& r : All(WithMalformed(0.5))) {
    if (r.event_id.empty()) {
      EXPECT_EQ(r.malformed, Reason::kMissingHeader);
      continue;
    }
    EXPECT_TRUE(ids.insert(r.event_id).second) << r.event_id;
    const std::string& id = r.event_id;
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[13], '-');
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_EQ(id[18], '-');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_EQ(id[23], '-');
  }
}

TEST(Generate, ValidStreamObeysTheLifecycleRules) {
  struct VersionState {
    bool approved = false, rejected = false, evaluated = false, passed = false, retired = false;
  };
  struct PromptState {
    std::map<std::string, VersionState> versions;
    std::map<std::string, std::set<std::string>> deployed_in;  // scope -> versions ever deployed
    std::map<std::string, std::string> active;                 // scope -> version
  };
  std::map<std::string, PromptState> prompts;
  std::map<Kind, int> kinds;
  int failed_evaluations = 0;

  GenerateOptions o;
  o.prompts = 100;
  o.versions = 12;
  for (const Event& e : ValidEvents(o)) {
    SCOPED_TRACE(e.prompt_id + " " + e.version + " " + std::string(envelope::KindName(e.kind)));
    ++kinds[e.kind];
    PromptState& p = prompts[e.prompt_id];
    if (e.kind == Kind::kProposed) {
      EXPECT_EQ(p.versions.count(e.version), 0u) << "proposed twice";
      p.versions[e.version];
      continue;
    }
    ASSERT_EQ(p.versions.count(e.version), 1u) << "not proposed before";
    VersionState& v = p.versions[e.version];
    EXPECT_FALSE(v.retired) << "event after retirement";
    switch (e.kind) {
      case Kind::kApproved:
        v.approved = true;
        break;
      case Kind::kRejected:
        v.rejected = true;
        break;
      case Kind::kEvaluated:
        v.evaluated = true;
        v.passed = e.evaluation->passed;
        failed_evaluations += !v.passed;
        break;
      case Kind::kDeployed: {
        EXPECT_TRUE(v.approved && !v.rejected);
        EXPECT_TRUE(v.evaluated && v.passed);
        const std::string& scope = e.rollout->scope;
        p.deployed_in[scope].insert(e.version);
        p.active[scope] = e.version;
        break;
      }
      case Kind::kRolloutChanged:
        EXPECT_EQ(p.active[e.rollout->scope], e.version);
        break;
      case Kind::kRolledBack: {
        const std::string& scope = e.rollback->scope;
        EXPECT_EQ(p.active[scope], e.version);
        EXPECT_EQ(p.deployed_in[scope].count(e.rollback->target_version), 1u)
            << "target " << e.rollback->target_version << " never deployed in " << scope;
        EXPECT_FALSE(p.versions[e.rollback->target_version].retired);
        EXPECT_EQ(e.rollback->expected_consumers,
                  (std::vector<std::string>{"release-controller", "audit", "evaluation",
                                            "observability"}));
        p.active[scope] = e.rollback->target_version;
        break;
      }
      case Kind::kRetired:
        for (const auto& [scope, version] : p.active) {
          EXPECT_NE(version, e.version) << "retired while active in " << scope;
        }
        v.retired = true;
        break;
      case Kind::kProposed:
        break;
    }
  }
  EXPECT_EQ(prompts.size(), 100u);
  EXPECT_EQ(kinds[Kind::kProposed], 1200);
  // The stream exercises every kind, and the unhappy paths too.
  for (int k = 0; k < envelope::kKindCount; ++k) {
    EXPECT_GT(kinds[static_cast<Kind>(k)], 0) << envelope::KindName(static_cast<Kind>(k));
  }
  EXPECT_GT(failed_evaluations, 0);
  const double rollback_share =
      static_cast<double>(kinds[Kind::kRolledBack]) / kinds[Kind::kDeployed];
  EXPECT_GT(rollback_share, 0.02);
  EXPECT_LT(rollback_share, 0.25);
}

TEST(Generate, TimeAdvancesPerPromptAndPromptsInterleave) {
  std::map<std::string, int64_t> last;
  int64_t previous = 0;
  int switches = 0;
  std::string previous_prompt;
  for (const Event& e : ValidEvents(GenerateOptions{})) {
    const int64_t t = e.time_ms.value();
    EXPECT_GE(t, GenerateOptions{}.start_time.value());
    EXPECT_GE(t, previous) << "the stream is in time order";
    if (last.count(e.prompt_id)) {
      EXPECT_GT(t, last[e.prompt_id]) << e.prompt_id;
    }
    last[e.prompt_id] = t;
    previous = t;
    switches += e.prompt_id != previous_prompt;
    previous_prompt = e.prompt_id;
  }
  EXPECT_EQ(last.size(), 20u);
  EXPECT_GT(switches, 200);
}

TEST(Generate, TemplateHashIsTheSha256OfItsText) {
  int proposals = 0;
  for (const Event& e : ValidEvents(GenerateOptions{})) {
    if (e.kind != Kind::kProposed) continue;
    ++proposals;
    ASSERT_TRUE(e.tmpl.has_value());
    EXPECT_EQ(e.tmpl->sha256, Sha256Hex(e.tmpl->text));
    EXPECT_NE(e.tmpl->text.find('\n'), std::string::npos);
    for (const std::string& variable : e.tmpl->variables) {
      EXPECT_NE(e.tmpl->text.find("{{" + variable + "}}"), std::string::npos) << variable;
    }
    EXPECT_FALSE(e.dependencies->model.empty());
  }
  EXPECT_EQ(proposals, 100);
}

TEST(Generate, VersionsStartAt100AndIncrease) {
  std::map<std::string, std::vector<int>> last;
  for (const Event& e : ValidEvents(GenerateOptions{})) {
    if (e.kind != Kind::kProposed) continue;
    int major = 0, minor = 0, patch = 0;
    ASSERT_EQ(std::sscanf(e.version.c_str(), "%d.%d.%d", &major, &minor, &patch), 3) << e.version;
    const std::vector<int> v = {major, minor, patch};
    if (!last.count(e.prompt_id)) {
      EXPECT_EQ(e.version, "1.0.0");
    } else {
      EXPECT_LT(last[e.prompt_id], v) << e.prompt_id << " " << e.version;
    }
    last[e.prompt_id] = v;
  }
}

TEST(Generate, NumbersPromptIdsBeyondTheBuiltInNames) {
  GenerateOptions o;
  o.prompts = 45;
  o.versions = 1;
  std::set<std::string> ids;
  for (const Event& e : ValidEvents(o)) ids.insert(e.prompt_id);
  EXPECT_EQ(ids.size(), 45u);
  EXPECT_EQ(ids.count("support-triage"), 1u);
  EXPECT_EQ(ids.count("support-triage-2"), 1u);
  EXPECT_EQ(ids.count("support-triage-3"), 1u);
}

}  // namespace
}  // namespace lifeline::synth
