#include "drill/internal/broker_control.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

#include "core/spawn.h"

namespace lifeline::drill {
namespace {

// "a,b" -> {a, b}; "" -> {""}.
std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  if (out.empty()) out.emplace_back();
  return out;
}

class Embedded : public BrokerControl {
 public:
  explicit Embedded(EmbeddedSandbox* sandbox) : sandbox_(sandbox) {}

  Result<BrokerTarget> Locate(const std::string& side, const ClientConfig&,
                              const std::string&) override {
    return BrokerTarget{"embedded " + side, "", "", false};
  }

  Status SetUp(const std::string& side, const BrokerTarget&, bool up) override {
    return sandbox_->Find(side)->SetBrokersUp(up);
  }

 private:
  EmbeddedSandbox* sandbox_;
};

class Script : public BrokerControl {
 public:
  explicit Script(std::string log) : log_(std::move(log)) {}

  Result<BrokerTarget> Locate(const std::string&, const ClientConfig& cluster,
                              const std::string& action) override {
    if (script_.empty()) script_ = FindScript();
    if (script_.empty() || !std::filesystem::exists(script_)) {
      return Status::Usage("fault." + action +
                           " needs lifeline's scripts/kafka: set LIFELINE_KAFKA_SCRIPT");
    }
    // `scripts/kafka status`: NAME PID STATE BOOTSTRAP DATA per cluster; a
    // multi-broker cluster's pids and addresses are ','-joined. Its exit
    // status says nothing the lines do not.
    auto status = RunAndCapture({script_, "status"});
    if (!status.ok()) return Status::Infra("cannot run " + script_);
    const std::string wanted = SplitCommas(cluster.bootstrap()).front();
    std::istringstream lines(status->out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string n, pids, state, bootstrap;
      if (!(fields >> n >> pids >> state >> bootstrap)) continue;
      const std::vector<std::string> addresses = SplitCommas(bootstrap);
      if (std::find(addresses.begin(), addresses.end(), wanted) == addresses.end()) continue;
      const size_t nodes = SplitCommas(pids).size();
      if (nodes == 1) return BrokerTarget{n, n, "", false};
      const std::string last = std::to_string(nodes);
      return BrokerTarget{fmt::format("{} broker {} of {}", n, last, nodes), n, last, true};
    }
    return Status::Usage(
        fmt::format("no scripts/kafka cluster serves {}: broker faults work on "
                    "clusters started with scripts/kafka",
                    cluster.bootstrap()));
  }

  Status SetUp(const std::string&, const BrokerTarget& target, bool up) override {
    std::vector<std::string> command = {script_, up ? "start" : "stop", target.cluster};
    if (!target.broker.empty()) command.push_back(target.broker);
    auto ran = RunWithLog(command, log_);
    if (!ran.ok() || !ran->success()) {
      return Status::Infra(fmt::format("`scripts/kafka {}` failed; see {}",
                                       fmt::join(command.begin() + 1, command.end(), " "), log_));
    }
    return Status::Ok();
  }

 private:
  static std::string FindScript() {
    if (const char* env = std::getenv("LIFELINE_KAFKA_SCRIPT")) return env;
    auto self = SelfExecutable();
    if (!self.ok()) return "";
    return (std::filesystem::path(*self).parent_path().parent_path() / "scripts/kafka").string();
  }

  std::string log_;
  std::string script_;
};

}  // namespace

std::unique_ptr<BrokerControl> EmbeddedBrokers(EmbeddedSandbox* sandbox) {
  return std::make_unique<Embedded>(sandbox);
}

std::unique_ptr<BrokerControl> ScriptBrokers(std::string log) {
  return std::make_unique<Script>(std::move(log));
}

}  // namespace lifeline::drill
