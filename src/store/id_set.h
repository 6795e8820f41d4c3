// IdSet: a set of row ids within a known range, one bit each, for queries
// that test membership of millions of rows in a set read once (segment counts).
// SQLite sees the sets of the current thread through `kontor_in_set(id, slot)`
// while an IdSetScope is alive; see sqlite_functions.h.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace kontor::store {

class IdSet {
 public:
  IdSet() = default;
  // An empty set that can hold the ids in [lo, hi].
  IdSet(int64_t lo, int64_t hi)
      : lo_(lo), hi_(hi), words_(hi >= lo ? static_cast<size_t>((hi - lo) / 64 + 1) : 0) {}

  // Ids outside [lo, hi] are ignored: they can never be asked for.
  void Add(int64_t id) {
    if (id < lo_ || id > hi_) return;
    const uint64_t k = static_cast<uint64_t>(id - lo_);
    words_[k >> 6] |= uint64_t{1} << (k & 63);
  }
  bool Contains(int64_t id) const {
    if (id < lo_ || id > hi_) return false;
    const uint64_t k = static_cast<uint64_t>(id - lo_);
    return (words_[k >> 6] >> (k & 63)) & 1;
  }
  int64_t Count() const {
    int64_t n = 0;
    for (uint64_t w : words_) n += std::popcount(w);
    return n;
  }

 private:
  int64_t lo_ = 0;
  int64_t hi_ = -1;
  std::vector<uint64_t> words_;
};

// Makes `sets` visible to `kontor_in_set` on this thread until destroyed.
// Scopes nest; the innermost wins.
class IdSetScope {
 public:
  explicit IdSetScope(const std::vector<IdSet>* sets);
  ~IdSetScope();
  IdSetScope(const IdSetScope&) = delete;
  IdSetScope& operator=(const IdSetScope&) = delete;

  // The sets in scope on this thread, or nullptr.
  static const std::vector<IdSet>* Current();

 private:
  const std::vector<IdSet>* previous_;
};

}  // namespace kontor::store
