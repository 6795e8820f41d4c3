#pragma once

#include <memory>
#include <string>

#include "store/database.h"

namespace kontor::store {

// Connects with libpq to a postgres:// URL. Statements are prepared once per
// connection and reused; `?` placeholders become $1..$n.
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url,
                                               const DatabaseOptions& options);

// Rewrites `?` placeholders (outside quotes) into $1, $2, ...
std::string RenumberPlaceholders(std::string_view sql);

}  // namespace kontor::store
