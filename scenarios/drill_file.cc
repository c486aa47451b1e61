#include "scenarios/drill_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace lifeline::scenarios {
namespace {

struct StepSpec {
  std::set<std::string> required;
  std::set<std::string> optional;
};

// Every step kind and its arguments ("timeout" is allowed everywhere).
const std::map<std::string, StepSpec>& Specs() {
  static const std::map<std::string, StepSpec> kSpecs = {
      {"deploy", {{"prompt", "version"}, {"scope", "percent", "model"}}},
      {"publish", {{"prompt", "version", "kind"}, {"scope", "percent", "to", "reason", "passed"}}},
      {"rollback", {{"prompt", "to"}, {"from", "scope", "reason"}}},
      {"processed", {{"by"}, {"event", "within"}}},
      {"expect_state", {{"prompt", "active"}, {"scope"}}},
      {"expect_lag", {{"consumer", "max"}, {}}},
      {"replay", {{"into"}, {"from"}}},
      {"mirror", {{}, {"until", "background", "exactly_once"}}},
      {"groups_sync", {{}, {}}},
      {"cutover", {{}, {}}},
      {"failback", {{}, {}}},
      {"verify", {{}, {"records", "state", "groups"}}},
      {"fault",
       {{},
        {"stop", "start", "pause", "resume", "kill", "restart", "stop_broker", "start_broker"}}},
      {"sleep", {{"for"}, {}}},
      {"trace", {{"prompt", "version"}, {"count"}}},
      {"expect_traces", {{"consumer", "prompt", "version", "count"}, {}}},
  };
  return kSpecs;
}

const std::set<std::string> kKinds = {"release-controller", "audit", "evaluation", "observability"};

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

  Result<DrillFile> Parse(const YAML::Node& root) {
    DrillFile d;
    d.path = path_;
    if (!root.IsMap()) return Error(root, "a drill file is a mapping with name, topic, steps");
    static const std::set<std::string> kTop = {"name",  "description", "clusters",
                                               "topic", "consumers",   "steps"};
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (!kTop.count(key)) {
        return Error(kv.first, fmt::format("unknown field '{}' (expected one of name, "
                                           "description, clusters, topic, consumers, steps)",
                                           key));
      }
    }
    if (!root["name"]) return Error(root, "missing field 'name'");
    auto name = Scalar(root["name"], "name");
    if (!name.ok()) return name.status();
    d.name = *name;
    if (root["description"]) d.description = root["description"].as<std::string>();
    if (const YAML::Node c = root["clusters"]) {
      if (!c.IsMap()) return Error(c, "clusters must be {source: ..., target: ...}");
      for (const auto& kv : c) {
        const std::string side = kv.first.as<std::string>();
        if (side != "source" && side != "target") {
          return Error(kv.first, "clusters has only source and target");
        }
        auto v = Scalar(kv.second, "clusters." + side);
        if (!v.ok()) return v.status();
        (side == "source" ? d.source : d.target) = *v;
      }
    }
    if (const YAML::Node t = root["topic"]) {
      if (t.IsScalar()) {
        d.topic = t.as<std::string>();
      } else if (t.IsMap()) {
        if (t["name"]) d.topic = t["name"].as<std::string>();
        if (t["partitions"]) {
          try {
            d.partitions = t["partitions"].as<int>();
          } catch (const YAML::Exception&) {
            return Error(t["partitions"], "topic.partitions must be a whole number");
          }
          if (d.partitions < 1) return Error(t["partitions"], "topic.partitions must be >= 1");
        }
      } else {
        return Error(t, "topic must be a name or {name: ..., partitions: N}");
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
    return d;
  }

 private:
  Status ParseConsumer(const YAML::Node& c, DrillFile* d) {
    if (!c.IsMap())
      return Error(c, "a consumer is {name: ..., kind: ...} or {name, group, external: true}");
    DrillConsumer out;
    out.line = c.Mark().line + 1;
    for (const auto& kv : c) {
      const std::string key = kv.first.as<std::string>();
      auto v = Scalar(kv.second, "consumer " + key);
      if (!v.ok()) return v.status();
      if (key == "name") {
        out.name = *v;
      } else if (key == "kind") {
        out.kind = *v;
      } else if (key == "group") {
        out.group = *v;
      } else if (key == "critical") {
        out.critical = *v == "true";
      } else if (key == "external") {
        out.external = *v == "true";
      } else {
        return Error(kv.first, fmt::format("unknown consumer field '{}' (expected name, kind, "
                                           "group, critical, external)",
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
    }
    d->consumers.push_back(std::move(out));
    return Status::Ok();
  }

  Status ParseStep(const YAML::Node& s, DrillFile* d) {
    if (!s.IsMap() || s.size() != 1) {
      return Error(s, "a step is one mapping, e.g. `- deploy: {prompt: p, version: 1.0.0}`");
    }
    DrillStep step;
    step.line = s.Mark().line + 1;
    const auto kv = *s.begin();
    step.kind = kv.first.as<std::string>();
    auto spec = Specs().find(step.kind);
    if (spec == Specs().end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : Specs()) names.push_back(k);
      return Error(kv.first,
                   fmt::format("unknown step '{}' (steps: {})", step.kind, fmt::join(names, ", ")));
    }
    const YAML::Node body = kv.second;
    if (step.kind == "sleep" && body.IsScalar()) {
      step.args["for"] = body.as<std::string>();
    } else if (body.IsMap()) {
      for (const auto& arg : body) {
        const std::string key = arg.first.as<std::string>();
        if (key != "timeout" && !spec->second.required.count(key) &&
            !spec->second.optional.count(key)) {
          return Error(arg.first, fmt::format("step {} has no argument '{}'", step.kind, key));
        }
        if (arg.second.IsSequence()) {
          std::vector<std::string> items;
          for (const YAML::Node& item : arg.second) items.push_back(item.as<std::string>());
          step.args[key] = fmt::format("{}", fmt::join(items, ","));
        } else if (arg.second.IsScalar()) {
          step.args[key] = arg.second.as<std::string>();
        } else {
          return Error(arg.second, fmt::format("{}.{} must be a value or a list", step.kind, key));
        }
      }
    } else if (!body.IsNull()) {
      return Error(body, fmt::format("step {} takes a mapping of arguments", step.kind));
    }
    for (const std::string& r : spec->second.required) {
      if (!step.args.count(r)) {
        return Error(s, fmt::format("step {} needs '{}'", step.kind, r));
      }
    }
    for (const char* key : {"timeout", "within", "for"}) {
      auto it = step.args.find(key);
      if (it == step.args.end()) continue;
      auto ms = ParseDuration(it->second);
      if (!ms) {
        return Error(s, fmt::format("{}.{}: '{}' is not a duration (e.g. 500ms, 20s, 2m)",
                                    step.kind, key, it->second));
      }
      if (std::string(key) == "timeout") step.timeout = *ms;
    }
    for (const char* key : {"stop_broker", "start_broker"}) {
      if (step.args.count(key) && step.args[key] != "source" && step.args[key] != "target") {
        return Error(s, fmt::format("fault.{}: source or target", key));
      }
    }
    for (const char* key : {"kill", "restart"}) {
      if (step.args.count(key) && step.args[key] != "mirror") {
        return Error(s, fmt::format("fault.{}: only `mirror` (the background mirror) can be {}",
                                    key, std::string(key) == "kill" ? "killed" : "restarted"));
      }
    }
    for (const std::string& key :
         {std::string("by"), std::string("consumer"), std::string("stop"), std::string("start"),
          std::string("pause"), std::string("resume")}) {
      for (const std::string& name : step.list(key)) {
        if (!d->consumer(name)) {
          return Error(s, fmt::format("step {}: unknown consumer '{}' (declare it under "
                                      "consumers)",
                                      step.kind, name));
        }
      }
    }
    d->steps.push_back(std::move(step));
    return Status::Ok();
  }

  std::string path_;
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
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return std::nullopt;
  double v = 0;
  try {
    v = std::stod(text.substr(0, i));
  } catch (...) {
    return std::nullopt;
  }
  const std::string unit = text.substr(i);
  double ms = 0;
  if (unit == "ms") {
    ms = v;
  } else if (unit == "s") {
    ms = v * 1000;
  } else if (unit == "m") {
    ms = v * 60000;
  } else {
    return std::nullopt;
  }
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
  return Parser(path).Parse(root);
}

}  // namespace lifeline::scenarios
