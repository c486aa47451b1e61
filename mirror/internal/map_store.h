// Where offset maps live: in the compacted `_lifeline.offset-map` topic on
// the target (authoritative, so any process can translate), and in a SQLite
// file under the mirror's state directory (a cache, and what `offsets
// translate --state-dir` reads).
//
// Topic records, all JSON values, keys "NAME/TOPIC/PARTITION/...":
//   .../meta            {"source_start":S,"progress":P,"target_next":T
//                        [,"possible_duplicates":D]}
//   .../run/S_START     {"target_start":T,"length":N}   (null: run removed)
//   .../gap/FROM        {"to":TO}                       (null: gap removed)
// Later records for a key replace earlier ones, so compaction keeps a map.
#pragma once

#include <compare>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/kafka.h"
#include "core/record.h"
#include "core/sqlite.h"
#include "core/status.h"
#include "mirror/internal/offset_map.h"
#include "mirror/mirror.h"

namespace lifeline::mirror {

// Mirror names become part of keys, group ids and file names.
Status ValidateMirrorName(const std::string& name);

// What a mirror of `name` is called on the clusters: its group (on the
// source, where its processes share the partitions; on the target, the
// exactly-once progress) and the transactional ids of its map writers.
inline std::string MirrorGroupId(const std::string& name) { return "_lifeline.mirror." + name; }
inline std::string MirrorWriterIdPrefix(const std::string& name) {
  return "lifeline-mirror-" + name + "/";
}

// Fencing. Every write to one source partition's map goes through that
// partition's writer: a transactional producer whose id names the
// partition (PREFIX TOPIC/PARTITION; names and topics cannot hold '/'), so
// whichever process owns the partition, its writer has the same id. A
// process that takes a partition opens its writer first: InitProducerId
// bumps the id's epoch, which fences every earlier writer of that id (its
// later transactions fail with PRODUCER_FENCED, whatever it believes about
// its group membership) and ends the transaction it left open. Only then
// does it read the map (LoadMapsFromTopic reads up to the high watermark
// seen when it starts), so it sees everything the earlier owners
// committed, and nothing they write afterwards can commit.
inline std::string MirrorWriterId(const std::string& name, const TopicPartition& tp) {
  return MirrorWriterIdPrefix(name) + tp.topic.value() + "/" + std::to_string(tp.partition.value());
}

// Opens (and fences with) the writers of `partitions`, at once: one
// transactional producer each, on `config` (the target's), `options` with
// the transactional id filled in. `on_delivery` is given to each.
// `fenced` false (a target without transactions): idempotent producers,
// which fence nothing.
Result<std::map<TopicPartition, std::unique_ptr<Producer>>> OpenMapWriters(
    const ClientConfig& config, const ProducerOptions& options, const std::string& name,
    const std::vector<TopicPartition>& partitions,
    const std::function<void(const DeliveryReport&)>& on_delivery = nullptr, bool fenced = true);

// Turns changes of one partition's map into offset-map topic records. Keeps
// what it last emitted per partition so each call sends only the difference.
class MapEncoder {
 public:
  explicit MapEncoder(std::string name) : name_(std::move(name)) {}
  // Appends records (topic = kOffsetMapTopic, key set, partition unset).
  void Encode(const TopicPartition& key, const PartitionMap& map, std::vector<Record>* out);
  // Forget what was emitted (after a reload from the topic).
  void Reset(const TopicPartition& key, const PartitionMap& emitted);

 private:
  std::string name_;
  std::map<TopicPartition, PartitionMap> emitted_;
};

// One partition's map as stored, before its invariants are checked: the
// latest record of each key (removed keys are absent).
struct StoredParts {
  int64_t source_start = 0, progress = 0, target_next = 0;
  int64_t possible_duplicates = 0;
  bool has_meta = false;
  std::map<int64_t, OffsetRun> runs;  // by source start, lengths as stored
  std::map<int64_t, Gap> gaps;        // by `from`
};
using StoredMaps = std::map<TopicPartition, StoredParts>;

// Runs are written before the progress that covers them: a run reaching past
// the progress a reader saw is a later update in flight. The runs the
// progress vouches for, cut at it, in source order.
std::vector<OffsetRun> VouchedRuns(const StoredParts& parts);

// Reads the stored parts of mirror `name` from the target's offset-map topic
// (read_committed), unchecked. A missing topic means no maps yet.
Result<StoredMaps> ReadStoredMaps(const ClientConfig& target, const std::string& name);

// ReadStoredMaps, checked: an inconsistent map is an error naming the
// partition, what is wrong and the way out (`lifeline offsets repair`).
Result<MapSet> LoadMapsFromTopic(const ClientConfig& target, const std::string& name);

// The offset-map topic record setting `key` (NAME/TOPIC/PARTITION/...) to
// `value`; nullopt removes the key.
Record MapRecord(std::string key, std::optional<std::string> value);
std::string MapKeyPrefix(const std::string& name, const TopicPartition& key);

// The mirror names the target's offset-map topic holds maps for (empty when
// the topic does not exist), to name them when a given name has none.
Result<std::set<std::string>> MapNamesOnTopic(const ClientConfig& target);

// Creates the compacted offset-map topic on the target if it is missing.
Status EnsureOffsetMapTopic(const ClientConfig& target);

// The SQLite cache, STATE_DIR/NAME.db.
class MapCache {
 public:
  static Result<MapCache> Open(const std::string& path, bool create);
  Status Save(const MapSet& maps);
  Result<MapSet> Load();

 private:
  sqlite::Db db_;
};

}  // namespace lifeline::mirror
