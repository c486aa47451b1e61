#include "drill/internal/context.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <csignal>
#include <regex>
#include <thread>

namespace lifeline::drill {
namespace {

Json LogsJson(const ClusterFacts& f) {
  Json out = Json::array();
  for (const auto& [tp, wm] : f.logs) {
    out.push_back({{"topic", tp.topic.value()},
                   {"partition", tp.partition.value()},
                   {"log_start", wm.low.value()},
                   {"high_watermark", wm.high.value()}});
  }
  return out;
}

// What was lost between `before` (read before the stop) and `after`: a new
// cluster id, a partition gone, records gone from either end.
std::vector<std::string> Losses(const ClusterFacts& before, const ClusterFacts& after) {
  std::vector<std::string> lost;
  if (after.id != before.id) {
    lost.push_back(
        fmt::format("the cluster id changed from {} to {} (a new cluster, not the "
                    "one that was stopped)",
                    before.id, after.id));
  }
  for (const auto& [tp, wm] : before.logs) {
    auto it = after.logs.find(tp);
    if (it == after.logs.end()) {
      lost.push_back(fmt::format("{} [{}] is gone", tp.topic.value(), tp.partition.value()));
    } else if (it->second.low > wm.low || it->second.high < wm.high) {
      lost.push_back(fmt::format("{} [{}] held offsets {}..{} before the stop, {}..{} after",
                                 tp.topic.value(), tp.partition.value(), wm.low.value(),
                                 wm.high.value(), it->second.low.value(), it->second.high.value()));
    }
  }
  return lost;
}

}  // namespace

std::string Now3339() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return envelope::FormatRfc3339(
      TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

std::string Hex64(std::string_view seed) {
  const XXH128_hash_t a = XXH3_128bits(seed.data(), seed.size());
  const XXH128_hash_t b = XXH3_128bits_withSeed(seed.data(), seed.size(), 1);
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", a.high64, a.low64, b.high64, b.low64);
}

void DrillContext::Log(const std::string& line) {
  std::fprintf(stderr, "%s drill: %s\n", Now3339().c_str(), line.c_str());
  std::fflush(stderr);
}

Status DrillContext::MakeProducer() {
  producer.reset();
  ProducerOptions popts;
  popts.client_id = "lifeline-drill";
  auto p = Producer::Create(Active(), popts, [this](const DeliveryReport& dr) {
    if (!dr.err) delivered[dr.tag] = {dr.where.partition.value(), dr.offset.value()};
  });
  if (!p.ok()) return p.status();
  producer = std::move(p).value();
  return Status::Ok();
}

ClientConfig DrillContext::AsPrincipal(const std::string& name, Side side) const {
  ClientConfig out = Cluster(side);
  for (const auto& [k, v] : principals.at(name).properties()) {
    if (k != "bootstrap.servers") out.Set(k, v);
  }
  return out;
}

std::string DrillContext::PrincipalName(const std::string& name) const {
  auto user = principals.at(name).Get("sasl.username");
  return user ? "User:" + *user : name;
}

std::string DrillContext::GroupOf(const DrillConsumer& c) const {
  auto it = consumers.find(c.name);
  return it != consumers.end() ? it->second->group() : c.group;
}

std::vector<TopicPartition> DrillContext::Partitions() const {
  std::vector<TopicPartition> out;
  out.reserve(file.partitions);
  for (int p = 0; p < file.partitions; ++p) out.push_back({Topic(topic), Partition(p)});
  return out;
}

// The record for an event, with the id, source and time the drill gives
// every event.
Record DrillContext::Encode(envelope::Event* e, uint64_t n) const {
  e->id = fmt::format("drill-{}-{}", run_id, n);
  e->source = "/lifeline/drill/" + file.name;
  e->time_ms = TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
  Record rec = envelope::EncodeBinary(*e);
  rec.topic = Topic(topic);
  return rec;
}

// lifeline's own envelope check (what scan and replay apply): an event
// that would be quarantined fails its step and is never produced, so no
// later step reads a stream the drill broke itself.
Status DrillContext::CheckEnvelope(envelope::Event e, const std::string& label) const {
  const auto parsed = envelope::Parse(Encode(&e, counter + 1));
  if (const auto* bad = std::get_if<envelope::Rejection>(&parsed)) {
    return Status::CheckFailed(
        fmt::format("{}: the event would be quarantined ({}: {}); not "
                    "produced",
                    label, envelope::ReasonCode(bad->reason), bad->detail));
  }
  return Status::Ok();
}

// Publishes one lifecycle event on the active cluster and waits for its
// offset.
Status DrillContext::Publish(envelope::Event e, const std::string& label, Json* ev) {
  LIFELINE_RETURN_IF_ERROR(CheckEnvelope(e, label));
  Record rec = Encode(&e, ++counter);
  const uint64_t tag = counter;
  LIFELINE_RETURN_IF_ERROR(producer->Send(rec, tag));
  LIFELINE_RETURN_IF_ERROR(producer->Flush(Millis(30000)));
  auto it = delivered.find(tag);
  if (it == delivered.end()) return Status::Infra("event " + e.id + " was not delivered");
  PublishedEvent p{e.id,
                   label,
                   e.prompt_id,
                   e.version,
                   std::string(envelope::KindName(e.kind)),
                   it->second.first,
                   it->second.second,
                   on_target};
  events.push_back(p);
  (*ev)["events"].push_back(
      {{"id", p.id}, {"kind", p.kind}, {"partition", p.partition}, {"offset", p.offset}});
  return Status::Ok();
}

envelope::Event DrillContext::Base(envelope::Kind kind, const std::string& prompt,
                                   const std::string& version, const std::string& actor) const {
  envelope::Event e;
  e.kind = kind;
  e.prompt_id = prompt;
  e.version = version;
  e.actor = actor;
  return e;
}

Status DrillContext::EnsureProposed(const std::string& prompt, const std::string& version,
                                    const std::string& model, Json* ev) {
  if (proposed.count({prompt, version})) return Status::Ok();
  envelope::Event p = Base(envelope::Kind::kProposed, prompt, version, "author@drill");
  p.tmpl = envelope::Template{Hex64(prompt + "@" + version), {"input"}, ""};
  p.dependencies = envelope::Dependencies{model, "rp-1", "tools@1", "sp-1"};
  LIFELINE_RETURN_IF_ERROR(Publish(p, fmt::format("propose {} {}", prompt, version), ev));
  envelope::Event a = Base(envelope::Kind::kApproved, prompt, version, "lead@drill");
  a.approval = envelope::Approval{"lead@drill", "DRILL-" + run_id};
  LIFELINE_RETURN_IF_ERROR(Publish(a, fmt::format("approve {} {}", prompt, version), ev));
  envelope::Event x = Base(envelope::Kind::kEvaluated, prompt, version, "eval@drill");
  x.evaluation = envelope::Evaluation{prompt + "-regression", "drill", true, 0.95};
  LIFELINE_RETURN_IF_ERROR(Publish(x, fmt::format("evaluate {} {}", prompt, version), ev));
  proposed.insert({prompt, version});
  return Status::Ok();
}

const PublishedEvent* DrillContext::FindEvent(const std::string& which) const {
  if (events.empty()) return nullptr;
  if (which.empty() || which == "last") return &events.back();
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->id == which || it->kind == which) return &*it;
  }
  return nullptr;
}

Result<int64_t> DrillContext::HighWatermark(int32_t partition) {
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(Active()));
  auto wm = admin->Watermarks({Topic(topic), Partition(partition)}, kAdminTimeout);
  if (!wm.ok()) return wm.status();
  return wm->high.value();
}

Result<int64_t> DrillContext::Lag(const std::string& group) {
  LIFELINE_ASSIGN_OR_RETURN(auto committed,
                            CommittedOffsets(Active(), group, Partitions(), Millis(5000)));
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(Active()));
  int64_t lag = 0;
  for (const TopicPartition& tp : Partitions()) {
    LIFELINE_ASSIGN_OR_RETURN(auto wm, admin->Watermarks(tp, kAdminTimeout));
    const int64_t c = committed.count(tp) ? committed.at(tp).value() : wm.low.value();
    lag += std::max<int64_t>(0, wm.high.value() - c);
  }
  return lag;
}

mirror::MirrorOptions DrillContext::MirrorOptionsFor(bool reverse) const {
  mirror::MirrorOptions o;
  o.source = source;
  o.target = target;
  // The lifecycle topic and the runtime traces: everything the drill's
  // consumers read moves with them.
  o.topics =
      std::regex_replace(topic, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + R"((\.traces)?)";
  o.name = mirror_name;
  o.create_topics = !embedded;
  o.read_configs = !embedded;
  o.exactly_once = exactly_once && !reverse;
  o.state_dir = out_dir + "/mirror-state";
  o.reverse = reverse;
  return o;
}

std::vector<std::string> DrillContext::BuiltInGroups() const {
  std::vector<std::string> out;
  for (const auto& [name, c] : consumers) out.push_back(c->group());
  return out;
}

void DrillContext::StopConsumers() {
  for (auto& [name, c] : consumers) c->Stop();
}

Status DrillContext::GroupsSync(bool reverse, reports::StepResult* r, Json* ev) {
  // A group moves whole and only while nobody consumes it.
  StopConsumers();
  mirror::GroupSyncOptions o;
  o.source = source;
  o.target = target;
  o.name = mirror_name;
  o.groups = BuiltInGroups();
  o.reverse = reverse;
  // The drill names no members on the embedded sandbox: it stopped every
  // consumer of these groups above.
  LIFELINE_ASSIGN_OR_RETURN(auto plans,
                            embedded ? mirror::SyncGroupsAsNonMember(o) : mirror::SyncGroups(o));
  (*ev)["plans"] = mirror::DescribePlans(plans, false);
  std::vector<std::string> refused;
  for (const auto& p : plans) {
    if (!p.applied) refused.push_back(p.group + ": " + p.refusal);
  }
  if (!refused.empty()) {
    return Status::CheckFailed(fmt::format("group(s) not moved: {}", fmt::join(refused, "; ")));
  }
  facts.synced = true;
  r->message = fmt::format("{} group(s) moved {}{}", plans.size(),
                           reverse ? "back to the source" : "to the target",
                           embedded ? " (embedded: committed as a non-member)" : "");
  return Status::Ok();
}

Result<ClusterFacts> DrillContext::ReadFacts(const ClientConfig& cluster, Millis timeout) {
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(cluster));
  ClusterFacts f;
  // A fresh handle: the id comes from a metadata answer of this broker.
  char* id = rd_kafka_clusterid(admin->handle(), static_cast<int>(timeout.count()));
  if (!id) {
    return Status::Transient(fmt::format("{}: no cluster id from a metadata request within {} ms",
                                         cluster.bootstrap(), timeout.count()));
  }
  f.id = id;
  rd_kafka_mem_free(admin->handle(), id);
  LIFELINE_ASSIGN_OR_RETURN(auto topics, admin->ListTopics(timeout));
  for (const std::string& t : {topic, traces}) {
    auto it = topics.find(t);
    if (it == topics.end()) continue;
    for (int p = 0; p < it->second; ++p) {
      const TopicPartition tp{Topic(t), Partition(p)};
      LIFELINE_ASSIGN_OR_RETURN(auto wm, admin->Watermarks(tp, timeout));
      f.logs[tp] = wm;
    }
  }
  return f;
}

// A broker outage through `brokers`. Before the stop the drill reads the
// cluster id and its topics' offsets; after the start it checks both
// survived, so a drill cannot pass on a freshly formatted cluster.
Status DrillContext::Broker(bool up, Side which, const Millis timeout, reports::StepResult* r,
                            Json* ev) {
  const std::string side = SideName(which);
  const ClientConfig& cluster = Cluster(which);
  Json e = {{"side", side}, {"action", up ? "start" : "stop"}};
  LIFELINE_ASSIGN_OR_RETURN(const BrokerTarget located,
                            brokers->Locate(side, cluster, up ? "start_broker" : "stop_broker"));
  const std::string name = located.name;
  e["cluster"] = name;
  e["stays_available"] = located.stays_available;
  if (!up) {
    auto before = ReadFacts(cluster, kAdminTimeout);
    if (!before.ok()) return before.status().WithContext("before the outage");
    e["cluster_id"] = before->id;
    e["logs"] = LogsJson(*before);
    before_outage[which] = *before;
  }
  if (Status st = brokers->SetUp(side, located, up); !st.ok()) {
    // A script that failed leaves the step's evidence behind (its log says
    // why); the sandbox's refusal is the error as it stands.
    if (!embedded) (*ev)["broker"].push_back(e);
    return st;
  }
  if (!up && located.stays_available) {
    // One broker of several: the others must go on serving the topics.
    auto still = ReadFacts(cluster, kAdminTimeout);
    e["answers_while_stopped"] = still.ok();
    (*ev)["broker"].push_back(e);
    if (!still.ok()) {
      return still.status().WithContext(
          fmt::format("{} stops answering while one broker is down", cluster.bootstrap()));
    }
    r->message = fmt::format(
        "stopped {} (cluster id {}; {} partition(s) recorded); the cluster "
        "still serves them",
        name, before_outage[which].id, before_outage[which].logs.size());
    return Status::Ok();
  }
  if (!up) {
    // An outage has to be one: nothing may answer for the cluster now.
    auto still = ReadFacts(cluster, Millis(3000));
    e["answers_while_stopped"] = still.ok();
    (*ev)["broker"].push_back(e);
    if (still.ok()) {
      return Status::CheckFailed(
          fmt::format("{} still answers after its broker was stopped", cluster.bootstrap()));
    }
    r->message = fmt::format("stopped broker {} ({}, cluster id {}; {} partition(s) recorded)",
                             side, name, before_outage[which].id, before_outage[which].logs.size());
    return Status::Ok();
  }
  // Back up: the broker may need a moment to lead its partitions again.
  const auto deadline = Clock::now() + timeout;
  Result<ClusterFacts> after = Status::Infra("not read");
  while (!(after = ReadFacts(cluster, Millis(5000))).ok() && Clock::now() < deadline) {
    std::this_thread::sleep_for(Millis(500));
  }
  if (!after.ok()) {
    (*ev)["broker"].push_back(e);
    return after.status().WithContext("after the broker was started again");
  }
  auto stopped = before_outage.find(which);
  if (stopped == before_outage.end()) {
    (*ev)["broker"].push_back(e);
    return Status::CheckFailed("no stop_broker of the " + side +
                               " before this step: nothing to compare with");
  }
  const ClusterFacts before = stopped->second;
  const std::vector<std::string> lost = Losses(before, *after);
  e["cluster_id_before"] = before.id;
  e["cluster_id"] = after->id;
  e["logs_before"] = LogsJson(before);
  e["logs"] = LogsJson(*after);
  e["kept"] = lost.empty();
  (*ev)["broker"].push_back(e);
  before_outage.erase(which);
  if (!lost.empty()) {
    return Status::CheckFailed(fmt::format("broker {} ({}) came back without its data: {}", side,
                                           name, fmt::join(lost, "; ")));
  }
  r->message = fmt::format(
      "started broker {} again ({}): cluster id {} unchanged, {} partition(s) kept their "
      "records",
      side, name, after->id, before.logs.size());
  return Status::Ok();
}

// The background mirror runs with a forward catch-up run's options, spelled
// by the mirror module, and the drill's own client inputs (so a secret in a
// property file stays in the file).
Status DrillContext::StartBackgroundMirror(Json* ev) {
  if (background.running()) return Status::CheckFailed("a background mirror is already running");
  TwoClusterInputs clusters = options.clusters;
  clusters.source = source.bootstrap();
  clusters.target = target.bootstrap();
  const std::string log = out_dir + "/mirror-background.log";
  auto pid = background.Start(MirrorOptionsFor(false), clusters, log);
  if (!pid.ok()) return pid.status().WithContext("starting the background mirror");
  if (ev) (*ev)["background_mirror"] = {{"pid", *pid}, {"log", log}};
  facts.mirrored = true;
  return Status::Ok();
}

// Stops the background mirror with `sig`; returns how it ended.
Result<std::string> DrillContext::StopBackgroundMirror(int sig, Json* ev) {
  if (!background.running()) return std::string("no background mirror");
  LIFELINE_ASSIGN_OR_RETURN(auto ended, background.Stop(sig));
  const std::string how = ended.Describe();
  if (ev) (*ev)["background_mirror_stopped"] = how;
  if (sig == SIGTERM && !ended.success()) {
    return Status::CheckFailed("the background mirror " + how + " on SIGTERM; see " + out_dir +
                               "/mirror-background.log");
  }
  return how;
}

// A catch-up run; a background mirror hands over to it (same name, same map).
Status DrillContext::CatchUpMirror(bool reverse, reports::StepResult* r, Json* ev) {
  if (background.running()) {
    LIFELINE_ASSIGN_OR_RETURN(auto stopped, StopBackgroundMirror(SIGTERM, ev));
  }
  LIFELINE_ASSIGN_OR_RETURN(auto sum, mirror::Run(MirrorOptionsFor(reverse)));
  (*ev)[reverse ? "failback_mirror" : "mirror"] = mirror::SummaryToJson(sum);
  facts.mirrored = true;
  r->message = fmt::format("{}mirrored {} records in {:.1f} s", reverse ? "failback: " : "",
                           sum.records, sum.seconds);
  return Status::Ok();
}

}  // namespace lifeline::drill
