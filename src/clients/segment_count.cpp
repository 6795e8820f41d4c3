#include "clients/segment_count.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "store/id_set.h"

namespace kontor::clients {
namespace {

struct Range {
  int64_t lo = 0;
  int64_t hi = -1;
  int64_t count = 0;
  std::vector<int64_t> sample_ids;
};

Status CountRange(store::Connection& c, const CompiledSegment& s, int sample, Range* r) {
  std::vector<store::IdSet> sets;
  sets.reserve(s.sets.size());
  for (const CompiledSegment::Set& set : s.sets) {
    store::IdSet& ids = sets.emplace_back(r->lo, r->hi);
    store::Params p = set.params;
    p.emplace_back(r->lo);
    p.emplace_back(r->hi);
    RETURN_IF_ERROR(c.ForEachInt(set.sql, p, [&ids](int64_t id) { ids.Add(id); }));
  }
  store::IdSetScope scope(&sets);
  const std::string from = "FROM customers c WHERE c.id BETWEEN ? AND ? AND " +
                           std::string(kNotErased) + " AND " + s.where;
  store::Params p{r->lo, r->hi};
  p.insert(p.end(), s.params.begin(), s.params.end());
  ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT COUNT(*) " + from, p));
  r->count = row ? row->Int(0) : 0;
  if (sample > 0 && r->count > 0) {
    p.emplace_back(static_cast<int64_t>(sample));
    RETURN_IF_ERROR(c.ForEachInt("SELECT c.id " + from + " ORDER BY c.id LIMIT ?", p,
                                 [r](int64_t id) { r->sample_ids.push_back(id); }));
  }
  return Status::Ok();
}

// A worker: takes ranges from `next` until none are left, all in one read
// transaction of its connection.
Status Work(store::Connection& c, const CompiledSegment& s, int sample,
            std::vector<Range>& ranges, std::atomic<size_t>& next) {
  RETURN_IF_ERROR(c.BeginRead());
  Status st;
  for (size_t i = next++; i < ranges.size() && st.ok(); i = next++) {
    st = CountRange(c, s, sample, &ranges[i]);
  }
  Status end = c.Rollback();  // read only: nothing to keep
  return st.ok() ? end : st;
}

}  // namespace

Result<SegmentCount> CountSegment(store::Database& db, const json::value& rule, int64_t now_ms,
                                  int sample, const std::string& self_key,
                                  const CountOptions& options) {
  sample = std::clamp(sample, 0, 1000);
  SegmentCount out;
  RETURN_IF_ERROR(db.WithConnection([&](store::Connection& c) -> Status {
    DbSegmentResolver resolver(c);
    ASSIGN_OR_RETURN(CompiledSegment s, CompileSegment(rule, c.dialect(), now_ms, resolver, "rule",
                                                       self_key, /*id_sets=*/true));
    if (c.dialect() == store::Dialect::kPostgres) {
      ASSIGN_OR_RETURN(SegmentPreview p, PreviewSegment(c, s, sample));
      out.count = p.count;
      out.sample_ids = std::move(p.sample_ids);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(auto bounds,
                     c.QueryRow(
                         // Two subqueries: SQLite reads a lone MIN or MAX from
                         // the end of the index, but scans the table for both
                         // in one SELECT.
                         "SELECT (SELECT MIN(id) FROM customers), (SELECT MAX(id) FROM customers)"));
    if (!bounds || bounds->IsNull(0)) return Status::Ok();  // no customers
    // Ids written after this read fall above the last range: as if the
    // count had started a moment earlier.
    const int64_t lo = bounds->Int(0), ids = bounds->Int(1) - lo + 1;
    int workers = options.workers > 0
                      ? options.workers
                      : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
    workers = static_cast<int>(std::clamp<int64_t>(
        ids / std::max<int64_t>(1, options.min_ids_per_worker), 1, workers));
    // Several ranges a worker, taken in turn, so that a worker on a busier
    // core does fewer of them instead of holding up the answer.
    const int64_t n = workers == 1 ? 1 : workers * 4;
    const int64_t step = (ids + n - 1) / n;
    std::vector<Range> ranges;
    for (int64_t from = lo; from < lo + ids; from += step) {
      ranges.push_back({from, std::min(lo + ids - 1, from + step - 1)});
    }
    std::atomic<size_t> next{0};
    std::vector<Status> statuses(workers);
    std::vector<std::thread> threads;
    for (int w = 1; w < workers; ++w) {
      threads.emplace_back([&, w] {
        // Without a free connection this worker does nothing and the others
        // take its share: waiting for one could deadlock.
        statuses[w] = db.TryWithConnection([&](store::Connection& wc) {
                          return Work(wc, s, sample, ranges, next);
                        }).value_or(Status::Ok());
      });
    }
    statuses[0] = Work(c, s, sample, ranges, next);
    for (auto& t : threads) t.join();
    for (const Status& st : statuses) RETURN_IF_ERROR(st);
    for (const Range& r : ranges) {
      out.count += r.count;
      for (int64_t id : r.sample_ids) {
        if (static_cast<int>(out.sample_ids.size()) < sample) out.sample_ids.push_back(id);
      }
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace kontor::clients
