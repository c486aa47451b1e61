#include "replay/replay.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/bounded_queue.h"
#include "core/envelope.h"
#include "core/kafka.h"
#include "core/reader.h"
#include "core/sqlite.h"
#include "core/topic_reader.h"
#include "core/version.h"
#include "replay/internal/registry.h"
#include "replay/internal/state_hash.h"
#include "replay/internal/store.h"

namespace lifeline::replay {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr Millis kAdminTimeout{15000};
constexpr std::string_view kKafkaScheme = "kafka://";
// Hashing a finished sandbox reads every table in key order, mostly through
// indexes: mapping the file saves a pread per page. (Not during replay: the
// mapped pages would count against its memory.)
constexpr const char* kHashReadPragmas = "PRAGMA mmap_size=4294967296";

// Removes the partial file unless the sandbox was committed; a replay that
// fails or is interrupted leaves nothing behind (kill -9 leaves only the
// clearly named partial file, never a file at the --into path).
class PartialFile {
 public:
  explicit PartialFile(std::string path) : path_(std::move(path)) {}
  ~PartialFile() {
    if (!kept_) Remove();
  }
  void Remove() {
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(path_ + suffix, ec);
  }
  void Keep() { kept_ = true; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool kept_ = false;
};

// Partial files of replays that no longer run (killed hard) are removed.
void RemoveStalePartials(const std::string& into) {
  const fs::path target(into);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".partial.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    const pid_t pid = static_cast<pid_t>(std::atoll(rest.c_str()));
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
      PartialFile(entry.path().string()).Remove();
    }
  }
}

Status SyncPath(const std::string& path, bool directory) {
  const int fd = open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Infra(fmt::format("open {}: {}", path, std::strerror(errno)));
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return Status::Infra(fmt::format("fsync {}: {}", path, std::strerror(err)));
  return Status::Ok();
}

// Renames the finished sandbox into place; without `replace`, never over an
// existing file (a concurrent replay to the same path loses, loudly).
Status Publish(const std::string& from, const std::string& to, bool replace) {
  const int rc = replace
                     ? std::rename(from.c_str(), to.c_str())
                     : renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
  if (rc != 0) {
    if (errno == EEXIST) {
      return Status::Usage(
          fmt::format("{} appeared while the replay ran; pass --force to replace it", to));
    }
    return Status::Infra(fmt::format("rename {} to {}: {}", from, to, std::strerror(errno)));
  }
  const fs::path parent = fs::path(to).parent_path();
  return SyncPath(parent.empty() ? "." : parent.string(), true);
}

std::string ClusterId(rd_kafka_t* rk) {
  char* id = rd_kafka_clusterid(rk, static_cast<int>(kAdminTimeout.count()));
  if (!id) return "";
  std::string out = id;
  rd_kafka_mem_free(rk, id);
  return out;
}

struct KafkaTarget {
  std::string bootstrap;
  std::string topic;
};

Result<KafkaTarget> ParseKafkaInto(const std::string& into) {
  const std::string rest = into.substr(kKafkaScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
    return Status::Usage(
        fmt::format("--into {}: expected kafka://HOST:PORT/TOPIC, e.g. "
                    "kafka://127.0.0.1:9092/sandbox.lifecycle",
                    into));
  }
  return KafkaTarget{rest.substr(0, slash), rest.substr(slash + 1)};
}

// Resolves --from/--until into per-partition [start, end) offsets.
Status ResolveRange(Admin& admin, const ReplayOptions& o, int partitions, TopicReadOptions* read,
                    ReplaySummary* summary) {
  std::vector<TopicPartition> all;
  all.reserve(partitions);
  for (int p = 0; p < partitions; ++p) all.push_back({Topic(o.topic), Partition(p)});
  std::map<TopicPartition, Offset> from_time, until_time;
  if (o.from.time) {
    auto r = admin.OffsetsForTime(all, *o.from.time, kAdminTimeout);
    if (!r.ok()) return r.status().WithContext("source --from-time");
    from_time = std::move(r).value();
  }
  if (o.until.time) {
    LIFELINE_ASSIGN_OR_RETURN_CTX(
        until_time, admin.OffsetsForTime(all, *o.until.time, kAdminTimeout), "source --until-time");
  }
  for (const TopicPartition& tp : all) {
    auto wm = admin.Watermarks(tp, kAdminTimeout);
    if (!wm.ok()) return wm.status().WithContext("source");
    const int32_t p = tp.partition.value();
    int64_t start = wm->low.value(), end = wm->high.value();
    auto pick = [&](const Position& pos, const std::map<TopicPartition, Offset>& by_time,
                    int64_t fallback) {
      if (auto it = pos.partition_offsets.find(p); it != pos.partition_offsets.end()) {
        return it->second;
      }
      if (pos.offset) return *pos.offset;
      if (auto it = by_time.find(tp); it != by_time.end()) return it->second.value();
      return fallback;
    };
    start = std::max(start, pick(o.from, from_time, start));
    end = std::min(end, pick(o.until, until_time, end));
    if (end < start) end = start;
    read->start[tp.partition] = Offset(start);
    read->end[tp.partition] = Offset(end);
    summary->ranges[p] = {start, end};
  }
  return Status::Ok();
}

// The kafka:// sandbox: a fresh topic with the valid events (same partition,
// key, value, headers, timestamp, order) and TOPIC.quarantine with the rest,
// written in one transaction so a consumer never sees a partial sandbox.
class TopicSink {
 public:
  static Result<std::unique_ptr<TopicSink>> Open(const ReplayOptions& o, const KafkaTarget& t,
                                                 int partitions) {
    std::unique_ptr<TopicSink> sink(new TopicSink());
    sink->topic_ = t.topic;
    sink->quarantine_ = t.topic + ".quarantine";
    ClientConfig config = o.into_config;
    config.Set("bootstrap.servers", t.bootstrap);
    auto admin = Admin::Create(config);
    if (!admin.ok()) return admin.status().WithContext("sandbox cluster");
    auto topics = (*admin)->ListTopics(kAdminTimeout);
    if (!topics.ok()) return topics.status().WithContext("sandbox cluster");
    for (const std::string& name : {sink->topic_, sink->quarantine_}) {
      if (!topics->count(name)) continue;
      if (!o.force) {
        return Status::Usage(fmt::format(
            "sandbox topic {} already exists on {}; a sandbox must be new: choose another topic "
            "or pass --force to delete and recreate it",
            name, t.bootstrap));
      }
      LIFELINE_RETURN_IF_ERROR((*admin)->DeleteTopic(name, kAdminTimeout));
    }
    for (const std::string& name : {sink->topic_, sink->quarantine_}) {
      TopicSpec spec;
      spec.name = name;
      spec.partitions = partitions;
      spec.configs = {{"retention.ms", "-1"}, {"max.message.bytes", "10485760"}};
      // A deleted topic of the same name can take a moment to go away.
      Status st;
      for (int attempt = 0; attempt < 50; ++attempt) {
        st = (*admin)->CreateTopic(spec, kAdminTimeout);
        if (st.ok() || st.message().find("marked for deletion") == std::string::npos) break;
        std::this_thread::sleep_for(Millis(200));
      }
      LIFELINE_RETURN_IF_ERROR(st.WithContext("sandbox topic " + name));
      LIFELINE_RETURN_IF_ERROR((*admin)->WaitForTopic(name, partitions, kAdminTimeout));
    }
    ProducerOptions popts;
    popts.client_id = "lifeline-replay";
    popts.transactional_id = "lifeline-replay-" + t.topic;
    popts.linger_ms = 5;
    if (!config.Get("transaction.timeout.ms")) config.Set("transaction.timeout.ms", "900000");
    if (!config.Get("message.max.bytes")) config.Set("message.max.bytes", "10485760");
    TopicSink* raw = sink.get();
    auto producer = Producer::Create(config, popts, [raw](const DeliveryReport& dr) {
      if (dr.err) return;
      int64_t& end = raw->ends_[dr.where];
      end = std::max(end, dr.offset.value() + 1);
    });
    if (!producer.ok()) return producer.status().WithContext("sandbox cluster");
    sink->admin_ = std::move(admin).value();
    sink->producer_ = std::move(producer).value();
    LIFELINE_RETURN_IF_ERROR(sink->producer_->InitTransactions(kAdminTimeout));
    LIFELINE_RETURN_IF_ERROR(sink->producer_->BeginTransaction());
    return sink;
  }

  Status Add(const Record& r, const Outcome& outcome) {
    Record copy = r;
    if (outcome.kind == Outcome::Kind::kQuarantined) {
      copy.topic = Topic(quarantine_);
      copy.headers.push_back({"lifeline.quarantine.reason", outcome.reason});
      copy.headers.push_back(
          {"lifeline.source",
           fmt::format("{}/{}/{}", r.topic.value(), r.partition.value(), r.offset.value())});
    } else {
      copy.topic = Topic(topic_);
      ++written_;
    }
    copy.timestamp_type = TimestampType::kCreateTime;
    LIFELINE_RETURN_IF_ERROR(producer_->Send(copy));
    producer_->Poll(Millis(0));
    return Status::Ok();
  }

  // Commits, then waits until read_committed consumers can see every record:
  // the commit returns before the brokers have written the transaction
  // markers, and a consumer that starts earlier would see an empty sandbox.
  Status Commit() {
    LIFELINE_RETURN_IF_ERROR(producer_->Flush(Millis(600000)));
    LIFELINE_RETURN_IF_ERROR(producer_->CommitTransaction(Millis(600000)));
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    for (const auto& [tp, end] : ends_) {
      for (;;) {
        LIFELINE_ASSIGN_OR_RETURN(auto wm, admin_->Watermarks(tp, kAdminTimeout));
        if (wm.high.value() >= end) break;
        if (Clock::now() > deadline) {
          return Status::Infra(fmt::format(
              "{} [{}]: the committed records are still not visible after 60 s (last stable "
              "offset {}, expected {})",
              tp.topic.value(), tp.partition.value(), wm.high.value(), end));
        }
        std::this_thread::sleep_for(Millis(50));
      }
    }
    return Status::Ok();
  }

  int64_t written() const { return written_; }

 private:
  TopicSink() = default;
  std::string topic_, quarantine_;
  std::unique_ptr<Admin> admin_;
  std::unique_ptr<Producer> producer_;
  std::map<TopicPartition, int64_t> ends_;  // per partition: last delivered offset + 1
  int64_t written_ = 0;
};

// Emptied batches (a `size` member and reusable items) kept for refilling:
// the thread that empties them puts them back, the one that fills them takes
// them, so a steady pipeline allocates nothing per batch. At most `keep` are
// kept; a Take with none left gives a new, empty batch.
template <typename Batch>
class SpareBatches {
 public:
  explicit SpareBatches(size_t keep) : keep_(keep) {}
  void Put(Batch batch) {
    batch.size = 0;
    std::lock_guard lock(mu_);
    if (spare_.size() < keep_) spare_.push_back(std::move(batch));
  }
  Batch Take() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) return {};
    Batch b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }

 private:
  const size_t keep_;
  std::mutex mu_;
  std::vector<Batch> spare_;
};

// Runs `writer` on its own thread: outcomes go over in batches through a
// bounded queue, so the fold and SQLite run side by side and memory stays
// flat however fast the topic reads. Written batches come back to be
// refilled in place: their outcomes keep their strings' storage, so the fold
// allocates little per record and the writer frees nothing the fold made.
// Finish waits for every write.
class BackgroundWriter {
 public:
  struct Batch {
    std::vector<std::pair<Coordinates, Outcome>> items;
    size_t size = 0;  // items[0, size) hold this batch
  };
  static constexpr size_t kBatch = 2048;

  explicit BackgroundWriter(SandboxWriter* writer)
      : thread_([this, writer] {
          Batch batch;
          while (queue_.Pop(&batch)) {
            for (size_t i = 0; i < batch.size; ++i) {
              Status st = writer->Add(batch.items[i].first, batch.items[i].second);
              if (!st.ok()) return queue_.Close(st);
            }
            Recycle(std::move(batch));
          }
        }) {}
  ~BackgroundWriter() {
    if (thread_.joinable()) {
      queue_.Close(Status::Interrupted("replay stopped"));
      thread_.join();
    }
  }
  // Where the fold writes the outcome of `r`; Add hands it over.
  Outcome* Slot(const Record& r) {
    if (pending_.size == pending_.items.size()) pending_.items.emplace_back();
    auto& [at, outcome] = pending_.items[pending_.size];
    at = Coordinates{r.partition.value(), r.offset.value(), r.timestamp.value(), r.timestamp_type};
    return &outcome;
  }
  Status Add() {
    if (++pending_.size < kBatch) return Status::Ok();
    if (!queue_.Push(std::move(pending_))) return queue_.error();
    pending_ = Spare();
    return Status::Ok();
  }
  // Writes what is pending and waits until everything is written.
  Status Finish() {
    if (pending_.size > 0) (void)queue_.Push(std::move(pending_));
    pending_ = {};
    queue_.Close();
    thread_.join();
    return queue_.error();
  }

 private:
  static constexpr size_t kQueueBatches = 8;
  void Recycle(Batch batch) { spare_.Put(std::move(batch)); }
  Batch Spare() { return spare_.Take(); }

  BoundedQueue<Batch> queue_{kQueueBatches};
  SpareBatches<Batch> spare_{kQueueBatches + 2};
  Batch pending_;
  std::thread thread_;
};

// Reads the replay's ranges through the reader seam (core/reader.h: the raw
// backend wherever the configuration is plaintext) on a thread of its own,
// handing whole Records to the fold in batches, so decoding and copying run
// beside the fold instead of inside it. Emptied batches come back to be
// refilled: their Records keep their buffers, so a steady read allocates
// nothing per record.
class PipelinedRead : public RecordSink {
 public:
  struct Batch {
    std::vector<Record> records;
    size_t size = 0;  // records[0, size) hold this batch
  };
  static constexpr size_t kBatch = 1024;

  PipelinedRead(ClientConfig config, std::vector<ReadRange> ranges)
      : config_(std::move(config)), ranges_(std::move(ranges)), fill_(Fresh()) {
    thread_ = std::thread([this] {
      Status st = ReadRanges(config_, ranges_, this);
      if (st.ok() && fill_.size > 0) (void)queue_.Push(std::move(fill_));
      queue_.Close(std::move(st));
    });
  }
  ~PipelinedRead() override {
    queue_.Close(Status::Interrupted("replay stopped"));
    thread_.join();
  }

  // The next batch, or false at the end of the read or after an error
  // (error() says which).
  bool Next(Batch* out) { return queue_.Pop(out); }
  void Recycle(Batch batch) { spare_.Put(std::move(batch)); }
  Status error() { return queue_.error(); }

  Status OnRecord(size_t range, const RecordView& view) override {
    if (fill_.size == fill_.records.size()) fill_.records.emplace_back();
    CopyRecord(ranges_[range].tp, view, &fill_.records[fill_.size++]);
    if (fill_.size < kBatch) return Status::Ok();
    if (!queue_.Push(std::move(fill_))) return Status::Interrupted("replay stopped");
    fill_ = Fresh();
    return Status::Ok();
  }

 private:
  static constexpr size_t kQueueBatches = 8;
  Batch Fresh() { return spare_.Take(); }

  const ClientConfig config_;  // owned, so the reader thread borrows nothing from its caller
  const std::vector<ReadRange> ranges_;
  BoundedQueue<Batch> queue_{kQueueBatches};
  SpareBatches<Batch> spare_{kQueueBatches + 2};
  Batch fill_;
  std::thread thread_;
};

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return envelope::FormatRfc3339(
      TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

}  // namespace

Result<ReplaySummary> Run(const ReplayOptions& o, const ReplayProgress& progress) {
  const auto started = Clock::now();
  ReplaySummary summary;
  summary.into = o.into;
  summary.topic = o.topic;
  if (o.into.empty()) {
    return Status::Usage("--into is required: a new FILE.db, or kafka://HOST:PORT/TOPIC");
  }
  const bool to_kafka = o.into.rfind(kKafkaScheme, 0) == 0;
  std::optional<KafkaTarget> kafka_target;
  if (to_kafka) {
    LIFELINE_ASSIGN_OR_RETURN(auto t, ParseKafkaInto(o.into));
    kafka_target = t;
  } else {
    std::error_code ec;
    if (fs::is_directory(o.into, ec)) {
      return Status::Usage(fmt::format(
          "--into {}: is a directory; name the sandbox file to create (e.g. {}/registry.db)",
          o.into, o.into));
    }
    if (fs::exists(o.into, ec) && !o.force) {
      return Status::Usage(fmt::format(
          "{} already exists; a sandbox must be new: choose another path or pass --force to "
          "replace it",
          o.into));
    }
    const fs::path parent = fs::path(o.into).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec)) {
      return Status::Usage(
          fmt::format("--into {}: directory {} does not exist", o.into, parent.string()));
    }
  }

  auto admin = Admin::Create(o.source);
  if (!admin.ok()) return admin.status().WithContext("source");
  auto partitions = (*admin)->PartitionCount(o.topic, kAdminTimeout);
  if (!partitions.ok()) return partitions.status().WithContext("source");
  summary.cluster_id = ClusterId((*admin)->handle());
  TopicReadOptions read;
  read.topic = o.topic;
  LIFELINE_RETURN_IF_ERROR(ResolveRange(**admin, o, *partitions, &read, &summary));

  // The fold spills next to the sandbox (the directory that must have room for
  // it anyway), or to the temporary directory for a sandbox topic.
  RegistryOptions fold;
  if (!to_kafka) {
    fold.spill_dir = std::filesystem::path(o.into).parent_path().string();
    if (fold.spill_dir.empty()) fold.spill_dir = ".";
  }
  Registry registry(fold);
  std::unique_ptr<TopicSink> sink;
  std::optional<PartialFile> partial;
  std::optional<sqlite::Db> db;
  std::optional<SandboxWriter> writer;
  if (to_kafka) {
    LIFELINE_ASSIGN_OR_RETURN(auto s, TopicSink::Open(o, *kafka_target, *partitions));
    sink = std::move(s);
  } else {
    RemoveStalePartials(o.into);
    partial.emplace(fmt::format("{}.partial.{}", o.into, getpid()));
    partial->Remove();
    LIFELINE_ASSIGN_OR_RETURN(auto opened,
                              sqlite::Db::Open(partial->path(), sqlite::Db::Mode::kCreate));
    db.emplace(std::move(opened));
    // A private file until it is renamed into place: no WAL (a sandbox is
    // one file), no fsync per commit (one fsync before the rename).
    LIFELINE_RETURN_IF_ERROR(
        db->Exec("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA cache_size=-32768"));
    writer.emplace(&*db);
    LIFELINE_RETURN_IF_ERROR(writer->Begin());
  }

  std::optional<BackgroundWriter> background;
  if (writer) background.emplace(&*writer);
  auto last_progress = Clock::now();
  Outcome unwritten;  // the outcome when no sandbox file is written
  auto apply = [&](const Record& r) {
    Outcome* outcome = background ? background->Slot(r) : &unwritten;
    registry.Apply(r, outcome);
    if (registry.read() % 65536 == 0) LIFELINE_RETURN_IF_ERROR(registry.status());
    if (sink) LIFELINE_RETURN_IF_ERROR(sink->Add(r, *outcome));
    if (background) LIFELINE_RETURN_IF_ERROR(background->Add());
    if (progress && Clock::now() - last_progress > std::chrono::seconds(1)) {
      last_progress = Clock::now();
      progress(registry.read());
    }
    return Status::Ok();
  };
  {
    std::vector<ReadRange> ranges;
    for (const auto& [p, r] : summary.ranges) {
      // Empty ones too: the reader probes their end (range_end.h).
      if (r.first <= r.second)
        ranges.push_back({{Topic(o.topic), Partition(p)}, r.first, r.second});
    }
    PipelinedRead reader(o.source, std::move(ranges));
    PipelinedRead::Batch batch;
    Status st;
    while (st.ok() && reader.Next(&batch)) {
      for (size_t i = 0; i < batch.size && st.ok(); ++i) st = apply(batch.records[i]);
      reader.Recycle(std::move(batch));
    }
    if (st.ok()) st = reader.error();
    if (st.code() == ExitCode::kInterrupted)
      st = Status::Interrupted("read of " + o.topic + " interrupted");
    if (!st.ok()) return st.WithContext("replay " + o.topic);
  }
  if (background) {
    LIFELINE_RETURN_IF_ERROR(background->Finish().WithContext("sandbox"));
    background.reset();
  }
  const std::vector<LateViolation> late = registry.Finish();
  LIFELINE_RETURN_IF_ERROR(registry.status());
  auto phase = Clock::now();
  summary.read_seconds = std::chrono::duration<double>(phase - started).count();
  auto lap = [&phase] {
    const auto now = Clock::now();
    const double s = std::chrono::duration<double>(now - phase).count();
    phase = now;
    return s;
  };

  summary.read = registry.read();
  summary.applied = registry.applied();
  summary.duplicates = registry.duplicates();
  summary.quarantined = registry.quarantined();
  summary.violations = registry.violations();
  summary.prompts = registry.prompt_count();
  summary.quarantine_by_reason = registry.quarantine_by_reason();
  summary.violations_by_code = registry.violations_by_code();
  if (summary.read != summary.applied + summary.duplicates + summary.quarantined) {
    return Status::Infra(
        fmt::format("replay lost track of records: read {} != applied {} + "
                    "duplicates {} + quarantined {}",
                    summary.read, summary.applied, summary.duplicates, summary.quarantined));
  }

  if (sink) {
    LIFELINE_RETURN_IF_ERROR(sink->Commit().WithContext("sandbox topic"));
    summary.written = sink->written();
  } else {
    nlohmann::ordered_json ranges = nlohmann::ordered_json::object();
    for (const auto& [p, r] : summary.ranges) ranges[std::to_string(p)] = {r.first, r.second};
    std::vector<std::pair<std::string, std::string>> meta = {
        {"format", std::to_string(kSandboxFormat)},
        {"lifeline_version", kVersion},
        {"created_at", NowRfc3339()},
        {"source_bootstrap", o.source.bootstrap()},
        {"cluster_id", summary.cluster_id},
        {"topic", o.topic},
        {"partitions", std::to_string(*partitions)},
        {"ranges", ranges.dump()},
        {"read", std::to_string(summary.read)},
        {"applied", std::to_string(summary.applied)},
        {"duplicates", std::to_string(summary.duplicates)},
        {"quarantined", std::to_string(summary.quarantined)},
        {"violations", std::to_string(summary.violations)},
        {"prompts", std::to_string(summary.prompts)},
    };
    LIFELINE_RETURN_IF_ERROR(writer->WriteState(registry, late));
    LIFELINE_RETURN_IF_ERROR(registry.status());  // spilled prompts read back for it
    // Before SQLite sorts for the versions table and the indexes: the fold's
    // memory, and the reader's and writer queue's freed pages, go back.
    registry.Release();
    malloc_trim(0);
    LIFELINE_RETURN_IF_ERROR(writer->Finish(meta));
    auto ranges_stmt = db->Prepare("INSERT INTO replay_ranges VALUES(?,?,?,?)");
    if (!ranges_stmt.ok()) return ranges_stmt.status();
    auto counts = db->Prepare("SELECT partition, count(*) FROM provenance GROUP BY partition");
    if (!counts.ok()) return counts.status();
    std::map<int64_t, int64_t> per_partition;
    for (;;) {
      LIFELINE_ASSIGN_OR_RETURN(auto row, counts->Step());
      if (!row) break;
      per_partition[counts->Int(0)] = counts->Int(1);
    }
    counts = sqlite::Stmt();
    for (const auto& [p, r] : summary.ranges) {
      LIFELINE_RETURN_IF_ERROR(ranges_stmt->Bind(1, int64_t{p})
                                   .Bind(2, r.first)
                                   .Bind(3, r.second)
                                   .Bind(4, per_partition[p])
                                   .Run());
    }
    ranges_stmt = sqlite::Stmt();
    summary.write_seconds = lap();
    LIFELINE_ASSIGN_OR_RETURN(auto hash, HashState(*db, false));
    summary.state = std::move(hash);
    summary.hash_seconds = lap();
    LIFELINE_RETURN_IF_ERROR(writer->SetMeta("state_hash", summary.state.total.Hex()));
    LIFELINE_RETURN_IF_ERROR(writer->SetMeta("complete", "true"));
    LIFELINE_RETURN_IF_ERROR(writer->Commit());
    LIFELINE_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=DELETE"));
    writer.reset();
    db.reset();  // closes the file
    LIFELINE_RETURN_IF_ERROR(SyncPath(partial->path(), false));
    LIFELINE_RETURN_IF_ERROR(Publish(partial->path(), o.into, o.force));
    partial->Keep();
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

Result<StateDigest> HashSandbox(const std::string& path, bool by_prompt) {
  LIFELINE_ASSIGN_OR_RETURN(auto db, OpenSandboxFile(path));
  LIFELINE_RETURN_IF_ERROR(ReadMeta(db, path).status());  // refuses an incomplete sandbox
  if (!by_prompt) return HashStateFile(path, kHashReadPragmas);
  LIFELINE_RETURN_IF_ERROR(db.Exec(kHashReadPragmas));
  return HashState(db, by_prompt);
}

std::string FormatSummaryText(const ReplaySummary& s) {
  std::string out = fmt::format(
      "replayed {} into {}: {} records read = {} applied + {} duplicate(s) + {} quarantined; "
      "{} prompt(s), {} violation(s)\n",
      s.topic, s.into, s.read, s.applied, s.duplicates, s.quarantined, s.prompts, s.violations);
  for (const auto& [p, r] : s.ranges) {
    out += fmt::format("  partition {}: offsets [{}, {})\n", p, r.first, r.second);
  }
  if (!s.quarantine_by_reason.empty()) {
    out += "  quarantined by reason:";
    for (const auto& [reason, n] : s.quarantine_by_reason) out += fmt::format(" {}={}", reason, n);
    out += "\n";
  }
  if (!s.violations_by_code.empty()) {
    out += "  violations:";
    for (const auto& [code, n] : s.violations_by_code) out += fmt::format(" {}={}", code, n);
    out += "\n";
  }
  if (s.into.rfind(kKafkaScheme, 0) == 0) {
    out += fmt::format("  sandbox topic: {} valid event(s) written, {} to the quarantine topic\n",
                       s.written, s.quarantined);
  } else {
    out += fmt::format("  state hash {}\n", s.state.total.Hex());
  }
  out += fmt::format("  {:.2f} s ({:.0f} records/s)\n", s.seconds,
                     s.seconds > 0 ? s.read / s.seconds : 0.0);
  return out;
}

nlohmann::ordered_json SummaryToJson(const ReplaySummary& s) {
  nlohmann::ordered_json j;
  j["into"] = s.into;
  j["topic"] = s.topic;
  j["cluster_id"] = s.cluster_id;
  j["read"] = s.read;
  j["applied"] = s.applied;
  j["duplicates"] = s.duplicates;
  j["quarantined"] = s.quarantined;
  j["violations"] = s.violations;
  j["prompts"] = s.prompts;
  j["quarantine_by_reason"] = s.quarantine_by_reason;
  j["violations_by_code"] = s.violations_by_code;
  nlohmann::ordered_json ranges = nlohmann::ordered_json::object();
  for (const auto& [p, r] : s.ranges) ranges[std::to_string(p)] = {r.first, r.second};
  j["ranges"] = ranges;
  if (s.into.rfind(kKafkaScheme, 0) == 0) {
    j["written"] = s.written;
  } else {
    j["state_hash"] = s.state.total.Hex();
  }
  j["seconds"] = s.seconds;
  j["read_seconds"] = s.read_seconds;
  j["write_seconds"] = s.write_seconds;
  j["hash_seconds"] = s.hash_seconds;
  return j;
}

std::string FormatSummaryJson(const ReplaySummary& s) { return SummaryToJson(s).dump(2) + "\n"; }

}  // namespace lifeline::replay
