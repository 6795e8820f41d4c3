// Counting a segment over the whole customer base: the live count of the
// segment builder, saved segments' counts and the sizes of lists.
//
// On SQLite the customers are cut into id ranges counted at once by several
// workers, each on its own connection (one core each). Within a range, every
// set condition (a
// subscription, consent, tag or static list) is read once through its index
// into a bitmap, and one scan of the range's customers probes the bitmaps and
// reads each customer's attributes once (kontor_json_*). Each worker reads
// one consistent snapshot, and the workers start together, so every customer
// is judged on one consistent state; a write committed while the workers
// open their snapshots may be seen by some and not others, as it would be by
// a count started a moment earlier or later.
// On PostgreSQL the compiled condition runs as one query (hash joins).
#pragma once

#include <cstdint>
#include <string>

#include "clients/segment.h"
#include "core/json.h"
#include "core/status.h"
#include "store/database.h"

namespace kontor::clients {

struct CountOptions {
  // Threads counting at once, each on its own connection; 0: one per core,
  // at most 4.
  int workers = 0;
  // Fewer workers when there are fewer ids than this each: below it, a
  // thread costs more than it saves.
  int64_t min_ids_per_worker = 200'000;
};

// The number of customers (not erased) `rule` selects and the external ids
// of the `sample` lowest-id ones ([0, 1000]). Rule errors are kValidation
// naming paths under "rule" (see CompileSegment); `self_key` as there.
struct SegmentCount {
  int64_t count = 0;
  std::vector<int64_t> sample_ids;
};
Result<SegmentCount> CountSegment(store::Database& db, const json::value& rule, int64_t now_ms,
                                  int sample = 0, const std::string& self_key = "",
                                  const CountOptions& options = {});

}  // namespace kontor::clients
