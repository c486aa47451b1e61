// The exact offset map of one mirrored partition (docs/architecture.md, "The exact
// offset map"): runs of (source start, target start, length) in which both
// sides advance by one, the known gaps, and the mirror's progress.
//
// Invariants: runs are sorted and disjoint on both sides, and strictly
// increasing in both source and target offsets; every source offset below
// progress() was either mirrored (it is in a run), is a recorded gap, or was
// never a readable record (compacted away, aborted, a control record).
//
// Questions (Translate, ReverseTranslate, IsMirroredTarget,
// RecordsFromTarget) take and return Offset. Building it (Add, Advance,
// RewindTo, AddGap), its positions and its stored parts (runs, gaps) are
// still raw int64_t: the mirror's copy loop and the map store use them.
//
// Not thread-safe; one owner per partition.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"

namespace lifeline::mirror {

struct OffsetRun {
  int64_t source_start = 0;
  int64_t target_start = 0;
  int64_t length = 0;
  int64_t source_end() const { return source_start + length; }  // exclusive
  int64_t target_end() const { return target_start + length; }  // exclusive
  friend bool operator==(const OffsetRun&, const OffsetRun&) = default;
};

// Source offsets [from, to) that were lost before the mirror read them
// (retention deleted them). Recorded only when the user allowed gaps.
struct Gap {
  int64_t from = 0;
  int64_t to = 0;
  friend bool operator==(const Gap&, const Gap&) = default;
};

// The answer to "where must a group that committed C on the source resume
// on the target?". Only kExact carries an offset.
struct Translation {
  enum class Kind {
    kExact,              // target_offset is T(C)
    kNotYetMirrored,     // C is past the mirror's progress
    kBeforeMirrorStart,  // C is before the first source offset the mirror read
  };
  Kind kind = Kind::kNotYetMirrored;
  Offset target_offset{-1};
};

class PartitionMap {
 public:
  PartitionMap() = default;
  // A map that starts mirroring at `source_start` into a target partition
  // whose next offset is `target_start`.
  PartitionMap(int64_t source_start, int64_t target_start)
      : source_start_(source_start), progress_(source_start), target_next_(target_start) {}

  // Records that source offset `s` was written at target offset `t`. Calls
  // come in increasing order of both; `s` must be >= progress().
  void Add(int64_t s, int64_t t);

  // Everything below `source_next` has been handled; never moves backwards.
  void Advance(int64_t source_next);

  // Forgets every mapping of source offsets >= `s` and sets progress to `s`
  // (an at-least-once restart resends those records). `target_next` is where
  // the next mirrored record will land.
  void RewindTo(int64_t s, int64_t target_next);

  void AddGap(Gap gap);

  // T(C): the target offset a group must commit to read exactly the records
  // it had not read on the source. Never a guess: a C the map cannot answer
  // exactly gets a kind saying why.
  Translation Translate(Offset committed) const;

  // The source offset a target position corresponds to (the inverse, for
  // failback): the first mirrored record at target offset >= t. nullopt if t
  // is past target_next().
  std::optional<Offset> ReverseTranslate(Offset target) const;

  // Whether target offset `t` holds a record copied from the source.
  bool IsMirroredTarget(Offset t) const;

  int64_t source_start() const { return source_start_; }
  int64_t progress() const { return progress_; }
  // Where the next mirrored record will land (after the last one).
  int64_t target_next() const { return target_next_; }
  const std::vector<OffsetRun>& runs() const { return runs_; }
  const std::vector<Gap>& gaps() const { return gaps_; }
  int64_t records() const;  // mirrored records in all runs
  // Target records below target_next() that the map does not describe (an
  // at-least-once mirror's re-sends, or records another writer put there),
  // as the mirror's processes counted them; saved with the map, so a count
  // survives the process that made it.
  int64_t possible_duplicates() const { return possible_duplicates_; }
  void CountPossibleDuplicates(int64_t n) { possible_duplicates_ += n; }
  // Mirrored records at target offsets >= t.
  int64_t RecordsFromTarget(Offset t) const;
  // Where the copy of the first mapped record at source offset >= `source_low`
  // is, or nullopt if the map holds none there: the first record the target
  // must still hold while the source still holds its original.
  std::optional<Offset> FirstTargetKept(Offset source_low) const;

  // Rebuilds a map from stored parts; checks the invariants.
  static std::optional<PartitionMap> FromParts(std::vector<OffsetRun> runs, std::vector<Gap> gaps,
                                               int64_t source_start, int64_t progress,
                                               int64_t target_next, std::string* error);

 private:
  std::vector<OffsetRun> runs_;
  std::vector<Gap> gaps_;
  int64_t source_start_ = 0;
  int64_t progress_ = 0;
  int64_t target_next_ = 0;
  int64_t possible_duplicates_ = 0;
};

}  // namespace lifeline::mirror
