// The state hash (docs/architecture.md, "Replay and the state hash"): XXH3-128
// over a canonical, type-tagged, length-prefixed encoding of every logical
// table, rows in primary-key order. Computed from the database, so any
// sandbox file can be hashed, by replay or by `lifeline state hash`.
//
// Encoding (docs/replay.md): per table, for each row 'r' then each column as
// 'N' (null) | 'I' + int64 LE | 'R' + IEEE-754 bits LE | 'T' + u64 LE length
// + bytes | 'B' + u64 LE length + bytes. The table digest is XXH3-128 of its
// rows; the total is XXH3-128 over, per table in LogicalTables() order, the
// length-prefixed name, the row count (u64 LE) and the table digest (16
// bytes, high word first, big endian). A prompt's digest is XXH3-128 over,
// per table that has rows of it, the length-prefixed table name and those
// rows; quarantined records belong to no prompt.
#pragma once

#include <string>
#include <vector>

#include "core/record.h"
#include "core/sqlite.h"
#include "core/status.h"
#include "replay/replay.h"

namespace lifeline::replay {

Result<StateDigest> HashState(sqlite::Db& db, bool by_prompt);
// The same digest (without the per-prompt breakdown) of a sandbox file,
// reading it on two connections side by side; `pragmas` run on each first.
Result<StateDigest> HashStateFile(const std::string& path, const std::string& pragmas);

}  // namespace lifeline::replay
