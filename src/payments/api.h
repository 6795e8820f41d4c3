// The payments routes (/v1/originators, /v1/counterparties,
// /v1/payment-templates, /v1/payments, /v1/payment-uploads, /v1/ach-files,
// /v1/payment-returns, /v1/banking-calendar), all under the `payments`
// permission.
#pragma once

#include "http/router.h"
#include "payments/files.h"
#include "payments/payments.h"
#include "payments/registry.h"
#include "payments/returns.h"
#include "payments/uploads.h"

namespace kontor::payments {

struct Services {
  Registry& registry;
  PaymentService& payments;
  UploadService& uploads;
  FileService& files;
  ReturnService& returns;
};

void RegisterRoutes(http::Router& router, Services s);

}  // namespace kontor::payments
