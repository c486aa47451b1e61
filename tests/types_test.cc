#include "core/types.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <unordered_set>

#include "core/status.h"

namespace lifeline {
namespace {

TEST(StrongTypes, AreNotInterchangeable) {
  static_assert(!std::is_convertible_v<Offset, Partition>);
  static_assert(!std::is_convertible_v<int64_t, Offset>);
  static_assert(!std::is_convertible_v<Partition, int32_t>);
  static_assert(std::is_constructible_v<Offset, int64_t>);
  SUCCEED();
}

TEST(StrongTypes, CompareAndHashByValue) {
  EXPECT_LT(Offset(3), Offset(4));
  EXPECT_EQ(Partition(2), Partition(2));
  EXPECT_NE(Topic("a"), Topic("b"));
  std::unordered_set<Topic> topics{Topic("a"), Topic("a"), Topic("b")};
  EXPECT_EQ(topics.size(), 2u);
}

TEST(Status, CarriesExitCodeAndContext) {
  Status s = Status::Infra("broker down").WithContext("mirror");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ExitCode::kInfrastructure);
  EXPECT_EQ(s.message(), "mirror: broker down");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> good(7);
  Result<int> bad(Status::Usage("nope"));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ExitCode::kUsage);
  EXPECT_TRUE(good.status().ok());
}

}  // namespace
}  // namespace lifeline
