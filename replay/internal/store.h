// The sandbox database: schema, the appends replay makes while it reads (the
// logs and every row that only grows with the stream), and the registry's
// current state written once at the end (docs/architecture.md: fold in memory,
// append, write the state tables once, index last).
//
// Logical tables (hashed): prompts, versions, approvals, evaluations,
// deployments, deployment_history, rollbacks, violations, quarantine,
// event_log. Provenance tables (not hashed): provenance, replay_ranges,
// replay_meta. docs/replay.md documents every column.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "core/sqlite.h"
#include "core/status.h"
#include "replay/internal/registry.h"
#include "replay/replay.h"

namespace lifeline::replay {

inline constexpr int kSandboxFormat = 1;

// Where a record came from (provenance, never hashed).
struct Coordinates {
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = 0;
  TimestampType timestamp_type = TimestampType::kNotAvailable;
};

// Appends while a replay runs; WriteState writes the registry's state, Finish
// the versions table and the indexes. One transaction from Begin to Commit: a
// sandbox is whole or absent.
class SandboxWriter {
 public:
  explicit SandboxWriter(sqlite::Db* db) : db_(db) {}
  // Creates the schema (the database must be empty) and opens the transaction.
  Status Begin();
  // One record read: its provenance, its log row (applied or duplicate) or
  // quarantine row, and the rows its outcome finished.
  Status Add(const Coordinates& at, const Outcome& outcome);
  Status Add(const Record& record, const Outcome& outcome);
  // The registry's current state and the late violations; after this the
  // registry may be released.
  Status WriteState(Registry& registry, const std::vector<LateViolation>& late);
  // The versions table, the indexes, and the metadata `meta` (key, value).
  Status Finish(const std::vector<std::pair<std::string, std::string>>& meta);
  Status SetMeta(const std::string& key, const std::string& value);
  Status Commit();

 private:
  sqlite::Db* db_;
  std::unique_ptr<sqlite::Transaction> txn_;
  sqlite::Stmt log_, provenance_, approval_, evaluation_, history_, rollback_, violation_,
      quarantine_, quarantine_copy_, proposal_, retirement_;
};

// Opens a sandbox file read-only: a usage error naming the path when it
// is missing or a directory.
Result<sqlite::Db> OpenSandboxFile(const std::string& path);

// Reads replay_meta; an error when the file is not a complete lifeline
// sandbox (names the file and what is wrong).
Result<std::vector<std::pair<std::string, std::string>>> ReadMeta(sqlite::Db& db,
                                                                  const std::string& path);

}  // namespace lifeline::replay
