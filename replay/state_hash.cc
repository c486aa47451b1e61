#include "replay/internal/state_hash.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <thread>

#include "replay/internal/store.h"

namespace lifeline::replay {
namespace {

struct StateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};
using HashState128 = std::unique_ptr<XXH3_state_t, StateFree>;

HashState128 NewState() {
  HashState128 s(XXH3_createState());
  XXH3_128bits_reset(s.get());
  return s;
}

Digest128 Digest(XXH3_state_t* s) {
  XXH128_hash_t h = XXH3_128bits_digest(s);
  return {h.high64, h.low64};
}

void PutU64(std::string* out, uint64_t v) {
  char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>(v >> (8 * i));
  out->append(le, sizeof le);
}

void PutBytes(std::string* out, char tag, const void* data, size_t n) {
  out->push_back(tag);
  PutU64(out, n);
  out->append(static_cast<const char*>(data), n);
}

// The canonical bytes of the current row of `s`.
void EncodeRow(sqlite3_stmt* s, std::string* out) {
  out->clear();
  out->push_back('r');
  const int n = sqlite3_column_count(s);
  for (int c = 0; c < n; ++c) {
    switch (sqlite3_column_type(s, c)) {
      case SQLITE_NULL:
        out->push_back('N');
        break;
      case SQLITE_INTEGER:
        out->push_back('I');
        PutU64(out, static_cast<uint64_t>(sqlite3_column_int64(s, c)));
        break;
      case SQLITE_FLOAT: {
        const double d = sqlite3_column_double(s, c);
        uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        out->push_back('R');
        PutU64(out, bits);
        break;
      }
      case SQLITE_TEXT:
        PutBytes(out, 'T', sqlite3_column_text(s, c),
                 static_cast<size_t>(sqlite3_column_bytes(s, c)));
        break;
      default:
        PutBytes(out, 'B', sqlite3_column_blob(s, c),
                 static_cast<size_t>(sqlite3_column_bytes(s, c)));
        break;
    }
  }
}

std::string NameBytes(const char* name) {
  std::string out;
  PutBytes(&out, 'T', name, std::strlen(name));
  return out;
}

// One table's digest; with `prompts`, also feeds each prompt's rows to that
// prompt's state (tables must come in LogicalTables() order).
Result<TableDigest> HashTable(sqlite::Db& db, const LogicalTable& t,
                              std::map<std::string, HashState128>* prompts) {
  auto stmt = db.Prepare(fmt::format("SELECT * FROM {} ORDER BY {}", t.name, t.order_by));
  if (!stmt.ok()) return stmt.status().WithContext("state hash");
  auto table = NewState();
  const std::string name = NameBytes(t.name);
  TableDigest td;
  td.table = t.name;
  std::string row, last_prompt;
  XXH3_state_t* prompt_state = nullptr;
  for (;;) {
    auto more = stmt->Step();
    if (!more.ok()) return more.status().WithContext("state hash");
    if (!*more) break;
    ++td.rows;
    EncodeRow(stmt->raw(), &row);
    XXH3_128bits_update(table.get(), row.data(), row.size());
    if (prompts && t.prompt_column) {
      std::string prompt = stmt->Text(0);
      if (!prompt_state || prompt != last_prompt) {
        auto& st = (*prompts)[prompt];
        if (!st) st = NewState();
        prompt_state = st.get();
        last_prompt = std::move(prompt);
        XXH3_128bits_update(prompt_state, name.data(), name.size());
      }
      XXH3_128bits_update(prompt_state, row.data(), row.size());
    }
  }
  td.digest = Digest(table.get());
  return td;
}

Digest128 Total(const std::vector<TableDigest>& tables) {
  auto total = NewState();
  for (const TableDigest& td : tables) {
    std::string entry = NameBytes(td.table.c_str());
    PutU64(&entry, static_cast<uint64_t>(td.rows));
    for (int i = 7; i >= 0; --i) entry.push_back(static_cast<char>(td.digest.high >> (8 * i)));
    for (int i = 7; i >= 0; --i) entry.push_back(static_cast<char>(td.digest.low >> (8 * i)));
    XXH3_128bits_update(total.get(), entry.data(), entry.size());
  }
  return Digest(total.get());
}

}  // namespace

Result<StateDigest> HashState(sqlite::Db& db, bool by_prompt) {
  StateDigest result;
  std::map<std::string, HashState128> prompts;
  for (const LogicalTable& t : LogicalTables()) {
    LIFELINE_ASSIGN_OR_RETURN(auto td, HashTable(db, t, by_prompt ? &prompts : nullptr));
    result.tables.push_back(std::move(td));
  }
  result.total = Total(result.tables);
  for (auto& [prompt, st] : prompts) result.prompts[prompt] = Digest(st.get());
  return result;
}

Result<StateDigest> HashStateFile(const std::string& path, const std::string& pragmas) {
  // The largest table on a second connection and thread, the rest here:
  // tables hash independently, and the total combines them in order.
  const std::vector<LogicalTable>& tables = LogicalTables();
  const size_t big = static_cast<size_t>(
      std::find_if(tables.begin(), tables.end(),
                   [](const LogicalTable& t) { return std::strcmp(t.name, "event_log") == 0; }) -
      tables.begin());  // one row per event
  Result<TableDigest> big_digest = Status::Infra("not hashed");
  std::thread helper([&] {
    auto db = sqlite::Db::Open(path, sqlite::Db::Mode::kReadOnly);
    if (!db.ok()) {
      big_digest = db.status();
      return;
    }
    Status st = db->Exec(pragmas);
    big_digest = st.ok() ? HashTable(*db, tables[big], nullptr) : Result<TableDigest>(st);
  });
  StateDigest result;
  Status st;
  auto db = sqlite::Db::Open(path, sqlite::Db::Mode::kReadOnly);
  if (!db.ok()) st = db.status();
  if (st.ok()) st = db->Exec(pragmas);
  result.tables.resize(tables.size());
  for (size_t i = 0; st.ok() && i < tables.size(); ++i) {
    if (i == big) continue;
    auto td = HashTable(*db, tables[i], nullptr);
    st = td.status();
    if (td.ok()) result.tables[i] = std::move(td).value();
  }
  helper.join();
  LIFELINE_RETURN_IF_ERROR(st);
  if (!big_digest.ok()) return big_digest.status();
  result.tables[big] = std::move(big_digest).value();
  result.total = Total(result.tables);
  return result;
}

}  // namespace lifeline::replay
