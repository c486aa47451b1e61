#include "replay/internal/spill.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace lifeline::replay {
namespace {

constexpr size_t kBlock = 64;                    // run entries per disk read
constexpr size_t kEntryBytes = 16 + 16 + 8 + 4;  // id, content, seq, prompt
constexpr size_t kBloomBitsPerId = 16;
constexpr int kBloomProbes = 7;  // ~0.2% false positives at 16 bits per id, blocked

bool Less(const Digest128& a, const Digest128& b) {
  return a.high != b.high ? a.high < b.high : a.low < b.low;
}

void Put64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint64_t Get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The bit positions of `id` in a filter of `bits` bits: all in one 512-bit
// block (one cache line), picked by the id's low word, the bits in it by
// 9-bit slices of the high word (ids are uniform hashes already).
template <typename F>
void ForEachBloomBit(const Digest128& id, uint64_t bits, F f) {
  const uint64_t block = (id.low % (bits / 512)) * 512;
  for (int i = 0; i < kBloomProbes; ++i) f(block + (id.high >> (9 * i) & 511));
}

}  // namespace

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

SpillFile::SpillFile(SpillFile&& other) noexcept
    : dir_(std::move(other.dir_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_),
      status_(std::move(other.status_)) {}

bool SpillFile::Open() {
  if (fd_ >= 0) return true;
  if (!status_.ok()) return false;
  std::string path = (dir_.empty() ? std::string(".") : dir_) + "/.lifeline-spill-XXXXXX";
  fd_ = ::mkstemp(path.data());
  if (fd_ < 0) {
    status_ =
        Status::Infra(fmt::format("replay spill file in {}: {} (free some space there, or "
                                  "replay into another directory)",
                                  dir_, std::strerror(errno)));
    return false;
  }
  ::unlink(path.c_str());  // nameless from now on: gone with the process
  return true;
}

int64_t SpillFile::Append(std::string_view bytes) {
  const int64_t at = size_;
  if (!WriteAt(at, bytes)) return -1;
  size_ += static_cast<int64_t>(bytes.size());
  return at;
}

bool SpillFile::WriteAt(int64_t at, std::string_view bytes) {
  if (!Open()) return false;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, at + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status_ = Status::Infra(fmt::format("replay spill file in {}: write failed: {}", dir_,
                                          n < 0 ? std::strerror(errno) : "no progress"));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool SpillFile::ReadAt(int64_t offset, size_t n, char* out) {
  if (fd_ < 0 || !status_.ok()) return false;
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, out + done, n - done, offset + done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      status_ = Status::Infra(fmt::format("replay spill file in {}: read failed: {}", dir_,
                                          got < 0 ? std::strerror(errno) : "short file"));
      return false;
    }
    done += static_cast<size_t>(got);
  }
  return true;
}

TextSpill::TextSpill(std::string dir, size_t memory_bytes)
    : file_(std::move(dir)), memory_bytes_(memory_bytes) {
  buffer_.reserve(std::min<size_t>(memory_bytes_, size_t{1} << 16));
}

TextRef TextSpill::Put(std::string_view text) {
  if (buffer_.size() + text.size() > memory_bytes_ && !buffer_.empty()) {
    if (file_.Append(buffer_) >= 0) flushed_ += buffer_.size();
    buffer_.clear();
  }
  // Grow to the budget at most (not by doubling past it).
  if (buffer_.size() + text.size() > buffer_.capacity()) {
    buffer_.reserve(
        std::max(buffer_.size() + text.size(), std::min(memory_bytes_, 2 * buffer_.capacity())));
  }
  TextRef ref{flushed_ + buffer_.size(), static_cast<uint32_t>(text.size())};
  buffer_.append(text);
  return ref;
}

std::string TextSpill::Get(TextRef ref) {
  if (ref.offset >= flushed_) return buffer_.substr(ref.offset - flushed_, ref.size);
  std::string out(ref.size, '\0');
  if (!file_.ReadAt(static_cast<int64_t>(ref.offset), ref.size, out.data())) out.clear();
  return out;
}

IdIndex::IdIndex(std::string dir, size_t memory_entries)
    : file_(std::move(dir)), memory_entries_(std::max<size_t>(memory_entries, 1)) {
  size_t capacity = 2;
  while (capacity < 2 * memory_entries_) capacity *= 2;
  table_.resize(capacity);
}

IdIndex::Slot* IdIndex::Probe(const Digest128& id) {
  const size_t mask = table_.size() - 1;
  for (size_t i = id.low & mask;; i = (i + 1) & mask) {
    Slot& s = table_[i];
    if (!s.used || s.id == id) return &s;
  }
}

std::optional<FirstSeen> IdIndex::Find(const Digest128& id) {
  Slot* s = Probe(id);
  if (s->used) return s->first;
  return FindSpilled(id);
}

std::optional<FirstSeen> IdIndex::FindOrInsert(const Digest128& id, const FirstSeen& first) {
  Slot* s = Probe(id);
  if (s->used) return s->first;
  if (auto found = FindSpilled(id)) return found;
  *s = Slot{id, first, true};
  if (++used_ >= memory_entries_) Spill();
  return std::nullopt;
}

std::optional<FirstSeen> IdIndex::FindSpilled(const Digest128& id) {
  if (runs_.empty()) return std::nullopt;
  bool maybe = true;
  ForEachBloomBit(id, bloom_.size() * 64, [&](uint64_t b) {
    if (!(bloom_[b / 64] >> (b % 64) & 1)) maybe = false;
  });
  if (!maybe) return std::nullopt;
  for (auto run = runs_.rbegin(); run != runs_.rend(); ++run) {
    if (auto found = FindInRun(*run, id)) return found;
  }
  return std::nullopt;
}

void IdIndex::AddToBloom(const Digest128& id) {
  ForEachBloomBit(id, bloom_.size() * 64,
                  [&](uint64_t b) { bloom_[b / 64] |= uint64_t{1} << (b % 64); });
}

void IdIndex::RebuildBloom(size_t capacity) {
  bloom_capacity_ = capacity;
  bloom_.assign((capacity * kBloomBitsPerId + 511) / 512 * 8, 0);
  std::string chunk;
  for (const Run& run : runs_) {
    for (size_t at = 0; at < run.count; at += 4096) {
      const size_t n = std::min<size_t>(4096, run.count - at);
      chunk.resize(n * kEntryBytes);
      if (!file_.ReadAt(run.offset + static_cast<int64_t>(at * kEntryBytes), chunk.size(),
                        chunk.data())) {
        return;
      }
      for (size_t i = 0; i < n; ++i) {
        const char* e = chunk.data() + i * kEntryBytes;
        AddToBloom({Get64(e), Get64(e + 8)});
      }
    }
  }
}

std::optional<FirstSeen> IdIndex::FindInRun(const Run& run, const Digest128& id) {
  // The block whose first id is the last one not above `id`.
  auto after = std::upper_bound(run.block_first.begin(), run.block_first.end(), id, Less);
  if (after == run.block_first.begin()) return std::nullopt;
  const size_t block = static_cast<size_t>(after - run.block_first.begin()) - 1;
  const size_t n = std::min(kBlock, run.count - block * kBlock);
  char buf[kBlock * kEntryBytes];
  if (!file_.ReadAt(run.offset + static_cast<int64_t>(block * kBlock * kEntryBytes),
                    n * kEntryBytes, buf)) {
    return std::nullopt;
  }
  for (size_t i = 0; i < n; ++i) {
    const char* e = buf + i * kEntryBytes;
    if (Get64(e) != id.high || Get64(e + 8) != id.low) continue;
    FirstSeen f;
    f.content = {Get64(e + 16), Get64(e + 24)};
    f.seq = static_cast<int64_t>(Get64(e + 32));
    uint32_t prompt;
    std::memcpy(&prompt, e + 40, 4);
    f.prompt = prompt;
    return f;
  }
  return std::nullopt;
}

void IdIndex::Spill() {
  std::vector<const Slot*> slots;
  slots.reserve(used_);
  for (const Slot& s : table_) {
    if (s.used) slots.push_back(&s);
  }
  std::sort(slots.begin(), slots.end(),
            [](const Slot* a, const Slot* b) { return Less(a->id, b->id); });
  Run run;
  run.count = slots.size();
  std::string bytes(run.count * kEntryBytes, '\0');
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& s = *slots[i];
    char* e = bytes.data() + i * kEntryBytes;
    Put64(e, s.id.high);
    Put64(e + 8, s.id.low);
    Put64(e + 16, s.first.content.high);
    Put64(e + 24, s.first.content.low);
    Put64(e + 32, static_cast<uint64_t>(s.first.seq));
    std::memcpy(e + 40, &s.first.prompt, 4);
    if (i % kBlock == 0) run.block_first.push_back(s.id);
  }
  run.offset = file_.Append(bytes);
  if (run.offset >= 0) {
    runs_.push_back(std::move(run));
    spilled_ += slots.size();
    if (spilled_ > bloom_capacity_) {
      RebuildBloom(std::max(2 * spilled_, 4 * memory_entries_));  // reads back every run
    } else {
      for (const Slot* s : slots) AddToBloom(s->id);
    }
  }
  std::fill(table_.begin(), table_.end(), Slot{});
  used_ = 0;
}

}  // namespace lifeline::replay
