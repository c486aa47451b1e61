#include "reports/reports.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace lifeline::reports {
namespace {

using Json = nlohmann::ordered_json;

std::string Xml(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Md(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += "<br>";
    } else {
      out += c;
    }
  }
  return out;
}

const char* Verdict(const StepResult& s) {
  return s.skipped ? "skipped" : !s.passed ? "FAILED" : s.warning ? "passed (warning)" : "passed";
}

Json ParseOr(const std::string& text) {
  if (text.empty()) return Json::object();
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Status::Infra("cannot write " + path);
  return Status::Ok();
}

Result<std::string> Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Infra("cannot read " + path);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &n);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// A failed step for a CI page: the message, the step, and its evidence
// (or that it has none).
std::string FailureText(const StepResult& s) {
  std::string out = fmt::format("{}\n\nstep {:02d} {} ({}), {:.2f} s\n",
                                s.message.empty() ? "(no message)" : s.message, s.index, s.title,
                                s.kind, s.seconds);
  const Json evidence = ParseOr(s.evidence);
  if (evidence.empty()) {
    out += "evidence: none recorded before the step failed\n";
  } else {
    out += "evidence:\n" + evidence.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  }
  return out;
}

// Which matrix an acknowledgement belongs in.
enum class AckTable { kRollback, kDeploy, kOther };
AckTable TableOf(const Ack& a) {
  if (a.event_kind == "rolled_back") return AckTable::kRollback;
  if (a.event_kind == "deployed" || a.event_kind == "rollout_changed") return AckTable::kDeploy;
  return AckTable::kOther;
}
std::vector<const Ack*> AcksIn(const DrillReport& r, AckTable table) {
  std::vector<const Ack*> out;
  for (const Ack& a : r.acks) {
    if (TableOf(a) == table) out.push_back(&a);
  }
  return out;
}
struct AckSection {
  AckTable table;
  const char* title;
  const char* id;     // the HTML table's id
  const char* empty;  // said when the table would be empty ("" : left out)
};
constexpr AckSection kAckSections[] = {
    {AckTable::kRollback, "Rollback acknowledgement matrix", "acks",
     "No `processed` step checked a rollback event."},
    {AckTable::kDeploy, "Deploy acknowledgements", "deploy-acks", ""},
    {AckTable::kOther, "Other acknowledgements", "other-acks", ""},
};

// The timeline: each group's committed position over time, and the drill's
// steps as marks, as one inline SVG.
std::string TimelineSvg(const DrillReport& r) {
  const double width = 900, height = 260, left = 50, right = 160, top = 20, bottom = 30;
  double t_max = std::max(r.seconds, 1.0);
  int64_t y_max = 1;
  std::map<std::string, std::vector<const Sample*>> by_group;
  for (const Sample& s : r.samples) {
    by_group[s.group].push_back(&s);
    y_max = std::max(y_max, s.committed);
  }
  auto x = [&](double t) { return left + (width - left - right) * t / t_max; };
  auto y = [&](int64_t v) {
    return top + (height - top - bottom) * (1.0 - static_cast<double>(v) / y_max);
  };
  static const char* kColors[] = {"#1b6ca8", "#c0392b", "#27ae60", "#8e44ad",
                                  "#d68910", "#16a085", "#7f8c8d"};
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\" width=\"{}\" height=\"{}\" "
      "role=\"img\" aria-label=\"committed offsets over time\">\n",
      width, height);
  svg += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#999\"/>"
      "<line x1=\"{0}\" y1=\"{3}\" x2=\"{0}\" y2=\"{1}\" stroke=\"#999\"/>\n"
      "<text x=\"{0}\" y=\"{4}\" font-size=\"11\">0 s</text>"
      "<text x=\"{2}\" y=\"{4}\" font-size=\"11\" text-anchor=\"end\">{5:.1f} s</text>"
      "<text x=\"4\" y=\"{3}\" font-size=\"11\">{6}</text>\n",
      left, height - bottom, width - right, top, height - 8, t_max, y_max);
  for (const Mark& m : r.marks) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" font-size=\"9\" transform=\"rotate(-30 {0:.1f} {3})\">{4}"
        "</text>\n",
        x(m.t), top, height - bottom, top + 10, Xml(m.label));
  }
  int i = 0;
  for (const auto& [group, samples] : by_group) {
    const char* color = kColors[i % 7];
    std::string points;
    for (const Sample* s : samples)
      points += fmt::format("{:.1f},{:.1f} ", x(s->t), y(s->committed));
    svg += fmt::format(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>"
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>\n",
        color, points, width - right + 6, top + 14 * (i + 1), color, Xml(group));
    ++i;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace

std::string JUnitXml(const DrillReport& r) {
  int failures = 0, skipped = 0;
  for (const StepResult& s : r.steps) {
    if (s.skipped) {
      ++skipped;
    } else if (!s.passed) {
      ++failures;
    }
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"lifeline drill\" tests=\"{0}\" failures=\"{1}\" skipped=\"{2}\" "
      "time=\"{3:.3f}\">\n  <testsuite name=\"{4}\" tests=\"{0}\" failures=\"{1}\" "
      "skipped=\"{2}\" errors=\"0\" time=\"{3:.3f}\" timestamp=\"{5}\">\n",
      r.steps.size(), failures, skipped, r.seconds, Xml(r.name), Xml(r.started_at));
  for (const StepResult& s : r.steps) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{:02d} {}\" time=\"{:.3f}\">\n",
                       Xml(r.name), s.index, Xml(s.title), s.seconds);
    if (s.skipped) {
      out += fmt::format("      <skipped message=\"{}\"/>\n", Xml(s.message));
    } else if (!s.passed) {
      // The body is what a CI page shows: why it failed, then the facts.
      out += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", Xml(s.message),
                         Xml(s.kind), Xml(FailureText(s)));
    }
    if (!s.message.empty() && s.passed) {
      out += fmt::format("      <system-out>{}</system-out>\n", Xml(s.message));
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string SummaryMarkdown(const DrillReport& r) {
  std::string out = fmt::format("# Drill {}: {}\n\n", r.name, r.pass ? "PASS" : "FAIL");
  if (!r.description.empty()) out += r.description + "\n\n";
  out += fmt::format("Started {}, {:.1f} s, lifeline {} (librdkafka {}), topic `{}`.\n\n",
                     r.started_at, r.seconds, r.lifeline_version, r.librdkafka_version, r.topic);
  out += "## Steps\n\n| # | step | result | time | detail |\n|---|---|---|---|---|\n";
  for (const StepResult& s : r.steps) {
    out += fmt::format("| {} | {} | {} | {:.2f} s | {} |\n", s.index, Md(s.title), Verdict(s),
                       s.seconds, Md(s.message));
  }
  for (const AckSection& section : kAckSections) {
    if (r.acks.empty()) break;
    const std::vector<const Ack*> acks = AcksIn(r, section.table);
    if (acks.empty() && !*section.empty) continue;
    out += fmt::format("\n## {}\n\n", section.title);
    if (acks.empty()) {
      out += std::string(section.empty) + "\n";
      continue;
    }
    out +=
        "From committed offsets: processed means the group's committed offset is past the "
        "event's offset.\n\n"
        "| consumer | group | event | partition/offset | committed | processed | lag |\n"
        "|---|---|---|---|---|---|---|\n";
    for (const Ack* a : acks) {
      out += fmt::format("| {}{} | {} | {} | {}/{} | {} | {} | {} |\n", Md(a->consumer),
                         a->critical   ? " (critical)"
                         : a->external ? " (external)"
                                       : "",
                         Md(a->group), Md(a->event_label), a->partition, a->offset, a->committed,
                         a->processed ? "yes" : "**no**", a->lag);
    }
  }
  if (!r.scores.empty()) {
    int total = 0;
    for (const Score& s : r.scores) total += s.score;
    out += fmt::format(
        "\n## Readiness scorecard ({} / {})\n\n| item | score | evidence |\n"
        "|---|---|---|\n",
        total, 2 * r.scores.size());
    for (const Score& s : r.scores) {
      out += fmt::format("| {} | {} | {} |\n", Md(s.item), s.score, Md(s.evidence));
    }
  }
  if (!r.hashes.empty()) {
    out += "\n## Hashes\n\n";
    for (const auto& [what, h] : r.hashes) out += fmt::format("- {}: `{}`\n", what, h);
  }
  return out;
}

std::string ReportHtml(const DrillReport& r) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lifeline drill "
      "{0}</title>\n<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}"
      "table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px "
      "8px;text-align:left;font-size:13px}}.pass{{color:#1e7e34}}.fail{{color:#b02a37}}"
      ".warn{{color:#a66a00}}#verdict{{font-size:2em}}</style></head><body>\n"
      "<h1>Drill {0}</h1>\n<p id=\"verdict\" class=\"{1}\">{2}</p>\n<p>{3}</p>\n"
      "<p>Started {4}, {5:.1f} s; lifeline {6}, librdkafka {7}; topic <code>{8}</code>.</p>\n",
      Xml(r.name), r.pass ? "pass" : "fail", r.pass ? "PASS" : "FAIL", Xml(r.description),
      Xml(r.started_at), r.seconds, Xml(r.lifeline_version), Xml(r.librdkafka_version),
      Xml(r.topic));
  out += "<h2>Timeline</h2>\n" + TimelineSvg(r);
  out +=
      "<h2>Steps</h2>\n<table id=\"steps\"><tr><th>#</th><th>step</th><th>result</th><th>time"
      "</th><th>detail</th></tr>\n";
  for (const StepResult& s : r.steps) {
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{:.2f} s</td><td>{}"
        "</td></tr>\n",
        s.index, Xml(s.title),
        !s.passed   ? "fail"
        : s.warning ? "warn"
                    : "pass",
        Verdict(s), s.seconds, Xml(s.message));
  }
  out += "</table>\n";
  for (const AckSection& section : kAckSections) {
    const std::vector<const Ack*> acks = AcksIn(r, section.table);
    if (acks.empty() && section.table != AckTable::kRollback) continue;
    out += fmt::format(
        "<h2>{}</h2>\n<table id=\"{}\"><tr><th>consumer</th><th>group</th><th>event</th>"
        "<th>partition/offset</th><th>committed</th><th>processed</th><th>lag</th></tr>\n",
        section.title, section.id);
    for (const Ack* a : acks) {
      out += fmt::format(
          "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td "
          "class=\"{}\">{}</td><td>{}</td></tr>\n",
          Xml(a->consumer),
          a->critical   ? " (critical)"
          : a->external ? " (external)"
                        : "",
          Xml(a->group), Xml(a->event_label), a->partition, a->offset, a->committed,
          a->processed ? "pass" : "fail", a->processed ? "yes" : "no", a->lag);
    }
    out += "</table>\n";
  }
  out += "<h2>Verify and hashes</h2>\n<ul id=\"hashes\">\n";
  for (const auto& [what, h] : r.hashes) {
    out += fmt::format("<li>{}: <code>{}</code></li>\n", Xml(what), Xml(h));
  }
  out +=
      "</ul>\n<h2>Readiness scorecard</h2>\n<table id=\"scorecard\"><tr><th>item</th><th>score"
      "</th><th>evidence</th></tr>\n";
  for (const Score& s : r.scores) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", Xml(s.item), s.score,
                       Xml(s.evidence));
  }
  out += "</table>\n</body></html>\n";
  return out;
}

std::string EvidenceJson(const DrillReport& r) {
  Json j;
  j["drill"] = r.name;
  j["file"] = r.file;
  j["pass"] = r.pass;
  j["started_at"] = r.started_at;
  j["seconds"] = r.seconds;
  j["versions"] = {{"lifeline", r.lifeline_version}, {"librdkafka", r.librdkafka_version}};
  j["clusters"] = r.clusters;
  j["topic"] = {{"name", r.topic}, {"configs", r.topic_configs}};
  j["steps"] = Json::array();
  for (const StepResult& s : r.steps) {
    j["steps"].push_back({{"index", s.index},
                          {"kind", s.kind},
                          {"title", s.title},
                          {"result", Verdict(s)},
                          {"message", s.message},
                          {"started", s.started},
                          {"seconds", s.seconds},
                          {"evidence", ParseOr(s.evidence)}});
  }
  j["acknowledgements"] = Json::array();
  for (const Ack& a : r.acks) {
    j["acknowledgements"].push_back({{"consumer", a.consumer},
                                     {"group", a.group},
                                     {"critical", a.critical},
                                     {"external", a.external},
                                     {"event", a.event_label},
                                     {"event_id", a.event_id},
                                     {"event_kind", a.event_kind},
                                     {"partition", a.partition},
                                     {"offset", a.offset},
                                     {"committed", a.committed},
                                     {"processed", a.processed},
                                     {"lag", a.lag}});
  }
  j["scorecard"] = Json::array();
  for (const Score& s : r.scores) {
    j["scorecard"].push_back({{"item", s.item}, {"score", s.score}, {"evidence", s.evidence}});
  }
  j["hashes"] = r.hashes;
  j["facts"] = ParseOr(r.extra_evidence);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<Written> WriteReports(const DrillReport& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Infra(fmt::format("report directory {}: {}", dir, ec.message()));
  Written w;
  w.dir = dir;
  const std::vector<std::pair<std::string, std::string>> files = {
      {"junit.xml", JUnitXml(report)},
      {"summary.md", SummaryMarkdown(report)},
      {"report.html", ReportHtml(report)},
      {"evidence.json", EvidenceJson(report)},
  };
  for (const auto& [name, content] : files) {
    LIFELINE_RETURN_IF_ERROR(WriteFile(fmt::format("{}/{}", dir, name), content));
    w.files.push_back(name);
  }
  return w;
}

Result<Written> WriteManifest(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> names;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string name = it->path().lexically_relative(dir).generic_string();
    if (name == "MANIFEST.sha256") continue;
    // sha256sum escapes such names; lifeline never makes them.
    if (name.find_first_of("\\\n\r") != std::string::npos) {
      return Status::Infra(
          fmt::format("{}/{}: a file name sha256sum -c cannot read back", dir, name));
    }
    names.push_back(name);
  }
  if (ec) return Status::Infra(fmt::format("listing {}: {}", dir, ec.message()));
  std::sort(names.begin(), names.end());
  Written w;
  w.dir = dir;
  std::string manifest;
  for (const std::string& name : names) {
    LIFELINE_ASSIGN_OR_RETURN(auto sha, Sha256File(fmt::format("{}/{}", dir, name)));
    manifest += fmt::format("{}  {}\n", sha, name);  // sha256sum's text format
    w.files.push_back(name);
  }
  LIFELINE_RETURN_IF_ERROR(WriteFile(dir + "/MANIFEST.sha256", manifest));
  w.files.emplace_back("MANIFEST.sha256");
  return w;
}

Result<Written> WriteAll(const DrillReport& report, const std::string& dir) {
  LIFELINE_ASSIGN_OR_RETURN(auto reports, WriteReports(report, dir));
  return WriteManifest(dir);
}

}  // namespace lifeline::reports
