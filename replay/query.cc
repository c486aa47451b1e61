// Questions answered from a finished sandbox: `state at` and `audit`.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/envelope.h"
#include "core/kafka.h"
#include "core/sqlite.h"
#include "replay/internal/store.h"
#include "replay/replay.h"

namespace lifeline::replay {
namespace {

using Json = nlohmann::ordered_json;
constexpr Millis kAdminTimeout{15000};

struct Sandbox {
  sqlite::Db db;
  std::map<std::string, std::string> meta;
};

Result<Sandbox> OpenSandbox(const std::string& path) {
  LIFELINE_ASSIGN_OR_RETURN(auto db, OpenSandboxFile(path));
  LIFELINE_ASSIGN_OR_RETURN(auto meta, ReadMeta(db, path));
  Sandbox s{std::move(db), {}};
  for (auto& [k, v] : meta) s.meta[k] = v;
  return s;
}

Status RequirePrompt(sqlite::Db& db, const std::string& path, const std::string& prompt) {
  LIFELINE_ASSIGN_OR_RETURN(auto s, db.Prepare("SELECT 1 FROM prompts WHERE prompt_id = ?"));
  s.Bind(1, prompt);
  LIFELINE_ASSIGN_OR_RETURN(auto row, s.Step());
  if (!row) {
    return Status::Usage(fmt::format("prompt {} has no events in {}", prompt, path));
  }
  return Status::Ok();
}

std::string Time(const Json& ms) {
  return ms.is_number_integer() ? envelope::FormatRfc3339(TimestampMs(ms.get<int64_t>())) : "-";
}
std::string Str(const Json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

// Which groups have processed each event: committed offset on its partition
// greater than its offset (docs/events.md, "Consumers and acknowledgements").
Status AddProcessedBy(const AuditOptions& o, const Sandbox& sandbox, std::vector<Json*>& events) {
  if (o.groups.empty()) return Status::Ok();
  if (!o.live) {
    return Status::Usage("--groups needs --source HOST:PORT, the cluster the groups consume from");
  }
  auto admin = Admin::Create(*o.live);
  if (!admin.ok()) return admin.status().WithContext("source");
  char* id = rd_kafka_clusterid((*admin)->handle(), static_cast<int>(kAdminTimeout.count()));
  const std::string live_id = id ? id : "";
  if (id) rd_kafka_mem_free((*admin)->handle(), id);
  const auto recorded = sandbox.meta.find("cluster_id");
  if (recorded != sandbox.meta.end() && !recorded->second.empty() && recorded->second != live_id) {
    return Status::Usage(fmt::format(
        "the sandbox was replayed from cluster {} but --source is cluster {}; its offsets say "
        "nothing about groups there: replay from that cluster first",
        recorded->second, live_id.empty() ? "(unknown)" : live_id));
  }
  const std::string topic = sandbox.meta.at("topic");
  for (const std::string& group : o.groups) {
    auto committed = (*admin)->ListGroupOffsets(group, {}, kAdminTimeout);
    if (!committed.ok()) return committed.status().WithContext("source group " + group);
    for (Json* e : events) {
      if (!(*e)["partition"].is_number_integer()) continue;
      const TopicPartition tp{Topic(topic), Partition((*e)["partition"].get<int32_t>())};
      auto it = committed->find(tp);
      const bool done =
          it != committed->end() && it->second.value() > (*e)["offset"].get<int64_t>();
      (*e)[done ? "processed_by" : "not_processed_by"].push_back(group);
    }
  }
  return Status::Ok();
}

Result<Json> BuildAudit(const AuditOptions& o, Sandbox& sandbox) {
  sqlite::Db& db = sandbox.db;
  LIFELINE_RETURN_IF_ERROR(RequirePrompt(db, o.sandbox, o.prompt));
  std::vector<std::string> versions;
  if (!o.version.empty()) {
    versions.push_back(o.version);
  } else {
    LIFELINE_ASSIGN_OR_RETURN(
        auto live,
        QueryRows(db, "SELECT DISTINCT version FROM deployments WHERE prompt_id=? ORDER BY 1",
                  {o.prompt}));
    for (const Json& r : live) versions.push_back(r["version"]);
    if (versions.empty()) {
      LIFELINE_ASSIGN_OR_RETURN(auto newest,
                                QueryRows(db,
                                          "SELECT version FROM versions WHERE prompt_id=? ORDER BY "
                                          "proposed_at_ms DESC, version DESC LIMIT 1",
                                          {o.prompt}));
      for (const Json& r : newest) versions.push_back(r["version"]);
    }
  }
  Json report;
  report["sandbox"] = o.sandbox;
  report["prompt"] = o.prompt;
  report["state_hash"] = sandbox.meta["state_hash"];
  report["replayed_from"] = {{"cluster_id", sandbox.meta["cluster_id"]},
                             {"bootstrap", sandbox.meta["source_bootstrap"]},
                             {"topic", sandbox.meta["topic"]},
                             {"ranges", Json::parse(sandbox.meta["ranges"], nullptr, false)}};
  std::vector<Json*> tracked;
  report["versions"] = Json::array();
  for (const std::string& v : versions) {
    LIFELINE_ASSIGN_OR_RETURN(
        auto row,
        QueryRows(db, "SELECT * FROM versions WHERE prompt_id=? AND version=?", {o.prompt, v}));
    if (row.empty()) {
      return Status::Usage(
          fmt::format("prompt {} has no version {} in {}", o.prompt, v, o.sandbox));
    }
    const Json& ver = row[0];
    Json a;
    a["version"] = v;
    a["status"] = ver["status"];
    a["proposed"] = {{"by", ver["proposer"]},
                     {"event_id", ver["proposed_event_id"]},
                     {"time", Time(ver["proposed_at_ms"])}};
    LIFELINE_ASSIGN_OR_RETURN(
        auto decisions,
        QueryRows(db,
                  "SELECT decision, approver, ticket, actor, event_id, time_ms FROM "
                  "approvals WHERE prompt_id=? AND version=? ORDER BY seq",
                  {o.prompt, v}));
    a["decisions"] = Json::array();
    for (Json& d : decisions) {
      d["time"] = Time(d["time_ms"]);
      d.erase("time_ms");
      a["decisions"].push_back(std::move(d));
    }
    a["envelope"] = {
        {"template_sha256", ver["template_sha256"]},
        {"template_variables", Json::parse(Str(ver["template_variables"]), nullptr, false)},
        {"model", ver["model"]},
        {"retrieval_policy", ver["retrieval_policy"]},
        {"tool_schema", ver["tool_schema"]},
        {"safety_policy", ver["safety_policy"]}};
    const std::string events_sql =
        "SELECT h.seq, h.scope, h.via, h.percent, h.actor, h.event_id, h.from_time_ms, "
        "p.partition, p.\"offset\" FROM deployment_history h LEFT JOIN provenance p ON "
        "p.prompt_id = h.prompt_id AND p.seq = h.seq WHERE h.prompt_id=? AND h.version=? AND "
        "h.via != 'rolled_back' ORDER BY h.seq";
    LIFELINE_ASSIGN_OR_RETURN(auto deploys, QueryRows(db, events_sql, {o.prompt, v}));
    a["deployments"] = Json::array();
    int64_t first_deploy_seq = -1;
    for (Json& d : deploys) {
      if (first_deploy_seq < 0) first_deploy_seq = d["seq"].get<int64_t>();
      d["time"] = Time(d["from_time_ms"]);
      d.erase("from_time_ms");
      a["deployments"].push_back(std::move(d));
    }
    LIFELINE_ASSIGN_OR_RETURN(
        auto evals,
        QueryRows(db,
                  "SELECT seq, suite, dataset, passed, score, actor, event_id, time_ms FROM "
                  "evaluations WHERE prompt_id=? AND version=? ORDER BY seq",
                  {o.prompt, v}));
    a["evaluation_before_rollout"] = nullptr;
    a["evaluations"] = Json::array();
    for (Json& e : evals) {
      e["time"] = Time(e["time_ms"]);
      e.erase("time_ms");
      e["passed"] = e["passed"].get<int64_t>() != 0;
      if (e["passed"].get<bool>() &&
          (first_deploy_seq < 0 || e["seq"].get<int64_t>() < first_deploy_seq)) {
        a["evaluation_before_rollout"] = e;
      }
      a["evaluations"].push_back(std::move(e));
    }
    LIFELINE_ASSIGN_OR_RETURN(
        auto rollbacks,
        QueryRows(db,
                  "SELECT r.seq, r.scope, r.to_version, r.reason, r.initiator, r.event_id, "
                  "r.expected_consumers, r.time_ms, p.partition, p.\"offset\" FROM "
                  "rollbacks r LEFT JOIN provenance p ON p.prompt_id = r.prompt_id AND "
                  "p.seq = r.seq WHERE r.prompt_id=? AND r.from_version=? ORDER BY r.seq",
                  {o.prompt, v}));
    a["rollbacks"] = Json::array();
    for (Json& r : rollbacks) {
      r["time"] = Time(r["time_ms"]);
      r.erase("time_ms");
      r["expected_consumers"] = Json::parse(Str(r["expected_consumers"]), nullptr, false);
      a["rollbacks"].push_back(std::move(r));
    }
    LIFELINE_ASSIGN_OR_RETURN(auto violations,
                              QueryRows(db,
                                        "SELECT seq, code, event_id, detail FROM violations WHERE "
                                        "prompt_id=? AND version=? ORDER BY seq, code",
                                        {o.prompt, v}));
    a["violations"] = violations;
    report["versions"].push_back(std::move(a));
  }
  for (Json& a : report["versions"]) {
    for (Json& d : a["deployments"]) tracked.push_back(&d);
    for (Json& r : a["rollbacks"]) tracked.push_back(&r);
  }
  LIFELINE_RETURN_IF_ERROR(AddProcessedBy(o, sandbox, tracked));
  report["groups_checked"] = o.groups;
  return report;
}

std::string Groups(const Json& e) {
  std::string out;
  if (e.contains("processed_by"))
    out += " processed by " +
           fmt::format("{}", fmt::join(e["processed_by"].get<std::vector<std::string>>(), ", "));
  if (e.contains("not_processed_by")) {
    out += fmt::format("{}NOT processed by {}", out.empty() ? " " : "; ",
                       fmt::join(e["not_processed_by"].get<std::vector<std::string>>(), ", "));
  }
  return out;
}

std::string AuditText(const Json& r) {
  std::string out = fmt::format("audit of prompt {} in {}\n", Str(r["prompt"]), Str(r["sandbox"]));
  for (const Json& a : r["versions"]) {
    out += fmt::format("\nversion {} (status {})\n", Str(a["version"]), Str(a["status"]));
    out += fmt::format("  1. who: proposed by {} ({}, event {})\n", Str(a["proposed"]["by"]),
                       Str(a["proposed"]["time"]), Str(a["proposed"]["event_id"]));
    for (const Json& d : a["decisions"]) {
      out += fmt::format("     {} by {} (ticket {}, {}, event {})\n", Str(d["decision"]),
                         Str(d["approver"]), Str(d["ticket"]), Str(d["time"]), Str(d["event_id"]));
    }
    if (a["decisions"].empty()) out += "     never approved or rejected\n";
    for (const Json& d : a["deployments"]) {
      out +=
          fmt::format("     {} to {} at {}% by {} ({}, event {})\n", Str(d["via"]), Str(d["scope"]),
                      Str(d["percent"]), Str(d["actor"]), Str(d["time"]), Str(d["event_id"]));
    }
    if (a["deployments"].empty()) out += "     never deployed\n";
    const Json& env = a["envelope"];
    out += fmt::format(
        "  2. release envelope: template {} (variables {}), model {}, retrieval policy {}, tool "
        "schema {}, safety policy {}\n",
        Str(env["template_sha256"]), Str(env["template_variables"]), Str(env["model"]),
        Str(env["retrieval_policy"]), Str(env["tool_schema"]), Str(env["safety_policy"]));
    const Json& ev = a["evaluation_before_rollout"];
    if (ev.is_null()) {
      out += "  3. evaluation: none passed before rollout\n";
    } else {
      out +=
          fmt::format("  3. evaluation passed before rollout: {} on {}, score {} ({}, event {})\n",
                      Str(ev["suite"]), Str(ev["dataset"]), Str(ev["score"]), Str(ev["time"]),
                      Str(ev["event_id"]));
    }
    for (const Json& rb : a["rollbacks"]) {
      out += fmt::format(
          "     rolled back in {} to {} by {} ({}, event {}): {}; expected consumers {}\n",
          Str(rb["scope"]), Str(rb["to_version"]), Str(rb["initiator"]), Str(rb["time"]),
          Str(rb["event_id"]), Str(rb["reason"]), Str(rb["expected_consumers"]));
    }
    if (a["rollbacks"].empty()) out += "     no rollback followed\n";
    if (r["groups_checked"].empty()) {
      out += "  4. consumer groups: not checked (pass --source and --groups)\n";
    } else {
      out += "  4. consumer groups (committed offsets on the live cluster):\n";
      for (const Json& d : a["deployments"]) {
        out += fmt::format("     {} event {} (partition {} offset {}):{}\n", Str(d["via"]),
                           Str(d["event_id"]), Str(d["partition"]), Str(d["offset"]), Groups(d));
      }
      for (const Json& rb : a["rollbacks"]) {
        out +=
            fmt::format("     rollback event {} (partition {} offset {}):{}\n", Str(rb["event_id"]),
                        Str(rb["partition"]), Str(rb["offset"]), Groups(rb));
      }
    }
    for (const Json& v : a["violations"]) {
      out += fmt::format("  violation {}: {} (event {})\n", Str(v["code"]), Str(v["detail"]),
                         Str(v["event_id"]));
    }
  }
  out += fmt::format("\n5. state hash a new replay must reproduce: {}\n", Str(r["state_hash"]));
  return out;
}

}  // namespace

Result<std::vector<LiveAt>> StateAt(const std::string& path, const std::string& prompt,
                                    TimestampMs at) {
  LIFELINE_ASSIGN_OR_RETURN(auto sandbox, OpenSandbox(path));
  LIFELINE_RETURN_IF_ERROR(RequirePrompt(sandbox.db, path, prompt));
  // Per scope, the last stint (in stream order) that began at or before T.
  LIFELINE_ASSIGN_OR_RETURN(
      auto rows,
      QueryRows(sandbox.db,
                "SELECT h.scope, h.version, h.percent, h.via, h.event_id, h.actor, "
                "a.event_id AS activated_event_id, a.actor AS activated_actor, "
                "a.from_time_ms AS since_ms FROM deployment_history h JOIN deployment_history "
                "a ON a.prompt_id = h.prompt_id AND a.scope = h.scope AND a.seq = "
                "h.activated_seq WHERE h.prompt_id = ?1 AND h.seq = (SELECT max(x.seq) FROM "
                "deployment_history x WHERE x.prompt_id = ?1 AND x.scope = h.scope AND "
                "x.from_time_ms <= ?2) ORDER BY h.scope",
                {prompt, at.value()}));
  std::vector<LiveAt> out;
  for (const Json& r : rows) {
    LiveAt l;
    l.scope = r["scope"];
    l.version = r["version"];
    l.percent = r["percent"].get<int>();
    l.via = r["via"];
    l.event_id = r["event_id"];
    l.actor = r["actor"];
    l.activated_event_id = r["activated_event_id"];
    l.activated_actor = r["activated_actor"];
    l.since_ms = r["since_ms"].get<int64_t>();
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::string> Audit(const AuditOptions& options, bool json) {
  LIFELINE_ASSIGN_OR_RETURN(auto sandbox, OpenSandbox(options.sandbox));
  LIFELINE_ASSIGN_OR_RETURN(auto report, BuildAudit(options, sandbox));
  if (json) return report.dump(2) + "\n";
  return AuditText(report);
}

}  // namespace lifeline::replay
