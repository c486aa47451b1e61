#include "core/sandbox.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace lifeline {

Result<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(std::string name, int brokers) {
  std::unique_ptr<EmbeddedCluster> c(new EmbeddedCluster());
  c->name_ = std::move(name);
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock; keep it quiet.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  c->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!c->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::Infra(fmt::format("embedded cluster {}: {}", c->name_, errstr));
  }
  c->mock_ = rd_kafka_mock_cluster_new(c->rk_, brokers);
  c->brokers_ = brokers;
  if (!c->mock_) {
    return Status::Infra(
        fmt::format("embedded cluster {}: could not start the mock cluster "
                    "(are loopback ports available?)",
                    c->name_));
  }
  c->bootstrap_ = rd_kafka_mock_cluster_bootstraps(c->mock_);
  return c;
}

EmbeddedCluster::~EmbeddedCluster() {
  if (mock_) rd_kafka_mock_cluster_destroy(mock_);
  if (rk_) rd_kafka_destroy(rk_);
}

Status EmbeddedCluster::SetBrokersUp(bool up) {
  for (int id = 1; id <= brokers_; ++id) {
    rd_kafka_resp_err_t err =
        up ? rd_kafka_mock_broker_set_up(mock_, id) : rd_kafka_mock_broker_set_down(mock_, id);
    if (err) {
      return Status::Infra(fmt::format("embedded cluster {}: broker {} {}: {}", name_, id,
                                       up ? "up" : "down", rd_kafka_err2str(err)));
    }
  }
  return Status::Ok();
}

void EmbeddedCluster::FailRequests(int api_key, int error, int count) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(mock_, static_cast<int16_t>(api_key), errors.size(),
                                          errors.data());
}

Status EmbeddedCluster::CreateTopic(const std::string& topic, int partitions) {
  if (partitions < 1) {
    return Status::Usage(fmt::format("topic {}: partitions must be at least 1", topic));
  }
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mock_, topic.c_str(), partitions, 1);
  if (err) {
    return Status::Infra(fmt::format("embedded cluster {}: create topic {}: {}", name_, topic,
                                     rd_kafka_err2str(err)));
  }
  return Status::Ok();
}

Result<EmbeddedSandbox> EmbeddedSandbox::Start(const std::vector<std::string>& names) {
  EmbeddedSandbox sandbox;
  for (const std::string& name : names) {
    if (sandbox.Find(name)) return Status::Usage("cluster name given twice: " + name);
    LIFELINE_ASSIGN_OR_RETURN(auto c, EmbeddedCluster::Start(name));
    sandbox.clusters_.push_back(std::move(c));
  }
  return sandbox;
}

EmbeddedCluster* EmbeddedSandbox::Find(const std::string& name) const {
  for (const auto& c : clusters_) {
    if (c->name() == name) return c.get();
  }
  return nullptr;
}

}  // namespace lifeline
