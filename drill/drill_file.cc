#include "drill/internal/drill_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>

#include "core/envelope.h"

namespace lifeline::drill {
namespace {

const std::set<std::string> kKinds = {"release-controller", "audit", "evaluation", "observability"};

// Files the drill itself writes into the report folder: a sandbox must not
// overwrite one of them.
const std::set<std::string> kReportFiles = {"junit.xml",     "summary.md",           "report.html",
                                            "evidence.json", "MANIFEST.sha256",      "drill.log",
                                            "kafka.log",     "mirror-background.log"};

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
  names.reserve(envelope::kKindCount);
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
    static const std::set<std::string> kTop = {"name",       "description", "clusters", "topic",
                                               "principals", "consumers",   "steps"};
    for (const auto& kv : root) {
      LIFELINE_ASSIGN_OR_RETURN(auto key, Scalar(kv.first, "a field name"));
      if (!kTop.count(key)) {
        return Error(kv.first, fmt::format("unknown field '{}' (expected one of name, "
                                           "description, clusters, topic, principals, "
                                           "consumers, steps)",
                                           key));
      }
    }
    if (!root["name"]) return Error(root, "missing field 'name'");
    LIFELINE_ASSIGN_OR_RETURN(auto name, Scalar(root["name"], "name"));
    if (!IsSafeName(name)) {
      return Error(root["name"], fmt::format("name '{}' names the report folder: use letters, "
                                             "digits, '.', '_' or '-'",
                                             name));
    }
    d.name = name;
    if (root["description"]) {
      LIFELINE_ASSIGN_OR_RETURN(auto text, Scalar(root["description"], "description"));
      d.description = text;
    }
    if (const YAML::Node c = root["clusters"]) {
      if (!c.IsMap()) return Error(c, "clusters must be {source: ..., target: ...}");
      for (const auto& kv : c) {
        LIFELINE_ASSIGN_OR_RETURN(auto side, Scalar(kv.first, "clusters"));
        if (side != "source" && side != "target") {
          return Error(kv.first, "clusters has only source and target");
        }
        LIFELINE_ASSIGN_OR_RETURN(auto v, Scalar(kv.second, "clusters." + side));
        if (v.empty()) return Error(kv.second, "clusters." + side + " is empty");
        (side == "source" ? d.source : d.target) = v;
      }
    }
    if (const YAML::Node t = root["topic"]) {
      // (A YAML::Node assigned to writes through to the node it refers to:
      // bind, never assign.)
      const YAML::Node name_node = t.IsMap() ? t["name"] : t;
      if (t.IsMap()) {
        for (const auto& kv : t) {
          LIFELINE_ASSIGN_OR_RETURN(auto key, Scalar(kv.first, "topic"));
          if (key != "name" && key != "partitions") {
            return Error(kv.first, fmt::format("topic has no field '{}' (name, partitions)", key));
          }
        }
        if (t["partitions"]) {
          LIFELINE_ASSIGN_OR_RETURN(auto p, Scalar(t["partitions"], "topic.partitions"));
          const std::optional<int64_t> n = WholeNumber(p);
          if (!n || *n < 1 || *n > 10000) {
            return Error(t["partitions"],
                         fmt::format("topic.partitions: '{}' is not a whole number 1..10000", p));
          }
          d.partitions = static_cast<int>(*n);
        }
      } else if (!t.IsScalar()) {
        return Error(t, "topic must be a name or {name: ..., partitions: N}");
      }
      if (name_node) {
        LIFELINE_ASSIGN_OR_RETURN(auto topic, Scalar(name_node, "topic.name"));
        // The drill writes TOPIC.RUNID and TOPIC.RUNID.traces (Kafka: 249 bytes).
        if (!IsSafeName(topic) || topic.size() > 200) {
          return Error(name_node, fmt::format("topic name '{}': use up to 200 letters, digits, "
                                              "'.', '_' or '-'",
                                              topic));
        }
        d.topic = topic;
      }
    }
    if (const YAML::Node ps = root["principals"]) {
      if (!ps.IsMap()) return Error(ps, "principals must be {NAME: client-properties-file, ...}");
      for (const auto& kv : ps) {
        LIFELINE_ASSIGN_OR_RETURN(auto name, Scalar(kv.first, "a principal"));
        if (!IsSafeName(name)) {
          return Error(kv.first, fmt::format("principal '{}': use letters, digits, '.', '_' or "
                                             "'-'",
                                             name));
        }
        LIFELINE_ASSIGN_OR_RETURN(auto file, Scalar(kv.second, "principals." + name));
        if (file.empty()) {
          return Error(kv.second, fmt::format("principals.{}: give the client property file "
                                              "that authenticates as it",
                                              name));
        }
        d.principals[name] = file;
      }
    }
    if (const YAML::Node cs = root["consumers"]) {
      if (!cs.IsSequence()) return Error(cs, "consumers must be a list");
      for (const YAML::Node& c : cs) {
        LIFELINE_RETURN_IF_ERROR(ParseConsumer(c, &d));
      }
    }
    for (const DrillConsumer& c : d.consumers) {
      state_.principal_of_consumer.push_back(c.principal);
      auto& seen = state_.consumer_principals;
      if (!c.principal.empty() && std::find(seen.begin(), seen.end(), c.principal) == seen.end()) {
        seen.push_back(c.principal);
      }
    }
    const YAML::Node steps = root["steps"];
    if (!steps) return Error(root, "missing field 'steps'");
    if (!steps.IsSequence() || steps.size() == 0) {
      return Error(steps, "steps must be a non-empty list");
    }
    for (const YAML::Node& s : steps) LIFELINE_RETURN_IF_ERROR(ParseStep(s, &d));
    if (!state_.brokers_down.empty()) {
      const auto& [side, line] = *state_.brokers_down.begin();
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
      LIFELINE_ASSIGN_OR_RETURN(auto key, Scalar(kv.first, "a consumer field"));
      const std::string what = "consumer " + key;
      if (key == "critical" || key == "external") {
        LIFELINE_ASSIGN_OR_RETURN(auto b, Bool(kv.second, what));
        (key == "critical" ? out.critical : out.external) = b;
        continue;
      }
      LIFELINE_ASSIGN_OR_RETURN(auto v, Scalar(kv.second, what));
      if (key == "name") {
        // It names the consumer's group (NAME.RUNID) and its archive file.
        if (!IsSafeName(v)) {
          return Error(kv.second, fmt::format("consumer name '{}': use letters, digits, '.', "
                                              "'_' or '-'",
                                              v));
        }
        out.name = v;
      } else if (key == "kind") {
        out.kind = v;
      } else if (key == "principal") {
        if (!d->principals.count(v)) {
          return Error(kv.second, fmt::format("consumer principal '{}' is not declared under "
                                              "principals",
                                              v));
        }
        out.principal = v;
      } else if (key == "group") {
        if (v.empty() || HasControl(v)) {
          return Error(kv.second, fmt::format("consumer group '{}' is not a group id", v));
        }
        out.group = v;
      } else {
        return Error(kv.first, fmt::format("unknown consumer field '{}' (expected name, kind, "
                                           "group, principal, critical, external)",
                                           key));
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
  Status CheckArg(const StepKind& kind, const std::map<std::string, std::string>& written,
                  const std::string& key, Arg arg, const YAML::Node& at, const DrillFile& d) const {
    const std::string& v = written.at(key);
    const std::string what = fmt::format("{}.{}", kind.name, key);
    const bool list = arg == Arg::kConsumers || arg == Arg::kRunConsumers ||
                      arg == Arg::kSandboxPair || arg == Arg::kPrincipals;
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
        const std::vector<std::string> names = SplitList(v);
        if (names.empty()) return Error(at, what + " names no consumer");
        if ((arg == Arg::kConsumer || arg == Arg::kObservability) && names.size() != 1) {
          return Error(at, fmt::format("{} names one consumer, not '{}'", what, v));
        }
        for (const std::string& name : names) {
          const DrillConsumer* c = d.consumer(name);
          if (!c) {
            return Error(at, fmt::format("step {}: unknown consumer '{}' (declare it under "
                                         "consumers)",
                                         kind.name, name));
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
      case Arg::kPrincipal:
      case Arg::kPrincipals: {
        const std::vector<std::string> names = SplitList(v);
        if (names.empty()) return Error(at, what + " names no principal");
        if (arg == Arg::kPrincipal && names.size() != 1) {
          return Error(at, fmt::format("{} names one principal, not '{}'", what, v));
        }
        for (const std::string& name : names) {
          if (!d.principals.count(name)) {
            return Error(at, fmt::format("{}: unknown principal '{}' (declare it under "
                                         "principals with its client property file)",
                                         what, name));
          }
        }
        break;
      }
      case Arg::kSandbox:
      case Arg::kSandboxPair: {
        const std::vector<std::string> files = SplitList(v);
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
          if (arg == Arg::kSandboxPair && !state_.replayed.count(f)) {
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

  Status ParseStep(const YAML::Node& s, DrillFile* d) {
    if (!s.IsMap() || s.size() != 1) {
      return Error(s, "a step is one mapping, e.g. `- deploy: {prompt: p, version: 1.0.0}`");
    }
    DrillStep step;
    step.line = s.Mark().line + 1;
    const auto kv = *s.begin();
    LIFELINE_ASSIGN_OR_RETURN(auto name, Scalar(kv.first, "a step"));
    step.kind = FindStepKind(name);
    if (!step.kind) {
      std::vector<std::string> names;
      for (const StepKind& k : StepKinds()) names.emplace_back(k.name);
      std::sort(names.begin(), names.end());
      return Error(kv.first,
                   fmt::format("unknown step '{}' (steps: {})", name, fmt::join(names, ", ")));
    }
    const StepKind& kind = *step.kind;
    const YAML::Node body = kv.second;
    std::map<std::string, YAML::Node> nodes;  // where each argument is, for errors
    if (kind.scalar_arg && body.IsScalar()) {
      step.written[kind.scalar_arg] = body.as<std::string>();
      nodes.emplace(kind.scalar_arg, body);
    } else if (body.IsMap()) {
      for (const auto& arg : body) {
        auto key = Scalar(arg.first, fmt::format("an argument of {}", kind.name));
        if (!key.ok()) return key.status();
        if (*key != "timeout" && !kind.args.required.count(*key) &&
            !kind.args.optional.count(*key)) {
          return Error(arg.first, fmt::format("step {} has no argument '{}'", kind.name, *key));
        }
        if (arg.second.IsSequence()) {
          std::vector<std::string> items;
          for (const YAML::Node& item : arg.second) {
            auto v = Scalar(item, fmt::format("an item of {}.{}", kind.name, *key));
            if (!v.ok()) return v.status();
            if (v->find(',') != std::string::npos) {
              return Error(item, fmt::format("{}.{}: '{}' holds a comma", kind.name, *key, *v));
            }
            items.push_back(*v);
          }
          step.written[*key] = fmt::format("{}", fmt::join(items, ","));
        } else if (arg.second.IsScalar()) {
          step.written[*key] = arg.second.as<std::string>();
        } else if (arg.second.IsNull()) {
          return Error(arg.second, fmt::format("{}.{} has no value", kind.name, *key));
        } else {
          return Error(arg.second, fmt::format("{}.{} must be a value or a list", kind.name, *key));
        }
        nodes.emplace(*key, arg.second);
      }
    } else if (!body.IsNull()) {
      return Error(body, fmt::format("step {} takes a mapping of arguments", kind.name));
    }
    for (const auto& [r, type] : kind.args.required) {
      if (!step.written.count(r)) {
        return Error(s, fmt::format("step {} needs '{}'", kind.name, r));
      }
    }
    for (const auto& [key, value] : step.written) {
      const Arg arg = key == "timeout"                ? Arg::kDuration
                      : kind.args.required.count(key) ? kind.args.required.at(key)
                                                      : kind.args.optional.at(key);
      LIFELINE_RETURN_IF_ERROR(CheckArg(kind, step.written, key, arg, nodes.at(key), *d));
    }
    // Every value is checked: the kind reads them into its struct and checks
    // the arguments that only make sense together.
    const StepInput in(step.written, path_, step.line, &state_);
    LIFELINE_ASSIGN_OR_RETURN(auto args, kind.parse(in));
    step.args = std::move(args);
    step.timeout = in.Duration("timeout", step.timeout);
    d->steps.push_back(std::move(step));
    return Status::Ok();
  }

  std::string path_;
  ParseState state_;
};

}  // namespace

const DrillConsumer* DrillFile::consumer(const std::string& name) const {
  for (const DrillConsumer& c : consumers) {
    if (c.name == name) return &c;
  }
  return nullptr;
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

}  // namespace lifeline::drill
