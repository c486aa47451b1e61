// Verify: prove a mirror and a replay equal, or point at the first
// divergence. Three checks, one shape: records (two topics, record by record,
// aligned by the mirror's offset map), state (two sandboxes) and groups
// (committed offsets on both sides). Every check returns a report whose
// `pass` says whether it found a divergence; nothing here prints.
//
// Memory is bounded whatever the topic size: records are read per partition
// into bounded queues and compared in a sliding window.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/reader.h"
#include "core/record.h"
#include "core/status.h"
#include "core/types.h"

namespace lifeline::verify {

// How target records are paired with source records.
enum class Align {
  kMap,       // the mirror's exact offset map (offset-map topic or local state)
  kIdentity,  // the same offsets on both sides (offset-preserving copies)
  kContent,   // no map: in order, matched by digest
};

// How records are read: the reader seam's backends (core/reader.h). kRaw:
// lifeline's own Fetch client, several times cheaper per record, plaintext
// only; kLibrdkafka: a librdkafka consumer, for every configuration; kAuto:
// raw where the configuration is plaintext, librdkafka elsewhere (decided
// per side).
using Reader = ReaderBackend;

// A bound on the source range: an offset for every partition, per-partition
// offsets, or a time (the first record at or after it).
struct Bound {
  std::optional<int64_t> offset;
  std::map<int32_t, int64_t> partition_offsets;
  std::optional<TimestampMs> time;
};

inline constexpr int64_t kDefaultChunkRecords = 100000;

struct RecordsOptions {
  ClientConfig source;                  // bootstrap empty: with `against`, the target alone
  ClientConfig target;                  // bootstrap empty: with `against`, the source alone
  std::string topics;                   // regex over source topic names (whole-name match)
  std::string name = "default";         // the mirror whose map aligns
  std::string state_dir = ".lifeline";  // local map cache, when the target has no map topic
  Align align = Align::kMap;
  bool align_given = false;  // with `against`: `align` must be the evidence's
  Reader reader = Reader::kAuto;
  // Source range [from, until); default each side's whole log. Without a
  // bound the target is read whole too, so a record the source does not
  // explain is found wherever it is.
  Bound from, until;
  // Records per chunk digest in the evidence; 0: kDefaultChunkRecords, or
  // with `against` the evidence's (a different explicit value is refused).
  int64_t chunk_records = 0;
  size_t report_limit = 20;  // divergences listed per partition (all are counted)
  // Duplicated target records (copies of a source record of the same
  // partition that the map does not describe: an at-least-once mirror's
  // re-sends, which its summaries count) are listed and counted, but are not
  // divergences.
  bool allow_duplicates = false;
  // Stored evidence (a previous run's JSON) to compare each side read
  // against, chunk by chunk, instead of reading the other cluster.
  std::string against;
};

// One divergence, at source and/or target coordinates (-1 where none).
struct Divergence {
  // missing | extra | duplicated | altered | reordered | unmirrored | chunk
  std::string kind;
  std::string topic;
  int32_t partition = -1;
  int64_t source_offset = -1;
  int64_t target_offset = -1;
  std::string detail;  // e.g. "value differs", "duplicate of source offset 41"
  std::string diff;    // a short readable diff (first divergence of a partition)
};

struct Chunk {
  int64_t first = -1, last = -1;  // offsets of its first and last record
  int64_t records = 0;
  Digest128 digest;  // XXH3-128 over the chunk's record digests in order
};

struct SideSummary {
  int64_t start = 0, end = 0;  // offsets read: [start, end)
  int64_t records = 0;
  Digest128 rolling;  // DigestChain over every record digest in order
  std::vector<Chunk> chunks;
};

struct PartitionResult {
  std::string topic;
  int32_t partition = -1;
  SideSummary source, target;
  int64_t matched = 0;                    // pairs with equal digests
  std::map<std::string, int64_t> counts;  // divergences by kind
  std::vector<Divergence> divergences;    // the first report_limit, in order
};

struct RecordsReport {
  std::string align;  // with `against`: the alignment the evidence was made with
  int64_t chunk_records = 0;
  std::string source_reader, target_reader;  // "raw" or "librdkafka"; "" for a side not read
  std::string mirror_name;
  bool against = false;
  std::vector<PartitionResult> partitions;
  int64_t divergences = 0;
  int64_t duplicates = 0;  // duplicated target records (divergences unless allowed)
  bool duplicates_allowed = false;
  bool pass = false;
  double seconds = 0;
  int64_t records_read = 0;  // both sides
};

Result<RecordsReport> VerifyRecords(const RecordsOptions& options);
std::string FormatRecordsText(const RecordsReport& report);
// The JSON is also the evidence `--against` reads.
std::string FormatRecordsJson(const RecordsReport& report);
nlohmann::ordered_json RecordsToJson(const RecordsReport& report);  // the same, as a value

// Two sandboxes: equal state hashes pass; otherwise the differing tables and
// prompts, and the first differing rows of each table side by side.
struct StateReport {
  std::string a, b;
  std::string hash_a, hash_b;
  bool pass = false;
  struct Table {
    std::string name;
    int64_t rows_a = 0, rows_b = 0;
    std::vector<std::string> only_a, only_b;  // first differing rows, as JSON objects
  };
  std::vector<Table> tables;         // differing tables only
  std::vector<std::string> prompts;  // differing prompts (present on either side)
};
Result<StateReport> VerifyState(const std::string& a, const std::string& b, size_t row_limit = 5);
std::string FormatStateText(const StateReport& report);
std::string FormatStateJson(const StateReport& report);
nlohmann::ordered_json StateToJson(const StateReport& report);  // the same, as a value

// Groups moved to the target: for each group and partition, the committed
// offsets translate exactly, the records just before them have the same
// digest, and from each side's position a read_committed consumer would read
// the same records (count and digests) to the end.
struct GroupsOptions {
  ClientConfig source, target;
  std::string name = "default";
  std::string state_dir = ".lifeline";
  std::vector<std::string> groups;
  // Read every partition each group committed on the source, so a commit
  // the map does not cover is `unmapped` (as groups sync refuses it). Off
  // for clusters without DescribeGroups (the embedded sandbox): only the
  // mapped partitions are read there.
  bool list_group_partitions = true;
};
struct GroupCheck {
  std::string group, topic;
  int32_t partition = -1;
  int64_t source_committed = -1, target_committed = -1, expected_target = -1;
  int64_t source_lag = -1, target_lag = -1;  // offsets: high watermark - committed
  // Records a read_committed consumer at the committed offset would read to
  // the end, on each side (-1: not compared).
  int64_t source_pending = -1, target_pending = -1;
  // ok | not_synced | wrong_offset | ahead_of_mirror | record_differs | lag_differs | unmapped
  std::string status;
  std::string detail;
};
struct GroupsReport {
  std::vector<GroupCheck> checks;
  bool pass = false;
};
Result<GroupsReport> VerifyGroups(const GroupsOptions& options);
std::string FormatGroupsText(const GroupsReport& report);
std::string FormatGroupsJson(const GroupsReport& report);
nlohmann::ordered_json GroupsToJson(const GroupsReport& report);  // the same, as a value

}  // namespace lifeline::verify
