// Saved segments (target groups): a named rule, validated by compiling it on
// every save, counted and previewed on demand.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "clients/segment.h"
#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct SavedSegment {
  int64_t id = 0;
  std::string key, name;
  json::value rule;
  int64_t version = 0, created_at = 0, updated_at = 0;
};
json::object SavedSegmentToJson(const SavedSegment& s);

class SegmentService {
 public:
  explicit SegmentService(store::Database& db) : db_(db) {}
  // Compiles the rule first (errors name "rule...." fields); a segment may
  // not reach itself through other segments or lists.
  Result<std::pair<SavedSegment, bool>> Upsert(const audit::Actor& actor, const std::string& key,
                                               const std::string& name, const json::value& rule,
                                               std::optional<int64_t> if_match);
  Result<SavedSegment> Get(const std::string& key);
  Result<std::vector<SavedSegment>> ListAll();
  // Count and a sample of customer external ids for an ad-hoc rule or a saved segment.
  struct Preview {
    int64_t count = 0;
    std::vector<std::string> sample;
  };
  Result<Preview> PreviewRule(const json::value& rule, int64_t now_ms, int sample);
  Result<Preview> PreviewSaved(const std::string& key, int64_t now_ms, int sample);

 private:
  store::Database& db_;
};

}  // namespace kontor::clients
