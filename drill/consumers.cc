#include "drill/internal/consumers.h"

#include <fmt/format.h>

#include <chrono>
#include <variant>

#include "core/envelope.h"
#include "core/kafka.h"
#include "core/sqlite.h"

namespace lifeline::drill {

struct ReferenceConsumer::Archive {
  sqlite::Db db;
  sqlite::Stmt insert;
};

ReferenceConsumer::ReferenceConsumer(std::string name, std::string kind, std::string group,
                                     std::string topic, std::string archive_path)
    : name_(std::move(name)),
      kind_(std::move(kind)),
      group_(std::move(group)),
      topic_(std::move(topic)),
      archive_path_(std::move(archive_path)) {}

ReferenceConsumer::~ReferenceConsumer() { Stop(); }

Status ReferenceConsumer::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

std::optional<std::string> ReferenceConsumer::Active(const std::string& prompt,
                                                     const std::string& scope) const {
  std::lock_guard lock(mu_);
  auto it = active_.find({prompt, scope});
  if (it == active_.end()) return std::nullopt;
  return it->second;
}

Status ReferenceConsumer::Start(const ClientConfig& cluster) {
  if (running_) return Status::Ok();
  if (kind_ == "audit" && !archive_) {
    LIFELINE_ASSIGN_OR_RETURN(auto db, sqlite::Db::Open(archive_path_, sqlite::Db::Mode::kCreate));
    LIFELINE_RETURN_IF_ERROR(db.Exec(
        "CREATE TABLE IF NOT EXISTS events(partition INTEGER, \"offset\" INTEGER, event_id TEXT, "
        "kind TEXT, prompt TEXT, version TEXT, value BLOB)"));
    LIFELINE_ASSIGN_OR_RETURN(auto insert, db.Prepare("INSERT INTO events VALUES(?,?,?,?,?,?,?)"));
    archive_ = std::make_unique<Archive>(Archive{std::move(db), std::move(insert)});
  }
  stop_ = false;
  assigned_ = false;
  {
    std::lock_guard lock(mu_);
    error_ = Status::Ok();
  }
  // A join can stall: the embedded sandbox's coordinator holds every
  // rejoin for session.timeout.ms less 1 s (9 s here) before it elects a
  // leader, and a consumer whose first join saw no partitions yet (topic
  // metadata still on its way) rejoins once. On a loaded machine that is
  // past 10 s, so each attempt gets 30 s, three attempts.
  for (int attempt = 0; attempt < 3; ++attempt) {
    stop_ = false;
    running_ = true;
    thread_ = std::thread([this, cluster] { Loop(cluster); });
    for (int i = 0; i < 300 && !assigned_ && running_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (assigned_) return Status::Ok();
    Stop();
  }
  Status e = error();
  return e.ok() ? Status::Infra(fmt::format("consumer {} (group {}) got no partitions of {} in "
                                            "three 30 s attempts",
                                            name_, group_, topic_))
                : e;
}

Status ReferenceConsumer::Pause(bool paused) {
  paused_ = paused;
  // Up to 10 s: the loop polls in 100 ms steps, then pauses the partitions.
  for (int i = 0; i < 1000 && running_; ++i) {
    if (paused_applied_ == paused) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!running_) return Status::Ok();
  return Status::Infra(fmt::format("consumer {} (group {}) did not {} its partitions within 10 s",
                                   name_, group_, paused ? "pause" : "resume"));
}

void ReferenceConsumer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

int64_t ReferenceConsumer::JoinedTraces(const std::string& prompt,
                                        const std::string& version) const {
  std::lock_guard lock(mu_);
  auto it = joined_.find({prompt, version});
  return it == joined_.end() ? 0 : it->second;
}

int64_t ReferenceConsumer::OrphanTraces() const {
  std::lock_guard lock(mu_);
  return orphans_;
}

Status ReferenceConsumer::Apply(const Record& r) {
  if (!trace_topic_.empty() && r.topic.value() == trace_topic_) {
    // A runtime trace, keyed "prompt@version": joined when the lifecycle has
    // announced that version (an event about it was processed), else an
    // orphan — traffic from a version the registry does not know.
    const std::string key = r.key.value_or("");
    const size_t at = key.rfind('@');
    std::lock_guard lock(mu_);
    const std::pair<std::string, std::string> pv =
        at == std::string::npos ? std::pair{key, std::string()}
                                : std::pair{key.substr(0, at), key.substr(at + 1)};
    if (seen_.count(pv)) {
      ++joined_[pv];
    } else {
      ++orphans_;
    }
    return Status::Ok();
  }
  auto parsed = envelope::Parse(r);
  const auto* e = std::get_if<envelope::Event>(&parsed);
  ++events_;
  if (kind_ == "audit" && archive_) {
    sqlite::Stmt& s = archive_->insert;
    s.Bind(1, int64_t{r.partition.value()}).Bind(2, r.offset.value());
    if (e) {
      s.Bind(3, e->id)
          .Bind(4, std::string(envelope::KindName(e->kind)))
          .Bind(5, e->prompt_id)
          .Bind(6, e->version);
    }
    if (r.value) s.BindBlob(7, *r.value);
    // The archive is what this consumer does with an event: a failed write
    // must not be followed by a commit claiming it was processed.
    return s.Run().WithContext("audit archive " + archive_path_);
  }
  if (!e) return Status::Ok();
  std::lock_guard lock(mu_);
  if (kind_ == "release-controller") {
    if ((e->kind == envelope::Kind::kDeployed || e->kind == envelope::Kind::kRolloutChanged) &&
        e->rollout) {
      active_[{e->prompt_id, e->rollout->scope}] = e->version;
    } else if (e->kind == envelope::Kind::kRolledBack && e->rollback) {
      active_[{e->prompt_id, e->rollback->scope}] = e->rollback->target_version;
    }
  } else if (kind_ == "evaluation") {
    if (e->kind == envelope::Kind::kProposed) candidates_[{e->prompt_id, e->version}] = "candidate";
    if (e->kind == envelope::Kind::kEvaluated && e->evaluation) {
      candidates_[{e->prompt_id, e->version}] = e->evaluation->passed ? "passed" : "failed";
    }
  } else if (kind_ == "observability") {
    ++seen_[{e->prompt_id, e->version}];
  }
  return Status::Ok();
}

void ReferenceConsumer::Loop(ClientConfig cluster) {
  ConsumerOptions opts;
  opts.group_id = group_;
  opts.client_id = "lifeline-drill-" + name_;
  opts.read_committed = true;
  opts.auto_offset_reset = "earliest";
  // Notice the rebalance quickly; the drill stops and starts consumers.
  if (!cluster.Get("session.timeout.ms")) cluster.Set("session.timeout.ms", "10000");
  if (!cluster.Get("heartbeat.interval.ms")) cluster.Set("heartbeat.interval.ms", "1000");
  if (!cluster.Get("topic.metadata.refresh.interval.ms")) {
    cluster.Set("topic.metadata.refresh.interval.ms", "1000");
  }
  auto fail = [&](const Status& st) {
    std::lock_guard lock(mu_);
    error_ = st.WithContext("consumer " + name_);
  };
  auto consumer = Consumer::Create(cluster, opts);
  if (!consumer.ok()) {
    fail(consumer.status());
    running_ = false;
    return;
  }
  std::vector<std::string> topics = {topic_};
  if (!trace_topic_.empty()) topics.push_back(trace_topic_);
  Status st = (*consumer)->Subscribe(topics);
  if (!st.ok()) {
    fail(st);
    running_ = false;
    return;
  }
  paused_applied_ = false;
  while (!stop_) {
    if (paused_applied_ != paused_) {
      const bool paused = paused_;
      rd_kafka_topic_partition_list_t* assignment = nullptr;
      if (rd_kafka_assignment((*consumer)->handle(), &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Applied only to a real assignment; until then the next pass tries
        // again (Pause is waiting for it).
        if (assignment->cnt > 0) {
          const rd_kafka_resp_err_t err =
              paused ? rd_kafka_pause_partitions((*consumer)->handle(), assignment)
                     : rd_kafka_resume_partitions((*consumer)->handle(), assignment);
          if (err == RD_KAFKA_RESP_ERR_NO_ERROR) paused_applied_ = paused;
        }
        rd_kafka_topic_partition_list_destroy(assignment);
      }
    }
    auto batch = (*consumer)->Poll(500, Millis(100));
    if (!batch.ok()) {
      fail(batch.status());
      break;
    }
    if (!assigned_) {
      auto assignment = (*consumer)->Assignment();
      if (assignment.ok() && !assignment->empty()) assigned_ = true;
    }
    if (batch->records.empty()) continue;
    std::map<TopicPartition, Offset> next;
    if (archive_) st = archive_->db.Exec("BEGIN");
    for (const Record& r : batch->records) {
      if (!st.ok()) break;
      st = Apply(r);
      next[{r.topic, r.partition}] = Offset(r.offset.value() + 1);
    }
    if (archive_ && st.ok()) st = archive_->db.Exec("COMMIT");
    if (!st.ok()) {
      // Not acted on: nothing is committed, and the loop stops (the drill's
      // processed checks then name this error).
      fail(st);
      break;
    }
    // Acted on, then committed: the committed offset is the proof.
    st = (*consumer)->Commit(next);
    if (!st.ok()) fail(st);
  }
  (void)(*consumer)->Close();
  running_ = false;
}

}  // namespace lifeline::drill
