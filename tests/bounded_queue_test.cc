#include "core/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace lifeline {
namespace {

TEST(BoundedQueue, NormalCloseDrainsWhatIsQueued) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(1));
  ASSERT_TRUE(q.Push(2));
  q.Close();
  EXPECT_FALSE(q.Push(3)) << "a closed queue takes nothing more";
  int v = 0;
  ASSERT_TRUE(q.Pop(&v));
  EXPECT_EQ(v, 1);
  ASSERT_TRUE(q.Pop(&v));
  EXPECT_EQ(v, 2);
  EXPECT_FALSE(q.Pop(&v));
  EXPECT_TRUE(q.error().ok());
}

TEST(BoundedQueue, ErrorStopsAtOnceAndTheFirstErrorWins) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(1));
  q.Close(Status::Infra("disk full"));
  q.Close(Status::Interrupted("later"));
  int v = 0;
  EXPECT_FALSE(q.Pop(&v)) << "queued items are not handed out after an error";
  EXPECT_EQ(q.error().message(), "disk full");
}

TEST(BoundedQueue, PushBlocksWhileFullUntilTheConsumerTakesOne) {
  BoundedQueue<int> q(2);
  ASSERT_TRUE(q.Push(1));
  ASSERT_TRUE(q.Push(2));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.Push(3));
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(pushed) << "the third push must wait for room";
  int v = 0;
  ASSERT_TRUE(q.Pop(&v));
  producer.join();
  EXPECT_TRUE(pushed);
  ASSERT_TRUE(q.Pop(&v));
  ASSERT_TRUE(q.Pop(&v));
  EXPECT_EQ(v, 3);
}

TEST(BoundedQueue, CloseReleasesABlockedProducer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(1));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = q.Push(2) ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  q.Close(Status::Interrupted("stopped"));
  producer.join();
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace lifeline
