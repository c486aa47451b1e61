// The embedded sandbox: librdkafka mock clusters running inside this
// process. They speak the Kafka protocol on 127.0.0.1, so any client (kcat
// included) can use them while the owning object lives. For demos and fast
// tests only: no CreateTopics, DescribeConfigs, ListGroups, timestamp lookup
// or transaction control records (see docs/architecture.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace lifeline {

class EmbeddedCluster {
 public:
  static Result<std::unique_ptr<EmbeddedCluster>> Start(std::string name, int brokers = 1);
  ~EmbeddedCluster();  // stops the cluster; clients still connected see it vanish
  EmbeddedCluster(const EmbeddedCluster&) = delete;
  EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

  const std::string& name() const { return name_; }
  const std::string& bootstrap() const { return bootstrap_; }

  // The mock has no CreateTopics; topics that are only auto-created get 4
  // partitions, so create them here with the count you need.
  Status CreateTopic(const std::string& topic, int partitions);

  // Takes every broker down (connections dropped, new ones refused) or up
  // again: a broker outage for drills.
  Status SetBrokersUp(bool up);

  // The next `count` requests of Kafka API `api_key` (2: ListOffsets, ...)
  // are answered with error code `error`: fault injection for tests.
  void FailRequests(int api_key, int error, int count);

 private:
  EmbeddedCluster() = default;
  std::string name_;
  std::string bootstrap_;
  rd_kafka_t* rk_ = nullptr;  // owns the mock cluster's threads
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  int brokers_ = 1;
};

// Several named clusters, started and stopped together.
class EmbeddedSandbox {
 public:
  static Result<EmbeddedSandbox> Start(const std::vector<std::string>& names);
  EmbeddedCluster* Find(const std::string& name) const;  // nullptr if unknown
  const std::vector<std::unique_ptr<EmbeddedCluster>>& clusters() const { return clusters_; }

 private:
  std::vector<std::unique_ptr<EmbeddedCluster>> clusters_;
};

}  // namespace lifeline
