// The reference consumers a drill runs: real consumer-group members on their
// own threads, committing their own offsets after they have acted on each
// batch, so "processed" can be read from committed offsets alone.
//
//   release-controller  keeps the active version per prompt and scope
//   audit               appends every event to its own SQLite archive
//   evaluation          tracks candidate versions and their evaluations
//   observability       joins a runtime-trace topic (TOPIC.traces, keyed
//                       "prompt@version") to the lifecycle: traces of a
//                       version the lifecycle knows are joined, others orphans
//
// Thread-safety: Start/Stop from one thread; the accessors are safe from any.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"

namespace lifeline::drill {

class ReferenceConsumer {
 public:
  ReferenceConsumer(std::string name, std::string kind, std::string group, std::string topic,
                    std::string archive_path);
  ~ReferenceConsumer();

  // Joins the group on `cluster` and waits (up to 30 s) for an assignment.
  Status Start(const ClientConfig& cluster);
  // Commits what it processed, leaves the group, joins the thread.
  void Stop();
  bool running() const { return running_; }
  // Stays in the group (polling, heartbeating) but stops fetching its
  // partitions: a consumer that is alive and behind. Returns once the
  // consumer's own thread has paused (or resumed) its assigned partitions,
  // so nothing published after this call is processed while paused; a
  // stopped consumer takes the state when it starts again.
  Status Pause(bool paused);

  const std::string& name() const { return name_; }
  const std::string& group() const { return group_; }
  int64_t events() const { return events_; }
  Status error() const;
  // Release controller: the version it believes is active.
  std::optional<std::string> Active(const std::string& prompt, const std::string& scope) const;
  // Observability: traces joined to a known version of `prompt`, and traces
  // whose version the lifecycle has not (yet) announced.
  int64_t JoinedTraces(const std::string& prompt, const std::string& version) const;
  int64_t OrphanTraces() const;
  // Observability: the runtime-trace topic it joins (set before Start).
  void SetTraceTopic(std::string topic) { trace_topic_ = std::move(topic); }

 private:
  void Loop(ClientConfig cluster);
  // What this consumer does with one record; an error stops it uncommitted.
  Status Apply(const Record& record);

  std::string name_, kind_, group_, topic_, archive_path_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, running_{false}, assigned_{false}, paused_{false},
      paused_applied_{false};  // what Loop has done to its assignment
  std::atomic<int64_t> events_{0};
  mutable std::mutex mu_;
  Status error_;
  std::map<std::pair<std::string, std::string>, std::string> active_;  // (prompt, scope) -> version
  std::map<std::pair<std::string, std::string>, std::string> candidates_;  // evaluation
  std::map<std::pair<std::string, std::string>, int64_t> seen_;            // observability: events
  std::map<std::pair<std::string, std::string>, int64_t> joined_;          // observability: traces
  int64_t orphans_ = 0;
  std::string trace_topic_;
  struct Archive;
  std::unique_ptr<Archive> archive_;
};

}  // namespace lifeline::drill
