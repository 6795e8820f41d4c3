// Versioned schema migrations. Each migration is a SQL file in
// src/store/migrations/ (embedded at build time), applied once, in order, in
// its own transaction, and recorded in schema_migrations.
//
// The files use a small dialect layer: {{id}} is an auto-increment primary
// key, {{json}} a JSON document column (TEXT / JSONB); blocks between "-- @sqlite" / "-- @postgres" and "-- @end" apply to one
// database only.
#pragma once

#include <string>
#include <vector>

#include "store/database.h"

namespace kontor::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// All embedded migrations, ordered by version.
const std::vector<Migration>& Migrations();

// Renders a migration for one dialect.
std::string RenderMigration(const std::string& sql, Dialect dialect);

// Applies every pending migration; safe to call from several nodes at once
// (PostgreSQL: advisory lock; SQLite: the write lock). Returns how many ran.
Result<int> Migrate(Database& db);

}  // namespace kontor::store
