// Broker faults: one implementation per kind of cluster, so a fault step
// never asks what it runs on. The embedded sandbox stops the mock cluster's
// brokers; real single-node clusters started with scripts/kafka are stopped
// and started by name (`scripts/kafka stop NAME`), which keeps their
// storage. A multi-broker cluster (`stop NAME BROKER`) is one more
// implementation of this interface.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "core/sandbox.h"
#include "core/status.h"

namespace lifeline::drill {

class BrokerControl {
 public:
  virtual ~BrokerControl() = default;
  // What a fault on `side` (its `cluster`) acts on, named for the report;
  // a usage error when this kind of cluster cannot be stopped. `action`
  // names the step's argument for that message.
  virtual Result<std::string> Locate(const std::string& side, const ClientConfig& cluster,
                                     const std::string& action) = 0;
  // Stops (up = false) or starts what Locate named.
  virtual Status SetUp(const std::string& side, const std::string& located, bool up) = 0;
};

// The embedded sandbox's mock clusters; `sandbox` outlives the control.
std::unique_ptr<BrokerControl> EmbeddedBrokers(EmbeddedSandbox* sandbox);

// Clusters run by scripts/kafka (LIFELINE_KAFKA_SCRIPT, by default
// scripts/kafka next to the build); its output is appended to `log`.
std::unique_ptr<BrokerControl> ScriptBrokers(std::string log);

}  // namespace lifeline::drill
