#include "drill/drill.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/envelope.h"
#include "core/kafka.h"
#include "core/sandbox.h"
#include "core/version.h"
#include "drill/internal/context.h"
#include "drill/internal/drill_file.h"
#include "drill/internal/score.h"
#include "mirror/mirror.h"

namespace lifeline::drill {
namespace {

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

// Runs one drill: sets up clusters, topic and consumers, runs the steps in
// order against the context, scores what they recorded and writes the
// reports.
class Runner {
 public:
  Runner(DrillFile file, DrillOptions options) : ctx_(std::move(file), std::move(options)) {}

  Result<DrillOutcome> Run() {
    ctx_.t0 = Clock::now();
    ctx_.run_id = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
    ctx_.report.name = ctx_.file.name;
    ctx_.report.file = ctx_.file.path;
    ctx_.report.description = ctx_.file.description;
    ctx_.report.started_at = Now3339();
    ctx_.report.lifeline_version = kVersion;
    ctx_.report.librdkafka_version = rd_kafka_version_str();
    LIFELINE_RETURN_IF_ERROR(LoadPrincipals());  // before anything is written
    LIFELINE_RETURN_IF_ERROR(PrepareOutDir());
    LIFELINE_RETURN_IF_ERROR(log_.Open(ctx_.out_dir + "/drill.log"));
    ctx_.Log(fmt::format("drill {} ({}), run {}, reports in {}", ctx_.file.name, ctx_.file.path,
                         ctx_.run_id, ctx_.out_dir));
    if (Status st = SetUp(); !st.ok()) {
      ctx_.Log("cannot run: " + st.message());
      return st;
    }
    sampler_ = std::thread([this] { Sample(); });
    std::string stopped_by;  // the failed step that stopped the drill
    for (size_t i = 0; i < ctx_.file.steps.size(); ++i) {
      const DrillStep& step = ctx_.file.steps[i];
      if (!stopped_by.empty()) {
        SkipStep(static_cast<int>(i + 1), step, stopped_by);
        continue;
      }
      if (!RunStep(static_cast<int>(i + 1), step) && step.kind->stops_the_drill) {
        stopped_by = fmt::format("step {} ({})", i + 1, step.name());
        ctx_.Log(fmt::format("{} failed: the remaining steps are not run", stopped_by));
      }
    }
    stop_sampler_ = true;
    sampler_.join();
    auto mirror_end = ctx_.StopBackgroundMirror(SIGTERM, nullptr);
    ctx_.extra_evidence["background_mirror_at_end"] =
        mirror_end.ok() ? *mirror_end : mirror_end.status().message();
    // Everything that writes into the report folder is closed before the
    // manifest hashes it: archives, clients, the sandbox, then drill.log.
    ctx_.consumers.clear();
    ctx_.producer.reset();
    ctx_.sandbox.reset();
    ctx_.report.scores = drill::Score(ScoreFacts());
    ctx_.report.seconds = ctx_.Elapsed();
    ctx_.report.pass = std::all_of(ctx_.report.steps.begin(), ctx_.report.steps.end(),
                                   [](const reports::StepResult& s) { return s.passed; });
    ctx_.extra_evidence["run_id"] = ctx_.run_id;
    ctx_.extra_evidence["events"] = Json::array();
    for (const PublishedEvent& e : ctx_.events) {
      ctx_.extra_evidence["events"].push_back({{"id", e.id},
                                               {"label", e.label},
                                               {"kind", e.kind},
                                               {"prompt", e.prompt},
                                               {"version", e.version},
                                               {"cluster", e.on_target ? "target" : "source"},
                                               {"partition", e.partition},
                                               {"offset", e.offset}});
    }
    ctx_.report.extra_evidence =
        ctx_.extra_evidence.dump(-1, ' ', false, Json::error_handler_t::replace);
    DrillOutcome out;
    out.report = ctx_.report;
    LIFELINE_ASSIGN_OR_RETURN(auto reports, reports::WriteReports(ctx_.report, ctx_.out_dir));
    ctx_.Log(fmt::format("drill {}: {}", ctx_.file.name, ctx_.report.pass ? "PASS" : "FAIL"));
    log_.Close();
    LIFELINE_ASSIGN_OR_RETURN(auto written, reports::WriteManifest(ctx_.out_dir));
    out.written = written;
    return out;
  }

  // The report folder holds one run: a folder with anything in it is
  // refused (an older run's archives would sit next to the new reports),
  // unless --force, which empties it first.
  Status PrepareOutDir() {
    namespace fs = std::filesystem;
    ctx_.out_dir = ctx_.options.out_dir.empty()
                       ? fmt::format("reports/{}-{}", ctx_.file.name, ctx_.run_id)
                       : ctx_.options.out_dir;
    std::error_code ec;
    const fs::file_status st = fs::status(ctx_.out_dir, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st)) {
        return Status::Usage(
            fmt::format("--out {}: exists and is not a folder; give a new folder", ctx_.out_dir));
      }
      const bool empty = fs::is_empty(ctx_.out_dir, ec);
      if (ec) return Status::Infra(fmt::format("report folder {}: {}", ctx_.out_dir, ec.message()));
      if (!empty && !ctx_.options.force) {
        return Status::Usage(
            fmt::format("--out {}: the folder is not empty (an earlier run's reports?); give a new "
                        "folder, or add --force to empty it first",
                        ctx_.out_dir));
      }
      if (!empty) LIFELINE_RETURN_IF_ERROR(EmptyFolder(ctx_.out_dir));
    }
    fs::create_directories(ctx_.out_dir, ec);
    if (ec)
      return Status::Infra(fmt::format("report directory {}: {}", ctx_.out_dir, ec.message()));
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
    if (const char* home = std::getenv("HOME")) guarded.emplace_back(home);
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
    const TwoClusterInputs& given = ctx_.options.clusters;
    std::string src = given.source.empty() ? ExpandEnv(ctx_.file.source) : given.source;
    std::string dst = given.target.empty() ? ExpandEnv(ctx_.file.target) : given.target;
    if (src.empty() || dst.empty()) {
      return Status::Usage(fmt::format(
          "{}: clusters resolve to an empty address (an unset ${{VAR}}?); give --source and "
          "--target, or use embedded",
          ctx_.file.path));
    }
    ctx_.embedded = src == "embedded" || dst == "embedded";
    if (ctx_.embedded && !(src == "embedded" && dst == "embedded")) {
      return Status::Usage("mix of embedded and real clusters: use embedded for both or neither");
    }
    if (ctx_.embedded) {
      auto sb = EmbeddedSandbox::Start({"source", "target"});
      if (!sb.ok()) return sb.status();
      ctx_.sandbox.emplace(std::move(sb).value());
      src = ctx_.sandbox->Find("source")->bootstrap();
      dst = ctx_.sandbox->Find("target")->bootstrap();
    }
    TwoClusterInputs in = given;
    in.source = src;
    in.target = dst;
    LIFELINE_ASSIGN_OR_RETURN(auto s, BuildSideConfig(in, "source"));
    LIFELINE_ASSIGN_OR_RETURN(auto t, BuildSideConfig(in, "target"));
    ctx_.source = s;
    ctx_.target = t;
    ctx_.report.clusters["source"] = (ctx_.embedded ? "embedded " : "") + ctx_.source.Describe();
    ctx_.report.clusters["target"] = (ctx_.embedded ? "embedded " : "") + ctx_.target.Describe();
    ctx_.mirror_name = "drill-" + ctx_.run_id;
    // Broker faults: the mock's brokers, or the scripts/kafka cluster that
    // serves the address (which keeps its storage).
    ctx_.brokers = ctx_.embedded ? EmbeddedBrokers(&*ctx_.sandbox)
                                 : ScriptBrokers(ctx_.out_dir + "/kafka.log");
    return Status::Ok();
  }

  // Each principal's client property file, read before any cluster work. Its
  // settings (Java ones mapped) later overlay a side's, which keeps its
  // bootstrap address.
  Status LoadPrincipals() {
    for (const auto& [name, written] : ctx_.file.principals) {
      const std::string path = ExpandEnv(written);
      if (path.empty()) {
        return Status::Usage(
            fmt::format("{}: principals.{}: '{}' is empty (an unset ${{VAR}}?); "
                        "set it to the client property file of {}",
                        ctx_.file.path, name, written, name));
      }
      auto props = LoadPropertiesFile(path);
      if (!props.ok()) {
        return Status::Usage(
            fmt::format("{}: principals.{}: {}", ctx_.file.path, name, props.status().message()));
      }
      ClientConfig settings;
      for (auto& [k, v] : *props) settings.Set(k, v);
      LIFELINE_RETURN_IF_ERROR(JavaClientSettings(&settings).WithContext(
          fmt::format("{}: principals.{} ({})", ctx_.file.path, name, path)));
      ctx_.principals.emplace(name, std::move(settings));
    }
    return Status::Ok();
  }

  Status CreateTopic(bool on_target, const std::string& topic, int partitions, bool compact) {
    if (ctx_.embedded) {
      return ctx_.sandbox->Find(on_target ? "target" : "source")->CreateTopic(topic, partitions);
    }
    LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(on_target ? ctx_.target : ctx_.source));
    std::vector<std::pair<std::string, std::string>> configs = {{"retention.ms", "-1"}};
    if (compact) configs.emplace_back("cleanup.policy", "compact");
    LIFELINE_RETURN_IF_ERROR(
        admin->CreateTopic({topic, partitions, -1, configs}, kAdminTimeout, true));
    return admin->WaitForTopic(topic, partitions, kAdminTimeout);
  }

  Status SetUpTopic() {
    // Every run writes a fresh topic: drill events never mix with real ones,
    // and reruns never see each other's event ids.
    ctx_.topic = fmt::format("{}.{}", ctx_.file.topic, ctx_.run_id);
    ctx_.report.topic = ctx_.topic;
    LIFELINE_RETURN_IF_ERROR(
        CreateTopic(false, ctx_.topic, ctx_.file.partitions, false).WithContext("source"));
    // Runtime traces (what the prompts served), joined by observability
    // consumers; on both sides, so they can follow a cutover.
    ctx_.traces = ctx_.topic + ".traces";
    LIFELINE_RETURN_IF_ERROR(CreateTopic(false, ctx_.traces, ctx_.file.partitions, false));
    LIFELINE_RETURN_IF_ERROR(CreateTopic(true, ctx_.traces, ctx_.file.partitions, false));
    if (ctx_.embedded) {
      // The mock cannot create topics over the protocol: the mirror's target
      // topic and offset-map topic are made here.
      LIFELINE_RETURN_IF_ERROR(CreateTopic(true, ctx_.topic, ctx_.file.partitions, false));
      LIFELINE_RETURN_IF_ERROR(CreateTopic(true, mirror::kOffsetMapTopic, 1, true));
      LIFELINE_RETURN_IF_ERROR(CreateTopic(false, mirror::kOffsetMapTopic, 1, true));
    } else {
      auto admin = Admin::Create(ctx_.source);
      if (admin.ok()) {
        // Whether ACLs exist at all: the access item's 1 (an access step
        // that proves them makes it 2).
        auto acls = (*admin)->CountAcls(kAdminTimeout);
        if (acls.ok()) {
          ctx_.facts.acl_bindings = *acls;
        } else {
          ctx_.facts.acls_unread = acls.status().message();
        }
        auto configs = (*admin)->DescribeTopicConfigs(ctx_.topic, kAdminTimeout);
        if (configs.ok()) {
          for (const auto& [k, v] : *configs) {
            if (!v.is_default || k == "retention.ms" || k == "cleanup.policy") {
              ctx_.report.topic_configs[k] = v.is_sensitive ? "*****" : v.value;
            }
          }
        }
      }
    }
    return ctx_.MakeProducer();
  }

  Status StartConsumers() {
    for (const DrillConsumer& c : ctx_.file.consumers) {
      if (c.external) continue;
      const std::string group = fmt::format("{}.{}", c.name, ctx_.run_id);
      ctx_.consumers[c.name] = std::make_unique<ReferenceConsumer>(
          c.name, c.kind, group, ctx_.topic, fmt::format("{}/audit-{}.db", ctx_.out_dir, c.name));
      if (c.kind == "observability") ctx_.consumers[c.name]->SetTraceTopic(ctx_.traces);
    }
    for (auto& [name, c] : ctx_.consumers) {
      LIFELINE_RETURN_IF_ERROR(c->Start(ctx_.Active()));
    }
    return Status::Ok();
  }

  // Committed position of every group over time, for the report's timeline.
  // One reader per cluster and group, kept for the whole drill.
  void Sample() {
    std::map<std::pair<std::string, std::string>, std::unique_ptr<GroupOffsetsReader>> readers;
    while (!stop_sampler_) {
      for (const DrillConsumer& c : ctx_.file.consumers) {
        const ClientConfig cluster = ctx_.Active();
        auto& reader = readers[{cluster.bootstrap(), ctx_.GroupOf(c)}];
        if (!reader) {
          auto created = GroupOffsetsReader::Create(cluster, ctx_.GroupOf(c));
          if (!created.ok()) continue;
          reader = std::move(created).value();
        }
        auto committed = reader->Read(ctx_.Partitions(), Millis(5000));
        if (!committed.ok()) continue;
        int64_t total = 0;
        for (const auto& [tp, o] : *committed) total += o.value();
        std::lock_guard lock(ctx_.mu);
        ctx_.report.samples.push_back({ctx_.Elapsed(), c.name, total});
      }
      for (int i = 0; i < 5 && !stop_sampler_; ++i) std::this_thread::sleep_for(Millis(100));
    }
  }

  // Records a step not run because `stopped_by` failed (JUnit: skipped).
  void SkipStep(int index, const DrillStep& step, const std::string& stopped_by) {
    reports::StepResult r;
    r.index = index;
    r.kind = step.name();
    r.title = step.kind->title(step);
    r.started = ctx_.Elapsed();
    r.passed = false;
    r.skipped = true;
    r.message = "not run: " + stopped_by + " failed";
    r.evidence = "{}";
    ctx_.Log(fmt::format("step {} {}: skipped — {}", index, r.title, r.message));
    std::lock_guard lock(ctx_.mu);
    ctx_.report.steps.push_back(std::move(r));
  }

  // Runs one step and records it; whether it passed.
  bool RunStep(int index, const DrillStep& step) {
    reports::StepResult r;
    r.index = index;
    r.kind = step.name();
    r.title = step.kind->title(step);
    r.started = ctx_.Elapsed();
    {
      std::lock_guard lock(ctx_.mu);
      ctx_.report.marks.push_back({r.started, fmt::format("{} {}", index, step.name())});
    }
    ctx_.Log(fmt::format("step {} {}", index, r.title));
    Json evidence = Json::object();
    StepRun run{ctx_, &step, &r, &evidence};
    const Status st = step.kind->run(step, run);
    if (!st.ok()) {
      r.passed = false;
      r.message = st.message();
    }
    r.seconds = ctx_.Elapsed() - r.started;
    ctx_.Log(fmt::format("step {} {}: {}{}", index, r.title,
                         !r.passed   ? "FAILED"
                         : r.warning ? "warning"
                                     : "ok",
                         r.message.empty() ? "" : " — " + r.message));
    r.evidence = evidence.dump(-1, ' ', false, Json::error_handler_t::replace);
    const bool passed = r.passed;
    std::lock_guard lock(ctx_.mu);
    ctx_.report.steps.push_back(std::move(r));
    return passed;
  }

 private:
  // What the scorecard is computed from: the steps' own facts and what the
  // drill file and the set-up say.
  Facts ScoreFacts() const {
    Facts f = ctx_.facts;
    for (const DrillConsumer& c : ctx_.file.consumers) {
      if (!c.external) f.consumer_kinds.insert(c.kind);
      (c.critical ? f.critical_declared : f.analytical_declared) = true;
    }
    f.embedded = ctx_.embedded;
    if (auto it = ctx_.report.topic_configs.find("retention.ms");
        it != ctx_.report.topic_configs.end()) {
      f.retention_ms = it->second;
    }
    f.events_published = !ctx_.events.empty();
    f.rollback_published =
        std::any_of(ctx_.events.begin(), ctx_.events.end(), [](const PublishedEvent& e) {
          return e.kind == envelope::KindName(envelope::Kind::kRolledBack);
        });
    return f;
  }

  StderrToFile log_;  // outlives the clients in ctx_: their last words stay in drill.log
  DrillContext ctx_;
  std::thread sampler_;
  std::atomic<bool> stop_sampler_{false};
};

}  // namespace

Result<DrillOutcome> RunDrill(const DrillOptions& options) {
  LIFELINE_ASSIGN_OR_RETURN(auto file, LoadDrill(options.file));
  Runner runner(std::move(file), options);
  return runner.Run();
}

std::string FormatDrillText(const DrillOutcome& o) {
  const reports::DrillReport& r = o.report;
  std::string out = fmt::format("drill {}: {} ({} steps, {:.1f} s, topic {})\n", r.name,
                                r.pass ? "PASS" : "FAIL", r.steps.size(), r.seconds, r.topic);
  for (const auto& s : r.steps) {
    out += fmt::format("  {:>2} {:<8} {}{}\n", s.index,
                       s.skipped   ? "skipped"
                       : !s.passed ? "FAILED"
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

}  // namespace lifeline::drill
