// Broker faults: one implementation per kind of cluster, so a fault step
// never asks what it runs on. The embedded sandbox stops the mock cluster's
// brokers; real clusters started with scripts/kafka are stopped and started
// by name (`scripts/kafka stop NAME`), which keeps their storage, and of a
// multi-broker one only its last broker (`stop NAME BROKER`), so the cluster
// stays available.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "core/sandbox.h"
#include "core/status.h"

namespace lifeline::drill {

// What a broker fault acts on.
struct BrokerTarget {
  std::string name;     // for the report: "embedded source", "tri broker 3 of 3"
  std::string cluster;  // the scripts/kafka cluster ("" for the embedded sandbox)
  std::string broker;   // the node of a multi-broker cluster, or "" (all of it)
  // The rest of the cluster keeps serving while it is down (one broker of
  // several, replication factor 3): an outage the clients ride through.
  bool stays_available = false;
};

class BrokerControl {
 public:
  virtual ~BrokerControl() = default;
  // What a fault on `side` (its `cluster`) acts on; a usage error when this
  // kind of cluster cannot be stopped. `action` names the step's argument
  // for that message. The same cluster always gives the same target, so a
  // start acts on what the stop stopped.
  virtual Result<BrokerTarget> Locate(const std::string& side, const ClientConfig& cluster,
                                      const std::string& action) = 0;
  // Stops (up = false) or starts what Locate named.
  virtual Status SetUp(const std::string& side, const BrokerTarget& target, bool up) = 0;
};

// The embedded sandbox's mock clusters; `sandbox` outlives the control.
std::unique_ptr<BrokerControl> EmbeddedBrokers(EmbeddedSandbox* sandbox);

// Clusters run by scripts/kafka (LIFELINE_KAFKA_SCRIPT, by default
// scripts/kafka next to the build); its output is appended to `log`.
std::unique_ptr<BrokerControl> ScriptBrokers(std::string log);

}  // namespace lifeline::drill
