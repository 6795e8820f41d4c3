// libFuzzer target: raw bytes → Beast's HTTP parser → the full request
// pipeline (routing, authentication, JSON validation, handlers) of a real
// App on an in-memory SQLite database. Inputs whose first byte is odd are
// sent with an admin token, so the fuzzer reaches the handlers too.
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "app/app.h"
#include "auth/password.h"
#include "core/log.h"

namespace {

kontor::App* g_app = nullptr;
std::string g_token;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace kontor;
  InitLogging("error", "json");
  if (!auth::InitCrypto().ok()) std::abort();
  Config cfg;
  cfg.db = "sqlite::memory:";
  cfg.jobs.enabled = false;
  auto db = OpenDatabase(cfg);
  if (!db.ok()) std::abort();
  g_app = new App(cfg, std::move(db).value(), *SystemClock::Default());
  if (!g_app->Init().ok()) std::abort();
  auto actor = audit::Actor::System("fuzz", SystemClock::Default()->NowMs());
  auto user = g_app->auth().CreateUser(actor, {"fuzz@example.com", "Fuzz", "fuzz-password-1", "admin"});
  if (!user.ok()) std::abort();
  auth::NewToken nt;
  nt.user_id = user->id;
  nt.name = "fuzz";
  auto tok = g_app->auth().CreateToken(actor, nt);
  if (!tok.ok()) std::abort();
  g_token = tok->first;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  if (size < 1) return 0;
  const bool authed = data[0] & 1;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 << 10);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data + 1, size - 1), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;

  auto& breq = parser.get();
  kontor::http::Request req;
  req.method = std::string(breq.method_string());
  req.target = std::string(breq.target());
  req.client_ip = "127.0.0.1";
  for (const auto& f : breq) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "authorization" && authed) continue;
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  if (authed) req.headers.emplace_back("authorization", "Bearer " + g_token);
  req.body = breq.body();
  kontor::http::Response resp = g_app->dispatcher().Handle(req);
  // Client input never produces a server error.
  if (resp.status >= 500 && resp.status != 503) std::abort();
  return 0;
}
