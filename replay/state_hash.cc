#include "replay/state_hash.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <cstring>
#include <memory>

#include "replay/store.h"

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
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
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

}  // namespace

Result<StateDigest> HashState(sqlite::Db& db, bool by_prompt) {
  StateDigest result;
  auto total = NewState();
  std::map<std::string, HashState128> prompts;
  std::string row;
  for (const LogicalTable& t : LogicalTables()) {
    auto stmt = db.Prepare(fmt::format("SELECT * FROM {} ORDER BY {}", t.name, t.order_by));
    if (!stmt.ok()) return stmt.status().WithContext("state hash");
    auto table = NewState();
    const std::string name = NameBytes(t.name);
    TableDigest td;
    td.table = t.name;
    std::string last_prompt;
    XXH3_state_t* prompt_state = nullptr;
    for (;;) {
      auto more = stmt->Step();
      if (!more.ok()) return more.status().WithContext("state hash");
      if (!*more) break;
      ++td.rows;
      EncodeRow(stmt->raw(), &row);
      XXH3_128bits_update(table.get(), row.data(), row.size());
      if (by_prompt && t.prompt_column) {
        std::string prompt = stmt->Text(0);
        if (!prompt_state || prompt != last_prompt) {
          auto& st = prompts[prompt];
          if (!st) st = NewState();
          prompt_state = st.get();
          last_prompt = std::move(prompt);
          XXH3_128bits_update(prompt_state, name.data(), name.size());
        }
        XXH3_128bits_update(prompt_state, row.data(), row.size());
      }
    }
    td.digest = Digest(table.get());
    std::string entry = name;
    PutU64(&entry, static_cast<uint64_t>(td.rows));
    for (int i = 7; i >= 0; --i) entry.push_back(static_cast<char>(td.digest.high >> (8 * i)));
    for (int i = 7; i >= 0; --i) entry.push_back(static_cast<char>(td.digest.low >> (8 * i)));
    XXH3_128bits_update(total.get(), entry.data(), entry.size());
    result.tables.push_back(std::move(td));
  }
  result.total = Digest(total.get());
  for (auto& [prompt, st] : prompts) result.prompts[prompt] = Digest(st.get());
  return result;
}

}  // namespace lifeline::replay
