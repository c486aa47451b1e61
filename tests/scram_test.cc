// The raw reader's SCRAM client against known answers: RFC 7677's
// SCRAM-SHA-256 exchange, and a SCRAM-SHA-512 exchange computed with
// Python's hashlib/hmac (an independent implementation) for a user name that
// needs escaping.
#include "core/internal/scram.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lifeline::internal {
namespace {

TEST(Scram, Sha256MatchesRfc7677) {
  auto c = ScramClient::Create("SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ClientFirst(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto final = c->ClientFinal(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(final.ok()) << final.status().message();
  // The combined nonce appears once (the bug of librdkafka < 2.6.1 repeated it).
  EXPECT_EQ(*final,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_TRUE(c->CheckServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
  EXPECT_FALSE(c->CheckServerFinal("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
}

TEST(Scram, Sha512EscapesTheUserNameAndMatchesAnIndependentComputation) {
  auto c =
      ScramClient::Create("SCRAM-SHA-512", "release=bot,1", "s3cret", "fyko+d2lbbFgONRv9qkxdawL");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ClientFirst(), "n,,n=release=3Dbot=2C1,r=fyko+d2lbbFgONRv9qkxdawL");
  auto final = c->ClientFinal(
      "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=bGlmZWxpbmUtc2FsdC0xNg==,i=4096");
  ASSERT_TRUE(final.ok()) << final.status().message();
  EXPECT_EQ(*final,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
            "p=6HWANDCgx0wyOEASeO2kr9hE5sQ08ZYTQe66xe1+tTXnYtAo2TqfmvhVkpY3ZT8C5nHEenIZh4ZYOqN/"
            "ITgcjA==");
  EXPECT_TRUE(c->CheckServerFinal("v=T/ycYiFPLaNL116zxkxS+TVxmxRBuaJNwFQb9JBCmQZKsWcTEYFxppNIwfVg"
                                  "bE0ZLPG/5EBnxSzDOBWpQHnMew==")
                  .ok());
}

TEST(Scram, RefusesAServerThatDoesNotExtendTheNonceOrSendsNoSaneParameters) {
  auto c = ScramClient::Create("SCRAM-SHA-256", "u", "p", "abc");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->ClientFinal("r=xyzdef,s=c2FsdA==,i=4096").status().message().find("nonce"),
            std::string::npos);
  EXPECT_FALSE(c->ClientFinal("r=abc,s=c2FsdA==,i=4096").ok());  // not extended at all
  EXPECT_NE(c->ClientFinal("r=abcdef,s=c2FsdA==,i=0").status().message().find("iteration"),
            std::string::npos);
  EXPECT_FALSE(c->ClientFinal("r=abcdef,s=c2FsdA==").ok());
  EXPECT_FALSE(c->ClientFinal("r=abcdef,s=!!!,i=4096").ok());
  EXPECT_NE(c->ClientFinal("e=unknown-user").status().message().find("unknown-user"),
            std::string::npos);
  // Before ClientFinal there is no signature to match, whatever arrives.
  EXPECT_FALSE(c->CheckServerFinal("v=").ok());
}

TEST(Scram, OnlyTheTwoShaMechanismsAndRandomNoncesDiffer) {
  EXPECT_EQ(ScramClient::Create("SCRAM-SHA-1", "u", "p").status().code(), ExitCode::kUsage);
  auto a = ScramClient::Create("SCRAM-SHA-512", "u", "p");
  auto b = ScramClient::Create("SCRAM-SHA-512", "u", "p");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->ClientFirst(), b->ClientFirst());
}

TEST(Scram, Base64RoundTripsEveryPaddingLength) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64Encode("pencil"), "cGVuY2ls");
  EXPECT_FALSE(Base64Decode("abc").ok());
}

}  // namespace
}  // namespace lifeline::internal
