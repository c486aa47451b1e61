// The fold: lifecycle events in, registry state out (docs/events.md). No
// Kafka, no SQLite, so a hand-built stream can be checked table by table.
// Replay feeds it records in stream order and writes what it holds with
// store.h.
//
// Memory: bounded whatever the stream's length (RegistryOptions): beyond its
// budgets the fold spills prompt states, event ids and quotable texts to an
// unnamed temporary file (spill.h).
//
// Determinism: the state depends only on each prompt's own events in their
// order (all events of a prompt share a partition), never on how partitions
// interleave or on offsets. Sequence numbers are per prompt for that reason.
//
// Thread-safety: a Registry is used from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/envelope.h"
#include "core/record.h"
#include "core/status.h"
#include "replay/internal/spill.h"

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

// What the fold keeps of a version: what the lifecycle rules need, with the
// texts a violation quotes kept by reference (spill.h). The versions table
// itself is built at the end from the rows the stream produced (proposals,
// approvals, evaluations, retirements), so it never sits in memory.
struct VersionRule {
  enum class Decision : uint8_t { kNone, kApproved, kRejected };
  bool proposed = false;
  Decision decision = Decision::kNone;
  std::optional<bool> last_evaluation_passed;
  Digest128 envelope;                             // of the template hash and dependency envelope
  TextRef sha256, proposed_event_id;              // of the latest proposal
  TextRef evaluation_suite, evaluation_event_id;  // of the latest evaluation
};

// A `proposed` event applied: the version's release envelope.
struct ProposalRow {
  int64_t seq = 0;
  std::string version, template_sha256, proposer, event_id;
  std::vector<std::string> template_variables;
  envelope::Dependencies deps;
  int64_t time_ms = 0;
};

struct RetirementRow {
  int64_t seq = 0;
  std::string version, event_id;
  int64_t time_ms = 0;
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
// violations, proposals, retirements) leave through Outcome.
struct PromptState {
  std::string prompt_id;
  int64_t events = 0;  // log rows (applied + duplicates)
  std::string first_event_id, last_event_id;
  int64_t first_ms = 0, last_ms = 0;
  uint32_t number = 0;  // in order of first appearance
  std::map<std::string, VersionRule> versions;
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
  std::optional<ProposalRow> proposal;
  std::optional<RetirementRow> retirement;
};

// A violation found only once the stream ended.
struct LateViolation {
  std::string prompt_id;
  ViolationRow row;
};

struct RegistryOptions {
  // Where the fold spills what it must remember for the whole stream (event
  // ids, quoted texts) once the budgets below are used; empty: the system's
  // temporary directory.
  std::string spill_dir;
  size_t ids_in_memory = size_t{1} << 17;
  // Prompt states kept in memory, in units of a prompt, a version or an open
  // deployment stint (~0.2-0.5 KB each); the least recently used beyond it
  // are serialized to the spill file.
  size_t prompt_units_in_memory = 200000;
  size_t text_bytes_in_memory = size_t{8} << 20;
};

class Registry {
 public:
  explicit Registry(const RegistryOptions& options = {});
  ~Registry();
  Registry(Registry&&) noexcept;
  // Folds one record (valid or not) into the state.
  Outcome Apply(const Record& record) {
    Outcome out;
    Apply(record, &out);
    return out;
  }
  // The same into *out, reusing the storage of what it held (a loop over a
  // stream that hands its outcomes back allocates little per record).
  void Apply(const Record& record, Outcome* out);
  // What needs the whole stream: event ids reused across prompts. Call
  // once, after the last Apply (it frees the id index; Apply must not follow).
  std::vector<LateViolation> Finish();
  // Frees what the fold remembers once its state is written (SandboxWriter::
  // WriteState); the counters stay. Nothing but the counters may follow.
  void Release();

  int64_t prompt_count() const;
  // Every prompt's state, in order of first appearance (spilled ones are
  // read back for the call).
  void ForEachPrompt(const std::function<void(const PromptState&)>& f);
  std::optional<PromptState> FindPrompt(const std::string& id);

  int64_t read() const { return read_; }
  int64_t applied() const { return applied_; }
  int64_t duplicates() const { return duplicates_; }
  int64_t quarantined() const { return quarantined_; }
  int64_t violations() const { return violations_; }
  // Not ok after a spill file failed (answers since then are not to be trusted).
  Status status() const;
  // Quarantined records by reason code (every copy counts).
  const std::map<std::string, int64_t>& quarantine_by_reason() const { return by_reason_; }
  const std::map<std::string, int64_t>& violations_by_code() const { return by_code_; }

 private:
  void ApplyEvent(PromptState& p, const envelope::Event& e, int64_t seq, Outcome& out);
  void Violation(Outcome& out, int64_t seq, const char* code, const envelope::Event& e,
                 std::string detail);
  void Deploy(PromptState& p, const envelope::Event& e, int64_t seq, const std::string& scope,
              const std::string& version, int percent, Outcome& out);

  std::string Text(TextRef ref);

  // What the fold remembers (memory and spill file); gone after Release.
  struct Memory;
  std::unique_ptr<Memory> memory_;
  int64_t prompt_count_ = 0;
  Status released_status_;
  // Quarantined records seen, by content digest (hex), and their reason.
  std::unordered_map<std::string, std::string> quarantined_keys_;
  // Ids seen in more than one prompt: every (prompt, seq, content) after the
  // first prompt's. Rare; resolved in Finish so the result is order-free.
  std::map<std::string, std::vector<FirstSeen>> reused_;
  std::map<std::string, int64_t> by_reason_, by_code_;
  envelope::Event event_;  // the record being applied, its storage reused by the next
  int64_t read_ = 0, applied_ = 0, duplicates_ = 0, quarantined_ = 0, violations_ = 0;
};

// Digest of what a delivery carries (key, value, headers in order; not the
// timestamp, which a re-send may change): equal content = duplicate delivery.
Digest128 ContentDigest(const Record& record);

}  // namespace lifeline::replay
