#include "core/broker_apis.h"

#include <fmt/format.h>

#include "core/internal/broker_link.h"

namespace lifeline {
namespace {

constexpr Millis kTimeout{10000};
constexpr int16_t kApiVersionsKey = 18;

constexpr ApiUse kTransactionApis[] = {
    {22, "InitProducerId"}, {24, "AddPartitionsToTxn"}, {25, "AddOffsetsToTxn"},
    {26, "EndTxn"},         {28, "TxnOffsetCommit"},
};
constexpr ApiUse kTopicConfigApis[] = {{32, "DescribeConfigs"}, {19, "CreateTopics"}};

}  // namespace

std::span<const ApiUse> TransactionApis() { return kTransactionApis; }
std::span<const ApiUse> TopicConfigApis() { return kTopicConfigApis; }

Status RequireApis(const ClientConfig& config, Admin* admin, std::span<const ApiUse> needed,
                   std::string_view what, std::string_view otherwise) {
  auto security = internal::LinkSecurityFor(config);
  if (!security.ok()) return Status::Ok();
  auto dialer = internal::LinkDialer::Create(std::move(security).value());
  if (!dialer.ok()) return Status::Ok();
  auto cluster = admin->Leaders({}, kTimeout);
  if (!cluster.ok()) return Status::Ok();
  const std::string client_id = config.Get("client.id").value_or("lifeline-admin");
  for (const auto& [node, address] : cluster->brokers) {
    auto link = internal::BrokerLink::Open(**dialer, node, address, client_id,
                                           {kApiVersionsKey, 0, "ApiVersions", ""}, kTimeout);
    if (!link.ok()) continue;
    auto served = (*link)->ServedApis(kTimeout);
    if (!served.ok()) continue;
    for (const ApiUse& api : needed) {
      if (served->count(api.key)) continue;
      return Status::Infra(fmt::format(
          "{}: broker {} at {}:{} does not serve {} (API key {}; its ApiVersions answer leaves "
          "it out), which {} needs: {}",
          config.Get("bootstrap.servers").value_or("cluster"), node, address.host, address.port,
          api.name, api.key, what, otherwise));
    }
  }
  return Status::Ok();
}

}  // namespace lifeline
