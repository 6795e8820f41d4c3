// Saved message templates (table message_templates): created and updated by
// key with If-Match, checked on save (every part compiles, an SMS fits its
// segments and a push payload its 4 KB with the sample variables), versioned
// and audited.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/json.h"
#include "core/status.h"
#include "messaging/templates.h"
#include "store/database.h"

namespace kontor::messaging {

struct SavedTemplate {
  int64_t id = 0;
  std::string key;
  std::string name;
  MessageTemplate definition;
  int64_t version = 0;
  int64_t created_at = 0, updated_at = 0;
};
json::object SavedTemplateToJson(const SavedTemplate& t);

class TemplateStore {
 public:
  explicit TemplateStore(store::Database& db) : db_(db) {}

  // Body: {"name", "channel", "default_language", "languages", "sample": {...}}.
  // Returns the template and whether it changed (false: identical repeat).
  // The check's findings (SMS segments, push sizes) come back in `check`.
  Result<std::pair<SavedTemplate, bool>> Put(const audit::Actor& actor, const std::string& key,
                                             const json::object& body,
                                             std::optional<int64_t> if_match, TemplateCheck* check);
  Result<SavedTemplate> Get(const std::string& key);
  // Inside a caller's transaction (sending reads the template it renders).
  static Result<std::optional<SavedTemplate>> Load(store::Connection& c, const std::string& key);
  Result<std::vector<SavedTemplate>> List();
  Status Delete(const audit::Actor& actor, const std::string& key);

 private:
  store::Database& db_;
};

}  // namespace kontor::messaging
