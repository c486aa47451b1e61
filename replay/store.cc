#include "replay/internal/store.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace lifeline::replay {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE prompts(
  prompt_id TEXT NOT NULL PRIMARY KEY, events INTEGER NOT NULL, versions INTEGER NOT NULL,
  first_event_id TEXT, first_time_ms INTEGER, last_event_id TEXT, last_time_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE versions(
  prompt_id TEXT NOT NULL, version TEXT NOT NULL, status TEXT NOT NULL, proposed INTEGER NOT NULL,
  template_sha256 TEXT, template_variables TEXT, model TEXT, retrieval_policy TEXT,
  tool_schema TEXT, safety_policy TEXT, proposer TEXT, proposed_event_id TEXT,
  proposed_at_ms INTEGER, decision TEXT, approver TEXT, approval_ticket TEXT,
  decision_event_id TEXT, decided_at_ms INTEGER, evaluations INTEGER NOT NULL,
  last_evaluation_event_id TEXT, last_evaluation_suite TEXT, last_evaluation_dataset TEXT,
  last_evaluation_passed INTEGER, last_evaluation_score REAL,
  retired_event_id TEXT, retired_at_ms INTEGER,
  PRIMARY KEY(prompt_id, version)
) WITHOUT ROWID;
CREATE TABLE approvals(
  prompt_id TEXT NOT NULL, seq INTEGER NOT NULL, version TEXT, decision TEXT, approver TEXT,
  ticket TEXT, actor TEXT, event_id TEXT, time_ms INTEGER
);
CREATE TABLE evaluations(
  prompt_id TEXT NOT NULL, seq INTEGER NOT NULL, version TEXT, suite TEXT, dataset TEXT,
  passed INTEGER, score REAL, actor TEXT, event_id TEXT, time_ms INTEGER
);
CREATE TABLE deployments(
  prompt_id TEXT NOT NULL, scope TEXT NOT NULL, version TEXT, percent INTEGER, via TEXT,
  event_id TEXT, actor TEXT, since_seq INTEGER, since_event_id TEXT, since_time_ms INTEGER,
  PRIMARY KEY(prompt_id, scope)
) WITHOUT ROWID;
CREATE TABLE deployment_history(
  prompt_id TEXT NOT NULL, scope TEXT NOT NULL, seq INTEGER NOT NULL, version TEXT,
  percent INTEGER, via TEXT, event_id TEXT, actor TEXT, from_time_ms INTEGER,
  activated_seq INTEGER, to_seq INTEGER, to_event_id TEXT, to_time_ms INTEGER
);
CREATE TABLE rollbacks(
  prompt_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT, scope TEXT, from_version TEXT,
  to_version TEXT, replaced_version TEXT, reason TEXT, initiator TEXT,
  expected_consumers TEXT, time_ms INTEGER, target_deployed_before INTEGER
);
CREATE TABLE violations(
  prompt_id TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL, event_id TEXT,
  version TEXT, detail TEXT
);
CREATE TABLE quarantine(
  record_digest TEXT NOT NULL PRIMARY KEY, reason TEXT NOT NULL, detail TEXT, event_id TEXT,
  key BLOB, value BLOB, headers TEXT, timestamp_ms INTEGER, timestamp_type TEXT,
  copies INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE event_log(
  prompt_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT, kind TEXT, version TEXT,
  actor TEXT, time_ms INTEGER, outcome TEXT, content_digest TEXT
);
CREATE TABLE provenance(
  partition INTEGER NOT NULL, "offset" INTEGER NOT NULL, timestamp_ms INTEGER,
  timestamp_type TEXT, outcome TEXT NOT NULL, prompt_id TEXT, seq INTEGER,
  quarantine_digest TEXT
);
CREATE TABLE replay_ranges(
  partition INTEGER NOT NULL PRIMARY KEY, start_offset INTEGER, end_offset INTEGER,
  records INTEGER
);
CREATE TABLE replay_meta(key TEXT NOT NULL PRIMARY KEY, value TEXT) WITHOUT ROWID;
)sql";

// What the versions table is built from at the end (not part of the sandbox:
// temporary tables, gone with the connection). Every version the stream
// named, the proposals and retirements as they came; approvals and
// evaluations are logical tables already.
constexpr const char* kVersionFacts = R"sql(
CREATE TEMP TABLE version_names(prompt_id TEXT NOT NULL, version TEXT NOT NULL);
CREATE TEMP TABLE version_proposals(
  prompt_id TEXT NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, template_sha256 TEXT,
  template_variables TEXT, model TEXT, retrieval_policy TEXT, tool_schema TEXT,
  safety_policy TEXT, proposer TEXT, event_id TEXT, time_ms INTEGER
);
CREATE TEMP TABLE version_retirements(
  prompt_id TEXT NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT,
  time_ms INTEGER
);
)sql";

// One row per version named by the stream, from the latest proposal,
// decision, evaluation and retirement of each (SQLite takes the bare columns
// of a max() aggregate from the row holding the max). The status: retired,
// else deployed if a scope runs it now, else its decision, else proposed or
// not. Runs after the deployments table is written.
constexpr const char* kBuildVersions = R"sql(
INSERT INTO versions
SELECT v.prompt_id, v.version,
  CASE WHEN r.seq IS NOT NULL THEN 'retired'
       WHEN EXISTS (SELECT 1 FROM deployments d
                    WHERE d.prompt_id = v.prompt_id AND d.version = v.version) THEN 'deployed'
       WHEN a.decision IS NOT NULL THEN a.decision
       WHEN p.seq IS NOT NULL THEN 'proposed'
       ELSE 'unproposed' END,
  p.seq IS NOT NULL, p.template_sha256, p.template_variables, p.model, p.retrieval_policy,
  p.tool_schema, p.safety_policy, p.proposer, p.event_id, p.time_ms,
  a.decision, a.approver, a.ticket, a.event_id, a.time_ms,
  coalesce(e.n, 0), e.event_id, e.suite, e.dataset, e.passed, e.score,
  r.event_id, r.time_ms
FROM temp.version_names v
LEFT JOIN (SELECT *, max(seq) FROM temp.version_proposals GROUP BY prompt_id, version) p
  ON p.prompt_id = v.prompt_id AND p.version = v.version
LEFT JOIN (SELECT *, max(seq) FROM approvals GROUP BY prompt_id, version) a
  ON a.prompt_id = v.prompt_id AND a.version = v.version
LEFT JOIN (SELECT *, max(seq), count(*) AS n FROM evaluations GROUP BY prompt_id, version) e
  ON e.prompt_id = v.prompt_id AND e.version = v.version
LEFT JOIN (SELECT *, max(seq) FROM temp.version_retirements GROUP BY prompt_id, version) r
  ON r.prompt_id = v.prompt_id AND r.version = v.version
ORDER BY v.prompt_id, v.version;
DROP TABLE temp.version_names;
DROP TABLE temp.version_proposals;
DROP TABLE temp.version_retirements;
)sql";

// Built after the appends, as docs/architecture.md advises. The tables that grow
// with the stream are appended to in stream order and get their primary keys
// here, as unique indexes.
constexpr const char* kIndexes = R"sql(
CREATE UNIQUE INDEX approvals_pk ON approvals(prompt_id, seq);
CREATE UNIQUE INDEX evaluations_pk ON evaluations(prompt_id, seq);
CREATE UNIQUE INDEX deployment_history_pk ON deployment_history(prompt_id, scope, seq);
CREATE UNIQUE INDEX rollbacks_pk ON rollbacks(prompt_id, seq);
CREATE UNIQUE INDEX violations_pk ON violations(prompt_id, seq, code);
CREATE UNIQUE INDEX event_log_pk ON event_log(prompt_id, seq);
CREATE UNIQUE INDEX provenance_pk ON provenance(partition, "offset");
CREATE INDEX provenance_event ON provenance(prompt_id, seq);
CREATE VIEW quarantine_at AS
  SELECT p.partition, p."offset", q.* FROM provenance p
  JOIN quarantine q ON q.record_digest = p.quarantine_digest;
)sql";

std::string_view OutcomeName(Outcome::Kind k) {
  switch (k) {
    case Outcome::Kind::kApplied:
      return "applied";
    case Outcome::Kind::kDuplicate:
      return "duplicate";
    case Outcome::Kind::kQuarantined:
      return "quarantined";
  }
  return "?";
}

bool ValidUtf8(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += kDigits[c >> 4], out += kDigits[c & 15];
  return out;
}

// Headers as JSON: [{"name": ..., "value": ...}], a value that is not UTF-8
// as "value_hex", a null value as null.
std::string HeadersJson(const std::vector<Header>& headers) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const Header& h : headers) {
    nlohmann::ordered_json j;
    j["name"] = ValidUtf8(h.name) ? h.name : Hex(h.name);
    if (!h.value) {
      j["value"] = nullptr;
    } else if (ValidUtf8(*h.value)) {
      j["value"] = *h.value;
    } else {
      j["value_hex"] = Hex(*h.value);
    }
    arr.push_back(std::move(j));
  }
  return arr.dump();
}

std::string JsonList(const std::vector<std::string>& items) {
  return nlohmann::json(items).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status InsertApproval(sqlite::Stmt& s, const std::string& prompt, const ApprovalRow& a) {
  return s.Bind(1, prompt)
      .Bind(2, a.seq)
      .Bind(3, a.version)
      .Bind(4, a.decision)
      .Bind(5, a.approver)
      .Bind(6, a.ticket)
      .Bind(7, a.actor)
      .Bind(8, a.event_id)
      .Bind(9, a.time_ms)
      .Run();
}

Status InsertEvaluation(sqlite::Stmt& s, const std::string& prompt, const EvaluationRow& e) {
  return s.Bind(1, prompt)
      .Bind(2, e.seq)
      .Bind(3, e.version)
      .Bind(4, e.suite)
      .Bind(5, e.dataset)
      .Bind(6, int64_t{e.passed})
      .Bind(7, e.score)
      .Bind(8, e.actor)
      .Bind(9, e.event_id)
      .Bind(10, e.time_ms)
      .Run();
}

Status InsertHistory(sqlite::Stmt& s, const std::string& prompt, const HistoryRow& h) {
  s.Bind(1, prompt)
      .Bind(2, h.scope)
      .Bind(3, h.seq)
      .Bind(4, h.version)
      .Bind(5, int64_t{h.percent})
      .Bind(6, h.via)
      .Bind(7, h.event_id)
      .Bind(8, h.actor)
      .Bind(9, h.from_ms)
      .Bind(10, h.activated_seq);
  if (h.to_seq) s.Bind(11, *h.to_seq).Bind(12, h.to_event_id).Bind(13, *h.to_ms);
  return s.Run();
}

Status InsertRollback(sqlite::Stmt& s, const std::string& prompt, const RollbackRow& r) {
  return s.Bind(1, prompt)
      .Bind(2, r.seq)
      .Bind(3, r.event_id)
      .Bind(4, r.scope)
      .Bind(5, r.from_version)
      .Bind(6, r.to_version)
      .Bind(7, r.replaced_version)
      .Bind(8, r.reason)
      .Bind(9, r.initiator)
      .Bind(10, JsonList(r.expected_consumers))
      .Bind(11, r.time_ms)
      .Bind(12, int64_t{r.target_deployed_before})
      .Run();
}

Status InsertViolation(sqlite::Stmt& s, const std::string& prompt, const ViolationRow& v) {
  return s.Bind(1, prompt)
      .Bind(2, v.seq)
      .Bind(3, v.code)
      .Bind(4, v.event_id)
      .Bind(5, v.version)
      .Bind(6, v.detail)
      .Run();
}

Status InsertQuarantine(sqlite::Stmt& s, const std::string& digest, const QuarantineRow& q) {
  s.Bind(1, digest).Bind(2, q.reason).Bind(3, q.detail);
  if (!q.event_id.empty()) s.Bind(4, q.event_id);
  if (q.record.key) s.BindBlob(5, *q.record.key);
  if (q.record.value) s.BindBlob(6, *q.record.value);
  return s.Bind(7, HeadersJson(q.record.headers))
      .Bind(8, q.record.timestamp.value())
      .Bind(9, std::string(TimestampTypeName(q.record.timestamp_type)))
      .Bind(10, int64_t{1})
      .Run();
}

Status InsertProposal(sqlite::Stmt& s, const std::string& prompt, const ProposalRow& p) {
  return s.Bind(1, prompt)
      .Bind(2, p.version)
      .Bind(3, p.seq)
      .Bind(4, p.template_sha256)
      .Bind(5, JsonList(p.template_variables))
      .Bind(6, p.deps.model)
      .Bind(7, p.deps.retrieval_policy)
      .Bind(8, p.deps.tool_schema)
      .Bind(9, p.deps.safety_policy)
      .Bind(10, p.proposer)
      .Bind(11, p.event_id)
      .Bind(12, p.time_ms)
      .Run();
}

// One prompt's rows of the current state.
Status WritePrompt(const PromptState& p, sqlite::Stmt& prompt, sqlite::Stmt& name,
                   sqlite::Stmt& deployment, sqlite::Stmt& history) {
  LIFELINE_RETURN_IF_ERROR(prompt.Bind(1, p.prompt_id)
                               .Bind(2, p.events)
                               .Bind(3, static_cast<int64_t>(p.versions.size()))
                               .Bind(4, p.first_event_id)
                               .Bind(5, p.first_ms)
                               .Bind(6, p.last_event_id)
                               .Bind(7, p.last_ms)
                               .Run());
  for (const auto& [version, rule] : p.versions) {
    LIFELINE_RETURN_IF_ERROR(name.Bind(1, p.prompt_id).Bind(2, version).Run());
  }
  for (const auto& [scope, h] : p.active) {
    LIFELINE_RETURN_IF_ERROR(deployment.Bind(1, p.prompt_id)
                                 .Bind(2, scope)
                                 .Bind(3, h.version)
                                 .Bind(4, int64_t{h.percent})
                                 .Bind(5, h.via)
                                 .Bind(6, h.event_id)
                                 .Bind(7, h.actor)
                                 .Bind(8, h.activated_seq)
                                 .Bind(9, h.activated_event_id)
                                 .Bind(10, h.activated_ms)
                                 .Run());
    LIFELINE_RETURN_IF_ERROR(InsertHistory(history, p.prompt_id, h));
  }
  return Status::Ok();
}

// The current state, once at the end: prompts, the names of their versions
// (the versions table is built from them in Finish), deployments and the
// stints still open.
Status WritePrompts(sqlite::Db& db, Registry& registry, sqlite::Stmt& history) {
  auto prompt = db.Prepare("INSERT INTO prompts VALUES(?,?,?,?,?,?,?)");
  auto name = db.Prepare("INSERT INTO temp.version_names VALUES(?,?)");
  auto deployment = db.Prepare("INSERT INTO deployments VALUES(?,?,?,?,?,?,?,?,?,?)");
  for (auto* s : {&prompt, &name, &deployment}) {
    if (!s->ok()) return s->status();
  }
  Status st;
  registry.ForEachPrompt([&](const PromptState& p) {
    if (st.ok()) st = WritePrompt(p, *prompt, *name, *deployment, history);
  });
  return st;
}

}  // namespace

const std::vector<LogicalTable>& LogicalTables() {
  static const std::vector<LogicalTable> kTables = {
      {"prompts", "prompt_id", true},
      {"versions", "prompt_id, version", true},
      {"approvals", "prompt_id, seq", true},
      {"evaluations", "prompt_id, seq", true},
      {"deployments", "prompt_id, scope", true},
      {"deployment_history", "prompt_id, scope, seq", true},
      {"rollbacks", "prompt_id, seq", true},
      {"violations", "prompt_id, seq, code", true},
      {"quarantine", "record_digest", false},
      {"event_log", "prompt_id, seq", true},
  };
  return kTables;
}

Status SandboxWriter::Begin() {
  LIFELINE_RETURN_IF_ERROR(db_->Exec(kSchema).WithContext("sandbox schema"));
  LIFELINE_RETURN_IF_ERROR(db_->Exec(kVersionFacts).WithContext("sandbox schema"));
  txn_ = std::make_unique<sqlite::Transaction>(*db_);
  LIFELINE_RETURN_IF_ERROR(txn_->begun());
  const std::pair<sqlite::Stmt*, const char*> statements[] = {
      {&log_, "INSERT INTO event_log VALUES(?,?,?,?,?,?,?,?,?)"},
      {&provenance_, "INSERT INTO provenance VALUES(?,?,?,?,?,?,?,?)"},
      {&approval_, "INSERT INTO approvals VALUES(?,?,?,?,?,?,?,?,?)"},
      {&evaluation_, "INSERT INTO evaluations VALUES(?,?,?,?,?,?,?,?,?,?)"},
      {&history_, "INSERT INTO deployment_history VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&rollback_, "INSERT INTO rollbacks VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&violation_, "INSERT INTO violations VALUES(?,?,?,?,?,?)"},
      {&quarantine_, "INSERT INTO quarantine VALUES(?,?,?,?,?,?,?,?,?,?)"},
      {&quarantine_copy_, "UPDATE quarantine SET copies = copies + 1 WHERE record_digest = ?"},
      {&proposal_, "INSERT INTO temp.version_proposals VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&retirement_, "INSERT INTO temp.version_retirements VALUES(?,?,?,?,?)"},
  };
  for (const auto& [stmt, sql] : statements) {
    LIFELINE_ASSIGN_OR_RETURN(auto prepared, db_->Prepare(sql));
    *stmt = std::move(prepared);
  }
  return Status::Ok();
}

Status SandboxWriter::Add(const Record& record, const Outcome& outcome) {
  return Add(Coordinates{record.partition.value(), record.offset.value(), record.timestamp.value(),
                         record.timestamp_type},
             outcome);
}

Status SandboxWriter::Add(const Coordinates& at, const Outcome& outcome) {
  provenance_.Bind(1, int64_t{at.partition})
      .Bind(2, at.offset)
      .Bind(3, at.timestamp_ms)
      .Bind(4, TimestampTypeName(at.timestamp_type))
      .Bind(5, OutcomeName(outcome.kind));
  if (outcome.kind == Outcome::Kind::kQuarantined) {
    provenance_.Bind(8, outcome.quarantine_key);
    if (outcome.quarantine) {
      LIFELINE_RETURN_IF_ERROR(
          InsertQuarantine(quarantine_, outcome.quarantine_key, *outcome.quarantine));
    } else {
      LIFELINE_RETURN_IF_ERROR(quarantine_copy_.Bind(1, outcome.quarantine_key).Run());
    }
    return provenance_.Run();
  }
  const std::string& prompt = outcome.prompt_id;
  const LogRow& l = outcome.log;
  provenance_.Bind(6, prompt).Bind(7, l.seq);
  LIFELINE_RETURN_IF_ERROR(log_.Bind(1, prompt)
                               .Bind(2, l.seq)
                               .Bind(3, l.event_id)
                               .Bind(4, l.kind)
                               .Bind(5, l.version)
                               .Bind(6, l.actor)
                               .Bind(7, l.time_ms)
                               .Bind(8, l.outcome)
                               .Bind(9, l.content.Hex())
                               .Run());
  for (const ApprovalRow& a : outcome.approvals) {
    LIFELINE_RETURN_IF_ERROR(InsertApproval(approval_, prompt, a));
  }
  for (const EvaluationRow& e : outcome.evaluations) {
    LIFELINE_RETURN_IF_ERROR(InsertEvaluation(evaluation_, prompt, e));
  }
  for (const HistoryRow& h : outcome.closed) {
    LIFELINE_RETURN_IF_ERROR(InsertHistory(history_, prompt, h));
  }
  for (const RollbackRow& r : outcome.rollbacks) {
    LIFELINE_RETURN_IF_ERROR(InsertRollback(rollback_, prompt, r));
  }
  for (const ViolationRow& v : outcome.violations) {
    LIFELINE_RETURN_IF_ERROR(InsertViolation(violation_, prompt, v));
  }
  if (outcome.proposal) {
    LIFELINE_RETURN_IF_ERROR(InsertProposal(proposal_, prompt, *outcome.proposal));
  }
  if (const auto& r = outcome.retirement) {
    LIFELINE_RETURN_IF_ERROR(retirement_.Bind(1, prompt)
                                 .Bind(2, r->version)
                                 .Bind(3, r->seq)
                                 .Bind(4, r->event_id)
                                 .Bind(5, r->time_ms)
                                 .Run());
  }
  return provenance_.Run();
}

Status SandboxWriter::SetMeta(const std::string& key, const std::string& value) {
  LIFELINE_ASSIGN_OR_RETURN(auto s, db_->Prepare("INSERT OR REPLACE INTO replay_meta VALUES(?,?)"));
  return s.Bind(1, key).Bind(2, value).Run();
}

Status SandboxWriter::WriteState(Registry& registry, const std::vector<LateViolation>& late) {
  for (const LateViolation& v : late) {
    LIFELINE_RETURN_IF_ERROR(InsertViolation(violation_, v.prompt_id, v.row));
  }
  // The sorts that build the versions table and the indexes take as much
  // memory as the page cache; a small one is as fast for them (measured:
  // event_log's index on 1M rows, 1.1 s with 32 MB, 0.9 s with 8 MB).
  LIFELINE_RETURN_IF_ERROR(db_->Exec("PRAGMA cache_size=-8192"));
  return WritePrompts(*db_, registry, history_).WithContext("sandbox state");
}

Status SandboxWriter::Finish(const std::vector<std::pair<std::string, std::string>>& meta) {
  LIFELINE_RETURN_IF_ERROR(db_->Exec(kBuildVersions).WithContext("sandbox versions"));
  LIFELINE_RETURN_IF_ERROR(db_->Exec(kIndexes).WithContext("sandbox indexes"));
  // A reused event id is found only once the stream ended, when the fold no
  // longer holds each event's version: the event log does (by index).
  LIFELINE_RETURN_IF_ERROR(
      db_->Exec(fmt::format("UPDATE violations SET version = (SELECT e.version FROM event_log e "
                            "WHERE e.prompt_id = violations.prompt_id AND e.seq = violations.seq) "
                            "WHERE code = '{}'",
                            kEventIdReused))
          .WithContext("sandbox violations"));
  LIFELINE_RETURN_IF_ERROR(db_->Exec("PRAGMA cache_size=-32768"));
  for (const auto& [k, v] : meta) LIFELINE_RETURN_IF_ERROR(SetMeta(k, v));
  return Status::Ok();
}

Status SandboxWriter::Commit() {
  for (sqlite::Stmt* s : {&log_, &provenance_, &approval_, &evaluation_, &history_, &rollback_,
                          &violation_, &quarantine_, &quarantine_copy_, &proposal_, &retirement_}) {
    *s = sqlite::Stmt();
  }
  LIFELINE_RETURN_IF_ERROR(txn_->Commit());
  txn_.reset();
  return Status::Ok();
}

Result<std::vector<nlohmann::ordered_json>> QueryRows(
    sqlite::Db& db, const std::string& sql,
    const std::vector<std::variant<std::string, int64_t>>& params) {
  LIFELINE_ASSIGN_OR_RETURN(auto s, db.Prepare(sql));
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (auto* text = std::get_if<std::string>(&params[i])) {
      s.Bind(index, std::string_view(*text));
    } else {
      s.Bind(index, std::get<int64_t>(params[i]));
    }
  }
  std::vector<nlohmann::ordered_json> rows;
  for (;;) {
    LIFELINE_ASSIGN_OR_RETURN(auto more, s.Step());
    if (!more) break;
    nlohmann::ordered_json row = nlohmann::ordered_json::object();
    for (int c = 0; c < s.columns(); ++c) {
      const char* name = s.column_name(c);
      switch (s.column_type(c)) {
        case SQLITE_NULL:
          row[name] = nullptr;
          break;
        case SQLITE_INTEGER:
          row[name] = s.Int(c);
          break;
        case SQLITE_FLOAT:
          row[name] = s.Double(c);
          break;
        default:
          row[name] = s.Text(c);
          break;
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<sqlite::Db> OpenSandboxFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::Usage(fmt::format("{}: is a directory; a sandbox file is expected", path));
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::Usage(fmt::format("{}: no such sandbox file", path));
  }
  return sqlite::Db::Open(path, sqlite::Db::Mode::kReadOnly);
}

Result<std::vector<std::pair<std::string, std::string>>> ReadMeta(sqlite::Db& db,
                                                                  const std::string& path) {
  auto s = db.Prepare("SELECT key, value FROM replay_meta ORDER BY key");
  if (!s.ok()) {
    return Status::Usage(
        fmt::format("{} is not a lifeline sandbox (no replay_meta table); "
                    "create one with `lifeline replay --into {}`",
                    path, path));
  }
  std::vector<std::pair<std::string, std::string>> meta;
  bool complete = false;
  for (;;) {
    LIFELINE_ASSIGN_OR_RETURN(auto row, s->Step());
    if (!row) break;
    meta.emplace_back(s->Text(0), s->IsNull(1) ? "" : s->Text(1));
    if (meta.back().first == "complete" && meta.back().second == "true") complete = true;
  }
  if (!complete) {
    return Status::Usage(
        fmt::format("{} is not a complete lifeline sandbox (its replay did not "
                    "finish); replay again",
                    path));
  }
  return meta;
}

}  // namespace lifeline::replay
