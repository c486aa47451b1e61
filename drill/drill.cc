#include "scenarios/drill.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "core/envelope.h"
#include "core/kafka.h"
#include "core/sandbox.h"
#include "core/spawn.h"
#include "core/topic_reader.h"
#include "core/version.h"
#include "mirror/groups.h"
#include "mirror/mirror.h"
#include "replay/registry.h"
#include "replay/replay.h"
#include "scenarios/consumers.h"
#include "scenarios/drill_file.h"
#include "verify/verify.h"

namespace lifeline::scenarios {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;
constexpr Millis kAdminTimeout{15000};

struct PublishedEvent {
  std::string id, label, prompt, version, kind;
  int32_t partition = -1;
  int64_t offset = -1;
  bool on_target = false;
};

std::string Now3339() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return envelope::FormatRfc3339(
      TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

// ${VAR} -> its value; "" when unset.
std::string ExpandEnv(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      const size_t end = s.find('}', i);
      if (end != std::string::npos) {
        const char* v = std::getenv(s.substr(i + 2, end - i - 2).c_str());
        out += v ? v : "";
        i = end;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string Hex64(std::string_view seed) {
  const XXH128_hash_t a = XXH3_128bits(seed.data(), seed.size());
  const XXH128_hash_t b = XXH3_128bits_withSeed(seed.data(), seed.size(), 1);
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", a.high64, a.low64, b.high64, b.low64);
}

// The process's stderr into a file while a drill runs: librdkafka's own log
// lines (a broker going away, the embedded sandbox's chatter), child
// commands without a log of their own, and the drill's progress all land in
// drill.log in the report folder, which the manifest then covers.
class StderrToFile {
 public:
  StderrToFile() = default;
  StderrToFile(const StderrToFile&) = delete;
  StderrToFile& operator=(const StderrToFile&) = delete;
  ~StderrToFile() { Close(); }

  Status Open(const std::string& path) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Infra(fmt::format("{}: {}", path, std::strerror(errno)));
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    if (saved_ < 0 || dup2(fd, STDERR_FILENO) < 0) {
      const int err = errno;
      close(fd);
      if (saved_ >= 0) close(saved_);
      saved_ = -1;
      return Status::Infra(fmt::format("{}: {}", path, std::strerror(err)));
    }
    close(fd);
    return Status::Ok();
  }

  // Back to the stderr the drill started with.
  void Close() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }

 private:
  int saved_ = -1;
};

class Runner {
 public:
  Runner(DrillFile file, DrillOptions options)
      : file_(std::move(file)), options_(std::move(options)) {}

  Result<DrillOutcome> Run() {
    t0_ = Clock::now();
    run_id_ = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
    report_.name = file_.name;
    report_.file = file_.path;
    report_.description = file_.description;
    report_.started_at = Now3339();
    report_.lifeline_version = kVersion;
    report_.librdkafka_version = rd_kafka_version_str();
    LIFELINE_RETURN_IF_ERROR(PrepareOutDir());
    LIFELINE_RETURN_IF_ERROR(log_.Open(out_dir_ + "/drill.log"));
    Log(fmt::format("drill {} ({}), run {}, reports in {}", file_.name, file_.path, run_id_,
                    out_dir_));
    if (Status st = SetUp(); !st.ok()) {
      Log("cannot run: " + st.message());
      return st;
    }
    sampler_ = std::thread([this] { Sample(); });
    for (size_t i = 0; i < file_.steps.size(); ++i)
      RunStep(static_cast<int>(i + 1), file_.steps[i]);
    stop_sampler_ = true;
    sampler_.join();
    auto mirror_end = StopBackgroundMirror(SIGTERM, nullptr);
    facts_["background_mirror_at_end"] =
        mirror_end.ok() ? *mirror_end : mirror_end.status().message();
    // Everything that writes into the report folder is closed before the
    // manifest hashes it: archives, clients, the sandbox, then drill.log.
    consumers_.clear();
    producer_.reset();
    sandbox_.reset();
    Score();
    report_.seconds = Elapsed();
    report_.pass = std::all_of(report_.steps.begin(), report_.steps.end(),
                               [](const reports::StepResult& s) { return s.passed; });
    facts_["run_id"] = run_id_;
    facts_["events"] = Json::array();
    for (const PublishedEvent& e : events_) {
      facts_["events"].push_back({{"id", e.id},
                                  {"label", e.label},
                                  {"kind", e.kind},
                                  {"prompt", e.prompt},
                                  {"version", e.version},
                                  {"cluster", e.on_target ? "target" : "source"},
                                  {"partition", e.partition},
                                  {"offset", e.offset}});
    }
    report_.extra_evidence = facts_.dump(-1, ' ', false, Json::error_handler_t::replace);
    DrillOutcome out;
    out.report = report_;
    auto reports = reports::WriteReports(report_, out_dir_);
    if (!reports.ok()) return reports.status();
    Log(fmt::format("drill {}: {}", file_.name, report_.pass ? "PASS" : "FAIL"));
    log_.Close();
    auto written = reports::WriteManifest(out_dir_);
    if (!written.ok()) return written.status();
    out.written = *written;
    return out;
  }

 private:
  double Elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  const ClientConfig& Active() const { return on_target_ ? target_ : source_; }

  void Log(const std::string& line) {
    std::fprintf(stderr, "%s drill: %s\n", Now3339().c_str(), line.c_str());
    std::fflush(stderr);
  }

  // ------------------------------------------------------------ set-up

  // The report folder holds one run: a folder with anything in it is
  // refused (an older run's archives would sit next to the new reports),
  // unless --force, which empties it first.
  Status PrepareOutDir() {
    namespace fs = std::filesystem;
    out_dir_ = options_.out_dir.empty() ? fmt::format("reports/{}-{}", file_.name, run_id_)
                                        : options_.out_dir;
    std::error_code ec;
    const fs::file_status st = fs::status(out_dir_, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st)) {
        return Status::Usage(
            fmt::format("--out {}: exists and is not a folder; give a new folder", out_dir_));
      }
      const bool empty = fs::is_empty(out_dir_, ec);
      if (ec) return Status::Infra(fmt::format("report folder {}: {}", out_dir_, ec.message()));
      if (!empty && !options_.force) {
        return Status::Usage(
            fmt::format("--out {}: the folder is not empty (an earlier run's reports?); give a new "
                        "folder, or add --force to empty it first",
                        out_dir_));
      }
      if (!empty) LIFELINE_RETURN_IF_ERROR(EmptyFolder(out_dir_));
    }
    fs::create_directories(out_dir_, ec);
    if (ec) return Status::Infra(fmt::format("report directory {}: {}", out_dir_, ec.message()));
    return Status::Ok();
  }

  // --force empties a report folder, never the folder the drill runs in,
  // one above it, or the home folder: a slip of --out must not wipe those.
  static Status EmptyFolder(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path target = fs::canonical(dir, ec);
    if (ec) return Status::Infra(fmt::format("report folder {}: {}", dir, ec.message()));
    std::vector<fs::path> guarded = {fs::current_path(ec).lexically_normal()};
    if (const char* home = std::getenv("HOME")) guarded.push_back(fs::path(home));
    for (const fs::path& g : guarded) {
      const fs::path canonical = fs::weakly_canonical(g, ec);
      const auto rel = canonical.lexically_relative(target);
      if (!rel.empty() && *rel.begin() != "..") {
        return Status::Usage(fmt::format(
            "--out {} --force: refusing to empty {}, which holds {}; give a report folder of "
            "its own",
            dir, target.string(), canonical.string()));
      }
    }
    for (const fs::directory_entry& e : fs::directory_iterator(target, ec)) {
      fs::remove_all(e.path(), ec);
      if (ec)
        return Status::Infra(
            fmt::format("--force: removing {}: {}", e.path().string(), ec.message()));
    }
    if (ec) return Status::Infra(fmt::format("--force: listing {}: {}", dir, ec.message()));
    return Status::Ok();
  }

  Status SetUp() {
    LIFELINE_RETURN_IF_ERROR(SetUpClusters());
    LIFELINE_RETURN_IF_ERROR(SetUpTopic());
    return StartConsumers();
  }

  Status SetUpClusters() {
    std::string src = options_.source.empty() ? ExpandEnv(file_.source) : options_.source;
    std::string dst = options_.target.empty() ? ExpandEnv(file_.target) : options_.target;
    if (src.empty() || dst.empty()) {
      return Status::Usage(fmt::format(
          "{}: clusters resolve to an empty address (an unset ${{VAR}}?); give --source and "
          "--target, or use embedded",
          file_.path));
    }
    embedded_ = src == "embedded" || dst == "embedded";
    if (embedded_ && !(src == "embedded" && dst == "embedded")) {
      return Status::Usage("mix of embedded and real clusters: use embedded for both or neither");
    }
    if (embedded_) {
      auto sb = EmbeddedSandbox::Start({"source", "target"});
      if (!sb.ok()) return sb.status();
      sandbox_.emplace(std::move(sb).value());
      src = sandbox_->Find("source")->bootstrap();
      dst = sandbox_->Find("target")->bootstrap();
    }
    ClientConfigInputs in = options_.client;
    in.bootstrap = src;
    auto s = BuildClientConfig(in);
    if (!s.ok()) return s.status();
    in.bootstrap = dst;
    auto t = BuildClientConfig(in);
    if (!t.ok()) return t.status();
    source_ = *s;
    target_ = *t;
    report_.clusters["source"] = (embedded_ ? "embedded " : "") + source_.Describe();
    report_.clusters["target"] = (embedded_ ? "embedded " : "") + target_.Describe();
    mirror_name_ = "drill-" + run_id_;
    return Status::Ok();
  }

  Status CreateTopic(bool on_target, const std::string& topic, int partitions, bool compact) {
    if (embedded_) {
      return sandbox_->Find(on_target ? "target" : "source")->CreateTopic(topic, partitions);
    }
    auto admin = Admin::Create(on_target ? target_ : source_);
    if (!admin.ok()) return admin.status();
    std::vector<std::pair<std::string, std::string>> configs = {{"retention.ms", "-1"}};
    if (compact) configs.push_back({"cleanup.policy", "compact"});
    LIFELINE_RETURN_IF_ERROR(
        (*admin)->CreateTopic({topic, partitions, -1, configs}, kAdminTimeout, true));
    return (*admin)->WaitForTopic(topic, partitions, kAdminTimeout);
  }

  Status SetUpTopic() {
    // Every run writes a fresh topic: drill events never mix with real ones,
    // and reruns never see each other's event ids.
    topic_ = fmt::format("{}.{}", file_.topic, run_id_);
    report_.topic = topic_;
    LIFELINE_RETURN_IF_ERROR(
        CreateTopic(false, topic_, file_.partitions, false).WithContext("source"));
    // Runtime traces (what the prompts served), joined by observability
    // consumers; on both sides, so they can follow a cutover.
    traces_ = topic_ + ".traces";
    LIFELINE_RETURN_IF_ERROR(CreateTopic(false, traces_, file_.partitions, false));
    LIFELINE_RETURN_IF_ERROR(CreateTopic(true, traces_, file_.partitions, false));
    if (embedded_) {
      // The mock cannot create topics over the protocol: the mirror's target
      // topic and offset-map topic are made here.
      LIFELINE_RETURN_IF_ERROR(CreateTopic(true, topic_, file_.partitions, false));
      LIFELINE_RETURN_IF_ERROR(CreateTopic(true, mirror::kOffsetMapTopic, 1, true));
      LIFELINE_RETURN_IF_ERROR(CreateTopic(false, mirror::kOffsetMapTopic, 1, true));
    } else {
      auto admin = Admin::Create(source_);
      if (admin.ok()) {
        auto configs = (*admin)->DescribeTopicConfigs(topic_, kAdminTimeout);
        if (configs.ok()) {
          for (const auto& [k, v] : *configs) {
            if (!v.is_default || k == "retention.ms" || k == "cleanup.policy") {
              report_.topic_configs[k] = v.is_sensitive ? "*****" : v.value;
            }
          }
        }
      }
    }
    return MakeProducer();
  }

  Status MakeProducer() {
    producer_.reset();
    ProducerOptions popts;
    popts.client_id = "lifeline-drill";
    auto p = Producer::Create(Active(), popts, [this](const DeliveryReport& dr) {
      if (!dr.err) delivered_[dr.tag] = {dr.where.partition.value(), dr.offset.value()};
    });
    if (!p.ok()) return p.status();
    producer_ = std::move(p).value();
    return Status::Ok();
  }

  Status StartConsumers() {
    for (const DrillConsumer& c : file_.consumers) {
      if (c.external) continue;
      const std::string group = fmt::format("{}.{}", c.name, run_id_);
      consumers_[c.name] = std::make_unique<ReferenceConsumer>(
          c.name, c.kind, group, topic_, fmt::format("{}/audit-{}.db", out_dir_, c.name));
      if (c.kind == "observability") consumers_[c.name]->SetTraceTopic(traces_);
    }
    for (auto& [name, c] : consumers_) {
      LIFELINE_RETURN_IF_ERROR(c->Start(Active()));
    }
    return Status::Ok();
  }

  std::string GroupOf(const DrillConsumer& c) const {
    auto it = consumers_.find(c.name);
    return it != consumers_.end() ? it->second->group() : c.group;
  }

  std::vector<TopicPartition> Partitions() const {
    std::vector<TopicPartition> out;
    for (int p = 0; p < file_.partitions; ++p) out.push_back({Topic(topic_), Partition(p)});
    return out;
  }

  // Committed position of every group over time, for the report's timeline.
  // One reader per cluster and group, kept for the whole drill.
  void Sample() {
    std::map<std::pair<std::string, std::string>, std::unique_ptr<GroupOffsetsReader>> readers;
    while (!stop_sampler_) {
      for (const DrillConsumer& c : file_.consumers) {
        const ClientConfig cluster = Active();
        auto& reader = readers[{cluster.bootstrap(), GroupOf(c)}];
        if (!reader) {
          auto created = GroupOffsetsReader::Create(cluster, GroupOf(c));
          if (!created.ok()) continue;
          reader = std::move(created).value();
        }
        auto committed = reader->Read(Partitions(), Millis(5000));
        if (!committed.ok()) continue;
        int64_t total = 0;
        for (const auto& [tp, o] : *committed) total += o.value();
        std::lock_guard lock(mu_);
        report_.samples.push_back({Elapsed(), c.name, total});
      }
      for (int i = 0; i < 5 && !stop_sampler_; ++i) std::this_thread::sleep_for(Millis(100));
    }
  }

  // ------------------------------------------------------------ steps

  void RunStep(int index, const DrillStep& step) {
    reports::StepResult r;
    r.index = index;
    r.kind = step.kind;
    r.title = Title(step);
    r.started = Elapsed();
    {
      std::lock_guard lock(mu_);
      report_.marks.push_back({r.started, fmt::format("{} {}", index, step.kind)});
    }
    Log(fmt::format("step {} {}", index, r.title));
    Json evidence = Json::object();
    Status st;
    try {
      st = Dispatch(step, &r, &evidence);
    } catch (const std::exception& e) {
      st = Status::Infra(std::string("unexpected: ") + e.what());
    }
    if (!st.ok()) {
      r.passed = false;
      r.message = st.message();
    }
    r.seconds = Elapsed() - r.started;
    Log(fmt::format("step {} {}: {}{}", index, r.title,
                    !r.passed   ? "FAILED"
                    : r.warning ? "warning"
                                : "ok",
                    r.message.empty() ? "" : " — " + r.message));
    r.evidence = evidence.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::lock_guard lock(mu_);
    report_.steps.push_back(std::move(r));
  }

  std::string Title(const DrillStep& s) const {
    if (s.kind == "deploy") {
      return fmt::format("deploy {} {} to {}", s.get("prompt"), s.get("version"),
                         s.get("scope", "global"));
    }
    if (s.kind == "rollback") {
      return fmt::format("roll back {} to {} in {}", s.get("prompt"), s.get("to"),
                         s.get("scope", "global"));
    }
    if (s.kind == "processed") {
      return fmt::format("{} event processed by {} within {}", s.get("event", "last"), s.get("by"),
                         s.get("within", "20s"));
    }
    if (s.kind == "expect_state") {
      return fmt::format("{} active in {} is {}", s.get("prompt"), s.get("scope", "global"),
                         s.get("active"));
    }
    std::string args;
    for (const auto& [k, v] : s.args) {
      if (k != "timeout") args += fmt::format(" {}={}", k, v);
    }
    return s.kind + args;
  }

  Status Dispatch(const DrillStep& s, reports::StepResult* r, Json* ev) {
    if (s.kind == "deploy") return Deploy(s, r, ev);
    if (s.kind == "publish") return PublishStep(s, r, ev);
    if (s.kind == "rollback") return Rollback(s, r, ev);
    if (s.kind == "processed") return Processed(s, r, ev);
    if (s.kind == "expect_state") return ExpectState(s, r, ev);
    if (s.kind == "expect_lag") return ExpectLag(s, r, ev);
    if (s.kind == "replay") return Replay(s, r, ev);
    if (s.kind == "mirror") {
      background_requested_ = s.get("background") == "true";
      if (s.get("exactly_once") == "true") exactly_once_ = true;
      return MirrorStep(false, r, ev);
    }
    if (s.kind == "groups_sync") return GroupsSync(false, r, ev);
    if (s.kind == "cutover") return Cutover(r, ev);
    if (s.kind == "failback") return Failback(r, ev);
    if (s.kind == "verify") return Verify(s, r, ev);
    if (s.kind == "fault") return Fault(s, r, ev);
    if (s.kind == "trace") return Trace(s, r);
    if (s.kind == "expect_traces") return ExpectTraces(s, r, ev);
    if (s.kind == "sleep") {
      std::this_thread::sleep_for(*ParseDuration(s.get("for")));
      return Status::Ok();
    }
    return Status::Usage("unknown step " + s.kind);
  }

  // The record for an event, with the id, source and time the drill gives
  // every event.
  Record Encode(envelope::Event* e, uint64_t n) const {
    e->id = fmt::format("drill-{}-{}", run_id_, n);
    e->source = "/lifeline/drill/" + file_.name;
    e->time_ms = TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
    Record rec = envelope::EncodeBinary(*e);
    rec.topic = Topic(topic_);
    return rec;
  }

  // lifeline's own envelope check (what scan and replay apply): an event
  // that would be quarantined fails its step and is never produced, so no
  // later step reads a stream the drill broke itself.
  Status CheckEnvelope(envelope::Event e, const std::string& label) const {
    const auto parsed = envelope::Parse(Encode(&e, counter_ + 1));
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
  Status Publish(envelope::Event e, const std::string& label, Json* ev) {
    LIFELINE_RETURN_IF_ERROR(CheckEnvelope(e, label));
    Record rec = Encode(&e, ++counter_);
    const uint64_t tag = counter_;
    LIFELINE_RETURN_IF_ERROR(producer_->Send(rec, tag));
    LIFELINE_RETURN_IF_ERROR(producer_->Flush(Millis(30000)));
    auto it = delivered_.find(tag);
    if (it == delivered_.end()) return Status::Infra("event " + e.id + " was not delivered");
    PublishedEvent p{e.id,
                     label,
                     e.prompt_id,
                     e.version,
                     std::string(envelope::KindName(e.kind)),
                     it->second.first,
                     it->second.second,
                     on_target_};
    events_.push_back(p);
    (*ev)["events"].push_back(
        {{"id", p.id}, {"kind", p.kind}, {"partition", p.partition}, {"offset", p.offset}});
    return Status::Ok();
  }

  envelope::Event Base(envelope::Kind kind, const std::string& prompt, const std::string& version,
                       const std::string& actor) {
    envelope::Event e;
    e.kind = kind;
    e.prompt_id = prompt;
    e.version = version;
    e.actor = actor;
    return e;
  }

  Status EnsureProposed(const std::string& prompt, const std::string& version,
                        const std::string& model, Json* ev) {
    if (proposed_.count({prompt, version})) return Status::Ok();
    envelope::Event p = Base(envelope::Kind::kProposed, prompt, version, "author@drill");
    p.tmpl = envelope::Template{Hex64(prompt + "@" + version), {"input"}, ""};
    p.dependencies = envelope::Dependencies{model, "rp-1", "tools@1", "sp-1"};
    LIFELINE_RETURN_IF_ERROR(Publish(p, fmt::format("propose {} {}", prompt, version), ev));
    envelope::Event a = Base(envelope::Kind::kApproved, prompt, version, "lead@drill");
    a.approval = envelope::Approval{"lead@drill", "DRILL-" + run_id_};
    LIFELINE_RETURN_IF_ERROR(Publish(a, fmt::format("approve {} {}", prompt, version), ev));
    envelope::Event x = Base(envelope::Kind::kEvaluated, prompt, version, "eval@drill");
    x.evaluation = envelope::Evaluation{prompt + "-regression", "drill", true, 0.95};
    LIFELINE_RETURN_IF_ERROR(Publish(x, fmt::format("evaluate {} {}", prompt, version), ev));
    proposed_.insert({prompt, version});
    return Status::Ok();
  }

  Status Deploy(const DrillStep& s, reports::StepResult* r, Json* ev) {
    const std::string prompt = s.get("prompt"), version = s.get("version");
    const std::string scope = s.get("scope", "global");
    envelope::Event d = Base(envelope::Kind::kDeployed, prompt, version, "release-bot@drill");
    d.rollout = envelope::Rollout{scope, std::stoi(s.get("percent", "100"))};
    const std::string label = fmt::format("deploy {} {} ({})", prompt, version, scope);
    // Refused before its proposal, approval and evaluation are produced.
    LIFELINE_RETURN_IF_ERROR(CheckEnvelope(d, label));
    LIFELINE_RETURN_IF_ERROR(EnsureProposed(prompt, version, s.get("model", "model-x@drill"), ev));
    LIFELINE_RETURN_IF_ERROR(Publish(d, label, ev));
    live_[{prompt, scope}] = version;
    r->message = fmt::format("event {} at partition {} offset {}", events_.back().id,
                             events_.back().partition, events_.back().offset);
    return Status::Ok();
  }

  Status PublishStep(const DrillStep& s, reports::StepResult* r, Json* ev) {
    auto kind = envelope::KindFromName(s.get("kind"));
    if (!kind) return Status::Usage("publish: unknown kind " + s.get("kind"));
    envelope::Event e = Base(*kind, s.get("prompt"), s.get("version"), "drill");
    const std::string scope = s.get("scope", "global");
    switch (*kind) {
      case envelope::Kind::kProposed:
        e.tmpl = envelope::Template{Hex64(e.prompt_id + "@" + e.version), {"input"}, ""};
        e.dependencies = envelope::Dependencies{"model-x@drill", "rp-1", "tools@1", "sp-1"};
        proposed_.insert({e.prompt_id, e.version});
        break;
      case envelope::Kind::kApproved:
      case envelope::Kind::kRejected:
        e.approval = envelope::Approval{"lead@drill", "DRILL-" + run_id_};
        break;
      case envelope::Kind::kEvaluated:
        e.evaluation =
            envelope::Evaluation{"drill", "drill", s.get("passed", "true") == "true", 0.9};
        break;
      case envelope::Kind::kDeployed:
      case envelope::Kind::kRolloutChanged:
        e.rollout = envelope::Rollout{scope, std::stoi(s.get("percent", "100"))};
        live_[{e.prompt_id, scope}] = e.version;
        break;
      case envelope::Kind::kRolledBack:
        e.rollback = envelope::Rollback{s.get("to"), s.get("reason", "drill"), scope, {}};
        live_[{e.prompt_id, scope}] = s.get("to");
        break;
      case envelope::Kind::kRetired:
        break;
    }
    LIFELINE_RETURN_IF_ERROR(
        Publish(e, fmt::format("{} {} {}", s.get("kind"), e.prompt_id, e.version), ev));
    r->message = fmt::format("event {} at partition {} offset {}", events_.back().id,
                             events_.back().partition, events_.back().offset);
    return Status::Ok();
  }

  Status Rollback(const DrillStep& s, reports::StepResult* r, Json* ev) {
    const std::string prompt = s.get("prompt"), to = s.get("to");
    const std::string scope = s.get("scope", "global");
    std::string from = s.get("from");
    if (from.empty()) {
      auto it = live_.find({prompt, scope});
      if (it == live_.end()) {
        return Status::CheckFailed(fmt::format(
            "nothing of {} is live in {} to roll back from (give `from:`)", prompt, scope));
      }
      from = it->second;
    }
    std::vector<std::string> expected;
    for (const DrillConsumer& c : file_.consumers) expected.push_back(c.name);
    envelope::Event e = Base(envelope::Kind::kRolledBack, prompt, from, "oncall@drill");
    e.rollback = envelope::Rollback{to, s.get("reason", "drill rollback"), scope, expected};
    LIFELINE_RETURN_IF_ERROR(
        Publish(e, fmt::format("rollback {} {} -> {} ({})", prompt, from, to, scope), ev));
    live_[{prompt, scope}] = to;
    r->message = fmt::format("event {} at partition {} offset {}", events_.back().id,
                             events_.back().partition, events_.back().offset);
    return Status::Ok();
  }

  const PublishedEvent* FindEvent(const std::string& which) const {
    if (events_.empty()) return nullptr;
    if (which.empty() || which == "last") return &events_.back();
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if (it->id == which || it->kind == which) return &*it;
    }
    return nullptr;
  }

  Result<int64_t> HighWatermark(int32_t partition) {
    auto admin = Admin::Create(Active());
    if (!admin.ok()) return admin.status();
    auto wm = (*admin)->Watermarks({Topic(topic_), Partition(partition)}, kAdminTimeout);
    if (!wm.ok()) return wm.status();
    return wm->high.value();
  }

  Status Processed(const DrillStep& s, reports::StepResult* r, Json* ev) {
    const PublishedEvent* e = FindEvent(s.get("event", "last"));
    if (!e) return Status::CheckFailed("no such event published yet: " + s.get("event", "last"));
    const auto within = *ParseDuration(s.get("within", "20s"));
    const auto deadline = Clock::now() + within;
    const TopicPartition tp{Topic(topic_), Partition(e->partition)};
    std::map<std::string, int64_t> committed;
    std::vector<std::string> names = s.list("by");
    for (;;) {
      bool all = true;
      for (const std::string& name : names) {
        const DrillConsumer* c = file_.consumer(name);
        auto got = CommittedOffsets(Active(), GroupOf(*c), {tp}, Millis(5000));
        const int64_t off = got.ok() && got->count(tp) ? got->at(tp).value() : -1;
        committed[name] = off;
        if (off <= e->offset) all = false;
      }
      if (all || Clock::now() > deadline) break;
      std::this_thread::sleep_for(Millis(200));
    }
    auto hw = HighWatermark(e->partition);
    std::vector<std::string> late_critical, late_other, done;
    for (const std::string& name : names) {
      const DrillConsumer* c = file_.consumer(name);
      reports::Ack a;
      a.consumer = name;
      a.group = GroupOf(*c);
      a.event_id = e->id;
      a.event_label = e->label;
      a.event_kind = e->kind;
      a.critical = c->critical;
      a.external = c->external;
      a.partition = e->partition;
      a.offset = e->offset;
      a.committed = committed[name];
      a.processed = a.committed > e->offset;
      a.lag = hw.ok() ? *hw - std::max<int64_t>(a.committed, 0) : -1;
      // A reference consumer whose loop stopped says why.
      std::string stopped;
      if (auto it = consumers_.find(name); it != consumers_.end() && !a.processed) {
        if (Status why = it->second->error(); !why.ok()) stopped = "; stopped: " + why.message();
      }
      (a.processed   ? done
       : c->critical ? late_critical
                     : late_other)
          .push_back(fmt::format("{} (committed {}, lag {}{})", name, a.committed, a.lag, stopped));
      (*ev)["acks"].push_back({{"consumer", name},
                               {"group", a.group},
                               {"committed", a.committed},
                               {"processed", a.processed},
                               {"lag", a.lag}});
      std::lock_guard lock(mu_);
      report_.acks.push_back(a);
    }
    (*ev)["event"] = {{"id", e->id}, {"partition", e->partition}, {"offset", e->offset}};
    r->message =
        fmt::format("{} at partition {} offset {}: processed by {}", e->label, e->partition,
                    e->offset, done.empty() ? "none" : fmt::format("{}", fmt::join(done, ", ")));
    if (!late_other.empty()) {
      r->warning = true;
      r->message +=
          fmt::format("; not yet by {} (analytical: a warning)", fmt::join(late_other, ", "));
    }
    if (!late_critical.empty()) {
      return Status::CheckFailed(r->message + fmt::format("; critical consumer(s) behind: {}",
                                                          fmt::join(late_critical, ", ")));
    }
    if (!late_other.empty()) rollback_confirmed_partial_ = true;
    if (e->kind == "rolled_back" && late_critical.empty()) rollback_confirmed_ = true;
    lag_checked_ = true;
    return Status::Ok();
  }

  Status ExpectState(const DrillStep& s, reports::StepResult* r, Json* ev) {
    const std::string prompt = s.get("prompt"), want = s.get("active");
    const std::string scope = s.get("scope", "global");
    // The stream's own answer: fold the topic as replay does.
    replay::Registry registry;
    TopicReadOptions read;
    read.topic = topic_;
    LIFELINE_RETURN_IF_ERROR(ReadTopic(Active(), read, [&](const Record& rec) {
      (void)registry.Apply(rec);
      return Status::Ok();
    }));
    std::string from_stream = "(nothing)";
    if (std::optional<replay::PromptState> p = registry.FindPrompt(prompt)) {
      auto a = p->active.find(scope);
      if (a != p->active.end()) from_stream = a->second.version;
    }
    (*ev)["stream"] = from_stream;
    std::vector<std::string> wrong;
    if (from_stream != want) wrong.push_back("the stream says " + from_stream);
    // Every running release controller must agree (it may need a moment).
    for (auto& [name, c] : consumers_) {
      const DrillConsumer* spec = file_.consumer(name);
      if (spec->kind != "release-controller" || !c->running()) continue;
      const auto deadline = Clock::now() + s.timeout;
      std::optional<std::string> got;
      while ((got = c->Active(prompt, scope)) != want && Clock::now() < deadline) {
        std::this_thread::sleep_for(Millis(100));
      }
      (*ev)["controllers"][name] = got.value_or("(nothing)");
      if (got != want) wrong.push_back(fmt::format("{} says {}", name, got.value_or("(nothing)")));
    }
    if (!wrong.empty()) {
      return Status::CheckFailed(
          fmt::format("expected {} {} in {}, but {}", prompt, want, scope, fmt::join(wrong, "; ")));
    }
    r->message =
        fmt::format("{} in {} is {} (stream and release controller agree)", prompt, scope, want);
    return Status::Ok();
  }

  Result<int64_t> Lag(const std::string& group) {
    auto committed = CommittedOffsets(Active(), group, Partitions(), Millis(5000));
    if (!committed.ok()) return committed.status();
    auto admin = Admin::Create(Active());
    if (!admin.ok()) return admin.status();
    int64_t lag = 0;
    for (const TopicPartition& tp : Partitions()) {
      auto wm = (*admin)->Watermarks(tp, kAdminTimeout);
      if (!wm.ok()) return wm.status();
      const int64_t c = committed->count(tp) ? committed->at(tp).value() : wm->low.value();
      lag += std::max<int64_t>(0, wm->high.value() - c);
    }
    return lag;
  }

  Status ExpectLag(const DrillStep& s, reports::StepResult* r, Json* ev) {
    const DrillConsumer* c = file_.consumer(s.get("consumer"));
    const int64_t max = std::stoll(s.get("max"));
    const auto deadline = Clock::now() + s.timeout;
    int64_t lag = -1;
    for (;;) {
      auto l = Lag(GroupOf(*c));
      if (!l.ok()) return l.status();
      lag = *l;
      if (lag <= max || Clock::now() > deadline) break;
      std::this_thread::sleep_for(Millis(200));
    }
    (*ev)["lag"] = lag;
    lag_checked_ = true;
    r->message = fmt::format("{} lag {} (max {})", c->name, lag, max);
    if (lag > max) {
      if (!c->critical) {
        r->warning = true;
        r->message += " — analytical consumer: a warning";
        return Status::Ok();
      }
      return Status::CheckFailed(r->message);
    }
    return Status::Ok();
  }

  Status Replay(const DrillStep& s, reports::StepResult* r, Json* ev) {
    const std::string from = s.get("from", "source");
    if (from != "source" && from != "target") return Status::Usage("replay.from: source or target");
    replay::ReplayOptions o;
    o.source = from == "source" ? source_ : target_;
    o.topic = topic_;
    o.into = out_dir_ + "/" + s.get("into");
    o.force = true;
    auto sum = replay::Run(o);
    if (!sum.ok()) return sum.status();
    (*ev)["replay"] = Json::parse(replay::FormatSummaryJson(*sum));
    {
      std::lock_guard lock(mu_);
      report_.hashes[fmt::format("state of {} (replayed from {})", s.get("into"), from)] =
          sum->state.total.Hex();
    }
    replayed_ = true;
    quarantined_ += sum->quarantined;
    violations_ += sum->violations;
    r->message = fmt::format("{} records, {} quarantined, {} violations, state hash {}", sum->read,
                             sum->quarantined, sum->violations, sum->state.total.Hex());
    if (sum->violations > 0) {
      return Status::CheckFailed(r->message + ": the drill's own events broke lifecycle rules");
    }
    if (sum->quarantined > 0) {
      return Status::CheckFailed(r->message + ": the drill's own events were quarantined");
    }
    return Status::Ok();
  }

  mirror::MirrorOptions MirrorOptionsFor(bool reverse) {
    mirror::MirrorOptions o;
    o.source = source_;
    o.target = target_;
    // The lifecycle topic and the runtime traces: everything the drill's
    // consumers read moves with them.
    o.topics = std::regex_replace(topic_, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
               R"((\.traces)?)";
    o.name = mirror_name_;
    o.create_topics = !embedded_;
    o.read_configs = !embedded_;
    o.exactly_once = exactly_once_ && !reverse;
    o.state_dir = out_dir_ + "/mirror-state";
    o.reverse = reverse;
    return o;
  }

  // The background mirror is `lifeline mirror --follow` as a child process,
  // so a fault can kill it for real (SIGKILL) and a restart must recover
  // from its durable state.
  Status StartBackgroundMirror(Json* ev) {
    if (mirror_pid_ > 0) return Status::CheckFailed("a background mirror is already running");
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return Status::Infra("cannot find the lifeline binary (/proc/self/exe)");
    self[n] = '\0';
    std::vector<std::string> args = {self,
                                     "mirror",
                                     "--source",
                                     source_.bootstrap(),
                                     "--target",
                                     target_.bootstrap(),
                                     "--topics",
                                     MirrorOptionsFor(false).topics,
                                     "--name",
                                     mirror_name_,
                                     "--follow",
                                     "--state-dir",
                                     out_dir_ + "/mirror-state",
                                     embedded_ ? "--skip-configs" : "--create-topics"};
    if (exactly_once_) args.push_back("--exactly-once");
    for (const std::string& x : options_.client.x_options) args.insert(args.end(), {"-X", x});
    for (const std::string& f : options_.client.config_files) {
      args.insert(args.end(), {"--source-config", f, "--target-config", f});
    }
    const std::string log = out_dir_ + "/mirror-background.log";
    auto started = SpawnWithLog(args, log);
    if (!started.ok()) return started.status().WithContext("starting the background mirror");
    const pid_t pid = *started;
    mirror_pid_ = pid;
    if (ev) (*ev)["background_mirror"] = {{"pid", pid}, {"log", log}};
    mirrored_ = true;
    return Status::Ok();
  }

  // Stops the background mirror with `sig`; returns how it ended.
  Result<std::string> StopBackgroundMirror(int sig, Json* ev) {
    if (mirror_pid_ <= 0) return std::string("no background mirror");
    kill(mirror_pid_, sig);
    int status = 0;
    waitpid(mirror_pid_, &status, 0);
    mirror_pid_ = -1;
    const std::string how = WIFEXITED(status)
                                ? fmt::format("exited with {}", WEXITSTATUS(status))
                                : fmt::format("killed by signal {}", WTERMSIG(status));
    if (ev) (*ev)["background_mirror_stopped"] = how;
    if (sig == SIGTERM && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      return Status::CheckFailed("the background mirror " + how + " on SIGTERM; see " + out_dir_ +
                                 "/mirror-background.log");
    }
    return how;
  }

  Status MirrorStep(bool reverse, reports::StepResult* r, Json* ev) {
    if (!reverse && r->kind == "mirror" && background_requested_) {
      background_requested_ = false;
      LIFELINE_RETURN_IF_ERROR(StartBackgroundMirror(ev));
      r->message = "mirroring in the background (lifeline mirror --follow)";
      return Status::Ok();
    }
    // A background mirror hands over to a catch-up run (same name, same map).
    if (mirror_pid_ > 0) {
      auto stopped = StopBackgroundMirror(SIGTERM, ev);
      if (!stopped.ok()) return stopped.status();
    }
    auto sum = mirror::Run(MirrorOptionsFor(reverse));
    if (!sum.ok()) return sum.status();
    (*ev)[reverse ? "failback_mirror" : "mirror"] = Json::parse(mirror::SummaryJson(*sum));
    mirrored_ = true;
    r->message = fmt::format("{}mirrored {} records in {:.1f} s", reverse ? "failback: " : "",
                             sum->records, sum->seconds);
    return Status::Ok();
  }

  std::vector<std::string> BuiltInGroups() const {
    std::vector<std::string> out;
    for (const auto& [name, c] : consumers_) out.push_back(c->group());
    return out;
  }

  void StopConsumers() {
    for (auto& [name, c] : consumers_) c->Stop();
  }

  Status GroupsSync(bool reverse, reports::StepResult* r, Json* ev) {
    // A group moves whole and only while nobody consumes it.
    StopConsumers();
    if (embedded_) return SyncEmbedded(reverse, r, ev);
    mirror::GroupSyncOptions o;
    o.source = source_;
    o.target = target_;
    o.name = mirror_name_;
    o.groups = BuiltInGroups();
    o.reverse = reverse;
    auto plans = mirror::SyncGroups(o);
    if (!plans.ok()) return plans.status();
    (*ev)["plans"] = mirror::DescribePlans(*plans, false);
    std::vector<std::string> refused;
    for (const auto& p : *plans) {
      if (!p.applied) refused.push_back(p.group + ": " + p.refusal);
    }
    if (!refused.empty()) {
      return Status::CheckFailed(fmt::format("group(s) not moved: {}", fmt::join(refused, "; ")));
    }
    synced_ = true;
    r->message = fmt::format("{} group(s) moved {}", plans->size(),
                             reverse ? "back to the source" : "to the target");
    return Status::Ok();
  }

  // The embedded sandbox has no admin group APIs (DescribeGroups, offset
  // admin): translate with the same map and commit as a non-member. Safe
  // here because the drill itself stopped every consumer of these groups.
  Status SyncEmbedded(bool reverse, reports::StepResult* r, Json* ev) {
    const ClientConfig& from = reverse ? target_ : source_;
    const ClientConfig& to = reverse ? source_ : target_;
    const std::string name = reverse ? mirror::ReverseName(mirror_name_) : mirror_name_;
    auto maps = mirror::LoadMaps({reverse ? source_ : target_, ""}, name);
    if (!maps.ok()) return maps.status();
    for (const std::string& group : BuiltInGroups()) {
      std::vector<TopicPartition> mapped;
      for (const auto& [key, map] : *maps) {
        mapped.push_back({Topic(key.topic), Partition(key.partition)});
      }
      auto committed = CommittedOffsets(from, group, mapped, kAdminTimeout);
      if (!committed.ok()) return committed.status();
      std::map<TopicPartition, Offset> apply;
      for (const auto& [tp, o] : *committed) {
        const auto t =
            mirror::TranslateOne(*maps, {tp.topic.value(), tp.partition.value()}, o.value());
        (*ev)["translations"].push_back(mirror::Describe(t));
        if (!t.mapped || t.translation.kind != mirror::Translation::Kind::kExact) {
          return Status::CheckFailed(
              fmt::format("group {} not moved: {}", group, mirror::Describe(t)));
        }
        apply[tp] = Offset(t.translation.target_offset);
      }
      LIFELINE_RETURN_IF_ERROR(CommitGroupOffsets(to, group, apply, kAdminTimeout));
    }
    synced_ = true;
    r->message = fmt::format(
        "{} group(s) moved {} (embedded: translated and committed as a "
        "non-member)",
        BuiltInGroups().size(), reverse ? "back to the source" : "to the target");
    return Status::Ok();
  }

  Status Cutover(reports::StepResult* r, Json* ev) {
    if (on_target_) return Status::CheckFailed("already cut over to the target");
    StopConsumers();
    LIFELINE_RETURN_IF_ERROR(MirrorStep(false, r, ev));
    LIFELINE_RETURN_IF_ERROR(GroupsSync(false, r, ev));
    on_target_ = true;
    LIFELINE_RETURN_IF_ERROR(MakeProducer());
    for (auto& [name, c] : consumers_) LIFELINE_RETURN_IF_ERROR(c->Start(target_));
    cut_over_ = true;
    r->message =
        "consumers stopped, mirror caught up, groups moved exactly, consumers and "
        "producer now on the target";
    return Status::Ok();
  }

  Status Failback(reports::StepResult* r, Json* ev) {
    if (!on_target_) return Status::CheckFailed("not cut over: nothing to fail back");
    StopConsumers();
    LIFELINE_RETURN_IF_ERROR(MirrorStep(true, r, ev));
    LIFELINE_RETURN_IF_ERROR(GroupsSync(true, r, ev));
    on_target_ = false;
    LIFELINE_RETURN_IF_ERROR(MakeProducer());
    for (auto& [name, c] : consumers_) LIFELINE_RETURN_IF_ERROR(c->Start(source_));
    failed_back_ = true;
    r->message =
        "records born on the target copied back, groups moved back exactly, consumers "
        "and producer on the source again";
    return Status::Ok();
  }

  Status Verify(const DrillStep& s, reports::StepResult* r, Json* ev) {
    std::vector<std::string> failed, passed;
    if (s.get("records") == "true") {
      verify::RecordsOptions o;
      o.source = source_;
      o.target = target_;
      o.topics = MirrorOptionsFor(false).topics;
      o.name = mirror_name_;
      auto rep = verify::VerifyRecords(o);
      if (!rep.ok()) return rep.status();
      (*ev)["records"] = Json::parse(verify::FormatRecordsJson(*rep));
      for (const auto& p : rep->partitions) {
        std::lock_guard lock(mu_);
        report_
            .hashes[fmt::format("{} [{}] rolling digest (source / target)", p.topic, p.partition)] =
            p.source.rolling.Hex() + " / " + p.target.rolling.Hex();
      }
      (rep->pass ? passed : failed)
          .push_back(fmt::format("records: {} divergence(s) in {} records", rep->divergences,
                                 rep->records_read));
      records_verified_ = rep->pass;
    }
    if (auto files = s.list("state"); !files.empty()) {
      if (files.size() != 2) return Status::Usage("verify.state takes two sandbox files");
      auto rep = verify::VerifyState(out_dir_ + "/" + files[0], out_dir_ + "/" + files[1]);
      if (!rep.ok()) return rep.status();
      (*ev)["state"] = Json::parse(verify::FormatStateJson(*rep));
      (rep->pass ? passed : failed)
          .push_back(fmt::format("state: {} vs {}", rep->hash_a, rep->hash_b));
    }
    if (s.get("groups") == "true") {
      verify::GroupsOptions o;
      o.source = source_;
      o.target = target_;
      o.name = mirror_name_;
      o.groups = BuiltInGroups();
      o.list_group_partitions = !embedded_;  // the mock has no DescribeGroups
      auto rep = verify::VerifyGroups(o);
      if (!rep.ok()) return rep.status();
      (*ev)["groups"] = Json::parse(verify::FormatGroupsJson(*rep));
      (rep->pass ? passed : failed)
          .push_back(fmt::format("groups: {} partition check(s)", rep->checks.size()));
      groups_verified_ = rep->pass;
    }
    r->message = fmt::format("{}", fmt::join(passed, "; "));
    if (!failed.empty()) {
      return Status::CheckFailed(fmt::format("{}{}", fmt::join(failed, "; "),
                                             passed.empty() ? "" : "; passed: " + r->message));
    }
    return Status::Ok();
  }

  // What a broker outage must not lose: the cluster's id and, for each
  // partition of the drill's topics on it, the log start and high watermark.
  struct ClusterFacts {
    std::string id;
    std::map<TopicPartition, WatermarkOffsets> logs;
  };

  Result<ClusterFacts> ReadFacts(const ClientConfig& cluster, Millis timeout) {
    auto admin = Admin::Create(cluster);
    if (!admin.ok()) return admin.status();
    ClusterFacts f;
    // A fresh handle: the id comes from a metadata answer of this broker.
    char* id = rd_kafka_clusterid((*admin)->handle(), static_cast<int>(timeout.count()));
    if (!id) {
      return Status::Transient(fmt::format("{}: no cluster id from a metadata request within {} ms",
                                           cluster.bootstrap(), timeout.count()));
    }
    f.id = id;
    rd_kafka_mem_free((*admin)->handle(), id);
    auto topics = (*admin)->ListTopics(timeout);
    if (!topics.ok()) return topics.status();
    for (const std::string& t : {topic_, traces_}) {
      auto it = topics->find(t);
      if (it == topics->end()) continue;
      for (int p = 0; p < it->second; ++p) {
        const TopicPartition tp{Topic(t), Partition(p)};
        auto wm = (*admin)->Watermarks(tp, timeout);
        if (!wm.ok()) return wm.status();
        f.logs[tp] = *wm;
      }
    }
    return f;
  }

  static Json LogsJson(const ClusterFacts& f) {
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
  static std::vector<std::string> Losses(const ClusterFacts& before, const ClusterFacts& after) {
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
                                   wm.high.value(), it->second.low.value(),
                                   it->second.high.value()));
      }
    }
    return lost;
  }

  // The scripts/kafka cluster serving `bootstrap` (LIFELINE_KAFKA_SCRIPT, by
  // default scripts/kafka next to the build): {script, cluster name}.
  Result<std::pair<std::string, std::string>> KafkaScriptCluster(const std::string& action,
                                                                 const std::string& bootstrap) {
    std::string script;
    if (const char* env = std::getenv("LIFELINE_KAFKA_SCRIPT")) {
      script = env;
    } else {
      char self[4096];
      const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
      if (n > 0) {
        self[n] = '\0';
        script =
            (std::filesystem::path(self).parent_path().parent_path() / "scripts/kafka").string();
      }
    }
    if (script.empty() || !std::filesystem::exists(script)) {
      return Status::Usage("fault." + action +
                           " needs lifeline's scripts/kafka: set LIFELINE_KAFKA_SCRIPT");
    }
    // `scripts/kafka status`: NAME PID STATE BOOTSTRAP DATA per cluster.
    std::string name;
    FILE* p = popen(("'" + script + "' status 2>/dev/null").c_str(), "r");
    if (!p) return Status::Infra("cannot run " + script);
    char line[1024];
    while (fgets(line, sizeof line, p)) {
      char n[256], pid[64], state[64], boot[256];
      if (std::sscanf(line, "%255s %63s %63s %255s", n, pid, state, boot) == 4 &&
          bootstrap == boot) {
        name = n;
      }
    }
    pclose(p);
    if (name.empty()) {
      return Status::Usage(
          fmt::format("no scripts/kafka cluster serves {}: broker faults work on "
                      "clusters started with scripts/kafka",
                      bootstrap));
    }
    return std::make_pair(script, name);
  }

  // A broker outage: the mock's brokers on the embedded sandbox; on real
  // clusters, `scripts/kafka stop` / `start` of the single-node cluster
  // serving that address, which keep its storage. Before the stop the drill
  // reads the cluster id and its topics' offsets; after the start it checks
  // both survived, so a drill cannot pass on a freshly formatted cluster.
  Status Broker(bool up, const std::string& side, const Millis timeout, reports::StepResult* r,
                Json* ev) {
    const ClientConfig& cluster = side == "source" ? source_ : target_;
    const std::string action = up ? "start_broker" : "stop_broker";
    Json e = {{"side", side}, {"action", up ? "start" : "stop"}};
    std::string name = "embedded " + side;
    std::string script;
    if (!embedded_) {
      auto found = KafkaScriptCluster(action, cluster.bootstrap());
      if (!found.ok()) return found.status();
      script = found->first;
      name = found->second;
    }
    e["cluster"] = name;
    if (!up) {
      auto before = ReadFacts(cluster, kAdminTimeout);
      if (!before.ok()) return before.status().WithContext("before the outage");
      e["cluster_id"] = before->id;
      e["logs"] = LogsJson(*before);
      before_outage_[side] = *before;
    }
    if (embedded_) {
      LIFELINE_RETURN_IF_ERROR(sandbox_->Find(side)->SetBrokersUp(up));
    } else {
      const std::string log = out_dir_ + "/kafka.log";
      const std::string verb = up ? "start" : "stop";
      const std::string cmd = fmt::format("'{}' {} {} >>'{}' 2>&1", script, verb, name, log);
      if (std::system(cmd.c_str()) != 0) {
        (*ev)["broker"].push_back(e);
        return Status::Infra(fmt::format("`scripts/kafka {} {}` failed; see {}", verb, name, log));
      }
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
      r->message =
          fmt::format("stopped broker {} ({}, cluster id {}; {} partition(s) recorded)", side, name,
                      before_outage_[side].id, before_outage_[side].logs.size());
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
    auto stopped = before_outage_.find(side);
    if (stopped == before_outage_.end()) {
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
    before_outage_.erase(side);
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

  Status Fault(const DrillStep& s, reports::StepResult* r, Json* ev) {
    for (const char* key : {"pause", "resume"}) {
      for (const std::string& name : s.list(key)) {
        auto it = consumers_.find(name);
        if (it == consumers_.end())
          return Status::Usage(name + " is external: lifeline never runs it");
        it->second->Pause(std::string(key) == "pause");
        r->message += fmt::format("{}{}d {}", r->message.empty() ? "" : "; ", key, name);
      }
    }
    for (const char* key : {"stop_broker", "start_broker"}) {
      if (s.get(key).empty()) continue;
      reports::StepResult broker;
      LIFELINE_RETURN_IF_ERROR(
          Broker(std::string(key) == "start_broker", s.get(key), s.timeout, &broker, ev));
      r->message += (r->message.empty() ? "" : "; ") + broker.message;
    }
    if (s.get("kill") == "mirror") {
      if (mirror_pid_ <= 0) return Status::CheckFailed("no background mirror to kill");
      auto how = StopBackgroundMirror(SIGKILL, ev);
      if (!how.ok()) return how.status();
      r->message += (r->message.empty() ? "" : "; ") + std::string("mirror ") + *how;
    }
    if (s.get("restart") == "mirror") {
      LIFELINE_RETURN_IF_ERROR(StartBackgroundMirror(ev));
      r->message += (r->message.empty() ? "" : "; ") + std::string("mirror restarted");
    }
    if (!s.get("stop").empty()) {
      for (const std::string& name : s.list("stop")) {
        auto it = consumers_.find(name);
        if (it == consumers_.end())
          return Status::Usage(name + " is external: lifeline never runs it");
        it->second->Stop();
      }
      r->message += (r->message.empty() ? "" : "; ") + std::string("stopped ") + s.get("stop");
    }
    if (!s.get("start").empty()) {
      for (const std::string& name : s.list("start")) {
        auto it = consumers_.find(name);
        if (it == consumers_.end())
          return Status::Usage(name + " is external: lifeline never runs it");
        LIFELINE_RETURN_IF_ERROR(it->second->Start(Active()));
      }
      r->message += (r->message.empty() ? "" : "; ") + std::string("started ") + s.get("start");
    }
    return Status::Ok();
  }

  // Runtime traces of a prompt version, as a serving system would emit them.
  Status Trace(const DrillStep& s, reports::StepResult* r) {
    const int count = std::stoi(s.get("count", "10"));
    const std::string key = s.get("prompt") + "@" + s.get("version");
    for (int i = 0; i < count; ++i) {
      Record t;
      t.topic = Topic(traces_);
      t.key = key;
      t.value = fmt::format("{{\"prompt\":\"{}\",\"version\":\"{}\",\"latency_ms\":{}}}",
                            s.get("prompt"), s.get("version"), 40 + i % 17);
      t.timestamp = TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
      LIFELINE_RETURN_IF_ERROR(producer_->Send(t, 0));
    }
    LIFELINE_RETURN_IF_ERROR(producer_->Flush(Millis(30000)));
    r->message = fmt::format("{} trace(s) of {} on {}", count, key, traces_);
    return Status::Ok();
  }

  Status ExpectTraces(const DrillStep& s, reports::StepResult* r, Json* ev) {
    auto it = consumers_.find(s.get("consumer"));
    if (it == consumers_.end() || file_.consumer(s.get("consumer"))->kind != "observability") {
      return Status::Usage("expect_traces.consumer must be a built-in observability consumer");
    }
    const int64_t want = std::stoll(s.get("count"));
    const auto deadline = Clock::now() + s.timeout;
    int64_t joined = 0;
    while ((joined = it->second->JoinedTraces(s.get("prompt"), s.get("version"))) < want &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(Millis(100));
    }
    const int64_t orphans = it->second->OrphanTraces();
    (*ev)["joined"] = joined;
    (*ev)["orphans"] = orphans;
    r->message = fmt::format("{} joined {} trace(s) of {} {} (expected {}), {} orphan(s)",
                             it->first, joined, s.get("prompt"), s.get("version"), want, orphans);
    if (joined != want) return Status::CheckFailed(r->message);
    return Status::Ok();
  }

  // ------------------------------------------------------------ scorecard

  void Score() {
    auto add = [&](std::string item, int score, std::string evidence) {
      report_.scores.push_back({std::move(item), score, std::move(evidence)});
    };
    add("versioned, immutable event schema",
        replayed_ && quarantined_ == 0 && violations_ == 0 ? 2
        : events_.empty()                                  ? 0
                                                           : 1,
        replayed_ ? fmt::format("every event carries schema {} and a versioned ce_type; a replay "
                                "found {} quarantined event(s) and {} violation(s)",
                                envelope::kSchemaVersion, quarantined_, violations_)
                  : "events are versioned, but no replay checked them");
    std::set<std::string> kinds;
    for (const DrillConsumer& c : file_.consumers) {
      if (!c.external) kinds.insert(c.kind);
    }
    add("independent consumer groups for release, audit, evaluation, observability",
        kinds.size() == 4 && lag_checked_ ? 2
        : kinds.empty()                   ? 0
                                          : 1,
        fmt::format("{} of the 4 kinds ran as their own groups ({}){}", kinds.size(),
                    fmt::join(kinds, ", "),
                    lag_checked_ ? "; their committed offsets were checked" : ""));
    const auto retention = report_.topic_configs.find("retention.ms");
    if (retention == report_.topic_configs.end()) {
      add("retention long enough for incident reconstruction", 0,
          embedded_ ? "embedded sandbox: no topic configuration to read"
                    : "the topic's retention.ms could not be read");
    } else {
      int64_t ms = 0;
      std::from_chars(retention->second.data(), retention->second.data() + retention->second.size(),
                      ms);
      const bool long_enough = ms < 0 || ms >= 30LL * 24 * 3600 * 1000;
      add("retention long enough for incident reconstruction",
          long_enough && replayed_ ? 2
          : long_enough            ? 1
                                   : 0,
          fmt::format("retention.ms={} ({}){}", retention->second,
                      ms < 0 ? "forever" : fmt::format("{:.1f} days", ms / 86400000.0),
                      replayed_ ? "; a replay from the log start rebuilt the registry" : ""));
    }
    add("rollback tested with real consumers",
        rollback_confirmed_ ? 2
        : std::any_of(events_.begin(), events_.end(),
                      [](const PublishedEvent& e) { return e.kind == "rolled_back"; })
            ? 1
            : 0,
        rollback_confirmed_ ? "a rollback was processed by every critical consumer, read from "
                              "committed offsets"
                            : "no rollback was confirmed from committed offsets");
    bool critical = false, analytical = false;
    for (const DrillConsumer& c : file_.consumers) (c.critical ? critical : analytical) = true;
    add("lag alerts that tell critical from analytical consumers",
        critical && analytical && lag_checked_ ? 2
        : critical                             ? 1
                                               : 0,
        critical && analytical
            ? fmt::format("critical and analytical consumers declared; lag {}evaluated "
                          "(critical behind fails, analytical behind warns){}",
                          lag_checked_ ? "" : "not ",
                          rollback_confirmed_partial_ ? "; an analytical consumer was behind" : "")
            : "no split between critical and analytical consumers");
    const bool secured = source_.Get("security.protocol").value_or("plaintext") != "plaintext" &&
                         source_.Get("security.protocol").value_or("PLAINTEXT") != "PLAINTEXT";
    add("access controls that separate publishers from readers", secured ? 1 : 0,
        secured ? "clients authenticate (" + source_.Get("security.protocol").value_or("") +
                      "); the drill does not test that readers cannot publish"
                : "plaintext clients: not designed here, and the drill cannot test ACLs");
    add("migration plan that keeps data, client behaviour and consumer progress",
        mirrored_ && records_verified_ && synced_ && groups_verified_ ? 2
        : mirrored_                                                   ? 1
                                                                      : 0,
        mirrored_
            ? fmt::format(
                  "mirrored with an exact offset map; records {}; groups {}{}{}",
                  records_verified_ ? "verified" : "not verified", synced_ ? "moved" : "not moved",
                  groups_verified_ ? " and verified" : "",
                  cut_over_ ? (failed_back_ ? "; cut over and failed back" : "; cut over") : "")
            : "no migration rehearsed");
  }

  DrillFile file_;
  DrillOptions options_;
  StderrToFile log_;  // outlives the clients below: their last words stay in drill.log
  std::optional<EmbeddedSandbox> sandbox_;
  bool embedded_ = false;
  ClientConfig source_, target_;
  std::string run_id_, topic_, traces_, out_dir_, mirror_name_;
  std::atomic<bool> on_target_{false};  // read by the sampler thread too
  std::unique_ptr<Producer> producer_;
  std::map<uint64_t, std::pair<int32_t, int64_t>> delivered_;
  std::map<std::string, std::unique_ptr<ReferenceConsumer>> consumers_;
  std::vector<PublishedEvent> events_;
  std::map<std::pair<std::string, std::string>, std::string> live_;
  std::set<std::pair<std::string, std::string>> proposed_;
  uint64_t counter_ = 0;
  reports::DrillReport report_;
  Json facts_ = Json::object();
  Clock::time_point t0_;
  std::thread sampler_;
  std::atomic<bool> stop_sampler_{false};
  pid_t mirror_pid_ = -1;
  bool background_requested_ = false;
  bool exactly_once_ = false;  // once a mirror step asks for it, every forward run uses it
  std::map<std::string, ClusterFacts> before_outage_;  // side -> read before stop_broker
  std::mutex mu_;
  bool replayed_ = false, mirrored_ = false, synced_ = false, cut_over_ = false,
       failed_back_ = false, records_verified_ = false, groups_verified_ = false,
       rollback_confirmed_ = false, rollback_confirmed_partial_ = false, lag_checked_ = false;
  int64_t quarantined_ = 0, violations_ = 0;
};

}  // namespace

Result<DrillOutcome> RunDrill(const DrillOptions& options) {
  auto file = LoadDrill(options.file);
  if (!file.ok()) return file.status();
  Runner runner(std::move(file).value(), options);
  return runner.Run();
}

std::string FormatDrillText(const DrillOutcome& o) {
  const reports::DrillReport& r = o.report;
  std::string out = fmt::format("drill {}: {} ({} steps, {:.1f} s, topic {})\n", r.name,
                                r.pass ? "PASS" : "FAIL", r.steps.size(), r.seconds, r.topic);
  for (const auto& s : r.steps) {
    out += fmt::format("  {:>2} {:<8} {}{}\n", s.index,
                       !s.passed   ? "FAILED"
                       : s.warning ? "warning"
                                   : "ok",
                       s.title, s.message.empty() ? "" : " — " + s.message);
  }
  int score = 0;
  for (const auto& s : r.scores) score += s.score;
  out += fmt::format("  readiness score {} / {}\n", score, 2 * r.scores.size());
  out += "reports:\n";
  for (const std::string& f : o.written.files) out += fmt::format("  {}/{}\n", o.written.dir, f);
  return out;
}

std::string FormatDrillJson(const DrillOutcome& o) {
  Json j;
  j["drill"] = o.report.name;
  j["pass"] = o.report.pass;
  j["report_dir"] = o.written.dir;
  j["files"] = o.written.files;
  j["steps"] = Json::array();
  for (const auto& s : o.report.steps) {
    j["steps"].push_back({{"index", s.index},
                          {"kind", s.kind},
                          {"passed", s.passed},
                          {"warning", s.warning},
                          {"message", s.message}});
  }
  return j.dump(2) + "\n";
}

}  // namespace lifeline::scenarios
