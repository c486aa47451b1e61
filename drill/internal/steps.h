// Drill steps: each kind's typed arguments, and the one table of kinds
// (steps.cc) that says, per kind, its name, its arguments, how they are read
// into the struct, how the step is titled and how it runs. A kind's name is
// written nowhere else.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/envelope.h"
#include "core/status.h"

namespace lifeline::drill {

using Millis = std::chrono::milliseconds;

// Which cluster a step means.
enum class Side { kSource, kTarget };
const char* SideName(Side side);  // "source" | "target"

struct DeployArgs {
  std::string prompt, version, scope = "global", model = "model-x@drill";
  int percent = 100;
};
struct PublishArgs {
  std::string prompt, version, scope = "global";
  envelope::Kind kind = envelope::Kind::kProposed;
  int percent = 100;
  std::string to, reason = "drill";  // rolled_back
  bool passed = true;                // evaluated
};
struct RollbackArgs {
  std::string prompt, to, scope = "global", reason = "drill rollback";
  std::optional<std::string> from;  // default: what the drill last made live
};
struct ProcessedArgs {
  std::vector<std::string> by;  // consumer names
  std::string event = "last";   // last, or an event kind
  Millis within{20000};
};
struct ExpectStateArgs {
  std::string prompt, active, scope = "global";
};
struct ExpectLagArgs {
  std::string consumer;
  int64_t max = 0;
};
struct ReplayArgs {
  std::string into;  // a file in the report folder
  Side from = Side::kSource;
};
struct MirrorRunArgs {
  bool background = false;
  bool exactly_once = false;
};
struct GroupsSyncArgs {};
struct CutoverArgs {};
struct FailbackArgs {};
struct VerifyArgs {
  bool records = false, groups = false;
  std::vector<std::string> state;  // two sandbox files, or none
};
struct FaultArgs {
  std::vector<std::string> stop, start, pause, resume;  // built-in consumers
  bool kill_mirror = false, restart_mirror = false;
  std::optional<Side> stop_broker, start_broker;
};
struct AccessArgs {
  std::string publisher;             // a principal that may publish
  std::vector<std::string> readers;  // principals that may not
  Side on = Side::kSource;
};
struct SleepArgs {
  Millis duration{0};
};
struct TraceArgs {
  std::string prompt, version;
  int count = 10;
};
struct ExpectTracesArgs {
  std::string consumer, prompt, version;
  int64_t count = 0;
};

using StepArgs = std::variant<DeployArgs, PublishArgs, RollbackArgs, ProcessedArgs, ExpectStateArgs,
                              ExpectLagArgs, ReplayArgs, MirrorRunArgs, GroupsSyncArgs, CutoverArgs,
                              FailbackArgs, VerifyArgs, FaultArgs, SleepArgs, TraceArgs,
                              ExpectTracesArgs, AccessArgs>;

struct StepKind;

// One step of a drill file, read and checked when the file loads.
struct DrillStep {
  const StepKind* kind = nullptr;  // its row in the table
  StepArgs args;
  // The arguments as written (lists joined by ','): the title of a kind
  // without a title of its own lists them.
  std::map<std::string, std::string> written;
  Millis timeout{60000};
  int line = 0;
  const char* name() const;
};

// What an argument holds; drill_file.cc checks each value against it before
// a kind's parse function reads them.
enum class Arg {
  kText,           // a non-empty value (reason, model)
  kName,           // a prompt id or scope: non-empty, no control characters
  kVersion,        // 1.0.0: letters, digits, '.', '-', '+', '_'
  kDuration,       // 500ms, 20s, 2m
  kCount,          // a whole number >= 0
  kPositive,       // a whole number 1..1000000
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
  kSandboxPair,    // two of those, each written by an earlier replay
  kPrincipal,      // one name declared under principals
  kPrincipals,     // a non-empty list of those
};

struct ArgSpec {
  std::map<std::string, Arg> required, optional;  // "timeout" is allowed everywhere
};

// What the file has established before a step, for checks across steps.
struct ParseState {
  std::set<std::string> replayed;                  // sandbox files earlier steps write
  std::map<std::string, int> brokers_down;         // side -> line of the step that stopped it
  std::vector<std::string> consumer_principals;    // of the declared consumers, each once
  std::vector<std::string> principal_of_consumer;  // per declared consumer ("" for none)
};

// A step's checked arguments, as a kind's parse function reads them.
class StepInput {
 public:
  StepInput(const std::map<std::string, std::string>& written, std::string at, int line,
            ParseState* state)
      : written_(written), at_(std::move(at)), line_(line), state_(state) {}

  bool Has(const std::string& key) const { return written_.count(key) > 0; }
  bool Empty() const { return written_.empty(); }
  std::string Text(const std::string& key, const std::string& fallback = "") const;
  std::vector<std::string> List(const std::string& key) const;
  // Values already checked against their Arg, so these cannot fail.
  int64_t Number(const std::string& key, int64_t fallback) const;
  bool Bool(const std::string& key, bool fallback) const;
  Millis Duration(const std::string& key, Millis fallback) const;
  std::optional<Side> SideOf(const std::string& key) const;

  // A usage error at this step: "FILE:LINE: what".
  Status Error(const std::string& what) const;
  int line() const { return line_; }
  ParseState& state() const { return *state_; }

 private:
  const std::map<std::string, std::string>& written_;
  std::string at_;  // the file
  int line_;
  ParseState* state_;
};

class DrillContext;
struct StepRun;

struct StepKind {
  const char* name;
  ArgSpec args;
  const char* scalar_arg;  // the argument a bare value gives (`- sleep: 1s`), or nullptr
  Result<StepArgs> (*parse)(const StepInput& in);
  std::string (*title)(const DrillStep& step);
  Status (*run)(const DrillStep& step, StepRun& run);
  // A failure leaves the clusters in a state the later steps do not expect
  // (a cutover half done, a mirror that did not copy, a fault not injected):
  // the drill stops there and marks the remaining steps not run. A failed
  // check or a refused event does not stop it.
  bool stops_the_drill = false;
};

// The table, in the order `unknown step` errors list the kinds.
const std::vector<StepKind>& StepKinds();
const StepKind* FindStepKind(const std::string& name);

// "a,b" -> {a, b} (items trimmed, empty ones dropped): how a list argument
// is written in DrillStep::written.
std::vector<std::string> SplitList(const std::string& joined);
// Whole numbers as YAML spells them: digits only (no sign, no spaces).
std::optional<int64_t> WholeNumber(const std::string& text);

// "20s", "500ms", "2m", "1.5s" -> milliseconds; nullopt for anything else
// and for more than kMaxDuration.
inline constexpr Millis kMaxDuration{24LL * 3600 * 1000};
std::optional<Millis> ParseDuration(const std::string& text);

}  // namespace lifeline::drill
