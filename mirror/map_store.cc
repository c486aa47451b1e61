#include "mirror/internal/map_store.h"

#include <fmt/format.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "core/kafka.h"
#include "core/signals.h"
#include "core/topic_reader.h"

namespace lifeline::mirror {

namespace {
// Waits out an earlier writer's open transaction, which the broker ends
// once the new epoch is fenced in.
constexpr Millis kWriterInitTimeout{60000};
}  // namespace

std::string MapKeyPrefix(const std::string& name, const TopicPartition& key) {
  return fmt::format("{}/{}/{}/", name, key.topic.value(), key.partition.value());
}

Record MapRecord(std::string key, std::optional<std::string> value) {
  Record r;
  r.topic = Topic(kOffsetMapTopic);
  r.partition = Partition(-1);
  r.key = std::move(key);
  r.value = std::move(value);
  r.timestamp = TimestampMs(0);  // producer time
  return r;
}

std::vector<OffsetRun> VouchedRuns(const StoredParts& parts) {
  std::vector<OffsetRun> runs;
  for (const auto& [s, r] : parts.runs) {
    OffsetRun run = r;
    run.length = std::min(run.length, parts.progress - run.source_start);
    if (run.length > 0) runs.push_back(run);
  }
  return runs;
}

namespace {

// `repair_hint`: the way out, for maps read from the offset-map topic.
Result<MapSet> Assemble(const StoredMaps& parts, const std::string& where,
                        const std::string& repair_hint) {
  MapSet out;
  for (const auto& [key, p] : parts) {
    if (!p.has_meta) {
      if (p.runs.empty() && p.gaps.empty()) continue;
      return Status::Infra(fmt::format("{}: map of {} [{}] has runs but no progress record{}",
                                       where, key.topic.value(), key.partition.value(),
                                       repair_hint));
    }
    std::vector<Gap> gaps;
    for (const auto& [f, g] : p.gaps) gaps.push_back(g);
    std::string error;
    auto map = PartitionMap::FromParts(VouchedRuns(p), std::move(gaps), p.source_start, p.progress,
                                       p.target_next, &error);
    if (!map) {
      return Status::Infra(fmt::format("{}: map of {} [{}] is inconsistent: {}{}", where,
                                       key.topic.value(), key.partition.value(), error,
                                       repair_hint));
    }
    map->CountPossibleDuplicates(p.possible_duplicates);
    out.emplace(key, std::move(*map));
  }
  return out;
}

}  // namespace

Status ValidateMirrorName(const std::string& name) {
  static const std::regex kValid("[A-Za-z0-9._-]{1,200}");
  if (!std::regex_match(name, kValid)) {
    return Status::Usage("mirror name '" + name +
                         "' may use only letters, digits, '.', '_' and '-' (at most 200)");
  }
  return Status::Ok();
}

void MapEncoder::Encode(const TopicPartition& key, const PartitionMap& map,
                        std::vector<Record>* out) {
  const std::string prefix = MapKeyPrefix(name_, key);
  auto [it, fresh] = emitted_.try_emplace(key);
  const PartitionMap& before = it->second;
  std::map<int64_t, const OffsetRun*> old_runs;
  for (const OffsetRun& r : before.runs()) old_runs[r.source_start] = &r;
  for (const OffsetRun& r : map.runs()) {
    auto o = old_runs.find(r.source_start);
    if (o == old_runs.end() || !(*o->second == r)) {
      nlohmann::ordered_json v = {{"target_start", r.target_start}, {"length", r.length}};
      out->push_back(MapRecord(prefix + "run/" + std::to_string(r.source_start), v.dump()));
    }
    if (o != old_runs.end()) old_runs.erase(o);
  }
  for (const auto& [s, r] : old_runs) {
    out->push_back(MapRecord(prefix + "run/" + std::to_string(s), std::nullopt));
  }
  std::map<int64_t, const Gap*> old_gaps;
  for (const Gap& g : before.gaps()) old_gaps[g.from] = &g;
  for (const Gap& g : map.gaps()) {
    auto o = old_gaps.find(g.from);
    if (o == old_gaps.end() || !(*o->second == g)) {
      out->push_back(MapRecord(prefix + "gap/" + std::to_string(g.from),
                               nlohmann::json({{"to", g.to}}).dump()));
    }
    if (o != old_gaps.end()) old_gaps.erase(o);
  }
  for (const auto& [f, g] : old_gaps) {
    out->push_back(MapRecord(prefix + "gap/" + std::to_string(f), std::nullopt));
  }
  // Progress goes last: a reader that sees it also sees the runs it covers.
  if (fresh || before.progress() != map.progress() || before.target_next() != map.target_next() ||
      before.source_start() != map.source_start() ||
      before.possible_duplicates() != map.possible_duplicates()) {
    nlohmann::ordered_json meta = {{"source_start", map.source_start()},
                                   {"progress", map.progress()},
                                   {"target_next", map.target_next()}};
    if (map.possible_duplicates() > 0) meta["possible_duplicates"] = map.possible_duplicates();
    out->push_back(MapRecord(prefix + "meta", meta.dump()));
  }
  it->second = map;
}

void MapEncoder::Reset(const TopicPartition& key, const PartitionMap& emitted) {
  emitted_[key] = emitted;
}

Status EnsureOffsetMapTopic(const ClientConfig& target) {
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(target));
  // Look first: creating needs more rights than using (and the embedded
  // sandbox cannot create topics over the protocol at all).
  auto topics = admin->ListTopics(Millis(15000));
  if (topics.ok() && topics->count(kOffsetMapTopic)) return Status::Ok();
  return admin->CreateTopic(
      {kOffsetMapTopic, 1, -1, {{"cleanup.policy", "compact"}, {"retention.ms", "-1"}}},
      Millis(15000), /*exists_ok=*/true);
}

Result<std::map<TopicPartition, std::unique_ptr<Producer>>> OpenMapWriters(
    const ClientConfig& config, const ProducerOptions& options, const std::string& name,
    const std::vector<TopicPartition>& partitions,
    const std::function<void(const DeliveryReport&)>& on_delivery, bool fenced) {
  // InitProducerId waits while the coordinator ends what an earlier writer
  // left open: opened side by side, a takeover of many partitions costs
  // one such wait, not one per partition. At most 16 at a time.
  constexpr size_t kAtOnce = 16;
  std::map<TopicPartition, std::unique_ptr<Producer>> out;
  for (size_t from = 0; from < partitions.size(); from += kAtOnce) {
    std::vector<std::future<Result<std::unique_ptr<Producer>>>> opening;
    const size_t to = std::min(partitions.size(), from + kAtOnce);
    for (size_t i = from; i < to; ++i) {
      opening.push_back(
          std::async(std::launch::async, [&, i]() -> Result<std::unique_ptr<Producer>> {
            ProducerOptions popts = options;
            if (fenced) popts.transactional_id = MirrorWriterId(name, partitions[i]);
            LIFELINE_ASSIGN_OR_RETURN(auto producer, Producer::Create(config, popts, on_delivery));
            if (fenced) LIFELINE_RETURN_IF_ERROR(producer->InitTransactions(kWriterInitTimeout));
            return producer;
          }));
    }
    Status first;
    for (size_t i = from; i < to; ++i) {
      auto opened = opening[i - from].get();
      if (!opened.ok()) {
        if (first.ok()) first = opened.status();
        continue;
      }
      out.emplace(partitions[i], std::move(opened).value());
    }
    if (!first.ok()) return first;
  }
  return out;
}

namespace {

// Longer than a map transaction ever stays open while its writer lives, and
// than librdkafka's default transaction.timeout.ms (60 s) after which the
// broker aborts the transaction of a writer that died with no successor.
constexpr Millis kOpenTransactionWait{75000};

// Read committed, the map topic ends at its last stable offset, and a read
// is complete only once that end reached the high watermark seen before the
// read began (`heads`): every transaction that had written map records by
// then has ended, so the read holds whatever they committed. (Stopping at
// the last stable offset instead could miss records a writer committed
// after another writer's still-open transaction.) Sets `*again` when a read
// stopped short and the end has since moved past the head: read again.
Status AwaitStableHeads(Admin* admin, const std::map<Partition, int64_t>& heads,
                        const std::map<Partition, PartitionExtent>& ends, Millis wait,
                        bool* again) {
  for (const auto& [p, head] : heads) {
    auto e = ends.find(p);
    const int64_t end = e == ends.end() ? 0 : e->second.end.value();
    if (end >= head) continue;
    const TopicPartition tp{Topic(kOffsetMapTopic), p};
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      LIFELINE_ASSIGN_OR_RETURN(auto wm, admin->Watermarks(tp, Millis(10000)));
      if (wm.high.value() >= head) {
        *again = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline || Interrupted()) {
        return Status::Infra(fmt::format(
            "{} [{}]: a transaction has been open since offset {} (the log ends at {}) and did "
            "not end within {} s, so maps saved after it cannot be read: a mirror process is "
            "mid-commit, or died without ending it (Apache Kafka aborts it after the "
            "producer's transaction.timeout.ms; a broker without EndTxn never does). Wait and "
            "run again; a mirror process of the same --name that takes the partition fences "
            "and aborts it",
            kOffsetMapTopic, p.value(), wm.high.value(), head,
            std::chrono::duration_cast<std::chrono::seconds>(wait).count()));
      }
      std::this_thread::sleep_for(Millis(100));
    }
  }
  return Status::Ok();
}

// The high watermark of each partition of the map topic (read uncommitted:
// it counts records of open transactions).
Result<std::map<Partition, int64_t>> MapTopicHeads(const ClientConfig& target, Admin* admin) {
  LIFELINE_ASSIGN_OR_RETURN(int partitions, admin->PartitionCount(kOffsetMapTopic, Millis(10000)));
  ConsumerOptions copts;
  copts.read_committed = false;
  copts.client_id = "lifeline-map-reader";
  LIFELINE_ASSIGN_OR_RETURN(auto uncommitted, Consumer::Create(target, copts));
  std::map<Partition, int64_t> heads;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = -1, high = -1;
    if (rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            uncommitted->handle(), kOffsetMapTopic, p, &low, &high, 10000)) {
      return KafkaError(fmt::format("high watermark of {} [{}]", kOffsetMapTopic, p), err);
    }
    heads[Partition(p)] = high;
  }
  return heads;
}

}  // namespace

Result<StoredMaps> ReadStoredMaps(const ClientConfig& target, const std::string& name) {
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(target));
  LIFELINE_ASSIGN_OR_RETURN(auto topics, admin->ListTopics(Millis(10000)));
  if (!topics.count(kOffsetMapTopic)) return StoredMaps{};
  LIFELINE_ASSIGN_OR_RETURN(auto heads, MapTopicHeads(target, admin.get()));

  std::map<std::string, std::optional<std::string>> latest;
  const std::string want = name + "/";
  TopicReadOptions read;
  read.topic = kOffsetMapTopic;
  read.read_committed = true;
  for (int attempt = 0;; ++attempt) {
    latest.clear();
    std::map<Partition, PartitionExtent> ends;
    Status st = ReadTopic(
        target, read,
        [&](const Record& r) {
          if (r.key && r.key->starts_with(want)) latest[*r.key] = r.value;
          return Status::Ok();
        },
        &ends);
    if (!st.ok()) return st.WithContext("read " + std::string(kOffsetMapTopic));
    if (attempt > 0) break;  // began after the end passed every head
    bool again = false;
    LIFELINE_RETURN_IF_ERROR(
        AwaitStableHeads(admin.get(), heads, ends, kOpenTransactionWait, &again));
    if (!again) break;
  }

  // NAME/TOPIC/PARTITION/KIND[/N]; topic names cannot contain '/'.
  static const std::regex kKey(R"(([^/]+)/([^/]+)/(\d+)/(meta|run|gap)(?:/(\d+))?)");
  StoredMaps parts;
  for (const auto& [key, value] : latest) {
    std::smatch m;
    if (!std::regex_match(key, m, kKey) || m[1] != name) {
      return Status::Infra(fmt::format("{}: unexpected key '{}'", kOffsetMapTopic, key));
    }
    if (!value) continue;  // removed
    TopicPartition pk{Topic(m[2]), Partition(std::stoi(m[3]))};
    StoredParts& p = parts[pk];
    try {
      auto v = nlohmann::json::parse(*value);
      if (m[4] == "meta") {
        p.has_meta = true;
        p.source_start = v.at("source_start").get<int64_t>();
        p.progress = v.at("progress").get<int64_t>();
        p.target_next = v.at("target_next").get<int64_t>();
        p.possible_duplicates = v.value("possible_duplicates", int64_t{0});
      } else if (m[4] == "run") {
        int64_t s = std::stoll(m[5]);
        p.runs[s] = {s, v.at("target_start").get<int64_t>(), v.at("length").get<int64_t>()};
      } else {
        int64_t f = std::stoll(m[5]);
        p.gaps[f] = {f, v.at("to").get<int64_t>()};
      }
    } catch (const std::exception& e) {
      return Status::Infra(
          fmt::format("{}: bad value for '{}': {}", kOffsetMapTopic, key, e.what()));
    }
  }
  return parts;
}

Result<MapSet> LoadMapsFromTopic(const ClientConfig& target, const std::string& name) {
  LIFELINE_ASSIGN_OR_RETURN(StoredMaps parts, ReadStoredMaps(target, name));
  return Assemble(parts, kOffsetMapTopic,
                  fmt::format(". Stop every mirror process of {0}, then run `lifeline offsets "
                              "repair --name {0}` with the same clusters (docs/mirror.md, "
                              "\"Repairing a map\")",
                              name));
}

Result<std::set<std::string>> MapNamesOnTopic(const ClientConfig& target) {
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(target));
  LIFELINE_ASSIGN_OR_RETURN(auto topics, admin->ListTopics(Millis(10000)));
  std::set<std::string> names;
  if (!topics.count(kOffsetMapTopic)) return names;
  TopicReadOptions read;
  read.topic = kOffsetMapTopic;
  read.read_committed = true;
  Status st = ReadTopic(target, read, [&](const Record& r) {
    if (!r.key || !r.value) return Status::Ok();
    const size_t slash = r.key->find('/');
    if (slash != std::string::npos) names.insert(r.key->substr(0, slash));
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext("read " + std::string(kOffsetMapTopic));
  return names;
}

Result<MapCache> MapCache::Open(const std::string& path, bool create) {
  LIFELINE_ASSIGN_OR_RETURN(auto db, sqlite::Db::Open(path, create ? sqlite::Db::Mode::kCreate
                                                                   : sqlite::Db::Mode::kReadOnly));
  MapCache cache;
  cache.db_ = std::move(db);
  if (create) {
    LIFELINE_RETURN_IF_ERROR(cache.db_.Exec(
        "CREATE TABLE IF NOT EXISTS meta (topic TEXT, partition INTEGER, source_start INTEGER, "
        "progress INTEGER, target_next INTEGER, PRIMARY KEY (topic, partition));"
        "CREATE TABLE IF NOT EXISTS runs (topic TEXT, partition INTEGER, source_start INTEGER, "
        "target_start INTEGER, length INTEGER, PRIMARY KEY (topic, partition, source_start));"
        "CREATE TABLE IF NOT EXISTS gaps (topic TEXT, partition INTEGER, source_from INTEGER, "
        "source_to INTEGER, PRIMARY KEY (topic, partition, source_from));"));
  }
  return cache;
}

Status MapCache::Save(const MapSet& maps) {
  sqlite::Transaction txn(db_);
  LIFELINE_RETURN_IF_ERROR(txn.begun());
  // Only the partitions this process holds are replaced: another process
  // of the same mirror may share the state directory.
  auto meta = db_.Prepare("INSERT INTO meta VALUES (?, ?, ?, ?, ?)");
  auto runs = db_.Prepare("INSERT INTO runs VALUES (?, ?, ?, ?, ?)");
  auto gaps = db_.Prepare("INSERT INTO gaps VALUES (?, ?, ?, ?)");
  if (!meta.ok()) return meta.status();
  if (!runs.ok()) return runs.status();
  if (!gaps.ok()) return gaps.status();
  for (const char* table : {"meta", "runs", "gaps"}) {
    LIFELINE_ASSIGN_OR_RETURN(auto del, db_.Prepare(std::string("DELETE FROM ") + table +
                                                    " WHERE topic = ? AND partition = ?"));
    for (const auto& [key, map] : maps) {
      del.Bind(1, std::string_view(key.topic.value())).Bind(2, int64_t{key.partition.value()});
      LIFELINE_RETURN_IF_ERROR(del.Run());
    }
  }
  for (const auto& [key, map] : maps) {
    meta->Bind(1, std::string_view(key.topic.value())).Bind(2, int64_t{key.partition.value()});
    meta->Bind(3, map.source_start()).Bind(4, map.progress()).Bind(5, map.target_next());
    LIFELINE_RETURN_IF_ERROR(meta->Run());
    for (const OffsetRun& r : map.runs()) {
      runs->Bind(1, std::string_view(key.topic.value())).Bind(2, int64_t{key.partition.value()});
      runs->Bind(3, r.source_start).Bind(4, r.target_start).Bind(5, r.length);
      LIFELINE_RETURN_IF_ERROR(runs->Run());
    }
    for (const Gap& g : map.gaps()) {
      gaps->Bind(1, std::string_view(key.topic.value())).Bind(2, int64_t{key.partition.value()});
      gaps->Bind(3, g.from).Bind(4, g.to);
      LIFELINE_RETURN_IF_ERROR(gaps->Run());
    }
  }
  return txn.Commit();
}

Result<MapSet> MapCache::Load() {
  StoredMaps parts;
  LIFELINE_ASSIGN_OR_RETURN(
      auto meta,
      db_.Prepare("SELECT topic, partition, source_start, progress, target_next FROM meta"));
  for (;;) {
    LIFELINE_ASSIGN_OR_RETURN(auto row, meta.Step());
    if (!row) break;
    StoredParts& p = parts[{Topic(meta.Text(0)), Partition(static_cast<int32_t>(meta.Int(1)))}];
    p.has_meta = true;
    p.source_start = meta.Int(2);
    p.progress = meta.Int(3);
    p.target_next = meta.Int(4);
  }
  LIFELINE_ASSIGN_OR_RETURN(
      auto runs,
      db_.Prepare("SELECT topic, partition, source_start, target_start, length FROM runs"));
  for (;;) {
    LIFELINE_ASSIGN_OR_RETURN(auto row, runs.Step());
    if (!row) break;
    parts[{Topic(runs.Text(0)), Partition(static_cast<int32_t>(runs.Int(1)))}].runs[runs.Int(2)] = {
        runs.Int(2), runs.Int(3), runs.Int(4)};
  }
  LIFELINE_ASSIGN_OR_RETURN(
      auto gaps, db_.Prepare("SELECT topic, partition, source_from, source_to FROM gaps"));
  for (;;) {
    LIFELINE_ASSIGN_OR_RETURN(auto row, gaps.Step());
    if (!row) break;
    parts[{Topic(gaps.Text(0)), Partition(static_cast<int32_t>(gaps.Int(1)))}].gaps[gaps.Int(2)] = {
        gaps.Int(2), gaps.Int(3)};
  }
  return Assemble(parts, db_.path(), "");
}

}  // namespace lifeline::mirror
