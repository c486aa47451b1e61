// `lifeline mirror`'s option parser on its own, so the arguments
// mirror::MirrorArgs spells can be checked to parse back to the same
// options (tests/mirror_args_test.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "mirror/mirror.h"

namespace lifeline::cli {

struct MirrorCommand {
  mirror::MirrorOptions options;  // with both clusters' configurations built
  TwoClusterInputs clusters;      // as given
  std::string summary_json;       // --summary-json FILE, or ""
};

// nullopt after printing --help; usage errors as Status::Usage.
Result<std::optional<MirrorCommand>> ParseMirrorCommand(const std::vector<std::string>& args);

}  // namespace lifeline::cli
