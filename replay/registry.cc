#include "replay/internal/registry.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>

#include "replay/replay.h"

namespace lifeline::replay {
namespace {

using envelope::Kind;

// The event as an act, for violation details ("deployment of version 2.0.0
// before it was proposed").
const char* ActionName(Kind kind) {
  switch (kind) {
    case Kind::kProposed:
      return "proposal";
    case Kind::kApproved:
      return "approval";
    case Kind::kRejected:
      return "rejection";
    case Kind::kEvaluated:
      return "evaluation";
    case Kind::kDeployed:
      return "deployment";
    case Kind::kRolloutChanged:
      return "rollout change";
    case Kind::kRolledBack:
      return "rollback";
    case Kind::kRetired:
      return "retirement";
  }
  return "event";
}

// Appends `bytes` as hashed content: absent (0), or present (1), its length
// as 8 bytes little-endian, the bytes.
void PutBytes(std::string* out, const std::string* bytes) {
  if (!bytes) {
    out->push_back('\0');
    return;
  }
  out->push_back('\1');
  const uint64_t n = bytes->size();
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(n >> (8 * i)));
  out->append(*bytes);
}

const std::string* Present(const std::optional<std::string>& bytes) {
  return bytes ? &*bytes : nullptr;
}

Digest128 IdDigest(const std::string& id) {
  XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return {h.high64, h.low64};
}

// Equal when the template hash and the dependency envelope are equal (what
// makes a second proposal a change rather than a repeat).
Digest128 EnvelopeDigest(const std::string& sha256, const envelope::Dependencies& deps) {
  std::string bytes;
  for (const std::string* s :
       {&sha256, &deps.model, &deps.retrieval_policy, &deps.tool_schema, &deps.safety_policy}) {
    const uint64_t n = s->size();
    bytes.append(reinterpret_cast<const char*>(&n), sizeof n);
    bytes.append(*s);
  }
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return {h.high64, h.low64};
}

std::string SpillDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  return ec ? std::string("/tmp") : tmp.string();
}

struct DigestHash {
  size_t operator()(const Digest128& d) const { return static_cast<size_t>(d.low); }
};

// Serialized prompt states, for PromptStore's file.
class Bytes {
 public:
  explicit Bytes(std::string* out) : out_(out) {}
  void U64(uint64_t v) { out_->append(reinterpret_cast<const char*>(&v), 8); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(const std::string& s) {
    U64(s.size());
    out_->append(s);
  }
  void Ref(TextRef r) { U64(r.offset), U64(r.size); }

 private:
  std::string* out_;
};

class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), end_(p + n) {}
  uint64_t U64() {
    uint64_t v = 0;
    if (end_ - p_ >= 8) std::memcpy(&v, p_, 8), p_ += 8;
    return v;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string Str() {
    const uint64_t n = std::min<uint64_t>(U64(), static_cast<uint64_t>(end_ - p_));
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  TextRef Ref() {
    TextRef r;
    r.offset = U64();
    r.size = static_cast<uint32_t>(U64());
    return r;
  }

 private:
  const char* p_;
  const char* end_;
};

void Save(const HistoryRow& h, Bytes& b) {
  b.I64(h.seq), b.I64(h.activated_seq), b.Str(h.activated_event_id), b.I64(h.activated_ms);
  b.Str(h.scope), b.Str(h.version), b.Str(h.via), b.Str(h.event_id), b.Str(h.actor);
  b.I64(h.percent), b.I64(h.from_ms);
  b.U64(h.to_seq.has_value()), b.I64(h.to_seq.value_or(0));
  b.U64(h.to_ms.has_value()), b.I64(h.to_ms.value_or(0));
  b.Str(h.to_event_id);
}

HistoryRow LoadHistory(Reader& r) {
  HistoryRow h;
  h.seq = r.I64(), h.activated_seq = r.I64(), h.activated_event_id = r.Str();
  h.activated_ms = r.I64();
  h.scope = r.Str(), h.version = r.Str(), h.via = r.Str(), h.event_id = r.Str(), h.actor = r.Str();
  h.percent = static_cast<int>(r.I64()), h.from_ms = r.I64();
  if (r.U64())
    h.to_seq = r.I64();
  else
    (void)r.I64();
  if (r.U64())
    h.to_ms = r.I64();
  else
    (void)r.I64();
  h.to_event_id = r.Str();
  return h;
}

std::string Serialize(const PromptState& p) {
  std::string out;
  Bytes b(&out);
  b.Str(p.prompt_id), b.U64(p.number), b.I64(p.events);
  b.Str(p.first_event_id), b.Str(p.last_event_id), b.I64(p.first_ms), b.I64(p.last_ms);
  b.U64(p.versions.size());
  for (const auto& [name, v] : p.versions) {
    b.Str(name);
    b.U64(v.proposed), b.U64(static_cast<uint64_t>(v.decision));
    b.U64(v.last_evaluation_passed ? 1 + *v.last_evaluation_passed : 0);
    b.U64(v.envelope.high), b.U64(v.envelope.low);
    b.Ref(v.sha256), b.Ref(v.proposed_event_id), b.Ref(v.evaluation_suite);
    b.Ref(v.evaluation_event_id);
  }
  b.U64(p.active.size());
  for (const auto& [scope, h] : p.active) Save(h, b);
  b.U64(p.deployed.size());
  for (const auto& [scope, versions] : p.deployed) {
    b.Str(scope), b.U64(versions.size());
    for (const std::string& v : versions) b.Str(v);
  }
  return out;
}

std::unique_ptr<PromptState> Deserialize(const std::string& bytes) {
  Reader r(bytes.data(), bytes.size());
  auto p = std::make_unique<PromptState>();
  p->prompt_id = r.Str(), p->number = static_cast<uint32_t>(r.U64()), p->events = r.I64();
  p->first_event_id = r.Str(), p->last_event_id = r.Str();
  p->first_ms = r.I64(), p->last_ms = r.I64();
  for (uint64_t n = r.U64(); n > 0; --n) {
    VersionRule& v = p->versions[r.Str()];
    v.proposed = r.U64() != 0;
    v.decision = static_cast<VersionRule::Decision>(r.U64());
    if (const uint64_t e = r.U64()) v.last_evaluation_passed = e == 2;
    v.envelope.high = r.U64(), v.envelope.low = r.U64();
    v.sha256 = r.Ref(), v.proposed_event_id = r.Ref(), v.evaluation_suite = r.Ref();
    v.evaluation_event_id = r.Ref();
  }
  for (uint64_t n = r.U64(); n > 0; --n) {
    HistoryRow h = LoadHistory(r);
    std::string scope = h.scope;
    p->active.emplace(std::move(scope), std::move(h));
  }
  for (uint64_t n = r.U64(); n > 0; --n) {
    std::vector<std::string>& versions = p->deployed[r.Str()];
    for (uint64_t k = r.U64(); k > 0; --k) versions.push_back(r.Str());
  }
  return p;
}

// *o as a fresh Outcome, but holding the storage of the strings and lists
// most events fill; anything not kept here is only allocated anew.
void Renew(Outcome* o) {
  Outcome fresh;
  for (auto [from, to] : {std::pair{&o->prompt_id, &fresh.prompt_id},
                          {&o->log.event_id, &fresh.log.event_id},
                          {&o->log.kind, &fresh.log.kind},
                          {&o->log.version, &fresh.log.version},
                          {&o->log.actor, &fresh.log.actor},
                          {&o->log.outcome, &fresh.log.outcome},
                          {&o->quarantine_key, &fresh.quarantine_key},
                          {&o->reason, &fresh.reason}}) {
    *to = std::move(*from);
    to->clear();
  }
  auto keep = [](auto& from, auto& to) {
    to = std::move(from);
    to.clear();
  };
  keep(o->approvals, fresh.approvals);
  keep(o->evaluations, fresh.evaluations);
  keep(o->closed, fresh.closed);
  keep(o->rollbacks, fresh.rollbacks);
  keep(o->violations, fresh.violations);
  *o = std::move(fresh);
}

// How much of the memory budget a prompt's state takes.
size_t Units(const PromptState& p) { return 1 + p.versions.size() + p.active.size(); }

}  // namespace

// Every prompt's state: the recently used ones in memory, up to a budget of
// units (a prompt, each of its versions and open stints), the others
// serialized in a nameless file (spill.h), each in a slot it keeps.
class PromptStore {
 public:
  PromptStore(std::string dir, size_t units) : file_(std::move(dir)), budget_(units) {}

  // The state of prompt `id`, created when new; valid until Release.
  PromptState& Get(const std::string& id) {
    const Digest128 key = IdDigest(id);
    auto [it, fresh] = numbers_.try_emplace(key, static_cast<uint32_t>(slots_.size()));
    if (fresh) {
      slots_.emplace_back();
      Slot& s = slots_.back();
      s.live = std::make_unique<PromptState>();
      s.live->prompt_id = id;
      s.live->number = it->second;
      s.lru = lru_.insert(lru_.end(), it->second);
      return *s.live;
    }
    Slot& s = slots_[it->second];
    if (!s.live) {
      s.live = Load(s);
      s.units = 0;
      s.lru = lru_.insert(lru_.end(), it->second);
    } else {
      lru_.splice(lru_.end(), lru_, s.lru);
    }
    return *s.live;
  }

  // Done with prompt `number` for now: account for its size, evict the
  // least recently used others while over budget.
  void Release(uint32_t number) {
    Slot& s = slots_[number];
    const size_t units = Units(*s.live);
    live_units_ += units - s.units;
    s.units = units;
    while (live_units_ > budget_ && lru_.front() != number) Evict(lru_.front());
  }

  // Every prompt in the order they first appeared; spilled ones are read
  // back for the call only.
  void ForEach(const std::function<void(const PromptState&)>& f) {
    for (Slot& s : slots_) {
      if (s.live) {
        f(*s.live);
      } else if (auto p = Load(s)) {
        f(*p);
      }
    }
  }

  std::optional<std::string> Name(uint32_t number) {
    Slot& s = slots_.at(number);
    if (s.live) return s.live->prompt_id;
    auto p = Load(s);
    return p ? std::optional(p->prompt_id) : std::nullopt;
  }

  std::optional<PromptState> Find(const std::string& id) {
    if (!numbers_.contains(IdDigest(id))) return std::nullopt;
    PromptState& p = Get(id);
    std::optional<PromptState> copy = p;
    Release(p.number);
    return copy;
  }

  size_t size() const { return slots_.size(); }
  const Status& status() const { return file_.status(); }

 private:
  struct Slot {
    std::unique_ptr<PromptState> live;
    size_t units = 0;
    std::list<uint32_t>::iterator lru;
    int64_t offset = -1;  // in the file, when spilled once
    uint32_t size = 0, capacity = 0;
  };

  std::unique_ptr<PromptState> Load(const Slot& s) {
    std::string bytes(s.size, '\0');
    if (!file_.ReadAt(s.offset, s.size, bytes.data())) return std::make_unique<PromptState>();
    return Deserialize(bytes);
  }

  void Evict(uint32_t number) {
    Slot& s = slots_[number];
    std::string bytes = Serialize(*s.live);
    s.size = static_cast<uint32_t>(bytes.size());
    if (s.size <= s.capacity) {
      file_.WriteAt(s.offset, bytes);
    } else {
      s.capacity = s.size + s.size / 2;
      bytes.resize(s.capacity, '\0');  // room to grow in place
      s.offset = file_.Append(bytes);
    }
    live_units_ -= s.units;
    s.units = 0;
    s.live.reset();
    lru_.erase(s.lru);
  }

  SpillFile file_;
  size_t budget_;
  std::unordered_map<Digest128, uint32_t, DigestHash> numbers_;
  std::vector<Slot> slots_;
  std::list<uint32_t> lru_;  // live prompts, least recently used first
  size_t live_units_ = 0;
};

struct Registry::Memory {
  explicit Memory(const RegistryOptions& o)
      : prompts(SpillDir(o.spill_dir), o.prompt_units_in_memory),
        ids(SpillDir(o.spill_dir), o.ids_in_memory),
        texts(SpillDir(o.spill_dir), o.text_bytes_in_memory) {}
  PromptStore prompts;
  IdIndex ids;  // every event id seen, by its XXH3-128
  TextSpill texts;
};

Registry::Registry(const RegistryOptions& options) : memory_(std::make_unique<Memory>(options)) {}

Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;

Status Registry::status() const {
  if (!memory_) return released_status_;
  for (const Status* s :
       {&memory_->prompts.status(), &memory_->ids.status(), &memory_->texts.status()}) {
    if (!s->ok()) return *s;
  }
  return Status::Ok();
}

void Registry::Release() {
  if (!memory_) return;
  prompt_count_ = static_cast<int64_t>(memory_->prompts.size());
  released_status_ = status();
  memory_.reset();
}

std::string Registry::Text(TextRef ref) { return memory_->texts.Get(ref); }

int64_t Registry::prompt_count() const {
  return memory_ ? static_cast<int64_t>(memory_->prompts.size()) : prompt_count_;
}

void Registry::ForEachPrompt(const std::function<void(const PromptState&)>& f) {
  memory_->prompts.ForEach(f);
}

std::optional<PromptState> Registry::FindPrompt(const std::string& id) {
  return memory_->prompts.Find(id);
}

Digest128 ContentDigest(const Record& record) {
  // The pieces laid end to end in one buffer per thread, hashed in one call:
  // the same digest as feeding them one by one, without a call per piece.
  thread_local std::string bytes;
  bytes.clear();
  PutBytes(&bytes, Present(record.key));
  PutBytes(&bytes, Present(record.value));
  for (const Header& h : record.headers) {
    PutBytes(&bytes, &h.name);
    PutBytes(&bytes, Present(h.value));
  }
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return {h.high64, h.low64};
}

void Registry::Apply(const Record& record, Outcome* reused) {
  ++read_;
  Renew(reused);
  Outcome& out = *reused;
  // data_json is not part of the state: not copied.
  if (auto rejection = envelope::ParseInto(record, &event_, {.keep_data_json = false})) {
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
    return;
  }
  const envelope::Event& e = event_;
  PromptState& p = memory_->prompts.Get(e.prompt_id);
  // Accounted for (and maybe others evicted) once this event is applied.
  struct Done {
    PromptStore* store;
    uint32_t number;
    ~Done() { store->Release(number); }
  } done{&memory_->prompts, p.number};
  const int64_t seq = ++p.events;
  if (seq == 1) p.first_event_id = e.id, p.first_ms = e.time_ms.value();
  p.last_event_id = e.id;
  p.last_ms = e.time_ms.value();

  LogRow& log = out.log;
  log.seq = seq;
  log.event_id = e.id;
  log.kind.assign(envelope::KindName(e.kind));
  log.version = e.version;
  log.actor = e.actor;
  log.time_ms = e.time_ms.value();
  log.content = ContentDigest(record);
  out.prompt_id = p.prompt_id;

  // Event ids are unique: a repeat with the same content is a duplicate
  // delivery (applied once), with other content a violation (applied, as the
  // stream says). Only repeats within the prompt are judged here.
  std::optional<FirstSeen> first;
  std::optional<FirstSeen> seen =
      memory_->ids.FindOrInsert(IdDigest(e.id), {p.number, seq, log.content});
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
    return;
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
}

std::vector<LateViolation> Registry::Finish() {
  std::vector<LateViolation> late;
  for (auto& [id, others] : reused_) {
    const std::optional<FirstSeen> first = memory_->ids.Find(IdDigest(id));
    if (!first) continue;  // only after a spill failure, which status() reports
    std::vector<const FirstSeen*> all = {&*first};
    for (const FirstSeen& f : others) all.push_back(&f);
    std::vector<std::string> names;
    names.reserve(all.size());
    for (const FirstSeen* f : all) names.push_back(memory_->prompts.Name(f->prompt).value_or("?"));
    std::sort(names.begin(), names.end());
    for (const FirstSeen* f : all) {
      ViolationRow v;
      v.seq = f->seq;
      v.code = kEventIdReused;
      v.event_id = id;
      v.detail = fmt::format("event id {} is used by prompts {}", id, fmt::join(names, ", "));
      late.push_back({memory_->prompts.Name(f->prompt).value_or("?"), std::move(v)});
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
    Violation(
        out, seq, kNotProposed, e,
        fmt::format("{} of version {} before it was proposed", ActionName(e.kind), e.version));
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
      v.sha256 = memory_->texts.Put(tmpl.sha256);
      v.proposed_event_id = memory_->texts.Put(e.id);
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
      v.evaluation_suite = memory_->texts.Put(ev.suite);
      v.evaluation_event_id = memory_->texts.Put(e.id);
      out.evaluations.push_back(
          {seq, e.version, ev.suite, ev.dataset, e.actor, e.id, ev.passed, ev.score, t});
      break;
    }
    case Kind::kDeployed:
    case Kind::kRolloutChanged: {
      const envelope::Rollout r = e.rollout.value_or(envelope::Rollout{});
      if (v.decision != VersionRule::Decision::kApproved) {
        Violation(
            out, seq, kDeployUnapproved, e,
            fmt::format(
                "{} of version {} in {} without approval{}", ActionName(e.kind), e.version, r.scope,
                v.decision == VersionRule::Decision::kRejected ? " (it was rejected)" : ""));
      }
      if (v.last_evaluation_passed && !*v.last_evaluation_passed) {
        Violation(out, seq, kDeployEvaluationFailed, e,
                  fmt::format("{} of version {} in {} after its latest evaluation ({}, event {}) "
                              "failed",
                              ActionName(e.kind), e.version, r.scope, Text(v.evaluation_suite),
                              Text(v.evaluation_event_id)));
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

Fold::Fold() : registry_(std::make_unique<Registry>()) {}
Fold::~Fold() = default;

void Fold::Apply(const Record& record) { (void)registry_->Apply(record); }

std::optional<std::string> Fold::ActiveVersion(const std::string& prompt,
                                               const std::string& scope) {
  std::optional<PromptState> p = registry_->FindPrompt(prompt);
  if (!p) return std::nullopt;
  auto it = p->active.find(scope);
  if (it == p->active.end()) return std::nullopt;
  return it->second.version;
}

}  // namespace lifeline::replay
