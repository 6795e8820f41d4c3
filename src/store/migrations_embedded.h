// Generated at build time from src/store/migrations/*.sql (see
// cmake/embed_migrations.cmake), so the binary carries its own schema.
#pragma once

#include <string>
#include <vector>

namespace kontor::store {

struct EmbeddedMigration {
  std::string file;  // NNNN_name.sql
  std::string sql;
};

const std::vector<EmbeddedMigration>& EmbeddedMigrations();

}  // namespace kontor::store
