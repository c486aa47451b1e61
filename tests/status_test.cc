#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace lifeline {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::Usage("odd: " + std::to_string(n));
  return n / 2;
}

Result<int> Quarter(int n) {
  LIFELINE_ASSIGN_OR_RETURN(int half, Half(n));
  LIFELINE_ASSIGN_OR_RETURN(auto quarter, Half(half));
  return quarter;
}

Status QuarterInto(int n, int* out) {
  LIFELINE_ASSIGN_OR_RETURN_CTX(*out, Quarter(n), "quarter");
  return Status::Ok();
}

Result<std::unique_ptr<int>> Boxed(int n) {
  if (n < 0) return Status::Infra("negative");
  return std::make_unique<int>(n);
}

Result<int> Unboxed(int n) {
  LIFELINE_ASSIGN_OR_RETURN(std::unique_ptr<int> box, Boxed(n));
  return *box;
}

TEST(AssignOrReturn, UnwrapsAValueAndReturnsTheFirstError) {
  Result<int> q = Quarter(12);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, 3);
  Result<int> odd = Quarter(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), ExitCode::kUsage);
  EXPECT_EQ(odd.status().message(), "odd: 3");
}

TEST(AssignOrReturn, AssignsToAnLvalueAndPrefixesTheContext) {
  int out = -1;
  EXPECT_TRUE(QuarterInto(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status st = QuarterInto(5, &out);
  EXPECT_EQ(st.message(), "quarter: odd: 5");
  EXPECT_EQ(out, 2) << "untouched on error";
}

TEST(AssignOrReturn, MovesAMoveOnlyValueAndKeepsTheErrorCode) {
  ASSERT_TRUE(Unboxed(4).ok());
  EXPECT_EQ(*Unboxed(4), 4);
  EXPECT_EQ(Unboxed(-1).status().code(), ExitCode::kInfrastructure);
}

}  // namespace
}  // namespace lifeline
