#include "http/server.h"

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <mutex>
#include <set>
#include <thread>

#include "core/log.h"
#include "http/problem.h"

namespace kontor::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Status ParseListen(const std::string& s, std::string* host, int* port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::Validation({{"listen", "must be HOST:PORT"}});
  }
  std::string h = s.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string p = s.substr(colon + 1);
  int v = -1;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || ptr != p.data() + p.size() || v < 0 || v > 65535) {
    return Status::Validation({{"listen", "port must be 0-65535"}});
  }
  *host = h;
  *port = v;
  return Status::Ok();
}

// One io_context per thread: a connection lives on one thread for its whole
// life, so the request path needs no strand and no cross-thread wake-ups.
// Thread 0 also runs the acceptor and the shutdown logic.
class Server::Impl {
 public:
  Impl(Dispatcher& d, ServerOptions o) : dispatcher_(d), options_(std::move(o)) {
    const int n = std::max(1, options_.threads);
    for (int i = 0; i < n; ++i) {
      iocs_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*iocs_.back()));
    }
    acceptor_ = std::make_unique<tcp::acceptor>(*iocs_[0]);
    grace_timer_ = std::make_unique<asio::steady_timer>(*iocs_[0]);
  }

  Status Listen() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(options_.host, ec);
    if (ec) return Status::Validation({{"listen", "not an IP address: " + options_.host}});
    tcp::endpoint ep(addr, static_cast<uint16_t>(options_.port));
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return Status::Unavailable("listen on " + options_.host + ":" +
                                 std::to_string(options_.port) + ": " + ec.message());
    port_ = acceptor_->local_endpoint().port();
    return Status::Ok();
  }

  int port() const { return port_; }

  void Run() {
    asio::co_spawn(*iocs_[0], Accept(), asio::detached);
    std::vector<std::thread> threads;
    for (size_t i = 1; i < iocs_.size(); ++i) threads.emplace_back([this, i] { iocs_[i]->run(); });
    iocs_[0]->run();
    for (auto& t : threads) t.join();
    blocking_pool_.join();
  }

  void Shutdown() {
    asio::post(*iocs_[0], [this] {
      if (stopping_.exchange(true)) return;
      LogInfo("shutting down: draining connections", {{"open", OpenConnections()}});
      boost::system::error_code ec;
      acceptor_->close(ec);
      {
        std::lock_guard lock(mu_);
        for (const auto& c : conns_) asio::post(c->executor, [c] { c->CancelIfIdle(); });
      }
      grace_timer_->expires_after(std::chrono::seconds(options_.shutdown_grace_s));
      grace_timer_->async_wait([this](boost::system::error_code ec) {
        if (!ec) {
          LogWarn("shutdown grace expired; stopping", {{"open", OpenConnections()}});
          for (auto& ioc : iocs_) ioc->stop();
        }
      });
      // Run from inside the event loop: Run() cannot return (and the server be
      // destroyed) before this has run, so the caller's thread never touches
      // a destroyed server.
      MaybeFinish();
    });
  }

 private:
  using Executor = asio::io_context::executor_type;
  using Socket = asio::basic_stream_socket<tcp, Executor>;
  using Stream = beast::basic_stream<tcp, Executor>;

  struct Conn {
    Conn(Executor ex, Socket sock) : executor(ex), stream(std::move(sock)) {}
    void CancelIfIdle() {
      if (idle) {
        boost::system::error_code ec;
        stream.socket().cancel(ec);
      }
    }
    Executor executor;
    Stream stream;
    bool idle = true;  // waiting for the head of the next request
  };

  int64_t OpenConnections() {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(conns_.size());
  }

  // Ends Run() once draining is complete: with the grace timer cancelled and
  // the work guards released, every event loop runs out of work.
  void MaybeFinish() {
    asio::post(*iocs_[0], [this] {
      std::lock_guard lock(mu_);
      if (stopping_ && conns_.empty()) {
        grace_timer_->cancel();
        for (auto& g : guards_) g.reset();
      }
    });
  }

  asio::awaitable<void> Accept() {
    for (size_t next = 0;; next = (next + 1) % iocs_.size()) {
      asio::io_context& target = *iocs_[next];
      Socket sock(target.get_executor());
      auto [ec] = co_await acceptor_->async_accept(sock, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted) co_return;
        LogWarn("accept failed", {{"error", ec.message()}});
        continue;
      }
      boost::system::error_code nd;
      sock.set_option(tcp::no_delay(true), nd);
      auto conn = std::make_shared<Conn>(target.get_executor(), std::move(sock));
      {
        std::lock_guard lock(mu_);
        conns_.insert(conn);
      }
      asio::co_spawn(target, Session(conn), [this, conn](std::exception_ptr) {
        {
          std::lock_guard lock(mu_);
          conns_.erase(conn);
        }
        MaybeFinish();
      });
    }
  }

  // Waits for a deferred response (Response::deferred) on the connection's
  // own loop: the callback may run on any thread, so it posts the answer
  // back and wakes the coroutine by cancelling a timer that never expires.
  asio::awaitable<Response> AwaitDeferred(
      Conn& c, std::function<void(std::function<void(Response)>)> start) {
    auto timer = std::make_shared<asio::steady_timer>(c.executor,
                                                      asio::steady_timer::time_point::max());
    auto out = std::make_shared<std::optional<Response>>();
    start([timer, out, ex = c.executor](Response r) mutable {
      asio::post(ex, [timer, out, r = std::move(r)]() mutable {
        *out = std::move(r);
        timer->cancel();
      });
    });
    while (!out->has_value()) co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    co_return std::move(**out);
  }

  // Writes the response head and body in one gather write. The head is
  // formatted here rather than by Beast's generic serializer, which cost
  // about an eighth of a small request's CPU (bench/http.sh); every field
  // comes from this server, and values are checked for line breaks anyway.
  asio::awaitable<bool> WriteResponse(Conn& c, const Response& resp, unsigned version,
                                      bool keep_alive, bool head_only) {
    std::string head;
    head.reserve(320);
    auto field = [&head](std::string_view name, std::string_view value) {
      if (value.find_first_of("\r\n") != std::string_view::npos) return;
      head.append(name).append(": ").append(value).append("\r\n");
    };
    head += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head += std::to_string(resp.status);
    head += ' ';
    head += bhttp::obsolete_reason(static_cast<bhttp::status>(resp.status));
    head += "\r\n";
    field("Server", "kontor");
    if (!resp.content_type.empty()) field("Content-Type", resp.content_type);
    field("X-Content-Type-Options", "nosniff");
    bool has_cache_control = false;
    for (const auto& [k, v] : resp.headers) {
      field(k, v);
      has_cache_control |= k == "Cache-Control";
    }
    if (!has_cache_control) field("Cache-Control", "no-store");
    if (resp.content_type.starts_with("text/html")) {
      field("Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'");
      field("X-Frame-Options", "DENY");
      field("Referrer-Policy", "same-origin");
    }
    const bool bodyless = resp.status < 200 || resp.status == 204 || resp.status == 304;
    if (!bodyless) field("Content-Length", std::to_string(resp.BodySize()));
    if (version == 10 && keep_alive) field("Connection", "keep-alive");
    if (version != 10 && !keep_alive) field("Connection", "close");
    head += "\r\n";
    const bool send_body = !head_only && !bodyless;
    const bool from_spool = send_body && resp.spool;
    std::array<asio::const_buffer, 2> buffers{
        asio::buffer(head),
        asio::buffer(resp.body.data(), send_body && !from_spool ? resp.body.size() : 0)};
    c.stream.expires_after(std::chrono::seconds(options_.body_timeout_s));
    auto [ec, n] =
        co_await asio::async_write(c.stream, buffers, asio::as_tuple(asio::use_awaitable));
    if (ec || !from_spool) co_return !ec;
    // A spooled body goes in chunks; each gets the body timeout, so a slow
    // but moving client is not cut off mid-download.
    std::string chunk(256 * 1024, '\0');
    for (uint64_t at = 0; at < resp.spool->size();) {
      const size_t got = resp.spool->Read(at, chunk.data(), chunk.size());
      if (got == 0) co_return false;  // the length is promised: close instead
      c.stream.expires_after(std::chrono::seconds(options_.body_timeout_s));
      auto [wec, wn] = co_await asio::async_write(c.stream, asio::buffer(chunk.data(), got),
                                                  asio::as_tuple(asio::use_awaitable));
      if (wec) co_return false;
      at += got;
    }
    co_return true;
  }

  // For requests that never became a Request (unparseable, too large): the
  // dispatcher still assigns a request id and logs and counts them.
  asio::awaitable<void> SendError(Conn& c, int status, const std::string& detail,
                                  const std::string& client_ip) {
    Response r = dispatcher_.Reject(status, detail, client_ip);
    co_await WriteResponse(c, r, 11, /*keep_alive=*/false, /*head_only=*/false);
  }

  asio::awaitable<void> Session(std::shared_ptr<Conn> conn) {
    Conn& c = *conn;
    beast::flat_buffer buffer;
    std::string client_ip;
    {
      boost::system::error_code ec;
      auto ep = c.stream.socket().remote_endpoint(ec);
      if (!ec) client_ip = ep.address().to_string();
    }
    bool first = true;
    bool linger = false;
    while (!stopping_) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(options_.max_header_bytes);
      // The largest limit any route has; narrowed to the route's own once the
      // head says which route it is.
      parser.body_limit(
          std::max<uint64_t>(options_.max_body_bytes, dispatcher_.LargestBodyLimit()));
      if (!first && buffer.size() == 0) {
        // Between requests the idle timeout applies until the first byte of
        // the next one; from then on the client has header_timeout_s to send
        // the whole head, on every request of the connection.
        c.idle = true;
        c.stream.expires_after(std::chrono::seconds(options_.idle_timeout_s));
        auto [ec_idle, n_idle] = co_await c.stream.async_read_some(
            buffer.prepare(4096), asio::as_tuple(asio::use_awaitable));
        c.idle = false;
        if (ec_idle) break;
        buffer.commit(n_idle);
      }
      c.idle = first && buffer.size() == 0;
      first = false;
      c.stream.expires_after(std::chrono::seconds(options_.header_timeout_s));
      auto [ec, n] = co_await bhttp::async_read_header(c.stream, buffer, parser,
                                                       asio::as_tuple(asio::use_awaitable));
      c.idle = false;
      uint64_t body_limit = options_.max_body_bytes;
      if (!ec) {
        auto& head = parser.get();
        body_limit =
            dispatcher_.BodyLimit(head.method_string(), head.target(), options_.max_body_bytes);
        if (parser.content_length() && *parser.content_length() > body_limit) {
          ec = bhttp::error::body_limit;
        } else {
          parser.body_limit(body_limit);
        }
      }
      if (!ec) {
        // The whole request (body included) must arrive within the body timeout.
        c.stream.expires_after(std::chrono::seconds(options_.body_timeout_s));
        auto [ec2, n2] = co_await bhttp::async_read(c.stream, buffer, parser,
                                                    asio::as_tuple(asio::use_awaitable));
        ec = ec2;
      }
      if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == beast::error::timeout || ec == asio::error::connection_reset ||
          ec == asio::error::eof) {
        break;
      }
      if (ec == bhttp::error::body_limit) {
        co_await SendError(c, 413, "the body exceeds " + std::to_string(body_limit) + " bytes",
                           client_ip);
        linger = true;
        break;
      }
      if (ec == bhttp::error::header_limit) {
        co_await SendError(
            c, 431,
            "the request head exceeds " + std::to_string(options_.max_header_bytes) + " bytes",
            client_ip);
        break;
      }
      if (ec) {
        co_await SendError(c, 400, "malformed HTTP request: " + ec.message(), client_ip);
        break;
      }

      auto& breq = parser.get();
      Request req;
      req.method = std::string(breq.method_string());
      req.target = std::string(breq.target());
      req.client_ip = client_ip;
      for (const auto& f : breq) {
        std::string name(f.name_string());
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        req.headers.emplace_back(std::move(name), std::string(f.value()));
      }
      req.body = std::move(breq.body());
      const bool keep_alive = breq.keep_alive();
      const unsigned version = breq.version();

      Response resp;
      if (dispatcher_.IsBlocking(req)) {
        co_await asio::post(blocking_pool_, asio::use_awaitable);
        resp = dispatcher_.Handle(req);
        co_await asio::post(c.executor, asio::use_awaitable);
      } else {
        resp = dispatcher_.Handle(req);
      }
      if (resp.deferred) resp = co_await AwaitDeferred(c, std::move(resp.deferred));

      const bool keep = keep_alive && !stopping_;
      if (!co_await WriteResponse(c, resp, version, keep, req.method == "HEAD")) break;
      if (!keep) break;
    }
    boost::system::error_code ec;
    c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (linger) {
      // Lingering close (nginx's lingering_close): closing with the refused
      // body still arriving makes the kernel send a reset, and a client that
      // is still writing then loses the 413. Read and drop it for a moment.
      c.stream.expires_after(std::chrono::seconds(2));
      std::array<char, 16384> sink;
      for (size_t drained = 0; drained < (size_t{16} << 20);) {
        auto [rec, n] = co_await c.stream.async_read_some(asio::buffer(sink),
                                                          asio::as_tuple(asio::use_awaitable));
        if (rec) break;
        drained += n;
      }
    }
  }

  Dispatcher& dispatcher_;
  ServerOptions options_;
  std::vector<std::unique_ptr<asio::io_context>> iocs_;
  std::vector<asio::executor_work_guard<Executor>> guards_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> grace_timer_;
  asio::thread_pool blocking_pool_{4};  // see Route::blocking
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  std::mutex mu_;
  std::set<std::shared_ptr<Conn>> conns_;
};

Server::Server(Dispatcher& d, ServerOptions o) : impl_(std::make_unique<Impl>(d, std::move(o))) {}
Server::~Server() = default;
Status Server::Listen() { return impl_->Listen(); }
int Server::port() const { return impl_->port(); }
void Server::Run() { impl_->Run(); }
void Server::Shutdown() { impl_->Shutdown(); }

}  // namespace kontor::http
