// Replay: read a lifecycle topic and rebuild the prompt registry in a clean
// sandbox — a new SQLite file, or a fresh topic — then answer audit questions
// from it. Contracts: docs/architecture.md "Replay and the state hash", docs/events.md;
// the sandbox's tables are documented in docs/replay.md.
//
// Entry points return errors as values; nothing here prints.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"
#include "core/types.h"

namespace lifeline {
namespace sqlite {
class Db;
}  // namespace sqlite
}  // namespace lifeline

namespace lifeline::replay {

// The state hash (docs/architecture.md, "Replay and the state hash"; the
// encoding is in replay/internal/state_hash.h and docs/replay.md).
struct TableDigest {
  std::string table;
  int64_t rows = 0;
  Digest128 digest;
};

struct StateDigest {
  Digest128 total;
  std::vector<TableDigest> tables;           // LogicalTables() order
  std::map<std::string, Digest128> prompts;  // filled when asked for
};

// Where a replay starts or stops, for every partition: an offset, a time
// (the first record at or after it), or per-partition offsets.
struct Position {
  std::optional<int64_t> offset;                 // every partition
  std::map<int32_t, int64_t> partition_offsets;  // "P:O,P:O"
  std::optional<TimestampMs> time;
  bool set() const { return offset || time || !partition_offsets.empty(); }
};

struct ReplayOptions {
  ClientConfig source;
  std::string topic = "prompt.lifecycle";
  Position from;   // inclusive; default: the log start
  Position until;  // exclusive; default: the end seen when the replay starts
  // A FILE.db path, or kafka://HOST:PORT/TOPIC for a sandbox topic on that
  // cluster (quarantined records go to TOPIC.quarantine).
  std::string into;
  ClientConfig into_config;  // client settings for a kafka:// sandbox (bootstrap from `into`)
  bool force = false;        // replace an existing sandbox
};

struct ReplaySummary {
  std::string into;
  std::string topic;
  std::string cluster_id;
  int64_t read = 0, applied = 0, duplicates = 0, quarantined = 0, violations = 0;
  int64_t prompts = 0;
  std::map<std::string, int64_t> quarantine_by_reason;
  std::map<std::string, int64_t> violations_by_code;
  std::map<int32_t, std::pair<int64_t, int64_t>> ranges;  // partition -> [start, end)
  int64_t written = 0;                                    // kafka:// sandbox: records written
  StateDigest state;                                      // file sandbox only
  double seconds = 0;
  // Where the time went: reading and folding, writing the state tables and
  // indexes, hashing (file sandbox).
  double read_seconds = 0, write_seconds = 0, hash_seconds = 0;
};

// Called about once a second while reading, with the records read so far.
using ReplayProgress = std::function<void(int64_t read)>;

Result<ReplaySummary> Run(const ReplayOptions& options, const ReplayProgress& progress = {});

std::string FormatSummaryText(const ReplaySummary& s);
// FormatSummaryJson's value, for callers that embed it (the drill's evidence).
nlohmann::ordered_json SummaryToJson(const ReplaySummary& s);
std::string FormatSummaryJson(const ReplaySummary& s);

// `lifeline state hash`: the state digest of a finished sandbox.
Result<StateDigest> HashSandbox(const std::string& path, bool by_prompt);

// `lifeline state at`: per scope, what was live for a prompt at a time.
struct LiveAt {
  std::string scope, version, via, event_id, actor;
  int percent = 0;
  int64_t since_ms = 0;  // when the event that made it active happened
  std::string activated_event_id, activated_actor;
};
Result<std::vector<LiveAt>> StateAt(const std::string& path, const std::string& prompt,
                                    TimestampMs at);

// `lifeline audit`: the questions a platform team must answer about a
// release — who proposed, approved and deployed it; its release envelope;
// the evaluation that passed before rollout and the rollbacks that followed;
// which consumer groups processed those events (committed offsets on the
// live cluster); the state hash a new replay must reproduce. Returns text, or
// JSON when `json`.
struct AuditOptions {
  std::string sandbox;
  std::string prompt;
  std::string version;               // empty: the versions live now, else the newest
  std::optional<ClientConfig> live;  // where to read committed group offsets
  std::vector<std::string> groups;   // consumer groups to check
};
Result<std::string> Audit(const AuditOptions& options, bool json);

// Reading a sandbox (verify state compares two table by table).
//
// The names of the logical tables in hashing order, with the ORDER BY that
// gives primary-key order. `prompt_column` is true when column 0 is the
// prompt id (for the per-prompt breakdown).
struct LogicalTable {
  const char* name;
  const char* order_by;
  bool prompt_column;
};
const std::vector<LogicalTable>& LogicalTables();

// Runs `sql` with text/integer parameters and returns every row as a JSON
// object keyed by column name (audit, state at, verify state).
Result<std::vector<nlohmann::ordered_json>> QueryRows(
    sqlite::Db& db, const std::string& sql,
    const std::vector<std::variant<std::string, int64_t>>& params = {});

class Registry;

// Replay's fold in memory, without a sandbox: for a caller that needs the
// stream's own answer to one question (the drill's expect_state).
class Fold {
 public:
  Fold();
  ~Fold();
  Fold(const Fold&) = delete;
  Fold& operator=(const Fold&) = delete;
  // Folds one record (valid or not), as replay does.
  void Apply(const Record& record);
  // The version active for `prompt` in `scope` after what was applied.
  std::optional<std::string> ActiveVersion(const std::string& prompt, const std::string& scope);

 private:
  std::unique_ptr<Registry> registry_;
};

}  // namespace lifeline::replay
