#pragma once

#include "http/router.h"
#include "jobs/job_service.h"

namespace kontor::jobs {

// /v1/jobs, /v1/job-kinds, /v1/schedules.
void RegisterRoutes(http::Router& router, store::Database& db, JobService& jobs);

}  // namespace kontor::jobs
