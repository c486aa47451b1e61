#include "scenarios/drill_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>

#include "core/envelope.h"

namespace lifeline::scenarios {
namespace {

// What an argument holds; each is checked when the file is read, so a drill
// never fails halfway through on an argument it could have refused at once.
enum class Arg {
  kText,           // a non-empty value (reason, model)
  kName,           // a prompt id or scope: non-empty, no control characters
  kVersion,        // 1.0.0: letters, digits, '.', '-', '+', '_'
  kDuration,       // 500ms, 20s, 2m
  kCount,          // a whole number >= 0
  kPositive,       // a whole number >= 1
  kPercent,        // a whole number 0..100
  kBool,           // true or false
  kSide,           // source or target
  kMirror,         // mirror (the background mirror)
  kKind,           // an event kind
  kEvent,          // last, or an event kind
  kUntil,          // caught-up
  kConsumer,       // one declared consumer
  kConsumers,      // a non-empty list of declared consumers
  kRunConsumers,   // a non-empty list of built-in (not external) consumers
  kObservability,  // one built-in observability consumer
  kSandbox,        // a file name in the report folder
  kSandboxPair,    // two of those
};

struct StepSpec {
  std::map<std::string, Arg> required;
  std::map<std::string, Arg> optional;
};

// Every step kind and its arguments ("timeout" is allowed everywhere).
const std::map<std::string, StepSpec>& Specs() {
  static const std::map<std::string, StepSpec> kSpecs = {
      {"deploy",
       {{{"prompt", Arg::kName}, {"version", Arg::kVersion}},
        {{"scope", Arg::kName}, {"percent", Arg::kPercent}, {"model", Arg::kText}}}},
      {"publish",
       {{{"prompt", Arg::kName}, {"version", Arg::kVersion}, {"kind", Arg::kKind}},
        {{"scope", Arg::kName},
         {"percent", Arg::kPercent},
         {"to", Arg::kVersion},
         {"reason", Arg::kText},
         {"passed", Arg::kBool}}}},
      {"rollback",
       {{{"prompt", Arg::kName}, {"to", Arg::kVersion}},
        {{"from", Arg::kVersion}, {"scope", Arg::kName}, {"reason", Arg::kText}}}},
      {"processed",
       {{{"by", Arg::kConsumers}}, {{"event", Arg::kEvent}, {"within", Arg::kDuration}}}},
      {"expect_state",
       {{{"prompt", Arg::kName}, {"active", Arg::kVersion}}, {{"scope", Arg::kName}}}},
      {"expect_lag", {{{"consumer", Arg::kConsumer}, {"max", Arg::kCount}}, {}}},
      {"replay", {{{"into", Arg::kSandbox}}, {{"from", Arg::kSide}}}},
      {"mirror",
       {{}, {{"until", Arg::kUntil}, {"background", Arg::kBool}, {"exactly_once", Arg::kBool}}}},
      {"groups_sync", {{}, {}}},
      {"cutover", {{}, {}}},
      {"failback", {{}, {}}},
      {"verify",
       {{}, {{"records", Arg::kBool}, {"state", Arg::kSandboxPair}, {"groups", Arg::kBool}}}},
      {"fault",
       {{},
        {{"stop", Arg::kRunConsumers},
         {"start", Arg::kRunConsumers},
         {"pause", Arg::kRunConsumers},
         {"resume", Arg::kRunConsumers},
         {"kill", Arg::kMirror},
         {"restart", Arg::kMirror},
         {"stop_broker", Arg::kSide},
         {"start_broker", Arg::kSide}}}},
      {"sleep", {{{"for", Arg::kDuration}}, {}}},
      {"trace",
       {{{"prompt", Arg::kName}, {"version", Arg::kVersion}}, {{"count", Arg::kPositive}}}},
      {"expect_traces",
       {{{"consumer", Arg::kObservability},
         {"prompt", Arg::kName},
         {"version", Arg::kVersion},
         {"count", Arg::kCount}},
        {}}},
  };
  return kSpecs;
}

const std::set<std::string> kKinds = {"release-controller", "audit", "evaluation", "observability"};

// Files the drill itself writes into the report folder: a sandbox must not
// overwrite one of them.
const std::set<std::string> kReportFiles = {"junit.xml",     "summary.md",           "report.html",
                                            "evidence.json", "MANIFEST.sha256",      "drill.log",
                                            "kafka.log",     "mirror-background.log"};

// Whole numbers as YAML spells them: digits only (no sign, no spaces).
std::optional<int64_t> WholeNumber(const std::string& text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return v;
}

bool HasControl(const std::string& s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Names that end up in group ids, topic names and file names.
bool IsSafeName(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

bool IsVersion(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::isalnum(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
                  c == '+';
         });
}

std::string KindNames() {
  std::vector<std::string> names;
  for (int k = 0; k < envelope::kKindCount; ++k) {
    names.emplace_back(envelope::KindName(static_cast<envelope::Kind>(k)));
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

class Parser {
 public:
  explicit Parser(std::string path) : path_(std::move(path)) {}

  Status Error(const YAML::Node& at, const std::string& what) const {
    return Status::Usage(fmt::format("{}:{}: {}", path_, at.Mark().line + 1, what));
  }

  Result<std::string> Scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) return Error(n, what + " must be a single value");
    return n.as<std::string>();
  }

  Result<bool> Bool(const YAML::Node& n, const std::string& what) const {
    auto v = Scalar(n, what);
    if (!v.ok()) return v.status();
    if (*v != "true" && *v != "false") {
      return Error(n, fmt::format("{}: '{}' is not true or false", what, *v));
    }
    return *v == "true";
  }

  Result<DrillFile> Parse(const YAML::Node& root) {
    DrillFile d;
    d.path = path_;
    if (!root.IsMap()) return Error(root, "a drill file is a mapping with name, topic, steps");
    static const std::set<std::string> kTop = {"name",  "description", "clusters",
                                               "topic", "consumers",   "steps"};
    for (const auto& kv : root) {
      auto key = Scalar(kv.first, "a field name");
      if (!key.ok()) return key.status();
      if (!kTop.count(*key)) {
        return Error(kv.first, fmt::format("unknown field '{}' (expected one of name, "
                                           "description, clusters, topic, consumers, steps)",
                                           *key));
      }
    }
    if (!root["name"]) return Error(root, "missing field 'name'");
    auto name = Scalar(root["name"], "name");
    if (!name.ok()) return name.status();
    if (!IsSafeName(*name)) {
      return Error(root["name"], fmt::format("name '{}' names the report folder: use letters, "
                                             "digits, '.', '_' or '-'",
                                             *name));
    }
    d.name = *name;
    if (root["description"]) {
      auto text = Scalar(root["description"], "description");
      if (!text.ok()) return text.status();
      d.description = *text;
    }
    if (const YAML::Node c = root["clusters"]) {
      if (!c.IsMap()) return Error(c, "clusters must be {source: ..., target: ...}");
      for (const auto& kv : c) {
        auto side = Scalar(kv.first, "clusters");
        if (!side.ok()) return side.status();
        if (*side != "source" && *side != "target") {
          return Error(kv.first, "clusters has only source and target");
        }
        auto v = Scalar(kv.second, "clusters." + *side);
        if (!v.ok()) return v.status();
        if (v->empty()) return Error(kv.second, "clusters." + *side + " is empty");
        (*side == "source" ? d.source : d.target) = *v;
      }
    }
    if (const YAML::Node t = root["topic"]) {
      // (A YAML::Node assigned to writes through to the node it refers to:
      // bind, never assign.)
      const YAML::Node name_node = t.IsMap() ? t["name"] : t;
      if (t.IsMap()) {
        for (const auto& kv : t) {
          auto key = Scalar(kv.first, "topic");
          if (!key.ok()) return key.status();
          if (*key != "name" && *key != "partitions") {
            return Error(kv.first, fmt::format("topic has no field '{}' (name, partitions)", *key));
          }
        }
        if (t["partitions"]) {
          auto p = Scalar(t["partitions"], "topic.partitions");
          if (!p.ok()) return p.status();
          const std::optional<int64_t> n = WholeNumber(*p);
          if (!n || *n < 1 || *n > 10000) {
            return Error(t["partitions"],
                         fmt::format("topic.partitions: '{}' is not a whole number 1..10000", *p));
          }
          d.partitions = static_cast<int>(*n);
        }
      } else if (!t.IsScalar()) {
        return Error(t, "topic must be a name or {name: ..., partitions: N}");
      }
      if (name_node) {
        auto topic = Scalar(name_node, "topic.name");
        if (!topic.ok()) return topic.status();
        // The drill writes TOPIC.RUNID and TOPIC.RUNID.traces (Kafka: 249 bytes).
        if (!IsSafeName(*topic) || topic->size() > 200) {
          return Error(name_node, fmt::format("topic name '{}': use up to 200 letters, digits, "
                                              "'.', '_' or '-'",
                                              *topic));
        }
        d.topic = *topic;
      }
    }
    if (const YAML::Node cs = root["consumers"]) {
      if (!cs.IsSequence()) return Error(cs, "consumers must be a list");
      for (const YAML::Node& c : cs) {
        LIFELINE_RETURN_IF_ERROR(ParseConsumer(c, &d));
      }
    }
    const YAML::Node steps = root["steps"];
    if (!steps) return Error(root, "missing field 'steps'");
    if (!steps.IsSequence() || steps.size() == 0) {
      return Error(steps, "steps must be a non-empty list");
    }
    for (const YAML::Node& s : steps) LIFELINE_RETURN_IF_ERROR(ParseStep(s, &d));
    if (!brokers_down_.empty()) {
      const auto& [side, line] = *brokers_down_.begin();
      return Status::Usage(
          fmt::format("{}:{}: the {} broker stopped here is never started "
                      "again; add `- fault: {{start_broker: {}}}`",
                      path_, line, side, side));
    }
    return d;
  }

 private:
  Status ParseConsumer(const YAML::Node& c, DrillFile* d) {
    if (!c.IsMap())
      return Error(c, "a consumer is {name: ..., kind: ...} or {name, group, external: true}");
    DrillConsumer out;
    out.line = c.Mark().line + 1;
    for (const auto& kv : c) {
      auto key = Scalar(kv.first, "a consumer field");
      if (!key.ok()) return key.status();
      const std::string what = "consumer " + *key;
      if (*key == "critical" || *key == "external") {
        auto b = Bool(kv.second, what);
        if (!b.ok()) return b.status();
        (*key == "critical" ? out.critical : out.external) = *b;
        continue;
      }
      auto v = Scalar(kv.second, what);
      if (!v.ok()) return v.status();
      if (*key == "name") {
        // It names the consumer's group (NAME.RUNID) and its archive file.
        if (!IsSafeName(*v)) {
          return Error(kv.second, fmt::format("consumer name '{}': use letters, digits, '.', "
                                              "'_' or '-'",
                                              *v));
        }
        out.name = *v;
      } else if (*key == "kind") {
        out.kind = *v;
      } else if (*key == "group") {
        if (v->empty() || HasControl(*v)) {
          return Error(kv.second, fmt::format("consumer group '{}' is not a group id", *v));
        }
        out.group = *v;
      } else {
        return Error(kv.first, fmt::format("unknown consumer field '{}' (expected name, kind, "
                                           "group, critical, external)",
                                           *key));
      }
    }
    if (out.name.empty()) return Error(c, "a consumer needs a name");
    if (d->consumer(out.name))
      return Error(c, fmt::format("consumer {} is declared twice", out.name));
    if (out.external) {
      if (out.group.empty()) out.group = out.name;
      if (!out.kind.empty()) return Error(c, "an external consumer has a group, not a kind");
    } else if (!kKinds.count(out.kind)) {
      return Error(c, fmt::format("consumer {}: kind '{}' is not one of release-controller, "
                                  "audit, evaluation, observability (or mark it external: true "
                                  "with a group)",
                                  out.name, out.kind));
    } else if (!out.group.empty()) {
      return Error(c, fmt::format("consumer {}: a built-in consumer gets a fresh group per run; "
                                  "`group:` is for external consumers",
                                  out.name));
    }
    d->consumers.push_back(std::move(out));
    return Status::Ok();
  }

  // One argument's value against what it must hold. `at` is its YAML node.
  Status CheckArg(const DrillStep& step, const std::string& key, Arg arg, const YAML::Node& at,
                  const DrillFile& d) const {
    const std::string v = step.get(key);
    const std::string what = fmt::format("{}.{}", step.kind, key);
    const bool list =
        arg == Arg::kConsumers || arg == Arg::kRunConsumers || arg == Arg::kSandboxPair;
    if (!list && at.IsSequence()) return Error(at, what + " must be a single value, not a list");
    auto bad = [&](const std::string& expected) {
      return Error(at, fmt::format("{}: '{}' is not {}", what, v, expected));
    };
    switch (arg) {
      case Arg::kText:
        if (v.empty()) return Error(at, what + " is empty");
        break;
      case Arg::kName:
        if (v.empty() || HasControl(v) || v.front() == ' ' || v.back() == ' ') {
          return bad("a name (non-empty, no control characters or surrounding spaces)");
        }
        break;
      case Arg::kVersion:
        if (!IsVersion(v)) {
          return bad("a version (e.g. 1.0.0: letters, digits, '.', '-', '+', '_', up to 64)");
        }
        break;
      case Arg::kDuration:
        if (!ParseDuration(v)) return bad("a duration (e.g. 500ms, 20s, 2m; at most 1440m)");
        break;
      case Arg::kCount:
        if (!WholeNumber(v)) return bad("a whole number (0, 1, 2, ...)");
        break;
      case Arg::kPositive: {
        const auto n = WholeNumber(v);
        if (!n || *n < 1 || *n > 1000000) return bad("a whole number 1..1000000");
        break;
      }
      case Arg::kPercent: {
        const auto n = WholeNumber(v);
        if (!n || *n > 100) return bad("a percentage (a whole number 0..100)");
        break;
      }
      case Arg::kBool:
        if (v != "true" && v != "false") return bad("true or false");
        break;
      case Arg::kSide:
        if (v != "source" && v != "target") return bad("source or target");
        break;
      case Arg::kMirror:
        if (v != "mirror")
          return bad("`mirror` (only the background mirror can be " +
                     std::string(key == "kill" ? "killed" : "restarted") + ")");
        break;
      case Arg::kKind:
        if (!envelope::KindFromName(v)) return bad("an event kind (" + KindNames() + ")");
        break;
      case Arg::kEvent:
        if (v != "last" && !envelope::KindFromName(v)) {
          return bad("`last` or an event kind (the latest event of that kind: " + KindNames() +
                     ")");
        }
        break;
      case Arg::kUntil:
        if (v != "caught-up") return bad("`caught-up`");
        break;
      case Arg::kConsumer:
      case Arg::kObservability:
      case Arg::kConsumers:
      case Arg::kRunConsumers: {
        const std::vector<std::string> names = step.list(key);
        if (names.empty()) return Error(at, what + " names no consumer");
        if ((arg == Arg::kConsumer || arg == Arg::kObservability) && names.size() != 1) {
          return Error(at, fmt::format("{} names one consumer, not '{}'", what, v));
        }
        for (const std::string& name : names) {
          const DrillConsumer* c = d.consumer(name);
          if (!c) {
            return Error(at, fmt::format("step {}: unknown consumer '{}' (declare it under "
                                         "consumers)",
                                         step.kind, name));
          }
          if ((arg == Arg::kRunConsumers || arg == Arg::kObservability) && c->external) {
            return Error(at, fmt::format("{}: {} is external: lifeline only inspects its group",
                                         what, name));
          }
          if (arg == Arg::kObservability && c->kind != "observability") {
            return Error(at, fmt::format("{}: {} is a {} consumer; traces are joined by an "
                                         "observability consumer",
                                         what, name, c->kind));
          }
        }
        break;
      }
      case Arg::kSandbox:
      case Arg::kSandboxPair: {
        const std::vector<std::string> files = step.list(key);
        if (arg == Arg::kSandboxPair && files.size() != 2) {
          return Error(
              at, fmt::format("{} takes two sandbox files, e.g. [source.db, target.db]", what));
        }
        if (arg == Arg::kSandbox && (files.size() != 1 || v.find(',') != std::string::npos)) {
          return Error(at, what + " takes one file name");
        }
        for (const std::string& f : files) {
          if (!IsSafeName(f) || kReportFiles.count(f) || f.rfind("audit-", 0) == 0) {
            return Error(at, fmt::format("{}: '{}' is not a sandbox file name in the report folder "
                                         "(letters, digits, '.', '_', '-'; not a report file or "
                                         "an audit-*.db archive)",
                                         what, f));
          }
          if (arg == Arg::kSandboxPair && !replayed_.count(f)) {
            return Error(at, fmt::format("{}: no earlier replay step writes {} (add `- replay: "
                                         "{{into: {}}}` before it)",
                                         what, f, f));
          }
        }
        break;
      }
    }
    return Status::Ok();
  }

  // Arguments that only make sense together.
  Status CheckStep(const DrillStep& step, const YAML::Node& at) const {
    if (step.kind == "publish") {
      const envelope::Kind kind = *envelope::KindFromName(step.get("kind"));
      const bool rollout =
          kind == envelope::Kind::kDeployed || kind == envelope::Kind::kRolloutChanged;
      const bool rollback = kind == envelope::Kind::kRolledBack;
      auto only = [&](const char* key, bool applies, const char* kinds) -> Status {
        if (step.args.count(key) && !applies) {
          return Error(at, fmt::format("publish.{} applies to {} events, not {}", key, kinds,
                                       step.get("kind")));
        }
        return Status::Ok();
      };
      LIFELINE_RETURN_IF_ERROR(only("percent", rollout, "deployed and rollout_changed"));
      LIFELINE_RETURN_IF_ERROR(
          only("scope", rollout || rollback, "deployed, rollout_changed and rolled_back"));
      LIFELINE_RETURN_IF_ERROR(only("to", rollback, "rolled_back"));
      LIFELINE_RETURN_IF_ERROR(only("reason", rollback, "rolled_back"));
      LIFELINE_RETURN_IF_ERROR(only("passed", kind == envelope::Kind::kEvaluated, "evaluated"));
      if (rollback && !step.args.count("to")) {
        return Error(at, "publish of a rolled_back event needs 'to' (the version rolled back to)");
      }
      if (rollback && step.get("to") == step.get("version")) {
        return Error(at, fmt::format("publish: rolls {} back to itself", step.get("version")));
      }
    }
    if (step.kind == "rollback" && step.get("from") == step.get("to")) {
      return Error(at, fmt::format("rollback: from and to are both {}", step.get("to")));
    }
    if (step.kind == "verify" && step.get("records") != "true" && step.get("groups") != "true" &&
        !step.args.count("state")) {
      return Error(at,
                   "verify checks nothing: give records: true, groups: true or state: "
                   "[a.db, b.db]");
    }
    if (step.kind == "fault" && step.args.empty()) {
      return Error(at,
                   "fault does nothing: give stop, start, pause, resume, kill, restart, "
                   "stop_broker or start_broker");
    }
    if (step.kind == "fault" && step.args.count("stop_broker") && step.args.count("start_broker")) {
      return Error(at,
                   "fault: stop_broker and start_broker in one step; give them their own "
                   "steps");
    }
    return Status::Ok();
  }

  // A broker is started only after this drill stopped it, and a stopped one
  // is started again: what the outage kept is checked at the start.
  Status CheckBrokers(const DrillStep& step, const YAML::Node& at) {
    if (const std::string side = step.get("stop_broker"); !side.empty()) {
      if (brokers_down_.count(side)) {
        return Error(at, fmt::format("fault.stop_broker: the {} broker is already stopped (line "
                                     "{})",
                                     side, brokers_down_[side]));
      }
      brokers_down_[side] = step.line;
    }
    if (const std::string side = step.get("start_broker"); !side.empty()) {
      if (!brokers_down_.erase(side)) {
        return Error(at, fmt::format("fault.start_broker: no earlier step stops the {} broker "
                                     "(`- fault: {{stop_broker: {}}}`)",
                                     side, side));
      }
    }
    return Status::Ok();
  }

  Status ParseStep(const YAML::Node& s, DrillFile* d) {
    if (!s.IsMap() || s.size() != 1) {
      return Error(s, "a step is one mapping, e.g. `- deploy: {prompt: p, version: 1.0.0}`");
    }
    DrillStep step;
    step.line = s.Mark().line + 1;
    const auto kv = *s.begin();
    auto kind = Scalar(kv.first, "a step");
    if (!kind.ok()) return kind.status();
    step.kind = *kind;
    auto spec = Specs().find(step.kind);
    if (spec == Specs().end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : Specs()) names.push_back(k);
      return Error(kv.first,
                   fmt::format("unknown step '{}' (steps: {})", step.kind, fmt::join(names, ", ")));
    }
    const YAML::Node body = kv.second;
    std::map<std::string, YAML::Node> nodes;  // where each argument is, for errors
    if (step.kind == "sleep" && body.IsScalar()) {
      step.args["for"] = body.as<std::string>();
      nodes.emplace("for", body);
    } else if (body.IsMap()) {
      for (const auto& arg : body) {
        auto key = Scalar(arg.first, fmt::format("an argument of {}", step.kind));
        if (!key.ok()) return key.status();
        if (*key != "timeout" && !spec->second.required.count(*key) &&
            !spec->second.optional.count(*key)) {
          return Error(arg.first, fmt::format("step {} has no argument '{}'", step.kind, *key));
        }
        if (arg.second.IsSequence()) {
          std::vector<std::string> items;
          for (const YAML::Node& item : arg.second) {
            auto v = Scalar(item, fmt::format("an item of {}.{}", step.kind, *key));
            if (!v.ok()) return v.status();
            if (v->find(',') != std::string::npos) {
              return Error(item, fmt::format("{}.{}: '{}' holds a comma", step.kind, *key, *v));
            }
            items.push_back(*v);
          }
          step.args[*key] = fmt::format("{}", fmt::join(items, ","));
        } else if (arg.second.IsScalar()) {
          step.args[*key] = arg.second.as<std::string>();
        } else if (arg.second.IsNull()) {
          return Error(arg.second, fmt::format("{}.{} has no value", step.kind, *key));
        } else {
          return Error(arg.second, fmt::format("{}.{} must be a value or a list", step.kind, *key));
        }
        nodes.emplace(*key, arg.second);
      }
    } else if (!body.IsNull()) {
      return Error(body, fmt::format("step {} takes a mapping of arguments", step.kind));
    }
    for (const auto& [r, type] : spec->second.required) {
      if (!step.args.count(r)) {
        return Error(s, fmt::format("step {} needs '{}'", step.kind, r));
      }
    }
    for (const auto& [key, value] : step.args) {
      const auto& spec_args = spec->second;
      const Arg arg = key == "timeout"                ? Arg::kDuration
                      : spec_args.required.count(key) ? spec_args.required.at(key)
                                                      : spec_args.optional.at(key);
      LIFELINE_RETURN_IF_ERROR(CheckArg(step, key, arg, nodes.at(key), *d));
    }
    LIFELINE_RETURN_IF_ERROR(CheckStep(step, s));
    LIFELINE_RETURN_IF_ERROR(CheckBrokers(step, s));
    if (step.args.count("timeout")) step.timeout = *ParseDuration(step.get("timeout"));
    if (step.kind == "replay") replayed_.insert(step.get("into"));
    d->steps.push_back(std::move(step));
    return Status::Ok();
  }

  std::string path_;
  std::set<std::string> replayed_;           // sandbox files earlier replay steps write
  std::map<std::string, int> brokers_down_;  // side -> line of its stop_broker
};

}  // namespace

std::vector<std::string> DrillStep::list(const std::string& key) const {
  std::vector<std::string> out;
  auto it = args.find(key);
  if (it == args.end()) return out;
  size_t start = 0;
  const std::string& v = it->second;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string DrillStep::get(const std::string& key, const std::string& fallback) const {
  auto it = args.find(key);
  return it == args.end() ? fallback : it->second;
}

const DrillConsumer* DrillFile::consumer(const std::string& name) const {
  for (const DrillConsumer& c : consumers) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  // DIGITS[.DIGITS]UNIT, nothing else ("1.2.3s" and "5 s" are typos, not 1.2 s).
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    const size_t dot = i++;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == dot + 1) return std::nullopt;
  }
  const std::string unit = text.substr(i);
  const double scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 0;
  if (scale == 0) return std::nullopt;
  const double ms = std::strtod(text.substr(0, i).c_str(), nullptr) * scale;
  if (!(ms <= static_cast<double>(kMaxDuration.count()))) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Result<DrillFile> LoadDrill(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::Usage(fmt::format("{}: cannot read the drill file", path));
  } catch (const YAML::Exception& e) {
    return Status::Usage(fmt::format("{}:{}: not valid YAML: {}", path, e.mark.line + 1, e.msg));
  }
  try {
    return Parser(path).Parse(root);
  } catch (const YAML::Exception& e) {
    // A shape the checks above did not foresee (yaml-cpp throws on a bad
    // conversion): still a usage error at the line, never an abort.
    return Status::Usage(fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
}

}  // namespace lifeline::scenarios
