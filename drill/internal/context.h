// What a drill's steps run against: the clusters, the reference consumers,
// the producer, the background mirror and broker control, the clock, and
// the evidence and facts being built. One per run; steps run one at a time
// on the drill's thread, and the sampler thread reads `on_target` and
// appends to `report` under `mu`.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/envelope.h"
#include "core/kafka.h"
#include "core/sandbox.h"
#include "drill/drill.h"
#include "drill/internal/background_mirror.h"
#include "drill/internal/broker_control.h"
#include "drill/internal/consumers.h"
#include "drill/internal/drill_file.h"
#include "drill/internal/score.h"
#include "mirror/mirror.h"
#include "reports/reports.h"

namespace lifeline::drill {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;
inline constexpr Millis kAdminTimeout{15000};

struct PublishedEvent {
  std::string id, label, prompt, version, kind;
  int32_t partition = -1;
  int64_t offset = -1;
  bool on_target = false;
};

// What a broker outage must not lose: the cluster's id and, for each
// partition of the drill's topics on it, the log start and high watermark.
struct ClusterFacts {
  std::string id;
  std::map<TopicPartition, WatermarkOffsets> logs;
};

// The wall clock as RFC 3339, for the report and drill.log.
std::string Now3339();

// A 64-hex-digit digest of `seed`: the template hash of the drill's
// proposals.
std::string Hex64(std::string_view seed);

class DrillContext {
 public:
  DrillContext(DrillFile f, DrillOptions o) : file(std::move(f)), options(std::move(o)) {}

  double Elapsed() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }
  const ClientConfig& Active() const { return on_target ? target : source; }
  const ClientConfig& Cluster(Side side) const { return side == Side::kSource ? source : target; }
  void Log(const std::string& line);

  Status MakeProducer();
  std::string GroupOf(const DrillConsumer& c) const;
  std::vector<std::string> BuiltInGroups() const;
  std::vector<TopicPartition> Partitions() const;
  void StopConsumers();

  // Lifecycle events: checked as scan and replay would, produced on the
  // active cluster, recorded with their offsets.
  envelope::Event Base(envelope::Kind kind, const std::string& prompt, const std::string& version,
                       const std::string& actor) const;
  // The record for an event, with the id, source and time the drill gives
  // every event.
  Record Encode(envelope::Event* e, uint64_t n) const;
  Status CheckEnvelope(envelope::Event e, const std::string& label) const;
  Status Publish(envelope::Event e, const std::string& label, Json* ev);
  Status EnsureProposed(const std::string& prompt, const std::string& version,
                        const std::string& model, Json* ev);
  const PublishedEvent* FindEvent(const std::string& which) const;

  Result<int64_t> HighWatermark(int32_t partition);
  Result<int64_t> Lag(const std::string& group);

  // Mirroring: the options of every run, the background child, a catch-up
  // run (which first stops a background mirror: same name, same map).
  mirror::MirrorOptions MirrorOptionsFor(bool reverse) const;
  Status StartBackgroundMirror(Json* ev);
  Result<std::string> StopBackgroundMirror(int sig, Json* ev);
  Status CatchUpMirror(bool reverse, reports::StepResult* r, Json* ev);
  Status GroupsSync(bool reverse, reports::StepResult* r, Json* ev);

  // `side`'s settings as principal `name` (its file's settings, loaded at
  // set-up, over the side's; the side's bootstrap address stays), and the
  // principal as the broker knows it: User:USERNAME, or the drill's name
  // for it when the file holds no username.
  ClientConfig AsPrincipal(const std::string& name, Side side) const;
  std::string PrincipalName(const std::string& name) const;

  // A broker outage on `side`, through `brokers`.
  Status Broker(bool up, Side side, Millis timeout, reports::StepResult* r, Json* ev);

  const DrillFile file;
  const DrillOptions options;
  std::optional<EmbeddedSandbox> sandbox;
  bool embedded = false;
  ClientConfig source, target;
  std::string run_id, topic, traces, out_dir, mirror_name;
  std::atomic<bool> on_target{false};  // read by the sampler thread too
  std::unique_ptr<Producer> producer;
  std::map<uint64_t, std::pair<int32_t, int64_t>> delivered;  // tag -> partition, offset
  std::map<std::string, std::unique_ptr<ReferenceConsumer>> consumers;
  std::vector<PublishedEvent> events;
  std::map<std::pair<std::string, std::string>, std::string> live;  // (prompt, scope) -> version
  std::set<std::pair<std::string, std::string>> proposed;
  uint64_t counter = 0;
  reports::DrillReport report;
  Json extra_evidence = Json::object();  // evidence.json's "facts"
  Clock::time_point t0;
  BackgroundMirror background;
  bool exactly_once = false;  // once a mirror step asks for it, every forward run uses it
  std::unique_ptr<BrokerControl> brokers;
  std::map<Side, ClusterFacts> before_outage;      // read before stop_broker
  Facts facts;                                     // what the scorecard is computed from
  std::map<std::string, ClientConfig> principals;  // name -> its file's settings
  std::mutex mu;

 private:
  Result<ClusterFacts> ReadFacts(const ClientConfig& cluster, Millis timeout);
};

// One step's run: its context, its result and its evidence.
struct StepRun {
  DrillContext& ctx;
  const DrillStep* step;
  reports::StepResult* result;
  Json* evidence;
};

}  // namespace lifeline::drill
