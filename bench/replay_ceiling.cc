// lifeline-bench-replay-ceiling: the SQLite side of `lifeline replay` alone,
// for scripts/bench replay's ceiling row. Not part of lifeline.
//
//   lifeline-bench-replay-ceiling --bootstrap HOST:PORT --topic T --into FILE.db
//
// Reads the whole topic into memory and folds it (not timed), then times
// writing the very sandbox replay writes — the same SandboxWriter calls, state
// tables, indexes and state hash, one transaction, same pragmas — with no
// Kafka and no parsing in the loop. Prints one line:
//   "ceiling: N records in S s = R records/s (state hash H)".
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/sqlite.h"
#include "core/topic_reader.h"
#include "replay/internal/registry.h"
#include "replay/internal/state_hash.h"
#include "replay/internal/store.h"

namespace {

using namespace lifeline;
using Clock = std::chrono::steady_clock;

int Fail(const std::string& what) {
  std::fprintf(stderr, "lifeline-bench-replay-ceiling: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap, topic, into;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--bootstrap")) bootstrap = argv[i + 1];
    if (!std::strcmp(argv[i], "--topic")) topic = argv[i + 1];
    if (!std::strcmp(argv[i], "--into")) into = argv[i + 1];
  }
  if (bootstrap.empty() || topic.empty() || into.empty()) {
    return Fail("usage: --bootstrap HOST:PORT --topic T --into FILE.db");
  }
  ClientConfig config;
  config.Set("bootstrap.servers", bootstrap);
  TopicReadOptions read;
  read.topic = topic;
  replay::Registry registry;
  std::vector<std::pair<Record, replay::Outcome>> records;
  Status st = ReadTopic(config, read, [&](const Record& r) {
    records.emplace_back(r, registry.Apply(r));
    return Status::Ok();
  });
  if (!st.ok()) return Fail(st.message());
  const auto late = registry.Finish();
  std::remove(into.c_str());

  const auto started = Clock::now();
  auto db = sqlite::Db::Open(into, sqlite::Db::Mode::kCreate);
  if (!db.ok()) return Fail(db.status().message());
  st = db->Exec("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA cache_size=-32768");
  replay::SandboxWriter writer(&*db);
  if (st.ok()) st = writer.Begin();
  for (size_t i = 0; st.ok() && i < records.size(); ++i) {
    st = writer.Add(records[i].first, records[i].second);
  }
  const auto appended = Clock::now();
  if (st.ok()) st = writer.WriteState(registry, late);
  if (st.ok()) st = writer.Finish({{"complete", "true"}});
  const auto finished = Clock::now();
  Result<replay::StateDigest> hash = Status::Infra("not hashed");
  if (st.ok()) {
    hash = replay::HashState(*db, false);
    st = hash.status();
  }
  if (st.ok()) st = writer.Commit();
  if (!st.ok()) return Fail(st.message());
  const double s = std::chrono::duration<double>(Clock::now() - started).count();
  auto secs = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  std::printf(
      "ceiling: %zu records in %.3f s = %.0f records/s (appends %.2f s, state+indexes %.2f s, "
      "hash+commit %.2f s; state hash %s)\n",
      records.size(), s, static_cast<double>(records.size()) / s, secs(started, appended),
      secs(appended, finished), secs(finished, Clock::now()), hash->total.Hex().c_str());
  return 0;
}
