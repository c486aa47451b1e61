// The fold: lifecycle events in, registry state out (../shared/design/
// events.md). Pure — no Kafka, no SQLite — so a hand-built stream can be
// checked table by table. Replay feeds it records in stream order and writes
// what it holds with store.h.
//
// Determinism: the state depends only on each prompt's own events in their
// order (all events of a prompt share a partition), never on how partitions
// interleave or on offsets. Sequence numbers are per prompt for that reason.
//
// Thread-safety: a Registry is used from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/envelope.h"
#include "core/record.h"

namespace lifeline::replay {

// Stable violation codes (stored in sandboxes; never rename one).
inline constexpr const char* kNotProposed = "not_proposed";
inline constexpr const char* kProposedTwice = "proposed_twice";
inline constexpr const char* kVersionChanged = "version_changed";
inline constexpr const char* kDeployUnapproved = "deploy_unapproved";
inline constexpr const char* kDeployEvaluationFailed = "deploy_evaluation_failed";
inline constexpr const char* kRollbackNeverDeployed = "rollback_target_never_deployed";
inline constexpr const char* kConflictingDuplicate = "conflicting_duplicate";
inline constexpr const char* kEventIdReused = "event_id_reused_across_prompts";

struct ApprovalRow {
  int64_t seq = 0;
  std::string version, decision, approver, ticket, actor, event_id;
  int64_t time_ms = 0;
};

struct EvaluationRow {
  int64_t seq = 0;
  std::string version, suite, dataset, actor, event_id;
  bool passed = false;
  double score = 0;
  int64_t time_ms = 0;
};

struct VersionRow {
  bool proposed = false;
  envelope::Template tmpl;
  envelope::Dependencies deps;
  std::string proposer, proposed_event_id;
  int64_t proposed_at = 0;
  std::string decision;  // "", "approved", "rejected": the latest decision
  std::string approver, approval_ticket, decision_event_id;
  int64_t decided_at = 0;
  int64_t evaluations = 0;
  std::optional<EvaluationRow> last_evaluation;
  bool retired = false;
  std::string retired_event_id;
  int64_t retired_at = 0;
};

// One stint of a deployment state in a scope: opened by a deploy, a rollout
// change or a rollback, closed by the next one in that scope.
struct HistoryRow {
  int64_t seq = 0;            // the event that opened it
  int64_t activated_seq = 0;  // the event that made `version` active in this stint
  std::string activated_event_id;
  int64_t activated_ms = 0;
  std::string scope, version, via, event_id, actor;
  int percent = 100;
  int64_t from_ms = 0;
  std::optional<int64_t> to_seq, to_ms;
  std::string to_event_id;
};

struct RollbackRow {
  int64_t seq = 0;
  std::string event_id, scope, from_version, to_version, replaced_version, reason, initiator;
  std::vector<std::string> expected_consumers;
  int64_t time_ms = 0;
  bool target_deployed_before = false;
};

struct ViolationRow {
  int64_t seq = 0;
  std::string code, event_id, version, detail;
};

// One record of the prompt's stream, applied or a duplicate.
struct LogRow {
  int64_t seq = 0;
  std::string event_id, kind, version, actor, outcome;  // outcome: "applied" or "duplicate"
  int64_t time_ms = 0;
  Digest128 content;
};

// What the registry keeps per prompt: its current state. Rows that only ever
// grow with the stream (approvals, evaluations, closed stints, rollbacks,
// violations) leave through Outcome, so memory follows the number of prompts
// and versions, not the length of the stream.
struct PromptState {
  std::string prompt_id;
  int64_t events = 0;  // log rows (applied + duplicates)
  std::string first_event_id, last_event_id;
  int64_t first_ms = 0, last_ms = 0;
  std::map<std::string, VersionRow> versions;
  std::map<std::string, HistoryRow> active;                  // scope -> its open stint
  std::map<std::string, std::vector<std::string>> deployed;  // scope -> versions ever deployed
};

struct QuarantineRow {
  std::string reason, detail, event_id;
  Record record;  // raw key, value, headers, timestamp (coordinates not part of the state)
};

// What happened to one record, and the rows it finished.
struct Outcome {
  enum class Kind { kApplied, kDuplicate, kQuarantined } kind = Kind::kApplied;
  std::string prompt_id;       // applied or duplicate
  LogRow log;                  // applied or duplicate
  std::string quarantine_key;  // quarantined: the row's key (hex digest)
  std::string reason;          // quarantined: reason code
  // The first copy of a quarantined record; later copies only count.
  std::optional<QuarantineRow> quarantine;
  std::vector<ApprovalRow> approvals;
  std::vector<EvaluationRow> evaluations;
  std::vector<HistoryRow> closed;  // stints this event ended
  std::vector<RollbackRow> rollbacks;
  std::vector<ViolationRow> violations;
};

// A violation found only once the stream ended.
struct LateViolation {
  std::string prompt_id;
  ViolationRow row;
};

class Registry {
 public:
  // Folds one record (valid or not) into the state.
  Outcome Apply(const Record& record);
  // What needs the whole stream: event ids reused across prompts. Call
  // once, after the last Apply (it frees the id index; Apply must not follow).
  std::vector<LateViolation> Finish();

  const std::map<std::string, PromptState>& prompts() const { return prompts_; }

  int64_t read() const { return read_; }
  int64_t applied() const { return applied_; }
  int64_t duplicates() const { return duplicates_; }
  int64_t quarantined() const { return quarantined_; }
  int64_t violations() const { return violations_; }
  // Quarantined records by reason code (every copy counts).
  const std::map<std::string, int64_t>& quarantine_by_reason() const { return by_reason_; }
  const std::map<std::string, int64_t>& violations_by_code() const { return by_code_; }

 private:
  void ApplyEvent(PromptState& p, const envelope::Event& e, int64_t seq, Outcome& out);
  void Violation(Outcome& out, int64_t seq, const char* code, const envelope::Event& e,
                 std::string detail);
  void Deploy(PromptState& p, const envelope::Event& e, int64_t seq, const std::string& scope,
              const std::string& version, int percent, Outcome& out);

  // The first delivery of an event id: where, and what it carried.
  struct FirstSeen {
    PromptState* prompt;
    int64_t seq;
    Digest128 content;
  };
  struct DigestHash {
    size_t operator()(const Digest128& d) const { return static_cast<size_t>(d.low); }
  };

  std::map<std::string, PromptState> prompts_;
  // Quarantined records seen, by content digest (hex), and their reason.
  std::unordered_map<std::string, std::string> quarantined_keys_;
  // Keyed by XXH3-128 of the event id, which keeps a million ids in ~70 MB.
  std::unordered_map<Digest128, FirstSeen, DigestHash> ids_;
  // Ids seen in more than one prompt: every (prompt, seq, content) after the
  // first prompt's. Rare; resolved in Finish so the result is order-free.
  std::map<std::string, std::vector<FirstSeen>> reused_;
  std::map<std::string, int64_t> by_reason_, by_code_;
  int64_t read_ = 0, applied_ = 0, duplicates_ = 0, quarantined_ = 0, violations_ = 0;
};

// Digest of what a delivery carries (key, value, headers in order; not the
// timestamp, which a re-send may change): equal content = duplicate delivery.
Digest128 ContentDigest(const Record& record);

}  // namespace lifeline::replay
