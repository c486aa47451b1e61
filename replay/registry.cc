#include "replay/registry.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <variant>

namespace lifeline::replay {
namespace {

using envelope::Kind;

void PutBytes(XXH3_state_t* state, const std::optional<std::string>& bytes) {
  const unsigned char absent = 0, present = 1;
  if (!bytes) {
    XXH3_128bits_update(state, &absent, 1);
    return;
  }
  XXH3_128bits_update(state, &present, 1);
  const uint64_t n = bytes->size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  XXH3_128bits_update(state, len, sizeof len);
  XXH3_128bits_update(state, bytes->data(), bytes->size());
}

Digest128 IdDigest(const std::string& id) {
  XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return {h.high64, h.low64};
}

// Equal when the template hash and the dependency envelope are equal (what
// makes a second proposal a change rather than a repeat).
Digest128 EnvelopeDigest(const std::string& sha256, const envelope::Dependencies& deps) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  for (const std::string* s :
       {&sha256, &deps.model, &deps.retrieval_policy, &deps.tool_schema, &deps.safety_policy}) {
    PutBytes(state, *s);
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return {h.high64, h.low64};
}

std::string SpillDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  return ec ? std::string("/tmp") : tmp.string();
}

}  // namespace

Registry::Registry(const RegistryOptions& options)
    : ids_(SpillDir(options.spill_dir), options.ids_in_memory),
      texts_(SpillDir(options.spill_dir), options.text_bytes_in_memory) {}

Status Registry::status() const {
  if (!ids_.status().ok()) return ids_.status();
  return texts_.status();
}

Digest128 ContentDigest(const Record& record) {
  // One state per thread: creating one is an aligned allocation per record.
  thread_local std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> owned(
      XXH3_createState(), XXH3_freeState);
  XXH3_state_t* state = owned.get();
  XXH3_128bits_reset(state);
  PutBytes(state, record.key);
  PutBytes(state, record.value);
  for (const Header& h : record.headers) {
    PutBytes(state, h.name);
    PutBytes(state, h.value);
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  return {h.high64, h.low64};
}

Outcome Registry::Apply(const Record& record) {
  ++read_;
  Outcome out;
  auto parsed = envelope::Parse(record);
  if (auto* rejection = std::get_if<envelope::Rejection>(&parsed)) {
    ++quarantined_;
    out.kind = Outcome::Kind::kQuarantined;
    out.quarantine_key = RecordDigest(record).Hex();
    auto [seen, first] =
        quarantined_keys_.try_emplace(out.quarantine_key, envelope::ReasonCode(rejection->reason));
    out.reason = seen->second;
    ++by_reason_[out.reason];
    if (first) {
      QuarantineRow& row = out.quarantine.emplace();
      row.reason = out.reason;
      row.detail = rejection->detail;
      for (const Header& h : record.headers) {
        if (h.name == "ce_id" && h.value) row.event_id = *h.value;
      }
      row.record = record;
      row.record.topic = Topic("");
      row.record.partition = Partition(-1);
      row.record.offset = Offset(-1);
    }
    return out;
  }
  const envelope::Event& e = std::get<envelope::Event>(parsed);
  PromptState& p = prompts_[e.prompt_id];
  if (p.prompt_id.empty()) {
    p.prompt_id = e.prompt_id;
    p.number = static_cast<uint32_t>(numbered_.size());
    numbered_.push_back(&p);
  }
  const int64_t seq = ++p.events;
  if (seq == 1) p.first_event_id = e.id, p.first_ms = e.time_ms.value();
  p.last_event_id = e.id;
  p.last_ms = e.time_ms.value();

  LogRow& log = out.log;
  log.seq = seq;
  log.event_id = e.id;
  log.kind = std::string(envelope::KindName(e.kind));
  log.version = e.version;
  log.actor = e.actor;
  log.time_ms = e.time_ms.value();
  log.content = ContentDigest(record);
  out.prompt_id = p.prompt_id;

  // Event ids are unique: a repeat with the same content is a duplicate
  // delivery (applied once), with other content a violation (applied, as the
  // stream says). Only repeats within the prompt are judged here.
  std::optional<FirstSeen> first;
  std::optional<FirstSeen> seen = ids_.FindOrInsert(IdDigest(e.id), {p.number, seq, log.content});
  if (seen) {
    if (seen->prompt == p.number) {
      first = seen;
    } else {
      auto& others = reused_[e.id];
      auto mine = std::find_if(others.begin(), others.end(),
                               [&](const FirstSeen& f) { return f.prompt == p.number; });
      if (mine == others.end()) {
        others.push_back({p.number, seq, log.content});
      } else {
        first = *mine;
      }
    }
  }
  if (first && first->content == log.content) {
    ++duplicates_;
    log.outcome = "duplicate";
    out.kind = Outcome::Kind::kDuplicate;
    return out;
  }
  if (first) {
    Violation(out, seq, kConflictingDuplicate, e,
              fmt::format("event id {} was first delivered as event {} of this prompt with other "
                          "content",
                          e.id, first->seq));
  }
  ++applied_;
  log.outcome = "applied";
  ApplyEvent(p, e, seq, out);
  return out;
}

std::vector<LateViolation> Registry::Finish() {
  std::vector<LateViolation> late;
  for (auto& [id, others] : reused_) {
    const std::optional<FirstSeen> first = ids_.Find(IdDigest(id));
    if (!first) continue;  // only after a spill failure, which status() reports
    std::vector<const FirstSeen*> all = {&*first};
    for (const FirstSeen& f : others) all.push_back(&f);
    std::vector<std::string> names;
    for (const FirstSeen* f : all) names.push_back(numbered_[f->prompt]->prompt_id);
    std::sort(names.begin(), names.end());
    for (const FirstSeen* f : all) {
      ViolationRow v;
      v.seq = f->seq;
      v.code = kEventIdReused;
      v.event_id = id;
      v.detail = fmt::format("event id {} is used by prompts {}", id, fmt::join(names, ", "));
      late.push_back({numbered_[f->prompt]->prompt_id, std::move(v)});
      ++violations_;
      ++by_code_[kEventIdReused];
    }
  }
  reused_.clear();
  return late;
}

void Registry::Violation(Outcome& out, int64_t seq, const char* code, const envelope::Event& e,
                         std::string detail) {
  out.violations.push_back({seq, code, e.id, e.version, std::move(detail)});
  ++violations_;
  ++by_code_[code];
}

void Registry::Deploy(PromptState& p, const envelope::Event& e, int64_t seq,
                      const std::string& scope, const std::string& version, int percent,
                      Outcome& out) {
  HistoryRow row;
  row.seq = seq;
  row.activated_seq = seq;
  row.activated_event_id = e.id;
  row.activated_ms = e.time_ms.value();
  row.scope = scope;
  row.version = version;
  row.via = std::string(envelope::KindName(e.kind));
  row.event_id = e.id;
  row.actor = e.actor;
  row.percent = percent;
  row.from_ms = e.time_ms.value();
  auto open = p.active.find(scope);
  if (open != p.active.end()) {
    HistoryRow& prev = open->second;
    prev.to_seq = seq;
    prev.to_ms = e.time_ms.value();
    prev.to_event_id = e.id;
    // A rollout change of the active version continues its stint.
    if (prev.version == version && e.kind == Kind::kRolloutChanged) {
      row.activated_seq = prev.activated_seq;
      row.activated_event_id = prev.activated_event_id;
      row.activated_ms = prev.activated_ms;
    }
    out.closed.push_back(std::move(prev));
    prev = std::move(row);
  } else {
    p.active.emplace(scope, std::move(row));
  }
  std::vector<std::string>& versions = p.deployed[scope];
  if (std::find(versions.begin(), versions.end(), version) == versions.end()) {
    versions.push_back(version);
  }
}

void Registry::ApplyEvent(PromptState& p, const envelope::Event& e, int64_t seq, Outcome& out) {
  auto found = p.versions.find(e.version);
  if (e.kind != Kind::kProposed && (found == p.versions.end() || !found->second.proposed)) {
    Violation(out, seq, kNotProposed, e,
              fmt::format("{} of version {} before it was proposed", envelope::KindName(e.kind),
                          e.version));
  }
  VersionRule& v = p.versions[e.version];
  const int64_t t = e.time_ms.value();
  switch (e.kind) {
    case Kind::kProposed: {
      static const envelope::Template kNoTemplate;
      static const envelope::Dependencies kNoDependencies;
      const envelope::Template& tmpl = e.tmpl ? *e.tmpl : kNoTemplate;
      const envelope::Dependencies& deps = e.dependencies ? *e.dependencies : kNoDependencies;
      const Digest128 envelope = EnvelopeDigest(tmpl.sha256, deps);
      if (v.proposed) {
        if (v.envelope != envelope) {
          Violation(out, seq, kVersionChanged, e,
                    fmt::format("version {} proposed again with another template or dependency "
                                "envelope (template {} -> {})",
                                e.version, Text(v.sha256), tmpl.sha256));
        } else {
          Violation(out, seq, kProposedTwice, e,
                    fmt::format("version {} proposed again (first by event {})", e.version,
                                Text(v.proposed_event_id)));
        }
      }
      v.proposed = true;
      v.envelope = envelope;
      v.sha256 = texts_.Put(tmpl.sha256);
      v.proposed_event_id = texts_.Put(e.id);
      // The template body is not part of the state (its digest is).
      out.proposal =
          ProposalRow{seq, e.version, tmpl.sha256, e.actor, e.id, tmpl.variables, deps, t};
      break;
    }
    case Kind::kApproved:
    case Kind::kRejected: {
      const envelope::Approval a = e.approval.value_or(envelope::Approval{});
      const bool approved = e.kind == Kind::kApproved;
      v.decision = approved ? VersionRule::Decision::kApproved : VersionRule::Decision::kRejected;
      out.approvals.push_back({seq, e.version, approved ? "approved" : "rejected", a.approver,
                               a.ticket, e.actor, e.id, t});
      break;
    }
    case Kind::kEvaluated: {
      const envelope::Evaluation ev = e.evaluation.value_or(envelope::Evaluation{});
      v.last_evaluation_passed = ev.passed;
      v.evaluation_suite = texts_.Put(ev.suite);
      v.evaluation_event_id = texts_.Put(e.id);
      out.evaluations.push_back(
          {seq, e.version, ev.suite, ev.dataset, e.actor, e.id, ev.passed, ev.score, t});
      break;
    }
    case Kind::kDeployed:
    case Kind::kRolloutChanged: {
      const envelope::Rollout r = e.rollout.value_or(envelope::Rollout{});
      if (v.decision != VersionRule::Decision::kApproved) {
        Violation(out, seq, kDeployUnapproved, e,
                  fmt::format(
                      "{} of version {} in {} without approval{}", envelope::KindName(e.kind),
                      e.version, r.scope,
                      v.decision == VersionRule::Decision::kRejected ? " (it was rejected)" : ""));
      }
      if (v.last_evaluation_passed && !*v.last_evaluation_passed) {
        Violation(out, seq, kDeployEvaluationFailed, e,
                  fmt::format("{} of version {} in {} after its latest evaluation ({}, event {}) "
                              "failed",
                              envelope::KindName(e.kind), e.version, r.scope,
                              Text(v.evaluation_suite), Text(v.evaluation_event_id)));
      }
      Deploy(p, e, seq, r.scope, e.version, r.percent, out);
      break;
    }
    case Kind::kRolledBack: {
      const envelope::Rollback rb = e.rollback.value_or(envelope::Rollback{});
      RollbackRow row;
      row.seq = seq;
      row.event_id = e.id;
      row.scope = rb.scope;
      row.from_version = e.version;
      row.to_version = rb.target_version;
      row.reason = rb.reason;
      row.initiator = e.actor;
      row.expected_consumers = rb.expected_consumers;
      row.time_ms = t;
      auto open = p.active.find(rb.scope);
      if (open != p.active.end()) row.replaced_version = open->second.version;
      auto deployed = p.deployed.find(rb.scope);
      row.target_deployed_before = deployed != p.deployed.end() &&
                                   std::find(deployed->second.begin(), deployed->second.end(),
                                             rb.target_version) != deployed->second.end();
      if (!row.target_deployed_before) {
        Violation(out, seq, kRollbackNeverDeployed, e,
                  fmt::format("rollback in {} to version {}, which was never deployed there",
                              rb.scope, rb.target_version));
      }
      out.rollbacks.push_back(std::move(row));
      Deploy(p, e, seq, rb.scope, rb.target_version, 100, out);
      break;
    }
    case Kind::kRetired:
      out.retirement = RetirementRow{seq, e.version, e.id, t};
      break;
  }
}

}  // namespace lifeline::replay
