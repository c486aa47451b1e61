// Shared test helpers: real-cluster fixtures that fail (never skip) when no
// broker is configured, unique topic names, and a bounded read-back.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/kafka.h"
#include "core/record.h"
#include "core/spawn.h"

namespace lifeline::testing {

// A topic or group name no other test (or earlier run) uses.
inline std::string UniqueName(const std::string& stem) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = stem + "." + (info ? info->name() : "t") + "." + std::to_string(getpid()) +
                     "." + std::to_string(counter++);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '-';
  }
  return name;
}

inline ClientConfig ConfigFor(const std::string& bootstrap) {
  ClientConfig c;
  c.Set("bootstrap.servers", bootstrap);
  return c;
}

// Integration tests against real Apache Kafka. SetUp fails the test — it is
// never skipped — when the bootstrap variables are missing.
class RealKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* s = std::getenv("LIFELINE_SOURCE_BOOTSTRAP");
    const char* t = std::getenv("LIFELINE_TARGET_BOOTSTRAP");
    if (!s || !*s || !t || !*t) {
      FAIL() << "no real Kafka configured: run `scripts/kafka up` and export "
                "LIFELINE_SOURCE_BOOTSTRAP=$(scripts/kafka bootstrap source) "
                "LIFELINE_TARGET_BOOTSTRAP=$(scripts/kafka bootstrap target), or run scripts/test";
    }
    source_ = ConfigFor(s);
    target_ = ConfigFor(t);
  }

  ClientConfig source_;
  ClientConfig target_;
};

// Reads `expected` records from the start of one partition (bounded wait).
inline std::vector<Record> ReadBack(const ClientConfig& config, const std::string& topic,
                                    int32_t partition, size_t expected,
                                    bool read_committed = false) {
  ConsumerOptions opts;
  opts.read_committed = read_committed;
  auto consumer = Consumer::Create(config, opts);
  EXPECT_TRUE(consumer.ok()) << consumer.status().message();
  if (!consumer.ok()) return {};
  EXPECT_TRUE((*consumer)->Assign({{{Topic(topic), Partition(partition)}, kOffsetBeginning}}).ok());
  std::vector<Record> out;
  for (int i = 0; i < 100 && out.size() < expected; ++i) {
    auto batch = (*consumer)->Poll(1000, Millis(200));
    EXPECT_TRUE(batch.ok()) << batch.status().message();
    if (!batch.ok()) break;
    for (Record& r : batch->records) out.push_back(std::move(r));
  }
  return out;
}

// Runs the lifeline binary (LIFELINE_BINARY) with stdout and stderr appended
// to `log`; returns its pid.
inline pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {LIFELINE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto pid = SpawnWithLog(std::move(argv), log);
  EXPECT_TRUE(pid.ok()) << pid.status().message();
  return pid.ok() ? *pid : -1;
}

inline int WaitExit(pid_t pid) {
  if (pid <= 0) return -1;  // never waitpid(-1): that would reap any child
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace lifeline::testing
