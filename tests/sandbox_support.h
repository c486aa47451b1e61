// Builds replay sandboxes in tests without Kafka: records get coordinates,
// then go through the same fold and writer replay uses.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/sqlite.h"
#include "replay/internal/registry.h"
#include "replay/internal/store.h"

namespace lifeline::testing {

// Gives every record coordinates: round-robin over `partitions` by prompt,
// offsets counting from `first_offset`.
inline std::vector<Record> Place(std::vector<Record> records, int partitions,
                                 int64_t first_offset) {
  std::map<int32_t, int64_t> next;
  for (Record& r : records) {
    const int32_t p = static_cast<int32_t>(std::hash<std::string>()(r.key.value_or("")) %
                                           static_cast<size_t>(partitions));
    r.topic = Topic("prompt.lifecycle");
    r.partition = Partition(p);
    auto [it, fresh] = next.try_emplace(p, first_offset);
    r.offset = Offset(it->second++);
  }
  return records;
}

struct Built {
  sqlite::Db db;
  replay::Registry registry;
};

// Folds `records` into a new sandbox at `path` (":memory:" by default) marked
// complete, as replay would.
inline std::unique_ptr<Built> Build(const std::vector<Record>& records,
                                    const std::string& path = ":memory:",
                                    const replay::RegistryOptions& fold = {}) {
  auto db = sqlite::Db::Open(path, sqlite::Db::Mode::kCreate);
  EXPECT_TRUE(db.ok()) << db.status().message();
  auto built = std::make_unique<Built>(Built{std::move(db).value(), replay::Registry(fold)});
  replay::SandboxWriter writer(&built->db);
  EXPECT_TRUE(writer.Begin().ok());
  for (const Record& r : records) {
    Status st = writer.Add(r, built->registry.Apply(r));
    EXPECT_TRUE(st.ok()) << st.message();
  }
  const auto late = built->registry.Finish();
  Status st = writer.WriteState(built->registry, late);
  if (st.ok()) st = writer.Finish({{"complete", "true"}});
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(writer.Commit().ok());
  return built;
}

}  // namespace lifeline::testing
