// HTTP/1.1 server on Boost.Beast + Asio: keep-alive, limits on head and body
// size, timeouts for slow clients, and graceful shutdown (stop accepting,
// close idle connections, let in-flight requests finish within a grace).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/status.h"
#include "http/dispatcher.h"

namespace kontor::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 8;
  int max_body_bytes = 1 << 20;
  int max_header_bytes = 16 << 10;
  int header_timeout_s = 10;
  int body_timeout_s = 30;
  int idle_timeout_s = 60;
  int shutdown_grace_s = 20;
};

// Parses "HOST:PORT" ("[::1]:8080" for IPv6).
Status ParseListen(const std::string& s, std::string* host, int* port);

class Server {
 public:
  Server(Dispatcher& dispatcher, ServerOptions options);
  ~Server();

  // Binds and listens; port 0 picks a free port (see port()).
  Status Listen();
  int port() const;
  // Serves until Shutdown() has finished draining. Blocks.
  void Run();
  // Thread- and signal-handler-safe (posts to the event loop).
  void Shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kontor::http
