#include "drill/internal/broker_control.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/spawn.h"

namespace lifeline::drill {
namespace {

class Embedded : public BrokerControl {
 public:
  explicit Embedded(EmbeddedSandbox* sandbox) : sandbox_(sandbox) {}

  Result<std::string> Locate(const std::string& side, const ClientConfig&,
                             const std::string&) override {
    return "embedded " + side;
  }

  Status SetUp(const std::string& side, const std::string&, bool up) override {
    return sandbox_->Find(side)->SetBrokersUp(up);
  }

 private:
  EmbeddedSandbox* sandbox_;
};

class Script : public BrokerControl {
 public:
  explicit Script(std::string log) : log_(std::move(log)) {}

  Result<std::string> Locate(const std::string&, const ClientConfig& cluster,
                             const std::string& action) override {
    if (script_.empty()) script_ = FindScript();
    if (script_.empty() || !std::filesystem::exists(script_)) {
      return Status::Usage("fault." + action +
                           " needs lifeline's scripts/kafka: set LIFELINE_KAFKA_SCRIPT");
    }
    // `scripts/kafka status`: NAME PID STATE BOOTSTRAP DATA per cluster. Its
    // exit status says nothing the lines do not.
    auto status = RunAndCapture({script_, "status"});
    if (!status.ok()) return Status::Infra("cannot run " + script_);
    std::string name;
    std::istringstream lines(status->out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string n, pid, state, bootstrap;
      if (fields >> n >> pid >> state >> bootstrap && bootstrap == cluster.bootstrap()) name = n;
    }
    if (name.empty()) {
      return Status::Usage(
          fmt::format("no scripts/kafka cluster serves {}: broker faults work on "
                      "clusters started with scripts/kafka",
                      cluster.bootstrap()));
    }
    return name;
  }

  Status SetUp(const std::string&, const std::string& name, bool up) override {
    const std::string verb = up ? "start" : "stop";
    auto ran = RunWithLog({script_, verb, name}, log_);
    if (!ran.ok() || !ran->success()) {
      return Status::Infra(fmt::format("`scripts/kafka {} {}` failed; see {}", verb, name, log_));
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
