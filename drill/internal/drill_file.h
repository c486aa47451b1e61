// Drill files (docs/drills.md): parsed and checked before anything runs, so
// a bad file is a usage error naming file, line and fix, and every step
// holds typed arguments (drill/internal/steps.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "drill/internal/steps.h"

namespace lifeline::drill {

struct DrillConsumer {
  std::string name;
  std::string kind;       // release-controller | audit | evaluation | observability | "" (external)
  std::string group;      // the group id (external), or derived for built-in consumers
  std::string principal;  // a name under principals: who it reads as in production
  bool critical = false;
  bool external = false;
  int line = 0;
};

struct DrillFile {
  std::string path;
  std::string name, description;
  std::string source = "embedded", target = "embedded";  // HOST:PORT, "embedded" or ${ENV}
  std::string topic = "prompt.lifecycle";
  int partitions = 6;
  // Principal name -> the client property file that authenticates as it
  // (secrets stay in the file), as written: ${VAR} expands when the drill runs.
  std::map<std::string, std::string> principals;
  std::vector<DrillConsumer> consumers;
  std::vector<DrillStep> steps;
  const DrillConsumer* consumer(const std::string& name) const;
};

// Parses and validates; errors are Status::Usage("FILE:LINE: what; fix").
Result<DrillFile> LoadDrill(const std::string& path);

}  // namespace lifeline::drill
