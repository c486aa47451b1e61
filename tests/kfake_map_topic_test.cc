// The offset-map topic when a transaction on it is left open (issue 14):
// read committed, every map saved after the open transaction is invisible,
// and a mirror that took that for "no map" would copy again what it copied.
// Runs on a private kfake broker (tests/with_kfake.sh starts it), so the
// transaction it holds open blocks no other test's map topic.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "core/kafka.h"
#include "mirror/internal/map_store.h"
#include "mirror/mirror.h"
#include "tests/test_support.h"

namespace lifeline {
namespace {

Record MapRecord(std::string key, std::string value) {
  Record r;
  r.topic = Topic(mirror::kOffsetMapTopic);
  r.partition = Partition(0);
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

TEST(KfakeMapTopic, ATransactionLeftOpenIsReportedNotReadAsNoMap) {
  const char* bootstrap = std::getenv("LIFELINE_KFAKE_BOOTSTRAP");
  if (!bootstrap || !*bootstrap) {
    FAIL() << "no kfake broker: run this through tests/with_kfake.sh (ctest does), or "
              "scripts/kfake up NAME and export LIFELINE_KFAKE_BOOTSTRAP=$(scripts/kfake "
              "bootstrap NAME)";
  }
  const ClientConfig kfake = testing::ConfigFor(bootstrap);
  ASSERT_TRUE(mirror::EnsureOffsetMapTopic(kfake).ok());

  // Another process opens a transaction on partition 0 and stops there.
  ProducerOptions stuck_opts;
  stuck_opts.transactional_id = testing::UniqueName("stuck");
  // Open for longer than a map load waits (75 s, past librdkafka's default
  // transaction.timeout.ms of 60 s, after which the broker would end it).
  ClientConfig stuck_config = kfake;
  stuck_config.Set("transaction.timeout.ms", "300000");
  auto stuck = Producer::Create(stuck_config, stuck_opts);
  ASSERT_TRUE(stuck.ok()) << stuck.status().message();
  ASSERT_TRUE((*stuck)->InitTransactions(Millis(30000)).ok());
  ASSERT_TRUE((*stuck)->BeginTransaction().ok());
  ASSERT_TRUE((*stuck)->Send(MapRecord("stuck/t/0/meta", "{}")).ok());
  ASSERT_TRUE((*stuck)->Flush(Millis(10000)).ok());

  // Then mirror `name` saves its map after it, committed.
  const std::string name = testing::UniqueName("held").substr(0, 40);
  {
    auto producer = Producer::Create(kfake, {});
    ASSERT_TRUE(producer.ok());
    ASSERT_TRUE((*producer)
                    ->Send(MapRecord(name + "/t/0/meta",
                                     R"({"source_start":0,"progress":5,"target_next":5})"))
                    .ok());
    ASSERT_TRUE((*producer)->Flush(Millis(10000)).ok());
  }

  auto held = mirror::LoadMapsFromTopic(kfake, name);
  ASSERT_FALSE(held.ok()) << "a map held behind an open transaction read as "
                          << (held->empty() ? "no map" : "a map");
  EXPECT_EQ(held.status().code(), ExitCode::kInfrastructure);
  EXPECT_NE(held.status().message().find(
                "_lifeline.offset-map [0]: a transaction has been open since offset 0"),
            std::string::npos)
      << held.status().message();

  // Once it ends, the map is there.
  ASSERT_TRUE((*stuck)->AbortTransaction(Millis(30000)).ok());
  auto maps = mirror::LoadMapsFromTopic(kfake, name);
  ASSERT_TRUE(maps.ok()) << maps.status().message();
  const TopicPartition key{Topic("t"), Partition(0)};
  ASSERT_EQ(maps->count(key), 1u);
  EXPECT_EQ(maps->at(key).progress(), 5);
}

}  // namespace
}  // namespace lifeline
