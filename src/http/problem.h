// RFC 9457 problem details: the one place where a Status becomes an HTTP error.
#pragma once

#include "core/status.h"
#include "http/request.h"

namespace kontor::http {

int HttpStatusFor(StatusCode code);

// Builds an application/problem+json response for `st` (REQUIRES: !st.ok()).
// Internal errors are reported without their message, which may hold details
// a client must not see; the caller logs it.
Response Problem(const Status& st, const Request& req);
Response Problem(int http_status, std::string title, std::string detail, const Request& req);

}  // namespace kontor::http
