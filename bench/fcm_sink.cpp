// A fast stand-in for FCM HTTP v1 and Google's OAuth2 token endpoint, for
// bench/push.sh only: it answers every well-formed send with success and
// counts what it received, so the benchmark measures Kontor and not the
// peer. The protocol-checking servers with fault injection are in
// tests/servers/ (Node); they are too slow to stand beside a 30,000/s sender.
//
//   fcm_sink PORT THREADS
//   POST /token                               → {"access_token": ..., "expires_in": 3600}
//   POST /v1/projects/{p}/messages:send       → {"name": "projects/{p}/messages/N"}
//   GET  /stats                               → {"received": N, "first_ms": .., "last_ms": ..}
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::atomic<int64_t> g_received{0};
std::atomic<int64_t> g_bad{0};
std::atomic<int64_t> g_first_ms{0};
std::atomic<int64_t> g_last_ms{0};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

http::response<http::string_body> Answer(const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  const std::string target(req.target());
  if (req.method() == http::verb::post && target == "/token") {
    res.body() = R"({"access_token":"bench-token","expires_in":3600,"token_type":"Bearer"})";
  } else if (req.method() == http::verb::post && target.ends_with("/messages:send")) {
    // The checks a real FCM makes first: a bearer token and a message with
    // a token; anything else is a 400 the benchmark would show as failures.
    if (req[http::field::authorization] != "Bearer bench-token" ||
        req.body().find("\"token\"") == std::string::npos) {
      ++g_bad;
      res.result(http::status::bad_request);
      res.body() = R"({"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad request"}})";
    } else {
      const int64_t n = ++g_received;
      const int64_t now = NowMs();
      int64_t zero = 0;
      g_first_ms.compare_exchange_strong(zero, now);
      g_last_ms.store(now);
      const size_t p = target.find("/projects/");
      const size_t m = target.find("/messages:send");
      res.body() = "{\"name\":\"" + target.substr(p + 1, m - p - 1) + "/messages/" +
                   std::to_string(n) + "\"}";
    }
  } else if (req.method() == http::verb::get && target == "/stats") {
    res.body() = "{\"received\":" + std::to_string(g_received.load()) +
                 ",\"bad\":" + std::to_string(g_bad.load()) +
                 ",\"first_ms\":" + std::to_string(g_first_ms.load()) +
                 ",\"last_ms\":" + std::to_string(g_last_ms.load()) + "}";
  } else {
    res.result(http::status::not_found);
    res.body() = R"({"error":{"code":404,"status":"NOT_FOUND"}})";
  }
  res.prepare_payload();
  return res;
}

// One thread per connection: Kontor keeps a bounded set of keep-alive
// connections open, and blocking reads keep this file short.
void Serve(tcp::socket socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  for (;;) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) break;
    auto res = Answer(req);
    http::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fcm_sink PORT\n");
    return 2;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"),
                              static_cast<unsigned short>(std::stoi(argv[1]))});
  std::printf("listening %d\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  for (;;) {
    tcp::socket socket(io);
    acceptor.accept(socket);
    std::thread(Serve, std::move(socket)).detach();
  }
}
