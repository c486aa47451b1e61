// The step kinds: each kind's parse (checked strings -> its struct, with the
// checks across arguments and steps), title and run, and the table at the
// end, the only place a kind is named.
#include "drill/internal/steps.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "core/topic_reader.h"
#include "drill/internal/context.h"
#include "replay/replay.h"
#include "verify/verify.h"

namespace lifeline::drill {

const char* SideName(Side side) { return side == Side::kSource ? "source" : "target"; }

const char* DrillStep::name() const { return kind ? kind->name : ""; }

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::optional<int64_t> WholeNumber(const std::string& text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return v;
}

std::optional<Millis> ParseDuration(const std::string& text) {
  // DIGITS[.DIGITS]UNIT, nothing else ("1.2.3s" and "5 s" are typos, not 1.2 s).
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    const size_t dot = i++;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == dot + 1) return std::nullopt;
  }
  const std::string unit = text.substr(i);
  const double scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 0;
  if (scale == 0) return std::nullopt;
  const double ms = std::strtod(text.substr(0, i).c_str(), nullptr) * scale;
  if (!(ms <= static_cast<double>(kMaxDuration.count()))) return std::nullopt;
  return Millis(static_cast<int64_t>(ms));
}

std::string StepInput::Text(const std::string& key, const std::string& fallback) const {
  auto it = written_.find(key);
  return it == written_.end() ? fallback : it->second;
}

std::vector<std::string> StepInput::List(const std::string& key) const {
  return SplitList(Text(key));
}

int64_t StepInput::Number(const std::string& key, int64_t fallback) const {
  return Has(key) ? WholeNumber(Text(key)).value_or(fallback) : fallback;
}

bool StepInput::Bool(const std::string& key, bool fallback) const {
  return Has(key) ? Text(key) == "true" : fallback;
}

Millis StepInput::Duration(const std::string& key, Millis fallback) const {
  return Has(key) ? ParseDuration(Text(key)).value_or(fallback) : fallback;
}

std::optional<Side> StepInput::SideOf(const std::string& key) const {
  if (!Has(key)) return std::nullopt;
  return Text(key) == "target" ? Side::kTarget : Side::kSource;
}

Status StepInput::Error(const std::string& what) const {
  return Status::Usage(fmt::format("{}:{}: {}", at_, line_, what));
}

namespace {

// ------------------------------------------------------------ helpers

std::string EventAt(const DrillContext& c) {
  return fmt::format("event {} at partition {} offset {}", c.events.back().id,
                     c.events.back().partition, c.events.back().offset);
}

// Waits until `done` or the deadline; true when done.
template <typename Done>
bool WaitFor(Clock::time_point deadline, Millis every, Done done) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

void Append(std::string* message, const std::string& part) {
  *message += (message->empty() ? "" : "; ") + part;
}

// The title of a kind without one of its own: its name and arguments.
std::string ListTitle(const DrillStep& s) {
  std::string args;
  for (const auto& [k, v] : s.written) {
    if (k != "timeout") args += fmt::format(" {}={}", k, v);
  }
  return s.name() + args;
}

// ------------------------------------------------------------ deploy

Result<DeployArgs> ParseDeploy(const StepInput& in) {
  DeployArgs a;
  a.prompt = in.Text("prompt");
  a.version = in.Text("version");
  a.scope = in.Text("scope", a.scope);
  a.percent = static_cast<int>(in.Number("percent", a.percent));
  a.model = in.Text("model", a.model);
  return a;
}

std::string TitleDeploy(const DeployArgs& a, const DrillStep&) {
  return fmt::format("deploy {} {} to {}", a.prompt, a.version, a.scope);
}

Status RunDeploy(const DeployArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  envelope::Event d = c.Base(envelope::Kind::kDeployed, a.prompt, a.version, "release-bot@drill");
  d.rollout = envelope::Rollout{a.scope, a.percent};
  const std::string label = fmt::format("deploy {} {} ({})", a.prompt, a.version, a.scope);
  // Refused before its proposal, approval and evaluation are produced.
  LIFELINE_RETURN_IF_ERROR(c.CheckEnvelope(d, label));
  LIFELINE_RETURN_IF_ERROR(c.EnsureProposed(a.prompt, a.version, a.model, run.evidence));
  LIFELINE_RETURN_IF_ERROR(c.Publish(d, label, run.evidence));
  c.live[{a.prompt, a.scope}] = a.version;
  run.result->message = EventAt(c);
  return Status::Ok();
}

// ------------------------------------------------------------ publish

Result<PublishArgs> ParsePublish(const StepInput& in) {
  PublishArgs a;
  a.prompt = in.Text("prompt");
  a.version = in.Text("version");
  a.kind = *envelope::KindFromName(in.Text("kind"));  // checked as an event kind
  a.scope = in.Text("scope", a.scope);
  a.percent = static_cast<int>(in.Number("percent", a.percent));
  a.to = in.Text("to");
  a.reason = in.Text("reason", a.reason);
  a.passed = in.Bool("passed", a.passed);
  // Arguments that only make sense for some kinds of event.
  const bool rollout =
      a.kind == envelope::Kind::kDeployed || a.kind == envelope::Kind::kRolloutChanged;
  const bool rollback = a.kind == envelope::Kind::kRolledBack;
  auto only = [&](const char* key, bool applies, const char* kinds) -> Status {
    if (in.Has(key) && !applies) {
      return in.Error(
          fmt::format("publish.{} applies to {} events, not {}", key, kinds, in.Text("kind")));
    }
    return Status::Ok();
  };
  LIFELINE_RETURN_IF_ERROR(only("percent", rollout, "deployed and rollout_changed"));
  LIFELINE_RETURN_IF_ERROR(
      only("scope", rollout || rollback, "deployed, rollout_changed and rolled_back"));
  LIFELINE_RETURN_IF_ERROR(only("to", rollback, "rolled_back"));
  LIFELINE_RETURN_IF_ERROR(only("reason", rollback, "rolled_back"));
  LIFELINE_RETURN_IF_ERROR(only("passed", a.kind == envelope::Kind::kEvaluated, "evaluated"));
  if (rollback && !in.Has("to")) {
    return in.Error("publish of a rolled_back event needs 'to' (the version rolled back to)");
  }
  if (rollback && a.to == a.version) {
    return in.Error(fmt::format("publish: rolls {} back to itself", a.version));
  }
  return a;
}

Status RunPublish(const PublishArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  envelope::Event e = c.Base(a.kind, a.prompt, a.version, "drill");
  switch (a.kind) {
    case envelope::Kind::kProposed:
      e.tmpl = envelope::Template{Hex64(e.prompt_id + "@" + e.version), {"input"}, ""};
      e.dependencies = envelope::Dependencies{"model-x@drill", "rp-1", "tools@1", "sp-1"};
      c.proposed.insert({e.prompt_id, e.version});
      break;
    case envelope::Kind::kApproved:
    case envelope::Kind::kRejected:
      e.approval = envelope::Approval{"lead@drill", "DRILL-" + c.run_id};
      break;
    case envelope::Kind::kEvaluated:
      e.evaluation = envelope::Evaluation{"drill", "drill", a.passed, 0.9};
      break;
    case envelope::Kind::kDeployed:
    case envelope::Kind::kRolloutChanged:
      e.rollout = envelope::Rollout{a.scope, a.percent};
      c.live[{e.prompt_id, a.scope}] = e.version;
      break;
    case envelope::Kind::kRolledBack:
      e.rollback = envelope::Rollback{a.to, a.reason, a.scope, {}};
      c.live[{e.prompt_id, a.scope}] = a.to;
      break;
    case envelope::Kind::kRetired:
      break;
  }
  LIFELINE_RETURN_IF_ERROR(
      c.Publish(e, fmt::format("{} {} {}", envelope::KindName(a.kind), e.prompt_id, e.version),
                run.evidence));
  run.result->message = EventAt(c);
  return Status::Ok();
}

// ------------------------------------------------------------ rollback

Result<RollbackArgs> ParseRollback(const StepInput& in) {
  RollbackArgs a;
  a.prompt = in.Text("prompt");
  a.to = in.Text("to");
  a.scope = in.Text("scope", a.scope);
  a.reason = in.Text("reason", a.reason);
  if (in.Has("from")) a.from = in.Text("from");
  if (a.from == a.to) return in.Error(fmt::format("rollback: from and to are both {}", a.to));
  return a;
}

std::string TitleRollback(const RollbackArgs& a, const DrillStep&) {
  return fmt::format("roll back {} to {} in {}", a.prompt, a.to, a.scope);
}

Status RunRollback(const RollbackArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  std::string from;
  if (a.from) {
    from = *a.from;
  } else {
    auto it = c.live.find({a.prompt, a.scope});
    if (it == c.live.end()) {
      return Status::CheckFailed(fmt::format(
          "nothing of {} is live in {} to roll back from (give `from:`)", a.prompt, a.scope));
    }
    from = it->second;
  }
  std::vector<std::string> expected;
  for (const DrillConsumer& dc : c.file.consumers) expected.push_back(dc.name);
  envelope::Event e = c.Base(envelope::Kind::kRolledBack, a.prompt, from, "oncall@drill");
  e.rollback = envelope::Rollback{a.to, a.reason, a.scope, expected};
  LIFELINE_RETURN_IF_ERROR(c.Publish(
      e, fmt::format("rollback {} {} -> {} ({})", a.prompt, from, a.to, a.scope), run.evidence));
  c.live[{a.prompt, a.scope}] = a.to;
  run.result->message = EventAt(c);
  return Status::Ok();
}

// ------------------------------------------------------------ processed

Result<ProcessedArgs> ParseProcessed(const StepInput& in) {
  ProcessedArgs a;
  a.by = in.List("by");
  a.event = in.Text("event", a.event);
  a.within = in.Duration("within", a.within);
  return a;
}

std::string TitleProcessed(const ProcessedArgs&, const DrillStep& s) {
  // As written: the list joined by ',' and the duration as given.
  auto arg = [&](const char* key, const char* fallback) {
    auto it = s.written.find(key);
    return it == s.written.end() ? std::string(fallback) : it->second;
  };
  return fmt::format("{} event processed by {} within {}", arg("event", "last"), arg("by", ""),
                     arg("within", "20s"));
}

Status RunProcessed(const ProcessedArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  reports::StepResult* r = run.result;
  const PublishedEvent* e = c.FindEvent(a.event);
  if (!e) return Status::CheckFailed("no such event published yet: " + a.event);
  const auto deadline = Clock::now() + a.within;
  const TopicPartition tp{Topic(c.topic), Partition(e->partition)};
  std::map<std::string, int64_t> committed;
  for (;;) {
    bool all = true;
    for (const std::string& name : a.by) {
      const DrillConsumer* dc = c.file.consumer(name);
      auto got = CommittedOffsets(c.Active(), c.GroupOf(*dc), {tp}, Millis(5000));
      const int64_t off = got.ok() && got->count(tp) ? got->at(tp).value() : -1;
      committed[name] = off;
      if (off <= e->offset) all = false;
    }
    if (all || Clock::now() > deadline) break;
    std::this_thread::sleep_for(Millis(200));
  }
  auto hw = c.HighWatermark(e->partition);
  std::vector<std::string> late_critical, late_other, done;
  for (const std::string& name : a.by) {
    const DrillConsumer* dc = c.file.consumer(name);
    reports::Ack ack;
    ack.consumer = name;
    ack.group = c.GroupOf(*dc);
    ack.event_id = e->id;
    ack.event_label = e->label;
    ack.event_kind = e->kind;
    ack.critical = dc->critical;
    ack.external = dc->external;
    ack.partition = e->partition;
    ack.offset = e->offset;
    ack.committed = committed[name];
    ack.processed = ack.committed > e->offset;
    ack.lag = hw.ok() ? *hw - std::max<int64_t>(ack.committed, 0) : -1;
    // A reference consumer whose loop stopped says why.
    std::string stopped;
    if (auto it = c.consumers.find(name); it != c.consumers.end() && !ack.processed) {
      if (Status why = it->second->error(); !why.ok()) stopped = "; stopped: " + why.message();
    }
    (ack.processed  ? done
     : dc->critical ? late_critical
                    : late_other)
        .push_back(
            fmt::format("{} (committed {}, lag {}{})", name, ack.committed, ack.lag, stopped));
    (*run.evidence)["acks"].push_back({{"consumer", name},
                                       {"group", ack.group},
                                       {"committed", ack.committed},
                                       {"processed", ack.processed},
                                       {"lag", ack.lag}});
    std::lock_guard lock(c.mu);
    c.report.acks.push_back(ack);
  }
  (*run.evidence)["event"] = {{"id", e->id}, {"partition", e->partition}, {"offset", e->offset}};
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
  if (!late_other.empty()) c.facts.analytical_behind = true;
  if (e->kind == envelope::KindName(envelope::Kind::kRolledBack)) c.facts.rollback_confirmed = true;
  c.facts.lag_checked = true;
  return Status::Ok();
}

// ------------------------------------------------------------ expect_state

Result<ExpectStateArgs> ParseExpectState(const StepInput& in) {
  ExpectStateArgs a;
  a.prompt = in.Text("prompt");
  a.active = in.Text("active");
  a.scope = in.Text("scope", a.scope);
  return a;
}

std::string TitleExpectState(const ExpectStateArgs& a, const DrillStep&) {
  return fmt::format("{} active in {} is {}", a.prompt, a.scope, a.active);
}

Status RunExpectState(const ExpectStateArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  // The stream's own answer: fold the topic as replay does.
  replay::Fold fold;
  TopicReadOptions read;
  read.topic = c.topic;
  LIFELINE_RETURN_IF_ERROR(ReadTopic(c.Active(), read, [&](const Record& rec) {
    fold.Apply(rec);
    return Status::Ok();
  }));
  const std::string from_stream = fold.ActiveVersion(a.prompt, a.scope).value_or("(nothing)");
  (*run.evidence)["stream"] = from_stream;
  std::vector<std::string> wrong;
  if (from_stream != a.active) wrong.push_back("the stream says " + from_stream);
  // Every running release controller must agree (it may need a moment).
  for (auto& [name, consumer] : c.consumers) {
    const DrillConsumer* spec = c.file.consumer(name);
    if (spec->kind != "release-controller" || !consumer->running()) continue;
    const auto deadline = Clock::now() + run.step->timeout;
    std::optional<std::string> got;
    while ((got = consumer->Active(a.prompt, a.scope)) != a.active && Clock::now() < deadline) {
      std::this_thread::sleep_for(Millis(100));
    }
    (*run.evidence)["controllers"][name] = got.value_or("(nothing)");
    if (got != a.active) {
      wrong.push_back(fmt::format("{} says {}", name, got.value_or("(nothing)")));
    }
  }
  if (!wrong.empty()) {
    return Status::CheckFailed(fmt::format("expected {} {} in {}, but {}", a.prompt, a.active,
                                           a.scope, fmt::join(wrong, "; ")));
  }
  run.result->message = fmt::format("{} in {} is {} (stream and release controller agree)",
                                    a.prompt, a.scope, a.active);
  return Status::Ok();
}

// ------------------------------------------------------------ expect_lag

Result<ExpectLagArgs> ParseExpectLag(const StepInput& in) {
  ExpectLagArgs a;
  a.consumer = in.Text("consumer");
  a.max = in.Number("max", 0);
  return a;
}

Status RunExpectLag(const ExpectLagArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  reports::StepResult* r = run.result;
  const DrillConsumer* dc = c.file.consumer(a.consumer);
  const auto deadline = Clock::now() + run.step->timeout;
  int64_t lag = -1;
  for (;;) {
    LIFELINE_ASSIGN_OR_RETURN(auto l, c.Lag(c.GroupOf(*dc)));
    lag = l;
    if (lag <= a.max || Clock::now() > deadline) break;
    std::this_thread::sleep_for(Millis(200));
  }
  (*run.evidence)["lag"] = lag;
  c.facts.lag_checked = true;
  r->message = fmt::format("{} lag {} (max {})", dc->name, lag, a.max);
  if (lag > a.max) {
    if (!dc->critical) {
      r->warning = true;
      r->message += " — analytical consumer: a warning";
      return Status::Ok();
    }
    return Status::CheckFailed(r->message);
  }
  return Status::Ok();
}

// ------------------------------------------------------------ replay

Result<ReplayArgs> ParseReplay(const StepInput& in) {
  ReplayArgs a;
  a.into = in.Text("into");
  a.from = in.SideOf("from").value_or(Side::kSource);
  in.state().replayed.insert(a.into);
  return a;
}

Status RunReplay(const ReplayArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  reports::StepResult* r = run.result;
  replay::ReplayOptions o;
  o.source = c.Cluster(a.from);
  o.topic = c.topic;
  o.into = c.out_dir + "/" + a.into;
  o.force = true;
  LIFELINE_ASSIGN_OR_RETURN(auto sum, replay::Run(o));
  (*run.evidence)["replay"] = replay::SummaryToJson(sum);
  {
    std::lock_guard lock(c.mu);
    c.report.hashes[fmt::format("state of {} (replayed from {})", a.into, SideName(a.from))] =
        sum.state.total.Hex();
  }
  c.facts.replayed = true;
  c.facts.quarantined += sum.quarantined;
  c.facts.violations += sum.violations;
  r->message = fmt::format("{} records, {} quarantined, {} violations, state hash {}", sum.read,
                           sum.quarantined, sum.violations, sum.state.total.Hex());
  if (sum.violations > 0) {
    return Status::CheckFailed(r->message + ": the drill's own events broke lifecycle rules");
  }
  if (sum.quarantined > 0) {
    return Status::CheckFailed(r->message + ": the drill's own events were quarantined");
  }
  return Status::Ok();
}

// ------------------------------------------------------------ mirror, groups, cutover

Result<MirrorRunArgs> ParseMirror(const StepInput& in) {
  MirrorRunArgs a;  // until: caught-up is the only way a catch-up run ends
  a.background = in.Bool("background", false);
  a.exactly_once = in.Bool("exactly_once", false);
  return a;
}

Status RunMirror(const MirrorRunArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  if (a.exactly_once) c.exactly_once = true;
  if (a.background) {
    LIFELINE_RETURN_IF_ERROR(c.StartBackgroundMirror(run.evidence));
    run.result->message = "mirroring in the background (lifeline mirror --follow)";
    return Status::Ok();
  }
  return c.CatchUpMirror(false, run.result, run.evidence);
}

template <typename T>
Result<T> NoArgs(const StepInput&) {
  return T{};
}

Status RunGroupsSync(const GroupsSyncArgs&, StepRun& run) {
  return run.ctx.GroupsSync(false, run.result, run.evidence);
}

// Moves consumers, groups and producer from one cluster to the other.
Status Switch(StepRun& run, bool back) {
  DrillContext& c = run.ctx;
  c.StopConsumers();
  LIFELINE_RETURN_IF_ERROR(c.CatchUpMirror(back, run.result, run.evidence));
  LIFELINE_RETURN_IF_ERROR(c.GroupsSync(back, run.result, run.evidence));
  c.on_target = !back;
  LIFELINE_RETURN_IF_ERROR(c.MakeProducer());
  for (auto& [name, consumer] : c.consumers) {
    LIFELINE_RETURN_IF_ERROR(consumer->Start(back ? c.source : c.target));
  }
  return Status::Ok();
}

Status RunCutover(const CutoverArgs&, StepRun& run) {
  if (run.ctx.on_target) return Status::CheckFailed("already cut over to the target");
  LIFELINE_RETURN_IF_ERROR(Switch(run, false));
  run.ctx.facts.cut_over = true;
  run.result->message =
      "consumers stopped, mirror caught up, groups moved exactly, consumers and "
      "producer now on the target";
  return Status::Ok();
}

Status RunFailback(const FailbackArgs&, StepRun& run) {
  if (!run.ctx.on_target) return Status::CheckFailed("not cut over: nothing to fail back");
  LIFELINE_RETURN_IF_ERROR(Switch(run, true));
  run.ctx.facts.failed_back = true;
  run.result->message =
      "records born on the target copied back, groups moved back exactly, consumers "
      "and producer on the source again";
  return Status::Ok();
}

// ------------------------------------------------------------ verify

Result<VerifyArgs> ParseVerify(const StepInput& in) {
  VerifyArgs a;
  a.records = in.Bool("records", false);
  a.groups = in.Bool("groups", false);
  a.state = in.List("state");  // checked: two files, each replayed earlier
  if (!a.records && !a.groups && a.state.empty()) {
    return in.Error(
        "verify checks nothing: give records: true, groups: true or state: "
        "[a.db, b.db]");
  }
  return a;
}

Status RunVerify(const VerifyArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  Json* ev = run.evidence;
  std::vector<std::string> failed, passed;
  if (a.records) {
    verify::RecordsOptions o;
    o.source = c.source;
    o.target = c.target;
    o.topics = c.MirrorOptionsFor(false).topics;
    o.name = c.mirror_name;
    LIFELINE_ASSIGN_OR_RETURN(auto rep, verify::VerifyRecords(o));
    (*ev)["records"] = verify::RecordsToJson(rep);
    for (const auto& p : rep.partitions) {
      std::lock_guard lock(c.mu);
      c.report
          .hashes[fmt::format("{} [{}] rolling digest (source / target)", p.topic, p.partition)] =
          p.source.rolling.Hex() + " / " + p.target.rolling.Hex();
    }
    (rep.pass ? passed : failed)
        .push_back(fmt::format("records: {} divergence(s) in {} records", rep.divergences,
                               rep.records_read));
    c.facts.records_verified = rep.pass;
  }
  if (!a.state.empty()) {
    LIFELINE_ASSIGN_OR_RETURN(
        auto rep, verify::VerifyState(c.out_dir + "/" + a.state[0], c.out_dir + "/" + a.state[1]));
    (*ev)["state"] = verify::StateToJson(rep);
    (rep.pass ? passed : failed).push_back(fmt::format("state: {} vs {}", rep.hash_a, rep.hash_b));
  }
  if (a.groups) {
    verify::GroupsOptions o;
    o.source = c.source;
    o.target = c.target;
    o.name = c.mirror_name;
    o.groups = c.BuiltInGroups();
    o.list_group_partitions = !c.embedded;  // the mock has no DescribeGroups
    LIFELINE_ASSIGN_OR_RETURN(auto rep, verify::VerifyGroups(o));
    (*ev)["groups"] = verify::GroupsToJson(rep);
    (rep.pass ? passed : failed)
        .push_back(fmt::format("groups: {} partition check(s)", rep.checks.size()));
    c.facts.groups_verified = rep.pass;
  }
  run.result->message = fmt::format("{}", fmt::join(passed, "; "));
  if (!failed.empty()) {
    return Status::CheckFailed(fmt::format(
        "{}{}", fmt::join(failed, "; "), passed.empty() ? "" : "; passed: " + run.result->message));
  }
  return Status::Ok();
}

// ------------------------------------------------------------ fault

Result<FaultArgs> ParseFault(const StepInput& in) {
  FaultArgs a;
  a.stop = in.List("stop");
  a.start = in.List("start");
  a.pause = in.List("pause");
  a.resume = in.List("resume");
  a.kill_mirror = in.Has("kill");        // checked: `mirror`
  a.restart_mirror = in.Has("restart");  // likewise
  a.stop_broker = in.SideOf("stop_broker");
  a.start_broker = in.SideOf("start_broker");
  if (in.Empty()) {
    return in.Error(
        "fault does nothing: give stop, start, pause, resume, kill, restart, "
        "stop_broker or start_broker");
  }
  if (a.stop_broker && a.start_broker) {
    return in.Error("fault: stop_broker and start_broker in one step; give them their own steps");
  }
  // A broker is started only after this drill stopped it, and a stopped one
  // is started again: what the outage kept is checked at the start.
  auto& down = in.state().brokers_down;
  if (a.stop_broker) {
    const std::string side = SideName(*a.stop_broker);
    if (down.count(side)) {
      return in.Error(fmt::format("fault.stop_broker: the {} broker is already stopped (line {})",
                                  side, down[side]));
    }
    down[side] = in.line();
  }
  if (a.start_broker) {
    const std::string side = SideName(*a.start_broker);
    if (!down.erase(side)) {
      return in.Error(
          fmt::format("fault.start_broker: no earlier step stops the {} broker "
                      "(`- fault: {{stop_broker: {}}}`)",
                      side, side));
    }
  }
  return a;
}

Status RunFault(const FaultArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  std::string& message = run.result->message;
  // Built-in consumers only (checked when the file loaded).
  auto consumer = [&](const std::string& name) { return c.consumers.at(name).get(); };
  for (const std::string& name : a.pause) {
    LIFELINE_RETURN_IF_ERROR(consumer(name)->Pause(true));
    Append(&message, "paused " + name);
  }
  for (const std::string& name : a.resume) {
    LIFELINE_RETURN_IF_ERROR(consumer(name)->Pause(false));
    Append(&message, "resumed " + name);
  }
  for (const auto& [side, up] :
       {std::pair{a.stop_broker, false}, std::pair{a.start_broker, true}}) {
    if (!side) continue;
    reports::StepResult broker;
    LIFELINE_RETURN_IF_ERROR(c.Broker(up, *side, run.step->timeout, &broker, run.evidence));
    Append(&message, broker.message);
  }
  if (a.kill_mirror) {
    if (!c.background.running()) return Status::CheckFailed("no background mirror to kill");
    LIFELINE_ASSIGN_OR_RETURN(auto how, c.StopBackgroundMirror(SIGKILL, run.evidence));
    Append(&message, "mirror " + how);
  }
  if (a.restart_mirror) {
    LIFELINE_RETURN_IF_ERROR(c.StartBackgroundMirror(run.evidence));
    Append(&message, "mirror restarted");
  }
  if (!a.stop.empty()) {
    for (const std::string& name : a.stop) consumer(name)->Stop();
    Append(&message, "stopped " + run.step->written.at("stop"));
  }
  if (!a.start.empty()) {
    for (const std::string& name : a.start) {
      LIFELINE_RETURN_IF_ERROR(consumer(name)->Start(c.Active()));
    }
    Append(&message, "started " + run.step->written.at("start"));
  }
  return Status::Ok();
}

// ------------------------------------------------------------ access

Result<AccessArgs> ParseAccess(const StepInput& in) {
  AccessArgs a;
  a.publisher = in.Text("publisher");
  if (in.Has("readers")) {
    a.readers = in.List("readers");
  } else {
    a.readers = in.state().consumer_principals;  // the consumers' own, but the publisher
    std::erase(a.readers, a.publisher);
  }
  a.on = in.SideOf("on").value_or(Side::kSource);
  if (a.readers.empty()) {
    return in.Error(
        "access: no read-only principal to try: give readers: [...] or declare consumers "
        "with a principal other than the publisher");
  }
  if (std::find(a.readers.begin(), a.readers.end(), a.publisher) != a.readers.end()) {
    return in.Error(fmt::format("access: {} is both the publisher and a reader", a.publisher));
  }
  // Each reader tries to commit the offsets of a consumer that is not its
  // own.
  const auto& of = in.state().principal_of_consumer;
  for (const std::string& reader : a.readers) {
    if (std::find_if(of.begin(), of.end(), [&](const std::string& p) { return p != reader; }) ==
        of.end()) {
      return in.Error(fmt::format(
          "access: {} would commit the offsets of another consumer's group, and no declared "
          "consumer is another's (declare one with another principal, or none)",
          reader));
    }
  }
  return a;
}

std::string TitleAccess(const AccessArgs& a, const DrillStep&) {
  return fmt::format("access: {} may publish, {} may not", a.publisher, fmt::join(a.readers, ", "));
}

using EndOffsets = std::map<int32_t, int64_t>;

// {"0": 9, "1": 0, ...}: what evidence.json shows.
Json EndsJson(const EndOffsets& ends) {
  Json out = Json::object();
  for (const auto& [p, end] : ends) out[std::to_string(p)] = end;
  return out;
}

Result<EndOffsets> ReadEnds(Admin& admin, const DrillContext& c) {
  EndOffsets out;
  for (const TopicPartition& tp : c.Partitions()) {
    LIFELINE_ASSIGN_OR_RETURN(auto w, admin.Watermarks(tp, kAdminTimeout));
    out[tp.partition.value()] = w.high.value();
  }
  return out;
}

// One lifecycle event produced as `config`'s principal: a proposal of the
// access-check prompt under the principal's name, as a release tool would
// write it. Returns the delivery report (err set when the broker refused).
// Not idempotent: a refused Write is then the topic's refusal, not the
// producer-id request's.
Result<DeliveryReport> TryPublish(DrillContext& c, Side side, const ClientConfig& config,
                                  const std::string& principal, Millis timeout) {
  envelope::Event e = c.Base(envelope::Kind::kProposed, "access-check",
                             fmt::format("0.0.{}", c.counter + 1), principal);
  e.tmpl = envelope::Template{Hex64(e.prompt_id + "@" + e.version), {"input"}, ""};
  e.dependencies = envelope::Dependencies{"model-x@drill", "rp-1", "tools@1", "sp-1"};
  LIFELINE_RETURN_IF_ERROR(c.CheckEnvelope(e, "access check"));
  const uint64_t tag = ++c.counter;
  Record rec = c.Encode(&e, tag);
  ProducerOptions po;
  po.idempotent = false;
  po.client_id = "lifeline-drill-access";
  std::optional<DeliveryReport> got;
  LIFELINE_ASSIGN_OR_RETURN(
      auto producer, Producer::Create(config, po, [&](const DeliveryReport& dr) { got = dr; }));
  LIFELINE_RETURN_IF_ERROR(producer->Send(rec, tag));
  const Status flushed = producer->Flush(timeout);
  if (!got) return flushed.ok() ? Status::Infra("no delivery report") : flushed;
  if (!got->err) {
    c.events.push_back({e.id, "access check as " + principal, e.prompt_id, e.version,
                        std::string(envelope::KindName(e.kind)), got->where.partition.value(),
                        got->offset.value(), side == Side::kTarget});
  }
  return *got;
}

Status RunAccess(const AccessArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  Json& ev = *run.evidence;
  std::string& message = run.result->message;
  const ClientConfig& cluster = c.Cluster(a.on);
  ev["cluster"] = SideName(a.on);
  ev["topic"] = c.topic;
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(cluster));
  std::vector<std::string> failures;
  std::vector<std::string> refused_readers;
  for (const std::string& reader : a.readers) {
    const std::string who = c.PrincipalName(reader);
    const ClientConfig as = c.AsPrincipal(reader, a.on);
    Json entry = {{"principal", who}, {"name", reader}};
    bool refused_all = true;
    // 1. A Write to the lifecycle topic: refused, and nothing written.
    LIFELINE_ASSIGN_OR_RETURN(auto before, ReadEnds(*admin, c));
    LIFELINE_ASSIGN_OR_RETURN(auto dr, TryPublish(c, a.on, as, who, run.step->timeout));
    LIFELINE_ASSIGN_OR_RETURN(auto after, ReadEnds(*admin, c));
    const std::string write_err = dr.err ? rd_kafka_err2name(dr.err) : "none";
    entry["write"] = {{"operation", "Write"},
                      {"resource", "topic " + c.topic},
                      {"error", write_err},
                      {"end_offsets_before", EndsJson(before)},
                      {"end_offsets_after", EndsJson(after)}};
    if (!dr.err) {
      c.facts.reader_wrote = true;
      failures.push_back(
          fmt::format("{} published a lifecycle event (partition {} offset {}): "
                      "readers can write",
                      who, dr.where.partition.value(), dr.offset.value()));
      refused_all = false;
    } else if (dr.err != RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      failures.push_back(
          fmt::format("{}'s write failed with {}, not TOPIC_AUTHORIZATION_FAILED: "
                      "no proof of an ACL",
                      who, write_err));
      refused_all = false;
    }
    if (dr.err && after != before) {
      c.facts.reader_wrote = true;
      failures.push_back(fmt::format("the end offsets moved while {}'s write was refused", who));
      refused_all = false;
    }
    // 2. A commit to another consumer's group (one not declared as this
    // principal's): refused with GROUP_AUTHORIZATION_FAILED, and the group's
    // offsets unchanged.
    const DrillConsumer* other = nullptr;  // there is one (checked when the file loaded)
    for (const DrillConsumer& dc : c.file.consumers) {
      if (dc.principal != reader) {
        other = &dc;
        break;
      }
    }
    const std::string group = c.GroupOf(*other);
    LIFELINE_ASSIGN_OR_RETURN(auto committed,
                              admin->ListGroupOffsets(group, c.Partitions(), kAdminTimeout));
    // What it tries to commit: the group's own offsets (a no-op, should the
    // broker wrongly accept it), or the start of partition 0.
    std::map<TopicPartition, Offset> attempt = committed;
    if (attempt.empty()) attempt[c.Partitions().front()] = Offset(0);
    // As an admin client of its own, straight to the coordinator the
    // drill's admin has just reached: the commit request itself is judged.
    Status commit = Status::Ok();
    {
      LIFELINE_ASSIGN_OR_RETURN(auto as_admin, Admin::Create(as));
      commit =
          as_admin->AlterGroupOffsets(group, attempt, run.step->timeout, Admin::GroupReady::kKnown);
    }
    LIFELINE_ASSIGN_OR_RETURN(auto committed_after,
                              admin->ListGroupOffsets(group, c.Partitions(), kAdminTimeout));
    const bool group_refused =
        !commit.ok() && commit.message().find("GROUP_AUTHORIZATION_FAILED") != std::string::npos;
    entry["commit"] = {{"operation", "commit offsets (OffsetCommit)"},
                       {"resource", "group " + group},
                       {"of_consumer", other->name},
                       {"error", commit.ok() ? "none" : commit.message()},
                       {"committed_unchanged", committed_after == committed}};
    if (commit.ok()) {
      failures.push_back(
          fmt::format("{} committed offsets of {}'s group {}", who, other->name, group));
      refused_all = false;
    } else if (!group_refused) {
      failures.push_back(
          fmt::format("{}'s commit to group {} failed, but not with "
                      "GROUP_AUTHORIZATION_FAILED: {}",
                      who, group, commit.message()));
      refused_all = false;
    }
    if (committed_after != committed) {
      failures.push_back(fmt::format("group {}'s committed offsets changed", group));
      refused_all = false;
    }
    entry["refused"] = refused_all;
    ev["readers"].push_back(std::move(entry));
    if (refused_all) refused_readers.push_back(who);
  }
  // 3. The publisher writes exactly one record.
  const std::string publisher = c.PrincipalName(a.publisher);
  LIFELINE_ASSIGN_OR_RETURN(auto before, ReadEnds(*admin, c));
  LIFELINE_ASSIGN_OR_RETURN(
      auto dr, TryPublish(c, a.on, c.AsPrincipal(a.publisher, a.on), publisher, run.step->timeout));
  LIFELINE_ASSIGN_OR_RETURN(auto after, ReadEnds(*admin, c));
  bool published = !dr.err;
  if (published) {
    EndOffsets expected = before;
    ++expected[dr.where.partition.value()];
    published = after == expected;
    if (!published) failures.emplace_back("the publisher's write did not add exactly one record");
  } else {
    failures.push_back(
        fmt::format("{} could not publish: {}", publisher, rd_kafka_err2name(dr.err)));
  }
  ev["publisher"] = {{"principal", publisher},
                     {"name", a.publisher},
                     {"error", dr.err ? rd_kafka_err2name(dr.err) : "none"},
                     {"partition", published ? dr.where.partition.value() : -1},
                     {"offset", published ? dr.offset.value() : -1}};
  if (failures.empty()) {
    c.facts.access_proved = true;
    c.facts.access_readers = refused_readers;
    c.facts.access_publisher = publisher;
    message = fmt::format(
        "{} refused Write on {} and a commit to another group; {} published "
        "at partition {} offset {}",
        fmt::join(refused_readers, ", "), c.topic, publisher, dr.where.partition.value(),
        dr.offset.value());
    return Status::Ok();
  }
  message = fmt::format("{}", fmt::join(failures, "; "));
  return Status::CheckFailed(message);
}

// ------------------------------------------------------------ sleep, traces

Result<SleepArgs> ParseSleep(const StepInput& in) {
  return SleepArgs{in.Duration("for", Millis(0))};
}

Status RunSleep(const SleepArgs& a, StepRun&) {
  std::this_thread::sleep_for(a.duration);
  return Status::Ok();
}

Result<TraceArgs> ParseTrace(const StepInput& in) {
  TraceArgs a;
  a.prompt = in.Text("prompt");
  a.version = in.Text("version");
  a.count = static_cast<int>(in.Number("count", a.count));
  return a;
}

// Runtime traces of a prompt version, as a serving system would emit them.
Status RunTrace(const TraceArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  const std::string key = a.prompt + "@" + a.version;
  for (int i = 0; i < a.count; ++i) {
    Record t;
    t.topic = Topic(c.traces);
    t.key = key;
    t.value = fmt::format("{{\"prompt\":\"{}\",\"version\":\"{}\",\"latency_ms\":{}}}", a.prompt,
                          a.version, 40 + i % 17);
    t.timestamp = TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    LIFELINE_RETURN_IF_ERROR(c.producer->Send(t, 0));
  }
  LIFELINE_RETURN_IF_ERROR(c.producer->Flush(Millis(30000)));
  run.result->message = fmt::format("{} trace(s) of {} on {}", a.count, key, c.traces);
  return Status::Ok();
}

Result<ExpectTracesArgs> ParseExpectTraces(const StepInput& in) {
  ExpectTracesArgs a;
  a.consumer = in.Text("consumer");  // checked: a built-in observability consumer
  a.prompt = in.Text("prompt");
  a.version = in.Text("version");
  a.count = in.Number("count", 0);
  return a;
}

Status RunExpectTraces(const ExpectTracesArgs& a, StepRun& run) {
  DrillContext& c = run.ctx;
  ReferenceConsumer* consumer = c.consumers.at(a.consumer).get();
  const auto deadline = Clock::now() + run.step->timeout;
  int64_t joined = 0;
  while ((joined = consumer->JoinedTraces(a.prompt, a.version)) < a.count &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(Millis(100));
  }
  const int64_t orphans = consumer->OrphanTraces();
  (*run.evidence)["joined"] = joined;
  (*run.evidence)["orphans"] = orphans;
  run.result->message = fmt::format("{} joined {} trace(s) of {} {} (expected {}), {} orphan(s)",
                                    a.consumer, joined, a.prompt, a.version, a.count, orphans);
  if (joined != a.count) return Status::CheckFailed(run.result->message);
  return Status::Ok();
}

// ------------------------------------------------------------ the table

template <typename T>
std::string NoTitle(const T&, const DrillStep& s) {
  return ListTitle(s);
}

// One row: the kind's functions on its own struct, adapted to the variant.
template <typename T, Result<T> (*Parse)(const StepInput&),
          std::string (*Title)(const T&, const DrillStep&), Status (*Run)(const T&, StepRun&)>
StepKind Kind(const char* name, ArgSpec args, const char* scalar_arg = nullptr) {
  return StepKind{
      name,
      std::move(args),
      scalar_arg,
      [](const StepInput& in) -> Result<StepArgs> {
        LIFELINE_ASSIGN_OR_RETURN(auto parsed, Parse(in));
        return StepArgs(std::move(parsed));
      },
      [](const DrillStep& s) { return Title(std::get<T>(s.args), s); },
      [](const DrillStep& s, StepRun& run) { return Run(std::get<T>(s.args), run); },
  };
}

// A kind whose failure stops the drill (StepKind::stops_the_drill).
StepKind StopsTheDrill(StepKind kind) {
  kind.stops_the_drill = true;
  return kind;
}

std::vector<StepKind> MakeTable() {
  using A = Arg;
  std::vector<StepKind> t;
  t.push_back(Kind<DeployArgs, ParseDeploy, TitleDeploy, RunDeploy>(
      "deploy", {{{"prompt", A::kName}, {"version", A::kVersion}},
                 {{"scope", A::kName}, {"percent", A::kPercent}, {"model", A::kText}}}));
  t.push_back(Kind<PublishArgs, ParsePublish, NoTitle<PublishArgs>, RunPublish>(
      "publish", {{{"prompt", A::kName}, {"version", A::kVersion}, {"kind", A::kKind}},
                  {{"scope", A::kName},
                   {"percent", A::kPercent},
                   {"to", A::kVersion},
                   {"reason", A::kText},
                   {"passed", A::kBool}}}));
  t.push_back(Kind<RollbackArgs, ParseRollback, TitleRollback, RunRollback>(
      "rollback", {{{"prompt", A::kName}, {"to", A::kVersion}},
                   {{"from", A::kVersion}, {"scope", A::kName}, {"reason", A::kText}}}));
  t.push_back(Kind<ProcessedArgs, ParseProcessed, TitleProcessed, RunProcessed>(
      "processed", {{{"by", A::kConsumers}}, {{"event", A::kEvent}, {"within", A::kDuration}}}));
  t.push_back(Kind<ExpectStateArgs, ParseExpectState, TitleExpectState, RunExpectState>(
      "expect_state", {{{"prompt", A::kName}, {"active", A::kVersion}}, {{"scope", A::kName}}}));
  t.push_back(Kind<ExpectLagArgs, ParseExpectLag, NoTitle<ExpectLagArgs>, RunExpectLag>(
      "expect_lag", {{{"consumer", A::kConsumer}, {"max", A::kCount}}, {}}));
  t.push_back(Kind<ReplayArgs, ParseReplay, NoTitle<ReplayArgs>, RunReplay>(
      "replay", {{{"into", A::kSandbox}}, {{"from", A::kSide}}}));
  t.push_back(StopsTheDrill(Kind<MirrorRunArgs, ParseMirror, NoTitle<MirrorRunArgs>, RunMirror>(
      "mirror",
      {{}, {{"until", A::kUntil}, {"background", A::kBool}, {"exactly_once", A::kBool}}})));
  t.push_back(StopsTheDrill(
      Kind<GroupsSyncArgs, NoArgs<GroupsSyncArgs>, NoTitle<GroupsSyncArgs>, RunGroupsSync>(
          "groups_sync", {})));
  t.push_back(StopsTheDrill(
      Kind<CutoverArgs, NoArgs<CutoverArgs>, NoTitle<CutoverArgs>, RunCutover>("cutover", {})));
  t.push_back(
      StopsTheDrill(Kind<FailbackArgs, NoArgs<FailbackArgs>, NoTitle<FailbackArgs>, RunFailback>(
          "failback", {})));
  t.push_back(Kind<VerifyArgs, ParseVerify, NoTitle<VerifyArgs>, RunVerify>(
      "verify", {{}, {{"records", A::kBool}, {"state", A::kSandboxPair}, {"groups", A::kBool}}}));
  t.push_back(StopsTheDrill(Kind<FaultArgs, ParseFault, NoTitle<FaultArgs>, RunFault>(
      "fault", {{},
                {{"stop", A::kRunConsumers},
                 {"start", A::kRunConsumers},
                 {"pause", A::kRunConsumers},
                 {"resume", A::kRunConsumers},
                 {"kill", A::kMirror},
                 {"restart", A::kMirror},
                 {"stop_broker", A::kSide},
                 {"start_broker", A::kSide}}})));
  t.push_back(Kind<SleepArgs, ParseSleep, NoTitle<SleepArgs>, RunSleep>(
      "sleep", {{{"for", A::kDuration}}, {}}, "for"));
  t.push_back(Kind<TraceArgs, ParseTrace, NoTitle<TraceArgs>, RunTrace>(
      "trace", {{{"prompt", A::kName}, {"version", A::kVersion}}, {{"count", A::kPositive}}}));
  t.push_back(Kind<ExpectTracesArgs, ParseExpectTraces, NoTitle<ExpectTracesArgs>, RunExpectTraces>(
      "expect_traces", {{{"consumer", A::kObservability},
                         {"prompt", A::kName},
                         {"version", A::kVersion},
                         {"count", A::kCount}},
                        {}}));
  t.push_back(Kind<AccessArgs, ParseAccess, TitleAccess, RunAccess>(
      "access", {{{"publisher", A::kPrincipal}}, {{"readers", A::kPrincipals}, {"on", A::kSide}}}));
  return t;
}

}  // namespace

const std::vector<StepKind>& StepKinds() {
  static const std::vector<StepKind> kTable = MakeTable();
  return kTable;
}

const StepKind* FindStepKind(const std::string& name) {
  for (const StepKind& k : StepKinds()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

}  // namespace lifeline::drill
