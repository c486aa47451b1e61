// What the fold must remember for the whole stream but rarely reads back,
// kept on disk so replay's memory does not grow with the stream: the event
// ids seen (IdIndex) and the texts a violation may quote later (TextSpill).
//
// Both write to an unnamed temporary file (created in a directory, unlinked
// at once: nothing is left behind, even after a crash) and only once their
// in-memory budget is used, so a small replay never touches the disk.
// An I/O error is sticky: status() reports it and later answers are not to
// be trusted (replay fails the run).
//
// Thread-safety: each object is used from one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/status.h"

namespace lifeline::replay {

// An append-only unnamed temporary file.
class SpillFile {
 public:
  explicit SpillFile(std::string dir) : dir_(std::move(dir)) {}
  ~SpillFile();
  SpillFile(SpillFile&& other) noexcept;
  SpillFile& operator=(SpillFile&&) = delete;

  // Appends `bytes`; returns the offset they start at (-1 after an error).
  int64_t Append(std::string_view bytes);
  // Overwrites bytes appended before.
  bool WriteAt(int64_t offset, std::string_view bytes);
  // Reads `n` bytes at `offset` into `out`.
  bool ReadAt(int64_t offset, size_t n, char* out);
  const Status& status() const { return status_; }

 private:
  bool Open();
  std::string dir_;
  int fd_ = -1;
  int64_t size_ = 0;
  Status status_;
};

// Texts by reference: 16 bytes in memory whatever the text's length.
struct TextRef {
  uint64_t offset = 0;
  uint32_t size = 0;
};

class TextSpill {
 public:
  // Keeps up to `memory_bytes` of text in memory before writing to `dir`.
  TextSpill(std::string dir, size_t memory_bytes);
  TextRef Put(std::string_view text);
  std::string Get(TextRef ref);
  const Status& status() const { return file_.status(); }

 private:
  SpillFile file_;
  size_t memory_bytes_;
  uint64_t flushed_ = 0;  // bytes already in the file
  std::string buffer_;    // the bytes after them
};

// Where an event id was first delivered, and what it carried.
struct FirstSeen {
  uint32_t prompt = 0;  // the caller's prompt number
  int64_t seq = 0;
  Digest128 content;
};

// A set of event-id digests with where each was first seen: the newest
// `memory_entries` in an in-memory table, older ones in sorted runs on disk
// behind one Bloom filter for all of them (2-4 bytes per id in memory; it is
// rebuilt from the runs, twice as large, whenever it fills up).
class IdIndex {
 public:
  IdIndex(std::string dir, size_t memory_entries);
  // The first sighting of `id`, or nullopt after recording `first` as it.
  std::optional<FirstSeen> FindOrInsert(const Digest128& id, const FirstSeen& first);
  std::optional<FirstSeen> Find(const Digest128& id);
  size_t runs() const { return runs_.size(); }
  const Status& status() const { return file_.status(); }

 private:
  struct Slot {
    Digest128 id;
    FirstSeen first;
    bool used = false;
  };
  struct Run {
    int64_t offset = 0;
    size_t count = 0;
    std::vector<Digest128> block_first;  // the first id of each block of entries
  };
  Slot* Probe(const Digest128& id);
  std::optional<FirstSeen> FindSpilled(const Digest128& id);
  std::optional<FirstSeen> FindInRun(const Run& run, const Digest128& id);
  void Spill();
  void AddToBloom(const Digest128& id);
  void RebuildBloom(size_t capacity);

  SpillFile file_;
  size_t memory_entries_;
  std::vector<Slot> table_;  // open addressing, at most half full
  size_t used_ = 0;
  std::vector<Run> runs_;
  size_t spilled_ = 0;
  size_t bloom_capacity_ = 0;    // ids the filter is sized for
  std::vector<uint64_t> bloom_;  // over every spilled id
};

}  // namespace lifeline::replay
