// verify state: two sandboxes, hash by hash, then row by row where they differ.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/sqlite.h"
#include "replay/replay.h"
#include "verify/verify.h"

namespace lifeline::verify {
namespace {

using Json = nlohmann::ordered_json;

std::string Quote(const std::string& path) {
  std::string out = "'";
  for (char c : path) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Rows of `sql` rendered as JSON objects (bytes that are not UTF-8 replaced).
Result<std::vector<std::string>> RowsAsJson(sqlite::Db& db, const std::string& sql) {
  LIFELINE_ASSIGN_OR_RETURN(auto rows, replay::QueryRows(db, sql));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const Json& row : rows) {
    out.push_back(row.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  return out;
}

}  // namespace

Result<StateReport> VerifyState(const std::string& a, const std::string& b, size_t row_limit) {
  StateReport report;
  report.a = a;
  report.b = b;
  LIFELINE_ASSIGN_OR_RETURN(auto ha, replay::HashSandbox(a, true));
  LIFELINE_ASSIGN_OR_RETURN(auto hb, replay::HashSandbox(b, true));
  report.hash_a = ha.total.Hex();
  report.hash_b = hb.total.Hex();
  report.pass = ha.total == hb.total;
  if (report.pass) return report;

  for (const auto& [prompt, d] : ha.prompts) {
    auto it = hb.prompts.find(prompt);
    if (it == hb.prompts.end() || it->second != d) report.prompts.push_back(prompt);
  }
  for (const auto& [prompt, d] : hb.prompts) {
    if (!ha.prompts.count(prompt)) report.prompts.push_back(prompt);
  }
  std::sort(report.prompts.begin(), report.prompts.end());

  LIFELINE_ASSIGN_OR_RETURN(auto db, sqlite::Db::Open(a, sqlite::Db::Mode::kReadOnly));
  LIFELINE_RETURN_IF_ERROR(db.Exec("ATTACH DATABASE " + Quote(b) + " AS other"));
  const auto& tables = replay::LogicalTables();
  for (size_t i = 0; i < tables.size(); ++i) {
    if (ha.tables[i].digest == hb.tables[i].digest) continue;
    StateReport::Table t;
    t.name = tables[i].name;
    t.rows_a = ha.tables[i].rows;
    t.rows_b = hb.tables[i].rows;
    const std::string diff =
        "SELECT * FROM {0}.{1} EXCEPT SELECT * FROM {2}.{1} ORDER BY {3} LIMIT {4}";
    LIFELINE_ASSIGN_OR_RETURN(
        auto only_a, RowsAsJson(db, fmt::format(fmt::runtime(diff), "main", t.name, "other",
                                                tables[i].order_by, row_limit)));
    LIFELINE_ASSIGN_OR_RETURN(
        auto only_b, RowsAsJson(db, fmt::format(fmt::runtime(diff), "other", t.name, "main",
                                                tables[i].order_by, row_limit)));
    t.only_a = std::move(only_a);
    t.only_b = std::move(only_b);
    report.tables.push_back(std::move(t));
  }
  return report;
}

std::string FormatStateText(const StateReport& r) {
  if (r.pass) {
    return fmt::format("PASS: {} and {} have the same state hash {}\n", r.a, r.b, r.hash_a);
  }
  std::string out =
      fmt::format("FAIL: state hashes differ\n  {}  {}\n  {}  {}\n", r.hash_a, r.a, r.hash_b, r.b);
  out += fmt::format("  differing prompts ({}):", r.prompts.size());
  for (size_t i = 0; i < r.prompts.size() && i < 20; ++i) out += " " + r.prompts[i];
  if (r.prompts.size() > 20) out += " ...";
  out += "\n";
  for (const auto& t : r.tables) {
    out += fmt::format("  table {}: {} rows / {} rows\n", t.name, t.rows_a, t.rows_b);
    const size_t n = std::max(t.only_a.size(), t.only_b.size());
    for (size_t i = 0; i < n; ++i) {
      out += fmt::format("    A: {}\n    B: {}\n", i < t.only_a.size() ? t.only_a[i] : "(none)",
                         i < t.only_b.size() ? t.only_b[i] : "(none)");
    }
  }
  return out;
}

nlohmann::ordered_json StateToJson(const StateReport& r) {
  Json j;
  j["check"] = "state";
  j["pass"] = r.pass;
  j["a"] = {{"path", r.a}, {"state_hash", r.hash_a}};
  j["b"] = {{"path", r.b}, {"state_hash", r.hash_b}};
  j["prompts"] = r.prompts;
  j["tables"] = Json::array();
  for (const auto& t : r.tables) {
    Json x;
    x["table"] = t.name;
    x["rows_a"] = t.rows_a;
    x["rows_b"] = t.rows_b;
    x["only_a"] = Json::array();
    x["only_b"] = Json::array();
    for (const auto& row : t.only_a) x["only_a"].push_back(Json::parse(row));
    for (const auto& row : t.only_b) x["only_b"].push_back(Json::parse(row));
    j["tables"].push_back(std::move(x));
  }
  return j;
}

std::string FormatStateJson(const StateReport& r) { return StateToJson(r).dump(2) + "\n"; }

}  // namespace lifeline::verify
