// The fold's disk-backed memory (replay/internal/spill.h): ids and texts read back
// exactly from the in-memory table and from every spilled run, and a fold
// that spills everything (ids, texts, prompt states) gives the same sandbox
// as one that spills nothing.
#include "replay/internal/spill.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "replay/internal/state_hash.h"
#include "tests/lifecycle_stream.h"
#include "tests/sandbox_support.h"

namespace lifeline::replay {
namespace {

Digest128 Id(int i) {
  const std::string s = "event-" + std::to_string(i);
  XXH128_hash_t h = XXH3_128bits(s.data(), s.size());
  return {h.high64, h.low64};
}

TEST(IdIndex, FindsEveryIdInMemoryAndInEverySpilledRunAndNoOther) {
  const std::string dir = ::testing::TempDir();
  IdIndex index(dir, 100);
  const int n = 5000;
  for (int i = 0; i < n; ++i) {
    FirstSeen f{static_cast<uint32_t>(i % 7), i + 1, Id(-i)};
    ASSERT_FALSE(index.FindOrInsert(Id(i), f)) << i;
  }
  EXPECT_EQ(index.runs(), 50u);  // 5000 / 100: the last batch spilled too
  for (int i = 0; i < n; ++i) {
    auto found = index.FindOrInsert(Id(i), {99, 0, {}});
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->prompt, static_cast<uint32_t>(i % 7));
    EXPECT_EQ(found->seq, i + 1);
    EXPECT_EQ(found->content, Id(-i));
  }
  for (int i = n; i < 2 * n; ++i) EXPECT_FALSE(index.Find(Id(i))) << i;
  EXPECT_TRUE(index.status().ok()) << index.status().message();
}

TEST(TextSpill, ReadsBackEveryTextFromMemoryAndFromTheFile) {
  TextSpill texts(::testing::TempDir(), 64);
  std::vector<std::pair<TextRef, std::string>> put;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 90, static_cast<char>('a' + i % 26));
    put.emplace_back(texts.Put(s), s);
  }
  for (const auto& [ref, s] : put) EXPECT_EQ(texts.Get(ref), s);
  EXPECT_TRUE(texts.status().ok()) << texts.status().message();
}

TEST(IdIndex, ASpillDirectoryThatCannotBeWrittenIsAnErrorNamingIt) {
  IdIndex index("/nonexistent/lifeline-spill", 2);
  for (int i = 0; i < 4; ++i) (void)index.FindOrInsert(Id(i), {});
  ASSERT_FALSE(index.status().ok());
  EXPECT_NE(index.status().message().find("/nonexistent/lifeline-spill"), std::string::npos)
      << index.status().message();
}

TEST(Registry, SpillingEverythingToDiskGivesTheSameSandbox) {
  RegistryOptions tiny;
  tiny.spill_dir = ::testing::TempDir();
  tiny.ids_in_memory = 1;
  tiny.text_bytes_in_memory = 1;
  tiny.prompt_units_in_memory = 1;  // every other prompt's state on disk
  // The known-answer stream has a duplicate delivery, a conflicting
  // duplicate and violations quoting earlier events; add a re-proposal and a
  // failed evaluation, whose violations quote spilled texts.
  testing::StreamBuilder b;
  b.Proposed("p", "1", 'a');
  b.Proposed("p", "1", 'a');
  b.Proposed("p", "1", 'b');
  b.Decision(envelope::Kind::kApproved, "p", "1");
  b.Evaluated("p", "1", false, 0.2);
  b.Deployed(envelope::Kind::kDeployed, "p", "1", "global", 100);
  // Interleaved with the other prompts' events, so that every one of p's
  // events finds p's state read back from the spill file.
  const std::vector<Record> known = testing::KnownAnswerStream(), extra = b.records();
  std::vector<Record> stream;
  for (size_t i = 0; i < std::max(known.size(), extra.size()); ++i) {
    if (i < known.size()) stream.push_back(known[i]);
    if (i < extra.size()) stream.push_back(extra[i]);
  }
  stream.push_back(known[3]);  // a duplicate delivery long after the first
  auto memory = testing::Build(testing::Place(stream, 3, 0));
  auto disk = testing::Build(testing::Place(stream, 3, 0), ":memory:", tiny);
  EXPECT_TRUE(disk->registry.status().ok()) << disk->registry.status().message();
  EXPECT_EQ(memory->registry.duplicates(), disk->registry.duplicates());
  EXPECT_GE(disk->registry.duplicates(), 2);
  EXPECT_EQ(memory->registry.violations_by_code(), disk->registry.violations_by_code());
  auto a = HashState(memory->db, true), d = HashState(disk->db, true);
  ASSERT_TRUE(a.ok() && d.ok());
  EXPECT_EQ(a->total, d->total);  // violation details included
  EXPECT_EQ(memory->registry.prompt_count(), disk->registry.prompt_count());
  auto p = disk->registry.FindPrompt("triage");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->active.empty());
  EXPECT_FALSE(disk->registry.FindPrompt("no-such-prompt"));
}

}  // namespace
}  // namespace lifeline::replay
