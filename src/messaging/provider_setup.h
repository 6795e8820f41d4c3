// The providers beyond capture, SMTP and FCM, made from `messaging.*`
// configuration: "apns", "twilio", "sms_http" and "webhook". Checked once at
// startup (keys readable, URLs and templates well-formed) so a bad setting
// stops the server instead of pausing the first message; each dispatcher
// worker then makes its own instances through Make().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "messaging/provider.h"
#include "messaging/provider_health.h"

namespace kontor::messaging {

class ProviderSet {
 public:
  // Called by the SMS provider when a recipient has opted out at the carrier
  // (Twilio 21610): their SMS consent is withdrawn.
  using OptOut = std::function<void(const std::string& phone)>;

  static Result<std::shared_ptr<ProviderSet>> Create(const Config::Messaging& mc, OptOut opt_out);

  // Whether `name` is one of these and may serve `channel`.
  static bool Serves(const std::string& name, const std::string& channel);
  // A new instance of provider `name`; NotFound when it is not one of these.
  Result<std::unique_ptr<Provider>> Make(const std::string& name) const;

  // Every configured (provider, channel), for GET /v1/messaging/providers.
  static std::vector<ConfiguredProvider> Configured(const Config::Messaging& mc);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace kontor::messaging
