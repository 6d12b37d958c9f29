#include "base/status.h"

#include <gtest/gtest.h>

namespace certkeeper {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  CK_ASSIGN_OR_RETURN(int h, Half(x));
  CK_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(Status, CarriesContextProblemAndHint) {
  Problem p;
  p.type = "urn:ietf:params:acme:error:rateLimited";
  p.detail = "too many certificates";
  Problem sub;
  sub.type = "urn:ietf:params:acme:error:caa";
  sub.identifier = "example.com";
  p.subproblems.push_back(sub);
  Status s = Status(ErrorCode::kRateLimited, "new order refused")
                 .Where("https://ca/new-order")
                 .WithProblem(p)
                 .Hint("wait")
                 .Annotate("issue web");
  EXPECT_EQ(s.code(), ErrorCode::kRateLimited);
  EXPECT_EQ(s.problem()->ShortType(), "rateLimited");
  EXPECT_EQ(s.ToString(),
            "issue web: new order refused (https://ca/new-order): acme problem rateLimited: "
            "too many certificates; [example.com] caa");
  EXPECT_NE(s.ToUserString().find("hint: wait"), std::string::npos);
}

TEST(Status, CopiesAreIndependent) {
  Status a(ErrorCode::kIo, "disk");
  Status b = a;
  b.Annotate("later");
  EXPECT_EQ(a.message(), "disk");
  EXPECT_EQ(b.message(), "later: disk");
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_FALSE(Quarter(6).ok());
  EXPECT_EQ(Quarter(6).status().message(), "odd");
}

TEST(Result, OkStatusBecomesInternalError) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace certkeeper
