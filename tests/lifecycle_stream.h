// A hand-built lifecycle stream with a known answer for every table of a
// replay sandbox (see replay_test.cc for the answers): two prompts, rollbacks
// across scopes, a rejected version, a deploy without approval, a rollback to
// a version never deployed, a duplicate delivery, a conflicting duplicate and
// one malformed record.
#pragma once

#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/record.h"

namespace lifeline::testing {

inline constexpr int64_t kStreamStart = 1700000000000;  // event i happens at kStreamStart + i s

class StreamBuilder {
 public:
  envelope::Event Base(envelope::Kind kind, const std::string& prompt, const std::string& version,
                       const std::string& actor) {
    envelope::Event e;
    e.kind = kind;
    e.prompt_id = prompt;
    e.version = version;
    e.actor = actor;
    e.source = "/registry/test";
    e.id = prompt + "-" + std::to_string(++n_);
    e.time_ms = TimestampMs(kStreamStart + int64_t{n_} * 1000);
    return e;
  }
  // The template digest is 64 times `sha` (a hex digit).
  Record Proposed(const std::string& prompt, const std::string& version, char sha,
                  const std::string& model = "model-x@2026-10-01") {
    envelope::Event e = Base(envelope::Kind::kProposed, prompt, version, "alice@acme");
    e.tmpl = envelope::Template{std::string(64, sha), {"customer", "ticket"}, ""};
    e.dependencies = envelope::Dependencies{model, "rp-17", "tools@3", "sp-2"};
    return Add(e);
  }
  Record Decision(envelope::Kind kind, const std::string& prompt, const std::string& version) {
    envelope::Event e = Base(kind, prompt, version, "lead@acme");
    e.approval = envelope::Approval{"lead@acme", "CHG-" + std::to_string(n_)};
    return Add(e);
  }
  Record Evaluated(const std::string& prompt, const std::string& version, bool passed,
                   double score) {
    envelope::Event e = Base(envelope::Kind::kEvaluated, prompt, version, "eval-bot@acme");
    e.evaluation = envelope::Evaluation{"triage-regression", "ds-2026-11", passed, score};
    return Add(e);
  }
  Record Deployed(envelope::Kind kind, const std::string& prompt, const std::string& version,
                  const std::string& scope, int percent) {
    envelope::Event e = Base(kind, prompt, version, "release-bot@acme");
    e.rollout = envelope::Rollout{scope, percent};
    return Add(e);
  }
  Record RolledBack(const std::string& prompt, const std::string& from, const std::string& to,
                    const std::string& scope) {
    envelope::Event e = Base(envelope::Kind::kRolledBack, prompt, from, "oncall@acme");
    e.rollback = envelope::Rollback{to, "refusals up 4x", scope, {"release-controller", "audit"}};
    return Add(e);
  }
  Record Retired(const std::string& prompt, const std::string& version) {
    return Add(Base(envelope::Kind::kRetired, prompt, version, "alice@acme"));
  }
  Record Add(const envelope::Event& e) {
    events_.push_back(e);
    Record r = envelope::EncodeBinary(e);
    records_.push_back(r);
    return r;
  }
  Record AddRaw(Record r) {
    records_.push_back(r);
    return r;
  }
  const std::vector<Record>& records() const { return records_; }
  const std::vector<envelope::Event>& events() const { return events_; }

 private:
  int n_ = 0;
  std::vector<Record> records_;
  std::vector<envelope::Event> events_;
};

// The known-answer stream. Event ids are "<prompt>-<n>", times
// kStreamStart + n seconds, n counting from 1 across both prompts.
inline std::vector<Record> KnownAnswerStream() {
  using K = envelope::Kind;
  StreamBuilder b;
  b.Proposed("triage", "1.0.0", 'a');                               // 1
  b.Decision(K::kApproved, "triage", "1.0.0");                      // 2
  b.Evaluated("triage", "1.0.0", true, 0.9);                        // 3
  b.Deployed(K::kDeployed, "triage", "1.0.0", "global", 100);       // 4
  b.Deployed(K::kDeployed, "triage", "1.0.0", "tenant:acme", 100);  // 5
  b.Proposed("summarizer", "2.0.0", 'e');                           // 6
  b.Decision(K::kApproved, "summarizer", "2.0.0");                  // 7
  b.Deployed(K::kDeployed, "summarizer", "2.0.0", "global", 100);   // 8 (no evaluation: allowed)
  b.Proposed("triage", "1.1.0", 'b');                               // 9
  b.Decision(K::kApproved, "triage", "1.1.0");                      // 10
  Record eval = b.Evaluated("triage", "1.1.0", true, 0.95);         // 11
  b.Deployed(K::kDeployed, "triage", "1.1.0", "global", 10);        // 12
  b.Deployed(K::kRolloutChanged, "triage", "1.1.0", "global", 50);  // 13
  b.Deployed(K::kDeployed, "triage", "1.1.0", "tenant:acme", 100);  // 14
  b.RolledBack("triage", "1.1.0", "1.0.0", "global");               // 15
  b.RolledBack("triage", "1.1.0", "1.0.0", "tenant:acme");          // 16
  b.Proposed("triage", "1.2.0", 'c');                               // 17
  b.Decision(K::kRejected, "triage", "1.2.0");                      // 18 rejected version
  b.Proposed("triage", "1.3.0", 'd');                               // 19
  b.Deployed(K::kDeployed, "triage", "1.3.0", "tenant:beta", 100);  // 20 no approval
  b.RolledBack("triage", "1.3.0", "0.9.0", "global");               // 21 never deployed
  b.AddRaw(eval);                                                   // duplicate delivery of 11
  {
    // A conflicting duplicate: event 3's id with another score.
    envelope::Event e = b.events()[2];
    e.evaluation->score = 0.1;
    b.Add(e);
  }
  b.Retired("summarizer", "2.0.0");  // 22
  // 23: quarantined (invalid_json), id "triage-23"
  // Malformed: a proper envelope whose value is not JSON.
  Record bad = envelope::EncodeBinary(b.Base(envelope::Kind::kRetired, "triage", "1.2.0", "x"));
  bad.value = std::string("{not json");
  b.AddRaw(bad);
  return b.records();
}

}  // namespace lifeline::testing
