// Drill files (scenarios/*.yaml, docs/drills.md): parsed and checked before
// anything runs, so a bad file is a usage error naming file, line and fix.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace lifeline::scenarios {

struct DrillConsumer {
  std::string name;
  std::string kind;   // release-controller | audit | evaluation | observability | "" (external)
  std::string group;  // the group id (external), or derived for built-in consumers
  bool critical = false;
  bool external = false;
  int line = 0;
};

// One step: its kind and its arguments as strings (lists joined by ',').
struct DrillStep {
  std::string kind;
  std::map<std::string, std::string> args;
  std::vector<std::string> list(const std::string& key) const;  // "a,b" -> {a, b}
  std::string get(const std::string& key, const std::string& fallback = "") const;
  std::chrono::milliseconds timeout{60000};
  int line = 0;
};

struct DrillFile {
  std::string path;
  std::string name, description;
  std::string source = "embedded", target = "embedded";  // HOST:PORT, "embedded" or ${ENV}
  std::string topic = "prompt.lifecycle";
  int partitions = 6;
  std::vector<DrillConsumer> consumers;
  std::vector<DrillStep> steps;
  const DrillConsumer* consumer(const std::string& name) const;
};

// Parses and validates; errors are Status::Usage("FILE:LINE: what; fix").
Result<DrillFile> LoadDrill(const std::string& path);

// "20s", "500ms", "2m", "1.5s" -> milliseconds; nullopt for anything else
// and for more than kMaxDuration.
inline constexpr std::chrono::milliseconds kMaxDuration{24LL * 3600 * 1000};
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace lifeline::scenarios
