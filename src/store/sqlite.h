#pragma once

#include <memory>
#include <string>

#include "store/database.h"

namespace kontor::store {

// PATH is a file (created with its directory) or ":memory:" (pool of one).
// Opens in WAL mode with a busy timeout; writers take BEGIN IMMEDIATE so two
// writers queue on the lock instead of deadlocking on upgrade.
Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path,
                                             const DatabaseOptions& options);

}  // namespace kontor::store
